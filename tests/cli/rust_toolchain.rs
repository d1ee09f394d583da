//! Rust tests testsmith writes, proved with the real toolchain: `cargo test --offline` stays
//! green and warns about nothing new, and rustfmt finds nothing to change in the test files
//! or in the sources they are attached to. On the bundled example, on a real crate (strsim,
//! copied at test time from the local Cargo registry, where it is because clap depends on
//! it), and on the example with untidy model answers from a fake API.
//!
//! Every project gets a target folder of its own under `CARGO_TARGET_TMPDIR`. One shared
//! folder was wrong: Cargo hashes a root package without its path, so two tests building the
//! bundled example from different temporary folders raced for the same artifacts, and one of
//! them ran the other's freshly built test binary (seen once in CI: 0 ignored scaffolds
//! instead of 7). The crates have no dependencies, so a folder each costs a second.

use crate::fake_llm::{FakeLlm, asked_names, completion, generate_llm, known_answers};
use crate::util::{Project, copy_dir, run_async};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// The target folder of the project in `dir`: one per project.
fn target_for(dir: &Path) -> PathBuf {
    crate::util::cargo_target_of(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-toolchain-target"),
        dir,
    )
}

/// `cargo ARGS` in `dir`, offline, with the project's own target folder; panics with its output
/// unless it succeeds. Returns stdout and stderr together.
#[track_caller]
fn cargo(dir: &Path, args: &[&str]) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_for(dir))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "cargo {args:?} failed in {}:\n{text}",
        dir.display()
    );
    text
}

/// The warnings in cargo's output (their headline and location), without the summary lines.
fn warnings(output: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = output.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.starts_with("warning:") && !line.contains("generated"))
        .map(|(index, line)| {
            let location = lines
                .get(index + 1)
                .map(|next| next.trim())
                .filter(|next| next.starts_with("-->"))
                .unwrap_or("");
            format!("{line} {location}")
        })
        .collect()
}

/// Asserts that `output` warns about nothing that `before` did not.
#[track_caller]
fn assert_no_new_warnings(before: &BTreeSet<String>, output: &str) {
    let after = warnings(output);
    let new: Vec<&String> = after.difference(before).collect();
    assert!(new.is_empty(), "new warnings {new:#?} in:\n{output}");
}

/// The `(passed, ignored)` counts of every `test result:` line, summed.
fn counts(output: &str) -> (usize, usize) {
    let number_before = |line: &str, word: &str| -> usize {
        line.split(';')
            .find(|part| part.trim().ends_with(word))
            .and_then(|part| part.split_whitespace().rev().nth(1))
            .and_then(|number| number.parse().ok())
            .unwrap_or(0)
    };
    output
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok."))
        .fold((0, 0), |(passed, ignored), line| {
            (
                passed + number_before(line, "passed"),
                ignored + number_before(line, "ignored"),
            )
        })
}

