//! testsmith: writes the missing unit tests for Go and Rust code.
//!
//! `main` only parses the command line, sets up logging and maps the result to an exit code;
//! each subcommand lives in `commands/`.

mod cli;
mod commands;
mod config;
mod coverage;
mod drivers;
mod errors;
mod llm;
mod mutants;
mod output;
mod pipeline;
mod sandbox;
mod store;
mod verify;
mod walk;
mod watch;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use errors::{AppError, Outcome};
use output::Printer;
use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(target_os = "linux")]
    if let Some(args) = confine_args() {
        return sandbox::confine::main(args);
    }
    if let Ok(executable) = std::env::current_exe() {
        sandbox::set_confiner(executable);
    }
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    // SIGINT/SIGTERM end the commands a run started before testsmith exits (130).
    if let Err(error) = verify::stop::listen() {
        tracing::debug!("cannot listen for SIGINT/SIGTERM: {error}");
    }
    let mut printer = Printer::new(cli.quiet, cli.verbose);
    // A broken testsmith.toml is an error for every command but `init` (which may be asked
    // to write a fresh one).
    let checked = match &cli.command {
        Command::Init(_) => Ok(()),
        _ => std::env::current_dir()
            .map_err(AppError::CurrentDir)
            .and_then(|cwd| Ok(config::Config::check_file(&cwd)?)),
    };
    let result = checked.and_then(|()| match &cli.command {
        Command::Analyze(args) => commands::analyze::run(args, &mut printer),
        Command::Generate(args) => {
            require_llm_for_tuning(&args.llm);
            commands::generate::run(args, &mut printer)
        }
        Command::Watch(args) => {
            require_llm_for_tuning(&args.llm);
            commands::watch::run(args, &mut printer)
        }
        Command::Verify(args) => commands::verify::run(args, &mut printer),
        Command::Mutants(args) => commands::mutants::run(args, &mut printer),
        Command::Coverage(args) => commands::coverage::run(args, &mut printer),
        Command::Resume(args) => commands::resume(args, &mut printer),
        Command::Init(args) => commands::init::run(args.force, &mut printer),
        Command::Cache { action, state } => commands::state::cache(action, state, &mut printer),
        Command::Queue(args) => commands::state::queue(args, &mut printer),
        Command::Report {
            action: cli::ReportAction::Merge { reports },
        } => commands::report::merge(reports, &mut printer),
        Command::Completions { shell } => commands::report::completions(*shell, &mut printer),
    });
    match result {
        Ok(outcome) => outcome.into(),
        // A closed pipe (`testsmith analyze | head`) is the reader's choice, not a failure.
        Err(AppError::Stdout(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            Outcome::Success.into()
        }
        Err(error) => {
            printer.fatal(&error);
            error.outcome().into()
        }
    }
}

/// The arguments after `__confine` when testsmith was started as the confining parent of a
/// toolchain (see `sandbox::confine`); checked before anything else so the process is still
/// single-threaded when it enters new namespaces.
#[cfg(target_os = "linux")]
fn confine_args() -> Option<Vec<std::ffi::OsString>> {
    let mut args = std::env::args_os().skip(1);
    (args.next()? == sandbox::confine::SUBCOMMAND).then(|| args.collect())
}

/// Exits with a usage error when a flag that tunes the model is given without `--llm`.
fn require_llm_for_tuning(llm: &cli::LlmArgs) {
    if let (false, Some(flag)) = (llm.enabled, llm.tuning.first_given()) {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                format!("{flag} tunes the model and needs --llm"),
            )
            .exit();
    }
}

/// Logs go to stderr. `TESTSMITH_LOG` (an `EnvFilter` directive) wins over `-v`/`-vv`.
fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter =
        EnvFilter::try_from_env("TESTSMITH_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
