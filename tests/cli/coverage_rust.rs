//! Rust coverage with the real toolchain: `testsmith coverage` reads LLVM's profiles and
//! coverage maps itself, and its per-member and total figures equal `llvm-cov-19 export`'s
//! on the same tests — on a hand-checked fixture crate (fixtures/coverage/rust, whose
//! tests are named after none of its functions, one of them in `tests/`) and on a real
//! crate copied at test time from Cargo's registry (strsim, a dependency of testsmith's
//! own, so present wherever testsmith was built). `generate --coverage` plans by what the
//! tests execute, with the user's own rustflags kept; `generate --llm --coverage` keeps a
//! model's test only when it executes code no earlier test did.
//!
//! The comparison needs Debian's `llvm-19` (`llvm-cov-19`, `llvm-profdata-19`): skipped
//! with a message where it is missing, a failure under `CI`.

use crate::util::{Project, copy_dir};
use crate::verify::with_toolchains;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether llvm-19's tools are installed; under `CI` they must be.
fn llvm_tools() -> bool {
    let present = ["llvm-cov-19", "llvm-profdata-19"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    });
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "llvm-cov-19 and llvm-profdata-19 are missing: .ci/run installs Debian's llvm-19"
        );
        eprintln!(
            "skipped: llvm-cov-19 / llvm-profdata-19 are not installed (apt install llvm-19)"
        );
    }
    present
}

#[track_caller]
fn run(command: &mut Command) -> String {
    let output = command.output().expect("the tool runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// `llvm-cov-19 export` of the crate at `dir`'s tests (`cargo test --tests`, instrumented
/// as `testsmith coverage` instruments them), in a target folder of its own.
fn llvm_cov_export(dir: &Path) -> Value {
    let scratch = tempfile::tempdir().unwrap();
    let target = scratch.path().join("target");
    let profiles = scratch.path().join("profiles");
    let cargo = |args: &[&str]| {
        let mut command = Command::new("cargo");
        command
            .args(args)
            .current_dir(dir)
            .env("RUSTFLAGS", "-C instrument-coverage")
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_TERM_COLOR", "never")
            .env("LLVM_PROFILE_FILE", profiles.join("%p-%m.profraw"))
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        command
    };
    run(&mut cargo(&["test", "--tests"]));
    let messages = run(&mut cargo(&[
        "test",
        "--tests",
        "--no-run",
        "--message-format=json",
    ]));
    let objects: Vec<String> = messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|message| message["executable"].as_str().map(str::to_owned))
        .collect();
    assert!(!objects.is_empty(), "{messages}");
    let merged = scratch.path().join("merged.profdata");
    let raw: Vec<PathBuf> = std::fs::read_dir(&profiles)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    run(Command::new("llvm-profdata-19")
        .args(["merge", "-sparse", "-o"])
        .arg(&merged)
        .args(&raw));
    let mut export = Command::new("llvm-cov-19");
    export.arg("export").arg("-instr-profile").arg(&merged);
    for object in &objects {
        export.args(["-object", object]);
    }
    let text = run(&mut export);
    serde_json::from_str(&text).unwrap()
}

/// What llvm-cov says, in testsmith's terms: per file (relative to `dir`) its code regions
/// executed / total from llvm-cov's own summary, and per function its code regions by
/// span, executed if any record of it (one per test binary that links it) executed them.
struct LlvmCov {
    files: BTreeMap<PathBuf, (u64, u64)>,
    /// By file and the line of the function's first region: span → executed.
    functions: BTreeMap<(PathBuf, u64), BTreeMap<[u64; 4], bool>>,
}

impl LlvmCov {
    fn of(dir: &Path) -> LlvmCov {
        let export = llvm_cov_export(dir);
        let root = dir.canonicalize().unwrap();
        let rel = |name: &str| {
            Path::new(name)
                .canonicalize()
                .ok()?
                .strip_prefix(&root)
                .ok()
                .map(Path::to_owned)
        };
        let data = &export["data"][0];
        let mut files = BTreeMap::new();
        for file in data["files"].as_array().unwrap() {
            if let Some(path) = rel(file["filename"].as_str().unwrap()) {
                let regions = &file["summary"]["regions"];
                files.insert(
                    path,
                    (
                        regions["covered"].as_u64().unwrap(),
                        regions["count"].as_u64().unwrap(),
                    ),
                );
            }
        }
        // Every function record's code regions, by file and first line.
        let mut records: BTreeMap<(PathBuf, u64), Vec<Vec<u64>>> = BTreeMap::new();
        for function in data["functions"].as_array().unwrap() {
            let Some(path) = rel(function["filenames"][0].as_str().unwrap()) else {
                continue;
            };
            // [line start, column start, line end, column end, count, file, expanded, kind]
            let code: Vec<Vec<u64>> = function["regions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|region| {
                    region
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|n| n.as_u64().unwrap())
                        .collect::<Vec<u64>>()
                })
                .filter(|region| region[7] == 0)
                .collect();
            let Some(first) = code.first() else { continue };
            records.entry((path, first[0])).or_default().extend(code);
        }
        // A closure is a function of its own to llvm-cov, and part of the member it is
        // written in to testsmith: its regions go to the function whose lines enclose it.
        let spans: Vec<((PathBuf, u64), u64)> = records
            .iter()
            .map(|(key, regions)| (key.clone(), regions.iter().map(|r| r[2]).max().unwrap()))
            .collect();
        let mut functions: BTreeMap<(PathBuf, u64), BTreeMap<[u64; 4], bool>> = BTreeMap::new();
        for ((path, line), regions) in records {
            let outer = spans
                .iter()
                .filter(|((file, start), end)| file == &path && *start < line && line <= *end)
                .map(|((_, start), _)| *start)
                .min()
                .unwrap_or(line);
            let entry = functions.entry((path, outer)).or_default();
            for region in regions {
                let executed = entry
                    .entry([region[0], region[1], region[2], region[3]])
                    .or_default();
                *executed |= region[4] > 0;
            }
        }
        LlvmCov { files, functions }
    }

    /// Executed / total of the function starting at `line` of `file`.
    fn function(&self, file: &Path, line: u64) -> Option<(u64, u64)> {
        let regions = self.functions.get(&(file.to_owned(), line))?;
        let executed = regions.values().filter(|executed| **executed).count() as u64;
        Some((executed, regions.len() as u64))
    }
}

