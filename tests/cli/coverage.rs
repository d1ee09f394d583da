//! `testsmith coverage` with the real Go toolchain: per-member and total figures equal
//! `go tool cover -func` on a profile of the same tests — on a small module whose tests use
//! other names than the members they exercise, and on a real package (hashicorp/golang-lru
//! from Debian, copied at test time; `--profile` reads the toolchain's own profile); a package without tests is counted, nothing is written
//! into the project, `--fail-under` gates with exit code 3, and tests that do not build are
//! reported with exit code 1.

use crate::util::{Project, copy_dir};
use crate::verify::{toolchain, with_toolchains};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Where Debian's golang-github-hashicorp-golang-lru-dev puts the package's sources.
const LRU_SOURCES: &str = "/usr/share/gocode/src/github.com/hashicorp/golang-lru";

/// A module whose test is named after no member: `TestSumsPositives` exercises `Add` (one
/// of its branches), `Other` runs in no test, and package `b` has no tests at all.
fn small_module(project: &Project) {
    project.write("go.mod", "module example.com/m\n\ngo 1.19\n");
    project.write(
        "a/a.go",
        "package a\n\n// Add adds.\nfunc Add(x, y int) int {\n\tif x > 0 {\n\t\treturn x + y\n\t}\n\treturn y\n}\n\n\
         func Other() int { return 1 }\n\ntype T struct{}\n\nfunc (T) Name() string {\n\treturn \"t\"\n}\n\n\
         func (t *T) Twice() string {\n\treturn t.Name() + t.Name()\n}\n",
    );
    project.write(
        "a/a_test.go",
        "package a\n\nimport \"testing\"\n\nfunc TestSumsPositives(t *testing.T) {\n\
         \tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"no\")\n\t}\n\tvar x T\n\t_ = x.Twice()\n}\n",
    );
    project.write(
        "b/b.go",
        "package b\n\nfunc B(x int) int {\n\tx++\n\treturn x * 2\n}\n",
    );
}

/// `testsmith coverage --format json ARGS` in `dir`, with its exit code.
fn coverage(project: &Project, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["coverage", "--format", "json"];
    all.extend(args);
    let finished = with_toolchains(project.testsmith(&all)).run();
    let doc = serde_json::from_str(&finished.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", finished.stdout, finished.stderr));
    (finished.code, doc, finished.stderr)
}

/// `go test -coverprofile` over the module at `dir`, written to `profile`.
fn go_test_profile(dir: &Path, profile: &Path) {
    toolchain(
        dir,
        "go",
        &[
            "test",
            "-count=1",
            "-covermode=set",
            &format!("-coverprofile={}", profile.display()),
            "./...",
        ],
    );
}

/// `go tool cover -func` on `profile`: percent per `file:line` (relative to the module at
/// `dir`) and the total.
fn go_cover_func(dir: &Path, module: &str, profile: &Path) -> (BTreeMap<String, String>, String) {
    let listing = toolchain(
        dir,
        "go",
        &["tool", "cover", &format!("-func={}", profile.display())],
    );
    let mut per_function = BTreeMap::new();
    let mut total = String::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let percent = fields.last().unwrap().trim_end_matches('%').to_owned();
        if fields[0] == "total:" {
            total = percent;
        } else {
            let place = fields[0].trim_end_matches(':');
            let place = place.strip_prefix(&format!("{module}/")).unwrap_or(place);
            per_function.insert(place.to_owned(), percent);
        }
    }
    (per_function, total)
}

/// `executed / total` as the toolchain prints a percentage.
fn percent(executed: &Value, total: &Value) -> String {
    let (executed, total) = (executed.as_u64().unwrap(), total.as_u64().unwrap());
    format!("{:.1}", 100.0 * executed as f64 / total.max(1) as f64)
}

/// Every member's figure equals the toolchain's for the function at the same place; returns
/// how many members were compared.
#[track_caller]
fn assert_members_match(doc: &Value, toolchain: &BTreeMap<String, String>, prefix: &str) -> usize {
    let mut compared = 0;
    for package in doc["packages"].as_array().unwrap() {
        for member in package["members"].as_array().unwrap() {
            let file = member["file"].as_str().unwrap();
            let file = file.strip_prefix(prefix).unwrap_or(file);
            let place = format!("{file}:{}", member["line"]);
            let expected = toolchain
                .get(&place)
                .unwrap_or_else(|| panic!("go tool cover lists nothing at {place}: {toolchain:?}"));
            assert_eq!(
                &percent(&member["executed"], &member["total"]),
                expected,
                "{place} {}",
                member["member"]
            );
            compared += 1;
        }
    }
    compared
}

