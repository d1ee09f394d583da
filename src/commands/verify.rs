//! `testsmith verify`: checks the tests already written with each language's toolchain —
//! builds them, runs them, reports the funnel — and changes nothing.
//!
//! The tests checked are those testsmith writes: for every source file under the paths, the
//! tests in its test file that carry a member's conventional name.

use super::generate::FileOutcome;
use crate::cli::{Format, GenerateArgs, RunFlags, VerifyArgs};
use crate::errors::{AppError, Outcome};
use crate::output::Printer;
use crate::pipeline::WriteScope;
use crate::verify::{Pending, Repair, VerifyOptions, VerifyReport, WrittenFile, verify_written};
use crate::walk::Found;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use testsmith_driver::Driver;

pub fn run(args: &VerifyArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    confine(&args.run)?;
    let (found, _) = super::walk_selected(&args.input, &args.select)?;
    let mut written = Vec::new();
    let mut has_failed_paths = false;
    for item in found {
        match item {
            Found::File { path, driver } if !driver.is_test_file(&path) => {
                written.extend(tests_of(&path, driver));
            }
            Found::File { .. } => {}
            Found::Problem { path, message } => {
                printer.file_error(&path, &message);
                has_failed_paths = true;
            }
        }
    }
    let options = VerifyOptions {
        reruns: args.run.reruns.unwrap_or(1),
        include_ignored: args.include_ignored,
        build: args.run.build_selection(),
        test_timeout: Duration::from_secs(args.run.test_timeout),
        ..VerifyOptions::check()
    };
    let report = verify_written(&written, &options, None);
    print_report(&report, args.format, printer)?;
    Ok(if has_failed_paths || report.has_problems() {
        Outcome::SomeFilesFailed
    } else {
        Outcome::Success
    })
}

/// Tells the runner what the user decided about confinement; with `--require-sandbox`, a
/// machine that cannot confine generated code ends the run here (exit 2), before anything
/// is generated or run.
pub fn confine(flags: &RunFlags) -> Result<(), AppError> {
    let cwd = std::env::current_dir().map_err(AppError::CurrentDir)?;
    let config = crate::config::Config::load(&cwd, &crate::config::LlmOverrides::default())?;
    crate::sandbox::configure(crate::sandbox::Settings {
        env: crate::sandbox::EnvPolicy {
            pass_env: config.verify.pass_env,
            secret_vars: vec![config.llm.api_key_env],
        },
        require: flags.require_sandbox || config.verify.require_sandbox,
    });
    crate::sandbox::check_required()?;
    Ok(())
}

/// Prints `report` on its own: warnings for skipped projects on stderr, the report on
/// stdout as text or as one JSON document.
pub fn print_report(
    report: &VerifyReport,
    format: Format,
    printer: &mut Printer,
) -> Result<(), AppError> {
    warn_skipped(report, printer);
    match format {
        Format::Json => {
            let json = serde_json::to_string(report).expect("the report serialises");
            printer.out(&json)?;
            printer.out("\n")?;
        }
        Format::Text => {
            let verbose = printer.is_verbose();
            printer.out(&report.text(verbose))?;
        }
    }
    printer.flush()
}

/// A warning per project whose toolchain is missing: the tests were written (or are
/// there) but nothing checked them.
pub fn warn_skipped(report: &VerifyReport, printer: &mut Printer) {
    for skipped in &report.skipped {
        printer.warning(&skipped.project, &skipped.reason);
    }
}

/// The tests of `source` to check: those in its test files (every candidate the driver
/// would write to — tests that could not be appended to `foo_test.go` went beside it) named
/// as one of its members' tests.
fn tests_of(source: &Path, driver: &'static dyn Driver) -> Vec<WrittenFile> {
    let Ok(source_text) = std::fs::read_to_string(source) else {
        return Vec::new();
    };
    let members = driver.analyze(source, &source_text);
    let wanted: Vec<String> = members
        .members
        .iter()
        .filter(|member| member.kind.is_callable())
        .map(|member| driver.test_name(&members, member))
        .collect();
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for test_file in driver.test_file_candidates(source) {
        let Ok(test_text) = std::fs::read_to_string(&test_file) else {
            continue;
        };
        let existing: HashSet<String> = driver
            .existing_tests(&test_file, &test_text)
            .into_iter()
            .map(|test| test.name)
            .collect();
        let tests: Vec<String> = wanted
            .iter()
            .filter(|name| existing.contains(*name) && seen.insert((*name).clone()))
            .cloned()
            .collect();
        if !tests.is_empty() {
            found.push(WrittenFile {
                driver,
                source: source.to_owned(),
                test_file,
                tests,
                replaced: Vec::new(),
            });
        }
    }
    found
}

/// How often `generate --llm --coverage` runs a model's test before it counts as passing
/// reliably, unless `--reruns` says otherwise.
const COVERAGE_RERUNS: u32 = 3;

/// `generate --verify`: verifies the tests a `generate` run just wrote, repairing with
/// `repairer` (the model, under `--llm`) and stopping when `interrupted` is set (under
/// `--llm`, where Ctrl-C is caught). `None` without `--verify` or with `--dry-run`, which
/// writes nothing to verify.
pub fn after_generate(
    args: &GenerateArgs,
    outcomes: &[FileOutcome],
    scope: &WriteScope,
    repairer: Option<&dyn Repair>,
    interrupted: Option<Arc<AtomicBool>>,
) -> Option<VerifyReport> {
    // A model's test judged by coverage must first build and pass.
    let judged_by_coverage = args.by_coverage() && args.llm.enabled;
    if !(args.verify.verify || judged_by_coverage) || args.dry_run {
        return None;
    }
    let mut written: Vec<WrittenFile> = outcomes
        .iter()
        .filter_map(|outcome| WrittenFile::from_report(&outcome.report))
        .collect();
    // What a killed run wrote but never verified is verified now, then what this run wrote
    // stays marked until it is settled.
    let pending = Pending::open(&super::state::project_root().ok()?, !written.is_empty());
    let sources: Vec<PathBuf> = outcomes
        .iter()
        .map(|outcome| outcome.report.path.clone())
        .collect();
    let left_over = pending.left_over(&sources, &written);
    written.extend(left_over);
    pending.mark(&written);
    let options = VerifyOptions {
        repair_rounds: args.verify.repair_rounds,
        // "Passes reliably" means three runs unless the user said how many.
        reruns: args.verify.run.reruns.unwrap_or(if judged_by_coverage {
            COVERAGE_RERUNS
        } else {
            1
        }),
        build: args.verify.run.build_selection(),
        test_timeout: Duration::from_secs(args.verify.run.test_timeout),
        interrupted,
        ..VerifyOptions::fix(scope.clone())
    };
    let report = verify_written(&written, &options, repairer);
    pending.settle(&report);
    Some(report)
}
