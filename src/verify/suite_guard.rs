//! The user's suite before and after: testsmith's edit of a package may not break a test of
//! the package that passed without it. Once the new tests are verified, every test of each
//! package the run wrote into runs (the driver's `suite_command`); a test of the user's that
//! fails there — and again on a rerun, so a flaky test blames nobody — has its package's edit
//! undone, byte for byte (new files removed), and the suite runs as it was: if the test
//! passes now, the edit broke it and stays undone; if it fails anyway, the edit is put back.
//!
//! "Before" runs only when "after" found a failure, and "after" is verification's own last
//! run where it can be: that run runs the units' whole suites instead of the new tests alone
//! ([`SuiteRun`]), and its verdicts stand for every unit whose files still hold what they
//! held then (a quarantine since changed them: that unit's suite runs again). A green suite
//! costs no extra run, and a test that fails with and without the edit is told apart all
//! the same.

use super::engine::run_confined;
use super::project::{Project, Undo};
use super::report::{RolledBack, TestStatus};
use super::{VerifyMode, VerifyOptions};
use crate::pipeline::write_atomically;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use testsmith_driver::{
    CommandOutput, FileToVerify, SuiteResult, TestOutcome, VerifyCommand, VerifyRequest,
};

/// A test of the user's suite: its unit (Go: package folder) and name.
type SuiteTest = (PathBuf, String);

/// What a test run of verification that ran whole suites found, and what the files the run
/// wrote held while it ran.
#[derive(Debug)]
pub(super) struct SuiteRun {
    units: BTreeSet<PathBuf>,
    /// Each file of [`Project::undo`] and its text then (`None`: absent).
    files: Vec<(PathBuf, Option<String>)>,
    results: Vec<SuiteResult>,
}

impl Project {
    /// Compares the user's suite of every unit this run wrote into with and without the
    /// edit; undoes the edit of each unit it broke and settles the unit's new tests
    /// [`TestStatus::RolledBack`]. `compared` counts the units whose suite ran.
    pub(super) fn guard_suite(
        &mut self,
        options: &VerifyOptions,
        compared: &mut usize,
    ) -> Vec<RolledBack> {
        if self.scope.is_none() || self.undo.is_empty() || options.is_interrupted() {
            return Vec::new();
        }
        let driver = self.driver;
        let units: BTreeSet<PathBuf> = self
            .undo
            .iter()
            .map(|undo| driver.suite_unit(&undo.rel))
            .collect();
        let (mut after, unkept) = self.kept_failures(&units);
        let mut ran = units.len() - unkept.len();
        if !unkept.is_empty()
            && let Some(fresh) = self.suite_failures(&unkept, options)
        {
            after.extend(fresh);
            ran += unkept.len();
        }
        *compared += ran;
        if after.is_empty() {
            return Vec::new();
        }
        // Again, so a flaky test blames nobody: the units that failed.
        let failing: BTreeSet<PathBuf> = after.keys().map(|(unit, _)| unit.clone()).collect();
        let Some(again) = self.suite_failures(&failing, options) else {
            return Vec::new();
        };
        let confirmed: BTreeMap<SuiteTest, String> = after
            .into_iter()
            .filter(|(test, _)| again.contains_key(test))
            .collect();
        let suspects: BTreeSet<PathBuf> = confirmed.keys().map(|(unit, _)| unit.clone()).collect();
        if suspects.is_empty() {
            return Vec::new();
        }
        // Undo the suspects' edits and run their suites as they were.
        let mut undone: BTreeMap<PathBuf, Vec<(Undo, Option<String>)>> = BTreeMap::new();
        let mut rolled_back = Vec::new();
        for unit in &suspects {
            match self.undo_unit(unit) {
                Ok(files) => {
                    undone.insert(unit.clone(), files);
                }
                Err(error) => tracing::warn!(
                    "cannot undo testsmith's edit of {}: {error}",
                    self.root.join(unit).display()
                ),
            }
        }
        let restored: BTreeSet<PathBuf> = undone.keys().cloned().collect();
        let before = self
            .suite_failures(&restored, options)
            .unwrap_or_else(|| confirmed.clone());
        for (unit, files) in undone {
            let blamed: Vec<(&String, &String)> = confirmed
                .iter()
                .filter(|((test_unit, name), _)| {
                    *test_unit == unit && !before.contains_key(&(unit.clone(), name.clone()))
                })
                .map(|((_, name), failure)| (name, failure))
                .collect();
            if blamed.is_empty() {
                // It fails without testsmith's tests too: not theirs to answer for.
                if let Err(error) = self.redo(&files) {
                    tracing::warn!("cannot put testsmith's edit back: {error}");
                }
                continue;
            }
            let broken: Vec<String> = blamed.iter().map(|(name, _)| (*name).clone()).collect();
            let reason = format!(
                "rolled back: with it, your {} failed twice, and {} without it: {}",
                broken.join(", "),
                if broken.len() == 1 { "passes" } else { "pass" },
                blamed[0].1
            );
            self.settle_unit(&unit, &reason);
            rolled_back.push(RolledBack {
                package: self.root.join(&unit),
                broken,
                failure: blamed[0].1.clone(),
                restored: files.iter().map(|(undo, _)| undo.shown.clone()).collect(),
            });
        }
        rolled_back
    }

