//! The structured shape of a Go function or method — receiver, type parameters, parameters,
//! results — read from its declaration for test generators, which build call sites and zero
//! values from it.
//!
//! Every type is kept as written (comments dropped, whitespace collapsed), so a generator can
//! paste it into Go code unchanged.

use crate::fields;
use crate::source::{code_text, non_comment_named_children};
use testsmith_driver::{Param, Signature};
use tree_sitter::Node;

/// The qualifier marking a function whose last parameter is `...T`.
pub const VARIADIC: &str = "variadic";

/// The signature of a `function_declaration` or `method_declaration`.
///
/// - `params` has one entry per name (`a, b int` is two entries of type `int`); an unnamed
///   parameter has the name `""`; a variadic parameter keeps its `...` (`...string`).
/// - `results` has one entry per result, named or not: `(n int, err error)` → `int`, `error`.
/// - `type_params` has one entry per type parameter, with its constraint:
///   `[K, V comparable]` → `K comparable`, `V comparable`. Go methods cannot declare type
///   parameters, but a method of a generic type names them in its receiver (`Set[T]`): those
///   names are listed, without constraints (`T`), so a generator knows to instantiate the
///   receiver.
pub(crate) fn signature(decl: Node<'_>, source: &str) -> Signature {
    let receiver = fields::RECEIVER
        .of(decl)
        .and_then(|list| receiver(list, source));
    let type_params = match fields::TYPE_PARAMETERS.of(decl) {
        Some(list) => type_params(list, source),
        None => fields::RECEIVER
            .of(decl)
            .and_then(|list| receiver_type(list))
            .map(|ty| receiver_type_params(ty, source))
            .unwrap_or_default(),
    };
    let params_node = fields::PARAMETERS.of(decl);
    let params = params_node
        .map(|list| parameters(list, source))
        .unwrap_or_default();
    let is_variadic = params_node.is_some_and(|list| {
        non_comment_named_children(list)
            .last()
            .is_some_and(|last| last.kind() == "variadic_parameter_declaration")
    });
    let results = match fields::RESULT.of(decl) {
        Some(list) if list.kind() == "parameter_list" => parameters(list, source)
            .into_iter()
            .map(|param| param.ty)
            .collect(),
        Some(single) => vec![code_text(single, source)],
        None => Vec::new(),
    };
    Signature {
        receiver,
        type_params,
        params,
        results,
        qualifiers: if is_variadic {
            vec![VARIADIC.to_owned()]
        } else {
            Vec::new()
        },
    }
}

/// The one receiver of a method: `(s *Set[T])` → `s`, `*Set[T]`; `(*T)` → `""`, `*T`.
/// `None` when the receiver list does not hold exactly one receiver (a syntax error).
pub(crate) fn receiver(list: Node<'_>, source: &str) -> Option<Param> {
    let declaration = single_receiver(list)?;
    let ty = fields::TYPE.of(declaration)?;
    let name = fields::NAME
        .of(declaration)
        .map(|name| code_text(name, source))
        .unwrap_or_default();
    Some(Param {
        name,
        ty: code_text(ty, source),
    })
}

