//! Snapshot tests of Go test generation over `fixtures/generate/go`: for each package folder,
//! the test files the driver writes (scaffolds merged into what is there) and the members it
//! skips, with the reason.
//!
//! That the output is gofmt-clean and passes `go vet` and `go test` is proved with the real
//! toolchain in the binary's `tests/cli/go_toolchain.rs`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, FileMembers, SourceFile, TestChange};
use testsmith_driver_go::GoDriver;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/generate/go")
}

/// A package folder's Go files, sorted, as paths relative to the fixtures and their text.
fn read_folder(folder: &str) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(fixtures_dir().join(folder))
        .unwrap_or_else(|error| panic!("cannot list {folder}: {error}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "go"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let relative = Path::new(folder).join(path.file_name().unwrap());
            (relative, text)
        })
        .collect();
    files.sort();
    files
}

/// Every source file of `folder` with the test file the driver writes for it, as a report.
fn generate(folder: &str) -> String {
    let files = read_folder(folder);
    let siblings: Vec<PathBuf> = files.iter().map(|(path, _)| path.clone()).collect();
    let text_of = |path: &Path| {
        files
            .iter()
            .find(|(candidate, _)| candidate == path)
            .map(|(_, text)| text.as_str())
    };
    let sources: Vec<(&PathBuf, &String)> = files
        .iter()
        .filter(|(path, _)| !GoDriver.is_test_file(path))
        .map(|(path, text)| (path, text))
        .collect();
    let package: Vec<FileMembers> = sources
        .iter()
        .map(|(path, text)| GoDriver.analyze(path, text))
        .collect();

    let mut report = String::new();
    for ((path, text), members) in sources.iter().zip(&package) {
        let test_path = GoDriver.test_file_for(path).expect("a test file");
        let tested: HashSet<String> = GoDriver
            .test_scope(path, &siblings)
            .iter()
            .filter_map(|scope| Some(GoDriver.existing_tests(scope, text_of(scope)?)))
            .flatten()
            .map(|test| test.name)
            .collect();
        let source = SourceFile {
            members,
            text,
            package: &package,
        };
        writeln!(report, "== {} → {}", path.display(), test_path.display()).unwrap();
        let mut changes = Vec::new();
        for member in members.members.iter().filter(|m| m.kind.is_callable()) {
            let name = GoDriver.test_name(members, member);
            if tested.contains(&name) {
                writeln!(report, "already tested: {name}").unwrap();
                continue;
            }
            match GoDriver.scaffold(&source, member) {
                Ok(test) => changes.push(TestChange::Add(test)),
                Err(reason) => writeln!(
                    report,
                    "skipped {}: {reason}",
                    GoDriver.display_name(member)
                )
                .unwrap(),
            }
        }
        if changes.is_empty() {
            report.push('\n');
            continue;
        }
        let existing = text_of(&test_path);
        match GoDriver.assemble(&source, &test_path, existing, &changes) {
            Ok(assembled) => {
                assert_rereads_as_unedited_scaffolds(&assembled, &changes);
                writeln!(report, "--- {}\n{assembled}", test_path.display()).unwrap();
            }
            Err(error) => writeln!(report, "cannot assemble: {error}\n").unwrap(),
        }
    }
    report
}

/// Every test just written is found again, whole, as an unedited scaffold.
#[track_caller]
fn assert_rereads_as_unedited_scaffolds(assembled: &str, changes: &[TestChange]) {
    let found = GoDriver.existing_tests(Path::new("x_test.go"), assembled);
    for change in changes {
        let test = change.test();
        let again = found
            .iter()
            .find(|candidate| candidate.name == test.name)
            .unwrap_or_else(|| panic!("{} is not found in the assembled file", test.name));
        assert_eq!(&assembled[again.byte_range.clone()], test.code);
        assert!(again.scaffold.as_ref().is_some_and(|mark| mark.is_unedited));
    }
}

#[test]
fn every_shape_of_function_and_method_gets_a_scaffold_or_a_reason() {
    insta::assert_snapshot!(generate("kinds"));
}

#[test]
fn existing_test_files_keep_their_text_and_gain_tests_and_imports() {
    insta::assert_snapshot!(generate("merge"));
}

#[test]
fn types_of_third_party_packages_bring_the_source_files_imports() {
    insta::assert_snapshot!(generate("thirdparty"));
}

#[test]
fn cgo_types_are_skipped_and_plain_go_members_of_a_cgo_file_are_not() {
    insta::assert_snapshot!(generate("cgo"));
}

#[test]
fn an_external_test_package_in_the_test_file_is_refused_with_a_reason() {
    insta::assert_snapshot!(generate("external"));
}

#[test]
fn a_second_run_over_its_own_output_finds_everything_tested() {
    let files = read_folder("kinds");
    let package: Vec<FileMembers> = files
        .iter()
        .filter(|(path, _)| !GoDriver.is_test_file(path))
        .map(|(path, text)| GoDriver.analyze(path, text))
        .collect();
    for (members, (_, text)) in package.iter().zip(&files) {
        let source = SourceFile {
            members,
            text,
            package: &package,
        };
        let changes: Vec<TestChange> = members
            .members
            .iter()
            .filter(|m| m.kind.is_callable())
            .filter_map(|member| GoDriver.scaffold(&source, member).ok())
            .map(TestChange::Add)
            .collect();
        let test_path = GoDriver.test_file_for(&members.path).unwrap();
        let assembled = GoDriver
            .assemble(&source, &test_path, None, &changes)
            .unwrap();
        let found: Vec<String> = GoDriver
            .existing_tests(&test_path, &assembled)
            .into_iter()
            .map(|test| test.name)
            .collect();
        let written: Vec<String> = changes.iter().map(|c| c.test().name.clone()).collect();
        assert_eq!(found, written);
    }
}
