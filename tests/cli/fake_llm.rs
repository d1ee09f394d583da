//! A fake OpenAI-compatible server on 127.0.0.1 (wiremock) that answers like a competent
//! model: for every test name a prompt asks for, a real test from
//! `fixtures/llm/example_answers.json` (or an empty test for names it does not know). It
//! records when each request arrived, so tests can check concurrency and waits server-side.

use crate::util::{Project, TestRun};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// When a request arrived, and the test names it asked for.
type Arrival = (Instant, Vec<String>);

/// Arrival times and asked test names of every request, in order.
#[derive(Clone, Default)]
pub struct Log {
    entries: Arc<Mutex<Vec<Arrival>>>,
}

impl Log {
    pub fn count(&self) -> usize {
        self.entries.lock().unwrap().len()
    }

    pub fn arrivals(&self) -> Vec<Instant> {
        self.entries
            .lock()
            .unwrap()
            .iter()
            .map(|(at, _)| *at)
            .collect()
    }

    /// The test names each request asked for.
    pub fn asked(&self) -> Vec<Vec<String>> {
        self.entries
            .lock()
            .unwrap()
            .iter()
            .map(|(_, names)| names.clone())
            .collect()
    }

    fn record(&self, names: Vec<String>) {
        self.entries.lock().unwrap().push((Instant::now(), names));
    }
}

/// The test names a prompt asks for (`test name `X``).
pub fn asked_names(request: &Request) -> Vec<String> {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let mut names = Vec::new();
    for message in body["messages"].as_array().into_iter().flatten() {
        let text = message["content"].as_str().unwrap_or("");
        for part in text.split("test name `").skip(1) {
            if let Some(end) = part.find('`') {
                names.push(part[..end].to_owned());
            }
        }
    }
    names
}

/// The real tests the fake knows, by name.
pub fn known_answers() -> HashMap<String, String> {
    let path = crate::util::fixtures_dir().join("llm/example_answers.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A test for `name` in the language the prompt asks for.
fn answer_for(name: &str, answers: &HashMap<String, String>) -> String {
    if let Some(code) = answers.get(name) {
        return code.clone();
    }
    if name.starts_with("Test") {
        format!(
            "func {name}(t *testing.T) {{\n\tif t.Name() != \"{name}\" {{\n\t\tt.Fatalf(\"running as %s\", t.Name())\n\t}}\n}}"
        )
    } else {
        format!("#[test]\nfn {name}() {{\n    assert!(true);\n}}")
    }
}

/// A chat-completions reply carrying `content`.
pub fn completion(content: &str, finish_reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": finish_reason,
        }],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
    }))
}

/// The JSON envelope for `names`.
pub fn envelope(names: &[String], answers: &HashMap<String, String>) -> String {
    let tests: Vec<Value> = names
        .iter()
        .map(|name| json!({"name": name, "code": answer_for(name, answers)}))
        .collect();
    json!({ "tests": tests }).to_string()
}

/// Answers every request well, after `delay`.
pub struct Competent {
    pub log: Log,
    pub answers: HashMap<String, String>,
    pub delay: Duration,
}

impl Respond for Competent {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let names = asked_names(request);
        self.log.record(names.clone());
        completion(&envelope(&names, &self.answers), "stop").set_delay(self.delay)
    }
}

/// Answers with `status` and `body` (and `headers`), logging arrivals.
pub struct Failing {
    pub log: Log,
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl Respond for Failing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.log.record(asked_names(request));
        let mut response = ResponseTemplate::new(self.status).set_body_json(self.body.clone());
        for (name, value) in &self.headers {
            response = response.insert_header(*name, value.as_str());
        }
        response
    }
}

/// The API key every run against a fake is given; the leak tests search output and state
/// for it.
pub const API_KEY: &str = "sk-test-canary-4242";

/// `testsmith generate --llm EXTRA..` in `project`, against the fake API served by `server`.
pub fn generate_llm(project: &Project, server: &MockServer, extra: &[&str]) -> TestRun {
    generate_llm_at(project, &format!("{}/v1", server.uri()), extra)
}

