//! tree-sitter helpers shared by drivers: parsing with a per-thread parser, error collection,
//! and the small text utilities every extractor needs.

use crate::SyntaxIssue;
use std::cell::RefCell;
use tree_sitter::{Language, Node, Parser, Tree};

/// How many syntax issues are reported per file at most; a badly broken file would otherwise
/// produce one per token.
pub const MAX_REPORTED_ISSUES: usize = 20;

thread_local! {
    // A parser is cheap to keep and not `Sync`; one per thread serves every language.
    static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

/// Parses `source` with `language` on this thread's parser.
///
/// Returns `None` only if tree-sitter refuses the language (an ABI mismatch, a build bug).
pub fn parse(language: &Language, source: &str) -> Option<Tree> {
    PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        parser.set_language(language).ok()?;
        parser.parse(source, None)
    })
}

thread_local! {
    // Included ranges are parser state: a parser of its own keeps them from cutting up the
    // next whole-file parse on this thread.
    static RANGED_PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

/// Parses only `ranges` of `source` with `language` (the whole file when `ranges` is empty),
/// as [`ranges_excluding`] makes them. Node positions stay those of the whole file; the text
/// between ranges is skipped as if it were not there.
///
/// Returns `None` only if tree-sitter refuses the language or the ranges (a bug).
pub fn parse_ranges(
    language: &Language,
    source: &str,
    ranges: &[tree_sitter::Range],
) -> Option<Tree> {
    RANGED_PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        parser.set_language(language).ok()?;
        parser.set_included_ranges(ranges).ok()?;
        parser.parse(source, None)
    })
}

/// The ranges of `source` left when the byte ranges `excluded` (in order, not overlapping)
/// are cut out, with the row and column points tree-sitter wants. Empty when nothing is
/// excluded, which [`parse_ranges`] reads as "the whole file".
pub fn ranges_excluding(
    source: &str,
    excluded: &[std::ops::Range<usize>],
) -> Vec<tree_sitter::Range> {
    if excluded.is_empty() {
        return Vec::new();
    }
    let mut points = PointTracker::default();
    let mut ranges = Vec::with_capacity(excluded.len() + 1);
    let mut start = (0, tree_sitter::Point::new(0, 0));
    for cut in excluded {
        let end = points.at(source, cut.start);
        ranges.push(tree_sitter::Range {
            start_byte: start.0,
            end_byte: cut.start,
            start_point: start.1,
            end_point: end,
        });
        start = (cut.end, points.at(source, cut.end));
    }
    ranges.push(tree_sitter::Range {
        start_byte: start.0,
        end_byte: source.len(),
        start_point: start.1,
        end_point: points.at(source, source.len()),
    });
    ranges
}

/// Row and column (in bytes) of offsets asked for in increasing order, counted in one pass.
#[derive(Default)]
struct PointTracker {
    offset: usize,
    row: usize,
    line_start: usize,
}

impl PointTracker {
    fn at(&mut self, source: &str, offset: usize) -> tree_sitter::Point {
        for (index, byte) in source.as_bytes()[self.offset..offset].iter().enumerate() {
            if *byte == b'\n' {
                self.row += 1;
                self.line_start = self.offset + index + 1;
            }
        }
        self.offset = offset;
        tree_sitter::Point::new(self.row, offset - self.line_start)
    }
}

/// The syntax errors tree-sitter recovered from, in source order, at most
/// [`MAX_REPORTED_ISSUES`].
pub fn syntax_issues(tree: &Tree, source: &str) -> Vec<SyntaxIssue> {
    let mut issues = Vec::new();
    if !tree.root_node().has_error() {
        return issues;
    }
    collect_issues(tree.root_node(), source, &mut issues);
    issues
}

fn collect_issues(node: Node<'_>, source: &str, issues: &mut Vec<SyntaxIssue>) {
    if issues.len() >= MAX_REPORTED_ISSUES {
        return;
    }
    if node.is_missing() {
        issues.push(issue_at(node, format!("missing `{}`", node.kind())));
        return;
    }
    if node.is_error() {
        let snippet = first_line_snippet(text(node, source));
        let message = if snippet.is_empty() {
            "syntax error".to_owned()
        } else {
            format!("syntax error near `{snippet}`")
        };
        issues.push(issue_at(node, message));
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.has_error() || child.is_missing() {
            collect_issues(child, source, issues);
        }
    }
}

fn issue_at(node: Node<'_>, message: String) -> SyntaxIssue {
    let position = node.start_position();
    SyntaxIssue {
        line: position.row + 1,
        column: position.column + 1,
        message,
    }
}

