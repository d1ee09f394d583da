//! Checking and fixing a Go test a model wrote, and what the model is told beforehand.
//!
//! Small models wrap code in prose and fences, write a package clause (often `p_test`) and
//! imports — too many or too few — qualify the package's own names (`shapes.NewRect`),
//! redeclare the function under test, or add a `main`. What can be fixed safely is fixed:
//! fences and prose go, the package clause and imports go (imports are recomputed from what
//! the code uses), self-qualification goes, a lone test with another name is renamed, and
//! indentation becomes gofmt's tabs. Everything else is rejected with a reason the model can
//! act on when asked again.
//!
//! The rule for top-level declarations: exactly one function, the test. Helper functions,
//! types and variables are rejected even when harmless on their own: each test is checked
//! alone, and two tests of one file each bringing a helper `ptr` would not compile together.
//! Helpers belong inside the test, as closures.

use crate::imports::{ImportSpec, guess_name};
use crate::package_context::PackageContext;
use crate::stdlib;
use crate::tests_file::lead_comments;
use std::collections::HashSet;
use std::ops::Range;
use testsmith_driver::{Member, SourceFile, TestCode, marker, syntax};
use tree_sitter::Node;

/// The longest test accepted, in characters.
pub(crate) const MAX_TEST_CHARS: usize = 20_000;

/// What a model is told about Go tests.
pub(crate) const INSTRUCTIONS: &str = "\
Go tests here are internal tests: they go into a `_test.go` file of the source's own package, \
so the package's unexported functions, types and fields are visible and are used without a \
package qualifier.
- Write exactly one function, `func TestXxx(t *testing.T)`, with exactly the test name asked \
for. Put helpers inside it as closures; put more cases in its table or in `t.Run` subtests.
- Use only the standard library (`testing`, `reflect`, `errors`, `strings`, ...) and the \
packages the source file already imports.
- Send only the function: no package clause and no imports are needed (testsmith adds the \
imports the code uses and drops the rest); a package clause or imports you send anyway are \
replaced.
- Never redeclare the function or the types under test, and write no `main` and no `init`.
- Prefer table-driven tests: a slice of cases with `name`, inputs and wanted results, a \
`t.Run(tt.name, ...)` per case, `t.Errorf` with got and want (format them with `%v`, which \
fits every type); compare with `!=` or `reflect.DeepEqual`.
- The test must compile and pass against the code exactly as it is.";

