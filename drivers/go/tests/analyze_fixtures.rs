//! Snapshot tests of the Go driver over `fixtures/analyze/go`, one concern per fixture file,
//! each file rendered as a readable outline of its members.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, FileMembers, Member, Param, syntax};
use testsmith_driver_go::GoDriver;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/analyze/go")
}

fn analyze_fixture(name: &str) -> (String, FileMembers) {
    let path = fixtures_dir().join(name);
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let file = GoDriver.analyze(Path::new(name), &source);
    (source, file)
}

/// The outline of one analysed file: package, syntax errors, then one block per member with
/// everything a generator reads.
fn outline(file: &FileMembers) -> String {
    let mut out = String::new();
    let package = file.package.as_deref().unwrap_or("<none>");
    writeln!(out, "package {package}").unwrap();
    if file.errors.is_empty() {
        writeln!(out, "syntax errors: none").unwrap();
    }
    for error in &file.errors {
        writeln!(
            out,
            "syntax error {}:{} {}",
            error.line, error.column, error.message
        )
        .unwrap();
    }
    for member in &file.members {
        out.push('\n');
        write_member(&mut out, member);
    }
    out
}

fn write_member(out: &mut String, member: &Member) {
    write!(
        out,
        "{} {}  lines {}-{}",
        member.kind.as_str(),
        GoDriver.display_name(member),
        member.start_line,
        member.end_line
    )
    .unwrap();
    if let Some(owner) = &member.owner {
        write!(out, "  owner {owner}").unwrap();
    }
    out.push('\n');
    writeln!(out, "  signature    {}", member.signature).unwrap();
    match &member.doc {
        None => writeln!(out, "  doc          none").unwrap(),
        Some(doc) => {
            writeln!(out, "  doc").unwrap();
            for line in doc.lines() {
                // No trailing space on a blank doc line.
                writeln!(out, "{}", format!("    │ {line}").trim_end()).unwrap();
            }
        }
    }
    let Some(callable) = &member.callable else {
        return;
    };
    if let Some(receiver) = &callable.receiver {
        writeln!(out, "  receiver     {}", param(receiver)).unwrap();
    }
    if !callable.type_params.is_empty() {
        writeln!(out, "  type params  {}", callable.type_params.join("; ")).unwrap();
    }
    let params: Vec<String> = callable.params.iter().map(param).collect();
    writeln!(out, "  params       ({})", params.join("; ")).unwrap();
    writeln!(out, "  results      ({})", callable.results.join("; ")).unwrap();
    if !callable.qualifiers.is_empty() {
        writeln!(out, "  qualifiers   {}", callable.qualifiers.join(" ")).unwrap();
    }
}

/// `name type`, or `type` alone for an unnamed parameter.
fn param(param: &Param) -> String {
    if param.name.is_empty() {
        param.ty.clone()
    } else {
        format!("{} {}", param.name, param.ty)
    }
}

/// Each test snapshots one fixture; `FIXTURES` lists them all so that a fixture without a
/// test is noticed.
macro_rules! fixture_snapshots {
    ($($test:ident => $file:literal,)*) => {
        const FIXTURES: &[&str] = &[$($file),*];
        $(
            #[test]
            fn $test() {
                let (_, file) = analyze_fixture($file);
                insta::with_settings!({ input_file => fixtures_dir().join($file) }, {
                    insta::assert_snapshot!(outline(&file));
                });
            }
        )*
    };
}

fixture_snapshots! {
    plain_functions_of_every_shape_are_members => "functions.go",
    generic_functions_types_and_type_parameter_receivers => "generics.go",
    pointer_and_value_receivers_named_and_unnamed => "receivers.go",
    unicode_upper_case_initials_are_exported_and_others_are_not => "unicode_names.go",
    grouped_type_declarations_list_each_spec_with_its_doc => "grouped_declarations.go",
    doc_comments_follow_go_doc => "doc_comments.go",
    comments_inside_declarations_are_dropped_from_signatures => "comments_inside_declarations.go",
    cgo_files_are_analysed_like_any_other => "cgo.go",
    build_constrained_files_are_analysed_like_any_other => "build_tags.go",
    exported_methods_of_unexported_types_are_not_members => "unexported_receivers.go",
    each_kind_of_type_declaration_gets_its_kind => "types.go",
    files_with_syntax_errors_keep_the_members_around_the_errors => "syntax_errors.go",
    an_unclosed_brace_does_not_hide_the_declarations_after_it => "unclosed_brace.go",
}

