//! The embedded backend: [`StateStore`] over the SQLite file under `.testsmith/`. The
//! queries live beside their tables (`cache.rs`, `queue.rs`); this is the trait's mapping
//! onto them.

use super::queue::{Job, JobState, QueueCounts};
use super::{CacheLookup, Settlement, StateStore, Store, StoreError};
use rusqlite::params;

impl StateStore for Store {
    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn cache_get_many(&self, keys: &[&str]) -> Result<Vec<CacheLookup>, StoreError> {
        Store::cache_get_many(self, keys)
    }

    fn cache_put_many(&self, entries: &[(&str, &str)]) -> Result<(), StoreError> {
        Store::cache_put_many(self, entries)
    }

    fn cache_entries(&self) -> Result<u64, StoreError> {
        Store::cache_entries(self)
    }

    fn cache_clear(&self) -> Result<u64, StoreError> {
        Store::cache_clear(self)
    }

    fn integrity_check(&self) -> Result<Result<(), String>, StoreError> {
        Store::integrity_check(self)
    }

    fn record_and_lease(
        &self,
        jobs: &[(&str, &str)],
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<Option<Job>>, StoreError> {
        self.queue_transaction(|queue| {
            jobs.iter()
                .map(|(key, payload)| {
                    queue.enqueue(key, payload, now_ms)?;
                    if queue.lease(key, owner, now_ms, lease_ms)? {
                        Ok(None)
                    } else {
                        queue.job(key)
                    }
                })
                .collect()
        })
    }

    fn lease_jobs(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        Store::lease_jobs(self, owner, now_ms, lease_ms, limit)
    }

    fn settle(
        &self,
        owner: &str,
        settlements: &[Settlement<'_>],
        now_ms: i64,
    ) -> Result<Vec<Option<JobState>>, StoreError> {
        self.queue_transaction(|queue| {
            settlements
                .iter()
                .map(|settlement| match *settlement {
                    Settlement::Complete { key } => {
                        queue.complete(key, now_ms)?;
                        Ok(Some(JobState::Done))
                    }
                    Settlement::Defer {
                        key,
                        not_before_ms,
                        reason,
                    } => Ok(queue
                        .defer(key, owner, not_before_ms, reason, now_ms)?
                        .then_some(JobState::Pending)),
                    Settlement::Fail {
                        key,
                        error,
                        max_attempts,
                        retry_at_ms,
                    } => queue.fail(key, owner, error, max_attempts, retry_at_ms, now_ms),
                })
                .collect()
        })
    }

    fn renew_leases(&self, owner: &str, now_ms: i64, lease_ms: i64) -> Result<u64, StoreError> {
        let changed = self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET lease_until_ms = ?2 WHERE state = 'leased' AND lease_owner = ?1",
                params![owner, now_ms.saturating_add(lease_ms)],
            )
        })?;
        Ok(changed as u64)
    }

    /// Every lease: the file belongs to the one project copy whose run lock the caller holds.
    fn release_dead_leases(&self, _copy: &str, now_ms: i64) -> Result<u64, StoreError> {
        self.release_all_leases(now_ms)
    }

    fn jobs(&self, state: Option<JobState>) -> Result<Vec<Job>, StoreError> {
        Store::jobs(self, state)
    }

    fn queue_counts(&self, now_ms: i64) -> Result<QueueCounts, StoreError> {
        Store::queue_counts(self, now_ms)
    }

    fn retry_dead_jobs(&self, now_ms: i64) -> Result<u64, StoreError> {
        Store::retry_dead_jobs(self, now_ms)
    }

    fn clear_queue(&self) -> Result<u64, StoreError> {
        Store::clear_queue(self)
    }
}
