//! Writing tests into a test file and attaching the test file to its source.
//!
//! Merging never clobbers: an existing test file keeps every byte the user wrote, untouched
//! scaffolds are replaced where they stand, new tests are appended, each after one blank
//! line, so the result is as rustfmt would leave it whenever the file was before.
//!
//! A new test file opens with a `//!` line and `use super::*;`. The import carries
//! `#[allow(unused_imports)]`: scaffolds call nothing, so a file of scaffolds alone would
//! make `cargo test` warn about it, and which tests a file holds changes from run to run.
//!
//! Attaching appends three lines to the source, the only edit testsmith makes there:
//!
//! ```text
//! #[cfg(test)]
//! #[path = "b_tests.rs"]
//! mod b_tests;
//! ```
//!
//! not the one-line `#[cfg(test)] #[path = "b_tests.rs"] mod b_tests;`, which rustfmt would
//! split, breaking the user's `cargo fmt --check`.

use crate::lexer::{Lexer, TokenKind};
use crate::naming;
use std::path::Path;
use testsmith_driver::{SourceFile, TestChange};

/// The import every test file needs, with the attribute that keeps a file of scaffolds
/// free of warnings.
const SUPER_IMPORT: &str = "#[allow(unused_imports)]\nuse super::*;";

/// The new text of the test file after `changes` (see the module documentation).
pub(crate) fn assemble(
    source: &SourceFile<'_>,
    existing: Option<&str>,
    changes: &[TestChange],
) -> Result<String, String> {
    let existing = existing.filter(|text| !text.trim().is_empty());
    let mut text = match existing {
        Some(existing) => replace_scaffolds(existing, changes)?,
        None => {
            if changes
                .iter()
                .any(|change| matches!(change, TestChange::Replace { .. }))
            {
                return Err("a scaffold to replace is in a test file that does not exist".into());
            }
            let module = source.members.module.as_deref().unwrap_or("crate");
            format!(
                "//! Tests of `{module}`. testsmith adds tests here but never changes one you \
                 edited.\n\n{SUPER_IMPORT}\n"
            )
        }
    };
    if existing.is_some() && !imports_super(&text) {
        text = with_super_import(&text);
    }
    let added: Vec<&str> = changes
        .iter()
        .filter_map(|change| match change {
            TestChange::Add(test) => Some(test.code.trim_end()),
            TestChange::Replace { .. } => None,
        })
        .collect();
    if !added.is_empty() {
        // Whitespace at the very end is not the user's writing; rustfmt would drop it too.
        text.truncate(text.trim_end().len());
        for code in added {
            text.push_str("\n\n");
            text.push_str(code);
        }
        text.push('\n');
    }
    Ok(text)
}

/// `existing` with each `Replace` spliced in, the last first so earlier ranges stay valid.
fn replace_scaffolds(existing: &str, changes: &[TestChange]) -> Result<String, String> {
    let mut replaces: Vec<(&std::ops::Range<usize>, &str)> = changes
        .iter()
        .filter_map(|change| match change {
            TestChange::Replace { range, test } => Some((range, test.code.trim_end())),
            TestChange::Add(_) => None,
        })
        .collect();
    replaces.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut text = existing.to_owned();
    let mut limit = text.len();
    for (range, code) in replaces {
        let is_valid = range.start <= range.end
            && range.end <= limit
            && text.is_char_boundary(range.start)
            && text.is_char_boundary(range.end);
        if !is_valid {
            return Err(format!(
                "the scaffold to replace at bytes {}..{} is not where it was",
                range.start, range.end
            ));
        }
        text.replace_range(range.clone(), code);
        limit = range.start;
    }
    Ok(text)
}

