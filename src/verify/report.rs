//! What verification found, per test (and so per member) and in total — the funnel
//! generated → compiled → passed, with what was repaired, dropped and quarantined — as text
//! or as part of a JSON document.

use crate::output::plural;
use serde::Serialize;
use std::path::PathBuf;

/// How one test ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// Compiled and passed every run.
    Passed,
    /// Compiled; the test skips itself (a scaffold's `#[ignore]`, a `t.Skip`).
    Skipped,
    /// Compiled and ran, but it is testsmith's unedited scaffold: its table has no cases
    /// (Go), so it tests nothing and counts as no test.
    Empty,
    /// Compiled but failed (or failed only sometimes): kept in the file, marked skipped with
    /// `testsmith: failed: <reason>`. It may have found a bug.
    Quarantined,
    /// Did not compile, even after repairs: removed from its file.
    Dropped,
    /// `testsmith verify` only (it changes nothing): compiled but failed, or was flaky.
    Failed,
    /// `testsmith verify` only: does not compile.
    NotCompiled,
    /// Could not be checked: no toolchain, the project does not build, or it never ran.
    NotVerified,
    /// Its package's edit broke a test of the user's that passed without it: the edit was
    /// undone, this test with it.
    RolledBack,
}

impl TestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Passed => "passed",
            TestStatus::Skipped => "skipped",
            TestStatus::Empty => "empty",
            TestStatus::Quarantined => "quarantined",
            TestStatus::Dropped => "dropped",
            TestStatus::Failed => "failed",
            TestStatus::NotCompiled => "not compiled",
            TestStatus::NotVerified => "not verified",
            TestStatus::RolledBack => "rolled back",
        }
    }

    /// Whether the test compiles as it now stands in its file.
    pub fn is_compiled(self) -> bool {
        matches!(
            self,
            TestStatus::Passed
                | TestStatus::Skipped
                | TestStatus::Empty
                | TestStatus::Quarantined
                | TestStatus::Failed
        )
    }

    /// Whether the test is a problem a run should be marked failed for.
    fn is_bad(self) -> bool {
        matches!(
            self,
            TestStatus::Failed
                | TestStatus::NotCompiled
                | TestStatus::NotVerified
                | TestStatus::RolledBack
        )
    }
}

/// One verified test.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    /// The test function's name.
    pub test: String,
    /// The member it tests, as its driver displays it; `null` when no member of the source
    /// file has this test's conventional name.
    pub member: Option<String>,
    pub source_file: PathBuf,
    pub test_file: PathBuf,
    pub status: TestStatus,
    /// Repair rounds the model was asked for (`--llm`).
    pub repairs: u32,
    /// Why it failed, was dropped, quarantined, skipped or not verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The funnel in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerifyTotals {
    /// Tests handed to verification.
    pub generated: usize,
    /// Tests that compile as they now stand (after repairs).
    pub compiled: usize,
    pub passed: usize,
    /// Tests that compile thanks to at least one repair.
    pub repaired: usize,
    pub dropped: usize,
    pub quarantined: usize,
    /// Compiled tests that skip themselves (Rust scaffolds are `#[ignore]`d).
    pub skipped: usize,
    /// Unedited scaffolds that ran with an empty table (Go): placeholders, not tests.
    pub empty: usize,
    /// `testsmith verify`: tests that failed or did not compile.
    pub failed: usize,
    pub not_verified: usize,
    /// Of those, the tests nothing could check: their project was not found (no `go.mod`,
    /// `Cargo.toml` or GOPATH) or its toolchain is not on `PATH`. (The others were left out
    /// of the build by the tags or features chosen, and the reason names the flag.)
    pub unchecked: usize,
    /// Tests undone with their package's edit, which broke a test of the user's.
    pub rolled_back: usize,
}

/// A project that was not verified as a whole, and why (a missing toolchain).
#[derive(Debug, Clone, Serialize)]
pub struct SkippedProject {
    pub project: PathBuf,
    pub language: String,
    pub reason: String,
    pub tests: usize,
}

/// A package whose edit was undone: with it, tests of the user's that passed without it
/// failed (twice).
#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    /// The package's folder.
    pub package: PathBuf,
    /// The user's tests that broke.
    pub broken: Vec<String>,
    /// What the first of them said.
    pub failure: String,
    /// The files put back as they were (or removed, where the run created them).
    pub restored: Vec<PathBuf>,
}

