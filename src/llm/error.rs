//! How one request to the model ended for good, when it did not end with an answer.

use super::classify::{ErrorClass, Failure};
use std::time::Duration;

/// The final word on a request that produced no answer. Every text in it comes from a
/// [`Failure`], which the provider has already scrubbed of the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// 401/403: the key is wrong for every request; the run must stop.
    #[error("the API refused the credentials ({failure})")]
    Auth { failure: Failure },

    /// `insufficient_quota`: nothing more will be sent this run; the work waits in the queue.
    #[error("the API quota is exhausted ({failure})")]
    Quota { failure: Failure },

    /// The prompt does not fit even after cutting its context.
    #[error("the prompt does not fit the model's context ({failure})")]
    ContextOverflow { failure: Failure },

    /// A 4xx saying the request itself is wrong (bad model name, bad parameter).
    #[error("the API rejected the request ({failure})")]
    Refused { failure: Failure },

    /// Transient failures until the retry budget ran out.
    #[error("gave up after {attempts} attempts ({failure})")]
    GaveUp { failure: Failure, attempts: u32 },

    /// Not sent, or not sent again, for now: the server asked for a wait above the cap, or
    /// the circuit breaker is open. `wait` is how long, when known.
    #[error("deferred: {reason}")]
    Deferred {
        wait: Option<Duration>,
        reason: String,
    },

    /// The run was cancelled (Ctrl-C) before an answer came.
    #[error("cancelled")]
    Cancelled,
}

impl LlmError {
    /// The error a failure of `class` ends a request with once no retry is left.
    pub(super) fn from_failure(class: ErrorClass, failure: Failure, attempts: u32) -> Self {
        match class {
            ErrorClass::Auth => LlmError::Auth { failure },
            ErrorClass::Quota => LlmError::Quota { failure },
            ErrorClass::ContextOverflow => LlmError::ContextOverflow { failure },
            ErrorClass::Fatal => LlmError::Refused { failure },
            ErrorClass::Transient | ErrorClass::RateLimited => {
                LlmError::GaveUp { failure, attempts }
            }
        }
    }
}