fn member<'d>(doc: &'d Value, name: &str) -> &'d Value {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|package| package["members"].as_array().unwrap())
        .find(|member| member["member"] == name)
        .unwrap_or_else(|| panic!("no member {name} in {doc}"))
}

#[test]
fn coverage_decides_what_is_tested_whatever_the_tests_are_called_and_matches_go_tool_cover() {
    let project = Project::new();
    small_module(&project);
    let before = files_of(project.root());
    let (code, doc, stderr) = coverage(&project, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        files_of(project.root()),
        before,
        "coverage wrote into the project"
    );

    let add = member(&doc, "Add");
    assert_eq!((&add["executed"], &add["total"]), (&2.into(), &3.into()));
    assert_eq!(add["status"], "partly");
    assert_eq!(
        add["missed_lines"],
        serde_json::json!([{"first": 8, "last": 8}])
    );
    assert_eq!(member(&doc, "T.Name")["status"], "covered");
    assert_eq!(member(&doc, "Other")["status"], "untested");
    assert_eq!(member(&doc, "B")["status"], "untested");
    assert_eq!(
        member(&doc, "B")["total"],
        2,
        "a package without tests is counted"
    );
    assert_eq!(doc["untested"], 2);

    // The toolchain's figures, with b given a test that runs nothing (go test skips a
    // package without tests; testsmith counts it the same way).
    project.write("b/b_test.go", "package b\n");
    let profile = project.root().with_extension("cover");
    go_test_profile(project.root(), &profile);
    std::fs::remove_file(project.path("b/b_test.go")).unwrap();
    let (functions, _) = go_cover_func(project.root(), "example.com/m", &profile);
    std::fs::remove_file(&profile).unwrap();
    assert_eq!(assert_members_match(&doc, &functions, ""), 5);
    // 2 of Add, 1 of Name and 1 of Twice executed; Add 3, Other 1, Name 1, Twice 1, B 2.
    assert_eq!(doc["total"], serde_json::json!({"executed": 4, "total": 8}));
}

#[test]
fn coverage_of_a_real_package_equals_the_toolchains_per_member_and_in_total() {
    let project = Project::new();
    let sources = Path::new(LRU_SOURCES);
    assert!(
        sources.is_dir(),
        "{LRU_SOURCES} is missing; install Debian's golang-github-hashicorp-golang-lru-dev \
         (.ci/run does)"
    );
    copy_dir(sources, &project.path("lru"));
    let (code, doc, stderr) = coverage(&project, &["lru"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        doc["packages"].as_array().unwrap().len(),
        2,
        "lru and lru/simplelru"
    );
    assert!(doc["total"]["total"].as_u64().unwrap() > 300, "{doc}");

    // The tests draw random keys, so two runs may execute different statements: compare on
    // one profile, the one `go test` wrote.
    let profile = project.path("toolchain.cover");
    go_test_profile(&project.path("lru"), &profile);
    let (code, doc, stderr) = coverage(&project, &["--profile", "toolchain.cover", "lru"]);
    assert_eq!(code, 0, "{stderr}");
    let (functions, total) = go_cover_func(
        &project.path("lru"),
        "github.com/hashicorp/golang-lru",
        &profile,
    );
    let compared = assert_members_match(&doc, &functions, "lru/");
    assert!(compared >= 40, "only {compared} members compared");
    assert_eq!(
        percent(&doc["total"]["executed"], &doc["total"]["total"]),
        total
    );
}

#[test]
fn fail_under_gates_on_the_total_with_exit_code_3() {
    let project = Project::new();
    small_module(&project);
    let (code, doc, stderr) = coverage(&project, &["--fail-under", "50.1"]);
    assert_eq!(doc["percent"], 50.0);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("coverage 50.0% is below --fail-under 50.1%"),
        "{stderr}"
    );
    let (code, _, stderr) = coverage(&project, &["--fail-under", "50"]);
    assert_eq!(code, 0, "{stderr}");

    let text = with_toolchains(project.testsmith(&["coverage", "a"])).run();
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout
            .contains("  Other       a/a.go:11  0/1    0.0%  no test executes it\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(
            "total: 4/6 statements executed (66.7%) in 1 package; 1 member no test executes"
        ),
        "{}",
        text.stdout
    );
}

