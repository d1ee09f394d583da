//! The composed stack — cache → retry → circuit breaker → in-flight limit → provider — and
//! the one call the pipeline makes: [`LlmClient::generate`], tests for the members of one
//! file.
//!
//! Batch mode asks once per file for every member that missed the cache; fan-out asks once
//! per member. In a batch, members whose answer is missing are asked again alone, and
//! members whose answer the validator rejected are asked alone once more with the reason;
//! a reply cut off at the token limit, or a prompt too big for the context, splits the
//! batch in halves. Every answer passes the caller's validator before it is cached or
//! returned, so nothing invalid is ever stored.

use super::breaker::{Admission, CircuitBreaker, Outcome};
use super::cache::{CacheKey, ResultCache};
use super::classify::{ErrorClass, Failure, RetryAfter, TransportKind};
use super::envelope::{assign, parse_reply};
use super::error::LlmError;
use super::limit::InFlightLimit;
use super::pace::Pace;
use super::prompt::{DEFAULT_PROMPT_BUDGET, FileRequest, MemberRequest, build_prompt};
use super::provider::{ChatBackend, ChatRequest, ChatResponse, HttpProvider};
use super::retry::{AttemptError, RetryPolicy, with_retry};
use super::stats::{LlmStats, StatsSnapshot};
use crate::config::{ApiKey, BreakerConfig, ConfigError, LlmConfig, LlmMode};
use crate::store::StateStore;
use futures_util::future::join_all;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// The driver's check of one answer: given the member and the code the model wrote, the
/// code to keep (imports fixed, names sanitised, formatted) or why it is unusable.
pub type Validator<'a> = &'a (dyn Fn(&MemberRequest, &str) -> Result<String, String> + Sync);

/// The smallest completion cap a timed-out request is shrunk to.
const MIN_CAP: u32 = 128;

/// Everything a bad answer may cost a member: the first answer and one re-ask.
const MAX_BAD_ANSWERS: u32 = 2;

/// How the stack behaves; built from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    pub mode: LlmMode,
    pub model: String,
    pub temperature: f64,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub breaker: BreakerConfig,
    /// Characters of prompt to aim for; context is cut to fit, members never.
    pub prompt_budget: usize,
    /// Completion tokens allowed per member asked; a request for n members gets n times this.
    pub max_tokens_per_member: u32,
}

impl ClientOptions {
    /// The options `config` asks for; fails only when no model is configured.
    pub fn from_config(config: &LlmConfig) -> Result<Self, ConfigError> {
        Ok(ClientOptions {
            mode: config.mode,
            model: config.require_model()?.to_owned(),
            temperature: config.temperature,
            concurrency: config.concurrency,
            retry: RetryPolicy::from_config(config),
            breaker: config.breaker.clone(),
            prompt_budget: DEFAULT_PROMPT_BUDGET,
            max_tokens_per_member: config.max_tokens,
        })
    }
}

/// Why the client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot set up the HTTP client")]
    Http(#[source] reqwest::Error),
}

/// What became of one member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberResult {
    /// The member's [`MemberRequest::id`].
    pub id: String,
    /// Its cache key, which is also its job key in the durable queue.
    pub key: CacheKey,
    pub outcome: MemberOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MemberOutcome {
    /// A validated test, fresh or from the cache.
    Generated { code: String, cached: bool },
    /// The model's answers kept failing validation (or held nothing for it).
    Rejected { reason: String },
    /// The request failed for good (auth, a refused request, retries exhausted).
    Failed(LlmError),
    /// Not done now but not failed: the breaker is open, the quota is gone, or the server
    /// asked for a long wait. Queue it for a later run.
    Deferred {
        wait: Option<Duration>,
        reason: String,
    },
    /// The run was cancelled before an answer came. Nothing was written or cached.
    Cancelled,
}

