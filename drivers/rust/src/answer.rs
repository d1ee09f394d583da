//! Checking a test a model wrote, and fixing what can be fixed safely.
//!
//! What goes into a test file is one test function, named as testsmith asked: the file
//! already has `use super::*;` and is a module of its own, so a wrapping `mod tests { .. }`
//! is unwrapped, `use super::*;` dropped, and every other `use` moved into the test's body,
//! where it means the same (a `use` resolves against the enclosing module either way) and
//! cannot clash with another test's imports. Markdown fences and prose around the code are
//! dropped; a single test function with another name is renamed; a function without a test
//! attribute gets `#[test]`.
//!
//! Rejected, with a reason the model can act on: code that does not parse, `fn main`, a
//! redefinition of the member under test, anything else at the top level (helpers, types,
//! impls, `extern crate`, inner attributes), more than one function, a test with parameters
//! or a plain `#[test]` on an `async fn`, and answers over [`MAX_ANSWER_CHARS`].
//!
//! The result is indented the way rustfmt indents: four spaces a level, the common indent
//! removed, tabs and two-space indents converted, trailing spaces dropped; lines inside
//! multi-line strings are left exactly as written. Nothing is run: drivers do no I/O.

use crate::existing::has_test_attribute;
use crate::lexer::{Lexer, TokenKind};
use testsmith_driver::{Member, MemberKind, TestCode, syntax};
use tree_sitter::Node;

/// Answers longer than this are rejected: a unit test that long is not one.
pub(crate) const MAX_ANSWER_CHARS: usize = 20_000;

/// What the model is told about writing Rust tests for testsmith.
pub(crate) const LLM_INSTRUCTIONS: &str = "\
Rust tests: write each test as one `#[test] fn <test name>()` with exactly the test name \
given for its member, taking no parameters and returning `()` (or `Result<(), E>` when `?` \
helps). It goes into a test file that is a child module of the code under test and already \
starts with `use super::*;`, so: no `mod tests` wrapper, no `use super::*;`, no `fn main`, \
no copy or redefinition of the code under test, and no helper functions, types or impls \
outside the test function (put helpers inside it). Call the member through the path given \
for it (`Point::new`, `wrap::wrap`) and build receivers with the type's own constructors. \
Check results with `assert_eq!`, `assert_ne!` and `assert!` on concrete values; use \
`#[should_panic]` only for documented panics. Use only the standard library and the crate \
under test: no new crates, no `extern crate`. A plain `#[test]` cannot be an `async fn`: block \
on the future, or use the async test attribute the project already uses (`#[tokio::test]`). \
Call an `unsafe fn` in an `unsafe` block that upholds its documented safety contract. Format \
as rustfmt does, with four-space indentation.";

/// Checks `answer` as the test `test_name` of `member` (see the module documentation).
pub(crate) fn check_answer(
    member: &Member,
    test_name: &str,
    answer: &str,
) -> Result<TestCode, String> {
    let length = answer.chars().count();
    if length > MAX_ANSWER_CHARS {
        return Err(format!(
            "the answer is {length} characters long, over the limit of {MAX_ANSWER_CHARS}; \
             write one focused test of a few cases"
        ));
    }
    let code = parsable_code(answer)?;
    let tree = syntax::parse(&crate::RUST, &code)
        .ok_or_else(|| "the Rust grammar failed to load".to_owned())?;
    crate::refusals::check(tree.root_node(), &code)?;
    let mut found = TopLevel::default();
    found.collect(tree.root_node(), &code)?;
    let function = found.single_function(member, test_name, &code)?;
    let text = crate::attributes::with_member_cfgs(
        member,
        &test_text(function, &found, test_name, &code)?,
    );
    Ok(TestCode {
        name: test_name.to_owned(),
        code: text,
        imports: Vec::new(),
    })
}

