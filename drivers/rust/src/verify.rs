//! Verifying Rust tests with Cargo, and the edits verification makes to a test file.
//!
//! Two commands, run in the package's folder (the nearest `Cargo.toml` above the tests):
//! - build: `cargo test --tests --no-run --message-format=json` compiles the test targets;
//!   rustc's JSON diagnostics carry the file and line of every error, and a rendered text
//!   that a person or a model can act on;
//! - run: `cargo test --tests --no-fail-fast -- --exact <paths>` runs exactly the tests
//!   asked for, by their full path in the test binary (`a::b::b_tests::test_x`), with
//!   `--include-ignored` only when the request asks for ignored tests too.
//!
//! `--tests` leaves doctests out: they are not testsmith's, and compiling each one is slow.
//! A failed test is quarantined with `#[ignore = "testsmith: failed: <reason>"]`.

use crate::paths::module_path;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use testsmith_driver::{
    CommandOutput, Diagnostic, SuiteResult, TestOutcome, TestResult, VerifyCommand, VerifyRequest,
    VerifyStep, syntax,
};
use tree_sitter::Node;

/// The prefix of every reason testsmith puts on a test it quarantines.
const QUARANTINE_PREFIX: &str = "testsmith: failed: ";

/// How much of a failed test's output is kept for the report and a repair prompt.
const MAX_OUTPUT_LINES: usize = 30;

/// Build and run commands for `request`'s tests.
pub(crate) fn commands(request: &VerifyRequest) -> Vec<VerifyCommand> {
    let paths: Vec<String> = test_paths(request).into_keys().collect();
    if paths.is_empty() {
        return Vec::new();
    }
    let command = |step: VerifyStep, args: Vec<String>| VerifyCommand {
        step,
        program: "cargo".to_owned(),
        args,
        dir: request.root.clone(),
        env: run_env(),
    };
    let strings = |args: &[&str]| args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>();
    let features = feature_args(&request.build);
    let targets = test_targets(&request.marker_text);
    let cargo_test = |args: &[&str]| {
        let mut all = strings(&["test"]);
        all.extend(features.iter().cloned());
        all.extend(targets.iter().cloned());
        all.extend(strings(args));
        all
    };
    let mut run = cargo_test(&["--no-fail-fast", "--", "--exact"]);
    if request.include_ignored {
        run.push("--include-ignored".to_owned());
    }
    let mut sorted = paths;
    sorted.sort();
    run.extend(sorted);
    vec![
        command(
            VerifyStep::Build,
            cargo_test(&["--no-run", "--message-format=json"]),
        ),
        command(VerifyStep::Run, run),
    ]
}

/// Cargo's selection of "the package's tests" for the manifest `manifest`: `--tests`, every
/// target whose `test` setting is on, and `--lib` beside it when the manifest turns the
/// library's off (`[lib] test = false`, as form_urlencoded does to save build time). The
/// tests testsmith writes live in the library, and `--tests` alone would never build them.
pub(crate) fn test_targets(manifest: &str) -> Vec<String> {
    let lib_untested = manifest
        .parse::<toml::Table>()
        .ok()
        .and_then(|table| table.get("lib")?.get("test")?.as_bool())
        == Some(false);
    let mut targets = vec!["--tests".to_owned()];
    if lib_untested {
        targets.insert(0, "--lib".to_owned());
    }
    targets
}

/// [`test_targets`] for the package whose manifest is in `root` (none readable: `--tests`).
pub(crate) fn test_targets_in(root: &Path) -> Vec<String> {
    test_targets(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default())
}

/// Cargo's spelling of the features the user chose.
pub(crate) fn feature_args(build: &testsmith_driver::BuildSelection) -> Vec<String> {
    let mut args = Vec::new();
    if build.all_features {
        args.push("--all-features".to_owned());
    }
    if build.no_default_features {
        args.push("--no-default-features".to_owned());
    }
    if !build.features.is_empty() {
        args.push(format!("--features={}", build.features.join(",")));
    }
    args
}

