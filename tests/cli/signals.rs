//! Stopping a run under verification: SIGTERM or SIGINT sent to testsmith's own PID (not
//! its process group, as a terminal or a CI runner would) while a Go test binary runs ends
//! `go`, the confining `__confine` parent and the test binary, and testsmith exits with 130
//! leaving no process of the run behind.

use crate::fake_llm::{FakeLlm, generate_llm};
use crate::util::{Finished, Project, TestRun};
use crate::verify::with_toolchains;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the toolchain may take to compile the package and start its test binary.
const START_LIMIT: Duration = Duration::from_secs(180);

/// How long testsmith may take to stop once signalled before the test calls it hung.
const STOP_LIMIT: Duration = Duration::from_secs(120);

/// The runs' test timeout: far beyond [`STOP_LIMIT`], so only the signal can end them.
const TEST_TIMEOUT: &str = "3600";

/// A Go module whose one function is tested by a test that never ends on its own (it
/// asserts, as every kept test must).
fn package_with_test(test_body: &str) -> Project {
    let project = Project::new();
    project.write("go.mod", "module sleepy\n\ngo 1.19\n").write(
        "nap/nap.go",
        "package nap\n\n// Nap returns x.\nfunc Nap(x int) int { return x }\n",
    );
    if !test_body.is_empty() {
        project.write("nap/nap_test.go", test_body);
    }
    project
}

const SLEEPING_TEST: &str = "package nap\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\n\
    func TestNap(t *testing.T) {\n\ttime.Sleep(10 * time.Minute)\n\tif Nap(1) != 1 {\n\t\t\
    t.Fatal(\"Nap(1) != 1\")\n\t}\n}\n";

/// Starts `run` without waiting for it, its output captured.
fn start(mut run: TestRun) -> Child {
    let mut command = std::mem::replace(run.command(), Command::new("true"));
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("testsmith starts")
}

/// One process as `/proc/<pid>/stat` shows it: its parent, its state and when it started
/// (which tells a process from a later one that got its PID).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Process {
    pid: u32,
    parent: u32,
    state: char,
    started: u64,
    name: String,
}

fn stat(pid: u32) -> Option<Process> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let name = stat[stat.find('(')? + 1..stat.rfind(')')?].to_owned();
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some(Process {
        pid,
        state: fields.first()?.chars().next()?,
        parent: fields.get(1)?.parse().ok()?,
        // Field 22 of stat; the name and pid (1, 2) come before the slice.
        started: fields.get(19)?.parse().ok()?,
        name,
    })
}

fn all_processes() -> Vec<Process> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter_map(stat)
        .collect()
}

/// Every process below `root`.
fn descendants(root: u32) -> Vec<Process> {
    let processes = all_processes();
    let mut found: Vec<Process> = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for process in &processes {
            if process.parent == parent && !found.iter().any(|p| p.pid == process.pid) {
                found.push(process.clone());
                frontier.push(process.pid);
            }
        }
    }
    found
}

/// Whether the process is still running (not gone, not a zombie, not a newer process that
/// took its PID).
fn still_running(process: &Process) -> bool {
    stat(process.pid).is_some_and(|now| now.started == process.started && now.state != 'Z')
}

/// Processes that name the project folder on their command line (the confining parent
/// does: `__confine --dir <project>`; the test binary lives in the project's build folder).
fn naming(root: &Path) -> Vec<(u32, String)> {
    let root = root.to_string_lossy().into_owned();
    all_processes()
        .into_iter()
        .filter_map(|process| {
            let cmdline = std::fs::read(format!("/proc/{}/cmdline", process.pid)).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (cmdline.contains(&root) && process.state != 'Z').then_some((process.pid, cmdline))
        })
        .collect()
}

