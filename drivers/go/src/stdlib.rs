//! The Go standard library's packages by the name code uses them by, so that a model's test
//! which calls `strings.Fields` or `errors.Is` gets its imports without having written them.
//!
//! The list is Go 1.19's `go list std` without `internal`, `vendor` and `cmd`, plus the
//! packages later releases added (`slices`, `maps`, `cmp`, `log/slog`, ...): a project on an
//! older Go fails to build with those either way, and one on a newer Go needs them found.

/// Every public standard-library import path.
const PATHS: &[&str] = &[
    "archive/tar",
    "archive/zip",
    "bufio",
    "bytes",
    "cmp",
    "compress/bzip2",
    "compress/flate",
    "compress/gzip",
    "compress/lzw",
    "compress/zlib",
    "container/heap",
    "container/list",
    "container/ring",
    "context",
    "crypto",
    "crypto/aes",
    "crypto/cipher",
    "crypto/des",
    "crypto/dsa",
    "crypto/ecdh",
    "crypto/ecdsa",
    "crypto/ed25519",
    "crypto/elliptic",
    "crypto/hkdf",
    "crypto/hmac",
    "crypto/md5",
    "crypto/mlkem",
    "crypto/pbkdf2",
    "crypto/rand",
    "crypto/rc4",
    "crypto/rsa",
    "crypto/sha1",
    "crypto/sha256",
    "crypto/sha3",
    "crypto/sha512",
    "crypto/subtle",
    "crypto/tls",
    "crypto/x509",
    "crypto/x509/pkix",
    "database/sql",
    "database/sql/driver",
    "debug/buildinfo",
    "debug/dwarf",
    "debug/elf",
    "debug/gosym",
    "debug/macho",
    "debug/pe",
    "debug/plan9obj",
    "embed",
    "encoding",
    "encoding/ascii85",
    "encoding/asn1",
    "encoding/base32",
    "encoding/base64",
    "encoding/binary",
    "encoding/csv",
    "encoding/gob",
    "encoding/hex",
    "encoding/json",
    "encoding/pem",
    "encoding/xml",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go/ast",
    "go/build",
    "go/build/constraint",
    "go/constant",
    "go/doc",
    "go/doc/comment",
    "go/format",
    "go/importer",
    "go/parser",
    "go/printer",
    "go/scanner",
    "go/token",
    "go/types",
    "go/version",
    "hash",
    "hash/adler32",
    "hash/crc32",
    "hash/crc64",
    "hash/fnv",
    "hash/maphash",
    "html",
    "html/template",
    "image",
    "image/color",
    "image/color/palette",
    "image/draw",
    "image/gif",
    "image/jpeg",
    "image/png",
    "index/suffixarray",
    "io",
    "io/fs",
    "io/ioutil",
    "iter",
    "log",
    "log/slog",
    "log/syslog",
    "maps",
    "math",
    "math/big",
    "math/bits",
    "math/cmplx",
    "math/rand",
    "mime",
    "mime/multipart",
    "mime/quotedprintable",
    "net",
    "net/http",
    "net/http/cgi",
    "net/http/cookiejar",
    "net/http/fcgi",
    "net/http/httptest",
    "net/http/httptrace",
    "net/http/httputil",
    "net/http/pprof",
    "net/mail",
    "net/netip",
    "net/rpc",
    "net/rpc/jsonrpc",
    "net/smtp",
    "net/textproto",
    "net/url",
    "os",
    "os/exec",
    "os/signal",
    "os/user",
    "path",
    "path/filepath",
    "plugin",
    "reflect",
    "regexp",
    "regexp/syntax",
    "runtime",
    "runtime/cgo",
    "runtime/debug",
    "runtime/metrics",
    "runtime/pprof",
    "runtime/race",
    "runtime/trace",
    "slices",
    "sort",
    "strconv",
    "strings",
    "structs",
    "sync",
    "sync/atomic",
    "syscall",
    "testing",
    "testing/fstest",
    "testing/iotest",
    "testing/quick",
    "testing/slogtest",
    "testing/synctest",
    "text/scanner",
    "text/tabwriter",
    "text/template",
    "text/template/parse",
    "time",
    "time/tzdata",
    "unicode",
    "unicode/utf16",
    "unicode/utf8",
    "unique",
    "unsafe",
    "weak",
];

/// Where two standard packages share a name, the one a test most likely means: `rand.Intn`
/// is `math/rand`, `template.New` is `text/template`. An answer that imported the other one
/// keeps its own choice.
const PREFERRED: &[&str] = &[
    "math/rand",
    "text/template",
    "text/scanner",
    "runtime/pprof",
];

/// The standard-library import path of the package code uses as `name`, if there is one.
pub(crate) fn path_for(name: &str) -> Option<&'static str> {
    if let Some(preferred) = PREFERRED.iter().find(|path| last_element(path) == name) {
        return Some(preferred);
    }
    PATHS
        .iter()
        .copied()
        .find(|path| last_element(path) == name)
}