/// Every test of the request by its path in the test binary, with its file and name.
fn test_paths(request: &VerifyRequest) -> HashMap<String, (PathBuf, String)> {
    let mut paths = HashMap::new();
    for file in &request.files {
        let Some(module) = test_module(&file.source_file, &file.test_file) else {
            continue;
        };
        for name in &file.tests {
            let path = if module.is_empty() {
                name.clone()
            } else {
                format!("{module}::{name}")
            };
            paths.insert(path, (file.test_file.clone(), name.clone()));
        }
    }
    paths
}

/// The test module's path below the crate: the source file's module joined with the test
/// file's stem, the name testsmith declares it under (`#[path = "b_tests.rs"] mod b_tests;`
/// in `src/a/b.rs` is `a::b::b_tests`). `None` for tests in the source file itself.
pub(crate) fn test_module(source_file: &Path, test_file: &Path) -> Option<String> {
    if source_file == test_file {
        return None;
    }
    let stem = test_file.file_stem()?.to_str()?;
    let module = module_path(source_file);
    let below_crate = module
        .strip_prefix("crate")
        .unwrap_or(&module)
        .trim_start_matches("::");
    Some(if below_crate.is_empty() {
        stem.to_owned()
    } else {
        format!("{below_crate}::{stem}")
    })
}

/// The errors in Cargo's JSON messages, each at the primary span in the project's code (a
/// span inside a macro of the standard library is followed out to its call).
pub(crate) fn diagnostics(output: &CommandOutput) -> Vec<Diagnostic> {
    let mut found: Vec<Diagnostic> = Vec::new();
    for line in output.stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-message" {
            continue;
        }
        let message = &message["message"];
        let is_error = message["level"]
            .as_str()
            .is_some_and(|level| level.starts_with("error"));
        if !is_error {
            continue;
        }
        let Some(span) = message["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|span| span["is_primary"] == true))
            .map(project_span)
        else {
            continue;
        };
        let (Some(file), Some(line), Some(column)) = (
            span["file_name"].as_str(),
            span["line_start"].as_u64(),
            span["column_start"].as_u64(),
        ) else {
            continue;
        };
        let text = message["rendered"]
            .as_str()
            .or(message["message"].as_str())
            .unwrap_or("")
            .trim_end();
        let diagnostic = Diagnostic {
            file: PathBuf::from(file),
            line: line as usize,
            column: column as usize,
            message: text.to_owned(),
        };
        // Each target that includes the module reports the same error.
        if !found.contains(&diagnostic) {
            found.push(diagnostic);
        }
    }
    found
}

/// `span`, or the call site of the macro it was expanded from while it points outside the
/// project (the standard library's sources, a macro's own `<...>` pseudo-file).
fn project_span(span: &serde_json::Value) -> &serde_json::Value {
    let mut span = span;
    loop {
        let file = span["file_name"].as_str().unwrap_or("");
        let is_foreign = file.starts_with('<') || file.starts_with("/rustc/");
        match &span["expansion"]["span"] {
            serde_json::Value::Object(_) if is_foreign => span = &span["expansion"]["span"],
            _ => return span,
        }
    }
}

/// What libtest's text output said about each test of the request.
pub(crate) fn test_results(request: &VerifyRequest, output: &CommandOutput) -> Vec<TestResult> {
    let paths = test_paths(request);
    let mut reported = std::collections::HashSet::new();
    verdicts(output)
        .into_iter()
        // A module two targets compile (a library's and a binary's) runs in each: the
        // first verdict stands for the test.
        .filter(|(path, _)| reported.insert(path.clone()))
        .filter_map(|(path, outcome)| {
            let (test_file, name) = paths.get(&path)?;
            Some(TestResult {
                test_file: test_file.clone(),
                name: name.clone(),
                outcome,
            })
        })
        .collect()
}