impl MemberOutcome {
    fn from_error(error: LlmError) -> Self {
        match error {
            LlmError::Deferred { wait, reason } => MemberOutcome::Deferred { wait, reason },
            // Timeouts, refused or broken connections and 5xx until the retries ran out: the
            // service is down or overloaded, not the job wrong. It waits for a later run
            // (exit 75) rather than spending the job's attempts (exit 65 is for answers).
            error @ LlmError::GaveUp {
                failure: Failure::Transport { .. } | Failure::Status { .. },
                ..
            } => MemberOutcome::Deferred {
                wait: None,
                reason: error.to_string(),
            },
            error @ LlmError::Quota { .. } => MemberOutcome::Deferred {
                wait: None,
                reason: error.to_string(),
            },
            LlmError::Cancelled => MemberOutcome::Cancelled,
            error => MemberOutcome::Failed(error),
        }
    }
}

/// A condition that stops the whole run: nothing more will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// The credentials were refused (401/403).
    BadCredentials(LlmError),
    /// The quota is exhausted; the remaining work waits in the queue.
    QuotaExhausted,
    /// The API refused a request as wrong (400/404/422): a configuration problem (model
    /// name, base URL, a parameter) that every request would meet.
    Refused(LlmError),
}

/// The LLM stack. Share one per run (`&LlmClient` is enough: every method takes `&self`), so
/// the cap on requests in flight, the breaker and the counters cover every file.
#[derive(Debug)]
pub struct LlmClient<B = HttpProvider> {
    backend: B,
    options: ClientOptions,
    cache: ResultCache,
    breaker: CircuitBreaker,
    limit: InFlightLimit,
    stats: Arc<LlmStats>,
    /// Holds every request while the API's rate limit asks the run to wait.
    pace: Arc<Pace>,
    cancel: CancellationToken,
    /// Set by the first 401/403: every later attempt fails at once without sending.
    auth_failure: OnceLock<LlmError>,
    /// Set by the first 400/404/422 that no fallback explains (a wrong model name or base
    /// URL): every request would be refused the same way, so none more is sent.
    refusal: OnceLock<LlmError>,
}

impl LlmClient<HttpProvider> {
    /// The stack for `config`, talking HTTP. `api_key` may be `None` for a local server;
    /// `store` is `None` for `--no-cache`; cancelling `cancel` (on Ctrl-C) stops every
    /// sleep and request at once.
    pub fn from_config(
        config: &LlmConfig,
        api_key: Option<ApiKey>,
        store: Option<Arc<dyn StateStore>>,
        cancel: CancellationToken,
    ) -> Result<Self, ClientBuildError> {
        let options = ClientOptions::from_config(config)?;
        let stats = Arc::new(LlmStats::default());
        let provider = HttpProvider::new(config, &options.model, api_key, stats.clone())
            .map_err(ClientBuildError::Http)?;
        Ok(LlmClient::with_backend(
            provider, options, store, stats, cancel,
        ))
    }
}

impl<B: ChatBackend> LlmClient<B> {
    /// The stack over any backend; tests use in-process fakes.
    pub fn with_backend(
        backend: B,
        options: ClientOptions,
        store: Option<Arc<dyn StateStore>>,
        stats: Arc<LlmStats>,
        cancel: CancellationToken,
    ) -> Self {
        LlmClient {
            pace: backend.pace().unwrap_or_default(),
            backend,
            cache: ResultCache::new(store, stats.clone()),
            breaker: CircuitBreaker::new(options.breaker.clone()),
            limit: InFlightLimit::new(options.concurrency),
            options,
            stats,
            cancel,
            auth_failure: OnceLock::new(),
            refusal: OnceLock::new(),
        }
    }

    /// The key under which `member`'s answer is cached — and under which the pipeline
    /// records its job in the durable queue before asking.
    pub fn cache_key(&self, file: &FileRequest, member: &MemberRequest) -> CacheKey {
        CacheKey::new(file, member, &self.options.model, self.options.temperature)
    }

    /// The counters so far, with the cache's current size.
    pub fn stats(&self) -> StatsSnapshot {
        StatsSnapshot {
            cache_entries: self.cache.entries(),
            ..self.stats.snapshot()
        }
    }

