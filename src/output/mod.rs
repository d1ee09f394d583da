//! Everything testsmith prints goes through here: results on stdout (text or JSON), notes,
//! warnings and per-file errors on stderr. One submodule per command's report.

mod analyze;
pub mod coverage;
pub mod generate;
mod merge;
mod mutants;
mod progress;
mod watch;

pub use analyze::{AnalyzeReport, RenderedFile, render};
pub use generate::{FileReport, GenerateReport};
pub use merge::merge_reports;
pub use mutants::{MutantsProgress, print_mutants, print_mutants_list};
pub use progress::Progress;
pub use watch::WatchReport;

use crate::errors::AppError;
use serde::Serialize;
use std::io::{self, Write};
use std::path::PathBuf;

/// The two output streams, with the verbosity the user asked for.
#[derive(Debug)]
pub struct Printer {
    stdout: io::BufWriter<io::Stdout>,
    quiet: bool,
    verbose: u8,
}

impl Printer {
    pub fn new(quiet: bool, verbose: u8) -> Self {
        Printer {
            stdout: io::BufWriter::new(io::stdout()),
            quiet,
            verbose,
        }
    }

    /// Whether the user asked for errors only (`-q`).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// A note for the user about the run as a whole, on stderr.
    pub fn note(&mut self, message: &str) {
        if !self.quiet {
            let _ = self.stdout.flush();
            eprintln!("note: {message}");
        }
    }

    /// Whether the user asked for statistics (`-v`).
    pub fn is_verbose(&self) -> bool {
        self.verbose > 0
    }

    /// Writes result text to stdout.
    pub fn out(&mut self, text: &str) -> Result<(), AppError> {
        self.stdout
            .write_all(text.as_bytes())
            .map_err(AppError::Stdout)
    }

    pub fn flush(&mut self) -> Result<(), AppError> {
        self.stdout.flush().map_err(AppError::Stdout)
    }

    /// A problem with one file or path; the run goes on.
    pub fn file_error(&mut self, path: &std::path::Path, message: &str) {
        eprintln!("error: {}: {message}", path.display());
    }

    /// A warning about the run as a whole (its message names any file it is about).
    pub fn warn(&mut self, message: &str) {
        if !self.quiet {
            let _ = self.stdout.flush();
            eprintln!("warning: {message}");
        }
    }

    /// Something the user should know but that is not an error.
    pub fn warning(&mut self, path: &std::path::Path, message: &str) {
        if !self.quiet {
            eprintln!("warning: {}: {message}", path.display());
        }
    }

    /// A syntax error the parser recovered from, compiler style: `path:line:column: message`.
    pub fn syntax_issue(&mut self, path: &std::path::Path, issue: &testsmith_driver::SyntaxIssue) {
        if !self.quiet {
            eprintln!(
                "warning: {}:{}:{}: {}",
                path.display(),
                issue.line,
                issue.column,
                issue.message
            );
        }
    }

    /// A fatal error, rendered with its cause chain and help.
    pub fn fatal(&mut self, error: &AppError) {
        let _ = self.stdout.flush();
        eprintln!("{}", error.render());
    }
}

/// A path with why it was skipped or failed.
#[derive(Debug, Clone, Serialize)]
pub struct PathNote {
    pub path: PathBuf,
    pub reason: String,
}

/// `n thing` or `n things`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