/// `cargo test --tests --no-fail-fast` with the features the user chose: every test of
/// every test target of the package (its library's and binaries' unit tests, `tests/`),
/// the user's `#[ignore]`d ones left out as they leave them out. Doctests are left out: a
/// test module testsmith appends cannot reach them, and compiling each one is slow.
pub(crate) fn suite_command(request: &VerifyRequest) -> Option<VerifyCommand> {
    if request.files.is_empty() {
        return None;
    }
    let mut args = vec!["test".to_owned()];
    args.extend(feature_args(&request.build));
    args.extend(test_targets(&request.marker_text));
    args.push("--no-fail-fast".to_owned());
    Some(VerifyCommand {
        step: VerifyStep::Run,
        program: "cargo".to_owned(),
        args,
        dir: request.root.clone(),
        env: run_env(),
    })
}

/// Every test a suite command ran, by its path in its test binary; all in the package's
/// one unit (the project root). A path two binaries share (`it_works` in two files of
/// `tests/`) is reported once per binary.
///
/// A test binary that stopped before its report ended (a test called `process::exit`, or a
/// panic hook aborted the process) hides every test it had not reported yet: it is one
/// result of its own, unfinished, named after its target (`test binary of
/// src/lib.rs`), so that a run where it stops is told from one where it does not.
pub(crate) fn suite_results(output: &CommandOutput) -> Vec<SuiteResult> {
    let stopped = stopped_binaries(output).into_iter().map(|target| {
        (
            format!("test binary of {target}"),
            TestOutcome::Unfinished(format!(
                "it stopped before reporting all its tests: {}",
                crash_note(output)
            )),
        )
    });
    verdicts(output)
        .into_iter()
        .chain(stopped)
        .map(|(name, outcome)| SuiteResult {
            unit: PathBuf::new(),
            name,
            outcome,
        })
        .collect()
}

/// The targets whose test binary started (`running N tests`) but never printed its `test
/// result:` line. Cargo names each binary on stderr (`Running unittests src/lib.rs (..)`,
/// `Running tests/api.rs (..)`) in the order their reports follow on stdout.
fn stopped_binaries(output: &CommandOutput) -> Vec<String> {
    let targets: Vec<&str> = output
        .stderr
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("Running ")?;
            let rest = rest.strip_prefix("unittests ").unwrap_or(rest);
            Some(rest.split(" (").next().unwrap_or(rest).trim())
        })
        .collect();
    binary_reports(&output.stdout)
        .into_iter()
        .filter(|report| starts_a_binary(report.lines().next().unwrap_or("")))
        .enumerate()
        .filter(|(_, report)| !report.lines().any(|line| line.starts_with("test result:")))
        .map(|(index, _)| match targets.get(index) {
            Some(target) => (*target).to_owned(),
            None => format!("#{}", index + 1),
        })
        .collect()
}

/// Whether `line` is libtest's `running N test(s)`, the first line of a binary's report.
fn starts_a_binary(line: &str) -> bool {
    line.trim_end()
        .strip_prefix("running ")
        .is_some_and(|rest| {
            rest.strip_suffix(" tests")
                .or_else(|| rest.strip_suffix(" test"))
                .is_some_and(|count| count.parse::<usize>().is_ok())
        })
}

/// The environment of every command that runs tests.
fn run_env() -> Vec<(String, String)> {
    vec![
        ("CARGO_TERM_COLOR".to_owned(), "never".to_owned()),
        // A failing assertion's message is what a person or a model needs, not a trace.
        ("RUST_BACKTRACE".to_owned(), "0".to_owned()),
    ]
}

/// Every `test <path> ... <verdict>` line of libtest's text output, each test once per
/// test binary, with its failure section. A line whose verdict is missing (`test a::b ...`
/// and nothing after) is a test the binary died in; anything else after ` ... ` (a bench,
/// "has been running for over 60 seconds") is not a verdict and is passed over.
fn verdicts(output: &CommandOutput) -> Vec<(String, TestOutcome)> {
    let mut found = Vec::new();
    // Each binary's report starts with `running N tests`; its failure sections follow its
    // verdicts, so they are read binary by binary.
    for report in binary_reports(&output.stdout) {
        let failures = failure_sections(report);
        let mut reported = std::collections::HashSet::new();
        for line in report.lines() {
            let Some(rest) = line.strip_prefix("test ") else {
                continue;
            };
            let rest = rest.trim_end();
            let Some((path, verdict)) = rest
                .split_once(" ... ")
                .or_else(|| rest.strip_suffix(" ...").map(|path| (path, "")))
            else {
                continue;
            };
            let path = path.trim();
            let verdict = verdict.trim();
            let outcome = if verdict == "ok" {
                TestOutcome::Passed
            } else if verdict.starts_with("FAILED") {
                TestOutcome::Failed(failures.get(path).cloned().unwrap_or_default())
            } else if let Some(reason) = verdict.strip_prefix("ignored") {
                TestOutcome::Skipped(reason.trim_start_matches(',').trim().to_owned())
            } else if verdict.is_empty() {
                TestOutcome::Unfinished(crash_note(output))
            } else {
                continue;
            };
            if reported.insert(path.to_owned()) {
                found.push((path.to_owned(), outcome));
            }
        }
    }
    found
}

