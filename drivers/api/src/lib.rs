//! The contract between testsmith and a language: the [`Driver`] trait and the model it fills.
//!
//! A driver knows one language and nothing else. It is handed a path and the file's text and
//! answers with plain data; it never reads files, talks to the network or prints. Everything a
//! language decides — which files it claims, which folders never hold code, which items are
//! public — is answered here, so the application never matches on a language name.
//!
//! Adding a language means one crate implementing [`Driver`] and one line in the registry.

pub mod coverage;
mod generate;
pub mod marker;
mod model;
pub mod mutate;
pub mod syntax;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

pub use coverage::{CoverBlock, CoveragePlan, CoverageTarget, ProfileFormat, Span};
pub use generate::{ExistingTest, SourceFile, TestChange, TestCode};
pub use model::{FileMembers, Member, MemberKind, Param, Signature, SyntaxIssue};
pub use mutate::{Mutant, MutantRun, MutationEdit, MutationOperator, MutationSandbox};
pub use verify::{
    BuildSelection, CommandOutput, Diagnostic, FileToVerify, SuiteResult, TestOutcome, TestResult,
    VerifyCommand, VerifyRequest, VerifyStep,
};

use std::path::{Path, PathBuf};

/// Where a package's toolchain builds it from: see [`Driver::locate_project`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectLocation {
    /// The folder commands run in (absolute).
    pub root: PathBuf,
    /// What [`VerifyRequest::marker_text`] holds: the marker file's text, or what the driver
    /// puts in its place for a project without one (Go: a GOPATH package's import path).
    pub marker_text: String,
}

/// One programming language, as testsmith sees it.
///
/// Only [`name`](Driver::name), [`extensions`](Driver::extensions) and
/// [`analyze`](Driver::analyze) are required; the rest have defaults that suit a language with
/// no special files or folders and no test generation. The methods come in four groups:
/// finding members, writing tests (`test_file_for` … `attach`), checking what a model
/// wrote (`llm_instructions`, `check_answer`), verifying written tests with the
/// language's toolchain (`project_marker` … `tidy_imports`), measuring which code the
/// tests execute (`coverage_plan` … `read_coverage`), and mutation testing (`mutants` …
/// `is_build_failure`).
pub trait Driver: Send + Sync + std::fmt::Debug {
    /// The short lowercase name used on the command line (`--lang go`) and in output.
    fn name(&self) -> &'static str;

