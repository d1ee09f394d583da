//! Go types as a signature writes them: which packages they name, whether `!=` compares
//! them, whether they are functions, and the same type with its type parameters replaced.
//!
//! A type is read back by parsing it in a throwaway declaration, so `map[K][]V` and
//! `func(T) (U, error)` are taken apart by the grammar, not by string matching.

use std::collections::HashMap;
use tree_sitter::{Node, Tree};

/// The predeclared types `!=` compares by value: booleans, strings and numbers.
const COMPARABLE_BASIC: &[&str] = &[
    "bool",
    "string",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "uintptr",
    "byte",
    "rune",
    "float32",
    "float64",
    "complex64",
    "complex128",
];

/// Whether `ty` is a predeclared boolean, string or numeric type, which a scaffold compares
/// with `!=`; every other type is compared with `reflect.DeepEqual`.
pub(crate) fn is_comparable_basic(ty: &str) -> bool {
    COMPARABLE_BASIC.contains(&ty.trim())
}

/// Whether `name` is a predeclared type (`int`, `error`, `any`, ...), which no package
/// declares.
pub(crate) fn is_predeclared(name: &str) -> bool {
    is_comparable_basic(name) || matches!(name, "error" | "any" | "comparable")
}

/// Whether `ty` is built of local names, pointers, slices, arrays and maps only (`int`,
/// `*Rect`, `[][4]byte`, `map[string]T`), which no reader here needs to parse: it names no
/// package and is no function.
pub(crate) fn is_simple(ty: &str) -> bool {
    !ty.is_empty()
        && ty
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'*' | b'[' | b']'))
}

/// The names in a [simple](is_simple) type: `[]*Rect` → `Rect`.
pub(crate) fn simple_names(ty: &str) -> impl Iterator<Item = &str> {
    ty.split(['*', '[', ']'])
        .filter(|word| word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

/// A type parsed on its own.
#[derive(Clone)]
pub(crate) struct ParsedType {
    tree: Tree,
    source: String,
}

const PREFIX: &str = "package p\ntype T__ ";

/// How many parsed types a thread keeps: the same few dozen types recur across a package's
/// signatures; the cap bounds a huge project's memory.
const PARSED_TYPES_KEPT: usize = 1024;

thread_local! {
    static PARSED_TYPES: std::cell::RefCell<HashMap<String, Option<ParsedType>>> =
        std::cell::RefCell::default();
}

impl ParsedType {
    /// `None` when `ty` is no valid Go type on one line. Remembered per thread: a type is a
    /// function of its text alone, and a syntax tree is cheap to share.
    pub(crate) fn parse(ty: &str) -> Option<ParsedType> {
        if let Some(known) = PARSED_TYPES.with_borrow(|kept| kept.get(ty).cloned()) {
            return known;
        }
        let parsed = Self::parse_uncached(ty);
        PARSED_TYPES.with_borrow_mut(|kept| {
            if kept.len() >= PARSED_TYPES_KEPT {
                kept.clear();
            }
            kept.insert(ty.to_owned(), parsed.clone());
        });
        parsed
    }

    fn parse_uncached(ty: &str) -> Option<ParsedType> {
        if ty.contains('\n') {
            return None;
        }
        let source = format!("{PREFIX}{ty}\n");
        let tree = testsmith_driver::syntax::parse(&crate::GO, &source)?;
        let parsed = ParsedType { tree, source };
        let node = parsed.node()?;
        let spans_the_type = node.start_byte() == PREFIX.len()
            && node.end_byte() == PREFIX.len() + ty.len()
            && !parsed.tree.root_node().has_error();
        spans_the_type.then_some(parsed)
    }

    /// The type's node.
    fn node(&self) -> Option<Node<'_>> {
        let root = self.tree.root_node();
        let mut cursor = root.walk();
        let declaration = root
            .named_children(&mut cursor)
            .find(|child| child.kind() == "type_declaration")?;
        let mut cursor = declaration.walk();
        let spec = declaration
            .named_children(&mut cursor)
            .find(|child| child.kind() == "type_spec")?;
        spec.child_by_field_name("type")
    }

    fn text(&self, node: Node<'_>) -> &str {
        &self.source[node.byte_range()]
    }

    /// Every package the type names: `io` in `map[string]io.Reader`, `md5` in
    /// `[md5.Size]byte`.
    pub(crate) fn package_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        let Some(node) = self.node() else {
            return names;
        };
        walk(node, &mut |node| {
            let name = match node.kind() {
                "qualified_type" => node.child_by_field_name("package"),
                "selector_expression" => node
                    .child_by_field_name("operand")
                    .filter(|operand| operand.kind() == "identifier"),
                _ => None,
            };
            if let Some(name) = name {
                let name = self.text(name).to_owned();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        });
        names
    }

    /// Every type name not qualified by a package (`T`, `Set`, `int`), in order.
    pub(crate) fn local_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(node) = self.node() {
            walk(node, &mut |node| {
                if is_local_type_name(node) {
                    names.push(self.text(node).to_owned());
                }
            });
        }
        names
    }

    /// Whether the type is a function type, parentheses aside.
    pub(crate) fn is_function(&self) -> bool {
        let mut node = self.node();
        while let Some(inner) = node.filter(|node| node.kind() == "parenthesized_type") {
            node = inner.named_child(0);
        }
        node.is_some_and(|node| node.kind() == "function_type")
    }

    /// The type's one name when it is a plain local name (`Handler`, not `*Handler` or
    /// `pkg.Handler`).
    pub(crate) fn plain_name(&self) -> Option<&str> {
        self.node()
            .filter(|node| node.kind() == "type_identifier")
            .map(|node| self.text(node))
    }

    /// The type with every local type name in `replacements` replaced.
    pub(crate) fn substitute(&self, replacements: &HashMap<String, String>) -> String {
        let Some(node) = self.node() else {
            return String::new();
        };
        let mut edits = Vec::new();
        walk(node, &mut |node| {
            if is_local_type_name(node)
                && let Some(replacement) = replacements.get(self.text(node))
            {
                edits.push((node.byte_range(), replacement.clone()));
            }
        });
        let mut out = self.source[node.byte_range()].to_owned();
        for (range, replacement) in edits.into_iter().rev() {
            let start = range.start - node.start_byte();
            let end = range.end - node.start_byte();
            out.replace_range(start..end, &replacement);
        }
        out
    }
}