fn first_line_snippet(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// The source text of `node`.
pub fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

/// 1-based first and last line of `node`. A node ending at column 0 ends on the line before.
pub fn line_span(node: Node<'_>) -> (usize, usize) {
    let start = node.start_position().row + 1;
    let end = node.end_position();
    let end_line = if end.column == 0 && end.row > node.start_position().row {
        end.row
    } else {
        end.row + 1
    };
    (start, end_line)
}

/// `text` with every run of whitespace (newlines included) folded into one space.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The text of `range` in `source` as it would read at the top level: a declaration nested
/// in an `impl` or a `mod` starts mid-line, its later lines indented deeper; the first line's
/// indentation is put back and the indentation all lines share taken off.
pub fn declaration_text(source: &str, range: std::ops::Range<usize>) -> Option<String> {
    let body = source.get(range.clone())?;
    let line_start = source[..range.start].rfind('\n').map_or(0, |at| at + 1);
    let lead = &source[line_start..range.start];
    if lead.chars().all(|c| c == ' ' || c == '\t') {
        Some(dedent(&format!("{lead}{body}")))
    } else {
        Some(dedent(body))
    }
}

/// `code` without the closing braces at its end that close nothing — small models often
/// close a test function twice — or `None` when it has none. Braces are counted plainly
/// (a test's string literals seldom hold an unpaired one; the caller parses the result).
pub fn drop_unmatched_closing_braces(code: &str) -> Option<String> {
    let opens = code.matches('{').count();
    let mut extra = code.matches('}').count().checked_sub(opens)?;
    if extra == 0 {
        return None;
    }
    let mut text = code.trim_end();
    while extra > 0 {
        text = text.strip_suffix('}')?.trim_end();
        extra -= 1;
    }
    Some(text.to_owned())
}

/// `text` without the leading whitespace its non-blank lines share.
pub fn dedent(text: &str) -> String {
    let indent_of = |line: &str| line.len() - line.trim_start_matches([' ', '\t']).len();
    let common = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| &line[..indent_of(line)])
        .reduce(|shared, next| {
            let same = shared
                .bytes()
                .zip(next.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            &shared[..same]
        })
        .unwrap_or("");
    text.lines()
        .map(|line| line.strip_prefix(common).unwrap_or(line.trim_start()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_declaration_reads_as_at_the_top_level() {
        let source = "impl P {\n    pub fn new() -> Self {\n        P\n    }\n}\n";
        let start = source.find("pub fn").unwrap();
        let end = source.find("    }\n}").unwrap() + 5;
        assert_eq!(
            declaration_text(source, start..end).unwrap(),
            "pub fn new() -> Self {\n    P\n}"
        );
        assert_eq!(
            dedent("\tfunc A() {\n\n\t\tx()\n\t}"),
            "func A() {\n\n\tx()\n}"
        );
        assert_eq!(declaration_text("x", 3..4), None);
    }

    #[test]
    fn only_closing_braces_that_close_nothing_are_dropped_from_the_end() {
        assert_eq!(
            drop_unmatched_closing_braces("func T() {\n\tx()\n}\n}\n").as_deref(),
            Some("func T() {\n\tx()\n}")
        );
        assert_eq!(drop_unmatched_closing_braces("func T() {\n}\n"), None);
        // The unpaired brace is not at the end: nothing plain to drop.
        assert_eq!(drop_unmatched_closing_braces("func T() {\n}\n}\nx()"), None);
    }

    #[test]
    fn collapse_whitespace_folds_newlines_and_runs() {
        assert_eq!(
            collapse_whitespace("fn  a(\n    x: u8,\n) "),
            "fn a( x: u8, )"
        );
    }

    #[test]
    fn ranges_excluding_cuts_the_excluded_bytes_and_counts_rows_and_columns() {
        let source = "ab\ncd{xx\nyy}ef\n";
        let ranges = ranges_excluding(source, &[6..11, 12..13]);
        let spans: Vec<_> = ranges
            .iter()
            .map(|r| {
                let (start, end) = (r.start_point, r.end_point);
                (
                    r.start_byte..r.end_byte,
                    (start.row, start.column),
                    (end.row, end.column),
                )
            })
            .collect();
        assert_eq!(
            spans,
            [
                (0..6, (0, 0), (1, 3)),
                (11..12, (2, 2), (2, 3)),
                (13..15, (2, 4), (3, 0))
            ]
        );
        assert!(ranges_excluding(source, &[]).is_empty());
    }

    #[test]
    fn snippet_is_cut_at_forty_characters_on_a_char_boundary() {
        let long = "ä".repeat(60);
        let snippet = first_line_snippet(&long);
        assert_eq!(snippet.chars().count(), 41);
        assert!(snippet.ends_with('…'));
    }
}
