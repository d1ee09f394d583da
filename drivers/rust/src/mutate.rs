//! Rust mutants: cargo-mutants' operator set over the bodies of a file's functions, found by
//! walking the whole syntax tree, with replacement values chosen from the return type as
//! cargo-mutants' `fnvalue.rs` does.
//!
//! Test code is not mutated: `#[test]` functions, `#[cfg(test)]` modules and files. Nor are
//! `const fn`s (their replacement values are seldom const) and bodies of macros.

use crate::attributes;
use testsmith_driver::mutate::{binary_replacements, short_text, sort_in_source_order};
use testsmith_driver::{Mutant, MutationEdit, MutationOperator, syntax};
use tree_sitter::Node;

/// How many replacement values one return type yields at most (tuples multiply).
const MAX_VALUES: usize = 6;

/// The mutants of `source`, in source order; none for a file with syntax errors.
pub(crate) fn mutants(source: &str) -> Vec<Mutant> {
    let Some(tree) = syntax::parse(&crate::RUST, source) else {
        return Vec::new();
    };
    let root = tree.root_node();
    if root.has_error() {
        return Vec::new();
    }
    let mut found = Vec::new();
    walk_items(root, source, None, &mut found);
    sort_in_source_order(&mut found);
    found
}

/// Walks the items of a file, module, impl or trait body for functions to mutate.
fn walk_items(container: Node<'_>, source: &str, owner: Option<&str>, found: &mut Vec<Mutant>) {
    if attributes::has_test_only_inner_attribute(container, source) {
        return;
    }
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
        let before = std::mem::take(&mut leading);
        if attributes::is_test_only(&before, source) {
            continue;
        }
        match child.kind() {
            "function_item" => mutate_function(child, source, owner, found),
            "mod_item" => {
                if let Some(body) = child.child_by_field_name("body") {
                    walk_items(body, source, None, found);
                }
            }
            "impl_item" => {
                let owner = child
                    .child_by_field_name("type")
                    .map(|ty| type_name(ty, source));
                if let Some(body) = child.child_by_field_name("body") {
                    walk_items(body, source, owner.as_deref(), found);
                }
            }
            "trait_item" => {
                let owner = child
                    .child_by_field_name("name")
                    .map(|name| syntax::text(name, source).to_owned());
                if let Some(body) = child.child_by_field_name("body") {
                    walk_items(body, source, owner.as_deref(), found);
                }
            }
            _ => {}
        }
    }
}

/// `Stack<T>` → `Stack`, `&mut crate::a::Foo` → `Foo`.
fn type_name(ty: Node<'_>, source: &str) -> String {
    let text = syntax::text(ty, source);
    let base = text.split('<').next().unwrap_or(text);
    let base = base.rsplit("::").next().unwrap_or(base);
    base.trim_start_matches(['&', ' '])
        .trim_start_matches("mut ")
        .trim()
        .to_owned()
}

fn mutate_function(item: Node<'_>, source: &str, owner: Option<&str>, found: &mut Vec<Mutant>) {
    let Some(body) = item.child_by_field_name("body") else {
        return;
    };
    let mut cursor = item.walk();
    let is_const = item
        .children(&mut cursor)
        .filter(|child| child.kind() == "function_modifiers")
        .any(|modifiers| syntax::text(modifiers, source).contains("const"));
    if is_const {
        return;
    }
    let name = item
        .child_by_field_name("name")
        .map_or("?", |name| syntax::text(name, source));
    let function = Function {
        name: match owner {
            Some(owner) => format!("{owner}::{name}"),
            None => name.to_owned(),
        },
        line: item.start_position().row + 1,
        source,
    };
    function.replace_body(item, body, found);
    function.walk(body, found);
}

struct Function<'s> {
    name: String,
    line: usize,
    source: &'s str,
}