#[test]
fn tests_that_do_not_build_are_reported_and_the_other_packages_still_measured() {
    let project = Project::new();
    small_module(&project);
    project.write(
        "b/b_test.go",
        "package b\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) {\n\tB(\"x\")\n}\n",
    );
    let (code, doc, stderr) = coverage(&project, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("error: b: the tests do not build"),
        "{stderr}"
    );
    assert!(
        stderr.contains("b_test.go:6"),
        "the compiler's message: {stderr}"
    );
    assert_eq!(doc["packages"].as_array().unwrap().len(), 1);
    assert_eq!(doc["packages"][0]["package"], "a");
}

/// Every file under `dir`, relative, sorted.
/// The project's files, without testsmith's own `.testsmith/` (its state and the private
/// build folder confined commands write to).
fn files_of(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path == dir.join(".testsmith") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_rust_crate_beside_go_code_is_measured_as_one_package_of_its_own() {
    let project = Project::new();
    small_module(&project);
    project.write(
        "crate/Cargo.toml",
        "[package]\nname = \"c\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    project.write(
        "crate/src/lib.rs",
        "pub mod m;\npub fn c() -> u8 {\n    1\n}\n",
    );
    project.write("crate/src/m.rs", "pub fn d() -> u8 {\n    2\n}\n");
    let (code, doc, stderr) = coverage(&project, &[]);
    assert_eq!(code, 0, "{stderr}");
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(
        packages.len(),
        3,
        "a, b and the crate, whose two folders are one: {doc}"
    );
    let rust = packages
        .iter()
        .find(|package| package["language"] == "rust")
        .unwrap();
    assert_eq!(rust["package"], "crate");
    assert_eq!(rust["unit"], "regions");
    // No test: each function's three regions (its signature, its body, its closing
    // brace) never run.
    assert_eq!(
        rust["total"],
        serde_json::json!({"executed": 0, "total": 6})
    );
    assert_eq!(member(&doc, "c")["status"], "untested");
    assert_eq!(member(&doc, "d")["status"], "untested");
    assert_eq!(doc["packages"][0]["unit"], "statements");
}

fn file_report<'d>(doc: &'d Value, path: &str) -> &'d Value {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["path"] == path)
        .unwrap_or_else(|| panic!("no report of {path} in {doc}"))
}

#[test]
fn generate_with_coverage_scaffolds_only_what_no_test_executes_whatever_the_tests_are_called() {
    let project = Project::new();
    small_module(&project);
    // A dry run measures and plans the same, and writes nothing.
    let before = files_of(project.root());
    let dry = with_toolchains(project.testsmith(&["generate", "--coverage", "--dry-run"]))
        .run()
        .success();
    assert!(
        dry.stdout.contains("+func TestOther(t *testing.T) {"),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("+func TestAdd("), "{}", dry.stdout);
    assert_eq!(files_of(project.root()), before);
    let doc = with_toolchains(project.testsmith(&["generate", "--coverage", "--format", "json"]))
        .run()
        .success()
        .json();
    let a = file_report(&doc, "a/a.go");
    // Name and Twice run in TestSumsPositives; only Other runs in no test.
    assert_eq!(a["written"], serde_json::json!(["TestOther"]), "{doc}");
    assert_eq!(
        a["already_tested"],
        serde_json::json!(["TestT_Name", "TestT_Twice"])
    );
    assert_eq!(
        a["skipped"],
        serde_json::json!([{
            "member": "Add",
            "reason": "partly covered: the tests execute 2 of its 3 statements; no test executes line 8"
        }])
    );
    assert_eq!(
        file_report(&doc, "b/b.go")["written"],
        serde_json::json!(["TestB"])
    );
    let tests = project.read("a/a_test.go");
    assert!(tests.contains("func TestOther(t *testing.T)"), "{tests}");
    assert!(!tests.contains("func TestAdd("), "{tests}");

    // The scaffold executes nothing of Other: a second run says so rather than call it tested.
    let again = with_toolchains(project.testsmith(&["generate", "--coverage", "--format", "json"]))
        .run()
        .success()
        .json();
    assert_eq!(again["summary"]["written"], 0, "{again}");
    let skipped = &file_report(&again, "a/a.go")["skipped"];
    assert!(
        skipped
            .to_string()
            .contains("no test executes it, but TestOther exists: fill it in"),
        "{skipped}"
    );
}

