//! Which top-level Go declarations are public members, walked straight off the syntax tree.
//!
//! A plain walk over the file's top-level declarations is used rather than queries: the
//! member rules (exported name, exported receiver base type, a grouped `type ( ... )`
//! sharing its doc) and doc attachment (comments are sibling nodes) need the declarations'
//! neighbours, which a walk has at hand.

use crate::callable;
use crate::doc;
use crate::fields;
use crate::names::{is_exported, receiver_base_type};
use crate::source::code_text_between;
use testsmith_driver::{Member, MemberKind, syntax};
use tree_sitter::Node;

/// What one Go file declares.
#[derive(Debug, Default)]
pub(crate) struct Declarations {
    /// The name in the package clause.
    pub package: Option<String>,
    /// Public members in source order.
    pub members: Vec<Member>,
}

/// Adds the package name and members found under `parent` (a file or a piece of one).
pub(crate) fn collect(parent: Node<'_>, source: &str, found: &mut Declarations) {
    let mut cursor = parent.walk();
    let children: Vec<Node<'_>> = parent.children(&mut cursor).collect();
    for (index, &node) in children.iter().enumerate() {
        let before = &children[..index];
        match node.kind() {
            "package_clause" if found.package.is_none() => {
                let mut cursor = node.walk();
                found.package = node
                    .named_children(&mut cursor)
                    .find(|child| child.kind() == "package_identifier")
                    .map(|name| syntax::text(name, source).to_owned());
            }
            "function_declaration" | "method_declaration" => {
                found.members.extend(callable_member(node, before, source));
            }
            "type_declaration" => type_members(node, before, source, &mut found.members),
            // tree-sitter wraps what it could not place in ERROR nodes; whole declarations
            // often survive inside them, and Go allows declarations nowhere but the top
            // level, so any found there are members.
            "ERROR" => collect(node, source, found),
            _ => {}
        }
    }
}

/// A function or method, if it is a member.
fn callable_member(decl: Node<'_>, before: &[Node<'_>], source: &str) -> Option<Member> {
    let name = syntax::text(fields::NAME.of(decl)?, source);
    if !is_exported(name) {
        return None;
    }
    let (kind, owner) = match decl.kind() {
        "method_declaration" => {
            let receiver = callable::receiver_type(fields::RECEIVER.of(decl)?)?;
            let owner = receiver_base_type(receiver, source)?;
            if !is_exported(owner) {
                return None;
            }
            (MemberKind::Method, Some(owner.to_owned()))
        }
        _ => (MemberKind::Function, None),
    };
    // The signature is the declaration up to its body; a body-less declaration (implemented
    // in assembly) is all signature.
    let head_end = fields::BODY
        .of(decl)
        .map_or(decl.end_byte(), |body| body.start_byte());
    let (start_line, end_line) = syntax::line_span(decl);
    Some(Member {
        kind,
        name: name.to_owned(),
        owner,
        signature: code_text_between(decl, decl.start_byte(), head_end, source),
        start_line,
        end_line,
        doc: doc_text(before, decl, source),
        module: None,
        byte_range: decl.byte_range(),
        callable: Some(callable::signature(decl, source)),
    })
}

/// The exported types of one `type` declaration, single (`type T int`) or grouped
/// (`type ( A int; B string )`).
fn type_members(decl: Node<'_>, before: &[Node<'_>], source: &str, members: &mut Vec<Member>) {
    let mut cursor = decl.walk();
    let children: Vec<Node<'_>> = decl.children(&mut cursor).collect();
    let is_grouped = children.iter().any(|child| child.kind() == "(");
    let group_doc = doc_text(before, decl, source);

    for (index, &spec) in children.iter().enumerate() {
        if !matches!(spec.kind(), "type_spec" | "type_alias") {
            continue;
        }
        let Some(name) = fields::NAME.of(spec) else {
            continue;
        };
        let name = syntax::text(name, source);
        if !is_exported(name) {
            continue;
        }
        let ty = fields::TYPE.of(spec);
        let kind = match ty.map(|ty| ty.kind()) {
            Some("struct_type") if spec.kind() == "type_spec" => MemberKind::Struct,
            Some("interface_type") if spec.kind() == "type_spec" => MemberKind::Interface,
            _ => MemberKind::Type,
        };
        // A struct or interface is shown up to its body, like a function; any other type
        // is its whole spec (`type ID = int`, `type Set[T comparable] map[T]struct{}`).
        let head_end = match kind {
            MemberKind::Struct | MemberKind::Interface => ty
                .and_then(type_body_start)
                .unwrap_or_else(|| spec.end_byte()),
            _ => spec.end_byte(),
        };
        // The declaration a member stands for: the spec in a group, else the whole
        // `type T ...` line with its keyword.
        let (node, doc, signature) = if is_grouped {
            // go/doc gives a spec without a doc comment of its own the group's doc.
            let doc = doc_text(&children[..index], spec, source).or_else(|| group_doc.clone());
            let spec_text = code_text_between(spec, spec.start_byte(), head_end, source);
            (spec, doc, format!("type {spec_text}"))
        } else {
            let signature = code_text_between(decl, decl.start_byte(), head_end, source);
            (decl, group_doc.clone(), signature)
        };
        let (start_line, end_line) = syntax::line_span(node);
        members.push(Member {
            kind,
            name: name.to_owned(),
            owner: None,
            signature,
            start_line,
            end_line,
            doc,
            module: None,
            byte_range: node.byte_range(),
            callable: None,
        });
    }
}

