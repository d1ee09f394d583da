//! `generate` output: one line per file that changed (or had something to say), the diffs of
//! a dry run, and the totals — as text, or one JSON document.

use super::{PathNote, Printer, plural};
use crate::cli::Format;
use crate::errors::{AppError, Outcome};
use serde::Serialize;
use std::path::PathBuf;

/// A member that got no test, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedMember {
    pub member: String,
    pub reason: String,
}

/// Why a file's tests went to `test_file` rather than to the test file they usually go to.
#[derive(Debug, Clone, Serialize)]
pub struct Diversion {
    /// The test file they usually go to, left as it was.
    pub from: PathBuf,
    pub reason: String,
}

/// What a run did for one source file.
#[derive(Debug, Default, Serialize)]
pub struct FileReport {
    /// The source file.
    pub path: PathBuf,
    /// Where its tests go; `null` when its language writes none.
    pub test_file: Option<PathBuf>,
    /// Set when the tests went to a new file beside the usual one, which they could not be
    /// appended to without moving its lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverted: Option<Diversion>,
    /// Tests written for members that had none.
    pub written: Vec<String>,
    /// Unedited scaffolds rewritten because their member's signature changed (or, with
    /// `--llm`, upgraded to real tests).
    pub regenerated: Vec<String>,
    /// Members whose conventional test exists already.
    pub already_tested: Vec<String>,
    pub skipped: Vec<SkippedMember>,
    /// `--llm`: members whose test waits in the queue for a later run (rate limit, quota,
    /// outage), with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<SkippedMember>,
    /// `--llm`: tests among `written` and `regenerated` that came from the cache.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cached: Vec<String>,
    /// Whether the source file was edited to attach its test file (Rust's `#[path]` module).
    pub attached: bool,
    /// Why the file could not be processed or written; nothing was written for it.
    pub error: Option<String>,
    /// The run was interrupted before this file's tests were written.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// `--dry-run`: nothing was written, the counts say what would be.
    #[serde(skip)]
    pub dry_run: bool,
    /// Whether any member was skipped because the file has syntax errors.
    #[serde(skip)]
    pub has_syntax_errors: bool,
    /// `--dry-run`: the change as a unified diff (test file, then source file when attached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Every file written, with what it held before, in write order: what verification
    /// restores when this run's edit breaks a test that passed before it.
    #[serde(skip)]
    pub replaced: Vec<crate::pipeline::Replaced>,
}

impl FileReport {
    pub fn new(path: PathBuf) -> FileReport {
        FileReport {
            path,
            ..FileReport::default()
        }
    }

    pub fn failed(path: PathBuf, error: String) -> FileReport {
        FileReport {
            path,
            error: Some(error),
            ..FileReport::default()
        }
    }

    fn members(&self) -> usize {
        self.written.len()
            + self.regenerated.len()
            + self.already_tested.len()
            + self.skipped.len()
            + self.deferred.len()
    }

    /// Whether the file has nothing to say without `-v`. A file-level error is reported on
    /// stderr when it happens, so it is not repeated on stdout.
    fn is_quiet(&self) -> bool {
        self.written.is_empty()
            && self.regenerated.is_empty()
            && self.skipped.is_empty()
            && self.deferred.is_empty()
            && !self.attached
    }

    fn text(&self, verbose: bool) -> String {
        let mut line = self.path.display().to_string();
        if let Some(test_file) = &self.test_file {
            line.push_str(&format!(" → {}", test_file.display()));
        }
        if let Some(error) = &self.error {
            return format!("{line}: not written: {error}\n");
        }
        let verb = if self.dry_run {
            "would be written"
        } else {
            "written"
        };
        let mut parts = vec![format!("{} {verb}", self.written.len())];
        if !self.cached.is_empty() {
            parts[0].push_str(&format!(" ({} cached)", self.cached.len()));
        }
        if !self.regenerated.is_empty() {
            let verb = if self.dry_run {
                "would be regenerated"
            } else {
                "regenerated"
            };
            parts.push(format!("{} {verb}", self.regenerated.len()));
        }
        if !self.already_tested.is_empty() {
            parts.push(format!("{} already tested", self.already_tested.len()));
        }
        if !self.skipped.is_empty() {
            parts.push(format!("{} skipped", self.skipped.len()));
        }
        if !self.deferred.is_empty() {
            parts.push(format!("{} deferred", self.deferred.len()));
        }
        line.push_str(&format!(": {}", parts.join(", ")));
        if self.attached {
            line.push_str(" (test module attached)");
        }
        line.push('\n');
        // Where the tests went matters only when some did.
        if let Some(diverted) = self
            .diverted
            .as_ref()
            .filter(|_| !(self.written.is_empty() && self.regenerated.is_empty()))
        {
            line.push_str(&format!(
                "  new test file beside {}: {}\n",
                diverted.from.display(),
                diverted.reason
            ));
        }
        if verbose {
            for name in &self.written {
                line.push_str(&format!("  written         {name}\n"));
            }
            for name in &self.regenerated {
                line.push_str(&format!("  regenerated     {name}\n"));
            }
            for name in &self.already_tested {
                line.push_str(&format!("  already tested  {name}\n"));
            }
        }
        for skipped in &self.skipped {
            line.push_str(&format!(
                "  skipped {}: {}\n",
                skipped.member, skipped.reason
            ));
        }
        // One line per reason: a rate limit or an outage defers many members alike.
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for deferred in &self.deferred {
            match reasons
                .iter_mut()
                .find(|(reason, _)| *reason == deferred.reason)
            {
                Some((_, members)) => members.push(&deferred.member),
                None => reasons.push((&deferred.reason, vec![&deferred.member])),
            }
        }
        for (reason, members) in reasons {
            line.push_str(&format!("  deferred {}: {reason}\n", members.join(", ")));
        }
        line
    }
}

