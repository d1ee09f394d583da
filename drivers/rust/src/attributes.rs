//! Reading the attributes and comments in front of an item: is it test-only, and what is its
//! doc comment.
//!
//! tree-sitter-rust keeps outer attributes and comments as siblings before the item they
//! belong to, so the extractor gathers those siblings and hands them here.

use testsmith_driver::syntax;
use tree_sitter::Node;

/// Whether the attributes among `leading` (attributes and comments before an item) make the
/// item exist only in test builds: `#[cfg(..)]` whose predicate requires `test`, or a test
/// function attribute (`#[test]`, `#[tokio::test]`; the test harness compiles those only
/// under `cfg(test)`).
pub(crate) fn is_test_only(leading: &[Node<'_>], source: &str) -> bool {
    leading
        .iter()
        .filter(|node| node.kind() == "attribute_item")
        .filter_map(|node| node.named_child(0))
        .any(|attribute| is_test_only_attribute(attribute, source))
}

/// The `#[cfg(..)]` conditions among `leading`, as written without `#[` `]`
/// (`cfg(feature = "serde")`); test-only ones never reach here (their item is skipped).
pub(crate) fn cfg_conditions(leading: &[Node<'_>], source: &str) -> Vec<String> {
    leading
        .iter()
        .filter(|node| node.kind() == "attribute_item")
        .filter_map(|node| node.named_child(0))
        .map(|attribute| syntax::text(attribute, source).trim().to_owned())
        .filter(|text| text.starts_with("cfg(") || text.starts_with("cfg ("))
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Whether the inner attributes of `container` (a file or a `mod { .. }` body) make all of
/// it test-only: `#![cfg(test)]`.
pub(crate) fn has_test_only_inner_attribute(container: Node<'_>, source: &str) -> bool {
    let mut cursor = container.walk();
    container
        .named_children(&mut cursor)
        .filter(|node| node.kind() == "inner_attribute_item")
        .filter_map(|node| node.named_child(0))
        .any(|attribute| is_test_only_attribute(attribute, source))
}

fn is_test_only_attribute(attribute: Node<'_>, source: &str) -> bool {
    let Some(path) = attribute.named_child(0) else {
        return false;
    };
    let path = syntax::text(path, source);
    let arguments = attribute.child_by_field_name("arguments");
    match (path, arguments) {
        ("cfg", Some(arguments)) => cfg_requires_test(syntax::text(arguments, source)),
        ("test", None) => true,
        // `#[tokio::test]`, `#[tokio::test(flavor = "multi_thread")]`, `#[async_std::test]`.
        (path, _) => path.ends_with("::test"),
    }
}

/// Whether the `cfg` predicate written in `arguments` (with its parentheses, `(all(test,
/// unix))`) can only hold in a test build. Anything unreadable is taken as not test-only:
/// reporting a member too many is better than hiding one.
pub(crate) fn cfg_requires_test(arguments: &str) -> bool {
    parse_cfg(arguments).is_some_and(|predicate| predicate.value(false) == Some(false))
}

/// Whether the `cfg` predicate written in `arguments` can never hold in a test build
/// (`(not(test))`): an item under it does not exist where its test would be compiled.
/// Anything unreadable is taken as holding.
pub(crate) fn cfg_excludes_test(arguments: &str) -> bool {
    parse_cfg(arguments).is_some_and(|predicate| predicate.value(true) == Some(false))
}

/// Why no test can call `member`: one of its `cfg` conditions never holds in a test build.
pub(crate) fn only_built_outside_tests(member: &testsmith_driver::Member) -> Option<String> {
    let condition = member
        .callable
        .iter()
        .flat_map(|callable| &callable.qualifiers)
        .find(|qualifier| {
            qualifier
                .strip_prefix("cfg")
                .is_some_and(|arguments| cfg_excludes_test(arguments.trim_start()))
        })?;
    Some(format!(
        "only built outside tests (#[{condition}]), so no test can call it"
    ))
}

fn parse_cfg(arguments: &str) -> Option<Cfg> {
    let tokens = tokenize(arguments);
    let mut parser = CfgParser {
        tokens: &tokens,
        at: 0,
    };
    match (parser.eat("("), parser.predicate(), parser.eat(")")) {
        (true, Some(predicate), true) if parser.at == tokens.len() => Some(predicate),
        _ => None,
    }
}

/// A `cfg` predicate, reduced to what matters here.
#[derive(Debug)]
enum Cfg {
    Test,
    /// Any other option (`unix`, `feature = "x"`): independent of `test`.
    Other,
    All(Vec<Cfg>),
    Any(Vec<Cfg>),
    Not(Box<Cfg>),
}

impl Cfg {
    /// The predicate's value in a build with `test` set as given, `None` when it depends on
    /// other options.
    fn value(&self, test: bool) -> Option<bool> {
        match self {
            Cfg::Test => Some(test),
            Cfg::Other => None,
            Cfg::All(all) => {
                let values: Vec<Option<bool>> = all.iter().map(|cfg| cfg.value(test)).collect();
                if values.contains(&Some(false)) {
                    Some(false)
                } else if values.iter().all(|value| *value == Some(true)) {
                    Some(true)
                } else {
                    None
                }
            }
            Cfg::Any(any) => {
                let values: Vec<Option<bool>> = any.iter().map(|cfg| cfg.value(test)).collect();
                if values.contains(&Some(true)) {
                    Some(true)
                } else if values.iter().all(|value| *value == Some(false)) {
                    Some(false)
                } else {
                    None
                }
            }
            Cfg::Not(inner) => inner.value(test).map(|value| !value),
        }
    }
}

struct CfgParser<'t> {
    tokens: &'t [String],
    at: usize,
}

impl CfgParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn eat(&mut self, token: &str) -> bool {
        let matched = self.peek() == Some(token);
        if matched {
            self.at += 1;
        }
        matched
    }

    fn predicate(&mut self) -> Option<Cfg> {
        let name = self.peek()?.to_owned();
        if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            return None;
        }
        self.at += 1;
        if self.eat("=") {
            let value = self.peek()?;
            if !value.starts_with('"') {
                return None;
            }
            self.at += 1;
            return Some(Cfg::Other);
        }
        if !self.eat("(") {
            return Some(if name == "test" {
                Cfg::Test
            } else {
                Cfg::Other
            });
        }
        let mut list = Vec::new();
        while !self.eat(")") {
            list.push(self.predicate()?);
            if !self.eat(",") && self.peek() != Some(")") {
                return None;
            }
        }
        match name.as_str() {
            "all" => Some(Cfg::All(list)),
            "any" => Some(Cfg::Any(list)),
            "not" if list.len() == 1 => list.pop().map(|inner| Cfg::Not(Box::new(inner))),
            _ => None,
        }
    }
}

