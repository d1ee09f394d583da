//! `generate --verify` and `testsmith verify` with the real toolchains (`go`, `cargo`): the
//! funnel on template output over the bundled example and real third-party code, and with
//! `--llm` against a fake OpenAI-compatible server on 127.0.0.1 — a broken test repaired, a
//! hopeless one dropped with the rest of its file kept byte for byte, a failing one
//! quarantined, a flaky one caught by `--reruns` — and a missing toolchain.

use crate::fake_llm::{asked_names, completion, generate_llm};
use crate::util::{Project, TestRun, copy_dir, fixtures_dir, run_async as run};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond};

// ---- the toolchains ----------------------------------------------------------------------

/// `testsmith ARGS` with the toolchains kept offline and quick: Go never reaches for a
/// module proxy and shares one build cache with every other test (the standard library is
/// compiled once), and every Cargo build shares one target folder (the test crates have no
/// dependencies, so sharing it costs nothing and spares recompiling per test).
pub(crate) fn testsmith(project: &Project, args: &[&str]) -> TestRun {
    with_toolchains(project.testsmith(args))
}

pub(crate) fn with_toolchains(mut run: TestRun) -> TestRun {
    for (key, value) in toolchain_env() {
        run = run.env(key, value.to_str().unwrap());
    }
    run
}

fn toolchain_env() -> Vec<(&'static str, PathBuf)> {
    let go_cache = std::env::temp_dir().join("testsmith-go-toolchain-cache");
    vec![
        ("GOCACHE", go_cache.clone()),
        ("GOPATH", go_cache.join("gopath")),
        ("GOPROXY", PathBuf::from("off")),
        ("GOFLAGS", PathBuf::from("-mod=mod")),
        ("GOWORK", PathBuf::from("off")),
        ("GOTOOLCHAIN", PathBuf::from("local")),
        ("CARGO_TARGET_DIR", shared_cargo_target()),
    ]
}

fn shared_cargo_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-target")
}

/// The target folder of the project in `dir` when a test runs cargo itself.
fn own_cargo_target(dir: &Path) -> PathBuf {
    crate::util::cargo_target_of(&shared_cargo_target(), dir)
}

/// Runs a toolchain command in `dir` and returns its output; panics when it fails.
#[track_caller]
pub(crate) fn toolchain(dir: &Path, program: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(toolchain_env())
        // A target folder per project: Cargo hashes a root package without its path, so two
        // tests building same-named crates in one folder could run each other's binaries.
        .env("CARGO_TARGET_DIR", own_cargo_target(dir))
        .output()
        .unwrap_or_else(|error| panic!("{program} runs: {error}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{text}"
    );
    text
}

fn totals(doc: &Value) -> &Value {
    &doc["verify"]["totals"]
}

/// The verification report's entry for `test`.
fn test_entry<'a>(doc: &'a Value, test: &str) -> &'a Value {
    doc["verify"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["test"] == test)
        .unwrap_or_else(|| panic!("no verify entry for {test} in {doc}"))
}

/// Asserts the funnel of template output: every test written compiles, none fails, none is
/// dropped or quarantined, and every one was checked.
#[track_caller]
fn assert_everything_compiled_and_nothing_failed(doc: &Value) {
    let totals = totals(doc);
    let written = doc["summary"]["written"].as_u64().unwrap()
        + doc["summary"]["regenerated"].as_u64().unwrap();
    assert!(written > 0, "nothing was written: {doc}");
    assert_eq!(totals["generated"], written, "{totals}");
    assert_eq!(totals["compiled"], written, "{}", doc["verify"]);
    for zero in ["dropped", "quarantined", "failed", "not_verified"] {
        assert_eq!(totals[zero], 0, "{zero}: {}", doc["verify"]);
    }
    // Scaffolds test nothing: Go's run with an empty table ("empty"), Rust's are ignored
    // ("skipped"); neither counts as passed.
    assert_eq!(totals["passed"], 0, "{totals}");
    let empty = totals["empty"].as_u64().unwrap();
    let skipped = totals["skipped"].as_u64().unwrap();
    assert_eq!(empty + skipped, written, "{totals}");
}

// ---- template output on the fixtures and on real code ------------------------------------

