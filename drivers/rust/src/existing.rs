//! Finding the tests already written in a file: a test file testsmith wrote, or a source
//! file with an inline `#[cfg(test)] mod tests`.
//!
//! A test is a function carrying a test attribute — `#[test]`, or any path ending in `test`
//! such as `#[tokio::test]` or `#[async_std::test(..)]` — in the file or in a module of it at
//! any depth. Its byte range covers its attributes and doc comments, and the scaffold
//! marker when the line right above them is one, so that replacing an untouched scaffold
//! replaces all of it.

use crate::lexer::{Lexer, Token, TokenKind};
use crate::parse;
use testsmith_driver::marker;
use testsmith_driver::{ExistingTest, syntax};
use tree_sitter::Node;

/// The tests in `text`, in source order.
pub(crate) fn existing_tests(text: &str) -> Vec<ExistingTest> {
    // Most source files hold no test: a lexical look spares them a second parse (`generate`
    // asks about every source file it has just analysed).
    if !has_test_attribute_token(text) {
        return Vec::new();
    }
    let Some(parsed) = parse::parse(text) else {
        return Vec::new();
    };
    let mut tests = Vec::new();
    collect(parsed.tree.root_node(), text, &mut tests);
    tests
}

/// Collects the tests among the items of `container` (a file, a module body or an `ERROR`
/// node among them), and in its modules.
fn collect(container: Node<'_>, text: &str, tests: &mut Vec<ExistingTest>) {
    let mut leading: Vec<Node<'_>> = Vec::new();
    let mut cursor = container.walk();
    for child in container.named_children(&mut cursor) {
        if matches!(
            child.kind(),
            "attribute_item" | "line_comment" | "block_comment"
        ) {
            leading.push(child);
            continue;
        }
        let leading = std::mem::take(&mut leading);
        match child.kind() {
            "function_item" if has_test_attribute(&leading, text) => {
                if let Some(test) = existing_test(child, &leading, text) {
                    tests.push(test);
                }
            }
            "mod_item" => {
                if let Some(body) = child.child_by_field_name("body") {
                    collect(body, text, tests);
                }
            }
            "ERROR" => collect(child, text, tests),
            _ => {}
        }
    }
}

/// Whether an attribute among `leading` makes the function a test.
pub(crate) fn has_test_attribute(leading: &[Node<'_>], text: &str) -> bool {
    leading
        .iter()
        .filter(|node| node.kind() == "attribute_item")
        .filter_map(|node| node.named_child(0))
        .filter_map(|attribute| attribute.named_child(0))
        .any(|path| is_test_attribute_path(syntax::text(path, text)))
}

/// `test`, `tokio::test`, `async_std::test`, `::tokio::test`.
fn is_test_attribute_path(path: &str) -> bool {
    path == "test" || path.ends_with("::test")
}

/// Whether `text` has an attribute whose path ends in `test` (`#[test]`, `#[tokio::test(..)]`)
/// outside comments and strings.
fn has_test_attribute_token(text: &str) -> bool {
    // Cheaper still: no `test` right before a `]` or `(` means no test attribute at all.
    let may_have_one = text
        .match_indices("test")
        .any(|(at, _)| text[at + 4..].trim_start().starts_with([']', '(']));
    if !may_have_one {
        return false;
    }
    let tokens: Vec<Token> = Lexer::new(text)
        .filter(|token| !token.kind.is_comment())
        .collect();
    tokens.windows(2).enumerate().any(|(index, pair)| {
        if !(pair[0].is_punct(b'#') && pair[1].is_punct(b'[')) {
            return false;
        }
        let path: Vec<&Token> = tokens[index + 2..]
            .iter()
            .take_while(|token| token.kind == TokenKind::Ident || token.is_punct(b':'))
            .collect();
        path.last()
            .is_some_and(|last| last.kind == TokenKind::Ident && last.text(text) == "test")
    })
}

fn existing_test(function: Node<'_>, leading: &[Node<'_>], text: &str) -> Option<ExistingTest> {
    let name = syntax::text(function.child_by_field_name("name")?, text);
    // The test starts at its first attribute or doc comment; plain comments above those are
    // the user's notes about something else, and stay out of the range.
    let first = leading
        .iter()
        .position(|node| node.kind() == "attribute_item" || is_doc_comment(*node, text))
        .map_or(function, |index| leading[index]);
    let first_line_start = line_start(text, first.start_byte());
    let end = function.end_byte();
    let mut start = first.start_byte();
    let mut scaffold = None;
    if let Some(above) = line_above(text, first_line_start)
        && marker::is_marker_line(&text[above.clone()])
    {
        let below_marker = &text[first_line_start..end];
        scaffold = marker::read_marker(&text[above.clone()], below_marker);
        let indent = text[above.clone()].len() - text[above.clone()].trim_start().len();
        start = above.start + indent;
    }
    Some(ExistingTest {
        name: name.strip_prefix("r#").unwrap_or(name).to_owned(),
        byte_range: start..end,
        scaffold,
    })
}

