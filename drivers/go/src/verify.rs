//! Verifying Go tests with the go tool, and the edits verification makes to a test file.
//!
//! Three commands, over every package that holds a test file of the request:
//! - build: `go test -run '^$' -gcflags=-e` compiles each package's tests and lists every
//!   compile error (`go vet` stops at the first type error, and the compiler at ten);
//! - lint: `go vet`, once the build is clean;
//! - run: `go test -json -run '^(TestA|TestB)$'`, exactly the tests asked for; test2json
//!   attributes every line of output, panics and time-outs included, to its test.
//!
//! A failed test is quarantined with `t.Skip("testsmith: failed: <reason>")` as its first
//! statement; a removed test takes along the imports only it used.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use testsmith_driver::verify::folder_of;
use testsmith_driver::{
    CommandOutput, Diagnostic, SuiteResult, TestOutcome, TestResult, VerifyCommand, VerifyRequest,
    VerifyStep, syntax,
};
use tree_sitter::Node;

/// The prefix of every message testsmith puts on a test it quarantines.
const QUARANTINE_PREFIX: &str = "testsmith: failed: ";

/// How much of a failed test's output is kept for the report and a repair prompt.
const MAX_OUTPUT_LINES: usize = 30;

/// Build, vet and run commands for `request`'s packages.
pub(crate) fn commands(request: &VerifyRequest) -> Vec<VerifyCommand> {
    let packages: BTreeSet<String> = request
        .files
        .iter()
        .map(|file| package_pattern(folder_of(&file.test_file)))
        .collect();
    if packages.is_empty() {
        return Vec::new();
    }
    let tests: BTreeSet<&str> = request
        .files
        .iter()
        .flat_map(|file| file.tests.iter().map(String::as_str))
        .collect();
    let tags =
        (!request.build.tags.is_empty()).then(|| format!("-tags={}", request.build.tags.join(",")));
    let command = |step: VerifyStep, args: &[&str]| VerifyCommand {
        step,
        program: "go".to_owned(),
        // `go vet -tags x`, `go test -tags x`: the flag goes right after the subcommand.
        args: args[..1]
            .iter()
            .map(|arg| (*arg).to_owned())
            .chain(tags.clone())
            .chain(args[1..].iter().map(|arg| (*arg).to_owned()))
            .chain(packages.iter().cloned())
            .collect(),
        dir: request.root.clone(),
        env: crate::gopath::env(&request.root),
    };
    let run_pattern = format!("^({})$", tests.into_iter().collect::<Vec<_>>().join("|"));
    let timeout = format!("-timeout={}s", request.test_timeout_secs.max(1));
    vec![
        command(
            VerifyStep::Build,
            &["test", "-count=1", "-vet=off", "-gcflags=-e", "-run", "^$"],
        ),
        command(VerifyStep::Lint, &["vet"]),
        command(
            VerifyStep::Run,
            &[
                "test",
                "-count=1",
                "-vet=off",
                "-json",
                &timeout,
                "-run",
                &run_pattern,
            ],
        ),
    ]
}

/// `./a/b` for a folder below the module root, `.` for the root itself.
fn package_pattern(folder: &Path) -> String {
    if folder.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        format!("./{}", folder.display())
    }
}

/// Every `file.go:line:column: message` the compiler or vet printed. Lines indented below
/// one (`have (int)` / `want (string)`) belong to its message.
pub(crate) fn diagnostics(output: &CommandOutput) -> Vec<Diagnostic> {
    let mut found: Vec<Diagnostic> = Vec::new();
    for text in [&output.stderr, &output.stdout] {
        let mut continues = false;
        for line in text.lines() {
            if let Some(diagnostic) = parse_diagnostic(line) {
                found.push(diagnostic);
                continues = true;
            } else if continues && line.starts_with([' ', '\t']) && !line.trim().is_empty() {
                let last = found.last_mut().expect("a diagnostic to continue");
                last.message.push('\n');
                last.message.push_str(line.trim());
            } else {
                continues = false;
            }
        }
    }
    found
}

