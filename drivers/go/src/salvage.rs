//! Saving a small model's answer that [`check_answer`](crate::answer::check_answer) refused,
//! where what was meant is plain, before asking the model again: functions, methods and types
//! the package already declares, redeclared beside the test (dropped: the test sees the real
//! ones), a bare fragment of statements (wrapped in `func <test name>(t *testing.T)`), and a
//! test closed with one brace too many (the extra one dropped).
//! And the one check every kept test must pass: it asserts something.

use crate::answer::extract_code;
use crate::package_context::PackageContext;
use testsmith_driver::{SourceFile, syntax};
use tree_sitter::Node;

/// The answer with what can be fixed fixed, or `None` when nothing could be.
pub(crate) fn salvage(source: &SourceFile<'_>, test_name: &str, answer: &str) -> Option<String> {
    let code = extract_code(answer);
    let code = if code.trim().is_empty() {
        answer.trim().to_owned()
    } else {
        code
    };
    let tree = syntax::parse(&crate::GO, &code)?;
    if tree.root_node().has_error()
        && let Some(closed) = syntax::drop_unmatched_closing_braces(&code)
        && let Some(tree) = syntax::parse(&crate::GO, &closed)
        && !tree.root_node().has_error()
    {
        // The function closed twice: the extra brace goes, then the usual fixes.
        let fixed = drop_redeclarations(source, test_name, tree.root_node(), &closed);
        return Some(fixed.unwrap_or(closed));
    }
    if tree.root_node().has_error() || !code.contains("func ") {
        return wrap_fragment(&code, test_name);
    }
    drop_redeclarations(source, test_name, tree.root_node(), &code)
}

/// Statements outside any function, wrapped in the test asked for (its `import` lines kept
/// above it), if that parses.
fn wrap_fragment(code: &str, test_name: &str) -> Option<String> {
    if code.contains("func ") || code.trim().is_empty() {
        return None;
    }
    let mut head = Vec::new();
    let mut body = Vec::new();
    let mut in_imports = false;
    for line in code.lines() {
        let trimmed = line.trim();
        if in_imports {
            head.push(line);
            in_imports = trimmed != ")";
        } else if trimmed.starts_with("package ") || trimmed.starts_with("import ") {
            in_imports = trimmed.ends_with('(');
            head.push(line);
        } else {
            body.push(line);
        }
    }
    let wrapped = format!(
        "{}\nfunc {test_name}(t *testing.T) {{\n{}\n}}\n",
        head.join("\n"),
        body.join("\n")
    );
    let tree = syntax::parse(&crate::GO, &wrapped)?;
    (!tree.root_node().has_error()).then(|| wrapped.trim_start().to_owned())
}

/// The code without the top-level functions, methods and types the package declares
/// (the test itself kept), or `None` when there are none.
fn drop_redeclarations(
    source: &SourceFile<'_>,
    test_name: &str,
    root: Node<'_>,
    code: &str,
) -> Option<String> {
    let package = PackageContext::new(source);
    let mut cursor = root.walk();
    let mut cuts = Vec::new();
    for node in root.named_children(&mut cursor) {
        let redeclared = match node.kind() {
            "function_declaration" => node
                .child_by_field_name("name")
                .map(|name| syntax::text(name, code))
                .is_some_and(|name| name != test_name && package.declares(name)),
            // A method is always the package's: a test file cannot add one to its types
            // without clashing, and the model meant the one under test.
            "method_declaration" => true,
            "type_declaration" => {
                let mut specs = node.walk();
                let names: Vec<&str> = node
                    .named_children(&mut specs)
                    .filter_map(|spec| spec.child_by_field_name("name"))
                    .map(|name| syntax::text(name, code))
                    .collect();
                !names.is_empty() && names.iter().all(|name| package.declares(name))
            }
            _ => false,
        };
        if redeclared {
            cuts.push(node.byte_range());
        }
    }
    if cuts.is_empty() {
        return None;
    }
    let mut text = code.to_owned();
    for cut in cuts.into_iter().rev() {
        text.replace_range(cut, "");
    }
    Some(text)
}

