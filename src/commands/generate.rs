//! `testsmith generate`: write the missing tests — scan, plan, generate, merge, write.
//!
//! Files are scanned in parallel; then each package (the source files of one folder and one
//! language) is processed on its own, in parallel with the others, because a package's test
//! files are shared by its source files and must be read once, consistently.

use crate::cli::GenerateArgs;
use crate::errors::{AppError, Outcome};
use crate::output::generate::SkippedMember;
use crate::output::{FileReport, GenerateReport, Printer};
use crate::pipeline::{
    Decision, ExistingTests, MemberPlan, ScaffoldPolicy, ScanOutcome, WriteError, WriteScope,
    decode_source, plan_file, scan_file, unified_diff, write_atomically,
};
use crate::walk::{Found, walk};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, FileMembers, SourceFile, TestChange, TestCode};

pub fn run(args: &GenerateArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let drivers = super::selected_drivers(args.input.lang);
    let roots = args.input.roots();
    let found = walk(&roots, &drivers);
    if found.is_empty() {
        return Err(AppError::NothingToDo { paths: roots });
    }
    let settings = Settings {
        scope: WriteScope::new(&roots),
        dry_run: args.dry_run,
        policy: ScaffoldPolicy::RegenerateWhenSignatureChanges,
    };
    let mut report = GenerateReport::new(args.format, args.dry_run);

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

    let results: Vec<(FileReport, usize)> = packages
        .into_values()
        .collect::<Vec<_>>()
        .par_iter()
        .flat_map_iter(|package| generate_package(package, &settings))
        .collect();
    for (file, files_written) in results {
        report.file(printer, file, files_written);
    }
    report.finish(printer)
}

/// How this run writes.
#[derive(Debug)]
struct Settings {
    scope: WriteScope,
    dry_run: bool,
    policy: ScaffoldPolicy,
}

/// The source files of one folder in one language.
#[derive(Debug)]
struct Package {
    folder: PathBuf,
    driver: &'static dyn Driver,
    files: Vec<FileMembers>,
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The files of a package's folder, read at most once each during a run. `None` means the
/// file does not exist.
#[derive(Debug, Default)]
struct FileTexts {
    texts: HashMap<PathBuf, Result<Option<String>, String>>,
}

impl FileTexts {
    fn get(&mut self, path: &Path) -> Result<Option<String>, String> {
        self.texts
            .entry(path.to_owned())
            .or_insert_with(|| read_text(path))
            .clone()
    }
}

fn read_text(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read(path) {
        Ok(bytes) => decode_source(bytes)
            .map(Some)
            .map_err(|reason| format!("{}: {reason}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!(
            "{}: {}",
            path.display(),
            crate::walk::io_message(&error)
        )),
    }
}

/// Every file in `folder`, sorted; the package's files when the folder cannot be listed.
fn list_folder(package: &Package) -> Vec<PathBuf> {
    let mut siblings: Vec<PathBuf> = match std::fs::read_dir(&package.folder) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
            .map(|entry| {
                if package.folder == Path::new(".") {
                    PathBuf::from(entry.file_name())
                } else {
                    package.folder.join(entry.file_name())
                }
            })
            .collect(),
        Err(_) => package.files.iter().map(|file| file.path.clone()).collect(),
    };
    siblings.sort();
    siblings
}

/// Generates for every file of `package`; returns each file's report and how many files
/// were (or, dry, would be) written for it.
fn generate_package(package: &Package, settings: &Settings) -> Vec<(FileReport, usize)> {
    let siblings = list_folder(package);
    let mut texts = FileTexts::default();
    package
        .files
        .iter()
        .map(|file| generate_file(package, file, &siblings, &mut texts, settings))
        .collect()
}

