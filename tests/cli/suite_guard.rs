//! Issue 13, "the suite before and after": a generated test that passes on its own but breaks
//! a test of the user's (it changes package state the user's test reads) gets its package's
//! edit undone byte for byte, exit code 1, and is not written again by the next run. In Go
//! (`go test -json`) and in Rust (`cargo test`, libtest's text output).

use crate::fake_llm::{Competent, Log, generate_llm};
use crate::util::{Project, run_async as run};
use crate::verify::{toolchain, with_toolchains};
use std::collections::HashMap;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

const GO_MOD: &str = "module example.com/mode\n\ngo 1.19\n";

const MODE_GO: &str = "package mode\n\nvar current = \"quiet\"\n\n// SetMode switches the package's mode.\nfunc SetMode(m string) { current = m }\n\n// Mode says the package's mode.\nfunc Mode() string { return current }\n";

const LEVEL_GO: &str = "package mode\n\n// Level is how loud the mode is.\nfunc Level() int {\n\tif current == \"loud\" {\n\t\treturn 2\n\t}\n\treturn 1\n}\n";

/// The user's own test file beside mode.go: testsmith appends to it.
const USERS_MODE_TEST: &str = "package mode\n\nimport \"testing\"\n\n// TestModeIsAString is the user's.\nfunc TestModeIsAString(t *testing.T) {\n\t_ = Mode() + \"\"\n}\n";

/// The user's test that reads the package's state; it runs after the generated ones (files
/// run in name order).
const USERS_START_TEST: &str = "package mode\n\nimport \"testing\"\n\nfunc TestStartsQuiet(t *testing.T) {\n\tif Mode() != \"quiet\" {\n\t\tt.Fatalf(\"Mode() = %q at start, want quiet\", Mode())\n\t}\n}\n";

/// Answers that pass on their own; `TestSetMode` leaves the package loud.
fn answers() -> HashMap<String, String> {
    [
        (
            "TestSetMode",
            "func TestSetMode(t *testing.T) {\n\tSetMode(\"loud\")\n\tif got := Mode(); got != \"loud\" {\n\t\tt.Fatalf(\"Mode() = %q after SetMode(loud)\", got)\n\t}\n}",
        ),
        (
            "TestMode",
            "func TestMode(t *testing.T) {\n\tif Mode() == \"\" {\n\t\tt.Fatal(\"Mode() is empty\")\n\t}\n}",
        ),
        (
            "TestLevel",
            "func TestLevel(t *testing.T) {\n\tif got := Level(); got < 1 {\n\t\tt.Fatalf(\"Level() = %d\", got)\n\t}\n}",
        ),
    ]
    .into_iter()
    .map(|(name, code)| (name.to_owned(), code.to_owned()))
    .collect()
}