/// Checks `answer`, a model's reply for `member`'s test `test_name`, and fixes what it safely
/// can. `Err` says what is wrong in words the model can act on.
pub(crate) fn check_answer(
    source: &SourceFile<'_>,
    _member: &Member,
    test_name: &str,
    answer: &str,
) -> Result<TestCode, String> {
    let code = extract_code(answer).replace("\r\n", "\n");
    let code = dedent(&code);
    if code.trim().is_empty() {
        return Err(format!(
            "the answer holds no Go code; send the test function `func {test_name}(t *testing.T)` \
             as Go source"
        ));
    }
    let length = code.chars().count();
    if length > MAX_TEST_CHARS {
        return Err(format!(
            "the test is {length} characters long, more than the {MAX_TEST_CHARS} allowed; \
             write a shorter test"
        ));
    }
    let tree = syntax::parse(&crate::GO, &code)
        .ok_or_else(|| "the Go grammar failed to load".to_owned())?;
    let root = tree.root_node();
    if root.has_error() {
        // A skeleton's placeholder left in (it is no Go token, so it is always an error).
        if let Some(line) = code.lines().find(|line| line.contains('…')) {
            return Err(format!(
                "the test still has a `…` to fill (`{}`); replace each `…` with a concrete \
                 value",
                line.trim()
            ));
        }
        let issue = syntax::syntax_issues(&tree, &code).into_iter().next();
        let place = issue
            .map(|issue| format!(" ({} at line {})", issue.message, issue.line))
            .unwrap_or_default();
        return Err(format!(
            "the answer is not valid Go{place}; send only Go source, without prose around it"
        ));
    }
    crate::refusals::check(root, &code)?;
    let package = PackageContext::new(source);
    let top = TopLevel::read(root, &code, test_name, &package)?;
    let function = top.function;
    check_test_signature(function, &code, test_name)?;

    let locals = locals_of(function, &code);
    let own_package = package.package_name().unwrap_or_default().to_owned();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let name_node = function
        .child_by_field_name("name")
        .expect("a function declaration has a name");
    // A lone test under another name is the test asked for.
    if syntax::text(name_node, &code) != test_name {
        edits.push((name_node.byte_range(), test_name.to_owned()));
    }

    // A package whose tests are external: its own names are qualified (below), not bare.
    let external = crate::external::external_import_path(source.members);
    let mut imports = Vec::new();
    for use_ in package_uses(function, &code) {
        if locals.contains(&use_.name) || package.declares(&use_.name) {
            continue;
        }
        if external.is_some() && use_.name == own_package {
            continue;
        }
        if let Some(spec) = resolve_import(&use_.name, &top.imports, &package, &own_package)? {
            if !imports.contains(&spec) {
                imports.push(spec);
            }
            continue;
        }
        if use_.name == own_package && !own_package.is_empty() {
            // `shapes.NewRect` inside package shapes: the qualifier goes.
            edits.push((use_.qualifier, String::new()));
        }
    }
    edits.extend(printf_without_directives(function, &code, &locals));
    if !imports.iter().any(|spec| spec.path == "testing") {
        imports.push(ImportSpec::new("testing"));
    }
    // A name the package does not declare, used without a package, comes from the source
    // file's dot imports (`import . "lib"`): the test needs the same ones.
    if names_undeclared(function, &code, &locals, &package) {
        for spec in package
            .imports()
            .iter()
            .filter(|spec| spec.alias.as_deref() == Some("."))
        {
            if !imports.contains(spec) {
                imports.push(spec.clone());
            }
        }
    }
    if let Some(path) = external {
        imports.push(ImportSpec::new(path));
    }
    imports.sort();
    imports.dedup();

    let mut text = String::new();
    for comment in &top.doc {
        let line = syntax::text(*comment, &code);
        // A copied scaffold marker would make the test pass for an untouched scaffold.
        if !marker::is_marker_line(line) {
            text.push_str(line);
            text.push('\n');
        }
    }
    let mut body = code[function.start_byte()..function.end_byte()].to_owned();
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    for (range, replacement) in edits {
        let range = range.start - function.start_byte()..range.end - function.start_byte();
        body.replace_range(range, &replacement);
    }
    text.push_str(&body);
    if external.is_some() {
        // Written as an internal test (as the instructions say): qualified here.
        text = crate::external::qualify(&text, &own_package, |name| package.declares(name))?;
    }
    Ok(TestCode {
        name: test_name.to_owned(),
        code: reindent(&text),
        imports: imports.iter().map(ImportSpec::render).collect(),
    })
}

/// The answer's top level, checked: one function, with its doc comment, and the imports it
/// brought.
struct TopLevel<'t> {
    function: Node<'t>,
    doc: Vec<Node<'t>>,
    imports: Vec<ImportSpec>,
}

impl<'t> TopLevel<'t> {
    fn read(
        root: Node<'t>,
        code: &str,
        test_name: &str,
        package: &PackageContext<'_>,
    ) -> Result<TopLevel<'t>, String> {
        let mut cursor = root.walk();
        let children: Vec<Node<'t>> = root.named_children(&mut cursor).collect();
        let mut functions = Vec::new();
        let mut imports = Vec::new();
        for (index, node) in children.iter().enumerate() {
            match node.kind() {
                "comment" | "package_clause" => {}
                "import_declaration" => imports.extend(
                    crate::imports::file_imports(root, code)
                        .into_iter()
                        .filter(|found| found.declaration == node.byte_range())
                        .map(|found| found.spec),
                ),
                "function_declaration" => functions.push(index),
                "method_declaration" => {
                    return Err(format!(
                        "the answer declares the method `{}`; send only the test function \
                         `{test_name}` and build the values it needs inside it",
                        first_line(syntax::text(*node, code))
                    ));
                }
                "type_declaration" | "var_declaration" | "const_declaration" => {
                    return Err(format!(
                        "the answer declares `{}` outside the test; declare it inside \
                         `{test_name}` instead, the answer must hold only the test function",
                        first_line(syntax::text(*node, code))
                    ));
                }
                _ => {
                    return Err(format!(
                        "the answer has code outside any function (`{}`); put everything \
                         inside `func {test_name}(t *testing.T)`",
                        first_line(syntax::text(*node, code))
                    ));
                }
            }
        }
        let names: Vec<&str> = functions
            .iter()
            .filter_map(|&index| children[index].child_by_field_name("name"))
            .map(|name| syntax::text(name, code))
            .collect();
        for name in &names {
            match *name {
                "main" => {
                    return Err(format!(
                        "the answer declares `func main`; write only the test function \
                         `{test_name}`, `go test` runs it"
                    ));
                }
                "init" => {
                    return Err(format!(
                        "the answer declares `func init`; do any setup inside `{test_name}`"
                    ));
                }
                name if name != test_name && package.declares(name) => {
                    return Err(format!(
                        "the answer redeclares `{name}`, which the package already defines; \
                         write only the test function"
                    ));
                }
                _ => {}
            }
        }
        let index = match functions.as_slice() {
            [] => {
                return Err(format!(
                    "the answer holds no function; send `func {test_name}(t *testing.T) {{ ... }}`"
                ));
            }
            [single] => *single,
            _ => {
                let listed: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
                return Err(format!(
                    "the answer declares {} functions ({}); send exactly one, `{test_name}`, \
                     with helpers as closures inside it and more cases as table rows or \
                     `t.Run` subtests",
                    functions.len(),
                    listed.join(", ")
                ));
            }
        };
        let function = children[index];
        Ok(TopLevel {
            function,
            doc: lead_comments(&children[..index], function),
            imports,
        })
    }
}

