//! Snapshot tests of the Rust driver on `fixtures/analyze/rust/`, one fixture per concern,
//! each rendered as a readable outline of its members.
//!
//! Each fixture is analysed as if it were `src/<name>.rs`, so that module paths show.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, FileMembers, Member, syntax};
use testsmith_driver_rust::RustDriver;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/analyze/rust")
}

/// Analyses the fixture `name` and renders it as an indented outline, checking on the way
/// the invariants no snapshot would show: byte ranges and lines agree with the source.
fn outline(name: &str) -> String {
    let source = std::fs::read_to_string(fixtures_dir().join(format!("{name}.rs")))
        .expect("the fixture exists");
    let path = Path::new("src").join(format!("{name}.rs"));
    let file = RustDriver.analyze(&path, &source);
    for member in &file.members {
        check_member_against_source(member, &source);
    }
    render(&file)
}

fn check_member_against_source(member: &Member, source: &str) {
    let declaration = &source[member.byte_range.clone()];
    assert!(
        syntax::collapse_whitespace(declaration).starts_with(&member.signature),
        "the signature of {} is not where its byte range starts: {declaration:?}",
        member.name
    );
    let line_of = |offset: usize| source[..offset].matches('\n').count() + 1;
    assert_eq!(member.start_line, line_of(member.byte_range.start));
    assert_eq!(member.end_line, line_of(member.byte_range.end));
    assert_eq!(member.callable.is_some(), member.kind.is_callable());
}

fn render(file: &FileMembers) -> String {
    let mut out = String::new();
    let module = file.module.as_deref().unwrap_or("-");
    writeln!(out, "{}  ({module})", file.path.display()).unwrap();
    for member in &file.members {
        let name = RustDriver.display_name_in(file, member);
        let kind = member.kind.as_str();
        let (start, end) = (member.start_line, member.end_line);
        writeln!(out, "  {kind} {name}  lines {start}-{end}").unwrap();
        writeln!(out, "    signature: {}", member.signature).unwrap();
        if let Some(owner) = &member.owner {
            writeln!(out, "    owner: {owner}").unwrap();
        }
        if let Some(module) = &member.module {
            writeln!(out, "    module: {module}").unwrap();
        }
        if let Some(callable) = &member.callable {
            if !callable.qualifiers.is_empty() {
                writeln!(out, "    qualifiers: {}", callable.qualifiers.join(" ")).unwrap();
            }
            for type_param in &callable.type_params {
                writeln!(out, "    type param: {type_param}").unwrap();
            }
            if let Some(receiver) = &callable.receiver {
                writeln!(out, "    receiver: {}", receiver.ty).unwrap();
            }
            for param in &callable.params {
                writeln!(out, "    param: {} : {}", param.name, param.ty).unwrap();
            }
            for result in &callable.results {
                writeln!(out, "    returns: {result}").unwrap();
            }
        }
        match member
            .doc
            .as_deref()
            .map(|doc| doc.lines().collect::<Vec<_>>())
        {
            None => {}
            Some(lines) if lines.len() == 1 => writeln!(out, "    doc: {}", lines[0]).unwrap(),
            Some(lines) => {
                writeln!(out, "    doc: |").unwrap();
                for line in lines {
                    if line.is_empty() {
                        writeln!(out).unwrap();
                    } else {
                        writeln!(out, "      {line}").unwrap();
                    }
                }
            }
        }
    }
    if !file.errors.is_empty() {
        writeln!(out, "  syntax errors:").unwrap();
        for error in &file.errors {
            writeln!(out, "    {}:{} {}", error.line, error.column, error.message).unwrap();
        }
    }
    out
}

macro_rules! snapshot_test {
    ($test:ident, $fixture:literal) => {
        #[test]
        fn $test() {
            insta::assert_snapshot!($fixture, outline($fixture));
        }
    };
}

snapshot_test!(test_only_code_is_left_out_however_it_is_marked, "cfg_test");
snapshot_test!(doc_comments_of_every_form_are_collected, "doc_comments");
snapshot_test!(methods_on_trait_objects_are_owned_by_the_trait, "dyn_impl");
snapshot_test!(
    foreign_items_in_extern_blocks_are_not_members,
    "extern_blocks"
);
snapshot_test!(
    generic_and_path_self_types_give_a_bare_owner,
    "generic_impl"
);
snapshot_test!(
    members_of_inline_modules_carry_their_module_path,
    "inline_modules"
);
snapshot_test!(items_inside_macros_are_not_members, "macros");
snapshot_test!(items_inside_function_bodies_are_not_members, "nested_fns");
snapshot_test!(function_qualifiers_are_kept_as_written, "qualifiers");
snapshot_test!(raw_identifiers_keep_their_prefix, "raw_identifiers");
snapshot_test!(
    receivers_and_parameters_are_recorded_as_written,
    "receivers"
);
snapshot_test!(a_broken_file_is_analysed_and_flagged, "syntax_errors");
snapshot_test!(a_file_marked_test_only_has_no_members, "test_only_file");
snapshot_test!(trait_impls_add_no_members, "trait_impl");
snapshot_test!(type_items_are_reported_with_their_kinds, "types");
snapshot_test!(only_plain_pub_items_are_members, "visibility");
snapshot_test!(where_clauses_are_part_of_the_signature, "where_clauses");

/// A new fixture without a `snapshot_test!` line would go unchecked; its snapshot file would
/// never be written, which this test notices.
#[test]
fn every_fixture_has_a_snapshot() {
    let stems_in = |dir: PathBuf, prefix: &str, extension: &str| -> Vec<String> {
        let mut stems: Vec<String> = std::fs::read_dir(dir)
            .expect("the folder exists")
            .map(|entry| entry.expect("a readable entry").file_name())
            .filter_map(|name| {
                let name = name.to_string_lossy();
                let stem = name.strip_prefix(prefix)?.strip_suffix(extension)?;
                Some(stem.to_owned())
            })
            .collect();
        stems.sort();
        stems
    };
    let fixtures = stems_in(fixtures_dir(), "", ".rs");
    let snapshots = stems_in(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"),
        "fixtures__",
        ".snap",
    );
    assert!(!fixtures.is_empty());
    assert_eq!(fixtures, snapshots);
}
