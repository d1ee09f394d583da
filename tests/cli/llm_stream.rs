//! `generate --llm` against servers that stream their answers (server-sent events), as
//! OpenAI and llama.cpp do when asked: answers put together from their chunks, a runaway
//! cut at the repetition stop, servers that ignore or refuse streaming. Counts are taken on
//! the server side.

use crate::fake_llm::{
    StreamEnd, answer_well, asked_names, envelope, example, generate_llm, generate_llm_at,
    known_answers, one_go_function, scripted, stream_events, streamed, two_go_functions,
};
use crate::util::run_async as run;
use serde_json::json;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::time::Duration;
use wiremock::{Request, ResponseTemplate};

/// The known good tests for what `request` asks, streamed and wrapped in prose.
fn stream_well(request: &Request) -> ResponseTemplate {
    let envelope = envelope(&asked_names(request), &known_answers());
    streamed(
        &format!("Sure! Here are the tests:\n\n{envelope}\n\nLet me know if you need more."),
        StreamEnd::WHOLE,
    )
}

/// What a small model running on writes: a test head, then one line forever.
fn runaway() -> String {
    "func TestAdd(t *testing.T) {\n".to_owned() + &"\tx := Add(1, 2)\n".repeat(1500)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_answer_with_prose_around_the_code_is_kept() {
    let (server, bodies) = scripted(|_, _, request| stream_well(request)).await;
    let project = example();
    let doc = run(generate_llm(&project, &server, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(doc["summary"]["written"], 16);
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 4, "one request per file");
    for body in bodies.iter() {
        assert_eq!(body["stream"], true, "{body}");
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
    }
    // The tokens are the usage chunks' (100 in per request), not guessed.
    assert_eq!(doc["summary"]["llm"]["tokens_in"], 400);
    assert_eq!(doc["summary"]["llm"]["answers_cut"], 0);
    assert!(
        project
            .read("go/shapes/shapes_test.go")
            .contains("errors.Is(err, ErrNegative)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_runaway_in_a_batch_is_cut_never_cached_and_asked_again_smaller() {
    let (server, bodies) = scripted(|n, _, request| {
        if n == 1 {
            streamed(
                &runaway(),
                StreamEnd {
                    finish_reason: Some("length"),
                    ..StreamEnd::WHOLE
                },
            )
        } else {
            stream_well(request)
        }
    })
    .await;
    let project = two_go_functions();
    let doc = run(generate_llm(
        &project,
        &server,
        &["--max-tokens", "300", "--format", "json"],
    ))
    .await
    .success()
    .json();
    let llm = &doc["summary"]["llm"];
    assert_eq!(llm["answers_cut"], 1, "{llm}");
    assert_eq!(llm["answers_repeating"], 1, "{llm}");
    // Only the two good answers were cached.
    assert_eq!(llm["cache_entries"], 2, "{llm}");
    // Cut after about 512 repeated bytes (~130 chunks), not the 6,000 tokens sent.
    assert!(llm["completion_max"].as_u64().unwrap() < 200, "{llm}");
    let bodies = bodies.lock().unwrap();
    // The batch of two, cut; then each half alone, with half the cap.
    assert_eq!(bodies.len(), 3, "{bodies:#?}");
    assert_eq!(bodies[0]["max_tokens"], 600);
    assert_eq!(bodies[1]["max_tokens"], 300);
    assert_eq!(bodies[2]["max_tokens"], 300);
    let test = project.read("calc/calc_test.go");
    assert!(
        test.contains("func TestAdd(") && test.contains("func TestSub("),
        "{test}"
    );
    assert!(!test.contains("x := Add(1, 2)"), "{test}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_answer_repeats_is_asked_again_with_the_reason() {
    let (server, bodies) = scripted(|n, _, request| {
        if n == 1 {
            streamed(&runaway(), StreamEnd::WHOLE)
        } else {
            stream_well(request)
        }
    })
    .await;
    let project = one_go_function();
    let finished = run(generate_llm(&project, &server, &[])).await.success();
    assert!(
        finished.stdout.contains("1 cut short repeating itself"),
        "{}",
        finished.stdout
    );
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies[1].to_string().contains("repeating itself"),
        "the re-ask says why: {}",
        bodies[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_stream_and_answers_whole_still_works() {
    let (server, bodies) = scripted(|_, _, request| answer_well(request)).await;
    let project = two_go_functions();
    run(generate_llm(&project, &server, &[])).await.success();
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["stream"], true);
    assert!(project.read("calc/calc_test.go").contains("func TestSub("));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refusing_stream_options_is_learnt_once() {
    // vLLM before 0.5 and some proxies: a 400 naming the field.
    let refused = json!({"object": "error", "message": "stream_options: Extra inputs are not permitted", "type": "BadRequestError", "code": 400});
    let (server, bodies) = scripted(move |_, body, request| {
        if body.get("stream_options").is_some() {
            ResponseTemplate::new(400).set_body_json(refused.clone())
        } else {
            stream_well(request)
        }
    })
    .await;
    let project = example();
    let doc = run(generate_llm(
        &project,
        &server,
        &["--concurrency", "1", "--format", "json"],
    ))
    .await
    .success()
    .json();
    assert_eq!(doc["summary"]["written"], 16);
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 4 + 1, "one refusal, then remembered");
    assert!(
        bodies[1..]
            .iter()
            .all(|body| body["stream"] == true && body.get("stream_options").is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_ends_without_done_is_whole_when_it_said_why_it_stopped() {
    let (server, bodies) = scripted(|_, _, request| {
        let envelope = envelope(&asked_names(request), &known_answers());
        streamed(
            &envelope,
            StreamEnd {
                finish_reason: Some("stop"),
                usage: false,
                done: false,
            },
        )
    })
    .await;
    let project = two_go_functions();
    run(generate_llm(&project, &server, &[])).await.success();
    assert_eq!(bodies.lock().unwrap().len(), 1);
    assert!(project.read("calc/calc_test.go").contains("func TestAdd("));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stream_asks_for_whole_answers() {
    let (server, bodies) = scripted(|_, _, request| answer_well(request)).await;
    let project = one_go_function();
    run(generate_llm(&project, &server, &["--no-stream"]))
        .await
        .success();
    let bodies = bodies.lock().unwrap();
    assert!(bodies[0].get("stream").is_none(), "{}", bodies[0]);
    assert!(bodies[0].get("stream_options").is_none());
}

/// A server on a raw socket that answers one request with `body` as an event stream,
/// written in pieces of `piece` bytes: lines, JSON and characters cut anywhere.
fn trickling(body: String, piece: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(socket);
        // Read the whole request first: closing on unread bytes would reset the connection.
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut request = vec![0; length];
        reader.read_exact(&mut request).unwrap();
        let mut socket = reader.into_inner();
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
            )
            .unwrap();
        for bytes in body.as_bytes().chunks(piece) {
            socket.write_all(bytes).unwrap();
            socket.flush().unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    base_url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_mid_line_and_mid_character_reads_whole() {
    let code = "func TestAdd(t *testing.T) {\n\t// héllo wörld ✓\n\tif got := Add(1, 2); got != 3 {\n\t\tt.Errorf(\"Add(1, 2) = %d\", got)\n\t}\n}";
    let envelope = json!({"tests": [{"name": "TestAdd", "code": code}]}).to_string();
    let base_url = trickling(stream_events(&envelope, StreamEnd::WHOLE), 5);
    let project = one_go_function();
    let doc = run(generate_llm_at(
        &project,
        &base_url,
        &["--retries", "0", "--format", "json"],
    ))
    .await
    .success()
    .json();
    assert_eq!(doc["summary"]["written"], 1);
    let test = project.read("calc/calc_test.go");
    assert!(test.contains("// héllo wörld ✓"), "{test}");
}
