//! The Go driver: which Go declarations are public members, as the Go spec defines exported.
//!
//! The member rules, from issue 2:
//! - a function is a top-level `func` whose name is exported;
//! - a method is an exported method whose receiver base type is exported, `owner` being that
//!   base type without `*`, parentheses or type parameters (`func (s *Set[T]) Add` → `Set`);
//! - types are exported `type` specs, single or grouped: `struct` and `interface` get their
//!   own kinds, everything else (defined types, aliases, generic types) is `type`.
//!
//! Every `.go` file is analysed the same way: build constraints and cgo's `import "C"` change
//! which files a build uses, not what a file declares.
//!
//! How a file is parsed, quickest first:
//! 1. a lexical pass ([`skeleton`]) finds the top-level function bodies and composite
//!    literals, and tree-sitter parses everything else — the declarations, their doc
//!    comments and every type. A syntax error inside a skipped body is not seen: only
//!    unclosed brackets, strings and comments are, by the lexical pass.
//! 2. when that pass finds something unclosed, or the parse finds an error, each top-level
//!    declaration is parsed on its own, in full: a broken one cannot swallow the rest (an
//!    unclosed `{` makes tree-sitter's whole-file recovery lose everything after it), and
//!    every syntax error is reported where it is.

mod answer;
mod assemble;
mod callable;
mod constraint;
mod coverage;
mod doc;
mod external;
mod extract;
mod fields;
mod generics;
mod gopath;
mod imports;
mod mutate;
mod names;
mod outline;
mod package_context;
mod parse;
mod prompt;
mod refusals;
mod salvage;
mod scaffold;
mod skeleton;
mod source;
mod stdlib;
mod tests_file;
mod types;
mod verify;

pub use callable::VARIADIC;
pub use names::is_exported;

use std::path::Path;
use std::sync::LazyLock;
use testsmith_driver::{
    CommandOutput, Driver, FileMembers, Member, MutantRun, MutationSandbox, VerifyCommand,
    VerifyStep, syntax,
};
use tree_sitter::Language;

static GO: LazyLock<Language> = LazyLock::new(|| tree_sitter_go::LANGUAGE.into());

/// Go: `.go` files; `_test.go` files are tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct GoDriver;

