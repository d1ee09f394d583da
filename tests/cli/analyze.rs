//! `testsmith analyze`: output shapes, walking rules, and bad input.

use crate::util::{Project, is_root, open_to_everyone};

const GO_FILE: &str = "package shapes\n\n// Area is documented.\nfunc Area(w, h int) int { return w * h }\n\nfunc hidden() {}\n\ntype Square struct{ side int }\n\nfunc (s *Square) Grow(by int) { s.side += by }\n";
const RUST_FILE: &str = "/// Adds.\npub fn add(a: i32, b: i32) -> i32 { a + b }\n\nfn private() {}\n\npub struct Counter(u32);\n\nimpl Counter {\n    pub fn bump(&mut self) { self.0 += 1 }\n}\n";

fn small_project() -> Project {
    let project = Project::new();
    project
        .write("go/shapes.go", GO_FILE)
        .write("go/shapes_test.go", "package shapes\n")
        .write("rs/src/lib.rs", RUST_FILE)
        .write(
            "rs/src/geometry/circle.rs",
            "pub fn area(r: f64) -> f64 { r * r * 3.14 }\n",
        );
    project
}

#[test]
fn json_output_is_one_document_with_files_members_and_summary() {
    let project = small_project();
    let run = project
        .testsmith(&["analyze", "--format", "json"])
        .run()
        .success();
    let doc = run.json();
    let files = doc["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        ["go/shapes.go", "rs/src/geometry/circle.rs", "rs/src/lib.rs"]
    );

    let go = &files[0];
    assert_eq!(go["language"], "go");
    assert_eq!(go["package"], "shapes");
    let names: Vec<(&str, &str)> = go["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("function", "Area"),
            ("struct", "Square"),
            ("method", "Grow")
        ]
    );
    let grow = &go["members"][2];
    assert_eq!(grow["owner"], "Square");
    assert_eq!(grow["start_line"], 10);
    assert_eq!(go["members"][0]["doc"], "Area is documented.");
    assert_eq!(go["members"][0]["owner"], serde_json::Value::Null);

    assert_eq!(files[1]["module"], "crate::geometry::circle");
    assert_eq!(files[2]["module"], "crate");
    assert_eq!(files[2]["language"], "rust");

    let summary = &doc["summary"];
    assert_eq!(summary["files"], 3);
    assert_eq!(summary["test_files"], 1);
    assert_eq!(summary["members"], 7);
    assert_eq!(summary["kinds"]["method"], 2);
}

#[test]
fn paths_are_the_given_path_joined_with_the_path_below_it() {
    let project = small_project();
    let doc = project
        .testsmith(&["analyze", "--format", "json", "rs/src"])
        .run()
        .success()
        .json();
    let paths: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["rs/src/geometry/circle.rs", "rs/src/lib.rs"]);
}

#[test]
fn text_output_is_a_tree_per_file_then_a_summary() {
    let project = small_project();
    let run = project.testsmith(&["analyze", "go"]).run().success();
    insta::assert_snapshot!(run.stdout, @r"
    go/shapes.go  (package shapes)
      function  Area  :4
      struct    Square  :8
      method    (*Square).Grow  :10
    1 file, 3 members (1 function, 1 method, 1 struct); 0 with syntax errors, 0 skipped, 0 failed; 1 test file not analysed
    ");
}

#[test]
fn lang_flag_limits_the_run_to_one_language() {
    let project = small_project();
    let doc = project
        .testsmith(&["analyze", "--format", "json", "--lang", "rust"])
        .run()
        .success()
        .json();
    assert!(
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["language"] == "rust")
    );
    assert_eq!(doc["summary"]["files"], 2);
}

#[test]
fn gitignored_hidden_vendor_testdata_and_target_folders_are_skipped() {
    let project = small_project();
    project
        .write(".gitignore", "generated/\n")
        .write("generated/gen.go", "package gen\nfunc Gen() {}\n")
        .write(".hidden/h.go", "package h\nfunc H() {}\n")
        .write("go/vendor/v/v.go", "package v\nfunc V() {}\n")
        .write("go/testdata/t.go", "package t\nfunc T() {}\n")
        .write("rs/target/debug/build/out.rs", "pub fn built() {}\n");
    let doc = project
        .testsmith(&["analyze", "--format", "json"])
        .run()
        .success()
        .json();
    let paths: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["go/shapes.go", "rs/src/geometry/circle.rs", "rs/src/lib.rs"]
    );
}

#[test]
fn folders_and_files_named_explicitly_are_analysed_even_when_excluded() {
    let project = small_project();
    project
        .write(".gitignore", "generated/\n")
        .write("generated/gen.go", "package gen\nfunc Gen() {}\n")
        .write("go/vendor/v/v.go", "package v\nfunc V() {}\n");
    let doc = project
        .testsmith(&[
            "analyze",
            "--format",
            "json",
            "go/vendor",
            "generated/gen.go",
        ])
        .run()
        .success()
        .json();
    let paths: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["generated/gen.go", "go/vendor/v/v.go"]);
}