/// Whether a Go test asserts something: it calls `t.Error*`, `t.Fatal*` or `t.Fail*`, or
/// hands `t` to a helper (which may call them). One that only logs or calls proves nothing,
/// and so does a check in a loop over an empty table (a skeleton sent back unfilled).
pub(crate) fn asserts_something(test: &str) -> bool {
    let live = without_loops_over_empty_tables(test);
    let code: String = live
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let reports = ["t.Error", "t.Fatal", "t.Fail"];
    if reports.iter().any(|call| code.contains(call)) {
        return true;
    }
    // `check(t, ...)`, `assert.Equal(t, ...)`, `helper(got, t)`: `t` passed on.
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices('t').any(|(at, _)| {
        let before = code[..at].trim_end().chars().next_back();
        let after = code[at + 1..].trim_start().chars().next();
        !code[..at].chars().next_back().is_some_and(is_ident)
            && !code[at + 1..].chars().next().is_some_and(is_ident)
            && matches!(before, Some('(' | ','))
            && matches!(after, Some(')' | ','))
    })
}

/// `test` without its `for ... range cases` loops over a slice literal with no element
/// (`tests := []struct{...}{ // TODO }`): what is inside them never runs.
fn without_loops_over_empty_tables(test: &str) -> String {
    let Some(tree) = syntax::parse(&crate::GO, test) else {
        return test.to_owned();
    };
    let mut empty = Vec::new();
    let mut loops = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        match node.kind() {
            "short_var_declaration" | "var_spec" | "assignment_statement" => {
                let names = node
                    .child_by_field_name("left")
                    .or_else(|| node.child_by_field_name("name"));
                let values = node
                    .child_by_field_name("right")
                    .or_else(|| node.child_by_field_name("value"));
                if let (Some(names), Some(values)) = (names, values)
                    && let Some(name) = first_of(names)
                    && let Some(value) = first_of(values)
                    && is_empty_slice_literal(value)
                {
                    empty.push(syntax::text(name, test).to_owned());
                }
            }
            "for_statement" => {
                let mut cursor = node.walk();
                let ranged = node
                    .named_children(&mut cursor)
                    .find(|child| child.kind() == "range_clause")
                    .and_then(|clause| clause.child_by_field_name("right"))
                    .map(|right| syntax::text(right, test).to_owned());
                if let Some(ranged) = ranged {
                    loops.push((ranged, node.byte_range()));
                }
            }
            _ => {}
        }
    }
    let mut cuts: Vec<std::ops::Range<usize>> = loops
        .into_iter()
        .filter(|(ranged, _)| empty.contains(ranged))
        .map(|(_, range)| range)
        .collect();
    cuts.sort_by_key(|range| std::cmp::Reverse(range.start));
    let mut live = test.to_owned();
    for cut in cuts {
        // Nested loops are cut with their outer one.
        if cut.end <= live.len() {
            live.replace_range(cut, "");
        }
    }
    live
}

