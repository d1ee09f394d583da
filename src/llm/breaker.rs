//! The circuit breaker between retry and the in-flight limit: after a burst of transient
//! failures (5xx, timeouts, refused connections — not rate limits, which are throttling and
//! are waited out) it stops all sending for a cooldown, then lets a few probes through before
//! trusting the service again. An exhausted quota holds it open for the rest of the run.
//!
//! Time is `tokio::time::Instant`, so tests drive it with the paused clock.

use super::classify::ErrorClass;
use crate::config::BreakerConfig;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Closed → open → half-open → closed, shared by every request of a run.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: Mutex<State>,
}

#[derive(Debug)]
enum State {
    /// Sending. Remembers when recent transient failures happened.
    Closed { failures: VecDeque<Instant> },
    /// Sending nothing until `until`.
    Open { until: Instant },
    /// Letting up to `half_open_probes` requests through to test the water.
    HalfOpen { probes: u32 },
    /// The quota is gone: sending nothing for the rest of the run.
    QuotaExhausted,
}

/// Permission to send one request. Report how it went with [`Admission::record`]; one
/// dropped unreported (its request cancelled) counts as [`Outcome::Abandoned`], so a
/// half-open probe slot is never lost.
#[derive(Debug)]
#[must_use = "report the outcome with Admission::record"]
pub struct Admission<'a> {
    breaker: &'a CircuitBreaker,
    is_probe: bool,
    is_recorded: bool,
}

impl Admission<'_> {
    /// Reports how the admitted request ended.
    pub fn record(mut self, outcome: Outcome) {
        self.is_recorded = true;
        self.breaker.record(self.is_probe, outcome);
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if !self.is_recorded {
            self.breaker.record(self.is_probe, Outcome::Abandoned);
        }
    }
}

/// Why nothing may be sent now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// How long until the breaker lets a probe through; `None` for an exhausted quota.
    pub wait: Option<Duration>,
    pub reason: String,
}