/// A test takes `t *testing.T` and nothing else, returns nothing, has no type parameters.
fn check_test_signature(function: Node<'_>, code: &str, test_name: &str) -> Result<(), String> {
    let wanted = format!("`{test_name}` must be declared as `func {test_name}(t *testing.T)`");
    if function.child_by_field_name("type_parameters").is_some()
        || function.child_by_field_name("result").is_some()
    {
        return Err(wanted);
    }
    let params = function
        .child_by_field_name("parameters")
        .ok_or_else(|| wanted.clone())?;
    let mut cursor = params.walk();
    let declarations: Vec<Node<'_>> = params
        .named_children(&mut cursor)
        .filter(|child| child.kind() != "comment")
        .collect();
    let is_testing_t = |declaration: &Node<'_>| {
        let mut cursor = declaration.walk();
        let names = declaration
            .children_by_field_name("name", &mut cursor)
            .count();
        declaration.kind() == "parameter_declaration"
            && names <= 1
            && declaration.child_by_field_name("type").is_some_and(|ty| {
                let ty = syntax::collapse_whitespace(syntax::text(ty, code));
                ty.starts_with('*') && ty.ends_with(".T")
            })
    };
    match declarations.as_slice() {
        [single] if is_testing_t(single) => Ok(()),
        _ => Err(wanted),
    }
}

/// A package name used in the code, and the `name.` qualifier's bytes.
struct PackageUse {
    name: String,
    qualifier: Range<usize>,
}

/// `t.Errorf("sum is wrong", got)`: a printf-style call of `testing` whose literal format
/// holds no `%` but is given arguments, which `go vet` (run by `go test`) refuses, so the test
/// would never build. Small models write it often; the plain form (`t.Error`) prints the same
/// values, so the call is renamed to it. Only calls on the test's own values (`t`, `b`, a
/// subtest's `t`): `fmt.Errorf` and `log.Fatalf` are other functions.
fn printf_without_directives(
    function: Node<'_>,
    code: &str,
    locals: &HashSet<String>,
) -> Vec<(Range<usize>, String)> {
    let mut edits = Vec::new();
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
        if node.kind() != "call_expression" {
            continue;
        }
        let Some(callee) = node
            .child_by_field_name("function")
            .filter(|callee| callee.kind() == "selector_expression")
        else {
            continue;
        };
        let on_a_local = callee
            .child_by_field_name("operand")
            .is_some_and(|operand| locals.contains(syntax::text(operand, code)));
        let Some(field) = callee.child_by_field_name("field").filter(|_| on_a_local) else {
            continue;
        };
        let plain = match syntax::text(field, code) {
            "Errorf" => "Error",
            "Fatalf" => "Fatal",
            "Logf" => "Log",
            "Skipf" => "Skip",
            _ => continue,
        };
        let Some(arguments) = node.child_by_field_name("arguments") else {
            continue;
        };
        let mut cursor = arguments.walk();
        let arguments: Vec<Node<'_>> = arguments.named_children(&mut cursor).collect();
        let format_has_no_directive = arguments.first().is_some_and(|format| {
            matches!(
                format.kind(),
                "interpreted_string_literal" | "raw_string_literal"
            ) && !syntax::text(*format, code).contains('%')
        });
        if format_has_no_directive && arguments.len() > 1 {
            edits.push((field.byte_range(), plain.to_owned()));
        }
    }
    edits
}

