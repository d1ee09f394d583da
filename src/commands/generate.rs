//! `testsmith generate`: write the missing tests — scan, plan, produce, merge, write.
//!
//! Files are scanned in parallel; then each package (the source files of one folder and one
//! language) is planned on its own, because a package's test files are shared by its source
//! files and must be read once, consistently. Templates are produced in parallel per
//! package; with `--llm` the files go through the model concurrently (see
//! [`crate::pipeline::llm`]).

use crate::cli::GenerateArgs;
use crate::errors::{AppError, Outcome};
use crate::output::{FileReport, GenerateReport, Printer};
use crate::pipeline::{
    FileTexts, Package, ScaffoldPolicy, ScanOutcome, WriteScope, WriteSettings, finish_file,
    folder_of, prepare_file, scaffold_all, scan_file,
};
use crate::walk::{Found, walk};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use testsmith_driver::Driver;

pub fn run(args: &GenerateArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let roots = args.input.roots();
    let mut report = GenerateReport::new(args.format, args.dry_run);
    let packages = scan_packages(&roots, args.input.lang, &mut report, printer)?;
    let settings = WriteSettings {
        scope: WriteScope::new(&roots),
        dry_run: args.dry_run,
    };
    if args.llm.enabled {
        return super::generate_llm::run(args, packages, &settings, report, printer);
    }
    let results: Vec<(FileReport, usize)> = packages
        .par_iter()
        .flat_map_iter(|package| template_package(package, &settings))
        .collect();
    for (file, files_written) in results {
        report.file(printer, file, files_written);
    }
    report.finish(printer)
}

/// Walks `roots` and scans every source file into its package; reports unreadable paths
/// and skipped files on the way.
pub fn scan_packages(
    roots: &[PathBuf],
    lang: Option<crate::cli::Lang>,
    report: &mut GenerateReport,
    printer: &mut Printer,
) -> Result<Vec<Package>, AppError> {
    let drivers = super::selected_drivers(lang);
    let found = walk(roots, &drivers);
    if found.is_empty() {
        return Err(AppError::NothingToDo {
            paths: roots.to_vec(),
        });
    }
    let mut sources = Vec::new();
    for item in found {
        match item {
            Found::File { path, driver } if !driver.is_test_file(&path) => {
                sources.push((path, driver))
            }
            Found::File { .. } => {}
            Found::Problem { path, message } => report.failed(printer, path, message),
        }
    }
    let scanned: Vec<(&'static dyn Driver, ScanOutcome)> = sources
        .par_iter()
        .map(|(path, driver)| (*driver, scan_file(path, *driver)))
        .collect();
    let mut packages: BTreeMap<(PathBuf, &'static str), Package> = BTreeMap::new();
    for (driver, outcome) in scanned {
        match outcome {
            ScanOutcome::Analyzed(file) => {
                let folder = folder_of(&file.path).to_owned();
                packages
                    .entry((folder.clone(), driver.name()))
                    .or_insert_with(|| Package {
                        folder,
                        driver,
                        files: Vec::new(),
                    })
                    .files
                    .push(file);
            }
            ScanOutcome::TestFile => {}
            ScanOutcome::Skipped { path, reason } => report.skipped_file(printer, path, reason),
            ScanOutcome::Failed { path, error } => report.failed(printer, path, error),
        }
    }
    Ok(packages.into_values().collect())
}

/// Template mode for one package: plan, scaffold and write each file.
fn template_package(package: &Package, settings: &WriteSettings) -> Vec<(FileReport, usize)> {
    let siblings = package.siblings();
    let mut texts = FileTexts::default();
    package
        .files
        .iter()
        .map(|file| {
            let policy = ScaffoldPolicy::RegenerateWhenSignatureChanges;
            match prepare_file(package, file, &siblings, &mut texts, policy) {
                Ok(prepared) => {
                    let produced = scaffold_all(&prepared);
                    finish_file(prepared, produced, settings)
                }
                Err(report) => (report, 0),
            }
        })
        .collect()
}
