//! The funnel of `generate --llm --coverage`, in TestGen-LLM's terms: generated → built →
//! passed → passed reliably → raised coverage → kept, per test and in total, with coverage
//! before → after per package and for the run.
//!
//! Verification has settled which new tests build and pass every rerun. Here each package's
//! tests are built once more with coverage (the new tests now in them) and every new test
//! that passed reliably runs alone with that binary, in order: it is kept only if it
//! executes statements that neither the existing tests (the baseline measured before the
//! model was asked) nor the tests kept before it executed. Otherwise it is removed from its
//! file — every other byte stays — with the reason "adds no coverage" (`--keep-no-gain`
//! keeps it).
//!
//! Under `--mutants` ([`mutants`]) a test is also kept when it kills a mutant the existing
//! suite missed and no earlier new test killed; one that does neither is removed with the
//! reason "kills no surviving mutant and adds no coverage".

mod mutants;

pub use mutants::MutantJudge;

use super::WrittenFile;
use super::report::{TestStatus, VerifyReport};
use crate::coverage::members::{extent, missed_lines};
use crate::coverage::{Baselines, CoveragePackage, PackageRun, Profile, Tally, packages};
use crate::pipeline::{WriteScope, folder_of, write_atomically};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testsmith_driver::Driver;

/// How to judge.
#[derive(Debug, Clone, Copy)]
pub struct FunnelOptions {
    /// Keep a test that passes but adds no coverage.
    pub keep_no_gain: bool,
    pub all_packages: bool,
    pub test_timeout: Duration,
}

/// The whole funnel.
#[derive(Debug, Default, Serialize)]
pub struct CoverageFunnel {
    pub tests: Vec<FunnelTest>,
    pub totals: FunnelTotals,
    pub packages: Vec<PackageGain>,
    /// Statements executed before the new tests and after the kept ones, over every package
    /// judged.
    pub before: Tally,
    pub after: Tally,
    /// What the existing and kept tests execute, per package: the baselines of a follow-up.
    #[serde(skip)]
    pub covered: Baselines,
    /// `--mutants`: the mutation score per function and in total, before → after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutation: Option<MutationGain>,
}

/// The mutation score before the model's tests and after the kept ones.
#[derive(Debug, Default, Serialize)]
pub struct MutationGain {
    pub functions: Vec<crate::mutants::targets::ScoreGain>,
    pub before: crate::mutants::report::Counts,
    pub after: crate::mutants::report::Counts,
    pub score_before: Option<f64>,
    pub score_after: Option<f64>,
    /// Why some mutants could not be judged.
    pub problems: Vec<String>,
}

impl MutationGain {
    /// The gain recorded in `targets`, whose survivors the funnel marked killed.
    pub fn of(targets: &crate::mutants::targets::MutationTargets) -> MutationGain {
        let functions = targets.gains();
        let mut gain = MutationGain {
            problems: targets.problems.clone(),
            ..MutationGain::default()
        };
        for function in &functions {
            gain.before.add_counts(&function.before);
            gain.after.add_counts(&function.after);
        }
        gain.score_before = gain.before.score();
        gain.score_after = gain.after.score();
        gain.functions = functions;
        gain
    }
}

/// A member a kept test left lines of: what a follow-up asks for.
#[derive(Debug, Clone)]
pub struct StillMissed {
    /// The source file, as the user named it, and the member's first line.
    pub source: PathBuf,
    pub line: usize,
    /// The kept test's name; a follow-up's is derived from it.
    pub test_name: String,
    pub lines: Vec<(usize, usize)>,
}

/// How far one new test went.
#[derive(Debug, Serialize)]
pub struct FunnelTest {
    pub test: String,
    pub member: Option<String>,
    pub test_file: PathBuf,
    pub built: bool,
    pub passed: bool,
    pub passed_reliably: bool,
    /// Statements it executes that no earlier test executed.
    pub new_statements: u64,
    pub kept: bool,
    /// Why it was not kept (or kept without raising coverage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// 0 for the first ask, 1.. for follow-ups (`--coverage-rounds`).
    pub round: u32,
    /// `--mutants`: the surviving mutants it kills that no earlier test killed, shown as
    /// `file:line:column  function  operator: change`.
    pub kills: Vec<String>,
    /// Whether its kills were judged (`--mutants`, and the mutants could be tried).
    #[serde(skip)]
    pub mutants_judged: bool,
    /// The source file it tests, as the user named it.
    #[serde(skip)]
    pub source_file: PathBuf,
    /// Kept, with lines of its member no test executes yet.
    #[serde(skip)]
    pub still_missed: Option<StillMissed>,
}

