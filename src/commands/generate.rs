//! `testsmith generate`: write the missing tests — scan, plan, produce, merge, write.
//!
//! The unit of work is a package (the source files of one folder and one language): its test
//! files are shared by its source files and must be read once, consistently. In template
//! mode each package goes from scan to write on its own, packages in parallel; with `--llm`
//! everything is scanned first and the files go through the model concurrently (see
//! [`super::generate_llm`]).

use super::generate_llm::LlmSession;
use crate::cli::GenerateArgs;
use crate::coverage::{Baselines, CoverageOptions, Verdicts};
use crate::errors::{AppError, Outcome};
use crate::output::{FileReport, GenerateReport, Printer, Progress};
use crate::pipeline::{
    ChangedLines, FileTexts, Package, ScaffoldPolicy, ScanProblem, WriteScope, WriteSettings,
    finish_file, group_into_packages, prepare_file, scaffold_all, scan_into_packages, scan_package,
};
use crate::walk::Found;
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testsmith_driver::Driver;

pub fn run(args: &GenerateArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    if args.verify.verify && !args.dry_run {
        super::verify::confine(&args.verify.run)?;
    }
    let roots = args.input.roots();
    let mut report = GenerateReport::new(args.format, args.dry_run);
    let (sources, changes) = find_sources(args, &mut report, printer)?;
    let settings = WriteSettings {
        scope: WriteScope::new(&roots),
        dry_run: args.dry_run,
        journal: None,
    };
    if args.llm.enabled {
        let (mut packages, problems) = scan_into_packages(&sources);
        if let Some(changes) = &changes {
            packages
                .iter_mut()
                .for_each(|package| keep_changed(package, changes));
        }
        report_problems(&mut report, printer, problems);
        return super::generate_llm::run(args, packages, &settings, report, printer);
    }
    let verdicts = args
        .coverage
        .then(|| coverage_verdicts(&sources, args, printer).0);
    let (results, problems) =
        generate_templates(&sources, &settings, verdicts.as_ref(), changes.as_ref());
    report_problems(&mut report, printer, problems);
    let verified = super::verify::after_generate(args, &results, &settings.scope, None, None);
    for file in results {
        report.file(printer, file.report, file.files_written);
    }
    if let Some(verified) = verified {
        report.set_verify(verified);
    }
    report.finish(printer)
}

/// Which files of the scanned packages a pass works on. The others are context: their
/// members' signatures go into prompts, and the package's test files are read either way.
#[derive(Debug)]
pub enum Selection {
    All,
    Only(HashSet<PathBuf>),
}

impl Selection {
    pub fn admits(&self, path: &Path) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(paths) => paths.contains(path),
        }
    }
}

/// What produces the tests of a pass.
pub enum Generator<'a> {
    /// The drivers' scaffolds, offline.
    Template,
    /// The model, through one session's cache, queue and client. `progress` makes the
    /// progress display once the number of files to ask about is known.
    Llm {
        session: &'a LlmSession,
        progress: &'a dyn Fn(usize) -> Progress,
    },
}

impl std::fmt::Debug for Generator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Generator::Template => f.write_str("Template"),
            Generator::Llm { .. } => f.write_str("Llm"),
        }
    }
}

/// What a pass did for one source file.
#[derive(Debug)]
pub struct FileOutcome {
    pub report: FileReport,
    /// Test files (and attached source files) written, or that would be with `--dry-run`.
    pub files_written: usize,
    /// From planning the file to writing it (with `--llm`, waits for the model included).
    pub elapsed: Duration,
}

/// The one "generate these files" entry point, shared by `generate` and `watch`: plans the
/// selected files of `packages`, produces their missing tests, merges and writes them. Every
/// file gets an outcome; a file's failure is in its report, never an `Err` (that is kept for
/// the state database failing before any work).
pub fn generate_files(
    packages: &[Package],
    selection: &Selection,
    generator: Generator<'_>,
    settings: &WriteSettings,
) -> Result<Vec<FileOutcome>, AppError> {
    match generator {
        Generator::Template => Ok(packages
            .par_iter()
            .flat_map_iter(|package| {
                template_package(package, selection, settings, FileTexts::default(), None)
            })
            .collect()),
        Generator::Llm { session, progress } => {
            session.generate_files(packages, selection, settings, progress)
        }
    }
}

