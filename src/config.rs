//! Configuration: flags > environment > `testsmith.toml` (found by walking up from the working
//! folder) > the user's own file (`~/.config/testsmith/testsmith.toml`) > defaults, resolved
//! once into a [`Config`] that the rest of the program reads.
//!
//! The two files are not trusted alike. The user's file is the user's word; a project's
//! `testsmith.toml` (in the project or any folder above it) came with the code, so it cannot
//! decide where credentials or data go: its `api_key_env` and `[verify] pass_env` are ignored
//! with a warning naming the file, and the API key is attached only when the endpoint is
//! the one the user chose (flag, `OPENAI_BASE_URL`, the user's file, or the default) — a
//! project's `base_url` is used without the key. Provenance is tracked by hand per key
//! ([`Origin`], [`Trust`]): the `figment` crate layers sources with provenance too, but its
//! errors lose the line and column and the closest-key suggestions this module gives, and
//! two trust levels over five sources are a few lines here.
//!
//! Every key and value is checked: an unknown key or a bad value is an error that names the
//! key, where it came from (file and line, environment variable or flag) and, for a misspelt
//! key, the closest valid one. The API key itself never lives in the file — only the name of
//! the environment variable that holds it — and is wrapped in [`ApiKey`] so it cannot be
//! printed by accident.

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The configuration file's name, looked for in the working folder and every parent.
pub const CONFIG_FILE_NAME: &str = "testsmith.toml";

/// Environment variables read for `[llm]` keys.
pub const ENV_BASE_URL: &str = "OPENAI_BASE_URL";
pub const ENV_MODEL: &str = "TESTSMITH_MODEL";

const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";

/// How far a configuration file is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The user's own file, outside every project: may name credentials.
    User,
    /// A `testsmith.toml` found in the project or a folder above it: came with the code.
    Project,
}

/// The whole resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The project's `testsmith.toml` that was read, if one was found.
    pub file: Option<PathBuf>,
    pub llm: LlmConfig,
    /// The `[verify]` table.
    pub verify: VerifyConfig,
    /// Why the API key is not sent to `llm.base_url` (a project file chose that endpoint).
    pub key_withheld: Option<String>,
    /// What the user should know: settings a project file may not make, unencrypted
    /// endpoints. Printed once by the front door.
    pub warnings: Vec<String>,
}

/// The `[verify]` table, resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyConfig {
    /// Environment variables passed to generated code besides the allowlist (user's file
    /// only).
    pub pass_env: Vec<String>,
    /// Missing confinement is an error (`--require-sandbox`).
    pub require_sandbox: bool,
}

/// How members of one file are sent to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LlmMode {
    /// One request per file, for all its members that missed the cache.
    #[default]
    Batch,
    /// One request per member.
    FanOut,
}

impl LlmMode {
    const NAMES: &[&str] = &["batch", "fan-out"];

    fn parse(text: &str) -> Option<Self> {
        match text {
            "batch" => Some(LlmMode::Batch),
            "fan-out" => Some(LlmMode::FanOut),
            _ => None,
        }
    }
}

/// Completion tokens per member when nothing else is configured: a small model's test of
/// one member with its prose is 150–500 tokens (bench/real-model); 1024 leaves room, and
/// cuts the answers that run on for thousands.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The `[llm]` table, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// The API root; requests go to `{base_url}/chat/completions`. No trailing slash.
    pub base_url: String,
    /// The model name; `None` until a flag, `TESTSMITH_MODEL` or the file sets one.
    pub model: Option<String>,
    /// The name of the environment variable holding the API key.
    pub api_key_env: String,
    /// Requests in flight at once, retries included.
    pub concurrency: usize,
    /// Retries after the first attempt of one request.
    pub max_retries: u32,
    /// Time allowed to open a connection to the server.
    pub connect_timeout: Duration,
    /// Time allowed without a byte from the server: until the answer's headers, then
    /// between two reads of its body. Catches a black-holed server long before `timeout`.
    pub read_timeout: Option<Duration>,
    /// Total time allowed per request, answer included; `None` leaves it to the server.
    pub timeout: Option<Duration>,
    pub temperature: f64,
    pub mode: LlmMode,
    /// A server asking to wait longer than this (`Retry-After`) gets the job deferred
    /// instead of a sleeping process.
    pub max_wait: Duration,
    /// Completion tokens allowed per member asked; a batch of n members gets n times this.
    pub max_tokens: u32,
    /// Ask for streamed answers (`stream: true`): the read timeout then counts from the
    /// last token, and a runaway answer is stopped early. `false` for servers that stream
    /// badly.
    pub stream: bool,
    pub breaker: BreakerConfig,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: None,
            api_key_env: DEFAULT_API_KEY_ENV.to_owned(),
            concurrency: 5,
            max_retries: 3,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Some(Duration::from_secs(120)),
            timeout: Some(Duration::from_secs(300)),
            temperature: 0.0,
            mode: LlmMode::Batch,
            max_wait: Duration::from_secs(120),
            max_tokens: DEFAULT_MAX_TOKENS,
            stream: true,
            breaker: BreakerConfig::default(),
        }
    }
}

