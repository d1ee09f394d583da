//! The provider against servers that stream: assembled answers, what each endpoint is
//! learnt to accept, the repetition stop, and the read timeout counted between tokens.

use super::tests::completion;
use super::*;
use std::io::{Read as _, Write as _};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// An event-stream body: one chunk per piece of `pieces`, then `finish_reason`, the usage
/// chunk and `[DONE]` (each only when given).
pub(crate) fn events(pieces: &[&str], finish: Option<&str>, usage: bool, done: bool) -> String {
    let mut body = String::new();
    for piece in pieces {
        let chunk = serde_json::json!({
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}],
        });
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    if let Some(reason) = finish {
        let chunk = serde_json::json!({
            "choices": [{"index": 0, "delta": {}, "finish_reason": reason}],
        });
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    if usage {
        body.push_str(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":80,\"completion_tokens\":9}}\n\n",
        );
    }
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    body
}

fn streamed(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

fn provider_for(base_url: String, config: LlmConfig, key: Option<&str>) -> HttpProvider {
    let config = LlmConfig { base_url, ..config };
    HttpProvider::new(
        &config,
        "m",
        key.map(ApiKey::new),
        Arc::new(LlmStats::default()),
    )
    .unwrap()
}

fn provider(server: &MockServer) -> HttpProvider {
    provider_for(
        format!("{}/v1", server.uri()),
        LlmConfig::default(),
        Some("sk-live-SECRET42"),
    )
}

fn request() -> ChatRequest {
    ChatRequest {
        system: "sys".to_owned(),
        user: "usr".to_owned(),
        max_tokens: Some(700),
    }
}

fn body_of(request: &Request) -> serde_json::Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_streamed_answer_is_put_together_with_its_finish_reason_and_usage() {
    let server = MockServer::start().await;
    Mock::given(body_partial_json(serde_json::json!({
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": 700,
    })))
    .respond_with(streamed(events(
        &["Here ", "it is: ", "fn t() {}"],
        Some("stop"),
        true,
        true,
    )))
    .expect(1)
    .mount(&server)
    .await;
    let answer = provider(&server).complete(&request()).await.unwrap();
    assert_eq!(answer.content, "Here it is: fn t() {}");
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
    assert!(!answer.is_truncated());
    assert_eq!(
        answer.usage,
        Usage {
            prompt_tokens: 80,
            completion_tokens: 9
        }
    );
}

#[tokio::test]
async fn a_server_that_ignores_stream_and_answers_whole_is_read_as_it_is() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion("whole", "stop")))
        .expect(1)
        .mount(&server)
        .await;
    let answer = provider(&server).complete(&request()).await.unwrap();
    assert_eq!(answer.content, "whole");
    assert_eq!(answer.usage.completion_tokens, 45);
}

#[tokio::test]
async fn events_sent_as_json_by_a_sloppy_proxy_are_still_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            events(&["a", "b"], Some("stop"), false, true),
            "application/json",
        ))
        .mount(&server)
        .await;
    let answer = provider(&server).complete(&request()).await.unwrap();
    assert_eq!(answer.content, "ab");
    assert_eq!(answer.usage.completion_tokens, 2, "counted from the chunks");
}