/// `--coverage`: what the existing tests execute, member by member. Packages that cannot be
/// measured are warned about; their members are planned by test name.
pub(super) fn coverage_verdicts(
    sources: &[(PathBuf, &'static dyn Driver)],
    args: &GenerateArgs,
    printer: &mut Printer,
) -> (Verdicts, Baselines) {
    let (packages, unplaced) = crate::coverage::packages(sources.to_vec());
    let options = CoverageOptions {
        all_packages: args.coverpkg,
        test_timeout: Duration::from_secs(args.verify.run.test_timeout),
    };
    let (report, baselines) = crate::coverage::measure_with_baselines(&packages, options);
    let unmeasured = report.failed.iter().chain(&report.skipped);
    for note in unmeasured {
        printer.warning(
            &note.path,
            &format!(
                "coverage not measured, tests planned by name: {}",
                note.reason
            ),
        );
    }
    for (path, reason) in unplaced {
        printer.warning(&path, &format!("coverage not measured: {reason}"));
    }
    (Verdicts::from_report(&report), baselines)
}

/// Source files with the driver that claims each.
type Sources = Vec<(PathBuf, &'static dyn Driver)>;

/// Walks the paths for the selected source files (test files left out); reports unreadable
/// paths.
fn find_sources(
    args: &GenerateArgs,
    report: &mut GenerateReport,
    printer: &mut Printer,
) -> Result<(Sources, Option<ChangedLines>), AppError> {
    let (found, changes) = super::walk_selected(&args.input, &args.select)?;
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
    Ok((sources, changes))
}

/// `--changed-since`: only the package's functions and methods the changes touch are
/// worked on; the rest of it stays as context.
fn keep_changed(package: &mut Package, changes: &ChangedLines) {
    for file in &mut package.files {
        changes.keep_changed_members(file);
    }
}

fn report_problems(report: &mut GenerateReport, printer: &mut Printer, problems: Vec<ScanProblem>) {
    for problem in problems {
        match problem {
            ScanProblem::Skipped { path, reason } => report.skipped_file(printer, path, reason),
            ScanProblem::Failed { path, error } => report.failed(printer, path, error),
        }
    }
}

/// Template mode over every source: a package is scanned (its files in parallel), planned,
/// scaffolded and written as one piece of work, and packages run in parallel. Nothing waits
/// for the whole tree to be scanned, each source is read once, and only the packages in hand
/// are held in memory.
fn generate_templates(
    sources: &[(PathBuf, &'static dyn Driver)],
    settings: &WriteSettings,
    coverage: Option<&Verdicts>,
    changes: Option<&ChangedLines>,
) -> (Vec<FileOutcome>, Vec<ScanProblem>) {
    let work = || -> Vec<(Vec<FileOutcome>, Vec<ScanProblem>)> {
        group_into_packages(sources)
            .par_iter()
            .map(|sources| {
                let mut scanned = scan_package(sources);
                if let Some(changes) = changes {
                    keep_changed(&mut scanned.package, changes);
                }
                let outcomes = template_package(
                    &scanned.package,
                    &Selection::All,
                    settings,
                    scanned.texts,
                    coverage,
                );
                (outcomes, scanned.problems)
            })
            .collect()
    };
    // Replacing a test file waits for the disk (its new text is flushed before the rename):
    // twice as many threads as cores keep the cores busy meanwhile.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let done = match rayon::ThreadPoolBuilder::new()
        .num_threads(2 * cores)
        .build()
    {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    };
    let mut outcomes = Vec::new();
    let mut problems = Vec::new();
    for (package_outcomes, package_problems) in done {
        outcomes.extend(package_outcomes);
        problems.extend(package_problems);
    }
    problems.sort_by(|a, b| a.path().cmp(b.path()));
    (outcomes, problems)
}

/// Template mode for one package: plan each selected file (in turn: they share the package's
/// test files), by coverage where it was measured, then scaffold and write them in parallel.
fn template_package(
    package: &Package,
    selection: &Selection,
    settings: &WriteSettings,
    mut texts: FileTexts,
    coverage: Option<&Verdicts>,
) -> Vec<FileOutcome> {
    let tests_beside = package.tests_beside(&mut texts);
    let policy = ScaffoldPolicy::RegenerateWhenSignatureChanges;
    // Each file's time is its own work: planning, then producing and writing.
    let planned: Vec<(Duration, _)> = package
        .files
        .iter()
        .filter(|file| selection.admits(&file.path))
        .map(|file| {
            let started = Instant::now();
            let mut prepared = prepare_file(package, file, &tests_beside, &mut texts, policy);
            if let (Some(verdicts), Ok(prepared)) = (coverage, prepared.as_mut()) {
                verdicts.decide(&file.path, &mut prepared.plans, false);
            }
            (started.elapsed(), prepared)
        })
        .collect();
    drop(texts);
    planned
        .into_par_iter()
        .map(|(planning, prepared)| {
            let started = Instant::now();
            let (report, files_written) = match prepared {
                Ok(prepared) => {
                    let produced = scaffold_all(&prepared);
                    finish_file(prepared, produced, settings)
                }
                Err(report) => (*report, 0),
            };
            FileOutcome {
                report,
                files_written,
                elapsed: planning + started.elapsed(),
            }
        })
        .collect()
}