fn parse_diagnostic(line: &str) -> Option<Diagnostic> {
    let line = line.strip_prefix("vet: ").unwrap_or(line);
    let at = line.find(".go:")? + ".go".len();
    let (file, rest) = line.split_at(at);
    if file.starts_with(char::is_whitespace) || file.contains('\t') {
        return None;
    }
    let mut fields = rest[1..].splitn(3, ':');
    let line_number: usize = fields.next()?.parse().ok()?;
    let (column, message) = match (fields.next(), fields.next()) {
        (Some(column), Some(message)) if column.parse::<usize>().is_ok() => {
            (column.parse().ok()?, message)
        }
        // `file.go:12: message`: no column, and the message may itself hold colons.
        _ => (0, rest[1..].split_once(':')?.1),
    };
    let message = message.strip_prefix(' ')?;
    Some(Diagnostic {
        file: PathBuf::from(file.trim_start_matches("./")),
        line: line_number,
        column,
        message: message.trim_end().to_owned(),
    })
}

/// The module path `go.mod` declares.
pub(crate) fn module_path(go_mod: &str) -> Option<&str> {
    go_mod.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("module")?;
        if !rest.starts_with(char::is_whitespace) {
            return None;
        }
        let rest = rest.split("//").next().unwrap_or("").trim();
        Some(rest.trim_matches('"'))
    })
}

/// What `go test -json` said about each test of the request.
pub(crate) fn test_results(request: &VerifyRequest, output: &CommandOutput) -> Vec<TestResult> {
    let module = module_path(&request.marker_text).unwrap_or("");
    json_results(output)
        .into_iter()
        .filter_map(|(package, name, outcome)| {
            let folder = package_folder(module, &package)?;
            let file = request.file_in_folder(&folder, &name)?;
            Some(TestResult {
                test_file: file.test_file.clone(),
                name,
                outcome,
            })
        })
        .collect()
}

/// Every top-level test in `go test -json` output, in the order they first appear: its
/// package's import path, its name and how it ended.
fn json_results(output: &CommandOutput) -> Vec<(String, String, TestOutcome)> {
    #[derive(Default)]
    struct Seen {
        output: Vec<String>,
        end: Option<String>,
    }
    let mut order: Vec<(String, String)> = Vec::new();
    let mut seen: HashMap<(String, String), Seen> = HashMap::new();
    for line in output.stdout.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let field = |name: &str| event.get(name).and_then(|v| v.as_str());
        let (Some(action), Some(package), Some(test)) =
            (field("Action"), field("Package"), field("Test"))
        else {
            continue;
        };
        // Subtests end up in their parent's output and verdict.
        let top = test.split('/').next().unwrap_or(test);
        let key = (package.to_owned(), top.to_owned());
        let entry = seen.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Seen::default()
        });
        match action {
            "output" => entry.output.push(field("Output").unwrap_or("").to_owned()),
            "pass" | "fail" | "skip" if top == test => entry.end = Some(action.to_owned()),
            _ => {}
        }
    }
    order
        .into_iter()
        .map(|key| {
            let seen = &seen[&key];
            let text = test_output(&seen.output);
            let outcome = match seen.end.as_deref() {
                Some("pass") => TestOutcome::Passed,
                Some("fail") => TestOutcome::Failed(text),
                Some(_) => TestOutcome::Skipped(text),
                None => TestOutcome::Unfinished(text),
            };
            (key.0, key.1, outcome)
        })
        .collect()
}

/// `go test -json` over every test of the packages holding the request's test files: the
/// user's suite, compared before and after testsmith's edit.
pub(crate) fn suite_command(request: &VerifyRequest) -> Option<VerifyCommand> {
    let packages: BTreeSet<String> = request
        .files
        .iter()
        .map(|file| package_pattern(folder_of(&file.test_file)))
        .collect();
    if packages.is_empty() {
        return None;
    }
    let mut args = vec!["test".to_owned()];
    if !request.build.tags.is_empty() {
        args.push(format!("-tags={}", request.build.tags.join(",")));
    }
    args.extend(
        [
            "-count=1".to_owned(),
            "-vet=off".to_owned(),
            "-json".to_owned(),
            format!("-timeout={}s", request.test_timeout_secs.max(1)),
        ]
        .into_iter()
        .chain(packages),
    );
    Some(VerifyCommand {
        step: VerifyStep::Run,
        program: "go".to_owned(),
        args,
        dir: request.root.clone(),
        env: crate::gopath::env(&request.root),
    })
}

