//! Issue 13, "real code, exact merges": a test file someone wrote keeps every line where it
//! was, tests of a build-constrained file go where the same constraint holds, and a test that
//! was not built is never called passed — each proved with the real go tool on a fixture named
//! after the bug it once was.

use crate::go_toolchain::go_tool;
use crate::util::Project;
use crate::verify::{testsmith, toolchain};
use std::path::PathBuf;
use std::process::Command;

const GO_MOD: &str = "module example.com/frames\n\ngo 1.19\n";

/// pkg/errors' stack_test.go asserts the line numbers of its own functions: adding
/// `"reflect"` to its import block shifted them all by one and its tests failed.
#[test]
fn a_test_asserting_its_own_line_numbers_passes_after_generate_needs_an_import_it_lacks() {
    let project = Project::new();
    let users_test = "package frames\n\nimport (\n\t\"runtime\"\n\t\"testing\"\n)\n\nfunc TestOwnLine(t *testing.T) {\n\t_, _, line, _ := runtime.Caller(0)\n\tif line != 9 {\n\t\tt.Fatalf(\"runtime.Caller says line %d, the file says 9\", line)\n\t}\n}\n";
    project
        .write("go.mod", GO_MOD)
        .write(
            "frames.go",
            "package frames\n\n// Split cuts s in two.\nfunc Split(s string) []string { return []string{s[:1], s[1:]} }\n",
        )
        .write("frames_test.go", users_test);
    let doc = testsmith(&project, &["generate", "--verify", "--format", "json"])
        .run()
        .success()
        .json();
    let report = &doc["files"][0];
    assert_eq!(report["test_file"], "frames_internal_test.go", "{doc}");
    assert_eq!(report["diverted"]["from"], "frames_test.go", "{doc}");
    assert_eq!(
        report["diverted"]["reason"],
        "it lacks the import \"reflect\", and adding it would move its lines"
    );
    assert_eq!(project.read("frames_test.go"), users_test);
    // Compiled and ran: an unedited scaffold counts as "empty", not passed.
    assert_eq!(doc["verify"]["totals"]["compiled"], 1, "{}", doc["verify"]);
    assert_eq!(doc["verify"]["totals"]["empty"], 1, "{}", doc["verify"]);
    // The user's own test still finds itself on line 9.
    let run = go_tool(
        project.root(),
        "go",
        &["test", "-count=1", "-run", "TestOwnLine", "-v", "."],
    );
    assert!(run.contains("--- PASS: TestOwnLine"), "{run}");

    // A second run finds TestSplit in the new file and writes nothing.
    let again = testsmith(&project, &["generate", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(again["summary"]["written"], 0, "{again}");
    assert_eq!(again["summary"]["already_tested"], 1, "{again}");
}

/// A scaffold in a test file someone wrote, replaced by a model's answer of another length,
/// moved every later line of the file, and a test asserting its own line numbers
/// (`runtime.Caller`, as pkg/errors' stack_test.go does) failed. Now a scaffold above a
/// line the user wrote stays (the member is skipped, saying why), and a scaffold at the end
/// whose answer needs an import the file lacks is taken out and its answer goes beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_scaffold_with_an_answer_never_moves_a_line_the_user_wrote() {
    let project = Project::new();
    let users_test = "package frames\n\nimport (\n\t\"runtime\"\n\t\"testing\"\n)\n\nfunc TestOwnLine(t *testing.T) {\n\t_, _, line, _ := runtime.Caller(0)\n\tif line != 9 {\n\t\tt.Fatalf(\"runtime.Caller says line %d, the file says 9\", line)\n\t}\n}\n";
    let join = "package frames\n\n// Join glues a and b.\nfunc Join(a, b string) string { return a + b }\n";
    project
        .write("go.mod", GO_MOD)
        .write("frames.go", join)
        .write("frames_test.go", users_test);
    // A scaffold for Join, appended; then the user writes a test below it, asserting its
    // own line; then Upper joins the source and its scaffold is appended below that.
    testsmith(&project, &["generate"]).run().success();
    let with_scaffold = project.read("frames_test.go");
    assert!(with_scaffold.contains("func TestJoin("), "{with_scaffold}");
    let later_line = with_scaffold.lines().count() + 3;
    let users_later = format!(
        "{with_scaffold}\nfunc TestLater(t *testing.T) {{\n\t_, _, line, _ := runtime.Caller(0)\n\tif line != {later_line} {{\n\t\tt.Fatalf(\"runtime.Caller says line %d, the file says {later_line}\", line)\n\t}}\n}}\n"
    );
    project.write("frames_test.go", &users_later).write(
        "frames.go",
        format!("{join}\n// Upper shouts.\nfunc Upper(s string) string {{ return strings.ToUpper(s) }}\n")
            .replace("package frames\n", "package frames\n\nimport \"strings\"\n"),
    );
    testsmith(&project, &["generate"]).run().success();
    let before_llm = project.read("frames_test.go");
    assert!(before_llm.starts_with(&users_later), "{before_llm}");
    assert!(before_llm.contains("func TestUpper("), "{before_llm}");

    // A model that answers at another length than the scaffolds, in prose, and needs
    // `strings` for Upper, which frames_test.go does not import.
    let answers = [
        (
            "TestJoin",
            "func TestJoin(t *testing.T) {\n\tif got := Join(\"a\", \"b\"); got != \"ab\" {\n\t\tt.Errorf(\"Join() = %q\", got)\n\t}\n}",
        ),
        (
            "TestUpper",
            "func TestUpper(t *testing.T) {\n\tif got := Upper(\"go\"); got != strings.ToUpper(\"go\") {\n\t\tt.Errorf(\"Upper() = %q\", got)\n\t}\n}",
        ),
    ];
    let (code, doc, _) =
        crate::fake_llm::generate_recorded(&project, &answers, &["--verify"]).await;
    assert_eq!(code, 0, "{doc}");
    let report = &doc["files"][0];
    let skipped = &report["skipped"];
    assert_eq!(skipped[0]["member"], "Join", "{doc}");
    assert_eq!(
        skipped[0]["reason"],
        format!(
            "its scaffold in frames_test.go stands above line {}, which you wrote, and \
             replacing it would move that line; delete the scaffold (or move it to the end of \
             the file) and run again",
            later_line - 1
        ),
        "{doc}"
    );
    assert_eq!(
        report["regenerated"],
        serde_json::json!(["TestUpper"]),
        "{doc}"
    );
    assert_eq!(report["test_file"], "frames_internal_test.go", "{doc}");
    assert_eq!(report["diverted"]["from"], "frames_test.go", "{doc}");
    // Every line the user wrote stands where it stood; only Upper's scaffold, the last
    // thing in the file, is gone.
    assert_eq!(project.read("frames_test.go"), users_later);
    let beside = project.read("frames_internal_test.go");
    assert!(beside.contains("strings.ToUpper(\"go\")"), "{beside}");
    assert!(!beside.contains("testsmith:scaffold"), "{beside}");
    assert_eq!(doc["verify"]["totals"]["passed"], 1, "{}", doc["verify"]);
    go_tool(project.root(), "go", &["vet", "."]);
    let run = go_tool(project.root(), "go", &["test", "-count=1", "-v", "."]);
    for test in ["TestOwnLine", "TestLater", "TestUpper", "TestJoin"] {
        assert!(run.contains(&format!("--- PASS: {test}")), "{run}");
    }

    // The next run has the same answers cached and nothing to change.
    let (code, again, _) = crate::fake_llm::generate_recorded(&project, &answers, &[]).await;
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["summary"]["written"], 0, "{again}");
    assert_eq!(again["summary"]["regenerated"], 0, "{again}");
    assert_eq!(project.read("frames_test.go"), users_later);
}

