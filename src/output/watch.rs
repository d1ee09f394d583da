//! `watch` output: one status line per file a pass wrote to (or had something to say about),
//! one line per deleted source whose tests are left behind, and notes about the watch itself.
//! Status lines go to stdout and are flushed at once: someone is watching them.

use super::{FileReport, Printer, plural};
use crate::errors::AppError;
use crate::pipeline::ScanProblem;
use std::path::Path;
use std::time::Duration;

/// Prints what each pass of `watch` did, as it happens.
#[derive(Debug, Default)]
pub struct WatchReport {
    /// Files whose tests were written (or regenerated) since the watch began.
    files_written: usize,
}

impl WatchReport {
    pub fn new() -> WatchReport {
        WatchReport::default()
    }

    /// One file's outcome: a status line on stdout — none for a file with nothing to do,
    /// unless `-v` — or its error on stderr.
    pub fn file(
        &mut self,
        printer: &mut Printer,
        report: &FileReport,
        elapsed: Duration,
    ) -> Result<(), AppError> {
        if let Some(error) = &report.error {
            printer.file_error(&report.path, error);
            return Ok(());
        }
        if !report.written.is_empty() || !report.regenerated.is_empty() {
            self.files_written += 1;
        }
        match status_text(report, elapsed, printer.is_verbose()) {
            Some(text) => printer.out(&text),
            None => Ok(()),
        }
    }

    /// A source file that could not be read for this pass.
    pub fn scan_problem(&mut self, printer: &mut Printer, problem: &ScanProblem) {
        match problem {
            ScanProblem::Skipped { path, reason } => {
                printer.warning(path, &format!("skipped: {reason}"))
            }
            ScanProblem::Failed { path, error } => printer.file_error(path, error),
        }
    }

    /// A source file that disappeared. Its tests are never deleted; when they are still
    /// there, the user is told they have lost their source. A deletion that leaves nothing
    /// behind is said only with `-v`.
    pub fn deleted(
        &mut self,
        printer: &mut Printer,
        source: &Path,
        moved_to: Option<&Path>,
        orphaned_tests: Option<&Path>,
    ) -> Result<(), AppError> {
        match deleted_text(source, moved_to, orphaned_tests, printer.is_verbose()) {
            Some(text) => printer.out(&text),
            None => Ok(()),
        }
    }

    /// The watch is set up and the first pass is done.
    pub fn watching(&mut self, printer: &mut Printer, folders: usize, debounce: Duration) {
        printer.note(&format!(
            "watching {} (debounce {} ms); Ctrl-C stops",
            plural(folders, "folder", "folders"),
            debounce.as_millis()
        ));
    }

    /// The watch ended at the user's request.
    pub fn stopped(&mut self, printer: &mut Printer) {
        printer.note(&format!(
            "stopped; tests were written for {} while watching",
            plural(self.files_written, "file", "files")
        ));
    }

    /// Everything printed so far reaches the terminal (or the pipe) now.
    pub fn flush(&mut self, printer: &mut Printer) -> Result<(), AppError> {
        printer.flush()
    }
}

/// `src/parser.go: 2 tests written (1 cached) in 180 ms`, with the skipped and deferred
/// members below it; `None` for a file with nothing to say, unless `verbose`.
fn status_text(report: &FileReport, elapsed: Duration, verbose: bool) -> Option<String> {
    let path = report.path.display();
    let took = took(elapsed);
    if report.interrupted {
        return Some(format!("{path}: interrupted; nothing written\n"));
    }
    let mut parts = Vec::new();
    if !report.written.is_empty() {
        parts.push(plural(
            report.written.len(),
            "test written",
            "tests written",
        ));
    }
    if !report.regenerated.is_empty() {
        parts.push(format!("{} regenerated", report.regenerated.len()));
    }
    if let Some(first) = parts.first_mut()
        && !report.cached.is_empty()
    {
        first.push_str(&format!(" ({} cached)", report.cached.len()));
    }
    if !report.skipped.is_empty() {
        parts.push(format!("{} skipped", report.skipped.len()));
    }
    if !report.deferred.is_empty() {
        parts.push(format!("{} deferred", report.deferred.len()));
    }
    // Nothing planned at all: the parser found no member to plan. Say why.
    if parts.is_empty() && report.has_syntax_errors {
        return Some(format!(
            "{path}: has syntax errors, so no tests were written; fix them and save again\n"
        ));
    }
    if parts.is_empty() && !report.attached {
        return verbose.then(|| {
            format!(
                "{path}: nothing to write ({} already tested) in {took}\n",
                report.already_tested.len()
            )
        });
    }
    if parts.is_empty() {
        parts.push("0 tests written".to_owned());
    }
    let mut text = format!("{path}: {}", parts.join(", "));
    if report.attached {
        text.push_str(" (test module attached)");
    }
    text.push_str(&format!(" in {took}\n"));
    for skipped in &report.skipped {
        text.push_str(&format!(
            "  skipped {}: {}\n",
            skipped.member, skipped.reason
        ));
    }
    for deferred in &report.deferred {
        text.push_str(&format!(
            "  deferred {}: {}\n",
            deferred.member, deferred.reason
        ));
    }
    Some(text)
}

