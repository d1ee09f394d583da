//! Writing tests into a Go test file: a new file laid out as gofmt would, or an existing one
//! with every byte the user wrote kept — new tests appended, untouched scaffolds replaced in
//! place, imports merged.

use crate::imports::{self, ImportSpec};
use crate::tests_file::{package_name, test_package};
use std::path::Path;
use testsmith_driver::{SourceFile, TestChange};

/// The test file's text after `changes`; `existing` is its current text, if any.
pub(crate) fn assemble(
    source: &SourceFile<'_>,
    test_path: &Path,
    existing: Option<&str>,
    changes: &[TestChange],
) -> Result<String, String> {
    let package = test_package(source.members)?;
    let package = package.as_str();
    let mut needed = Vec::new();
    for change in changes {
        for import in &change.test().imports {
            needed.push(
                ImportSpec::parse(import)
                    .ok_or_else(|| format!("{:?} is no Go import spec", import))?,
            );
        }
    }
    match existing {
        Some(text) if !text.trim().is_empty() => {
            merge_into(text, test_path, package, &needed, changes)
        }
        // An empty file is written as a new one.
        _ => Ok(new_file(source.text, package, &needed, changes)),
    }
}

/// Why appending `changes` to `existing` would move its lines: the imports it lacks (which
/// would join its import block) or that clash with its own. `None` for an empty file.
pub(crate) fn appending_moves_lines(existing: &str, changes: &[TestChange]) -> Option<String> {
    if existing.trim().is_empty() {
        return None;
    }
    let needed: Vec<ImportSpec> = changes
        .iter()
        .flat_map(|change| &change.test().imports)
        .filter_map(|import| ImportSpec::parse(import))
        .collect();
    match imports::missing(existing, &needed) {
        Ok(missing) if missing.is_empty() => None,
        Ok(missing) => {
            let specs: Vec<String> = missing.iter().map(ImportSpec::render).collect();
            Some(format!(
                "it lacks the import{} {}, and adding {} would move its lines",
                if specs.len() == 1 { "" } else { "s" },
                specs.join(", "),
                if specs.len() == 1 { "it" } else { "them" },
            ))
        }
        Err(clash) => Some(clash),
    }
}

fn new_file(
    source_text: &str,
    package: &str,
    needed: &[ImportSpec],
    changes: &[TestChange],
) -> String {
    let mut out = String::new();
    let constraints = build_constraints(source_text);
    if !constraints.is_empty() {
        for line in &constraints {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&format!("package {package}\n"));
    if !needed.is_empty() {
        out.push('\n');
        out.push_str(&imports::render_declaration(needed));
        out.push('\n');
    }
    for change in changes {
        out.push('\n');
        out.push_str(&change.test().code);
        out.push('\n');
    }
    out
}

fn merge_into(
    text: &str,
    test_path: &Path,
    package: &str,
    needed: &[ImportSpec],
    changes: &[TestChange],
) -> Result<String, String> {
    if let Some(existing_package) = package_name(text)
        && existing_package != package
    {
        let why = if package.ends_with("_test") {
            "`testing` imports the package, so its tests are external"
        } else {
            "so that unexported names are visible"
        };
        return Err(format!(
            "{} is in package {existing_package}, but testsmith writes tests inside package \
             {package} ({why}); move its tests to another file or rename its package clause",
            test_path.display()
        ));
    }
    let mut out = text.to_owned();
    let mut replacements: Vec<_> = changes
        .iter()
        .filter_map(|change| match change {
            TestChange::Replace { range, test } => Some((range.clone(), &test.code)),
            TestChange::Add(_) => None,
        })
        .collect();
    replacements.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    for (range, code) in replacements {
        if range.end > out.len()
            || !out.is_char_boundary(range.start)
            || !out.is_char_boundary(range.end)
            || range.start > range.end
        {
            return Err(format!(
                "the test to replace at bytes {}..{} is not in {}",
                range.start,
                range.end,
                test_path.display()
            ));
        }
        out.replace_range(range, code);
    }
    for change in changes {
        if let TestChange::Add(test) = change {
            // One blank line before each new test, however the file ended.
            let trimmed = out.trim_end_matches([' ', '\t']);
            let separator = if trimmed.ends_with("\n\n") || trimmed.is_empty() {
                ""
            } else if trimmed.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            out.push_str(separator);
            out.push_str(&test.code);
            out.push('\n');
        }
    }
    let merged = imports::merge(&out, needed)?;
    // A replaced scaffold may leave an import only it used; appending never does.
    let replaces = changes
        .iter()
        .any(|change| matches!(change, TestChange::Replace { .. }));
    Ok(if replaces {
        crate::verify::tidy_imports(text, &merged)
    } else {
        merged
    })
}

/// The `//go:build` and `// +build` lines above the package clause of `source_text`, which
/// the test file must share to be built with the source. A file with only `// +build` lines
/// gets the `//go:build` line gofmt would add.
pub(crate) fn build_constraints(source_text: &str) -> Vec<String> {
    let mut go_build = None;
    let mut plus_build = Vec::new();
    for line in source_text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("package ") || trimmed == "package" {
            break;
        }
        if let Some(expression) = trimmed.strip_prefix("//go:build ") {
            go_build = Some(format!("//go:build {}", expression.trim()));
        } else if let Some(expression) = trimmed.strip_prefix("// +build ") {
            plus_build.push(expression.trim().to_owned());
        } else if !trimmed.is_empty() && !trimmed.starts_with("//") {
            // Past the header: a `/*` comment or code.
            break;
        }
    }
    let mut lines = Vec::new();
    match go_build {
        Some(line) => lines.push(line),
        None if !plus_build.is_empty() => {
            lines.push(format!(
                "//go:build {}",
                plus_build_to_go_build(&plus_build)
            ));
        }
        None => {}
    }
    lines.extend(
        plus_build
            .iter()
            .map(|expression| format!("// +build {expression}")),
    );
    lines
}

