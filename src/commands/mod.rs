//! One module per subcommand; each turns parsed arguments into an [`Outcome`].

pub mod analyze;
pub mod coverage;
pub mod generate;
mod generate_llm;
pub mod init;
pub mod mutants;
pub mod state;
pub mod verify;
pub mod watch;

use crate::cli::{GenerateArgs, InputArgs, Lang, LlmArgs, ResumeArgs, VerifyFlags};
use crate::errors::{AppError, Outcome};
use crate::output::Printer;
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

/// `testsmith resume`: `generate --llm` over the files whose jobs wait in the queue.
pub fn resume(args: &ResumeArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let (_, store) = state::open_project_store(&args.tuning.state)?;
    let paths = state::queued_paths(&*store)?;
    drop(store);
    if paths.is_empty() {
        printer.note("nothing waits in the queue");
        return Ok(Outcome::Success);
    }
    let generate = GenerateArgs {
        input: InputArgs { paths, lang: None },
        dry_run: false,
        format: args.format,
        llm: LlmArgs {
            enabled: true,
            tuning: args.tuning.clone(),
        },
        verify: VerifyFlags::default(),
    };
    generate::run(&generate, printer)
}