impl Driver for GoDriver {
    fn name(&self) -> &'static str {
        "go"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["go"]
    }

    fn ignored_dirs(&self) -> &'static [&'static str] {
        &["vendor", "testdata"]
    }

    fn is_test_file(&self, path: &Path) -> bool {
        path.file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.ends_with("_test.go"))
    }

    fn analyze(&self, path: &Path, source: &str) -> FileMembers {
        let mut file = FileMembers::new(path, self.name());
        let skeleton = skeleton::scan(source);
        let found = match quick_parse(source, &skeleton) {
            Some(found) => found,
            None => {
                let mut found = extract::Declarations::default();
                for piece in skeleton.pieces() {
                    let Some(tree) = parse::parse_ranges(source, &[piece]) else {
                        continue;
                    };
                    file.errors.extend(syntax::syntax_issues(&tree, source));
                    extract::collect(tree.root_node(), source, &mut found);
                }
                file.errors.truncate(syntax::MAX_REPORTED_ISSUES);
                found
            }
        };
        file.package = found.package;
        file.members = found.members;
        file
    }

    /// `(*Parser).Parse` for a pointer receiver, `Parser.Parse` for a value receiver, the
    /// plain name for functions and types.
    fn display_name(&self, member: &Member) -> String {
        names::display_name(member)
    }

    // ---- writing tests (tests_file.rs, scaffold.rs, assemble.rs) -------------------------

    fn test_file_for(&self, source: &Path) -> Option<std::path::PathBuf> {
        tests_file::test_file_for(source)
    }

    fn test_file_candidates(&self, source: &Path) -> Vec<std::path::PathBuf> {
        tests_file::test_file_candidates(source)
    }

    fn can_hold_tests(
        &self,
        source: &testsmith_driver::SourceFile<'_>,
        _test_path: &Path,
        text: &str,
    ) -> Result<(), String> {
        tests_file::can_hold_tests(source, text)
    }

    fn appending_moves_lines(
        &self,
        existing: &str,
        changes: &[testsmith_driver::TestChange],
    ) -> Option<String> {
        assemble::appending_moves_lines(existing, changes)
    }

    /// Unedited scaffolds, and the import declarations a merge adds to.
    fn movable_ranges(&self, _path: &Path, text: &str) -> Vec<std::ops::Range<usize>> {
        let mut ranges: Vec<_> = tests_file::existing_tests(text)
            .into_iter()
            .filter(|test| test.scaffold.as_ref().is_some_and(|mark| mark.is_unedited))
            .map(|test| test.byte_range)
            .collect();
        ranges.extend(imports::declaration_ranges(text));
        ranges
    }

    fn test_scope(
        &self,
        source: &Path,
        tests_beside: &[std::path::PathBuf],
    ) -> Vec<std::path::PathBuf> {
        tests_file::test_scope(source, tests_beside)
    }

    fn existing_tests(&self, _path: &Path, text: &str) -> Vec<testsmith_driver::ExistingTest> {
        tests_file::existing_tests(text)
    }

    fn test_name(&self, _file: &FileMembers, member: &Member) -> String {
        tests_file::test_name(member)
    }

    fn scaffold(
        &self,
        source: &testsmith_driver::SourceFile<'_>,
        member: &Member,
    ) -> Result<testsmith_driver::TestCode, String> {
        scaffold::scaffold(source, member)
    }

    fn scaffold_all(
        &self,
        source: &testsmith_driver::SourceFile<'_>,
        members: &[&Member],
    ) -> Vec<Result<testsmith_driver::TestCode, String>> {
        scaffold::scaffold_all(source, members)
    }

    fn assemble(
        &self,
        source: &testsmith_driver::SourceFile<'_>,
        test_path: &Path,
        existing: Option<&str>,
        changes: &[testsmith_driver::TestChange],
    ) -> Result<String, String> {
        assemble::assemble(source, test_path, existing, changes)
    }

    // ---- checking what a model wrote (answer.rs) -----------------------------------------

    fn llm_instructions(&self) -> &'static str {
        answer::INSTRUCTIONS
    }

    fn llm_test_head(&self) -> &'static str {
        "func {name}(t *testing.T)"
    }

    fn llm_skeleton(
        &self,
        source: &testsmith_driver::SourceFile<'_>,
        member: &Member,
        test_name: &str,
    ) -> Option<String> {
        prompt::skeleton(source, member, test_name)
    }

    fn llm_declaration(&self, member: &Member, source: &str) -> Option<String> {
        let text = testsmith_driver::syntax::declaration_text(source, member.byte_range.clone())?;
        // A spec of a grouped `type ( ... )` is a member without the keyword.
        let is_bare_spec = !member.kind.is_callable() && !text.starts_with("type");
        Some(if is_bare_spec {
            format!("type {text}")
        } else {
            text
        })
    }

    fn check_answer(
        &self,
        source: &testsmith_driver::SourceFile<'_>,
        member: &Member,
        test_name: &str,
        code: &str,
    ) -> Result<testsmith_driver::TestCode, String> {
        answer::check_answer(source, member, test_name, code)
    }

    fn salvage_answer(
        &self,
        source: &testsmith_driver::SourceFile<'_>,
        member: &Member,
        test_name: &str,
        code: &str,
    ) -> Option<String> {
        let _ = member;
        salvage::salvage(source, test_name, code)
    }

    fn test_asserts(&self, test: &testsmith_driver::TestCode) -> bool {
        salvage::asserts_something(&test.code)
    }

    // ---- verifying written tests (verify.rs) ---------------------------------------------

    fn project_marker(&self) -> Option<&'static str> {
        Some("go.mod")
    }

    fn locate_project(&self, folder: &Path) -> Result<testsmith_driver::ProjectLocation, String> {
        gopath::locate(folder)
    }

    fn fetch_command(
        &self,
        request: &testsmith_driver::VerifyRequest,
    ) -> Option<testsmith_driver::VerifyCommand> {
        if !gopath::env(&request.root).is_empty() {
            // A GOPATH package has no module to download.
            return None;
        }
        Some(testsmith_driver::VerifyCommand {
            step: testsmith_driver::VerifyStep::Build,
            program: "go".to_owned(),
            args: vec!["mod".to_owned(), "download".to_owned()],
            dir: request.root.clone(),
            env: Vec::new(),
        })
    }

    fn verify_commands(
        &self,
        request: &testsmith_driver::VerifyRequest,
    ) -> Vec<testsmith_driver::VerifyCommand> {
        verify::commands(request)
    }

    fn left_out_of_build(
        &self,
        request: &testsmith_driver::VerifyRequest,
        text: &str,
    ) -> Option<String> {
        let expression = tests_file::constraint_expression(text)?;
        constraint::why_excluded(&expression, &request.build.tags)
    }

    fn read_diagnostics(
        &self,
        _request: &testsmith_driver::VerifyRequest,
        _command: &testsmith_driver::VerifyCommand,
        output: &testsmith_driver::CommandOutput,
    ) -> Vec<testsmith_driver::Diagnostic> {
        verify::diagnostics(output)
    }

    fn read_test_results(
        &self,
        request: &testsmith_driver::VerifyRequest,
        _command: &testsmith_driver::VerifyCommand,
        output: &testsmith_driver::CommandOutput,
    ) -> Vec<testsmith_driver::TestResult> {
        verify::test_results(request, output)
    }

    fn suite_command(
        &self,
        request: &testsmith_driver::VerifyRequest,
    ) -> Option<testsmith_driver::VerifyCommand> {
        verify::suite_command(request)
    }

    fn read_suite_results(
        &self,
        request: &testsmith_driver::VerifyRequest,
        output: &testsmith_driver::CommandOutput,
    ) -> Vec<testsmith_driver::SuiteResult> {
        verify::suite_results(request, output)
    }

    fn quarantine_test(
        &self,
        _path: &Path,
        text: &str,
        test_name: &str,
        reason: &str,
    ) -> Result<String, String> {
        verify::quarantine(text, test_name, reason)
    }

    fn tidy_imports(&self, _path: &Path, before: &str, after: &str) -> String {
        verify::tidy_imports(before, after)
    }

    // ---- mutation testing (mutate.rs) ------------------------------------------------------

    fn mutants(&self, _path: &Path, source: &str) -> Vec<testsmith_driver::Mutant> {
        mutate::mutants(source)
    }

    /// `go test -overlay` reads the mutated file in place of the original: the module is
    /// built where it is, with the build cache warm.
    fn mutation_sandbox(&self) -> MutationSandbox {
        MutationSandbox::Overlay
    }

    fn overlay_file(&self, original: &Path, replacement: &Path) -> String {
        let mut replace = serde_json::Map::new();
        replace.insert(
            original.to_string_lossy().into_owned(),
            serde_json::Value::String(replacement.to_string_lossy().into_owned()),
        );
        serde_json::json!({ "Replace": replace }).to_string()
    }

    /// One `go test` of the mutated file's package: it builds and runs, so a build failure
    /// is read from its output ([`is_build_failure`](Driver::is_build_failure)). `-failfast`
    /// because one failing test is enough; `-vet=off` because vet's opinion of a mutant
    /// (unreachable code) is not a test catching it.
    fn mutant_commands(&self, run: &MutantRun) -> Vec<VerifyCommand> {
        let package = Path::new(".").join(&run.package_dir);
        let mut args = vec![
            "test".to_owned(),
            "-count=1".to_owned(),
            "-failfast".to_owned(),
            "-vet=off".to_owned(),
        ];
        if !run.build.tags.is_empty() {
            args.push(format!("-tags={}", run.build.tags.join(",")));
        }
        if let Some(overlay) = &run.overlay {
            args.push(format!("-overlay={}", overlay.display()));
        }
        if let Some(tests) = &run.tests {
            args.push("-run".to_owned());
            args.push(format!("^({})$", tests.join("|")));
        }
        args.push(package.to_string_lossy().into_owned());
        vec![VerifyCommand {
            step: VerifyStep::Run,
            program: "go".to_owned(),
            args,
            dir: run.root.clone(),
            env: gopath::env(&run.root),
        }]
    }

    fn is_build_failure(&self, _command: &VerifyCommand, output: &CommandOutput) -> bool {
        let said = |marker: &str| output.stdout.contains(marker) || output.stderr.contains(marker);
        said("[build failed]") || said("[setup failed]")
    }

    // ---- measuring coverage (coverage.rs) ------------------------------------------------

    fn coverage_plan(
        &self,
        target: &testsmith_driver::CoverageTarget,
    ) -> Option<testsmith_driver::CoveragePlan> {
        coverage::plan(target)
    }

    fn coverage_test_run(
        &self,
        target: &testsmith_driver::CoverageTarget,
        test_name: &str,
        profile: &Path,
    ) -> Option<testsmith_driver::VerifyCommand> {
        Some(coverage::test_run(target, test_name, profile))
    }

    fn read_coverage(
        &self,
        target: &testsmith_driver::CoverageTarget,
        profile: &str,
    ) -> Result<Vec<testsmith_driver::CoverBlock>, String> {
        coverage::read_profile(target, profile)
    }
}