    /// Whether something stopped the run for good; the pipeline should stop starting files.
    pub fn halt(&self) -> Option<Halt> {
        if let Some(error) = self.auth_failure.get() {
            return Some(Halt::BadCredentials(error.clone()));
        }
        if let Some(error) = self.refusal.get() {
            return Some(Halt::Refused(error.clone()));
        }
        self.breaker
            .is_quota_exhausted()
            .then_some(Halt::QuotaExhausted)
    }

    /// Tests for `members` of `file`, one result per member in the same order. Cached
    /// members are answered without sending anything; the rest are asked as the mode says,
    /// and every answer passes `validate` before it is cached or returned.
    pub async fn generate(
        &self,
        file: &FileRequest,
        members: &[MemberRequest],
        validate: Validator<'_>,
    ) -> Vec<MemberResult> {
        let keys: Vec<CacheKey> = members.iter().map(|m| self.cache_key(file, m)).collect();
        let mut outcomes: Vec<Option<MemberOutcome>> = vec![None; members.len()];
        let mut missed = Vec::new();
        for (i, cached) in self.cache.get_many(&keys).into_iter().enumerate() {
            match cached {
                Some(code) => {
                    outcomes[i] = Some(MemberOutcome::Generated { code, cached: true });
                }
                None => missed.push(i),
            }
        }
        let asked = match self.options.mode {
            LlmMode::Batch if missed.len() > 1 => {
                self.ask_in_batches(file, members, &keys, missed, validate)
                    .await
            }
            _ => {
                let keys = &keys;
                join_all(missed.into_iter().map(|i| async move {
                    let outcome = self
                        .ask_alone(file, &members[i], &keys[i], validate, None)
                        .await;
                    (i, outcome)
                }))
                .await
            }
        };
        for (i, outcome) in asked {
            outcomes[i] = Some(outcome);
        }
        members
            .iter()
            .zip(keys)
            .zip(outcomes)
            .map(|((member, key), outcome)| MemberResult {
                id: member.id.clone(),
                key,
                outcome: outcome.unwrap_or(MemberOutcome::Cancelled),
            })
            .collect()
    }

    async fn ask_in_batches(
        &self,
        file: &FileRequest,
        members: &[MemberRequest],
        keys: &[CacheKey],
        missed: Vec<usize>,
        validate: Validator<'_>,
    ) -> Vec<(usize, MemberOutcome)> {
        let mut finished = Vec::new();
        // Members to ask alone, with the reason their batch answer was rejected, if it was.
        let mut alone: Vec<(usize, Option<String>)> = Vec::new();
        let mut batches = self.initial_batches(members, missed);
        while let Some(batch) = batches.pop() {
            if let [only] = batch[..] {
                alone.push((only, None));
                continue;
            }
            let asked: Vec<&MemberRequest> = batch.iter().map(|&i| &members[i]).collect();
            let request = build_prompt(file, &asked, None, self.options.prompt_budget);
            let reply = match self.ask(&request, asked.len()).await {
                Ok(reply) if !reply.is_truncated() => reply,
                Ok(_) | Err(LlmError::ContextOverflow { .. }) => {
                    debug!(
                        "{}: the batch of {} does not fit; splitting it",
                        file.path,
                        batch.len()
                    );
                    let (first, second) = batch.split_at(batch.len() / 2);
                    batches.push(second.to_vec());
                    batches.push(first.to_vec());
                    continue;
                }
                Err(error) => {
                    let outcome = MemberOutcome::from_error(error);
                    finished.extend(batch.iter().map(|&i| (i, outcome.clone())));
                    continue;
                }
            };
            let (shape, items) = parse_reply(&reply.content);
            let answers = assign(items, &asked);
            let mut accepted = Vec::new();
            for (&i, answer) in batch.iter().zip(answers) {
                match answer {
                    Some(code) => match validate(&members[i], &code) {
                        Ok(code) => accepted.push((i, code)),
                        Err(reason) => alone.push((i, Some(reason))),
                    },
                    None => {
                        debug!(
                            "{}: the batch answer ({shape:?}) had nothing for {}; asking alone",
                            file.path, members[i].id
                        );
                        alone.push((i, None));
                    }
                }
            }
            let entries: Vec<(&CacheKey, &str)> = accepted
                .iter()
                .map(|(i, code)| (&keys[*i], code.as_str()))
                .collect();
            self.cache.put_many(&entries);
            finished.extend(accepted.into_iter().map(|(i, code)| {
                let outcome = MemberOutcome::Generated {
                    code,
                    cached: false,
                };
                (i, outcome)
            }));
        }
        let retried = join_all(alone.into_iter().map(|(i, rejected)| async move {
            let outcome = self
                .ask_alone(file, &members[i], &keys[i], validate, rejected)
                .await;
            (i, outcome)
        }))
        .await;
        finished.extend(retried);
        finished
    }

