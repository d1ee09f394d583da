//! Crash safety of `generate --llm`: a child `testsmith` killed with SIGKILL at several points
//! of a run — before any request, with requests in flight, while files are being written —
//! then a rerun. Afterwards every member has exactly one test, every test file parses, the
//! state database passes `PRAGMA integrity_check`, and no job is left behind.

use crate::fake_llm::FakeLlm;
use crate::util::Project;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FILES: usize = 8;
const FUNCTIONS: usize = 3;

/// A Go package of `FILES` files with `FUNCTIONS` exported functions each.
fn package() -> Project {
    let project = Project::new();
    for f in 0..FILES {
        let mut source = String::from("package calc\n");
        for n in 0..FUNCTIONS {
            source.push_str(&format!(
                "\n// F{f}x{n} adds {n}.\nfunc F{f}x{n}(x int) int {{ return x + {n} }}\n"
            ));
        }
        project.write(&format!("calc/f{f}.go"), source);
    }
    project
}

fn generate(project: &Project, fake: &FakeLlm) -> Command {
    let base_url = fake.base_url();
    let mut run = project.testsmith(&[
        "generate",
        "--llm",
        "--fan-out",
        "--concurrency",
        "3",
        "--base-url",
        &base_url,
        "--model",
        "m",
        "-q",
    ]);
    std::mem::replace(run.command(), Command::new("true"))
}

/// Every test file of the package parses (gofmt reports syntax errors) and holds each
/// expected test exactly once.
fn assert_tests_whole_and_unique(project: &Project, expect_all: bool) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for f in 0..FILES {
        let path = project.path(&format!("calc/f{f}_test.go"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            assert!(!expect_all, "{} is missing", path.display());
            continue;
        };
        let gofmt = Command::new("gofmt")
            .arg("-e")
            .arg(&path)
            .output()
            .expect("gofmt runs");
        assert!(
            gofmt.status.success(),
            "{} does not parse: {}\n{text}",
            path.display(),
            String::from_utf8_lossy(&gofmt.stderr)
        );
        for n in 0..FUNCTIONS {
            let name = format!("TestF{f}x{n}");
            *seen.entry(name.clone()).or_default() +=
                text.matches(&format!("func {name}(")).count();
        }
    }
    for (name, count) in &seen {
        assert!(*count <= 1, "{name} written {count} times");
    }
    if expect_all {
        assert_eq!(
            seen.values().filter(|c| **c == 1).count(),
            FILES * FUNCTIONS,
            "{seen:?}"
        );
    }
}

fn assert_database_intact(project: &Project) {
    let db = rusqlite::Connection::open(project.path(".testsmith/state.db")).unwrap();
    let verdict: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    let unfinished: i64 = db
        .query_row(
            "SELECT count(*) FROM jobs WHERE state <> 'done'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(unfinished, 0, "jobs left behind after the rerun");
}

/// Kills the run once the server has seen `requests` requests (0: right after start).
async fn kill_after_requests(project: &Project, fake: &FakeLlm, requests: usize) {
    let before = fake.log.count();
    let mut child = generate(project, fake)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.log.count() < before + requests && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_at_any_point_loses_nothing_and_duplicates_nothing() {
    // 24 members, 3 at a time, 60 ms each: about 0.5 s of requests, files written throughout.
    let fake = FakeLlm::competent(Duration::from_millis(60)).await;
    for kill_at in [0, 1, 4, 10, 17, 23] {
        let project = package();
        kill_after_requests(&project, &fake, kill_at).await;
        assert_tests_whole_and_unique(&project, false);

        let sent_before_rerun = fake.log.count();
        let status = tokio::task::spawn_blocking({
            let mut rerun = generate(&project, &fake);
            move || rerun.status().unwrap()
        })
        .await
        .unwrap();
        assert!(
            status.success(),
            "the rerun after a kill at {kill_at} failed: {status}"
        );
        assert_tests_whole_and_unique(&project, true);
        assert_database_intact(&project);
        let asked_again = fake.log.count() - sent_before_rerun;
        assert!(
            asked_again <= FILES * FUNCTIONS - kill_at.saturating_sub(3),
            "the rerun after a kill at {kill_at} asked {asked_again} times: answers already \
             received were not reused"
        );
    }
}
