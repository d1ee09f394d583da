//! Measuring which code the tests execute: per package, the existing tests run once with
//! coverage (the baseline), and any one test run alone on demand; per public member and in
//! total, statements executed / total.
//!
//! The API, for `testsmith coverage` and for whatever judges tests by what they execute:
//! - [`packages`] groups walked source files into [`CoveragePackage`]s (a Go package);
//! - [`PackageRun::start`] builds a package's instrumented tests once and runs them all:
//!   [`PackageRun::baseline`] is the [`Profile`] of what they execute;
//!   [`PackageRun::test_profile`] runs one test alone with the same binary;
//! - a [`Profile`] is a set of blocks, compared by position whatever order the toolchain
//!   wrote them in: [`Profile::newly_executed`] is what a run adds over another;
//! - [`members::member_tally`] and [`members::missed_lines`] say how much of one member a
//!   profile executes and which lines it misses; [`report`] turns it all into the report.
//!
//! The drivers say what to run and how to read a profile (`Driver::coverage_plan`,
//! `coverage_test_run`, `read_coverage`); every command goes through the verify runner.

mod llvm;
pub mod members;
mod package;
mod profile;
pub mod report;
mod run;
mod targets;

pub use package::{CoveragePackage, packages};
pub use profile::{Profile, Tally};
pub use report::CoverageReport;
pub use run::{PackageRun, StartError};
pub use targets::Verdicts;

use crate::output::PathNote;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testsmith_driver::CoverageTarget;

/// How to measure.
#[derive(Debug, Clone, Copy)]
pub struct CoverageOptions {
    /// Count what a package's tests execute in every package of its project (`--coverpkg`).
    pub all_packages: bool,
    /// How long one package's tests may run.
    pub test_timeout: Duration,
}

/// Reports what an existing profile (`go test -coverprofile`, written by CI or by hand)
/// says about `packages`, running nothing. A package the profile says nothing about is
/// reported as failed.
pub fn report_profile(packages: &[CoveragePackage], path: &Path) -> CoverageReport {
    let mut report = CoverageReport::default();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            report.failed.push(PathNote {
                path: path.to_owned(),
                reason: crate::walk::io_message(&error),
            });
            return report;
        }
    };
    for package in packages {
        let target = CoverageTarget {
            root: package.root.clone(),
            marker_text: package.marker_text.clone(),
            package_dir: package.dir.clone(),
            package_name: package.name.clone(),
            has_tests: package.has_tests,
            work_dir: std::env::temp_dir(),
            all_packages: false,
            test_timeout_secs: 0,
            build_cache: std::env::temp_dir(),
        };
        let plan = package.driver.coverage_plan(&target);
        if plan.is_none_or(|plan| plan.format != testsmith_driver::ProfileFormat::Text) {
            report.skipped.push(PathNote {
                path: package.shown_dir.clone(),
                reason: format!(
                    "testsmith reads no {} coverage profile from a file; run without --profile",
                    package.driver.name()
                ),
            });
            continue;
        }
        match package.driver.read_coverage(&target, &text) {
            Ok(blocks) => {
                let profile = Profile::from_blocks(blocks);
                if profile.blocks().any(|(key, _)| package.holds(&key.file)) {
                    report.push(report::package_report(package, &profile, false));
                } else {
                    report.failed.push(PathNote {
                        path: package.shown_dir.clone(),
                        reason: format!("{} says nothing about this package", path.display()),
                    });
                }
            }
            Err(reason) => report.failed.push(PathNote {
                path: path.to_owned(),
                reason,
            }),
        }
    }
    report
}

/// Measures every package, in parallel, and reports. With `all_packages`, a package's
/// figures include what the other packages' tests execute in it: the baselines of one
/// project are merged.
pub fn measure(packages: &[CoveragePackage], options: CoverageOptions) -> CoverageReport {
    measure_with_baselines(packages, options).0
}

/// Each measured package's baseline, by its folder (absolute, canonical): what the
/// existing tests executed, to judge new tests against.
pub type Baselines = BTreeMap<PathBuf, Profile>;

/// [`measure`], keeping every package's baseline profile (its project's merged one under
/// `all_packages`).
pub fn measure_with_baselines(
    packages: &[CoveragePackage],
    options: CoverageOptions,
) -> (CoverageReport, Baselines) {
    let runs: Vec<Result<PackageRun, StartError>> = packages
        .par_iter()
        .map(|package| PackageRun::start(package, options.all_packages, options.test_timeout))
        .collect();
    let mut merged: BTreeMap<PathBuf, Profile> = BTreeMap::new();
    for (package, run) in packages.iter().zip(&runs) {
        if let Ok(run) = run {
            merged
                .entry(package.root.clone())
                .or_default()
                .merge(&run.baseline);
        }
    }
    let mut report = CoverageReport::default();
    let mut baselines = Baselines::new();
    for (package, run) in packages.iter().zip(runs) {
        match run {
            Ok(run) => {
                let profile = &merged[&package.root];
                baselines.insert(package.root.join(&package.dir), profile.clone());
                let failed = !run.baseline_passed();
                report.push(report::package_report(package, profile, failed));
            }
            Err(StartError::Failed(reason)) => report.failed.push(PathNote {
                path: package.shown_dir.clone(),
                reason,
            }),
            Err(StartError::Unsupported(reason)) => report.skipped.push(PathNote {
                path: package.shown_dir.clone(),
                reason,
            }),
        }
    }
    (report, baselines)
}