#[test]
fn template_output_of_the_bundled_example_verifies_fully() {
    let project = Project::new();
    project.copy_fixture("example", ".");
    let run = testsmith(&project, &["generate", "--verify", "--format", "json"])
        .run()
        .success();
    let doc = run.json();
    assert_everything_compiled_and_nothing_failed(&doc);
    // Go scaffolds run, but their tables are empty: they test nothing and say so; Rust
    // scaffolds are ignored until written.
    assert_eq!(test_entry(&doc, "TestNewRect")["status"], "empty");
    assert_eq!(doc["verify"]["totals"]["empty"], 9, "{}", doc["verify"]);

    // `testsmith verify` sees the same, and changes nothing.
    let before = project.read("go/shapes/shapes_test.go");
    let check = testsmith(&project, &["verify", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(check["totals"]["failed"], 0, "{check}");
    assert_eq!(check["totals"]["not_verified"], 0, "{check}");
    assert_eq!(project.read("go/shapes/shapes_test.go"), before);
}

#[test]
fn template_output_on_the_generation_fixtures_verifies_fully() {
    let project = Project::new();
    // As in go_toolchain.rs: the third-party fixture cannot build offline, and the cgo one
    // needs a C compiler.
    project.write(
        "go.mod",
        std::fs::read_to_string(fixtures_dir().join("generate/go/go.mod")).unwrap(),
    );
    project.copy_fixture("generate/go/kinds", "kinds");
    project.copy_fixture("generate/go/merge", "merge");
    let doc = testsmith(&project, &["generate", "--verify", "--format", "json"])
        .run()
        .success()
        .json();
    assert_everything_compiled_and_nothing_failed(&doc);
}

/// google/uuid as Debian ships it (`golang-github-google-uuid-dev`), in a module of its own.
fn google_uuid() -> Project {
    let sources = Path::new("/usr/share/gocode/src/github.com/google/uuid");
    assert!(
        sources.is_dir(),
        "{} is missing: apt-get install golang-github-google-uuid-dev",
        sources.display()
    );
    let project = Project::new();
    copy_dir(sources, &project.path("uuid"));
    project.write("uuid/go.mod", "module github.com/google/uuid\n\ngo 1.19\n");
    project
}

#[test]
fn template_output_on_google_uuid_verifies_fully() {
    let project = google_uuid();
    let doc = testsmith(
        &project,
        &["generate", "--verify", "--format", "json", "uuid"],
    )
    .run()
    .success()
    .json();
    assert_everything_compiled_and_nothing_failed(&doc);
    // The package's own tests still pass beside the new ones.
    toolchain(&project.path("uuid"), "go", &["test", "-count=1", "./..."]);
}

/// strsim from the local Cargo registry: a real crate with no dependencies.
fn strsim() -> Project {
    // strsim is one of testsmith's dependencies, so building testsmith put it in the registry.
    let crate_dir = crate::util::registry_crate("strsim-");
    let project = Project::new();
    copy_dir(&crate_dir, &project.path("strsim"));
    // Benchmarks need nightly; nothing else of the crate needs more than the crate.
    let _ = std::fs::remove_dir_all(project.path("strsim/benches"));
    project
}

#[test]
fn template_output_on_strsim_verifies_fully() {
    let project = strsim();
    let doc = testsmith(
        &project,
        &["generate", "--verify", "--format", "json", "strsim"],
    )
    .run()
    .success()
    .json();
    assert_everything_compiled_and_nothing_failed(&doc);
}

// ---- a missing toolchain -----------------------------------------------------------------

fn one_go_package(functions: &str) -> Project {
    let project = Project::new();
    project
        .write("go.mod", "module example.com/calc\n\ngo 1.19\n")
        .write("calc/calc.go", format!("package calc\n\n{functions}"));
    project
}

const ADD: &str = "// Add adds.\nfunc Add(a, b int) int { return a + b }\n";

#[test]
fn without_go_on_path_the_tests_are_written_and_verification_is_reported_skipped() {
    let project = one_go_package(ADD);
    let run = testsmith(&project, &["generate", "--verify", "--format", "json"])
        .env("PATH", "/testsmith-nowhere")
        .run()
        // Exit code 1: `--verify` was asked for and proved nothing; the tests stay written
        // and the warning says why.
        .code(1);
    assert!(
        run.stderr
            .contains("`go` was not found on PATH; the tests were not verified"),
        "{}",
        run.stderr
    );
    assert!(project.read("calc/calc_test.go").contains("func TestAdd("));
    let doc = run.json();
    assert_eq!(totals(&doc)["not_verified"], 1);
    assert_eq!(totals(&doc)["unchecked"], 1);
    assert_eq!(totals(&doc)["compiled"], 0);
    assert_eq!(doc["verify"]["skipped"][0]["language"], "go");

    // `testsmith verify` could check nothing: exit code 1, with the same message.
    let check = testsmith(&project, &["verify"])
        .env("PATH", "/testsmith-nowhere")
        .run()
        .code(1);
    assert!(
        check.stderr.contains("`go` was not found on PATH"),
        "{}",
        check.stderr
    );
    assert!(check.stdout.contains("1 not verified"), "{}", check.stdout);
}

// ---- testsmith verify changes nothing ------------------------------------------------------

#[test]
fn verify_reports_a_test_that_does_not_compile_and_leaves_the_file_alone() {
    let project = one_go_package(ADD);
    let test_file = "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\
                     \tif Add(1, 2) != missing {\n\t\tt.Fatal()\n\t}\n}\n";
    project.write("calc/calc_test.go", test_file);
    let run = testsmith(&project, &["verify", "--format", "json"])
        .run()
        .code(1);
    let doc = run.json();
    assert_eq!(doc["tests"][0]["status"], "not_compiled");
    assert!(
        doc["tests"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("calc/calc_test.go:6:18: undefined: missing"),
        "{doc}"
    );
    assert_eq!(project.read("calc/calc_test.go"), test_file);
}

// ---- --llm: repair, drop, quarantine, flakes ------------------------------------------------

/// A fake model with a script: what it writes when asked for a test, and what it answers to
/// each repair request, by test name (the last answer repeats). Counts both kinds.
#[derive(Clone, Default)]
struct Scripted {
    tests: HashMap<String, String>,
    repairs: HashMap<String, Vec<String>>,
    asked: Arc<AtomicUsize>,
    repair_requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl Scripted {
    fn writes(mut self, name: &str, code: &str) -> Scripted {
        self.tests.insert(name.to_owned(), code.to_owned());
        self
    }

    fn repairs_with(mut self, name: &str, codes: &[&str]) -> Scripted {
        self.repairs.insert(
            name.to_owned(),
            codes.iter().map(|c| (*c).to_owned()).collect(),
        );
        self
    }

    fn generation_requests(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }

    /// Each repair request's test name and user message.
    fn repair_requests(&self) -> Vec<(String, String)> {
        self.repair_requests.lock().unwrap().clone()
    }

    async fn serve(&self) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(self.clone())
            .mount(&server)
            .await;
        server
    }
}

impl Respond for Scripted {
    fn respond(&self, request: &Request) -> wiremock::ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let system = body["messages"][0]["content"].as_str().unwrap_or("");
        let user = body["messages"][1]["content"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let (names, is_repair) = if system.starts_with("You fix unit tests") {
            let name = user
                .split("### The test `")
                .nth(1)
                .and_then(|rest| rest.split('`').next())
                .unwrap_or_default()
                .to_owned();
            (vec![name], true)
        } else {
            (asked_names(request), false)
        };
        let tests: Vec<Value> = names
            .iter()
            .map(|name| {
                let code = if is_repair {
                    let mut log = self.repair_requests.lock().unwrap();
                    let earlier = log.iter().filter(|(asked, _)| asked == name).count();
                    log.push((name.clone(), user.clone()));
                    let script = &self.repairs[name];
                    script[earlier.min(script.len() - 1)].clone()
                } else {
                    self.tests[name].clone()
                };
                json!({"name": name, "code": code})
            })
            .collect();
        if !is_repair {
            self.asked.fetch_add(1, Ordering::SeqCst);
        }
        completion(&json!({ "tests": tests }).to_string(), "stop")
    }
}

fn llm_verify(project: &Project, server: &MockServer, extra: &[&str]) -> TestRun {
    let mut args = vec!["--verify", "--format", "json"];
    args.extend_from_slice(extra);
    with_toolchains(generate_llm(project, server, &args))
}

const GOOD_ADD: &str = "func TestAdd(t *testing.T) {\n\tif got := Add(1, 2); got != 3 {\n\t\tt.Fatalf(\"Add(1, 2) = %d, want 3\", got)\n\t}\n}";

const BROKEN_ADD: &str = "func TestAdd(t *testing.T) {\n\tif Add(1, 2) != wantSum {\n\t\t\
                          t.Fatal(fmt.Sprint(\"wrong\"))\n\t}\n}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_that_does_not_compile_is_repaired_once_and_then_passes() {
    let fake = Scripted::default()
        .writes("TestAdd", BROKEN_ADD)
        .repairs_with("TestAdd", &[GOOD_ADD]);
    let server = fake.serve().await;
    let project = one_go_package(ADD);
    let doc = run(llm_verify(&project, &server, &[]))
        .await
        .success()
        .json();

    let entry = test_entry(&doc, "TestAdd");
    assert_eq!(entry["status"], "passed", "{doc}");
    assert_eq!(entry["repairs"], 1);
    let totals = totals(&doc);
    assert_eq!(
        (
            &totals["generated"],
            &totals["compiled"],
            &totals["passed"],
            &totals["repaired"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(fake.generation_requests(), 1);
    let repairs = fake.repair_requests();
    assert_eq!(repairs.len(), 1);
    // The repair prompt carries the broken test, the compiler's error and the member.
    let prompt = &repairs[0].1;
    assert!(prompt.contains("wantSum"), "{prompt}");
    assert!(prompt.contains("undefined: wantSum"), "{prompt}");
    assert!(prompt.contains("func Add(a, b int) int"), "{prompt}");

    let written = project.read("calc/calc_test.go");
    assert!(written.contains("got != 3"), "{written}");
    assert!(!written.contains("wantSum"));
    assert!(
        !written.contains("\"fmt\""),
        "the repair left an unused import:\n{written}"
    );
    toolchain(project.root(), "go", &["vet", "./..."]);
    toolchain(project.root(), "go", &["test", "-count=1", "./..."]);
}

const COUNTER: &str = "// Counter counts by Step.\ntype Counter struct {\n\tStep int\n\tn    int\n}\n\n\
                       // NewCounter starts at zero.\nfunc NewCounter(step int) *Counter { return &Counter{Step: step} }\n\n\
                       // Next advances by Step.\nfunc (c *Counter) Next() int { c.n += c.Step; return c.n }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_is_shown_the_receivers_fields_and_constructor() {
    // A guessed field is the commonest compile error of a small model's test: the repair
    // prompt shows the struct's real fields and how to build one.
    let fake = Scripted::default()
        .writes(
            "TestNewCounter",
            "func TestNewCounter(t *testing.T) {\n\tif NewCounter(2).Step != 2 {\n\t\tt.Fatal(\"step\")\n\t}\n}",
        )
        .writes(
            "TestCounter_Next",
            "func TestCounter_Next(t *testing.T) {\n\tc := Counter{Increment: 2}\n\tif c.Next() != 2 {\n\t\tt.Fatal(\"next\")\n\t}\n}",
        )
        .repairs_with(
            "TestCounter_Next",
            &["func TestCounter_Next(t *testing.T) {\n\tc := NewCounter(2)\n\tif got := c.Next(); got != 2 {\n\t\tt.Fatalf(\"Next() = %d, want 2\", got)\n\t}\n}"],
        );
    let server = fake.serve().await;
    let project = one_go_package(COUNTER);
    let doc = run(llm_verify(&project, &server, &[]))
        .await
        .success()
        .json();
    assert_eq!(
        test_entry(&doc, "TestCounter_Next")["status"],
        "passed",
        "{doc}"
    );
    let repairs = fake.repair_requests();
    assert_eq!(repairs.len(), 1, "{repairs:?}");
    let prompt = &repairs[0].1;
    assert!(prompt.contains("unknown field"), "{prompt}");
    assert!(
        prompt.contains("type Counter struct {\n\tStep int\n\tn    int\n}"),
        "{prompt}"
    );
    assert!(
        prompt.contains("func NewCounter(step int) *Counter"),
        "{prompt}"
    );
}

const SUB: &str = "// Sub subtracts.\nfunc Sub(a, b int) int { return a - b }\n";
const GOOD_SUB: &str = "func TestSub(t *testing.T) {\n\tif got := Sub(3, 2); got != 1 {\n\t\tt.Fatalf(\"Sub(3, 2) = %d, want 1\", got)\n\t}\n}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_the_model_never_fixes_is_dropped_and_the_rest_of_the_file_survives_byte_for_byte() {
    let fake = Scripted::default()
        .writes("TestAdd", BROKEN_ADD)
        .writes("TestSub", GOOD_SUB)
        .repairs_with("TestAdd", &[BROKEN_ADD]);
    let server = fake.serve().await;
    let person = "package calc\n\nimport \"testing\"\n\n// Written by a person.\nfunc TestPersonal(t *testing.T) {\n\
                  \tif Add(2, 2) != 4 {\n\t\tt.Fatal(\"2+2\")\n\t}\n}\n";

    // The same run without verification shows what generation alone writes.
    let unverified = one_go_package(&format!("{ADD}\n{SUB}"));
    unverified.write("calc/calc_test.go", person);
    run(with_toolchains(generate_llm(&unverified, &server, &[])))
        .await
        .success();
    // The person's file lacks "fmt": the new tests go beside it, its lines stay put.
    assert_eq!(unverified.read("calc/calc_test.go"), person);
    let generated = unverified.read("calc/calc_internal_test.go");
    assert!(
        generated.contains("wantSum") && generated.contains("\"fmt\""),
        "{generated}"
    );
    let requests_before = fake.generation_requests();

    let project = one_go_package(&format!("{ADD}\n{SUB}"));
    project.write("calc/calc_test.go", person);
    let doc = run(llm_verify(&project, &server, &["--no-cache"]))
        .await
        .success()
        .json();

    let dropped = test_entry(&doc, "TestAdd");
    assert_eq!(dropped["status"], "dropped", "{doc}");
    assert_eq!(dropped["repairs"], 2, "the default is two repair rounds");
    assert!(
        dropped["reason"]
            .as_str()
            .unwrap()
            .contains("undefined: wantSum"),
        "{dropped}"
    );
    assert_eq!(test_entry(&doc, "TestSub")["status"], "passed");
    assert_eq!(fake.generation_requests() - requests_before, 1);
    assert_eq!(fake.repair_requests().len(), 2);

    // Exactly what generation wrote, without TestAdd (and the blank line before it) and
    // without the import only TestAdd used.
    let start = generated.find("func TestAdd(").unwrap();
    let end = start + generated[start..].find("\n}\n").unwrap() + "\n}\n".len();
    let without_test = format!(
        "{}{}",
        generated[..start].strip_suffix('\n').unwrap(),
        &generated[end..]
    );
    // The import went whichever way generation had added it: alone or in a group.
    let expected = if without_test.contains("import \"fmt\"\n\n") {
        without_test.replace("import \"fmt\"\n\n", "")
    } else {
        without_test.replace("\t\"fmt\"\n", "")
    };
    assert_eq!(project.read("calc/calc_internal_test.go"), expected);
    assert_eq!(project.read("calc/calc_test.go"), person);
    toolchain(project.root(), "go", &["vet", "./..."]);
}

const FAILING_ADD: &str = "func TestAdd(t *testing.T) {\n\tif got := Add(1, 2); got != 4 {\n\t\tt.Fatalf(\"Add(1, 2) = %d, want 4\", got)\n\t}\n}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_that_compiles_but_fails_is_quarantined_not_deleted() {
    let fake = Scripted::default().writes("TestAdd", FAILING_ADD);
    let server = fake.serve().await;
    let project = one_go_package(ADD);
    let doc = run(llm_verify(&project, &server, &[]))
        .await
        .success()
        .json();

    let entry = test_entry(&doc, "TestAdd");
    assert_eq!(entry["status"], "quarantined", "{doc}");
    let reason = entry["reason"].as_str().unwrap();
    assert!(reason.contains("Add(1, 2) = 3, want 4"), "{reason}");
    assert_eq!(totals(&doc)["compiled"], 1);
    assert_eq!(totals(&doc)["quarantined"], 1);
    assert!(
        fake.repair_requests().is_empty(),
        "a failing test is not sent for repair"
    );

    let written = project.read("calc/calc_test.go");
    assert!(
        written.contains(&format!(
            "func TestAdd(t *testing.T) {{\n\tt.Skip(\"testsmith: failed: {reason}\")\n\tif got := Add(1, 2); got != 4 {{"
        )),
        "{written}"
    );
    // The suite is green again, and the test says why it is skipped.
    let output = toolchain(project.root(), "go", &["test", "-count=1", "-v", "./..."]);
    assert!(output.contains("--- SKIP: TestAdd"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_reruns_a_test_that_fails_only_sometimes_is_quarantined_as_flaky() {
    // Fails on its first run in this project, passes afterwards: the marker file lives in
    // the project, so every test run of this test sees the same history.
    let flaky = "func TestAdd(t *testing.T) {\n\tmarker := filepath.Join(\"..\", \".ran-once\")\n\
                 \tif _, err := os.Stat(marker); err != nil {\n\t\t_ = os.WriteFile(marker, nil, 0o644)\n\
                 \t\tt.Fatal(\"first run fails\")\n\t}\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal()\n\t}\n}";
    let fake = Scripted::default().writes("TestAdd", flaky);
    let server = fake.serve().await;
    let project = one_go_package(ADD);
    let doc = run(llm_verify(&project, &server, &["--reruns", "3"]))
        .await
        .success()
        .json();

    let entry = test_entry(&doc, "TestAdd");
    assert_eq!(entry["status"], "quarantined", "{doc}");
    let reason = entry["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("flaky: failed 1 of 3 runs: "),
        "{reason}"
    );
    assert!(reason.ends_with(": first run fails"), "{reason}");
    assert!(
        project
            .read("calc/calc_test.go")
            .contains("t.Skip(\"testsmith: failed: flaky")
    );
}

fn one_crate() -> Project {
    let project = Project::new();
    project
        .write(
            "Cargo.toml",
            "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .write(
            "src/lib.rs",
            "/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
        );
    project
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_test_that_does_not_compile_is_repaired_with_cargos_error() {
    let broken = "#[test]\nfn test_add() {\n    let sum: String = add(1, 2);\n    assert_eq!(sum, \"3\");\n}";
    let good = "#[test]\nfn test_add() {\n    assert_eq!(add(1, 2), 3);\n}";
    let fake = Scripted::default()
        .writes("test_add", broken)
        .repairs_with("test_add", &[good]);
    let server = fake.serve().await;
    let project = one_crate();
    let doc = run(llm_verify(&project, &server, &[]))
        .await
        .success()
        .json();

    let entry = test_entry(&doc, "test_add");
    assert_eq!(entry["status"], "passed", "{doc}");
    assert_eq!(entry["repairs"], 1);
    let repairs = fake.repair_requests();
    assert_eq!(repairs.len(), 1);
    // rustc's rendered error, pointing into the test file, went to the model.
    assert!(
        repairs[0].1.contains("error[E0308]: mismatched types"),
        "{}",
        repairs[0].1
    );
    assert!(
        repairs[0].1.contains("src/lib_tests.rs"),
        "{}",
        repairs[0].1
    );
    assert!(
        project
            .read("src/lib_tests.rs")
            .contains("assert_eq!(add(1, 2), 3);")
    );
    toolchain(project.root(), "cargo", &["test", "--quiet"]);
}

/// A crate that turns its library's tests off (`[lib] test = false`, as form_urlencoded
/// does): `cargo test --tests` never builds them, so verification asks for the library by
/// name, and the test is run and passes instead of "the toolchain never ran it".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crate_whose_library_is_not_tested_by_default_still_gets_its_tests_run() {
    let fake = Scripted::default().writes(
        "test_add",
        "#[test]\nfn test_add() {\n    assert_eq!(add(1, 2), 3);\n}",
    );
    let server = fake.serve().await;
    let project = one_crate();
    project.write(
        "Cargo.toml",
        "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\npath = \"src/lib.rs\"\ntest = false\n\n[workspace]\n",
    );
    let doc = run(llm_verify(&project, &server, &[]))
        .await
        .success()
        .json();

    let entry = test_entry(&doc, "test_add");
    assert_eq!(entry["status"], "passed", "{doc}");
    let output = toolchain(project.root(), "cargo", &["test", "--lib"]);
    assert!(output.contains("test_add ... ok"), "{output}");
}

// ---- GOPATH projects -----------------------------------------------------------------------

/// A GOPATH layout with no `go.mod` anywhere: `tiny` imports `example.com/dep`, which only
/// GOPATH mode (`GO111MODULE=off`, `GOPATH` = the folder above `src/`) can resolve; and the
/// same source in a folder that is in neither a module nor a GOPATH.
fn gopath_layout(project: &Project) {
    project.write(
        "gopath/src/example.com/dep/dep.go",
        "package dep\n\n// Double doubles.\nfunc Double(x int) int {\n\treturn x * 2\n}\n",
    );
    let tiny = "package tiny\n\nimport \"example.com/dep\"\n\n// Quad quadruples.\n\
                func Quad(x int) int {\n\treturn dep.Double(dep.Double(x))\n}\n\n\
                // Neg makes x negative.\nfunc Neg(x int) int {\n\tif x > 0 {\n\t\treturn -x\n\t}\n\
                \treturn x\n}\n";
    project.write("gopath/src/example.com/tiny/tiny.go", tiny);
    project.write(
        "gopath/src/example.com/tiny/four_test.go",
        "package tiny\n\nimport \"testing\"\n\nfunc TestFour(t *testing.T) {\n\
         \tif Quad(1) != 4 {\n\t\tt.Fatal(\"no\")\n\t}\n}\n",
    );
    project.write("loose/a.go", tiny);
    project.write("loose/b.go", "package tiny\n\nfunc B() int { return 1 }\n");
}

#[test]
fn a_gopath_package_verifies_and_is_measured_from_its_gopath() {
    let project = Project::new();
    gopath_layout(&project);
    let tiny = "gopath/src/example.com/tiny";
    let doc = testsmith(
        &project,
        &["generate", "--verify", "--format", "json", tiny],
    )
    .run()
    .success()
    .json();
    assert_everything_compiled_and_nothing_failed(&doc);
    assert_eq!(doc["verify"]["totals"]["compiled"], 2, "{}", doc["verify"]);

    let coverage = testsmith(&project, &["coverage", "--format", "json", tiny])
        .run()
        .success()
        .json();
    let packages = coverage["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1, "{coverage}");
    let member = |name: &str| {
        packages[0]["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|member| member["member"] == name)
            .unwrap_or_else(|| panic!("no {name} in {coverage}"))
            .clone()
    };
    // TestFour executes Quad; the scaffolds' empty tables execute nothing of Neg.
    assert_eq!(member("Quad")["status"], "covered", "{coverage}");
    assert_eq!(member("Neg")["executed"], 0, "{coverage}");
    assert_eq!(member("Neg")["total"], 3, "{coverage}");
    assert_eq!(coverage["total"], json!({"executed": 1, "total": 4}));
}

#[test]
fn a_go_package_in_no_module_and_no_gopath_is_told_to_run_go_mod_init_once() {
    let project = Project::new();
    gopath_layout(&project);
    let finished = testsmith(&project, &["coverage", "loose"]).run();
    assert_eq!(finished.code, 1, "{}", finished.stderr);
    let reason = "not in a module or a GOPATH: run `go mod init`";
    assert_eq!(
        finished.stderr.matches(reason).count(),
        1,
        "once for the package, not per file: {}",
        finished.stderr
    );
    assert!(
        finished.stderr.contains(&format!("error: loose: {reason}")),
        "{}",
        finished.stderr
    );

    // `generate --verify` writes the tests, proves none, and says so with exit code 1.
    let finished = testsmith(&project, &["generate", "--verify", "loose"]).run();
    assert_eq!(finished.code, 1, "{}{}", finished.stdout, finished.stderr);
    assert!(
        finished
            .stdout
            .contains("3 not verified (3 with no project or toolchain to check them)"),
        "{}",
        finished.stdout
    );
    for written in ["loose/a_test.go", "loose/b_test.go"] {
        std::fs::remove_file(project.path(written)).unwrap();
    }
    let finished = testsmith(
        &project,
        &["generate", "--verify", "--format", "json", "loose"],
    )
    .run();
    assert_eq!(finished.code, 1, "{}", finished.stderr);
    let doc = finished.json();
    assert_eq!(
        doc["verify"]["totals"]["not_verified"], 3,
        "{}",
        doc["verify"]
    );
    assert_eq!(doc["verify"]["totals"]["unchecked"], 3, "{}", doc["verify"]);
    assert_eq!(
        test_entry(&doc, "TestNeg")["reason"],
        reason,
        "{}",
        doc["verify"]
    );
}
