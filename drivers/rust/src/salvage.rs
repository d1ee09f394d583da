//! Saving a small model's answer that [`check_answer`](crate::answer::check_answer) refused,
//! where what was meant is plain, before asking the model again: the member under test
//! redeclared beside the test (dropped: the test file sees the real one), a bare fragment of
//! statements (wrapped in `#[test] fn <test name>()`), and a test returning a value that is
//! not a `Result` (the return type dropped, the final value discarded). And the one check
//! every kept test must pass: it asserts something.

use crate::answer::{parsable_code, redefines};
use crate::existing::has_test_attribute;
use testsmith_driver::{Member, syntax};
use tree_sitter::Node;

/// The answer with what can be fixed fixed, or `None` when nothing could be.
pub(crate) fn salvage(member: &Member, test_name: &str, answer: &str) -> Option<String> {
    let code = match parsable_code(answer) {
        Ok(code) if code.contains("fn ") => code,
        Ok(code) => return wrap_fragment(&code, test_name),
        Err(_) => return wrap_fragment(answer, test_name),
    };
    let dropped = drop_redeclarations(member, &code);
    let code_now = dropped.as_deref().unwrap_or(&code);
    drop_value_return(code_now).or(dropped)
}

/// A fragment of statements (no function around them) wrapped in the test asked for, if
/// that parses.
fn wrap_fragment(answer: &str, test_name: &str) -> Option<String> {
    let body = strip_fences(answer);
    if body.contains("fn ") {
        return None;
    }
    let wrapped = format!("#[test]\nfn {test_name}() {{\n{body}\n}}\n");
    let tree = syntax::parse(&crate::RUST, &wrapped)?;
    (!tree.root_node().has_error()).then_some(wrapped)
}

