//! testsmith's state: the LLM answer cache and the durable job queue, behind one trait
//! ([`StateStore`]) with two homes — an embedded SQLite file at
//! `<project root>/.testsmith/state.db` (the default, [`Store`]) and a PostgreSQL database
//! that many machines share ([`PgStore`], `--state-url` / `TESTSMITH_STATE_URL`).

mod cache;
mod db;
mod postgres;
mod queue;
mod sqlite;
#[cfg(test)]
mod suite;
#[cfg(test)]
pub mod test_server;
mod unverified;

pub use cache::{CacheLookup, hex};
pub use db::{Clearing, STATE_DIR, STATE_FILE, Store, StoreError, clear_newer, now_ms};
pub use postgres::PgStore;
pub use queue::{Job, JobState, QueueCounts};
use std::path::Path;
use std::sync::Arc;
pub use unverified::UnverifiedTest;

/// What a finished (or abandoned) job becomes; see [`StateStore::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement<'a> {
    /// Done, whoever holds the lease: the work is the same work. Idempotent.
    Complete { key: &'a str },
    /// Back to waiting until `not_before_ms`, not counted as a failure; only by the lease's
    /// holder.
    Defer {
        key: &'a str,
        not_before_ms: i64,
        reason: &'a str,
    },
    /// A failed attempt: waits until `retry_at_ms`, or is dead-lettered at `max_attempts`;
    /// only by the lease's holder.
    Fail {
        key: &'a str,
        error: &'a str,
        max_attempts: u32,
        retry_at_ms: i64,
    },
}

/// The answer cache and the durable job queue, wherever they live. Every method is one
/// transaction; times are unix milliseconds passed in by the caller, so the rules are
/// testable without waiting. One suite (`suite.rs`) runs against every implementation.
///
/// The queue's guarantees, on every backend: a job is leased by one process at a time and
/// completed once; a lease carries an expiry that its holder keeps fresh
/// ([`renew_leases`](Self::renew_leases)) and is taken over only once expired; done work is
/// never handed out again.
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// Where the state lives, safe to print: a URL's password is masked.
    fn location(&self) -> String;

    /// The answers for `keys`, in order, each row's checksum verified; corrupted rows are
    /// deleted and reported as [`CacheLookup::Corrupt`].
    fn cache_get_many(&self, keys: &[&str]) -> Result<Vec<CacheLookup>, StoreError>;
    /// Stores every `(key, value)`, replacing older entries. Callers store validated answers
    /// only.
    fn cache_put_many(&self, entries: &[(&str, &str)]) -> Result<(), StoreError>;
    /// How many answers are cached.
    fn cache_entries(&self) -> Result<u64, StoreError>;
    /// Drops every cached answer; returns how many there were.
    fn cache_clear(&self) -> Result<u64, StoreError>;
    /// `Ok(())` when the backend finds nothing wrong with its storage, else its report.
    fn integrity_check(&self) -> Result<Result<(), String>, StoreError>;

    /// Records the job of every `(key, payload)` (a no-op for one that exists) and leases
    /// each that is ready to `owner` until `now_ms + lease_ms`. Per job, in order: `None`
    /// when `owner` took the lease now, else the job as it stands — done, dead, deferred,
    /// held (by `owner` already, or by another process), or being taken by another process
    /// this very moment (pending and due, no owner).
    fn record_and_lease(
        &self,
        jobs: &[(&str, &str)],
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<Option<Job>>, StoreError>;
    /// Leases up to `limit` ready jobs for `owner`, oldest first. Ready means pending and
    /// due, or leased by someone whose lease has run out — a process that died mid-job.
    fn lease_jobs(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError>;
    /// Applies every settlement as `owner`, in one transaction. Per settlement: the job's
    /// new state, or `None` where `owner` no longer holds the lease (someone took it over).
    fn settle(
        &self,
        owner: &str,
        settlements: &[Settlement<'_>],
        now_ms: i64,
    ) -> Result<Vec<Option<JobState>>, StoreError>;
    /// Extends every lease `owner` holds to `now_ms + lease_ms`: the heartbeat of a live
    /// process. Returns how many.
    fn renew_leases(&self, owner: &str, now_ms: i64, lease_ms: i64) -> Result<u64, StoreError>;
    /// Returns to pending the leases left by dead processes of the project copy `copy`
    /// (owners starting with it), called by a run holding that copy's run lock — so no live
    /// process of the copy holds one. A SQLite file belongs to one copy, so every lease in it
    /// is released; a shared database releases only the copy's own, never another
    /// machine's.
    fn release_dead_leases(&self, copy: &str, now_ms: i64) -> Result<u64, StoreError>;

    /// Every job in `state` (all jobs for `None`), oldest first.
    fn jobs(&self, state: Option<JobState>) -> Result<Vec<Job>, StoreError>;
    /// Jobs per state as of `now_ms`.
    fn queue_counts(&self, now_ms: i64) -> Result<QueueCounts, StoreError>;
    /// Puts every dead job back with a clean slate; returns how many.
    fn retry_dead_jobs(&self, now_ms: i64) -> Result<u64, StoreError>;
    /// Forgets every job that is not done; returns how many.
    fn clear_queue(&self) -> Result<u64, StoreError>;
}

/// Opens the state for the project at `project_root`: the PostgreSQL database at `url` when
/// one is given, else the SQLite file under `.testsmith/`. Either way `.testsmith/` exists
/// afterwards (the run lock and the copy's identity live there).
pub fn open(project_root: &Path, url: Option<&str>) -> Result<Arc<dyn StateStore>, StoreError> {
    match url {
        Some(url) => {
            db::ensure_state_dir(project_root)?;
            Ok(Arc::new(PgStore::connect(url)?))
        }
        None => Ok(Arc::new(Store::open(project_root)?)),
    }
}

/// This project copy's identity in lease owners: a random id kept in `.testsmith/copy-id`,
/// made on first use, after the host name for people reading `testsmith queue`. Two
/// checkouts — on two machines or one — never share it, so a run releases only the leases
/// its own copy's dead processes left.
pub fn copy_id(project_root: &Path) -> Result<String, StoreError> {
    let dir = db::ensure_state_dir(project_root)?;
    let path = dir.join("copy-id");
    let id = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => {
            let id = format!("{:016x}", fastrand::u64(..));
            std::fs::write(&path, format!("{id}\n"))
                .map_err(|source| StoreError::CreateDir { path, source })?;
            id
        }
    };
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default();
    Ok(format!("{host}#{id}"))
}
