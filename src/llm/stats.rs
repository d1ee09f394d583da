//! The counters a run reports at its end: requests sent, retries, tokens, cache hits and
//! misses. Shared by every layer of the stack; lock-free so counting never waits.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, updated by the stack as it works.
#[derive(Debug, Default)]
pub struct LlmStats {
    requests_sent: AtomicU64,
    retries: AtomicU64,
    tokens_in: AtomicU64,
    tokens_out: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    /// Completion tokens of every answer, in order; with how many were cut at the cap.
    completions: std::sync::Mutex<Vec<u64>>,
    answers_cut: AtomicU64,
    answers_repeating: AtomicU64,
}

/// The counters at one moment, for the summary and `--format json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// HTTP requests that went on the wire, retries and format fallbacks included.
    pub requests_sent: u64,
    pub retries: u64,
    /// Prompt tokens, as the server's `usage` reported them.
    pub tokens_in: u64,
    /// Completion tokens, as the server's `usage` reported them.
    pub tokens_out: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Answers in the persistent cache at the time of the snapshot.
    pub cache_entries: u64,
    /// Answers received (a 200 with a completion).
    pub answers: u64,
    /// Answers cut short — at the completion cap (`finish_reason: "length"`) or by the
    /// repetition stop while streaming: never cached.
    pub answers_cut: u64,
    /// Of `answers_cut`, those stopped because they had degenerated into repetition.
    pub answers_repeating: u64,
    /// The median and the largest completion of one answer, in tokens.
    pub completion_median: u64,
    pub completion_max: u64,
}

impl LlmStats {
    pub(super) fn request_sent(&self) {
        self.requests_sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn tokens(&self, prompt: u64, completion: u64) {
        self.tokens_in.fetch_add(prompt, Ordering::Relaxed);
        self.tokens_out.fetch_add(completion, Ordering::Relaxed);
    }

    /// One answer received: its completion tokens, whether it was cut short, and whether
    /// that was the repetition stop.
    pub(super) fn answer(&self, completion_tokens: u64, cut: bool, repeating: bool) {
        self.completions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(completion_tokens);
        if cut {
            self.answers_cut.fetch_add(1, Ordering::Relaxed);
        }
        if repeating {
            self.answers_repeating.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn cache_hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn cache_miss(&self) {
        self.cache_misses.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now; `cache_entries` is filled by the caller that owns the store.
    pub fn snapshot(&self) -> StatsSnapshot {
        let mut sizes = self
            .completions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        sizes.sort_unstable();
        StatsSnapshot {
            answers: sizes.len() as u64,
            answers_cut: self.answers_cut.load(Ordering::Relaxed),
            answers_repeating: self.answers_repeating.load(Ordering::Relaxed),
            completion_median: sizes.get(sizes.len() / 2).copied().unwrap_or(0),
            completion_max: sizes.last().copied().unwrap_or(0),
            requests_sent: self.requests_sent.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            tokens_in: self.tokens_in.load(Ordering::Relaxed),
            tokens_out: self.tokens_out.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
            cache_entries: 0,
        }
    }
}