impl LlmConfig {
    /// The model, or an error telling the user the three ways to set one.
    pub fn require_model(&self) -> Result<&str, ConfigError> {
        self.model.as_deref().ok_or(ConfigError::MissingModel)
    }

    /// The API key from the environment variable `api_key_env` names, read through `env`
    /// (`std::env::var` in the binary; a map in tests). `None` when unset or empty: local
    /// servers often need no key, so whether that is an error is the caller's call
    /// ([`ConfigError::MissingApiKey`]).
    pub fn api_key(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<ApiKey> {
        env(&self.api_key_env)
            .filter(|key| !key.trim().is_empty())
            .map(|key| ApiKey(key.trim().to_owned()))
    }

    /// The API key, required only by OpenAI's own endpoint: a local server (llama.cpp,
    /// vLLM, Ollama) usually needs none, and a request without one there would only come
    /// back 401 after the run started.
    pub fn require_api_key(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ApiKey>, ConfigError> {
        match self.api_key(env) {
            None if self.base_url == DEFAULT_BASE_URL => Err(ConfigError::MissingApiKey {
                var: self.api_key_env.clone(),
            }),
            key => Ok(key),
        }
    }
}

/// The `[llm.breaker]` table: when to stop sending (issue 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Transient failures within `window` that open the breaker.
    pub failure_threshold: u32,
    pub window: Duration,
    /// How long the breaker stays open before letting probes through.
    pub cooldown: Duration,
    /// Requests let through while half-open.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            window: Duration::from_secs(30),
            cooldown: Duration::from_secs(30),
            half_open_probes: 1,
        }
    }
}

/// Values given on the command line; `None` means "not given". The CLI fills this from its
/// flags and hands it to [`Config::load`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmOverrides {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub concurrency: Option<usize>,
    pub max_retries: Option<u32>,
    pub connect_timeout_secs: Option<u64>,
    pub read_timeout_secs: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub temperature: Option<f64>,
    pub mode: Option<LlmMode>,
    pub max_tokens: Option<u32>,
    pub stream: Option<bool>,
}

/// An API key. Its `Debug` and `Display` print `[redacted]`; only [`ApiKey::expose`] gives
/// the text, for the one place that builds the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    #[cfg(test)]
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The secret itself. Call it only to put the key on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line, column } => {
                write!(f, "{}:{line}:{column}", path.display())
            }
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// Everything that can be wrong with the configuration. All of it is a usage error (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{origin}: {message}")]
    Syntax { origin: Origin, message: String },

    #[error("{origin}: unknown key `{key}`")]
    UnknownKey {
        origin: Origin,
        key: String,
        suggestion: Option<String>,
        valid: Vec<String>,
    },

    #[error("{origin}: bad value for `{key}`: {reason}")]
    BadValue {
        origin: Origin,
        key: String,
        reason: String,
        suggestion: Option<String>,
    },

    #[error("no model configured")]
    MissingModel,

    #[error("no API key: environment variable {var} is not set")]
    MissingApiKey { var: String },
}

impl ConfigError {
    /// One line telling the user how to fix it.
    pub fn help(&self) -> Option<String> {
        match self {
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => None,
            ConfigError::UnknownKey {
                suggestion, valid, ..
            } => Some(match suggestion {
                Some(key) => format!("did you mean `{key}`?"),
                None => format!("valid keys here: {}", valid.join(", ")),
            }),
            ConfigError::BadValue { suggestion, .. } => suggestion
                .as_ref()
                .map(|value| format!("did you mean `{value}`?")),
            ConfigError::MissingModel => Some(format!(
                "pass --model, set {ENV_MODEL}, or add `model = \"...\"` under [llm] in \
                 {CONFIG_FILE_NAME}"
            )),
            ConfigError::MissingApiKey { var } => Some(format!(
                "export {var}=<your key> (any value for a local server that ignores it), or \
                 name another variable with `api_key_env` under [llm]"
            )),
        }
    }
}

impl Config {
    /// Resolves the configuration for a run started in `working_dir`: finds `testsmith.toml`
    /// above it, reads the process environment, applies `overrides` from the flags.
    pub fn load(working_dir: &Path, overrides: &LlmOverrides) -> Result<Config, ConfigError> {
        let env = |var: &str| std::env::var(var).ok();
        let user_path = user_config_file(&env);
        let read = |path: PathBuf| -> Result<(PathBuf, String), ConfigError> {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            Ok((path, text))
        };
        let user = user_path
            .clone()
            .filter(|path| path.is_file())
            .map(read)
            .transpose()?;
        let project = find_config_file(working_dir)
            .filter(|path| Some(path) != user_path.as_ref())
            .map(read)
            .transpose()?;
        Config::resolve_layers(borrow(&user), borrow(&project), &env, overrides)
    }

