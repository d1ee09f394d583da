//! The LLM stack, outermost first: cache → retry → circuit breaker → in-flight limit →
//! provider. Language-agnostic: what a language needs (instructions for the model, checking
//! and fixing an answer) arrives as data and as a validator callback.
//!
//! The pipeline builds one [`LlmClient`] per run and calls [`LlmClient::generate`] per file.

mod breaker;
mod cache;
mod classify;
mod client;
mod context;
mod envelope;
mod error;
mod jobs;
mod limit;
mod pace;
mod prompt;
mod provider;
mod redact;
mod retry;
mod runaway;
mod stats;
mod stream;

pub use cache::CacheKey;
pub use client::{ClientBuildError, Halt, LlmClient, MemberOutcome, MemberResult};
pub use context::member_context;
pub use error::LlmError;
pub use jobs::{Hold, JobLedger};
pub use prompt::{
    FileRequest, MemberRequest, member_source, member_source_with_missed_lines,
    with_surviving_mutants,
};
pub use stats::StatsSnapshot;
pub use tokio_util::sync::CancellationToken;