#[test]
fn a_file_with_syntax_errors_is_still_analysed_flagged_and_fails_the_run() {
    let project = Project::new();
    project.write(
        "broken.go",
        "package broken\n\nfunc Good() int { return 1 }\n\nfunc Bad( {\n\nfunc AlsoGood() {}\n",
    );
    let run = project
        .testsmith(&["analyze", "--format", "json"])
        .run()
        .code(1);
    let doc = run.json();
    let file = &doc["files"][0];
    let names: Vec<&str> = file["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Good"), "recovered members: {names:?}");
    assert!(!file["errors"].as_array().unwrap().is_empty());
    assert_eq!(doc["summary"]["files_with_syntax_errors"], 1);
    assert!(
        run.stderr.contains("broken.go:5:"),
        "stderr: {}",
        run.stderr
    );
}

#[test]
fn binary_and_non_utf8_files_are_skipped_with_a_reason_and_the_rest_analysed() {
    let project = Project::new();
    project
        .write("ok.go", "package ok\nfunc OK() {}\n")
        .write("blob.go", b"package blob\x00\x01\x02")
        .write("latin1.rs", b"pub fn caf\xe9() {}\n");
    let run = project
        .testsmith(&["analyze", "--format", "json"])
        .run()
        .success();
    let doc = run.json();
    assert_eq!(doc["summary"]["files"], 1);
    let skipped = doc["summary"]["skipped"].as_array().unwrap();
    let reasons: Vec<(&str, &str)> = skipped
        .iter()
        .map(|s| (s["path"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("blob.go", "binary file"),
            ("latin1.rs", "not valid UTF-8 (first bad byte at offset 10)")
        ]
    );
    assert!(
        run.stderr
            .contains("warning: blob.go: skipped: binary file")
    );
}

#[test]
fn a_symlink_loop_is_reported_and_the_run_goes_on() {
    let project = Project::new();
    project.write("pkg/a.go", "package pkg\nfunc A() {}\n");
    std::os::unix::fs::symlink("..", project.path("pkg/loop")).unwrap();
    let run = project
        .testsmith(&["analyze", "--format", "json"])
        .run()
        .code(1);
    let doc = run.json();
    assert_eq!(doc["summary"]["files"], 1);
    let failed = doc["summary"]["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("symlink loop")
    );
    assert!(
        run.stderr.contains("symlink loop"),
        "stderr: {}",
        run.stderr
    );
}

#[test]
fn an_unreadable_folder_is_reported_and_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new();
    project
        .write("open/a.go", "package open\nfunc A() {}\n")
        .write("locked/b.go", "package locked\nfunc B() {}\n");
    open_to_everyone(project.root());
    std::fs::set_permissions(
        project.path("locked"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let run = project
        .testsmith(&["analyze", "--format", "json"])
        .unprivileged()
        .run()
        .code(1);
    let doc = run.json();
    assert_eq!(doc["summary"]["files"], 1, "root: {}", is_root());
    assert_eq!(doc["files"][0]["path"], "open/a.go");
    assert_eq!(doc["summary"]["failed"][0]["path"], "locked");
    assert_eq!(doc["summary"]["failed"][0]["reason"], "permission denied");
    std::fs::set_permissions(
        project.path("locked"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

#[test]
fn a_missing_path_is_reported_and_the_others_analysed() {
    let project = small_project();
    let run = project
        .testsmith(&["analyze", "--format", "json", "nope", "go"])
        .run()
        .code(1);
    assert_eq!(run.json()["summary"]["files"], 1);
    assert!(run.stderr.contains("error: nope: no such file or folder"));
}

#[test]
fn a_folder_without_go_or_rust_files_is_a_usage_error_with_help() {
    let project = Project::new();
    project.write("docs/readme.md", "# hi\n");
    let run = project.testsmith(&["analyze", "docs"]).run().code(2);
    assert!(
        run.stderr
            .starts_with("error: no Go or Rust files found in docs")
    );
    assert!(run.stderr.contains("help: "));
}

#[test]
fn unknown_flags_are_usage_errors() {
    let project = Project::new();
    project
        .testsmith(&["analyze", "--frobnicate"])
        .run()
        .code(2);
    project
        .testsmith(&["analyze", "--lang", "cobol"])
        .run()
        .code(2);
}

#[test]
fn a_closed_pipe_ends_the_run_quietly_with_success() {
    use std::io::Read;
    let project = Project::new();
    let mut source = String::from("package big\n");
    for i in 0..4000 {
        source.push_str(&format!("func Exported{i}() {{}}\n"));
    }
    for n in 0..8 {
        project.write(&format!("big{n}.go"), &source);
    }
    let mut run = project.testsmith(&["analyze"]);
    let mut child = run
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).is_empty());
}