/// The funnel in numbers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FunnelTotals {
    pub generated: usize,
    pub built: usize,
    pub passed: usize,
    pub passed_reliably: usize,
    pub raised_coverage: usize,
    /// `--mutants`: tests that killed a mutant the existing suite missed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub killed_a_mutant: Option<usize>,
    pub kept: usize,
}

/// One package's coverage before and after.
#[derive(Debug, Serialize)]
pub struct PackageGain {
    pub package: PathBuf,
    pub before: Tally,
    pub after: Tally,
}

/// Judges the tests `verified` settled, removing those that add no coverage from their
/// files (within `scope`).
pub fn judge_coverage(
    verified: &VerifyReport,
    written: &[WrittenFile],
    baselines: &Baselines,
    scope: &WriteScope,
    options: FunnelOptions,
    mut mutants: Option<&mut MutantJudge<'_>>,
) -> CoverageFunnel {
    let drivers: BTreeMap<&Path, &'static dyn Driver> = written
        .iter()
        .map(|file| (file.source.as_path(), file.driver))
        .collect();
    let mut funnel = CoverageFunnel::default();
    // Tests that passed reliably, by package folder, in report order.
    let mut to_judge: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for test in &verified.tests {
        let flaky = test.status == TestStatus::Quarantined
            && test
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("flaky"));
        let entry = FunnelTest {
            test: test.test.clone(),
            member: test.member.clone(),
            test_file: test.test_file.clone(),
            built: test.status.is_compiled(),
            passed: test.status == TestStatus::Passed || flaky,
            passed_reliably: test.status == TestStatus::Passed,
            new_statements: 0,
            kept: false,
            round: 0,
            kills: Vec::new(),
            mutants_judged: false,
            source_file: test.source_file.clone(),
            still_missed: None,
            reason: (test.status != TestStatus::Passed).then(|| {
                test.reason
                    .clone()
                    .unwrap_or_else(|| test.status.as_str().to_owned())
            }),
        };
        if entry.passed_reliably {
            to_judge
                .entry(folder_of(&test.source_file).to_owned())
                .or_default()
                .push(funnel.tests.len());
        }
        funnel.tests.push(entry);
    }
    let judging = Judging {
        baselines,
        scope,
        options,
    };
    for (folder, tests) in by_project(to_judge, verified, &drivers) {
        let mut sources: Vec<(PathBuf, &'static dyn Driver)> = tests
            .iter()
            .filter_map(|&index| {
                let source = &verified.tests[index].source_file;
                let driver = drivers.get(source.as_path())?;
                Some((source.clone(), *driver))
            })
            .collect();
        sources.sort_by(|a, b| a.0.cmp(&b.0));
        judge_package(
            &folder,
            sources,
            &tests,
            &judging,
            mutants.as_deref_mut(),
            &mut funnel,
        );
    }
    funnel.totals = totals(&funnel.tests);
    funnel
}

/// Joins the folders of one project where its driver measures per project (a Cargo
/// package builds and tests all its folders together): one build, and each test judged
/// against every test kept before it in the whole project. Keyed by the first folder.
fn by_project(
    to_judge: BTreeMap<PathBuf, Vec<usize>>,
    verified: &VerifyReport,
    drivers: &BTreeMap<&Path, &'static dyn Driver>,
) -> BTreeMap<PathBuf, Vec<usize>> {
    let mut joined: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    let mut first_folder: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for (folder, tests) in to_judge {
        let driver = tests
            .first()
            .and_then(|&index| drivers.get(verified.tests[index].source_file.as_path()));
        let project = driver
            .filter(|driver| driver.coverage_per_project())
            .and_then(|driver| {
                let marker = driver.project_marker()?;
                let absolute = folder.canonicalize().ok()?;
                absolute
                    .ancestors()
                    .find(|dir| dir.join(marker).is_file())
                    .map(Path::to_owned)
            });
        let key = match project {
            Some(root) => first_folder.entry(root).or_insert(folder).clone(),
            None => folder,
        };
        joined.entry(key).or_default().extend(tests);
    }
    joined
}

