//! Choosing a type argument for each type parameter a scaffold must instantiate.
//!
//! A scaffold calls a generic function or builds a generic receiver, so each type parameter
//! needs a concrete type its constraint allows: `int` wherever that works (`any`,
//! `comparable`, `cmp.Ordered`, a union holding `int` or `~int`), `string` for unions of
//! strings, the core type for `~[]E`-style constraints, the constraint's own type for a
//! union of one. A constraint with methods (`fmt.Stringer`) has no type testsmith could pick
//! with confidence: the member gets no scaffold, and the reason says so.

use crate::package_context::PackageContext;
use crate::source::non_comment_named_children;
use crate::types;
use std::collections::HashMap;
use testsmith_driver::syntax;
use tree_sitter::Node;

/// How deep named constraints may refer to other named constraints.
const MAX_DEPTH: usize = 8;

/// Type arguments for `params` (name and constraint, in order), as a map from name to type.
///
/// `Err` names the first parameter no type could be chosen for.
pub(crate) fn instantiate(
    params: &[(String, String)],
    package: &PackageContext<'_>,
) -> Result<HashMap<String, String>, String> {
    let names: Vec<&str> = params.iter().map(|(name, _)| name.as_str()).collect();
    let mut chosen: HashMap<String, String> = HashMap::new();
    // A constraint may name other parameters (`S ~[]E, E any`): settle what can be settled
    // and go round again until nothing changes.
    loop {
        let mut progressed = false;
        for (name, constraint) in params {
            if chosen.contains_key(name) {
                continue;
            }
            let resolver = Resolver {
                package,
                chosen: &chosen,
                params: &names,
            };
            if let Some(ty) = resolver.constraint(constraint, 0) {
                chosen.insert(name.clone(), ty);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    match params.iter().find(|(name, _)| !chosen.contains_key(name)) {
        None => Ok(chosen),
        Some((name, constraint)) => Err(format!(
            "type parameter {name} has constraint {}; instantiate it by hand",
            syntax::collapse_whitespace(constraint)
        )),
    }
}

struct Resolver<'r, 'p> {
    package: &'r PackageContext<'p>,
    chosen: &'r HashMap<String, String>,
    params: &'r [&'r str],
}

impl Resolver<'_, '_> {
    /// A type satisfying `constraint`, as written after a type parameter's name.
    fn constraint(&self, constraint: &str, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        let source = format!("package p\nfunc f__[T__ {constraint}]() {{}}\n");
        let tree = syntax::parse(&crate::GO, &source)?;
        if tree.root_node().has_error() {
            return None;
        }
        let node = find_kind(tree.root_node(), "type_constraint")?;
        self.union(node, &source, depth)
    }

    /// A type satisfying a union of terms (`~int | ~int64`, or a single term).
    fn union(&self, node: Node<'_>, source: &str, depth: usize) -> Option<String> {
        let candidates: Vec<String> = non_comment_named_children(node)
            .filter_map(|term| self.term(term, source, depth))
            .collect();
        ["int", "string"]
            .into_iter()
            .find(|preferred| candidates.iter().any(|c| c == preferred))
            .map(str::to_owned)
            .or_else(|| candidates.into_iter().next())
    }

    fn term(&self, node: Node<'_>, source: &str, depth: usize) -> Option<String> {
        let text = syntax::text(node, source);
        match node.kind() {
            "negated_type" => self.term(node.named_child(0)?, source, depth),
            "type_identifier" => self.named(text, depth),
            "qualified_type" => well_known_constraint(text).map(str::to_owned),
            "interface_type" => self.interface(node, source, depth),
            "parenthesized_type" => self.term(node.named_child(0)?, source, depth),
            // A composite core type (`[]E`, `map[K]V`, `chan T`): itself, once the parameters
            // it names are chosen.
            _ => self.concrete(text),
        }
    }

    /// A type satisfying a named constraint or type.
    fn named(&self, name: &str, depth: usize) -> Option<String> {
        match name {
            "any" | "comparable" => return Some("int".to_owned()),
            _ if types::is_comparable_basic(name) || name == "error" => {
                return Some(name.to_owned());
            }
            _ => {}
        }
        if self.params.contains(&name) {
            return self.chosen.get(name).cloned();
        }
        let decl = self.package.type_decl(name)?;
        if decl.kind == "interface_type" {
            if !decl.is_complete || !decl.params.is_empty() {
                return None;
            }
            return self.constraint(&decl.ty, depth + 1);
        }
        // A defined non-interface type satisfies a union naming it.
        decl.params.is_empty().then(|| name.to_owned())
    }

    /// A type satisfying an interface literal: `interface{}`, `interface{ comparable }`, one
    /// union. An interface with methods, or several type elements, gets none.
    fn interface(&self, node: Node<'_>, source: &str, depth: usize) -> Option<String> {
        let elements: Vec<Node<'_>> = non_comment_named_children(node).collect();
        match elements.as_slice() {
            [] => Some("int".to_owned()),
            [element] if element.kind() == "type_elem" => self.union(*element, source, depth),
            _ => None,
        }
    }

    /// `text` with the chosen type arguments put in, if it names no parameter still open.
    fn concrete(&self, text: &str) -> Option<String> {
        let parsed = types::ParsedType::parse(text)?;
        let is_open = parsed
            .local_names()
            .iter()
            .any(|name| self.params.contains(&name.as_str()) && !self.chosen.contains_key(name));
        (!is_open).then(|| parsed.substitute(self.chosen))
    }
}

/// The type to instantiate the constraints of `golang.org/x/exp/constraints` and `cmp` with.
fn well_known_constraint(qualified: &str) -> Option<&'static str> {
    let (package, name) = qualified.split_once('.')?;
    if !matches!(package, "constraints" | "cmp") {
        return None;
    }
    match name {
        "Ordered" | "Integer" | "Signed" => Some("int"),
        "Unsigned" => Some("uint"),
        "Float" => Some("float64"),
        "Complex" => Some("complex128"),
        _ => None,
    }
}

fn find_kind<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    if node.kind() == kind {
        return Some(node);
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
    children
        .into_iter()
        .find_map(|child| find_kind(child, kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::{FileMembers, SourceFile};

    fn instantiate_in(text: &str, params: &[(&str, &str)]) -> Result<Vec<String>, String> {
        let members = FileMembers::new("a.go", "go");
        let package = [];
        let source = SourceFile {
            members: &members,
            text,
            package: &package,
        };
        let context = PackageContext::new(&source);
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(name, constraint)| ((*name).to_owned(), (*constraint).to_owned()))
            .collect();
        let chosen = instantiate(&params, &context)?;
        Ok(params
            .iter()
            .map(|(name, _)| chosen[name].clone())
            .collect())
    }

    fn one(constraint: &str) -> Result<String, String> {
        instantiate_in("package p\n", &[("T", constraint)]).map(|mut types| types.remove(0))
    }

    #[test]
    fn open_and_ordered_constraints_take_int() {
        for constraint in [
            "any",
            "comparable",
            "interface{}",
            "cmp.Ordered",
            "constraints.Ordered",
            "constraints.Integer",
            "interface{ comparable }",
            "~int | ~int64",
            "interface{ ~int8 | ~int }",
        ] {
            assert_eq!(one(constraint).as_deref(), Ok("int"), "{constraint}");
        }
    }

    #[test]
    fn other_unions_take_their_string_or_first_type() {
        assert_eq!(one("~string | ~[]byte").as_deref(), Ok("string"));
        assert_eq!(one("~float32 | ~float64").as_deref(), Ok("float32"));
        assert_eq!(one("constraints.Float").as_deref(), Ok("float64"));
        assert_eq!(one("constraints.Unsigned").as_deref(), Ok("uint"));
    }

    #[test]
    fn core_type_constraints_are_built_from_the_parameters_they_name() {
        assert_eq!(
            instantiate_in("package p\n", &[("S", "~[]E"), ("E", "cmp.Ordered")]),
            Ok(vec!["[]int".to_owned(), "int".to_owned()])
        );
        assert_eq!(
            instantiate_in(
                "package p\n",
                &[("M", "~map[K]V"), ("K", "comparable"), ("V", "any")]
            ),
            Ok(vec![
                "map[int]int".to_owned(),
                "int".to_owned(),
                "int".to_owned()
            ])
        );
    }

    #[test]
    fn named_constraints_of_the_file_are_followed() {
        let text = "package p\n\ntype Number interface {\n\t~int64 | ~float64\n}\n\ntype Text interface{ Number | ~string }\n\ntype ID string\n";
        assert_eq!(
            instantiate_in(text, &[("N", "Number")]),
            Ok(vec!["int64".to_owned()])
        );
        assert_eq!(
            instantiate_in(text, &[("T", "Text")]),
            Ok(vec!["string".to_owned()])
        );
        assert_eq!(
            instantiate_in(text, &[("T", "ID | int")]),
            Ok(vec!["int".to_owned()])
        );
    }

    #[test]
    fn constraints_with_methods_are_left_to_a_person() {
        assert_eq!(
            one("fmt.Stringer"),
            Err("type parameter T has constraint fmt.Stringer; instantiate it by hand".to_owned())
        );
        assert!(one("interface{ ~int; String() string }").is_err());
        assert!(one("Unknown").is_err());
    }
}
