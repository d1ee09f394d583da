//! The model of verification shared by drivers and the application: what to check, the
//! commands that check it (as plain data — the application runs them), and what their output
//! says, mapped back to files, lines and test names.
//!
//! A driver never runs anything: it turns a [`VerifyRequest`] into [`VerifyCommand`]s and reads
//! a finished command's [`CommandOutput`] into [`Diagnostic`]s and [`TestResult`]s.

use std::ops::Range;
use std::path::{Path, PathBuf};

/// The tests to check in one project: the folder holding the driver's
/// [`project_marker`](crate::Driver::project_marker) and every test file below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRequest {
    /// The project's folder (absolute); commands run in it.
    pub root: PathBuf,
    /// The marker file's text (Go: `go.mod`, which names the module path).
    pub marker_text: String,
    /// The test files to check, in a stable order.
    pub files: Vec<FileToVerify>,
    /// Run tests that are marked ignored too (Rust's `--include-ignored`).
    pub include_ignored: bool,
    /// How long one test binary may run before the toolchain stops it, where it can.
    pub test_timeout_secs: u64,
    /// Which optional parts of the project the build includes.
    pub build: BuildSelection,
}

/// Which optional parts of a project a build includes, as the user chose them on the command
/// line: Go build tags (`--tags`), Cargo features (`--features`, `--all-features`,
/// `--no-default-features`). Each driver passes on what its toolchain knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSelection {
    pub tags: Vec<String>,
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
}

/// One test file and the tests in it to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileToVerify {
    /// The test file, relative to [`VerifyRequest::root`].
    pub test_file: PathBuf,
    /// The source file whose tests these are, relative to [`VerifyRequest::root`] (Rust
    /// derives the test module's path from it).
    pub source_file: PathBuf,
    /// The test functions' names, as [`ExistingTest::name`](crate::ExistingTest::name).
    pub tests: Vec<String>,
}

impl VerifyRequest {
    /// The file of the request that holds `test` in `folder` (relative to the root), if any.
    pub fn file_in_folder(&self, folder: &Path, test: &str) -> Option<&FileToVerify> {
        self.files.iter().find(|file| {
            folder_of(&file.test_file) == folder && file.tests.iter().any(|name| name == test)
        })
    }
}

/// What a command is for; the application treats their output accordingly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyStep {
    /// Compiles the tests. A [`Diagnostic`] inside a test means the test does not compile;
    /// one anywhere else means the project does not build.
    Build,
    /// Static checks after a clean build (`go vet`). A diagnostic inside a test counts as a
    /// build failure of that test; diagnostics elsewhere are the project's own business.
    Lint,
    /// Runs the tests; its output is read into [`TestResult`]s.
    Run,
}

/// One command to run, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyCommand {
    pub step: VerifyStep,
    /// The program, looked up on `PATH` (`go`, `cargo`).
    pub program: String,
    pub args: Vec<String>,
    /// The working folder (absolute).
    pub dir: PathBuf,
    /// Environment variables to set on top of the inherited ones.
    pub env: Vec<(String, String)>,
}

impl VerifyCommand {
    /// The command line as a person would type it, for messages and logs.
    pub fn display(&self) -> String {
        let mut line = self.program.clone();
        for arg in &self.args {
            line.push(' ');
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "|()^$'\"".contains(c))
            {
                line.push('\'');
                line.push_str(&arg.replace('\'', r"'\''"));
                line.push('\'');
            } else {
                line.push_str(arg);
            }
        }
        line
    }
}

/// What a finished command left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// The exit code; `None` when the command was killed (time limit) or died of a signal.
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    pub fn is_success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// One error or warning a toolchain printed, pointing at a file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the toolchain printed it: absolute, or relative to the command's folder or
    /// to one of its parents (Cargo prints paths relative to the workspace root).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column; 0 when the toolchain gave none.
    pub column: usize,
    /// The message, possibly several lines (rustc's rendered diagnostic), ready to show a
    /// person or a model.
    pub message: String,
}

/// What a test run said about one test of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The test file, as in [`FileToVerify::test_file`].
    pub test_file: PathBuf,
    /// The test function's name, as in [`FileToVerify::tests`].
    pub name: String,
    pub outcome: TestOutcome,
}