/// `testsmith coverage --format json CRATE` in `project`.
fn coverage_json(project: &Project, krate: &str) -> Value {
    let finished =
        with_toolchains(project.testsmith(&["coverage", "--format", "json", krate])).run();
    assert_eq!(finished.code, 0, "{}\n{}", finished.stdout, finished.stderr);
    serde_json::from_str(&finished.stdout).unwrap()
}

/// Every member's and the total figures of `doc` equal llvm-cov's on the crate `krate` of
/// `project`; returns how many members were compared.
fn assert_equals_llvm_cov(doc: &Value, project: &Project, krate: &str) -> usize {
    let llvm = LlvmCov::of(&project.path(krate));
    let package = &doc["packages"][0];
    let mut compared = 0;
    for member in package["members"].as_array().unwrap() {
        let shown = Path::new(member["file"].as_str().unwrap());
        let file = shown.strip_prefix(krate).unwrap_or(shown).to_owned();
        let ours = (
            member["executed"].as_u64().unwrap(),
            member["total"].as_u64().unwrap(),
        );
        match llvm.function(&file, member["line"].as_u64().unwrap()) {
            Some(theirs) => {
                assert_eq!(ours, theirs, "{member}");
                compared += 1;
            }
            // A member no test binary holds code of (a generic never instantiated).
            None => assert_eq!(ours.1, 0, "llvm-cov has no function at {member}"),
        }
    }
    // Totals: llvm-cov's summary over the crate's files that are not tests.
    let (mut executed, mut total) = (0, 0);
    for (file, (covered, count)) in &llvm.files {
        if !file.starts_with("tests") && !file.to_string_lossy().ends_with("_tests.rs") {
            executed += covered;
            total += count;
        }
    }
    assert_eq!(
        package["total"],
        json!({"executed": executed, "total": total}),
        "llvm-cov: {:?}",
        llvm.files
    );
    assert_eq!(doc["total"], package["total"]);
    compared
}

