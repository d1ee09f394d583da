//! The durable job queue: every LLM job is recorded before it is sent, leased while in
//! flight, completed idempotently, deferred to a later time, or dead-lettered after too many
//! failures — so a run that is killed, out of quota or facing an outage loses no work.
//!
//! Jobs are keyed like the cache: recording a job that exists, or completing a done one,
//! changes nothing. Times are unix milliseconds passed in by the caller, which keeps the
//! rules testable without waiting.

use super::Store;
use super::db::StoreError;
use rusqlite::{Connection, Row, params};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting; ready once `not_before_ms` has passed (before that it is "deferred").
    Pending,
    /// Taken by a process; reclaimed by anyone once the lease expires.
    Leased,
    Done,
    /// Failed too often; kept with its last error until retried or cleared.
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Leased => "leased",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub(super) fn parse(text: &str) -> rusqlite::Result<Self> {
        match text {
            "pending" => Ok(JobState::Pending),
            "leased" => Ok(JobState::Leased),
            "done" => Ok(JobState::Done),
            "dead" => Ok(JobState::Dead),
            other => Err(rusqlite::Error::InvalidColumnType(
                0,
                format!("job state {other}"),
                rusqlite::types::Type::Text,
            )),
        }
    }
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub key: String,
    pub payload: String,
    pub state: JobState,
    pub attempts: u32,
    pub not_before_ms: i64,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
}

/// How many jobs are in each state, for `testsmith queue` and the end-of-run message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Pending and ready now.
    pub ready: u64,
    /// Pending but not before a later time.
    pub deferred: u64,
    /// Leased and not expired: another process is on it.
    pub leased: u64,
    pub done: u64,
    pub dead: u64,
}

impl QueueCounts {
    /// Jobs that still need doing.
    pub fn waiting(&self) -> u64 {
        self.ready + self.deferred + self.leased
    }
}

const JOB_COLUMNS: &str = "key, payload, state, attempts, not_before_ms, lease_owner, last_error";

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        key: row.get(0)?,
        payload: row.get(1)?,
        state: JobState::parse(&row.get::<_, String>(2)?)?,
        attempts: row.get(3)?,
        not_before_ms: row.get(4)?,
        lease_owner: row.get(5)?,
        last_error: row.get(6)?,
    })
}

/// Queue changes inside one transaction. A run records a file's jobs, and settles them, in
/// one commit: the queue then costs a couple of commits per file rather than several per
/// member. Get one from [`Store::queue_transaction`].
pub struct QueueTx<'c> {
    connection: &'c Connection,
}

