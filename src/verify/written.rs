//! The entry point: [`verify_written`] checks the tests a run wrote (or, for
//! `testsmith verify`, the tests already there) with each language's toolchain.

use super::command::find_on_path;
use super::project::projects;
use super::repair::Repair;
use super::report::{SkippedProject, TestStatus, VerifyReport};
use crate::output::FileReport;
use crate::pipeline::WriteScope;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use testsmith_driver::Driver;

/// Tests written to one test file for one source file.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub driver: &'static dyn Driver,
    /// The source file, as the user named it.
    pub source: PathBuf,
    /// Its test file, as the user named it.
    pub test_file: PathBuf,
    /// The tests to verify: their function names.
    pub tests: Vec<String>,
    /// The files the run wrote for it and what they held before (`generate`; empty for
    /// `testsmith verify`, which writes nothing).
    pub replaced: Vec<crate::pipeline::Replaced>,
}

impl WrittenFile {
    /// The tests a `generate` run wrote or regenerated for one source file; `None` when it
    /// wrote none (or the report is a dry run's, which writes nothing).
    pub fn from_report(report: &FileReport) -> Option<WrittenFile> {
        let test_file = report.test_file.clone()?;
        let driver = crate::drivers::for_path(crate::drivers::DRIVERS, &report.path)?;
        let tests: Vec<String> = report
            .written
            .iter()
            .chain(&report.regenerated)
            .cloned()
            .collect();
        (report.error.is_none() && !tests.is_empty()).then(|| WrittenFile {
            driver,
            source: report.path.clone(),
            test_file,
            tests,
            replaced: report.replaced.clone(),
        })
    }
}

/// Whether verification may change the test files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMode {
    /// `generate --verify`: repair or drop what does not compile, quarantine what fails.
    Fix,
    /// `testsmith verify`: report only; nothing is written.
    Check,
}

/// How verification runs.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub mode: VerifyMode,
    /// Repairs per test that does not compile (with a repairer): `--repair-rounds`.
    pub repair_rounds: u32,
    /// How many times the tests are run; a test that fails some runs is flaky: `--reruns`.
    pub reruns: u32,
    /// Run tests marked ignored too (Rust's `--include-ignored`).
    pub include_ignored: bool,
    /// Build tags and features the builds include (`--tags`, `--features`, ...).
    pub build: testsmith_driver::BuildSelection,
    /// How long a build or lint command may take.
    pub build_timeout: Duration,
    /// How long the tests of one run may take (Go's `-timeout`; the run command gets this
    /// plus the build time).
    pub test_timeout: Duration,
    /// Where edits may be written (`Fix` only).
    pub scope: Option<WriteScope>,
    /// Set when the user interrupts the run (under `--llm`, where Ctrl-C is caught): no
    /// command is started and no file edited after it; the tests left are not verified.
    pub interrupted: Option<Arc<AtomicBool>>,
}

impl VerifyOptions {
    /// The defaults of `generate --verify`, writing inside `scope`.
    pub fn fix(scope: WriteScope) -> VerifyOptions {
        VerifyOptions {
            mode: VerifyMode::Fix,
            scope: Some(scope),
            ..VerifyOptions::check()
        }
    }

    /// The defaults of `testsmith verify`.
    pub fn check() -> VerifyOptions {
        VerifyOptions {
            mode: VerifyMode::Check,
            repair_rounds: 2,
            reruns: 1,
            include_ignored: false,
            build: testsmith_driver::BuildSelection::default(),
            build_timeout: Duration::from_secs(30 * 60),
            test_timeout: Duration::from_secs(5 * 60),
            scope: None,
            interrupted: None,
        }
    }

    /// Whether the user asked the run to stop.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::SeqCst))
    }
}

/// Verifies `written` project by project and reports every test's fate.
///
/// With `Fix`, a test that does not compile is repaired by `repairer` (up to
/// `repair_rounds` times) or removed from its file; a test that fails — or, with `reruns`,
/// fails only sometimes — is kept and quarantined. A project whose toolchain is not on
/// `PATH` is skipped whole, its tests reported as not verified. Blocks while the
/// toolchains run; call it outside an async context (see
/// [`LlmRepairer`](super::LlmRepairer)).
pub fn verify_written(
    written: &[WrittenFile],
    options: &VerifyOptions,
    repairer: Option<&dyn Repair>,
) -> VerifyReport {
    let scope = match options.mode {
        VerifyMode::Fix => options.scope.as_ref(),
        VerifyMode::Check => None,
    };
    let (projects, unverifiable) = projects(written, scope);
    let mut report = VerifyReport {
        projectless: unverifiable.len(),
        ..VerifyReport::default()
    };
    for test in unverifiable {
        report.push(test);
    }
    for mut project in projects {
        let request = project.request(options);
        let program = project
            .driver
            .verify_commands(&request)
            .first()
            .map(|command| command.program.clone());
        if let Some(program) = program.filter(|program| find_on_path(program).is_none()) {
            let reason = format!("`{program}` was not found on PATH; the tests were not verified");
            report.skipped.push(SkippedProject {
                project: project.root.clone(),
                language: project.driver.name().to_owned(),
                reason: reason.clone(),
                tests: project.tests.len(),
            });
            for test in &mut project.tests {
                test.settle(TestStatus::NotVerified, reason.clone());
            }
        } else {
            report.confinement = Some(crate::sandbox::availability().confinement.label());
            project.verify(options, repairer);
            project.remove_emptied();
            report
                .rolled_back
                .extend(project.guard_suite(options, &mut report.suite_compared));
        }
        for test in project.reports() {
            report.push(test);
        }
    }
    report.finish();
    report
}