    /// Checks the `testsmith.toml` above `working_dir`, if there is one, so a broken file is
    /// an error for every command, not only for those that use its keys. The environment is
    /// not judged here: a command that does not use a variable should not fail on it.
    pub fn check_file(working_dir: &Path) -> Result<(), ConfigError> {
        let Some(path) = find_config_file(working_dir) else {
            return Ok(());
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Config::resolve(Some((&path, &text)), &|_| None, &LlmOverrides::default()).map(drop)
    }

    /// [`Config::resolve_layers`] with a project file only.
    pub fn resolve(
        file: Option<(&Path, &str)>,
        env: &dyn Fn(&str) -> Option<String>,
        overrides: &LlmOverrides,
    ) -> Result<Config, ConfigError> {
        Config::resolve_layers(None, file, env, overrides)
    }

    /// The pure core of [`Config::load`]: defaults, then the user's file, then the project's
    /// file (without what it may not set), then `env`, then `overrides`, each checked. The
    /// key is withheld when the endpoint differs from the one resolved without the project
    /// file.
    pub fn resolve_layers(
        user: Option<(&Path, &str)>,
        project: Option<(&Path, &str)>,
        env: &dyn Fn(&str) -> Option<String>,
        overrides: &LlmOverrides,
    ) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        let mut chosen = (LlmConfig::default(), VerifyConfig::default());
        if let Some((path, text)) = user {
            apply_file(
                &mut chosen.0,
                &mut chosen.1,
                path,
                text,
                Trust::User,
                &mut warnings,
            )?;
        }
        let (mut llm, mut verify) = chosen.clone();
        if let Some((path, text)) = project {
            apply_file(
                &mut llm,
                &mut verify,
                path,
                text,
                Trust::Project,
                &mut warnings,
            )?;
        }
        for llm in [&mut chosen.0, &mut llm] {
            apply_env(llm, env)?;
            apply_overrides(llm, overrides)?;
        }
        let key_withheld = (llm.base_url != chosen.0.base_url).then(|| {
            let file = project.map_or_else(String::new, |(path, _)| path.display().to_string());
            let message = format!(
                "your API key is not sent to {url}: that endpoint comes from {file}, not from                  you; pass --base-url {url} (or set {ENV_BASE_URL}) to send the key there",
                url = llm.base_url
            );
            warnings.push(message.clone());
            message
        });
        if let Some(host) = plain_http_host(&llm.base_url).filter(|host| !is_loopback(host)) {
            warnings.push(format!(
                "{} is plain http:// to {host}: your source code{} can be read on the way;                  use https://",
                llm.base_url,
                if key_withheld.is_none() { " and API key" } else { "" }
            ));
        }
        Ok(Config {
            file: project.map(|(path, _)| path.to_owned()),
            llm,
            verify,
            key_withheld,
            warnings,
        })
    }

    /// The API key to send, if any: none when a project file chose the endpoint; else as
    /// [`LlmConfig::require_api_key`] says.
    pub fn api_key(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ApiKey>, ConfigError> {
        if self.key_withheld.is_some() {
            return Ok(None);
        }
        self.llm.require_api_key(env)
    }

    /// The folder holding the configuration file, which is also where `.testsmith/` lives.
    pub fn project_root(&self) -> Option<&Path> {
        self.file.as_deref().and_then(Path::parent)
    }
}

fn borrow(file: &Option<(PathBuf, String)>) -> Option<(&Path, &str)> {
    file.as_ref()
        .map(|(path, text)| (path.as_path(), text.as_str()))
}

/// The user's own configuration file: `$XDG_CONFIG_HOME/testsmith/testsmith.toml`, else
/// `$HOME/.config/testsmith/testsmith.toml`.
pub fn user_config_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .filter(|dir| Path::new(dir).is_absolute())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")))?;
    Some(base.join("testsmith").join(CONFIG_FILE_NAME))
}

/// The host of a plain `http://` URL.
fn plain_http_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    Some(match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.split(':').next().unwrap_or(authority),
    })
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The nearest `testsmith.toml` in `start` or one of its parents.
pub fn find_config_file(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(CONFIG_FILE_NAME))
        .find(|candidate| candidate.is_file())
}

