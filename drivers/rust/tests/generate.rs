//! Snapshot tests of Rust test generation: the test file testsmith writes for each
//! `fixtures/analyze/rust` fixture (every member shape), and merges into existing files
//! from `fixtures/generate/rust`. Every file written is checked against real rustfmt.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use testsmith_driver::{Driver, FileMembers, SourceFile, TestChange, marker};
use testsmith_driver_rust::RustDriver;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(relative)).expect("the fixture exists")
}

/// `text` as rustfmt (edition 2021, default settings) formats it.
fn rustfmt(text: &str) -> String {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rustfmt is installed (rustup component add rustfmt)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "rustfmt failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[track_caller]
fn assert_rustfmt_clean(what: &str, text: &str) {
    let formatted = rustfmt(text);
    if formatted != text {
        let diff = similar_lines(text, &formatted);
        panic!("{what} is not rustfmt-clean; rustfmt changes:\n{diff}");
    }
}

/// The lines that differ, for a readable failure.
fn similar_lines(before: &str, after: &str) -> String {
    let before: Vec<&str> = before.lines().collect();
    let after: Vec<&str> = after.lines().collect();
    let mut out = String::new();
    for (index, (b, a)) in before.iter().zip(&after).enumerate() {
        if b != a {
            out.push_str(&format!("line {}:\n- {b}\n+ {a}\n", index + 1));
        }
    }
    if before.len() != after.len() {
        out.push_str(&format!(
            "{} lines before, {} after\n",
            before.len(),
            after.len()
        ));
    }
    out
}

/// What a run of `generate` does to one source file, the way the pipeline plans it: tests
/// missing from the scope are added, untouched scaffolds whose signature changed replaced.
struct Generated {
    test_file: PathBuf,
    test_text: String,
    attached: Option<String>,
}

fn generate(path: &str, source_text: &str, existing_test_text: Option<&str>) -> Generated {
    let path = Path::new(path);
    let file: FileMembers = RustDriver.analyze(path, source_text);
    assert!(file.errors.is_empty(), "{:?}", file.errors);
    let package = [file.clone()];
    let source = SourceFile {
        members: &file,
        text: source_text,
        package: &package,
    };
    let test_file = RustDriver.test_file_for(path).expect("a test file");
    let mut existing = Vec::new();
    for scope in RustDriver.test_scope(path, &[]) {
        let text = if scope == test_file {
            existing_test_text
        } else {
            Some(source_text)
        };
        if let Some(text) = text {
            existing.extend(
                RustDriver
                    .existing_tests(&scope, text)
                    .into_iter()
                    .map(|test| (scope.clone(), test)),
            );
        }
    }
    let mut changes = Vec::new();
    for member in file.members.iter().filter(|m| m.kind.is_callable()) {
        let name = RustDriver.test_name(&file, member);
        let found = existing.iter().find(|(_, test)| test.name == name);
        let scaffold = || RustDriver.scaffold(&source, member).expect("a scaffold");
        match found {
            None => changes.push(TestChange::Add(scaffold())),
            Some((scope, test)) if *scope == test_file => {
                let changed = test.scaffold.as_ref().is_some_and(|mark| {
                    mark.is_unedited
                        && mark.signature_hash != marker::signature_hash(&member.signature)
                });
                if changed {
                    changes.push(TestChange::Replace {
                        range: test.byte_range.clone(),
                        test: scaffold(),
                    });
                }
            }
            Some(_) => {}
        }
    }
    let test_text = RustDriver
        .assemble(&source, &test_file, existing_test_text, &changes)
        .expect("assembled");
    let attached = RustDriver.attach(path, source_text, &test_file);
    Generated {
        test_file,
        test_text,
        attached,
    }
}

/// The test file written for an analyze fixture taken as `src/<name>.rs`, checked with
/// rustfmt.
fn scaffolds_of(name: &str) -> String {
    let source = read(&format!("analyze/rust/{name}.rs"));
    let generated = generate(&format!("src/{name}.rs"), &source, None);
    assert_rustfmt_clean(
        &generated.test_file.display().to_string(),
        &generated.test_text,
    );
    generated.test_text
}

macro_rules! scaffold_snapshot {
    ($test:ident, $fixture:literal) => {
        #[test]
        fn $test() {
            insta::assert_snapshot!($fixture, scaffolds_of($fixture));
        }
    };
}

scaffold_snapshot!(qualified_functions_say_what_they_need, "qualifiers");
scaffold_snapshot!(
    receivers_are_built_the_way_the_method_takes_them,
    "receivers"
);
scaffold_snapshot!(
    inline_module_members_are_reached_by_their_module_path,
    "inline_modules"
);
scaffold_snapshot!(
    raw_identifiers_lose_their_prefix_in_test_names,
    "raw_identifiers"
);
scaffold_snapshot!(
    generic_owners_are_named_without_their_arguments,
    "generic_impl"
);
scaffold_snapshot!(
    methods_of_trait_objects_are_named_after_the_trait,
    "dyn_impl"
);
scaffold_snapshot!(where_clauses_are_kept_in_the_call_to_make, "where_clauses");

#[test]
fn a_merge_keeps_the_user_s_tests_and_edits_and_regenerates_a_changed_scaffold() {
    let source = read("generate/rust/merge.rs");
    let existing = read("generate/rust/merge_tests.rs");
    let generated = generate("src/merge.rs", &source, Some(&existing));
    assert_rustfmt_clean("the merged test file", &generated.test_text);
    let text = &generated.test_text;
    // The hand-written test and the edited scaffold are there byte for byte.
    let hand_written = &existing[existing.find("// Written by hand").unwrap()..];
    let hand_written = &hand_written[..hand_written.find("\n\n").unwrap()];
    assert!(text.contains(hand_written));
    let edited = &existing[existing.rfind("// testsmith:scaffold").unwrap()..];
    assert!(text.contains(edited.trim_end()));
    assert_eq!(text.matches("fn test_rect_scale()").count(), 1);
    assert!(text.contains("kx: f64, ky: f64"));
    insta::assert_snapshot!("merge", text);
}

#[test]
fn a_second_run_over_its_own_output_changes_nothing() {
    let source = read("generate/rust/merge.rs");
    let existing = read("generate/rust/merge_tests.rs");
    let first = generate("src/merge.rs", &source, Some(&existing));
    let attached = first.attached.expect("attached the first time");
    let second = generate("src/merge.rs", &attached, Some(&first.test_text));
    assert_eq!(second.test_text, first.test_text);
    assert_eq!(second.attached, None);
}

#[test]
fn members_tested_inline_are_skipped_and_the_test_file_is_attached_at_the_end() {
    let source = read("generate/rust/inline_tests.rs");
    let generated = generate("src/inline_tests.rs", &source, None);
    assert_eq!(generated.test_file, Path::new("src/inline_tests_tests.rs"));
    assert_rustfmt_clean("the new test file", &generated.test_text);
    let attached = generated.attached.expect("attached");
    assert_rustfmt_clean("the attached source", &attached);
    assert!(attached.starts_with(&source));
    insta::assert_snapshot!("inline_tests", generated.test_text);
    insta::assert_snapshot!("inline_tests_attached_tail", &attached[source.len()..]);
}
