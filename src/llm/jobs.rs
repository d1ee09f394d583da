//! The durable side of a run: each member's job is recorded in the queue before it is sent,
//! held under a lease while in flight, and settled from its [`MemberResult`] — done,
//! deferred to later, or failed (dead-lettered after too many attempts). A run killed at
//! any point leaves its unfinished jobs in the queue for the next one.

use super::cache::CacheKey;
use super::client::{MemberOutcome, MemberResult};
use super::error::LlmError;
use crate::store::{Job, JobState, Settlement, StateStore, StoreError, now_ms};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// How long a lease lasts without news from its holder. The holder's heartbeat renews it
/// every [`HEARTBEAT`], so only a process that died (or lost its connection) lets it run
/// out; another process then takes the job over.
const LEASE: Duration = Duration::from_secs(60);
/// How often a live run renews its leases: a few heartbeats fit in a lease, so one slow
/// round trip does not lose it.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Where a job stands for this run after [`JobLedger::record_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// This run holds the lease (or the job is done and its answer cached): ask.
    Ask,
    /// Another process holds it, or is taking it this moment: its answer will come from the
    /// cache once it finishes; do other work meanwhile, then wait.
    Elsewhere,
    /// Dead-lettered, or deferred to a later time: report it, do not ask.
    Standing(Job),
}

/// The queue as one run sees it.
#[derive(Debug)]
pub struct JobLedger {
    store: Arc<dyn StateStore>,
    /// This run's name on its leases: the project copy's id, then the process.
    owner: String,
    max_attempts: u32,
    /// Renews this run's leases until dropped.
    _heartbeat: Heartbeat,
}

impl JobLedger {
    /// A ledger for this process of the project copy `copy` (see [`crate::store::copy_id`]);
    /// a job failing `max_attempts` times is dead-lettered.
    pub fn new(store: Arc<dyn StateStore>, max_attempts: u32, copy: &str) -> Self {
        let owner = format!("{copy}/pid{}-{}", std::process::id(), now_ms());
        JobLedger {
            _heartbeat: Heartbeat::start(store.clone(), owner.clone()),
            store,
            owner,
            max_attempts: max_attempts.max(1),
        }
    }

    /// Records the job of every `(key, payload)` (a no-op for one that exists) and leases it
    /// to this run, in one transaction. `payload` is whatever the caller needs to redo the job
    /// in a later run. Per job, what this run should do with it.
    pub fn record_all(&self, jobs: &[(CacheKey, String)]) -> Result<Vec<Hold>, StoreError> {
        let now = now_ms();
        let pairs: Vec<(&str, &str)> = jobs
            .iter()
            .map(|(key, payload)| (key.as_str(), payload.as_str()))
            .collect();
        Ok(self
            .store
            .record_and_lease(&pairs, &self.owner, now, millis(LEASE))?
            .into_iter()
            .map(|job| match job {
                None => Hold::Ask,
                Some(job) => self.hold_of(job, now),
            })
            .collect())
    }

    fn hold_of(&self, job: Job, now: i64) -> Hold {
        match job.state {
            // Asked before (the answer is cached) but its test is missing: ask again, the
            // cache answers.
            JobState::Done => Hold::Ask,
            JobState::Leased if job.lease_owner.as_deref() == Some(self.owner.as_str()) => {
                Hold::Ask
            }
            JobState::Leased => Hold::Elsewhere,
            JobState::Dead => Hold::Standing(job),
            JobState::Pending if job.not_before_ms > now => Hold::Standing(job),
            // Pending and due, yet not leased to us: another process's transaction was
            // taking it at that moment.
            JobState::Pending => Hold::Elsewhere,
        }
    }

    /// [`record_all`](Self::record_all) for one job: whether this run holds it.
    #[cfg(test)]
    pub fn record(&self, key: &CacheKey, payload: &str) -> Result<bool, StoreError> {
        Ok(self.record_all(&[(key.clone(), payload.to_owned())])?[0] == Hold::Ask)
    }

    /// Leases up to `limit` jobs that are waiting and due — left by an earlier run, or by
    /// one that died — so the caller can take them first.
    pub fn take_ready(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.store
            .lease_jobs(&self.owner, now_ms(), millis(LEASE), limit)
    }

    /// Returns the leases of the project copy's dead processes: called under the copy's run
    /// lock, so every lease of the copy but this run's is a dead process's.
    pub fn release_dead(&self, copy: &str) -> Result<u64, StoreError> {
        self.store.release_dead_leases(copy, now_ms())
    }

    /// Settles the job of every result, in one transaction; returns each job's new state, or
    /// `None` where this run no longer holds its lease (another run took it over).
    pub fn settle_all(
        &self,
        results: &[MemberResult],
    ) -> Result<Vec<Option<JobState>>, StoreError> {
        let now = now_ms();
        let reasons: Vec<String> = results.iter().map(|result| self.reason(result)).collect();
        let settlements: Vec<Settlement<'_>> = results
            .iter()
            .zip(&reasons)
            .map(|(result, reason)| self.settlement(result, reason, now))
            .collect();
        self.store.settle(&self.owner, &settlements, now)
    }