/// Whether the file imports everything of its parent module: `use super::*;` at its top level.
fn imports_super(text: &str) -> bool {
    let mut depth = 0usize;
    let tokens: Vec<_> = Lexer::new(text)
        .filter(|token| !token.kind.is_comment())
        .collect();
    for (index, token) in tokens.iter().enumerate() {
        match token.kind {
            TokenKind::Punct(b'{' | b'(' | b'[') => depth += 1,
            TokenKind::Punct(b'}' | b')' | b']') => depth = depth.saturating_sub(1),
            TokenKind::Ident if depth == 0 && token.text(text) == "use" => {
                let rest: String = tokens[index + 1..]
                    .iter()
                    .take(5)
                    .map(|token| token.text(text))
                    .collect();
                if rest.starts_with("super::*;") || rest.starts_with("self::super::*;") {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// `text` with the parent import inserted after its opening `//!` lines and inner
/// attributes, for a test file a person started without one.
fn with_super_import(text: &str) -> String {
    let mut insert_at = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with("//!") || trimmed.starts_with("#![") || trimmed.is_empty() {
            offset += line.len();
            if !trimmed.is_empty() {
                insert_at = offset;
            }
        } else {
            break;
        }
    }
    let (head, tail) = text.split_at(insert_at);
    let separator = if head.is_empty() { "" } else { "\n" };
    let tail = tail.trim_start_matches(['\n', '\r']);
    format!("{head}{separator}{SUPER_IMPORT}\n\n{tail}")
}

/// The new text of `source_text` with `test_file` attached, or `None` when it declares the
/// test module already, in any form.
pub(crate) fn attach(source_path: &Path, source_text: &str, test_file: &Path) -> Option<String> {
    let module = naming::test_module_name(test_file)?;
    if declares_module(source_text, module) {
        return None;
    }
    let path = naming::path_attribute(source_path, test_file);
    let mut text = source_text.to_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.trim().is_empty() && !text.ends_with("\n\n") {
        text.push('\n');
    }
    text.push_str(&format!(
        "#[cfg(test)]\n#[path = \"{path}\"]\nmod {module};\n"
    ));
    Some(text)
}

/// Whether `text` declares `mod <module>` (`mod m;`, `mod m { .. }`, `pub(crate) mod r#m;`)
/// anywhere outside comments and strings.
fn declares_module(text: &str, module: &str) -> bool {
    let mut tokens = Lexer::new(text).filter(|token| !token.kind.is_comment());
    while let Some(token) = tokens.next() {
        if token.kind == TokenKind::Ident
            && token.text(text) == "mod"
            && let Some(name) = tokens.next()
        {
            let name = name.text(text);
            if name.strip_prefix("r#").unwrap_or(name) == module {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::{FileMembers, TestCode};

    fn test(name: &str) -> TestCode {
        TestCode {
            name: name.to_owned(),
            code: format!("#[test]\nfn {name}() {{\n    assert!(true);\n}}"),
            imports: Vec::new(),
        }
    }

    fn assembled(existing: Option<&str>, changes: &[TestChange]) -> String {
        let mut file = FileMembers::new("src/a/b.rs", "rust");
        file.module = Some("crate::a::b".to_owned());
        let source = SourceFile {
            members: &file,
            text: "",
            package: &[],
        };
        assemble(&source, existing, changes).expect("assembled")
    }

    #[test]
    fn a_new_test_file_has_a_header_the_import_and_the_tests() {
        let text = assembled(
            None,
            &[
                TestChange::Add(test("test_a")),
                TestChange::Add(test("test_b")),
            ],
        );
        assert_eq!(
            text,
            "//! Tests of `crate::a::b`. testsmith adds tests here but never changes one you \
             edited.\n\n#[allow(unused_imports)]\nuse super::*;\n\n#[test]\n\
             fn test_a() {\n    assert!(true);\n}\n\n#[test]\nfn test_b() {\n    assert!(true);\n}\n"
        );
    }

    #[test]
    fn new_tests_are_appended_and_every_existing_byte_is_kept() {
        let existing = "use super::*;\n\n// mine\n#[test]\nfn mine() {}\n";
        let text = assembled(Some(existing), &[TestChange::Add(test("test_a"))]);
        assert!(text.starts_with(existing));
        assert!(text.ends_with("fn mine() {}\n\n#[test]\nfn test_a() {\n    assert!(true);\n}\n"));
    }

    #[test]
    fn trailing_blank_lines_do_not_pile_up_before_an_appended_test() {
        let text = assembled(
            Some("use super::*;\n\n\n\n"),
            &[TestChange::Add(test("test_a"))],
        );
        assert!(text.starts_with("use super::*;\n\n#[test]"), "{text}");
    }

    #[test]
    fn scaffolds_are_replaced_where_they_stand_the_last_first() {
        let existing = "use super::*;\n\nOLD_A\n\nmine\n\nOLD_B\n";
        let a = existing.find("OLD_A").unwrap();
        let b = existing.find("OLD_B").unwrap();
        let text = assembled(
            Some(existing),
            &[
                TestChange::Replace {
                    range: a..a + 5,
                    test: test("test_a"),
                },
                TestChange::Replace {
                    range: b..b + 5,
                    test: test("test_b"),
                },
            ],
        );
        assert_eq!(
            text,
            "use super::*;\n\n#[test]\nfn test_a() {\n    assert!(true);\n}\n\nmine\n\n#[test]\n\
             fn test_b() {\n    assert!(true);\n}\n"
        );
    }

    #[test]
    fn a_replace_outside_the_file_is_an_error() {
        let mut file = FileMembers::new("src/a/b.rs", "rust");
        file.module = Some("crate::a::b".to_owned());
        let source = SourceFile {
            members: &file,
            text: "",
            package: &[],
        };
        let change = TestChange::Replace {
            range: 5..50,
            test: test("test_a"),
        };
        assert!(assemble(&source, Some("use super::*;\n"), &[change]).is_err());
    }

    #[test]
    fn a_test_file_a_person_wrote_without_the_parent_import_gets_it() {
        let text = assembled(
            Some("//! My tests.\n\nuse std::fmt;\n"),
            &[TestChange::Add(test("test_a"))],
        );
        assert!(
            text.starts_with(
                "//! My tests.\n\n#[allow(unused_imports)]\nuse super::*;\n\nuse std::fmt;\n\n#[test]"
            ),
            "{text}"
        );
    }

    #[test]
    fn attaching_appends_three_lines_after_a_blank_line() {
        let attached = attach(
            Path::new("src/a/b.rs"),
            "pub fn f() {}",
            Path::new("src/a/b_tests.rs"),
        );
        assert_eq!(
            attached.as_deref(),
            Some("pub fn f() {}\n\n#[cfg(test)]\n#[path = \"b_tests.rs\"]\nmod b_tests;\n")
        );
    }

    #[test]
    fn a_source_that_declares_the_module_in_any_form_is_left_alone() {
        let test_file = Path::new("src/b_tests.rs");
        for text in [
            "#[cfg(test)] #[path = \"b_tests.rs\"] mod b_tests;\n",
            "mod b_tests {\n}\n",
            "pub(crate) mod r#b_tests;",
        ] {
            assert_eq!(
                attach(Path::new("src/b.rs"), text, test_file),
                None,
                "{text}"
            );
        }
    }

    #[test]
    fn a_mention_in_a_comment_or_string_is_not_a_declaration() {
        let text = "// mod b_tests;\nconst S: &str = \"mod b_tests;\";\n";
        assert!(attach(Path::new("src/b.rs"), text, Path::new("src/b_tests.rs")).is_some());
    }

    #[test]
    fn a_binary_attaches_its_test_file_from_the_folder_below() {
        let attached = attach(
            Path::new("src/bin/tool.rs"),
            "fn main() {}\n\n",
            Path::new("src/bin/tool/tool_tests.rs"),
        )
        .unwrap();
        assert!(attached.ends_with(
            "fn main() {}\n\n#[cfg(test)]\n#[path = \"tool/tool_tests.rs\"]\nmod tool_tests;\n"
        ));
    }
}
