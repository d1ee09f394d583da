//! Go mutants: cargo-mutants' operator set over the bodies of a file's functions and methods,
//! found by walking the whole syntax tree.
//!
//! Two Go rules shape the set, so that mutants compile (issue 14 asks ≥ 95 %):
//! - a body is "replaced" by a `return` of zero values put in front of the old statements,
//!   which stay as unreachable code: the compiler accepts unreachable code, and every import
//!   and variable the body used is still used (`fmt` imported and not used would otherwise
//!   make the mutant unviable);
//! - operators Go rejects for some operand types are not offered: `/` never becomes `%`
//!   (floats have no `%`), and `+` beside a string literal is left alone (strings have no
//!   `-` or `*`).

use testsmith_driver::mutate::{binary_replacements, short_text, sort_in_source_order};
use testsmith_driver::{Mutant, MutationEdit, MutationOperator, syntax};
use tree_sitter::Node;

/// The mutants of `source`, in source order; none for a file with syntax errors.
pub(crate) fn mutants(source: &str) -> Vec<Mutant> {
    let Some(tree) = crate::parse::parse_ranges(source, &[]) else {
        return Vec::new();
    };
    let root = tree.root_node();
    if root.has_error() {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut cursor = root.walk();
    for item in root.named_children(&mut cursor) {
        if !matches!(item.kind(), "function_declaration" | "method_declaration") {
            continue;
        }
        let Some(body) = item.child_by_field_name("body") else {
            continue;
        };
        let function = Function {
            name: function_name(item, source),
            line: item.start_position().row + 1,
            source,
        };
        function.replace_body(item, body, &mut found);
        function.walk(body, &mut found);
    }
    sort_in_source_order(&mut found);
    found
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
        edits: Vec<MutationEdit>,
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
            edits,
        }
    }

    /// `return <zero values>` in front of the body, one mutant per value the first result
    /// may take (`0` and `1`, `false` and `true`, …), the other results at their zero.
    fn replace_body(&self, item: Node<'_>, body: Node<'_>, found: &mut Vec<Mutant>) {
        let results = result_types(item, self.source);
        let returns: Vec<String> = match results.split_first() {
            None => vec!["return".to_owned()],
            Some((first, rest)) => {
                let rest: Vec<String> =
                    rest.iter().map(|ty| values_of(ty).swap_remove(0)).collect();
                values_of(first)
                    .into_iter()
                    .map(|value| {
                        let mut all = vec![value];
                        all.extend(rest.iter().cloned());
                        format!("return {}", all.join(", "))
                    })
                    .collect()
            }
        };
        let body_text = syntax::text(body, self.source);
        let inner = body_text[1..body_text.len() - 1].trim();
        for statement in returns {
            // A body that already is that return is not changed by it.
            if syntax::collapse_whitespace(inner) == statement
                || (inner.is_empty() && statement == "return")
            {
                continue;
            }
            let at = body.start_byte() + 1;
            let edit = MutationEdit {
                range: at..at,
                replacement: format!("\n\t{statement}\n"),
            };
            found.push(self.mutant(
                MutationOperator::ReplaceBody,
                body,
                short_text(body_text, 60),
                vec![edit],
                statement,
            ));
        }
    }

    /// Every operator, condition and compound assignment below `node`, func literals
    /// included (their mutants belong to the enclosing function).
    fn walk(&self, node: Node<'_>, found: &mut Vec<Mutant>) {
        match node.kind() {
            "binary_expression" => self.binary(node, found),
            "unary_expression" => self.unary(node, found),
            "if_statement" => {
                if let Some(condition) = node.child_by_field_name("condition") {
                    self.negate(condition, found);
                }
            }
            "for_clause" => {
                if let Some(condition) = node.child_by_field_name("condition") {
                    self.negate(condition, found);
                }
            }
            "for_statement" => {
                // `for cond { }`: the condition is the one child that is neither a clause
                // nor the body.
                let mut cursor = node.walk();
                let condition = node.named_children(&mut cursor).find(|child| {
                    !matches!(
                        child.kind(),
                        "block" | "for_clause" | "range_clause" | "comment"
                    )
                });
                if let Some(condition) = condition {
                    self.negate(condition, found);
                }
            }
            "assignment_statement" => self.compound_assignment(node, found),
            _ => {}
        }
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            self.walk(child, found);
        }
    }

    fn binary(&self, node: Node<'_>, found: &mut Vec<Mutant>) {
        let (Some(operator), Some(left), Some(right)) = (
            node.child_by_field_name("operator"),
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        let op = syntax::text(operator, self.source);
        let (kind, replacements): (MutationOperator, &[&str]) = match op {
            "/" => (MutationOperator::Arithmetic, &["*"]),
            "&^" => (MutationOperator::Arithmetic, &["&"]),
            "+" if is_string_literal(left) || is_string_literal(right) => return,
            op => match binary_replacements(op) {
                Some(found) => found,
                None => return,
            },
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
                vec![edit],
                (*replacement).to_owned(),
            ));
        }
    }

    /// `!x` and `-x` lose their operator.
    fn unary(&self, node: Node<'_>, found: &mut Vec<Mutant>) {
        let Some(operator) = node.child_by_field_name("operator") else {
            return;
        };
        let op = syntax::text(operator, self.source);
        if !matches!(op, "!" | "-") {
            return;
        }
        let edit = MutationEdit {
            range: operator.byte_range(),
            replacement: String::new(),
        };
        let shown = short_text(syntax::text(node, self.source), 40);
        let operand = node
            .child_by_field_name("operand")
            .map(|operand| short_text(syntax::text(operand, self.source), 40))
            .unwrap_or_default();
        found.push(self.mutant(
            MutationOperator::DeleteUnary,
            operator,
            shown,
            vec![edit],
            operand,
        ));
    }

    /// `if c` becomes `if !(c)`. Not for a condition that an operator mutant already
    /// inverts (`==`, `!=`, `!x`): the two would be the same mutant.
    fn negate(&self, condition: Node<'_>, found: &mut Vec<Mutant>) {
        if is_inverted_by_another_mutant(condition, self.source) {
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
            vec![edit],
            short_text(&replacement, 63),
        ));
    }

    /// `x += e` becomes `_ = e`: the assignment is gone, `e` still runs and stays used.
    fn compound_assignment(&self, node: Node<'_>, found: &mut Vec<Mutant>) {
        let (Some(operator), Some(right)) = (
            node.child_by_field_name("operator"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        if syntax::text(operator, self.source) == "=" {
            return;
        }
        let right = syntax::text(right, self.source);
        let replacement = format!("_ = {right}");
        let edit = MutationEdit {
            range: node.byte_range(),
            replacement: replacement.clone(),
        };
        found.push(self.mutant(
            MutationOperator::CompoundAssignment,
            node,
            short_text(syntax::text(node, self.source), 60),
            vec![edit],
            short_text(&replacement, 60),
        ));
    }
}

fn is_string_literal(node: Node<'_>) -> bool {
    matches!(
        node.kind(),
        "interpreted_string_literal" | "raw_string_literal"
    )
}

fn is_inverted_by_another_mutant(condition: Node<'_>, source: &str) -> bool {
    let condition = unparenthesized(condition);
    match condition.kind() {
        "binary_expression" => condition
            .child_by_field_name("operator")
            .is_some_and(|op| matches!(syntax::text(op, source), "==" | "!=")),
        "unary_expression" => condition
            .child_by_field_name("operator")
            .is_some_and(|op| syntax::text(op, source) == "!"),
        _ => false,
    }
}

fn unparenthesized(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// `Area`, `Rect.Area`, `(*Rect).Scale`: how Go names a function in stack traces.
fn function_name(item: Node<'_>, source: &str) -> String {
    let name = item
        .child_by_field_name("name")
        .map_or("?", |name| syntax::text(name, source));
    let Some(receiver) = item.child_by_field_name("receiver") else {
        return name.to_owned();
    };
    let mut cursor = receiver.walk();
    let receiver_type = receiver
        .named_children(&mut cursor)
        .find(|child| child.kind() == "parameter_declaration")
        .and_then(|parameter| parameter.child_by_field_name("type"));
    let Some(receiver_type) = receiver_type else {
        return name.to_owned();
    };
    let base = crate::names::receiver_base_type(receiver_type, source).unwrap_or("?");
    if crate::names::is_pointer_type(syntax::text(receiver_type, source)) {
        format!("(*{base}).{name}")
    } else {
        format!("{base}.{name}")
    }
}

/// The result types of a function, one per result (`(a, b int, err error)` is three).
fn result_types<'s>(item: Node<'_>, source: &'s str) -> Vec<&'s str> {
    let Some(result) = item.child_by_field_name("result") else {
        return Vec::new();
    };
    if result.kind() != "parameter_list" {
        return vec![syntax::text(result, source)];
    }
    let mut types = Vec::new();
    let mut cursor = result.walk();
    for parameter in result.named_children(&mut cursor) {
        let Some(ty) = parameter.child_by_field_name("type") else {
            continue;
        };
        let mut names = parameter.walk();
        let count = parameter
            .children_by_field_name("name", &mut names)
            .count()
            .max(1);
        types.extend(std::iter::repeat_n(syntax::text(ty, source), count));
    }
    types
}

/// The values a result of type `ty` is replaced with, its zero value first.
fn values_of(ty: &str) -> Vec<String> {
    let ty = syntax::collapse_whitespace(ty);
    let values: &[&str] = match ty.as_str() {
        "bool" => &["false", "true"],
        "string" => &["\"\"", "\"xyzzy\""],
        "int" | "int8" | "int16" | "int32" | "int64" | "uint" | "uint8" | "uint16" | "uint32"
        | "uint64" | "uintptr" | "byte" | "rune" | "float32" | "float64" | "complex64"
        | "complex128" => &["0", "1"],
        "error" | "any" => &["nil"],
        _ if ty.starts_with('*')
            || ty.starts_with("[]")
            || ty.starts_with("map[")
            || ty.starts_with("chan")
            || ty.starts_with("<-chan")
            || ty.starts_with("func")
            || ty.starts_with("interface") =>
        {
            &["nil"]
        }
        _ => return vec![format!("*new({ty})")],
    };
    values.iter().map(|value| (*value).to_owned()).collect()
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
    fn a_file_with_syntax_errors_has_no_mutants() {
        assert!(mutants("package a\nfunc F() int { return 1 +  }\n").is_empty());
    }

    #[test]
    fn every_result_gets_a_zero_value_and_the_first_its_alternatives() {
        let source =
            "package a\nfunc F() (n int, ok bool, err error) { n = 2; return n, true, nil }\n";
        let found = shown(source);
        assert!(
            found.contains(
                &"F 2:replace_body { n = 2; return n, true, nil } -> return 0, false, nil"
                    .to_owned()
            ),
            "{found:#?}"
        );
        assert!(
            found.contains(
                &"F 2:replace_body { n = 2; return n, true, nil } -> return 1, false, nil"
                    .to_owned()
            ),
            "{found:#?}"
        );
    }

    #[test]
    fn a_body_that_already_returns_the_value_gets_no_such_mutant() {
        let found = shown("package a\nfunc F() error { return nil }\n");
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn string_concatenation_is_left_alone() {
        let found = shown("package a\nfunc F(s string) string { return s + \"!\" }\n");
        assert!(
            !found.iter().any(|m| m.contains("arithmetic")),
            "{found:#?}"
        );
    }

    #[test]
    fn an_equality_condition_is_not_negated_twice() {
        let found =
            shown("package a\nfunc F(err error) {\n\tif err != nil {\n\t\tpanic(err)\n\t}\n}\n");
        assert_eq!(
            found,
            vec![
                "F 2:replace_body { if err != nil { panic(err) } } -> return".to_owned(),
                "F 3:comparison != -> ==".to_owned(),
            ],
        );
    }
}
