//! The walk over a file's items that decides which are public members.
//!
//! A recursive walk rather than tree-sitter queries: whether an item counts depends on its
//! context (inside an inherent or a trait `impl`, below a `#[cfg(test)]` module, inside an
//! inline `mod`), which a walk carries along naturally and a query cannot express.
//!
//! What is deliberately never entered:
//! - function bodies: items declared there are not reachable by path;
//! - trait `impl`s: their functions implement the trait's API, they add none of their own;
//! - trait definitions: their functions are the trait's, reported through the trait;
//! - macro invocations and `macro_rules!` definitions: tree-sitter sees only token trees
//!   there, and what they expand to is not written in the file;
//! - `extern { .. }` blocks: foreign functions have no body here, are not this crate's code,
//!   and a test would test the linked library, not the crate;
//! - anything under `#[cfg(test)]` (see [`attributes::is_test_only`]).
//!
//! `ERROR` nodes from syntax errors are walked like the container they sit in, so that items
//! tree-sitter recovered around a broken spot are still found.

use crate::attributes;
use crate::signature;
use testsmith_driver::syntax;
use testsmith_driver::{Member, MemberKind};
use tree_sitter::Node;

/// The public members of the file whose syntax tree is `root`, in source order.
pub(crate) fn public_members(root: Node<'_>, source: &str, file_module: &str) -> Vec<Member> {
    let mut extractor = Extractor {
        source,
        file_module,
        inline_modules: Vec::new(),
        cfgs: Vec::new(),
        members: Vec::new(),
    };
    extractor.walk_items(root);
    extractor.members
}

struct Extractor<'s> {
    source: &'s str,
    file_module: &'s str,
    /// The inline `mod` blocks around the current position, outermost first.
    inline_modules: Vec<String>,
    /// The `#[cfg(..)]` conditions of the `mod` blocks and `impl`s around the current
    /// position, outermost first (`cfg(feature = "serde")`).
    cfgs: Vec<String>,
    members: Vec<Member>,
}

/// What kind of member a type item is, for the item kinds that are reported as types.
fn type_kind(item_kind: &str) -> Option<MemberKind> {
    match item_kind {
        "struct_item" => Some(MemberKind::Struct),
        "enum_item" => Some(MemberKind::Enum),
        "trait_item" => Some(MemberKind::Trait),
        "type_item" | "union_item" => Some(MemberKind::Type),
        _ => None,
    }
}

impl<'s> Extractor<'s> {
    /// Walks the items of a file, an inline module's body or an `ERROR` node among them.
    fn walk_items(&mut self, container: Node<'_>) {
        if attributes::has_test_only_inner_attribute(container, self.source) {
            return;
        }
        // Outer attributes and comments are siblings before their item: gather them until
        // the item comes.
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
            if attributes::is_test_only(&leading, self.source) {
                continue;
            }
            match child.kind() {
                "function_item" if self.is_plain_pub(child) => {
                    self.push(MemberKind::Function, child, None, &leading);
                }
                "impl_item" if child.child_by_field_name("trait").is_none() => {
                    let depth = self.enter_cfgs(&leading);
                    self.walk_inherent_impl(child);
                    self.cfgs.truncate(depth);
                }
                "mod_item" => {
                    let (Some(name), Some(body)) = (
                        child.child_by_field_name("name"),
                        child.child_by_field_name("body"),
                    ) else {
                        continue;
                    };
                    self.inline_modules
                        .push(syntax::text(name, self.source).to_owned());
                    let depth = self.enter_cfgs(&leading);
                    self.walk_items(body);
                    self.cfgs.truncate(depth);
                    self.inline_modules.pop();
                }
                "ERROR" => self.walk_items(child),
                kind => {
                    if let Some(kind) = type_kind(kind).filter(|_| self.is_plain_pub(child)) {
                        self.push(kind, child, None, &leading);
                    }
                }
            }
        }
    }

    /// Walks an `impl` without a trait: the plain `pub fn`s of its body are methods.
    fn walk_inherent_impl(&mut self, impl_item: Node<'_>) {
        let (Some(self_type), Some(body)) = (
            impl_item.child_by_field_name("type"),
            impl_item.child_by_field_name("body"),
        ) else {
            return;
        };
        let owner = signature::impl_owner(self_type, self.source);
        self.walk_impl_body(body, &owner);
    }

    /// Walks an inherent `impl`'s body, or an `ERROR` node in it.
    fn walk_impl_body(&mut self, body: Node<'_>, owner: &str) {
        let mut leading: Vec<Node<'_>> = Vec::new();
        let mut cursor = body.walk();
        for child in body.named_children(&mut cursor) {
            if matches!(
                child.kind(),
                "attribute_item" | "line_comment" | "block_comment"
            ) {
                leading.push(child);
                continue;
            }
            let leading = std::mem::take(&mut leading);
            if attributes::is_test_only(&leading, self.source) {
                continue;
            }
            match child.kind() {
                "function_item" if self.is_plain_pub(child) => {
                    self.push(MemberKind::Method, child, Some(owner.to_owned()), &leading);
                }
                "ERROR" => self.walk_impl_body(child, owner),
                _ => {}
            }
        }
    }

    /// Pushes the `#[cfg(..)]` conditions among `leading`; returns the depth to truncate
    /// back to.
    fn enter_cfgs(&mut self, leading: &[Node<'_>]) -> usize {
        let depth = self.cfgs.len();
        self.cfgs
            .extend(attributes::cfg_conditions(leading, self.source));
        depth
    }

    /// Whether `item` is visible outside its crate as written: plain `pub`, not `pub(crate)`,
    /// `pub(super)`, `pub(self)` or `pub(in path)`.
    fn is_plain_pub(&self, item: Node<'_>) -> bool {
        let mut cursor = item.walk();
        item.named_children(&mut cursor)
            .find(|child| child.kind() == "visibility_modifier")
            .is_some_and(|visibility| syntax::text(visibility, self.source) == "pub")
    }

    fn push(
        &mut self,
        kind: MemberKind,
        item: Node<'_>,
        owner: Option<String>,
        leading: &[Node<'_>],
    ) {
        // A `$name` is a macro metavariable: the item sits in a macro body tree-sitter read as
        // items (an unstable `macro` 2.0 definition), and its real name is not in this file.
        let Some(name) = item
            .child_by_field_name("name")
            .filter(|name| name.kind() != "metavariable")
        else {
            return;
        };
        let (start_line, end_line) = syntax::line_span(item);
        let module = (!self.inline_modules.is_empty())
            .then(|| format!("{}::{}", self.file_module, self.inline_modules.join("::")));
        self.members.push(Member {
            kind,
            name: syntax::text(name, self.source).to_owned(),
            owner,
            signature: signature::declaration_text(item, self.source),
            start_line,
            end_line,
            doc: attributes::doc_comment(leading, self.source),
            module,
            byte_range: item.byte_range(),
            callable: kind.is_callable().then(|| {
                let mut callable = signature::callable(item, self.source);
                // The member exists only where its conditions hold; so must its test.
                callable.qualifiers.extend(
                    self.cfgs
                        .iter()
                        .cloned()
                        .chain(attributes::cfg_conditions(leading, self.source)),
                );
                callable
            }),
        });
    }
}