impl Function<'_> {
    fn mutant(
        &self,
        operator: MutationOperator,
        at: Node<'_>,
        original: String,
        edit: MutationEdit,
        replacement: String,
    ) -> Mutant {
        Mutant {
            function: self.name.clone(),
            function_line: self.line,
            operator,
            line: at.start_position().row + 1,
            column: at.start_position().column + 1,
            original,
            replacement,
            edits: vec![edit],
        }
    }

    fn replace_body(&self, item: Node<'_>, body: Node<'_>, found: &mut Vec<Mutant>) {
        let values = match item.child_by_field_name("return_type") {
            None => vec!["()".to_owned()],
            Some(ty) => values_of(ty, self.source),
        };
        let body_text = syntax::text(body, self.source);
        let inner = syntax::collapse_whitespace(body_text[1..body_text.len() - 1].trim());
        for value in values {
            if inner == value || (value == "()" && inner.is_empty()) {
                continue;
            }
            let replacement = if value == "()" {
                "{}".to_owned()
            } else {
                format!("{{ {value} }}")
            };
            let edit = MutationEdit {
                range: body.byte_range(),
                replacement,
            };
            found.push(self.mutant(
                MutationOperator::ReplaceBody,
                body,
                short_text(body_text, 60),
                edit,
                value,
            ));
        }
    }

    /// Every operator, condition and compound assignment below `node`; closures included,
    /// nested functions and macro bodies not.
    fn walk(&self, node: Node<'_>, found: &mut Vec<Mutant>) {
        match node.kind() {
            "function_item" | "macro_invocation" | "token_tree" | "attribute_item" => return,
            "binary_expression" => self.binary(node, found),
            "unary_expression" => self.unary(node, found),
            "if_expression" | "while_expression" => {
                if let Some(condition) = node.child_by_field_name("condition") {
                    self.negate(condition, found);
                }
            }
            "compound_assignment_expr" => self.compound_assignment(node, found),
            _ => {}
        }
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            self.walk(child, found);
        }
    }

    fn binary(&self, node: Node<'_>, found: &mut Vec<Mutant>) {
        let Some(operator) = node.child_by_field_name("operator") else {
            return;
        };
        let op = syntax::text(operator, self.source);
        let Some((kind, replacements)) = binary_replacements(op) else {
            return;
        };
        for replacement in replacements {
            let edit = MutationEdit {
                range: operator.byte_range(),
                replacement: (*replacement).to_owned(),
            };
            found.push(self.mutant(
                kind,
                operator,
                op.to_owned(),
                edit,
                (*replacement).to_owned(),
            ));
        }
    }

    /// `!x` and `-x` lose their operator (`*x` and `&x` are not operators to mutate).
    fn unary(&self, node: Node<'_>, found: &mut Vec<Mutant>) {
        let Some(operator) = node.child(0) else {
            return;
        };
        let op = syntax::text(operator, self.source);
        if !matches!(op, "!" | "-") {
            return;
        }
        let operand = node
            .named_child(0)
            .map(|operand| short_text(syntax::text(operand, self.source), 40))
            .unwrap_or_default();
        let edit = MutationEdit {
            range: operator.byte_range(),
            replacement: String::new(),
        };
        found.push(self.mutant(
            MutationOperator::DeleteUnary,
            operator,
            short_text(syntax::text(node, self.source), 40),
            edit,
            operand,
        ));
    }

    /// `if c` becomes `if !(c)`; not `if let`, and not a condition an operator mutant
    /// already inverts (`==`, `!=`, `!x`).
    fn negate(&self, condition: Node<'_>, found: &mut Vec<Mutant>) {
        if matches!(condition.kind(), "let_condition" | "let_chain")
            || is_inverted_by_another_mutant(condition, self.source)
        {
            return;
        }
        let text = syntax::text(condition, self.source);
        let replacement = format!("!({text})");
        let edit = MutationEdit {
            range: condition.byte_range(),
            replacement: replacement.clone(),
        };
        found.push(self.mutant(
            MutationOperator::NegateCondition,
            condition,
            short_text(text, 60),
            edit,
            short_text(&replacement, 63),
        ));
    }

    /// `x += e` becomes `{ let _ = e; }`: the assignment is gone, `e` still runs.
    fn compound_assignment(&self, node: Node<'_>, found: &mut Vec<Mutant>) {
        let Some(right) = node.child_by_field_name("right") else {
            return;
        };
        let replacement = format!("{{ let _ = {}; }}", syntax::text(right, self.source));
        let edit = MutationEdit {
            range: node.byte_range(),
            replacement: replacement.clone(),
        };
        found.push(self.mutant(
            MutationOperator::CompoundAssignment,
            node,
            short_text(syntax::text(node, self.source), 60),
            edit,
            short_text(&replacement, 60),
        ));
    }
}

