//! What went wrong with one attempt, and the one function that decides what that means:
//! retry now, retry later, stop the run, or give up on this request.

use std::fmt;
use std::time::{Duration, SystemTime};

/// How one attempt at a chat completion failed, short of a usable answer. Built by the
/// provider with the API key already scrubbed from every text it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with a status other than 2xx.
    Status {
        status: u16,
        /// The `retry-after-ms` header, as sent (OpenAI's millisecond hint).
        retry_after_ms: Option<String>,
        /// The `Retry-After` header, as sent: seconds or an HTTP date.
        retry_after: Option<String>,
        /// The start of the response body.
        body: String,
    },
    /// No complete answer came back.
    Transport {
        kind: TransportKind,
        message: String,
    },
    /// A 2xx whose body is not a chat completion (an HTML error page from a proxy, a JSON
    /// shape we do not know).
    Malformed { message: String },
}

/// Why a request got no complete answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    /// Refused, unreachable, TLS failure: nothing was sent.
    Connect,
    /// The connection broke while sending or reading: reset, torn body.
    Interrupted,
    /// Anything else (a request that could not be built): retrying will not help.
    Other,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status { status, body, .. } => {
                write!(f, "HTTP {status}")?;
                match api_error(body).and_then(|error| error.message) {
                    Some(message) => write!(f, ": {message}"),
                    None if body.trim().is_empty() => Ok(()),
                    None => write!(f, ": {}", first_line(body, 200)),
                }
            }
            Failure::Transport { kind, message } => {
                let what = match kind {
                    TransportKind::Timeout => "timed out",
                    TransportKind::Connect => "cannot connect",
                    TransportKind::Interrupted => "connection broken",
                    TransportKind::Other => "request failed",
                };
                write!(f, "{what}: {message}")
            }
            Failure::Malformed { message } => write!(f, "unreadable answer: {message}"),
        }
    }
}

/// What a failure means for the request that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 408, 409, 5xx, timeouts, broken connections, unreadable 2xx: try again after a
    /// backoff.
    Transient,
    /// 429 asking us to slow down: try again, after the server's `Retry-After` if it sent one.
    RateLimited,
    /// 429 `insufficient_quota`: waiting will not help; stop sending for the rest of the run.
    Quota,
    /// 401, 403: the credentials are wrong for every request, so the whole run stops.
    Auth,
    /// The prompt does not fit the model's context: shrink it or split the batch, never send
    /// it unchanged again.
    ContextOverflow,
    /// Any other 4xx (400, 404, 422, ...): our request is wrong; retrying it is pointless.
    Fatal,
}

impl ErrorClass {
    /// Whether the same request may succeed if sent again.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Transient | ErrorClass::RateLimited)
    }

    /// Whether this failure says the service is struggling, which is what the circuit
    /// breaker counts: 5xx, timeouts, refused or broken connections. Our own mistakes (4xx)
    /// never trip it, and neither does a rate limit: throttling is not an outage, it is
    /// waited out (and paces the whole run).
    pub fn is_service_trouble(self) -> bool {
        self == ErrorClass::Transient
    }
}

/// What the server asked for in `retry-after-ms` / `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// No hint: use the backoff.
    Absent,
    /// Wait this long.
    After(Duration),
    /// A hint we cannot read: use the backoff.
    Invalid,
}

/// A failure's class and the wait the server asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub class: ErrorClass,
    pub retry_after: RetryAfter,
}

/// Decides what a failure means — the only place that does (RELIABILITY.md, the
/// classification table):
///
/// | failure | class |
/// |---|---|
/// | 429 with `insufficient_quota` as `code` or `type` | [`ErrorClass::Quota`] |
/// | 429 otherwise (`rate_limit_exceeded` or unknown) | [`ErrorClass::RateLimited`] |
/// | 400/413/422 with `context_length_exceeded` or a "context length/size" message, 413 | [`ErrorClass::ContextOverflow`] |
/// | 401, 403 | [`ErrorClass::Auth`] |
/// | 408, 409, 5xx | [`ErrorClass::Transient`] |
/// | other statuses (400, 404, 422, ...) | [`ErrorClass::Fatal`] |
/// | timeout, refused, reset, torn body, unreadable 2xx | [`ErrorClass::Transient`] |
/// | a request that could not be built | [`ErrorClass::Fatal`] |
///
/// `retry-after-ms` wins over `Retry-After`, which may be seconds (decimals allowed) or an
/// HTTP date (a date in the past means "back off"); every hint is clamped to
/// [`MAX_RETRY_HINT`]. `now` is the wall clock, passed in so dates are testable.
pub fn classify(failure: &Failure, now: SystemTime) -> Classification {
    let class = match failure {
        Failure::Status { status, body, .. } => classify_status(*status, body),
        Failure::Transport { kind, .. } => match kind {
            TransportKind::Timeout | TransportKind::Connect | TransportKind::Interrupted => {
                ErrorClass::Transient
            }
            TransportKind::Other => ErrorClass::Fatal,
        },
        Failure::Malformed { .. } => ErrorClass::Transient,
    };
    let retry_after = match failure {
        Failure::Status {
            retry_after_ms,
            retry_after,
            ..
        } if class.is_retryable() => {
            parse_retry_after(retry_after_ms.as_deref(), retry_after.as_deref(), now)
        }
        _ => RetryAfter::Absent,
    };
    Classification { class, retry_after }
}

