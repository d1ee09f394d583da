//! The HTTP end of the stack: one OpenAI-compatible `POST {base_url}/chat/completions`,
//! answered with the reply's text, why it stopped and the tokens it cost.
//!
//! Structured output differs between servers (RELIABILITY.md, "Real servers differ"): the
//! provider asks with a strict `json_schema` first, falls back to `json_object`, then to
//! plain text, and remembers per endpoint what worked so it never repeats a request the
//! server already refused for its format. The API key goes into the `Authorization` header
//! and nowhere else; any echo of it in an error body is scrubbed.
//!
//! Answers are streamed by default (`stream: true`, [`super::stream`]): the read timeout then
//! means "no token for so long" rather than "no answer yet" (llama.cpp sends nothing until a
//! non-streamed answer is done), and reading stops as soon as the answer degenerates into
//! repetition ([`super::runaway`]) or runs past its cap. A server that answers with one JSON
//! body anyway is read as such; one that refuses `stream_options` or `stream` is asked
//! without them from then on.

use super::classify::{Failure, TransportKind};
use super::envelope::envelope_schema;
use super::pace::{Pace, pause_from_headers};
use super::runaway::repeating_tail;
use super::stats::LlmStats;
use super::stream::{Assembly, ChunkError, EventLines, looks_like_events};
use crate::config::{ApiKey, LlmConfig};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What to ask the model: a system message and a user message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequest {
    pub system: String,
    pub user: String,
    /// The completion cap: the answer is cut there (`finish_reason: "length"`).
    pub max_tokens: Option<u32>,
}

/// A successful completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatResponse {
    /// `choices[0].message.content`; empty when the server sent none.
    pub content: String,
    /// `choices[0].finish_reason`: `"stop"`, `"length"` (cut off), ...
    pub finish_reason: Option<String>,
    pub usage: Usage,
    /// Reading stopped because the streamed answer had degenerated into repetition
    /// ([`super::runaway`]): what came is a runaway's start, not an answer.
    pub repeating: bool,
}

impl ChatResponse {
    /// Whether the answer was cut off: by the token limit, or by the repetition stop.
    /// Either way it is not an answer to keep or cache.
    pub fn is_truncated(&self) -> bool {
        self.repeating || self.finish_reason.as_deref() == Some("length")
    }
}

/// Tokens as the server's `usage` reported them (zero when it did not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Something that answers chat requests: the HTTP provider in the binary, an in-process
/// fake in tests that need tokio's paused clock (reqwest's timers do not pause).
pub trait ChatBackend: Send + Sync {
    fn complete(
        &self,
        request: &ChatRequest,
    ) -> impl Future<Output = Result<ChatResponse, Failure>> + Send;

    /// The pace this backend feeds from the server's rate-limit headers, if it reads them.
    fn pace(&self) -> Option<Arc<Pace>> {
        None
    }
}

/// How the reply's shape is requested, strictest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResponseFormat {
    /// `{"type":"json_schema", ... "strict": true}` with the `{"tests":[...]}` envelope.
    JsonSchema,
    /// `{"type":"json_object"}`.
    JsonObject,
    /// No `response_format`: the reply is parsed as text.
    Text,
}

impl ResponseFormat {
    fn weaker(self) -> Option<Self> {
        match self {
            ResponseFormat::JsonSchema => Some(ResponseFormat::JsonObject),
            ResponseFormat::JsonObject => Some(ResponseFormat::Text),
            ResponseFormat::Text => None,
        }
    }

    fn request_field(self) -> Option<serde_json::Value> {
        match self {
            ResponseFormat::JsonSchema => Some(serde_json::json!({
                "type": "json_schema",
                "json_schema": {"name": "tests", "strict": true, "schema": envelope_schema()},
            })),
            ResponseFormat::JsonObject => Some(serde_json::json!({"type": "json_object"})),
            ResponseFormat::Text => None,
        }
    }
}