    /// One batch for the whole file, unless the members' sources alone would take more
    /// than half the prompt budget: then consecutive runs of members that do. Splitting
    /// up front spares a request that could only overflow. Returned in reverse, as a stack.
    fn initial_batches(&self, members: &[MemberRequest], missed: Vec<usize>) -> Vec<Vec<usize>> {
        let room = self.options.prompt_budget / 2;
        let mut batches: Vec<Vec<usize>> = Vec::new();
        let mut size = 0;
        for i in missed {
            let cost = members[i].source.len();
            match batches.last_mut() {
                Some(batch) if size + cost <= room => batch.push(i),
                _ => {
                    batches.push(vec![i]);
                    size = 0;
                }
            }
            size += cost;
        }
        batches.reverse();
        batches
    }

    /// Asks for one member until an answer passes, it has had [`MAX_BAD_ANSWERS`], or the
    /// request fails. `rejected` is the reason an earlier (batch) answer was turned down.
    async fn ask_alone(
        &self,
        file: &FileRequest,
        member: &MemberRequest,
        key: &CacheKey,
        validate: Validator<'_>,
        rejected: Option<String>,
    ) -> MemberOutcome {
        let mut bad_answers = u32::from(rejected.is_some());
        let mut feedback = rejected;
        let mut budget = self.options.prompt_budget;
        loop {
            let request = build_prompt(file, &[member], feedback.as_deref(), budget);
            let reply = match self.ask(&request, 1).await {
                Ok(reply) => reply,
                Err(LlmError::ContextOverflow { .. }) if budget > 0 => {
                    debug!(
                        "{}: {} does not fit; dropping all context",
                        file.path, member.id
                    );
                    budget = 0;
                    continue;
                }
                Err(error) => return MemberOutcome::from_error(error),
            };
            let verdict = if reply.repeating {
                Err(
                    "the answer started repeating itself and was cut; answer with one short \
                     test, each statement once, and no explanation"
                        .to_owned(),
                )
            } else if reply.is_truncated() {
                Err(format!(
                    "the answer ran past the limit of {} tokens; answer with one short test \
                     and no explanation",
                    self.options.max_tokens_per_member
                ))
            } else {
                let (_, items) = parse_reply(&reply.content);
                match assign(items, &[member]).pop().flatten() {
                    Some(code) => self.accept(member, key, &code, validate),
                    None => Err("the answer held no test code".to_owned()),
                }
            };
            match verdict {
                Ok(outcome) => return outcome,
                Err(reason) => {
                    bad_answers += 1;
                    debug!("{}: answer for {} rejected: {reason}", file.path, member.id);
                    if bad_answers >= MAX_BAD_ANSWERS {
                        return MemberOutcome::Rejected { reason };
                    }
                    feedback = Some(reason);
                }
            }
        }
    }

    /// Validates an answer and caches what the validator kept.
    fn accept(
        &self,
        member: &MemberRequest,
        key: &CacheKey,
        code: &str,
        validate: Validator<'_>,
    ) -> Result<MemberOutcome, String> {
        let code = validate(member, code)?;
        self.cache.put(key, &code);
        Ok(MemberOutcome::Generated {
            code,
            cached: false,
        })
    }