/// Everything verification found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// One entry per test, in file order.
    pub tests: Vec<TestReport>,
    pub totals: VerifyTotals,
    /// Projects whose verification was skipped whole.
    pub skipped: Vec<SkippedProject>,
    /// Packages whose edit was undone because it broke the user's suite.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rolled_back: Vec<RolledBack>,
    /// Packages whose own suite ran after the edit to see it still passes as before.
    pub suite_compared: usize,
    /// How the tests were confined while they ran (`namespaces+landlock`, `landlock`,
    /// `none`); absent when nothing ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confinement: Option<&'static str>,
    /// Tests outside every project (no `go.mod`, `Cargo.toml` or GOPATH above them).
    #[serde(skip)]
    pub(crate) projectless: usize,
}

impl VerifyReport {
    pub(crate) fn push(&mut self, test: TestReport) {
        self.tests.push(test);
    }

    /// Fills in the totals and sorts the tests; called once all projects are done.
    pub(crate) fn finish(&mut self) {
        self.tests.sort_by(|a, b| {
            (&a.source_file, &a.test_file, &a.test).cmp(&(&b.source_file, &b.test_file, &b.test))
        });
        let mut totals = VerifyTotals {
            generated: self.tests.len(),
            ..VerifyTotals::default()
        };
        for test in &self.tests {
            if test.status.is_compiled() {
                totals.compiled += 1;
                if test.repairs > 0 {
                    totals.repaired += 1;
                }
            }
            match test.status {
                TestStatus::Passed => totals.passed += 1,
                TestStatus::Skipped => totals.skipped += 1,
                TestStatus::Empty => totals.empty += 1,
                TestStatus::Quarantined => totals.quarantined += 1,
                TestStatus::Dropped => totals.dropped += 1,
                TestStatus::Failed | TestStatus::NotCompiled => totals.failed += 1,
                TestStatus::NotVerified => totals.not_verified += 1,
                TestStatus::RolledBack => totals.rolled_back += 1,
            }
        }
        totals.unchecked = self.projectless
            + self
                .skipped
                .iter()
                .map(|project| project.tests)
                .sum::<usize>();
        self.totals = totals;
    }

    /// Whether `generate --verify` leaves a test it wrote unproven or broken: one nothing
    /// could check (no project, no toolchain), or one that does not compile or fails and
    /// could not be removed or quarantined. A test left out of the build by the tags or
    /// features chosen is not counted: its reason names the flag that builds it.
    pub fn leaves_tests_unproven(&self) -> bool {
        self.totals.unchecked > 0
            || self
                .tests
                .iter()
                .any(|test| matches!(test.status, TestStatus::NotCompiled | TestStatus::Failed))
    }

    /// Takes in what the suite guard found in a later verification of the same run (a
    /// `--coverage-rounds` follow-up): its packages rolled back and compared.
    pub fn absorb_guard(&mut self, later: VerifyReport) {
        self.rolled_back.extend(later.rolled_back);
        self.suite_compared += later.suite_compared;
    }

    /// Every test rolled back with its package's edit: its source file, name and why.
    pub fn rolled_back_tests(&self) -> impl Iterator<Item = (&std::path::Path, &str, &str)> {
        self.tests
            .iter()
            .filter(|test| test.status == TestStatus::RolledBack)
            .map(|test| {
                (
                    test.source_file.as_path(),
                    test.test.as_str(),
                    test.reason.as_deref().unwrap_or("rolled back"),
                )
            })
    }

    /// Whether anything was checked and found wrong, or could not be checked.
    pub fn has_problems(&self) -> bool {
        self.tests.iter().any(|test| test.status.is_bad())
    }