/// How one test of the user's suite ended (see
/// [`Driver::suite_command`](crate::Driver::suite_command)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteResult {
    /// The part of the project the test shares state with, relative to
    /// [`VerifyRequest::root`] (Go: its package's folder), as
    /// [`Driver::suite_unit`](crate::Driver::suite_unit) names a file's.
    pub unit: PathBuf,
    pub name: String,
    pub outcome: TestOutcome,
}

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    Passed,
    /// Failed, with what it printed (assertion messages, panics), trimmed.
    Failed(String),
    /// Skipped or ignored by the test itself (`t.Skip`, `#[ignore]`), with the reason.
    Skipped(String),
    /// Started but never finished: the test binary crashed or was stopped while it ran.
    Unfinished(String),
}

/// The 1-based lines `range` covers in `text`: from the line of its first byte to the line of
/// its last byte.
pub fn line_span(text: &str, range: &Range<usize>) -> Range<usize> {
    let start = range.start.min(text.len());
    let end = range.end.clamp(start, text.len());
    let first = text[..start].matches('\n').count() + 1;
    let last_byte = end.saturating_sub(1).max(start);
    let last = text[..last_byte].matches('\n').count() + 1;
    first..last + 1
}

/// `text` without `range` (a whole test, as [`ExistingTest::byte_range`] gives it) and
/// without one blank line that separated it from its neighbours: the one before it, or at the
/// top of a file or block, the one after. Every other byte stays.
///
/// [`ExistingTest::byte_range`]: crate::ExistingTest::byte_range
pub fn cut_test(text: &str, range: &Range<usize>) -> String {
    let range = range.start.min(text.len())..range.end.clamp(range.start, text.len());
    let line_start = text[..range.start].rfind('\n').map_or(0, |at| at + 1);
    let line_end = text[range.end..]
        .find('\n')
        .map_or(text.len(), |at| range.end + at + 1);
    let owns_its_lines = text[line_start..range.start].trim().is_empty()
        && text[range.end..line_end].trim().is_empty();
    if !owns_its_lines {
        return format!("{}{}", &text[..range.start], &text[range.end..]);
    }
    let (mut start, mut end) = (line_start, line_end);
    let previous_start = (start > 0).then(|| text[..start - 1].rfind('\n').map_or(0, |at| at + 1));
    let next_end =
        (end < text.len()).then(|| text[end..].find('\n').map_or(text.len(), |at| end + at + 1));
    match (previous_start, next_end) {
        (Some(previous), _) if text[previous..start].trim().is_empty() => start = previous,
        (_, Some(next)) if text[end..next].trim().is_empty() => end = next,
        _ => {}
    }
    format!("{}{}", &text[..start], &text[end..])
}

/// The folder of a relative path, `""` for a bare file name.
pub fn folder_of(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_span_covers_the_first_to_the_last_line_of_the_range() {
        let text = "a\nbc\nd\n";
        assert_eq!(line_span(text, &(0..1)), 1..2);
        assert_eq!(line_span(text, &(2..7)), 2..4);
        // A range ending with its newline does not reach into the next line.
        assert_eq!(line_span(text, &(2..5)), 2..3);
    }

    #[test]
    fn cutting_the_last_test_leaves_the_file_as_before_it_was_appended() {
        let before = "package a\n\nfunc TestA(t *testing.T) {\n}\n";
        let text = format!("{before}\nfunc TestB(t *testing.T) {{\n}}\n");
        let start = text.find("func TestB").unwrap();
        let end = text.rfind('}').unwrap() + 1;
        assert_eq!(cut_test(&text, &(start..end)), before);
    }

    #[test]
    fn cutting_a_middle_test_keeps_its_neighbours_apart() {
        let text = "package a\n\nfunc A() {\n}\n\nfunc B() {\n}\n\nfunc C() {\n}\n";
        let start = text.find("func B").unwrap();
        let end = start + "func B() {\n}".len();
        assert_eq!(
            cut_test(text, &(start..end)),
            "package a\n\nfunc A() {\n}\n\nfunc C() {\n}\n"
        );
    }

    #[test]
    fn cutting_an_indented_test_takes_its_indentation() {
        let text = "mod t {\n    fn a() {}\n\n    fn b() {}\n}\n";
        let start = text.find("fn b").unwrap();
        let end = start + "fn b() {}".len();
        assert_eq!(cut_test(text, &(start..end)), "mod t {\n    fn a() {}\n}\n");
    }

    #[test]
    fn the_command_line_quotes_what_a_shell_would_need_quoted() {
        let command = VerifyCommand {
            step: VerifyStep::Run,
            program: "go".to_owned(),
            args: vec!["test".into(), "-run".into(), "^(TestA|TestB)$".into()],
            dir: PathBuf::from("/p"),
            env: Vec::new(),
        };
        assert_eq!(command.display(), "go test -run '^(TestA|TestB)$'");
    }
}