fn generate_file(
    package: &Package,
    file: &FileMembers,
    siblings: &[PathBuf],
    texts: &mut FileTexts,
    settings: &Settings,
) -> (FileReport, usize) {
    let driver = package.driver;
    let mut report = FileReport::new(file.path.clone());
    let Some(test_path) = driver.test_file_for(&file.path) else {
        for member in file.members.iter().filter(|m| m.kind.is_callable()) {
            report.skipped.push(SkippedMember {
                member: driver.display_name(member),
                reason: format!("testsmith writes no {} tests", driver.name()),
            });
        }
        return (report, 0);
    };
    report.test_file = Some(test_path.clone());

    let mut existing = ExistingTests::default();
    for path in driver.test_scope(&file.path, siblings) {
        match texts.get(&path) {
            Ok(Some(text)) => existing.add(&path, driver.existing_tests(&path, &text)),
            Ok(None) => {}
            Err(error) => return (FileReport::failed(file.path.clone(), error), 0),
        }
    }
    let plans = plan_file(driver, file, &test_path, &existing, settings.policy);
    report.has_syntax_errors = file.has_syntax_errors();

    let source_text = match texts.get(&file.path) {
        Ok(Some(text)) => text,
        Ok(None) => {
            return (
                FileReport::failed(file.path.clone(), "disappeared during the run".to_owned()),
                0,
            );
        }
        Err(error) => return (FileReport::failed(file.path.clone(), error), 0),
    };
    let source = SourceFile {
        members: file,
        text: &source_text,
        package: &package.files,
    };
    let changes = scaffold_changes(driver, &source, plans, &mut report);

    let existing_test_text = match texts.get(&test_path) {
        Ok(text) => text,
        Err(error) => return (FileReport::failed(file.path.clone(), error), 0),
    };
    let new_test_text = if changes.is_empty() {
        None
    } else {
        match driver.assemble(&source, &test_path, existing_test_text.as_deref(), &changes) {
            Ok(text) if Some(text.as_str()) != existing_test_text.as_deref() => Some(text),
            Ok(_) => None,
            Err(error) => {
                return (
                    FileReport::failed(file.path.clone(), format!("cannot merge tests: {error}")),
                    0,
                );
            }
        }
    };
    let test_file_will_exist = existing_test_text.is_some() || new_test_text.is_some();
    let new_source_text = if test_file_will_exist {
        driver.attach(&file.path, &source_text, &test_path)
    } else {
        None
    };
    report.attached = new_source_text.is_some();

    let mut edits = Vec::new();
    if let Some(text) = new_test_text {
        edits.push(Edit {
            path: &test_path,
            old: existing_test_text.as_deref(),
            new: text,
        });
    }
    if let Some(text) = new_source_text {
        edits.push(Edit {
            path: &file.path,
            old: Some(&source_text),
            new: text,
        });
    }
    let files_written = edits.len();
    if let Err(error) = apply(&edits, settings, &mut report) {
        let mut failed = FileReport::failed(file.path.clone(), error.to_string());
        failed.test_file = report.test_file;
        return (failed, 0);
    }
    (report, files_written)
}

/// Turns the plan into changes, filling the report's per-member lists on the way.
fn scaffold_changes(
    driver: &dyn Driver,
    source: &SourceFile<'_>,
    plans: Vec<MemberPlan>,
    report: &mut FileReport,
) -> Vec<TestChange> {
    let mut changes = Vec::new();
    for plan in plans {
        let display = driver.display_name(&plan.member);
        let scaffold = |report: &mut FileReport| -> Option<TestCode> {
            match driver.scaffold(source, &plan.member) {
                Ok(test) => Some(test),
                Err(reason) => {
                    report.skipped.push(SkippedMember {
                        member: display.clone(),
                        reason,
                    });
                    None
                }
            }
        };
        match plan.decision {
            Decision::Write => {
                if let Some(test) = scaffold(report) {
                    report.written.push(test.name.clone());
                    changes.push(TestChange::Add(test));
                }
            }
            Decision::Replace { range, .. } => {
                if let Some(test) = scaffold(report) {
                    report.regenerated.push(test.name.clone());
                    changes.push(TestChange::Replace { range, test });
                }
            }
            Decision::AlreadyTested => report.already_tested.push(plan.test_name),
            Decision::Skip(reason) => report.skipped.push(SkippedMember {
                member: display,
                reason,
            }),
        }
    }
    changes
}

/// One file's new contents.
#[derive(Debug)]
struct Edit<'a> {
    path: &'a Path,
    old: Option<&'a str>,
    new: String,
}

/// Writes the edits in order (test file first, so an interrupted run never leaves a source
/// attached to a missing test file), or with `--dry-run` records their diff.
fn apply(
    edits: &[Edit<'_>],
    settings: &Settings,
    report: &mut FileReport,
) -> Result<(), WriteError> {
    if settings.dry_run {
        let diff: String = edits
            .iter()
            .map(|edit| unified_diff(edit.path, edit.old, &edit.new))
            .collect();
        if !diff.is_empty() {
            report.diff = Some(diff);
        }
        return Ok(());
    }
    for edit in edits {
        write_atomically(&settings.scope, edit.path, &edit.new, edit.old)?;
    }
    Ok(())
}