    /// [`settle_all`](Self::settle_all) for one result.
    #[cfg(test)]
    pub fn settle(&self, result: &MemberResult) -> Result<Option<JobState>, StoreError> {
        Ok(self.settle_all(std::slice::from_ref(result))?[0])
    }

    /// The text a settlement records for `result`.
    fn reason(&self, result: &MemberResult) -> String {
        match &result.outcome {
            MemberOutcome::Generated { .. } => String::new(),
            MemberOutcome::Deferred { reason, .. } => reason.clone(),
            MemberOutcome::Cancelled => "cancelled".to_owned(),
            MemberOutcome::Failed(error) => error.to_string(),
            MemberOutcome::Rejected { reason } => reason.clone(),
        }
    }

    fn settlement<'a>(
        &self,
        result: &'a MemberResult,
        reason: &'a str,
        now: i64,
    ) -> Settlement<'a> {
        let key = result.key.as_str();
        let defer = |wait: Option<Duration>| Settlement::Defer {
            key,
            not_before_ms: now.saturating_add(wait.map_or(0, millis)),
            reason,
        };
        let fail = Settlement::Fail {
            key,
            error: reason,
            max_attempts: self.max_attempts,
            retry_at_ms: now,
        };
        match &result.outcome {
            MemberOutcome::Generated { .. } => Settlement::Complete { key },
            MemberOutcome::Deferred { wait, .. } => defer(*wait),
            MemberOutcome::Cancelled => defer(None),
            // Bad credentials or a wrong model/endpoint are not the job's fault: keep it for
            // a run with a good configuration.
            MemberOutcome::Failed(LlmError::Auth { .. } | LlmError::Refused { .. }) => defer(None),
            MemberOutcome::Failed(_) | MemberOutcome::Rejected { .. } => fail,
        }
    }

    /// Gives the leases of `keys` back, due now, their attempts unchanged: this run will
    /// come back to them later (and another may take them meanwhile).
    pub fn release(&self, keys: &[String], reason: &str) -> Result<(), StoreError> {
        let now = now_ms();
        let settlements: Vec<Settlement<'_>> = keys
            .iter()
            .map(|key| Settlement::Defer {
                key,
                not_before_ms: now,
                reason,
            })
            .collect();
        if !settlements.is_empty() {
            self.store.settle(&self.owner, &settlements, now)?;
        }
        Ok(())
    }

    /// Settles queued jobs this run took but did not ask, in one transaction: `retired` are
    /// marked done without an answer (their member no longer needs a test); `released` go
    /// back to the queue, due now, their attempts unchanged.
    pub fn tidy(&self, retired: &[String], released: &[String]) -> Result<(), StoreError> {
        let now = now_ms();
        let settlements: Vec<Settlement<'_>> = retired
            .iter()
            .map(|key| Settlement::Complete { key })
            .chain(released.iter().map(|key| Settlement::Defer {
                key,
                not_before_ms: now,
                reason: "not in this run",
            }))
            .collect();
        if settlements.is_empty() {
            return Ok(());
        }
        self.store.settle(&self.owner, &settlements, now)?;
        Ok(())
    }
}