// The file's shape. Values are `Spanned` so a bad value can be reported with its line;
// `deny_unknown_fields` makes serde report misspelt keys, which `file_error` turns into a
// suggestion.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    llm: Option<RawLlm>,
    verify: Option<RawVerify>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    pass_env: Option<Spanned<Vec<String>>>,
    require_sandbox: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLlm {
    base_url: Option<Spanned<String>>,
    model: Option<Spanned<String>>,
    api_key_env: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    max_retries: Option<Spanned<i64>>,
    connect_timeout_secs: Option<Spanned<i64>>,
    read_timeout_secs: Option<Spanned<i64>>,
    timeout_secs: Option<Spanned<i64>>,
    temperature: Option<Spanned<f64>>,
    mode: Option<Spanned<String>>,
    max_wait_secs: Option<Spanned<i64>>,
    max_tokens: Option<Spanned<i64>>,
    stream: Option<Spanned<bool>>,
    breaker: Option<RawBreaker>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreaker {
    failure_threshold: Option<Spanned<i64>>,
    window_secs: Option<Spanned<i64>>,
    cooldown_secs: Option<Spanned<i64>>,
    half_open_probes: Option<Spanned<i64>>,
}

fn apply_file(
    llm: &mut LlmConfig,
    verify: &mut VerifyConfig,
    path: &Path,
    text: &str,
    trust: Trust,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let raw: RawFile = toml::from_str(text).map_err(|error| file_error(path, text, &error))?;
    let at = |span: std::ops::Range<usize>| file_origin(path, text, span.start);
    let mut ignore = |key: &str, span: std::ops::Range<usize>, why: &str| {
        warnings.push(format!(
            "{}: `{key}` is ignored: {why}; set it in your own {} instead",
            at(span),
            user_config_file(&|var| std::env::var(var).ok()).map_or_else(
                || "configuration file".to_owned(),
                |p| p.display().to_string()
            )
        ));
    };
    if let Some(raw) = raw.verify {
        if let Some(value) = raw.pass_env {
            match trust {
                Trust::User => {
                    for name in value.get_ref() {
                        check_env_var_name(name, at(value.span()))?;
                    }
                    verify.pass_env = value.get_ref().clone();
                }
                Trust::Project => ignore(
                    "pass_env",
                    value.span(),
                    "a project's file cannot hand your environment to generated code",
                ),
            }
        }
        if let Some(value) = raw.require_sandbox {
            // Only ever tightens, so a project may ask for it.
            verify.require_sandbox |= *value.get_ref();
        }
    }
    let Some(raw) = raw.llm else {
        return Ok(());
    };
    if let Some(value) = raw.base_url {
        llm.base_url = check_base_url(value.get_ref(), at(value.span()))?;
    }
    if let Some(value) = raw.model {
        llm.model = Some(check_non_empty("model", value.get_ref(), at(value.span()))?);
    }
    if let Some(value) = raw.api_key_env {
        match trust {
            Trust::User => {
                llm.api_key_env = check_env_var_name(value.get_ref(), at(value.span()))?;
            }
            Trust::Project => ignore(
                "api_key_env",
                value.span(),
                "a project's file cannot choose which of your variables is sent as the key",
            ),
        }
    }
    if let Some(value) = raw.concurrency {
        llm.concurrency = check_range("concurrency", *value.get_ref(), 1, 256, at(value.span()))?;
    }
    if let Some(value) = raw.max_retries {
        llm.max_retries = check_range("max_retries", *value.get_ref(), 0, 20, at(value.span()))?;
    }
    if let Some(value) = raw.connect_timeout_secs {
        let secs: u64 = check_range(
            "connect_timeout_secs",
            *value.get_ref(),
            1,
            3600,
            at(value.span()),
        )?;
        llm.connect_timeout = Duration::from_secs(secs);
    }
    if let Some(value) = raw.read_timeout_secs {
        let secs: u64 = check_range(
            "read_timeout_secs",
            *value.get_ref(),
            1,
            3600,
            at(value.span()),
        )?;
        llm.read_timeout = Some(Duration::from_secs(secs));
    }
    if let Some(value) = raw.timeout_secs {
        let secs: u64 = check_range("timeout_secs", *value.get_ref(), 1, 3600, at(value.span()))?;
        llm.timeout = Some(Duration::from_secs(secs));
    }
    if let Some(value) = raw.temperature {
        llm.temperature = check_temperature(*value.get_ref(), at(value.span()))?;
    }
    if let Some(value) = raw.mode {
        llm.mode = check_mode(value.get_ref(), at(value.span()))?;
    }
    if let Some(value) = raw.max_wait_secs {
        let secs: u64 = check_range(
            "max_wait_secs",
            *value.get_ref(),
            1,
            86_400,
            at(value.span()),
        )?;
        llm.max_wait = Duration::from_secs(secs);
    }
    if let Some(value) = raw.max_tokens {
        llm.max_tokens = check_range("max_tokens", *value.get_ref(), 16, 65_536, at(value.span()))?;
    }
    if let Some(value) = raw.stream {
        llm.stream = *value.get_ref();
    }
    if let Some(breaker) = raw.breaker {
        let b = &mut llm.breaker;
        if let Some(value) = breaker.failure_threshold {
            b.failure_threshold = check_range(
                "failure_threshold",
                *value.get_ref(),
                1,
                1000,
                at(value.span()),
            )?;
        }
        if let Some(value) = breaker.window_secs {
            let secs: u64 =
                check_range("window_secs", *value.get_ref(), 1, 3600, at(value.span()))?;
            b.window = Duration::from_secs(secs);
        }
        if let Some(value) = breaker.cooldown_secs {
            let secs: u64 =
                check_range("cooldown_secs", *value.get_ref(), 1, 3600, at(value.span()))?;
            b.cooldown = Duration::from_secs(secs);
        }
        if let Some(value) = breaker.half_open_probes {
            b.half_open_probes = check_range(
                "half_open_probes",
                *value.get_ref(),
                1,
                100,
                at(value.span()),
            )?;
        }
    }
    Ok(())
}

fn apply_env(llm: &mut LlmConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    if let Some(value) = env(ENV_BASE_URL).filter(|value| !value.is_empty()) {
        llm.base_url = check_base_url(&value, Origin::Env(ENV_BASE_URL))?;
    }
    if let Some(value) = env(ENV_MODEL).filter(|value| !value.is_empty()) {
        llm.model = Some(value);
    }
    Ok(())
}

fn apply_overrides(llm: &mut LlmConfig, flags: &LlmOverrides) -> Result<(), ConfigError> {
    if let Some(value) = &flags.base_url {
        llm.base_url = check_base_url(value, Origin::Flag("--base-url"))?;
    }
    if let Some(value) = &flags.model {
        llm.model = Some(check_non_empty("model", value, Origin::Flag("--model"))?);
    }
    if let Some(value) = flags.concurrency {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        llm.concurrency = check_range("concurrency", value, 1, 256, Origin::Flag("--concurrency"))?;
    }
    if let Some(value) = flags.max_retries {
        llm.max_retries = check_range(
            "max_retries",
            i64::from(value),
            0,
            20,
            Origin::Flag("--retries"),
        )?;
    }
    if let Some(value) = flags.connect_timeout_secs {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        let secs: u64 = check_range(
            "connect_timeout_secs",
            value,
            1,
            3600,
            Origin::Flag("--connect-timeout"),
        )?;
        llm.connect_timeout = Duration::from_secs(secs);
    }
    if let Some(value) = flags.read_timeout_secs {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        let secs: u64 = check_range(
            "read_timeout_secs",
            value,
            1,
            3600,
            Origin::Flag("--read-timeout"),
        )?;
        llm.read_timeout = Some(Duration::from_secs(secs));
    }
    if let Some(value) = flags.timeout_secs {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        let secs: u64 = check_range("timeout_secs", value, 1, 3600, Origin::Flag("--timeout"))?;
        llm.timeout = Some(Duration::from_secs(secs));
    }
    if let Some(value) = flags.temperature {
        llm.temperature = check_temperature(value, Origin::Flag("--temperature"))?;
    }
    if let Some(mode) = flags.mode {
        llm.mode = mode;
    }
    if let Some(value) = flags.max_tokens {
        let value = i64::from(value);
        llm.max_tokens = check_range(
            "max_tokens",
            value,
            16,
            65_536,
            Origin::Flag("--max-tokens"),
        )?;
    }
    if let Some(stream) = flags.stream {
        llm.stream = stream;
    }
    Ok(())
}

fn check_base_url(value: &str, origin: Origin) -> Result<String, ConfigError> {
    let trimmed = value.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !trimmed.contains(char::is_whitespace) => {
            Ok(trimmed.to_owned())
        }
        _ => Err(ConfigError::BadValue {
            origin,
            key: "base_url".to_owned(),
            reason: format!("`{value}` is not an http:// or https:// URL"),
            suggestion: None,
        }),
    }
}

