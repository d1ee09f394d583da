//! The composed stack against a real HTTP server (wiremock on 127.0.0.1, counts asserted on
//! the server side), and against an in-process fake on tokio's paused clock where timing
//! matters.

use super::*;
use crate::llm::classify::Failure;
use crate::llm::provider::Usage;
use crate::llm::provider::tests::completion;
use crate::store::{StateStore, Store};
use std::sync::Mutex;
use std::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "sk-test-SECRET-4242";

pub(crate) fn file() -> FileRequest {
    FileRequest {
        language: "go".to_owned(),
        instructions: "Use the standard testing package.".to_owned(),
        conventions: "Name tests TestXxx.".to_owned(),
        path: "calc/calc.go".to_owned(),
        module: Some("package calc".to_owned()),
        dependencies: vec![],
        style_example: None,
        test_head: String::new(),
    }
}

pub(crate) fn members(count: usize) -> Vec<MemberRequest> {
    (0..count)
        .map(|i| MemberRequest {
            skeleton: None,
            id: format!("F{i}"),
            test_name: format!("TestF{i}"),
            source: format!("func F{i}() int {{ return {i} }}"),
        })
        .collect()
}

pub(crate) fn accept_all(_: &MemberRequest, code: &str) -> Result<String, String> {
    Ok(code.to_owned())
}

fn reject_bad(_: &MemberRequest, code: &str) -> Result<String, String> {
    if code.contains("BAD") {
        Err("it does not compile".to_owned())
    } else {
        Ok(code.to_owned())
    }
}

pub(crate) fn options(mode: LlmMode, concurrency: usize) -> ClientOptions {
    ClientOptions {
        mode,
        model: "test-model".to_owned(),
        temperature: 0.0,
        concurrency,
        retry: RetryPolicy {
            base_delay: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        breaker: BreakerConfig {
            failure_threshold: 100,
            ..BreakerConfig::default()
        },
        prompt_budget: DEFAULT_PROMPT_BUDGET,
        max_tokens_per_member: 1024,
    }
}

pub(crate) fn http_client(
    server: &MockServer,
    options: ClientOptions,
    store: Option<Arc<dyn StateStore>>,
    cancel: CancellationToken,
) -> LlmClient {
    let config = LlmConfig {
        base_url: format!("{}/v1", server.uri()),
        ..LlmConfig::default()
    };
    let stats = Arc::new(LlmStats::default());
    let provider = HttpProvider::new(
        &config,
        &options.model,
        Some(ApiKey::new(KEY)),
        stats.clone(),
    )
    .unwrap();
    LlmClient::with_backend(provider, options, store, stats, cancel)
}

pub(crate) fn store_in(dir: &tempfile::TempDir) -> Arc<Store> {
    Arc::new(Store::open(dir.path()).unwrap())
}

/// The test names a request asks for, read from its prompt.
fn asked(request: &Request) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    let user = body["messages"][1]["content"].as_str().unwrap();
    user.split("test name `")
        .skip(1)
        .map(|rest| rest.split('`').next().unwrap().to_owned())
        .collect()
}

fn test_code(name: &str) -> String {
    format!("func {name}(t *testing.T) {{ if F() != 0 {{ t.Fatal() }} }}")
}

/// A 200 answering every name in `names` inside the envelope.
fn envelope_reply(names: &[String]) -> ResponseTemplate {
    let tests: Vec<_> = names
        .iter()
        .map(|name| serde_json::json!({"name": name, "code": test_code(name)}))
        .collect();
    let content = serde_json::json!({ "tests": tests }).to_string();
    ResponseTemplate::new(200).set_body_json(completion(&content, "stop"))
}

pub(crate) async fn answering_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(|request: &Request| envelope_reply(&asked(request)))
        .mount(&server)
        .await;
    server
}

pub(crate) async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn generated(results: &[MemberResult]) -> Vec<(String, bool)> {
    results
        .iter()
        .map(|result| match &result.outcome {
            MemberOutcome::Generated { cached, .. } => (result.id.clone(), *cached),
            other => panic!("{}: {other:?}", result.id),
        })
        .collect()
}