impl QueueTx<'_> {
    /// Records a job before it is sent. Returns `false` when a job with this key already
    /// exists, in whatever state: done work is not redone, queued work not doubled.
    pub fn enqueue(&self, key: &str, payload: &str, now_ms: i64) -> rusqlite::Result<bool> {
        let inserted = self
            .connection
            .prepare_cached(
                "INSERT OR IGNORE INTO jobs (key, payload, state, created_at_ms, updated_at_ms)
                 VALUES (?1, ?2, 'pending', ?3, ?3)",
            )?
            .execute(params![key, payload, now_ms])?;
        Ok(inserted == 1)
    }

    /// Leases the job `key` for `owner` when it is ready (pending and due, or leased by
    /// someone whose lease ran out). Returns whether `owner` now holds it.
    pub fn lease(
        &self,
        key: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> rusqlite::Result<bool> {
        let changed = self
            .connection
            .prepare_cached(
                "UPDATE jobs SET state = 'leased', lease_owner = ?2, lease_until_ms = ?3,
                     updated_at_ms = ?4
                 WHERE key = ?1
                   AND ((state = 'pending' AND not_before_ms <= ?4)
                     OR (state = 'leased' AND lease_until_ms <= ?4))",
            )?
            .execute(params![key, owner, now_ms.saturating_add(lease_ms), now_ms])?;
        Ok(changed == 1)
    }

    /// Marks a job done. Idempotent: completing a done job, or one whose lease another
    /// process took over meanwhile, is fine — the work is the same work. Returns whether
    /// this call changed anything.
    pub fn complete(&self, key: &str, now_ms: i64) -> rusqlite::Result<bool> {
        let changed = self
            .connection
            .prepare_cached(
                "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL,
                     updated_at_ms = ?2
                 WHERE key = ?1 AND state != 'done'",
            )?
            .execute(params![key, now_ms])?;
        Ok(changed == 1)
    }

    /// Gives a leased job back to wait until `not_before_ms` (a long `Retry-After`, an open
    /// breaker, an exhausted quota, a cancelled run) without counting it as a failure.
    /// Returns `false` when `owner` no longer holds the lease.
    pub fn defer(
        &self,
        key: &str,
        owner: &str,
        not_before_ms: i64,
        reason: &str,
        now_ms: i64,
    ) -> rusqlite::Result<bool> {
        let changed = self
            .connection
            .prepare_cached(
                "UPDATE jobs SET state = 'pending', not_before_ms = ?3, last_error = ?4,
                     lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = ?5
                 WHERE key = ?1 AND state = 'leased' AND lease_owner = ?2",
            )?
            .execute(params![key, owner, not_before_ms, reason, now_ms])?;
        Ok(changed == 1)
    }

    /// Records a failed attempt. Below `max_attempts` the job waits until `retry_at_ms`;
    /// at `max_attempts` it is dead-lettered with `error`. Returns the job's new state, or
    /// `None` when `owner` no longer holds the lease.
    pub fn fail(
        &self,
        key: &str,
        owner: &str,
        error: &str,
        max_attempts: u32,
        retry_at_ms: i64,
        now_ms: i64,
    ) -> rusqlite::Result<Option<JobState>> {
        let changed = self
            .connection
            .prepare_cached(
                "UPDATE jobs SET attempts = attempts + 1, last_error = ?3,
                     state = CASE WHEN attempts + 1 >= ?4 THEN 'dead' ELSE 'pending' END,
                     not_before_ms = ?5, lease_owner = NULL, lease_until_ms = NULL,
                     updated_at_ms = ?6
                 WHERE key = ?1 AND state = 'leased' AND lease_owner = ?2",
            )?
            .execute(params![
                key,
                owner,
                error,
                max_attempts,
                retry_at_ms,
                now_ms
            ])?;
        if changed == 0 {
            return Ok(None);
        }
        Ok(self.job(key)?.map(|job| job.state))
    }

    /// One job by key.
    pub fn job(&self, key: &str) -> rusqlite::Result<Option<Job>> {
        use rusqlite::OptionalExtension as _;
        self.connection
            .prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE key = ?1"))?
            .query_row([key], job_from_row)
            .optional()
    }
}

