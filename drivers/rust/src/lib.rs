//! The Rust driver: which Rust items are public members of their crate's API surface.
//!
//! The member rules, in short (the details live with the code that applies them):
//! - a function is a plain `pub fn` (with any of `const`, `async`, `unsafe`, `extern "ABI"`)
//!   at file level or in inline `mod` blocks at any depth; a method is a plain `pub fn` in an
//!   `impl` without a trait, owned by the last path segment of the self type;
//! - `pub struct`, `pub enum`, `pub trait` are reported with their own kinds, `pub type`
//!   aliases and `pub union`s as `type`;
//! - not members: `pub(crate)` and the other restricted visibilities, functions of trait
//!   impls, items in function bodies, in macro invocations or `macro_rules!`, in `extern`
//!   blocks, and everything under `#[cfg(test)]` ([`extract`] says why for each);
//! - the file's module path and whether it is a test file are read off its path alone
//!   ([`paths`]).
//!
//! Tests go to a sibling `b_tests.rs` attached to `b.rs` by a `#[path]` module declaration
//! ([`naming`], [`assemble`]); offline they are ignored scaffolds ([`scaffold`]), with
//! `--llm` a model's answers, checked and tidied first ([`answer`]).

mod answer;
mod assemble;
mod attributes;
mod coverage;
mod existing;
mod extract;
mod lexer;
mod mutate;
mod naming;
mod parse;
mod paths;
mod prompt;
mod refusals;
mod salvage;
mod scaffold;
mod signature;
mod skeleton;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use testsmith_driver::{
    Driver, ExistingTest, FileMembers, Member, MemberKind, SourceFile, TestChange, TestCode,
};
use tree_sitter::Language;

static RUST: LazyLock<Language> = LazyLock::new(|| tree_sitter_rust::LANGUAGE.into());

/// Rust: `.rs` files; testsmith's own `_tests.rs` siblings and the files in a crate's
/// `tests/` and `benches/` folders are tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct RustDriver;