/// The totals at the end of `generate`.
#[derive(Debug, Default, Serialize)]
pub struct GenerateSummary {
    /// Source files looked at.
    pub files: usize,
    /// Callable members looked at (types are tested through their methods).
    pub members: usize,
    pub written: usize,
    pub regenerated: usize,
    pub already_tested: usize,
    pub skipped: usize,
    /// `--llm`: members whose job waits in the queue.
    pub deferred: usize,
    /// Test files (and attached source files) written, or that would be with `--dry-run`.
    pub files_written: usize,
    pub dry_run: bool,
    /// Source files skipped whole (binary, not UTF-8), with the reason.
    pub skipped_files: Vec<PathNote>,
    /// Paths that could not be read, walked or written.
    pub failed: Vec<PathNote>,
    /// `--llm`: what the run cost and what waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmSummary>,
}

/// The cost of an `--llm` run.
#[derive(Debug, Serialize)]
pub struct LlmSummary {
    #[serde(flatten)]
    pub stats: crate::llm::StatsSnapshot,
    /// Jobs left in the queue (pending or deferred) for a later run.
    pub jobs_waiting: u64,
    /// Answers the check refused that were fixed without asking the model again (the member
    /// redeclared beside the test, a bare fragment, ...).
    pub salvaged: usize,
}

impl GenerateSummary {
    fn text(&self) -> String {
        let verb = if self.dry_run {
            "would be written"
        } else {
            "written"
        };
        let mut line = format!(
            "{}, {}: {} {verb}",
            plural(self.files, "file", "files"),
            plural(self.members, "member", "members"),
            self.written,
        );
        if self.regenerated > 0 {
            line.push_str(&format!(", {} regenerated", self.regenerated));
        }
        line.push_str(&format!(
            ", {} already tested, {} skipped",
            self.already_tested, self.skipped
        ));
        if self.deferred > 0 {
            line.push_str(&format!(", {} deferred", self.deferred));
        }
        if !self.failed.is_empty() {
            line.push_str(&format!(
                "; {} failed",
                plural(self.failed.len(), "file", "files")
            ));
        }
        if !self.skipped_files.is_empty() {
            line.push_str(&format!(
                "; {} not read",
                plural(self.skipped_files.len(), "file", "files")
            ));
        }
        line.push('\n');
        if let Some(llm) = &self.llm {
            let stats = &llm.stats;
            line.push_str(&format!(
                "LLM: {} sent, {} retries, tokens in/out: {}/{}",
                plural(stats.requests_sent as usize, "request", "requests"),
                stats.retries,
                stats.tokens_in,
                stats.tokens_out
            ));
            if llm.salvaged > 0 {
                line.push_str(&format!(", {} salvaged", llm.salvaged));
            }
            let at_cap = stats.answers_cut - stats.answers_repeating;
            if at_cap > 0 {
                line.push_str(&format!(", {at_cap} cut at the token limit"));
            }
            if stats.answers_repeating > 0 {
                line.push_str(&format!(
                    ", {} cut short repeating {}",
                    stats.answers_repeating,
                    if stats.answers_repeating == 1 {
                        "itself"
                    } else {
                        "themselves"
                    }
                ));
            }
            line.push('\n');
        }
        line
    }

    /// `-v`: how long the run took and at what rate, and what it wrote.
    fn statistics(&self, elapsed: std::time::Duration) -> String {
        let seconds = elapsed.as_secs_f64().max(1e-6);
        let verb = if self.dry_run {
            "would be written"
        } else {
            "written"
        };
        format!(
            "statistics: {} in {} ms ({:.0} files/s, {:.0} members/s); {} {verb}\n",
            plural(self.files, "source file", "source files"),
            elapsed.as_millis(),
            self.files as f64 / seconds,
            self.members as f64 / seconds,
            plural(self.files_written, "file", "files"),
        )
    }

    fn cache_line(&self) -> Option<String> {
        let stats = &self.llm.as_ref()?.stats;
        Some(format!(
            "LLM cache — hits: {}  misses: {}  entries: {}\n",
            stats.cache_hits, stats.cache_misses, stats.cache_entries
        ))
    }
}

