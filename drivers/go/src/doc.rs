//! Doc comments the way go/parser attaches them and go/ast's `CommentGroup.Text` reads them.
//!
//! tree-sitter keeps comments as sibling nodes, so the lead comment of a declaration is
//! rebuilt from the siblings before it with go/parser's rules: comments on adjacent lines form
//! one group, a group is a declaration's doc only when it ends on the line right above the
//! declaration, and comments that start on the line of the previous token are that token's
//! line comment, never a doc.

use tree_sitter::Node;

/// The comment nodes forming the doc comment of a declaration starting on `decl_row`
/// (0-based), given the siblings that precede it in source order. Empty when there is none.
pub(crate) fn lead_comments<'a, 't>(before: &'a [Node<'t>], decl_row: usize) -> &'a [Node<'t>] {
    // Walk back over the comments that chain, line by line, up from the declaration.
    let mut first = before.len();
    let mut next_row = decl_row;
    for (index, node) in before.iter().enumerate().rev() {
        if node.kind() != "comment" {
            break;
        }
        let ends_right_above = end_row(*node) + 1 == next_row;
        // Between comments of one group, go/parser allows the next comment to start on the
        // line the previous one ends on, or the line after.
        let chains = first < before.len() && end_row(*node) + 1 >= next_row;
        if !(ends_right_above || chains) {
            break;
        }
        first = index;
        next_row = node.start_position().row;
    }
    let mut group = &before[first..];

    // Comments starting on the line where the previous token ends belong to that token.
    let previous_token_row = before[..first]
        .iter()
        .rev()
        .find(|node| node.kind() != "comment")
        .map(|node| end_row(*node));
    if let Some(row) = previous_token_row {
        let mut line_group_end = row;
        while let Some(comment) = group.first() {
            if comment.start_position().row > line_group_end {
                break;
            }
            line_group_end = end_row(*comment);
            group = &group[1..];
        }
    }
    group
}

/// The 0-based row a node's last character is on (a node ending at column 0 ends on the row
/// before, as when it includes its line break).
fn end_row(node: Node<'_>) -> usize {
    let end = node.end_position();
    if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// The text of a comment group with markers removed, exactly as go/ast's
/// `CommentGroup.Text`: `//` and one following space stripped, `/*` `*/` stripped, directive
/// lines (`//go:noinline`, `//export F`, `//line ...`) dropped, trailing white space cut,
/// leading blank lines removed and runs of blank lines folded into one.
///
/// `None` when nothing is left (no comment, or only directives), so that "no doc" has one
/// spelling.
pub(crate) fn comment_text<'s>(comments: impl IntoIterator<Item = &'s str>) -> Option<String> {
    let mut lines: Vec<&str> = Vec::new();
    for comment in comments {
        let body = if let Some(rest) = comment.strip_prefix("//") {
            if let Some(rest) = rest.strip_prefix(' ') {
                rest
            } else if is_directive(rest) {
                continue;
            } else {
                rest
            }
        } else if let Some(rest) = comment.strip_prefix("/*") {
            rest.strip_suffix("*/").unwrap_or(rest)
        } else {
            comment
        };
        lines.extend(
            body.split('\n')
                .map(|line| line.trim_end_matches([' ', '\t', '\n', '\r'])),
        );
    }

    let mut kept: Vec<&str> = Vec::with_capacity(lines.len());
    for line in lines {
        if !line.is_empty() || kept.last().is_some_and(|last| !last.is_empty()) {
            kept.push(line);
        }
    }
    while kept.last() == Some(&"") {
        kept.pop();
    }
    (!kept.is_empty()).then(|| kept.join("\n"))
}

/// go/ast's `isDirective`, given a `//` comment without its `//`: `line `, `extern `,
/// `export `, or `[a-z0-9]+:[a-z0-9]` (`go:build`, `nolint:errcheck`).
fn is_directive(comment: &str) -> bool {
    if ["line ", "extern ", "export "]
        .iter()
        .any(|prefix| comment.starts_with(prefix))
    {
        return true;
    }
    let bytes = comment.as_bytes();
    let Some(colon) = comment.find(':') else {
        return false;
    };
    if colon == 0 || colon + 1 >= bytes.len() {
        return false;
    }
    let is_lower_alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    bytes[..colon].iter().all(is_lower_alnum) && is_lower_alnum(&bytes[colon + 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_comments_lose_their_markers_and_one_space() {
        assert_eq!(
            comment_text(["// Parse reads.", "//   indented", "//tight"]).as_deref(),
            Some("Parse reads.\n  indented\ntight")
        );
    }

    #[test]
    fn block_comments_keep_their_inner_layout() {
        assert_eq!(
            comment_text(["/*\n Parse reads.\n\n\n More.  \n*/"]).as_deref(),
            Some(" Parse reads.\n\n More.")
        );
    }

    #[test]
    fn directives_are_not_documentation() {
        assert_eq!(
            comment_text(["// F is exported to C.", "//export F", "//go:noinline"]).as_deref(),
            Some("F is exported to C.")
        );
        assert_eq!(comment_text(["//go:build linux"]), None);
        assert_eq!(comment_text(["//line a.go:1"]), None);
    }

    #[test]
    fn directive_detection_follows_go_ast() {
        assert!(is_directive("go:generate stringer"));
        assert!(is_directive("nolint:errcheck"));
        assert!(!is_directive("Go:build"));
        assert!(!is_directive("TODO: later"));
        assert!(!is_directive(":x"));
        assert!(!is_directive("go:"));
        assert!(!is_directive("go: x"));
    }

    #[test]
    fn a_directive_after_a_space_is_text() {
        assert_eq!(
            comment_text(["// go:generate is run first"]).as_deref(),
            Some("go:generate is run first")
        );
    }

    #[test]
    fn empty_comment_lines_inside_a_group_make_one_paragraph_break() {
        assert_eq!(
            comment_text(["//", "// A.", "//", "//", "// B.", "//"]).as_deref(),
            Some("A.\n\nB.")
        );
    }

    #[test]
    fn a_group_of_only_empty_lines_is_no_doc() {
        assert_eq!(comment_text(["//", "/* */"]), None);
        assert_eq!(comment_text(std::iter::empty()), None);
    }

    #[test]
    fn carriage_returns_are_trimmed_with_other_trailing_space() {
        assert_eq!(
            comment_text(["// A.\r", "/* B.\r\n C.\r\n*/"]).as_deref(),
            Some("A.\n B.\n C.")
        );
    }
}
