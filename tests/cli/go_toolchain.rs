//! Go tests testsmith writes, proved with the real Go toolchain: `gofmt -l` lists none of the
//! test files, `go vet` is clean, and `go test` passes (scaffolds have empty tables, so
//! passing is all they can do; a model's tests must pass too). On the bundled example, on
//! the generation fixtures, and on a real third-party package: google/uuid from Debian's
//! golang-github-google-uuid-dev, copied into a temp dir.
//!
//! The go tool runs offline (`GOPROXY=off`, `GOFLAGS=-mod=mod`) with one build cache shared by
//! every test and run, so that the standard library is compiled once.

use crate::fake_llm::{FakeLlm, generate_llm};
use crate::util::{Project, copy_dir, run_async};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Where Debian's golang-github-google-uuid-dev puts the package's sources.
const UUID_SOURCES: &str = "/usr/share/gocode/src/github.com/google/uuid";

/// The build cache the go tool shares across tests.
pub(crate) fn go_cache() -> PathBuf {
    let cache = std::env::temp_dir().join("testsmith-go-toolchain-cache");
    std::fs::create_dir_all(&cache).unwrap();
    cache
}

/// `program args` in `dir`, offline, with the shared cache; panics with its output unless it
/// succeeds. Returns stdout.
#[track_caller]
pub(crate) fn go_tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GOCACHE", go_cache())
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOWORK", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "on")
        .env("GOPATH", go_cache().join("gopath"))
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run {program} ({error}); .ci/run installs Debian's golang-go")
        });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`{program} {}` failed in {}:\n{stdout}\n{}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The `_test.go` files under `dir`, relative to it, sorted.
pub(crate) fn test_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with("_test.go") {
                let relative = path.strip_prefix(dir).unwrap();
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

/// gofmt, vet and test over the Go module at `dir`: no test file needs formatting, vet finds
/// nothing, every test passes (skipped ones count as passing).
#[track_caller]
pub(crate) fn assert_go_accepts(dir: &Path) {
    let files = test_files(dir);
    let mut gofmt_args = vec!["-l"];
    gofmt_args.extend(files.iter().map(String::as_str));
    let unformatted = go_tool(dir, "gofmt", &gofmt_args);
    assert_eq!(unformatted, "", "gofmt would change these test files");
    go_tool(dir, "go", &["vet", "./..."]);
    let run = go_tool(dir, "go", &["test", "-count=1", "./..."]);
    assert!(!run.contains("FAIL"), "{run}");
}

/// Asserts that every line of `before` appears in `after`, in order.
#[track_caller]
fn assert_keeps_every_line(before: &str, after: &str) {
    let mut remaining = after.lines();
    for line in before.lines() {
        assert!(
            remaining.any(|candidate| candidate == line),
            "line {line:?} of the original is missing or out of order in:\n{after}"
        );
    }
}

fn written(doc: &serde_json::Value) -> u64 {
    doc["summary"]["written"].as_u64().unwrap()
}

#[test]
fn scaffolds_for_the_example_pass_gofmt_vet_and_test_and_a_second_run_changes_nothing() {
    let project = Project::new();
    project.copy_fixture("example/go", "go");
    let doc = project
        .testsmith(&["generate", "--format", "json", "go"])
        .run()
        .success()
        .json();
    assert_eq!(written(&doc), 9);
    assert_go_accepts(&project.path("go"));

    let before = [
        project.read("go/shapes/shapes_test.go"),
        project.read("go/shapes/stack_test.go"),
    ];
    let again = project
        .testsmith(&["generate", "--format", "json", "go"])
        .run()
        .success()
        .json();
    assert_eq!(written(&again), 0);
    assert_eq!(again["summary"]["already_tested"], 10);
    let after = [
        project.read("go/shapes/shapes_test.go"),
        project.read("go/shapes/stack_test.go"),
    ];
    assert_eq!(before, after);
}

#[test]
fn scaffolds_for_every_shape_of_member_pass_gofmt_vet_and_test() {
    let project = Project::new();
    // The third-party fixture cannot build offline, and the cgo one needs a C compiler:
    // their scaffolds are snapshot-tested in the driver.
    project.write(
        "go.mod",
        std::fs::read_to_string(crate::util::fixtures_dir().join("generate/go/go.mod")).unwrap(),
    );
    project.copy_fixture("generate/go/kinds", "kinds");
    project.copy_fixture("generate/go/merge", "merge");
    let users_test = project.read("merge/single_test.go");
    let doc = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(doc["summary"]["skipped"], 1, "only Describe: {doc}");
    assert!(written(&doc) > 30, "{doc}");
    assert_keeps_every_line(&users_test, &project.read("merge/single_test.go"));
    assert_go_accepts(project.root());
}

#[test]
fn scaffolds_for_google_uuid_pass_gofmt_vet_and_test_and_keep_its_own_tests() {
    let project = Project::new();
    let sources = Path::new(UUID_SOURCES);
    assert!(
        sources.is_dir(),
        "{UUID_SOURCES} is missing; install Debian's golang-github-google-uuid-dev (.ci/run does)"
    );
    let module = project.path("uuid");
    copy_dir(sources, &module);
    project.write("uuid/go.mod", "module github.com/google/uuid\n\ngo 1.19\n");
    let originals: Vec<(String, String)> = test_files(&module)
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(module.join(&file)).unwrap();
            (file, text)
        })
        .collect();

    let doc = project
        .testsmith(&["generate", "--format", "json", "uuid"])
        .run()
        .success()
        .json();
    assert_eq!(doc["summary"]["skipped"], 0, "{doc}");
    assert!(written(&doc) >= 40, "{doc}");
    for (file, before) in &originals {
        let after = std::fs::read_to_string(module.join(file)).unwrap();
        assert_keeps_every_line(before, &after);
    }
    assert_go_accepts(&module);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_a_model_writes_for_the_example_pass_gofmt_vet_and_test() {
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let project = Project::new();
    project.copy_fixture("example/go", "go");
    let doc = run_async(generate_llm(
        &project,
        &fake.server,
        &["--format", "json", "go"],
    ))
    .await
    .success()
    .json();
    assert_eq!(written(&doc), 9, "{doc}");
    let shapes = project.read("go/shapes/shapes_test.go");
    assert!(shapes.contains("\t\"errors\"\n"), "{shapes}");
    assert!(!shapes.contains("testsmith:scaffold"), "{shapes}");
    assert_go_accepts(&project.path("go"));
}
