//! `testsmith coverage`: runs the existing tests with coverage and reports what they
//! execute, per public member and in total. Changes nothing in the project.

use crate::cli::CoverageArgs;
use crate::coverage::{CoverageOptions, measure, packages, report_profile};
use crate::errors::{AppError, Outcome};
use crate::output::{PathNote, Printer, coverage};
use crate::walk::Found;
use std::time::Duration;

pub fn run(args: &CoverageArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let (found, _) = super::walk_selected(&args.input, &args.select)?;
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for item in found {
        match item {
            Found::File { path, driver } if !driver.is_test_file(&path) => {
                sources.push((path, driver));
            }
            Found::File { .. } => {}
            Found::Problem { path, message } => problems.push(PathNote {
                path,
                reason: message,
            }),
        }
    }
    let (packages, unplaced) = packages(sources);
    let options = CoverageOptions {
        all_packages: args.coverpkg,
        test_timeout: Duration::from_secs(args.test_timeout),
    };
    let mut report = match &args.profile {
        Some(profile) => report_profile(&packages, profile),
        None => measure(&packages, options),
    };
    report.failed.extend(problems);
    report.failed.extend(
        unplaced
            .into_iter()
            .map(|(path, reason)| PathNote { path, reason }),
    );
    coverage::print(&report, args.format, args.fail_under, printer)?;
    let tests_failed = report.packages.iter().any(|package| package.tests_failed);
    Ok(if !report.failed.is_empty() || tests_failed {
        Outcome::SomeFilesFailed
    } else if args
        .fail_under
        .is_some_and(|threshold| report.percent < threshold)
    {
        Outcome::BelowThreshold
    } else {
        Outcome::Success
    })
}