/// Answers from a script, one per request, the last one repeating.
fn scripted(responses: Vec<ResponseTemplate>) -> impl Fn(&Request) -> ResponseTemplate {
    let script = Mutex::new(std::collections::VecDeque::from(responses));
    move |_: &Request| {
        let mut script = script.lock().unwrap();
        if script.len() > 1 {
            script.pop_front().unwrap()
        } else {
            script.front().unwrap().clone()
        }
    }
}

#[tokio::test]
async fn batch_sends_one_request_per_file_and_a_warm_rerun_in_a_new_process_sends_none() {
    let server = answering_server().await;
    let dir = tempfile::tempdir().unwrap();
    let members = members(3);

    let cold = http_client(
        &server,
        options(LlmMode::Batch, 4),
        Some(store_in(&dir)),
        CancellationToken::new(),
    );
    let results = cold.generate(&file(), &members, &accept_all).await;
    assert_eq!(
        generated(&results),
        [
            ("F0".to_owned(), false),
            ("F1".to_owned(), false),
            ("F2".to_owned(), false)
        ]
    );
    let MemberOutcome::Generated { code, .. } = &results[1].outcome else {
        unreachable!()
    };
    assert_eq!(code, &test_code("TestF1"));
    assert_eq!(requests(&server).await.len(), 1);
    let stats = cold.stats();
    assert_eq!(
        (stats.requests_sent, stats.tokens_in, stats.tokens_out),
        (1, 120, 45)
    );
    assert_eq!(
        (stats.cache_hits, stats.cache_misses, stats.cache_entries),
        (0, 3, 3)
    );
    drop(cold);

    // A new Store opening, as a second process would make.
    let warm = http_client(
        &server,
        options(LlmMode::Batch, 4),
        Some(store_in(&dir)),
        CancellationToken::new(),
    );
    let results = warm.generate(&file(), &members, &accept_all).await;
    assert!(generated(&results).iter().all(|(_, cached)| *cached));
    assert_eq!(requests(&server).await.len(), 1, "a warm run sends nothing");
    let stats = warm.stats();
    assert_eq!(
        (stats.requests_sent, stats.cache_hits, stats.cache_misses),
        (0, 3, 0)
    );
}

#[tokio::test]
async fn fan_out_sends_one_request_per_member() {
    let server = answering_server().await;
    let client = http_client(
        &server,
        options(LlmMode::FanOut, 4),
        None,
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(3), &accept_all).await;
    assert_eq!(generated(&results).len(), 3);
    let mut asked_per_request: Vec<Vec<String>> =
        requests(&server).await.iter().map(asked).collect();
    asked_per_request.sort();
    assert_eq!(asked_per_request, [["TestF0"], ["TestF1"], ["TestF2"]]);
}

#[tokio::test]
async fn changing_one_member_re_asks_for_that_member_only() {
    let server = answering_server().await;
    let dir = tempfile::tempdir().unwrap();
    let client = http_client(
        &server,
        options(LlmMode::Batch, 4),
        Some(store_in(&dir)),
        CancellationToken::new(),
    );
    let mut members = members(3);
    client.generate(&file(), &members, &accept_all).await;
    members[1].source = "func F1() int { return 100 }".to_owned();
    let results = client.generate(&file(), &members, &accept_all).await;
    assert_eq!(
        generated(&results),
        [
            ("F0".to_owned(), true),
            ("F1".to_owned(), false),
            ("F2".to_owned(), true)
        ]
    );
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(asked(&sent[1]), ["TestF1"]);
}

#[tokio::test]
async fn two_server_errors_then_success_take_exactly_three_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(scripted(vec![
            ResponseTemplate::new(500),
            ResponseTemplate::new(500),
            envelope_reply(&["TestF0".to_owned()]),
        ]))
        .mount(&server)
        .await;
    let client = http_client(
        &server,
        options(LlmMode::FanOut, 1),
        None,
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(1), &accept_all).await;
    assert_eq!(generated(&results), [("F0".to_owned(), false)]);
    assert_eq!(requests(&server).await.len(), 3);
    assert_eq!(client.stats().retries, 2);
}