/// An OpenAI-compatible chat-completions endpoint.
#[derive(Debug)]
pub struct HttpProvider {
    http: reqwest::Client,
    endpoint: String,
    api_key: Option<ApiKey>,
    model: String,
    temperature: f64,
    /// What each endpoint (URL and model) is known to accept.
    formats: Mutex<HashMap<String, ResponseFormat>>,
    /// Endpoints known to refuse `max_tokens` and want `max_completion_tokens` (OpenAI's
    /// reasoning models answer 400 to the former).
    completion_cap_field: Mutex<HashMap<String, CapField>>,
    /// How each endpoint is asked to stream, once it refused what was asked before.
    streaming: Mutex<HashMap<String, Streaming>>,
    /// How an endpoint is asked to stream until it refuses: `stream = false` turns it off.
    default_streaming: Streaming,
    stats: Arc<LlmStats>,
    /// Fed from every response's rate-limit headers; the client waits on it.
    pace: Arc<Pace>,
    timeouts: Timeouts,
}

/// The three limits on one request, kept apart so a failure can say which one fired: a
/// black-holed server is caught by `read` long before `total` runs out.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    connect: Duration,
    /// Without a byte: until the headers, then between reads (reqwest's `read_timeout`).
    read: Option<Duration>,
    /// The whole exchange; enforced here rather than by reqwest, whose total and read
    /// timeouts fail with the same error.
    total: Option<Duration>,
}

impl Timeouts {
    fn connect_fired(&self) -> String {
        format!(
            "no connection within {} (connect timeout, `--connect-timeout` / `connect_timeout_secs`)",
            seconds(self.connect)
        )
    }

    fn read_fired(&self) -> String {
        match self.read {
            Some(read) => format!(
                "no byte from the server within {} (read timeout, `--read-timeout` / `read_timeout_secs`)",
                seconds(read)
            ),
            None => "no byte from the server in time".to_owned(),
        }
    }

    fn total_fired(&self, total: Duration) -> String {
        format!(
            "no complete answer within {} (total timeout, `--timeout` / `timeout_secs`)",
            seconds(total)
        )
    }
}

/// `10 s`, `1.5 s`.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// Redirects are followed only within the endpoint's own origin (scheme, host and port): a
/// 307/308 replays the POST — the prompt, the project's source — to wherever it points, and
/// the endpoint the user chose is the only one that should see it. A redirect elsewhere
/// ends the request with the redirect's status.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let origin = |url: &reqwest::Url| url.origin();
        let first = attempt.previous().first().map(origin);
        if attempt.previous().len() > 5 || first.as_ref() != Some(&origin(attempt.url())) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// Keep error bodies short in messages and memory.
const MAX_ERROR_BODY: usize = 4096;

impl HttpProvider {
    /// A provider for `config`'s endpoint and `model`. `api_key` may be `None` for local
    /// servers that need none; then no `Authorization` header is sent.
    pub fn new(
        config: &LlmConfig,
        model: &str,
        api_key: Option<ApiKey>,
        stats: Arc<LlmStats>,
    ) -> Result<Self, reqwest::Error> {
        let timeouts = Timeouts {
            connect: config.connect_timeout,
            read: config.read_timeout,
            total: config.timeout,
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("testsmith/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeouts.connect)
            .redirect(same_origin_redirects());
        if let Some(read) = timeouts.read {
            builder = builder.read_timeout(read);
        }
        Ok(HttpProvider {
            http: builder.build()?,
            endpoint: format!("{}/chat/completions", config.base_url),
            api_key,
            model: model.to_owned(),
            temperature: config.temperature,
            formats: Mutex::new(HashMap::new()),
            completion_cap_field: Mutex::new(HashMap::new()),
            streaming: Mutex::new(HashMap::new()),
            default_streaming: if config.stream {
                Streaming::WithUsage
            } else {
                Streaming::Off
            },
            stats,
            pace: Arc::default(),
            timeouts,
        })
    }

    /// The format this endpoint is currently asked with.
    pub fn response_format(&self) -> ResponseFormat {
        self.formats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&self.format_key())
            .copied()
            .unwrap_or(ResponseFormat::JsonSchema)
    }

    fn format_key(&self) -> String {
        format!("{} {}", self.endpoint, self.model)
    }

    fn remember_format(&self, format: ResponseFormat) {
        self.formats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.format_key(), format);
    }

