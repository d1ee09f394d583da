//! The mutation run of one project, after cargo-mutants' `lab.rs`: a baseline run of each
//! package's tests (which must pass, and whose time sets the time limits), then each mutant
//! in its sandbox, classified as caught, missed, timeout or unviable, and journaled so an
//! interrupted run resumes.

use super::coverage::{Reach, TestCoverage};
use super::journal::{self, Journal, Recorded};
use super::plan::{MutatedFile, Project};
use super::sandbox::Sandbox;
use crate::verify::command::CommandError;
use crate::verify::run_command as run_confined;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testsmith_driver::{BuildSelection, CommandOutput, MutantRun, VerifyCommand};

/// How a tested mutant ended: cargo-mutants' four outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutantOutcome {
    /// A test failed: the tests noticed.
    Caught,
    /// Every test passed: the tests did not notice.
    Missed,
    /// The tests ran out of time (the mutant made something loop); counted as caught.
    Timeout,
    /// The mutant did not build; it says nothing about the tests.
    Unviable,
}

/// What happened to one mutant in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Tested {
        outcome: MutantOutcome,
        millis: u64,
        /// Taken from the journal of an earlier run rather than run again.
        resumed: bool,
        /// Counted missed without running: no test executes its line.
        unexecuted: bool,
    },
    /// Not tried, and why (the budget ran out, the tests fail without mutants, …).
    NotRun(String),
}

/// How much a run may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// At most this many mutants per function.
    MutantsPerFunction(usize),
    /// No mutant is started after this long (the run's total).
    Seconds(Duration),
}

/// The knobs of a run.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub budget: Option<Budget>,
    /// How long the baseline may take; the mutants' limits come from its time.
    pub baseline_timeout: Duration,
    /// A mutant's command may take this many times its baseline time…
    pub timeout_multiplier: f64,
    /// …but never less than this.
    pub minimum_timeout: Duration,
    /// Ask the coverage of each package which tests execute a mutant's line, and run only
    /// those (none: missed without running). Off: every mutant runs the whole suite.
    pub use_coverage: bool,
    /// The build tags and features every build uses (`--tags`, `--features`).
    pub build: BuildSelection,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            budget: None,
            baseline_timeout: Duration::from_secs(300),
            timeout_multiplier: 5.0,
            minimum_timeout: Duration::from_secs(20),
            use_coverage: true,
            build: BuildSelection::default(),
        }
    }
}