/// A `// +build` constraint in `//go:build` syntax, spelled as `go/build/constraint` prints
/// it (and so as gofmt writes it): lines are ANDed, a line's space-separated options ORed, an
/// option's comma-separated terms ANDed.
fn plus_build_to_go_build(lines: &[String]) -> String {
    let line_exprs: Vec<Expr> = lines
        .iter()
        .map(|line| {
            let options: Vec<Expr> = line
                .split_whitespace()
                .map(|option| {
                    let terms = option.split(',').map(|term| match term.strip_prefix('!') {
                        Some(tag) => Expr::Not(Box::new(Expr::Tag(tag.to_owned()))),
                        None => Expr::Tag(term.to_owned()),
                    });
                    fold(terms, Expr::And)
                })
                .collect();
            fold(options.into_iter(), Expr::Or)
        })
        .collect();
    fold(line_exprs.into_iter(), Expr::And).to_string()
}

fn fold(items: impl Iterator<Item = Expr>, join: fn(Box<Expr>, Box<Expr>) -> Expr) -> Expr {
    items
        .reduce(|left, right| join(Box::new(left), Box::new(right)))
        .unwrap_or(Expr::Tag(String::new()))
}

#[derive(Debug)]
enum Expr {
    Tag(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expr::Tag(tag) => write!(f, "{tag}"),
            Expr::Not(inner) => match **inner {
                Expr::Tag(_) | Expr::Not(_) => write!(f, "!{inner}"),
                _ => write!(f, "!({inner})"),
            },
            Expr::And(left, right) => {
                write!(f, "{} && {}", wrapped_if_or(left), wrapped_if_or(right))
            }
            Expr::Or(left, right) => {
                write!(f, "{} || {}", wrapped_if_and(left), wrapped_if_and(right))
            }
        }
    }
}

fn wrapped_if_or(expr: &Expr) -> String {
    match expr {
        Expr::Or(..) => format!("({expr})"),
        _ => expr.to_string(),
    }
}

fn wrapped_if_and(expr: &Expr) -> String {
    match expr {
        Expr::And(..) => format!("({expr})"),
        _ => expr.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use testsmith_driver::{FileMembers, TestCode};

    fn test(name: &str, code: &str, imports: &[&str]) -> TestCode {
        TestCode {
            name: name.to_owned(),
            code: code.to_owned(),
            imports: imports.iter().map(|import| (*import).to_owned()).collect(),
        }
    }

    fn assemble_in(existing: Option<&str>, changes: &[TestChange]) -> Result<String, String> {
        let mut members = FileMembers::new("p/a.go", "go");
        members.package = Some("p".to_owned());
        let source = SourceFile {
            members: &members,
            text: "package p\n",
            package: &[],
        };
        assemble(&source, Path::new("p/a_test.go"), existing, changes)
    }

    #[test]
    fn a_replaced_scaffold_takes_the_imports_only_it_used_along() {
        let old = "func TestA(t *testing.T) {\n\t_ = reflect.DeepEqual(1, 1)\n}";
        let existing = format!(
            "package p\n\nimport (\n\t\"reflect\"\n\t\"testing\"\n)\n\n{old}\n\nfunc TestB(t *testing.T) {{}}\n"
        );
        let start = existing.find("func TestA").unwrap();
        let change = TestChange::Replace {
            range: start..start + old.len(),
            test: test(
                "TestA",
                "func TestA(t *testing.T) {\n\tA()\n}",
                &["\"testing\""],
            ),
        };
        assert_eq!(
            assemble_in(Some(&existing), &[change]).unwrap(),
            "package p\n\nimport (\n\t\"testing\"\n)\n\nfunc TestA(t *testing.T) {\n\tA()\n}\n\nfunc TestB(t *testing.T) {}\n"
        );
    }

    #[test]
    fn appended_tests_are_separated_by_one_blank_line_however_the_file_ends() {
        let add = TestChange::Add(test(
            "TestA",
            "func TestA(t *testing.T) {}",
            &["\"testing\""],
        ));
        let expected = "package p\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n";
        for existing in ["package p\n", "package p", "package p\n\n"] {
            assert_eq!(
                assemble_in(Some(existing), std::slice::from_ref(&add)).unwrap(),
                expected
            );
        }
        assert_eq!(
            assemble_in(Some(""), std::slice::from_ref(&add)).unwrap(),
            expected
        );
        assert_eq!(assemble_in(None, &[add]).unwrap(), expected);
    }

    #[test]
    fn go_build_lines_are_copied_with_their_plus_build_companions() {
        let source = "// Copyright.\n\n//go:build linux && !cgo\n// +build linux,!cgo\n\n// Package p.\npackage p\n";
        assert_eq!(
            build_constraints(source),
            ["//go:build linux && !cgo", "// +build linux,!cgo"]
        );
        assert!(build_constraints("package p\n\n//go:build x\n").is_empty());
    }

    #[test]
    fn plus_build_lines_alone_get_the_go_build_line_gofmt_adds() {
        assert_eq!(
            build_constraints("// +build !js\n\npackage p\n"),
            ["//go:build !js", "// +build !js"]
        );
        assert_eq!(
            plus_build_to_go_build(&["linux,386 darwin,!cgo".to_owned(), "go1.18".to_owned()]),
            "((linux && 386) || (darwin && !cgo)) && go1.18"
        );
        assert_eq!(plus_build_to_go_build(&["a b c".to_owned()]), "a || b || c");
    }
}