impl Driver for RustDriver {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["rs"]
    }

    fn ignored_dirs(&self) -> &'static [&'static str] {
        &["target"]
    }

    fn is_test_file(&self, path: &Path) -> bool {
        paths::is_test_file(path)
    }

    fn analyze(&self, path: &Path, source: &str) -> FileMembers {
        let mut file = FileMembers::new(path, self.name());
        let module = paths::module_path(path);
        if let Some(parsed) = parse::parse(source) {
            file.errors = parsed.errors;
            // tree-sitter's grammar rejects some Rust that rustc accepts (`struct S where
            // E: Send;`, `where (): Trait` bounds): an error it reports is only said when
            // syn, the parser proc macros trust, rejects the file too.
            if !file.errors.is_empty() && syn::parse_file(source).is_ok() {
                file.errors.clear();
            }
            file.members = extract::public_members(parsed.tree.root_node(), source, &module);
        }
        file.module = Some(module);
        file
    }

    /// `Parser::parse` for a method; a member of an inline module is prefixed with its path
    /// below the crate (`a::inner::foo`), since the file's own module is not known here.
    fn display_name(&self, member: &Member) -> String {
        let below_crate = member
            .module
            .as_deref()
            .map(|module| module.strip_prefix("crate").unwrap_or(module))
            .map(|module| module.strip_prefix("::").unwrap_or(module));
        qualified_name(below_crate, member)
    }

    /// [`display_name`](Driver::display_name) relative to the file's module: `inner::foo` for
    /// `foo` in `mod inner { .. }` of a file whose module is `crate::a`.
    fn display_name_in(&self, file: &FileMembers, member: &Member) -> String {
        let below_file = match (member.module.as_deref(), file.module.as_deref()) {
            (Some(module), Some(file_module)) => module
                .strip_prefix(file_module)
                .and_then(|rest| rest.strip_prefix("::")),
            _ => None,
        };
        match below_file {
            Some(below_file) => qualified_name(Some(below_file), member),
            None => self.display_name(member),
        }
    }

    // ---- writing tests --------------------------------------------------------------------

    /// `src/a/b.rs` → `src/a/b_tests.rs` (see [`naming`] for binaries and examples).
    fn test_file_for(&self, source: &Path) -> Option<PathBuf> {
        naming::test_file_for(source)
    }

    /// The test file and the source itself, whose inline `mod tests` counts too.
    fn test_scope(&self, source: &Path, tests_beside: &[PathBuf]) -> Vec<PathBuf> {
        let _ = tests_beside;
        self.test_file_for(source)
            .into_iter()
            .chain(std::iter::once(source.to_owned()))
            .collect()
    }

    fn existing_tests(&self, path: &Path, text: &str) -> Vec<ExistingTest> {
        let _ = path;
        existing::existing_tests(text)
    }

    /// `test_largest`, `test_point_new`, `test_wrap_wrap` for `wrap::wrap`.
    fn cannot_test_member(&self, _file: &FileMembers, member: &Member) -> Option<String> {
        attributes::only_built_outside_tests(member)
    }

    fn test_name(&self, file: &FileMembers, member: &Member) -> String {
        naming::test_name(file, member)
    }

    fn scaffold(&self, source: &SourceFile<'_>, member: &Member) -> Result<TestCode, String> {
        scaffold::scaffold(source, member)
    }

    fn assemble(
        &self,
        source: &SourceFile<'_>,
        test_path: &Path,
        existing: Option<&str>,
        changes: &[TestChange],
    ) -> Result<String, String> {
        let _ = test_path;
        assemble::assemble(source, existing, changes)
    }

    fn attach(&self, source_path: &Path, source_text: &str, test_path: &Path) -> Option<String> {
        assemble::attach(source_path, source_text, test_path)
    }

    // ---- checking what a model wrote -----------------------------------------------------

    fn llm_instructions(&self) -> &'static str {
        answer::LLM_INSTRUCTIONS
    }

    fn llm_test_head(&self) -> &'static str {
        "#[test]\nfn {name}()"
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
        // The attributes just above belong to the item: `#[derive(PartialEq, Debug)]` is what
        // says whether a test may `assert_eq!` two values of a type.
        let mut start = member.byte_range.start.min(source.len());
        while let Some(line_start) = source[..start]
            .trim_end_matches([' ', '\t'])
            .strip_suffix('\n')
            .map(|before| before.rfind('\n').map_or(0, |at| at + 1))
        {
            if !source[line_start..start].trim_start().starts_with("#[") {
                break;
            }
            start = line_start;
        }
        testsmith_driver::syntax::declaration_text(source, start..member.byte_range.end)
    }

    fn check_answer(
        &self,
        source: &SourceFile<'_>,
        member: &Member,
        test_name: &str,
        code: &str,
    ) -> Result<TestCode, String> {
        let _ = source;
        answer::check_answer(member, test_name, code)
    }

    fn salvage_answer(
        &self,
        source: &SourceFile<'_>,
        member: &Member,
        test_name: &str,
        code: &str,
    ) -> Option<String> {
        let _ = source;
        salvage::salvage(member, test_name, code)
    }

    fn test_asserts(&self, test: &testsmith_driver::TestCode) -> bool {
        salvage::asserts_something(&test.code)
    }

    // ---- verifying written tests (verify.rs) ---------------------------------------------

    fn project_marker(&self) -> Option<&'static str> {
        Some("Cargo.toml")
    }

    fn fetch_command(
        &self,
        request: &testsmith_driver::VerifyRequest,
    ) -> Option<testsmith_driver::VerifyCommand> {
        Some(testsmith_driver::VerifyCommand {
            step: testsmith_driver::VerifyStep::Build,
            program: "cargo".to_owned(),
            args: vec!["fetch".to_owned()],
            dir: request.root.clone(),
            env: vec![("CARGO_TERM_COLOR".to_owned(), "never".to_owned())],
        })
    }

    fn verify_commands(
        &self,
        request: &testsmith_driver::VerifyRequest,
    ) -> Vec<testsmith_driver::VerifyCommand> {
        verify::commands(request)
    }

    fn test_left_out_of_build(
        &self,
        request: &testsmith_driver::VerifyRequest,
        text: &str,
        test_name: &str,
    ) -> Option<String> {
        let test = existing::existing_tests(text)
            .into_iter()
            .find(|test| test.name == test_name)?;
        verify::missing_feature(request, &text[test.byte_range])
            .map(|feature| format!("needs --features {feature}"))
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
        _request: &testsmith_driver::VerifyRequest,
        output: &testsmith_driver::CommandOutput,
    ) -> Vec<testsmith_driver::SuiteResult> {
        verify::suite_results(output)
    }

    /// The package: its tests share the crate's statics, its environment and its files,
    /// and a test module attached to one file is compiled into every target holding it.
    fn suite_unit(&self, _file: &Path) -> PathBuf {
        PathBuf::new()
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

    // ---- mutation testing (mutate.rs) ------------------------------------------------------

    fn mutants(&self, path: &Path, source: &str) -> Vec<testsmith_driver::Mutant> {
        if self.is_test_file(path) || paths::is_example_file(path) {
            return Vec::new();
        }
        mutate::mutants(source)
    }

    /// A scratch copy of the package, built into a target folder of testsmith's own.
    fn mutation_sandbox(&self) -> testsmith_driver::MutationSandbox {
        testsmith_driver::MutationSandbox::ScratchCopy
    }

    /// `cargo test --no-run` (a failure means the mutant does not build: unviable), then
    /// `cargo test`, which stops at the first failing test binary. Doctests are left out:
    /// each is a crate of its own to build, for every mutant.
    fn mutant_commands(
        &self,
        run: &testsmith_driver::MutantRun,
    ) -> Vec<testsmith_driver::VerifyCommand> {
        use testsmith_driver::{VerifyCommand, VerifyStep};
        let env: Vec<(String, String)> = run
            .target_dir
            .iter()
            .map(|dir| {
                (
                    "CARGO_TARGET_DIR".to_owned(),
                    dir.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let features = verify::feature_args(&run.build);
        // `--tests` stands for the package's tests as `verify::test_targets` selects them.
        let targets = verify::test_targets_in(&run.root);
        let command = |step: VerifyStep, args: &[&str]| VerifyCommand {
            step,
            program: "cargo".to_owned(),
            args: args[..1]
                .iter()
                .map(|arg| (*arg).to_owned())
                .chain(features.iter().cloned())
                .chain(args[1..].iter().flat_map(|arg| match *arg {
                    "--tests" => targets.clone(),
                    other => vec![other.to_owned()],
                }))
                .collect(),
            dir: run.root.clone(),
            env: env.clone(),
        };
        let mut run_tests = command(VerifyStep::Run, &["test", "--tests", "--quiet"]);
        if let Some(tests) = &run.tests {
            // Paths in the test binary (`calc_tests::test_clamp`) are matched exactly; bare
            // names only as libtest's substring filters, which may run a few more tests.
            run_tests.args.push("--".to_owned());
            if tests.iter().all(|test| test.contains("::")) {
                run_tests.args.push("--exact".to_owned());
            }
            run_tests.args.extend(tests.iter().cloned());
        }
        vec![
            command(
                VerifyStep::Build,
                &["test", "--tests", "--no-run", "--quiet"],
            ),
            run_tests,
        ]
    }

    fn mutant_test_id(&self, source_file: &Path, test_file: &Path, name: &str) -> String {
        match verify::test_module(source_file, test_file) {
            Some(module) if !module.is_empty() => format!("{module}::{name}"),
            _ => name.to_owned(),
        }
    }

    // ---- measuring coverage (coverage.rs) ------------------------------------------------

    fn coverage_plan(
        &self,
        target: &testsmith_driver::CoverageTarget,
    ) -> Option<testsmith_driver::CoveragePlan> {
        Some(coverage::plan(target))
    }

    fn coverage_test_run(
        &self,
        target: &testsmith_driver::CoverageTarget,
        test_name: &str,
        profile: &Path,
    ) -> Option<testsmith_driver::VerifyCommand> {
        Some(coverage::test_run(target, test_name, profile))
    }

    fn coverage_objects(&self, build_outputs: &[testsmith_driver::CommandOutput]) -> Vec<PathBuf> {
        coverage::objects(build_outputs)
    }

    /// A Cargo package builds and tests all its files together.
    fn coverage_per_project(&self) -> bool {
        true
    }

    fn coverage_unit(&self) -> &'static str {
        "regions"
    }

    fn coverage_test_name(
        &self,
        source_file: &Path,
        test_file: &Path,
        name: &str,
    ) -> Option<String> {
        coverage::test_path(source_file, test_file, name)
    }

    fn runs_doc_example(&self, member: &Member) -> bool {
        member
            .doc
            .as_deref()
            .is_some_and(coverage::runs_doc_example)
    }
}

/// `module::Owner::name`, leaving out whichever of module and owner is absent or empty.
fn qualified_name(module: Option<&str>, member: &Member) -> String {
    let mut name = String::new();
    if let Some(module) = module.filter(|module| !module.is_empty()) {
        name.push_str(module);
        name.push_str("::");
    }
    if let (MemberKind::Method, Some(owner)) = (member.kind, &member.owner) {
        name.push_str(owner);
        name.push_str("::");
    }
    name.push_str(&member.name);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutant_builds_with_the_features_chosen_and_runs_one_test_by_its_path() {
        let run = testsmith_driver::MutantRun {
            root: PathBuf::from("/p"),
            package_dir: PathBuf::new(),
            overlay: None,
            target_dir: Some(PathBuf::from("/p/.testsmith/mutants/target")),
            tests: Some(vec![RustDriver.mutant_test_id(
                Path::new("src/calc.rs"),
                Path::new("src/calc_tests.rs"),
                "test_clamp",
            )]),
            build: testsmith_driver::BuildSelection {
                features: vec!["extra".into()],
                ..Default::default()
            },
        };
        let commands = RustDriver.mutant_commands(&run);
        let args: Vec<String> = commands.iter().map(|c| c.args.join(" ")).collect();
        assert_eq!(
            args,
            [
                "test --features=extra --tests --no-run --quiet",
                "test --features=extra --tests --quiet -- --exact calc::calc_tests::test_clamp",
            ]
        );
        // A bare name is a substring filter: libtest's `--exact` would match nothing.
        let bare = testsmith_driver::MutantRun {
            tests: Some(vec!["test_clamp".into()]),
            ..run
        };
        assert!(
            RustDriver.mutant_commands(&bare)[1]
                .args
                .ends_with(&["--".into(), "test_clamp".into()])
        );
    }

    fn analyzed(path: &str, source: &str) -> FileMembers {
        RustDriver.analyze(Path::new(path), source)
    }

    #[test]
    fn a_method_is_displayed_with_its_owner() {
        let file = analyzed(
            "src/lib.rs",
            "pub struct P;\nimpl P { pub fn parse(&self) {} }\n",
        );
        assert_eq!(RustDriver.display_name(&file.members[1]), "P::parse");
    }

    #[test]
    fn an_inline_module_member_is_displayed_relative_to_its_file() {
        let file = analyzed(
            "src/a.rs",
            "pub mod inner { pub struct P; impl P { pub fn parse() {} } }\n",
        );
        let names: Vec<String> = file
            .members
            .iter()
            .map(|member| RustDriver.display_name_in(&file, member))
            .collect();
        assert_eq!(names, ["inner::P", "inner::P::parse"]);
    }

    #[test]
    fn without_its_file_an_inline_module_member_is_displayed_below_the_crate() {
        let file = analyzed("src/a.rs", "mod inner { pub fn foo() {} }\n");
        assert_eq!(RustDriver.display_name(&file.members[0]), "a::inner::foo");
    }

    #[test]
    fn the_file_module_comes_from_the_path() {
        let file = analyzed("src/a/mod.rs", "");
        assert_eq!(file.module.as_deref(), Some("crate::a"));
    }

    #[test]
    fn syntax_errors_are_reported_with_the_members_found() {
        let file = analyzed("src/lib.rs", "pub fn ok() {}\npub fn broken( {\n");
        assert!(file.has_syntax_errors());
        assert_eq!(file.members[0].name, "ok");
    }

    #[test]
    fn an_item_named_by_a_macro_metavariable_is_not_a_member() {
        let file = analyzed(
            "src/lib.rs",
            // The recovery that yields `pub fn $f` as an item needs this exact shape.
            "#![feature(decl_macro)]\n\npub macro m($foo:ident, $f:ident, $e:expr) {\n    \
             mod foo {\n        pub fn $f() {}\n    }\n}\n",
        );
        let names: Vec<&str> = file.members.iter().map(|m| m.name.as_str()).collect();
        assert!(!names.contains(&"$f"), "{names:?}");
    }
}