/// Asserts that rustfmt would change none of `files` (relative to `dir`).
#[track_caller]
fn assert_rustfmt_clean(dir: &Path, edition: &str, files: &[&str]) {
    let output = Command::new("rustfmt")
        .args(["--check", "--edition", edition])
        .args(files)
        .current_dir(dir)
        .output()
        .expect("rustfmt runs (rustup component add rustfmt)");
    assert!(
        output.status.success(),
        "rustfmt would change {files:?}:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

fn example() -> Project {
    let project = Project::new();
    project.copy_fixture("example/rust", "rust");
    project
}

#[test]
fn scaffolds_for_the_bundled_example_compile_and_cargo_test_stays_green() {
    let project = example();
    let crate_dir = project.path("rust");
    let before = warnings(&cargo(&crate_dir, &["test", "--no-run"]));
    project.testsmith(&["generate", "rust"]).run().success();

    let output = cargo(&crate_dir, &["test"]);
    assert_no_new_warnings(&before, &output);
    // The hand-written test runs; the seven scaffolds wait, listed by `-- --ignored`.
    assert_eq!(counts(&output), (1, 7), "{output}");
    assert_rustfmt_clean(
        &crate_dir,
        "2021",
        &[
            "src/lib.rs",
            "src/lib_tests.rs",
            "src/text/mod.rs",
            "src/text/mod_tests.rs",
        ],
    );
}

/// strsim from the local Cargo registry, its benchmarks (nightly-only) left out.
fn strsim() -> Project {
    // clap depends on strsim 0.11, so building testsmith put it in the registry.
    let crate_dir = crate::util::registry_crate("strsim-0.11.");
    let project = Project::new();
    copy_dir(&crate_dir, &project.path("strsim"));
    std::fs::remove_dir_all(project.path("strsim/benches")).ok();
    project
}

#[test]
fn scaffolds_for_a_real_crate_compile_and_its_own_tests_still_pass() {
    let project = strsim();
    let crate_dir = project.path("strsim");
    // The library's unit tests and the integration tests; doctests say nothing about ours.
    let test_args = ["test", "--lib", "--tests"];
    let before_output = cargo(&crate_dir, &["test", "--lib", "--tests", "--no-run"]);
    let before = warnings(&before_output);
    let doc = project
        .testsmith(&["generate", "--format", "json", "strsim"])
        .run()
        .success()
        .json();
    let written = doc["summary"]["written"].as_u64().unwrap() as usize;
    assert!(written >= 10, "{doc}");
    assert_eq!(doc["summary"]["skipped"], 0, "{doc}");

    let output = cargo(&crate_dir, &test_args);
    assert_no_new_warnings(&before, &output);
    let (passed, ignored) = counts(&output);
    assert_eq!(ignored, written, "{output}");
    assert!(passed > 50, "strsim's own tests did not run:\n{output}");
    // strsim is edition 2015 and rustfmt-clean as published; it must stay so.
    assert_rustfmt_clean(&crate_dir, "2015", &["src/lib.rs", "src/lib_tests.rs"]);
}

/// Answers the way real models do when they ignore instructions: fenced, with prose, in a
/// `mod tests` wrapper with its own imports, under another name, two-space or tab indented,
/// without `#[test]`. Names it has no untidy answer for get the tidy known answer.
struct Untidy {
    answers: HashMap<String, String>,
}

impl Untidy {
    fn new() -> Untidy {
        let mut answers = known_answers();
        let untidy = [
            (
                "test_point_new",
                "Here is the test you asked for:\n\n```rust\n#[cfg(test)]\nmod tests {\n  \
                 use super::*;\n  use std::cmp::Ordering;\n\n  #[test]\n  fn builds_a_point() {\n    \
                 let p = Point::new(1.0, 2.0);\n    assert_eq!(p.x.partial_cmp(&p.y), \
                 Some(Ordering::Less));\n  }\n}\n```\n\nIt checks both coordinates.",
            ),
            (
                "test_point_distance",
                "```\nfn test_point_distance() {\n\tlet a = Point::new(0.0, 0.0);\n\t\
                 assert_eq!(a.distance(&Point::new(3.0, 4.0)), 5.0);\n}\n```",
            ),
            (
                "test_parse_point",
                "use std::collections::HashMap;\n\n#[test]\nfn parses() {\n    let mut seen = \
                 HashMap::new();\n    seen.insert(\"1,2\", parse_point(\"1,2\"));\n    \
                 assert_eq!(seen[\"1,2\"], Ok(Point::new(1.0, 2.0)));\n}",
            ),
        ];
        for (name, answer) in untidy {
            answers.insert(name.to_owned(), answer.to_owned());
        }
        Untidy { answers }
    }
}

impl Respond for Untidy {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let tests: Vec<Value> = asked_names(request)
            .iter()
            .map(|name| {
                let code = self.answers.get(name).cloned().unwrap_or_default();
                json!({"name": name, "code": code})
            })
            .collect();
        completion(&json!({ "tests": tests }).to_string(), "stop")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untidy_model_answers_are_tidied_into_tests_that_compile_and_pass() {
    let fake = FakeLlm::bare().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Untidy::new())
        .mount(&fake.server)
        .await;
    let project = example();
    let crate_dir = project.path("rust");
    let before = warnings(&cargo(&crate_dir, &["test", "--no-run"]));
    let doc = run_async(generate_llm(
        &project,
        &fake.server,
        &["--format", "json", "rust"],
    ))
    .await
    .success()
    .json();
    assert_eq!(doc["summary"]["written"], 7, "{doc}");

    let tests = project.read("rust/src/lib_tests.rs");
    assert!(!tests.contains("mod tests"), "{tests}");
    assert!(!tests.contains("```"), "{tests}");
    assert!(
        tests.contains("fn test_point_new() {\n    use std::cmp::Ordering;\n"),
        "{tests}"
    );
    assert!(
        tests.contains("#[test]\nfn test_point_distance() {\n    let a"),
        "{tests}"
    );
    let output = cargo(&crate_dir, &["test"]);
    assert_no_new_warnings(&before, &output);
    assert_eq!(counts(&output), (8, 0), "{output}");
    assert_rustfmt_clean(
        &crate_dir,
        "2021",
        &["src/lib_tests.rs", "src/text/mod_tests.rs"],
    );
}