fn is_inverted_by_another_mutant(condition: Node<'_>, source: &str) -> bool {
    let mut condition = condition;
    while condition.kind() == "parenthesized_expression" {
        match condition.named_child(0) {
            Some(inner) => condition = inner,
            None => break,
        }
    }
    match condition.kind() {
        "binary_expression" => condition
            .child_by_field_name("operator")
            .is_some_and(|op| matches!(syntax::text(op, source), "==" | "!=")),
        "unary_expression" => condition
            .child(0)
            .is_some_and(|op| syntax::text(op, source) == "!"),
        _ => false,
    }
}

/// The values a function returning `ty` is made to return, after cargo-mutants'
/// `fnvalue.rs`; `Default::default()` for a type it does not know.
fn values_of(ty: Node<'_>, source: &str) -> Vec<String> {
    let mut values = values_of_type(ty, source);
    values.truncate(MAX_VALUES);
    values
}

fn values_of_type(ty: Node<'_>, source: &str) -> Vec<String> {
    let text = syntax::collapse_whitespace(syntax::text(ty, source));
    let strings = |values: &[&str]| values.iter().map(|value| (*value).to_owned()).collect();
    match ty.kind() {
        "primitive_type" => match text.as_str() {
            "bool" => strings(&["true", "false"]),
            "str" => strings(&["\"\"", "\"xyzzy\""]),
            "char" => strings(&["'\\0'", "'x'"]),
            "f32" | "f64" => strings(&["0.0", "1.0", "-1.0"]),
            t if t.starts_with('u') => strings(&["0", "1"]),
            _ => strings(&["0", "1", "-1"]),
        },
        "unit_type" => strings(&["()"]),
        "reference_type" => {
            let Some(inner) = ty.child_by_field_name("type") else {
                return strings(&["Default::default()"]);
            };
            let is_mut = syntax::text(ty, source).contains("mut ");
            match inner.kind() {
                "primitive_type" if syntax::text(inner, source) == "str" && !is_mut => {
                    strings(&["\"\"", "\"xyzzy\""])
                }
                "array_type" if inner.child_by_field_name("length").is_none() => {
                    let mut values = vec!["Vec::leak(Vec::new())".to_owned()];
                    if let Some(element) = inner.child_by_field_name("element") {
                        values.extend(
                            values_of_type(element, source)
                                .into_iter()
                                .map(|value| format!("Vec::leak(vec![{value}])")),
                        );
                    }
                    values
                }
                _ => values_of_type(inner, source)
                    .into_iter()
                    .map(|value| format!("Box::leak(Box::new({value}))"))
                    .collect(),
            }
        }
        "tuple_type" => {
            let mut cursor = ty.walk();
            let elements: Vec<Vec<String>> = ty
                .named_children(&mut cursor)
                .map(|element| values_of_type(element, source))
                .collect();
            let mut combined = vec![Vec::new()];
            for element in elements {
                combined = combined
                    .into_iter()
                    .flat_map(|prefix: Vec<String>| {
                        element.iter().map(move |value| {
                            let mut next = prefix.clone();
                            next.push(value.clone());
                            next
                        })
                    })
                    .take(MAX_VALUES)
                    .collect();
            }
            combined
                .into_iter()
                .map(|values| format!("({})", values.join(", ")))
                .collect()
        }
        "generic_type" => generic_values(ty, source),
        "abstract_type" => {
            // `impl Iterator<Item = T>`; other `impl Trait`s have no value to give.
            if text.contains("Iterator") {
                vec!["::std::iter::empty()".to_owned()]
            } else {
                Vec::new()
            }
        }
        "type_identifier" | "scoped_type_identifier" => match text.rsplit("::").next() {
            Some("String") => strings(&["String::new()", "\"xyzzy\".into()"]),
            Some("Result") => strings(&["Ok(Default::default())"]),
            _ => strings(&["Default::default()"]),
        },
        _ => strings(&["Default::default()"]),
    }
}