/// Splits a `cfg` predicate into identifiers, string literals and single punctuation marks.
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '"' {
            let mut end = text.len();
            let mut escaped = false;
            for (at, c) in chars.by_ref() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = at + 1;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            tokens.push(text[start..end].to_owned());
        } else if c.is_alphanumeric() || c == '_' {
            let mut end = start + c.len_utf8();
            while let Some(&(at, c)) = chars.peek() {
                if !(c.is_alphanumeric() || c == '_' || c == '#') {
                    break;
                }
                end = at + c.len_utf8();
                chars.next();
            }
            tokens.push(text[start..end].to_owned());
        } else {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// The doc comment carried by `leading` (the attributes and comments before an item): `///`
/// lines, `/** */` blocks and `#[doc = ".."]` attributes, in order, markers stripped and the
/// common indentation removed. `None` when there is none.
pub(crate) fn doc_comment(leading: &[Node<'_>], source: &str) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    for node in leading {
        let text = syntax::text(*node, source);
        match node.kind() {
            "line_comment" if is_outer_line_doc(text) => {
                lines.push(text["///".len()..].trim_end().to_owned());
            }
            "block_comment" if is_outer_block_doc(text) => {
                lines.extend(block_doc_lines(text));
            }
            "attribute_item" => {
                if let Some(value) = node.named_child(0).and_then(|a| doc_attribute(a, source)) {
                    lines.extend(value.lines().map(str::to_owned));
                }
            }
            _ => {}
        }
    }
    let doc = unindent(&lines);
    (!doc.is_empty()).then_some(doc)
}

/// `/// text`, but not `//// text`, which rustdoc treats as a plain comment.
fn is_outer_line_doc(text: &str) -> bool {
    text.starts_with("///") && !text.starts_with("////")
}

/// `/** text */`, but neither `/***` nor the empty `/**/`.
fn is_outer_block_doc(text: &str) -> bool {
    text.starts_with("/**") && !text.starts_with("/***") && text != "/**/"
}

/// The lines of a `/** */` doc block without its markers or the ` * ` gutter many put on each
/// line.
fn block_doc_lines(text: &str) -> Vec<String> {
    let inner = text
        .strip_prefix("/**")
        .and_then(|rest| rest.strip_suffix("*/"))
        .unwrap_or("");
    let mut lines: Vec<&str> = inner.lines().collect();
    let has_gutter = lines
        .iter()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .all(|line| line.trim_start().starts_with('*'));
    if has_gutter {
        for line in lines.iter_mut().skip(1) {
            let trimmed = line.trim_start();
            *line = trimmed.strip_prefix('*').unwrap_or(trimmed);
        }
    }
    while lines.first().is_some_and(|line| line.trim().is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|line| line.trim().is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|line| line.trim_end().to_owned())
        .collect()
}

/// The text of `#[doc = "..."]` (a plain or raw string literal); `None` for any other
/// attribute, and for `#[doc = include_str!(..)]`, whose text is not in this file.
fn doc_attribute(attribute: Node<'_>, source: &str) -> Option<String> {
    let path = attribute.named_child(0)?;
    if syntax::text(path, source) != "doc" {
        return None;
    }
    let value = attribute.child_by_field_name("value")?;
    let literal = syntax::text(value, source);
    match value.kind() {
        "string_literal" => Some(unescape(literal.strip_prefix('"')?.strip_suffix('"')?)),
        "raw_string_literal" => {
            let hashes = literal.strip_prefix('r')?.trim_end_matches('"');
            let hashes = hashes.len() - hashes.trim_start_matches('#').len();
            let fence = "#".repeat(hashes);
            let body = literal
                .strip_prefix('r')?
                .strip_prefix(fence.as_str())?
                .strip_prefix('"')?
                .strip_suffix(fence.as_str())?
                .strip_suffix('"')?;
            Some(body.to_owned())
        }
        _ => None,
    }
}

/// The common escapes of a Rust string literal; an unknown escape is kept as written.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(c @ ('\\' | '"' | '\'')) => out.push(c),
            // A backslash before a newline continues the string without the line break or the
            // next line's indentation.
            Some('\n') => {
                let rest = chars.as_str().trim_start();
                chars = rest.chars();
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `lines` joined with newlines after removing the indentation they share, as rustdoc does.
fn unindent(lines: &[String]) -> String {
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut doc: Vec<&str> = lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or("").trim_end())
        .collect();
    while doc.last().is_some_and(|line| line.is_empty()) {
        doc.pop();
    }
    while doc.first().is_some_and(|line| line.is_empty()) {
        doc.remove(0);
    }
    doc.join("\n")
}

/// `text`, a test function (doc comment, attributes, `fn`), with a `#[cfg(..)]` line for
/// each of `member`'s conditions it lacks, put before its first attribute: the member
/// exists only under them, and so must a test that calls it.
pub(crate) fn with_member_cfgs(member: &testsmith_driver::Member, text: &str) -> String {
    let missing: Vec<String> = member
        .callable
        .iter()
        .flat_map(|callable| &callable.qualifiers)
        .filter(|qualifier| qualifier.starts_with("cfg"))
        .map(|condition| format!("#[{condition}]"))
        .filter(|line| !text.lines().any(|existing| existing.trim() == line))
        .collect();
    if missing.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 40);
    let mut placed = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !placed
            && (trimmed.starts_with("#[")
                || trimmed.starts_with("fn ")
                || trimmed.starts_with("async fn "))
        {
            let indent = &line[..line.len() - trimmed.len()];
            for cfg in &missing {
                out.push_str(indent);
                out.push_str(cfg);
                out.push('\n');
            }
            placed = true;
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfg_test_is_test_only() {
        assert!(cfg_requires_test("(test)"));
        assert!(cfg_requires_test("( test )"));
    }

    #[test]
    fn cfg_all_with_test_is_test_only() {
        assert!(cfg_requires_test("(all(test, feature = \"x\"))"));
        assert!(cfg_requires_test("(all(unix, all(test)))"));
    }

    #[test]
    fn cfg_not_test_is_not_test_only() {
        assert!(!cfg_requires_test("(not(test))"));
        assert!(!cfg_requires_test("(all(unix, not(test)))"));
    }

    #[test]
    fn cfg_not_test_excludes_test_builds_and_cfg_test_does_not() {
        assert!(cfg_excludes_test("(not(test))"));
        assert!(cfg_excludes_test("(all(unix, not(test)))"));
        assert!(cfg_excludes_test("(not(any(test, unix)))"));
        assert!(!cfg_excludes_test("(test)"));
        assert!(!cfg_excludes_test("(any(unix, not(test)))"));
        assert!(!cfg_excludes_test("(feature = \"x\")"));
        assert!(!cfg_excludes_test("(not(tes"));
    }

    #[test]
    fn cfg_any_with_another_option_is_not_test_only() {
        assert!(!cfg_requires_test("(any(test, feature = \"testing\"))"));
    }

    #[test]
    fn cfg_any_of_test_only_options_is_test_only() {
        assert!(cfg_requires_test("(any(test, all(test, unix)))"));
    }

    #[test]
    fn cfg_not_of_not_test_is_test_only() {
        assert!(cfg_requires_test("(not(not(test)))"));
        assert!(cfg_requires_test("(not(any(not(test), unix)))"));
    }

    #[test]
    fn options_merely_named_like_test_are_not_test_only() {
        assert!(!cfg_requires_test("(testing)"));
        assert!(!cfg_requires_test("(feature = \"test\")"));
        assert!(!cfg_requires_test("(test = \"x\")"));
    }

    #[test]
    fn a_cfg_that_never_holds_is_in_no_ordinary_build() {
        assert!(cfg_requires_test("(any())"));
        assert!(!cfg_requires_test("(all())"));
    }

    #[test]
    fn an_unreadable_cfg_is_not_test_only() {
        assert!(!cfg_requires_test("(all(test"));
        assert!(!cfg_requires_test("(test, test)"));
        assert!(!cfg_requires_test("($x)"));
    }

    #[test]
    fn an_escaped_quote_does_not_end_a_cfg_string() {
        assert!(cfg_requires_test(r#"(all(feature = "a\"b", test))"#));
    }

    #[test]
    fn block_doc_loses_its_gutter_and_markers() {
        let doc = |text: &str| unindent(&block_doc_lines(text));
        assert_eq!(doc("/**\n * One.\n *\n * Two.\n */"), "One.\n\nTwo.");
        assert_eq!(doc("/** Short. */"), "Short.");
    }

    #[test]
    fn unindent_removes_only_the_shared_indentation() {
        let lines = [" a".to_owned(), "   b".to_owned(), String::new()];
        assert_eq!(unindent(&lines), "a\n  b");
    }

    #[test]
    fn unescape_handles_common_escapes_and_line_continuations() {
        assert_eq!(unescape(r#"a\"b\n\\c"#), "a\"b\n\\c");
        assert_eq!(unescape("one \\\n    two"), "one two");
    }
}
