//! The command line: every flag and subcommand, declared with clap's derive API.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Writes the missing unit tests for Go and Rust code.
///
/// testsmith walks a project, finds the public functions, methods and types of every Go and
/// Rust file, and writes tests for those that have none: compiling scaffolds offline by
/// default, real test bodies from an OpenAI-compatible API with `--llm`.
#[derive(Debug, Parser)]
#[command(name = "testsmith", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok, 1 some files failed, 2 usage or configuration error, \
                        130 interrupted.\nLogs: -v, -vv or TESTSMITH_LOG=debug (stderr)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More output: -v adds statistics and progress notes, -vv debug logs.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the public members of Go and Rust files.
    Analyze(AnalyzeArgs),
    /// Write the missing tests: a compiling scaffold per untested public function and method.
    Generate(GenerateArgs),
}

/// What to look at: shared by every command that walks a project.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Files or folders to look at [default: the current folder]. Named paths are always
    /// analysed, even when .gitignore or the default excludes would skip them.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// Only this language.
    #[arg(long, value_name = "LANG")]
    pub lang: Option<Lang>,
}

impl InputArgs {
    /// The paths to walk: the ones given, or the current folder.
    pub fn roots(&self) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.paths.clone()
        }
    }
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Print the change as a unified diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable tree per file, then a summary.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The languages testsmith knows, by driver name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Go,
    Rust,
}

impl Lang {
    /// The driver name this choice selects.
    pub fn driver_name(self) -> &'static str {
        match self {
            Lang::Go => "go",
            Lang::Rust => "rust",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_lang_names_a_registered_driver() {
        for lang in Lang::value_variants() {
            assert!(
                crate::drivers::by_name(lang.driver_name()).is_some(),
                "{lang:?} has no driver"
            );
        }
    }
}