/// What became of an admitted request, as the breaker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Failed with this class.
    Failed(ErrorClass),
    /// Never got an answer for a reason that says nothing about the service (cancelled).
    Abandoned,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        CircuitBreaker {
            config,
            state: Mutex::new(State::Closed {
                failures: VecDeque::new(),
            }),
        }
    }

    /// Asks to send one request now.
    pub fn admit(&self) -> Result<Admission<'_>, Rejection> {
        let now = Instant::now();
        let mut state = self.lock();
        if let State::Open { until } = *state
            && now >= until
        {
            tracing::info!("circuit breaker half-open: sending a probe");
            *state = State::HalfOpen { probes: 0 };
        }
        match &mut *state {
            State::Closed { .. } => Ok(self.admission(false)),
            State::HalfOpen { probes } if *probes < self.config.half_open_probes => {
                *probes += 1;
                Ok(self.admission(true))
            }
            State::HalfOpen { .. } => Err(Rejection {
                wait: Some(self.config.cooldown),
                reason: "the circuit breaker is testing the service; waiting for its probe"
                    .to_owned(),
            }),
            State::Open { until } => Err(Rejection {
                wait: Some(until.saturating_duration_since(now)),
                reason: "the circuit breaker is open after repeated failures".to_owned(),
            }),
            State::QuotaExhausted => Err(Rejection {
                wait: None,
                reason: "the API quota is exhausted".to_owned(),
            }),
        }
    }

    fn admission(&self, is_probe: bool) -> Admission<'_> {
        Admission {
            breaker: self,
            is_probe,
            is_recorded: false,
        }
    }

    fn record(&self, is_probe: bool, outcome: Outcome) {
        let now = Instant::now();
        let mut state = self.lock();
        if outcome == Outcome::Failed(ErrorClass::Quota) {
            tracing::warn!("API quota exhausted: no more requests this run");
            *state = State::QuotaExhausted;
            return;
        }
        let is_trouble = matches!(outcome, Outcome::Failed(class) if class.is_service_trouble());
        match &mut *state {
            State::Closed { failures } => {
                if !is_trouble {
                    return;
                }
                failures.push_back(now);
                while failures
                    .front()
                    .is_some_and(|&at| now.duration_since(at) > self.config.window)
                {
                    failures.pop_front();
                }
                if failures.len() >= self.config.failure_threshold as usize {
                    tracing::warn!(
                        "circuit breaker open: {} failures within {}s; pausing for {}s",
                        failures.len(),
                        self.config.window.as_secs(),
                        self.config.cooldown.as_secs()
                    );
                    *state = self.opened(now);
                }
            }
            State::HalfOpen { probes } if is_probe => match outcome {
                Outcome::Success => {
                    tracing::info!("circuit breaker closed: the probe succeeded");
                    *state = State::Closed {
                        failures: VecDeque::new(),
                    };
                }
                _ if is_trouble => {
                    tracing::warn!("circuit breaker open again: the probe failed");
                    *state = self.opened(now);
                }
                // A probe that said nothing about the service frees its slot for another.
                _ => *probes = probes.saturating_sub(1),
            },
            // Answers to requests admitted before the breaker opened change nothing.
            State::HalfOpen { .. } | State::Open { .. } | State::QuotaExhausted => {}
        }
    }

    /// Whether the quota ran out this run.
    pub fn is_quota_exhausted(&self) -> bool {
        matches!(*self.lock(), State::QuotaExhausted)
    }

    fn opened(&self, now: Instant) -> State {
        State::Open {
            until: now + self.config.cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, probes: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: threshold,
            window: Duration::from_secs(10),
            cooldown: Duration::from_secs(30),
            half_open_probes: probes,
        })
    }

    fn fail(breaker: &CircuitBreaker, class: ErrorClass) {
        breaker
            .admit()
            .expect("admitted")
            .record(Outcome::Failed(class));
    }

    #[tokio::test(start_paused = true)]
    async fn it_opens_only_at_the_threshold() {
        let breaker = breaker(3, 1);
        fail(&breaker, ErrorClass::Transient);
        fail(&breaker, ErrorClass::Transient);
        assert!(
            breaker.admit().is_ok(),
            "two failures are below the threshold"
        );
        fail(&breaker, ErrorClass::Transient);
        let rejection = breaker.admit().unwrap_err();
        assert_eq!(rejection.wait, Some(Duration::from_secs(30)));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_outside_the_window_do_not_count() {
        let breaker = breaker(3, 1);
        fail(&breaker, ErrorClass::Transient);
        fail(&breaker, ErrorClass::Transient);
        tokio::time::advance(Duration::from_secs(11)).await;
        fail(&breaker, ErrorClass::Transient);
        assert!(breaker.admit().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn our_own_mistakes_and_rate_limits_never_trip_it() {
        let breaker = breaker(2, 1);
        for class in [
            ErrorClass::RateLimited,
            ErrorClass::Fatal,
            ErrorClass::Auth,
            ErrorClass::ContextOverflow,
        ] {
            fail(&breaker, class);
            fail(&breaker, class);
        }
        assert!(breaker.admit().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_cooldown_only_a_bounded_number_of_probes_pass() {
        let breaker = breaker(1, 2);
        fail(&breaker, ErrorClass::Transient);
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(breaker.admit().is_err(), "still cooling down");
        tokio::time::advance(Duration::from_secs(1)).await;
        let first = breaker.admit().expect("first probe");
        let second = breaker.admit().expect("second probe");
        assert!(breaker.admit().is_err(), "a third probe is one too many");
        drop(first);
        let third = breaker.admit().expect("a cancelled probe frees its slot");
        second.record(Outcome::Success);
        third.record(Outcome::Success);
        for _ in 0..5 {
            breaker
                .admit()
                .expect("closed again")
                .record(Outcome::Success);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_it_for_another_cooldown() {
        let breaker = breaker(1, 1);
        fail(&breaker, ErrorClass::Transient);
        tokio::time::advance(Duration::from_secs(30)).await;
        fail(&breaker, ErrorClass::Transient);
        assert_eq!(
            breaker.admit().unwrap_err().wait,
            Some(Duration::from_secs(30))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_exhausted_quota_holds_it_open_for_the_rest_of_the_run() {
        let breaker = breaker(5, 1);
        fail(&breaker, ErrorClass::Quota);
        assert!(breaker.is_quota_exhausted());
        tokio::time::advance(Duration::from_secs(3600)).await;
        let rejection = breaker.admit().unwrap_err();
        assert_eq!(rejection.wait, None);
        assert!(rejection.reason.contains("quota"));
    }

    #[tokio::test(start_paused = true)]
    async fn late_answers_from_before_the_trip_change_nothing() {
        let breaker = breaker(1, 1);
        let straggler = breaker.admit().unwrap();
        fail(&breaker, ErrorClass::Transient);
        straggler.record(Outcome::Success);
        assert!(
            breaker.admit().is_err(),
            "a stale success must not close it"
        );
    }
}
