//! The verification loop against a fake language whose "toolchain" is `sh`, `grep` and
//! `awk`: a test file is a list of `test NAME` … `end` blocks; a line holding `BROKEN` does
//! not compile (anywhere), `FAILS` fails its test, `GHOST` keeps it out of the run's output,
//! and `skip` skips it. The real toolchains are exercised by the integration tests.

use super::*;
use crate::pipeline::WriteScope;
use crate::verify::repair::RepairRequest;
use crate::verify::{Repair, VerifyReport, WrittenFile, verify_written};
use std::collections::HashMap;
use std::sync::Mutex;
use testsmith_driver::{
    Driver, ExistingTest, FileMembers, Member, MemberKind, SourceFile, TestResult,
};

#[derive(Debug)]
struct Fake;

static FAKE: Fake = Fake;

impl Driver for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["fk"]
    }

    fn analyze(&self, path: &Path, source: &str) -> FileMembers {
        let mut file = FileMembers::new(path, "fake");
        for name in source.lines().filter_map(|line| line.strip_prefix("fn ")) {
            file.members.push(Member {
                kind: MemberKind::Function,
                name: name.trim().to_owned(),
                owner: None,
                signature: format!("fn {name}"),
                start_line: 1,
                end_line: 1,
                doc: None,
                module: None,
                byte_range: 0..0,
                callable: Some(Default::default()),
            });
        }
        file
    }

    fn existing_tests(&self, _path: &Path, text: &str) -> Vec<ExistingTest> {
        let mut tests = Vec::new();
        let mut offset = 0;
        let mut open: Option<(String, usize)> = None;
        for line in text.split_inclusive('\n') {
            if let Some(name) = line.strip_prefix("test ") {
                open = Some((name.trim().to_owned(), offset));
            } else if line.trim_end() == "end"
                && let Some((name, start)) = open.take()
            {
                tests.push(ExistingTest {
                    name,
                    byte_range: start..offset + 3,
                    scaffold: None,
                });
            }
            offset += line.len();
        }
        tests
    }

    fn project_marker(&self) -> Option<&'static str> {
        Some("fake.toml")
    }

    fn is_test_file(&self, path: &Path) -> bool {
        path.to_string_lossy().ends_with("_test.fk")
    }

    fn verify_commands(&self, request: &VerifyRequest) -> Vec<VerifyCommand> {
        let sh = |step, script: &str| VerifyCommand {
            step,
            program: "sh".to_owned(),
            args: vec!["-c".to_owned(), script.to_owned()],
            dir: request.root.clone(),
            env: Vec::new(),
        };
        vec![
            sh(
                VerifyStep::Build,
                "grep -rn --include='*.fk' BROKEN . && exit 1; exit 0",
            ),
            sh(
                VerifyStep::Run,
                "find . -name '*_test.fk' | sort | xargs awk '\
                 /^test / { name = $2; verdict = \"ok\"; next }\
                 /skip/ { verdict = \"skipped\" }\
                 /FAILS/ { if (verdict == \"ok\") verdict = \"FAIL\" }\
                 /GHOST/ { verdict = \"ghost\" }\
                 /^end/ { if (verdict != \"ghost\") print name, verdict }'",
            ),
        ]
    }

    fn read_diagnostics(
        &self,
        _request: &VerifyRequest,
        _command: &VerifyCommand,
        output: &CommandOutput,
    ) -> Vec<Diagnostic> {
        output
            .stdout
            .lines()
            .filter_map(|line| {
                let mut fields = line.splitn(3, ':');
                Some(Diagnostic {
                    file: PathBuf::from(fields.next()?.trim_start_matches("./")),
                    line: fields.next()?.parse().ok()?,
                    column: 0,
                    message: format!("BROKEN here: {}", fields.next()?.trim()),
                })
            })
            .collect()
    }

    fn read_test_results(
        &self,
        request: &VerifyRequest,
        _command: &VerifyCommand,
        output: &CommandOutput,
    ) -> Vec<TestResult> {
        output
            .stdout
            .lines()
            .filter_map(|line| {
                let (name, verdict) = line.split_once(' ')?;
                let file = request
                    .files
                    .iter()
                    .find(|file| file.tests.iter().any(|test| test == name))?;
                Some(TestResult {
                    test_file: file.test_file.clone(),
                    name: name.to_owned(),
                    outcome: match verdict {
                        "ok" => TestOutcome::Passed,
                        "skipped" => TestOutcome::Skipped("skip".to_owned()),
                        _ => TestOutcome::Failed("it FAILS".to_owned()),
                    },
                })
            })
            .collect()
    }

    fn quarantine_test(
        &self,
        path: &Path,
        text: &str,
        test_name: &str,
        reason: &str,
    ) -> Result<String, String> {
        let test = self
            .existing_tests(path, text)
            .into_iter()
            .find(|test| test.name == test_name)
            .ok_or("no such test")?;
        let line_end =
            test.byte_range.start + text[test.byte_range.start..].find('\n').unwrap() + 1;
        Ok(format!(
            "{}skip {reason}\n{}",
            &text[..line_end],
            &text[line_end..]
        ))
    }

    fn assemble(
        &self,
        _source: &SourceFile<'_>,
        _test_path: &Path,
        existing: Option<&str>,
        changes: &[TestChange],
    ) -> Result<String, String> {
        let mut text = existing.unwrap_or_default().to_owned();
        for change in changes {
            match change {
                TestChange::Replace { range, test } => {
                    text.replace_range(range.clone(), &test.code)
                }
                TestChange::Add(test) => text.push_str(&test.code),
            }
        }
        Ok(text)
    }

    fn check_answer(
        &self,
        _source: &SourceFile<'_>,
        _member: &Member,
        test_name: &str,
        code: &str,
    ) -> Result<TestCode, String> {
        Ok(TestCode {
            name: test_name.to_owned(),
            code: code.to_owned(),
            imports: Vec::new(),
        })
    }
}