#[tokio::test]
async fn each_fatal_client_error_is_sent_exactly_once() {
    for status in [400, 403, 404, 422] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let client = http_client(
            &server,
            options(LlmMode::FanOut, 1),
            None,
            CancellationToken::new(),
        );
        let results = client.generate(&file(), &members(1), &accept_all).await;
        assert!(
            matches!(results[0].outcome, MemberOutcome::Failed(_)),
            "HTTP {status}: {:?}",
            results[0].outcome
        );
        assert_eq!(requests(&server).await.len(), 1, "HTTP {status}");
    }
}

#[tokio::test]
async fn a_401_stops_the_run_after_one_request_with_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        ))
        .mount(&server)
        .await;
    let client = http_client(
        &server,
        options(LlmMode::FanOut, 1),
        None,
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(3), &accept_all).await;
    for result in &results {
        assert!(
            matches!(
                &result.outcome,
                MemberOutcome::Failed(LlmError::Auth { .. })
            ),
            "{result:?}"
        );
    }
    let again = client.generate(&file(), &members(2), &accept_all).await;
    assert!(matches!(
        again[0].outcome,
        MemberOutcome::Failed(LlmError::Auth { .. })
    ));
    assert_eq!(requests(&server).await.len(), 1);
    let Some(Halt::BadCredentials(error)) = client.halt() else {
        panic!("the run should halt");
    };
    assert_eq!(
        error.to_string(),
        "the API refused the credentials (HTTP 401: Incorrect API key provided)"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_two_is_retried_no_sooner_than_two_seconds_later() {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let script = scripted(vec![
        ResponseTemplate::new(429).insert_header("retry-after", "2"),
        envelope_reply(&["TestF0".to_owned()]),
    ]);
    let seen = arrivals.clone();
    Mock::given(method("POST"))
        .respond_with(move |request: &Request| {
            seen.lock().unwrap().push(Instant::now());
            script(request)
        })
        .mount(&server)
        .await;
    let client = http_client(
        &server,
        options(LlmMode::FanOut, 1),
        None,
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(1), &accept_all).await;
    assert_eq!(generated(&results).len(), 1);
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 2);
    let gap = arrivals[1] - arrivals[0];
    assert!(gap >= Duration::from_secs(2), "retried after {gap:?}");
}

#[tokio::test]
async fn the_server_never_sees_more_requests_in_flight_than_the_limit_retries_included() {
    const LIMIT: usize = 2;
    const LATENCY: Duration = Duration::from_millis(150);
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    Mock::given(method("POST"))
        .respond_with(move |request: &Request| {
            let mut seen = seen.lock().unwrap();
            seen.push(Instant::now());
            // Every third request fails, so retries are part of the traffic.
            if seen.len() % 3 == 1 {
                ResponseTemplate::new(503).set_delay(LATENCY)
            } else {
                envelope_reply(&asked(request)).set_delay(LATENCY)
            }
        })
        .mount(&server)
        .await;
    let client = http_client(
        &server,
        options(LlmMode::FanOut, LIMIT),
        None,
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(6), &accept_all).await;
    assert_eq!(generated(&results).len(), 6);
    let arrivals = arrivals.lock().unwrap().clone();
    assert!(client.stats().retries >= 2);
    // The server holds each request for LATENCY: the requests in flight when one arrives are
    // those that arrived less than LATENCY before it.
    let peak = arrivals
        .iter()
        .map(|&at| {
            arrivals
                .iter()
                .filter(|&&other| other <= at && at - other < LATENCY)
                .count()
        })
        .max()
        .unwrap();
    assert_eq!(peak, LIMIT, "arrivals: {arrivals:?}");
}