/// Waits until the Go test binary (`nap.test`) runs below testsmith; returns everything
/// below testsmith at that moment.
fn wait_for_test_binary(testsmith: &mut Child) -> Vec<Process> {
    let deadline = Instant::now() + START_LIMIT;
    loop {
        let below = descendants(testsmith.id());
        if below.iter().any(|process| process.name == "nap.test") {
            return below;
        }
        if let Some(status) = testsmith.try_wait().unwrap() {
            panic!("testsmith ended ({status}) before the test binary started");
        }
        assert!(
            Instant::now() < deadline,
            "the test binary did not start: {below:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The private folders commands were given under the project's `.testsmith/build/`
/// (`tmp-*`, `coverage-*`), leaving out the caches that are meant to stay.
fn private_folders(project: &Project) -> Vec<String> {
    std::fs::read_dir(project.path(".testsmith/build"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| !matches!(name.as_str(), "go-cache" | "target"))
                .collect()
        })
        .unwrap_or_default()
}

/// Sends `signal` to testsmith's PID alone once its test binary runs, and checks that every
/// process of the run is gone when testsmith has exited, with 130, and its private folders
/// with them.
fn stop_mid_verification(project: &Project, mut testsmith: Child, signal: &str) -> Finished {
    let below = wait_for_test_binary(&mut testsmith);
    assert!(
        !private_folders(project).is_empty(),
        "the running command has its private folder"
    );
    assert!(
        below.len() >= 2,
        "go (exec'd by the confining `__confine`) and the test binary: {below:?}"
    );
    assert!(
        !naming(project.root()).is_empty(),
        "the marker scan finds the running commands"
    );
    let sent = Command::new("kill")
        .args([signal, &testsmith.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    // A hang guard, not a timing: the test binary never ends on its own, and the run's test
    // timeout is an hour.
    let deadline = Instant::now() + STOP_LIMIT;
    while testsmith.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = testsmith.kill();
            panic!("testsmith still runs {STOP_LIMIT:?} after {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let finished = Finished::from(testsmith.wait_with_output().unwrap());
    let left: Vec<&Process> = below.iter().filter(|p| still_running(p)).collect();
    assert!(
        left.is_empty(),
        "left running after testsmith exited: {left:?}"
    );
    assert_eq!(naming(project.root()), Vec::new());
    assert_eq!(private_folders(project), Vec::<String>::new());
    finished.code(130)
}

#[test]
fn sigterm_during_verify_ends_go_and_its_test_binary_and_exits_130() {
    let project = package_with_test(SLEEPING_TEST);
    let testsmith = start(with_toolchains(project.testsmith(&[
        "verify",
        "--test-timeout",
        TEST_TIMEOUT,
    ])));
    let finished = stop_mid_verification(&project, testsmith, "-TERM");
    assert!(!finished.stderr.contains("panicked"), "{}", finished.stderr);
    // Nothing was touched: `verify` only reports.
    assert_eq!(project.read("nap/nap_test.go"), SLEEPING_TEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_a_models_test_runs_stops_the_llm_run_with_130_and_keeps_the_test() {
    // The model's test loops until something stops it; it asserts, so the answer check
    // keeps it and verification runs it.
    let fake = FakeLlm::bare().await;
    let answers = HashMap::from([(
        "TestNap".to_owned(),
        "func TestNap(t *testing.T) {\n\tfor Nap(1) == 1 {\n\t}\n\tt.Fatal(\"Nap changed\")\n}"
            .to_owned(),
    )]);
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(crate::fake_llm::Competent {
            log: fake.log.clone(),
            answers,
            delay: Duration::ZERO,
        })
        .mount(&fake.server)
        .await;
    let project = package_with_test("");
    let run = with_toolchains(generate_llm(
        &project,
        &fake.server,
        &["--verify", "--test-timeout", TEST_TIMEOUT],
    ));
    let root = project.root().to_owned();
    let (finished, project) = tokio::task::spawn_blocking(move || {
        let testsmith = start(run);
        (stop_mid_verification(&project, testsmith, "-INT"), project)
    })
    .await
    .unwrap();
    assert_eq!(fake.log.count(), 1);
    assert!(
        finished.stderr.contains("interrupted"),
        "the run says it was interrupted: {}",
        finished.stderr
    );
    // The test stays as written: an interrupted verification judged nothing.
    let test = std::fs::read_to_string(root.join("nap/nap_test.go")).unwrap();
    assert!(test.contains("func TestNap("), "{test}");
    drop(project);
}

/// A Go test main that waits while the package folder holds a file named `hold`, so the
/// test can kill testsmith with its test binary running, then let the next run through.
const HOLDING_TEST_MAIN: &str = "package nap\n\nimport (\n\t\"os\"\n\t\"testing\"\n\t\"time\"\n)\n\n\
    func TestMain(m *testing.M) {\n\tfor {\n\t\tif _, err := os.Stat(\"hold\"); err != nil {\n\t\t\t\
    break\n\t\t}\n\t\ttime.Sleep(20 * time.Millisecond)\n\t}\n\tos.Exit(m.Run())\n}\n";

/// The tests the project's state database holds as written but not verified.
fn marked_unverified(project: &Project) -> Vec<String> {
    let db = rusqlite::Connection::open(project.path(".testsmith/state.db")).unwrap();
    let mut select = db
        .prepare("SELECT name FROM unverified_tests ORDER BY name")
        .unwrap();
    select
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_kill_9_during_verification_leaves_the_tests_marked_and_the_next_run_verifies_them() {
    let project = package_with_test("");
    project
        .write(
            "nap/nap.go",
            "package nap\n\n// Nap returns x.\nfunc Nap(x int) int { return x }\n\n\
             // Doze returns 2x.\nfunc Doze(x int) int { return 2 * x }\n",
        )
        .write("nap/main_test.go", HOLDING_TEST_MAIN)
        .write("nap/hold", "");
    let args = ["generate", "--verify", "--format", "json"];
    let mut testsmith = start(with_toolchains(project.testsmith(&args)));
    let below = wait_for_test_binary(&mut testsmith);
    testsmith.kill().unwrap();
    let _ = testsmith.wait();
    // SIGKILL leaves testsmith no chance to end its commands: end them here.
    let orphans: Vec<String> = below.iter().map(|p| p.pid.to_string()).collect();
    let _ = Command::new("kill").arg("-KILL").args(&orphans).status();

    let written = project.read("nap/nap_test.go");
    assert!(written.contains("func TestNap("), "{written}");
    assert!(written.contains("func TestDoze("), "{written}");
    assert_eq!(marked_unverified(&project), ["TestDoze", "TestNap"]);

    std::fs::remove_file(project.path("nap/hold")).unwrap();
    let finished = with_toolchains(project.testsmith(&args)).run().success();
    let doc = finished.json();
    assert_eq!(doc["summary"]["written"], 0, "{doc}");
    let mut verified: Vec<(String, String)> = doc["verify"]["tests"]
        .as_array()
        .unwrap_or_else(|| panic!("nothing was verified: {doc}"))
        .iter()
        .map(|test| {
            (
                test["test"].as_str().unwrap().to_owned(),
                test["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    verified.sort();
    // Scaffolds with empty tables: they compile and run, and test nothing yet.
    assert_eq!(
        verified,
        [
            ("TestDoze".to_owned(), "empty".to_owned()),
            ("TestNap".to_owned(), "empty".to_owned())
        ]
    );
    assert_eq!(marked_unverified(&project), Vec::<String>::new());
    // Verified once is enough: a third run has nothing to verify.
    let doc = with_toolchains(project.testsmith(&args))
        .run()
        .success()
        .json();
    assert!(
        doc["verify"]["tests"]
            .as_array()
            .is_none_or(|tests| tests.is_empty()),
        "{doc}"
    );
}