/// The code in `answer`: the Rust fenced blocks when there are fences, else the answer; if
/// that does not parse, the part from the first line that starts Rust code to the last
/// closing brace at the start of a line (prose before and after dropped).
pub(crate) fn parsable_code(answer: &str) -> Result<String, String> {
    let code = match fenced_blocks(answer) {
        Some(blocks) => blocks,
        None => answer.trim().to_owned(),
    };
    if code.trim().is_empty() {
        return Err("the answer holds no code; answer with one complete Rust test function".into());
    }
    let first_error = match syntax::parse(&crate::RUST, &code) {
        Some(tree) => syntax::syntax_issues(&tree, &code).into_iter().next(),
        None => return Err("the Rust grammar failed to load".into()),
    };
    let Some(first_error) = first_error else {
        return Ok(code);
    };
    if let Some(trimmed) = without_prose(&code) {
        let parses =
            syntax::parse(&crate::RUST, &trimmed).is_some_and(|tree| !tree.root_node().has_error());
        if parses {
            return Ok(trimmed);
        }
    }
    Err(format!(
        "the code is not valid Rust ({} at line {}, column {}); answer with one complete Rust \
         test function and nothing else",
        first_error.message, first_error.line, first_error.column
    ))
}

/// The contents of the answer's fenced code blocks in Rust (or without a language), joined;
/// `None` when the answer has no fence.
fn fenced_blocks(answer: &str) -> Option<String> {
    if !answer
        .lines()
        .any(|line| line.trim_start().starts_with("```"))
    {
        return None;
    }
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Option<(bool, Vec<&str>)> = None;
    for line in answer.lines() {
        let trimmed = line.trim_start();
        match (&mut current, trimmed.strip_prefix("```")) {
            (None, Some(language)) => {
                let language = language.trim().to_ascii_lowercase();
                let is_rust = matches!(language.as_str(), "" | "rust" | "rs");
                current = Some((is_rust, Vec::new()));
            }
            (Some(_), Some(_)) => {
                if let Some((true, lines)) = current.take() {
                    blocks.push(lines.join("\n"));
                }
            }
            (Some((_, lines)), None) => lines.push(line),
            (None, None) => {}
        }
    }
    // An unclosed last fence: its lines are code all the same.
    if let Some((true, lines)) = current {
        blocks.push(lines.join("\n"));
    }
    Some(blocks.join("\n\n"))
}

/// The lines from the first that starts Rust code to the last that starts with `}`.
fn without_prose(code: &str) -> Option<String> {
    const STARTS: &[&str] = &[
        "#[",
        "#![",
        "use ",
        "fn ",
        "async fn ",
        "pub fn ",
        "mod ",
        "pub mod ",
        "///",
        "//",
    ];
    let lines: Vec<&str> = code.lines().collect();
    let first = lines
        .iter()
        .position(|line| STARTS.iter().any(|start| line.starts_with(start)))?;
    let last = lines.iter().rposition(|line| line.starts_with('}'))?;
    (first <= last).then(|| lines[first..=last].join("\n"))
}

/// What sits at the top level of the answer, a wrapping module's body counted as top level.
#[derive(Default)]
struct TopLevel<'t> {
    /// Functions, each with the attributes and comments right before it.
    functions: Vec<(Node<'t>, Vec<Node<'t>>)>,
    /// `use` declarations other than `use super::*;`, to move into the test.
    uses: Vec<Node<'t>>,
}