#[test]
fn rust_figures_equal_llvm_covs_and_the_hand_checked_ones() {
    let project = Project::new();
    project.copy_fixture("coverage/rust", "");
    let doc = coverage_json(&project, ".");
    let members: Vec<Value> = doc["packages"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!([
                m["member"],
                m["line"],
                m["executed"],
                m["total"],
                m["status"],
                m["missed_lines"]
            ])
        })
        .collect();
    // By hand: `add`'s regions are its signature, `x > 0`, `x + y`, `y` and its closing
    // brace; the test adds 1 and 2, so only `y` (line 10) never runs. `grow` runs in the
    // integration test `grows_by_one`, `area` in the unit test `sums_positives`;
    // `double` only in its doc example; `shrink`'s five regions (signature, condition,
    // then-block, the empty else, closing brace) and `unused`'s three never.
    assert_eq!(
        members,
        [
            json!(["add", 6, 4, 5, "partly", [{"first": 10, "last": 10}]]),
            json!(["unused", 15, 0, 3, "untested", [{"first": 15, "last": 17}]]),
            json!(["double", 24, 0, 3, "doctest", [{"first": 24, "last": 26}]]),
            json!(["Square::area", 5, 3, 3, "covered", []]),
            json!(["Square::grow", 9, 3, 3, "covered", []]),
            json!(["Square::shrink", 13, 0, 5, "untested", [{"first": 13, "last": 17}]]),
        ]
    );
    // src/lib.rs: add 5, unused 3, double 3 and the unit test's own 7 regions, 11 of them
    // run; src/shapes.rs: 3 + 3 + 5, 6 run. tests/grow.rs is a test file: not counted.
    assert_eq!(doc["total"], json!({"executed": 17, "total": 29}));
    assert_eq!(doc["packages"][0]["unit"], "regions");
    assert_eq!(doc["untested"], 2, "the doctest member is not untested");
    // Nothing written into the crate but testsmith's own folder (no Cargo.lock either).
    let mut entries: Vec<String> = std::fs::read_dir(project.root())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, [".testsmith", "Cargo.toml", "src", "tests"]);

    if llvm_tools() {
        assert_eq!(assert_equals_llvm_cov(&doc, &project, "."), 6);
    }
}

/// strsim's sources in Cargo's registry (testsmith depends on it).
fn registry_crate(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .flat_map(|index| std::fs::read_dir(index.unwrap().path()).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .collect();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("{name} is not in Cargo's registry: build testsmith first"))
}

#[test]
fn on_a_real_crate_rust_totals_and_members_equal_llvm_covs() {
    if !llvm_tools() {
        return;
    }
    let project = Project::new();
    copy_dir(&registry_crate("strsim"), &project.path("strsim"));
    let dir = project.path("strsim");
    let doc = coverage_json(&project, "strsim");
    assert!(
        doc["total"]["total"].as_u64().unwrap() > 1000,
        "strsim has over a thousand regions: {}",
        doc["total"]
    );
    assert!(!dir.join("Cargo.lock").exists(), "Cargo.lock left behind");
    let compared = assert_equals_llvm_cov(&doc, &project, "strsim");
    // strsim's 14 public functions, each found in llvm-cov's export.
    assert_eq!(compared, 14, "{}", doc["packages"][0]["members"]);
}

