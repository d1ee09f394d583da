//! `testsmith init`: a commented `testsmith.toml` and a `TESTSMITH.md` conventions file in the
//! current folder. Existing files are never overwritten.

use crate::config::CONFIG_FILE_NAME;
use crate::errors::{AppError, Outcome};
use crate::output::Printer;
use std::path::Path;

/// Every `[llm]` key with its default and what sets it besides the file.
pub const CONFIG_TEMPLATE: &str = r#"# testsmith configuration. Flags win over environment variables, which win over this file.

[llm]
# OpenAI-compatible API root; requests go to {base_url}/chat/completions.
# Env: OPENAI_BASE_URL. Flag: --base-url.
base_url = "https://api.openai.com/v1"

# The model. Env: TESTSMITH_MODEL. Flag: --model.
# model = "gpt-4o-mini"

# The environment variable that holds the API key. The key itself never goes in this file.
api_key_env = "OPENAI_API_KEY"

# Requests in flight at once, retries included. Flag: --concurrency.
concurrency = 5

# Retries of a request that failed for a passing reason (429, 5xx, timeout). Flag: --retries.
max_retries = 3

# Seconds allowed to open a connection to the server. Flag: --connect-timeout.
connect_timeout_secs = 10

# Seconds allowed without a byte from the server (before the answer starts, then between
# two reads; streamed, between two tokens): a silent server is given up on here.
# Flag: --read-timeout.
read_timeout_secs = 120

# Seconds before a request is abandoned and retried, whole answer included. Flag: --timeout.
timeout_secs = 300

# Sampling temperature. Flag: --temperature.
temperature = 0.0

# "batch": one request per file for all its untested members; "fan-out": one per member.
# Flags: --batch, --fan-out.
mode = "batch"

# A server asking to wait longer than this many seconds (Retry-After) gets the job deferred
# to a later run (`testsmith resume`) instead of a sleeping process.
max_wait_secs = 120

# Completion tokens allowed per member asked (a batch gets this times its members): an
# answer that runs on is cut there and counted as truncated. Flag: --max-tokens.
max_tokens = 1024

# Streamed answers: the read timeout counts from the last token, and an answer that starts
# repeating itself is cut short. false asks for whole answers (a server that streams
# badly). Flag: --no-stream.
stream = true

[llm.breaker]
# Transient failures (5xx, timeouts, refused connections; not 429 rate limits) within
# window_secs that stop sending.
failure_threshold = 5
window_secs = 30
# Seconds the breaker stays open (nothing is sent) before probing again.
cooldown_secs = 30
# Requests let through to probe a recovering API.
half_open_probes = 1
"#;

/// The conventions file: its text goes into every prompt.
pub const CONVENTIONS_TEMPLATE: &str = "\
# Test conventions for testsmith

Everything in this file is sent to the model with every request, so keep it short and
concrete. Say how tests are written in this project, for example:

- Prefer table-driven tests; name cases after the behaviour they check.
- Use only the standard library's testing tools (no assertion libraries).
- Never touch the network or the real file system; use temporary folders.
";

pub fn run(force: bool, printer: &mut Printer) -> Result<Outcome, AppError> {
    let files = [
        (CONFIG_FILE_NAME, CONFIG_TEMPLATE),
        (super::generate_llm::CONVENTIONS_FILE, CONVENTIONS_TEMPLATE),
    ];
    for (name, text) in files {
        let path = Path::new(name);
        if path.exists() && !force {
            printer.note(&format!(
                "{name} exists; left as it is (--force overwrites)"
            ));
            continue;
        }
        std::fs::write(path, text).map_err(|source| AppError::WriteFile {
            path: path.to_owned(),
            source,
        })?;
        printer.out(&format!("wrote {name}\n"))?;
    }
    printer.flush()?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, LlmConfig, LlmOverrides};

    #[test]
    fn the_config_template_is_valid_and_states_the_defaults() {
        let config = Config::resolve(
            Some((Path::new("testsmith.toml"), CONFIG_TEMPLATE)),
            &|_| None,
            &LlmOverrides::default(),
        )
        .expect("the template parses");
        assert_eq!(config.llm, LlmConfig::default());
    }
}
