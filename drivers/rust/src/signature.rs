//! The written shape of an item: its one-line signature, the structured signature of a
//! function (what a generator needs to build a call), and the owner named by an `impl`.

use testsmith_driver::syntax::{self, collapse_whitespace};
use testsmith_driver::{Param, Signature};
use tree_sitter::Node;

/// The declaration up to its body, whitespace collapsed: `pub fn f<T>(x: T) -> u8 where T:
/// Copy`, `pub struct Pair<A, B>`, `pub struct Meters(pub f64)`, `pub type Id = u64`.
///
/// A tuple struct's fields and an alias's target are part of the signature (they are what a
/// caller uses); a braced body of fields, variants or items is not. The closing `;` never is.
pub(crate) fn declaration_text(item: Node<'_>, source: &str) -> String {
    let body = match item.kind() {
        "struct_item" => item
            .child_by_field_name("body")
            .filter(|body| body.kind() == "field_declaration_list"),
        "type_item" => None,
        _ => item.child_by_field_name("body"),
    };
    let end = body.map_or(item.end_byte(), |body| body.start_byte());
    let text = source[item.start_byte()..end].trim_end();
    collapse_whitespace(text.strip_suffix(';').unwrap_or(text))
}

/// The structured signature of a `function_item`.
pub(crate) fn callable(function: Node<'_>, source: &str) -> Signature {
    let mut signature = Signature::default();
    let mut cursor = function.walk();
    for child in function.named_children(&mut cursor) {
        match child.kind() {
            "function_modifiers" => signature.qualifiers = qualifiers(child, source),
            "type_parameters" => signature.type_params = type_params(child, source),
            "parameters" => {
                let (receiver, params) = parameters(child, source);
                signature.receiver = receiver;
                signature.params = params;
            }
            _ => {}
        }
    }
    if let Some(result) = function.child_by_field_name("return_type") {
        signature.results.push(written(result, source));
    }
    signature
}

/// `const`, `async`, `unsafe` and `extern "ABI"` as written, in order. `default`
/// (specialisation) is left out: it does not change how the function is called.
fn qualifiers(modifiers: Node<'_>, source: &str) -> Vec<String> {
    let mut cursor = modifiers.walk();
    modifiers
        .children(&mut cursor)
        .map(|modifier| written(modifier, source))
        .filter(|modifier| modifier != "default")
        .collect()
}

/// Each type parameter as written, lifetimes and const parameters included (`'a`, `T:
/// Clone`, `const N: usize`); attributes on them are left out.
fn type_params(list: Node<'_>, source: &str) -> Vec<String> {
    let mut cursor = list.walk();
    list.named_children(&mut cursor)
        .filter(|param| param.kind() != "attribute_item")
        .map(|param| written(param, source))
        .collect()
}

/// The receiver (`&self`, `mut self`, `self: Box<Self>`; name `self`, the whole receiver as
/// written for its type) and the other parameters (pattern as name, without a `mut` binding
/// mode, which is no business of the caller's; type as written).
fn parameters(list: Node<'_>, source: &str) -> (Option<Param>, Vec<Param>) {
    let mut receiver = None;
    let mut params = Vec::new();
    let mut cursor = list.walk();
    for param in list.named_children(&mut cursor) {
        match param.kind() {
            // `ERROR` is a syntax error the parser stepped over (`a: u8,, b: u8`): no parameter.
            "attribute_item" | "line_comment" | "block_comment" | "ERROR" => {}
            "self_parameter" => receiver = Some(self_param(param, source)),
            "parameter" => {
                let pattern = param.child_by_field_name("pattern");
                if pattern.is_some_and(|pattern| pattern.kind() == "self") {
                    receiver = Some(self_param(param, source));
                    continue;
                }
                params.push(Param {
                    name: pattern.map_or_else(String::new, |p| written(p, source)),
                    ty: param
                        .child_by_field_name("type")
                        .map_or_else(String::new, |ty| written(ty, source)),
                });
            }
            // C variadics (`...` in an `extern "C" fn` with a body).
            "variadic_parameter" => params.push(Param {
                name: param
                    .child_by_field_name("pattern")
                    .map_or_else(String::new, |p| written(p, source)),
                ty: "...".to_owned(),
            }),
            // An anonymous parameter of the 2015 edition: a bare type.
            _ => params.push(Param {
                name: String::new(),
                ty: written(param, source),
            }),
        }
    }
    (receiver, params)
}

fn self_param(param: Node<'_>, source: &str) -> Param {
    Param {
        name: "self".to_owned(),
        ty: written(param, source),
    }
}

/// The owner of the methods of an inherent `impl`: the last path segment of its self type,
/// without generic arguments, references or pointers (`impl<T> a::Foo<T>` → `Foo`, `impl dyn
/// Trait + Send` → `Trait`). A type that names no path (`impl [T]`, a tuple) is its written
/// text.
pub(crate) fn impl_owner(self_type: Node<'_>, source: &str) -> String {
    let inner = match self_type.kind() {
        "generic_type" | "reference_type" | "pointer_type" => self_type.child_by_field_name("type"),
        "scoped_type_identifier" | "scoped_identifier" => self_type.child_by_field_name("name"),
        "dynamic_type" => self_type.child_by_field_name("trait"),
        "higher_ranked_trait_bound" => self_type.child_by_field_name("type"),
        "bounded_type" | "parenthesized_type" => self_type.named_child(0),
        _ => None,
    };
    match inner {
        Some(inner) => impl_owner(inner, source),
        None => written(self_type, source),
    }
}

fn written(node: Node<'_>, source: &str) -> String {
    collapse_whitespace(syntax::text(node, source))
}