/// Every `x.` in the function that may name a package: selector operands that are plain
/// identifiers, and qualified types.
fn package_uses(function: Node<'_>, code: &str) -> Vec<PackageUse> {
    let mut uses = Vec::new();
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        let qualifier = match node.kind() {
            "selector_expression" => node
                .child_by_field_name("operand")
                .filter(|operand| operand.kind() == "identifier")
                .zip(node.child_by_field_name("field")),
            "qualified_type" => node
                .child_by_field_name("package")
                .zip(node.child_by_field_name("name")),
            _ => None,
        };
        if let Some((name, after)) = qualifier {
            uses.push(PackageUse {
                name: syntax::text(name, code).to_owned(),
                qualifier: name.start_byte()..after.start_byte(),
            });
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    uses.sort_by_key(|use_| use_.qualifier.start);
    uses
}

/// Whether the function names a type, or calls a function, that is neither its own, the
/// package's, nor predeclared — one only a dot import can bring.
fn names_undeclared(
    function: Node<'_>,
    code: &str,
    locals: &HashSet<String>,
    package: &PackageContext<'_>,
) -> bool {
    // Types the test declares for itself (`type Case struct`) are found on the way.
    let mut declared_here: HashSet<&str> = HashSet::new();
    let mut used = Vec::new();
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        let name = match node.kind() {
            "type_identifier"
                if node
                    .parent()
                    .is_none_or(|parent| parent.kind() != "qualified_type") =>
            {
                Some(node)
            }
            "call_expression" => node
                .child_by_field_name("function")
                .filter(|callee| callee.kind() == "identifier"),
            _ => None,
        };
        if node.kind() == "type_spec"
            && let Some(declared) = node.child_by_field_name("name")
        {
            declared_here.insert(syntax::text(declared, code));
        }
        if let Some(name) = name {
            let name = syntax::text(name, code);
            // Only what a package exports can come from another one.
            if name.starts_with(|c: char| c.is_uppercase())
                && !locals.contains(name)
                && !crate::types::is_predeclared(name)
                && !package.declares(name)
                && package.type_decl(name).is_none()
            {
                used.push(name);
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    used.iter().any(|name| !declared_here.contains(name))
}

/// Every name the function declares for itself: parameters, variables, constants, range and
/// type-switch variables, closures' parameters. A use of one of them is no package.
fn locals_of(function: Node<'_>, code: &str) -> HashSet<String> {
    let mut locals = HashSet::new();
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        let mut declared: Vec<Node<'_>> = Vec::new();
        match node.kind() {
            "parameter_declaration"
            | "variadic_parameter_declaration"
            | "var_spec"
            | "const_spec" => {
                let mut cursor = node.walk();
                declared.extend(node.children_by_field_name("name", &mut cursor));
            }
            "short_var_declaration" | "range_clause" | "receive_statement" => {
                if let Some(left) = node.child_by_field_name("left") {
                    let mut cursor = left.walk();
                    declared.extend(left.named_children(&mut cursor));
                }
            }
            "type_switch_statement" => {
                if let Some(alias) = node.child_by_field_name("alias") {
                    let mut cursor = alias.walk();
                    declared.extend(alias.named_children(&mut cursor));
                }
            }
            _ => {}
        }
        for name in declared {
            if name.kind() == "identifier" {
                locals.insert(syntax::text(name, code).to_owned());
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    locals
}

/// The import for a package used as `name`: the answer's own import (unless it is the package
/// under test), the source file's, or the standard library's. `None` when `name` is no
/// package testsmith knows (a variable of another file of the package, or the package's own
/// name used as a qualifier).
fn resolve_import(
    name: &str,
    answer_imports: &[ImportSpec],
    package: &PackageContext<'_>,
    own_package: &str,
) -> Result<Option<ImportSpec>, String> {
    if name == "C" {
        return Err(
            "the answer uses cgo (`C.`), which Go test files cannot; test through the \
                    package's Go functions"
                .to_owned(),
        );
    }
    let from_source = package.import_named(name);
    if let Some(spec) = answer_imports
        .iter()
        .find(|spec| spec.name().as_deref() == Some(name))
    {
        let is_own_package = name == own_package && from_source.is_none();
        if is_own_package {
            return Ok(None);
        }
        let is_known = stdlib::is_standard(&spec.path)
            || package
                .imports()
                .iter()
                .any(|source| source.path == spec.path);
        if !is_known {
            return Err(format!(
                "the answer imports {:?}; use only the standard library and the packages the \
                 source file imports",
                spec.path
            ));
        }
        let mut spec = spec.clone();
        if spec.alias.as_deref() == Some(guess_name(&spec.path).as_str()) {
            spec.alias = None;
        }
        return Ok(Some(spec));
    }
    if let Some(spec) = from_source {
        return Ok(Some(spec.clone()));
    }
    if name == own_package {
        return Ok(None);
    }
    Ok(stdlib::path_for(name).map(ImportSpec::new))
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// The Go code in a reply: the fenced blocks holding a function when there are fences (all
/// fenced blocks when none does), else the reply from its first line that reads like Go to
/// its last line closing a brace or parenthesis.
pub(crate) fn extract_code(answer: &str) -> String {
    let blocks = fenced_blocks(answer);
    if !blocks.is_empty() {
        let with_function: Vec<&String> = blocks
            .iter()
            .filter(|block| block.contains("func "))
            .collect();
        let chosen: Vec<&String> = if with_function.is_empty() {
            blocks.iter().collect()
        } else {
            with_function
        };
        return chosen
            .iter()
            .map(|block| block.as_str())
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    let lines: Vec<&str> = answer.lines().collect();
    let starts_go = |line: &&str| {
        let line = line.trim_start();
        [
            "package ", "import ", "import(", "func ", "func(", "//", "/*", "type ", "var ",
            "const ",
        ]
        .iter()
        .any(|start| line.starts_with(start))
    };
    let Some(first) = lines.iter().position(starts_go) else {
        return String::new();
    };
    let last = lines
        .iter()
        .rposition(|line| {
            let line = line.trim_end();
            line.ends_with('}') || line.ends_with(')')
        })
        .filter(|&last| last >= first)
        .unwrap_or(lines.len() - 1);
    lines[first..=last].join("\n")
}

/// The contents of every ``` fenced block, in order; an unclosed last fence runs to the end.
fn fenced_blocks(answer: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in answer.lines() {
        let is_fence = line.trim_start().starts_with("```");
        match (&mut current, is_fence) {
            (None, true) => current = Some(Vec::new()),
            (Some(lines), true) => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), false) => lines.push(line),
            (None, false) => {}
        }
    }
    if let Some(lines) = current
        && !lines.is_empty()
    {
        blocks.push(lines.join("\n"));
    }
    blocks
}

/// `code` without the indentation its first code line has, when every line shares it (a
/// reply indented as a whole).
fn dedent(code: &str) -> String {
    let Some(first) = code.lines().find(|line| !line.trim().is_empty()) else {
        return code.to_owned();
    };
    let indent = &first[..first.len() - first.trim_start().len()];
    if indent.is_empty()
        || !code
            .lines()
            .all(|line| line.trim().is_empty() || line.starts_with(indent))
    {
        return code.to_owned();
    }
    code.lines()
        .map(|line| line.strip_prefix(indent).unwrap_or(line.trim()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `code` indented with tabs as gofmt indents: leading spaces become tabs (the smallest space
/// indentation being one level), trailing spaces go. Lines inside a multi-line raw string or
/// block comment are left as they are.
pub(crate) fn reindent(code: &str) -> String {
    let verbatim = verbatim_ranges(code);
    let is_verbatim = |at: usize| {
        verbatim
            .iter()
            .any(|range| range.start < at && at < range.end)
    };
    let unit = code
        .lines()
        .map(|line| line.len() - line.trim_start_matches(' ').len())
        .filter(|&spaces| spaces > 0)
        .min()
        .unwrap_or(4);
    let mut out = String::with_capacity(code.len());
    let mut offset = 0;
    for line in code.split('\n') {
        let starts_inside = is_verbatim(offset);
        let ends_inside = is_verbatim(offset + line.len());
        offset += line.len() + 1;
        let line_text = if ends_inside { line } else { line.trim_end() };
        if starts_inside {
            out.push_str(line_text);
        } else {
            let content = line_text.trim_start_matches([' ', '\t']);
            let leading = &line_text[..line_text.len() - content.len()];
            let mut tabs = 0;
            let mut spaces = 0;
            for c in leading.chars() {
                if c == '\t' {
                    tabs += 1 + spaces / unit;
                    spaces = 0;
                } else {
                    spaces += 1;
                }
            }
            tabs += spaces / unit;
            if !content.is_empty() {
                out.push_str(&"\t".repeat(tabs));
                out.push_str(content);
            }
        }
        out.push('\n');
    }
    out.pop();
    out
}

/// Byte ranges of raw strings and block comments that span lines.
fn verbatim_ranges(code: &str) -> Vec<Range<usize>> {
    // Without a backquote or a `/*` there are none, and most tests have neither: spare
    // them a second parse.
    if !code.contains('`') && !code.contains("/*") {
        return Vec::new();
    }
    let Some(tree) = syntax::parse(&crate::GO, code) else {
        return Vec::new();
    };
    let mut ranges = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let is_verbatim = matches!(node.kind(), "raw_string_literal" | "comment")
            && node.start_position().row != node.end_position().row;
        if is_verbatim {
            ranges.push(node.byte_range());
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GoDriver;
    use std::path::Path;
    use testsmith_driver::{Driver, FileMembers};

    const CALC: &str = "package calc\n\nimport \"gopkg.in/yaml.v3\"\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n\nfunc parse(n *yaml.Node) int { return 0 }\n";

    fn check(answer: &str) -> Result<TestCode, String> {
        check_in(CALC, "Add", "TestAdd", answer)
    }

    fn check_in(
        source_text: &str,
        member: &str,
        test_name: &str,
        answer: &str,
    ) -> Result<TestCode, String> {
        let file: FileMembers = GoDriver.analyze(Path::new("calc.go"), source_text);
        let package = vec![file.clone()];
        let source = SourceFile {
            members: &file,
            text: source_text,
            package: &package,
        };
        let member = file
            .members
            .iter()
            .find(|m| m.name == member)
            .expect("the member");
        check_answer(&source, member, test_name, answer)
    }

    const TEST: &str = "func TestAdd(t *testing.T) {\n\tif got := Add(1, 2); got != 3 {\n\t\tt.Errorf(\"Add() = %v\", got)\n\t}\n}";

    #[test]
    fn a_clean_test_is_kept_as_it_is() {
        let test = check(TEST).unwrap();
        assert_eq!(test.name, "TestAdd");
        assert_eq!(test.code, TEST);
        assert_eq!(test.imports, ["\"testing\""]);
    }

    #[test]
    fn a_printf_call_with_arguments_but_no_directive_becomes_the_plain_call_vet_accepts() {
        // The 1.5B model's `TestNewRect` was dropped for exactly this: vet stops the build.
        let answer = "func TestAdd(t *testing.T) {\n\tgot := Add(1, 2)\n\tif got != 3 {\n\t\tt.Errorf(\"Add(1, 2) is wrong\", got)\n\t\tt.Fatalf(`stop`, got, 3)\n\t}\n\tt.Logf(\"got %d\", got)\n\tt.Errorf(\"no arguments\")\n\tfmt.Printf(\"left as it is\", got)\n\t_ = fmt.Errorf(\"wrapped\", got)\n}";
        let code = check(answer).unwrap().code;
        assert!(
            code.contains("t.Error(\"Add(1, 2) is wrong\", got)"),
            "{code}"
        );
        assert!(code.contains("t.Fatal(`stop`, got, 3)"), "{code}");
        assert!(
            code.contains("t.Logf(\"got %d\", got)"),
            "a format with a directive stays"
        );
        assert!(
            code.contains("t.Errorf(\"no arguments\")"),
            "no arguments: vet accepts it"
        );
        assert!(
            code.contains("fmt.Printf(\"left as it is\", got)"),
            "only testing's calls"
        );
        assert!(
            code.contains("fmt.Errorf(\"wrapped\", got)"),
            "a package's Errorf stays"
        );
    }

    #[test]
    fn fences_and_prose_around_the_code_go() {
        let answer = format!(
            "Sure! Here is a test for `Add`:\n\n```go\n{TEST}\n```\n\nIt checks that 1 + 2 is 3."
        );
        assert_eq!(check(&answer).unwrap().code, TEST);
        let unfenced = format!("Here you go:\n{TEST}\nHope this helps!");
        assert_eq!(check(&unfenced).unwrap().code, TEST);
    }

    #[test]
    fn package_clause_imports_and_self_qualification_go() {
        let answer = "package calc_test\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n\n\t\"example.com/calc\"\n)\n\nfunc TestAdd(t *testing.T) {\n\tif calc.Add(1, 2) != 3 {\n\t\tt.Fail()\n\t}\n}\n";
        let test = check(answer).unwrap();
        assert_eq!(
            test.code,
            "func TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fail()\n\t}\n}"
        );
        assert_eq!(test.imports, ["\"testing\""], "fmt is unused and goes");
    }

    #[test]
    fn the_imports_the_code_uses_are_added_from_the_standard_library_and_the_source() {
        let answer = "func TestAdd(t *testing.T) {\n\tif !errors.Is(nil, nil) || !reflect.DeepEqual(strings.Fields(\"a\"), []string{\"a\"}) {\n\t\tt.Fail()\n\t}\n\t_ = parse(&yaml.Node{})\n\t_ = rand.Intn(2)\n}";
        assert_eq!(
            check(answer).unwrap().imports,
            [
                "\"errors\"",
                "\"gopkg.in/yaml.v3\"",
                "\"math/rand\"",
                "\"reflect\"",
                "\"strings\"",
                "\"testing\""
            ]
        );
    }

    #[test]
    fn a_type_only_a_dot_import_brings_carries_the_dot_import_and_local_names_do_not() {
        let source = "package app\n\nimport (\n\t. \"example.com/dot/lib\"\n\tl2 \"example.com/dot/lib\"\n)\n\n// Make makes a T.\nfunc Make(n int) T { return T{N: n} }\n";
        let uses_t = "func TestMake(t *testing.T) {\n\tif got := Make(2); got != (T{N: 2}) {\n\t\tt.Fatal(got)\n\t}\n}";
        assert_eq!(
            check_in(source, "Make", "TestMake", uses_t)
                .unwrap()
                .imports,
            [". \"example.com/dot/lib\"", "\"testing\""]
        );
        // Its own types, the package's and builtins need no dot import (an unused one would
        // not compile).
        let own_types = "func TestMake(t *testing.T) {\n\ttype Case struct{ N int }\n\tfor _, c := range []Case{{N: 1}} {\n\t\tif got := Make(c.N); len(fmt.Sprint(got)) == 0 {\n\t\t\tt.Fatal(got)\n\t\t}\n\t}\n}";
        assert_eq!(
            check_in(source, "Make", "TestMake", own_types)
                .unwrap()
                .imports,
            ["\"fmt\"", "\"testing\""]
        );
        // An alias is kept as the source spells it.
        let aliased = "func TestMake(t *testing.T) {\n\tif got := Make(2); got != (l2.T{N: 2}) {\n\t\tt.Fatal(got)\n\t}\n}";
        assert_eq!(
            check_in(source, "Make", "TestMake", aliased)
                .unwrap()
                .imports,
            ["l2 \"example.com/dot/lib\"", "\"testing\""]
        );
    }

    #[test]
    fn an_import_the_answer_chose_wins_over_the_default_for_its_name() {
        let answer = "import \"crypto/rand\"\n\nfunc TestAdd(t *testing.T) {\n\tb := make([]byte, 4)\n\t_, _ = rand.Read(b)\n}";
        assert_eq!(
            check(answer).unwrap().imports,
            ["\"crypto/rand\"", "\"testing\""]
        );
    }

    #[test]
    fn local_names_that_look_like_packages_get_no_import() {
        let answer = "func TestAdd(t *testing.T) {\n\ttime := struct{ Now func() int }{}\n\tfor _, path := range []struct{ Base int }{} {\n\t\t_ = path.Base\n\t}\n\t_ = time.Now\n}";
        assert_eq!(check(answer).unwrap().imports, ["\"testing\""]);
    }

    #[test]
    fn a_lone_test_with_another_name_is_renamed() {
        let answer = TEST.replace("TestAdd", "TestAddition");
        let test = check(&answer).unwrap();
        assert_eq!(test.code, TEST);
    }

    #[test]
    fn indentation_with_spaces_becomes_tabs_and_raw_strings_stay() {
        let answer = "func TestAdd(t *testing.T) {\n    want := `a\n    b`\n    if Add(1, 2) != 3 {\n        t.Error(want)   \n    }\n}";
        assert_eq!(
            check(answer).unwrap().code,
            "func TestAdd(t *testing.T) {\n\twant := `a\n    b`\n\tif Add(1, 2) != 3 {\n\t\tt.Error(want)\n\t}\n}"
        );
        let indented: String = TEST.lines().map(|line| format!("  {line}\n")).collect();
        assert_eq!(check(&indented).unwrap().code, TEST);
        let commented =
            "func TestAdd(t *testing.T) {\n    /* keep\n       this */\n    _ = Add(1, 2)\n}";
        assert_eq!(
            check(commented).unwrap().code,
            "func TestAdd(t *testing.T) {\n\t/* keep\n       this */\n\t_ = Add(1, 2)\n}"
        );
    }

    #[test]
    fn checking_its_own_output_again_changes_nothing() {
        let answer = "```go\npackage calc\n\nfunc TestSum(t *testing.T) {\n    if !strings.HasPrefix(\"ab\", \"a\") {\n        t.Fatal(Add(1, 2))\n    }\n}\n```";
        let first = check(answer).unwrap();
        let second = check(&first.code).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn a_copied_scaffold_marker_is_dropped() {
        let answer = format!("// testsmith:scaffold sig=1 body=2\n// TestAdd checks Add.\n{TEST}");
        assert_eq!(
            check(&answer).unwrap().code,
            format!("// TestAdd checks Add.\n{TEST}")
        );
    }

    #[track_caller]
    fn assert_rejected(answer: &str, expected: &str) {
        let reason = check(answer).expect_err("the answer should be rejected");
        assert!(reason.contains(expected), "{reason}");
    }

    #[test]
    fn a_placeholder_left_in_is_named() {
        assert_rejected(
            "func TestAdd(t *testing.T) {\n\twant := … // int\n\tif Add(1, 2) != want {\n\t\tt.Fatal(\"x\")\n\t}\n}",
            "the test still has a `…` to fill (`want := … // int`)",
        );
        // In a string it is text.
        assert!(
            check(
                "func TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"…\")\n\t}\n}"
            )
            .is_ok()
        );
    }

    #[test]
    fn main_and_init_are_rejected() {
        assert_rejected(
            "func main() {\n\tprintln(Add(1, 2))\n}",
            "the answer declares `func main`; write only the test function `TestAdd`",
        );
        assert_rejected(
            &format!("func init() {{}}\n\n{TEST}"),
            "the answer declares `func init`",
        );
    }

    #[test]
    fn redeclaring_the_function_under_test_is_rejected() {
        assert_rejected(
            &format!("func Add(a, b int) int {{ return a + b }}\n\n{TEST}"),
            "the answer redeclares `Add`, which the package already defines; write only the \
             test function",
        );
        assert_rejected(
            "func parse(n int) int { return n }",
            "the answer redeclares `parse`",
        );
    }

    #[test]
    fn helpers_and_declarations_outside_the_test_are_rejected() {
        assert_rejected(
            &format!("func helper() int {{ return 1 }}\n\n{TEST}"),
            "the answer declares 2 functions (`helper`, `TestAdd`); send exactly one, `TestAdd`",
        );
        assert_rejected(
            &format!("var cases = []int{{1}}\n\n{TEST}"),
            "declare it inside `TestAdd` instead",
        );
        assert_rejected(
            &format!("type fake struct{{}}\n\nfunc (fake) M() {{}}\n\n{TEST}"),
            "outside the test",
        );
        assert_rejected(
            &format!("{TEST}\nx := Add(1, 2)"),
            "code outside any function (`x := Add(1, 2)`)",
        );
    }

    #[test]
    fn a_test_with_the_wrong_signature_is_rejected() {
        assert_rejected(
            "func TestAdd() {}",
            "`TestAdd` must be declared as `func TestAdd(t *testing.T)`",
        );
        assert_rejected(
            "func TestAdd(t *testing.T) error { return nil }",
            "must be declared as",
        );
    }

    #[test]
    fn garbage_and_empty_answers_are_rejected() {
        assert_rejected(
            "Sure! Here are your tests: fn oops( {",
            "the answer holds no Go code",
        );
        assert_rejected(
            "func TestAdd(t *testing.T) {\n\tif Add(1, {\n}",
            "the answer is not valid Go",
        );
        assert_rejected("I cannot help with that.", "holds no Go code");
    }

    #[test]
    fn third_party_packages_the_source_does_not_import_are_rejected() {
        assert_rejected(
            "import \"github.com/stretchr/testify/assert\"\n\nfunc TestAdd(t *testing.T) {\n\tassert.Equal(t, 3, Add(1, 2))\n}",
            "the answer imports \"github.com/stretchr/testify/assert\"; use only the standard library",
        );
    }

    #[test]
    fn oversized_answers_are_rejected() {
        let body = "\t_ = Add(1, 2)\n".repeat(2_000);
        assert_rejected(
            &format!("func TestAdd(t *testing.T) {{\n{body}}}"),
            "more than the 20000 allowed",
        );
    }

    #[test]
    fn the_example_answers_pass_with_their_imports() {
        let shapes = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/example/go/shapes/shapes.go"),
        )
        .unwrap();
        let new_rect = "func TestNewRect(t *testing.T) {\n\tr, err := NewRect(2, 3)\n\tif err != nil || r.W != 2 || r.H != 3 {\n\t\tt.Fatalf(\"NewRect(2, 3) = %v, %v\", r, err)\n\t}\n\tif _, err := NewRect(-1, 1); !errors.Is(err, ErrNegative) {\n\t\tt.Fatalf(\"NewRect(-1, 1) error = %v, want ErrNegative\", err)\n\t}\n}";
        let test = check_in(&shapes, "NewRect", "TestNewRect", new_rect).unwrap();
        assert_eq!(test.imports, ["\"errors\"", "\"testing\""]);
        assert_eq!(test.code, new_rect);
    }
}