    /// The field this endpoint takes the completion cap in.
    fn cap_field(&self) -> CapField {
        self.completion_cap_field
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&self.format_key())
            .copied()
            .unwrap_or(CapField::MaxTokens)
    }

    /// How this endpoint is currently asked to stream.
    pub fn streaming(&self) -> Streaming {
        self.streaming
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&self.format_key())
            .copied()
            .unwrap_or(self.default_streaming)
    }

    fn remember_streaming(&self, streaming: Streaming) {
        self.streaming
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.format_key(), streaming);
    }

    /// One exchange, under the total timeout.
    async fn send(&self, request: &ChatRequest, asked: Asked) -> Result<ChatResponse, Failure> {
        let exchange = self.exchange(request, asked);
        match self.timeouts.total {
            Some(total) => tokio::time::timeout(total, exchange)
                .await
                .unwrap_or_else(|_| {
                    Err(Failure::Transport {
                        kind: TransportKind::Timeout,
                        message: self.timeouts.total_fired(total),
                    })
                }),
            None => exchange.await,
        }
    }

    async fn exchange(&self, request: &ChatRequest, asked: Asked) -> Result<ChatResponse, Failure> {
        let Asked {
            format,
            cap_field,
            streaming,
        } = asked;
        let mut body = serde_json::json!({
            "model": self.model,
            "temperature": self.temperature,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
        });
        if let Some(field) = format.request_field() {
            body["response_format"] = field;
        }
        if let Some(cap) = request.max_tokens {
            body[cap_field.name()] = cap.into();
        }
        if streaming != Streaming::Off {
            body["stream"] = true.into();
        }
        if streaming == Streaming::WithUsage {
            body["stream_options"] = serde_json::json!({"include_usage": true});
        }
        let mut http = self.http.post(&self.endpoint).json(&body);
        if let Some(key) = &self.api_key {
            http = http.bearer_auth(key.expose());
        }
        self.stats.request_sent();
        let response = http.send().await.map_err(|error| self.transport(&error))?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after_ms = header("retry-after-ms");
        let retry_after = header("retry-after");
        let event_stream = header("content-type")
            .is_some_and(|kind| kind.trim_start().starts_with("text/event-stream"));
        let tokens_needed = request.max_tokens.map_or(1, u64::from);
        if let Some(pause) = pause_from_headers(header, tokens_needed) {
            tracing::debug!(
                "the API's rate-limit budget is spent; pausing {:.1}s",
                pause.as_secs_f64()
            );
            self.pace.hold_for(pause);
        }
        if status.is_success() && event_stream {
            return self.read_events(response, request.max_tokens).await;
        }
        let text = response
            .text()
            .await
            .map_err(|error| self.transport(&error))?;
        if !status.is_success() {
            return Err(Failure::Status {
                status: status.as_u16(),
                retry_after_ms,
                retry_after,
                // Redacted whole, then cut: a cut JSON body no longer decodes.
                body: truncate(&self.redact(&text), MAX_ERROR_BODY).to_owned(),
            });
        }
        if looks_like_events(&text) {
            // Events without the content type that says so: a sloppy proxy.
            let mut lines = EventLines::default();
            let mut answer = Assembly::default();
            if let Some(stopped) = self.take(&mut lines, &mut answer, text.as_bytes(), None)? {
                return Ok(stopped);
            }
            return self.finish(lines, answer);
        }
        parse_completion(&text).map_err(|message| Failure::Malformed {
            message: self.redact(&message),
        })
    }

    /// Reads a streamed answer chunk by chunk, stopping early at a runaway.
    async fn read_events(
        &self,
        mut response: reqwest::Response,
        cap: Option<u32>,
    ) -> Result<ChatResponse, Failure> {
        let mut lines = EventLines::default();
        let mut answer = Assembly::default();
        while !answer.done {
            let Some(bytes) = response
                .chunk()
                .await
                .map_err(|error| self.transport(&error))?
            else {
                break;
            };
            if let Some(stopped) = self.take(&mut lines, &mut answer, &bytes, cap)? {
                return Ok(stopped);
            }
        }
        self.finish(lines, answer)
    }

    /// Feeds `bytes` to the answer; `Some` when reading should stop short of the end
    /// ([`stop_short`]).
    fn take(
        &self,
        lines: &mut EventLines,
        answer: &mut Assembly,
        bytes: &[u8],
        cap: Option<u32>,
    ) -> Result<Option<ChatResponse>, Failure> {
        for event in lines.feed(bytes) {
            let before = answer.content.len();
            answer
                .take(&event)
                .map_err(|error| self.chunk_failure(error))?;
            // Checked at every event, so where reading stops does not depend on how the
            // network cut the stream.
            if answer.content.len() > before
                && let Some(stopped) = stop_short(answer, cap)
            {
                return Ok(Some(stopped));
            }
        }
        Ok(None)
    }

    /// The answer once the stream ended: whole if the server said it was done or why it
    /// stopped; a broken connection otherwise.
    fn finish(&self, mut lines: EventLines, mut answer: Assembly) -> Result<ChatResponse, Failure> {
        for event in lines.finish() {
            answer
                .take(&event)
                .map_err(|error| self.chunk_failure(error))?;
        }
        if !answer.is_complete() {
            return Err(Failure::Transport {
                kind: TransportKind::Interrupted,
                message: format!(
                    "the answer stream ended after {} bytes without a finish_reason or [DONE]",
                    answer.content.len()
                ),
            });
        }
        Ok(ChatResponse {
            usage: answer.usage(),
            content: answer.content,
            finish_reason: answer.finish_reason,
            repeating: false,
        })
    }

    fn chunk_failure(&self, error: ChunkError) -> Failure {
        match error {
            // The server ended the answer with an error: like a connection broken off.
            ChunkError::Server(message) => Failure::Transport {
                kind: TransportKind::Interrupted,
                message: self.redact(&format!("the server broke off the answer: {message}")),
            },
            ChunkError::Unreadable(message) => Failure::Malformed {
                message: self.redact(&message),
            },
        }
    }

    fn transport(&self, error: &reqwest::Error) -> Failure {
        let kind = if error.is_timeout() {
            TransportKind::Timeout
        } else if error.is_connect() {
            TransportKind::Connect
        } else if error.is_builder() {
            TransportKind::Other
        } else {
            // Sending or reading broke off: a reset, a torn body, a closed connection.
            TransportKind::Interrupted
        };
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        if kind == TransportKind::Timeout {
            // reqwest enforces connect and read timeouts (the total one is ours, in `send`).
            let which = if error.is_connect() {
                self.timeouts.connect_fired()
            } else {
                self.timeouts.read_fired()
            };
            message = format!("{which}: {message}");
        }
        Failure::Transport {
            kind,
            message: self.redact(&message),
        }
    }

    fn redact(&self, text: &str) -> String {
        match &self.api_key {
            Some(key) => super::redact::redact(text, key.expose()),
            _ => text.to_owned(),
        }
    }
}

