//! Exact merges proved on real code copied at test time (issue 13's "must show"): twelve
//! packages of Go's standard library in a copy of GOROOT, three third-party Go packages from
//! Debian's /usr/share/gocode/src, and three crates of testsmith's own dependency tree from
//! the local Cargo registry. The user's tests run before and after `testsmith generate`
//! (`--verify` where that is what a user runs): whatever compiled and vetted still does, the
//! pre-existing test files only grow at their end, and every pre-existing test ends exactly
//! as before (`go test -json`; libtest's `test … ok` lines). A test whose outcome differs runs
//! twice more before it counts, so a flaky test blames nobody. The whole standard library is
//! bench/stdlib_merges.sh's job, not CI's.

use crate::util::{Project, copy_dir, registry_crate};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How each test ended, by (package or test binary, test name): "pass", "fail" or "skip"
/// (libtest: "ok", "FAILED", "ignored").
type Outcomes = BTreeMap<(String, String), String>;

/// Twelve standard packages of varied shapes: build-constrained files (hash/crc32's per-arch
/// files, encoding/json's fuzz test), internal and external tests with `export_test.go`
/// (bufio, math/bits), example tests, testdata (image/png's PNG suite, encoding/json's
/// corpus), and packages `testing` itself imports (unicode/utf8, math/bits).
const STANDARD_PACKAGES: [&str; 12] = [
    "encoding/json",
    "image/png",
    "bufio",
    "container/list",
    "encoding/csv",
    "text/tabwriter",
    "path",
    "net/url",
    "html",
    "unicode/utf8",
    "math/bits",
    "hash/crc32",
];

/// Whether the go tool runs; under `CI` it must.
fn go_installed() -> bool {
    let present = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "go is missing: .ci/run installs Debian's golang-go"
        );
        eprintln!("skipped: go is not installed (apt install golang-go)");
    }
    present
}