fn is_local_type_name(node: Node<'_>) -> bool {
    node.kind() == "type_identifier"
        && node
            .parent()
            .is_none_or(|parent| parent.kind() != "qualified_type")
}

fn walk<'t>(node: Node<'t>, visit: &mut impl FnMut(Node<'t>)) {
    visit(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ty` with the type names in `replacements` replaced; `ty` itself when it does not
    /// parse.
    fn substitute(ty: &str, replacements: &HashMap<String, String>) -> String {
        match ParsedType::parse(ty) {
            Some(parsed) => parsed.substitute(replacements),
            None => ty.to_owned(),
        }
    }

    fn parsed(ty: &str) -> ParsedType {
        ParsedType::parse(ty).unwrap_or_else(|| panic!("{ty} should parse"))
    }

    #[test]
    fn package_names_are_found_in_types_and_array_lengths() {
        assert_eq!(
            parsed("map[string][]*http.Request").package_names(),
            ["http"]
        );
        assert_eq!(parsed("[md5.Size]byte").package_names(), ["md5"]);
        assert_eq!(
            parsed("func(io.Reader) (yaml.Node, error)").package_names(),
            ["io", "yaml"]
        );
        assert!(parsed("[]Rect").package_names().is_empty());
    }

    #[test]
    fn type_parameters_are_replaced_but_not_qualified_names() {
        let replacements: HashMap<String, String> = [("T", "int"), ("U", "string")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        assert_eq!(
            substitute("func(T) (U, error)", &replacements),
            "func(int) (string, error)"
        );
        assert_eq!(
            substitute("map[T][]pkg.T", &replacements),
            "map[int][]pkg.T"
        );
        assert_eq!(substitute("*Set[T]", &replacements), "*Set[int]");
        assert_eq!(substitute("...T", &replacements), "...T");
    }

    #[test]
    fn function_types_are_told_apart_from_others() {
        assert!(parsed("func(int) error").is_function());
        assert!(parsed("(func())").is_function());
        assert!(!parsed("*func()").is_function());
        assert_eq!(parsed("Handler").plain_name(), Some("Handler"));
        assert_eq!(parsed("*Handler").plain_name(), None);
    }

    #[test]
    fn collapsed_multi_line_structs_and_garbage_do_not_parse() {
        assert!(ParsedType::parse("struct { A int B string }").is_none());
        assert!(ParsedType::parse("struct{ A int }").is_some());
        assert!(ParsedType::parse("map[").is_none());
        assert!(ParsedType::parse("int // x").is_none());
    }

    #[test]
    fn simple_types_are_names_pointers_slices_and_arrays() {
        assert!(is_simple("[][4]*Rect"));
        assert!(!is_simple("io.Reader"));
        assert!(!is_simple("func()"));
        assert!(is_simple("map[string]int"));
        assert!(!is_simple("chan int"));
        assert_eq!(simple_names("[][4]*Rect").collect::<Vec<_>>(), ["Rect"]);
    }

    #[test]
    fn only_booleans_strings_and_numbers_compare_with_not_equal() {
        assert!(is_comparable_basic("float64"));
        assert!(is_comparable_basic("string"));
        assert!(!is_comparable_basic("error"));
        assert!(!is_comparable_basic("*Rect"));
        assert!(!is_comparable_basic("Celsius"));
    }
}
