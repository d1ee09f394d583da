//! `testsmith generate` (template mode): what is written where, merging, idempotence,
//! scaffold regeneration, dry runs, and bad input.

use crate::util::{Project, open_to_everyone};

fn example() -> Project {
    let project = Project::new();
    project.copy_fixture("example", ".");
    project
}

fn names(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn file_report<'a>(doc: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no report for {path} in {doc}"))
}

#[test]
fn writes_a_test_for_every_untested_member_and_reports_the_tested_ones() {
    let project = example();
    let doc = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .success()
        .json();

    let shapes = file_report(&doc, "go/shapes/shapes.go");
    assert_eq!(shapes["test_file"], "go/shapes/shapes_test.go");
    assert_eq!(
        names(&shapes["written"]),
        [
            "TestNewRect",
            "TestRect_Area",
            "TestRect_Scale",
            "TestRect_String",
            "TestCircle_Area",
            "TestTotalArea"
        ]
    );
    let stack = file_report(&doc, "go/shapes/stack.go");
    assert_eq!(names(&stack["already_tested"]), ["TestStack_Len"]);
    assert_eq!(
        names(&stack["written"]),
        ["TestStack_Push", "TestStack_Pop", "TestMap"]
    );

    let lib = file_report(&doc, "rust/src/lib.rs");
    assert_eq!(lib["test_file"], "rust/src/lib_tests.rs");
    assert_eq!(names(&lib["already_tested"]), ["test_largest"]);
    assert_eq!(lib["attached"], true);
    let text = file_report(&doc, "rust/src/text/mod.rs");
    assert_eq!(text["test_file"], "rust/src/text/mod_tests.rs");
    assert_eq!(names(&text["written"]).len(), 3);

    let summary = &doc["summary"];
    assert_eq!(summary["files"], 4);
    assert_eq!(summary["members"], 18);
    assert_eq!(summary["written"], 16);
    assert_eq!(summary["already_tested"], 2);
    assert_eq!(summary["skipped"], 0);

    assert!(project.exists("go/shapes/shapes_test.go"));
    assert!(project.exists("rust/src/lib_tests.rs"));
    assert!(
        project
            .read("rust/src/lib.rs")
            .contains("#[path = \"lib_tests.rs\"]")
    );
}

#[test]
fn a_second_run_changes_nothing_and_says_0_written() {
    let project = example();
    project.testsmith(&["generate"]).run().success();
    let snapshot = |p: &Project| {
        [
            "go/shapes/shapes_test.go",
            "go/shapes/stack_test.go",
            "rust/src/lib.rs",
            "rust/src/lib_tests.rs",
            "rust/src/text/mod.rs",
            "rust/src/text/mod_tests.rs",
        ]
        .map(|f| p.read(f))
    };
    let before = snapshot(&project);
    let run = project.testsmith(&["generate"]).run().success();
    assert_eq!(snapshot(&project), before);
    assert!(
        run.stdout.contains(": 0 written, 0 already tested") || run.stdout.contains("0 written"),
        "{}",
        run.stdout
    );
    let doc = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(doc["summary"]["written"], 0);
    assert_eq!(doc["summary"]["already_tested"], 18);
    assert_eq!(doc["summary"]["files_written"], 0);
}

#[test]
fn an_existing_test_file_keeps_every_byte_the_user_wrote() {
    let project = example();
    let before = project.read("go/shapes/stack_test.go");
    let run = project.testsmith(&["generate"]).run().success();
    // The new tests need "reflect", which stack_test.go does not import: adding it would move
    // every line below its import, so they go to a file of their own, and the run says so.
    assert_eq!(project.read("go/shapes/stack_test.go"), before);
    assert!(
        run.stdout.contains(
            "go/shapes/stack.go → go/shapes/stack_internal_test.go: 3 written, 1 already tested\n  \
             new test file beside go/shapes/stack_test.go: it lacks the import \"reflect\", and \
             adding it would move its lines\n"
        ),
        "{}",
        run.stdout
    );
    let new_file = project.read("go/shapes/stack_internal_test.go");
    assert!(
        new_file.contains("func TestStack_Push(t *testing.T)"),
        "{new_file}"
    );
}