/// The go tool, offline, with the build cache the Go tests share, in `dir`, with `env` on top
/// (GOROOT for the standard library's copy, GOPATH and GO111MODULE for a GOPATH project).
/// testsmith runs with the same environment, as it would in the user's shell.
struct Go {
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Go {
    fn new(dir: &Path, extra: &[(&'static str, String)]) -> Go {
        let cache = crate::go_toolchain::go_cache();
        let mut env = vec![
            ("GOCACHE", cache.to_string_lossy().into_owned()),
            ("GOPROXY", "off".to_owned()),
            ("GOWORK", "off".to_owned()),
            ("GOTOOLCHAIN", "local".to_owned()),
            ("GOFLAGS", "-mod=mod".to_owned()),
            ("GO111MODULE", "on".to_owned()),
            (
                "GOPATH",
                cache.join("gopath").to_string_lossy().into_owned(),
            ),
        ];
        for (key, value) in extra {
            env.retain(|(existing, _)| existing != key);
            env.push((key, value.clone()));
        }
        Go {
            dir: dir.to_owned(),
            env,
        }
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command.args(args).current_dir(&self.dir);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// `go ARGS`; panics with its output unless it succeeds.
    #[track_caller]
    fn ok(&self, args: &[&str]) {
        let output = self.command("go", args).output().expect("go runs");
        assert!(
            output.status.success(),
            "`go {}` failed in {}:\n{}{}",
            args.join(" "),
            self.dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `go test -json -count=1 ARGS`: every test's outcome, and the packages whose tests did
    /// not build (go prints `FAIL\tpkg [build failed]` outside the JSON stream for those).
    fn outcomes(&self, args: &[&str]) -> (Outcomes, Vec<String>) {
        let mut full = vec!["test", "-json", "-count=1"];
        full.extend(args);
        let output = self.command("go", &full).output().expect("go runs");
        let mut outcomes = Outcomes::new();
        let mut unbuilt = Vec::new();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if let Some(rest) = line.strip_prefix("FAIL\t")
                && let Some(package) = rest
                    .strip_suffix(" [build failed]")
                    .or_else(|| rest.strip_suffix(" [setup failed]"))
            {
                unbuilt.push(package.to_owned());
                continue;
            }
            let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let (Some(package), Some(test), Some(action)) = (
                event["Package"].as_str(),
                event["Test"].as_str(),
                event["Action"].as_str(),
            ) else {
                continue;
            };
            if matches!(action, "pass" | "fail" | "skip") {
                outcomes.insert((package.to_owned(), test.to_owned()), action.to_owned());
            }
        }
        (outcomes, unbuilt)
    }

    /// `testsmith ARGS` in this folder with this environment; its JSON report.
    #[track_caller]
    fn testsmith(&self, project: &Project, args: &[&str]) -> serde_json::Value {
        let mut run = project.testsmith(args);
        run.command().current_dir(&self.dir);
        for (key, value) in &self.env {
            run = run.env(key, value);
        }
        run.run().success().json()
    }
}

/// Asserts that every test of `before` ends the same way in `after`; a test that differs is
/// run `rerun` twice more (with the top-level names of the tests that differ, per package)
/// and counts only if it differs every time.
#[track_caller]
fn assert_outcomes_kept(
    before: &Outcomes,
    after: &Outcomes,
    mut rerun: impl FnMut(&str, &[String]) -> Outcomes,
) {
    let mut differ: Outcomes = before
        .iter()
        .filter(|(key, outcome)| after.get(*key) != Some(*outcome))
        .map(|(key, outcome)| (key.clone(), outcome.clone()))
        .collect();
    for _ in 0..2 {
        if differ.is_empty() {
            break;
        }
        let mut by_package: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (package, test) in differ.keys() {
            let top = test.split('/').next().unwrap().to_owned();
            let tops = by_package.entry(package.clone()).or_default();
            if !tops.contains(&top) {
                tops.push(top);
            }
        }
        let mut again = Outcomes::new();
        for (package, tops) in &by_package {
            again.extend(rerun(package, tops));
        }
        differ.retain(|key, outcome| again.get(key) != Some(outcome));
    }
    let report: Vec<String> = differ
        .iter()
        .map(|((package, test), outcome)| {
            let now = after.get(&(package.clone(), test.clone()));
            format!("{package} {test}: {outcome} before, {now:?} after")
        })
        .collect();
    assert!(
        report.is_empty(),
        "pre-existing tests ended differently after generate:\n{}",
        report.join("\n")
    );
}

/// The test files under `dir` (recursively) and their contents.
fn test_files(dir: &Path, suffix: &str) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_symlink() {
                continue;
            } else if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                let text = std::fs::read_to_string(&path).unwrap();
                files.insert(path, text);
            }
        }
    }
    files
}

/// Asserts that each file of `before` still begins with its whole original text: testsmith
/// only appends to a test file the user wrote (moving a line breaks tests that assert their
/// own line numbers, as pkg/errors' do).
#[track_caller]
fn assert_only_appended(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>) {
    for (path, text) in before {
        let now = after
            .get(path)
            .unwrap_or_else(|| panic!("{} disappeared", path.display()));
        assert!(
            now.starts_with(text.as_str()),
            "{} was edited, not appended to:\n{now}",
            path.display()
        );
    }
}

fn written(doc: &serde_json::Value) -> u64 {
    doc["summary"]["written"]
        .as_u64()
        .unwrap_or_else(|| panic!("no summary.written in {doc}"))
}

/// Asserts what `--verify` reported: every generated test compiled, or was not verified only
/// because its file needs a build tag (`//go:build gofuzz`), and none failed, was dropped,
/// quarantined or rolled back; the user's suite was compared before and after in at least
/// `packages` packages.
#[track_caller]
fn assert_verified(doc: &serde_json::Value, packages: u64) {
    let totals = &doc["verify"]["totals"];
    for count in ["failed", "dropped", "quarantined", "rolled_back"] {
        assert_eq!(totals[count], 0, "{count}: {}", doc["verify"]);
    }
    let tests = doc["verify"]["tests"].as_array().expect("verify.tests");
    assert_eq!(tests.len() as u64, written(doc), "{}", doc["verify"]);
    for test in tests {
        let fine = ["empty", "passed", "skipped"].contains(&test["status"].as_str().unwrap())
            || (test["status"] == "not_verified"
                && test["reason"].as_str().unwrap().contains("needs -tags"));
        assert!(fine, "{test}");
    }
    assert!(
        doc["verify"]["suite_compared"].as_u64().unwrap() >= packages,
        "{}",
        doc["verify"]
    );
}

/// A GOROOT at `goroot` whose `src/<package>` is a real, writable copy for each of `packages`
/// and every other entry a link to the real GOROOT's: the go tool's own rules decide, for the
/// price of copying a dozen folders.
fn goroot_copy(goroot: &Path, packages: &[&str]) {
    let output = Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .expect("go runs");
    let real = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
        .canonicalize()
        .unwrap();
    let copied: Vec<PathBuf> = packages.iter().map(|p| Path::new("src").join(p)).collect();
    link_all_but(&real, goroot, Path::new(""), &copied);
}

/// Mirrors `real/relative` at `copy/relative`: entries in `copied` are copied, folders that
/// hold one are mirrored the same way, everything else is a link.
fn link_all_but(real: &Path, copy: &Path, relative: &Path, copied: &[PathBuf]) {
    std::fs::create_dir_all(copy.join(relative)).unwrap();
    for entry in std::fs::read_dir(real.join(relative)).unwrap() {
        let entry = relative.join(entry.unwrap().file_name());
        let source = real.join(&entry).canonicalize().unwrap();
        if copied.contains(&entry) {
            copy_dir(&source, &copy.join(&entry));
        } else if copied.iter().any(|path| path.starts_with(&entry)) {
            link_all_but(real, copy, &entry, copied);
        } else {
            std::os::unix::fs::symlink(&source, copy.join(&entry)).unwrap();
        }
    }
}

#[test]
fn twelve_standard_packages_in_a_goroot_copy_still_compile_and_vet_and_keep_every_outcome() {
    if !go_installed() {
        return;
    }
    let project = Project::new();
    let goroot = project.path("goroot");
    goroot_copy(&goroot, &STANDARD_PACKAGES);
    // The std module vendors its dependencies: `-mod=mod` would look them up to match `...`.
    let go = Go::new(
        &goroot.join("src"),
        &[
            ("GOROOT", goroot.to_string_lossy().into_owned()),
            ("GOFLAGS", String::new()),
        ],
    );
    // `generate` on a folder takes its subpackages too (html/template, path/filepath).
    let patterns: Vec<String> = STANDARD_PACKAGES
        .iter()
        .map(|package| format!("{package}/..."))
        .collect();
    // `-short`, as Go's own all.bash runs the standard library's tests.
    let test_args: Vec<&str> = ["-short"]
        .into_iter()
        .chain(patterns.iter().map(String::as_str))
        .collect();
    let mut vet_args = vec!["vet"];
    vet_args.extend(patterns.iter().map(String::as_str));

    go.ok(&vet_args);
    let (before, unbuilt) = go.outcomes(&test_args);
    assert_eq!(
        unbuilt,
        Vec::<String>::new(),
        "their tests must build before"
    );
    assert!(before.len() > 500, "too few tests ran: {before:?}");
    let files_before = test_files(&goroot.join("src"), "_test.go");

    // In GOROOT/src, as a user would: the packages' folders are their import paths.
    let mut args = vec!["generate", "--verify", "--lang", "go", "--format", "json"];
    args.extend(STANDARD_PACKAGES);
    let doc = go.testsmith(&project, &args);
    assert!(written(&doc) >= 100, "{doc}");
    assert_verified(&doc, 10);

    go.ok(&vet_args);
    let (after, unbuilt) = go.outcomes(&test_args);
    assert_eq!(unbuilt, Vec::<String>::new(), "broken by generate");
    assert_only_appended(&files_before, &test_files(&goroot.join("src"), "_test.go"));
    assert_outcomes_kept(&before, &after, |package, tests| {
        let pattern = format!("^({})$", tests.join("|"));
        go.outcomes(&["-short", "-run", &pattern, package]).0
    });
    // What the new tests add passes too (scaffolds have empty tables).
    let new_failures: Vec<_> = after
        .iter()
        .filter(|(key, outcome)| *outcome == "fail" && !before.contains_key(*key))
        .collect();
    assert!(new_failures.is_empty(), "{new_failures:?}");

    // A second run finds everything tested and writes nothing.
    args.retain(|arg| *arg != "--verify");
    let again = go.testsmith(&project, &args);
    assert_eq!(written(&again), 0, "{again}");
}

/// A package from Debian's /usr/share/gocode/src: the folder it was copied to, and the
/// environment its tests run in.
struct GoPackage {
    project: Project,
    go: Go,
}

/// Where Debian's golang-*-dev package puts `import_path`'s sources.
fn debian_sources(import_path: &str) -> PathBuf {
    let sources = Path::new("/usr/share/gocode/src").join(import_path);
    assert!(
        sources.is_dir(),
        "{} is missing: .ci/run installs it from Debian",
        sources.display()
    );
    sources
}

/// A module: copied to a folder of its own, with a go.mod when Debian ships none.
fn go_module(import_path: &str) -> GoPackage {
    let sources = debian_sources(import_path);
    let project = Project::new();
    copy_dir(&sources, &project.path("pkg"));
    if !project.exists("pkg/go.mod") {
        project.write("pkg/go.mod", format!("module {import_path}\n\ngo 1.13\n"));
    }
    let go = Go::new(&project.path("pkg"), &[]);
    GoPackage { project, go }
}

/// A GOPATH project (no go.mod), under `$GOPATH/src/<import path>`, with `GO111MODULE=off`:
/// how such a package's own tests expect to run (pkg/errors' assert their file's path).
fn gopath_package(import_path: &str) -> GoPackage {
    let sources = debian_sources(import_path);
    let project = Project::new();
    let dir = project.path("gopath/src").join(import_path);
    copy_dir(&sources, &dir);
    let go = Go::new(
        &dir,
        &[
            (
                "GOPATH",
                project.path("gopath").to_string_lossy().into_owned(),
            ),
            ("GO111MODULE", "off".to_owned()),
            ("GOFLAGS", String::new()),
        ],
    );
    GoPackage { project, go }
}

/// `generate --verify` on the package: vet and every test green after, the test files only
/// appended to, every pre-existing outcome unchanged.
#[track_caller]
fn assert_verified_generate_keeps_the_package_green(package: GoPackage, at_least: u64) {
    let GoPackage { project, go } = package;
    let (before, unbuilt) = go.outcomes(&["./..."]);
    assert!(unbuilt.is_empty(), "{unbuilt:?}");
    assert!(before.len() >= 20, "too few tests ran: {before:?}");
    let files_before = test_files(&go.dir, "_test.go");

    let doc = go.testsmith(&project, &["generate", "--verify", "--format", "json", "."]);
    assert!(written(&doc) >= at_least, "{doc}");
    assert_verified(&doc, 1);

    go.ok(&["vet", "./..."]);
    go.ok(&["test", "-count=1", "./..."]);
    let (after, unbuilt) = go.outcomes(&["./..."]);
    assert!(unbuilt.is_empty(), "{unbuilt:?}");
    assert_only_appended(&files_before, &test_files(&go.dir, "_test.go"));
    assert_outcomes_kept(&before, &after, |package, tests| {
        let pattern = format!("^({})$", tests.join("|"));
        go.outcomes(&["-run", &pattern, package]).0
    });
}

#[test]
fn google_uuid_stays_green_after_generate_verify_and_keeps_every_outcome() {
    if go_installed() {
        assert_verified_generate_keeps_the_package_green(go_module("github.com/google/uuid"), 30);
    }
}

#[test]
fn hashicorp_golang_lru_stays_green_after_generate_verify_and_keeps_every_outcome() {
    if go_installed() {
        assert_verified_generate_keeps_the_package_green(
            go_module("github.com/hashicorp/golang-lru"),
            30,
        );
    }
}

/// A GOPATH project whose tests assert their own file paths and line numbers.
#[test]
fn pkg_errors_in_its_gopath_stays_green_after_generate_verify_and_keeps_every_outcome() {
    if go_installed() {
        assert_verified_generate_keeps_the_package_green(
            gopath_package("github.com/pkg/errors"),
            1,
        );
    }
}

/// `cargo ARGS --offline` in `dir` with its own target folder: success, and its output.
fn cargo(dir: &Path, args: &[&str]) -> (bool, String) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .arg(args[0])
        .arg("--offline")
        .args(&args[1..])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_for(dir))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

