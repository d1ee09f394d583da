//! A state database testsmith cannot use — garbage bytes, a damaged page, a schema from a
//! newer testsmith — never stops a run or a `cache clear` / `queue clear`: a damaged file is
//! moved aside with a warning naming where it went, and the run goes on with a fresh one;
//! a newer one is cleared without its schema being touched. Real SQLite files throughout.

use crate::fake_llm::{FakeLlm, generate_llm, one_go_function};
use crate::util::{Finished, Project, run_async as run};
use rusqlite::Connection;
use std::path::PathBuf;
use std::time::Duration;

const STATE: &str = ".testsmith/state.db";
const GARBAGE: &[u8] = b"not a database, just a file someone overwrote\n";

#[test]
fn generate_verify_with_nothing_to_write_creates_no_state_database() {
    let project = one_go_function();
    project.write(
        "calc/calc_test.go",
        "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"1+2\")\n\t}\n}\n",
    );
    let finished = project.testsmith(&["generate", "--verify"]).run().success();
    assert!(
        finished.stdout.contains("1 already tested"),
        "{}",
        finished.stdout
    );
    assert!(
        !project.exists(STATE),
        "a run that wrote nothing made {STATE}"
    );
}

/// The path a warning on stderr says the unusable database was moved to; it exists.
#[track_caller]
fn moved_to(finished: &Finished) -> PathBuf {
    let line = finished
        .stderr
        .lines()
        .find(|line| line.contains("moved it to "))
        .unwrap_or_else(|| panic!("no warning names where it went: {}", finished.stderr));
    let path = line.split("moved it to ").nth(1).unwrap();
    let path = PathBuf::from(path.split(' ').next().unwrap());
    assert!(path.exists(), "{} does not exist", path.display());
    assert!(
        path.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("state.db.corrupt-"),
        "{}",
        path.display()
    );
    path
}

/// A real SQLite database with the cache table of schema 1, many rows, and one page in the
/// middle overwritten with garbage: it opens, and breaks only when that page is read.
fn damaged_database(project: &Project) {
    std::fs::create_dir_all(project.path(".testsmith")).unwrap();
    let path = project.path(STATE);
    let db = Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TABLE cache_entries (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL,
             checksum TEXT NOT NULL, created_at_ms INTEGER NOT NULL) WITHOUT ROWID;
         CREATE TABLE jobs (key TEXT PRIMARY KEY NOT NULL, payload TEXT NOT NULL,
             state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
             not_before_ms INTEGER NOT NULL DEFAULT 0, lease_owner TEXT,
             lease_until_ms INTEGER, last_error TEXT, created_at_ms INTEGER NOT NULL,
             updated_at_ms INTEGER NOT NULL) WITHOUT ROWID;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    for n in 0..200 {
        db.execute(
            "INSERT INTO cache_entries VALUES (?1, ?2, 'c', 0)",
            (format!("key-{n:04}"), "answer ".repeat(150)),
        )
        .unwrap();
    }
    drop(db);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 40 * 4096, "{} bytes", bytes.len());
    bytes[20 * 4096..21 * 4096].fill(0xA5);
    std::fs::write(&path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_state_db_is_moved_aside_and_the_run_goes_on_with_a_fresh_one() {
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let project = one_go_function();
    project.write(STATE, GARBAGE);
    let finished = run(generate_llm(&project, &fake.server, &[]))
        .await
        .success();
    let aside = moved_to(&finished);
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        GARBAGE,
        "kept byte for byte"
    );
    assert!(project.read("calc/calc_test.go").contains("func TestAdd("));
    assert_eq!(fake.log.count(), 1);
    // The fresh database works: the answer was cached, and a rerun asks nothing.
    let stats = project.testsmith(&["cache", "stats"]).run().success();
    assert!(
        stats.stdout.starts_with("1 cached answers") && stats.stdout.contains("integrity: ok"),
        "{}",
        stats.stdout
    );
}