/// What every package is judged against.
struct Judging<'a> {
    baselines: &'a Baselines,
    scope: &'a WriteScope,
    options: FunnelOptions,
}

fn judge_package(
    folder: &Path,
    mut sources: Vec<(PathBuf, &'static dyn Driver)>,
    tests: &[usize],
    judging: &Judging<'_>,
    mut mutants: Option<&mut MutantJudge<'_>>,
    funnel: &mut CoverageFunnel,
) {
    let Judging {
        baselines,
        scope,
        options,
    } = *judging;
    sources.dedup_by(|a, b| a.0 == b.0);
    let Some(driver) = sources.first().map(|(_, driver)| *driver) else {
        return;
    };
    let mut package_mutants = mutants
        .as_deref()
        .and_then(|judge| mutants::PackageMutants::find(judge, folder, driver));
    let (mut found, _) = packages(sources);
    let measured: Result<(CoveragePackage, &Profile, PackageRun), String> = match found.pop() {
        None => Err("coverage not measured: the package cannot be placed".into()),
        Some(package) => match baselines.get(&package.root.join(&package.dir)) {
            None => Err("coverage not measured before the model was asked".into()),
            Some(baseline) => {
                match PackageRun::start(&package, options.all_packages, options.test_timeout) {
                    Ok(run) => Ok((package, baseline, run)),
                    Err(error) => Err(format!("coverage not measured: {error:?}")),
                }
            }
        },
    };
    let (package, baseline, run) = match measured {
        Ok((package, baseline, run)) => (Some(package), Some(baseline), Some(run)),
        // Without mutants to judge, an unmeasured test has nothing against it: kept.
        Err(reason) if mutants.is_none() => {
            for &test in tests {
                funnel.tests[test].kept = true;
                funnel.tests[test].reason = Some(reason.clone());
            }
            return;
        }
        Err(reason) => {
            tracing::info!(
                "{}: {reason}; tests are judged by mutants alone",
                folder.display()
            );
            (None, None, None)
        }
    };
    let mut covered: Option<Profile> = baseline.cloned();
    for &index in tests {
        let name = funnel.tests[index].test.clone();
        // Coverage: statements no earlier test executed, and the test's own profile.
        let mut unmeasured: Option<String> = None;
        let (gained, profile) = match (&run, &mut covered) {
            (Some(run), Some(covered)) => {
                match measure_alone(run, package.as_ref(), &funnel.tests[index], &name) {
                    Ok((profile, _)) => {
                        let new: u64 = profile
                            .newly_executed(covered)
                            .iter()
                            // The package's code, not the test's own (Rust instruments tests too).
                            .filter(|key| package.as_ref().is_some_and(|p| p.holds(&key.file)))
                            .filter_map(|key| profile.blocks().find(|(k, _)| k == key))
                            .map(|(_, count)| u64::from(count.statements))
                            .sum();
                        if new > 0 {
                            covered.merge(&profile);
                        }
                        (Some(new), Some(profile))
                    }
                    Err(reason) => {
                        unmeasured = Some(format!("coverage not measured: {reason}"));
                        (None, None)
                    }
                }
            }
            _ => (None, None),
        };
        // Mutants: the survivors it kills that no earlier test killed.
        let kills = match (mutants.as_deref_mut(), package_mutants.as_mut()) {
            (None, _) => None,
            (Some(_), None) => Some(Ok(Vec::new())),
            (Some(judge), Some(package_mutants)) => {
                let test = &funnel.tests[index];
                Some(package_mutants.kills(
                    judge,
                    &name,
                    &test.test_file,
                    &test.source_file,
                    profile.as_ref(),
                ))
            }
        };
        let test = &mut funnel.tests[index];
        test.new_statements = gained.unwrap_or(0);
        let verdict = match kills {
            None => match (gained, unmeasured) {
                (_, Some(reason)) => Verdict::Kept(Some(reason)),
                (Some(new), None) if new > 0 => Verdict::Kept(None),
                _ if options.keep_no_gain => {
                    Verdict::Kept(Some("adds no coverage (kept: --keep-no-gain)".to_owned()))
                }
                _ => Verdict::Remove("adds no coverage"),
            },
            Some(Err(reason)) => {
                let reason = format!("mutants not tried: {reason}");
                Verdict::Kept((test.new_statements == 0).then_some(reason))
            }
            Some(Ok(killed)) => {
                test.mutants_judged = true;
                test.kills = killed;
                if test.new_statements > 0 || !test.kills.is_empty() {
                    Verdict::Kept(None)
                } else if options.keep_no_gain {
                    Verdict::Kept(Some(
                        "kills no surviving mutant and adds no coverage (kept: --keep-no-gain)"
                            .to_owned(),
                    ))
                } else if gained.is_none() {
                    Verdict::Remove("kills no surviving mutant (coverage not measured)")
                } else {
                    Verdict::Remove("kills no surviving mutant and adds no coverage")
                }
            }
        };
        match verdict {
            Verdict::Kept(reason) => {
                test.kept = true;
                test.reason = reason;
            }
            Verdict::Remove(why) => {
                test.reason = Some(match remove(driver, &test.test_file, &name, scope) {
                    Ok(()) => why.to_owned(),
                    Err(error) => {
                        test.kept = true;
                        format!("{why}, but could not be removed: {error}")
                    }
                });
            }
        }
    }
    let (Some(package), Some(baseline), Some(covered)) = (package, baseline, covered) else {
        return;
    };
    for &index in tests {
        let test = &mut funnel.tests[index];
        if test.new_statements == 0 {
            continue;
        }
        test.still_missed = still_missed(&package, &covered, test);
    }
    let before = package.tally(baseline);
    let after = package.tally(&covered);
    funnel
        .covered
        .insert(package.root.join(&package.dir), covered);
    funnel.before.add(before);
    funnel.after.add(after);
    funnel.packages.push(PackageGain {
        package: package.shown_dir.clone(),
        before,
        after,
    });
}

/// Runs `test` alone with `run`'s build, by the name its driver runs it by.
fn measure_alone(
    run: &PackageRun,
    package: Option<&CoveragePackage>,
    test: &FunnelTest,
    name: &str,
) -> Result<(Profile, testsmith_driver::CommandOutput), String> {
    let package = package.ok_or("the package cannot be placed")?;
    let run_name = package
        .driver
        .coverage_test_name(
            &package.relative(&test.source_file),
            &package.relative(&test.test_file),
            name,
        )
        .ok_or("the test cannot be run alone")?;
    run.test_profile(&run_name)
}

/// What becomes of one judged test.
enum Verdict {
    /// Kept, with a note when it was kept for want of a measure.
    Kept(Option<String>),
    /// Removed from its file, for this reason.
    Remove(&'static str),
}

/// The lines of `test`'s member that no test executes yet, if any.
fn still_missed(
    package: &CoveragePackage,
    covered: &Profile,
    test: &FunnelTest,
) -> Option<StillMissed> {
    let wanted = test.member.as_deref()?;
    for source in &package.sources {
        for member in source
            .members
            .members
            .iter()
            .filter(|m| m.kind.is_callable())
        {
            if package.driver.display_name(member) != wanted {
                continue;
            }
            let span = extent(&source.text, &member.byte_range);
            let lines: Vec<(usize, usize)> = missed_lines(covered, &source.rel, &source.text, span)
                .into_iter()
                .map(|range| (range.first as usize, range.last as usize))
                .collect();
            return (!lines.is_empty()).then(|| StillMissed {
                source: source.shown.clone(),
                line: member.start_line,
                test_name: test.test.clone(),
                lines,
            });
        }
    }
    None
}

impl CoverageFunnel {
    /// Adds a follow-up round's funnel: its tests, and coverage after it.
    pub fn absorb(&mut self, round: u32, mut later: CoverageFunnel) {
        for test in &mut later.tests {
            test.round = round;
        }
        self.tests.append(&mut later.tests);
        self.totals = totals(&self.tests);
        for gain in later.packages {
            match self
                .packages
                .iter_mut()
                .find(|known| known.package == gain.package)
            {
                Some(known) => {
                    self.after.executed += gain.after.executed - known.after.executed;
                    known.after = gain.after;
                }
                None => {
                    self.before.add(gain.before);
                    self.after.add(gain.after);
                    self.packages.push(gain);
                }
            }
        }
        self.covered.extend(later.covered);
    }

    /// The members kept tests of `round` left lines of.
    pub fn still_missed(&self, round: u32) -> Vec<StillMissed> {
        self.tests
            .iter()
            .filter(|test| test.round == round && test.kept)
            .filter_map(|test| test.still_missed.clone())
            .collect()
    }
}

/// Removes `name` from the test file at `path`, atomically.
fn remove(driver: &dyn Driver, path: &Path, name: &str, scope: &WriteScope) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|error| error.to_string())?;
    let edited = driver.remove_test(path, &text, name)?;
    write_atomically(scope, path, &edited, Some(&text)).map_err(|error| error.to_string())
}