/// What the lab tells its caller as it goes (for a progress bar).
#[derive(Debug)]
pub enum LabEvent<'a> {
    /// This many of the project's mutants need no test in this run (the journal knows them,
    /// or the budget leaves them out).
    Settled(usize),
    Baseline(&'a Path),
    /// Measuring which tests execute which lines of this unit.
    Coverage(&'a Path),
    Testing(&'a MutatedFile, &'a testsmith_driver::Mutant),
    Tested,
}

/// The result of one project's run: a status per mutant, `statuses[file][mutant]`, and the
/// problems that kept mutants from being tested.
#[derive(Debug)]
pub struct ProjectRun {
    pub statuses: Vec<Vec<Status>>,
    pub problems: Vec<String>,
}

/// Runs `project`'s mutants. `started` is when the whole run began (for a time budget).
pub fn run_project(
    project: &Project,
    options: &LabOptions,
    started: Instant,
    on_event: &mut dyn FnMut(LabEvent<'_>),
) -> ProjectRun {
    let mut statuses: Vec<Vec<Status>> = project
        .files
        .iter()
        .map(|file| vec![Status::NotRun(String::new()); file.mutants.len()])
        .collect();
    let mut problems = Vec::new();
    let fail_all = |statuses: &mut Vec<Vec<Status>>, reason: &str| {
        for status in statuses.iter_mut().flatten() {
            *status = Status::NotRun(reason.to_owned());
        }
    };
    let sandbox = match Sandbox::prepare(project, &options.build) {
        Ok(sandbox) => sandbox,
        Err(error) => {
            let reason = format!("cannot prepare a sandbox: {error}");
            fail_all(&mut statuses, &reason);
            problems.push(reason);
            return ProjectRun { statuses, problems };
        }
    };
    let mut journal = match Journal::open(sandbox.state_dir()) {
        Ok(journal) => journal,
        Err(error) => {
            let reason = format!("cannot read the journal of earlier runs: {error}");
            fail_all(&mut statuses, &reason);
            problems.push(reason);
            return ProjectRun { statuses, problems };
        }
    };
    let selected = select(project, options.budget, &mut statuses);

    // Group by the unit the toolchain tests (Go: the package; Cargo: the whole crate), and
    // look up what the journal already knows.
    let mut units: BTreeMap<PathBuf, Vec<(usize, usize, String)>> = BTreeMap::new();
    let mut fingerprints: BTreeMap<PathBuf, String> = BTreeMap::new();
    for (file_index, mutant_index) in selected {
        let file = &project.files[file_index];
        let unit = sandbox.test_unit(&file.rel);
        let fingerprint = fingerprints.entry(unit.clone()).or_insert_with(|| {
            let files = sandbox.fingerprint(&unit);
            // Other tags or features build other code: outcomes are not shared.
            if options.build == BuildSelection::default() {
                files
            } else {
                format!("{files} {:?}", options.build)
            }
        });
        let mutant = &file.mutants[mutant_index];
        let key = journal::key(project.driver.name(), &file.rel, fingerprint, mutant);
        if let Some(recorded) = journal.get(&key) {
            statuses[file_index][mutant_index] = Status::Tested {
                outcome: recorded.outcome,
                millis: recorded.millis,
                resumed: true,
                unexecuted: recorded.unexecuted,
            };
        } else {
            units
                .entry(unit)
                .or_default()
                .push((file_index, mutant_index, key));
        }
    }
    let pending: usize = units.values().map(Vec::len).sum();
    on_event(LabEvent::Settled(project.mutant_count() - pending));

    for (unit, pending) in &units {
        on_event(LabEvent::Baseline(unit));
        let baseline = match run_baseline(project, &sandbox, unit, options) {
            Ok(times) => times,
            Err(reason) => {
                for (file_index, mutant_index, _) in pending {
                    statuses[*file_index][*mutant_index] = Status::NotRun(reason.clone());
                }
                problems.push(reason);
                continue;
            }
        };
        // The per-test coverage builds without tags or features: with them it could call a
        // line unexecuted that a tagged test executes.
        let coverage = if options.use_coverage && options.build == BuildSelection::default() {
            on_event(LabEvent::Coverage(unit));
            let mut files: Vec<PathBuf> = pending
                .iter()
                .map(|(file_index, _, _)| project.files[*file_index].shown.clone())
                .collect();
            files.dedup();
            match TestCoverage::measure(project.driver, &files, options.baseline_timeout) {
                Ok(coverage) => Some(coverage),
                Err(reason) => {
                    tracing::info!(
                        "mutants: no per-test coverage of {}, every mutant runs the whole suite: {reason}",
                        shown_unit(project, unit)
                    );
                    None
                }
            }
        } else {
            None
        };
        let limits: Vec<Duration> = baseline
            .iter()
            .map(|time| {
                time.mul_f64(options.timeout_multiplier)
                    .max(options.minimum_timeout)
            })
            .collect();
        let mut broken: Option<String> = None;
        for (file_index, mutant_index, key) in pending {
            let file = &project.files[*file_index];
            let mutant = &file.mutants[*mutant_index];
            if let Some(reason) = &broken {
                statuses[*file_index][*mutant_index] = Status::NotRun(reason.clone());
                continue;
            }
            if let Some(Budget::Seconds(limit)) = options.budget
                && started.elapsed() >= limit
            {
                statuses[*file_index][*mutant_index] =
                    Status::NotRun("the time budget ran out".to_owned());
                continue;
            }
            let reach = coverage
                .as_ref()
                .map_or(Reach::Unknown, |coverage| coverage.reach(&file.rel, mutant));
            let tests = match reach {
                Reach::NotExecuted => {
                    let recorded = Recorded {
                        outcome: MutantOutcome::Missed,
                        millis: 0,
                        unexecuted: true,
                    };
                    if let Err(error) = journal.record(key, recorded) {
                        problems.push(format!("cannot record an outcome: {error}"));
                    }
                    statuses[*file_index][*mutant_index] = Status::Tested {
                        outcome: MutantOutcome::Missed,
                        millis: 0,
                        resumed: false,
                        unexecuted: true,
                    };
                    on_event(LabEvent::Tested);
                    continue;
                }
                Reach::Tests(tests) => Some(tests),
                Reach::Unknown => None,
            };
            on_event(LabEvent::Testing(file, mutant));
            let began = Instant::now();
            let outcome = match test_mutant(project, &sandbox, file, mutant, tests, &limits) {
                Ok(outcome) => outcome,
                Err(reason) => {
                    problems.push(reason.clone());
                    statuses[*file_index][*mutant_index] = Status::NotRun(reason.clone());
                    broken = Some(reason);
                    continue;
                }
            };
            let millis = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
            let recorded = Recorded {
                outcome,
                millis,
                unexecuted: false,
            };
            if let Err(error) = journal.record(key, recorded) {
                problems.push(format!("cannot record an outcome: {error}"));
            }
            statuses[*file_index][*mutant_index] = Status::Tested {
                outcome,
                millis,
                resumed: false,
                unexecuted: false,
            };
            on_event(LabEvent::Tested);
        }
    }
    ProjectRun { statuses, problems }
}

/// A project's sandbox with the time limits of one test unit, for trying single mutants
/// against chosen tests: how the funnel of `generate --llm --mutants` learns which
/// surviving mutants a new test kills.
#[derive(Debug)]
pub struct Trial {
    project: Project,
    sandbox: Sandbox,
    limits: Vec<Duration>,
}

impl Trial {
    /// Prepares the sandbox and runs the tests of the unit holding `rel` (a file of the
    /// project) with no mutant: they must pass, and their time sets the limits.
    pub fn start(project: Project, rel: &Path, options: &LabOptions) -> Result<Trial, String> {
        let sandbox = Sandbox::prepare(&project, &options.build)
            .map_err(|error| format!("cannot prepare a sandbox: {error}"))?;
        let unit = sandbox.test_unit(rel);
        let limits = run_baseline(&project, &sandbox, &unit, options)?
            .into_iter()
            .map(|time| {
                time.mul_f64(options.timeout_multiplier)
                    .max(options.minimum_timeout)
            })
            .collect();
        Ok(Trial {
            project,
            sandbox,
            limits,
        })
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    /// How mutant `mutant_index` of file `file_index` fares against `tests` alone (as the
    /// driver's [`mutant_test_id`](testsmith_driver::Driver::mutant_test_id) names them).
    pub fn outcome(
        &self,
        file_index: usize,
        mutant_index: usize,
        tests: Vec<String>,
    ) -> Result<MutantOutcome, String> {
        let file = &self.project.files[file_index];
        test_mutant(
            &self.project,
            &self.sandbox,
            file,
            &file.mutants[mutant_index],
            Some(tests),
            &self.limits,
        )
    }
}

/// The mutants to try, as (file, mutant) indices; those left out by a per-function budget
/// are marked as not run. Within a function the budget takes each operator in turn, so a
/// small budget still tries every kind of change.
fn select(
    project: &Project,
    budget: Option<Budget>,
    statuses: &mut [Vec<Status>],
) -> Vec<(usize, usize)> {
    let mut selected = Vec::new();
    for (file_index, file) in project.files.iter().enumerate() {
        let Some(Budget::MutantsPerFunction(limit)) = budget else {
            selected.extend((0..file.mutants.len()).map(|index| (file_index, index)));
            continue;
        };
        let mut by_function: BTreeMap<(usize, &str), Vec<usize>> = BTreeMap::new();
        for (index, mutant) in file.mutants.iter().enumerate() {
            by_function
                .entry((mutant.function_line, mutant.function.as_str()))
                .or_default()
                .push(index);
        }
        for indices in by_function.values() {
            let mut rank: BTreeMap<testsmith_driver::MutationOperator, usize> = BTreeMap::new();
            let mut ordered: Vec<(usize, usize)> = indices
                .iter()
                .map(|&index| {
                    let seen = rank.entry(file.mutants[index].operator).or_default();
                    *seen += 1;
                    (*seen, index)
                })
                .collect();
            ordered.sort();
            for (position, (_, index)) in ordered.into_iter().enumerate() {
                if position < limit {
                    selected.push((file_index, index));
                } else {
                    statuses[file_index][index] =
                        Status::NotRun(format!("over the budget of {limit} mutants per function"));
                }
            }
        }
    }
    selected.sort();
    selected
}

/// Runs the unit's tests with no mutant: they must pass. Returns each command's time.
fn run_baseline(
    project: &Project,
    sandbox: &Sandbox,
    unit: &Path,
    options: &LabOptions,
) -> Result<Vec<Duration>, String> {
    let run = sandbox.baseline(unit);
    let mut times = Vec::new();
    for command in project.driver.mutant_commands(&run) {
        let began = Instant::now();
        let output = run_command(&command, options.baseline_timeout)?;
        times.push(began.elapsed());
        if !output.is_success() {
            return Err(format!(
                "the tests of {} fail without any mutant (`{}`), so no mutant there can be judged:\n{}",
                shown_unit(project, unit),
                command.display(),
                tail(&output)
            ));
        }
    }
    Ok(times)
}

/// Builds and tests one mutant; `Err` only when the sandbox or the toolchain fails.
fn test_mutant(
    project: &Project,
    sandbox: &Sandbox,
    file: &MutatedFile,
    mutant: &testsmith_driver::Mutant,
    tests: Option<Vec<String>>,
    limits: &[Duration],
) -> Result<MutantOutcome, String> {
    let mutated = mutant.apply(&file.text).ok_or_else(|| {
        format!(
            "{}:{}: the mutant does not apply to the file",
            file.shown.display(),
            mutant.line
        )
    })?;
    let mut run: MutantRun = sandbox
        .install(file, &mutated)
        .map_err(|error| format!("cannot write a mutant of {}: {error}", file.shown.display()))?;
    run.tests = tests;
    let outcome = outcome_of(project, &run, limits);
    sandbox.restore(file).map_err(|error| {
        format!(
            "cannot restore the copy of {}: {error}",
            file.shown.display()
        )
    })?;
    outcome
}

fn outcome_of(
    project: &Project,
    run: &MutantRun,
    limits: &[Duration],
) -> Result<MutantOutcome, String> {
    for (index, command) in project.driver.mutant_commands(run).iter().enumerate() {
        let limit = limits
            .get(index)
            .copied()
            .unwrap_or(Duration::from_secs(300));
        let output = run_command(command, limit)?;
        if output.exit_code.is_none() {
            return Ok(MutantOutcome::Timeout);
        }
        if !output.is_success() {
            return Ok(if project.driver.is_build_failure(command, &output) {
                MutantOutcome::Unviable
            } else {
                MutantOutcome::Caught
            });
        }
    }
    Ok(MutantOutcome::Missed)
}

fn run_command(command: &VerifyCommand, limit: Duration) -> Result<CommandOutput, String> {
    run_confined(command, limit).map_err(|error| match error {
        CommandError::NotFound { .. } => format!("{error}: no mutant can be tested"),
        CommandError::Spawn { .. }
        | CommandError::Sandbox(_)
        | CommandError::Interrupted { .. } => error.to_string(),
    })
}

fn shown_unit(project: &Project, unit: &Path) -> String {
    let path = project.root.join(unit);
    path.display().to_string()
}

/// The last lines of what a command printed, for an error message.
fn tail(output: &CommandOutput) -> String {
    let text = format!("{}{}", output.stdout, output.stderr);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