#[test]
fn the_source_file_gets_exactly_one_attach_declaration_and_nothing_else() {
    let project = example();
    let before = project.read("rust/src/lib.rs");
    project.testsmith(&["generate"]).run().success();
    project.write(
        "rust/src/lib.rs",
        format!("{}\npub fn added() {{}}\n", project.read("rust/src/lib.rs")),
    );
    project.testsmith(&["generate"]).run().success();
    let after = project.read("rust/src/lib.rs");
    assert!(after.starts_with(&before), "the source's own text changed");
    assert_eq!(after.matches("mod lib_tests;").count(), 1, "{after}");
    assert!(
        project
            .read("rust/src/lib_tests.rs")
            .contains("fn test_added()")
    );
}

#[test]
fn an_untouched_scaffold_is_regenerated_when_its_signature_changes() {
    let project = example();
    project.testsmith(&["generate"]).run().success();
    let shapes = project.read("go/shapes/shapes.go");
    project.write(
        "go/shapes/shapes.go",
        shapes.replace(
            "func (r *Rect) Scale(k float64) { r.W *= k; r.H *= k }",
            "func (r *Rect) Scale(kx, ky float64) { r.W *= kx; r.H *= ky }",
        ),
    );
    let doc = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .success()
        .json();
    let report = file_report(&doc, "go/shapes/shapes.go");
    assert_eq!(names(&report["regenerated"]), ["TestRect_Scale"]);
    assert_eq!(names(&report["written"]), Vec::<&str>::new());
    let test = project.read("go/shapes/shapes_test.go");
    assert!(
        test.contains("kx"),
        "regenerated scaffold lacks the new parameter:\n{test}"
    );
    assert_eq!(test.matches("func TestRect_Scale(").count(), 1);
}

#[test]
fn an_edited_scaffold_is_never_touched() {
    let project = example();
    project.testsmith(&["generate"]).run().success();
    let test = project.read("go/shapes/shapes_test.go");
    let edited = test.replacen("// TODO: Add test cases.", "{name: \"unit\"},", 1);
    assert_ne!(
        edited, test,
        "the scaffold has no TODO line to edit:\n{test}"
    );
    project.write("go/shapes/shapes_test.go", &edited);
    let shapes = project.read("go/shapes/shapes.go");
    project.write(
        "go/shapes/shapes.go",
        shapes.replace(
            "func NewRect(w, h float64)",
            "func NewRect(w, h, d float64)",
        ),
    );
    let doc = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(doc["summary"]["regenerated"], 0);
    assert_eq!(project.read("go/shapes/shapes_test.go"), edited);
}

#[test]
fn dry_run_prints_a_unified_diff_and_writes_nothing() {
    let project = example();
    let run = project
        .testsmith(&["generate", "--dry-run"])
        .run()
        .success();
    assert!(
        run.stdout
            .contains("--- /dev/null\n+++ b/go/shapes/shapes_test.go\n")
    );
    assert!(
        run.stdout
            .contains("--- /dev/null\n+++ b/go/shapes/stack_internal_test.go\n")
    );
    assert!(run.stdout.contains("+++ b/rust/src/lib.rs\n"));
    assert!(run.stdout.contains("16 would be written"), "{}", run.stdout);
    assert!(!project.exists("go/shapes/shapes_test.go"));
    assert!(!project.exists("rust/src/lib_tests.rs"));
    assert!(!project.read("rust/src/lib.rs").contains("lib_tests"));
}

#[test]
fn a_source_file_with_syntax_errors_gets_no_test_and_a_clear_reason() {
    let project = Project::new();
    project
        .write(
            "pkg/good.go",
            "package pkg\n\nfunc Good() int { return 1 }\n",
        )
        .write(
            "pkg/bad.go",
            "package pkg\n\nfunc Bad( int {\n\treturn\n}\n",
        );
    let run = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .code(1);
    let doc = run.json();
    let bad = file_report(&doc, "pkg/bad.go");
    let reason = bad["skipped"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("syntax errors (first at 3:"), "{reason}");
    assert!(!project.exists("pkg/bad_test.go"));
    assert!(project.exists("pkg/good_test.go"));
}