    /// The file name endings this driver claims, without the dot (`["go"]`).
    fn extensions(&self) -> &'static [&'static str];

    /// Folder names that hold no code of the project's own when walking a tree (`vendor`,
    /// `target`, ...). A folder named explicitly by the user is analysed regardless.
    fn ignored_dirs(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether `path`, a file this driver claims, holds tests rather than code under test.
    /// Test files are not analysed for members.
    fn is_test_file(&self, path: &Path) -> bool {
        let _ = path;
        false
    }

    /// Extracts the public members of one source file. `path` is the file's path as the user
    /// named it (used to derive a module path, never opened); `source` is its whole text.
    ///
    /// Never fails: a file with syntax errors is analysed as far as the parser recovers and
    /// the errors are reported in [`FileMembers::errors`].
    fn analyze(&self, path: &Path, source: &str) -> FileMembers;

    /// How a member is named in text output: `(*Parser).Parse` in Go, `Parser::parse` in
    /// Rust. The default joins owner and name with `::`.
    fn display_name(&self, member: &Member) -> String {
        match &member.owner {
            Some(owner) => format!("{owner}::{}", member.name),
            None => member.name.clone(),
        }
    }

    /// [`display_name`](Driver::display_name) with the file the member was found in at hand,
    /// for names that read relative to the file (a Rust member of an inline `mod inner` in
    /// `crate::a` reads `inner::foo` under its file's `crate::a` header). Defaults to
    /// `display_name`.
    fn display_name_in(&self, file: &FileMembers, member: &Member) -> String {
        let _ = file;
        self.display_name(member)
    }

    /// Whether this driver claims `path`, judged by its extension alone.
    fn claims(&self, path: &Path) -> bool {
        path.extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| self.extensions().contains(&ext))
    }

    // ---- writing tests -------------------------------------------------------------------

    /// The test file that `source`'s generated tests go to (`foo.go` → `foo_test.go`), or
    /// `None` when this driver does not generate tests.
    fn test_file_for(&self, source: &Path) -> Option<PathBuf> {
        let _ = source;
        None
    }

    /// Test files that may take `source`'s generated tests, most preferred first. The pipeline
    /// writes to the first that does not exist yet or whose text
    /// [`can_hold_tests`](Driver::can_hold_tests); when appending to it would move a line
    /// ([`appending_moves_lines`](Driver::appending_moves_lines)), to the next such one.
    /// Defaults to `test_file_for` alone.
    fn test_file_candidates(&self, source: &Path) -> Vec<PathBuf> {
        self.test_file_for(source).into_iter().collect()
    }

    /// Why the existing test file `test_path`, holding `text`, cannot take the generated tests
    /// of `source` (a Go test file of the external `p_test` package cannot: the scaffolds
    /// call unexported names unqualified; nor can one built under other build constraints),
    /// or `Ok` when it can.
    fn can_hold_tests(
        &self,
        source: &SourceFile<'_>,
        test_path: &Path,
        text: &str,
    ) -> Result<(), String> {
        let _ = (source, test_path, text);
        Ok(())
    }

    /// Why appending the new tests of `changes` to `existing`, a test file someone wrote,
    /// would move one of its lines (Go: an import it lacks would join its import block), or
    /// `None` when they can simply be appended. A user's tests may assert their own line
    /// numbers, so such tests go to the next [candidate](Driver::test_file_candidates)
    /// instead. The default moves nothing.
    fn appending_moves_lines(&self, existing: &str, changes: &[TestChange]) -> Option<String> {
        let _ = (existing, changes);
        None
    }

    /// The byte ranges of `text`, the test file at `path`, whose lines a merge may move:
    /// testsmith's own unedited scaffolds and the bookkeeping a merge edits (Go: the import
    /// declarations). Every other non-blank line is someone's, and keeps its line number
    /// (a test may assert its own lines). The default: the unedited scaffolds.
    fn movable_ranges(&self, path: &Path, text: &str) -> Vec<std::ops::Range<usize>> {
        self.existing_tests(path, text)
            .into_iter()
            .filter(|test| test.scaffold.as_ref().is_some_and(|mark| mark.is_unedited))
            .map(|test| test.byte_range)
            .collect()
    }

    /// Every file whose tests count when deciding whether a member of `source` is tested:
    /// Go, every `_test.go` file of the package; Rust, the test file and `source` itself
    /// (inline `mod tests`). `tests_beside` lists the test files
    /// ([`is_test_file`](Driver::is_test_file)) in `source`'s folder.
    fn test_scope(&self, source: &Path, tests_beside: &[PathBuf]) -> Vec<PathBuf> {
        let _ = tests_beside;
        self.test_file_for(source).into_iter().collect()
    }

    /// The tests defined in `text`, the contents of a file from
    /// [`test_scope`](Driver::test_scope).
    fn existing_tests(&self, path: &Path, text: &str) -> Vec<ExistingTest> {
        let _ = (path, text);
        Vec::new()
    }

    /// Why no test of `member`, one of `file`'s, can be written (Rust: it exists only
    /// under `#[cfg(not(test))]`, so a test calling it would not compile); `None` (the
    /// default) when one can.
    fn cannot_test_member(&self, file: &FileMembers, member: &Member) -> Option<String> {
        let _ = (file, member);
        None
    }

    /// Why no test of `file`'s members can be written at all, where the language says so
    /// (Go: a standard-library package that `testing` itself imports, whose internal test
    /// would be an import cycle); `None` (the default) when they can.
    fn cannot_test(&self, file: &FileMembers) -> Option<String> {
        let _ = file;
        None
    }

    /// The conventional name of `member`'s test (`TestSet_Add`, `test_parser_parse`): a test
    /// of that name anywhere in the test scope means the member is tested.
    fn test_name(&self, file: &FileMembers, member: &Member) -> String {
        let _ = file;
        format!("test_{}", member.name)
    }

    /// A compiling test scaffold for `member`, marked with
    /// [`marker::marker_line`] so a later run can tell whether anyone edited it. `Err` says
    /// why this member cannot get one.
    fn scaffold(&self, source: &SourceFile<'_>, member: &Member) -> Result<TestCode, String> {
        let _ = (source, member);
        Err(format!("testsmith cannot write {} tests yet", self.name()))
    }

    /// [`scaffold`](Self::scaffold) for several members of one file, in order. A driver that
    /// can share work between a file's members (what it learns of their types) overrides it.
    fn scaffold_all(
        &self,
        source: &SourceFile<'_>,
        members: &[&Member],
    ) -> Vec<Result<TestCode, String>> {
        members
            .iter()
            .map(|member| self.scaffold(source, member))
            .collect()
    }

    /// The new text of the test file at `test_path` after `changes`: `existing` is its current
    /// text (`None` when the file does not exist yet). Every byte of `existing` outside the
    /// replaced ranges is kept; imports are merged; the result is formatted as the language's
    /// formatter would.
    fn assemble(
        &self,
        source: &SourceFile<'_>,
        test_path: &Path,
        existing: Option<&str>,
        changes: &[TestChange],
    ) -> Result<String, String> {
        let _ = (source, test_path, existing, changes);
        Err(format!("testsmith cannot write {} tests yet", self.name()))
    }

    /// The new text of `source_path` when the test file must be attached to it (Rust's
    /// `#[path]` module declaration), or `None` when no edit is needed: the language finds
    /// the test file itself, or it is attached already.
    fn attach(&self, source_path: &Path, source_text: &str, test_path: &Path) -> Option<String> {
        let _ = (source_path, source_text, test_path);
        None
    }

    // ---- checking what a model wrote -----------------------------------------------------

    /// What a model must be told to write tests the way this language's developers do:
    /// framework, naming, layout, what not to redeclare.
    fn llm_instructions(&self) -> &'static str {
        ""
    }

    /// The head of a test function named `{name}` in this language (`func {name}(t
    /// *testing.T)`), shown to a model beside each member so that it writes a test, not the
    /// member again: small models otherwise echo the code they were shown. Empty when the
    /// language has no single form.
    fn llm_test_head(&self) -> &'static str {
        ""
    }

    /// The test of `member`, named `test_name`, as a model is asked to complete it: its
    /// scaffold with the call written, the receiver built and the checks in place, and only
    /// the cases left to fill. `None` (the default) when the driver has none; the model is
    /// then shown [`llm_test_head`](Self::llm_test_head) only.
    ///
    /// Measured with a real 0.5B model (docs/benchmarks.md): shown an existing test of the
    /// package as an example, it copied that test's body into unrelated tests; shown its
    /// member's own skeleton, it fills it in.
    fn llm_skeleton(
        &self,
        source: &SourceFile<'_>,
        member: &Member,
        test_name: &str,
    ) -> Option<String> {
        let _ = (source, member, test_name);
        None
    }

    /// A member's declaration as a model is shown it for context: a type with its fields or
    /// variants, as it reads at the top level. The default is the member's source with its
    /// indentation taken off; a driver adds what the source range leaves out and a test
    /// writer needs (Rust's `#[derive]` attributes, Go's `type` keyword of a grouped spec).
    fn llm_declaration(&self, member: &Member, source: &str) -> Option<String> {
        syntax::declaration_text(source, member.byte_range.clone())
    }

    /// Checks and fixes one test a model wrote for `member`, expected to be named
    /// `test_name`: it must parse without errors and define test functions only; the driver
    /// may fix what it safely can (Go imports, the function's name). `Err` says what is wrong,
    /// in words a model can act on when asked again.
    fn check_answer(
        &self,
        source: &SourceFile<'_>,
        member: &Member,
        test_name: &str,
        code: &str,
    ) -> Result<TestCode, String> {
        let _ = (source, member, test_name, code);
        Err(format!("testsmith cannot check {} tests yet", self.name()))
    }

    /// Fixes what [`check_answer`](Driver::check_answer) would refuse or the compiler reject
    /// in an answer, where what was meant is plain (small models redeclare the member beside
    /// the test, send a bare fragment of statements, return a value from a test): the fixed
    /// answer, to be checked, or `None` when there is nothing to fix this way (the answer is
    /// then checked as it is, and re-asked if refused). Deterministic.
    fn salvage_answer(
        &self,
        source: &SourceFile<'_>,
        member: &Member,
        test_name: &str,
        code: &str,
    ) -> Option<String> {
        let _ = (source, member, test_name, code);
        None
    }

    /// Whether a checked test asserts something (a test that asserts nothing proves nothing
    /// and is not kept). The default trusts every test.
    fn test_asserts(&self, test: &TestCode) -> bool {
        let _ = test;
        true
    }

    // ---- verifying written tests with the toolchain -------------------------------------

    /// The file that marks the folder the language's toolchain builds from (`go.mod`,
    /// `Cargo.toml`): a test file is verified from the nearest folder above it that holds
    /// one. `None` (the default) when this driver cannot verify tests.
    fn project_marker(&self) -> Option<&'static str> {
        None
    }

    /// Where the toolchain builds the package in `folder` (absolute, canonical) from: the
    /// project's root and its marker's text. The default: the nearest folder at or above
    /// `folder` that holds [`project_marker`](Self::project_marker). `Err` says, in words for
    /// the user, why `folder` is in no project the toolchain can build.
    fn locate_project(&self, folder: &Path) -> Result<ProjectLocation, String> {
        let marker = self
            .project_marker()
            .ok_or_else(|| format!("testsmith cannot build {} projects", self.name()))?;
        let root = folder
            .ancestors()
            .find(|dir| dir.join(marker).is_file())
            .ok_or_else(|| format!("no {marker} above {}", folder.display()))?;
        let marker_path = root.join(marker);
        let marker_text = std::fs::read_to_string(&marker_path)
            .map_err(|error| format!("{}: {error}", marker_path.display()))?;
        Ok(ProjectLocation {
            root: root.to_owned(),
            marker_text,
        })
    }

    /// The command that downloads the project's dependencies (`go mod download`, `cargo
    /// fetch`), run before the commands that build generated code: those run confined and
    /// offline, this one with the network but never executing generated code. `None` (the
    /// default) when there is nothing to fetch.
    fn fetch_command(&self, request: &VerifyRequest) -> Option<VerifyCommand> {
        let _ = request;
        None
    }

    /// The commands that check `request`'s tests, in the order to run them: builds, then
    /// lints, then runs (see [`VerifyStep`]). The application runs them in
    /// [`VerifyRequest::root`] and stops after a step that found a broken test.
    fn verify_commands(&self, request: &VerifyRequest) -> Vec<VerifyCommand> {
        let _ = request;
        Vec::new()
    }

    /// Why the test file holding `text` is left out of the build `request` asks for, so that
    /// its tests would run nothing (Go: `//go:build integration` without `--tags
    /// integration` → "needs -tags integration"), or `None` when it is built.
    fn left_out_of_build(&self, request: &VerifyRequest, text: &str) -> Option<String> {
        let _ = (request, text);
        None
    }

    /// Why the test `test_name` of the test file holding `text` is left out of the build
    /// `request` asks for while its file is in it (Rust: `#[cfg(feature = "serde")]` without
    /// `--features serde` → "needs --features serde"), or `None` when it is built.
    fn test_left_out_of_build(
        &self,
        request: &VerifyRequest,
        text: &str,
        test_name: &str,
    ) -> Option<String> {
        let _ = (request, text, test_name);
        None
    }

    /// Reads a build or lint command's output into diagnostics, each pointing at a file
    /// and line; the application maps them to tests through
    /// [`existing_tests`](Driver::existing_tests). Warnings are left out.
    fn read_diagnostics(
        &self,
        request: &VerifyRequest,
        command: &VerifyCommand,
        output: &CommandOutput,
    ) -> Vec<Diagnostic> {
        let _ = (request, command, output);
        Vec::new()
    }

    /// Reads a run command's output: how each test of `request` that ran ended.
    fn read_test_results(
        &self,
        request: &VerifyRequest,
        command: &VerifyCommand,
        output: &CommandOutput,
    ) -> Vec<TestResult> {
        let _ = (request, command, output);
        Vec::new()
    }

    /// The command that runs every test of the units holding `request`'s test files (Go:
    /// `go test -json` over their packages): the user's suite, which testsmith's edit must
    /// leave as it found it. `None` (the default) when the driver cannot run it; the suite is
    /// then not compared.
    fn suite_command(&self, request: &VerifyRequest) -> Option<VerifyCommand> {
        let _ = request;
        None
    }

    /// Every test a [`suite_command`](Driver::suite_command) ran and how it ended.
    fn read_suite_results(
        &self,
        request: &VerifyRequest,
        output: &CommandOutput,
    ) -> Vec<verify::SuiteResult> {
        let _ = (request, output);
        Vec::new()
    }

    /// The unit of the suite `file` (relative to the project root) belongs to: what its tests
    /// share state with, and what an edit that broke a test is undone for (Go: the package,
    /// its folder — the default).
    fn suite_unit(&self, file: &Path) -> PathBuf {
        verify::folder_of(file).to_owned()
    }

    /// `text`, the test file at `path`, with the test `test_name` kept but skipped from now on
    /// with the message `testsmith: failed: <reason>` (Go: `t.Skip` as its first statement;
    /// Rust: `#[ignore = "..."]`). Every other byte stays as it is.
    fn quarantine_test(
        &self,
        path: &Path,
        text: &str,
        test_name: &str,
        reason: &str,
    ) -> Result<String, String> {
        let _ = (path, text, test_name, reason);
        Err(format!(
            "testsmith cannot quarantine {} tests yet",
            self.name()
        ))
    }

    /// `text`, the test file at `path`, without the test `test_name` (its whole
    /// [`ExistingTest::byte_range`] and one separating blank line). Every other byte stays,
    /// except imports that only the removed test used ([`tidy_imports`](Driver::tidy_imports)).
    fn remove_test(&self, path: &Path, text: &str, test_name: &str) -> Result<String, String> {
        let test = self
            .existing_tests(path, text)
            .into_iter()
            .find(|test| test.name == test_name)
            .ok_or_else(|| format!("{} has no test named {test_name}", path.display()))?;
        let removed = verify::cut_test(text, &test.byte_range);
        Ok(self.tidy_imports(path, text, &removed))
    }

    /// `after`, an edit of the test file `before` at `path` (a test removed or replaced),
    /// without the imports the edit left unused. Imports unused before the edit stay: only
    /// what the edit made unused goes. The default changes nothing.
    fn tidy_imports(&self, path: &Path, before: &str, after: &str) -> String {
        let _ = (path, before);
        after.to_owned()
    }

    // ---- mutation testing -----------------------------------------------------------------

    /// The mutants of one source file: every change of the
    /// [`MutationOperator`] set to the bodies of its functions and methods, in source order.
    /// Empty for a file with syntax errors (a mutant of a broken file tells nothing) and for
    /// a driver that cannot mutate.
    fn mutants(&self, path: &Path, source: &str) -> Vec<Mutant> {
        let _ = (path, source);
        Vec::new()
    }

    /// How the toolchain is shown a mutated file without touching the user's tree.
    fn mutation_sandbox(&self) -> MutationSandbox {
        MutationSandbox::ScratchCopy
    }

    /// The overlay file's text that makes the toolchain read `replacement` in place of
    /// `original` (both absolute), for [`MutationSandbox::Overlay`].
    fn overlay_file(&self, original: &Path, replacement: &Path) -> String {
        let _ = (original, replacement);
        String::new()
    }

    /// The commands that build and test `run`'s package: [`VerifyStep::Build`] steps first
    /// (a failure there makes the mutant unviable), then [`VerifyStep::Run`] steps (a failure
    /// there means the tests caught it).
    fn mutant_commands(&self, run: &MutantRun) -> Vec<VerifyCommand> {
        let _ = run;
        Vec::new()
    }

    /// How [`MutantRun::tests`] names the test `name` of `test_file`, which tests
    /// `source_file` (both relative to the project root): what the toolchain matches when
    /// one new test runs alone against a mutant, and the name a
    /// [`SuiteResult`](verify::SuiteResult) gives it. The default is the name itself (Go's
    /// `-run '^(Name)$'`).
    fn mutant_test_id(&self, source_file: &Path, test_file: &Path, name: &str) -> String {
        let _ = (source_file, test_file);
        name.to_owned()
    }

    /// Whether a failed command of [`mutant_commands`](Driver::mutant_commands) failed
    /// because the code did not build rather than because a test failed (`go test` builds
    /// and runs in one command).
    fn is_build_failure(&self, command: &VerifyCommand, output: &CommandOutput) -> bool {
        let _ = output;
        command.step == VerifyStep::Build
    }

    // ---- coverage -------------------------------------------------------------------------

    /// How to measure what `target`'s tests execute, or `None` (the default) when this
    /// driver cannot measure coverage.
    fn coverage_plan(&self, target: &CoverageTarget) -> Option<CoveragePlan> {
        let _ = target;
        None
    }

    /// The command that runs only the test `test_name` of `target`'s package with the binary
    /// [`coverage_plan`](Driver::coverage_plan) built, writing its profile to `profile`: which
    /// code one test executes.
    fn coverage_test_run(
        &self,
        target: &CoverageTarget,
        test_name: &str,
        profile: &Path,
    ) -> Option<VerifyCommand> {
        let _ = (target, test_name, profile);
        None
    }

    /// Reads a profile a coverage run wrote into its blocks, files relative to the target's
    /// root where they lie in the project. Blocks may come in any order and more than once.
    fn read_coverage(
        &self,
        target: &CoverageTarget,
        profile: &str,
    ) -> Result<Vec<CoverBlock>, String> {
        let _ = (target, profile);
        Err(format!(
            "testsmith cannot read {} coverage yet",
            self.name()
        ))
    }

    /// The instrumented objects a [`ProfileFormat::Llvm`] plan's build made, whose coverage
    /// maps say which code each counter counts, read from the build commands' output (in
    /// the plan's order). Absolute paths.
    fn coverage_objects(&self, build_outputs: &[CommandOutput]) -> Vec<PathBuf> {
        let _ = build_outputs;
        Vec::new()
    }

    /// Whether coverage is measured per project (its [`project_marker`](Driver::project_marker)'s
    /// folder: a Cargo package builds and tests all its files together) rather than per
    /// folder (a Go package).
    fn coverage_per_project(&self) -> bool {
        false
    }

    /// What one [`CoverBlock`] counts, for people: `statements` (Go), `regions` (LLVM).
    fn coverage_unit(&self) -> &'static str {
        "statements"
    }

    /// The name [`coverage_test_run`](Driver::coverage_test_run) runs the test `name` of
    /// `test_file` (testing `source_file`; both relative to the project root) by, or `None`
    /// when it cannot be run alone. Defaults to `name`.
    fn coverage_test_name(
        &self,
        source_file: &Path,
        test_file: &Path,
        name: &str,
    ) -> Option<String> {
        let _ = (source_file, test_file);
        Some(name.to_owned())
    }

    /// Whether `member`'s documentation holds an example the toolchain runs as a test
    /// (Rust's doctests), which coverage cannot measure: a member no measured test executes
    /// is then reported as exercised by its doc example rather than untested.
    fn runs_doc_example(&self, member: &Member) -> bool {
        let _ = member;
        false
    }
}