fn totals(tests: &[FunnelTest]) -> FunnelTotals {
    let count = |keep: fn(&FunnelTest) -> bool| tests.iter().filter(|test| keep(test)).count();
    FunnelTotals {
        generated: tests.len(),
        built: count(|test| test.built),
        passed: count(|test| test.passed),
        passed_reliably: count(|test| test.passed_reliably),
        raised_coverage: count(|test| test.new_statements > 0),
        killed_a_mutant: tests
            .iter()
            .any(|test| test.mutants_judged)
            .then(|| count(|test| !test.kills.is_empty())),
        kept: count(|test| test.kept),
    }
}

impl CoverageFunnel {
    /// The funnel as text: a line per test not kept, the totals, coverage before → after.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for test in self
            .tests
            .iter()
            .filter(|test| !test.kept || test.reason.is_some())
        {
            let verdict = if test.kept { "kept" } else { "removed" };
            out.push_str(&format!(
                "  {verdict:<8} {} in {}: {}\n",
                test.test,
                test.test_file.display(),
                test.reason.as_deref().unwrap_or("")
            ));
        }
        for test in self.tests.iter().filter(|test| !test.kills.is_empty()) {
            out.push_str(&format!(
                "  kept     {} in {} kills {}:\n",
                test.test,
                test.test_file.display(),
                crate::output::plural(test.kills.len(), "mutant", "mutants")
            ));
            for shown in &test.kills {
                out.push_str(&format!("             {shown}\n"));
            }
        }
        let t = &self.totals;
        let killed = t
            .killed_a_mutant
            .map(|count| format!(" → {count} killed a surviving mutant"))
            .unwrap_or_default();
        out.push_str(&format!(
            "funnel: {} generated → {} built → {} passed → {} passed reliably → {} raised coverage{killed} → {} kept\n",
            t.generated, t.built, t.passed, t.passed_reliably, t.raised_coverage, t.kept
        ));
        if self.packages.is_empty() {
            out.push_str("coverage: not measured\n");
        } else {
            out.push_str(&format!(
                "coverage: {}/{} → {}/{} statements ({:.1}% → {:.1}%)\n",
                self.before.executed,
                self.before.total,
                self.after.executed,
                self.after.total,
                self.before.percent(),
                self.after.percent()
            ));
        }
        if let Some(mutation) = &self.mutation {
            out.push_str(&mutation.text());
        }
        out
    }
}

impl MutationGain {
    /// `mutation score: 70.4% → 85.2% (19 → 23 of 27 caught)`, then a line per function
    /// whose score changed.
    fn text(&self) -> String {
        let score = |score: Option<f64>| score.map_or("-".to_owned(), |s| format!("{s:.1}%"));
        let caught = |counts: &crate::mutants::report::Counts| counts.caught + counts.timeout;
        let judged = self.before.caught + self.before.timeout + self.before.missed;
        let mut out = format!(
            "mutation score: {} → {} ({} → {} of {judged} caught)\n",
            score(self.score_before),
            score(self.score_after),
            caught(&self.before),
            caught(&self.after),
        );
        for function in self
            .functions
            .iter()
            .filter(|function| function.after != function.before)
        {
            out.push_str(&format!(
                "  {}  {}:{}  {} → {}\n",
                function.function,
                function.file.display(),
                function.line,
                score(function.score_before),
                score(function.score_after)
            ));
        }
        for problem in &self.problems {
            out.push_str(&format!("  mutants not judged: {problem}\n"));
        }
        out
    }
}
