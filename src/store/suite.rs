//! One queue-and-cache suite for every [`StateStore`]: the SQLite file and a real
//! PostgreSQL server (started by `test_server`) must pass the same cases.

use super::test_server::{PASSWORD, TestServer};
use super::{CacheLookup, JobState, Settlement, StateStore, Store};
use std::collections::HashSet;
use std::sync::Arc;

const MINUTE: i64 = 60_000;

/// Opens another handle on the same state, as another process (or machine) would.
type Open<'a> = &'a dyn Fn() -> Arc<dyn StateStore>;

/// One case of the suite.
type Case = fn(Open<'_>);
/// Makes a fresh, empty state named after a case; returns how to open handles on it.
type Fresh<'a> = &'a dyn Fn(&str) -> Box<dyn Fn() -> Arc<dyn StateStore>>;

/// Every case, by name.
const CASES: &[(&str, Case)] = &[
    (
        "answers_are_shared_by_every_handle",
        answers_are_shared_by_every_handle,
    ),
    (
        "a_job_is_recorded_once_and_leased_once",
        a_job_is_recorded_once_and_leased_once,
    ),
    (
        "a_held_job_is_reported_with_its_holder",
        a_held_job_is_reported_with_its_holder,
    ),
    (
        "a_fresh_lease_is_never_taken_over",
        a_fresh_lease_is_never_taken_over,
    ),
    ("settling_follows_the_rules", settling_follows_the_rules),
    (
        "a_copys_dead_leases_are_released",
        a_copys_dead_leases_are_released,
    ),
    (
        "racing_handles_lease_each_job_once",
        racing_handles_lease_each_job_once,
    ),
    (
        "dead_jobs_are_retried_and_clearing_keeps_done",
        dead_jobs_are_retried_and_clearing_keeps_done,
    ),
];

fn run_all(open_fresh: Fresh<'_>) {
    for (name, case) in CASES {
        let open = open_fresh(name);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&*open)));
        if let Err(panic) = outcome {
            eprintln!("suite case {name} failed");
            std::panic::resume_unwind(panic);
        }
    }
}

fn keys(jobs: &[super::Job]) -> Vec<&str> {
    jobs.iter().map(|job| job.key.as_str()).collect()
}

