//! Pacing the whole run to the API's rate limits. A 429 with a `Retry-After`, or rate-limit
//! headers saying a budget is spent (`x-ratelimit-remaining-requests: 0`, or fewer tokens
//! left than a request may use), hold every request of the run until the server's reset —
//! before the 429s come, and without each request meeting its own 429 first. A request
//! waiting on the pace holds no in-flight permit.
//!
//! Time is `tokio::time::Instant`, so tests drive it with the paused clock.

use super::classify::MAX_RETRY_HINT;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// The moment before which no request of the run should be sent, if any.
#[derive(Debug, Default)]
pub struct Pace {
    until: Mutex<Option<Instant>>,
}

impl Pace {
    /// Holds every request for `wait` from now (clamped to [`MAX_RETRY_HINT`]); a hold
    /// already reaching further stays.
    pub fn hold_for(&self, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_RETRY_HINT);
        let mut current = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        if current.is_none_or(|current| current < until) {
            *current = Some(until);
        }
    }

    /// How long requests are still held, if they are.
    pub fn remaining(&self) -> Option<Duration> {
        let until = (*self.until.lock().unwrap_or_else(PoisonError::into_inner))?;
        let left = until.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }
}

/// The pause the rate-limit headers of one response ask for (OpenAI's
/// `x-ratelimit-{remaining,reset}-{requests,tokens}`): until the requests budget resets when
/// none is left, until the tokens budget resets when fewer than `tokens_needed` are left.
/// `header` looks a response header up by its lower-case name.
pub fn pause_from_headers(
    header: impl Fn(&str) -> Option<String>,
    tokens_needed: u64,
) -> Option<Duration> {
    let number = |name: &str| header(name)?.trim().parse::<f64>().ok();
    let reset = |name: &str| parse_reset(&header(name)?);
    let mut pause: Option<Duration> = None;
    if number("x-ratelimit-remaining-requests").is_some_and(|left| left < 1.0) {
        pause = reset("x-ratelimit-reset-requests");
    }
    if number("x-ratelimit-remaining-tokens").is_some_and(|left| left < tokens_needed as f64)
        && let Some(wait) = reset("x-ratelimit-reset-tokens")
    {
        pause = Some(pause.map_or(wait, |other| other.max(wait)));
    }
    pause.filter(|wait| !wait.is_zero())
}

/// A reset time as OpenAI writes it (`1s`, `6m0s`, `20ms`, `1h2m3.5s`) or bare seconds
/// (`12`, `0.5`); clamped to [`MAX_RETRY_HINT`].
fn parse_reset(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut seconds = 0.0;
    if let Ok(bare) = text.parse::<f64>() {
        seconds = bare;
    } else {
        let mut rest = text;
        while !rest.is_empty() {
            let split = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter(|&at| at > 0)?;
            let value: f64 = rest[..split].parse().ok()?;
            rest = &rest[split..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let scale = match &rest[..unit_len] {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 0.001,
                "us" | "µs" => 0.000_001,
                "ns" => 0.000_000_001,
                _ => return None,
            };
            seconds += value * scale;
            rest = &rest[unit_len..];
        }
    }
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        seconds.min(MAX_RETRY_HINT.as_secs_f64()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn reset_times_are_read_in_openai_s_notation_and_as_bare_seconds() {
        let cases = [
            ("1s", 1000),
            ("6m0s", 360_000),
            ("20ms", 20),
            ("1h2m3.5s", 3_723_500),
            ("12", 12_000),
            ("0.5", 500),
        ];
        for (text, ms) in cases {
            assert_eq!(parse_reset(text), Some(Duration::from_millis(ms)), "{text}");
        }
        for bad in ["", "soon", "5 parsecs", "-3", "1x"] {
            assert_eq!(parse_reset(bad), None, "{bad}");
        }
        assert_eq!(parse_reset("99999h"), Some(MAX_RETRY_HINT));
        assert_eq!(parse_reset("1e300"), Some(MAX_RETRY_HINT));
    }

    #[test]
    fn a_spent_budget_pauses_until_its_reset_and_a_healthy_one_does_not() {
        let spent = headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "2s"),
            ("x-ratelimit-remaining-tokens", "90000"),
            ("x-ratelimit-reset-tokens", "10ms"),
        ]);
        assert_eq!(
            pause_from_headers(spent, 1000),
            Some(Duration::from_secs(2))
        );
        let few_tokens = headers(&[
            ("x-ratelimit-remaining-requests", "40"),
            ("x-ratelimit-reset-requests", "2s"),
            ("x-ratelimit-remaining-tokens", "300"),
            ("x-ratelimit-reset-tokens", "1m30s"),
        ]);
        assert_eq!(
            pause_from_headers(few_tokens, 1000),
            Some(Duration::from_secs(90))
        );
        let healthy = headers(&[
            ("x-ratelimit-remaining-requests", "40"),
            ("x-ratelimit-reset-requests", "2s"),
        ]);
        assert_eq!(pause_from_headers(healthy, 1000), None);
        assert_eq!(pause_from_headers(headers(&[]), 1000), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_lasts_its_time_and_a_shorter_one_does_not_cut_it() {
        let pace = Pace::default();
        assert_eq!(pace.remaining(), None);
        pace.hold_for(Duration::from_secs(5));
        pace.hold_for(Duration::from_secs(1));
        assert_eq!(pace.remaining(), Some(Duration::from_secs(5)));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(pace.remaining(), None);
        pace.hold_for(Duration::MAX);
        assert_eq!(pace.remaining(), Some(MAX_RETRY_HINT));
    }
}
