//! The environment a command that runs generated code gets: the variables on an allowlist
//! (the toolchains' own, locale, `PATH`, `HOME`) plus the names the user passes through
//! with `[verify] pass_env`, and never a credential.

use std::collections::BTreeMap;

/// Variables passed through by name: what `go` and `cargo` need to find themselves, their
/// caches and their settings, and what a test may read about the machine's locale.
const ALLOWED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TZ",
    "LANG",
    "LANGUAGE",
    "TERM",
    "NO_COLOR",
    // Go.
    "GOROOT",
    "GOPATH",
    "GOMODCACHE",
    "GOFLAGS",
    "GOPROXY",
    "GONOPROXY",
    "GOPRIVATE",
    "GONOSUMDB",
    "GONOSUMCHECK",
    "GOSUMDB",
    "GOINSECURE",
    "GOWORK",
    "GOTOOLCHAIN",
    "GOENV",
    "GO111MODULE",
    "GOOS",
    "GOARCH",
    "GOAMD64",
    "GOARM",
    "GOEXPERIMENT",
    "GODEBUG",
    "GOMAXPROCS",
    "GOTRACEBACK",
    "CGO_ENABLED",
    "CGO_CFLAGS",
    "CGO_CPPFLAGS",
    "CGO_CXXFLAGS",
    "CGO_LDFLAGS",
    "CC",
    "CXX",
    "AR",
    "PKG_CONFIG_PATH",
    // Rust.
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "RUSTC",
    "RUSTDOC",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_JOBS",
    "CARGO_BUILD_TARGET",
    "CARGO_INCREMENTAL",
    "CARGO_PROFILE_DEV_DEBUG",
    "CARGO_PROFILE_TEST_DEBUG",
    "CARGO_NET_OFFLINE",
    "CARGO_TERM_COLOR",
    "RUST_BACKTRACE",
    "RUST_MIN_STACK",
    "RUST_TEST_THREADS",
];

/// Prefixes passed through: the locale's `LC_*` settings.
const ALLOWED_PREFIXES: &[&str] = &["LC_"];

/// Variables that always hold a credential or point at one, kept out whatever the user
/// lists: the OpenAI-compatible key testsmith itself reads, and the agent sockets that
/// hand out keys on request.
const NEVER: &[&str] = &["OPENAI_API_KEY", "SSH_AUTH_SOCK", "GPG_AGENT_INFO"];

/// What the user decided about the environment of generated code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvPolicy {
    /// Extra names passed through (`[verify] pass_env` in a user-level configuration).
    pub pass_env: Vec<String>,
    /// Names that hold the API key (`api_key_env`): never passed, even when listed.
    pub secret_vars: Vec<String>,
}

impl EnvPolicy {
    /// The environment for a command, from the variables of this process (`inherited`):
    /// allowed names only, and none whose value holds a secret's value — a pass-through
    /// name cannot smuggle the key out under another name.
    pub fn cleared(
        &self,
        inherited: impl IntoIterator<Item = (String, String)>,
    ) -> BTreeMap<String, String> {
        let inherited: BTreeMap<String, String> = inherited.into_iter().collect();
        let secrets: Vec<&str> = self
            .secret_vars
            .iter()
            .map(String::as_str)
            .chain(NEVER.iter().copied())
            .filter_map(|name| inherited.get(name).map(String::as_str))
            .filter(|value| value.len() >= 8)
            .collect();
        inherited
            .iter()
            .filter(|(name, _)| self.allows(name))
            .filter(|(_, value)| !secrets.iter().any(|secret| value.contains(secret)))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    fn allows(&self, name: &str) -> bool {
        if NEVER.contains(&name) || self.secret_vars.iter().any(|secret| secret == name) {
            return false;
        }
        ALLOWED.contains(&name)
            || ALLOWED_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix))
            || self.pass_env.iter().any(|passed| passed == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn only_allowed_names_pass_and_never_the_key() {
        let policy = EnvPolicy {
            pass_env: vec!["MY_SETTING".to_owned(), "GITHUB_TOKEN".to_owned()],
            secret_vars: vec!["GITHUB_TOKEN".to_owned()],
        };
        let env = policy.cleared(vars(&[
            ("PATH", "/usr/bin"),
            ("LC_ALL", "C.UTF-8"),
            ("GOCACHE", "/elsewhere"),
            ("OPENAI_API_KEY", "sk-secret-value"),
            ("GITHUB_TOKEN", "ghp-secret-value"),
            ("AWS_SECRET_ACCESS_KEY", "aws"),
            ("MY_SETTING", "on"),
        ]));
        let names: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(names, ["LC_ALL", "MY_SETTING", "PATH"]);
    }

    #[test]
    fn a_passed_variable_holding_the_key_is_dropped() {
        let policy = EnvPolicy {
            pass_env: vec!["COPY".to_owned()],
            secret_vars: vec!["MY_KEY".to_owned()],
        };
        let env = policy.cleared(vars(&[
            ("MY_KEY", "sk-0123456789"),
            ("COPY", "Bearer sk-0123456789"),
            ("GOFLAGS", "-mod=mod"),
        ]));
        assert_eq!(env.keys().collect::<Vec<_>>(), ["GOFLAGS"]);
    }
}
