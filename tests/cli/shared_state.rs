//! Shared state on a real PostgreSQL server (started per test by `test_server`): several
//! `testsmith` processes on several copies of one project — as CI runners or laptops would
//! be — share one answer cache and one job queue.

use crate::fake_llm::{API_KEY, FakeLlm};
use crate::test_server::{PASSWORD, TestServer};
use crate::util::{Project, TestRun};
use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const FILES: usize = 10;
const FUNCTIONS: usize = 3;

/// A copy of the same Go package of `FILES` files with `FUNCTIONS` functions each.
fn copy_of_project() -> Project {
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

/// `generate --llm` in `project` against `fake`, its state in the database at `url` (given
/// as the environment variable: CI's way).
fn generate(project: &Project, fake: &FakeLlm, url: &str, extra: &[&str]) -> TestRun {
    let base_url = fake.base_url();
    let mut args = vec![
        "generate",
        "--llm",
        "--concurrency",
        "2",
        "--base-url",
        &base_url,
        "--model",
        "fake-1",
    ];
    args.extend_from_slice(extra);
    project
        .testsmith(&args)
        .env("OPENAI_API_KEY", API_KEY)
        .env("TESTSMITH_STATE_URL", url)
}

fn spawn(run: TestRun) -> Child {
    let mut run = run;
    std::mem::replace(run.command(), std::process::Command::new("true"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("testsmith starts")
}

async fn finish(child: Child) -> crate::util::Finished {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap().into())
        .await
        .unwrap()
}

async fn wait_for_requests(fake: &FakeLlm, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.log.count() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How many times the fake was asked for each test name.
fn times_asked(fake: &FakeLlm) -> HashMap<String, usize> {
    let mut asked = HashMap::new();
    for names in fake.log.asked() {
        for name in names {
            *asked.entry(name).or_default() += 1;
        }
    }
    asked
}

/// Every member's test is in `project`, exactly once.
fn assert_every_test_once(project: &Project) {
    for f in 0..FILES {
        let text = project.read(&format!("calc/f{f}_test.go"));
        for n in 0..FUNCTIONS {
            let test = format!("func TestF{f}x{n}(");
            assert_eq!(
                text.matches(&test).count(),
                1,
                "{test} in f{f}_test.go:\n{text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machines_sharing_one_database_ask_each_member_once_and_a_late_one_takes_nothing_held() {
    let Some(server) = TestServer::start() else {
        return;
    };
    let url = server.database("team");
    let fake = FakeLlm::competent(Duration::from_millis(150)).await;
    let copies = [copy_of_project(), copy_of_project(), copy_of_project()];
    let first = spawn(generate(&copies[0], &fake, &url, &["-v"]));
    let second = spawn(generate(&copies[1], &fake, &url, &["-v"]));
    // The third starts while the first two have jobs in flight.
    wait_for_requests(&fake, 3).await;
    let third = spawn(generate(&copies[2], &fake, &url, &["-v"]));
    let runs = [
        finish(first).await,
        finish(second).await,
        finish(third).await,
    ];
    for run in runs {
        let run = run.success();
        assert!(
            !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
            "the password was printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    let asked = times_asked(&fake);
    assert_eq!(asked.len(), FILES * FUNCTIONS, "{asked:?}");
    assert!(
        asked.values().all(|&times| times == 1),
        "a member was asked more than once in total: {asked:?}"
    );
    for copy in &copies {
        assert_every_test_once(copy);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_killed_mid_run_is_rerun_with_no_test_lost_or_duplicated() {
    let Some(server) = TestServer::start() else {
        return;
    };
    let url = server.database("crash");
    let fake = FakeLlm::competent(Duration::from_millis(100)).await;
    let (killed, survivor) = (copy_of_project(), copy_of_project());
    let mut victim = spawn(generate(&killed, &fake, &url, &["-q"]));
    let other = spawn(generate(&survivor, &fake, &url, &["-q"]));
    wait_for_requests(&fake, 4).await;
    victim.kill().unwrap(); // SIGKILL: its leases stay behind, fresh
    victim.wait().unwrap();
    // The rerun on the killed copy releases its dead process's leases at once (the run lock
    // proves it dead); the other machine never takes them while they are fresh.
    let rerun = finish(spawn(generate(&killed, &fake, &url, &["-q"])));
    let (rerun, other) = tokio::join!(rerun, finish(other));
    rerun.success();
    other.success();
    assert_every_test_once(&killed);
    assert_every_test_once(&survivor);
    let queue = killed
        .testsmith(&["queue", "--format", "json"])
        .env("TESTSMITH_STATE_URL", &url)
        .run()
        .success();
    assert_eq!(
        queue.json()["jobs"],
        serde_json::json!([]),
        "jobs left behind"
    );
}

#[test]
fn the_shared_database_is_named_without_its_password() {
    let Some(server) = TestServer::start() else {
        return;
    };
    let url = server.database("stats");
    let project = copy_of_project();
    for args in [
        vec!["cache", "stats", "--state-url", &url],
        vec!["cache", "stats", "--format", "json", "--state-url", &url],
    ] {
        let run = project.testsmith(&args).run().success();
        assert!(run.stdout.contains("0 cached answers") || run.stdout.contains("\"entries\":0"));
        assert!(
            run.stdout.contains("postgres://postgres:***@127.0.0.1"),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
    }
    // A server that refuses: the error names the database, never the password.
    let wrong = url.replace(PASSWORD, &format!("{PASSWORD}-wrong"));
    let run = project
        .testsmith(&["queue", "-vv", "--state-url", &wrong])
        .run()
        .code(1);
    assert!(
        run.stderr.contains("password authentication failed"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
}