impl ChatBackend for HttpProvider {
    fn pace(&self) -> Option<Arc<Pace>> {
        Some(self.pace.clone())
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, Failure> {
        let mut format = self.response_format();
        let mut cap_field = self.cap_field();
        let mut streaming = self.streaming();
        loop {
            let asked = Asked {
                format,
                cap_field,
                streaming,
            };
            match self.send(request, asked).await {
                Err(failure)
                    if streaming == Streaming::WithUsage && is_stream_options_refusal(&failure) =>
                {
                    tracing::debug!(
                        "{} refused stream_options ({failure}); streaming without from now on",
                        self.endpoint
                    );
                    streaming = Streaming::Plain;
                    self.remember_streaming(streaming);
                }
                Err(failure) if streaming != Streaming::Off && is_stream_refusal(&failure) => {
                    tracing::debug!(
                        "{} refused to stream ({failure}); asking for whole answers from now on",
                        self.endpoint
                    );
                    streaming = Streaming::Off;
                    self.remember_streaming(streaming);
                }
                Err(failure)
                    if cap_field == CapField::MaxTokens
                        && request.max_tokens.is_some()
                        && is_max_tokens_refusal(&failure) =>
                {
                    tracing::debug!(
                        "{} refused max_tokens ({failure}); using max_completion_tokens from now on",
                        self.endpoint
                    );
                    cap_field = CapField::MaxCompletionTokens;
                    self.completion_cap_field
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(self.format_key(), cap_field);
                }
                Err(failure) if is_format_refusal(&failure) => {
                    let Some(weaker) = format.weaker() else {
                        return Err(failure);
                    };
                    tracing::debug!(
                        "{} refused response_format {format:?} ({failure}); using {weaker:?} \
                         from now on",
                        self.endpoint
                    );
                    self.remember_format(weaker);
                    format = weaker;
                }
                answer => return answer,
            }
        }
    }
}

/// The answer so far, when reading should stop here: it has degenerated into repetition,
/// or run past `cap` (a server that ignores it). The connection is then dropped, which tells
/// the server to stop generating.
fn stop_short(answer: &mut Assembly, cap: Option<u32>) -> Option<ChatResponse> {
    let past_cap = cap.is_some_and(|cap| answer.text_chunks > u64::from(cap));
    let repetition = repeating_tail(&answer.content);
    if !past_cap && repetition.is_none() {
        return None;
    }
    if let Some(repetition) = repetition {
        tracing::debug!(
            "the answer repeats a stretch of {} bytes over its last {} bytes; stopped reading \
             after {} chunks",
            repetition.period,
            repetition.span,
            answer.text_chunks
        );
    }
    Some(ChatResponse {
        content: std::mem::take(&mut answer.content),
        finish_reason: if past_cap {
            Some("length".to_owned())
        } else {
            answer.finish_reason.clone()
        },
        usage: answer.usage(),
        repeating: repetition.is_some(),
    })
}

/// How an endpoint is asked to stream its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streaming {
    /// `stream: true` with `stream_options: {include_usage: true}`: the tokens are counted.
    WithUsage,
    /// `stream: true` alone, for servers that refuse `stream_options`.
    Plain,
    /// Whole answers: `stream = false`, or a server that refuses to stream.
    Off,
}