#[test]
fn generate_coverage_on_a_crate_plans_by_what_its_tests_execute_with_the_users_rustflags() {
    let project = Project::new();
    project.copy_fixture("coverage/rust", "");
    // The user's own rustflags (from their Cargo configuration) must survive the
    // instrumentation: without them the crate does not build.
    project.write(
        ".cargo/config.toml",
        "[build]\nrustflags = [\"--cfg\", \"covfix_config\"]\n",
    );
    let lib = project.read("src/lib.rs");
    project.write(
        "src/lib.rs",
        format!("{lib}\n#[cfg(not(covfix_config))]\ncompile_error!(\"the user's rustflags were dropped\");\n"),
    );
    let finished = with_toolchains(project.testsmith(&["generate", "--coverage", "."])).run();
    assert_eq!(finished.code, 0, "{}\n{}", finished.stdout, finished.stderr);
    let out = &finished.stdout;
    // Partly covered: reported with the line no test executes, not scaffolded.
    assert!(
        out.contains("skipped add: partly covered: the tests execute 4 of its 5 regions; no test executes line 10"),
        "{out}"
    );
    assert!(
        out.contains("skipped double: only its doc example runs it, and doctests are not measured"),
        "{out}"
    );
    // `grow` runs in a test named after nothing of it: it gets nothing.
    let shapes_tests = project.read("src/shapes_tests.rs");
    assert!(
        shapes_tests.contains("fn test_square_shrink()"),
        "{shapes_tests}"
    );
    assert!(!shapes_tests.contains("grow"), "{shapes_tests}");
    assert!(!shapes_tests.contains("area"), "{shapes_tests}");
    let lib_tests = project.read("src/lib_tests.rs");
    assert!(lib_tests.contains("fn test_unused()"), "{lib_tests}");
    assert!(!lib_tests.contains("fn test_add()"), "{lib_tests}");
    assert!(!lib_tests.contains("fn test_double()"), "{lib_tests}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_test_of_a_crate_is_kept_only_when_it_executes_regions_no_earlier_test_did() {
    let (server, prompts) = crate::fake_llm::recording(&[
        // Executes `y`, the region `sums_positives` misses: kept.
        (
            "test_add",
            "#[test]\nfn test_add() {\n    assert_eq!(add(-1, 2), 2);\n}",
        ),
        // Loosely named, it executes the same region as test_add, judged before it: dropped.
        (
            "test_unused",
            "#[test]\nfn test_unused() {\n    assert_eq!(add(-3, 3), 3);\n}",
        ),
        // Asserts on a value it built without calling `shrink`: executes nothing new.
        (
            "test_square_shrink",
            "#[test]\nfn test_square_shrink() {\n    let square = Square(3);\n    assert_eq!(square.0, 3);\n}",
        ),
    ])
    .await;
    let project = Project::new();
    project.copy_fixture("coverage/rust", "");
    let run = with_toolchains(crate::fake_llm::generate_llm(
        &project,
        &server,
        &["--coverage", "--format", "json", "."],
    ));
    let finished = crate::util::run_async(run).await;
    assert_eq!(finished.code, 0, "{}\n{}", finished.stdout, finished.stderr);
    let doc: Value = serde_json::from_str(&finished.stdout).unwrap();

    let asked = prompts.lock().unwrap().clone();
    let all = asked.join("\n");
    // Covered members are not asked about, whatever their tests are called; the doctest
    // member is not either.
    for covered in ["test_square_area", "test_square_grow", "test_double"] {
        assert!(!all.contains(&format!("test name `{covered}`")), "{all}");
    }
    // The partly covered `add` is asked for with the line no test executes marked.
    let add_prompt = asked
        .iter()
        .find(|prompt| prompt.contains("test name `test_add`"))
        .unwrap_or_else(|| panic!("add not asked: {all}"));
    assert!(add_prompt.contains(">  10:         y"), "{add_prompt}");
    assert!(add_prompt.contains("executes line 10"), "{add_prompt}");

    let funnel = &doc["funnel"];
    let verdict = |name: &str| crate::fake_llm::funnel_test(funnel, name);
    assert_eq!(verdict("test_add")["kept"], true, "{funnel}");
    assert_eq!(verdict("test_add")["new_statements"], 1, "{funnel}");
    assert_eq!(verdict("test_unused")["kept"], false, "{funnel}");
    assert_eq!(verdict("test_unused")["reason"], "adds no coverage");
    assert_eq!(verdict("test_square_shrink")["kept"], false, "{funnel}");
    assert_eq!(verdict("test_square_shrink")["reason"], "adds no coverage");
    assert_eq!(
        funnel["totals"],
        json!({"generated": 3, "built": 3, "passed": 3, "passed_reliably": 3,
               "raised_coverage": 1, "kept": 1})
    );
    assert_eq!(funnel["before"], json!({"executed": 17, "total": 29}));
    assert_eq!(funnel["after"], json!({"executed": 18, "total": 29}));

    // Dropped tests are gone from their files, the kept one is there, and the crate's
    // tests pass.
    let lib_tests = project.read("src/lib_tests.rs");
    assert!(lib_tests.contains("fn test_add()"), "{lib_tests}");
    assert!(!lib_tests.contains("fn test_unused()"), "{lib_tests}");
    assert!(
        !project.exists("src/shapes_tests.rs")
            || !project
                .read("src/shapes_tests.rs")
                .contains("fn test_square_shrink()")
    );
    crate::verify::toolchain(project.root(), "cargo", &["test", "--tests", "-q"]);
}
