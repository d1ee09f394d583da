//! Reading a streamed chat completion: server-sent events (`data: {...}` lines) carrying
//! OpenAI's `chat.completion.chunk` objects, put back together into one answer with its
//! `finish_reason` and `usage`.
//!
//! The event format is split by hand rather than with a crate: lines are cut on `\n` in the
//! raw bytes, so a chunk that ends mid-line or mid-character costs nothing (a UTF-8
//! continuation byte is never `\n`), and the rest is a `data:` prefix and a blank line.

use super::provider::Usage;
use serde::Deserialize;

/// Cuts a byte stream into the payloads of its events (`data:` lines, joined by `\n` when
/// an event has several). Comments (`: ping`) and other fields (`event:`, `id:`) are
/// skipped; llama.cpp's `error:` field is taken like `data:`.
#[derive(Debug, Default)]
pub struct EventLines {
    /// Bytes after the last `\n` seen.
    pending: Vec<u8>,
    /// The data of the event being read.
    data: Option<String>,
}

impl EventLines {
    /// The payloads of the events `bytes` completes.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            self.line(line.trim_end_matches(['\n', '\r']), &mut events);
        }
        events
    }

    /// The payloads left when the stream ends: a last line without `\n`, an event without
    /// its closing blank line (sloppy servers end that way).
    pub fn finish(&mut self) -> Vec<String> {
        let mut events = Vec::new();
        let rest = std::mem::take(&mut self.pending);
        self.line(
            String::from_utf8_lossy(&rest).trim_end_matches('\r'),
            &mut events,
        );
        events.extend(self.data.take());
        events
    }

    fn line(&mut self, line: &str, events: &mut Vec<String>) {
        if line.is_empty() {
            events.extend(self.data.take());
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        if matches!(field, "data" | "error") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
    }
}

/// Whether a body that did not say it was an event stream reads like one anyway.
pub fn looks_like_events(body: &str) -> bool {
    let start = body.trim_start();
    start.starts_with("data:") || start.starts_with(": ")
}

/// One answer being put together from its chunks.
#[derive(Debug, Default)]
pub struct Assembly {
    pub content: String,
    pub finish_reason: Option<String>,
    /// The server's `usage`, when it sent one (`stream_options.include_usage`).
    pub usage: Option<Usage>,
    /// Chunks that carried text: about one token each, the count used when the server
    /// sends no `usage` and to notice a server that ignores the cap.
    pub text_chunks: u64,
    /// `data: [DONE]` came: the answer is complete.
    pub done: bool,
}

/// What an event said that was not an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    /// The server reported an error inside the stream (`{"error": {...}}`).
    Server(String),
    /// The payload is not a chunk we can read.
    Unreadable(String),
}

impl Assembly {
    /// Takes one event's payload.
    pub fn take(&mut self, payload: &str) -> Result<(), ChunkError> {
        let payload = payload.trim();
        if payload == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if payload.is_empty() {
            return Ok(());
        }
        let chunk: ChunkBody = serde_json::from_str(payload).map_err(|error| {
            ChunkError::Unreadable(format!(
                "a streamed chunk is not a chat completion chunk ({error}): {}",
                super::provider::truncate(payload, 200)
            ))
        })?;
        if let Some(error) = chunk.error {
            return Err(ChunkError::Server(match error {
                serde_json::Value::Object(ref fields) => fields
                    .get("message")
                    .and_then(serde_json::Value::as_str)
                    .map_or_else(|| error.to_string(), str::to_owned),
                other => other.to_string(),
            }));
        }
        if let Some(choice) = chunk.choices.into_iter().next() {
            // A server that ignored `stream` mid-way sends `message` instead of `delta`.
            let text = choice
                .delta
                .or(choice.message)
                .and_then(|part| part.content)
                .unwrap_or_default();
            if !text.is_empty() {
                self.content.push_str(&text);
                self.text_chunks += 1;
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(Usage {
                prompt_tokens: usage.prompt_tokens.unwrap_or(0),
                completion_tokens: usage.completion_tokens.unwrap_or(0),
            });
        }
        Ok(())
    }

    /// Whether the answer came to an end, rather than the connection.
    pub fn is_complete(&self) -> bool {
        self.done || self.finish_reason.is_some()
    }

    /// The tokens it cost: the server's count, or the chunks' when it sent none.
    pub fn usage(&self) -> Usage {
        self.usage.unwrap_or(Usage {
            prompt_tokens: 0,
            completion_tokens: self.text_chunks,
        })
    }
}

#[derive(Deserialize)]
struct ChunkBody {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    usage: Option<super::provider::UsageBody>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    delta: Option<ChunkText>,
    message: Option<ChunkText>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChunkText {
    content: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str) -> String {
        serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
            .to_string()
    }

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream = format!(
            ": keep-alive\n\ndata: {}\n\nevent: x\r\ndata: {}\r\n\r\ndata: [DONE]\n\n",
            chunk("héllo "),
            chunk("wörld")
        );
        let bytes = stream.as_bytes();
        // Every cut, including inside `é` and inside `\r\n`.
        for cut in 0..bytes.len() {
            let mut lines = EventLines::default();
            let mut events = lines.feed(&bytes[..cut]);
            events.extend(lines.feed(&bytes[cut..]));
            events.extend(lines.finish());
            let mut answer = Assembly::default();
            for event in &events {
                answer.take(event).unwrap();
            }
            assert_eq!(answer.content, "héllo wörld", "cut at {cut}");
            assert!(answer.done);
            assert_eq!(answer.text_chunks, 2);
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_or_newline_is_kept() {
        let mut lines = EventLines::default();
        assert!(lines.feed(b"data: {\"choices\":[]}\n\ndata: [DO").len() == 1);
        assert_eq!(lines.finish(), vec!["[DO".to_owned()]);
        let mut lines = EventLines::default();
        lines.feed(b"data: a\ndata: b\n");
        assert_eq!(lines.finish(), vec!["a\nb".to_owned()]);
    }

    #[test]
    fn finish_reason_and_usage_are_taken_from_their_chunks() {
        let mut answer = Assembly::default();
        answer.take(&chunk("fn")).unwrap();
        answer
            .take(r#"{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"#)
            .unwrap();
        assert!(answer.is_complete() && !answer.done);
        assert_eq!(
            answer.usage().completion_tokens,
            1,
            "counted from the chunks"
        );
        answer
            .take(r#"{"choices":[],"usage":{"prompt_tokens":90,"completion_tokens":7}}"#)
            .unwrap();
        assert_eq!(answer.finish_reason.as_deref(), Some("length"));
        assert_eq!(
            answer.usage(),
            Usage {
                prompt_tokens: 90,
                completion_tokens: 7
            }
        );
    }

    #[test]
    fn an_error_inside_the_stream_is_reported_with_its_message() {
        let mut answer = Assembly::default();
        let error = answer
            .take(r#"{"error":{"code":500,"message":"the model crashed","type":"server_error"}}"#)
            .unwrap_err();
        assert_eq!(error, ChunkError::Server("the model crashed".to_owned()));
        assert!(matches!(
            answer.take("<html>").unwrap_err(),
            ChunkError::Unreadable(_)
        ));
    }

    #[test]
    fn a_body_of_events_without_the_header_is_recognised() {
        assert!(looks_like_events("\n\ndata: {}\n\n"));
        assert!(!looks_like_events("{\"choices\":[]}"));
    }
}