fn classify_status(status: u16, body: &str) -> ErrorClass {
    let error = api_error(body);
    let has_code = |wanted: &str| {
        error.as_ref().is_some_and(|error| {
            error.code.as_deref() == Some(wanted) || error.kind.as_deref() == Some(wanted)
        })
    };
    match status {
        429 if has_code("insufficient_quota") => ErrorClass::Quota,
        429 => ErrorClass::RateLimited,
        401 | 403 => ErrorClass::Auth,
        413 => ErrorClass::ContextOverflow,
        400 | 422 if has_code("context_length_exceeded") || mentions_context_overflow(body) => {
            ErrorClass::ContextOverflow
        }
        408 | 409 | 500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Fatal,
    }
}

/// OpenAI says `context_length_exceeded`; llama.cpp-based servers say the request "exceeds
/// the available context size"; others speak of the "maximum context length".
fn mentions_context_overflow(body: &str) -> bool {
    let body = body.to_ascii_lowercase();
    [
        "context length",
        "context_length",
        "context size",
        "context window",
    ]
    .iter()
    .any(|phrase| body.contains(phrase))
}

/// The longest wait a server hint is taken at: anything above is clamped to it, so an
/// absurd `retry-after-ms: 1e300` neither panics nor parks a job until the year 292277026596.
pub const MAX_RETRY_HINT: Duration = Duration::from_secs(24 * 60 * 60);

fn parse_retry_after(ms: Option<&str>, header: Option<&str>, now: SystemTime) -> RetryAfter {
    if let Some(ms) = ms {
        // A bad millisecond value still lets a good `Retry-After` speak.
        if let Some(wait) = clamped_seconds(ms, 1000.0) {
            return RetryAfter::After(wait);
        }
    }
    let Some(header) = header.map(str::trim) else {
        return if ms.is_some() {
            RetryAfter::Invalid
        } else {
            RetryAfter::Absent
        };
    };
    // Seconds, whole or decimal ("2", "2.5", "3.0"), as some servers send them.
    if header.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '+') {
        return clamped_seconds(header, 1.0).map_or(RetryAfter::Invalid, RetryAfter::After);
    }
    match httpdate::parse_http_date(header) {
        Ok(date) => match date.duration_since(now) {
            Ok(wait) => RetryAfter::After(wait.min(MAX_RETRY_HINT)),
            // A moment already past says nothing about how long to wait: back off.
            Err(_) => RetryAfter::Absent,
        },
        Err(_) => RetryAfter::Invalid,
    }
}

/// `text` as a non-negative number of `units` per second (1000 for milliseconds), clamped to
/// [`MAX_RETRY_HINT`]; `None` when it is not a number, negative or NaN.
fn clamped_seconds(text: &str, units: f64) -> Option<Duration> {
    let value: f64 = text.trim().parse().ok()?;
    if value.is_nan() || value < 0.0 {
        return None;
    }
    let seconds = (value / units).min(MAX_RETRY_HINT.as_secs_f64());
    Some(Duration::from_secs_f64(seconds))
}

/// The `error` object of an OpenAI-style error body.
#[derive(Debug, Default)]
struct ApiError {
    message: Option<String>,
    kind: Option<String>,
    code: Option<String>,
}

fn api_error(body: &str) -> Option<ApiError> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let error = value.get("error")?;
    let text = |field: &str| match error.get(field)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    Some(match error {
        serde_json::Value::String(message) => ApiError {
            message: Some(message.clone()),
            ..ApiError::default()
        },
        _ => ApiError {
            message: text("message"),
            kind: text("type"),
            code: text("code"),
        },
    })
}