impl<'t> TopLevel<'t> {
    fn collect(&mut self, container: Node<'t>, code: &str) -> Result<(), String> {
        let items: Vec<Node<'t>> = {
            let mut cursor = container.walk();
            container.named_children(&mut cursor).collect()
        };
        let modules: Vec<&Node<'t>> = items
            .iter()
            .filter(|item| item.kind() == "mod_item")
            .collect();
        let has_functions = items.iter().any(|item| item.kind() == "function_item");
        let mut leading: Vec<Node<'t>> = Vec::new();
        for item in items.iter().copied() {
            match item.kind() {
                "attribute_item" | "line_comment" | "block_comment" => {
                    leading.push(item);
                    continue;
                }
                "function_item" => self.functions.push((item, std::mem::take(&mut leading))),
                "use_declaration" => {
                    if !imports_super(item, code) {
                        self.uses.push(item);
                    }
                }
                // A `mod tests { .. }` around the test: its body is what counts.
                "mod_item" if modules.len() == 1 && !has_functions => {
                    let Some(body) = item.child_by_field_name("body") else {
                        return Err(other_item(item, code));
                    };
                    self.collect(body, code)?;
                }
                "extern_crate_declaration" => {
                    return Err(
                        "do not use `extern crate` or add crates; use only the standard \
                                library and the crate under test"
                            .into(),
                    );
                }
                _ => return Err(other_item(item, code)),
            }
            leading.clear();
        }
        Ok(())
    }

    /// The one test function, checked against `member` and `test_name`.
    fn single_function(
        &self,
        member: &Member,
        test_name: &str,
        code: &str,
    ) -> Result<&(Node<'t>, Vec<Node<'t>>), String> {
        let name_of = |function: Node<'_>| {
            function
                .child_by_field_name("name")
                .map_or("", |name| syntax::text(name, code))
        };
        if self
            .functions
            .iter()
            .any(|(function, _)| name_of(*function) == "main")
        {
            return Err(format!(
                "do not write `fn main`; answer with the test function `{test_name}` only"
            ));
        }
        for (function, leading) in &self.functions {
            let is_test = has_test_attribute(leading, code);
            if redefines(*function, is_test, member, code) {
                return Err(redefinition(member));
            }
        }
        let test = match self.functions.as_slice() {
            [] => {
                return Err(format!(
                    "no test function found; answer with `#[test] fn {test_name}() {{ .. }}`"
                ));
            }
            [single] => single,
            several => {
                let names: Vec<String> = several
                    .iter()
                    .map(|(function, _)| format!("`{}`", name_of(*function)))
                    .collect();
                return Err(format!(
                    "write exactly one test function, `{test_name}`, with every case inside it; \
                     the answer has {} functions ({})",
                    several.len(),
                    names.join(", ")
                ));
            }
        };
        let (function, leading) = test;
        let has_parameters = function
            .child_by_field_name("parameters")
            .is_some_and(|parameters| {
                let mut cursor = parameters.walk();
                parameters
                    .named_children(&mut cursor)
                    .any(|p| !matches!(p.kind(), "line_comment" | "block_comment"))
            });
        if has_parameters {
            return Err(format!(
                "a test function takes no parameters; write `fn {test_name}()` and build the \
                 inputs inside it"
            ));
        }
        if is_async(*function, code) && has_plain_test_attribute(leading, code) {
            return Err(
                "`#[test]` cannot run an `async fn`: write a synchronous test that \
                        blocks on the future, or use the async test attribute the project \
                        already uses, such as `#[tokio::test]`"
                    .into(),
            );
        }
        Ok(test)
    }
}

/// `use super::*;`: the test file has it already.
fn imports_super(use_declaration: Node<'_>, code: &str) -> bool {
    syntax::collapse_whitespace(syntax::text(use_declaration, code)).replace(' ', "")
        == "usesuper::*;"
}

/// Why an item other than the test function is refused, naming it.
fn other_item(item: Node<'_>, code: &str) -> String {
    let what = match item.kind() {
        "inner_attribute_item" => "an inner attribute (`#![..]`)".to_owned(),
        "macro_invocation" | "macro_definition" => "a macro at the top level".to_owned(),
        kind => {
            let kind = kind.strip_suffix("_item").unwrap_or(kind).replace('_', " ");
            match item.child_by_field_name("name") {
                Some(name) => format!("a {kind} `{}`", syntax::text(name, code)),
                None => format!("a top-level {kind}"),
            }
        }
    };
    format!(
        "only the test function may be at the top level, but the answer also has {what}; put \
         helpers inside the test function or leave them out"
    )
}

/// Why a redefinition of the member under test is refused.
fn redefinition(member: &Member) -> String {
    match (member.kind, &member.owner) {
        (MemberKind::Method, Some(owner)) => format!(
            "do not redeclare `{owner}` or its methods: the test file already sees them through \
             `use super::*`; call `{owner}::{}` instead",
            member.name
        ),
        _ => format!(
            "do not redefine `{}`: the test file already sees it through `use super::*`; call \
             it instead",
            member.name
        ),
    }
}