async fn serve(log: &Log) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Competent {
            log: log.clone(),
            answers: answers(),
            delay: Duration::ZERO,
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_test_that_breaks_a_users_test_is_rolled_back_byte_for_byte_and_not_written_again()
 {
    let log = Log::default();
    let server = serve(&log).await;
    let project = Project::new();
    project
        .write("go.mod", GO_MOD)
        .write("mode.go", MODE_GO)
        .write("level.go", LEVEL_GO)
        .write("mode_test.go", USERS_MODE_TEST)
        .write("zz_start_test.go", USERS_START_TEST);
    let args = ["--verify", "--format", "json"];

    let first = run(with_toolchains(generate_llm(&project, &server, &args)))
        .await
        .code(1);
    let doc = first.json();
    // Written first, each test passing on its own.
    assert_eq!(doc["summary"]["written"], 3, "{doc}");
    let rolled_back = &doc["verify"]["rolled_back"];
    assert_eq!(rolled_back.as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(rolled_back[0]["broken"][0], "TestStartsQuiet", "{doc}");
    assert!(
        rolled_back[0]["failure"]
            .as_str()
            .unwrap()
            .contains("at start, want quiet"),
        "{doc}"
    );
    assert_eq!(doc["verify"]["totals"]["rolled_back"], 3, "{doc}");
    for test in doc["verify"]["tests"].as_array().unwrap() {
        assert_eq!(test["status"], "rolled_back", "{test}");
    }
    // The package is as it was: the user's file byte for byte, the new file gone.
    assert_eq!(project.read("mode_test.go"), USERS_MODE_TEST);
    assert_eq!(project.read("zz_start_test.go"), USERS_START_TEST);
    assert!(
        !project.exists("level_test.go"),
        "a file the run created stays"
    );
    let suite = toolchain(project.root(), "go", &["test", "-count=1", "-v", "."]);
    assert!(suite.contains("--- PASS: TestStartsQuiet"), "{suite}");
    let asked = log.count();

    // The next run remembers: the same answers are not written again.
    let second = run(with_toolchains(generate_llm(&project, &server, &args)))
        .await
        .success();
    let again = second.json();
    assert_eq!(again["summary"]["written"], 0, "{again}");
    let skipped = again["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|file| file["skipped"].as_array().unwrap())
        .map(|skipped| skipped["reason"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(skipped.len(), 3, "{again}");
    assert!(
        skipped
            .iter()
            .all(|reason| reason.contains("rolled back by an earlier run")
                && reason.contains("TestStartsQuiet")),
        "{skipped:?}"
    );
    assert_eq!(log.count(), asked, "the model was asked again");
    assert_eq!(project.read("mode_test.go"), USERS_MODE_TEST);
    assert!(!project.exists("level_test.go"));
}

/// A user's test that fails once and then passes (flaky), and one that fails with or without
/// testsmith's tests, blame nobody: the edit stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_or_already_failing_users_test_blames_nobody_and_the_edit_stays() {
    let log = Log::default();
    let server = serve(&log).await;
    let project = Project::new();
    // Fails on the first run only: it counts its runs in a file beside it.
    let flaky = "package mode\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestFlaky(t *testing.T) {\n\t_, err := os.Stat(\"ran-once\")\n\tif os.IsNotExist(err) {\n\t\t_ = os.WriteFile(\"ran-once\", nil, 0o644)\n\t\tt.Fatal(\"first run fails\")\n\t}\n}\n\nfunc TestAlwaysBroken(t *testing.T) {\n\tt.Fatal(\"broken before testsmith came\")\n}\n";
    project
        .write("go.mod", GO_MOD)
        .write("level.go", LEVEL_GO)
        .write("mode.go", "package mode\n\nvar current = \"quiet\"\n")
        .write("zz_user_test.go", flaky);
    let doc = run(with_toolchains(generate_llm(
        &project,
        &server,
        &["--verify", "--format", "json"],
    )))
    .await
    .success()
    .json();
    assert_eq!(doc["summary"]["written"], 1, "{doc}");
    assert!(doc["verify"].get("rolled_back").is_none(), "{doc}");
    assert_eq!(doc["verify"]["suite_compared"], 1, "{doc}");
    assert_eq!(doc["verify"]["totals"]["passed"], 1, "{doc}");
    assert!(project.read("level_test.go").contains("func TestLevel"));
    assert!(project.exists("ran-once"), "the user's suite did not run");
    assert_eq!(project.read("zz_user_test.go"), flaky);
}

// ---- Rust --------------------------------------------------------------------------------

const CARGO_TOML: &str = "[package]\nname = \"guarded_loudness\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n";

/// A crate with a static the user's own test reads. The test waits a moment first, so the
/// generated tests, which libtest starts before it (tests start in name order:
/// `lib_tests::` before `tests::`), have run by then on any number of test threads.
const LIB_RS: &str = "use std::sync::atomic::{AtomicBool, Ordering};\n\nstatic LOUD: AtomicBool = AtomicBool::new(false);\n\n/// Switches the crate loud or quiet.\npub fn set_loud(loud: bool) {\n    LOUD.store(loud, Ordering::SeqCst);\n}\n\n/// How loud the crate is.\npub fn level() -> u32 {\n    if LOUD.load(Ordering::SeqCst) { 2 } else { 1 }\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn starts_quiet() {\n        std::thread::sleep(std::time::Duration::from_millis(300));\n        assert_eq!(super::level(), 1, \"the crate is loud at start\");\n    }\n}\n";

/// Answers that pass on their own; `test_set_loud` leaves the crate loud.
fn rust_answers() -> HashMap<String, String> {
    [
        (
            "test_set_loud",
            "Here is the test:\n```rust\n#[test]\nfn test_set_loud() {\n    set_loud(true);\n    assert!(LOUD.load(std::sync::atomic::Ordering::SeqCst));\n}\n```",
        ),
        (
            "test_level",
            "#[test]\nfn test_level() {\n    assert!(level() >= 1);\n}",
        ),
    ]
    .into_iter()
    .map(|(name, code)| (name.to_owned(), code.to_owned()))
    .collect()
}

async fn serve_rust(log: &Log, answers: HashMap<String, String>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Competent {
            log: log.clone(),
            answers,
            delay: Duration::ZERO,
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_test_module_that_breaks_a_users_test_is_rolled_back_byte_for_byte_and_not_written_again()
 {
    let log = Log::default();
    let server = serve_rust(&log, rust_answers()).await;
    let project = Project::new();
    project
        .write("Cargo.toml", CARGO_TOML)
        .write("src/lib.rs", LIB_RS);
    let args = ["--verify", "--format", "json"];

    let first = run(with_toolchains(generate_llm(&project, &server, &args)))
        .await
        .code(1);
    let doc = first.json();
    assert_eq!(doc["summary"]["written"], 2, "{doc}");
    let rolled_back = &doc["verify"]["rolled_back"];
    assert_eq!(rolled_back.as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(rolled_back[0]["broken"][0], "tests::starts_quiet", "{doc}");
    assert!(
        rolled_back[0]["failure"]
            .as_str()
            .unwrap()
            .contains("the crate is loud at start"),
        "{doc}"
    );
    assert_eq!(doc["verify"]["totals"]["rolled_back"], 2, "{doc}");
    // The crate is as it was: lib.rs byte for byte (its `#[path]` module line gone), the
    // test file the run created removed.
    assert_eq!(project.read("src/lib.rs"), LIB_RS);
    assert!(
        !project.exists("src/lib_tests.rs"),
        "a file the run created stays"
    );
    let suite = toolchain(project.root(), "cargo", &["test", "--tests"]);
    assert!(suite.contains("test tests::starts_quiet ... ok"), "{suite}");
    let asked = log.count();

    let second = run(with_toolchains(generate_llm(&project, &server, &args)))
        .await
        .success();
    let again = second.json();
    assert_eq!(again["summary"]["written"], 0, "{again}");
    let skipped: Vec<String> = again["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|file| file["skipped"].as_array().unwrap())
        .map(|skipped| skipped["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(skipped.len(), 2, "{again}");
    assert!(
        skipped
            .iter()
            .all(|reason| reason.contains("rolled back by an earlier run")
                && reason.contains("tests::starts_quiet")),
        "{skipped:?}"
    );
    assert_eq!(log.count(), asked, "the model was asked again");
    assert_eq!(project.read("src/lib.rs"), LIB_RS);
    assert!(!project.exists("src/lib_tests.rs"));
}

/// A user's Rust test that fails once and then passes, and one that fails with or without
/// testsmith's module, blame nobody: the edit stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_or_already_failing_rust_test_blames_nobody_and_the_module_stays() {
    let log = Log::default();
    let server = serve_rust(&log, rust_answers()).await;
    let project = Project::new();
    let lib = "/// How loud the crate is.\npub fn level() -> u32 {\n    1\n}\n";
    // Fails on the first run only: it leaves a file beside the manifest.
    let user_tests = "#[test]\nfn flaky() {\n    let marker = std::path::Path::new(env!(\"CARGO_MANIFEST_DIR\")).join(\"ran-once\");\n    if !marker.exists() {\n        std::fs::write(&marker, \"\").unwrap();\n        panic!(\"first run fails\");\n    }\n}\n\n#[test]\nfn always_broken() {\n    panic!(\"broken before testsmith came\");\n}\n";
    project
        .write(
            "Cargo.toml",
            CARGO_TOML.replace("guarded_loudness", "guarded_flaky"),
        )
        .write("src/lib.rs", lib)
        .write("tests/user.rs", user_tests);
    let doc = run(with_toolchains(generate_llm(
        &project,
        &server,
        &["--verify", "--format", "json"],
    )))
    .await
    .success()
    .json();
    assert_eq!(doc["summary"]["written"], 1, "{doc}");
    assert!(doc["verify"].get("rolled_back").is_none(), "{doc}");
    assert_eq!(doc["verify"]["suite_compared"], 1, "{doc}");
    assert_eq!(doc["verify"]["totals"]["passed"], 1, "{doc}");
    assert!(project.read("src/lib_tests.rs").contains("fn test_level"));
    assert!(project.read("src/lib.rs").contains("mod lib_tests;"));
    assert!(project.exists("ran-once"), "the user's suite did not run");
    assert_eq!(project.read("tests/user.rs"), user_tests);
}

/// Counts its runs in a file beside the manifest, one line each.
fn counting(name: &str, file: &str) -> String {
    format!(
        "#[test]\nfn {name}() {{\n    use std::io::Write;\n    let path = std::path::Path::new(env!(\"CARGO_MANIFEST_DIR\")).join(\"{file}\");\n    let mut runs = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();\n    writeln!(runs, \"ran\").unwrap();\n    assert!(level() >= 1);\n}}\n"
    )
}

/// The cost: verification's own run of the new tests is the whole suite's run, and the guard
/// takes its verdicts for "after" — a green suite is run once, the new test with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_green_rust_suite_runs_once_verifications_run_is_the_guards() {
    let log = Log::default();
    let answers = [("test_level".to_owned(), counting("test_level", "new-runs"))].into();
    let server = serve_rust(&log, answers).await;
    let project = Project::new();
    let user_test = counting("users_own", "user-runs");
    project
        .write(
            "Cargo.toml",
            CARGO_TOML.replace("guarded_loudness", "guarded_once"),
        )
        .write(
            "src/lib.rs",
            "/// How loud.\npub fn level() -> u32 {\n    1\n}\n",
        )
        .write(
            "tests/user.rs",
            format!("use guarded_once::level;\n\n{user_test}"),
        );
    let doc = run(with_toolchains(generate_llm(
        &project,
        &server,
        &["--verify", "--format", "json"],
    )))
    .await
    .success()
    .json();
    assert_eq!(doc["verify"]["totals"]["passed"], 1, "{doc}");
    assert_eq!(doc["verify"]["suite_compared"], 1, "{doc}");
    assert_eq!(
        project.read("new-runs"),
        "ran\n",
        "the new test ran more than once"
    );
    assert_eq!(
        project.read("user-runs"),
        "ran\n",
        "the user's suite ran more than once"
    );
}

// ---- follow-up rounds ----------------------------------------------------------------------

/// A package whose `Mode` has three branches; the user's own test covers the default one.
const MODES_GO: &str = "package mode\n\nvar current = \"quiet\"\n\n// SetMode switches the package's mode.\nfunc SetMode(m string) { current = m }\n\n// Mode says the package's mode.\nfunc Mode() string {\n\tswitch current {\n\tcase \"loud\":\n\t\treturn \"LOUD\"\n\tcase \"off\":\n\t\treturn \"\"\n\t}\n\treturn current\n}\n";

/// Round one covers `off` and puts the mode back; the follow-up for the `loud` branch leaves
/// the package loud, which breaks the user's test that runs after it.
fn follow_up_answers() -> HashMap<String, String> {
    [
        (
            "TestSetMode",
            "func TestSetMode(t *testing.T) {\n\tSetMode(\"quiet\")\n\tif Mode() != \"quiet\" {\n\t\tt.Fatal(\"want quiet\")\n\t}\n}",
        ),
        (
            "TestMode",
            "func TestMode(t *testing.T) {\n\tSetMode(\"off\")\n\tdefer SetMode(\"quiet\")\n\tif Mode() != \"\" {\n\t\tt.Fatal(\"want empty when off\")\n\t}\n}",
        ),
        (
            "TestMode_2",
            "func TestMode_2(t *testing.T) {\n\tSetMode(\"loud\")\n\tif Mode() != \"LOUD\" {\n\t\tt.Fatal(\"want LOUD\")\n\t}\n}",
        ),
    ]
    .into_iter()
    .map(|(name, code)| (name.to_owned(), code.to_owned()))
    .collect()
}

/// `--coverage-rounds`: a follow-up round's tests are guarded like the first round's — the
/// follow-up's edit is undone (round one's kept tests stay), reported, and the run exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coverage_follow_up_that_breaks_a_users_test_is_rolled_back_and_reported() {
    let log = Log::default();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Competent {
            log: log.clone(),
            answers: follow_up_answers(),
            delay: Duration::ZERO,
        })
        .mount(&server)
        .await;
    let project = Project::new();
    project
        .write("go.mod", GO_MOD)
        .write("mode.go", MODES_GO)
        .write("zz_start_test.go", USERS_START_TEST);
    let doc = run(with_toolchains(generate_llm(
        &project,
        &server,
        &["--coverage", "--coverage-rounds", "1", "--format", "json"],
    )))
    .await
    .code(1)
    .json();
    let asked: Vec<String> = log.asked().concat();
    assert!(asked.iter().any(|name| name == "TestMode_2"), "{asked:?}");
    let rolled_back = &doc["verify"]["rolled_back"];
    assert_eq!(rolled_back.as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(rolled_back[0]["broken"][0], "TestStartsQuiet", "{doc}");
    let tests = project.read("mode_test.go");
    assert!(
        tests.contains("func TestMode("),
        "round one's test stays:\n{tests}"
    );
    assert!(
        !tests.contains("TestMode_2"),
        "the follow-up stays:\n{tests}"
    );
    let suite = toolchain(project.root(), "go", &["test", "-count=1", "-v", "."]);
    assert!(suite.contains("--- PASS: TestStartsQuiet"), "{suite}");
}

/// A module whose test leaves a panic hook that aborts the process: the user's test that
/// catches a panic takes the whole test binary down with it, and every test it had not
/// reported yet goes unseen. The stopped binary is what broke, and the edit is undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_module_that_makes_the_test_binary_abort_is_rolled_back() {
    let log = Log::default();
    let answers = [(
        "test_level".to_owned(),
        "#[test]\nfn test_level() {\n    std::panic::set_hook(Box::new(|_| std::process::abort()));\n    assert_eq!(level(), 1);\n}".to_owned(),
    )]
    .into();
    let server = serve_rust(&log, answers).await;
    let lib = "/// How loud the crate is.\npub fn level() -> u32 {\n    1\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn survives_a_panic() {\n        std::thread::sleep(std::time::Duration::from_millis(300));\n        assert!(std::panic::catch_unwind(|| panic!(\"inside\")).is_err());\n    }\n}\n";
    let project = Project::new();
    project
        .write(
            "Cargo.toml",
            CARGO_TOML.replace("guarded_loudness", "guarded_abort"),
        )
        .write("src/lib.rs", lib);
    let doc = run(with_toolchains(generate_llm(
        &project,
        &server,
        &["--verify", "--format", "json"],
    )))
    .await
    .code(1)
    .json();
    let rolled_back = &doc["verify"]["rolled_back"];
    assert_eq!(
        rolled_back[0]["broken"][0], "test binary of src/lib.rs",
        "{doc}"
    );
    assert!(
        rolled_back[0]["failure"]
            .as_str()
            .unwrap()
            .contains("stopped before reporting all its tests"),
        "{doc}"
    );
    assert_eq!(project.read("src/lib.rs"), lib);
    assert!(!project.exists("src/lib_tests.rs"));
}