impl Store {
    /// Runs `change` over the queue in one write transaction: all of it is committed, or
    /// none of it.
    pub fn queue_transaction<T>(
        &self,
        change: impl FnOnce(&QueueTx<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.write(|tx| change(&QueueTx { connection: tx }))
    }

    /// Records a job before it is sent; see [`QueueTx::enqueue`].
    #[cfg(test)]
    pub fn enqueue_job(&self, key: &str, payload: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.queue_transaction(|queue| queue.enqueue(key, payload, now_ms))
    }

    /// Leases up to `limit` ready jobs for `owner` until `now_ms + lease_ms`, oldest first.
    /// Ready means pending and due, or leased by someone whose lease has run out — a process
    /// that died mid-job.
    pub fn lease_jobs(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.queue_transaction(|queue| {
            let keys: Vec<String> = queue
                .connection
                .prepare(
                    "SELECT key FROM jobs
                     WHERE (state = 'pending' AND not_before_ms <= ?1)
                        OR (state = 'leased' AND lease_until_ms <= ?1)
                     ORDER BY created_at_ms, key
                     LIMIT ?2",
                )?
                .query_map(params![now_ms, limit], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut jobs = Vec::with_capacity(keys.len());
            for key in keys {
                queue.lease(&key, owner, now_ms, lease_ms)?;
                jobs.extend(queue.job(&key)?);
            }
            Ok(jobs)
        })
    }

    /// Returns every leased job to pending. Called by a run that holds the project's run
    /// lock: no other run is alive, so every lease left is a dead process's.
    pub fn release_all_leases(&self, now_ms: i64) -> Result<u64, StoreError> {
        let changed = self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_until_ms = NULL,
                     updated_at_ms = ?1
                 WHERE state = 'leased'",
                params![now_ms],
            )
        })?;
        Ok(changed as u64)
    }

    /// Marks a job done; see [`QueueTx::complete`].
    #[cfg(test)]
    pub fn complete_job(&self, key: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.queue_transaction(|queue| queue.complete(key, now_ms))
    }

    /// One job by key.
    #[cfg(test)]
    pub fn job(&self, key: &str) -> Result<Option<Job>, StoreError> {
        self.read(|connection| QueueTx { connection }.job(key))
    }

    /// Every job in `state` (all jobs for `None`), oldest first.
    pub fn jobs(&self, state: Option<JobState>) -> Result<Vec<Job>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE ?1 IS NULL OR state = ?1
                 ORDER BY created_at_ms, key"
            ))?;
            statement
                .query_map([state.map(JobState::as_str)], job_from_row)?
                .collect()
        })
    }

    /// Jobs per state as of `now_ms`.
    pub fn queue_counts(&self, now_ms: i64) -> Result<QueueCounts, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT
                    COUNT(*) FILTER (WHERE state = 'pending' AND not_before_ms <= ?1),
                    COUNT(*) FILTER (WHERE state = 'pending' AND not_before_ms > ?1),
                    COUNT(*) FILTER (WHERE state = 'leased'),
                    COUNT(*) FILTER (WHERE state = 'done'),
                    COUNT(*) FILTER (WHERE state = 'dead')
                 FROM jobs",
                [now_ms],
                |row| {
                    Ok(QueueCounts {
                        ready: row.get(0)?,
                        deferred: row.get(1)?,
                        leased: row.get(2)?,
                        done: row.get(3)?,
                        dead: row.get(4)?,
                    })
                },
            )
        })
    }

    /// Puts every dead job back in the queue with a clean slate (`testsmith queue
    /// retry-dead`). Returns how many.
    pub fn retry_dead_jobs(&self, now_ms: i64) -> Result<u64, StoreError> {
        let changed = self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET state = 'pending', attempts = 0, not_before_ms = 0,
                     updated_at_ms = ?1
                 WHERE state = 'dead'",
                [now_ms],
            )
        })?;
        Ok(changed as u64)
    }

    /// Forgets every job that is not done (`testsmith queue clear`). Returns how many.
    pub fn clear_queue(&self) -> Result<u64, StoreError> {
        let removed = self.write(|tx| tx.execute("DELETE FROM jobs WHERE state != 'done'", []))?;
        Ok(removed as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    const OWNER: &str = "run-1";
    const MINUTE: i64 = 60_000;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn lease(store: &Store, key: &str, owner: &str, now_ms: i64) -> bool {
        store
            .queue_transaction(|queue| queue.lease(key, owner, now_ms, MINUTE))
            .unwrap()
    }

    fn keys(jobs: &[Job]) -> Vec<&str> {
        jobs.iter().map(|job| job.key.as_str()).collect()
    }

    #[test]
    fn a_job_is_recorded_once_and_leased_once() {
        let (_dir, store) = store();
        assert!(store.enqueue_job("a", "{}", 0).unwrap());
        assert!(!store.enqueue_job("a", "{}", 1).unwrap());
        let leased = store.lease_jobs(OWNER, 10, MINUTE, 10).unwrap();
        assert_eq!(keys(&leased), ["a"]);
        assert_eq!(leased[0].state, JobState::Leased);
        assert!(
            store
                .lease_jobs("run-2", 20, MINUTE, 10)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn one_job_can_be_leased_by_key_only_when_ready() {
        let (_dir, store) = store();
        store.enqueue_job("a", "{}", 0).unwrap();
        assert!(lease(&store, "a", OWNER, 0));
        assert!(!lease(&store, "a", "run-2", 1), "already leased");
        assert!(
            store
                .queue_transaction(|queue| queue.defer("a", OWNER, 500, "later", 2))
                .unwrap()
        );
        assert!(!lease(&store, "a", OWNER, 499), "not due yet");
        assert!(lease(&store, "a", OWNER, 500));
        store.complete_job("a", 600).unwrap();
        assert!(!lease(&store, "a", OWNER, 700), "done stays done");
        assert!(!lease(&store, "missing", OWNER, 0));
    }

    #[test]
    fn completing_is_idempotent_and_a_done_job_is_never_requeued() {
        let (_dir, store) = store();
        store.enqueue_job("a", "{}", 0).unwrap();
        store.lease_jobs(OWNER, 0, MINUTE, 1).unwrap();
        assert!(store.complete_job("a", 1).unwrap());
        assert!(!store.complete_job("a", 2).unwrap());
        assert!(!store.enqueue_job("a", "{}", 3).unwrap());
        assert!(store.lease_jobs(OWNER, 4, MINUTE, 10).unwrap().is_empty());
        assert_eq!(store.job("a").unwrap().unwrap().state, JobState::Done);
    }

    #[test]
    fn a_deferred_job_is_not_leased_before_its_time() {
        let (_dir, store) = store();
        store.enqueue_job("a", "{}", 0).unwrap();
        store.lease_jobs(OWNER, 0, MINUTE, 1).unwrap();
        assert!(
            store
                .queue_transaction(|queue| queue.defer("a", OWNER, 5_000, "quota", 1))
                .unwrap()
        );
        let counts = store.queue_counts(4_999).unwrap();
        assert_eq!((counts.ready, counts.deferred), (0, 1));
        assert!(
            store
                .lease_jobs(OWNER, 4_999, MINUTE, 1)
                .unwrap()
                .is_empty()
        );
        let leased = store.lease_jobs(OWNER, 5_000, MINUTE, 1).unwrap();
        assert_eq!(keys(&leased), ["a"]);
        assert_eq!(leased[0].attempts, 0, "a deferral is not a failure");
    }

    #[test]
    fn a_job_that_keeps_failing_is_dead_lettered_with_its_last_error() {
        let (_dir, store) = store();
        store.enqueue_job("a", "{}", 0).unwrap();
        let mut now = 0;
        for attempt in 1..=3 {
            assert_eq!(
                keys(&store.lease_jobs(OWNER, now, MINUTE, 1).unwrap()),
                ["a"]
            );
            let error = format!("HTTP 500 #{attempt}");
            let state = store
                .queue_transaction(|queue| queue.fail("a", OWNER, &error, 3, now + 10, now))
                .unwrap();
            let expected = if attempt < 3 {
                JobState::Pending
            } else {
                JobState::Dead
            };
            assert_eq!(state, Some(expected));
            now += 10;
        }
        assert!(
            store
                .lease_jobs(OWNER, now + MINUTE, MINUTE, 1)
                .unwrap()
                .is_empty()
        );
        let dead = store.jobs(Some(JobState::Dead)).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].attempts, 3);
        assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 500 #3"));

        assert_eq!(store.retry_dead_jobs(now).unwrap(), 1);
        let retried = store.lease_jobs(OWNER, now, MINUTE, 1).unwrap();
        assert_eq!(
            (retried[0].state, retried[0].attempts),
            (JobState::Leased, 0)
        );
    }

    #[test]
    fn a_lease_left_by_a_dead_process_is_reclaimed_after_it_expires() {
        let (_dir, store) = store();
        store.enqueue_job("a", "{}", 0).unwrap();
        store.lease_jobs("dead-process", 0, MINUTE, 1).unwrap();
        assert!(
            store
                .lease_jobs(OWNER, MINUTE - 1, MINUTE, 1)
                .unwrap()
                .is_empty()
        );
        let reclaimed = store.lease_jobs(OWNER, MINUTE, MINUTE, 1).unwrap();
        assert_eq!(reclaimed[0].lease_owner.as_deref(), Some(OWNER));
        // The old owner's late report no longer applies; the new owner's does.
        assert!(
            !store
                .queue_transaction(|queue| queue.defer("a", "dead-process", 0, "late", MINUTE))
                .unwrap()
        );
        assert_eq!(
            store
                .queue_transaction(|queue| queue.fail("a", "dead-process", "late", 3, 0, MINUTE))
                .unwrap(),
            None
        );
        assert!(store.complete_job("a", MINUTE + 1).unwrap());
    }

    #[test]
    fn clearing_the_queue_keeps_done_jobs_so_they_are_not_redone() {
        let (_dir, store) = store();
        for key in ["a", "b", "c"] {
            store.enqueue_job(key, "{}", 0).unwrap();
        }
        store.lease_jobs(OWNER, 0, MINUTE, 1).unwrap();
        store.complete_job("a", 1).unwrap();
        assert_eq!(store.clear_queue().unwrap(), 2);
        assert_eq!(keys(&store.jobs(None).unwrap()), ["a"]);
    }

    /// The environment variable that turns [`crash_child_records_jobs_until_killed`] from a
    /// no-op into the child process of the SIGKILL test.
    const CHILD_DB_ENV: &str = "TESTSMITH_CRASH_CHILD_DB";

    #[test]
    #[ignore = "the child process of a_process_killed_mid_run_loses_no_acknowledged_work"]
    fn crash_child_records_jobs_until_killed() {
        let Ok(path) = std::env::var(CHILD_DB_ENV) else {
            return;
        };
        let store = Store::open_at(std::path::Path::new(&path)).unwrap();
        let mut stdout = std::io::stdout().lock();
        for i in 0.. {
            let key = format!("job-{i:06}");
            store.enqueue_job(&key, "{\"member\":1}", i).unwrap();
            let leased = store.lease_jobs("child", i, MINUTE, 1).unwrap();
            assert_eq!(leased.len(), 1);
            // Every other job is left leased, as a process killed mid-request would leave it.
            if i % 2 == 0 {
                store.cache_put(&key, &"x".repeat(4096)).unwrap();
                store.complete_job(&key, i).unwrap();
                writeln!(stdout, "done {key}").unwrap();
            } else {
                writeln!(stdout, "leased {key}").unwrap();
            }
            stdout.flush().unwrap();
        }
    }

    #[test]
    fn a_process_killed_mid_run_loses_no_acknowledged_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        Store::open_at(&path).unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "store::queue::tests::crash_child_records_jobs_until_killed",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut acknowledged = Vec::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        while acknowledged.len() < 200 {
            let line = lines.next().expect("child ended early").unwrap();
            if let Some(rest) = line.strip_prefix("done ").or(line.strip_prefix("leased ")) {
                acknowledged.push((line.starts_with("done"), rest.to_owned()));
            }
        }
        // `Child::kill` is SIGKILL on Unix: no destructor, no rollback, no checkpoint runs.
        child.kill().unwrap();
        child.wait().unwrap();

        let store = Store::open_at(&path).unwrap();
        assert_eq!(store.integrity_check().unwrap(), Ok(()));
        for (is_done, key) in &acknowledged {
            let job = store.job(key).unwrap().expect("acknowledged job lost");
            if *is_done {
                assert_eq!(job.state, JobState::Done, "{key}");
                assert!(
                    matches!(
                        store.cache_get(key).unwrap(),
                        super::super::CacheLookup::Hit(_)
                    ),
                    "{key}: acknowledged cache entry lost or corrupt"
                );
            } else {
                assert_eq!(job.state, JobState::Leased, "{key}");
            }
        }
        // The dead child's leases come back once they expire; nothing done is redone.
        let reclaimed = store
            .lease_jobs("rerun", i64::MAX / 2, MINUTE, usize::MAX)
            .unwrap();
        assert!(reclaimed.iter().all(|job| job.state == JobState::Leased));
        let left_leased = acknowledged.iter().filter(|(done, _)| !done).count();
        assert!(reclaimed.len() >= left_leased);
        let done: std::collections::HashSet<&str> = acknowledged
            .iter()
            .filter(|(done, _)| *done)
            .map(|(_, key)| key.as_str())
            .collect();
        assert!(
            reclaimed.iter().all(|job| !done.contains(job.key.as_str())),
            "a job acknowledged as done was handed out again"
        );
    }
}
