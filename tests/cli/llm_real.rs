//! `generate --llm` against a fake that behaves like real providers and small models on an
//! ordinary day: throttling with every shape of retry hint, rate-limit headers, a wrong
//! model name, answers that stay unusable. Counts and waits are taken on the server side.

use crate::fake_llm::{
    FakeLlm, answer_well, completion, envelope, example, generate_llm, generate_llm_at,
    known_answers, llm, one_go_function, scripted, two_go_functions,
};
use crate::util::run_async as run;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn rate_limited() -> serde_json::Value {
    json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_with_an_affordable_retry_after_is_waited_out_and_never_opens_the_breaker() {
    let fake = FakeLlm::bare().await;
    // More 429s than the breaker's threshold (5) and than the retries allowed (3).
    fake.fail_next(
        8,
        429,
        rate_limited(),
        vec![("retry-after", "1".to_owned())],
    )
    .await;
    fake.answer_well(Duration::ZERO).await;
    let project = example();
    let doc = run(llm(&project, &fake, &["--fan-out", "--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(doc["summary"]["written"], 16);
    assert_eq!(doc["summary"]["deferred"], 0, "the breaker opened");
    assert_eq!(doc["summary"]["llm"]["jobs_waiting"], 0);
    assert_eq!(fake.log.count(), 16 + 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_holds_every_request_of_the_run_not_only_its_own() {
    let fake = FakeLlm::bare().await;
    fake.fail_next(
        1,
        429,
        rate_limited(),
        vec![("retry-after", "1.5".to_owned())],
    )
    .await;
    fake.answer_well(Duration::ZERO).await;
    let project = two_go_functions();
    run(llm(&project, &fake, &["--fan-out", "--concurrency", "1"]))
        .await
        .success();
    let arrivals = fake.log.arrivals();
    assert_eq!(arrivals.len(), 3, "{:?}", fake.log.asked());
    for later in &arrivals[1..] {
        let waited = *later - arrivals[0];
        assert!(
            waited >= Duration::from_millis(1500),
            "sent {waited:?} after a 429 asking for 1.5 s"
        );
    }
}

/// Answers well, with rate-limit headers saying the request budget is spent on the first
/// answer (resetting in 1 s) and healthy afterwards.
struct SpendsTheBudget {
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for SpendsTheBudget {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut arrivals = self.arrivals.lock().unwrap();
        arrivals.push(Instant::now());
        let names = crate::fake_llm::asked_names(request);
        let left = if arrivals.len() == 1 { "0" } else { "99" };
        completion(&envelope(&names, &known_answers()), "stop")
            .insert_header("x-ratelimit-limit-requests", "100")
            .insert_header("x-ratelimit-remaining-requests", left)
            .insert_header("x-ratelimit-reset-requests", "1s")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_rate_limit_budget_slows_the_run_before_any_429() {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .respond_with(SpendsTheBudget {
            arrivals: arrivals.clone(),
        })
        .mount(&server)
        .await;
    let project = two_go_functions();
    run(generate_llm(
        &project,
        &server,
        &["--fan-out", "--concurrency", "1"],
    ))
    .await
    .success();
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 2);
    let waited = arrivals[1] - arrivals[0];
    assert!(
        waited >= Duration::from_millis(900),
        "the second request came {waited:?} after the budget was spent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_and_past_retry_hints_neither_panic_nor_park_a_job_for_ages() {
    // retry-after-ms: 1e300 — clamped to a day, above what the run sleeps: deferred.
    let fake = FakeLlm::bare().await;
    fake.fail_next(
        100,
        429,
        rate_limited(),
        vec![("retry-after-ms", "1e300".to_owned())],
    )
    .await;
    let project = two_go_functions();
    let finished = run(llm(&project, &fake, &["--concurrency", "1"]))
        .await
        .code(75);
    assert!(!finished.stderr.contains("panicked"), "{}", finished.stderr);
    assert_eq!(fake.log.count(), 1);
    let queue = run(project.testsmith(&["queue", "--format", "json"]))
        .await
        .success()
        .json();
    let day_from_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 24 * 3600 * 1000
        + 60_000;
    for job in queue["jobs"].as_array().unwrap() {
        let not_before = job["not_before_ms"].as_i64().unwrap_or(0);
        assert!(
            not_before <= day_from_now,
            "parked until {not_before}: {job}"
        );
    }

    // A date in the past and a negative number: back off and try again.
    let fake = FakeLlm::bare().await;
    fake.fail_next(
        1,
        429,
        rate_limited(),
        vec![("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".to_owned())],
    )
    .await;
    fake.fail_next(1, 503, json!({}), vec![("retry-after", "-5".to_owned())])
        .await;
    fake.answer_well(Duration::ZERO).await;
    let project = two_go_functions();
    run(llm(&project, &fake, &[])).await.success();
    assert_eq!(fake.log.count(), 3);
    assert!(project.read("calc/calc_test.go").contains("func TestSub("));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_model_name_is_a_configuration_error_sent_once() {
    let fake = FakeLlm::bare().await;
    let not_found = json!({"error": {"message": "The model `fake-1` does not exist", "type": "invalid_request_error", "code": "model_not_found"}});
    fake.fail_next(1000, 404, not_found, vec![]).await;
    let project = example();
    let finished = run(llm(&project, &fake, &["--concurrency", "1"]))
        .await
        .code(2);
    assert_eq!(fake.log.count(), 1, "kept sending after a 404");
    assert!(
        finished.stderr.contains("does not exist"),
        "{}",
        finished.stderr
    );
    assert!(finished.stderr.contains("--model"), "{}", finished.stderr);
    // Not the jobs' fault: they wait for a run with a good configuration, not dead-lettered.
    let queue = run(project.testsmith(&["queue", "--format", "json"]))
        .await
        .success()
        .json();
    let jobs = queue["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 16);
    assert!(jobs.iter().all(|job| job["state"] != "dead"), "{jobs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_stay_invalid_exit_65_not_75() {
    let server = MockServer::start().await;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            counter.fetch_add(1, Ordering::SeqCst);
            completion("I cannot write tests for this code.", "stop")
        })
        .mount(&server)
        .await;
    let project = two_go_functions();
    let finished = run(generate_llm(&project, &server, &[])).await.code(65);
    assert!(
        finished.stderr.contains("no usable test"),
        "{}",
        finished.stderr
    );
    assert!(!finished.stderr.contains("outage"), "{}", finished.stderr);
    // One batch with nothing in it, then each member alone, and once more with the reason.
    assert_eq!(sent.load(Ordering::SeqCst), 5);
}

fn assert_no_identical_resend(bodies: &[serde_json::Value]) {
    for (i, a) in bodies.iter().enumerate() {
        for b in &bodies[i + 1..] {
            assert_ne!(a, b, "a body was sent twice");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_carries_a_completion_cap_scaled_to_its_members() {
    let (server, bodies) = scripted(|_, _, request| answer_well(request)).await;
    let project = example();
    run(generate_llm(&project, &server, &["--max-tokens", "300"]))
        .await
        .success();
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 4);
    for body in bodies.iter() {
        let asked = body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .matches("test name `")
            .count() as u64;
        assert_eq!(body["max_tokens"], 300 * asked, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_refusing_max_tokens_is_learnt_once_per_run() {
    let refused = json!({"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}});
    let (server, bodies) = scripted(move |_, body, request| {
        if body.get("max_tokens").is_some() {
            ResponseTemplate::new(400).set_body_json(refused.clone())
        } else {
            answer_well(request)
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
    assert_eq!(
        bodies.len(),
        4 + 1,
        "one refusal, then the field is remembered"
    );
    assert!(
        bodies[1..]
            .iter()
            .all(|b| b["max_completion_tokens"].as_u64() > Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_answer_cut_at_the_cap_is_never_cached_nor_asked_again_unchanged() {
    // A small model running on: every first answer is cut at the cap.
    let (server, bodies) = scripted(|n, _, request| {
        if n <= 2 {
            let runaway = "func TestAdd(t *testing.T) {\n".to_owned() + &"\tx := 1\n".repeat(500);
            completion(&runaway, "length")
        } else {
            answer_well(request)
        }
    })
    .await;
    let project = two_go_functions();
    let doc = run(generate_llm(&project, &server, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(doc["summary"]["written"], 2);
    assert_eq!(doc["summary"]["llm"]["answers_cut"], 2);
    assert_eq!(doc["summary"]["llm"]["cache_entries"], 2);
    let bodies = bodies.lock().unwrap();
    // The batch of two, cut: split in halves; the first half cut: asked again with why.
    assert_eq!(bodies.len(), 4, "{bodies:#?}");
    assert_no_identical_resend(&bodies);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_timed_out_is_resent_with_a_smaller_cap() {
    let (server, bodies) = scripted(|n, _, request| {
        let answer = answer_well(request);
        if n == 1 {
            answer.set_delay(Duration::from_secs(3))
        } else {
            answer
        }
    })
    .await;
    let project = two_go_functions();
    run(generate_llm(
        &project,
        &server,
        &["--timeout", "1", "--max-tokens", "400"],
    ))
    .await
    .success();
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["max_tokens"], 800);
    assert_eq!(bodies[1]["max_tokens"], 400);
    assert_no_identical_resend(&bodies);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_overflow_shrinks_the_prompt_and_never_resends_it_unchanged() {
    let overflow = json!({"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it", "type": "exceed_context_size_error"}});
    let (server, bodies) = scripted(move |n, _, request| {
        if n <= 3 {
            ResponseTemplate::new(400).set_body_json(overflow.clone())
        } else {
            answer_well(request)
        }
    })
    .await;
    let project = example();
    project.write(
        "go/shapes/shapes_more_test.go",
        "package shapes\n\nimport \"testing\"\n\nfunc TestSomething(t *testing.T) {\n\tif 1 != 1 {\n\t\tt.Fatal()\n\t}\n}\n",
    );
    run(generate_llm(
        &project,
        &server,
        &["--concurrency", "1", "--format", "json"],
    ))
    .await
    .success();
    assert_no_identical_resend(&bodies.lock().unwrap());
}

/// The members a prompt asks for, as `(id, test name)`, from its `### `id` — test name `x``
/// lines.
fn asked_members(request: &Request) -> Vec<(String, String)> {
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let text = body["messages"][1]["content"].as_str().unwrap_or("");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("### `")?;
            let (id, rest) = rest.split_once("` — test name `")?;
            Some((id.to_owned(), rest.trim_end_matches('`').to_owned()))
        })
        .collect()
}

/// Names every item by the member's bare name (`new`, `Area`) and its test after it
/// (`test_new`, `TestArea`), as small models do; the tests themselves are good.
fn bare_named_reply(request: &Request) -> ResponseTemplate {
    let answers = known_answers();
    let tests: Vec<serde_json::Value> = asked_members(request)
        .into_iter()
        .map(|(id, test_name)| {
            let bare = id.rsplit(['.', ':']).next().unwrap().to_owned();
            let own_name = if test_name.starts_with("Test") {
                format!("Test{bare}")
            } else {
                format!("test_{bare}")
            };
            let code = answers
                .get(&test_name)
                .cloned()
                .unwrap_or_default()
                .replace(&test_name, &own_name);
            json!({"name": bare, "code": code})
        })
        .collect();
    completion(&json!({ "tests": tests }).to_string(), "stop")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_named_by_the_bare_member_name_cost_no_extra_request() {
    let (server, bodies) = scripted(|_, _, request| bare_named_reply(request)).await;
    let project = example();
    let doc = run(generate_llm(&project, &server, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(bodies.lock().unwrap().len(), 4, "one request per file");
    assert_eq!(doc["summary"]["written"], 16);
    let go = project.read("go/shapes/shapes_test.go");
    assert!(go.contains("func TestRect_Area("), "{go}");
    assert!(go.contains("func TestCircle_Area("), "{go}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeclared_member_is_salvaged_without_asking_again_and_counted() {
    let answer = "Sure! Here is the test:\n```go\npackage calc\n\nimport \"testing\"\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n\nfunc TestAdd(t *testing.T) {\n\tif got := Add(2, 3); got != 5 {\n\t\tt.Errorf(\"Add(2, 3) = %d\", got)\n\t}\n}\n```\nThis test checks Add.";
    let (server, bodies) = scripted(move |_, _, _| completion(answer, "stop")).await;
    let project = one_go_function();
    let doc = run(generate_llm(&project, &server, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(bodies.lock().unwrap().len(), 1);
    assert_eq!(doc["summary"]["written"], 1);
    assert_eq!(doc["summary"]["llm"]["salvaged"], 1);
    let test = project.read("calc/calc_test.go");
    assert!(!test.contains("return a + b"), "{test}");
    assert!(test.contains("func TestAdd(t *testing.T)"), "{test}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_that_asserts_nothing_is_not_kept() {
    let answer = "func TestAdd(t *testing.T) {\n\tt.Log(Add(2, 3))\n}";
    let (server, bodies) = scripted(move |_, _, _| completion(answer, "stop")).await;
    let project = one_go_function();
    let finished = run(generate_llm(&project, &server, &["--format", "json"]))
        .await
        .code(65);
    assert_eq!(finished.json()["summary"]["written"], 0);
    assert!(!project.exists("calc/calc_test.go"));
    let bodies = bodies.lock().unwrap();
    assert_eq!(
        bodies.len(),
        2,
        "the answer, then one re-ask with the reason"
    );
    assert!(
        bodies[1].to_string().contains("asserts nothing"),
        "the re-ask says why"
    );
}

/// A server that accepts connections and never writes a byte: a black hole. Counts the
/// connections it took; each is held open until the test ends.
fn black_hole() -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (base_url, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_server_is_an_outage_exit_75_and_resume_finishes_the_job() {
    let (base_url, accepted) = black_hole();
    let project = one_go_function();
    let finished = run(generate_llm_at(
        &project,
        &base_url,
        &["--read-timeout", "1", "--retries", "1"],
    ))
    .await;
    // Retries spent on a server that never answers: an outage, not a bad answer. The job
    // waits in the queue with its attempts untouched (the breaker, at 5 failures, did not
    // open), so 75 and the reason.
    let finished = finished.code(75);
    // The first attempt and its one retry, each on a fresh connection: a timed-out
    // connection is never reused.
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "{}", finished.stdout);
    assert!(
        finished
            .stdout
            .contains("no byte from the server within 1 s (read timeout, `--read-timeout`"),
        "{}",
        finished.stdout
    );
    assert!(
        finished.stderr.contains("testsmith resume"),
        "{}",
        finished.stderr
    );
    assert!(!project.exists("calc/calc_test.go"));
    let queue = run(project.testsmith(&["queue", "--format", "json"]))
        .await
        .success()
        .json();
    let jobs = queue["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{queue}");
    assert_ne!(jobs[0]["state"], "dead", "{queue}");

    // The server is back: `resume` finishes the job with one request.
    let (server, bodies) = scripted(|_, _, request| answer_well(request)).await;
    let base_url = format!("{}/v1", server.uri());
    let resume = project
        .testsmith(&["resume", "--base-url", &base_url, "--model", "fake-1"])
        .env("OPENAI_API_KEY", crate::fake_llm::API_KEY);
    run(resume).await.success();
    assert_eq!(bodies.lock().unwrap().len(), 1);
    assert!(project.read("calc/calc_test.go").contains("func TestAdd("));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_and_server_errors_that_outlast_the_retries_exit_75_not_65() {
    // Nothing listens on this port: every attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let project = one_go_function();
    let refused = run(generate_llm_at(
        &project,
        &format!("http://127.0.0.1:{port}/v1"),
        &["--retries", "1"],
    ))
    .await
    .code(75);
    assert!(
        refused.stdout.contains("cannot connect"),
        "{}",
        refused.stdout
    );

    let (server, bodies) =
        scripted(|_, _, _| ResponseTemplate::new(503).set_body_string("upstream overloaded")).await;
    let project = two_go_functions();
    let finished = run(generate_llm(
        &project,
        &server,
        &["--retries", "1", "--fan-out"],
    ))
    .await
    .code(75);
    assert!(
        !finished.stderr.contains("no usable test"),
        "{}",
        finished.stderr
    );
    // Each member: the first attempt and its one retry.
    assert_eq!(bodies.lock().unwrap().len(), 4);
}