/// `testsmith generate --llm EXTRA..` in `project`, against the API at `base_url`.
pub fn generate_llm_at(project: &Project, base_url: &str, extra: &[&str]) -> TestRun {
    let mut args = vec![
        "generate",
        "--llm",
        "--base-url",
        base_url,
        "--model",
        "fake-1",
    ];
    args.extend_from_slice(extra);
    project.testsmith(&args).env("OPENAI_API_KEY", API_KEY)
}

/// `generate --llm EXTRA..` in `project` against `fake`.
pub fn llm(project: &Project, fake: &FakeLlm, extra: &[&str]) -> TestRun {
    generate_llm(project, &fake.server, extra)
}

/// A copy of the bundled example: 16 members in 4 files, so 4 requests in batch mode.
pub fn example() -> Project {
    let project = Project::new();
    project.copy_fixture("example", ".");
    project
}

/// A Go package of one function, `calc.Add`.
pub fn one_go_function() -> Project {
    let project = Project::new();
    project.write(
        "calc/calc.go",
        "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n",
    );
    project
}

/// A Go package of two functions: two requests with `--fan-out`.
pub fn two_go_functions() -> Project {
    let project = Project::new();
    project.write(
        "calc/calc.go",
        "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n\n// Sub subtracts.\nfunc Sub(a, b int) int { return a - b }\n",
    );
    project
}

/// Answers by a script over (request number from 1, request body, request), and keeps
/// every body it was sent.
pub struct Scripted<F> {
    bodies: Arc<Mutex<Vec<Value>>>,
    answer: F,
}

impl<F> Respond for Scripted<F>
where
    F: Fn(usize, &Value, &Request) -> ResponseTemplate + Send + Sync,
{
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let mut bodies = self.bodies.lock().unwrap();
        bodies.push(body.clone());
        (self.answer)(bodies.len(), &body, request)
    }
}

/// A server answering by `answer` (see [`Scripted`]), and the bodies it is sent.
pub async fn scripted<F>(answer: F) -> (MockServer, Arc<Mutex<Vec<Value>>>)
where
    F: Fn(usize, &Value, &Request) -> ResponseTemplate + Send + Sync + 'static,
{
    let server = MockServer::start().await;
    let bodies = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .respond_with(Scripted {
            bodies: bodies.clone(),
            answer,
        })
        .mount(&server)
        .await;
    (server, bodies)
}

/// A good answer (the known tests) to whatever `request` asks for.
pub fn answer_well(request: &Request) -> ResponseTemplate {
    completion(&envelope(&asked_names(request), &known_answers()), "stop")
}

/// A running fake with its request log.
pub struct FakeLlm {
    pub server: MockServer,
    pub log: Log,
}

impl FakeLlm {
    /// A fake that answers every request well.
    pub async fn competent(delay: Duration) -> FakeLlm {
        let fake = FakeLlm::bare().await;
        fake.answer_well(delay).await;
        fake
    }

    /// A fake with nothing mounted yet.
    pub async fn bare() -> FakeLlm {
        FakeLlm {
            server: MockServer::start().await,
            log: Log::default(),
        }
    }

    /// Mounts the competent answerer as the fallback for every request.
    pub async fn answer_well(&self, delay: Duration) {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(Competent {
                log: self.log.clone(),
                answers: known_answers(),
                delay,
            })
            .with_priority(10)
            .mount(&self.server)
            .await;
    }