/// The declarations of a file parsed without its bodies, or `None` when the file is not
/// sound enough for that: something unclosed, or a syntax error outside the bodies.
fn quick_parse(source: &str, skeleton: &skeleton::Skeleton) -> Option<extract::Declarations> {
    if !skeleton.is_balanced {
        return None;
    }
    let mut found = extract::Declarations::default();
    for segment in skeleton.quick_parse_segments() {
        let tree = parse::parse_ranges(source, &segment)?;
        if tree.root_node().has_error() {
            return None;
        }
        extract::collect(tree.root_node(), source, &mut found);
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutant_builds_with_the_tags_chosen_through_its_overlay() {
        use std::path::PathBuf;
        let run = MutantRun {
            root: PathBuf::from("/m"),
            package_dir: PathBuf::from("calc"),
            overlay: Some(PathBuf::from("/m/.testsmith/mutants/overlay.json")),
            target_dir: None,
            tests: Some(vec!["TestA".into(), "TestB".into()]),
            build: testsmith_driver::BuildSelection {
                tags: vec!["extra".into(), "slow".into()],
                ..Default::default()
            },
        };
        let commands = GoDriver.mutant_commands(&run);
        assert_eq!(
            commands[0].args.join(" "),
            "test -count=1 -failfast -vet=off -tags=extra,slow \
             -overlay=/m/.testsmith/mutants/overlay.json -run ^(TestA|TestB)$ ./calc"
        );
    }

    #[test]
    fn test_files_are_recognised_by_their_suffix() {
        assert!(GoDriver.is_test_file(Path::new("a/parse_test.go")));
        assert!(!GoDriver.is_test_file(Path::new("a/parse.go")));
        assert!(!GoDriver.is_test_file(Path::new("a/test.go")));
    }

    #[test]
    fn the_package_clause_names_the_package() {
        let file = GoDriver.analyze(Path::new("a.go"), "// Package sets.\npackage sets\n");
        assert_eq!(file.package.as_deref(), Some("sets"));
        assert_eq!(file.language, "go");
        assert!(file.members.is_empty());
    }
}