/// A project of the fake language: `calc.fk` with a member per test, and its test file.
fn project(source: &str, tests: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fake.toml"), "").unwrap();
    std::fs::write(dir.path().join("calc.fk"), source).unwrap();
    std::fs::write(dir.path().join("calc_test.fk"), tests).unwrap();
    dir
}

const SOURCE: &str = "fn a\nfn b\nfn c\n";

fn written(dir: &Path, tests: &[&str]) -> Vec<WrittenFile> {
    vec![WrittenFile {
        driver: &FAKE,
        source: dir.join("calc.fk"),
        test_file: dir.join("calc_test.fk"),
        tests: tests.iter().map(|test| (*test).to_owned()).collect(),
        replaced: Vec::new(),
    }]
}

fn fix(dir: &Path) -> VerifyOptions {
    VerifyOptions::fix(WriteScope::new(&[dir.to_owned()]))
}

fn statuses(report: &VerifyReport) -> Vec<(&str, TestStatus, Option<&str>)> {
    report
        .tests
        .iter()
        .map(|test| (test.test.as_str(), test.status, test.reason.as_deref()))
        .collect()
}

fn read(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("calc_test.fk")).unwrap()
}

const GOOD: &str = "test test_a\nok\nend\n\ntest test_b\nok\nend\n";

#[test]
fn without_a_repairer_a_broken_test_is_dropped_and_the_rest_of_the_file_kept() {
    let tests = "test test_a\nok\nend\n\ntest test_c\nBROKEN\nend\n\ntest test_b\nok\nend\n";
    let dir = project(SOURCE, tests);
    let report = verify_written(
        &written(dir.path(), &["test_a", "test_b", "test_c"]),
        &fix(dir.path()),
        None,
    );
    assert_eq!(
        statuses(&report),
        [
            ("test_a", TestStatus::Passed, None),
            ("test_b", TestStatus::Passed, None),
            (
                "test_c",
                TestStatus::Dropped,
                Some("does not compile: calc_test.fk:6: BROKEN here: BROKEN")
            ),
        ]
    );
    assert_eq!(read(dir.path()), GOOD);
}