/// Where the `{ ... }` of a struct or interface type begins.
fn type_body_start(ty: Node<'_>) -> Option<usize> {
    let mut cursor = ty.walk();
    ty.children(&mut cursor)
        .find(|child| matches!(child.kind(), "field_declaration_list" | "{"))
        .map(|body| body.start_byte())
}

/// The doc comment of `decl`, given the siblings before it.
fn doc_text(before: &[Node<'_>], decl: Node<'_>, source: &str) -> Option<String> {
    let comments = doc::lead_comments(before, decl.start_position().row);
    doc::comment_text(
        comments
            .iter()
            .map(|comment| syntax::text(*comment, source)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(source: &str) -> Vec<Member> {
        let tree = syntax::parse(&crate::GO, source).expect("the Go grammar loads");
        let mut found = Declarations::default();
        collect(tree.root_node(), source, &mut found);
        found.members
    }

    fn docs(source: &str) -> Vec<(String, Option<String>)> {
        members(source)
            .into_iter()
            .map(|member| (member.name, member.doc))
            .collect()
    }

    fn doc(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn a_blank_line_between_comment_and_declaration_means_no_doc() {
        assert_eq!(
            docs("package p\n\n// Loose comment.\n\nfunc F() {}\n"),
            [("F".to_owned(), None)]
        );
    }

    #[test]
    fn only_the_last_comment_group_above_is_the_doc() {
        assert_eq!(
            docs("package p\n\n// Earlier.\n\n// F does.\n// More.\nfunc F() {}\n"),
            [("F".to_owned(), doc("F does.\nMore."))]
        );
    }

    #[test]
    fn a_trailing_comment_of_the_previous_declaration_is_not_a_doc() {
        assert_eq!(
            docs("package p\nvar x = 1 // about x\nfunc F() {}\n"),
            [("F".to_owned(), None)]
        );
        assert_eq!(
            docs("package p\nvar x = 1 // about x\n// F does.\nfunc F() {}\n"),
            [("F".to_owned(), doc("F does."))]
        );
    }

    #[test]
    fn a_comment_on_the_declaration_line_is_not_a_doc() {
        assert_eq!(
            docs("package p\n/* odd */ func F() {}\n"),
            [("F".to_owned(), None)]
        );
    }

    #[test]
    fn a_comment_after_the_opening_parenthesis_of_a_group_belongs_to_it() {
        assert_eq!(
            docs("package p\ntype ( // the group\n\tA int\n)\n"),
            [("A".to_owned(), None)]
        );
    }

    #[test]
    fn grouped_specs_fall_back_to_the_group_doc() {
        assert_eq!(
            docs("package p\n\n// Sizes.\ntype (\n\t// A is small.\n\tA int\n\tB int\n)\n"),
            [
                ("A".to_owned(), doc("A is small.")),
                ("B".to_owned(), doc("Sizes."))
            ]
        );
    }

    #[test]
    fn block_comments_chain_with_line_comments_into_one_group_keeping_their_blank_lines() {
        assert_eq!(
            docs("package p\n/*\nF does.\n*/\n// More.\nfunc F() {}\n"),
            [("F".to_owned(), doc("F does.\n\nMore."))]
        );
    }

    #[test]
    fn the_signature_stops_at_the_body_and_lines_exclude_the_doc() {
        let found =
            members("package p\n\n// F does.\nfunc F(\n\ta int,\n) error {\n\treturn nil\n}\n");
        let f = &found[0];
        assert_eq!(f.signature, "func F( a int, ) error");
        assert_eq!((f.start_line, f.end_line), (4, 8));
    }

    #[test]
    fn methods_of_unexported_types_are_not_members_even_when_exported() {
        let found = members(
            "package p\ntype t int\nfunc (t) String() string { return \"\" }\nfunc (x *T) String() string { return \"\" }\n",
        );
        let names: Vec<_> = found
            .iter()
            .map(|m| (m.owner.clone(), m.name.as_str()))
            .collect();
        assert_eq!(names, [(Some("T".to_owned()), "String")]);
    }
}