/// Scaffolds that went beside a user's test file (it lacked `reflect`) were never upgraded
/// by `--llm`: only scaffolds in the usual test file were replaced. The file beside it is
/// testsmith's own, so the answers replace them there, and the user's file stays as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_upgrades_the_scaffolds_that_went_to_a_file_beside_the_users() {
    let project = Project::new();
    let users_test = "package frames\n\nimport \"testing\"\n\nfunc TestMine(t *testing.T) {}\n";
    project
        .write("go.mod", GO_MOD)
        .write(
            "frames.go",
            "package frames\n\n// Split cuts s in two.\nfunc Split(s string) []string { return []string{s[:1], s[1:]} }\n",
        )
        .write("frames_test.go", users_test);
    testsmith(&project, &["generate"]).run().success();
    assert!(
        project
            .read("frames_internal_test.go")
            .contains("testsmith:scaffold")
    );
    let answers = [(
        "TestSplit",
        "func TestSplit(t *testing.T) {\n\tif got := Split(\"ab\"); len(got) != 2 || got[1] != \"b\" {\n\t\tt.Errorf(\"Split() = %q\", got)\n\t}\n}",
    )];
    let (code, doc, _) =
        crate::fake_llm::generate_recorded(&project, &answers, &["--verify"]).await;
    assert_eq!(code, 0, "{doc}");
    let report = &doc["files"][0];
    assert_eq!(report["test_file"], "frames_internal_test.go", "{doc}");
    assert_eq!(
        report["regenerated"],
        serde_json::json!(["TestSplit"]),
        "{doc}"
    );
    assert_eq!(doc["verify"]["totals"]["passed"], 1, "{}", doc["verify"]);
    let beside = project.read("frames_internal_test.go");
    assert!(!beside.contains("testsmith:scaffold"), "{beside}");
    assert!(beside.contains("got[1] != \"b\""), "{beside}");
    assert_eq!(project.read("frames_test.go"), users_test);
}