/// Every test a suite command ran, by its package's folder below the module root.
pub(crate) fn suite_results(request: &VerifyRequest, output: &CommandOutput) -> Vec<SuiteResult> {
    let module = module_path(&request.marker_text).unwrap_or("");
    json_results(output)
        .into_iter()
        .filter_map(|(package, name, outcome)| {
            Some(SuiteResult {
                unit: package_folder(module, &package)?,
                name,
                outcome,
            })
        })
        .collect()
}

/// The folder below the module root a package's import path points at. The standard
/// library's module, `std` (GOROOT/src/go.mod), is the one whose import paths do not start
/// with the module path: `encoding/json` is GOROOT/src/encoding/json.
fn package_folder(module: &str, package: &str) -> Option<PathBuf> {
    if module == "std" {
        return Some(PathBuf::from(package));
    }
    if package == module {
        return Some(PathBuf::new());
    }
    let below = package.strip_prefix(module)?.strip_prefix('/')?;
    Some(PathBuf::from(below))
}

/// A test's own output without go test's bookkeeping lines, at most [`MAX_OUTPUT_LINES`].
fn test_output(lines: &[String]) -> String {
    let kept: Vec<&str> = lines
        .iter()
        .flat_map(|chunk| chunk.lines())
        .filter(|line| {
            let trimmed = line.trim_start();
            !(trimmed.starts_with("=== ")
                || trimmed.starts_with("--- PASS")
                || trimmed.starts_with("--- FAIL")
                || trimmed.starts_with("--- SKIP"))
        })
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .take(MAX_OUTPUT_LINES)
        .collect();
    kept.join("\n")
}

/// `text` with `t.Skip("testsmith: failed: <reason>")` as the first statement of the test
/// function `test_name`; an earlier quarantine of testsmith's is replaced.
pub(crate) fn quarantine(text: &str, test_name: &str, reason: &str) -> Result<String, String> {
    let tree = syntax::parse(&super::GO, text).ok_or("the Go grammar failed to load")?;
    let root = tree.root_node();
    let mut cursor = root.walk();
    let function = root
        .children(&mut cursor)
        .find(|node| {
            node.kind() == "function_declaration"
                && node
                    .child_by_field_name("name")
                    .is_some_and(|name| syntax::text(name, text) == test_name)
        })
        .ok_or_else(|| format!("no test function named {test_name}"))?;
    let testing_t = testing_parameter(function, text)
        .ok_or_else(|| format!("{test_name} has no named *testing.T parameter to skip with"))?;
    let body = function
        .child_by_field_name("body")
        .ok_or_else(|| format!("{test_name} has no body"))?;
    let skip = format!(
        "{testing_t}.Skip({})",
        go_string(&format!("{QUARANTINE_PREFIX}{reason}"))
    );

    let open = body.start_byte() + 1;
    let close = body.end_byte() - 1;
    let mut out = String::with_capacity(text.len() + skip.len() + 4);
    if let Some(earlier) = first_statement(body).filter(|statement| {
        syntax::text(*statement, text)
            .starts_with(&format!("{testing_t}.Skip(\"{QUARANTINE_PREFIX}"))
    }) {
        out.push_str(&text[..earlier.start_byte()]);
        out.push_str(&skip);
        out.push_str(&text[earlier.end_byte()..]);
    } else if text[open..close].trim().is_empty() {
        out.push_str(&text[..open]);
        out.push_str(&format!("\n\t{skip}\n"));
        out.push_str(&text[close..]);
    } else {
        out.push_str(&text[..open]);
        out.push_str(&format!("\n\t{skip}"));
        out.push_str(&text[open..]);
    }
    Ok(out)
}