/// An in-process backend for the paused clock: answers after a fixed latency, failing the
/// first request for `TestF0` with a 503 asking to wait ten seconds.
#[derive(Debug, Default)]
struct SlowFake {
    log: Mutex<Vec<(tokio::time::Instant, Vec<String>)>>,
}

impl ChatBackend for SlowFake {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, Failure> {
        let names: Vec<String> = request
            .user
            .split("test name `")
            .skip(1)
            .map(|rest| rest.split('`').next().unwrap().to_owned())
            .collect();
        let first_for_f0 = {
            let mut log = self.log.lock().unwrap();
            let first = names == ["TestF0"] && !log.iter().any(|(_, asked)| asked == &names);
            log.push((tokio::time::Instant::now(), names.clone()));
            first
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        if first_for_f0 {
            return Err(Failure::Status {
                status: 503,
                retry_after_ms: None,
                retry_after: Some("10".to_owned()),
                body: String::new(),
            });
        }
        let tests: Vec<_> = names
            .iter()
            .map(|name| serde_json::json!({"name": name, "code": test_code(name)}))
            .collect();
        Ok(ChatResponse {
            content: serde_json::json!({ "tests": tests }).to_string(),
            finish_reason: Some("stop".to_owned()),
            usage: Usage::default(),
            repeating: false,
        })
    }
}

fn fake_client(options: ClientOptions, cancel: CancellationToken) -> LlmClient<SlowFake> {
    LlmClient::with_backend(
        SlowFake::default(),
        options,
        None,
        Arc::new(LlmStats::default()),
        cancel,
    )
}

#[tokio::test(start_paused = true)]
async fn a_request_sleeping_in_backoff_holds_no_permit() {
    let client = fake_client(options(LlmMode::FanOut, 1), CancellationToken::new());
    let start = tokio::time::Instant::now();
    let results = client.generate(&file(), &members(3), &accept_all).await;
    assert_eq!(generated(&results).len(), 3);
    let log = client.backend.log.lock().unwrap();
    let times: Vec<(Duration, &[String])> = log
        .iter()
        .map(|(at, names)| (*at - start, names.as_slice()))
        .collect();
    // F0 fails at 1 s and sleeps 10 s; with the only permit free, F1 and F2 go meanwhile.
    assert_eq!(times.len(), 4, "{times:?}");
    assert_eq!(times[0].0, Duration::ZERO);
    assert_eq!(times[0].1, ["TestF0"]);
    assert_eq!(times[1].0, Duration::from_secs(1));
    assert_eq!(times[2].0, Duration::from_secs(2));
    assert_eq!(
        times[3],
        (Duration::from_secs(11), &["TestF0".to_owned()][..])
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_during_a_backoff_returns_at_once_and_sends_nothing_more() {
    let cancel = CancellationToken::new();
    let client = fake_client(options(LlmMode::FanOut, 1), cancel.clone());
    let canceller = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        cancel.cancel();
    };
    let start = tokio::time::Instant::now();
    let (file, members) = (file(), members(1));
    let (results, ()) = tokio::join!(client.generate(&file, &members, &accept_all), canceller);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(results[0].outcome, MemberOutcome::Cancelled);
    assert_eq!(client.backend.log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn cancelling_during_a_real_backoff_sleep_returns_within_100_ms() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "30"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let client = http_client(
        &server,
        options(LlmMode::FanOut, 1),
        Some(store_in(&dir)),
        cancel.clone(),
    );
    let canceller = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
        Instant::now()
    };
    let (file, members) = (file(), members(1));
    let (results, cancelled_at) =
        tokio::join!(client.generate(&file, &members, &accept_all), canceller);
    let returned_after = cancelled_at.elapsed();
    assert!(
        returned_after < Duration::from_millis(100),
        "{returned_after:?}"
    );
    assert_eq!(results[0].outcome, MemberOutcome::Cancelled);
    assert_eq!(requests(&server).await.len(), 1);
    assert_eq!(client.stats().cache_entries, 0);
}

#[tokio::test]
async fn a_batch_reply_missing_one_item_re_asks_for_that_item_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(|request: &Request| {
            let names: Vec<String> = asked(request)
                .into_iter()
                .filter(|name| name != "TestF1" || asked(request).len() == 1)
                .collect();
            envelope_reply(&names)
        })
        .mount(&server)
        .await;
    let client = http_client(
        &server,
        options(LlmMode::Batch, 2),
        None,
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(3), &accept_all).await;
    assert_eq!(generated(&results).len(), 3);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(asked(&sent[0]), ["TestF0", "TestF1", "TestF2"]);
    assert_eq!(asked(&sent[1]), ["TestF1"]);
}

#[tokio::test]
async fn a_batch_cut_off_at_the_token_limit_is_split_in_halves() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(|request: &Request| {
            let names = asked(request);
            if names.len() > 2 {
                ResponseTemplate::new(200)
                    .set_body_json(completion(r#"{"tests":[{"name":"TestF0","co"#, "length"))
            } else {
                envelope_reply(&names)
            }
        })
        .mount(&server)
        .await;
    let client = http_client(
        &server,
        options(LlmMode::Batch, 2),
        None,
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(4), &accept_all).await;
    assert_eq!(generated(&results).len(), 4);
    let asked: Vec<Vec<String>> = requests(&server).await.iter().map(asked).collect();
    assert_eq!(
        asked,
        [
            vec!["TestF0", "TestF1", "TestF2", "TestF3"],
            vec!["TestF0", "TestF1"],
            vec!["TestF2", "TestF3"],
        ]
    );
}

#[tokio::test]
async fn a_batch_too_big_for_the_context_is_split() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(|request: &Request| {
            let names = asked(request);
            if names.len() > 1 {
                ResponseTemplate::new(400).set_body_string(
                    r#"{"error":{"message":"maximum context length exceeded","code":"context_length_exceeded"}}"#,
                )
            } else {
                envelope_reply(&names)
            }
        })
        .mount(&server)
        .await;
    let client = http_client(
        &server,
        options(LlmMode::Batch, 2),
        None,
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(2), &accept_all).await;
    assert_eq!(generated(&results).len(), 2);
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_rejected_answer_is_re_asked_once_then_reported_and_never_cached() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(|request: &Request| {
            let tests: Vec<_> = asked(request)
                .iter()
                .map(|name| {
                    let code = if name == "TestF1" {
                        "BAD".to_owned()
                    } else {
                        test_code(name)
                    };
                    serde_json::json!({"name": name, "code": code})
                })
                .collect();
            let content = serde_json::json!({ "tests": tests }).to_string();
            ResponseTemplate::new(200).set_body_json(completion(&content, "stop"))
        })
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let client = http_client(
        &server,
        options(LlmMode::Batch, 2),
        Some(store_in(&dir)),
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(3), &reject_bad).await;
    assert_eq!(
        results[1].outcome,
        MemberOutcome::Rejected {
            reason: "it does not compile".to_owned()
        }
    );
    assert!(matches!(
        results[0].outcome,
        MemberOutcome::Generated { .. }
    ));
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(asked(&sent[1]), ["TestF1"]);
    let prompt = String::from_utf8_lossy(&sent[1].body).into_owned();
    assert!(prompt.contains("rejected: it does not compile"), "{prompt}");
    assert_eq!(
        client.stats().cache_entries,
        2,
        "the rejected answer must not be cached"
    );
}

#[tokio::test]
async fn a_garbage_batch_reply_re_asks_every_member_alone_and_writes_nothing_invalid() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(|request: &Request| {
            let names = asked(request);
            if names.len() > 1 {
                ResponseTemplate::new(200)
                    .set_body_json(completion("I'm sorry, I can't help with that.", "stop"))
            } else {
                envelope_reply(&names)
            }
        })
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let client = http_client(
        &server,
        options(LlmMode::Batch, 2),
        Some(store_in(&dir)),
        CancellationToken::new(),
    );
    // The refusal text is no test: a validator that wants a test function says so.
    let wants_a_test = |_: &MemberRequest, code: &str| {
        if code.contains("func Test") {
            Ok(code.to_owned())
        } else {
            Err("no test function".to_owned())
        }
    };
    let results = client.generate(&file(), &members(3), &wants_a_test).await;
    assert_eq!(generated(&results).len(), 3);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 4);
    let mut singles: Vec<Vec<String>> = sent[1..].iter().map(asked).collect();
    singles.sort();
    assert_eq!(singles, [["TestF0"], ["TestF1"], ["TestF2"]]);
}

