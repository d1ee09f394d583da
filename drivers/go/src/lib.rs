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

mod answer;
mod assemble;
mod callable;
mod doc;
mod extract;
mod generics;
mod imports;
mod names;
mod package_context;
mod scaffold;
mod source;
mod stdlib;
mod tests_file;
mod types;
mod verify;

pub use callable::VARIADIC;
pub use names::is_exported;

use std::path::Path;
use std::sync::LazyLock;
use testsmith_driver::{Driver, FileMembers, Member, syntax};
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
        let Some(tree) = syntax::parse(&GO, source) else {
            return file;
        };
        file.errors = syntax::syntax_issues(&tree, source);
        let found = extract::declarations(tree.root_node(), source);
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

    fn test_scope(
        &self,
        source: &Path,
        siblings: &[std::path::PathBuf],
    ) -> Vec<std::path::PathBuf> {
        tests_file::test_scope(source, siblings)
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

    fn check_answer(
        &self,
        source: &testsmith_driver::SourceFile<'_>,
        member: &Member,
        test_name: &str,
        code: &str,
    ) -> Result<testsmith_driver::TestCode, String> {
        answer::check_answer(source, member, test_name, code)
    }

    // ---- verifying written tests (verify.rs) ---------------------------------------------

    fn project_marker(&self) -> Option<&'static str> {
        Some("go.mod")
    }

    fn verify_commands(
        &self,
        request: &testsmith_driver::VerifyRequest,
    ) -> Vec<testsmith_driver::VerifyCommand> {
        verify::commands(request)
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
