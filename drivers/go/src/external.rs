//! Tests in the external `p_test` package, for the standard-library packages that `testing`
//! itself imports (`strings`, `bytes`, `sort`, `errors`, ...): a test in `package strings`
//! imports `testing`, which imports `strings` — an import cycle. Such a package's tests are
//! written as `package strings_test` in a file of testsmith's own (`x_testsmith_test.go`,
//! never one of Go's own test files), import the package by its path, and call its
//! exported names qualified (`strings.Fields`); what an external test cannot see
//! (unexported names) is no test of that package.

use crate::names::is_exported;
use crate::stdlib;
use std::path::Path;
use testsmith_driver::{FileMembers, syntax};
use tree_sitter::Node;

/// The import path of `file`'s package when its tests must be external, judged where the
/// file is (`generate .` inside `$GOROOT/src/strings` too).
pub(crate) fn external_import_path(file: &FileMembers) -> Option<&'static str> {
    let package = file.package.as_deref()?;
    folder_import_path(&file.path).filter(|path| last_element(path) == package)
}

/// The import path of the standard-library package `source` is a file of, when `testing`
/// imports it (by the folder's place below `src/`; the package is named after the folder's
/// last element, as every such package is).
pub(crate) fn folder_import_path(source: &Path) -> Option<&'static str> {
    let absolute = std::path::absolute(source).ok()?;
    let folder = absolute.parent()?;
    let name = folder.file_name()?.to_str()?;
    stdlib::imported_by_testing(folder, name)
}

fn last_element(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `code`, a test function written as if inside `package`, with every package-level name
/// (`declares`) qualified: `Fields(s)` → `strings.Fields(s)`, `*Builder` →
/// `*strings.Builder`. Names the code declares itself (`tt`, `args`, a local `type args
/// struct`), struct keys and selectors stay. `Err` names an unexported package-level name
/// the code uses, which package `p_test` cannot see.
pub(crate) fn qualify(
    code: &str,
    package: &str,
    declares: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let prefix = "package p\n\n";
    let text = format!("{prefix}{code}\n");
    let tree = syntax::parse(&crate::GO, &text).ok_or("the test does not parse")?;
    let root = tree.root_node();
    let mut locals = std::collections::HashSet::new();
    collect_locals(root, &text, &mut locals);
    let mut inserts = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
        let is_reference = match node.kind() {
            "type_identifier" => node.parent().is_none_or(|parent| {
                parent.kind() != "qualified_type" && parent.kind() != "type_spec"
            }),
            "identifier" => is_expression_identifier(node),
            _ => false,
        };
        if !is_reference {
            continue;
        }
        let name = syntax::text(node, &text);
        if locals.contains(name) || !declares(name) {
            continue;
        }
        if !is_exported(name) {
            return Err(format!(
                "it uses {name}, which is unexported, and a test in package {package}_test \
                 cannot see it"
            ));
        }
        inserts.push(node.start_byte());
    }
    inserts.sort_unstable();
    let mut out = text;
    for at in inserts.into_iter().rev() {
        out.insert_str(at, &format!("{package}."));
    }
    Ok(out[prefix.len()..out.len() - 1].to_owned())
}

/// Whether the `identifier` `node` is used as a value, not declared, a struct key or a
/// label.
fn is_expression_identifier(node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    match parent.kind() {
        "labeled_statement" | "break_statement" | "continue_statement" | "goto_statement" => false,
        "function_declaration"
        | "method_declaration"
        | "parameter_declaration"
        | "variadic_parameter_declaration"
        | "var_spec"
        | "const_spec" => {
            let mut cursor = parent.walk();
            !parent
                .children_by_field_name("name", &mut cursor)
                .any(|name| name == node)
        }
        // `{name: "x"}`: a struct key (a map key would be an expression, but the
        // scaffolds' and tests' keyed literals are structs).
        "literal_element" => parent
            .parent()
            .filter(|keyed| keyed.kind() == "keyed_element")
            .is_none_or(|keyed| keyed.named_child(0) != Some(parent)),
        "keyed_element" => parent.named_child(0) != Some(node),
        _ => true,
    }
}

/// The names the code declares: its functions, parameters, variables (`:=`, `var`, `range`),
/// constants and types. None of them is the package's.
fn collect_locals<'t>(
    node: Node<'t>,
    text: &'t str,
    locals: &mut std::collections::HashSet<String>,
) {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "short_var_declaration" | "range_clause" => {
                if let Some(left) = child.child_by_field_name("left") {
                    let mut inner = left.walk();
                    for name in left.named_children(&mut inner) {
                        if name.kind() == "identifier" {
                            locals.insert(syntax::text(name, text).to_owned());
                        }
                    }
                }
            }
            "parameter_declaration"
            | "variadic_parameter_declaration"
            | "var_spec"
            | "const_spec"
            | "type_spec"
            | "function_declaration" => {
                let mut inner = child.walk();
                for name in child.children_by_field_name("name", &mut inner) {
                    locals.insert(syntax::text(name, text).to_owned());
                }
            }
            _ => {}
        }
        collect_locals(child, text, locals);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declares(name: &str) -> bool {
        [
            "Fields",
            "Builder",
            "NewReplacer",
            "Replacer",
            "explode",
            "MaxLen",
        ]
        .contains(&name)
    }

    #[test]
    fn package_level_names_are_qualified_and_locals_keys_and_selectors_are_not() {
        let code = "func TestFields(t *testing.T) {\n\ttype args struct {\n\t\ts string\n\t}\n\ttests := []struct {\n\t\tname string\n\t\targs args\n\t\twant *Builder\n\t}{\n\t\t{name: \"x\", args: args{s: \"a\"}},\n\t}\n\tfor _, tt := range tests {\n\t\tif got := Fields(tt.args.s); len(got) > MaxLen {\n\t\t\tvar b Builder\n\t\t\tr := NewReplacer()\n\t\t\t_ = r.Replace\n\t\t\t_ = b.Len()\n\t\t}\n\t}\n}";
        let qualified = qualify(code, "strings", declares).unwrap();
        assert!(qualified.contains("want *strings.Builder"), "{qualified}");
        assert!(
            qualified.contains("got := strings.Fields(tt.args.s); len(got) > strings.MaxLen"),
            "{qualified}"
        );
        assert!(qualified.contains("var b strings.Builder"), "{qualified}");
        assert!(
            qualified.contains("r := strings.NewReplacer()"),
            "{qualified}"
        );
        assert!(qualified.contains("_ = r.Replace"), "{qualified}");
        assert!(
            qualified.contains("{name: \"x\", args: args{s: \"a\"}}"),
            "{qualified}"
        );
        assert!(qualified.contains("\targs args\n"), "{qualified}");
    }

    #[test]
    fn qualified_code_is_left_as_it_is() {
        let code = "func TestFields(t *testing.T) {\n\tif len(strings.Fields(\"a b\")) != 2 {\n\t\tt.Fatal()\n\t}\n}";
        assert_eq!(qualify(code, "strings", declares).unwrap(), code);
    }

    #[test]
    fn an_unexported_name_is_refused_with_the_reason() {
        let code = "func TestExplode(t *testing.T) {\n\t_ = explode(\"a\", 1)\n}";
        assert_eq!(
            qualify(code, "strings", declares).unwrap_err(),
            "it uses explode, which is unexported, and a test in package strings_test cannot \
             see it"
        );
    }
}