// ---- generate --llm --coverage against a fake model --------------------------------------

/// The small module plus `Third` and `Fourth`, which no test executes.
fn module_for_a_model(project: &Project) {
    small_module(project);
    project.write(
        "c/c.go",
        "package c\n\nfunc Third() int {\n\treturn 3\n}\n\nfunc Fourth() int {\n\treturn 4\n}\n",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_test_is_kept_only_when_it_executes_statements_no_earlier_test_executed() {
    let (server, prompts) = crate::fake_llm::recording(&[
        // Executes `return y`, the line TestSumsPositives misses: kept.
        (
            "TestAdd",
            "func TestAdd(t *testing.T) {\n\tif Add(0, 2) != 2 {\n\t\tt.Fatal(\"want 2\")\n\t}\n}",
        ),
        // A loosely named answer that calls Third instead of Fourth: it is judged first
        // (file order, then name) and executes Third's statement, so it is kept...
        (
            "TestFourth",
            "func TestFourth(t *testing.T) {\n\tif Third() != 3 {\n\t\tt.Fatal(\"want 3\")\n\t}\n}",
        ),
        // ...and the real test of Third then executes nothing new: dropped.
        (
            "TestThird",
            "func TestThird(t *testing.T) {\n\tif Third() != 3 {\n\t\tt.Fatal(\"want 3\")\n\t}\n}",
        ),
        // The follow-up for Fourth, whose line TestFourth left: kept.
        ("TestFourth_2", "func TestFourth_2(t *testing.T) {\n\tif Fourth() != 4 {\n\t\tt.Fatal(\"want 4\")\n\t}\n}"),
        // TestOther is not here: the model answers with a test that only logs.
    ])
    .await;
    let project = Project::new();
    module_for_a_model(&project);
    let run = with_toolchains(crate::fake_llm::generate_llm(
        &project,
        &server,
        &["--coverage", "--format", "json", "a", "c"],
    ));
    let finished = crate::util::run_async(run).await;
    assert_eq!(finished.code, 0, "{}\n{}", finished.stdout, finished.stderr);
    let doc: Value = serde_json::from_str(&finished.stdout).unwrap();

    // Covered members are not asked about, whatever their tests are called.
    let asked: Vec<String> = prompts.lock().unwrap().clone();
    let all = asked.join("\n");
    assert!(!all.contains("test name `TestT_Name`"), "{all}");
    assert!(!all.contains("test name `TestT_Twice`"), "{all}");
    // The partly covered Add is asked for, with the line no test executes marked.
    let add_prompt = asked
        .iter()
        .find(|p| p.contains("test name `TestAdd`"))
        .unwrap();
    assert!(add_prompt.contains(">   8: \treturn y"), "{add_prompt}");
    assert!(add_prompt.contains("    5: \tif x > 0 {"), "{add_prompt}");
    assert!(
        add_prompt.contains("Write a test that executes line 8."),
        "{add_prompt}"
    );

    let funnel = &doc["funnel"];
    let verdict = |name: &str| crate::fake_llm::funnel_test(funnel, name);
    assert_eq!(verdict("TestAdd")["kept"], true, "{funnel}");
    assert_eq!(verdict("TestAdd")["new_statements"], 1);
    assert_eq!(verdict("TestOther")["kept"], false, "{funnel}");
    assert_eq!(verdict("TestOther")["reason"], "adds no coverage");
    assert_eq!(verdict("TestFourth")["kept"], true, "{funnel}");
    assert_eq!(verdict("TestThird")["kept"], false, "{funnel}");
    assert_eq!(verdict("TestThird")["reason"], "adds no coverage");
    // TestFourth was kept but left Fourth's own line: one follow-up asked for it, with that
    // line marked, and its answer executes it.
    let follow_up = asked
        .iter()
        .find(|p| p.contains("test name `TestFourth_2`"))
        .unwrap_or_else(|| panic!("no follow-up ask in {all}"));
    assert!(follow_up.contains(">   8: \treturn 4"), "{follow_up}");
    assert!(
        follow_up.contains("Write a test that executes line 8."),
        "{follow_up}"
    );
    assert!(!follow_up.contains("test name `TestThird"), "{follow_up}");
    assert_eq!(verdict("TestFourth_2")["kept"], true, "{funnel}");
    assert_eq!(verdict("TestFourth_2")["round"], 1, "{funnel}");
    assert_eq!(
        asked.len(),
        3,
        "two files, then one follow-up and no more: {all}"
    );
    assert_eq!(
        funnel["totals"],
        serde_json::json!({"generated": 5, "built": 5, "passed": 5, "passed_reliably": 5,
                           "raised_coverage": 3, "kept": 3})
    );
    // a: 4 of 6 before, Add's `return y` after; c: 0 of 2, both statements after.
    assert_eq!(
        funnel["before"],
        serde_json::json!({"executed": 4, "total": 8})
    );
    assert_eq!(
        funnel["after"],
        serde_json::json!({"executed": 7, "total": 8})
    );

    // Removed tests are gone from their files; kept ones are there and pass.
    let a_tests = project.read("a/a_test.go");
    assert!(a_tests.contains("func TestAdd("), "{a_tests}");
    assert!(!a_tests.contains("func TestOther("), "{a_tests}");
    let c_tests = project.read("c/c_test.go");
    assert!(c_tests.contains("func TestFourth("), "{c_tests}");
    assert!(c_tests.contains("func TestFourth_2("), "{c_tests}");
    assert!(!c_tests.contains("func TestThird("), "{c_tests}");
    toolchain(project.root(), "go", &["test", "-count=1", "./a", "./c"]);
}

#[test]
fn coverpkg_counts_what_a_packages_tests_execute_in_the_other_packages() {
    let project = Project::new();
    small_module(&project);
    // a's tests now call into b, which has no tests of its own.
    project.write(
        "a/uses_b_test.go",
        "package a\n\nimport (\n\t\"testing\"\n\n\t\"example.com/m/b\"\n)\n\n\
         func TestUsesB(t *testing.T) {\n\tif b.B(1) != 4 {\n\t\tt.Fatal(\"want 4\")\n\t}\n}\n",
    );
    let (code, doc, stderr) = coverage(&project, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        member(&doc, "B")["status"],
        "untested",
        "b's own tests run none of it"
    );
    let (code, doc, stderr) = coverage(&project, &["--coverpkg"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(member(&doc, "B")["status"], "covered", "{doc}");
    assert_eq!(member(&doc, "Add")["executed"], 2, "a's figures stay a's");
    assert_eq!(doc["total"], serde_json::json!({"executed": 6, "total": 8}));
}

#[test]
fn a_failing_test_is_reported_and_what_it_executed_still_counts() {
    let project = Project::new();
    small_module(&project);
    project.write(
        "b/b_test.go",
        "package b\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) {\n\tif B(1) != 5 {\n\t\tt.Fatal(\"want 5\")\n\t}\n}\n",
    );
    let (code, doc, stderr) = coverage(&project, &["b"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("warning: b: some tests failed; what they executed still counts"),
        "{stderr}"
    );
    assert_eq!(doc["packages"][0]["tests_failed"], true);
    assert_eq!(member(&doc, "B")["status"], "covered");
}

/// How many times the model's `TestThird` ran under `generate --llm --coverage` with `extra`
/// flags: the test appends a line to `c/runs.log` on every run.
async fn runs_of_a_model_test(extra: &[&str]) -> usize {
    let (server, _) = crate::fake_llm::recording(&[(
        "TestThird",
        "func TestThird(t *testing.T) {\n\tf, _ := os.OpenFile(\"runs.log\", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)\n\tf.WriteString(\"ran\\n\")\n\tf.Close()\n\tif Third() != 3 {\n\t\tt.Fatal(\"want 3\")\n\t}\n}",
    )])
    .await;
    let project = Project::new();
    module_for_a_model(&project);
    let mut args = vec![
        "--coverage",
        "--coverage-rounds",
        "0",
        "--format",
        "json",
        "c",
    ];
    args.extend_from_slice(extra);
    let run = with_toolchains(crate::fake_llm::generate_llm(&project, &server, &args));
    let finished = crate::util::run_async(run).await;
    assert!(
        matches!(finished.code, 0 | 65),
        "{}\n{}",
        finished.stdout,
        finished.stderr
    );
    std::fs::read_to_string(project.path("c/runs.log"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_reruns_1_under_llm_coverage_runs_a_model_test_once_not_three_times() {
    let by_default = runs_of_a_model_test(&[]).await;
    let once = runs_of_a_model_test(&["--reruns", "1"]).await;
    assert!(once >= 1, "the model's test never ran");
    assert_eq!(
        by_default,
        once + 2,
        "three runs by default, one with --reruns 1"
    );
}