/// Whether `function` (or anything inside it) redefines the member under test: for a free
/// function, a function of its name (the answer's function itself only when it is no
/// test); for a method, a type of its owner's name or an inherent `impl` of it.
pub(crate) fn redefines(function: Node<'_>, is_test: bool, member: &Member, code: &str) -> bool {
    let bare = |name: &str| name.strip_prefix("r#").unwrap_or(name).to_owned();
    let member_name = bare(&member.name);
    let owner = member.owner.as_deref().map(bare);
    let name_of = |node: Node<'_>| {
        node.child_by_field_name("name")
            .map(|name| bare(syntax::text(name, code)))
    };
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        let is_answer_itself = node.id() == function.id();
        let redefined = match (node.kind(), member.kind) {
            ("function_item", MemberKind::Function) => {
                name_of(node).as_deref() == Some(member_name.as_str())
                    && !(is_answer_itself && is_test)
            }
            ("struct_item" | "enum_item" | "union_item" | "type_item", MemberKind::Method) => {
                name_of(node) == owner
            }
            ("impl_item", MemberKind::Method) => {
                node.child_by_field_name("trait").is_none()
                    && node
                        .child_by_field_name("type")
                        .map(|ty| crate::signature::impl_owner(ty, code))
                        == owner
            }
            _ => false,
        };
        if redefined {
            return true;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

fn is_async(function: Node<'_>, code: &str) -> bool {
    let mut cursor = function.walk();
    function
        .named_children(&mut cursor)
        .filter(|child| child.kind() == "function_modifiers")
        .any(|modifiers| {
            syntax::text(modifiers, code)
                .split_whitespace()
                .any(|m| m == "async")
        })
}

/// `#[test]` itself, which cannot run a future (as opposed to `#[tokio::test]`).
fn has_plain_test_attribute(leading: &[Node<'_>], code: &str) -> bool {
    leading
        .iter()
        .filter(|node| node.kind() == "attribute_item")
        .filter_map(|node| node.named_child(0))
        .filter_map(|attribute| attribute.named_child(0))
        .any(|path| syntax::text(path, code) == "test")
}

/// The test's final text: its leading attributes and comments and the function, renamed to
/// `test_name`, `#[test]` added when no test attribute is there, indented as rustfmt
/// indents, with the answer's other `use` declarations as the first statements of its body.
fn test_text(
    (function, leading): &(Node<'_>, Vec<Node<'_>>),
    found: &TopLevel<'_>,
    test_name: &str,
    code: &str,
) -> Result<String, String> {
    let first = leading.first().copied().unwrap_or(*function);
    let start = line_start(code, first.start_byte());
    let name = function
        .child_by_field_name("name")
        .ok_or_else(|| "the test function has no name".to_owned())?;
    let indent = &code[start..first.start_byte()];
    let mut text = String::new();
    let is_test = has_test_attribute(leading, code);
    if !is_test {
        text.push_str(indent);
        text.push_str("#[test]\n");
    }
    text.push_str(&code[start..name.start_byte()]);
    text.push_str(test_name);
    text.push_str(&code[name.end_byte()..function.end_byte()]);
    let text = reindent(&text);
    if found.uses.is_empty() {
        return Ok(text);
    }
    let uses: Vec<String> = found
        .uses
        .iter()
        .map(|item| {
            let start = line_start(code, item.start_byte());
            reindent(&code[start..item.end_byte()])
                .lines()
                .map(|line| format!("    {line}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    Ok(with_statements_first(&text, &uses))
}

/// `function` (already reindented) with `statements` inserted right after the opening brace
/// of its body, one a line.
fn with_statements_first(function: &str, statements: &[String]) -> String {
    let body_start = syntax::parse(&crate::RUST, function).and_then(|tree| {
        let root = tree.root_node();
        let mut cursor = root.walk();
        let function = root
            .named_children(&mut cursor)
            .find(|node| node.kind() == "function_item")?;
        function
            .child_by_field_name("body")
            .map(|body| body.start_byte())
    });
    let Some(brace) = body_start else {
        return function.to_owned();
    };
    let (head, rest) = function.split_at(brace + 1);
    let mut text = format!("{head}\n{}", statements.join("\n"));
    if rest.starts_with('\n') {
        text.push_str(rest);
    } else {
        // `{ body }` on one line: keep the rest of it on a line of its own.
        text.push('\n');
        text.push_str("    ");
        text.push_str(rest.trim_start());
    }
    text
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |newline| newline + 1)
}

/// `text` indented as rustfmt indents (see the module documentation); no trailing newline.
pub(crate) fn reindent(text: &str) -> String {
    let verbatim = verbatim_lines(text);
    let lines: Vec<&str> = text.lines().collect();
    let is_code = |index: usize| !verbatim.contains(&index);
    // Leading whitespace in columns: a tab is four.
    let width = |line: &str| -> usize {
        line.chars()
            .take_while(|c| c.is_whitespace())
            .map(|c| if c == '\t' { 4 } else { 1 })
            .sum()
    };
    let code_indents: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(index, line)| is_code(*index) && !line.trim().is_empty())
        .map(|(_, line)| width(line))
        .collect();
    let common = code_indents.iter().copied().min().unwrap_or(0);
    let smallest_step = code_indents
        .iter()
        .map(|indent| indent - common)
        .filter(|step| *step > 0)
        .min();
    // Two- and three-space indentation becomes four; anything else is taken as four already.
    let scale = |columns: usize| match smallest_step {
        Some(step @ (2 | 3)) => columns * 4 / step,
        _ => columns,
    };
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        if !is_code(index) {
            out.push((*line).to_owned());
            continue;
        }
        let content = line.trim();
        if content.is_empty() {
            // One blank line at most, as rustfmt keeps them.
            if out.last().is_some_and(|previous| !previous.is_empty()) {
                out.push(String::new());
            }
            continue;
        }
        let columns = scale(width(line).saturating_sub(common));
        out.push(format!("{}{content}", " ".repeat(columns)));
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

/// The indexes of the lines that begin inside a string literal or block comment: their
/// leading whitespace is content, not indentation.
fn verbatim_lines(text: &str) -> Vec<usize> {
    let mut verbatim = Vec::new();
    for token in Lexer::new(text) {
        let spans_lines = matches!(
            token.kind,
            TokenKind::Str { .. } | TokenKind::BlockComment { .. }
        ) && token.text(text).contains('\n');
        if spans_lines {
            let first_line = text[..token.start].matches('\n').count();
            let last_line = first_line + token.text(text).matches('\n').count();
            verbatim.extend(first_line + 1..=last_line);
        }
    }
    verbatim
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(kind: MemberKind, name: &str, owner: Option<&str>) -> Member {
        Member {
            kind,
            ..testsmith_driver::testing::member(name, owner)
        }
    }

    fn largest() -> Member {
        member(MemberKind::Function, "largest", None)
    }

    fn checked(answer: &str) -> Result<String, String> {
        check_answer(&largest(), "test_largest", answer).map(|test| test.code)
    }

    const GOOD: &str =
        "#[test]\nfn test_largest() {\n    assert_eq!(largest(&[1, 3, 2]), Some(3));\n}";

    #[test]
    fn a_good_answer_is_kept_as_it_is() {
        assert_eq!(checked(GOOD).as_deref(), Ok(GOOD));
    }

    #[test]
    fn a_member_under_a_cfg_gets_its_answer_under_the_same_cfg_once() {
        let mut gated = largest();
        gated.callable = Some(testsmith_driver::Signature {
            qualifiers: vec!["cfg(feature = \"serde\")".to_owned()],
            ..Default::default()
        });
        let want = format!("#[cfg(feature = \"serde\")]\n{GOOD}");
        let code = check_answer(&gated, "test_largest", GOOD).unwrap().code;
        assert_eq!(code, want);
        // An answer that has it already keeps one.
        let again = check_answer(&gated, "test_largest", &want).unwrap().code;
        assert_eq!(again, want);
    }

    #[test]
    fn checking_a_checked_answer_changes_nothing() {
        let answer = "```rust\nuse std::collections::HashMap;\n#[cfg(test)]\nmod tests {\n  use super::*;\n  #[test]\n  fn t() {\n    let m: HashMap<u8, u8> = HashMap::new();\n    assert!(m.is_empty());\n  }\n}\n```";
        let once = checked(answer).expect("accepted");
        assert_eq!(checked(&once).as_deref(), Ok(once.as_str()));
    }

    #[test]
    fn markdown_fences_and_the_prose_around_them_are_dropped() {
        let answer = format!("Here is the test:\n\n```rust\n{GOOD}\n```\n\nIt checks the maximum.");
        assert_eq!(checked(&answer).as_deref(), Ok(GOOD));
    }

    #[test]
    fn prose_around_unfenced_code_is_dropped() {
        let answer = format!("Sure! Here it is:\n{GOOD}\nThis test covers one case.");
        assert_eq!(checked(&answer).as_deref(), Ok(GOOD));
    }

    #[test]
    fn blocks_in_other_languages_are_not_code() {
        let answer = format!("```toml\n[dev-dependencies]\nx = \"1\"\n```\n```\n{GOOD}\n```");
        assert_eq!(checked(&answer).as_deref(), Ok(GOOD));
    }

    #[test]
    fn a_wrapping_test_module_is_unwrapped_and_its_imports_moved_into_the_test() {
        let answer = "#[cfg(test)]\nmod tests {\n    use super::*;\n    use std::cmp::Ordering;\n\n    \
                      #[test]\n    fn test_largest() {\n        assert_eq!(1.cmp(&2), Ordering::Less);\n    }\n}\n";
        assert_eq!(
            checked(answer).as_deref(),
            Ok(
                "#[test]\nfn test_largest() {\n    use std::cmp::Ordering;\n    \
                assert_eq!(1.cmp(&2), Ordering::Less);\n}"
            )
        );
    }

    #[test]
    fn a_test_with_another_name_is_renamed() {
        let answer = GOOD.replace("test_largest", "largest_finds_the_maximum");
        assert_eq!(checked(&answer).as_deref(), Ok(GOOD));
    }

    #[test]
    fn a_function_without_a_test_attribute_gets_one() {
        let answer = GOOD.strip_prefix("#[test]\n").unwrap();
        assert_eq!(checked(answer).as_deref(), Ok(GOOD));
    }

    #[test]
    fn other_test_attributes_are_kept() {
        let answer = "#[tokio::test]\nasync fn test_largest() {\n    assert!(true);\n}";
        assert_eq!(checked(answer).as_deref(), Ok(answer));
    }

    #[test]
    fn two_space_and_tab_indentation_become_four_spaces() {
        let two = "#[test]\nfn test_largest() {\n  if true {\n    assert!(true);\n  }\n}";
        let tabs = two.replace("    ", "\t\t").replace("  ", "\t");
        let four = "#[test]\nfn test_largest() {\n    if true {\n        assert!(true);\n    }\n}";
        assert_eq!(checked(two).as_deref(), Ok(four));
        assert_eq!(checked(&tabs).as_deref(), Ok(four));
    }

    #[test]
    fn lines_inside_a_multi_line_string_are_left_alone() {
        let answer =
            "#[test]\nfn test_largest() {\n  let s = \"a\n  b\n\tc\";\n  assert!(s.len() > 0);\n}";
        assert_eq!(
            checked(answer).as_deref(),
            Ok(
                "#[test]\nfn test_largest() {\n    let s = \"a\n  b\n\tc\";\n    assert!(s.len() > 0);\n}"
            )
        );
    }

    #[test]
    fn fn_main_is_rejected() {
        let answer = format!("{GOOD}\n\nfn main() {{}}");
        let reason = checked(&answer).unwrap_err();
        assert!(reason.contains("do not write `fn main`"), "{reason}");
    }

    #[test]
    fn a_redefinition_of_the_member_is_rejected() {
        let copied = "pub fn largest<T: PartialOrd + Copy>(items: &[T]) -> Option<T> { None }";
        let reason = checked(&format!("{copied}\n\n{GOOD}")).unwrap_err();
        assert!(reason.contains("do not redefine `largest`"), "{reason}");
        let nested = "#[test]\nfn test_largest() {\n    fn largest(x: &[u8]) -> Option<u8> { None }\n    assert!(largest(&[]).is_none());\n}";
        assert!(checked(nested).unwrap_err().contains("do not redefine"));
        let alone = checked(copied).unwrap_err();
        assert!(alone.contains("do not redefine"), "{alone}");
    }

    #[test]
    fn a_method_s_type_or_impl_redeclared_is_rejected() {
        let method = member(MemberKind::Method, "distance", Some("Point"));
        let answer = "#[test]\nfn t() {\n    struct Point;\n    assert!(true);\n}";
        let reason = check_answer(&method, "test_point_distance", answer).unwrap_err();
        assert!(
            reason.contains("do not redeclare `Point` or its methods"),
            "{reason}"
        );
        let answer = "#[test]\nfn t() {\n    impl Point {\n        fn distance(&self) {}\n    }\n}";
        assert!(check_answer(&method, "test_point_distance", answer).is_err());
    }

    #[test]
    fn helpers_and_other_items_at_the_top_level_are_rejected() {
        let reason = checked(&format!("struct Fixture;\n\n{GOOD}")).unwrap_err();
        assert!(reason.contains("also has a struct `Fixture`"), "{reason}");
        let reason = checked(&format!("#![allow(dead_code)]\n{GOOD}")).unwrap_err();
        assert!(reason.contains("an inner attribute"), "{reason}");
        let reason = checked(&format!("extern crate rand;\n{GOOD}")).unwrap_err();
        assert!(reason.contains("extern crate"), "{reason}");
    }

    #[test]
    fn more_than_one_function_is_rejected_with_their_names() {
        let helper = "fn helper() -> u8 {\n    1\n}";
        let reason = checked(&format!("{helper}\n\n{GOOD}")).unwrap_err();
        assert!(
            reason.contains("exactly one test function, `test_largest`"),
            "{reason}"
        );
        assert!(reason.contains("`helper`, `test_largest`"), "{reason}");
    }

    #[test]
    fn garbage_is_rejected_with_where_it_breaks() {
        let reason = checked("I cannot write this test because {").unwrap_err();
        assert!(
            reason.starts_with("the code is not valid Rust ("),
            "{reason}"
        );
        assert!(checked("").unwrap_err().contains("holds no code"));
        assert!(checked("#[test]\nfn test_largest() {\n    assert!(\n}").is_err());
    }

    #[test]
    fn a_test_with_parameters_or_a_plain_test_on_async_is_rejected() {
        let reason = checked("#[test]\nfn test_largest(x: u8) {}").unwrap_err();
        assert!(reason.contains("takes no parameters"), "{reason}");
        let reason = checked("#[test]\nasync fn test_largest() {}").unwrap_err();
        assert!(reason.contains("cannot run an `async fn`"), "{reason}");
    }

    #[test]
    fn an_oversized_answer_is_rejected() {
        let body = "    assert!(true);\n".repeat(1200);
        let answer = format!("#[test]\nfn test_largest() {{\n{body}}}");
        let reason = checked(&answer).unwrap_err();
        assert!(reason.contains("over the limit of 20000"), "{reason}");
    }

    #[test]
    fn imports_join_a_one_line_body_on_lines_of_their_own() {
        let answer = "use std::fmt::Write;\n#[test]\nfn test_largest() { assert!(true); }";
        assert_eq!(
            checked(answer).as_deref(),
            Ok("#[test]\nfn test_largest() {\n    use std::fmt::Write;\n    assert!(true); }")
        );
    }
}