fn is_doc_comment(node: Node<'_>, text: &str) -> bool {
    let comment = syntax::text(node, text);
    match node.kind() {
        "line_comment" => comment.starts_with("///") && !comment.starts_with("////"),
        "block_comment" => comment.starts_with("/**") && !comment.starts_with("/***"),
        _ => false,
    }
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |newline| newline + 1)
}

/// The byte range of the line before the one starting at `line_start`, without its line
/// break (`\n` or `\r\n`).
fn line_above(text: &str, line_start: usize) -> Option<std::ops::Range<usize>> {
    let end = line_start.checked_sub(1)?;
    let start = self::line_start(text, end);
    let end = if text[..end].ends_with('\r') {
        end - 1
    } else {
        end
    };
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        existing_tests(text)
            .into_iter()
            .map(|test| test.name)
            .collect()
    }

    #[test]
    fn test_functions_are_found_at_any_depth_whatever_their_attribute() {
        let text = "#[test]\nfn a() {}\n\nfn helper() {}\n\n#[cfg(test)]\nmod tests {\n    \
                    use super::*;\n\n    #[tokio::test]\n    async fn b() {}\n\n    mod deeper {\n        \
                    #[async_std::test(flavor = \"x\")]\n        fn c() {}\n    }\n}\n";
        assert_eq!(names(text), ["a", "b", "c"]);
    }

    #[test]
    fn functions_without_a_test_attribute_are_not_tests() {
        let text = "#[inline]\nfn not_a_test() {}\n#[testing]\nfn neither() {}\n";
        assert_eq!(names(text), Vec::<String>::new());
    }

    #[test]
    fn a_test_covers_its_doc_comments_and_attributes_but_not_plain_comments_above() {
        let text = "// A note.\n/// Checks a.\n#[test]\n#[ignore]\nfn a() {\n    f();\n}\n";
        let test = &existing_tests(text)[0];
        assert_eq!(
            &text[test.byte_range.clone()],
            &text["// A note.\n".len()..text.len() - 1]
        );
        assert_eq!(test.scaffold, None);
    }

    #[test]
    fn a_scaffold_marker_right_above_is_part_of_the_test_and_read() {
        let body = "#[test]\n    fn test_a() {\n        todo!();\n    }";
        let marker = marker::marker_line("1a2b3c4d", body);
        let text = format!("mod tests {{\n    {marker}\n    {body}\n}}\n");
        let test = &existing_tests(&text)[0];
        assert_eq!(
            &text[test.byte_range.clone()],
            format!("{marker}\n    {body}")
        );
        let mark = test.scaffold.as_ref().expect("a scaffold");
        assert_eq!(mark.signature_hash, "1a2b3c4d");
        assert!(mark.is_unedited);
    }

    #[test]
    fn an_edited_scaffold_reads_as_edited() {
        let body = "#[test]\nfn test_a() {\n    todo!();\n}";
        let marker = marker::marker_line("1a2b3c4d", body);
        let text = format!("{marker}\n{}\n", body.replace("todo!();", "assert!(a());"));
        let mark = existing_tests(&text)[0]
            .scaffold
            .clone()
            .expect("a scaffold");
        assert!(!mark.is_unedited);
    }

    #[test]
    fn a_marker_separated_from_the_test_by_another_line_does_not_count() {
        let body = "#[test]\nfn test_a() {}";
        let marker = marker::marker_line("1a2b3c4d", body);
        let text = format!("{marker}\n// mine now\n{body}\n");
        let test = &existing_tests(&text)[0];
        assert_eq!(test.scaffold, None);
        assert!(text[test.byte_range.clone()].starts_with("#[test]"));
    }

    #[test]
    fn windows_line_endings_do_not_hide_a_marker() {
        let body = "#[test]\r\nfn test_a() {}";
        let marker = marker::marker_line("1a2b3c4d", body);
        let text = format!("{marker}\r\n{body}\r\n");
        assert!(
            existing_tests(&text)[0]
                .scaffold
                .as_ref()
                .unwrap()
                .is_unedited
        );
    }

    #[test]
    fn a_test_attribute_is_told_from_mentions_in_comments_strings_and_cfgs() {
        assert!(has_test_attribute_token("#[test] fn a() {}"));
        assert!(has_test_attribute_token(
            "#[ tokio :: test (flavor = \"x\")] async fn a() {}"
        ));
        assert!(!has_test_attribute_token(
            "// #[test]\nconst S: &str = \"#[test]\";"
        ));
        assert!(!has_test_attribute_token("#[cfg(test)] mod tests;"));
        assert!(!has_test_attribute_token("#[testing] fn a() {}"));
    }

    #[test]
    fn raw_test_names_lose_their_prefix() {
        assert_eq!(names("#[test]\nfn r#test_type() {}\n"), ["test_type"]);
    }
}