/// encoding/json and image/png: a member of a `//go:build` file was appended to an untagged
/// test file, which does not compile (`undefined: Slow`) without the tag.
#[test]
fn tests_of_a_build_constrained_file_go_to_a_test_file_with_the_same_constraint() {
    let project = Project::new();
    let users_test = "package frames\n\nimport \"testing\"\n\nfunc TestFast(t *testing.T) {\n\tif Fast() != 1 {\n\t\tt.Fatal()\n\t}\n}\n";
    project
        .write("go.mod", GO_MOD)
        .write("fast.go", "package frames\n\n// Fast is quick.\nfunc Fast() int { return 1 }\n")
        .write(
            "slow.go",
            "//go:build integration\n\npackage frames\n\n// Slow takes its time.\nfunc Slow(n int) int { return n }\n",
        )
        .write("slow_test.go", users_test);
    let run = testsmith(&project, &["generate"]).run().success();
    assert!(
        run.stdout.contains(
            "slow.go → slow_internal_test.go: 1 written\n  new test file beside slow_test.go: it \
             has no build constraint, its source `//go:build integration`\n"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(project.read("slow_test.go"), users_test);
    assert!(
        project
            .read("slow_internal_test.go")
            .starts_with("//go:build integration\n\npackage frames\n"),
        "{}",
        project.read("slow_internal_test.go")
    );
    // Untagged, the package builds; tagged, the new test runs.
    toolchain(project.root(), "go", &["vet", "."]);
    let tagged = toolchain(
        project.root(),
        "go",
        &[
            "test",
            "-count=1",
            "-tags",
            "integration",
            "-run",
            "TestSlow",
            "-v",
            ".",
        ],
    );
    assert!(tagged.contains("--- PASS: TestSlow"), "{tagged}");
}

/// A tagged test run without its tag ran nothing, and was reported passed.
#[test]
fn a_tagged_test_not_built_with_its_tag_is_not_verified_and_names_the_tag() {
    let project = Project::new();
    project.write("go.mod", GO_MOD).write(
        "slow.go",
        "//go:build integration\n\npackage frames\n\n// Slow takes its time.\nfunc Slow(n int) int { return n }\n",
    );
    let doc = testsmith(&project, &["generate", "--verify", "--format", "json"])
        .run()
        .success()
        .json();
    let entry = &doc["verify"]["tests"][0];
    assert_eq!(entry["test"], "TestSlow", "{doc}");
    assert_eq!(entry["status"], "not_verified", "{doc}");
    assert_eq!(
        entry["reason"],
        "its test file is not built: needs -tags integration"
    );
    assert_eq!(doc["verify"]["totals"]["passed"], 0);
    // Left out by the build selection, not unchecked: `generate` exits 0 (checked above);
    // the reason names the flag.
    assert_eq!(doc["verify"]["totals"]["unchecked"], 0, "{doc}");

    // `verify` finds the same, and with the tag the test builds and passes.
    testsmith(&project, &["verify"]).run().code(1);
    let tagged = testsmith(
        &project,
        &["verify", "--tags", "integration", "--format", "json"],
    )
    .run()
    .success()
    .json();
    assert_eq!(tagged["totals"]["compiled"], 1, "{tagged}");
    assert_eq!(tagged["totals"]["not_verified"], 0, "{tagged}");
}

/// `testsmith generate extlink`, a symlinked folder named on the command line, wrote into
/// the link's target outside the project, while `generate .` refused.
#[test]
fn generate_extlink_a_symlinked_folder_named_on_the_command_line_writes_nothing_outside() {
    let outside = Project::new();
    outside.write(
        "lib/c.go",
        "package lib\n\n// C is outside.\nfunc C() int { return 1 }\n",
    );
    let project = Project::new();
    project.write("go.mod", GO_MOD);
    std::os::unix::fs::symlink(outside.path("lib"), project.path("extlink")).unwrap();
    for named in ["extlink", "extlink/c.go"] {
        let run = project
            .testsmith(&["generate", "--format", "json", named])
            .run()
            .code(1);
        let error = run.json()["files"][0]["error"].as_str().unwrap().to_owned();
        assert!(error.contains("outside the project"), "{named}: {error}");
        assert!(!outside.exists("lib/c_test.go"), "{named}: wrote outside");
    }
}

#[test]
fn a_read_only_test_file_is_refused_with_a_reason_not_rewritten() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new();
    let users_test = "package frames\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n";
    project
        .write("go.mod", GO_MOD)
        .write(
            "a.go",
            "package frames\n\n// A is a.\nfunc A() {}\n\n// B is b.\nfunc B() {}\n",
        )
        .write("a_test.go", users_test);
    std::fs::set_permissions(
        project.path("a_test.go"),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    let run = project
        .testsmith(&["generate", "--format", "json"])
        .run()
        .code(1);
    let error = run.json()["files"][0]["error"].as_str().unwrap().to_owned();
    assert!(error.contains("a_test.go is read-only"), "{error}");
    assert_eq!(project.read("a_test.go"), users_test);
    let mode = std::fs::metadata(project.path("a_test.go"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o444);
}

#[test]
fn a_crlf_test_file_keeps_crlf_on_every_line_testsmith_adds() {
    let project = Project::new();
    let users_test =
        "package frames\r\n\r\nimport \"testing\"\r\n\r\nfunc TestA(t *testing.T) {}\r\n";
    project
        .write("go.mod", GO_MOD)
        .write(
            "a.go",
            "package frames\n\n// A is a.\nfunc A() {}\n\n// B is b.\nfunc B() {}\n",
        )
        .write("a_test.go", users_test);
    project.testsmith(&["generate"]).run().success();
    let after = project.read("a_test.go");
    assert!(after.starts_with(users_test), "{after:?}");
    assert!(
        after.contains("func TestB(t *testing.T) {\r\n"),
        "{after:?}"
    );
    assert_eq!(
        after.matches('\n').count(),
        after.matches("\r\n").count(),
        "{after:?}"
    );
    toolchain(project.root(), "go", &["vet", "."]);
}

#[test]
fn a_broken_testsmith_toml_is_an_error_for_every_command_not_only_llm() {
    let project = Project::new();
    project
        .write("a.go", "package frames\n\n// A is a.\nfunc A() {}\n")
        .write("testsmith.toml", "[llm]\nconcurency = 3\n");
    for args in [
        &["analyze"][..],
        &["generate"],
        &["generate", "--dry-run"],
        &["verify"],
        &["cache", "stats"],
        &["queue"],
    ] {
        let run = project.testsmith(args).run().code(2);
        assert!(
            run.stderr.contains("unknown key `concurency`"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(!project.exists("a_test.go"));
}

/// syn's `struct _Test where Error: Send + Sync;` and typenum's `where (): PrivateDiv<..>`
/// bounds are valid Rust that tree-sitter's grammar rejects: their files were reported as
/// syntax errors, got no tests, and the run exited 1.
#[test]
fn valid_rust_that_tree_sitter_rejects_is_no_syntax_error_and_gets_its_tests() {
    let project = Project::new();
    let lib = "pub trait PrivateDiv<D> {\n    type Output;\n}\n\nimpl PrivateDiv<u8> for () {\n    type Output = u8;\n}\n\n/// Quotient type.\npub type Quot<D> = <() as PrivateDiv<D>>::Output;\n\n/// Divides when the unit type knows how.\npub fn divide<D>(d: D) -> D\nwhere\n    (): PrivateDiv<D>,\n{\n    d\n}\n\n#[allow(dead_code)]\nstruct _Test\nwhere\n    u8: Send + Sync;\n\n/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";
    project
        .write(
            "Cargo.toml",
            "[package]\nname = \"bounds\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .write("src/lib.rs", lib);
    let analysis = project
        .testsmith(&["analyze", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(
        analysis["files"][0]["errors"],
        serde_json::json!([]),
        "{analysis}"
    );
    let doc = testsmith(&project, &["generate", "--verify", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(doc["summary"]["written"], 2, "{doc}");
    assert_eq!(doc["verify"]["totals"]["compiled"], 2, "{}", doc["verify"]);
}

/// A receiver built from its zero value panicked on the first case a developer added (a nil
/// map): the package's constructor builds it, its arguments in the table, its error checked.
#[test]
fn a_scaffold_builds_its_receiver_with_the_packages_constructor_and_survives_its_first_case() {
    let project = Project::new();
    project.write("go.mod", GO_MOD).write(
        "counter.go",
        "package frames\n\nimport \"errors\"\n\n// Counter counts words.\ntype Counter struct{ seen map[string]int }\n\n// NewCounter starts every count at start.\nfunc NewCounter(start int) (*Counter, error) {\n\tif start < 0 {\n\t\treturn nil, errors.New(\"negative start\")\n\t}\n\treturn &Counter{seen: map[string]int{\"\": start}}, nil\n}\n\n// Add counts word once more and returns its count.\nfunc (c *Counter) Add(word string) int {\n\tc.seen[word]++\n\treturn c.seen[word]\n}\n\n// Tally is a plain value.\ntype Tally struct{ n int }\n\n// New makes a Tally.\nfunc New(n int) Tally { return Tally{n: n} }\n\n// Count is n.\nfunc (t Tally) Count() int { return t.n }\n",
    );
    testsmith(&project, &["generate"]).run().success();
    let written = project.read("counter_test.go");
    assert!(
        written.contains(
            "\t\t\tc, err := NewCounter(tt.newArgs.start)\n\t\t\tif err != nil {\n\t\t\t\tt.Fatalf(\"NewCounter() error = %v\", err)\n\t\t\t}\n\t\t\tif got := c.Add(tt.args.word); got != tt.want {"
        ),
        "{written}"
    );
    assert!(
        written.contains("\t\t\ttally := New(tt.newArgs.n)\n"),
        "{written}"
    );
    let gofmt = go_tool(project.root(), "gofmt", &["-l", "counter_test.go"]);
    assert_eq!(gofmt, "", "gofmt would change the scaffolds:\n{written}");
    // The developer's first case runs instead of panicking on a nil map.
    let at = written.find("func TestCounter_Add(").unwrap();
    let filled = format!(
        "{}{}",
        &written[..at],
        written[at..].replacen(
            "// TODO: Add test cases.",
            "{name: \"first\", newArgs: newArgs{start: 0}, args: args{word: \"go\"}, want: 1},",
            1,
        )
    );
    project.write("counter_test.go", filled);
    toolchain(project.root(), "go", &["vet", "."]);
    let run = toolchain(
        project.root(),
        "go",
        &["test", "-count=1", "-run", "TestCounter_Add", "-v", "."],
    );
    assert!(run.contains("--- PASS: TestCounter_Add/first"), "{run}");
}

/// `--dry-run` lines said "6 written" for tests that were not.
#[test]
fn dry_run_lines_say_would_be_written() {
    let project = Project::new();
    project.write("go.mod", GO_MOD).write(
        "a.go",
        "package frames\n\n// A is a.\nfunc A() {}\n\n// B is b.\nfunc B() {}\n",
    );
    let run = project
        .testsmith(&["generate", "--dry-run"])
        .run()
        .success();
    assert!(
        run.stdout
            .contains("a.go → a_test.go: 2 would be written\n"),
        "{}",
        run.stdout
    );
    assert!(!project.exists("a_test.go"));
}

/// `queue`, `cache` and `resume` created `.testsmith/` in whatever folder they ran from.
#[test]
fn queue_cache_and_resume_create_no_state_folder_where_they_run() {
    let project = Project::new();
    for args in [
        &["queue"][..],
        &["queue", "--format", "json"],
        &["queue", "clear"],
        &["cache", "stats"],
        &["cache", "clear"],
        &["resume"],
    ] {
        project.testsmith(args).run().success();
        assert!(
            !project.exists(".testsmith"),
            "{args:?} created .testsmith/"
        );
    }
    let stats = project.testsmith(&["cache", "stats"]).run().success();
    assert!(
        stats.stdout.starts_with("0 cached answers ("),
        "{}",
        stats.stdout
    );
}

/// strings, bytes, sort, errors: packages `testing` itself imports. A test in `package errors`
/// imports `testing`, which imports `errors` — an import cycle, and the package's tests no
/// longer compile. Their tests are external (`package errors_test`, the package imported and
/// its names qualified) in a file of testsmith's own; Go's own test files stay byte for
/// byte. A model's answer written as an internal test (unqualified `New`) is qualified.
/// Proved on a copy of GOROOT whose `src/errors` is a real copy and whose every other entry
/// is a link to the real one (`GOROOT=<copy>`): cheap, and the go tool's own rules decide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_that_testing_imports_gets_external_tests_that_compile_vet_and_run() {
    let real = Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .expect("go runs (.ci/run installs golang-go)");
    let real = PathBuf::from(String::from_utf8(real.stdout).unwrap().trim())
        .canonicalize()
        .unwrap();
    let project = Project::new();
    let goroot = project.path("goroot");
    std::fs::create_dir_all(goroot.join("src")).unwrap();
    for entry in std::fs::read_dir(&real).unwrap() {
        let entry = entry.unwrap().path();
        if entry.file_name().unwrap() != "src" {
            std::os::unix::fs::symlink(&entry, goroot.join(entry.file_name().unwrap())).unwrap();
        }
    }
    for entry in std::fs::read_dir(real.join("src")).unwrap() {
        let entry = entry.unwrap().path();
        if entry.file_name().unwrap() != "errors" {
            std::os::unix::fs::symlink(&entry, goroot.join("src").join(entry.file_name().unwrap()))
                .unwrap();
        }
    }
    crate::util::copy_dir(&real.join("src/errors"), &goroot.join("src/errors"));
    let go = |args: &[&str]| {
        let output = Command::new("go")
            .args(args)
            .current_dir(goroot.join("src"))
            .env("GOROOT", &goroot)
            .env("GOCACHE", crate::go_toolchain::go_cache())
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "go {args:?}:\n{text}");
        text
    };
    go(&["test", "-count=1", "-run", "^$", "errors"]);
    let tests_before: Vec<_> = test_files(&goroot.join("src/errors"));

    let doc = project
        .testsmith(&[
            "generate",
            "goroot/src/errors",
            "--verify",
            "--format",
            "json",
        ])
        .env("GOROOT", goroot.to_str().unwrap())
        .env("GOCACHE", crate::go_toolchain::go_cache().to_str().unwrap())
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .run()
        .success()
        .json();
    let errors_go = crate::fake_llm::entry(&doc["files"], "path", "goroot/src/errors/errors.go");
    assert_eq!(
        errors_go["test_file"], "goroot/src/errors/errors_testsmith_test.go",
        "{doc}"
    );
    assert_eq!(
        errors_go["written"],
        serde_json::json!(["TestNew"]),
        "{doc}"
    );
    assert_eq!(doc["verify"]["totals"]["compiled"], 1, "{}", doc["verify"]);
    let written = project.read("goroot/src/errors/errors_testsmith_test.go");
    assert!(
        written.starts_with("package errors_test\n\nimport (\n\t\"errors\"\n"),
        "{written}"
    );
    assert!(written.contains("errors.New(tt.args.text)"), "{written}");
    // Go's own test files are as they were; the package vets and its tests pass.
    let after: Vec<_> = test_files(&goroot.join("src/errors"))
        .into_iter()
        .filter(|(name, _)| name != "errors_testsmith_test.go")
        .collect();
    assert_eq!(after, tests_before);
    go(&["vet", "errors"]);
    let run = go(&["test", "-count=1", "-v", "-run", "TestNew$", "errors"]);
    assert!(run.contains("--- PASS: TestNew"), "{run}");

    // A model that writes an internal test: `New` unqualified, a package clause of its own.
    let answers = [(
        "TestNew",
        "package errors\n\nfunc TestNew(t *testing.T) {\n\tif New(\"boom\").Error() != \"boom\" {\n\t\tt.Fatal(\"New lost its text\")\n\t}\n}",
    )];
    let (server, _) = crate::fake_llm::recording(&answers).await;
    let run = crate::fake_llm::generate_llm(
        &project,
        &server,
        &[
            "goroot/src/errors/errors.go",
            "--verify",
            "--format",
            "json",
        ],
    )
    .env("GOROOT", goroot.to_str().unwrap())
    .env("GOCACHE", crate::go_toolchain::go_cache().to_str().unwrap())
    .env("GOPROXY", "off")
    .env("GOTOOLCHAIN", "local");
    let finished = crate::util::run_async(run).await;
    let llm: serde_json::Value = serde_json::from_str(&finished.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", finished.stdout, finished.stderr));
    assert_eq!(finished.code, 0, "{llm}");
    assert_eq!(llm["summary"]["regenerated"], 1, "{llm}");
    assert_eq!(llm["verify"]["totals"]["passed"], 1, "{}", llm["verify"]);
    let written = project.read("goroot/src/errors/errors_testsmith_test.go");
    assert!(written.contains("errors.New(\"boom\")"), "{written}");
    go(&["vet", "errors"]);
    let run = go(&["test", "-count=1", "-v", "-run", "TestNew$", "errors"]);
    assert!(run.contains("--- PASS: TestNew"), "{run}");
}

fn test_files(folder: &std::path::Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with("_test.go"))
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A member under `#[cfg(not(test))]` got its test under that same cfg: a test that is never
/// compiled, reported as written. It is skipped, saying why; the other members' tests build.
#[test]
fn a_rust_member_only_built_outside_tests_is_skipped_with_the_reason() {
    let project = Project::new();
    let lib = "/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n\
               /// The real clock, which tests replace.\n#[cfg(not(test))]\npub fn now() -> u64 {\n    7\n}\n\n\
               #[cfg(all(unix, not(test)))]\npub mod live {\n    /// Dials.\n    pub fn dial() -> bool {\n        true\n    }\n}\n";
    project
        .write(
            "Cargo.toml",
            "[package]\nname = \"clock\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .write("src/lib.rs", lib);
    let doc = testsmith(&project, &["generate", "--verify", "--format", "json"])
        .run()
        .success()
        .json();
    let skipped = &doc["files"][0]["skipped"];
    assert_eq!(
        skipped,
        &serde_json::json!([
            {"member": "now", "reason": "only built outside tests (#[cfg(not(test))]), so no test can call it"},
            {"member": "live::dial", "reason": "only built outside tests (#[cfg(all(unix, not(test)))]), so no test can call it"},
        ]),
        "{doc}"
    );
    assert_eq!(doc["summary"]["written"], 1, "{doc}");
    assert_eq!(doc["verify"]["totals"]["compiled"], 1, "{}", doc["verify"]);
    let tests = project.read("src/lib_tests.rs");
    assert!(!tests.contains("not(test)"), "{tests}");
    toolchain(project.root(), "cargo", &["test", "--quiet"]);
}

/// `import . "lib"` and `l2 "lib"`: a scaffold naming the dot-imported `T` got no import
/// (`undefined: T`) and was dropped.
#[test]
fn dot_imports_and_aliases_are_carried_into_the_test_file_as_written() {
    let project = Project::new();
    project
        .write("go.mod", "module example.com/dot\n\ngo 1.19\n")
        .write("lib/lib.go", "package lib\n\n// T is a thing.\ntype T struct{ N int }\n")
        .write(
            "app/app.go",
            "package app\n\nimport (\n\t. \"example.com/dot/lib\"\n\tl2 \"example.com/dot/lib\"\n)\n\n\
             // Make makes a T.\nfunc Make(n int) T { return T{N: n} }\n\n\
             // Other makes another.\nfunc Other(n int) l2.T { return l2.T{N: n} }\n",
        );
    let doc = testsmith(
        &project,
        &["generate", "--verify", "app", "--format", "json"],
    )
    .run()
    .success()
    .json();
    assert_eq!(doc["verify"]["totals"]["compiled"], 2, "{}", doc["verify"]);
    assert_eq!(doc["verify"]["totals"]["dropped"], 0, "{}", doc["verify"]);
    let written = project.read("app/app_test.go");
    assert!(
        written.contains("\t. \"example.com/dot/lib\"\n\tl2 \"example.com/dot/lib\"\n"),
        "{written}"
    );
    toolchain(project.root(), "go", &["vet", "./..."]);
}

/// either's serde modules: a member under `#[cfg(feature = "serde")]` got a test without
/// the cfg, which does not compile without the feature; and the message did not name it.
#[test]
fn a_member_under_a_feature_cfg_gets_its_test_under_the_same_cfg_and_names_the_feature() {
    let project = Project::new();
    project
        .write(
            "Cargo.toml",
            "[package]\nname = \"feat\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nserde = []\n",
        )
        .write(
            "src/lib.rs",
            "/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n\
             /// Only with serde.\n#[cfg(feature = \"serde\")]\npub fn to_text(a: i32) -> String {\n    a.to_string()\n}\n\n\
             #[cfg(feature = \"serde\")]\npub mod wire {\n    /// Encodes.\n    pub fn encode(a: i32) -> String {\n        a.to_string()\n    }\n}\n",
        );
    let doc = testsmith(&project, &["generate", "--verify", "--format", "json"])
        .run()
        .success()
        .json();
    let tests = project.read("src/lib_tests.rs");
    for test in ["fn test_to_text()", "fn test_wire_encode()"] {
        let at = tests
            .find(test)
            .unwrap_or_else(|| panic!("{test}:\n{tests}"));
        let before = &tests[..at];
        let attributes = &before[before.rfind("// testsmith:scaffold").unwrap()..];
        assert!(
            attributes.contains("#[cfg(feature = \"serde\")]\n#[test]\n"),
            "{tests}"
        );
    }
    assert!(
        !tests[..tests.find("fn test_add()").unwrap()]
            .rsplit("// testsmith:scaffold")
            .next()
            .unwrap()
            .contains("cfg(")
    );
    let reasons: Vec<&str> = doc["verify"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|test| test["status"] == "not_verified")
        .map(|test| test["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons, ["it is not built: needs --features serde"; 2],
        "{}",
        doc["verify"]
    );
    // Both builds compile.
    toolchain(project.root(), "cargo", &["test", "--quiet"]);
    let with = testsmith(
        &project,
        &["verify", "--features", "serde", "--format", "json"],
    )
    .run()
    .success()
    .json();
    assert_eq!(with["totals"]["compiled"], 3, "{with}");
}

/// The README promises that `-v` adds statistics; it printed none.
#[test]
fn verbose_prints_the_statistics_the_readme_promises() {
    let project = Project::new();
    project.write("go.mod", GO_MOD).write(
        "frames.go",
        "package frames\n\n// Split cuts s in two.\nfunc Split(s string) []string { return []string{s[:1], s[1:]} }\n",
    );
    let statistics = |args: &[&str]| {
        let run = project.testsmith(args).run().success();
        run.stdout
            .lines()
            .find(|line| line.starts_with("statistics: "))
            .unwrap_or_else(|| panic!("no statistics line:\n{}", run.stdout))
            .to_owned()
    };
    let analyzed = statistics(&["analyze", "-v"]);
    assert!(
        analyzed.starts_with("statistics: 1 file read in ") && analyzed.ends_with(" members/s)"),
        "{analyzed}"
    );
    let generated = statistics(&["generate", "-v"]);
    assert!(
        generated.starts_with("statistics: 1 source file in ")
            && generated.ends_with("; 1 file written"),
        "{generated}"
    );
    // Without -v: no statistics.
    let quiet = project.testsmith(&["analyze"]).run().success();
    assert!(!quiet.stdout.contains("statistics:"), "{}", quiet.stdout);
}
