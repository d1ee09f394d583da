//! Retrying one request: exponential backoff with jitter, the server's `Retry-After`
//! honoured, a long wait turned into a deferral instead of a sleeping process, bounded
//! attempts, and a cancellation that ends the sleep at once.

use super::classify::{Classification, ErrorClass, Failure, RetryAfter, classify};
use super::error::LlmError;
use super::stats::LlmStats;
use crate::config::LlmConfig;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// When and how often to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; each later one doubles.
    pub base_delay: Duration,
    /// No backoff grows past this.
    pub max_delay: Duration,
    /// A server-requested wait above this defers the job instead of sleeping.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// What to do about a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Sleep this long, then try again; one retry spent.
    RetryAfter(Duration),
    /// A rate limit whose wait the run can afford: sleep as the server asked, then try
    /// again, without spending a retry — throttling is not a failure.
    WaitOut(Duration),
    /// The server wants a wait longer than we sleep: hand the job back for later.
    Defer(Duration),
    GiveUp,
}

impl RetryPolicy {
    pub fn from_config(config: &LlmConfig) -> Self {
        RetryPolicy {
            max_retries: config.max_retries,
            max_wait: config.max_wait,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before retry number `retry` (0 for the first): `base · 2^retry`, capped
    /// at `max_delay`, then "equal jitter" — half of it fixed, half random — so callers that
    /// failed together do not come back together, yet no one retries at once.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(31)))
            .min(self.max_delay);
        let half = exponential / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// What to do after a failure classified as `classification`, `retries_done` retries in
    /// and `waited_out` already slept on this request's rate-limit hints.
    pub fn decide(
        &self,
        classification: &Classification,
        retries_done: u32,
        waited_out: Duration,
    ) -> RetryDecision {
        if !classification.class.is_retryable() {
            return RetryDecision::GiveUp;
        }
        let wait = match classification.retry_after {
            RetryAfter::After(wait) if wait > self.max_wait => return RetryDecision::Defer(wait),
            // Rate limits are waited out as asked while the waits add up to what the run
            // can afford; past that the job is deferred rather than the run held.
            RetryAfter::After(wait) if classification.class == ErrorClass::RateLimited => {
                return if waited_out + wait <= self.max_wait {
                    RetryDecision::WaitOut(wait)
                } else {
                    RetryDecision::Defer(wait)
                };
            }
            RetryAfter::After(wait) => wait,
            RetryAfter::Absent | RetryAfter::Invalid => self.backoff(retries_done),
        };
        if retries_done >= self.max_retries {
            return RetryDecision::GiveUp;
        }
        RetryDecision::RetryAfter(wait)
    }
}

/// How one attempt ended when it brought no answer.
#[derive(Debug)]
pub enum AttemptError {
    /// Sent and failed, classified once by the layer that saw it.
    Failed {
        failure: Failure,
        classification: Classification,
    },
    /// Not sent: the circuit breaker is open (for `wait`, when it knows).
    BreakerOpen {
        wait: Option<Duration>,
        reason: String,
    },
    /// Not sent: an earlier request proved the credentials wrong.
    Aborted(LlmError),
    Cancelled,
}

impl AttemptError {
    /// A failure, classified now.
    pub fn failed(failure: Failure) -> Self {
        let classification = classify(&failure, SystemTime::now());
        AttemptError::Failed {
            failure,
            classification,
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, must wait too long, or `cancel` fires.
/// Each retry is counted in `stats` and logged at debug level; the sleep between attempts
/// ends the moment `cancel` fires, and nothing is sent after that.
pub async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    stats: &LlmStats,
    mut attempt: F,
) -> Result<T, LlmError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AttemptError>>,
{
    let mut retries = 0;
    let mut waited_out = Duration::ZERO;
    loop {
        if cancel.is_cancelled() {
            return Err(LlmError::Cancelled);
        }
        let (failure, classification) = match attempt().await {
            Ok(value) => return Ok(value),
            Err(AttemptError::Cancelled) => return Err(LlmError::Cancelled),
            Err(AttemptError::Aborted(error)) => return Err(error),
            Err(AttemptError::BreakerOpen { wait, reason }) => {
                return Err(LlmError::Deferred { wait, reason });
            }
            Err(AttemptError::Failed {
                failure,
                classification,
            }) => (failure, classification),
        };
        match policy.decide(&classification, retries, waited_out) {
            RetryDecision::WaitOut(wait) => {
                waited_out += wait;
                debug!(
                    "{failure}; waiting {:.1}s as the server asked",
                    wait.as_secs_f64()
                );
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(LlmError::Cancelled),
                    () = tokio::time::sleep(wait) => stats.retried(),
                }
            }
            RetryDecision::RetryAfter(wait) => {
                retries += 1;
                debug!(
                    "{failure}; retry {retries} of {} in {:.1}s",
                    policy.max_retries,
                    wait.as_secs_f64()
                );
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(LlmError::Cancelled),
                    () = tokio::time::sleep(wait) => stats.retried(),
                }
            }
            RetryDecision::Defer(wait) => {
                debug!(
                    "{failure}; the server asks to wait {}s, deferring",
                    wait.as_secs()
                );
                return Err(LlmError::Deferred {
                    wait: Some(wait),
                    reason: format!("the server asked to wait {}s ({failure})", wait.as_secs()),
                });
            }
            RetryDecision::GiveUp => {
                let class = classification.class;
                if class == ErrorClass::RateLimited {
                    // Still throttled after every retry: the work waits for a later run; it
                    // did not fail.
                    let wait = policy.backoff(retries);
                    return Err(LlmError::Deferred {
                        wait: Some(wait),
                        reason: format!(
                            "still rate limited after {} attempts ({failure})",
                            retries + 1
                        ),
                    });
                }
                if class.is_retryable() {
                    debug!("{failure}; out of retries");
                }
                let attempts = retries + 1;
                return Err(LlmError::from_failure(class, failure, attempts));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    fn status(code: u16, retry_after: Option<&str>) -> Failure {
        Failure::Status {
            status: code,
            retry_after_ms: None,
            retry_after: retry_after.map(str::to_owned),
            body: String::new(),
        }
    }

    /// Runs `with_retry` against a scripted sequence of answers: `Some(failure)` fails,
    /// `None` succeeds. Returns the result and how many attempts were made.
    async fn run_script(
        policy: &RetryPolicy,
        cancel: &CancellationToken,
        script: Vec<Option<Failure>>,
    ) -> (Result<u32, LlmError>, u32) {
        let attempts = AtomicU32::new(0);
        let stats = LlmStats::default();
        let result = with_retry(policy, cancel, &stats, || {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            let step = script.get(n as usize).cloned().flatten();
            async move {
                match step {
                    Some(failure) => Err(AttemptError::failed(failure)),
                    None => Ok(n + 1),
                }
            }
        })
        .await;
        assert_eq!(
            stats.snapshot().retries,
            u64::from(attempts.load(Ordering::SeqCst).saturating_sub(1))
        );
        (result, attempts.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn two_server_errors_then_success_take_exactly_three_attempts() {
        let policy = RetryPolicy::default();
        let script = vec![Some(status(500, None)), Some(status(500, None)), None];
        let (result, attempts) = run_script(&policy, &CancellationToken::new(), script).await;
        assert_eq!(result.unwrap(), 3);
        assert_eq!(attempts, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_answers_are_never_retried() {
        for code in [400, 401, 403, 404, 422] {
            let script = vec![Some(status(code, None)), None];
            let (result, attempts) =
                run_script(&RetryPolicy::default(), &CancellationToken::new(), script).await;
            assert!(result.is_err(), "HTTP {code}");
            assert_eq!(attempts, 1, "HTTP {code}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded_by_max_retries() {
        let policy = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        let script = vec![Some(status(503, None)); 10];
        let (result, attempts) = run_script(&policy, &CancellationToken::new(), script).await;
        assert_eq!(attempts, 3);
        assert!(
            matches!(result, Err(LlmError::GaveUp { attempts: 3, .. })),
            "{result:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_seconds_is_waited_out_before_the_next_attempt() {
        let start = Instant::now();
        let script = vec![Some(status(429, Some("7"))), None];
        let (result, attempts) =
            run_script(&RetryPolicy::default(), &CancellationToken::new(), script).await;
        assert!(result.is_ok());
        assert_eq!(attempts, 2);
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(7), "{waited:?}");
        assert!(waited < Duration::from_secs(8), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn affordable_rate_limit_waits_spend_no_retry_and_unaffordable_ones_defer() {
        let policy = RetryPolicy {
            max_retries: 1,
            max_wait: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        // Five 429s asking for 1 s each: waited out, though only one retry is allowed.
        let mut script = vec![Some(status(429, Some("1"))); 5];
        script.push(None);
        let (result, attempts) = run_script(&policy, &CancellationToken::new(), script).await;
        assert_eq!(result.unwrap(), 6);
        assert_eq!(attempts, 6);
        // Waits adding up past max_wait: the job is deferred, not the run held.
        let script = vec![Some(status(429, Some("4"))); 10];
        let (result, attempts) = run_script(&policy, &CancellationToken::new(), script).await;
        assert_eq!(
            attempts, 3,
            "4 s + 4 s waited out, the third 4 s is one too many"
        );
        assert!(
            matches!(result, Err(LlmError::Deferred { wait: Some(wait), .. }) if wait == Duration::from_secs(4)),
            "{result:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_outlasting_the_retries_defers_rather_than_fails() {
        let policy = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        let script = vec![Some(status(429, None)); 10];
        let (result, attempts) = run_script(&policy, &CancellationToken::new(), script).await;
        assert_eq!(attempts, 3);
        assert!(
            matches!(result, Err(LlmError::Deferred { .. })),
            "{result:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreadable_retry_after_falls_back_to_backoff() {
        let start = Instant::now();
        let script = vec![Some(status(429, Some("later please"))), None];
        let (result, _) =
            run_script(&RetryPolicy::default(), &CancellationToken::new(), script).await;
        assert!(result.is_ok());
        let waited = start.elapsed();
        assert!(
            (Duration::from_millis(250)..=Duration::from_millis(500)).contains(&waited),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_above_the_cap_defers_instead_of_sleeping() {
        let start = Instant::now();
        let script = vec![Some(status(429, Some("600"))), None];
        let (result, attempts) =
            run_script(&RetryPolicy::default(), &CancellationToken::new(), script).await;
        assert_eq!(attempts, 1);
        assert!(
            matches!(result, Err(LlmError::Deferred { wait: Some(wait), .. }) if wait == Duration::from_secs(600)),
            "{result:?}"
        );
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn cancelling_during_backoff_returns_at_once_and_sends_nothing_more() {
        let cancel = CancellationToken::new();
        let canceller = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            canceller.cancel();
        });
        let start = Instant::now();
        let script = vec![Some(status(503, Some("60"))), None];
        let (result, attempts) = run_script(&RetryPolicy::default(), &cancel, script).await;
        assert_eq!(result, Err(LlmError::Cancelled));
        assert_eq!(attempts, 1);
        let waited = start.elapsed();
        assert!(waited < Duration::from_millis(1100), "{waited:?}");
    }

    #[test]
    fn backoff_doubles_from_half_a_second_and_is_capped() {
        let policy = RetryPolicy::default();
        for retry in 0..12 {
            let full = (Duration::from_millis(500) * 2u32.pow(retry)).min(policy.max_delay);
            for _ in 0..50 {
                let wait = policy.backoff(retry);
                assert!(wait >= full / 2 && wait <= full, "retry {retry}: {wait:?}");
            }
        }
        assert!(policy.backoff(1000) <= policy.max_delay);
    }

    #[test]
    fn jitter_spreads_the_retry_times_of_callers_that_failed_together() {
        let policy = RetryPolicy::default();
        let mut waits: Vec<Duration> = (0..100).map(|_| policy.backoff(3)).collect();
        waits.sort();
        waits.dedup();
        assert!(waits.len() > 90, "only {} distinct waits", waits.len());
        let spread = *waits.last().unwrap() - waits[0];
        assert!(spread > Duration::from_millis(1000), "{spread:?}");
    }
}