/// Whether `path` is a standard-library package (its first element has no dot, which is
/// how goimports tells them apart too).
pub(crate) fn is_standard(path: &str) -> bool {
    !path.split('/').next().unwrap_or(path).contains('.')
}

/// Every package the `testing` package imports, directly or not: `go list -deps testing` of
/// Go 1.19, with what later releases added (`cmp`, `slices`, `iter`, `unique`, ... and their
/// internal helpers). A test in `package strings` imports `testing`, which imports
/// `strings`: an import cycle, so such a package's tests can only be external
/// (`package strings_test`).
const IMPORTED_BY_TESTING: &[&str] = &[
    "bytes",
    "cmp",
    "context",
    "encoding",
    "errors",
    "flag",
    "fmt",
    "internal/abi",
    "internal/asan",
    "internal/bisect",
    "internal/byteorder",
    "internal/bytealg",
    "internal/chacha8rand",
    "internal/coverage/rtcov",
    "internal/cpu",
    "internal/filepathlite",
    "internal/fmtsort",
    "internal/goarch",
    "internal/godebug",
    "internal/godebugs",
    "internal/goexperiment",
    "internal/goos",
    "internal/itoa",
    "internal/msan",
    "internal/oserror",
    "internal/poll",
    "internal/profilerecord",
    "internal/race",
    "internal/reflectlite",
    "internal/runtime/atomic",
    "internal/runtime/exithook",
    "internal/runtime/maps",
    "internal/runtime/math",
    "internal/runtime/sys",
    "internal/runtime/syscall",
    "internal/safefilepath",
    "internal/stringslite",
    "internal/sync",
    "internal/syscall/execenv",
    "internal/syscall/unix",
    "internal/sysinfo",
    "internal/testlog",
    "internal/unsafeheader",
    "io",
    "io/fs",
    "iter",
    "maps",
    "math",
    "math/bits",
    "math/rand",
    "os",
    "path",
    "path/filepath",
    "reflect",
    "runtime",
    "runtime/debug",
    "runtime/internal/atomic",
    "runtime/internal/math",
    "runtime/internal/sys",
    "runtime/internal/syscall",
    "runtime/trace",
    "slices",
    "sort",
    "strconv",
    "strings",
    "sync",
    "sync/atomic",
    "syscall",
    "testing",
    "time",
    "unicode",
    "unicode/utf8",
    "unique",
    "unsafe",
    "weak",
];

/// The import path of the standard-library package in `folder` (its files say `package
/// name`) when `testing` imports it, so that an internal test of it would be an import
/// cycle. The folder is judged by its place below a `src/` folder (`$GOROOT/src/strings`),
/// as the go tool finds the standard library.
pub(crate) fn imported_by_testing(folder: &std::path::Path, name: &str) -> Option<&'static str> {
    let folder = folder.to_str()?.replace('\\', "/");
    IMPORTED_BY_TESTING.iter().copied().find(|path| {
        last_element(path) == name
            && (folder.ends_with(&format!("/src/{path}")) || folder == format!("src/{path}"))
    })
}

fn last_element(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_packages_are_found_by_their_last_element() {
        assert_eq!(path_for("strings"), Some("strings"));
        assert_eq!(path_for("json"), Some("encoding/json"));
        assert_eq!(path_for("httptest"), Some("net/http/httptest"));
        assert_eq!(path_for("utf8"), Some("unicode/utf8"));
        assert_eq!(path_for("slices"), Some("slices"));
        assert_eq!(path_for("yaml"), None);
    }

    #[test]
    fn a_name_two_packages_share_resolves_to_the_one_tests_usually_mean() {
        assert_eq!(path_for("rand"), Some("math/rand"));
        assert_eq!(path_for("template"), Some("text/template"));
        assert_eq!(path_for("scanner"), Some("text/scanner"));
        assert_eq!(path_for("pprof"), Some("runtime/pprof"));
    }

    #[test]
    fn standard_paths_have_no_dot_in_their_first_element() {
        assert!(is_standard("net/http"));
        assert!(!is_standard("github.com/google/uuid"));
        assert!(!is_standard("gopkg.in/yaml.v3"));
    }

    #[test]
    fn a_package_testing_imports_is_known_by_its_place_below_src() {
        use std::path::Path;
        let goroot = Path::new("/tmp/copy/goroot/src");
        assert_eq!(
            imported_by_testing(&goroot.join("strings"), "strings"),
            Some("strings")
        );
        assert_eq!(
            imported_by_testing(&goroot.join("math/rand"), "rand"),
            Some("math/rand")
        );
        // Not below src/, another package's name, or a package testing does not import.
        assert_eq!(
            imported_by_testing(Path::new("/p/strings"), "strings"),
            None
        );
        assert_eq!(imported_by_testing(&goroot.join("strings"), "other"), None);
        assert_eq!(
            imported_by_testing(&goroot.join("encoding/json"), "json"),
            None
        );
    }

    #[test]
    fn every_preferred_path_is_in_the_list() {
        for path in PREFERRED {
            assert!(PATHS.contains(path), "{path}");
        }
    }
}
