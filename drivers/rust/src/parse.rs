//! Parsing a Rust file for its members: tree-sitter over everything but the blocks that
//! cannot hold one (function bodies first of all) when the file is sound, over all of it when
//! it is not.
//!
//! 1. The lexical pass ([`skeleton`](crate::skeleton)) finds those blocks and checks that
//!    every bracket, string and comment is closed.
//! 2. When it is all closed, tree-sitter parses the file without the blocks' insides, for the
//!    same members.
//! 3. When the pass found something unclosed, or that parse found an error, the whole file
//!    is parsed as before, so that a broken file gets tree-sitter's full recovery and the
//!    very same members. Its errors are tree-sitter's, plus the pass's own on lines
//!    tree-sitter did not flag (an unclosed `{` is reported where it opens, not where the
//!    file ends).
//!
//! What this gives up: a body whose brackets, strings and comments are all closed but whose
//! code is wrong (`let x = ;`) is not flagged. Members never depend on it, and the compiler
//! reports it anyway.

use crate::skeleton;
use std::ops::Range;
use testsmith_driver::{SyntaxIssue, syntax};
use tree_sitter::Tree;

/// How many blocks one parse skips at most: the largest ones. tree-sitter's lexer finds its
/// place among the included ranges by a linear search on every reset, which it does for most
/// tokens, so each range costs a little on every token of the file. On a generated file
/// with thousands of small trait impls (windows-sys) skipping them all made the parse 2.6×
/// slower than a whole-file one; the 256 largest blocks hold nearly all the skippable bytes
/// of ordinary code.
const MAX_SKIPPED_BLOCKS: usize = 256;

/// A parsed file and the syntax errors found on the way.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub tree: Tree,
    pub errors: Vec<SyntaxIssue>,
}

/// Parses `source`, skipping the blocks that hold no members when that is safe. `None` only if tree-sitter
/// refuses the grammar, a build bug.
pub(crate) fn parse(source: &str) -> Option<Parsed> {
    let skeleton = skeleton::scan(source);
    if skeleton.issues.is_empty() {
        let skipped = largest_blocks(skeleton.skipped, MAX_SKIPPED_BLOCKS);
        let ranges = syntax::ranges_excluding(source, &skipped);
        let tree = syntax::parse_ranges(&crate::RUST, source, &ranges)?;
        if !tree.root_node().has_error() {
            return Some(Parsed {
                tree,
                errors: Vec::new(),
            });
        }
    }
    let tree = syntax::parse(&crate::RUST, source)?;
    let mut errors = syntax::syntax_issues(&tree, source);
    let flagged_lines: Vec<usize> = errors.iter().map(|issue| issue.line).collect();
    errors.extend(
        skeleton
            .issues
            .into_iter()
            .filter(|issue| !flagged_lines.contains(&issue.line)),
    );
    errors.sort_by_key(|issue| (issue.line, issue.column));
    errors.truncate(syntax::MAX_REPORTED_ISSUES);
    Some(Parsed { tree, errors })
}

/// The `limit` longest of `blocks`, back in source order.
fn largest_blocks(mut blocks: Vec<Range<usize>>, limit: usize) -> Vec<Range<usize>> {
    if blocks.len() > limit {
        blocks.sort_unstable_by_key(|block| std::cmp::Reverse(block.len()));
        blocks.truncate(limit);
        blocks.sort_unstable_by_key(|block| block.start);
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(source: &str) -> Vec<String> {
        parse(source)
            .expect("the grammar loads")
            .errors
            .iter()
            .map(|issue| format!("{}:{} {}", issue.line, issue.column, issue.message))
            .collect()
    }

    #[test]
    fn a_sound_file_is_parsed_without_its_bodies() {
        let source = "pub fn a() -> u8 {\n    let x = 1;\n    x\n}\n";
        let parsed = parse(source).unwrap();
        let body = parsed
            .tree
            .root_node()
            .named_child(0)
            .and_then(|function| function.child_by_field_name("body"))
            .expect("a body");
        assert_eq!(body.named_child_count(), 0, "the body was parsed");
        assert_eq!((body.start_byte(), body.end_byte()), (17, source.len() - 1));
        assert_eq!(body.end_position().row, 3);
    }

    #[test]
    fn only_the_largest_blocks_are_skipped_in_source_order() {
        let blocks = vec![0..1, 2..10, 11..13, 14..30];
        assert_eq!(largest_blocks(blocks.clone(), 2), [2..10, 14..30]);
        assert_eq!(largest_blocks(blocks.clone(), 9), blocks);
    }

    #[test]
    fn an_unclosed_bracket_in_a_body_is_reported_where_it_opens() {
        let found = errors("pub fn a() {\n    let v = vec![1, 2;\n    v\n}\n\npub fn b() {}\n");
        assert_eq!(
            found,
            ["1:1 syntax error near `pub fn a() {`", "2:17 unclosed `[`"]
        );
    }

    #[test]
    fn an_unterminated_comment_in_a_body_is_reported_where_it_starts() {
        let found = errors("pub fn a() {\n    /* open\n}\n\npub fn b() {}\n");
        assert_eq!(
            found,
            [
                "1:1 syntax error near `pub fn a() {`",
                "2:5 unterminated block comment"
            ]
        );
    }

    #[test]
    fn the_lexer_adds_nothing_on_a_line_tree_sitter_flagged() {
        let found = errors("pub fn a() {\n    let s = \"abc;\n}\n");
        assert_eq!(found, ["1:12 unclosed `{`", "2:13 syntax error near `\"`"]);
    }

    #[test]
    fn an_error_outside_the_bodies_is_reported_by_tree_sitter() {
        assert_eq!(
            errors("pub fn a(x: u8,, y: u8) {\n    x\n}\n"),
            ["1:15 syntax error near `,`"]
        );
    }

    #[test]
    fn a_wrong_statement_inside_a_closed_body_is_not_flagged() {
        // The price of skipping bodies; the compiler reports it, and members do not move.
        assert_eq!(
            errors("pub fn a() {\n    let x = ;\n}\n"),
            Vec::<String>::new()
        );
    }
}