    /// One request for `members` members through retry, breaker and limit, capped at their
    /// completion allowance. A request that timed out may have kept the server generating
    /// all along: it is not sent again as it was, but with half the cap.
    async fn ask(&self, request: &ChatRequest, members: usize) -> Result<ChatResponse, LlmError> {
        let members = u32::try_from(members.max(1)).unwrap_or(u32::MAX);
        let sending = std::sync::Mutex::new(ChatRequest {
            max_tokens: Some(self.options.max_tokens_per_member.saturating_mul(members)),
            ..request.clone()
        });
        let result = with_retry(&self.options.retry, &self.cancel, &self.stats, || {
            let sending = &sending;
            async move {
                let request = sending.lock().expect("not poisoned").clone();
                let answer = self.attempt(&request).await;
                if let Err(AttemptError::Failed {
                    failure:
                        Failure::Transport {
                            kind: TransportKind::Timeout,
                            ..
                        },
                    ..
                }) = &answer
                {
                    let mut next = sending.lock().expect("not poisoned");
                    next.max_tokens = next.max_tokens.map(|cap| (cap / 2).max(MIN_CAP));
                }
                answer
            }
        })
        .await;
        match &result {
            Ok(reply) => {
                self.stats
                    .tokens(reply.usage.prompt_tokens, reply.usage.completion_tokens);
                self.stats.answer(
                    reply.usage.completion_tokens,
                    reply.is_truncated(),
                    reply.repeating,
                );
            }
            Err(error @ LlmError::Auth { .. }) => {
                let _ = self.auth_failure.set(error.clone());
            }
            Err(error @ LlmError::Refused { .. }) => {
                let _ = self.refusal.set(error.clone());
            }
            Err(_) => {}
        }
        result
    }

    /// One attempt, under a permit held only while on the wire. The credentials and the
    /// breaker are checked once the permit is held, right before sending: a request that
    /// queued for a permit while the breaker opened must not go out.
    async fn attempt(&self, request: &ChatRequest) -> Result<ChatResponse, AttemptError> {
        loop {
            self.wait_for_pace().await?;
            let send = async {
                if let Some(error) = self.auth_failure.get().or(self.refusal.get()) {
                    return Some(Err(AttemptError::Aborted(error.clone())));
                }
                // The rate limit may have spoken while this request queued for its permit:
                // give the permit back and wait again.
                if self.pace.remaining().is_some() {
                    return None;
                }
                let admission = match self.breaker.admit() {
                    Ok(admission) => admission,
                    Err(rejection) => {
                        return Some(Err(AttemptError::BreakerOpen {
                            wait: rejection.wait,
                            reason: rejection.reason,
                        }));
                    }
                };
                Some(match self.backend.complete(request).await {
                    Ok(reply) => {
                        admission.record(Outcome::Success);
                        Ok(reply)
                    }
                    Err(failure) => Err(self.failed(admission, failure)),
                })
            };
            match self.limit.run(&self.cancel, send).await {
                None => return Err(AttemptError::Cancelled),
                Some(None) => continue,
                Some(Some(answer)) => return answer,
            }
        }
    }

    /// Classifies a failed attempt, tells the breaker, and holds the whole run when the
    /// server asked to slow down for a while.
    fn failed(&self, admission: Admission<'_>, failure: Failure) -> AttemptError {
        let error = AttemptError::failed(failure);
        if let AttemptError::Failed { classification, .. } = &error {
            admission.record(Outcome::Failed(classification.class));
            if let (ErrorClass::RateLimited, RetryAfter::After(wait)) =
                (classification.class, classification.retry_after)
            {
                self.pace.hold_for(wait);
            }
        }
        error
    }

    /// Sleeps (holding no permit) while the API's rate limit holds the run; a hold longer
    /// than the run can afford defers the request instead.
    async fn wait_for_pace(&self) -> Result<(), AttemptError> {
        while let Some(wait) = self.pace.remaining() {
            if wait > self.options.retry.max_wait {
                return Err(AttemptError::BreakerOpen {
                    wait: Some(wait),
                    reason: format!("the API's rate limit asks to wait {}s", wait.as_secs()),
                });
            }
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => return Err(AttemptError::Cancelled),
                () = tokio::time::sleep(wait) => {}
            }
        }
        Ok(())
    }
}

mod repair;

#[cfg(test)]
pub(super) mod tests;
