//! `testsmith mutants`: how many small bugs the existing tests catch. Finds the mutants of
//! the source files under the paths, runs each project's through the lab, and reports.

use crate::cli::MutantsArgs;
use crate::errors::{AppError, Outcome};
use crate::mutants::{LabEvent, LabOptions, MutantsReport, projects, run_project, sandbox};
use crate::output::{MutantsProgress, Printer};
use crate::walk::Found;
use std::time::{Duration, Instant};

pub fn run(args: &MutantsArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let started = Instant::now();
    let (found, _) = super::walk_selected(&args.input, &args.select)?;
    let mut sources = Vec::new();
    let mut has_failed_paths = false;
    for item in found {
        match item {
            Found::File { path, driver } if !driver.is_test_file(&path) => {
                sources.push((path, driver));
            }
            Found::File { .. } => {}
            Found::Problem { path, message } => {
                printer.file_error(&path, &message);
                has_failed_paths = true;
            }
        }
    }
    let (projects, problems) = projects(sources);
    for problem in &problems {
        printer.file_error(&problem.path, &problem.reason);
        has_failed_paths = true;
    }
    if args.list {
        let report = MutantsReport::build(&projects, None, started.elapsed().as_secs_f64());
        crate::output::print_mutants_list(&report, args.format, printer)?;
        return Ok(if has_failed_paths {
            Outcome::SomeFilesFailed
        } else {
            Outcome::Success
        });
    }
    let options = LabOptions {
        budget: args.mutants_budget,
        baseline_timeout: Duration::from_secs(args.test_timeout),
        use_coverage: !args.whole_suite,
        build: args.build.selection(),
        ..LabOptions::default()
    };
    let mut locks = Vec::new();
    for project in &projects {
        match sandbox::lock(&project.root) {
            Ok(Some(lock)) => locks.push(lock),
            Ok(None) => return Err(AppError::Busy(project.root.clone())),
            Err(error) => {
                printer.file_error(
                    &project.root,
                    &format!("cannot take the mutation lock: {error}"),
                );
                return Ok(Outcome::SomeFilesFailed);
            }
        }
    }
    let total: usize = projects.iter().map(|project| project.mutant_count()).sum();
    let progress = MutantsProgress::new(printer, args.format, total);
    let mut runs = Vec::new();
    for project in &projects {
        let mut on_event = |event: LabEvent<'_>| progress.event(&event);
        runs.push(run_project(project, &options, started, &mut on_event));
    }
    progress.clear();
    drop(locks);
    let report = MutantsReport::build(&projects, Some(&runs), started.elapsed().as_secs_f64());
    crate::output::print_mutants(&report, args.format, printer)?;
    let below = match (args.fail_under, report.summary.score) {
        (Some(threshold), Some(score)) => score < threshold,
        (Some(_), None) => true,
        (None, _) => false,
    };
    Ok(if has_failed_paths || !report.problems.is_empty() {
        Outcome::SomeFilesFailed
    } else if below {
        Outcome::BelowThreshold
    } else {
        Outcome::Success
    })
}
