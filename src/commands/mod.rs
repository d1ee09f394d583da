//! One module per subcommand; each turns parsed arguments into an [`Outcome`].

pub mod analyze;
pub mod coverage;
pub mod generate;
mod generate_llm;
pub mod init;
pub mod mutants;
pub mod report;
pub mod state;
pub mod verify;
pub mod watch;

use crate::cli::{GenerateArgs, InputArgs, Lang, LlmArgs, ResumeArgs, SelectArgs, VerifyFlags};
use crate::errors::{AppError, Outcome};
use crate::output::Printer;
use crate::pipeline::ChangedLines;
use testsmith_driver::Driver;

/// The drivers a run uses: all of them, or the one `--lang` names.
pub fn selected_drivers(lang: Option<Lang>) -> Vec<&'static dyn Driver> {
    match lang {
        None => crate::drivers::DRIVERS.to_vec(),
        Some(lang) => crate::drivers::by_name(lang.driver_name())
            .into_iter()
            .collect(),
    }
}

/// Walks the paths of `input` and keeps the share `select` names — `--partition`'s packages,
/// and with `--changed-since` the packages where something changed (the changes come back
/// too, for commands that narrow the work to changed members). Every command that works per
/// package selects through here, so the flags mean the same to all of them. An empty share is
/// fine (more runners than packages); finding nothing at all is an error.
pub fn walk_selected(
    input: &InputArgs,
    select: &SelectArgs,
) -> Result<(Vec<crate::walk::Found>, Option<ChangedLines>), AppError> {
    let roots = input.roots();
    let mut found = crate::walk::walk(&roots, &selected_drivers(input.lang));
    if found.is_empty() {
        return Err(AppError::NothingToDo { paths: roots });
    }
    if let Some(partition) = &select.partition {
        found = partition.select(found, &state::project_root()?);
    }
    let changes = match &select.changed_since {
        Some(reference) => {
            let cwd = std::env::current_dir().map_err(AppError::CurrentDir)?;
            let changes = ChangedLines::since(reference, &cwd)?;
            found.retain(|item| match item {
                crate::walk::Found::File { path, .. } => {
                    changes.touches_folder(crate::pipeline::folder_of(path))
                }
                crate::walk::Found::Problem { .. } => true,
            });
            Some(changes)
        }
        None => None,
    };
    Ok((found, changes))
}

/// `testsmith resume`: `generate --llm` over the files whose jobs wait in the queue.
pub fn resume(args: &ResumeArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let paths = state::queued_paths_if_any(&args.tuning.state)?;
    if paths.is_empty() {
        printer.note("nothing waits in the queue");
        return Ok(Outcome::Success);
    }
    let generate = GenerateArgs {
        input: InputArgs { paths, lang: None },
        select: SelectArgs::default(),
        dry_run: false,
        format: args.format,
        coverage: false,
        mutants: false,
        coverpkg: false,
        keep_no_gain: false,
        coverage_rounds: 0,
        llm: LlmArgs {
            enabled: true,
            tuning: args.tuning.clone(),
        },
        verify: VerifyFlags::default(),
    };
    generate::run(&generate, printer)
}