#[tokio::test]
async fn a_corrupted_cache_entry_is_detected_and_fetched_again() {
    let server = answering_server().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let client = http_client(
        &server,
        options(LlmMode::Batch, 2),
        Some(store.clone()),
        CancellationToken::new(),
    );
    let members = members(2);
    client.generate(&file(), &members, &accept_all).await;
    let key = client.cache_key(&file(), &members[0]);
    let raw = rusqlite::Connection::open(store.path()).unwrap();
    raw.execute(
        "UPDATE cache_entries SET value = 'func TestF0(t *testing.T) { evil() }' WHERE key = ?1",
        [key.as_str()],
    )
    .unwrap();
    let results = client.generate(&file(), &members, &accept_all).await;
    assert_eq!(
        generated(&results),
        [("F0".to_owned(), false), ("F1".to_owned(), true)]
    );
    let MemberOutcome::Generated { code, .. } = &results[0].outcome else {
        unreachable!()
    };
    assert_eq!(code, &test_code("TestF0"));
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(asked(&sent[1]), ["TestF0"]);
}

#[tokio::test]
async fn the_breaker_stops_all_sending_once_open() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let mut options = options(LlmMode::FanOut, 1);
    options.retry.max_retries = 1;
    options.breaker.failure_threshold = 2;
    let client = http_client(&server, options, None, CancellationToken::new());
    let results = client.generate(&file(), &members(5), &accept_all).await;
    assert_eq!(
        requests(&server).await.len(),
        2,
        "nothing is sent once the breaker is open"
    );
    // Two members failed once each, which opened it; their retries and everyone else
    // were deferred without a request.
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, MemberOutcome::Deferred { wait: Some(_), .. })),
        "{results:?}"
    );
}

