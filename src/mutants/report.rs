//! The report of a mutation run: per function and in total, mutants, caught, missed,
//! timeouts and unviable, the score, every surviving mutant with its place and the change
//! in words, and counts per operator. Serialised as the `--format json` document; the text
//! form is in `src/output/mutants.rs`.

use super::lab::{MutantOutcome, ProjectRun, Status};
use super::plan::Project;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use testsmith_driver::{Mutant, MutationOperator};

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub mutants: usize,
    pub caught: usize,
    pub missed: usize,
    pub timeout: usize,
    pub unviable: usize,
    /// Not tried in this run (budget, a failing baseline); they are not in the score.
    pub not_run: usize,
}

impl Counts {
    fn add(&mut self, status: &Status) {
        self.mutants += 1;
        match status {
            Status::Tested { outcome, .. } => match outcome {
                MutantOutcome::Caught => self.caught += 1,
                MutantOutcome::Missed => self.missed += 1,
                MutantOutcome::Timeout => self.timeout += 1,
                MutantOutcome::Unviable => self.unviable += 1,
            },
            Status::NotRun(_) => self.not_run += 1,
        }
    }

    /// Adds another tally to this one.
    pub fn add_counts(&mut self, other: &Counts) {
        self.mutants += other.mutants;
        self.caught += other.caught;
        self.missed += other.missed;
        self.timeout += other.timeout;
        self.unviable += other.unviable;
        self.not_run += other.not_run;
    }

    /// Caught (timeouts included) out of the viable mutants tested, in percent; `None` when
    /// none was.
    pub fn score(&self) -> Option<f64> {
        let judged = self.caught + self.timeout + self.missed;
        (judged > 0).then(|| 100.0 * (self.caught + self.timeout) as f64 / judged as f64)
    }
}

/// One mutant and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct MutantReport {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub function: String,
    pub operator: MutationOperator,
    /// The change in words: ``replace `<` with `<=` ``.
    pub change: String,
    pub original: String,
    pub replacement: String,
    /// `caught`, `missed`, `timeout`, `unviable` or `not_run`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub millis: Option<u64>,
    /// Its outcome came from an earlier, interrupted run.
    pub resumed: bool,
    /// Missed without running: no test executes its line.
    pub unexecuted: bool,
    /// How listings and reports show it ([`Mutant::located`]).
    #[serde(skip)]
    pub shown: String,
}

/// One function's mutants.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionReport {
    pub file: PathBuf,
    pub function: String,
    pub line: usize,
    #[serde(flatten)]
    pub counts: Counts,
    pub score: Option<f64>,
    /// The mutants its tests did not notice.
    pub missed: Vec<MutantReport>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct MutantsReport {
    pub functions: Vec<FunctionReport>,
    pub mutants: Vec<MutantReport>,
    pub operators: BTreeMap<&'static str, Counts>,
    pub summary: Summary,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub counts: Counts,
    pub score: Option<f64>,
    /// Mutants tested in this run (not resumed from an earlier one), those counted missed
    /// without running included.
    pub tested_now: usize,
    /// Missed mutants on lines no test executes (counted without running them).
    pub unexecuted: usize,
    pub seconds: f64,
}

impl MutantsReport {
    /// The report of `projects`, whose runs are `runs` (one each, same order; absent for a
    /// listing that ran nothing).
    pub fn build(projects: &[Project], runs: Option<&[ProjectRun]>, seconds: f64) -> MutantsReport {
        let mut functions: Vec<FunctionReport> = Vec::new();
        let mut mutants = Vec::new();
        let mut operators: BTreeMap<&'static str, Counts> = MutationOperator::ALL
            .iter()
            .map(|operator| (operator.as_str(), Counts::default()))
            .collect();
        let mut total = Counts::default();
        let mut tested_now = 0;
        let mut unexecuted = 0;
        let mut problems = Vec::new();
        let listed = Status::NotRun("listed only".to_owned());
        for (project_index, project) in projects.iter().enumerate() {
            let run = runs.map(|runs| &runs[project_index]);
            if let Some(run) = run {
                problems.extend(run.problems.iter().cloned());
            }
            for (file_index, file) in project.files.iter().enumerate() {
                for (mutant_index, mutant) in file.mutants.iter().enumerate() {
                    let status = run.map_or(&listed, |run| &run.statuses[file_index][mutant_index]);
                    let report = mutant_report(&file.shown, mutant, status);
                    if matches!(status, Status::Tested { resumed: false, .. }) {
                        tested_now += 1;
                    }
                    if report.unexecuted {
                        unexecuted += 1;
                    }
                    total.add(status);
                    operators
                        .entry(mutant.operator.as_str())
                        .or_default()
                        .add(status);
                    let function = match functions.last_mut() {
                        Some(last)
                            if last.file == file.shown
                                && last.function == mutant.function
                                && last.line == mutant.function_line =>
                        {
                            last
                        }
                        _ => {
                            functions.push(FunctionReport {
                                file: file.shown.clone(),
                                function: mutant.function.clone(),
                                line: mutant.function_line,
                                counts: Counts::default(),
                                score: None,
                                missed: Vec::new(),
                            });
                            functions.last_mut().expect("just pushed")
                        }
                    };
                    function.counts.add(status);
                    if report.outcome == "missed" {
                        function.missed.push(report.clone());
                    }
                    mutants.push(report);
                }
            }
        }
        for function in &mut functions {
            function.score = function.counts.score();
        }
        MutantsReport {
            functions,
            mutants,
            operators,
            summary: Summary {
                counts: total,
                score: total.score(),
                tested_now,
                unexecuted,
                seconds,
            },
            problems,
        }
    }
}

fn mutant_report(file: &std::path::Path, mutant: &Mutant, status: &Status) -> MutantReport {
    let (outcome, reason, millis, resumed, unexecuted) = match status {
        Status::Tested {
            outcome,
            millis,
            resumed,
            unexecuted,
        } => {
            let name = match outcome {
                MutantOutcome::Caught => "caught",
                MutantOutcome::Missed => "missed",
                MutantOutcome::Timeout => "timeout",
                MutantOutcome::Unviable => "unviable",
            };
            (name, None, Some(*millis), *resumed, *unexecuted)
        }
        Status::NotRun(reason) => ("not_run", Some(reason.clone()), None, false, false),
    };
    MutantReport {
        file: file.to_owned(),
        line: mutant.line,
        column: mutant.column,
        function: mutant.function.clone(),
        operator: mutant.operator,
        change: mutant.describe(),
        original: mutant.original.clone(),
        replacement: mutant.replacement.clone(),
        outcome,
        reason,
        millis,
        resumed,
        unexecuted,
        shown: mutant.located(file).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_counts_timeouts_as_caught_and_leaves_unviable_and_not_run_out() {
        let counts = Counts {
            mutants: 10,
            caught: 5,
            missed: 2,
            timeout: 1,
            unviable: 1,
            not_run: 1,
        };
        assert_eq!(counts.score(), Some(75.0));
        assert_eq!(Counts::default().score(), None);
    }
}
