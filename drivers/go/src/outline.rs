//! A Go file's top level without its function bodies, for the readers that need only
//! declarations and comments: the tests of a test file, the types and names of a package.
//!
//! Bodies are most of a file and tell these readers nothing, so the file is parsed the way
//! `analyze` parses it — the [skeleton](crate::skeleton)'s bodies skipped — and whole only
//! when that is not sound (something unclosed, or an error outside the bodies).

use tree_sitter::{Node, Tree};

/// The syntax trees that together hold every top-level declaration and comment of `text`,
/// bodies left out where possible. Node positions are those of `text`.
pub(crate) fn top_level_trees(text: &str) -> Vec<Tree> {
    let skeleton = crate::skeleton::scan(text);
    if skeleton.is_balanced {
        let trees: Option<Vec<Tree>> = skeleton
            .quick_parse_segments()
            .iter()
            .map(|segment| {
                crate::parse::parse_ranges(text, segment)
                    .filter(|tree| !tree.root_node().has_error())
            })
            .collect();
        if let Some(trees) = trees {
            return trees;
        }
    }
    testsmith_driver::syntax::parse(&crate::GO, text)
        .into_iter()
        .collect()
}

/// The top-level nodes of `trees`, in order.
pub(crate) fn top_level_nodes<'t>(trees: &'t [Tree]) -> Vec<Node<'t>> {
    let mut nodes = Vec::new();
    for tree in trees {
        let root = tree.root_node();
        let mut cursor = root.walk();
        nodes.extend(root.named_children(&mut cursor));
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<String> {
        let trees = top_level_trees(text);
        top_level_nodes(&trees)
            .iter()
            .map(|node| format!("{} {}", node.kind(), &text[node.byte_range()].len()))
            .collect()
    }

    #[test]
    fn bodies_are_skipped_but_declarations_keep_their_whole_extent() {
        let text =
            "package p\n\n// F.\nfunc F() {\n\tx := []int{1}\n\t_ = x\n}\n\nvar v = T{A: 1}\n";
        assert_eq!(
            kinds(text),
            [
                "package_clause 9",
                "comment 5",
                "function_declaration 34",
                "var_declaration 15"
            ]
        );
    }

    #[test]
    fn an_unbalanced_file_is_parsed_whole() {
        let text = "package p\n\nfunc F() {\n\tif x {\n}\n";
        let trees = top_level_trees(text);
        assert_eq!(trees.len(), 1);
    }
}