/// The answer's code blocks, or the answer.
fn strip_fences(answer: &str) -> String {
    answer
        .lines()
        .filter(|line| !line.trim_start().starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// `code` without its top-level redefinitions of the member (a function of its name that is
/// no test, its owner's type or inherent `impl`), their attributes and comments with them.
fn drop_redeclarations(member: &Member, code: &str) -> Option<String> {
    let tree = syntax::parse(&crate::RUST, code)?;
    let root = tree.root_node();
    let mut cursor = root.walk();
    let items: Vec<Node<'_>> = root.named_children(&mut cursor).collect();
    let mut cuts = Vec::new();
    let mut leading: Vec<Node<'_>> = Vec::new();
    for item in items {
        if matches!(
            item.kind(),
            "attribute_item" | "line_comment" | "block_comment"
        ) {
            leading.push(item);
            continue;
        }
        let is_test = has_test_attribute(&leading, code);
        let is_definition = matches!(
            item.kind(),
            "function_item" | "struct_item" | "enum_item" | "impl_item" | "type_item"
        );
        if is_definition && !is_test && redefines(item, false, member, code) {
            let start = leading.first().map_or(item.start_byte(), Node::start_byte);
            cuts.push(start..item.end_byte());
        }
        leading.clear();
    }
    if cuts.is_empty() {
        return None;
    }
    let mut text = code.to_owned();
    for cut in cuts.into_iter().rev() {
        text.replace_range(cut, "");
    }
    Some(text.trim().to_owned())
}

/// The code with its single function's non-`Result` return type dropped and the value it
/// ended with discarded (`let _ = value;`), when it has one.
fn drop_value_return(code: &str) -> Option<String> {
    let tree = syntax::parse(&crate::RUST, code)?;
    let root = tree.root_node();
    let mut cursor = root.walk();
    let functions: Vec<Node<'_>> = root
        .named_children(&mut cursor)
        .filter(|item| item.kind() == "function_item")
        .collect();
    let [function] = functions.as_slice() else {
        return None;
    };
    let returned = function.child_by_field_name("return_type")?;
    if syntax::text(returned, code).contains("Result") {
        return None;
    }
    let parameters = function.child_by_field_name("parameters")?;
    let body = function.child_by_field_name("body")?;
    let mut text = String::new();
    text.push_str(&code[..parameters.end_byte()]);
    text.push(' ');
    let mut body_text = syntax::text(body, code).to_owned();
    let mut cursor = body.walk();
    let last = body.named_children(&mut cursor).last();
    if let Some(last) = last.filter(|last| {
        !last.kind().ends_with("statement")
            && !last.kind().ends_with("_item")
            && last.kind() != "let_declaration"
            && !last.kind().ends_with("comment")
    }) {
        let start = last.start_byte() - body.start_byte();
        let end = last.end_byte() - body.start_byte();
        body_text.replace_range(
            start..end,
            &format!("let _ = {};", syntax::text(last, code)),
        );
    }
    text.push_str(&body_text);
    text.push_str(&code[body.end_byte()..]);
    Some(text)
}

/// Whether a test asserts something: an `assert*!` macro, a `panic!`/`unreachable!`, a
/// `#[should_panic]`, or a `?` in a test returning `Result`. One that asserts nothing proves
/// nothing, whatever it calls.
pub(crate) fn asserts_something(test: &str) -> bool {
    let code = without_comments(test);
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let macro_named = |prefix: &str| {
        code.match_indices(prefix).any(|(at, _)| {
            let before = code[..at].chars().next_back();
            let rest = &code[at + prefix.len()..];
            let name_end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
            !before.is_some_and(is_ident) && rest[name_end..].starts_with('!')
        })
    };
    if macro_named("assert") || macro_named("debug_assert") {
        return true;
    }
    if ["panic!", "unreachable!", "#[should_panic"]
        .iter()
        .any(|word| code.contains(word))
    {
        return true;
    }
    let signature_end = code.find('{').unwrap_or(0);
    code[..signature_end].contains("Result") && code[signature_end..].contains('?')
}

/// `code` without `//` line comments (a commented-out assertion asserts nothing).
fn without_comments(code: &str) -> String {
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::check_answer;

    use testsmith_driver::testing::member;

    fn saved(member: &Member, answer: &str) -> String {
        let fixed = salvage(member, "test_add", answer).expect("salvaged");
        check_answer(member, "test_add", &fixed)
            .unwrap_or_else(|reason| panic!("{reason}\n{fixed}"))
            .code
    }

    #[test]
    fn a_redeclared_member_beside_the_test_is_dropped() {
        let add = member("add", None);
        let answer = "```rust\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[test]\nfn test_add() {\n    assert_eq!(add(1, 2), 3);\n}\n```";
        let code = saved(&add, answer);
        assert!(!code.contains("pub fn add"), "{code}");
        assert!(code.contains("assert_eq!(add(1, 2), 3);"), "{code}");

        let push = member("push", Some("Stack"));
        let answer = "#[derive(Debug)]\nstruct Stack { items: Vec<i32> }\nimpl Stack {\n    fn push(&mut self, x: i32) { self.items.push(x) }\n}\n#[test]\nfn test_add() {\n    let mut s = Stack::new();\n    s.push(1);\n    assert_eq!(s.len(), 1);\n}";
        let code = saved(&push, answer);
        assert!(
            !code.contains("struct Stack") && !code.contains("derive"),
            "{code}"
        );
    }

    #[test]
    fn a_bare_fragment_is_wrapped_in_the_named_test() {
        let add = member("add", None);
        let code = saved(&add, "let sum = add(2, 2);\nassert_eq!(sum, 4);");
        assert!(code.starts_with("#[test]\nfn test_add() {"), "{code}");
    }

    #[test]
    fn a_value_returned_by_a_test_is_discarded_but_a_result_is_kept() {
        let add = member("add", None);
        let code = saved(
            &add,
            "#[test]\nfn test_add() -> u64 {\n    assert_eq!(add(1, 1), 2);\n    add(1, 1) as u64\n}",
        );
        assert!(!code.contains("-> u64"), "{code}");
        assert!(code.contains("let _ = add(1, 1) as u64;"), "{code}");
        let result = "#[test]\nfn test_add() -> Result<(), String> {\n    let n: i32 = \"2\".parse().map_err(|_| \"bad\")?;\n    Ok(())\n}";
        assert!(check_answer(&add, "test_add", result).is_ok());
        assert_eq!(salvage(&add, "test_add", result), None);
    }

    #[test]
    fn a_test_asserts_through_macros_should_panic_or_a_question_mark_in_a_result_test() {
        assert!(asserts_something("fn t() {\n    assert_eq!(1, 1);\n}"));
        assert!(asserts_something("fn t() {\n    debug_assert!(x);\n}"));
        assert!(asserts_something("#[should_panic]\nfn t() {\n    f();\n}"));
        assert!(asserts_something(
            "fn t() -> Result<(), E> {\n    f()?;\n    Ok(())\n}"
        ));
        assert!(!asserts_something("fn t() {\n    let _ = f();\n}"));
        assert!(!asserts_something(
            "fn t() {\n    // assert_eq!(f(), 1);\n    f();\n}"
        ));
        assert!(!asserts_something("fn t() {\n    let asserted = f()?;\n}"));
        assert!(!asserts_something("fn t() {\n    my_assert_helper(1);\n}"));
    }
}