/// libtest's stdout cut into one report per test binary, at each `running N test(s)` line.
fn binary_reports(stdout: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = Vec::new();
    let mut at = 0;
    for line in stdout.split_inclusive('\n') {
        if starts_a_binary(line) {
            starts.push(at);
        }
        at += line.len();
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts
        .iter()
        .zip(starts.iter().skip(1).chain(std::iter::once(&stdout.len())))
        .map(|(&start, &end)| &stdout[start..end])
        .collect()
}

/// The `---- path stdout ----` sections of libtest's failure report, by test path.
fn failure_sections(stdout: &str) -> HashMap<String, String> {
    let mut sections = HashMap::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in stdout.lines() {
        let header = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"));
        let ends_section =
            header.is_some() || line == "failures:" || line.starts_with("test result:");
        if ends_section && let Some((path, lines)) = current.take() {
            sections.insert(path, trimmed(&lines));
        }
        if let Some(path) = header {
            current = Some((path.to_owned(), Vec::new()));
        } else if let Some((_, lines)) = &mut current {
            lines.push(line);
        }
    }
    if let Some((path, lines)) = current {
        sections.insert(path, trimmed(&lines));
    }
    sections
}

fn trimmed(lines: &[&str]) -> String {
    let kept: Vec<&str> = lines
        .iter()
        .map(|line| line.trim_end())
        .filter(|line| !line.is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE"))
        .take(MAX_OUTPUT_LINES)
        .collect();
    kept.join("\n")
}

/// Why a test binary stopped, from Cargo's complaint on stderr.
fn crash_note(output: &CommandOutput) -> String {
    output
        .stderr
        .lines()
        .filter(|line| line.contains("process didn't exit successfully") || line.contains("signal"))
        .map(str::trim)
        .next()
        .unwrap_or("the test binary stopped while the test ran")
        .to_owned()
}

/// `text` with `#[ignore = "testsmith: failed: <reason>"]` on the test function
/// `test_name`, right above the `fn` line; an `#[ignore]` it had is replaced.
pub(crate) fn quarantine(text: &str, test_name: &str, reason: &str) -> Result<String, String> {
    let tree = syntax::parse(&super::RUST, text).ok_or("the Rust grammar failed to load")?;
    let function = find_function(tree.root_node(), text, test_name)
        .ok_or_else(|| format!("no test function named {test_name}"))?;
    let attribute = format!("#[ignore = {:?}]", format!("{QUARANTINE_PREFIX}{reason}"));
    if let Some(ignore) = preceding_attributes(function)
        .into_iter()
        .find(|attribute| is_ignore(*attribute, text))
    {
        let mut out = text.to_owned();
        out.replace_range(ignore.byte_range(), &attribute);
        return Ok(out);
    }
    let line_start = text[..function.start_byte()]
        .rfind('\n')
        .map_or(0, |at| at + 1);
    let indentation = &text[line_start..function.start_byte()];
    if !indentation.trim().is_empty() {
        return Err(format!("{test_name} does not start its own line"));
    }
    let mut out = String::with_capacity(text.len() + attribute.len() + indentation.len() + 1);
    out.push_str(&text[..line_start]);
    out.push_str(indentation);
    out.push_str(&attribute);
    out.push('\n');
    out.push_str(&text[line_start..]);
    Ok(out)
}

/// The function item `name` at the top of the file or in an inline module.
fn find_function<'t>(node: Node<'t>, text: &str, name: &str) -> Option<Node<'t>> {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "function_item"
                if child
                    .child_by_field_name("name")
                    .is_some_and(|found| syntax::text(found, text) == name) =>
            {
                return Some(child);
            }
            "mod_item" => {
                if let Some(found) = child
                    .child_by_field_name("body")
                    .and_then(|body| find_function(body, text, name))
                {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

/// The attributes right above `function`, comments between them allowed.
fn preceding_attributes(function: Node<'_>) -> Vec<Node<'_>> {
    let mut attributes = Vec::new();
    let mut previous = function.prev_sibling();
    while let Some(node) = previous {
        match node.kind() {
            "attribute_item" => attributes.push(node),
            "line_comment" | "block_comment" => {}
            _ => break,
        }
        previous = node.prev_sibling();
    }
    attributes
}

fn is_ignore(attribute: Node<'_>, text: &str) -> bool {
    let inner = syntax::text(attribute, text)
        .trim_start_matches("#[")
        .trim_start();
    inner == "ignore]" || inner.starts_with("ignore ") || inner.starts_with("ignore=")
}

/// The first feature a `#[cfg(feature = "x")]` line of `test` (a test's text) names that
/// `request`'s build leaves off: not asked for with `--features`, and not a default feature
/// of the manifest (or `--no-default-features`); never with `--all-features`.
pub(crate) fn missing_feature(request: &VerifyRequest, test: &str) -> Option<String> {
    if request.build.all_features {
        return None;
    }
    let defaults = if request.build.no_default_features {
        Vec::new()
    } else {
        default_features(&request.marker_text)
    };
    test.lines()
        .filter_map(|line| {
            let inner = line.trim().strip_prefix("#[cfg(feature")?;
            let value = inner.trim_start().strip_prefix('=')?.trim_start();
            let value = value.strip_prefix('"')?;
            Some(value[..value.find('"')?].to_owned())
        })
        .find(|feature| {
            !request.build.features.iter().any(|asked| {
                asked
                    .split([',', ' '])
                    .any(|one| one == feature || one.ends_with(&format!("/{feature}")))
            }) && !defaults.contains(feature)
        })
}

/// The `default` list of a manifest's `[features]` table, read line by line (`default =
/// ["a", "b"]`, possibly over several lines).
fn default_features(manifest: &str) -> Vec<String> {
    let mut in_features = false;
    let mut collecting = false;
    let mut list = String::new();
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && !collecting {
            in_features = trimmed == "[features]";
            continue;
        }
        if in_features && !collecting && trimmed.starts_with("default") {
            if let Some((_, value)) = trimmed.split_once('=') {
                list.push_str(value);
                collecting = !value.contains(']');
            }
        } else if collecting {
            list.push_str(trimmed);
            collecting = !trimmed.contains(']');
        }
    }
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::FileToVerify;

    fn request(files: &[(&str, &str, &[&str])]) -> VerifyRequest {
        VerifyRequest {
            root: PathBuf::from("/crate"),
            marker_text: String::new(),
            files: files
                .iter()
                .map(|(source_file, test_file, tests)| FileToVerify {
                    test_file: PathBuf::from(test_file),
                    source_file: PathBuf::from(source_file),
                    tests: tests.iter().map(|name| (*name).to_owned()).collect(),
                })
                .collect(),
            include_ignored: false,
            test_timeout_secs: 60,
            build: Default::default(),
        }
    }

    fn output(stdout: &str, stderr: &str) -> CommandOutput {
        CommandOutput {
            exit_code: Some(101),
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
        }
    }

    #[test]
    fn tests_are_run_by_their_path_in_the_test_binary() {
        let request = request(&[
            ("src/lib.rs", "src/lib_tests.rs", &["test_parse"]),
            ("src/text/mod.rs", "src/text/mod_tests.rs", &["test_wrap"]),
            ("src/a/b.rs", "src/a/b_tests.rs", &["thing_new"]),
        ]);
        let lines: Vec<String> = commands(&request).iter().map(|c| c.display()).collect();
        assert_eq!(
            lines,
            [
                "cargo test --tests --no-run --message-format=json",
                "cargo test --tests --no-fail-fast -- --exact a::b::b_tests::thing_new \
                 lib_tests::test_parse text::mod_tests::test_wrap",
            ]
        );
    }

    #[test]
    fn ignored_tests_are_run_only_when_asked_for() {
        let mut request = request(&[("src/lib.rs", "src/lib_tests.rs", &["test_a"])]);
        request.include_ignored = true;
        let run = commands(&request).pop().unwrap().display();
        assert!(
            run.ends_with("--exact --include-ignored lib_tests::test_a"),
            "{run}"
        );
    }

    fn compiler_message(
        level: &str,
        file: &str,
        line: u64,
        expansion: serde_json::Value,
    ) -> String {
        serde_json::json!({
            "reason": "compiler-message",
            "message": {
                "level": level,
                "message": "cannot find value `x` in this scope",
                "rendered": "error[E0425]: cannot find value `x` in this scope\n --> here\n",
                "spans": [
                    {"file_name": "src/other.rs", "line_start": 1, "column_start": 1,
                     "is_primary": false, "expansion": null},
                    {"file_name": file, "line_start": line, "column_start": 9,
                     "is_primary": true, "expansion": expansion},
                ],
            },
        })
        .to_string()
    }

    #[test]
    fn errors_are_read_at_their_primary_span_and_warnings_left_out() {
        let stdout = [
            compiler_message("warning", "src/lib_tests.rs", 3, serde_json::Value::Null),
            compiler_message("error", "src/lib_tests.rs", 7, serde_json::Value::Null),
            compiler_message("error", "src/lib_tests.rs", 7, serde_json::Value::Null),
            r#"{"reason":"build-finished","success":false}"#.to_owned(),
        ]
        .join("\n");
        let found = diagnostics(&output(&stdout, ""));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, PathBuf::from("src/lib_tests.rs"));
        assert_eq!((found[0].line, found[0].column), (7, 9));
        assert!(found[0].message.starts_with("error[E0425]"));
    }

    #[test]
    fn an_error_inside_a_std_macro_points_at_the_macro_call() {
        let call = serde_json::json!({
            "span": {"file_name": "src/lib_tests.rs", "line_start": 12, "column_start": 5,
                     "expansion": null}
        });
        let stdout = compiler_message(
            "error",
            "/rustc/abc/library/core/src/macros/mod.rs",
            40,
            call,
        );
        let found = diagnostics(&output(&stdout, ""));
        assert_eq!(found[0].file, PathBuf::from("src/lib_tests.rs"));
        assert_eq!(found[0].line, 12);
    }

    const RUN: &str = "\nrunning 4 tests\n\
        test lib_tests::test_a ... ok\n\
        test lib_tests::test_b ... FAILED\n\
        test lib_tests::test_c ... ignored, testsmith: write this test\n\
        test other::test_d ... ok\n\
        \nfailures:\n\n\
        ---- lib_tests::test_b stdout ----\n\n\
        thread 'lib_tests::test_b' panicked at src/lib_tests.rs:9:5:\n\
        assertion `left == right` failed\n  left: 1\n right: 2\n\
        note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\n\
        failures:\n    lib_tests::test_b\n\n\
        test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out\n";

    #[test]
    fn libtest_verdicts_become_outcomes_with_the_failure_message() {
        let request = request(&[(
            "src/lib.rs",
            "src/lib_tests.rs",
            &["test_a", "test_b", "test_c"],
        )]);
        let results = test_results(&request, &output(RUN, ""));
        let outcomes: Vec<(&str, &TestOutcome)> = results
            .iter()
            .map(|result| (result.name.as_str(), &result.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("test_a", &TestOutcome::Passed),
                (
                    "test_b",
                    &TestOutcome::Failed(
                        "thread 'lib_tests::test_b' panicked at src/lib_tests.rs:9:5:\n\
                         assertion `left == right` failed\n  left: 1\n right: 2"
                            .to_owned()
                    )
                ),
                (
                    "test_c",
                    &TestOutcome::Skipped("testsmith: write this test".to_owned())
                ),
            ]
        );
    }

    #[test]
    fn a_test_the_binary_died_in_is_unfinished() {
        let request = request(&[("src/lib.rs", "src/lib_tests.rs", &["test_a"])]);
        let stderr = "error: test failed, to rerun pass `--lib`\n\nCaused by:\n  process didn't \
                      exit successfully: `/t/deps/x-1` (signal: 6, SIGABRT: process abort signal)\n";
        let results = test_results(
            &request,
            &output("\nrunning 1 test\ntest lib_tests::test_a ... ", stderr),
        );
        assert_eq!(
            results[0].outcome,
            TestOutcome::Unfinished(
                "process didn't exit successfully: `/t/deps/x-1` (signal: 6, SIGABRT: process \
                 abort signal)"
                    .to_owned()
            )
        );
    }

    /// Two binaries, as `cargo test --tests` prints them: the library's unit tests (one of
    /// them failing) and an integration test file whose `it_works` shares a name with the
    /// library's, and a test name a test printed into the middle of.
    const SUITE: &str = "\nrunning 3 tests\n\
        test tests::starts_quiet ... FAILED\n\
        test lib_tests::test_set_mode ... ok\n\
        test it_works ... ok\n\
        test slow_one has been running for over 60 seconds\n\
        \nfailures:\n\n\
        ---- tests::starts_quiet stdout ----\n\n\
        thread 'tests::starts_quiet' panicked at src/lib.rs:20:9:\nmode is loud\n\n\n\
        failures:\n    tests::starts_quiet\n\n\
        test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n\n\
        \nrunning 2 tests\n\
        test it_works ... FAILED\n\
        test user_ignored ... ignored\n\
        \nfailures:\n\n\
        ---- it_works stdout ----\n\n\
        thread 'it_works' panicked at tests/api.rs:3:5:\nthe integration test's own\n\n\
        failures:\n    it_works\n\n\
        test result: FAILED. 0 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out\n\n";

    #[test]
    fn the_suite_is_every_test_target_with_the_features_chosen() {
        let mut asked = request(&[("src/lib.rs", "src/lib_tests.rs", &["test_a"])]);
        asked.build.features = vec!["serde".to_owned()];
        let command = suite_command(&asked).unwrap();
        assert_eq!(
            command.display(),
            "cargo test --features=serde --tests --no-fail-fast"
        );
        assert_eq!(command.step, VerifyStep::Run);
        assert!(suite_command(&request(&[])).is_none());
    }

    #[test]
    fn suite_results_are_read_binary_by_binary_with_each_ones_failure_message() {
        let results = suite_results(&output(SUITE, ""));
        let outcomes: Vec<(&str, &TestOutcome)> = results
            .iter()
            .map(|result| (result.name.as_str(), &result.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                (
                    "tests::starts_quiet",
                    &TestOutcome::Failed(
                        "thread 'tests::starts_quiet' panicked at src/lib.rs:20:9:\nmode is loud"
                            .to_owned()
                    )
                ),
                ("lib_tests::test_set_mode", &TestOutcome::Passed),
                ("it_works", &TestOutcome::Passed),
                (
                    "it_works",
                    &TestOutcome::Failed(
                        "thread 'it_works' panicked at tests/api.rs:3:5:\nthe integration \
                         test's own"
                            .to_owned()
                    )
                ),
                ("user_ignored", &TestOutcome::Skipped(String::new())),
            ]
        );
        assert!(results.iter().all(|result| result.unit == Path::new("")));
    }

    #[test]
    fn a_test_binary_that_stopped_early_is_one_unfinished_result_named_after_its_target() {
        let stdout = "\nrunning 3 tests\ntest lib_tests::test_hook ... ok\n\n\
                      running 1 test\ntest it_works ... ok\n\n\
                      test result: ok. 1 passed; 0 failed\n";
        let stderr = "     Running unittests src/lib.rs (target/debug/deps/x-1)\n\
                      error: test failed, to rerun pass `--lib`\n\nCaused by:\n  process didn't \
                      exit successfully: `/t/deps/x-1` (signal: 6, SIGABRT: process abort signal)\n\
                      \x20    Running tests/api.rs (target/debug/deps/api-2)\n";
        let results = suite_results(&output(stdout, stderr));
        let stopped: Vec<&SuiteResult> = results
            .iter()
            .filter(|result| result.name.starts_with("test binary of "))
            .collect();
        assert_eq!(stopped.len(), 1, "{results:?}");
        assert_eq!(stopped[0].name, "test binary of src/lib.rs");
        assert!(
            matches!(&stopped[0].outcome, TestOutcome::Unfinished(note) if note.contains("SIGABRT")),
            "{:?}",
            stopped[0].outcome
        );
        // Binaries that finished their report are no result of their own.
        assert!(
            suite_results(&output(SUITE, ""))
                .iter()
                .all(|r| !r.name.starts_with("the test"))
        );
    }

    #[test]
    fn a_test_two_targets_run_is_verified_by_its_first_verdict() {
        let request = request(&[("src/lib.rs", "src/lib_tests.rs", &["test_a"])]);
        let stdout = "\nrunning 1 test\ntest lib_tests::test_a ... ok\n\n\
                      test result: ok. 1 passed; 0 failed\n\n\
                      running 1 test\ntest lib_tests::test_a ... ok\n\n\
                      test result: ok. 1 passed; 0 failed\n";
        assert_eq!(test_results(&request, &output(stdout, "")).len(), 1);
    }

    const FILE: &str = "use super::*;\n\n#[test]\nfn test_a() {\n    assert_eq!(a(), 1);\n}\n\n\
                        // testsmith:scaffold sig=1 body=2\n#[test]\n#[ignore = \"testsmith: write this test\"]\n\
                        fn test_b() {\n    todo!()\n}\n";

    #[test]
    fn quarantine_adds_an_ignore_right_above_the_function() {
        let quarantined = quarantine(FILE, "test_a", "left: 1, right: 2").unwrap();
        assert_eq!(
            quarantined,
            FILE.replace(
                "#[test]\nfn test_a",
                "#[test]\n#[ignore = \"testsmith: failed: left: 1, right: 2\"]\nfn test_a"
            )
        );
    }

    #[test]
    fn quarantine_replaces_an_ignore_that_is_there() {
        let quarantined = quarantine(FILE, "test_b", "it \"panicked\"").unwrap();
        assert!(quarantined.contains(
            "#[test]\n#[ignore = \"testsmith: failed: it \\\"panicked\\\"\"]\nfn test_b"
        ));
        assert_eq!(quarantined.matches("#[ignore").count(), 1);
    }

    #[test]
    fn quarantine_reaches_into_inline_modules_and_keeps_indentation() {
        let text = "mod tests {\n    #[test]\n    fn test_a() {}\n}\n";
        assert_eq!(
            quarantine(text, "test_a", "x").unwrap(),
            "mod tests {\n    #[test]\n    #[ignore = \"testsmith: failed: x\"]\n    fn test_a() {}\n}\n"
        );
    }

    #[test]
    fn a_library_whose_tests_are_off_is_named_beside_the_test_targets() {
        let off = "[package]\nname = \"a\"\n\n[lib]\npath = \"src/lib.rs\"\ntest = false\n";
        assert_eq!(test_targets(off), ["--lib", "--tests"]);
        for on in [
            "[package]\nname = \"a\"\n",
            "[package]\nname = \"a\"\n\n[lib]\ntest = true\n",
            "not toml [",
        ] {
            assert_eq!(test_targets(on), ["--tests"], "{on}");
        }
        let mut request = request(&[("src/lib.rs", "src/lib_tests.rs", &["test_x"])]);
        request.marker_text = off.to_owned();
        let commands = commands(&request);
        assert_eq!(commands[0].args[..3], ["test", "--lib", "--tests"]);
        assert_eq!(commands[1].args[..3], ["test", "--lib", "--tests"]);
        assert_eq!(
            suite_command(&request).unwrap().args[..3],
            ["test", "--lib", "--tests"]
        );
    }
}