    /// Runs the suite of `units`; the user's tests (not this run's) that failed, with what
    /// they said. `None` when the suite could not run (no command, a failed start).
    fn suite_failures(
        &self,
        units: &BTreeSet<PathBuf>,
        options: &VerifyOptions,
    ) -> Option<BTreeMap<SuiteTest, String>> {
        let request = self.suite_request(units, options);
        let command = self.driver.suite_command(&request)?;
        let timeout = options.test_timeout + options.build_timeout;
        let output = match run_confined(&command, timeout, options) {
            Ok(output) => output,
            Err(error) => {
                tracing::warn!("the suite did not run ({}): {error}", command.display());
                return None;
            }
        };
        Some(self.users_failures(self.driver.read_suite_results(&request, &output), units))
    }

    /// The user's tests of `units` (not this run's) that failed among `results`, with what
    /// they said.
    fn users_failures(
        &self,
        results: Vec<SuiteResult>,
        units: &BTreeSet<PathBuf>,
    ) -> BTreeMap<SuiteTest, String> {
        let new_tests = self.new_tests();
        results
            .into_iter()
            .filter(|result| units.contains(&result.unit))
            .filter(|result| !new_tests.contains(&(result.unit.clone(), result.name.clone())))
            .filter_map(|result| match result.outcome {
                TestOutcome::Failed(said) | TestOutcome::Unfinished(said) => Some((
                    (result.unit, result.name),
                    super::engine::failure_summary(&said),
                )),
                TestOutcome::Passed | TestOutcome::Skipped(_) => None,
            })
            .collect()
    }

    /// The failures verification's last whole-suite run found in the units of `units` it
    /// ran whose files are as they were then, and the units left to run.
    fn kept_failures(
        &self,
        units: &BTreeSet<PathBuf>,
    ) -> (BTreeMap<SuiteTest, String>, BTreeSet<PathBuf>) {
        let Some(run) = &self.suite_run else {
            return (BTreeMap::new(), units.clone());
        };
        let unchanged = |unit: &PathBuf| {
            run.units.contains(unit)
                && self
                    .undo
                    .iter()
                    .filter(|undo| self.driver.suite_unit(&undo.rel) == *unit)
                    .all(|undo| {
                        let then = run.files.iter().find(|(path, _)| *path == undo.path);
                        then.is_some_and(|(path, text)| std::fs::read_to_string(path).ok() == *text)
                    })
        };
        let (kept, unkept): (BTreeSet<PathBuf>, BTreeSet<PathBuf>) =
            units.iter().cloned().partition(unchanged);
        (self.users_failures(run.results.clone(), &kept), unkept)
    }

    /// The command that runs the whole suites of `request`'s units in place of its run
    /// commands, when the suite guard will compare them: `generate` (files may change),
    /// something written, the user's ignored tests not asked for (they are no part of the
    /// suite).
    pub(super) fn suite_to_run_with(
        &self,
        request: &VerifyRequest,
        options: &VerifyOptions,
    ) -> Option<VerifyCommand> {
        let guarded = options.mode == VerifyMode::Fix
            && self.scope.is_some()
            && !self.undo.is_empty()
            && !options.include_ignored;
        guarded
            .then(|| self.driver.suite_command(request))
            .flatten()
    }