fn target_for(dir: &Path) -> PathBuf {
    crate::util::cargo_target_of(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("realcode-target"),
        dir,
    )
}

/// Every test of `cargo test`, by its binary (`unittests src/lib.rs`, `tests/x.rs`,
/// `Doc-tests strsim`) and name.
fn libtest_outcomes(dir: &Path) -> Outcomes {
    let (_, output) = cargo(dir, &["test", "--", "--test-threads=2"]);
    let outcomes = libtest_lines(&output);
    assert!(
        !outcomes.is_empty(),
        "no test ran in {}:\n{output}",
        dir.display()
    );
    outcomes
}

/// The tests of libtest's output, by binary and name.
fn libtest_lines(output: &str) -> Outcomes {
    let mut outcomes = Outcomes::new();
    let mut binary = String::new();
    for line in output.lines() {
        let line = line.trim();
        if let Some(running) = line.strip_prefix("Running ") {
            // "Running unittests src/lib.rs (target/debug/deps/strsim-1a2b)"
            binary = running.split(" (").next().unwrap().to_owned();
        } else if line.starts_with("Doc-tests ") {
            binary = line.to_owned();
        } else if let Some(test) = line.strip_prefix("test ")
            && let Some((name, outcome)) = test.rsplit_once(" ... ")
        {
            outcomes.insert((binary.clone(), name.to_owned()), outcome.to_owned());
        }
    }
    outcomes
}