    /// The report as text: a line per test that needs the reader's attention (every test
    /// with `verbose`), then the totals.
    pub fn text(&self, verbose: bool) -> String {
        let mut out = String::new();
        for test in &self.tests {
            let is_plain = matches!(
                test.status,
                TestStatus::Passed | TestStatus::Skipped | TestStatus::Empty
            ) && test.repairs == 0;
            if is_plain && !verbose {
                continue;
            }
            let member = test
                .member
                .as_deref()
                .map(|member| format!(" ({member})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {:<13}{}{member} in {}",
                test.status.as_str(),
                test.test,
                test.test_file.display()
            ));
            if test.repairs > 0 {
                out.push_str(&format!(
                    ", after {}",
                    plural(test.repairs as usize, "repair", "repairs")
                ));
            }
            if let Some(reason) = &test.reason {
                out.push_str(&format!(": {reason}"));
            }
            out.push('\n');
        }
        for package in &self.rolled_back {
            let restored: Vec<String> = package
                .restored
                .iter()
                .map(|path| path.display().to_string())
                .collect();
            out.push_str(&format!(
                "  rolled back  testsmith's edit of {}: {} failed with it and passes without it \
                 ({}); restored {}\n",
                package.package.display(),
                package.broken.join(", "),
                package.failure,
                restored.join(", ")
            ));
        }
        for skipped in &self.skipped {
            out.push_str(&format!(
                "  not verified {} in {}: {}\n",
                plural(skipped.tests, "test", "tests"),
                skipped.project.display(),
                skipped.reason
            ));
        }
        if let (true, Some(confinement)) = (verbose, self.confinement) {
            out.push_str(&format!("  tests ran confined by: {confinement}\n"));
        }
        out.push_str(&self.summary_line());
        out
    }

    fn summary_line(&self) -> String {
        let totals = &self.totals;
        let mut parts = vec![
            format!("{} generated", totals.generated),
            format!("{} compiled", totals.compiled),
            format!("{} passed", totals.passed),
        ];
        if totals.skipped > 0 {
            parts.push(format!("{} skipped", totals.skipped));
        }
        if totals.empty > 0 {
            parts.push(format!("{} empty", totals.empty));
        }
        parts.push(format!("{} repaired", totals.repaired));
        parts.push(format!("{} dropped", totals.dropped));
        parts.push(format!("{} quarantined", totals.quarantined));
        if totals.failed > 0 {
            parts.push(format!("{} failed", totals.failed));
        }
        if totals.not_verified > 0 && totals.unchecked > 0 {
            parts.push(format!(
                "{} not verified ({} with no project or toolchain to check {})",
                totals.not_verified,
                totals.unchecked,
                if totals.unchecked == 1 { "it" } else { "them" }
            ));
        } else if totals.not_verified > 0 {
            parts.push(format!("{} not verified", totals.not_verified));
        }
        if totals.rolled_back > 0 {
            parts.push(format!("{} rolled back", totals.rolled_back));
        }
        format!("verify: {}\n", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(name: &str, status: TestStatus, repairs: u32, reason: Option<&str>) -> TestReport {
        TestReport {
            test: name.to_owned(),
            member: Some(name.trim_start_matches("Test").to_owned()),
            source_file: PathBuf::from("a.go"),
            test_file: PathBuf::from("a_test.go"),
            status,
            repairs,
            reason: reason.map(str::to_owned),
        }
    }

    fn report() -> VerifyReport {
        let mut report = VerifyReport::default();
        report.push(test("TestA", TestStatus::Passed, 0, None));
        report.push(test("TestB", TestStatus::Passed, 1, None));
        report.push(test("TestC", TestStatus::Dropped, 2, Some("undefined: x")));
        report.push(test(
            "TestD",
            TestStatus::Quarantined,
            0,
            Some("got 3, want 4"),
        ));
        report.push(test(
            "TestE",
            TestStatus::Skipped,
            0,
            Some("write this test"),
        ));
        report.finish();
        report
    }

    #[test]
    fn totals_count_the_funnel() {
        assert_eq!(
            report().totals,
            VerifyTotals {
                generated: 5,
                compiled: 4,
                passed: 2,
                repaired: 1,
                dropped: 1,
                quarantined: 1,
                skipped: 1,
                empty: 0,
                failed: 0,
                not_verified: 0,
                unchecked: 0,
                rolled_back: 0,
            }
        );
        assert!(!report().has_problems());
    }

    #[test]
    fn text_lists_what_needs_attention_then_the_totals() {
        insta::assert_snapshot!(report().text(false), @r"
          passed       TestB (B) in a_test.go, after 1 repair
          dropped      TestC (C) in a_test.go, after 2 repairs: undefined: x
          quarantined  TestD (D) in a_test.go: got 3, want 4
        verify: 5 generated, 4 compiled, 2 passed, 1 skipped, 1 repaired, 1 dropped, 1 quarantined
        ");
    }

    #[test]
    fn a_failed_or_unverified_test_is_a_problem() {
        let mut report = report();
        report.push(test("TestF", TestStatus::NotVerified, 0, Some("no go")));
        report.finish();
        assert!(report.has_problems());
        assert!(report.text(false).ends_with("1 not verified\n"));
    }
}