#[test]
fn a_test_file_the_run_created_is_removed_when_every_test_in_it_is_dropped() {
    let tests = "test test_a\nBROKEN\nend\n";
    for (before, stays) in [(None, false), (Some(""), true)] {
        let dir = project(SOURCE, tests);
        let mut written = written(dir.path(), &["test_a"]);
        written[0].replaced = vec![crate::pipeline::Replaced {
            path: dir.path().join("calc_test.fk"),
            before: before.map(str::to_owned),
        }];
        let report = verify_written(&written, &fix(dir.path()), None);
        assert_eq!(report.tests[0].status, TestStatus::Dropped);
        assert_eq!(
            dir.path().join("calc_test.fk").exists(),
            stays,
            "{before:?}"
        );
    }
}

/// Fixes on the round given; until then answers with another broken test.
struct FixesOnRound {
    round: u32,
    asked: Mutex<Vec<String>>,
}

impl Repair for FixesOnRound {
    fn repair(&self, request: &RepairRequest<'_>) -> Result<TestCode, String> {
        let mut asked = self.asked.lock().unwrap();
        asked.push(format!("{} / {}", request.broken, request.error));
        let body = if asked.len() as u32 >= self.round {
            "ok"
        } else {
            "still BROKEN"
        };
        Ok(TestCode {
            name: request.test_name.to_owned(),
            code: format!("test {}\n{body}\nend", request.test_name),
            imports: Vec::new(),
        })
    }
}

#[test]
fn a_broken_test_is_repaired_round_by_round_with_its_error() {
    let dir = project(SOURCE, "test test_a\nBROKEN\nend\n");
    let repairer = FixesOnRound {
        round: 2,
        asked: Mutex::new(Vec::new()),
    };
    let report = verify_written(
        &written(dir.path(), &["test_a"]),
        &fix(dir.path()),
        Some(&repairer),
    );
    assert_eq!(statuses(&report), [("test_a", TestStatus::Passed, None)]);
    assert_eq!(report.tests[0].repairs, 2);
    assert_eq!(report.totals.repaired, 1);
    assert_eq!(
        *repairer.asked.lock().unwrap(),
        [
            "test test_a\nBROKEN\nend / calc_test.fk:2: BROKEN here: BROKEN",
            "test test_a\nstill BROKEN\nend / calc_test.fk:2: BROKEN here: still BROKEN",
        ]
    );
    assert_eq!(read(dir.path()), "test test_a\nok\nend\n");
}

#[test]
fn a_test_still_broken_after_every_round_is_dropped() {
    let dir = project(
        SOURCE,
        GOOD.replace("test test_b\nok", "test test_b\nBROKEN")
            .as_str(),
    );
    let repairer = FixesOnRound {
        round: 99,
        asked: Mutex::new(Vec::new()),
    };
    let options = VerifyOptions {
        repair_rounds: 3,
        ..fix(dir.path())
    };
    let report = verify_written(
        &written(dir.path(), &["test_a", "test_b"]),
        &options,
        Some(&repairer),
    );
    assert_eq!(report.tests[1].status, TestStatus::Dropped);
    assert_eq!(report.tests[1].repairs, 3);
    assert_eq!(repairer.asked.lock().unwrap().len(), 3);
    assert_eq!(read(dir.path()), "test test_a\nok\nend\n");
}

#[test]
fn a_failing_test_is_quarantined_and_a_skipped_one_reported_skipped() {
    let dir = project(
        SOURCE,
        "test test_a\nFAILS\nend\n\ntest test_b\nskip\nend\n",
    );
    let report = verify_written(
        &written(dir.path(), &["test_a", "test_b"]),
        &fix(dir.path()),
        None,
    );
    assert_eq!(
        statuses(&report),
        [
            ("test_a", TestStatus::Quarantined, Some("it FAILS")),
            ("test_b", TestStatus::Skipped, Some("skip")),
        ]
    );
    assert_eq!(
        read(dir.path()),
        "test test_a\nskip it FAILS\nFAILS\nend\n\ntest test_b\nskip\nend\n"
    );
}

