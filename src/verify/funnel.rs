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
    // The packages of the sources the tests exercise: a folder (Go), or a whole Cargo
    // package whose folders are judged together against one build.
    let sources: Vec<(PathBuf, &'static dyn Driver)> = to_judge
        .keys()
        .flat_map(|folder| {
            verified
                .tests
                .iter()
                .filter(move |test| folder_of(&test.source_file) == folder)
        })
        .filter_map(|test| {
            let driver = drivers.get(test.source_file.as_path())?;
            Some((test.source_file.clone(), *driver))
        })
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    let (found, _) = packages(sources);
    let mut placed: Vec<bool> = vec![false; funnel.tests.len()];
    for package in &found {
        let tests: Vec<usize> = to_judge
            .values()
            .flatten()
            .copied()
            .filter(|&index| {
                let source = &verified.tests[index].source_file;
                package.sources.iter().any(|known| &known.shown == source)
            })
            .collect();
        for &index in &tests {
            placed[index] = true;
        }
        judge_package(
            package,
            &tests,
            verified,
            baselines,
            scope,
            options,
            &mut funnel,
        );
    }
    for index in to_judge.values().flatten().copied() {
        if !placed[index] {
            funnel.tests[index].kept = true;
            funnel.tests[index].reason =
                Some("coverage not measured: the package cannot be placed".into());
        }
    }
    funnel.totals = totals(&funnel.tests);
    funnel
}

fn judge_package(
    package: &CoveragePackage,
    tests: &[usize],
    verified: &VerifyReport,
    baselines: &Baselines,
    scope: &WriteScope,
    options: FunnelOptions,
    funnel: &mut CoverageFunnel,
) {
    let keep_all = |funnel: &mut CoverageFunnel, reason: String| {
        for &test in tests {
            funnel.tests[test].kept = true;
            funnel.tests[test].reason = Some(reason.clone());
        }
    };
    if tests.is_empty() {
        return;
    }
    let Some(baseline) = baselines.get(&package.root.join(&package.dir)) else {
        return keep_all(
            funnel,
            "coverage not measured before the model was asked".into(),
        );
    };
    let run = match PackageRun::start(package, options.all_packages, options.test_timeout) {
        Ok(run) => run,
        Err(error) => {
            return keep_all(funnel, format!("coverage not measured: {error:?}"));
        }
    };
    let mut covered: Profile = baseline.clone();
    for &index in tests {
        let name = funnel.tests[index].test.clone();
        let run_name = package.driver.coverage_test_name(
            &package.relative(&verified.tests[index].source_file),
            &package.relative(&funnel.tests[index].test_file),
            &name,
        );
        let measured = run_name
            .ok_or_else(|| "the test cannot be run alone".to_owned())
            .and_then(|run_name| run.test_profile(&run_name));
        let gained = match measured {
            Ok((profile, _)) => {
                let new: u64 = profile
                    .newly_executed(&covered)
                    .iter()
                    // The package's code, not the test's own (Rust instruments tests too).
                    .filter(|key| package.holds(&key.file))
                    .filter_map(|key| profile.blocks().find(|(k, _)| k == key))
                    .map(|(_, count)| u64::from(count.statements))
                    .sum();
                if new > 0 {
                    covered.merge(&profile);
                }
                Some(new)
            }
            Err(reason) => {
                funnel.tests[index].kept = true;
                funnel.tests[index].reason = Some(format!("coverage not measured: {reason}"));
                None
            }
        };
        let Some(new) = gained else { continue };
        let test = &mut funnel.tests[index];
        test.new_statements = new;
        if new > 0 || options.keep_no_gain {
            test.kept = true;
            if new == 0 {
                test.reason = Some("adds no coverage (kept: --keep-no-gain)".to_owned());
            }
            continue;
        }
        test.reason = Some(
            match remove(package.driver, &test.test_file, &name, scope) {
                Ok(()) => "adds no coverage".to_owned(),
                Err(error) => {
                    test.kept = true;
                    format!("adds no coverage, but could not be removed: {error}")
                }
            },
        );
    }
    for &index in tests {
        let test = &mut funnel.tests[index];
        if test.new_statements == 0 {
            continue;
        }
        test.still_missed = still_missed(package, &covered, test);
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
        let t = &self.totals;
        out.push_str(&format!(
            "funnel: {} generated → {} built → {} passed → {} passed reliably → {} raised coverage → {} kept\n",
            t.generated, t.built, t.passed, t.passed_reliably, t.raised_coverage, t.kept
        ));
        out.push_str(&format!(
            "coverage: {}/{} → {}/{} statements ({:.1}% → {:.1}%)\n",
            self.before.executed,
            self.before.total,
            self.after.executed,
            self.after.total,
            self.before.percent(),
            self.after.percent()
        ));
        out
    }
}