/// A thread renewing one owner's leases every [`HEARTBEAT`] until dropped.
#[derive(Debug)]
struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    fn start(store: Arc<dyn StateStore>, owner: String) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("testsmith-heartbeat".to_owned())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(HEARTBEAT) {
                    if let Err(error) = store.renew_leases(&owner, now_ms(), millis(LEASE)) {
                        tracing::warn!("cannot renew this run's job leases: {error}");
                    }
                }
            })
            .ok();
        Heartbeat {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LlmMode;
    use crate::llm::client::tests::{
        accept_all, answering_server, file, http_client, members, options, requests,
    };
    use crate::llm::prompt::MemberRequest;
    use crate::store::Store;
    use tokio_util::sync::CancellationToken;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn result(key: &CacheKey, outcome: MemberOutcome) -> MemberResult {
        MemberResult {
            id: "F0".to_owned(),
            key: key.clone(),
            outcome,
        }
    }

    fn ledger(dir: &tempfile::TempDir, max_attempts: u32) -> JobLedger {
        JobLedger::new(
            Arc::new(Store::open(dir.path()).unwrap()),
            max_attempts,
            "copy",
        )
    }

    fn job(ledger: &JobLedger, key: &str) -> Job {
        let jobs = ledger.store.jobs(None).unwrap();
        jobs.into_iter().find(|job| job.key == key).unwrap()
    }

    fn key(name: &str) -> CacheKey {
        let member = MemberRequest {
            skeleton: None,
            id: name.to_owned(),
            test_name: name.to_owned(),
            source: String::new(),
        };
        CacheKey::new(&file(), &member, "m", 0.0)
    }

    #[test]
    fn each_outcome_settles_its_job_as_documented() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(&dir, 2);
        let failure = crate::llm::classify::Failure::Malformed {
            message: "x".to_owned(),
        };
        let cases = [
            (
                MemberOutcome::Generated {
                    code: String::new(),
                    cached: false,
                },
                JobState::Done,
            ),
            (
                MemberOutcome::Deferred {
                    wait: Some(Duration::from_secs(600)),
                    reason: "breaker".to_owned(),
                },
                JobState::Pending,
            ),
            (MemberOutcome::Cancelled, JobState::Pending),
            (
                MemberOutcome::Failed(LlmError::Auth {
                    failure: failure.clone(),
                }),
                JobState::Pending,
            ),
            (
                MemberOutcome::Rejected {
                    reason: "no".to_owned(),
                },
                JobState::Pending,
            ),
        ];
        for (i, (outcome, expected)) in cases.into_iter().enumerate() {
            let key = key(&format!("m{i}"));
            assert!(ledger.record(&key, "{}").unwrap());
            assert_eq!(
                ledger.settle(&result(&key, outcome.clone())).unwrap(),
                Some(expected),
                "{outcome:?}"
            );
        }
        let deferred = job(&ledger, key("m1").as_str());
        assert!(deferred.not_before_ms >= now_ms() + 590_000);
        assert_eq!(deferred.attempts, 0, "a deferral is no failed attempt");
    }

    #[test]
    fn a_job_failing_max_attempts_times_is_dead_lettered_with_its_last_error() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(&dir, 2);
        let key = key("F0");
        let failure = crate::llm::classify::Failure::Status {
            status: 500,
            retry_after_ms: None,
            retry_after: None,
            body: String::new(),
        };
        let failed = result(
            &key,
            MemberOutcome::Failed(LlmError::GaveUp {
                failure,
                attempts: 4,
            }),
        );
        assert!(ledger.record(&key, "{}").unwrap());
        assert_eq!(ledger.settle(&failed).unwrap(), Some(JobState::Pending));
        assert!(ledger.record(&key, "{}").unwrap());
        assert_eq!(ledger.settle(&failed).unwrap(), Some(JobState::Dead));
        assert!(
            !ledger.record(&key, "{}").unwrap(),
            "a dead job is not retried by itself"
        );
        let dead = job(&ledger, key.as_str());
        assert_eq!(
            dead.last_error.as_deref(),
            Some("gave up after 4 attempts (HTTP 500)")
        );
    }

    #[tokio::test]
    async fn a_quota_exhausted_run_then_a_healthy_one_finish_everything_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let members = members(3);
        let payload = |member: &MemberRequest| member.id.clone();

        // Run 1: the quota is gone. One request, everything deferred to the queue.
        let broke = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(429).set_body_string(
                    r#"{"error":{"message":"quota","code":"insufficient_quota"}}"#,
                ),
            )
            .mount(&broke)
            .await;
        {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            let ledger = JobLedger::new(store.clone(), 3, "copy");
            let client = http_client(
                &broke,
                options(LlmMode::FanOut, 1),
                Some(store.clone()),
                CancellationToken::new(),
            );
            for member in &members {
                assert!(
                    ledger
                        .record(&client.cache_key(&file(), member), &payload(member))
                        .unwrap()
                );
            }
            for result in client.generate(&file(), &members, &accept_all).await {
                assert_eq!(ledger.settle(&result).unwrap(), Some(JobState::Pending));
            }
            assert_eq!(requests(&broke).await.len(), 1);
            assert_eq!(store.queue_counts(now_ms()).unwrap().waiting(), 3);
        }

        // Run 2: healthy. It takes the queued jobs first and finishes them.
        let healthy = answering_server().await;
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let ledger = JobLedger::new(store.clone(), 3, "copy");
        let client = http_client(
            &healthy,
            options(LlmMode::Batch, 2),
            Some(store.clone()),
            CancellationToken::new(),
        );
        let queued = ledger.take_ready(100).unwrap();
        let mut redo: Vec<MemberRequest> = queued
            .iter()
            .map(|job| {
                members
                    .iter()
                    .find(|m| payload(m) == job.payload)
                    .unwrap()
                    .clone()
            })
            .collect();
        redo.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(redo, members);
        for result in client.generate(&file(), &redo, &accept_all).await {
            assert_eq!(ledger.settle(&result).unwrap(), Some(JobState::Done));
        }
        assert_eq!(requests(&healthy).await.len(), 1);
        let counts = store.queue_counts(now_ms()).unwrap();
        assert_eq!((counts.waiting(), counts.done), (0, 3));

        // Run 3: nothing left, nothing sent, nothing generated twice.
        assert!(ledger.take_ready(100).unwrap().is_empty());
        let again = client.generate(&file(), &members, &accept_all).await;
        assert!(
            again
                .iter()
                .all(|r| matches!(r.outcome, MemberOutcome::Generated { cached: true, .. }))
        );
        assert_eq!(requests(&healthy).await.len(), 1);
        assert_eq!(store.cache_entries().unwrap(), 3);
    }
}