/// The type node of a method's one receiver.
pub(crate) fn receiver_type(list: Node<'_>) -> Option<Node<'_>> {
    fields::TYPE.of(single_receiver(list)?)
}

fn single_receiver(list: Node<'_>) -> Option<Node<'_>> {
    let mut declarations = non_comment_named_children(list);
    let declaration = declarations.next()?;
    if declarations.next().is_some() || declaration.kind() != "parameter_declaration" {
        return None;
    }
    let mut cursor = declaration.walk();
    let names = fields::NAME.all_of(declaration, &mut cursor).count();
    (names <= 1).then_some(declaration)
}

/// One entry per name of a `parameter_list`, in order.
///
/// Go allows no mix of named and unnamed parameters, but the grammar does, and tree-sitter
/// settles a long ambiguous list the wrong way: `(num, a1, ..., a9 uintptr)` comes back as an
/// unnamed `num` followed by nine names. So when any declaration in the list is named, a
/// bare identifier standing alone is a name sharing the next declaration's type, as
/// go/parser reads it.
fn parameters(list: Node<'_>, source: &str) -> Vec<Param> {
    struct Declaration {
        names: Vec<String>,
        ty: String,
        is_bare_identifier: bool,
    }
    let declarations: Vec<Declaration> = non_comment_named_children(list)
        .filter_map(|declaration| {
            let ty = fields::TYPE.of(declaration)?;
            let mut cursor = declaration.walk();
            let names = fields::NAME
                .all_of(declaration, &mut cursor)
                .map(|name| code_text(name, source))
                .collect();
            let is_variadic = declaration.kind() == "variadic_parameter_declaration";
            Some(Declaration {
                names,
                ty: if is_variadic {
                    format!("...{}", code_text(ty, source))
                } else {
                    code_text(ty, source)
                },
                is_bare_identifier: !is_variadic && ty.kind() == "type_identifier",
            })
        })
        .collect();

    let is_named_list = declarations
        .iter()
        .any(|declaration| !declaration.names.is_empty());
    let mut params = Vec::new();
    let mut pending_names: Vec<String> = Vec::new();
    for declaration in declarations {
        if is_named_list && declaration.names.is_empty() && declaration.is_bare_identifier {
            pending_names.push(declaration.ty);
            continue;
        }
        let names = std::mem::take(&mut pending_names)
            .into_iter()
            .chain(declaration.names);
        let before = params.len();
        params.extend(names.map(|name| Param {
            name,
            ty: declaration.ty.clone(),
        }));
        if params.len() == before {
            params.push(Param {
                name: String::new(),
                ty: declaration.ty,
            });
        }
    }
    // Bare identifiers after the last type: not valid Go; keep them as the types they parse as.
    params.extend(pending_names.into_iter().map(|ty| Param {
        name: String::new(),
        ty,
    }));
    params
}

/// `[K, V comparable, X any]` → `K comparable`, `V comparable`, `X any`.
fn type_params(list: Node<'_>, source: &str) -> Vec<String> {
    let mut params = Vec::new();
    for declaration in non_comment_named_children(list) {
        let constraint = fields::TYPE
            .of(declaration)
            .map(|ty| code_text(ty, source))
            .unwrap_or_default();
        let mut cursor = declaration.walk();
        for name in fields::NAME.all_of(declaration, &mut cursor) {
            params.push(format!("{} {constraint}", code_text(name, source)));
        }
    }
    params
}

/// The type parameter names a receiver type declares: `*Set[T]` → `T`; `Map[K, _]` → `K`, `_`.
fn receiver_type_params(ty: Node<'_>, source: &str) -> Vec<String> {
    match ty.kind() {
        "parenthesized_type" | "pointer_type" => non_comment_named_children(ty)
            .next()
            .map(|inner| receiver_type_params(inner, source))
            .unwrap_or_default(),
        "generic_type" => fields::TYPE_ARGUMENTS
            .of(ty)
            .map(|arguments| {
                non_comment_named_children(arguments)
                    .map(|argument| code_text(argument, source))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::syntax;

    /// The signature of the first function or method declared in `source`.
    fn signature_of(source: &str) -> Signature {
        let tree = syntax::parse(&crate::GO, source).expect("the Go grammar loads");
        let root = tree.root_node();
        let mut cursor = root.walk();
        let decl = root
            .children(&mut cursor)
            .find(|node| node.kind().ends_with("_declaration") && node.kind() != "type_declaration")
            .expect("a function declaration");
        signature(decl, source)
    }

    fn param(name: &str, ty: &str) -> Param {
        Param {
            name: name.to_owned(),
            ty: ty.to_owned(),
        }
    }

    #[test]
    fn grouped_parameter_names_become_one_entry_each() {
        let sig = signature_of("package p\nfunc F(a, b int, s string) {}");
        assert_eq!(
            sig.params,
            [param("a", "int"), param("b", "int"), param("s", "string")]
        );
        assert!(sig.results.is_empty());
        assert!(sig.qualifiers.is_empty());
    }

    #[test]
    fn unnamed_parameters_get_empty_names() {
        let sig = signature_of("package p\nfunc F(int, func(x int) error, chan<- int) {}");
        assert_eq!(
            sig.params,
            [
                param("", "int"),
                param("", "func(x int) error"),
                param("", "chan<- int")
            ]
        );
    }

    #[test]
    fn a_trailing_ellipsis_makes_the_function_variadic() {
        let sig = signature_of("package p\nfunc F(format string, args ...any) {}");
        assert_eq!(
            sig.params,
            [param("format", "string"), param("args", "...any")]
        );
        assert!(sig.has_qualifier(VARIADIC));
    }

    #[test]
    fn long_name_lists_keep_every_name_though_tree_sitter_splits_them() {
        let sig = signature_of(
            "package p\nfunc F(num, a1, a2, a3, a4, a5, a6, a7, a8, a9 uintptr, s string) (r1, r2, r3, r4, r5, r6, r7, r8, r9, r10 int)",
        );
        let names: Vec<&str> = sig.params.iter().map(|param| param.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "num", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "s"
            ]
        );
        assert!(sig.params[..10].iter().all(|param| param.ty == "uintptr"));
        assert_eq!(sig.results, vec!["int"; 10]);
    }

    #[test]
    fn unnamed_parameter_lists_stay_unnamed() {
        let sig = signature_of("package p\nfunc F(a, b, c, d, e, f, g, h, i, j, k) {}");
        assert_eq!(sig.params.len(), 11);
        assert!(sig.params.iter().all(|param| param.name.is_empty()));
    }

    #[test]
    fn named_results_are_listed_by_type_one_per_name() {
        let sig = signature_of("package p\nfunc F() (n, m int, err error) { return }");
        assert_eq!(sig.results, ["int", "int", "error"]);
    }

    #[test]
    fn a_single_result_needs_no_parentheses() {
        let sig = signature_of("package p\nfunc F() map[string][]int { return nil }");
        assert_eq!(sig.results, ["map[string][]int"]);
    }

    #[test]
    fn type_parameters_keep_their_constraint_per_name() {
        let sig = signature_of(
            "package p\nfunc F[K, V comparable, N interface{ ~int | ~int64 }](k K) {}",
        );
        assert_eq!(
            sig.type_params,
            [
                "K comparable",
                "V comparable",
                "N interface{ ~int | ~int64 }"
            ]
        );
    }

    #[test]
    fn receivers_keep_name_and_type_as_written() {
        let sig = signature_of("package p\nfunc (s *Set[T]) Add(v T) {}");
        assert_eq!(sig.receiver, Some(param("s", "*Set[T]")));
        assert_eq!(sig.type_params, ["T"]);
        assert_eq!(sig.params, [param("v", "T")]);
    }

    #[test]
    fn unnamed_and_parenthesised_receivers_are_kept() {
        assert_eq!(
            signature_of("package p\nfunc (*T) M() {}").receiver,
            Some(param("", "*T"))
        );
        assert_eq!(
            signature_of("package p\nfunc (t (*T)) M() {}").receiver,
            Some(param("t", "(*T)"))
        );
    }

    #[test]
    fn comments_and_line_breaks_inside_a_parameter_list_are_dropped() {
        let sig = signature_of(
            "package p\nfunc F(\n\ta int, // the a\n\tb map[string]/* key */int,\n) {}",
        );
        assert_eq!(
            sig.params,
            [param("a", "int"), param("b", "map[string]int")]
        );
    }
}