#[test]
fn an_error_outside_the_tests_blocks_them_as_not_verified() {
    let dir = project("fn a\nBROKEN\n", "test test_a\nok\nend\n");
    let report = verify_written(&written(dir.path(), &["test_a"]), &fix(dir.path()), None);
    assert_eq!(
        statuses(&report),
        [(
            "test_a",
            TestStatus::NotVerified,
            Some("not run: the build fails: calc.fk:2: BROKEN here: BROKEN")
        )]
    );
    assert_eq!(read(dir.path()), "test test_a\nok\nend\n");
}

#[test]
fn a_test_the_run_never_reports_is_not_verified_after_retries() {
    let dir = project(SOURCE, "test test_a\nGHOST\nend\n\ntest test_b\nok\nend\n");
    let report = verify_written(
        &written(dir.path(), &["test_a", "test_b"]),
        &fix(dir.path()),
        None,
    );
    assert_eq!(report.tests[0].status, TestStatus::NotVerified);
    assert!(
        report.tests[0]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("the toolchain never ran it"),
        "{:?}",
        report.tests[0].reason
    );
    assert_eq!(report.tests[1].status, TestStatus::Passed);
}

#[test]
fn check_mode_reports_and_changes_nothing() {
    let tests = "test test_a\nBROKEN\nend\n\ntest test_b\nok\nend\n\ntest test_c\nFAILS\nend\n";
    let dir = project(SOURCE, tests);
    let report = verify_written(
        &written(dir.path(), &["test_a", "test_b", "test_c"]),
        &VerifyOptions::check(),
        Some(&FixesOnRound {
            round: 1,
            asked: Mutex::new(Vec::new()),
        }),
    );
    assert_eq!(
        statuses(&report),
        [
            (
                "test_a",
                TestStatus::NotCompiled,
                Some("does not compile: calc_test.fk:2: BROKEN here: BROKEN")
            ),
            (
                "test_b",
                TestStatus::NotVerified,
                Some("not run: test_a does not compile, so the build fails")
            ),
            (
                "test_c",
                TestStatus::NotVerified,
                Some("not run: test_a does not compile, so the build fails")
            ),
        ]
    );
    assert!(report.has_problems());
    assert_eq!(read(dir.path()), tests);
}

/// The fake language with its toolchain missing from `PATH`.
#[derive(Debug)]
struct Uninstalled;

static UNINSTALLED: Uninstalled = Uninstalled;

impl Driver for Uninstalled {
    fn name(&self) -> &'static str {
        "uninstalled"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["fk"]
    }

    fn analyze(&self, path: &Path, source: &str) -> FileMembers {
        FAKE.analyze(path, source)
    }

    fn project_marker(&self) -> Option<&'static str> {
        Some("fake.toml")
    }

    fn verify_commands(&self, request: &VerifyRequest) -> Vec<VerifyCommand> {
        vec![VerifyCommand {
            step: VerifyStep::Build,
            program: "testsmith-no-such-toolchain".to_owned(),
            args: Vec::new(),
            dir: request.root.clone(),
            env: Vec::new(),
        }]
    }
}

#[test]
fn without_the_toolchain_the_project_is_skipped_whole_and_nothing_changes() {
    let dir = project(SOURCE, "test test_a\nBROKEN\nend\n");
    let mut files = written(dir.path(), &["test_a"]);
    files[0].driver = &UNINSTALLED;
    let report = verify_written(&files, &fix(dir.path()), None);
    let reason = "`testsmith-no-such-toolchain` was not found on PATH; the tests were not verified";
    assert_eq!(
        statuses(&report),
        [("test_a", TestStatus::NotVerified, Some(reason))]
    );
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].language, "uninstalled");
    assert_eq!(report.skipped[0].tests, 1);
    assert_eq!(read(dir.path()), "test test_a\nBROKEN\nend\n");
}

#[test]
fn a_test_file_with_no_marker_above_is_not_verified() {
    let dir = project(SOURCE, GOOD);
    std::fs::remove_file(dir.path().join("fake.toml")).unwrap();
    let report = verify_written(&written(dir.path(), &["test_a"]), &fix(dir.path()), None);
    assert_eq!(report.tests[0].status, TestStatus::NotVerified);
    assert!(
        report.tests[0]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("no fake.toml above")
    );
}

