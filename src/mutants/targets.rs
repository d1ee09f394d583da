//! The mutants the model is aimed at (`generate --llm --mutants`): the existing suite runs
//! against every mutant of the files asked about (through the lab, so the journal makes a
//! rerun cheap), and what it misses becomes the prompt's target and, after the model's tests
//! are written, what each new test must kill to be kept.

use super::lab::{LabOptions, MutantOutcome, run_project};
use super::plan::{Project, projects};
use super::report::{Counts, MutantsReport};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use testsmith_driver::{Driver, Mutant, MutationOperator};

/// How many surviving mutants one prompt names at most: enough to aim a test, few enough to
/// keep the prompt about the member.
const MAX_NAMED_IN_PROMPT: usize = 8;

/// A mutant the existing suite does not notice.
#[derive(Debug, Clone)]
pub struct Survivor {
    /// The source file as the user named it, and relative to its project root.
    pub source: PathBuf,
    pub rel: PathBuf,
    pub root: PathBuf,
    pub mutant: Mutant,
    /// The change in the prompt's plain words.
    pub plain: String,
    /// The new test that killed it, once one has.
    pub killed_by: Option<String>,
}

impl Survivor {
    /// Whether `other` (found again in the file as it is now) is the same change.
    fn same_as(&self, rel: &Path, other: &Mutant) -> bool {
        self.rel == rel
            && self.mutant.function == other.function
            && self.mutant.operator == other.operator
            && self.mutant.line == other.line
            && self.mutant.column == other.column
            && self.mutant.original == other.original
            && self.mutant.replacement == other.replacement
    }

    /// `calc/calc.go:8:7  Clamp  comparison: replace `<` with `<=``.
    pub fn shown(&self) -> String {
        self.mutant.located(&self.source).to_string()
    }
}

/// The existing suite's mutation run over the files asked about.
#[derive(Debug, Default)]
pub struct MutationTargets {
    pub survivors: Vec<Survivor>,
    /// Per function, the outcomes before the model was asked: (file as named, function's
    /// first line) → name and counts.
    before: BTreeMap<(PathBuf, usize), (String, Counts)>,
    /// Why some files' mutants could not be judged (a failing suite, a busy project).
    pub problems: Vec<String>,
    /// The projects' mutation locks, held until the funnel has tried the new tests too.
    locks: Vec<std::fs::File>,
}