#[test]
fn cache_clear_on_a_damaged_database_moves_it_aside_and_succeeds() {
    let project = one_go_function();
    damaged_database(&project);
    let finished = project.testsmith(&["cache", "clear"]).run().success();
    assert_eq!(finished.stdout, "removed 0 cached answers\n");
    moved_to(&finished);
    let stats = project.testsmith(&["cache", "stats"]).run().success();
    assert!(stats.stdout.contains("integrity: ok"), "{}", stats.stdout);
}

#[test]
fn queue_clear_on_a_garbage_file_moves_it_aside_and_succeeds() {
    let project = one_go_function();
    project.write(STATE, GARBAGE);
    let finished = project.testsmith(&["queue", "clear"]).run().success();
    assert_eq!(finished.stdout, "removed 0 jobs\n");
    moved_to(&finished);
    project.testsmith(&["queue"]).run().success();
}

#[test]
fn clearing_a_newer_testsmiths_database_keeps_its_schema() {
    let project = one_go_function();
    damaged_database(&project);
    // A clean copy this time, from a testsmith ahead of this one.
    std::fs::remove_file(project.path(STATE)).unwrap();
    let db = Connection::open(project.path(STATE)).unwrap();
    db.execute_batch(
        "CREATE TABLE cache_entries (key TEXT PRIMARY KEY, value TEXT, checksum TEXT,
             created_at_ms INTEGER, model TEXT);
         CREATE TABLE jobs (key TEXT PRIMARY KEY, state TEXT);
         INSERT INTO cache_entries VALUES ('a', 'v', 'c', 0, 'm'), ('b', 'v', 'c', 0, 'm');
         INSERT INTO jobs VALUES ('j1', 'pending'), ('j2', 'done');
         PRAGMA user_version = 99;",
    )
    .unwrap();
    drop(db);
    // A run refuses it: that testsmith can still use it.
    let refused = project.testsmith(&["cache", "stats"]).run().code(1);
    assert!(refused.stderr.contains("newer"), "{}", refused.stderr);
    let cleared = project.testsmith(&["cache", "clear"]).run().success();
    assert_eq!(cleared.stdout, "removed 2 cached answers\n");
    let cleared = project.testsmith(&["queue", "clear"]).run().success();
    assert_eq!(cleared.stdout, "removed 1 jobs\n");
    let db = Connection::open(project.path(STATE)).unwrap();
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 99);
    let jobs: Vec<String> = db
        .prepare("SELECT key FROM jobs")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(jobs, ["j2"]);
}

/// Answers every request with prose and no code: each attempt at the member fails.
struct Hopeless;

impl wiremock::Respond for Hopeless {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        crate::fake_llm::completion(
            "I'm sorry, but I can't write tests without more context.",
            "stop",
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_dead_lettered_by_this_run_or_left_dead_is_never_exit_0() {
    let fake = FakeLlm::bare().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Hopeless)
        .mount(&fake.server)
        .await;
    let project = one_go_function();
    let requests = || async { fake.server.received_requests().await.unwrap().len() };
    // Three runs, one attempt each: the third dead-letters the job.
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(run(generate_llm(&project, &fake.server, &[])).await.code);
    }
    assert_eq!(codes, [65, 65, 65]);
    let queue = project
        .testsmith(&["queue", "--format", "json"])
        .run()
        .success();
    assert_eq!(queue.json()["jobs"][0]["state"], "dead", "{}", queue.stdout);
    // A fourth run asks nothing about it, says why the member has no test, and is no 0.
    let asked = requests().await;
    let fourth = run(generate_llm(&project, &fake.server, &[]))
        .await
        .code(65);
    assert_eq!(requests().await, asked);
    let said = format!("{}{}", fourth.stdout, fourth.stderr);
    assert!(said.contains("dead-lettered after 3 attempts"), "{said}");
    assert!(said.contains("testsmith queue retry-dead"), "{said}");
    assert!(!project.exists("calc/calc_test.go"));
}
