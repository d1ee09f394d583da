//! The one user-facing error type: every way a run can end badly, with its exit code and a
//! `help:` line telling the user what to do about it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// How a run ended; the numbers are the documented exit codes (README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Everything asked for was done.
    Success,
    /// `--llm`: the run wrote what it could; the rest waits in the queue (rate limit, quota,
    /// outage). `testsmith resume` finishes it.
    Deferred,
    /// The run finished, but a measure fell below its `--fail-under` threshold.
    BelowThreshold,
    /// The run finished, but some files could not be read, parsed cleanly or written.
    SomeFilesFailed,
    /// `--llm`: some members got no usable test — the model's answers stayed invalid, or a
    /// request failed in a way no retry fixes — and it is not a configuration problem.
    UnusableAnswers,
    /// Bad flags, a bad configuration file, or nothing to work on.
    UsageError,
    /// The user pressed Ctrl-C (or sent SIGINT/SIGTERM).
    Interrupted,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::SomeFilesFailed => 1,
            // EX_DATAERR from sysexits.h: the model's answers were unusable.
            Outcome::UnusableAnswers => 65,
            // EX_TEMPFAIL from sysexits.h: a temporary failure; the user is invited to retry.
            Outcome::Deferred => 75,
            Outcome::UsageError => 2,
            Outcome::BelowThreshold => 3,
            Outcome::Interrupted => 130,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome.code())
    }
}

/// An error that ends the whole run. Per-file problems are not errors: they are reported and
/// counted, and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("no Go or Rust files found in {}", display_paths(.paths))]
    NothingToDo { paths: Vec<PathBuf> },

    #[error("cannot write to standard output")]
    Stdout(#[source] std::io::Error),

    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),

    #[error("cannot use the state database")]
    Store(#[from] crate::store::StoreError),

    #[error("cannot set up the LLM client")]
    Client(#[from] crate::llm::ClientBuildError),

    #[error("{}", .0)]
    Credentials(crate::llm::LlmError, String),

    /// The API refused a request as wrong (400/404/422): the model name, the base URL or
    /// a setting.
    #[error("{}", .0)]
    Refused(crate::llm::LlmError),

    #[error("another testsmith run is working on {}", .0.display())]
    Busy(PathBuf),

    #[error("cannot watch {}", .path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },

    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),

    #[error("cannot find the current folder")]
    CurrentDir(#[source] std::io::Error),

    #[error(transparent)]
    Changes(#[from] crate::pipeline::ChangesError),

    /// `report merge`: a report that cannot be read, is not JSON, or disagrees with the
    /// others.
    #[error("{}: {reason}", .path.display())]
    BadReport { path: PathBuf, reason: String },

    #[error("cannot write {}", .path.display())]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl AppError {
    /// The exit code this error ends the run with.
    pub fn outcome(&self) -> Outcome {
        match self {
            AppError::NothingToDo { .. }
            | AppError::Config(_)
            | AppError::Credentials(..)
            | AppError::Refused(_)
            | AppError::Busy(_)
            | AppError::Sandbox(_)
            | AppError::BadReport { .. }
            | AppError::Changes(_)
            | AppError::Store(crate::store::StoreError::BadUrl { .. }) => Outcome::UsageError,
            AppError::Watch { source, .. } => match source.kind {
                notify::ErrorKind::PathNotFound => Outcome::UsageError,
                _ => Outcome::SomeFilesFailed,
            },
            AppError::Stdout(_)
            | AppError::Store(_)
            | AppError::Client(_)
            | AppError::CurrentDir(_)
            | AppError::WriteFile { .. } => Outcome::SomeFilesFailed,
        }
    }

    /// One line telling the user how to get past this error, when there is one.
    pub fn help(&self) -> Option<String> {
        match self {
            AppError::NothingToDo { .. } => Some(
                "name a folder that holds .go or .rs files; .gitignore'd, hidden, vendor/, \
                 testdata/ and target/ folders are skipped unless named explicitly"
                    .to_owned(),
            ),
            AppError::Config(error) => error.help(),
            AppError::Changes(_) => Some(
                "run inside a git repository and name a commit or branch it has (fetch it \
                 first in a shallow CI checkout: `git fetch origin main`)"
                    .to_owned(),
            ),
            AppError::BadReport { .. } => Some(
                "merge the `--format json` reports of one command, run with the same options \
                 over different `--partition` shares"
                    .to_owned(),
            ),
            AppError::Credentials(_, help) => Some(help.clone()),
            AppError::Refused(_) => Some(
                "check the model name (--model), the base URL (--base-url) and the [llm] \
                 settings; unfinished jobs wait in the queue: `testsmith resume`"
                    .to_owned(),
            ),
            AppError::Busy(_) => Some(
                "wait for the other run to finish (a stopped run's lock is released when its \
                 process ends)"
                    .to_owned(),
            ),
            AppError::Sandbox(crate::sandbox::SandboxError::Required { .. }) => Some(
                "run where unprivileged user namespaces and Landlock are enabled (Linux 6.7 or \
                 newer; `unshare -Urn true` must work), or drop --require-sandbox"
                    .to_owned(),
            ),
            AppError::Sandbox(_) => None,
            AppError::Watch { source, .. } => match source.kind {
                notify::ErrorKind::PathNotFound => {
                    Some("name a file or folder that exists".to_owned())
                }
                notify::ErrorKind::MaxFilesWatch => Some(
                    "the system's limit of watched folders is reached: raise it (sysctl \
                     fs.inotify.max_user_watches=524288) or watch a smaller folder"
                        .to_owned(),
                ),
                _ => None,
            },
            AppError::Stdout(_)
            | AppError::Store(_)
            | AppError::Client(_)
            | AppError::CurrentDir(_)
            | AppError::WriteFile { .. } => None,
        }
    }

    /// The full report: `error:` with the cause chain, then `help:` when there is one.
    pub fn render(&self) -> String {
        let mut out = format!("error: {self}");
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let _ = write!(out, "\n  caused by: {cause}");
            source = cause.source();
        }
        if let Some(help) = self.help() {
            let _ = write!(out, "\nhelp: {help}");
        }
        out
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_do_is_a_usage_error_with_help() {
        let error = AppError::NothingToDo {
            paths: vec![PathBuf::from("docs"), PathBuf::from("web")],
        };
        assert_eq!(error.outcome().code(), 2);
        insta::assert_snapshot!(error.render(), @r"
        error: no Go or Rust files found in docs, web
        help: name a folder that holds .go or .rs files; .gitignore'd, hidden, vendor/, testdata/ and target/ folders are skipped unless named explicitly
        ");
    }

    #[test]
    fn render_prints_the_cause_chain() {
        let error = AppError::Stdout(std::io::Error::other("disk on fire"));
        assert_eq!(
            error.render(),
            "error: cannot write to standard output\n  caused by: disk on fire"
        );
    }
}