/// The name of the function's `*testing.T` parameter.
fn testing_parameter<'s>(function: Node<'_>, text: &'s str) -> Option<&'s str> {
    let parameters = function.child_by_field_name("parameters")?;
    let mut cursor = parameters.walk();
    let declaration = parameters
        .named_children(&mut cursor)
        .find(|node| node.kind() == "parameter_declaration")?;
    let name = syntax::text(declaration.child_by_field_name("name")?, text);
    (name != "_").then_some(name)
}

fn first_statement(body: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = body.walk();
    let statements = body
        .named_children(&mut cursor)
        .find(|node| node.kind() == "statement_list");
    match statements {
        Some(list) => list.named_child(0),
        // Older grammars put the statements straight into the block.
        None => body.named_child(0).filter(|node| node.kind() != "comment"),
    }
}

/// `text` as a Go interpreted string literal.
fn go_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One import of a file: its spec's byte range, the declaration it sits in, and the name
/// the file refers to it by.
#[derive(Debug)]
struct Import {
    /// The spec's whole lines (indentation, trailing comment and newline included) when it
    /// sits in a group; the whole declaration's lines when it is alone.
    removal: Range<usize>,
    declaration: Range<usize>,
    /// The name it is used by; `None` for blank (`_`) and dot imports, which are never
    /// removed.
    name: Option<String>,
}

/// `after` without the imports that `before` used and `after` no longer does.
pub(crate) fn tidy_imports(before: &str, after: &str) -> String {
    let (Some(before_tree), Some(after_tree)) = (
        syntax::parse(&super::GO, before),
        syntax::parse(&super::GO, after),
    ) else {
        return after.to_owned();
    };
    let used_before = package_names_used(before_tree.root_node(), before);
    let used_after = package_names_used(after_tree.root_node(), after);
    let imports = imports(after_tree.root_node(), after);
    let unused: Vec<&Import> = imports
        .iter()
        .filter(|import| {
            import
                .name
                .as_deref()
                .is_some_and(|name| used_before.contains(name) && !used_after.contains(name))
        })
        .collect();
    if unused.is_empty() {
        return after.to_owned();
    }
    // A group left empty goes whole.
    let mut cuts: Vec<Range<usize>> = Vec::new();
    for import in &unused {
        let siblings = imports
            .iter()
            .filter(|other| other.declaration == import.declaration)
            .count();
        let emptied = unused
            .iter()
            .filter(|other| other.declaration == import.declaration)
            .count()
            == siblings;
        let cut = if emptied {
            whole_lines(after, &import.declaration, true)
        } else {
            import.removal.clone()
        };
        if !cuts.contains(&cut) {
            cuts.push(cut);
        }
    }
    cuts.sort_by_key(|cut| std::cmp::Reverse(cut.start));
    let mut out = after.to_owned();
    for cut in cuts {
        out.replace_range(cut, "");
    }
    out
}

fn imports(root: Node<'_>, text: &str) -> Vec<Import> {
    let mut found = Vec::new();
    let mut cursor = root.walk();
    for declaration in root.children(&mut cursor) {
        if declaration.kind() != "import_declaration" {
            continue;
        }
        let mut specs = Vec::new();
        collect_specs(declaration, &mut specs);
        let is_grouped = syntax::text(declaration, text).contains('(');
        for spec in specs {
            let removal = if is_grouped {
                whole_lines(text, &spec.byte_range(), false)
            } else {
                whole_lines(text, &declaration.byte_range(), true)
            };
            found.push(Import {
                removal,
                declaration: declaration.byte_range(),
                name: import_name(spec, text),
            });
        }
    }
    found
}

fn collect_specs<'t>(node: Node<'t>, specs: &mut Vec<Node<'t>>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "import_spec" => specs.push(child),
            "import_spec_list" => collect_specs(child, specs),
            _ => {}
        }
    }
}