    /// Mounts a failure for the next `times` requests, taking precedence over the answerer.
    pub async fn fail_next(
        &self,
        times: u64,
        status: u16,
        body: Value,
        headers: Vec<(&'static str, String)>,
    ) {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(Failing {
                log: self.log.clone(),
                status,
                body,
                headers,
            })
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }
}

/// The most requests that were on the wire at once, given each took about `service_time`
/// at the server (a fixed response delay).
pub fn max_in_flight(arrivals: &[Instant], service_time: Duration) -> usize {
    arrivals
        .iter()
        .map(|start| {
            arrivals
                .iter()
                .filter(|other| **other >= *start && **other < *start + service_time)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// A model that answers every test it is asked for from `answers` (wrapped in prose, as
/// real models do), or with a test that only logs; it keeps every prompt it was sent.
pub struct Recording {
    pub answers: HashMap<String, String>,
    pub prompts: Arc<Mutex<Vec<String>>>,
}

impl Respond for Recording {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let user = body["messages"][1]["content"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        self.prompts.lock().unwrap().push(user);
        let names = asked_names(request);
        let envelope = envelope(&names, &self.answers);
        completion(
            &format!("Here are the tests:\n{envelope}\nHope it helps!"),
            "stop",
        )
    }
}

/// A server answering with [`Recording`] from `answers` (test name, code), and the prompts
/// it receives.
pub async fn recording(answers: &[(&str, &str)]) -> (MockServer, Arc<Mutex<Vec<String>>>) {
    let server = MockServer::start().await;
    let prompts = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Recording {
            answers: answers
                .iter()
                .map(|(name, code)| ((*name).to_owned(), (*code).to_owned()))
                .collect(),
            prompts: prompts.clone(),
        })
        .mount(&server)
        .await;
    (server, prompts)
}

/// The test `name` in the JSON funnel of a `generate` report.
pub fn funnel_test(funnel: &Value, name: &str) -> Value {
    entry(&funnel["tests"], "test", name)
}

/// The object of the JSON array `list` whose `key` is `value`.
pub fn entry(list: &Value, key: &str, value: &str) -> Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("no {key} {value} in {list}"))
        .clone()
}

/// `generate --llm --format json EXTRA..` in `project` (Go's toolchain offline) against a
/// [`Recording`] model answering from `answers`: the exit code, the report, the prompts.
pub async fn generate_recorded(
    project: &Project,
    answers: &[(&str, &str)],
    extra: &[&str],
) -> (i32, Value, Vec<String>) {
    let (server, prompts) = recording(answers).await;
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let run = crate::verify::with_toolchains(generate_llm(project, &server, &args));
    let finished = crate::util::run_async(run).await;
    let doc: Value = serde_json::from_str(&finished.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", finished.stdout, finished.stderr));
    let prompts = prompts.lock().unwrap().clone();
    (finished.code, doc, prompts)
}

/// How a streamed reply ends.
#[derive(Clone, Copy)]
pub struct StreamEnd<'a> {
    pub finish_reason: Option<&'a str>,
    /// The last chunk carries `usage` (what `stream_options.include_usage` asks for).
    pub usage: bool,
    /// `data: [DONE]` closes the stream.
    pub done: bool,
}

impl StreamEnd<'_> {
    /// What OpenAI sends: `stop`, the usage chunk, `[DONE]`.
    pub const WHOLE: StreamEnd<'static> = StreamEnd {
        finish_reason: Some("stop"),
        usage: true,
        done: true,
    };
}

/// The server-sent events of a streamed chat completion carrying `content`, cut into
/// pieces of about four characters the way tokens come.
pub fn stream_events(content: &str, end: StreamEnd<'_>) -> String {
    let chars: Vec<char> = content.chars().collect();
    let mut body = String::new();
    for piece in chars.chunks(4) {
        let piece: String = piece.iter().collect();
        let chunk = json!({
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}],
        });
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    if let Some(reason) = end.finish_reason {
        let chunk = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]});
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    if end.usage {
        let usage = json!({"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": chars.len().div_ceil(4)}});
        body.push_str(&format!("data: {usage}\n\n"));
    }
    if end.done {
        body.push_str("data: [DONE]\n\n");
    }
    body
}

/// A 200 streaming `content` as server-sent events.
pub fn streamed(content: &str, end: StreamEnd<'_>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(stream_events(content, end), "text/event-stream")
}
