//! `--changed-since REF`: a pull request's check writes tests for the functions and methods
//! it added or edited, and nothing else.

use crate::fake_llm::{FakeLlm, generate_llm};
use crate::util::Project;
use std::process::Command;
use std::time::Duration;

fn git(project: &Project, args: &[&str]) {
    let output = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(project.root())
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {output:?}");
}

const BEFORE: &str = "package calc

// Add adds.
func Add(a, b int) int { return a + b }

// Sub subtracts.
func Sub(a, b int) int {
	return a - b
}

// Mul multiplies.
func Mul(a, b int) int { return a * b }
";

/// `Sub` edited (one line of its body), `Div` added; `Add` and `Mul` untouched.
const AFTER: &str = "package calc

// Add adds.
func Add(a, b int) int { return a + b }

// Sub subtracts.
func Sub(a, b int) int {
	return a - b - 0
}

// Mul multiplies.
func Mul(a, b int) int { return a * b }

// Div divides.
func Div(a, b int) int { return a / b }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_since_asks_for_exactly_the_edited_and_the_added_function() {
    let project = Project::new();
    project.write("calc/calc.go", BEFORE);
    project.write(
        "other/other.go",
        "package other\n\n// Untouched is old.\nfunc Untouched() int { return 1 }\n",
    );
    git(&project, &["init", "-q"]);
    git(&project, &["add", "."]);
    git(&project, &["commit", "-qm", "base"]);
    project.write("calc/calc.go", AFTER);
    git(&project, &["commit", "-qam", "edit Sub, add Div"]);

    let fake = FakeLlm::competent(Duration::ZERO).await;
    let run = generate_llm(
        &project,
        &fake.server,
        &["--changed-since", "HEAD~1", "--format", "json"],
    );
    let run = crate::util::run_async(run).await.success();
    let mut asked: Vec<String> = fake.log.asked().into_iter().flatten().collect();
    asked.sort();
    assert_eq!(asked, ["TestDiv", "TestSub"]);
    assert_eq!(run.json()["summary"]["written"], 2);
    assert!(
        !project.exists("other/other_test.go"),
        "an unchanged package got tests"
    );

    // An uncommitted edit counts too: only it is asked for now.
    project.write("calc/calc.go", AFTER.replace("a * b", "b * a"));
    let run = generate_llm(&project, &fake.server, &["--changed-since", "HEAD~1"]);
    crate::util::run_async(run).await.success();
    let asked: Vec<String> = fake.log.asked().into_iter().flatten().collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert_eq!(asked.last().map(String::as_str), Some("TestMul"));
}

#[test]
fn an_unknown_reference_is_a_usage_error_naming_it() {
    let project = Project::new();
    project.write("calc/calc.go", BEFORE);
    git(&project, &["init", "-q"]);
    let run = project
        .testsmith(&["generate", "--changed-since", "no-such-branch"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("--changed-since no-such-branch"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("help:"), "{}", run.stderr);
}