fn answers_are_shared_by_every_handle(open: Open<'_>) {
    let (one, two) = (open(), open());
    assert_eq!(one.cache_get_many(&["k"]).unwrap(), [CacheLookup::Miss]);
    one.cache_put_many(&[("k", "func TestX(t *testing.T) {}"), ("j", "1")])
        .unwrap();
    one.cache_put_many(&[("j", "2")]).unwrap();
    match &two.cache_get_many(&["k", "missing", "j"]).unwrap()[..] {
        [CacheLookup::Hit(k), CacheLookup::Miss, CacheLookup::Hit(j)] => {
            assert_eq!(k.value, "func TestX(t *testing.T) {}");
            assert_eq!(j.value, "2", "a later answer replaces the older one");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(two.cache_entries().unwrap(), 2);
    assert_eq!(two.integrity_check().unwrap(), Ok(()));
    assert_eq!(one.cache_clear().unwrap(), 2);
    assert_eq!(two.cache_entries().unwrap(), 0);
}

fn a_job_is_recorded_once_and_leased_once(open: Open<'_>) {
    let store = open();
    let held = store
        .record_and_lease(&[("a", "{1}"), ("b", "{2}")], "copy/1", 0, MINUTE)
        .unwrap();
    assert_eq!(held, [None, None], "both recorded and leased");
    let again = store
        .record_and_lease(&[("a", "{other}")], "copy/2", 10, MINUTE)
        .unwrap();
    let job = again[0].as_ref().expect("held by copy/1");
    assert_eq!(job.state, JobState::Leased);
    assert_eq!(job.payload, "{1}", "recording again changes nothing");
    assert!(
        store
            .lease_jobs("copy/2", 20, MINUTE, 10)
            .unwrap()
            .is_empty()
    );
    let counts = store.queue_counts(20).unwrap();
    assert_eq!((counts.leased, counts.waiting()), (2, 2));
}

fn a_held_job_is_reported_with_its_holder(open: Open<'_>) {
    let (one, two) = (open(), open());
    one.record_and_lease(&[("a", "{}")], "copy-1/run", 0, MINUTE)
        .unwrap();
    let seen = two
        .record_and_lease(&[("a", "{}")], "copy-2/run", 1, MINUTE)
        .unwrap();
    let job = seen[0].as_ref().unwrap();
    assert_eq!(job.lease_owner.as_deref(), Some("copy-1/run"));
    // Its holder asking again is told it holds it already.
    let mine = one
        .record_and_lease(&[("a", "{}")], "copy-1/run", 2, MINUTE)
        .unwrap();
    assert_eq!(
        mine[0].as_ref().unwrap().lease_owner.as_deref(),
        Some("copy-1/run")
    );
}

fn a_fresh_lease_is_never_taken_over(open: Open<'_>) {
    let (one, two) = (open(), open());
    one.record_and_lease(&[("a", "{}")], "one/run", 0, MINUTE)
        .unwrap();
    // The holder's heartbeat keeps the lease fresh past its first expiry...
    assert_eq!(one.renew_leases("one/run", MINUTE - 1, MINUTE).unwrap(), 1);
    assert!(
        two.lease_jobs("two/run", MINUTE + 10, MINUTE, 5)
            .unwrap()
            .is_empty()
    );
    assert!(
        two.record_and_lease(&[("a", "{}")], "two/run", MINUTE + 10, MINUTE)
            .unwrap()[0]
            .is_some()
    );
    // ...and once it stops (the process died), the lease is taken over after it expires.
    let taken = two.lease_jobs("two/run", 2 * MINUTE, MINUTE, 5).unwrap();
    assert_eq!(keys(&taken), ["a"]);
    assert_eq!(taken[0].lease_owner.as_deref(), Some("two/run"));
    // The old holder's late report no longer applies; the new holder's does.
    let late = Settlement::Defer {
        key: "a",
        not_before_ms: 0,
        reason: "late",
    };
    assert_eq!(one.settle("one/run", &[late], 2 * MINUTE).unwrap(), [None]);
    assert_eq!(
        two.settle("two/run", &[Settlement::Complete { key: "a" }], 2 * MINUTE)
            .unwrap(),
        [Some(JobState::Done)]
    );
}

fn settling_follows_the_rules(open: Open<'_>) {
    let store = open();
    let jobs = [("done", "{}"), ("later", "{}"), ("bad", "{}")];
    store.record_and_lease(&jobs, "o/1", 0, MINUTE).unwrap();
    let settled = store
        .settle(
            "o/1",
            &[
                Settlement::Complete { key: "done" },
                Settlement::Defer {
                    key: "later",
                    not_before_ms: 5_000,
                    reason: "quota",
                },
                Settlement::Fail {
                    key: "bad",
                    error: "HTTP 500 #1",
                    max_attempts: 2,
                    retry_at_ms: 100,
                },
            ],
            10,
        )
        .unwrap();
    assert_eq!(
        settled,
        [
            Some(JobState::Done),
            Some(JobState::Pending),
            Some(JobState::Pending)
        ]
    );
    // Completing is idempotent, and done work is never handed out again.
    assert_eq!(
        store
            .settle("o/1", &[Settlement::Complete { key: "done" }], 11)
            .unwrap(),
        [Some(JobState::Done)]
    );
    assert!(
        store
            .record_and_lease(&[("done", "{}")], "o/2", 12, MINUTE)
            .unwrap()[0]
            .as_ref()
            .is_some_and(|job| job.state == JobState::Done)
    );
    // A deferred job waits for its time; a failed one for its retry time.
    assert_eq!(
        keys(&store.lease_jobs("o/1", 99, MINUTE, 9).unwrap()),
        [] as [&str; 0]
    );
    assert_eq!(
        keys(&store.lease_jobs("o/1", 100, MINUTE, 9).unwrap()),
        ["bad"]
    );
    let dead = store
        .settle(
            "o/1",
            &[Settlement::Fail {
                key: "bad",
                error: "HTTP 500 #2",
                max_attempts: 2,
                retry_at_ms: 200,
            }],
            150,
        )
        .unwrap();
    assert_eq!(dead, [Some(JobState::Dead)]);
    let counts = store.queue_counts(4_999).unwrap();
    assert_eq!(
        (counts.ready, counts.deferred, counts.done, counts.dead),
        (0, 1, 1, 1)
    );
    let later = store.lease_jobs("o/1", 5_000, MINUTE, 9).unwrap();
    assert_eq!(keys(&later), ["later"]);
    assert_eq!(later[0].attempts, 0, "a deferral is no failed attempt");
    assert_eq!(later[0].last_error.as_deref(), Some("quota"));
    let dead = store.jobs(Some(JobState::Dead)).unwrap();
    assert_eq!(
        (dead[0].attempts, dead[0].last_error.as_deref()),
        (2, Some("HTTP 500 #2"))
    );
}

fn a_copys_dead_leases_are_released(open: Open<'_>) {
    let store = open();
    store
        .record_and_lease(&[("a", "{}"), ("b", "{}")], "host#c1/pid1", 0, MINUTE)
        .unwrap();
    assert_eq!(store.release_dead_leases("host#c1", 1).unwrap(), 2);
    assert_eq!(
        keys(&store.lease_jobs("host#c1/pid2", 2, MINUTE, 9).unwrap()),
        ["a", "b"],
        "released at once, not after the lease expires"
    );
}

fn racing_handles_lease_each_job_once(open: Open<'_>) {
    let jobs: Vec<String> = (0..60).map(|i| format!("job-{i:02}")).collect();
    let handles: Vec<Arc<dyn StateStore>> = (0..3).map(|_| open()).collect();
    let taken: Vec<Vec<String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = handles
            .iter()
            .enumerate()
            .map(|(worker, store)| {
                let jobs = &jobs;
                scope.spawn(move || {
                    let owner = format!("w{worker}/run");
                    let mut mine = Vec::new();
                    // Each worker records the same files' jobs in its own order, as
                    // machines starting at different files would.
                    for chunk in jobs.chunks(5).cycle().skip(worker * 4).take(12) {
                        let pairs: Vec<(&str, &str)> =
                            chunk.iter().map(|key| (key.as_str(), "{}")).collect();
                        let held = store.record_and_lease(&pairs, &owner, 0, MINUTE).unwrap();
                        for (key, hold) in chunk.iter().zip(held) {
                            if hold.is_none() {
                                mine.push(key.clone());
                            }
                        }
                    }
                    mine.extend(
                        keys(&store.lease_jobs(&owner, 0, MINUTE, 100).unwrap())
                            .iter()
                            .map(|k| k.to_string()),
                    );
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let all: Vec<&String> = taken.iter().flatten().collect();
    let unique: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a job was leased twice: {taken:?}");
    assert_eq!(unique.len(), jobs.len(), "every job was leased by someone");
}

fn dead_jobs_are_retried_and_clearing_keeps_done(open: Open<'_>) {
    let store = open();
    let jobs = [("a", "{}"), ("b", "{}"), ("c", "{}")];
    store.record_and_lease(&jobs, "o/1", 0, MINUTE).unwrap();
    let fail = Settlement::Fail {
        key: "b",
        error: "no",
        max_attempts: 1,
        retry_at_ms: 0,
    };
    store
        .settle("o/1", &[Settlement::Complete { key: "a" }, fail], 1)
        .unwrap();
    assert_eq!(store.retry_dead_jobs(2).unwrap(), 1);
    let retried = store.jobs(Some(JobState::Pending)).unwrap();
    assert_eq!((keys(&retried), retried[0].attempts), (vec!["b"], 0));
    assert_eq!(store.clear_queue().unwrap(), 2);
    assert_eq!(keys(&store.jobs(None).unwrap()), ["a"]);
}

#[test]
fn the_sqlite_backend_passes_the_suite() {
    let dirs = std::sync::Mutex::new(Vec::new());
    run_all(&|_| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        dirs.lock().unwrap().push(dir);
        Box::new(move || Arc::new(Store::open(&path).unwrap()) as Arc<dyn StateStore>)
    });
}

#[test]
fn the_postgres_backend_passes_the_suite() {
    let Some(server) = TestServer::start() else {
        return;
    };
    run_all(&|name| {
        let url = server.database(&name.to_lowercase());
        Box::new(move || Arc::new(super::PgStore::connect(&url).unwrap()) as Arc<dyn StateStore>)
    });
}

#[test]
fn the_shared_schema_is_migrated_once_and_a_newer_one_refused() {
    let Some(server) = TestServer::start() else {
        return;
    };
    let url = server.database("schema");
    let store = super::PgStore::connect(&url).unwrap();
    assert_eq!(store.schema_version().unwrap(), 1);
    assert!(!store.location().contains(PASSWORD), "{}", store.location());
    store.cache_put_many(&[("k", "v")]).unwrap();
    // Two machines starting at once: the migrations run once, the data stays.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| super::PgStore::connect(&url).unwrap());
        }
    });
    assert_eq!(store.cache_entries().unwrap(), 1);
    store
        .transaction(|tx| tx.execute("UPDATE testsmith_schema SET version = 99", &[]))
        .unwrap();
    let error = super::PgStore::connect(&url).unwrap_err();
    let shown = crate::errors::AppError::Store(error).render();
    assert!(shown.contains("schema version 99"), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
}

#[test]
fn only_the_copys_own_leases_are_released_from_a_shared_queue() {
    let Some(server) = TestServer::start() else {
        return;
    };
    let store = super::PgStore::connect(&server.database("copies")).unwrap();
    store
        .record_and_lease(&[("mine", "{}")], "host#c1/pid1", 0, MINUTE)
        .unwrap();
    store
        .record_and_lease(&[("theirs", "{}")], "host#c10/pid1", 0, MINUTE)
        .unwrap();
    assert_eq!(store.release_dead_leases("host#c1", 1).unwrap(), 1);
    let theirs = store.jobs(Some(JobState::Leased)).unwrap();
    assert_eq!(keys(&theirs), ["theirs"], "another machine's lease is kept");
}