/// A crate of testsmith's own dependency tree (so `cargo fetch` puts it in the registry of a
/// clean machine), copied from the registry; `drop` names folders its tests cannot build
/// offline or on stable.
fn registry_copy(prefix: &str, drop: &[&str]) -> (Project, PathBuf) {
    let project = Project::new();
    let dir = project.path("crate");
    copy_dir(&registry_crate(prefix), &dir);
    for folder in drop {
        std::fs::remove_dir_all(dir.join(folder)).unwrap();
    }
    (project, dir)
}

/// `generate --verify` on the crate: `cargo test` green after, the test files testsmith found
/// only appended to, every pre-existing libtest outcome unchanged.
#[track_caller]
fn assert_verified_generate_keeps_the_crate_green(prefix: &str, drop: &[&str], at_least: u64) {
    let (project, dir) = registry_copy(prefix, drop);
    let before = libtest_outcomes(&dir);
    let sources_before = test_files(&dir, ".rs");

    let doc = project
        .testsmith(&["generate", "--verify", "--format", "json", "crate"])
        .env("CARGO_TARGET_DIR", target_for(&dir).to_str().unwrap())
        .run()
        .success()
        .json();
    assert!(written(&doc) >= at_least, "{doc}");
    assert_verified(&doc, 1);

    let (green, output) = cargo(&dir, &["test"]);
    assert!(green, "cargo test fails after generate:\n{output}");
    let after = libtest_outcomes(&dir);
    assert_outcomes_kept(&before, &after, |_, _| libtest_outcomes(&dir));
    // Rust tests go to `<file>_tests.rs` beside the source, which gains one `mod` line at its
    // end: nothing the user wrote moves.
    assert_only_appended(&sources_before, &test_files(&dir, ".rs"));
}

#[test]
fn strsim_stays_green_after_generate_verify_and_keeps_every_outcome() {
    // Its benchmarks need nightly.
    assert_verified_generate_keeps_the_crate_green("strsim-0.11.", &["benches"], 10);
}

#[test]
fn scopeguard_stays_green_after_generate_verify_and_keeps_every_outcome() {
    assert_verified_generate_keeps_the_crate_green("scopeguard-1.", &[], 1);
}

/// fnv keeps its library at the crate's root (`lib.rs`, `[lib] path`), not under src/.
#[test]
fn fnv_stays_green_after_generate_verify_and_keeps_every_outcome() {
    assert_verified_generate_keeps_the_crate_green("fnv-1.", &[], 1);
}
