//! The verification loop for one project: build, map the errors back to tests, repair or
//! drop the broken ones, build again; then run the tests (as often as `--reruns` asks) and
//! quarantine the ones that fail.
//!
//! Each step runs over the tests still pending; a test leaves the loop with its final
//! status. Every pass of the loop either settles a test or spends one of its repair rounds,
//! so the loop ends.

use super::command::{self, CommandError};
use super::project::{Project, Tracked};
use super::repair::{Repair, RepairRequest};
use super::report::TestStatus;
use super::{VerifyMode, VerifyOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use testsmith_driver::{
    CommandOutput, Diagnostic, FileToVerify, TestChange, TestCode, TestOutcome, VerifyCommand,
    VerifyRequest, VerifyStep,
};

/// How often a test that never showed up in a run's output is run again on its own.
const MAX_UNRUN_RETRIES: u32 = 2;

/// Why the tests left were not verified after Ctrl-C.
const INTERRUPTED: &str = "interrupted before it was verified";

/// Why a test cannot be repaired: the model needs the member it tests.
const NO_MEMBER: &str = "no member of its source file has this test's name";

/// The longest reason kept for a report line or a quarantine message.
const MAX_REASON_CHARS: usize = 200;

impl Project {
    /// Verifies every tracked test of the project, settling each one.
    pub(super) fn verify(&mut self, options: &VerifyOptions, repairer: Option<&dyn Repair>) {
        self.settle_unbuilt(options);
        let mut passes = 0;
        while self.tests.iter().any(Tracked::is_pending) {
            passes += 1;
            // A safety net: each pass settles a test or spends a repair round.
            let limit = 4 + self.tests.len() * (options.repair_rounds as usize + 3);
            if passes > limit {
                self.settle_pending(TestStatus::NotVerified, "verification did not converge");
                break;
            }
            if let Err(error) = self.pass(options, repairer) {
                self.settle_pending(TestStatus::NotVerified, &error);
            }
        }
    }

    /// One pass: build and lint until something is found, else run. `Err` ends every
    /// pending test with the reason.
    fn pass(
        &mut self,
        options: &VerifyOptions,
        repairer: Option<&dyn Repair>,
    ) -> Result<(), String> {
        let request = self.request(options);
        let commands = self.driver.verify_commands(&request);
        if commands.is_empty() {
            return Err(format!(
                "testsmith cannot verify {} tests",
                self.driver.name()
            ));
        }
        for command in commands.iter().filter(|c| c.step != VerifyStep::Run) {
            let output = run_confined(command, options.build_timeout, options)?;
            let diagnostics = self.driver.read_diagnostics(&request, command, &output);
            let (broken, elsewhere) = self.attribute(&diagnostics, &command.dir);
            if !broken.is_empty() {
                self.handle_broken(broken, command.step, options, repairer);
                return Ok(());
            }
            match command.step {
                VerifyStep::Build if !output.is_success() && elsewhere.is_empty() => {
                    return Err(format!(
                        "`{}` failed: {}",
                        command.display(),
                        output_tail(&output)
                    ));
                }
                VerifyStep::Build if !output.is_success() => {
                    self.block(&elsewhere);
                    return Ok(());
                }
                // Lint findings outside the new tests are the project's own business.
                _ => {}
            }
        }
        let runs: Vec<&VerifyCommand> = commands
            .iter()
            .filter(|c| c.step == VerifyStep::Run)
            .collect();
        self.run_tests(&request, &runs, options)
    }

    /// The request for the tests still pending.
    pub(super) fn request(&self, options: &VerifyOptions) -> VerifyRequest {
        let mut files = Vec::new();
        for (index, file) in self.files.iter().enumerate() {
            let tests: Vec<String> = self
                .tests
                .iter()
                .filter(|test| test.file == index && test.is_pending())
                .map(|test| test.name.clone())
                .collect();
            if !tests.is_empty() {
                files.push(FileToVerify {
                    test_file: file.test_rel.clone(),
                    source_file: file.source_rel.clone(),
                    tests,
                });
            }
        }
        VerifyRequest {
            root: self.root.clone(),
            marker_text: self.marker_text.clone(),
            files,
            include_ignored: options.include_ignored,
            test_timeout_secs: options.test_timeout.as_secs(),
            build: options.build.clone(),
        }
    }

    /// Splits diagnostics into those inside a pending test (by test index, with the error
    /// text) and those anywhere else.
    fn attribute(
        &self,
        diagnostics: &[Diagnostic],
        dir: &Path,
    ) -> (BTreeMap<usize, Vec<String>>, Vec<Elsewhere>) {
        let spans = self.test_spans();
        let mut broken: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut elsewhere = Vec::new();
        for diagnostic in diagnostics {
            let resolved = resolve(dir, &diagnostic.file);
            let error = error_text(diagnostic, &self.root);
            let inside = resolved.as_deref().and_then(|file| {
                spans
                    .iter()
                    .find(|(_, span_file, lines)| {
                        span_file == file && lines.contains(&diagnostic.line)
                    })
                    .map(|(test, _, _)| *test)
            });
            match inside {
                Some(test) if self.tests[test].is_pending() => {
                    broken.entry(test).or_default().push(error)
                }
                _ => elsewhere.push(Elsewhere {
                    folder: resolved
                        .as_deref()
                        .and_then(Path::parent)
                        .map(Path::to_owned),
                    error,
                    settled_test: inside.map(|test| self.tests[test].name.clone()),
                }),
            }
        }
        (broken, elsewhere)
    }

    /// Where each tracked test sits now: its file (canonical) and its lines.
    fn test_spans(&self) -> Vec<(usize, PathBuf, std::ops::Range<usize>)> {
        let mut spans = Vec::new();
        for (index, file) in self.files.iter().enumerate() {
            let Ok(text) = std::fs::read_to_string(&file.test_path) else {
                continue;
            };
            let existing = self.driver.existing_tests(&file.test_path, &text);
            for (test_index, test) in self.tests.iter().enumerate() {
                if test.file != index {
                    continue;
                }
                if let Some(found) = existing.iter().find(|found| found.name == test.name) {
                    spans.push((
                        test_index,
                        file.test_path.clone(),
                        testsmith_driver::verify::line_span(&text, &found.byte_range),
                    ));
                }
            }
        }
        spans
    }

    /// Tests the toolchain rejected: repaired while rounds are left (with a repairer),
    /// else dropped (`generate`) or reported (`verify`).
    fn handle_broken(
        &mut self,
        broken: BTreeMap<usize, Vec<String>>,
        step: VerifyStep,
        options: &VerifyOptions,
        repairer: Option<&dyn Repair>,
    ) {
        let what = match step {
            VerifyStep::Lint => "fails the linter",
            _ => "does not compile",
        };
        if options.mode == VerifyMode::Check {
            for (test, errors) in broken {
                let reason = format!("{what}: {}", summary(&errors.join("\n")));
                self.tests[test].settle(TestStatus::NotCompiled, reason);
            }
            return;
        }
        let rounds = options.repair_rounds;
        let to_repair: Vec<(usize, String)> = broken
            .iter()
            .filter(|(test, _)| repairer.is_some() && self.tests[**test].repairs < rounds)
            .map(|(test, errors)| (*test, errors.join("\n")))
            .collect();
        let repaired = match repairer {
            Some(repairer) if !to_repair.is_empty() => {
                self.repair_all(repairer, &to_repair, rounds)
            }
            _ => Vec::new(),
        };
        // A repair cut short by Ctrl-C says nothing about the test: edit nothing.
        if options.is_interrupted() {
            self.settle_pending(TestStatus::NotVerified, INTERRUPTED);
            return;
        }
        let mut repair_failures: BTreeMap<usize, String> = BTreeMap::new();
        for (test, outcome) in repaired {
            match outcome.and_then(|fixed| self.replace_test(test, fixed)) {
                Ok(()) => {}
                Err(reason) => {
                    repair_failures.insert(test, reason);
                }
            }
        }
        for (test, errors) in broken {
            let was_replaced =
                to_repair.iter().any(|(t, _)| *t == test) && !repair_failures.contains_key(&test);
            if was_replaced {
                continue;
            }
            let mut reason = format!("{what}: {}", summary(&errors.join("\n")));
            if let Some(failure) = repair_failures.get(&test) {
                reason.push_str(&format!(" (repair: {})", summary(failure)));
            }
            self.drop_test(test, reason);
        }
    }

    /// Asks for a repair of each test at once (the LLM stack caps requests in flight), each
    /// up to the rounds it has left; a round whose answer is rejected counts.
    fn repair_all(
        &mut self,
        repairer: &dyn Repair,
        to_repair: &[(usize, String)],
        rounds: u32,
    ) -> Vec<(usize, Result<TestCode, String>)> {
        let driver = self.driver;
        let jobs: Vec<(usize, Result<RepairJob, String>)> = to_repair
            .iter()
            .map(|(test, error)| {
                let source_index = self.files[self.tests[*test].file].source_index;
                let job = self.current_test_code(*test).map(|broken| RepairJob {
                    source_index,
                    broken,
                    error: error.clone(),
                });
                (*test, job)
            })
            .collect();
        let sources = &self.sources;
        let tests = &self.tests;
        let spent: Vec<(usize, u32, Result<TestCode, String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .into_iter()
                .map(|(test, job)| {
                    scope.spawn(move || {
                        let job = match job {
                            Ok(job) => job,
                            Err(reason) => return (test, 0, Err(reason)),
                        };
                        let tracked = &tests[test];
                        let Some((source, member)) =
                            sources[job.source_index].member_for(driver, &tracked.name)
                        else {
                            return (test, 0, Err(NO_MEMBER.to_owned()));
                        };
                        let request = RepairRequest {
                            driver,
                            source,
                            member,
                            test_name: &tracked.name,
                            broken: &job.broken,
                            error: &job.error,
                        };
                        let mut spent = 0;
                        let mut last = Err("no repair rounds left".to_owned());
                        while tracked.repairs + spent < rounds {
                            spent += 1;
                            last = repairer.repair(&request);
                            if last.is_ok() {
                                break;
                            }
                        }
                        (test, spent, last)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a repair thread panicked"))
                .collect()
        });
        spent
            .into_iter()
            .map(|(test, rounds_spent, outcome)| {
                self.tests[test].repairs += rounds_spent;
                (test, outcome)
            })
            .collect()
    }

    /// The test's code as it stands in its file.
    fn current_test_code(&self, test: usize) -> Result<String, String> {
        let tracked = &self.tests[test];
        let path = &self.files[tracked.file].test_path;
        let text = std::fs::read_to_string(path).map_err(|error| error.to_string())?;
        let found = self
            .driver
            .existing_tests(path, &text)
            .into_iter()
            .find(|found| found.name == tracked.name)
            .ok_or_else(|| format!("{} is no longer in its file", tracked.name))?;
        Ok(text[found.byte_range].to_owned())
    }

    /// Puts the repaired `fixed` where the test stands, imports merged and tidied.
    fn replace_test(&self, test: usize, fixed: TestCode) -> Result<(), String> {
        let driver = self.driver;
        let tracked = &self.tests[test];
        let name = tracked.name.clone();
        let file = &self.files[tracked.file];
        let source = &self.sources[file.source_index];
        let (source_file, _) = source.member_for(driver, &name).ok_or(NO_MEMBER)?;
        let test_path = file.test_path.clone();
        self.edit(tracked.file, |text| {
            let found = driver
                .existing_tests(&test_path, text)
                .into_iter()
                .find(|found| found.name == name)
                .ok_or_else(|| format!("{name} is no longer in its file"))?;
            let change = TestChange::Replace {
                range: found.byte_range,
                test: fixed,
            };
            let assembled = driver.assemble(&source_file, &test_path, Some(text), &[change])?;
            Ok(driver.tidy_imports(&test_path, text, &assembled))
        })
    }

    /// Removes a test that does not compile.
    fn drop_test(&mut self, test: usize, reason: String) {
        let driver = self.driver;
        let tracked = &self.tests[test];
        let name = tracked.name.clone();
        let path = self.files[tracked.file].test_path.clone();
        match self.edit(tracked.file, |text| driver.remove_test(&path, text, &name)) {
            Ok(()) => self.tests[test].settle(TestStatus::Dropped, reason),
            Err(error) => self.tests[test].settle(
                TestStatus::NotCompiled,
                format!("{reason}; could not be removed: {error}"),
            ),
        }
    }

    /// Tests blocked by errors outside them: those in the folders the errors are in, or
    /// every pending test when no pending test shares a folder with an error.
    fn block(&mut self, elsewhere: &[Elsewhere]) {
        let folders: BTreeSet<&Path> = elsewhere
            .iter()
            .filter_map(|found| found.folder.as_deref())
            .collect();
        let first = &elsewhere[0];
        let reason = match &first.settled_test {
            Some(test) => format!("not run: {test} does not compile, so the build fails"),
            None => format!("not run: the build fails: {}", summary(&first.error)),
        };
        let in_folder: Vec<usize> = (0..self.tests.len())
            .filter(|&test| {
                let tracked = &self.tests[test];
                tracked.is_pending()
                    && self.files[tracked.file]
                        .test_path
                        .parent()
                        .is_some_and(|folder| folders.contains(folder))
            })
            .collect();
        if in_folder.is_empty() {
            self.settle_pending(TestStatus::NotVerified, &reason);
        } else {
            for test in in_folder {
                self.tests[test].settle(TestStatus::NotVerified, reason.clone());
            }
        }
    }

    /// Runs the pending tests `options.reruns` times, then settles each from its outcomes;
    /// in `generate` the failing and flaky ones are quarantined.
    fn run_tests(
        &mut self,
        request: &VerifyRequest,
        commands: &[&VerifyCommand],
        options: &VerifyOptions,
    ) -> Result<(), String> {
        let runs = options.reruns.max(1);
        let mut outcomes: BTreeMap<usize, Vec<TestOutcome>> = BTreeMap::new();
        let mut last_output = None;
        // The last run runs the units' whole suites where the suite guard will compare them:
        // the new tests' verdicts come out of it all the same, and the guard need not run
        // the suites again.
        let suite = self.suite_to_run_with(request, options);
        for run in 0..runs {
            let whole = suite.as_ref().filter(|_| run + 1 == runs);
            let this_run: Vec<&VerifyCommand> = match whole {
                Some(suite) => vec![suite],
                None => commands.to_vec(),
            };
            for command in this_run {
                let snapshot = whole.map(|_| self.suite_snapshot());
                let output = run_confined(
                    command,
                    options.test_timeout + options.build_timeout,
                    options,
                )?;
                if let Some(snapshot) = snapshot {
                    self.keep_suite_run(request, snapshot, &output);
                }
                for result in self.driver.read_test_results(request, command, &output) {
                    let found = self.tests.iter().position(|test| {
                        test.is_pending()
                            && test.name == result.name
                            && self.files[test.file].test_rel == result.test_file
                    });
                    if let Some(test) = found {
                        outcomes.entry(test).or_default().push(result.outcome);
                    }
                }
                last_output = Some(output);
            }
        }
        let pending: Vec<usize> = (0..self.tests.len())
            .filter(|&test| self.tests[test].is_pending())
            .collect();
        for test in pending {
            match outcomes.remove(&test) {
                Some(outcomes) => self.settle_from_runs(test, &outcomes, runs, options),
                None => {
                    let tracked = &mut self.tests[test];
                    tracked.unrun += 1;
                    if tracked.unrun > MAX_UNRUN_RETRIES {
                        let tail = last_output.as_ref().map(output_tail).unwrap_or_default();
                        tracked.settle(
                            TestStatus::NotVerified,
                            format!(
                                "the toolchain never ran it (is its test file part of the build?){}",
                                if tail.is_empty() { String::new() } else { format!(": {tail}") }
                            ),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the test stands in its file as testsmith's scaffold, unedited: it passes
    /// because it checks nothing.
    fn is_unedited_scaffold(&self, test: usize) -> bool {
        let tracked = &self.tests[test];
        let path = &self.files[tracked.file].test_path;
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        self.driver
            .existing_tests(path, &text)
            .into_iter()
            .find(|existing| existing.name == tracked.name)
            .and_then(|existing| existing.scaffold)
            .is_some_and(|mark| mark.is_unedited)
    }

    fn settle_from_runs(
        &mut self,
        test: usize,
        outcomes: &[TestOutcome],
        runs: u32,
        options: &VerifyOptions,
    ) {
        let failures: Vec<&TestOutcome> = outcomes
            .iter()
            .filter(|outcome| {
                matches!(outcome, TestOutcome::Failed(_) | TestOutcome::Unfinished(_))
            })
            .collect();
        let passes = outcomes
            .iter()
            .filter(|o| **o == TestOutcome::Passed)
            .count();
        if let Some(TestOutcome::Skipped(reason)) = outcomes
            .iter()
            .find(|o| matches!(o, TestOutcome::Skipped(_)))
        {
            let reason = summary(reason);
            self.tests[test].settle(TestStatus::Skipped, reason);
            return;
        }
        let Some(first) = failures.first() else {
            if self.is_unedited_scaffold(test) {
                let reason =
                    "testsmith's scaffold, unedited: its table has no cases yet".to_owned();
                self.tests[test].settle(TestStatus::Empty, reason);
            } else {
                self.tests[test].settle_passed();
            }
            return;
        };
        let what = match first {
            TestOutcome::Unfinished(output) => {
                format!("did not finish: {}", failure_summary(output))
            }
            TestOutcome::Failed(output) => failure_summary(output),
            _ => String::new(),
        };
        let reason = if passes > 0 {
            format!("flaky: failed {} of {} runs: {what}", failures.len(), runs)
        } else {
            what
        };
        let reason = clip_reason(&reason);
        if options.mode == VerifyMode::Check {
            self.tests[test].settle(TestStatus::Failed, reason);
            return;
        }
        let driver = self.driver;
        let name = self.tests[test].name.clone();
        let file = self.tests[test].file;
        let path = self.files[file].test_path.clone();
        match self.edit(file, |text| {
            driver.quarantine_test(&path, text, &name, &reason)
        }) {
            Ok(()) => self.tests[test].settle(TestStatus::Quarantined, reason),
            Err(error) => self.tests[test].settle(
                TestStatus::Failed,
                format!("{reason}; could not be quarantined: {error}"),
            ),
        }
    }

    /// Settles the tests of files the build leaves out (a `//go:build integration` file
    /// without `--tags integration`) as not verified, saying what they need: running them
    /// would run nothing, which is no pass.
    fn settle_unbuilt(&mut self, options: &VerifyOptions) {
        let request = self.request(options);
        for (index, file) in self.files.iter().enumerate() {
            let Ok(text) = std::fs::read_to_string(&file.test_path) else {
                continue;
            };
            let file_reason = self.driver.left_out_of_build(&request, &text);
            for test in self.tests.iter_mut() {
                if test.file != index || !test.is_pending() {
                    continue;
                }
                let reason = match &file_reason {
                    Some(reason) => format!("its test file is not built: {reason}"),
                    None => match self
                        .driver
                        .test_left_out_of_build(&request, &text, &test.name)
                    {
                        Some(reason) => format!("it is not built: {reason}"),
                        None => continue,
                    },
                };
                test.settle(TestStatus::NotVerified, reason);
            }
        }
    }

    fn settle_pending(&mut self, status: TestStatus, reason: &str) {
        for test in self.tests.iter_mut().filter(|test| test.is_pending()) {
            test.settle(status, reason.to_owned());
        }
    }
}

/// What one repair needs that is read before the repair threads start.
#[derive(Debug)]
struct RepairJob {
    /// Index into [`Project::sources`].
    source_index: usize,
    /// The test as it stands in its file.
    broken: String,
    error: String,
}

/// A diagnostic outside every pending test.
#[derive(Debug)]
struct Elsewhere {
    /// The folder of its file, when the file was found.
    folder: Option<PathBuf>,
    error: String,
    /// The settled test it sits in (one that did not compile, under `verify`).
    settled_test: Option<String>,
}

/// Runs one command; a missing program, a failed start or an interruption (before or
/// during the command: its output cannot be trusted) ends the project's verification.
pub(super) fn run_confined(
    command: &VerifyCommand,
    timeout: std::time::Duration,
    options: &VerifyOptions,
) -> Result<CommandOutput, String> {
    if options.is_interrupted() {
        return Err(INTERRUPTED.to_owned());
    }
    let output = command::run(command, timeout).map_err(|error| match error {
        CommandError::NotFound { .. } => error.to_string(),
        CommandError::Spawn { .. } | CommandError::Sandbox(_) => error.to_string(),
        CommandError::Interrupted { .. } => INTERRUPTED.to_owned(),
    })?;
    if options.is_interrupted() {
        return Err(INTERRUPTED.to_owned());
    }
    Ok(output)
}

/// A diagnostic's file, made absolute: as printed, or relative to the command's folder or
/// one of its parents (Cargo prints paths relative to the workspace root).
fn resolve(dir: &Path, file: &Path) -> Option<PathBuf> {
    if file.is_absolute() {
        return file.canonicalize().ok();
    }
    dir.ancestors()
        .map(|base| base.join(file))
        .find(|candidate| candidate.is_file())
        .and_then(|found| found.canonicalize().ok())
}

/// The diagnostic as a person or a model reads it: rustc's rendered text as it is, a bare
/// message with its position in front.
fn error_text(diagnostic: &Diagnostic, root: &Path) -> String {
    if diagnostic.message.contains("\n  --> ") || diagnostic.message.contains("\n --> ") {
        return diagnostic.message.clone();
    }
    let file = diagnostic
        .file
        .strip_prefix(root)
        .unwrap_or(&diagnostic.file);
    if diagnostic.column > 0 {
        format!(
            "{}:{}:{}: {}",
            file.display(),
            diagnostic.line,
            diagnostic.column,
            diagnostic.message
        )
    } else {
        format!(
            "{}:{}: {}",
            file.display(),
            diagnostic.line,
            diagnostic.message
        )
    }
}

/// The first line of an error, for a report line.
pub(super) fn summary(error: &str) -> String {
    let line = error
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    clip_reason(line)
}

/// What a failed test said, in one line: the lines after libtest's `thread '..' panicked
/// at` header, or go test's own lines, joined.
pub(super) fn failure_summary(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter(|line| !(line.starts_with("thread '") && line.contains("panicked at")))
        .take(3)
        .collect();
    if lines.is_empty() {
        return "failed without a message".to_owned();
    }
    clip_reason(&lines.join("; "))
}

fn clip_reason(reason: &str) -> String {
    let single: String = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    match single.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &single[..cut]),
        None => single,
    }
}

/// The last lines of a command's output, for a message about a command that failed.
fn output_tail(output: &CommandOutput) -> String {
    let text = if output.stderr.trim().is_empty() {
        &output.stdout
    } else {
        &output.stderr
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    clip_reason(&tail.join("; "))
}

#[cfg(test)]
mod tests;