/// Collects per-file results, then prints them in path order with the totals.
#[derive(Debug)]
pub struct GenerateReport {
    format: Format,
    files: Vec<FileReport>,
    summary: GenerateSummary,
    has_syntax_errors: bool,
    /// `--verify`: what the toolchains said about the tests written.
    verify: Option<crate::verify::VerifyReport>,
    /// `--llm --coverage`: which tests raised coverage and were kept.
    funnel: Option<crate::verify::CoverageFunnel>,
    /// When the run started, for `-v`'s statistics.
    started: std::time::Instant,
}

impl GenerateReport {
    pub fn new(format: Format, dry_run: bool) -> GenerateReport {
        GenerateReport {
            format,
            files: Vec::new(),
            summary: GenerateSummary {
                dry_run,
                ..GenerateSummary::default()
            },
            has_syntax_errors: false,
            verify: None,
            funnel: None,
            started: std::time::Instant::now(),
        }
    }

    pub fn skipped_file(&mut self, printer: &mut Printer, path: PathBuf, reason: String) {
        printer.warning(&path, &format!("skipped: {reason}"));
        self.summary.skipped_files.push(PathNote { path, reason });
    }

    pub fn failed(&mut self, printer: &mut Printer, path: PathBuf, reason: String) {
        printer.file_error(&path, &reason);
        self.summary.failed.push(PathNote { path, reason });
    }

    pub fn file(&mut self, printer: &mut Printer, report: FileReport, files_written: usize) {
        let summary = &mut self.summary;
        summary.files += 1;
        summary.members += report.members();
        summary.written += report.written.len();
        summary.regenerated += report.regenerated.len();
        summary.already_tested += report.already_tested.len();
        summary.skipped += report.skipped.len();
        summary.deferred += report.deferred.len();
        summary.files_written += files_written;
        self.has_syntax_errors |= report.has_syntax_errors;
        if let Some(error) = &report.error {
            printer.file_error(&report.path, error);
            summary.failed.push(PathNote {
                path: report.path.clone(),
                reason: error.clone(),
            });
        }
        self.files.push(report);
    }

    /// Records what an `--llm` run cost, for the summary.
    pub fn set_llm(&mut self, stats: crate::llm::StatsSnapshot, jobs_waiting: u64) {
        self.summary.llm = Some(LlmSummary {
            stats,
            jobs_waiting,
            salvaged: 0,
        });
    }

    /// Records how many answers were salvaged rather than asked again.
    pub fn set_salvaged(&mut self, salvaged: usize) {
        if let Some(llm) = &mut self.summary.llm {
            llm.salvaged = salvaged;
        }
    }

    /// Records what `--verify` found, printed after the summary (JSON: `verify`).
    pub fn set_verify(&mut self, report: crate::verify::VerifyReport) {
        self.verify = Some(report);
    }

    pub fn set_funnel(&mut self, funnel: crate::verify::CoverageFunnel) {
        self.funnel = Some(funnel);
    }

    /// Prints everything; the outcome is 1 when any file failed or had syntax errors, or
    /// verification undid an edit that broke the user's suite.
    pub fn finish(mut self, printer: &mut Printer) -> Result<Outcome, AppError> {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.summary.failed.sort_by(|a, b| a.path.cmp(&b.path));
        if let Some(verify) = &self.verify {
            crate::commands::verify::warn_skipped(verify, printer);
        }
        match self.format {
            Format::Json => {
                #[derive(Serialize)]
                struct Document<'a> {
                    files: &'a [FileReport],
                    summary: &'a GenerateSummary,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    verify: Option<&'a crate::verify::VerifyReport>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    funnel: Option<&'a crate::verify::CoverageFunnel>,
                }
                let document = Document {
                    files: &self.files,
                    summary: &self.summary,
                    verify: self.verify.as_ref(),
                    funnel: self.funnel.as_ref(),
                };
                let json = serde_json::to_string(&document).expect("the report serialises");
                printer.out(&json)?;
                printer.out("\n")?;
            }
            Format::Text => {
                let verbose = printer.is_verbose();
                for file in &self.files {
                    if let Some(diff) = &file.diff {
                        printer.out(diff)?;
                    }
                }
                for file in &self.files {
                    if verbose || !file.is_quiet() {
                        printer.out(&file.text(verbose))?;
                    }
                }
                printer.out(&self.summary.text())?;
                if verbose && let Some(line) = self.summary.cache_line() {
                    printer.out(&line)?;
                }
                if verbose {
                    printer.out(&self.summary.statistics(self.started.elapsed()))?;
                }
                if let Some(verify) = &self.verify {
                    printer.out(&verify.text(verbose))?;
                }
                if let Some(funnel) = &self.funnel {
                    printer.out(&funnel.text())?;
                }
            }
        }
        printer.flush()?;
        Ok(
            // An edit undone because it broke the user's suite failed like an unwritable file;
            // so did `--verify` when it could not prove what it wrote.
            if self.summary.failed.is_empty()
                && !self.has_syntax_errors
                && self.verify.as_ref().is_none_or(|verify| {
                    verify.rolled_back.is_empty() && !verify.leaves_tests_unproven()
                })
            {
                Outcome::Success
            } else {
                Outcome::SomeFilesFailed
            },
        )
    }
}
