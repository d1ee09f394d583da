//! testsmith's state on disk: one SQLite database at `<project root>/.testsmith/state.db`
//! holding the LLM result cache and the durable job queue.

mod cache;
mod db;
mod queue;

pub use cache::{CacheLookup, hex};
pub use db::{STATE_DIR, Store, StoreError, now_ms};
pub use queue::{Job, JobState, QueueTx};