/// What one request asks for besides the messages: learnt per endpoint.
#[derive(Debug, Clone, Copy)]
struct Asked {
    format: ResponseFormat,
    cap_field: CapField,
    streaming: Streaming,
}

/// The request field carrying the completion cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CapField {
    MaxTokens,
    MaxCompletionTokens,
}

impl CapField {
    fn name(self) -> &'static str {
        match self {
            CapField::MaxTokens => "max_tokens",
            CapField::MaxCompletionTokens => "max_completion_tokens",
        }
    }
}

/// Whether a failure is the endpoint refusing `max_tokens` as a parameter (OpenAI: "Unsupported
/// parameter: 'max_tokens' ... Use 'max_completion_tokens' instead."), not the request.
fn is_max_tokens_refusal(failure: &Failure) -> bool {
    let Failure::Status { status, body, .. } = failure else {
        return false;
    };
    let body = body.to_ascii_lowercase();
    matches!(status, 400 | 422)
        && body.contains("max_tokens")
        && (body.contains("max_completion_tokens") || body.contains("unsupported"))
}

/// The body of a 400/422, lowercased; `None` for any other failure.
fn refusal_body(failure: &Failure) -> Option<String> {
    match failure {
        Failure::Status {
            status: 400 | 422,
            body,
            ..
        } => Some(body.to_ascii_lowercase()),
        _ => None,
    }
}

/// Whether a failure is the endpoint refusing `stream_options` (older vLLM, some proxies).
fn is_stream_options_refusal(failure: &Failure) -> bool {
    refusal_body(failure)
        .is_some_and(|body| body.contains("stream_options") || body.contains("include_usage"))
}

/// Whether a failure is the endpoint refusing to stream at all ("streaming is not
/// supported", an organisation not allowed to stream a model) rather than our format.
fn is_stream_refusal(failure: &Failure) -> bool {
    refusal_body(failure).is_some_and(|body| {
        body.contains("stream")
            && ![
                "response_format",
                "json_schema",
                "json_object",
                "max_tokens",
            ]
            .iter()
            .any(|word| body.contains(word))
    })
}

