//! testsmith's state on disk: one SQLite database at `<project root>/.testsmith/state.db`
//! holding the LLM result cache and the durable job queue.

#![cfg_attr(
    not(test),
    expect(dead_code, reason = "wired into generate --llm by the lead")
)]

mod cache;
mod db;
mod queue;

#[expect(unused_imports, reason = "wired into generate --llm by the lead")]
pub use cache::{CacheLookup, CachedAnswer, hex};
#[expect(unused_imports, reason = "wired into generate --llm by the lead")]
pub use db::{STATE_DIR, STATE_FILE, Store, StoreError, now_ms};
#[expect(unused_imports, reason = "wired into generate --llm by the lead")]
pub use queue::{Job, JobState, QueueCounts};