/// The first of a list of names or values, or the one node given.
fn first_of(node: Node<'_>) -> Option<Node<'_>> {
    if node.kind() == "expression_list" {
        node.named_child(0)
    } else {
        Some(node)
    }
}

/// `[]T{}` with nothing but comments between its braces.
fn is_empty_slice_literal(node: Node<'_>) -> bool {
    node.kind() == "composite_literal"
        && node
            .child_by_field_name("type")
            .is_some_and(|ty| ty.kind() == "slice_type")
        && node.child_by_field_name("body").is_some_and(|body| {
            let mut cursor = body.walk();
            body.named_children(&mut cursor)
                .all(|child| child.kind() == "comment")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GoDriver;
    use crate::answer::check_answer;
    use std::path::Path;
    use testsmith_driver::{Driver, FileMembers};

    const SOURCE: &str = "package calc\n\ntype Acc struct{ n int }\n\n// Add adds.\nfunc (a *Acc) Add(x int) { a.n += x }\n\nfunc Sum(xs ...int) int {\n\ts := 0\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s\n}\n";

    fn saved(answer: &str, test_name: &str) -> String {
        let file: FileMembers = GoDriver.analyze(Path::new("calc.go"), SOURCE);
        let package = vec![file.clone()];
        let source = SourceFile {
            members: &file,
            text: SOURCE,
            package: &package,
        };
        let member = &file.members[0];
        let fixed = salvage(&source, test_name, answer).expect("salvaged");
        check_answer(&source, member, test_name, &fixed)
            .unwrap_or_else(|reason| panic!("{reason}\n{fixed}"))
            .code
    }

    #[test]
    fn the_member_redeclared_beside_the_test_is_dropped() {
        let answer = "```go\npackage calc\n\nimport \"testing\"\n\nfunc Sum(xs ...int) int {\n\treturn 0\n}\n\nfunc TestSum(t *testing.T) {\n\tif Sum(1, 2) != 3 {\n\t\tt.Fatal(\"bad\")\n\t}\n}\n```";
        let code = saved(answer, "TestSum");
        assert!(!code.contains("return 0"), "{code}");
        let answer = "type Acc struct{ n int }\n\nfunc (a *Acc) Add(x int) { a.n += x }\n\nfunc TestAcc_Add(t *testing.T) {\n\tvar a Acc\n\ta.Add(2)\n\tif a.n != 2 {\n\t\tt.Errorf(\"got %d\", a.n)\n\t}\n}";
        let code = saved(answer, "TestAcc_Add");
        assert!(!code.contains("type Acc"), "{code}");
    }

    #[test]
    fn a_test_closed_twice_loses_the_extra_brace() {
        let answer =
            "func TestSum(t *testing.T) {\n\tif Sum(1, 2) != 3 {\n\t\tt.Fatal(\"bad\")\n\t}\n}\n}";
        let code = saved(answer, "TestSum");
        assert!(code.ends_with("\t}\n}"), "{code}");
        assert_eq!(code.matches('}').count(), code.matches('{').count());
    }

    #[test]
    fn a_bare_fragment_is_wrapped_in_the_named_test() {
        let answer = "Here you go:\n```go\nif got := Sum(1, 2); got != 3 {\n\tt.Errorf(\"Sum = %d\", got)\n}\n```";
        let code = saved(answer, "TestSum");
        assert!(code.starts_with("func TestSum(t *testing.T) {"), "{code}");
    }

    #[test]
    fn a_test_asserts_when_it_reports_a_failure_or_hands_t_to_a_helper() {
        assert!(asserts_something(
            "func TestX(t *testing.T) {\n\tt.Errorf(\"x\")\n}"
        ));
        assert!(asserts_something(
            "func TestX(t *testing.T) {\n\tt.FailNow()\n}"
        ));
        assert!(asserts_something(
            "func TestX(t *testing.T) {\n\tassert.Equal(t, 1, f())\n}"
        ));
        assert!(!asserts_something(
            "func TestX(t *testing.T) {\n\tt.Log(f())\n}"
        ));
        assert!(!asserts_something(
            "func TestX(t *testing.T) {\n\t// t.Fatal(\"no\")\n\t_ = f()\n}"
        ));
        assert!(!asserts_something(
            "func TestX(t *testing.T) {\n\tt.Run(\"a\", func(t *testing.T) { f() })\n}"
        ));
    }

    #[test]
    fn checks_in_a_loop_over_an_empty_table_assert_nothing() {
        let table = |rows: &str, after: &str| {
            format!(
                "func TestX(t *testing.T) {{\n\ttests := []struct {{\n\t\tname string\n\t\twant int\n\t}}{{\n{rows}\t}}\n\tfor _, tt := range tests {{\n\t\tt.Run(tt.name, func(t *testing.T) {{\n\t\t\tif got := f(); got != tt.want {{\n\t\t\t\tt.Errorf(\"f() = %v, want %v\", got, tt.want)\n\t\t\t}}\n\t\t}})\n\t}}\n{after}}}"
            )
        };
        assert!(!asserts_something(&table(
            "\t\t// TODO: Add test cases.\n",
            ""
        )));
        assert!(!asserts_something(&table("", "")));
        assert!(asserts_something(&table(
            "\t\t{name: \"one\", want: 1},\n",
            ""
        )));
        // A check outside the loop still counts.
        assert!(asserts_something(&table(
            "",
            "\tif f() != 1 {\n\t\tt.Fatal(\"f\")\n\t}\n"
        )));
        var_table("\tvar tests = []struct{ want int }{}\n");
    }

    fn var_table(declaration: &str) {
        let code = format!(
            "func TestX(t *testing.T) {{\n{declaration}\tfor _, tt := range tests {{\n\t\tif f() != tt.want {{\n\t\t\tt.Fatal(\"f\")\n\t\t}}\n\t}}\n}}"
        );
        assert!(!asserts_something(&code), "{code}");
    }
}