#[tokio::test]
async fn an_endpoint_refusing_stream_options_is_asked_without_them_from_then_on() {
    let server = MockServer::start().await;
    Mock::given(body_partial_json(serde_json::json!({"stream_options": {}})))
        .respond_with(ResponseTemplate::new(400).set_body_string(
            r#"{"object":"error","message":"[{'type': 'extra_forbidden', 'loc': ('body', 'stream_options'), 'msg': 'Extra inputs are not permitted'}]","code":400}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(body_partial_json(serde_json::json!({"stream": true})))
        .respond_with(streamed(events(&["ok"], Some("stop"), false, true)))
        .expect(3)
        .mount(&server)
        .await;
    let provider = provider(&server);
    for _ in 0..3 {
        assert_eq!(provider.complete(&request()).await.unwrap().content, "ok");
    }
    assert_eq!(provider.streaming(), Streaming::Plain);
    assert_eq!(provider.stats.snapshot().requests_sent, 4);
    let last = server.received_requests().await.unwrap().pop().unwrap();
    assert!(body_of(&last).get("stream_options").is_none());
}

#[tokio::test]
async fn an_endpoint_refusing_to_stream_gets_whole_answers_from_then_on() {
    let server = MockServer::start().await;
    Mock::given(body_partial_json(serde_json::json!({"stream": true})))
        .respond_with(ResponseTemplate::new(400).set_body_string(
            r#"{"error":{"message":"Your organization must be verified to stream this model.","param":"stream","code":"unsupported_value"}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion("ok", "stop")))
        .expect(2)
        .mount(&server)
        .await;
    let provider = provider(&server);
    for _ in 0..2 {
        assert_eq!(provider.complete(&request()).await.unwrap().content, "ok");
    }
    assert_eq!(provider.streaming(), Streaming::Off);
}

#[tokio::test]
async fn stream_false_sends_no_stream_field() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion("ok", "stop")))
        .mount(&server)
        .await;
    let config = LlmConfig {
        stream: false,
        ..LlmConfig::default()
    };
    provider_for(format!("{}/v1", server.uri()), config, None)
        .complete(&request())
        .await
        .unwrap();
    let sent = body_of(&server.received_requests().await.unwrap()[0]);
    assert!(sent.get("stream").is_none() && sent.get("stream_options").is_none());
}

#[tokio::test]
async fn an_answer_that_repeats_itself_is_cut_and_counts_as_truncated() {
    let server = MockServer::start().await;
    let mut pieces = vec!["func TestAdd(t *testing.T) {\n"];
    pieces.extend(std::iter::repeat_n("\tx := 1\n", 2000));
    Mock::given(method("POST"))
        .respond_with(streamed(events(&pieces, Some("length"), true, true)))
        .mount(&server)
        .await;
    let answer = provider(&server).complete(&request()).await.unwrap();
    assert!(answer.repeating && answer.is_truncated());
    // Stopped once 512 bytes repeated: about 64 lines, not the 2000 sent.
    let lines = answer.content.lines().count();
    assert!((64..=80).contains(&lines), "{lines} lines read");
    assert_eq!(
        answer.finish_reason, None,
        "the server's own end was never read"
    );
}

#[tokio::test]
async fn a_server_ignoring_the_cap_is_cut_at_it() {
    let server = MockServer::start().await;
    let words: Vec<String> = (0..900).map(|i| format!("w{i} ")).collect();
    let pieces: Vec<&str> = words.iter().map(String::as_str).collect();
    Mock::given(method("POST"))
        .respond_with(streamed(events(&pieces, Some("stop"), false, true)))
        .mount(&server)
        .await;
    let answer = provider(&server).complete(&request()).await.unwrap();
    assert_eq!(answer.finish_reason.as_deref(), Some("length"));
    assert!(answer.is_truncated() && !answer.repeating);
    assert_eq!(answer.usage.completion_tokens, 701);
}

#[tokio::test]
async fn a_stream_without_done_is_whole_if_it_said_why_it_stopped_and_broken_if_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(streamed(events(&["fn t() {}"], Some("stop"), false, false)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(streamed(events(&["fn t() {"], None, false, false)))
        .mount(&server)
        .await;
    let provider = provider(&server);
    assert_eq!(
        provider.complete(&request()).await.unwrap().content,
        "fn t() {}"
    );
    let failure = provider.complete(&request()).await.unwrap_err();
    assert!(
        matches!(
            failure,
            Failure::Transport {
                kind: TransportKind::Interrupted,
                ..
            }
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn an_error_inside_the_stream_is_a_broken_answer_without_the_key() {
    let server = MockServer::start().await;
    let body = format!(
        "{}data: {{\"error\":{{\"message\":\"upstream refused key sk-live-SECRET42\"}}}}\n\n",
        events(&["partial"], None, false, false)
    );
    Mock::given(method("POST"))
        .respond_with(streamed(body))
        .mount(&server)
        .await;
    let failure = provider(&server).complete(&request()).await.unwrap_err();
    let shown = format!("{failure} {failure:?}");
    assert!(shown.contains("upstream refused key [redacted]"), "{shown}");
    assert!(!shown.contains("SECRET42"));
}

/// A server on a raw socket that answers with an event stream written piece by piece,
/// each after its delay; the body ends when the connection closes.
fn trickling(pieces: Vec<(Duration, Vec<u8>)>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0; 65536];
        let _ = socket.read(&mut request);
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
            )
            .unwrap();
        for (delay, piece) in pieces {
            std::thread::sleep(delay);
            if socket
                .write_all(&piece)
                .and_then(|()| socket.flush())
                .is_err()
            {
                return;
            }
        }
    });
    base_url
}

fn quick_read_timeout() -> LlmConfig {
    LlmConfig {
        read_timeout: Some(Duration::from_secs(1)),
        ..LlmConfig::default()
    }
}

#[tokio::test]
async fn the_read_timeout_counts_from_the_last_token_not_from_the_request() {
    // Ten tokens 300 ms apart: 3 s in all, never more than 300 ms without a byte.
    let words: Vec<String> = (0..10).map(|i| format!("t{i} ")).collect();
    let pieces: Vec<&str> = words.iter().map(String::as_str).collect();
    let body = events(&pieces, Some("stop"), false, true);
    let slow = body
        .split_inclusive("\n\n")
        .map(|event| (Duration::from_millis(300), event.as_bytes().to_vec()))
        .collect();
    let answer = provider_for(trickling(slow), quick_read_timeout(), None)
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(answer.content, "t0 t1 t2 t3 t4 t5 t6 t7 t8 t9 ");

    // A first token, then silence past the read timeout: it fires mid-answer.
    let first = events(&["t0"], None, false, false).into_bytes();
    let stalled = vec![
        (Duration::ZERO, first),
        (Duration::from_millis(2500), b"data: [DONE]\n\n".to_vec()),
    ];
    let failure = provider_for(trickling(stalled), quick_read_timeout(), None)
        .complete(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(
            failure,
            Failure::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ) && failure.to_string().contains("read timeout"),
        "{failure}"
    );
}

#[tokio::test]
async fn a_stream_written_in_pieces_that_split_lines_and_characters_reads_whole() {
    let body = events(&["héllo ", "wörld ✓"], Some("stop"), true, true);
    // Seven-byte pieces: they cut `data:`, the JSON, `é` and `✓` in the middle.
    let pieces = body
        .as_bytes()
        .chunks(7)
        .map(|piece| (Duration::from_millis(2), piece.to_vec()))
        .collect();
    let answer = provider_for(trickling(pieces), LlmConfig::default(), None)
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(answer.content, "héllo wörld ✓");
    assert_eq!(answer.usage.prompt_tokens, 80);
}