    /// What the files the run wrote hold now, before a whole-suite run starts.
    pub(super) fn suite_snapshot(&self) -> Vec<(PathBuf, Option<String>)> {
        self.undo
            .iter()
            .map(|undo| (undo.path.clone(), std::fs::read_to_string(&undo.path).ok()))
            .collect()
    }

    /// Keeps what a whole-suite run of `request`'s units found, for the suite guard.
    pub(super) fn keep_suite_run(
        &mut self,
        request: &VerifyRequest,
        files: Vec<(PathBuf, Option<String>)>,
        output: &CommandOutput,
    ) {
        self.suite_run = Some(SuiteRun {
            units: request
                .files
                .iter()
                .map(|file| self.driver.suite_unit(&file.test_file))
                .collect(),
            files,
            results: self.driver.read_suite_results(request, output),
        });
    }

    /// A request naming one written file of each unit: the driver runs their whole suites.
    fn suite_request(&self, units: &BTreeSet<PathBuf>, options: &VerifyOptions) -> VerifyRequest {
        let mut request = self.request(options);
        request.files = units
            .iter()
            .filter_map(|unit| {
                let undo = self
                    .undo
                    .iter()
                    .find(|undo| self.driver.suite_unit(&undo.rel) == *unit)?;
                Some(FileToVerify {
                    test_file: undo.rel.clone(),
                    source_file: undo.rel.clone(),
                    tests: Vec::new(),
                })
            })
            .collect();
        request
    }

    /// This run's tests, by unit and name: theirs are verified, not guarded.
    fn new_tests(&self) -> BTreeSet<SuiteTest> {
        self.tests
            .iter()
            .map(|test| {
                let file = &self.files[test.file];
                let unit = self.driver.suite_unit(&file.test_rel);
                let id = self
                    .driver
                    .mutant_test_id(&file.source_rel, &file.test_rel, &test.name);
                (unit, id)
            })
            .collect()
    }

    /// Puts back what every file of `unit` the run wrote held before (removing the files it
    /// created), last write first; returns each file with the text it held until now.
    fn undo_unit(&self, unit: &Path) -> Result<Vec<(Undo, Option<String>)>, String> {
        let scope = self
            .scope
            .as_ref()
            .ok_or("verification may not change files here")?;
        let mut undone = Vec::new();
        for undo in self.undo.iter().rev() {
            if self.driver.suite_unit(&undo.rel) != unit {
                continue;
            }
            let now = std::fs::read_to_string(&undo.path).ok();
            match (&undo.before, &now) {
                (Some(before), _) => {
                    write_atomically(scope, &undo.path, before, now.as_deref())
                        .map_err(|error| format!("{}: {error}", undo.shown.display()))?;
                }
                (None, Some(_)) => {
                    if let Some(reason) = scope.refuse(&undo.path) {
                        return Err(reason);
                    }
                    std::fs::remove_file(&undo.path).map_err(|error| {
                        format!(
                            "{}: {}",
                            undo.shown.display(),
                            crate::walk::io_message(&error)
                        )
                    })?;
                }
                (None, None) => {}
            }
            undone.push((undo.clone(), now));
        }
        Ok(undone)
    }

    /// Puts an undone edit back: each file gets the text it held before the undo.
    fn redo(&self, files: &[(Undo, Option<String>)]) -> Result<(), String> {
        let scope = self
            .scope
            .as_ref()
            .ok_or("verification may not change files here")?;
        for (undo, text) in files.iter().rev() {
            if let Some(text) = text {
                write_atomically(scope, &undo.path, text, undo.before.as_deref())
                    .map_err(|error| format!("{}: {error}", undo.shown.display()))?;
            }
        }
        Ok(())
    }

    /// Settles every test the run wrote into `unit` as rolled back.
    fn settle_unit(&mut self, unit: &Path, reason: &str) {
        let driver = self.driver;
        for index in 0..self.tests.len() {
            let file = &self.files[self.tests[index].file];
            if driver.suite_unit(&file.test_rel) == unit {
                self.tests[index].settle(TestStatus::RolledBack, reason.to_owned());
            }
        }
    }
}