#[test]
fn a_failure_summary_skips_the_panic_header_and_joins_the_message() {
    let output = "thread 'lib_tests::test_b' panicked at src/lib_tests.rs:9:5:\n\
                  assertion `left == right` failed\n  left: 1\n right: 2";
    assert_eq!(
        failure_summary(output),
        "assertion `left == right` failed; left: 1; right: 2"
    );
}

#[test]
fn long_reasons_are_cut_to_one_line() {
    let reason = clip_reason(&"word\n".repeat(100));
    assert!(!reason.contains('\n'));
    assert!(reason.chars().count() <= MAX_REASON_CHARS + 1);
    assert!(reason.ends_with('…'));
}

#[test]
fn a_bare_message_gets_its_position_and_a_rendered_one_stays() {
    let bare = Diagnostic {
        file: PathBuf::from("/p/a/a_test.go"),
        line: 9,
        column: 7,
        message: "undefined: x".to_owned(),
    };
    assert_eq!(
        error_text(&bare, Path::new("/p")),
        "a/a_test.go:9:7: undefined: x"
    );
    let rendered = Diagnostic {
        message: "error[E0425]: nope\n --> src/a.rs:1:1\n".to_owned(),
        ..bare
    };
    assert_eq!(error_text(&rendered, Path::new("/p")), rendered.message);
}

#[test]
fn with_cargo_a_rust_test_that_fails_is_ignored_and_one_that_does_not_compile_removed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src/text")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"verified\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        "pub mod text;\n\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("src/text/mod.rs"),
        "pub fn words(s: &str) -> usize {\n    s.split_whitespace().count()\n}\n\n\
         #[cfg(test)]\n#[path = \"mod_tests.rs\"]\nmod mod_tests;\n",
    )
    .unwrap();
    let tests = "use super::*;\n\n\
                 #[test]\nfn test_words() {\n    assert_eq!(words(\"a b\"), 2);\n}\n\n\
                 #[test]\nfn test_words_wrong() {\n    assert_eq!(words(\"a b c\"), 2);\n}\n\n\
                 #[test]\nfn test_words_broken() {\n    let n: String = words(\"a\");\n    assert!(n.is_empty());\n}\n";
    std::fs::write(root.join("src/text/mod_tests.rs"), tests).unwrap();

    let files = vec![WrittenFile {
        driver: &testsmith_driver_rust::RustDriver,
        source: root.join("src/text/mod.rs"),
        test_file: root.join("src/text/mod_tests.rs"),
        tests: ["test_words", "test_words_wrong", "test_words_broken"]
            .map(str::to_owned)
            .to_vec(),
        replaced: Vec::new(),
    }];
    let report = verify_written(&files, &fix(root), None);
    let by_name: HashMap<&str, (TestStatus, Option<&str>)> = report
        .tests
        .iter()
        .map(|test| (test.test.as_str(), (test.status, test.reason.as_deref())))
        .collect();
    assert_eq!(by_name["test_words"], (TestStatus::Passed, None));
    let (status, reason) = by_name["test_words_broken"];
    assert_eq!(status, TestStatus::Dropped);
    assert!(
        reason
            .unwrap()
            .starts_with("does not compile: error[E0308]: mismatched types"),
        "{reason:?}"
    );
    let (status, reason) = by_name["test_words_wrong"];
    assert_eq!(status, TestStatus::Quarantined);
    let reason = reason.unwrap();
    assert_eq!(
        reason,
        "assertion `left == right` failed; left: 3; right: 2"
    );

    let after = std::fs::read_to_string(root.join("src/text/mod_tests.rs")).unwrap();
    assert_eq!(
        after,
        format!(
            "use super::*;\n\n\
             #[test]\nfn test_words() {{\n    assert_eq!(words(\"a b\"), 2);\n}}\n\n\
             #[test]\n#[ignore = \"testsmith: failed: {}\"]\nfn test_words_wrong() {{\n    \
             assert_eq!(words(\"a b c\"), 2);\n}}\n",
            reason
        )
    );
    // The suite is green again.
    let status = std::process::Command::new("cargo")
        .args(["test", "--quiet"])
        .current_dir(root)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}