/// The name a file uses an import by: its alias, or the last element of its path as
/// goimports guesses it (`gopkg.in/yaml.v3` → `yaml`, `github.com/x/go-foo` → `foo`).
fn import_name(spec: Node<'_>, text: &str) -> Option<String> {
    if let Some(alias) = spec.child_by_field_name("name") {
        let alias = syntax::text(alias, text);
        return (alias != "_" && alias != ".").then(|| alias.to_owned());
    }
    let path = syntax::text(spec.child_by_field_name("path")?, text).trim_matches(['"', '`']);
    let mut elements = path.rsplit('/');
    let mut last = elements.next()?;
    if is_major_version(last) {
        last = elements.next().unwrap_or(last);
    }
    let last = match last.rsplit_once('.') {
        Some((head, version)) if is_major_version(version) => head,
        _ => last,
    };
    let last = last.strip_prefix("go-").unwrap_or(last);
    let last = last.strip_suffix("-go").unwrap_or(last);
    Some(last.replace(['-', '.'], "_"))
}

fn is_major_version(element: &str) -> bool {
    element
        .strip_prefix('v')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Every name used as a package qualifier: `x` in `x.Y` (an expression or a type).
fn package_names_used(root: Node<'_>, text: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "import_declaration" => continue,
            "package_identifier" => {
                names.insert(syntax::text(node, text).to_owned());
            }
            "selector_expression" => {
                if let Some(operand) = node
                    .child_by_field_name("operand")
                    .filter(|operand| operand.kind() == "identifier")
                {
                    names.insert(syntax::text(operand, text).to_owned());
                }
            }
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    names
}

/// `range` widened to whole lines with their newline; with `with_blank_after`, a blank line
/// right after goes too (the one separating a lone import from the code below).
fn whole_lines(text: &str, range: &Range<usize>, with_blank_after: bool) -> Range<usize> {
    let start = text[..range.start].rfind('\n').map_or(0, |at| at + 1);
    let mut end = text[range.end..]
        .find('\n')
        .map_or(text.len(), |at| range.end + at + 1);
    if with_blank_after && text[end..].starts_with('\n') {
        end += 1;
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::FileToVerify;

    fn request(files: &[(&str, &[&str])]) -> VerifyRequest {
        VerifyRequest {
            root: PathBuf::from("/project"),
            marker_text: "module example.com/shapes\n\ngo 1.19\n".to_owned(),
            files: files
                .iter()
                .map(|(test_file, tests)| FileToVerify {
                    test_file: PathBuf::from(test_file),
                    source_file: PathBuf::from(test_file.replace("_test.go", ".go")),
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
            exit_code: Some(1),
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
        }
    }

    #[test]
    fn the_packages_are_built_vetted_and_run_with_exactly_the_tests_asked_for() {
        let request = request(&[
            ("shapes/shapes_test.go", &["TestArea", "TestNewRect"]),
            ("shapes/stack_test.go", &["TestStack_Push"]),
            ("main_test.go", &["TestMain_"]),
        ]);
        let lines: Vec<String> = commands(&request).iter().map(|c| c.display()).collect();
        assert_eq!(
            lines,
            [
                "go test -count=1 -vet=off -gcflags=-e -run '^$' . ./shapes",
                "go vet . ./shapes",
                "go test -count=1 -vet=off -json -timeout=60s -run \
                 '^(TestArea|TestMain_|TestNewRect|TestStack_Push)$' . ./shapes",
            ]
        );
    }

    #[test]
    fn compiler_and_vet_errors_are_read_with_file_line_and_column() {
        let stderr = "# example.com/shapes [example.com/shapes.test]\n\
                      shapes/shapes_test.go:9:7: undefined: foo\n\
                      shapes/shapes_test.go:14:17: cannot use x (variable of type int) as string value\n\
                      \thave (int)\n\
                      \twant (string)\n\
                      vet: ./stack_test.go:3:2: undeclared name: bar\n\
                      FAIL\texample.com/shapes [build failed]\n";
        let found = diagnostics(&output("", stderr));
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].file, PathBuf::from("shapes/shapes_test.go"));
        assert_eq!((found[0].line, found[0].column), (9, 7));
        assert_eq!(found[0].message, "undefined: foo");
        assert!(
            found[1]
                .message
                .ends_with("as string value\nhave (int)\nwant (string)")
        );
        assert_eq!(found[2].file, PathBuf::from("stack_test.go"));
        assert_eq!(found[2].line, 3);
    }

    #[test]
    fn a_diagnostic_without_a_column_keeps_its_whole_message() {
        let found = diagnostics(&output("", "a_test.go:12: expected 'x': got y\n"));
        assert_eq!((found[0].line, found[0].column), (12, 0));
        assert_eq!(found[0].message, "expected 'x': got y");
    }

    #[test]
    fn test_json_events_become_outcomes_with_the_tests_own_output() {
        let request = request(&[(
            "shapes/shapes_test.go",
            &["TestA", "TestB", "TestC", "TestD"],
        )]);
        let event = |action: &str, test: &str, out: &str| {
            serde_json::json!({
                "Action": action, "Package": "example.com/shapes/shapes", "Test": test,
                "Output": out,
            })
            .to_string()
        };
        let stdout = [
            event("run", "TestA", ""),
            event("output", "TestA", "=== RUN   TestA\n"),
            event("pass", "TestA", ""),
            event("run", "TestB", ""),
            event(
                "output",
                "TestB",
                "    shapes_test.go:14: Area() = 3, want 4\n",
            ),
            event("output", "TestB", "--- FAIL: TestB (0.00s)\n"),
            event("fail", "TestB", ""),
            event("run", "TestB/case_1", ""),
            event("pass", "TestB/case_1", ""),
            event("run", "TestC", ""),
            event(
                "output",
                "TestC",
                "    shapes_test.go:20: testsmith: failed: x\n",
            ),
            event("skip", "TestC", ""),
            event("run", "TestD", ""),
            event("output", "TestD", "panic: test timed out after 1s\n"),
            event("run", "TestOther", ""),
            event("pass", "TestOther", ""),
        ]
        .join("\n");
        let results = test_results(&request, &output(&stdout, ""));
        let outcomes: Vec<(&str, &TestOutcome)> = results
            .iter()
            .map(|result| (result.name.as_str(), &result.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("TestA", &TestOutcome::Passed),
                (
                    "TestB",
                    &TestOutcome::Failed("    shapes_test.go:14: Area() = 3, want 4".to_owned())
                ),
                (
                    "TestC",
                    &TestOutcome::Skipped("    shapes_test.go:20: testsmith: failed: x".to_owned())
                ),
                (
                    "TestD",
                    &TestOutcome::Unfinished("panic: test timed out after 1s".to_owned())
                ),
            ]
        );
        assert_eq!(results[0].test_file, PathBuf::from("shapes/shapes_test.go"));
    }

    #[test]
    fn a_package_at_the_module_root_is_found_by_the_module_path() {
        let request = request(&[("a_test.go", &["TestA"])]);
        let stdout = serde_json::json!({
            "Action": "pass", "Package": "example.com/shapes", "Test": "TestA"
        })
        .to_string();
        let results = test_results(&request, &output(&stdout, ""));
        assert_eq!(results[0].test_file, PathBuf::from("a_test.go"));
    }

    /// In a copy of GOROOT every generated test was "never run": `encoding/json` was looked
    /// for below a module path `std` it does not start with.
    #[test]
    fn a_standard_library_package_is_found_by_its_import_path_alone() {
        let mut request = request(&[("encoding/json/decode_test.go", &["TestA"])]);
        request.marker_text = "module std\n\ngo 1.19\n".to_owned();
        let stdout = serde_json::json!({
            "Action": "pass", "Package": "encoding/json", "Test": "TestA"
        })
        .to_string();
        let results = test_results(&request, &output(&stdout, ""));
        assert_eq!(
            results[0].test_file,
            PathBuf::from("encoding/json/decode_test.go")
        );
        let suite = suite_results(&request, &output(&stdout, ""));
        assert_eq!(suite[0].unit, PathBuf::from("encoding/json"));
    }

    const FILE: &str = "package shapes\n\nimport (\n\t\"reflect\"\n\t\"testing\"\n)\n\n\
                        func TestA(t *testing.T) {\n\tif !reflect.DeepEqual(1, 1) {\n\t\tt.Fatal()\n\t}\n}\n\n\
                        func TestB(t *testing.T) {\n}\n";

    #[test]
    fn quarantine_puts_a_skip_first_and_changes_nothing_else() {
        let quarantined = quarantine(FILE, "TestA", "Area() = 3, want 4").unwrap();
        assert_eq!(
            quarantined,
            FILE.replace(
                "func TestA(t *testing.T) {\n",
                "func TestA(t *testing.T) {\n\tt.Skip(\"testsmith: failed: Area() = 3, want 4\")\n"
            )
        );
    }

    #[test]
    fn quarantine_of_an_empty_test_keeps_gofmt_layout() {
        let quarantined = quarantine(FILE, "TestB", "say \"why\"").unwrap();
        assert!(quarantined.ends_with(
            "func TestB(t *testing.T) {\n\tt.Skip(\"testsmith: failed: say \\\"why\\\"\")\n}\n"
        ));
    }

    #[test]
    fn quarantining_twice_replaces_the_first_reason() {
        let once = quarantine(FILE, "TestA", "first").unwrap();
        let twice = quarantine(&once, "TestA", "second").unwrap();
        assert_eq!(twice, once.replace("first", "second"));
    }

    #[test]
    fn quarantine_uses_the_tests_own_parameter_name() {
        let text = "package a\n\nfunc TestA(tt *testing.T) {\n\ttt.Log()\n}\n";
        let quarantined = quarantine(text, "TestA", "x").unwrap();
        assert!(quarantined.contains("{\n\ttt.Skip(\"testsmith: failed: x\")\n\ttt.Log()"));
    }

    #[test]
    fn an_import_only_the_removed_test_used_goes() {
        let after = FILE.replace(
            "func TestA(t *testing.T) {\n\tif !reflect.DeepEqual(1, 1) {\n\t\tt.Fatal()\n\t}\n}\n\n",
            "",
        );
        assert_eq!(
            tidy_imports(FILE, &after),
            "package shapes\n\nimport (\n\t\"testing\"\n)\n\nfunc TestB(t *testing.T) {\n}\n"
        );
    }

    #[test]
    fn an_import_still_used_elsewhere_stays() {
        let before = "package a\n\nimport \"fmt\"\n\nfunc TestA(t *testing.T) { fmt.Println() }\n\n\
                      func TestB(t *testing.T) { fmt.Println() }\n";
        let after = "package a\n\nimport \"fmt\"\n\nfunc TestB(t *testing.T) { fmt.Println() }\n";
        assert_eq!(tidy_imports(before, after), after);
    }

    #[test]
    fn a_lone_import_declaration_goes_whole_and_unused_ones_from_before_stay() {
        let before = "package a\n\nimport \"fmt\"\n\nimport _ \"embed\"\n\nimport yaml \"gopkg.in/yaml.v3\"\n\n\
                      func TestA(t *testing.T) { fmt.Println(yaml.Marshal) }\n";
        let after = "package a\n\nimport \"fmt\"\n\nimport _ \"embed\"\n\nimport yaml \"gopkg.in/yaml.v3\"\n";
        assert_eq!(
            tidy_imports(before, after),
            "package a\n\nimport _ \"embed\"\n\n"
        );
    }

    #[test]
    fn import_names_follow_goimports_guesses() {
        let text = "package a\n\nimport (\n\t\"gopkg.in/yaml.v3\"\n\t\"github.com/x/go-redis/v9\"\n\
                    \tj \"encoding/json\"\n\t. \"strings\"\n)\n";
        let tree = syntax::parse(&crate::GO, text).unwrap();
        let names: Vec<Option<String>> = imports(tree.root_node(), text)
            .into_iter()
            .map(|import| import.name)
            .collect();
        assert_eq!(
            names,
            [
                Some("yaml".to_owned()),
                Some("redis".to_owned()),
                Some("j".to_owned()),
                None
            ]
        );
    }
}
