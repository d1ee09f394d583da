//! `generate --llm` against a fake that behaves like real providers and small models on an
//! ordinary day: throttling with every shape of retry hint, rate-limit headers, a wrong
//! model name, answers that stay unusable. Counts and waits are taken on the server side.

use crate::fake_llm::{FakeLlm, completion, envelope, generate_llm, known_answers};
use crate::util::{Project, TestRun, run_async as run};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn example() -> Project {
    let project = Project::new();
    project.copy_fixture("example", ".");
    project
}

fn llm(project: &Project, fake: &FakeLlm, extra: &[&str]) -> TestRun {
    generate_llm(project, &fake.server, extra)
}

/// A Go package of two functions: two requests with `--fan-out`.
fn two_go_functions() -> Project {
    let project = Project::new();
    project.write(
        "calc/calc.go",
        "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n\n// Sub subtracts.\nfunc Sub(a, b int) int { return a - b }\n",
    );
    project
}

fn rate_limited() -> serde_json::Value {
    json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_with_an_affordable_retry_after_is_waited_out_and_never_opens_the_breaker() {
    let fake = FakeLlm::bare().await;
    // More 429s than the breaker's threshold (5) and than the retries allowed (3).
    fake.fail_next(8, 429, rate_limited(), vec![("retry-after", "1".to_owned())])
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
    fake.fail_next(1, 429, rate_limited(), vec![("retry-after", "1.5".to_owned())])
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
    run(generate_llm(&project, &server, &["--fan-out", "--concurrency", "1"]))
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
    let finished = run(llm(&project, &fake, &["--concurrency", "1"])).await.code(75);
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
        assert!(not_before <= day_from_now, "parked until {not_before}: {job}");
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
    let finished = run(llm(&project, &fake, &["--concurrency", "1"])).await.code(2);
    assert_eq!(fake.log.count(), 1, "kept sending after a 404");
    assert!(finished.stderr.contains("does not exist"), "{}", finished.stderr);
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