/// `src/gone.go deleted; its tests in src/gone_test.go are orphaned`.
fn deleted_text(
    source: &Path,
    moved_to: Option<&Path>,
    orphaned_tests: Option<&Path>,
    verbose: bool,
) -> Option<String> {
    let what = match moved_to {
        Some(to) => format!("{} moved to {}", source.display(), to.display()),
        None => format!("{} deleted", source.display()),
    };
    match orphaned_tests {
        Some(tests) => Some(format!(
            "{what}; its tests in {} are orphaned\n",
            tests.display()
        )),
        None => verbose.then(|| format!("{what}\n")),
    }
}

/// Milliseconds below ten seconds, seconds with a tenth above.
fn took(elapsed: Duration) -> String {
    let millis = elapsed.as_millis();
    if millis < 10_000 {
        format!("{millis} ms")
    } else {
        format!("{:.1} s", elapsed.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::generate::SkippedMember;
    use std::path::PathBuf;

    fn report(written: &[&str], cached: &[&str]) -> FileReport {
        FileReport {
            written: written.iter().map(|s| s.to_string()).collect(),
            cached: cached.iter().map(|s| s.to_string()).collect(),
            ..FileReport::new(PathBuf::from("src/parser.go"))
        }
    }

    #[test]
    fn a_file_with_new_tests_gets_one_line_with_its_cached_count_and_time() {
        let text = status_text(
            &report(&["TestParse", "TestLex"], &["TestLex"]),
            Duration::from_millis(180),
            false,
        );
        assert_eq!(
            text.as_deref(),
            Some("src/parser.go: 2 tests written (1 cached) in 180 ms\n")
        );
    }

    #[test]
    fn a_file_with_nothing_to_do_prints_nothing_unless_verbose() {
        let mut quiet = report(&[], &[]);
        quiet.already_tested = vec!["TestParse".to_owned()];
        assert_eq!(status_text(&quiet, Duration::from_millis(3), false), None);
        assert_eq!(
            status_text(&quiet, Duration::from_millis(3), true).as_deref(),
            Some("src/parser.go: nothing to write (1 already tested) in 3 ms\n")
        );
    }

    #[test]
    fn regenerated_and_skipped_members_are_counted_and_skips_explained() {
        let mut file = report(&["TestLex"], &[]);
        file.regenerated = vec!["TestParse".to_owned()];
        file.skipped = vec![SkippedMember {
            member: "Broken".to_owned(),
            reason: "the file has syntax errors (first at 3:1); fix them and run again".to_owned(),
        }];
        insta::assert_snapshot!(status_text(&file, Duration::from_millis(12_345), false).unwrap(), @r"
        src/parser.go: 1 test written, 1 regenerated, 1 skipped in 12.3 s
          skipped Broken: the file has syntax errors (first at 3:1); fix them and run again
        ");
    }

    #[test]
    fn an_attached_rust_module_is_said() {
        let mut file = report(&["test_parse"], &[]);
        file.path = PathBuf::from("src/lib.rs");
        file.attached = true;
        assert_eq!(
            status_text(&file, Duration::from_millis(4), false).as_deref(),
            Some("src/lib.rs: 1 test written (test module attached) in 4 ms\n")
        );
    }

    #[test]
    fn a_file_with_syntax_errors_and_nothing_planned_says_why_nothing_was_written() {
        let mut file = report(&[], &[]);
        file.has_syntax_errors = true;
        assert_eq!(
            status_text(&file, Duration::from_millis(4), false).as_deref(),
            Some(
                "src/parser.go: has syntax errors, so no tests were written; fix them and save \
                 again\n"
            )
        );
    }

    #[test]
    fn a_deleted_source_with_tests_left_reports_them_orphaned() {
        let text = deleted_text(
            Path::new("src/gone.go"),
            None,
            Some(Path::new("src/gone_test.go")),
            false,
        );
        assert_eq!(
            text.as_deref(),
            Some("src/gone.go deleted; its tests in src/gone_test.go are orphaned\n")
        );
    }

    #[test]
    fn a_moved_source_names_its_new_place() {
        let text = deleted_text(
            Path::new("src/a.go"),
            Some(Path::new("src/b.go")),
            Some(Path::new("src/a_test.go")),
            false,
        );
        assert_eq!(
            text.as_deref(),
            Some("src/a.go moved to src/b.go; its tests in src/a_test.go are orphaned\n")
        );
    }

    #[test]
    fn a_moved_source_whose_tests_still_count_is_said_only_when_verbose() {
        let moved = |verbose| {
            deleted_text(
                Path::new("src/a.go"),
                Some(Path::new("src/b.go")),
                None,
                verbose,
            )
        };
        assert_eq!(moved(false), None);
        assert_eq!(moved(true).as_deref(), Some("src/a.go moved to src/b.go\n"));
    }

    #[test]
    fn a_deleted_source_without_tests_is_said_only_when_verbose() {
        assert_eq!(deleted_text(Path::new("a.go"), None, None, false), None);
        assert_eq!(
            deleted_text(Path::new("a.go"), None, None, true).as_deref(),
            Some("a.go deleted\n")
        );
    }
}