#[test]
fn every_fixture_file_has_a_snapshot_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("the fixtures folder exists")
        .map(|entry| entry.expect("a readable entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".go"))
        .collect();
    on_disk.sort();
    let mut tested: Vec<&str> = FIXTURES.to_vec();
    tested.sort_unstable();
    assert_eq!(on_disk, tested);
}

/// Lines and byte ranges must describe the same text: generators cut members out of the
/// source by `byte_range` and report them by line.
#[test]
fn byte_ranges_agree_with_lines_and_hold_the_member_name() {
    for name in FIXTURES {
        let (source, file) = analyze_fixture(name);
        for member in &file.members {
            let range = member.byte_range.clone();
            let line_of = |byte: usize| source[..byte].matches('\n').count() + 1;
            assert_eq!(
                line_of(range.start),
                member.start_line,
                "{name}: {member:?}"
            );
            assert_eq!(
                line_of(range.end - 1),
                member.end_line,
                "{name}: {member:?}"
            );
            let text = &source[range];
            let first_line = text.lines().next().unwrap_or_default();
            assert!(
                first_line.contains(&member.name),
                "{name}: {} not on the first line of {text:?}",
                member.name
            );
        }
    }
}

/// Every callable member's signature text agrees with its structured parts.
#[test]
fn callable_members_carry_a_structured_signature_and_types_do_not() {
    for name in FIXTURES {
        let (_, file) = analyze_fixture(name);
        for member in &file.members {
            assert_eq!(
                member.callable.is_some(),
                member.kind.is_callable(),
                "{name}: {member:?}"
            );
            if let Some(receiver) = member.callable.as_ref().and_then(|c| c.receiver.as_ref()) {
                assert!(
                    syntax::collapse_whitespace(&member.signature).contains(&receiver.ty),
                    "{name}: receiver {receiver:?} not in {}",
                    member.signature
                );
            }
        }
    }
}

#[test]
fn a_json_round_trip_keeps_what_the_output_shows() {
    let (_, file) = analyze_fixture("receivers.go");
    let json = serde_json::to_string(&file).expect("members serialise");
    let back: FileMembers = serde_json::from_str(&json).expect("members deserialise");
    let shown = |file: &FileMembers| -> Vec<String> {
        file.members
            .iter()
            .map(|member| GoDriver.display_name(member))
            .collect()
    };
    assert_eq!(shown(&back), shown(&file));
}

fn analyze_text(source: &str) -> FileMembers {
    GoDriver.analyze(Path::new("inline.go"), source)
}

fn member_names(file: &FileMembers) -> Vec<&str> {
    file.members
        .iter()
        .map(|member| member.name.as_str())
        .collect()
}

/// The quick parse skips function bodies, so a statement that does not parse inside one goes
/// unseen: the price of analysing without parsing bodies. Lexical mistakes are still caught
/// (the tests below).
#[test]
fn a_statement_error_inside_a_body_is_not_seen() {
    let file = analyze_text("package p\n\nfunc F() {\n\tx := := 1\n}\n\nfunc G() {}\n");
    assert!(file.errors.is_empty(), "{:?}", file.errors);
    assert_eq!(member_names(&file), ["F", "G"]);
}

#[test]
fn an_unterminated_string_inside_a_body_is_reported_and_the_rest_kept() {
    let file = analyze_text("package p\n\nfunc F() {\n\ts := \"open\n}\n\nfunc G() {}\n");
    assert_eq!(file.errors.first().map(|error| error.line), Some(4));
    assert_eq!(member_names(&file), ["F", "G"]);
}

#[test]
fn a_syntax_error_between_declarations_is_reported_and_the_rest_kept() {
    let file = analyze_text("package p\n\nfunc F() {}\n\nfunc G( {}\n\n// H does.\nfunc H() {}\n");
    assert_eq!(file.errors.first().map(|error| error.line), Some(5));
    assert_eq!(member_names(&file), ["F", "G", "H"]);
    assert_eq!(file.members[2].doc.as_deref(), Some("H does."));
    assert_eq!(file.package.as_deref(), Some("p"));
}

/// A generated file with thousands of methods is parsed in segments; none may be lost at
/// the cuts, and docs and lines must survive them.
#[test]
fn files_with_thousands_of_bodies_lose_nothing_at_segment_cuts() {
    let count = 1000;
    let mut source = String::from("package p\n\n// T is a type.\ntype T struct{}\n");
    for n in 0..count {
        source.push_str(&format!(
            "\n// M{n} returns {n}.\nfunc (t *T) M{n}() int {{\n\treturn {n}\n}}\n"
        ));
    }
    let file = analyze_text(&source);
    assert!(file.errors.is_empty());
    assert_eq!(file.members.len(), count + 1);
    for (n, member) in file.members[1..].iter().enumerate() {
        assert_eq!(member.name, format!("M{n}"));
        assert_eq!(
            member.doc.as_deref(),
            Some(format!("M{n} returns {n}.").as_str())
        );
        assert_eq!(member.start_line, 7 + 5 * n);
        assert_eq!(member.end_line, 9 + 5 * n);
    }
}

/// The call shapes generators build on, checked against go/parser over a real tree. Run:
///
/// ```text
/// go run ./bench/crosscheck/go /usr/share/go-1.19/src > /tmp/ref.jsonl
/// TESTSMITH_GO_REFERENCE=/tmp/ref.jsonl cargo test --release -p testsmith-driver-go \
///     --test analyze_fixtures -- --ignored call_shapes
/// ```
///
/// Types are compared with white space removed: go/printer spaces them its own way.
#[test]
#[ignore = "needs a go/parser reference: TESTSMITH_GO_REFERENCE=ref.jsonl (see the doc comment)"]
fn call_shapes_agree_with_go_parser() {
    use serde_json::Value;
    use std::collections::BTreeMap;

    let reference = std::env::var("TESTSMITH_GO_REFERENCE")
        .expect("TESTSMITH_GO_REFERENCE names the output of bench/crosscheck/go");
    let text = std::fs::read_to_string(&reference).expect("the reference is readable");
    let mut by_path: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut rejected = std::collections::BTreeSet::new();
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).expect("one JSON object per line");
        if row.get("error").is_some() {
            // go/parser's own reading of a file it rejects is no reference.
            rejected.insert(row["path"].as_str().expect("a path").to_owned());
        } else if row.get("shape").is_some() {
            let path = row["path"].as_str().expect("a path").to_owned();
            by_path.entry(path).or_default().push(row);
        }
    }
    let squeeze = |text: &str| -> String { text.split_whitespace().collect() };
    let (mut compared, mut mismatches) = (0, Vec::new());
    for (path, rows) in by_path.iter().filter(|(path, _)| !rejected.contains(*path)) {
        let source = std::fs::read_to_string(path).expect("the reference's file is readable");
        let file = GoDriver.analyze(Path::new(path), &source);
        let mut members: Vec<&Member> = file.members.iter().collect();
        for row in rows {
            let position = members.iter().position(|member| {
                member.kind.as_str() == row["kind"]
                    && member.name == row["name"]
                    && member.owner.as_deref() == row["owner"].as_str()
            });
            let Some(position) = position else {
                mismatches.push(format!("{path}: {} missing", row["name"]));
                continue;
            };
            let member = members.remove(position);
            let ours = member
                .callable
                .as_ref()
                .expect("a callable member has a shape");
            let theirs = &row["shape"];
            let pair = |value: &Value| -> (String, String) {
                let name = value[0].as_str().unwrap_or_default().to_owned();
                (name, squeeze(value[1].as_str().unwrap_or_default()))
            };
            let strings = |value: &Value| -> Vec<String> {
                let items = value.as_array().expect("a list");
                items
                    .iter()
                    .map(|item| squeeze(item.as_str().unwrap_or_default()))
                    .collect()
            };
            let ours_receiver = ours
                .receiver
                .as_ref()
                .map(|receiver| (receiver.name.clone(), squeeze(&receiver.ty)));
            let theirs_receiver =
                (!theirs["receiver"].is_null()).then(|| pair(&theirs["receiver"]));
            let ours_params: Vec<(String, String)> = ours
                .params
                .iter()
                .map(|param| (param.name.clone(), squeeze(&param.ty)))
                .collect();
            let theirs_params: Vec<(String, String)> = theirs["params"]
                .as_array()
                .expect("a list")
                .iter()
                .map(pair)
                .collect();
            let ours_type_params: Vec<String> = ours
                .type_params
                .iter()
                .map(|param| squeeze(param))
                .collect();
            let ours_results: Vec<String> =
                ours.results.iter().map(|result| squeeze(result)).collect();
            let agree = ours_receiver == theirs_receiver
                && ours_type_params == strings(&theirs["type_params"])
                && ours_params == theirs_params
                && ours_results == strings(&theirs["results"])
                && ours.has_qualifier(testsmith_driver_go::VARIADIC) == theirs["variadic"];
            compared += 1;
            if !agree {
                mismatches.push(format!(
                    "{path}: {}\n  ours   {ours:?}\n  theirs {theirs}",
                    member.signature
                ));
            }
        }
    }
    println!(
        "call shapes compared: {compared}, differing: {}",
        mismatches.len()
    );
    for mismatch in mismatches.iter().take(20) {
        println!("{mismatch}");
    }
    assert!(compared > 0, "the reference holds no call shapes");
    assert!(mismatches.is_empty());
}