/// Whether a failure is the server refusing our `response_format` rather than the request:
/// a 400/422/500/501 whose body speaks of the format. A bare 500 is an outage, not this.
fn is_format_refusal(failure: &Failure) -> bool {
    let Failure::Status { status, body, .. } = failure else {
        return false;
    };
    if !matches!(status, 400 | 422 | 500 | 501) {
        return false;
    }
    let body = body.to_ascii_lowercase();
    [
        "response_format",
        "json_schema",
        "json_object",
        "schema",
        "grammar",
    ]
    .iter()
    .any(|word| body.contains(word))
}

#[derive(Deserialize)]
struct CompletionBody {
    choices: Vec<ChoiceBody>,
    usage: Option<UsageBody>,
}

#[derive(Deserialize)]
struct ChoiceBody {
    message: Option<MessageBody>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct MessageBody {
    content: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct UsageBody {
    pub(super) prompt_tokens: Option<u64>,
    pub(super) completion_tokens: Option<u64>,
}

fn parse_completion(text: &str) -> Result<ChatResponse, String> {
    let body: CompletionBody = serde_json::from_str(text)
        .map_err(|error| format!("not a chat completion ({error}): {}", truncate(text, 200)))?;
    let choice = body
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| "the completion has no choices".to_owned())?;
    let usage = body.usage.map_or_else(Usage::default, |usage| Usage {
        prompt_tokens: usage.prompt_tokens.unwrap_or(0),
        completion_tokens: usage.completion_tokens.unwrap_or(0),
    });
    Ok(ChatResponse {
        content: choice
            .message
            .and_then(|message| message.content)
            .unwrap_or_default(),
        finish_reason: choice.finish_reason,
        usage,
        repeating: false,
    })
}

pub(super) fn truncate(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut cut = max_bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

#[cfg(test)]
mod stream_tests;

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// A chat-completion body answering with `content`.
    pub(crate) fn completion(content: &str, finish_reason: &str) -> serde_json::Value {
        serde_json::json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }],
            "usage": {"prompt_tokens": 120, "completion_tokens": 45, "total_tokens": 165},
        })
    }

    fn provider(server: &MockServer, key: Option<&str>) -> HttpProvider {
        let config = LlmConfig {
            base_url: format!("{}/v1", server.uri()),
            ..LlmConfig::default()
        };
        HttpProvider::new(
            &config,
            "test-model",
            key.map(ApiKey::new),
            Arc::new(LlmStats::default()),
        )
        .unwrap()
    }

    fn request() -> ChatRequest {
        ChatRequest {
            system: "sys".to_owned(),
            user: "usr".to_owned(),
            max_tokens: Some(700),
        }
    }

    #[tokio::test]
    async fn it_posts_a_chat_completion_and_reads_content_finish_reason_and_usage() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", "Bearer sk-test"))
            .and(body_partial_json(serde_json::json!({
                "model": "test-model",
                "temperature": 0.0,
                "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "usr"}],
                "response_format": {"type": "json_schema", "json_schema": {"strict": true}},
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion("hi", "stop")))
            .expect(1)
            .mount(&server)
            .await;
        let provider = provider(&server, Some("sk-test"));
        let answer = provider.complete(&request()).await.unwrap();
        assert_eq!(answer.content, "hi");
        assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
        assert!(!answer.is_truncated());
        assert_eq!(
            answer.usage,
            Usage {
                prompt_tokens: 120,
                completion_tokens: 45
            }
        );
        assert_eq!(provider.stats.snapshot().requests_sent, 1);
    }

    #[tokio::test]
    async fn an_endpoint_refusing_max_tokens_gets_max_completion_tokens_from_then_on() {
        let server = MockServer::start().await;
        Mock::given(body_partial_json(serde_json::json!({"max_tokens": 700})))
            .respond_with(ResponseTemplate::new(400).set_body_string(
                r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#,
            ))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(body_partial_json(
            serde_json::json!({"max_completion_tokens": 700}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion("ok", "stop")))
        .expect(3)
        .mount(&server)
        .await;
        let provider = provider(&server, None);
        for _ in 0..3 {
            assert_eq!(provider.complete(&request()).await.unwrap().content, "ok");
        }
        assert_eq!(provider.stats.snapshot().requests_sent, 4);
    }

    #[tokio::test]
    async fn without_a_key_no_authorization_header_is_sent() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion("x", "stop")))
            .mount(&server)
            .await;
        provider(&server, None).complete(&request()).await.unwrap();
        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].headers.get("authorization").is_none());
    }

    #[tokio::test]
    async fn a_refused_json_schema_falls_back_to_json_object_and_is_remembered() {
        let server = MockServer::start().await;
        // Like a llama.cpp build that enforces json_object but fails on json_schema.
        Mock::given(body_partial_json(
            serde_json::json!({"response_format": {"type": "json_schema"}}),
        ))
        .respond_with(ResponseTemplate::new(500).set_body_string(
            r#"{"error":{"code":500,"message":"JSON schema conversion failed","type":"server_error"}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
        Mock::given(body_partial_json(
            serde_json::json!({"response_format": {"type": "json_object"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion("{}", "stop")))
        .expect(3)
        .mount(&server)
        .await;
        let provider = provider(&server, Some("k"));
        for _ in 0..3 {
            provider.complete(&request()).await.unwrap();
        }
        assert_eq!(provider.response_format(), ResponseFormat::JsonObject);
        assert_eq!(provider.stats.snapshot().requests_sent, 4);
    }

    #[tokio::test]
    async fn a_server_refusing_every_format_is_finally_asked_in_plain_text() {
        let server = MockServer::start().await;
        Mock::given(body_partial_json(
            serde_json::json!({"response_format": {}}),
        ))
        .respond_with(
            ResponseTemplate::new(400).set_body_string("response_format is not supported"),
        )
        .expect(2)
        .mount(&server)
        .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion("ok", "stop")))
            .expect(1)
            .mount(&server)
            .await;
        let provider = provider(&server, Some("k"));
        assert_eq!(provider.complete(&request()).await.unwrap().content, "ok");
        assert_eq!(provider.response_format(), ResponseFormat::Text);
        let last = server.received_requests().await.unwrap().pop().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&last.body).unwrap();
        assert!(body.get("response_format").is_none());
    }

    #[tokio::test]
    async fn a_bare_server_error_is_not_taken_for_a_format_refusal() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .expect(1)
            .mount(&server)
            .await;
        let provider = provider(&server, Some("k"));
        let failure = provider.complete(&request()).await.unwrap_err();
        assert!(matches!(failure, Failure::Status { status: 500, .. }));
        assert_eq!(provider.response_format(), ResponseFormat::JsonSchema);
    }

    #[tokio::test]
    async fn a_redirect_to_another_origin_is_not_followed_and_one_within_is() {
        let elsewhere = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&elsewhere)
            .await;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(wiremock::matchers::path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(307).insert_header(
                "location",
                format!("{}/v1/chat/completions", elsewhere.uri()).as_str(),
            ))
            .mount(&server)
            .await;
        let failure = provider(&server, Some("sk-live-SECRET42"))
            .complete(&request())
            .await
            .unwrap_err();
        assert!(
            matches!(failure, Failure::Status { status: 307, .. }),
            "{failure:?}"
        );
        assert!(elsewhere.received_requests().await.unwrap().is_empty());

        // Within the endpoint's own origin a redirect is followed, key and body included.
        let moved = MockServer::start().await;
        Mock::given(method("POST"))
            .and(wiremock::matchers::path("/v1/chat/completions"))
            .respond_with(
                ResponseTemplate::new(308).insert_header("location", "/v2/chat/completions"),
            )
            .mount(&moved)
            .await;
        Mock::given(method("POST"))
            .and(wiremock::matchers::path("/v2/chat/completions"))
            .and(wiremock::matchers::header(
                "authorization",
                "Bearer sk-live-SECRET42",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]
            })))
            .mount(&moved)
            .await;
        let answer = provider(&moved, Some("sk-live-SECRET42"))
            .complete(&request())
            .await
            .unwrap();
        assert_eq!(answer.content, "ok");
    }

    #[tokio::test]
    async fn status_failures_carry_the_retry_headers_and_never_the_key() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(401)
                    .insert_header("retry-after", "3")
                    .insert_header("retry-after-ms", "2500")
                    .set_body_string(
                        r#"{"error":{"message":"Incorrect API key provided: sk-live-SECRET42"}}"#,
                    ),
            )
            .mount(&server)
            .await;
        let failure = provider(&server, Some("sk-live-SECRET42"))
            .complete(&request())
            .await
            .unwrap_err();
        let Failure::Status {
            status,
            retry_after_ms,
            retry_after,
            ..
        } = &failure
        else {
            panic!("{failure:?}");
        };
        assert_eq!(*status, 401);
        assert_eq!(retry_after_ms.as_deref(), Some("2500"));
        assert_eq!(retry_after.as_deref(), Some("3"));
        assert!(!format!("{failure} {failure:?}").contains("SECRET42"));
        assert!(failure.to_string().contains("[redacted]"));
    }

    #[tokio::test]
    async fn a_key_the_server_spells_in_unicode_escapes_is_never_shown_decoded() {
        let escaped: String = "sk-live-SECRET42"
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401).set_body_string(format!(
                r#"{{"error":{{"message":"Incorrect API key provided: {escaped}"}}}}"#
            )))
            .mount(&server)
            .await;
        let failure = provider(&server, Some("sk-live-SECRET42"))
            .complete(&request())
            .await
            .unwrap_err();
        let Failure::Status { body, .. } = &failure else {
            panic!("{failure:?}");
        };
        // However the body is read later — as it is, or decoded — the key is not in it.
        let decoded: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(!decoded.to_string().contains("SECRET42"), "{decoded}");
        assert!(
            !body.contains("SECRET42") && !body.contains(&escaped[..30]),
            "{body}"
        );
        assert!(!format!("{failure} {failure:?}").contains("SECRET42"));
    }

    #[tokio::test]
    async fn a_body_that_is_not_a_completion_is_malformed() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy error</html>"))
            .mount(&server)
            .await;
        let failure = provider(&server, None)
            .complete(&request())
            .await
            .unwrap_err();
        assert!(matches!(failure, Failure::Malformed { .. }), "{failure:?}");
    }

    #[tokio::test]
    async fn a_server_slower_than_the_timeout_is_a_timeout_failure() {
        let failure = timed_out(None, Some(Duration::from_secs(1))).await;
        assert!(
            failure.contains("within 1 s (total timeout, `--timeout`"),
            "{failure}"
        );
    }

    #[tokio::test]
    async fn a_server_silent_past_the_read_timeout_says_the_read_timeout_fired() {
        let failure = timed_out(Some(Duration::from_secs(1)), Some(Duration::from_secs(60))).await;
        assert!(
            failure.contains("no byte from the server within 1 s (read timeout, `--read-timeout`"),
            "{failure}"
        );
    }

    /// The message of the timeout failure met with these read and total timeouts (`None`:
    /// the default) by a server that stays silent for 3 s; a panic for any other outcome.
    async fn timed_out(read: Option<Duration>, total: Option<Duration>) -> String {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(completion("late", "stop"))
                    .set_delay(Duration::from_secs(3)),
            )
            .mount(&server)
            .await;
        let defaults = LlmConfig::default();
        let config = LlmConfig {
            base_url: format!("{}/v1", server.uri()),
            read_timeout: read.or(defaults.read_timeout),
            timeout: total.or(defaults.timeout),
            ..defaults
        };
        let provider =
            HttpProvider::new(&config, "m", None, Arc::new(LlmStats::default())).unwrap();
        match provider.complete(&request()).await.unwrap_err() {
            failure @ Failure::Transport {
                kind: TransportKind::Timeout,
                ..
            } => failure.to_string(),
            other => panic!("not a timeout: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_failure() {
        // A port that was just free: nothing listens there. (A dropped MockServer goes
        // back to wiremock's pool and may answer for another test.)
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = LlmConfig {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            ..LlmConfig::default()
        };
        let provider =
            HttpProvider::new(&config, "m", None, Arc::new(LlmStats::default())).unwrap();
        let failure = provider.complete(&request()).await.unwrap_err();
        assert!(
            matches!(
                failure,
                Failure::Transport {
                    kind: TransportKind::Connect,
                    ..
                }
            ),
            "{failure:?}"
        );
    }
}
