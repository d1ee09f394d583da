//! Source text as signatures show it: comments dropped, whitespace collapsed.

use testsmith_driver::syntax;
use tree_sitter::Node;

/// The text of `node` without comments, whitespace collapsed.
pub(crate) fn code_text(node: Node<'_>, source: &str) -> String {
    code_text_between(node, node.start_byte(), node.end_byte(), source)
}

/// The text of `source[start..end]`, a span inside `node`, without the comments of `node`
/// that fall in it, whitespace collapsed. `func F(a int, // why\n b int)` becomes
/// `func F(a int, b int)`: a comment left in a one-line signature would swallow what follows.
pub(crate) fn code_text_between(node: Node<'_>, start: usize, end: usize, source: &str) -> String {
    let text = &source[start..end];
    // Most signatures hold no comment; skip the tree walk for them.
    if !text.contains("//") && !text.contains("/*") {
        return syntax::collapse_whitespace(text);
    }
    let mut comments = Vec::new();
    collect_comments(node, start, end, &mut comments);
    let mut kept = String::with_capacity(text.len());
    let mut at = start;
    for comment in comments {
        // Space before a comment went with it: `(ok bool /* c */)` is `(ok bool)`.
        kept.push_str(source[at..comment.start].trim_end());
        // A comment between two words separates them: `x/* c */int` is `x int`.
        let next = source[comment.end..end].chars().next();
        if kept.chars().last().is_some_and(is_word_char) && next.is_some_and(is_word_char) {
            kept.push(' ');
        }
        at = comment.end;
    }
    kept.push_str(&source[at..end]);
    syntax::collapse_whitespace(&kept)
}

fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Byte ranges of the comments inside `node` that lie within `start..end`, in order.
fn collect_comments(
    node: Node<'_>,
    start: usize,
    end: usize,
    out: &mut Vec<std::ops::Range<usize>>,
) {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.end_byte() <= start || child.start_byte() >= end {
            continue;
        }
        if child.kind() == "comment" {
            out.push(child.start_byte().max(start)..child.end_byte().min(end));
        } else if child.child_count() > 0 {
            collect_comments(child, start, end, out);
        }
    }
}

/// The named children of `node` that are not comments (comments are "extras" in tree-sitter
/// and may appear between any two children).
pub(crate) fn non_comment_named_children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    let mut cursor = node.walk();
    let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
    children
        .into_iter()
        .filter(|child| child.kind() != "comment")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_declaration_text(source: &str) -> String {
        let tree = syntax::parse(&crate::GO, source).expect("the Go grammar loads");
        let root = tree.root_node();
        let decl = root
            .named_child(1)
            .expect("a declaration after the package clause");
        code_text(decl, source)
    }

    #[test]
    fn comments_are_dropped_and_lines_joined() {
        assert_eq!(
            first_declaration_text("package p\nfunc F(\n\ta int, // the a\n\tb int,\n) {}"),
            "func F( a int, b int, ) {}"
        );
    }

    #[test]
    fn a_comment_between_two_words_leaves_a_space() {
        assert_eq!(
            first_declaration_text("package p\nfunc F(x/* c */int, m map[string]/* v */int) {}"),
            "func F(x int, m map[string]int) {}"
        );
    }

    #[test]
    fn space_before_a_comment_goes_with_it() {
        assert_eq!(
            first_declaration_text("package p\nfunc F() (ok bool /* c */, err error) {}"),
            "func F() (ok bool, err error) {}"
        );
    }

    #[test]
    fn comment_markers_inside_strings_are_not_comments() {
        assert_eq!(
            first_declaration_text(
                "package p\ntype T struct {\n\tURL string `json:\"http://x\"`\n}"
            ),
            "type T struct { URL string `json:\"http://x\"` }"
        );
    }
}
