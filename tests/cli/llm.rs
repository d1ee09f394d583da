//! `generate --llm` through the real binary against a fake OpenAI-compatible server on
//! 127.0.0.1: request counts (batch, fan-out, cache), concurrency, retries, credentials,
//! waits, bad answers, Ctrl-C, secrets, and the quota-then-resume story. Counts are taken
//! on the server side.

use crate::fake_llm::{
    API_KEY as KEY, FakeLlm, completion, envelope, example, generate_llm, known_answers, llm,
    max_in_flight, one_go_function,
};
use crate::util::{Project, copy_dir, run_async as run};
use serde_json::json;
use std::time::{Duration, Instant};

/// A second copy of the example sharing the first one's state folder (cache and queue).
fn fresh_copy_with_state_of(project: &Project) -> Project {
    let copy = example();
    copy_dir(&project.path(".testsmith"), &copy.path(".testsmith"));
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_mode_sends_exactly_one_request_per_file_with_untested_members() {
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let project = example();
    let doc = run(llm(&project, &fake, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(fake.log.count(), 4, "asked: {:?}", fake.log.asked());
    assert_eq!(doc["summary"]["written"], 16);
    assert_eq!(doc["summary"]["llm"]["requests_sent"], 4);
    assert_eq!(doc["summary"]["llm"]["tokens_in"], 400);
    assert!(
        project
            .read("go/shapes/shapes_test.go")
            .contains("errors.Is(err, ErrNegative)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_sends_exactly_one_request_per_member() {
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let project = example();
    run(llm(&project, &fake, &["--fan-out"])).await.success();
    assert_eq!(fake.log.count(), 16);
    assert!(fake.log.asked().iter().all(|names| names.len() == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_rerun_in_another_process_sends_nothing_and_reports_only_hits() {
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let first = example();
    run(llm(&first, &fake, &[])).await.success();
    assert_eq!(fake.log.count(), 4);

    let second = fresh_copy_with_state_of(&first);
    let warm = run(llm(&second, &fake, &["-v"])).await.success();
    assert_eq!(fake.log.count(), 4, "the warm run sent requests");
    assert!(
        warm.stdout
            .contains("LLM cache — hits: 16  misses: 0  entries: 16"),
        "{}",
        warm.stdout
    );
    assert_eq!(
        first.read("go/shapes/shapes_test.go"),
        second.read("go/shapes/shapes_test.go")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_one_member_asks_again_for_that_member_only() {
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let first = example();
    run(llm(&first, &fake, &[])).await.success();

    let second = fresh_copy_with_state_of(&first);
    let lib = second.read("rust/src/text/mod.rs");
    second.write(
        "rust/src/text/mod.rs",
        lib.replace(
            "s.split_whitespace().count()",
            "s.split_ascii_whitespace().count()",
        ),
    );
    let doc = run(llm(&second, &fake, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(fake.log.count(), 5);
    assert_eq!(fake.log.asked()[4], ["test_word_count"]);
    assert_eq!(doc["summary"]["llm"]["cache_hits"], 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_never_sees_more_requests_in_flight_than_the_concurrency_limit() {
    let service = Duration::from_millis(300);
    let fake = FakeLlm::competent(service).await;
    let project = example();
    run(llm(&project, &fake, &["--fan-out", "--concurrency", "2"]))
        .await
        .success();
    let arrivals = fake.log.arrivals();
    assert_eq!(arrivals.len(), 16);
    assert_eq!(
        max_in_flight(&arrivals, service),
        2,
        "arrivals: {arrivals:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_errors_then_success_take_exactly_three_requests() {
    let fake = FakeLlm::bare().await;
    fake.fail_next(2, 500, json!({"error": {"message": "boom"}}), vec![])
        .await;
    fake.answer_well(Duration::ZERO).await;
    let project = one_go_function();
    let doc = run(llm(&project, &fake, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(fake.log.count(), 3);
    assert_eq!(doc["summary"]["written"], 1);
    assert_eq!(doc["summary"]["llm"]["retries"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_take_one_request_and_end_with_a_clear_error() {
    let fake = FakeLlm::bare().await;
    let echo = json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "code": "invalid_api_key"}});
    fake.fail_next(100, 401, echo, vec![]).await;
    let project = example();
    let finished = run(llm(&project, &fake, &["--concurrency", "1"]))
        .await
        .code(2);
    assert_eq!(fake.log.count(), 1);
    assert!(
        finished
            .stderr
            .contains("error: the API refused the credentials"),
        "{}",
        finished.stderr
    );
    assert!(
        finished
            .stderr
            .contains("help: check the key in $OPENAI_API_KEY")
    );
    assert!(!project.exists("go/shapes/shapes_test.go"));
    for text in [&finished.stdout, &finished.stderr] {
        assert!(!text.contains(KEY), "the key leaked:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_stop_the_run_after_the_first_wave_of_requests() {
    // Members go out five at a time; once a 401 is back nothing more is sent, not even the
    // retries the requests in flight would otherwise get.
    let fake = FakeLlm::bare().await;
    let refused = json!({"error": {"message": "bad key", "code": "invalid_api_key"}});
    fake.fail_next(100, 401, refused, vec![]).await;
    let project = example();
    run(llm(&project, &fake, &["--fan-out"])).await.code(2);
    let sent = fake.log.count();
    assert!((1..=5).contains(&sent), "{sent} requests after a 401");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_with_retry_after_is_waited_out_before_the_retry() {
    let fake = FakeLlm::bare().await;
    let body = json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}});
    fake.fail_next(1, 429, body, vec![("retry-after", "2".to_owned())])
        .await;
    fake.answer_well(Duration::ZERO).await;
    let project = one_go_function();
    run(llm(&project, &fake, &[])).await.success();
    let arrivals = fake.log.arrivals();
    assert_eq!(arrivals.len(), 2);
    let waited = arrivals[1] - arrivals[0];
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
}

/// Answers the first request of each file without its last test; then answers well.
struct DropsTheLastTestOnce {
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl wiremock::Respond for DropsTheLastTestOnce {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let mut names = crate::fake_llm::asked_names(request);
        let first_time = self.seen.lock().unwrap().insert(names.join(","));
        if first_time && names.len() > 1 {
            names.pop();
        }
        completion(&envelope(&names, &known_answers()), "stop")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reply_missing_a_test_asks_again_for_that_test_only() {
    use wiremock::matchers::method;
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .respond_with(DropsTheLastTestOnce {
            seen: Default::default(),
        })
        .mount(&server)
        .await;
    let project = Project::new();
    project.copy_fixture("example/rust", "rust");
    let command = generate_llm(&project, &server, &["--format", "json"]);
    let doc = run(command).await.success().json();
    let requests = server.received_requests().await.unwrap();
    let asked: Vec<Vec<String>> = requests.iter().map(crate::fake_llm::asked_names).collect();
    // Two files: each first asked in a batch, then only its dropped (last) test alone.
    assert_eq!(asked.len(), 4, "{asked:?}");
    for batch in asked.iter().filter(|names| names.len() > 1) {
        let last = batch.last().unwrap();
        assert!(
            asked.contains(&vec![last.clone()]),
            "{last} was not asked alone: {asked:?}"
        );
    }
    assert_eq!(doc["summary"]["written"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_answers_are_never_written_or_cached() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(completion("Sure! Here are your tests: fn oops( {", "stop"))
        .mount(&server)
        .await;
    let project = one_go_function();
    let command = generate_llm(&project, &server, &["--format", "json"]);
    let finished = run(command).await;
    let doc = finished.json();
    assert_eq!(doc["summary"]["written"], 0, "{}", finished.stdout);
    assert_eq!(doc["summary"]["llm"]["cache_entries"], 0);
    assert!(!project.exists("calc/calc_test.go"));
    let requests = server.received_requests().await.unwrap().len();
    assert_eq!(requests, 2, "the first answer and one re-ask");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_backoff_sleep_stops_at_once_sends_nothing_more_and_exits_130() {
    let fake = FakeLlm::bare().await;
    let body = json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}});
    fake.fail_next(100, 429, body, vec![("retry-after", "30".to_owned())])
        .await;
    let project = one_go_function();
    let mut command = llm(&project, &fake, &[]);
    let child = command
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.log.count() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fake.log.count(), 1, "the first request never came");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let interrupted_at = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let took = interrupted_at.elapsed();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(took < Duration::from_secs(2), "took {took:?} to stop");
    assert_eq!(fake.log.count(), 1, "sent more after Ctrl-C");
    assert!(!project.exists("calc/calc_test.go"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_appears_in_no_output_log_or_state_file() {
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let project = one_go_function();
    let finished = run(llm(&project, &fake, &["-vvv"]).env("TESTSMITH_LOG", "trace"))
        .await
        .success();
    for text in [&finished.stdout, &finished.stderr] {
        assert!(!text.contains(KEY), "the key leaked:\n{text}");
    }
    for entry in std::fs::read_dir(project.path(".testsmith")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
            "the key is on disk"
        );
    }
    let requests = fake.server.received_requests().await.unwrap();
    let auth = requests[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(
        auth,
        format!("Bearer {KEY}"),
        "the key must still reach the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_quota_defers_the_rest_and_a_healthy_rerun_finishes_it_once() {
    let fake = FakeLlm::bare().await;
    let quota = json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}});
    fake.fail_next(1000, 429, quota, vec![]).await;
    let project = example();
    // One request at a time, so "the first run sends one request" is exact; with a higher
    // limit the first wave is at most the limit (see the credentials tests).
    let first = run(llm(
        &project,
        &fake,
        &["--format", "json", "--concurrency", "1"],
    ))
    .await
    .code(75);
    assert_eq!(fake.log.count(), 1, "kept sending after the quota was gone");
    let doc = first.json();
    assert_eq!(doc["summary"]["written"], 0);
    assert_eq!(doc["summary"]["deferred"], 16);
    assert_eq!(doc["summary"]["llm"]["jobs_waiting"], 16);
    assert!(
        first.stderr.contains("testsmith resume"),
        "{}",
        first.stderr
    );

    fake.server.reset().await;
    fake.answer_well(Duration::ZERO).await;
    let second = run(llm(&project, &fake, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(second["summary"]["written"], 16);
    assert_eq!(second["summary"]["llm"]["jobs_waiting"], 0);
    let third = run(llm(&project, &fake, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(third["summary"]["written"], 0);
    assert_eq!(third["summary"]["llm"]["requests_sent"], 0);
    let go = project.read("go/shapes/shapes_test.go");
    assert_eq!(go.matches("func TestNewRect(").count(), 1);
}

#[test]
fn a_model_is_required_and_its_absence_is_a_usage_error() {
    let project = one_go_function();
    let finished = project.testsmith(&["generate", "--llm"]).run().code(2);
    assert!(finished.stderr.contains("model"), "{}", finished.stderr);
}

#[test]
fn llm_flags_without_llm_are_usage_errors() {
    let project = one_go_function();
    project
        .testsmith(&["generate", "--model", "m"])
        .run()
        .code(2);
}

async fn quota_exhausted() -> FakeLlm {
    let fake = FakeLlm::bare().await;
    let quota = json!({"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}});
    fake.fail_next(1000, 429, quota, vec![]).await;
    fake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_finishes_the_jobs_a_quota_exhausted_run_left() {
    let fake = quota_exhausted().await;
    let project = example();
    run(llm(&project, &fake, &["--concurrency", "1"]))
        .await
        .code(75);
    let queue = run(project.testsmith(&["queue", "--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(queue["jobs"].as_array().unwrap().len(), 16);

    fake.server.reset().await;
    fake.answer_well(Duration::ZERO).await;
    let base_url = fake.base_url();
    let resume = project
        .testsmith(&[
            "resume",
            "--base-url",
            &base_url,
            "--model",
            "fake-1",
            "--format",
            "json",
        ])
        .env("OPENAI_API_KEY", KEY);
    let doc = run(resume).await.success().json();
    assert_eq!(doc["summary"]["written"], 16);
    assert_eq!(doc["summary"]["llm"]["jobs_waiting"], 0);
    let queue = run(project.testsmith(&["queue"])).await.success();
    assert_eq!(queue.stdout, "the queue is empty\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_job_whose_member_got_a_test_by_hand_is_retired_without_a_request() {
    let fake = quota_exhausted().await;
    let project = one_go_function();
    run(llm(&project, &fake, &[])).await.code(75);
    project.write(
        "calc/calc_test.go",
        "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal()\n\t}\n}\n",
    );
    fake.server.reset().await;
    fake.answer_well(Duration::ZERO).await;
    let doc = run(llm(&project, &fake, &["--format", "json"]))
        .await
        .success()
        .json();
    assert_eq!(doc["summary"]["llm"]["requests_sent"], 0);
    assert_eq!(doc["summary"]["llm"]["jobs_waiting"], 0);
    assert_eq!(doc["summary"]["already_tested"], 1);
}