#[test]
fn a_read_only_folder_is_reported_and_the_other_folders_written() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new();
    project
        .write("open/a.go", "package open\n\nfunc A() {}\n")
        .write("locked/b.go", "package locked\n\nfunc B() {}\n");
    open_to_everyone(project.root());
    std::fs::set_permissions(
        project.path("locked"),
        std::fs::Permissions::from_mode(0o555),
    )
    .unwrap();
    let run = project
        .testsmith(&["generate", "--format", "json"])
        .unprivileged()
        .run()
        .code(1);
    let doc = run.json();
    assert_eq!(
        file_report(&doc, "locked/b.go")["error"],
        "permission denied"
    );
    assert!(project.exists("open/a_test.go"));
    assert!(!project.exists("locked/b_test.go"));
    assert!(
        run.stderr.contains("error: locked/b.go: permission denied"),
        "{}",
        run.stderr
    );
    std::fs::set_permissions(
        project.path("locked"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

#[test]
fn nothing_outside_the_project_is_written_through_a_symlink() {
    let outside = Project::new();
    outside.write("lib/c.go", "package lib\n\nfunc C() {}\n");
    let project = Project::new();
    project.write("own/a.go", "package own\n\nfunc A() {}\n");
    std::os::unix::fs::symlink(outside.path("lib"), project.path("linked")).unwrap();
    let run = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .code(1);
    let doc = run.json();
    assert!(project.exists("own/a_test.go"));
    assert!(
        !outside.exists("lib/c_test.go"),
        "wrote outside the project"
    );
    let error = file_report(&doc, "linked/c.go")["error"].as_str().unwrap();
    assert!(error.contains("outside the project"), "{error}");
}

#[test]
fn text_output_lists_each_changed_file_and_the_totals() {
    let project = Project::new();
    project
        .write(
            "calc/calc.go",
            "package calc\n\nfunc Add(a, b int) int { return a + b }\n",
        )
        .write(
            "calc/calc_test.go",
            "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {}\n",
        )
        .write(
            "calc/more.go",
            "package calc\n\nfunc Sub(a, b int) int { return a - b }\n",
        );
    let run = project.testsmith(&["generate"]).run().success();
    insta::assert_snapshot!(run.stdout, @r"
    calc/more.go → calc/more_test.go: 1 written
    2 files, 2 members: 1 written, 1 already tested, 0 skipped
    ");
}

#[test]
fn tests_go_to_foo_internal_test_go_when_foo_test_go_is_an_external_test_package() {
    let project = Project::new();
    let external = "package calc_test\n\nimport (\n\t\"testing\"\n\n\t\"example.com/calc\"\n)\n\nfunc TestAdd(t *testing.T) {\n\tif calc.Add(1, 2) != 3 {\n\t\tt.Fatal()\n\t}\n}\n";
    project
        .write("calc/go.mod", "module example.com/calc\n\ngo 1.19\n")
        .write(
            "calc/calc.go",
            "package calc\n\nfunc Add(a, b int) int { return a + b }\n\nfunc Sub(a, b int) int { return a - b }\n",
        )
        .write("calc/calc_test.go", external);
    let doc = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .success()
        .json();
    let report = file_report(&doc, "calc/calc.go");
    assert_eq!(report["test_file"], "calc/calc_internal_test.go");
    assert_eq!(names(&report["written"]), ["TestSub"]);
    assert_eq!(names(&report["already_tested"]), ["TestAdd"]);
    assert_eq!(project.read("calc/calc_test.go"), external);
    assert!(
        project
            .read("calc/calc_internal_test.go")
            .starts_with("package calc\n")
    );
    let again = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(again["summary"]["written"], 0);
}

#[test]
fn a_rust_binarys_tests_go_to_a_new_folder_below_it() {
    let project = Project::new();
    project
        .write(
            "tool/Cargo.toml",
            "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .write(
            "tool/src/bin/tool.rs",
            "fn main() {}\n\npub fn helper() -> u8 {\n    1\n}\n",
        );
    let doc = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .success()
        .json();
    let report = file_report(&doc, "tool/src/bin/tool.rs");
    assert_eq!(report["test_file"], "tool/src/bin/tool/tool_tests.rs");
    assert_eq!(names(&report["written"]), ["test_helper"]);
    assert!(
        project
            .read("tool/src/bin/tool/tool_tests.rs")
            .contains("fn test_helper()")
    );
    assert!(
        project
            .read("tool/src/bin/tool.rs")
            .contains("#[path = \"tool/tool_tests.rs\"]")
    );
}