#[tokio::test]
async fn an_exhausted_quota_sends_one_request_and_defers_everything_else() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_string(
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        ))
        .mount(&server)
        .await;
    let client = http_client(
        &server,
        options(LlmMode::FanOut, 1),
        None,
        CancellationToken::new(),
    );
    let results = client.generate(&file(), &members(3), &accept_all).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, MemberOutcome::Deferred { wait: None, .. })),
        "{results:?}"
    );
    let more = client.generate(&file(), &members(2), &accept_all).await;
    assert!(matches!(more[0].outcome, MemberOutcome::Deferred { .. }));
    assert_eq!(requests(&server).await.len(), 1);
    assert_eq!(client.halt(), Some(Halt::QuotaExhausted));
}

/// A `tracing` writer into a shared buffer, to read what the stack logged.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_api_key_appears_in_no_error_log_debug_output_or_cache_row() {
    let server = MockServer::start().await;
    let echo_key = format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}"}}}}"#);
    Mock::given(method("POST"))
        .respond_with(scripted(vec![
            ResponseTemplate::new(503).set_body_string(format!("upstream rejected key {KEY}")),
            envelope_reply(&["TestF0".to_owned(), "TestF1".to_owned()]),
            ResponseTemplate::new(401).set_body_string(echo_key),
        ]))
        .mount(&server)
        .await;
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let _guard = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(_guard);
    let dir = tempfile::tempdir().unwrap();
    let client = http_client(
        &server,
        options(LlmMode::Batch, 2),
        Some(store_in(&dir)),
        CancellationToken::new(),
    );
    let first = client.generate(&file(), &members(2), &accept_all).await;
    assert_eq!(generated(&first).len(), 2);
    let mut other = file();
    other.path = "calc/other.go".to_owned();
    let second = client.generate(&other, &members(2), &accept_all).await;
    assert!(matches!(
        second[0].outcome,
        MemberOutcome::Failed(LlmError::Auth { .. })
    ));
    assert_eq!(requests(&server).await.len(), 3);
    assert!(
        requests(&server).await[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap()
            .contains(KEY)
    );

    let mut seen = format!("{first:?}\n{second:?}\n{client:?}\n{:?}", client.halt());
    if let MemberOutcome::Failed(error) = &second[0].outcome {
        seen.push_str(&error.to_string());
    }
    seen.push_str(&String::from_utf8_lossy(&logs.0.lock().unwrap()));
    assert!(
        seen.contains("retry 1 of 3"),
        "the retry was not logged: {seen}"
    );
    for entry in std::fs::read_dir(dir.path().join(".testsmith")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(seen.contains("TestF0"), "the cache rows were not read");
    assert!(!seen.contains(KEY), "the API key leaked");
    assert!(!seen.contains("SECRET"), "part of the API key leaked");
}

#[tokio::test]
async fn members_too_big_for_one_prompt_are_batched_to_fit_from_the_start() {
    let server = answering_server().await;
    let mut options = options(LlmMode::Batch, 2);
    options.prompt_budget = 600;
    let client = http_client(&server, options, None, CancellationToken::new());
    let mut members = members(4);
    for member in &mut members {
        member.source = format!("{}\n{}", member.source, "// padding\n".repeat(8));
    }
    let results = client.generate(&file(), &members, &accept_all).await;
    assert_eq!(generated(&results).len(), 4);
    let asked: Vec<Vec<String>> = requests(&server).await.iter().map(asked).collect();
    assert_eq!(
        asked,
        [vec!["TestF0", "TestF1"], vec!["TestF2", "TestF3"]],
        "two members' sources fit in half the budget, three do not"
    );
}

/// Fails every member's first request with a bare 503, then answers.
#[derive(Debug, Default)]
struct StormFake {
    log: Mutex<Vec<(tokio::time::Instant, String)>>,
}

impl ChatBackend for StormFake {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, Failure> {
        let name = request
            .user
            .split("test name `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .unwrap()
            .to_owned();
        let is_first = {
            let mut log = self.log.lock().unwrap();
            let first = !log.iter().any(|(_, asked)| asked == &name);
            log.push((tokio::time::Instant::now(), name.clone()));
            first
        };
        if is_first {
            return Err(Failure::Status {
                status: 503,
                retry_after_ms: None,
                retry_after: None,
                body: String::new(),
            });
        }
        let content = serde_json::json!({"tests": [{"name": name, "code": test_code(&name)}]});
        Ok(ChatResponse {
            content: content.to_string(),
            finish_reason: Some("stop".to_owned()),
            usage: Usage::default(),
            repeating: false,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_503_storm_from_many_callers_spreads_their_retries_out() {
    let mut options = options(LlmMode::FanOut, 16);
    options.retry.base_delay = Duration::from_millis(500);
    let client = LlmClient::with_backend(
        StormFake::default(),
        options,
        None,
        Arc::new(LlmStats::default()),
        CancellationToken::new(),
    );
    let start = tokio::time::Instant::now();
    let results = client.generate(&file(), &members(12), &accept_all).await;
    assert_eq!(generated(&results).len(), 12);
    let log = client.backend.log.lock().unwrap();
    let mut retry_times: Vec<Duration> = log[12..].iter().map(|(at, _)| *at - start).collect();
    assert_eq!(retry_times.len(), 12);
    assert!(
        retry_times
            .iter()
            .all(|t| (Duration::from_millis(250)..=Duration::from_millis(500)).contains(t)),
        "{retry_times:?}"
    );
    retry_times.sort();
    retry_times.dedup();
    assert!(
        retry_times.len() >= 10,
        "retries bunched together: {retry_times:?}"
    );
}