/// `Option<T>`, `Result<T, E>`, `Vec<T>`, `Box<T>` and friends, from their first argument.
fn generic_values(ty: Node<'_>, source: &str) -> Vec<String> {
    let name = ty
        .child_by_field_name("type")
        .map(|name| syntax::text(name, source))
        .unwrap_or_default();
    let name = name.rsplit("::").next().unwrap_or(name);
    let first = ty
        .child_by_field_name("type_arguments")
        .and_then(|arguments| {
            let mut cursor = arguments.walk();
            arguments
                .named_children(&mut cursor)
                .find(|argument| argument.kind() != "lifetime")
        });
    let inner = || {
        first.map_or_else(
            || vec!["Default::default()".to_owned()],
            |t| values_of_type(t, source),
        )
    };
    match name {
        "Option" => std::iter::once("None".to_owned())
            .chain(inner().into_iter().map(|value| format!("Some({value})")))
            .collect(),
        "Result" => inner()
            .into_iter()
            .map(|value| format!("Ok({value})"))
            .collect(),
        "Vec" => std::iter::once("vec![]".to_owned())
            .chain(inner().into_iter().map(|value| format!("vec![{value}]")))
            .collect(),
        "Box" | "Rc" | "Arc" | "Cell" | "RefCell" | "Mutex" | "RwLock" => inner()
            .into_iter()
            .map(|value| format!("{name}::new({value})"))
            .collect(),
        _ => vec!["Default::default()".to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(source: &str) -> Vec<String> {
        mutants(source)
            .iter()
            .map(|m| {
                format!(
                    "{} {}:{} {} -> {}",
                    m.function,
                    m.line,
                    m.operator.as_str(),
                    m.original,
                    m.replacement
                )
            })
            .collect()
    }

    #[test]
    fn return_types_choose_the_values() {
        let source = "fn a() -> Option<u8> { Some(3) }\nfn b() -> Result<String, E> { todo() }\nfn c() -> &'static str { \"q\" }\n";
        let found = shown(source);
        assert_eq!(
            found,
            vec![
                "a 1:replace_body { Some(3) } -> None",
                "a 1:replace_body { Some(3) } -> Some(0)",
                "a 1:replace_body { Some(3) } -> Some(1)",
                "b 2:replace_body { todo() } -> Ok(String::new())",
                "b 2:replace_body { todo() } -> Ok(\"xyzzy\".into())",
                "c 3:replace_body { \"q\" } -> \"\"",
                "c 3:replace_body { \"q\" } -> \"xyzzy\"",
            ]
        );
    }

    #[test]
    fn test_code_and_const_fns_are_not_mutated() {
        let source = "const fn k() -> u8 { 1 + 2 }\n#[test]\nfn t() { assert!(1 < 2); }\n#[cfg(test)]\nmod tests { fn h() -> bool { true && false } }\n";
        assert_eq!(shown(source), Vec::<String>::new());
    }

    #[test]
    fn methods_are_named_by_their_impl_type() {
        let source = "impl<T> Stack<T> { fn len(&self) -> usize { self.n - 1 } }\n";
        let found = shown(source);
        assert!(
            found.contains(&"Stack::len 1:arithmetic - -> +".to_owned()),
            "{found:#?}"
        );
    }

    #[test]
    fn if_let_is_not_negated() {
        let found = shown("fn f(x: Option<u8>) { if let Some(_) = x { g(); } }\n");
        assert_eq!(
            found,
            vec!["f 1:replace_body { if let Some(_) = x { g(); } } -> ()"]
        );
    }
}