fn check_non_empty(key: &str, value: &str, origin: Origin) -> Result<String, ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::BadValue {
            origin,
            key: key.to_owned(),
            reason: "must not be empty".to_owned(),
            suggestion: None,
        });
    }
    Ok(value.trim().to_owned())
}

fn check_env_var_name(value: &str, origin: Origin) -> Result<String, ConfigError> {
    let mut chars = value.chars();
    let is_name = chars
        .next()
        .is_some_and(|first| first == '_' || first.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    if !is_name {
        // Most likely the key itself was pasted here: say so without echoing it.
        return Err(ConfigError::BadValue {
            origin,
            key: "api_key_env".to_owned(),
            reason: "must be the name of an environment variable (like OPENAI_API_KEY), \
                     never the key itself"
                .to_owned(),
            suggestion: None,
        });
    }
    Ok(value.to_owned())
}

fn check_range<T: TryFrom<i64>>(
    key: &str,
    value: i64,
    min: i64,
    max: i64,
    origin: Origin,
) -> Result<T, ConfigError> {
    if (min..=max).contains(&value)
        && let Ok(value) = T::try_from(value)
    {
        return Ok(value);
    }
    Err(ConfigError::BadValue {
        origin,
        key: key.to_owned(),
        reason: format!("{value} is outside {min}..={max}"),
        suggestion: None,
    })
}

fn check_temperature(value: f64, origin: Origin) -> Result<f64, ConfigError> {
    if (0.0..=2.0).contains(&value) {
        return Ok(value);
    }
    Err(ConfigError::BadValue {
        origin,
        key: "temperature".to_owned(),
        reason: format!("{value} is outside 0.0..=2.0"),
        suggestion: None,
    })
}

fn check_mode(value: &str, origin: Origin) -> Result<LlmMode, ConfigError> {
    LlmMode::parse(value).ok_or_else(|| ConfigError::BadValue {
        origin,
        key: "mode".to_owned(),
        reason: format!("`{value}` is not one of: {}", LlmMode::NAMES.join(", ")),
        suggestion: closest(value, LlmMode::NAMES.iter().copied()),
    })
}

/// Turns a TOML or serde error into a [`ConfigError`] pointing at the line. serde reports a
/// misspelt key as "unknown field `x`, expected one of `a`, `b`": the listed names are the
/// valid keys of that very table, so the suggestion is chosen among them.
fn file_error(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let offset = error.span().map_or(0, |span| span.start);
    let origin = file_origin(path, text, offset);
    let message = error.message().trim();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once('`')
    {
        let valid = backticked(expected);
        return ConfigError::UnknownKey {
            origin,
            key: key.to_owned(),
            suggestion: closest(key, valid.iter().map(String::as_str)),
            valid,
        };
    }
    // A wrong type ("invalid type: string \"five\", expected i64") points at the value; the
    // key is what stands before `=` on that line.
    match key_on_line(text, offset) {
        Some(key)
            if message.starts_with("invalid type") || message.starts_with("invalid value") =>
        {
            ConfigError::BadValue {
                origin,
                key,
                reason: message.to_owned(),
                suggestion: None,
            }
        }
        _ => ConfigError::Syntax {
            origin,
            message: message.to_owned(),
        },
    }
}

fn file_origin(path: &Path, text: &str, offset: usize) -> Origin {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
    Origin::File {
        path: path.to_owned(),
        line,
        column,
    }
}

fn key_on_line(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |at| at + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty()).then(|| key.rsplit('.').next().unwrap_or(key).trim().to_owned())
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The candidate nearest to `given` by edit distance, when near enough to be a typo.
fn closest<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    // Jaro-Winkler rewards a shared prefix, which catches both typos (`concurency`) and
    // shortened names (`cooldown` for `cooldown_secs`).
    candidates
        .map(|candidate| (strsim::jaro_winkler(given, candidate), candidate))
        .filter(|(similarity, _)| *similarity >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |var| map.get(var).cloned()
    }

    fn from_file(text: &str) -> Result<Config, ConfigError> {
        Config::resolve(
            Some((Path::new("testsmith.toml"), text)),
            &env_of(&[]),
            &LlmOverrides::default(),
        )
    }

    #[test]
    fn defaults_apply_when_nothing_is_configured() {
        let config = Config::resolve(None, &env_of(&[]), &LlmOverrides::default()).unwrap();
        assert_eq!(config.llm, LlmConfig::default());
        assert_eq!(config.llm.base_url, "https://api.openai.com/v1");
        assert_eq!(config.llm.concurrency, 5);
        assert_eq!(config.llm.max_retries, 3);
        assert_eq!(config.llm.mode, LlmMode::Batch);
        assert_eq!(config.llm.api_key_env, "OPENAI_API_KEY");
    }

    #[test]
    fn flags_beat_environment_which_beats_the_file() {
        let text =
            "[llm]\nbase_url = \"http://file:1/v1\"\nmodel = \"file-model\"\nconcurrency = 2\n";
        let env = env_of(&[
            ("OPENAI_BASE_URL", "http://env:2/v1/"),
            ("TESTSMITH_MODEL", "env-model"),
        ]);
        let only_file = from_file(text).unwrap();
        assert_eq!(only_file.llm.base_url, "http://file:1/v1");
        assert_eq!(only_file.llm.concurrency, 2);

        let with_env = Config::resolve(
            Some((Path::new("testsmith.toml"), text)),
            &env,
            &LlmOverrides::default(),
        )
        .unwrap();
        assert_eq!(with_env.llm.base_url, "http://env:2/v1");
        assert_eq!(with_env.llm.model.as_deref(), Some("env-model"));

        let flags = LlmOverrides {
            model: Some("flag-model".to_owned()),
            concurrency: Some(9),
            mode: Some(LlmMode::FanOut),
            ..LlmOverrides::default()
        };
        let with_flags =
            Config::resolve(Some((Path::new("testsmith.toml"), text)), &env, &flags).unwrap();
        assert_eq!(with_flags.llm.model.as_deref(), Some("flag-model"));
        assert_eq!(with_flags.llm.concurrency, 9);
        assert_eq!(with_flags.llm.mode, LlmMode::FanOut);
        assert_eq!(with_flags.llm.base_url, "http://env:2/v1");
    }

    /// `text` as the user's own file (outside every project).
    fn from_user_file(text: &str) -> Result<Config, ConfigError> {
        Config::resolve_layers(
            Some((Path::new("/home/u/.config/testsmith/testsmith.toml"), text)),
            None,
            &env_of(&[]),
            &LlmOverrides::default(),
        )
    }

    #[test]
    fn a_project_file_cannot_choose_the_key_variable_or_pass_env_and_is_told_so() {
        let text = "[llm]\nmodel = \"m\"\napi_key_env = \"GITHUB_TOKEN\"\n\n[verify]\n\
                    pass_env = [\"AWS_SECRET_ACCESS_KEY\"]\nrequire_sandbox = true\n";
        let config = from_file(text).unwrap();
        assert_eq!(config.llm.api_key_env, "OPENAI_API_KEY");
        assert_eq!(config.llm.model.as_deref(), Some("m"));
        assert!(config.verify.pass_env.is_empty());
        // Asking for more confinement is always allowed.
        assert!(config.verify.require_sandbox);
        assert_eq!(config.warnings.len(), 2, "{:?}", config.warnings);
        assert!(
            config.warnings[0].starts_with("testsmith.toml:6:12: `pass_env` is ignored"),
            "{:?}",
            config.warnings
        );
        assert!(
            config.warnings[1].starts_with("testsmith.toml:3:15: `api_key_env` is ignored"),
            "{:?}",
            config.warnings
        );
        // The user's own file may set both.
        let user = from_user_file(text).unwrap();
        assert_eq!(user.llm.api_key_env, "GITHUB_TOKEN");
        assert_eq!(user.verify.pass_env, ["AWS_SECRET_ACCESS_KEY"]);
        assert!(user.warnings.is_empty(), "{:?}", user.warnings);
    }

    #[test]
    fn the_key_goes_only_to_the_endpoint_the_user_chose() {
        let key_env = env_of(&[("OPENAI_API_KEY", "sk-user")]);
        let project = "[llm]\nbase_url = \"https://attacker.example/v1\"\n";
        let config = Config::resolve(
            Some((Path::new("/p/testsmith.toml"), project)),
            &key_env,
            &LlmOverrides::default(),
        )
        .unwrap();
        assert_eq!(config.llm.base_url, "https://attacker.example/v1");
        assert_eq!(config.api_key(&key_env).unwrap(), None);
        let why = config.key_withheld.as_deref().unwrap();
        assert!(
            why.contains("/p/testsmith.toml") && why.contains("--base-url"),
            "{why}"
        );
        // A loopback endpoint gets no exception.
        let local = "[llm]\nbase_url = \"http://127.0.0.1:8080/v1\"\n";
        let config = Config::resolve(
            Some((Path::new("t.toml"), local)),
            &key_env,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(config.api_key(&key_env).unwrap(), None);

        // The same endpoint named by the user (flag, environment or own file) gets the key.
        let flag = LlmOverrides {
            base_url: Some("https://attacker.example/v1".to_owned()),
            ..LlmOverrides::default()
        };
        let chosen = Config::resolve(
            Some((Path::new("/p/testsmith.toml"), project)),
            &key_env,
            &flag,
        )
        .unwrap();
        assert_eq!(
            chosen.api_key(&key_env).unwrap().unwrap().expose(),
            "sk-user"
        );
        let user = Config::resolve_layers(
            Some((Path::new("/u/testsmith.toml"), project)),
            Some((Path::new("/p/testsmith.toml"), project)),
            &key_env,
            &LlmOverrides::default(),
        )
        .unwrap();
        assert!(user.key_withheld.is_none());
        assert_eq!(user.api_key(&key_env).unwrap().unwrap().expose(), "sk-user");
    }

    #[test]
    fn plain_http_to_another_host_is_warned_about_and_loopback_is_not() {
        let remote = from_user_file("[llm]\nbase_url = \"http://gpu-box:8000/v1\"\n").unwrap();
        assert_eq!(remote.warnings.len(), 1, "{:?}", remote.warnings);
        assert!(remote.warnings[0].contains("plain http:// to gpu-box"));
        for local in [
            "http://localhost:1/v1",
            "http://127.0.0.1/v1",
            "http://[::1]:8/v1",
        ] {
            let config = from_user_file(&format!("[llm]\nbase_url = \"{local}\"\n")).unwrap();
            assert!(config.warnings.is_empty(), "{local}: {:?}", config.warnings);
        }
    }

    #[test]
    fn every_key_of_the_file_is_read() {
        let text = r#"
[llm]
base_url = "http://127.0.0.1:8080/v1"
model = "qwen"
api_key_env = "MY_KEY"
concurrency = 3
max_retries = 0
connect_timeout_secs = 5
read_timeout_secs = 20
timeout_secs = 30
temperature = 0.2
mode = "fan-out"
max_wait_secs = 60
max_tokens = 600
stream = false

[llm.breaker]
failure_threshold = 7
window_secs = 10
cooldown_secs = 20
half_open_probes = 2
"#;
        let llm = from_user_file(text).unwrap().llm;
        assert_eq!(
            llm,
            LlmConfig {
                base_url: "http://127.0.0.1:8080/v1".to_owned(),
                model: Some("qwen".to_owned()),
                api_key_env: "MY_KEY".to_owned(),
                concurrency: 3,
                max_retries: 0,
                connect_timeout: Duration::from_secs(5),
                read_timeout: Some(Duration::from_secs(20)),
                timeout: Some(Duration::from_secs(30)),
                temperature: 0.2,
                mode: LlmMode::FanOut,
                max_wait: Duration::from_secs(60),
                max_tokens: 600,
                stream: false,
                breaker: BreakerConfig {
                    failure_threshold: 7,
                    window: Duration::from_secs(10),
                    cooldown: Duration::from_secs(20),
                    half_open_probes: 2,
                },
            }
        );
    }

    #[test]
    fn an_unknown_key_names_file_line_and_the_closest_valid_key() {
        let error = from_file("[llm]\nmodel = \"m\"\nconcurency = 3\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "testsmith.toml:3:1: unknown key `concurency`"
        );
        assert_eq!(error.help().as_deref(), Some("did you mean `concurrency`?"));
    }

    #[test]
    fn an_unknown_breaker_key_is_matched_against_breaker_keys() {
        let error = from_file("[llm.breaker]\ncooldown = 3\n").unwrap_err();
        assert!(matches!(&error, ConfigError::UnknownKey { key, .. } if key == "cooldown"));
        assert_eq!(
            error.help().as_deref(),
            Some("did you mean `cooldown_secs`?")
        );
    }

    #[test]
    fn an_unknown_key_far_from_any_lists_the_valid_ones() {
        let error = from_file("[llm]\nbanana = 1\n").unwrap_err();
        let help = error.help().unwrap();
        assert!(help.starts_with("valid keys here: "), "{help}");
        assert!(
            help.contains("base_url") && help.contains("concurrency"),
            "{help}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key_and_line() {
        let error = from_file("[llm]\n\nconcurrency = \"five\"\n").unwrap_err();
        match &error {
            ConfigError::BadValue { key, origin, .. } => {
                assert_eq!(key, "concurrency");
                assert!(matches!(origin, Origin::File { line: 3, .. }), "{origin:?}");
            }
            other => panic!("expected a bad value, got {other:?}"),
        }
    }

    #[test]
    fn out_of_range_values_are_rejected_with_their_key() {
        for (text, key) in [
            ("[llm]\nconcurrency = 0\n", "concurrency"),
            ("[llm]\ntemperature = 3.5\n", "temperature"),
            ("[llm]\nmax_retries = -1\n", "max_retries"),
            ("[llm]\nbase_url = \"ftp://x\"\n", "base_url"),
            ("[llm]\napi_key_env = \"sk-abc123\"\n", "api_key_env"),
            ("[llm.breaker]\nhalf_open_probes = 0\n", "half_open_probes"),
        ] {
            let error = from_user_file(text).unwrap_err();
            assert!(
                matches!(&error, ConfigError::BadValue { key: k, origin: Origin::File { line: 2, .. }, .. } if k == key),
                "{text}: {error:?}"
            );
        }
    }

    #[test]
    fn a_misspelt_mode_suggests_the_valid_one() {
        let error = from_file("[llm]\nmode = \"fanout\"\n").unwrap_err();
        assert!(
            error.to_string().contains("bad value for `mode`"),
            "{error}"
        );
        assert_eq!(error.help().as_deref(), Some("did you mean `fan-out`?"));
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let error = Config::resolve(
            None,
            &env_of(&[("OPENAI_BASE_URL", "localhost:8080")]),
            &LlmOverrides::default(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("environment variable OPENAI_BASE_URL: bad value for `base_url`"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_flag_names_the_flag() {
        let flags = LlmOverrides {
            concurrency: Some(0),
            ..LlmOverrides::default()
        };
        let error = Config::resolve(None, &env_of(&[]), &flags).unwrap_err();
        assert!(
            error.to_string().starts_with("flag --concurrency:"),
            "{error}"
        );
    }

    #[test]
    fn broken_toml_is_a_syntax_error_with_a_line() {
        let error = from_file("[llm]\nmodel = \n").unwrap_err();
        assert!(
            matches!(
                &error,
                ConfigError::Syntax {
                    origin: Origin::File { line: 2, .. },
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn the_api_key_is_read_from_the_named_variable_and_never_printed() {
        let llm = from_user_file("[llm]\napi_key_env = \"MY_KEY\"\n")
            .unwrap()
            .llm;
        let key = llm
            .api_key(&env_of(&[
                ("MY_KEY", "sk-secret-123"),
                ("OPENAI_API_KEY", "other"),
            ]))
            .unwrap();
        assert_eq!(key.expose(), "sk-secret-123");
        assert_eq!(format!("{key}"), "[redacted]");
        assert_eq!(format!("{key:?}"), "[redacted]");
        assert!(llm.api_key(&env_of(&[("MY_KEY", "  ")])).is_none());
    }

    #[test]
    fn the_config_file_is_found_by_walking_up() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(find_config_file(&nested), None);
        std::fs::write(
            dir.path().join(CONFIG_FILE_NAME),
            "[llm]\nconcurrency = 4\n",
        )
        .unwrap();
        assert_eq!(
            find_config_file(&nested),
            Some(dir.path().join(CONFIG_FILE_NAME))
        );
        let config = Config::load(&nested, &LlmOverrides::default()).unwrap();
        assert_eq!(config.llm.concurrency, 4);
        assert_eq!(config.project_root(), Some(dir.path()));
    }

    #[test]
    fn a_missing_model_explains_how_to_set_one() {
        let error = LlmConfig::default().require_model().unwrap_err();
        assert!(error.help().unwrap().contains("--model"));
    }
}