fn first_line(text: &str, max_chars: usize) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    match line.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, body: &str) -> Failure {
        Failure::Status {
            status: code,
            retry_after_ms: None,
            retry_after: None,
            body: body.to_owned(),
        }
    }

    fn with_headers(code: u16, ms: Option<&str>, header: Option<&str>) -> Failure {
        Failure::Status {
            status: code,
            retry_after_ms: ms.map(str::to_owned),
            retry_after: header.map(str::to_owned),
            body: String::new(),
        }
    }

    fn class_of(failure: &Failure) -> ErrorClass {
        classify(failure, SystemTime::now()).class
    }

    #[test]
    fn statuses_fall_into_the_documented_classes() {
        let cases = [
            (408, ErrorClass::Transient),
            (409, ErrorClass::Transient),
            (429, ErrorClass::RateLimited),
            (500, ErrorClass::Transient),
            (502, ErrorClass::Transient),
            (503, ErrorClass::Transient),
            (504, ErrorClass::Transient),
            (400, ErrorClass::Fatal),
            (404, ErrorClass::Fatal),
            (422, ErrorClass::Fatal),
            (401, ErrorClass::Auth),
            (403, ErrorClass::Auth),
            (413, ErrorClass::ContextOverflow),
        ];
        for (code, expected) in cases {
            assert_eq!(class_of(&status(code, "")), expected, "HTTP {code}");
        }
    }

    #[test]
    fn insufficient_quota_is_not_a_rate_limit() {
        let body = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert_eq!(class_of(&status(429, body)), ErrorClass::Quota);
        let body = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
        assert_eq!(class_of(&status(429, body)), ErrorClass::RateLimited);
    }

    #[test]
    fn context_overflow_is_recognised_from_openai_and_llama_cpp_bodies() {
        let openai = r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
        let llama = r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}"#;
        assert_eq!(class_of(&status(400, openai)), ErrorClass::ContextOverflow);
        assert_eq!(class_of(&status(400, llama)), ErrorClass::ContextOverflow);
        assert_eq!(
            class_of(&status(400, r#"{"error":{"message":"bad model"}}"#)),
            ErrorClass::Fatal
        );
    }

    #[test]
    fn broken_connections_are_transient_and_unbuildable_requests_fatal() {
        for kind in [
            TransportKind::Timeout,
            TransportKind::Connect,
            TransportKind::Interrupted,
        ] {
            let failure = Failure::Transport {
                kind,
                message: String::new(),
            };
            assert_eq!(class_of(&failure), ErrorClass::Transient, "{kind:?}");
        }
        let failure = Failure::Transport {
            kind: TransportKind::Other,
            message: String::new(),
        };
        assert_eq!(class_of(&failure), ErrorClass::Fatal);
        let failure = Failure::Malformed {
            message: String::new(),
        };
        assert_eq!(class_of(&failure), ErrorClass::Transient);
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let failure = with_headers(429, Some("1500"), Some("9"));
        assert_eq!(
            classify(&failure, SystemTime::now()).retry_after,
            RetryAfter::After(Duration::from_millis(1500))
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let seconds = with_headers(503, None, Some("2"));
        assert_eq!(
            classify(&seconds, now).retry_after,
            RetryAfter::After(Duration::from_secs(2))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        let dated = with_headers(429, None, Some(&date));
        assert_eq!(
            classify(&dated, now).retry_after,
            RetryAfter::After(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(
            classify(&with_headers(429, None, Some(&past)), now).retry_after,
            RetryAfter::Absent,
            "a date in the past means: back off"
        );
    }

    #[test]
    fn decimal_seconds_are_honoured_and_absurd_hints_clamped_without_panicking() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let after = |ms: Option<&str>, header: Option<&str>| {
            classify(&with_headers(429, ms, header), now).retry_after
        };
        assert_eq!(
            after(None, Some("2.5")),
            RetryAfter::After(Duration::from_millis(2500))
        );
        assert_eq!(
            after(None, Some("3.0")),
            RetryAfter::After(Duration::from_secs(3))
        );
        assert_eq!(
            after(Some("1500.5"), None),
            RetryAfter::After(Duration::from_micros(1_500_500))
        );
        for absurd in ["1e300", "18446744073709551616000", "9e18"] {
            assert_eq!(
                after(Some(absurd), None),
                RetryAfter::After(MAX_RETRY_HINT),
                "retry-after-ms: {absurd}"
            );
            assert_eq!(
                after(None, Some(absurd)),
                RetryAfter::After(MAX_RETRY_HINT),
                "Retry-After: {absurd}"
            );
        }
        assert_eq!(after(Some("inf"), None), RetryAfter::After(MAX_RETRY_HINT));
        let far =
            httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(253_000_000_000));
        assert_eq!(after(None, Some(&far)), RetryAfter::After(MAX_RETRY_HINT));
        assert_eq!(after(Some("-0.5"), Some("-3")), RetryAfter::Invalid);
    }

    #[test]
    fn unreadable_retry_hints_fall_back_to_backoff() {
        let now = SystemTime::now();
        for (ms, header) in [
            (None, Some("soon")),
            (Some("-5"), None),
            (Some("NaN"), None),
            (None, Some("-1")),
        ] {
            assert_eq!(
                classify(&with_headers(429, ms, header), now).retry_after,
                RetryAfter::Invalid,
                "{ms:?} {header:?}"
            );
        }
        assert_eq!(
            classify(&with_headers(429, Some("x"), Some("3")), now).retry_after,
            RetryAfter::After(Duration::from_secs(3))
        );
        assert_eq!(
            classify(&with_headers(429, None, None), now).retry_after,
            RetryAfter::Absent
        );
    }

    #[test]
    fn a_fatal_answer_carries_no_retry_hint() {
        let failure = with_headers(400, None, Some("5"));
        assert_eq!(
            classify(&failure, SystemTime::now()).retry_after,
            RetryAfter::Absent
        );
    }

    #[test]
    fn the_failure_text_shows_the_api_message_not_the_whole_body() {
        let failure = status(
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#,
        );
        assert_eq!(failure.to_string(), "HTTP 401: Incorrect API key provided");
        assert_eq!(
            status(502, "<html>\nBad gateway").to_string(),
            "HTTP 502: <html>"
        );
    }
}
