//! Proving what testsmith wrote with the language's own toolchain: build the tests, map the
//! compiler's complaints back to the tests that caused them, repair (with `--llm`) or drop
//! what does not compile, run the rest, quarantine what fails — and report the funnel.
//!
//! The drivers say what to run and how to read it; this module runs it. The one entry
//! point is [`verify_written`].

pub(crate) mod command;
mod engine;
mod funnel;
mod pending;
mod project;
mod repair;
mod report;
pub(crate) mod stop;
mod suite_guard;
mod written;

/// The one runner for every command testsmith starts (`go`, `cargo`, test binaries).
pub(crate) use command::run as run_command;
pub use funnel::{CoverageFunnel, FunnelOptions, MutantJudge, MutationGain, judge_coverage};
pub use pending::Pending;
pub use repair::{LlmRepairer, Repair};
pub use report::VerifyReport;
pub use written::{VerifyMode, VerifyOptions, WrittenFile, verify_written};
