//! `analyze` output: a text tree per file or one streamed JSON document, and the totals.

use super::{PathNote, Printer, plural};
use crate::cli::Format;
use crate::errors::{AppError, Outcome};
use crate::pipeline::ScanOutcome;
use serde::Serialize;
use std::collections::BTreeMap;
use testsmith_driver::FileMembers;

/// The totals at the end of `analyze`.
#[derive(Debug, Default, Serialize)]
pub struct AnalyzeSummary {
    /// Source files analysed (test files excluded).
    pub files: usize,
    /// Test files seen and not analysed for members.
    pub test_files: usize,
    pub members: usize,
    /// Members per kind, by kind name.
    pub kinds: BTreeMap<&'static str, usize>,
    /// Files the parser had to recover in; their members are still listed.
    pub files_with_syntax_errors: usize,
    pub skipped: Vec<PathNote>,
    pub failed: Vec<PathNote>,
}

impl AnalyzeSummary {
    /// Exit code: 1 when any file could not be read or had syntax errors.
    pub fn outcome(&self) -> Outcome {
        if self.failed.is_empty() && self.files_with_syntax_errors == 0 {
            Outcome::Success
        } else {
            Outcome::SomeFilesFailed
        }
    }

    fn count(&mut self, file: &FileMembers) {
        self.files += 1;
        self.members += file.members.len();
        for member in &file.members {
            *self.kinds.entry(member.kind.as_str()).or_default() += 1;
        }
        if file.has_syntax_errors() {
            self.files_with_syntax_errors += 1;
        }
    }

    fn text(&self) -> String {
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        let mut line = format!(
            "{}, {}",
            plural(self.files, "file", "files"),
            plural(self.members, "member", "members")
        );
        if !kinds.is_empty() {
            line.push_str(&format!(" ({})", kinds.join(", ")));
        }
        line.push_str(&format!(
            "; {} with syntax errors, {} skipped, {} failed",
            self.files_with_syntax_errors,
            self.skipped.len(),
            self.failed.len()
        ));
        if self.test_files > 0 {
            line.push_str(&format!(
                "; {} not analysed",
                plural(self.test_files, "test file", "test files")
            ));
        }
        line.push('\n');
        line
    }
}

/// Streams `analyze` results in the chosen format: one file at a time, so nothing but the
/// summary is kept.
#[derive(Debug)]
pub struct AnalyzeReport<'p> {
    format: Format,
    printer: &'p mut Printer,
    summary: AnalyzeSummary,
    files_written: usize,
    /// When the run started, for `-v`'s statistics.
    started: std::time::Instant,
}

impl<'p> AnalyzeReport<'p> {
    pub fn new(format: Format, printer: &'p mut Printer) -> Self {
        AnalyzeReport {
            format,
            printer,
            summary: AnalyzeSummary::default(),
            files_written: 0,
            started: std::time::Instant::now(),
        }
    }

    pub fn begin(&mut self) -> Result<(), AppError> {
        match self.format {
            Format::Json => self.printer.out("{\"files\":["),
            Format::Text => Ok(()),
        }
    }

    /// Prints one file's result, rendered beforehand (on a worker thread) by [`render`].
    pub fn file(&mut self, rendered: RenderedFile) -> Result<(), AppError> {
        match rendered.outcome {
            ScanOutcome::Analyzed(file) => {
                self.summary.count(&file);
                for issue in &file.errors {
                    self.printer.syntax_issue(&file.path, issue);
                }
                self.write_rendered(&rendered.text)?;
            }
            ScanOutcome::TestFile => self.summary.test_files += 1,
            ScanOutcome::Skipped { path, reason } => {
                self.printer.warning(&path, &format!("skipped: {reason}"));
                self.summary.skipped.push(PathNote { path, reason });
            }
            ScanOutcome::Failed { path, error } => {
                self.printer.file_error(&path, &error);
                self.summary.failed.push(PathNote {
                    path,
                    reason: error,
                });
            }
        }
        Ok(())
    }

    fn write_rendered(&mut self, text: &str) -> Result<(), AppError> {
        if self.format == Format::Json && self.files_written > 0 {
            self.printer.out(",")?;
        }
        self.printer.out(text)?;
        self.files_written += 1;
        Ok(())
    }

    pub fn finish(self) -> Result<AnalyzeSummary, AppError> {
        match self.format {
            Format::Json => {
                let summary = serde_json::to_string(&self.summary).expect("the summary serialises");
                self.printer.out(&format!("],\"summary\":{summary}}}\n"))?;
            }
            Format::Text => {
                let text = self.summary.text();
                self.printer.out(&text)?;
                if self.printer.is_verbose() {
                    let elapsed = self.started.elapsed();
                    let seconds = elapsed.as_secs_f64().max(1e-6);
                    let files = self.summary.files + self.summary.test_files;
                    self.printer.out(&format!(
                        "statistics: {} read in {} ms ({:.0} files/s, {:.0} members/s)\n",
                        plural(files, "file", "files"),
                        elapsed.as_millis(),
                        files as f64 / seconds,
                        self.summary.members as f64 / seconds,
                    ))?;
                }
            }
        }
        self.printer.flush()?;
        Ok(self.summary)
    }
}

/// A file's scan with its output already rendered, so the costly part of printing runs in
/// parallel and the printing thread only copies bytes.
#[derive(Debug)]
pub struct RenderedFile {
    outcome: ScanOutcome,
    text: String,
}

/// Renders `outcome` in `format`: a JSON object or a text tree for an analysed file.
pub fn render(outcome: ScanOutcome, format: Format) -> RenderedFile {
    let text = match (&outcome, format) {
        (ScanOutcome::Analyzed(file), Format::Json) => {
            serde_json::to_string(file).expect("the member model serialises")
        }
        (ScanOutcome::Analyzed(file), Format::Text) => render_file_text(file),
        _ => String::new(),
    };
    RenderedFile { outcome, text }
}

/// One file as a readable tree: the path, then one indented line per member.
pub fn render_file_text(file: &FileMembers) -> String {
    let driver = crate::drivers::by_name(&file.language);
    let mut out = file.path.display().to_string();
    match (&file.package, &file.module) {
        (Some(package), _) => out.push_str(&format!("  (package {package})")),
        (None, Some(module)) => out.push_str(&format!("  ({module})")),
        (None, None) => {}
    }
    if file.has_syntax_errors() {
        out.push_str("  [syntax errors]");
    }
    out.push('\n');
    for member in &file.members {
        let name = match driver {
            Some(driver) => driver.display_name_in(file, member),
            None => member.name.clone(),
        };
        out.push_str(&format!(
            "  {:<9} {name}  :{}\n",
            member.kind.as_str(),
            member.start_line
        ));
    }
    out
}