impl MutationTargets {
    /// Runs the existing tests of `sources` against their mutants.
    pub fn measure(
        sources: Vec<(PathBuf, &'static dyn Driver)>,
        options: &LabOptions,
    ) -> MutationTargets {
        let started = Instant::now();
        let (found, unplaced) = projects(sources);
        let mut targets = MutationTargets::default();
        targets.problems.extend(
            unplaced
                .into_iter()
                .map(|note| format!("{}: {}", note.path.display(), note.reason)),
        );
        let mut runs = Vec::new();
        let mut measured = Vec::new();
        for project in found {
            match super::sandbox::lock(&project.root) {
                Ok(Some(lock)) => targets.locks.push(lock),
                Ok(None) => {
                    targets.problems.push(format!(
                        "{}: another mutation run holds the project",
                        project.root.display()
                    ));
                    continue;
                }
                Err(error) => {
                    targets.problems.push(format!(
                        "{}: cannot take the mutation lock: {error}",
                        project.root.display()
                    ));
                    continue;
                }
            }
            runs.push(run_project(&project, options, started, &mut |_| {}));
            measured.push(project);
        }
        let report = MutantsReport::build(&measured, Some(&runs), started.elapsed().as_secs_f64());
        targets.problems.extend(report.problems.iter().cloned());
        for function in &report.functions {
            targets.before.insert(
                (function.file.clone(), function.line),
                (function.function.clone(), function.counts),
            );
        }
        for (project, run) in measured.iter().zip(&runs) {
            for (file, statuses) in project.files.iter().zip(&run.statuses) {
                for (mutant, status) in file.mutants.iter().zip(statuses) {
                    let super::lab::Status::Tested {
                        outcome: MutantOutcome::Missed,
                        ..
                    } = status
                    else {
                        continue;
                    };
                    targets.survivors.push(Survivor {
                        source: file.shown.clone(),
                        rel: file.rel.clone(),
                        root: project.root.clone(),
                        plain: mutant.in_plain_words(&file.text),
                        mutant: mutant.clone(),
                        killed_by: None,
                    });
                }
            }
        }
        targets
    }

    /// The surviving mutants inside lines `first..=last` of `source` (as walked), in the
    /// prompt's plain words, at most [`MAX_NAMED_IN_PROMPT`], each kind of change first.
    pub fn in_plain_words(&self, source: &Path, first: usize, last: usize) -> Vec<String> {
        let mut found: Vec<&Survivor> = self
            .survivors
            .iter()
            .filter(|survivor| {
                survivor.killed_by.is_none()
                    && survivor.source == source
                    && (first..=last).contains(&survivor.mutant.line)
            })
            .collect();
        // One of each operator before a second of any: a short list still covers the kinds.
        let mut seen: BTreeMap<MutationOperator, usize> = BTreeMap::new();
        let mut ranked: Vec<(usize, usize, &Survivor)> = found
            .drain(..)
            .enumerate()
            .map(|(order, survivor)| {
                let rank = seen.entry(survivor.mutant.operator).or_default();
                *rank += 1;
                (*rank, order, survivor)
            })
            .collect();
        ranked.sort_by_key(|(rank, order, _)| (*rank, *order));
        ranked
            .into_iter()
            .take(MAX_NAMED_IN_PROMPT)
            .map(|(_, _, survivor)| survivor.plain.clone())
            .collect()
    }

    /// Whether the existing tests were run against mutants of a function starting within
    /// lines `first..=last` of `source`: then a member without survivors is tested enough.
    pub fn judged(&self, source: &Path, first: usize, last: usize) -> bool {
        self.before.iter().any(|((file, line), (_, counts))| {
            file == source && (first..=last).contains(line) && counts.score().is_some()
        })
    }

    /// The survivors not killed yet that `wanted` picks, with the mutant found again in
    /// `project` (the files as they are now; a Rust source file may have gained its test
    /// module's declaration) as (survivor index, file index, mutant index).
    pub fn alive_in(
        &self,
        project: &Project,
        wanted: impl Fn(&Survivor) -> bool,
    ) -> Vec<(usize, usize, usize)> {
        let mut found = Vec::new();
        for (index, survivor) in self.survivors.iter().enumerate() {
            if survivor.killed_by.is_some() || survivor.root != project.root || !wanted(survivor) {
                continue;
            }
            let again = project
                .files
                .iter()
                .enumerate()
                .find_map(|(file_index, file)| {
                    let at = file
                        .mutants
                        .iter()
                        .position(|mutant| survivor.same_as(&file.rel, mutant))?;
                    Some((file_index, at))
                });
            if let Some((file_index, mutant_index)) = again {
                found.push((index, file_index, mutant_index));
            }
        }
        found
    }

    /// Per function, the score before the model's tests and after the kept ones.
    pub fn gains(&self) -> Vec<ScoreGain> {
        let mut gains: Vec<ScoreGain> = Vec::new();
        for ((file, line), (function, counts)) in &self.before {
            let killed = self
                .survivors
                .iter()
                .filter(|survivor| {
                    survivor.killed_by.is_some()
                        && &survivor.source == file
                        && survivor.mutant.function_line == *line
                })
                .count();
            let mut after = *counts;
            after.caught += killed;
            after.missed -= killed;
            gains.push(ScoreGain {
                file: file.clone(),
                function: function.clone(),
                line: *line,
                before: *counts,
                after,
                score_before: counts.score(),
                score_after: after.score(),
            });
        }
        gains
    }
}

/// One function's mutation score before → after.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreGain {
    pub file: PathBuf,
    pub function: String,
    pub line: usize,
    pub before: Counts,
    pub after: Counts,
    pub score_before: Option<f64>,
    pub score_after: Option<f64>,
}
