//! The durable side of a run: each member's job is recorded in the queue before it is sent,
//! held under a lease while in flight, and settled from its [`MemberResult`] — done,
//! deferred to later, or failed (dead-lettered after too many attempts). A run killed at
//! any point leaves its unfinished jobs in the queue for the next one.

use super::cache::CacheKey;
use super::client::{MemberOutcome, MemberResult};
use super::error::LlmError;
use crate::store::{Job, JobState, QueueTx, Store, StoreError, now_ms};
use std::sync::Arc;
use std::time::Duration;

/// How long a job is held before another process may take it over. Long enough for any
/// request with its retries; short enough that a killed run's jobs come back soon.
const LEASE: Duration = Duration::from_secs(15 * 60);

/// The queue as one run sees it.
#[derive(Debug)]
pub struct JobLedger {
    store: Arc<Store>,
    /// This run's name on its leases.
    owner: String,
    max_attempts: u32,
}

impl JobLedger {
    /// A ledger for this process; a job failing `max_attempts` times is dead-lettered.
    pub fn new(store: Arc<Store>, max_attempts: u32) -> Self {
        JobLedger {
            store,
            owner: format!("pid{}-{}", std::process::id(), now_ms()),
            max_attempts: max_attempts.max(1),
        }
    }

    /// Records the job of every `(key, payload)` (a no-op for one that exists) and leases it
    /// to this run, in one transaction. `payload` is whatever the caller needs to redo the job
    /// in a later run. Per job: `None` when this run holds it, else the job as it stands —
    /// done, dead, deferred to later, or held by another live run.
    pub fn record_all(&self, jobs: &[(CacheKey, String)]) -> Result<Vec<Option<Job>>, StoreError> {
        let now = now_ms();
        self.store.queue_transaction(|queue| {
            jobs.iter()
                .map(|(key, payload)| {
                    queue.enqueue(key.as_str(), payload, now)?;
                    if queue.lease(key.as_str(), &self.owner, now, millis(LEASE))? {
                        Ok(None)
                    } else {
                        queue.job(key.as_str())
                    }
                })
                .collect()
        })
    }

    /// [`record_all`](Self::record_all) for one job: whether this run holds it.
    #[cfg(test)]
    pub fn record(&self, key: &CacheKey, payload: &str) -> Result<bool, StoreError> {
        Ok(self.record_all(&[(key.clone(), payload.to_owned())])?[0].is_none())
    }

    /// Leases up to `limit` jobs that are waiting and due — left by an earlier run, or by
    /// one that died — so the caller can take them first.
    pub fn take_ready(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.store
            .lease_jobs(&self.owner, now_ms(), millis(LEASE), limit)
    }

    /// Settles the job of every result, in one transaction; returns each job's new state, or
    /// `None` where this run no longer holds its lease (another run took it over).
    pub fn settle_all(
        &self,
        results: &[MemberResult],
    ) -> Result<Vec<Option<JobState>>, StoreError> {
        let now = now_ms();
        self.store.queue_transaction(|queue| {
            results
                .iter()
                .map(|result| self.settle_in(queue, result, now))
                .collect()
        })
    }

    /// [`settle_all`](Self::settle_all) for one result.
    #[cfg(test)]
    pub fn settle(&self, result: &MemberResult) -> Result<Option<JobState>, StoreError> {
        Ok(self.settle_all(std::slice::from_ref(result))?[0])
    }

    fn settle_in(
        &self,
        queue: &QueueTx<'_>,
        result: &MemberResult,
        now: i64,
    ) -> rusqlite::Result<Option<JobState>> {
        let key = result.key.as_str();
        let defer = |wait: Option<Duration>, reason: &str| {
            let not_before = now.saturating_add(wait.map_or(0, millis));
            let deferred = queue.defer(key, &self.owner, not_before, reason, now)?;
            Ok(deferred.then_some(JobState::Pending))
        };
        let fail = |error: &str| queue.fail(key, &self.owner, error, self.max_attempts, now, now);
        match &result.outcome {
            MemberOutcome::Generated { .. } => {
                queue.complete(key, now)?;
                Ok(Some(JobState::Done))
            }
            MemberOutcome::Deferred { wait, reason } => defer(*wait, reason),
            MemberOutcome::Cancelled => defer(None, "cancelled"),
            // Bad credentials or a wrong model/endpoint are not the job's fault: keep it for
            // a run with a good configuration.
            MemberOutcome::Failed(error @ (LlmError::Auth { .. } | LlmError::Refused { .. })) => {
                defer(None, &error.to_string())
            }
            MemberOutcome::Failed(error) => fail(&error.to_string()),
            MemberOutcome::Rejected { reason } => fail(reason),
        }
    }

    /// Settles queued jobs this run took but did not ask, in one transaction: `retired` are
    /// marked done without an answer (their member no longer needs a test); `released` go
    /// back to the queue, due now, their attempts unchanged.
    pub fn tidy(&self, retired: &[String], released: &[String]) -> Result<(), StoreError> {
        let now = now_ms();
        self.store.queue_transaction(|queue| {
            for key in retired {
                queue.complete(key, now)?;
            }
            for key in released {
                queue.defer(key, &self.owner, now, "not in this run", now)?;
            }
            Ok(())
        })
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
        JobLedger::new(Arc::new(Store::open(dir.path()).unwrap()), max_attempts)
    }

    fn key(name: &str) -> CacheKey {
        let member = MemberRequest {
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
        let deferred = ledger.store.job(key("m1").as_str()).unwrap().unwrap();
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
        let dead = ledger.store.job(key.as_str()).unwrap().unwrap();
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
            let ledger = JobLedger::new(store.clone(), 3);
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
        let ledger = JobLedger::new(store.clone(), 3);
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
