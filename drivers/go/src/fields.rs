//! Field names of the Go grammar, resolved to ids once.
//!
//! `Node::child_by_field_name` looks the name up among all of the grammar's field names on
//! every call; over a large tree that string search was a twentieth of the analysis.

use std::num::NonZeroU16;
use std::sync::LazyLock;
use tree_sitter::{Node, TreeCursor};

/// One field of the Go grammar.
pub(crate) struct Field {
    id: LazyLock<NonZeroU16>,
}

impl Field {
    const fn named(resolve: fn() -> NonZeroU16) -> Self {
        Field {
            id: LazyLock::new(resolve),
        }
    }

    /// The child of `node` in this field.
    pub(crate) fn of<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        node.child_by_field_id(self.id.get())
    }

    /// Every child of `node` in this field (`a, b int` has two names).
    pub(crate) fn all_of<'t, 'c>(
        &self,
        node: Node<'t>,
        cursor: &'c mut TreeCursor<'t>,
    ) -> impl Iterator<Item = Node<'t>> + 'c {
        node.children_by_field_id(*self.id, cursor)
    }
}

fn id(name: &str) -> NonZeroU16 {
    crate::GO
        .field_id_for_name(name)
        .unwrap_or_else(|| panic!("the Go grammar has no field `{name}`"))
}

pub(crate) static BODY: Field = Field::named(|| id("body"));
pub(crate) static NAME: Field = Field::named(|| id("name"));
pub(crate) static PARAMETERS: Field = Field::named(|| id("parameters"));
pub(crate) static RECEIVER: Field = Field::named(|| id("receiver"));
pub(crate) static RESULT: Field = Field::named(|| id("result"));
pub(crate) static TYPE: Field = Field::named(|| id("type"));
pub(crate) static TYPE_ARGUMENTS: Field = Field::named(|| id("type_arguments"));
pub(crate) static TYPE_PARAMETERS: Field = Field::named(|| id("type_parameters"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_this_driver_reads_exists_in_the_grammar() {
        for field in [
            &BODY,
            &NAME,
            &PARAMETERS,
            &RECEIVER,
            &RESULT,
            &TYPE,
            &TYPE_ARGUMENTS,
            &TYPE_PARAMETERS,
        ] {
            assert!(field.id.get() > 0);
        }
    }

    #[test]
    fn a_field_finds_the_same_child_as_its_name() {
        let source = "package p\nfunc F(a, b int) {}";
        let tree = testsmith_driver::syntax::parse(&crate::GO, source).expect("the grammar loads");
        let decl = tree.root_node().named_child(1).expect("a declaration");
        assert_eq!(NAME.of(decl), decl.child_by_field_name("name"));
        let params = PARAMETERS
            .of(decl)
            .and_then(|list| list.named_child(0))
            .expect("a parameter");
        let mut cursor = params.walk();
        assert_eq!(NAME.all_of(params, &mut cursor).count(), 2);
    }
}
