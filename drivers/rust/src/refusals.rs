//! What a model-written Rust test may not hold, whatever it tests: macros that pull other
//! files into the build or assemble code, attributes that export or link symbols, and
//! `extern` blocks. `include_str!`/`include_bytes!` may read a file inside the crate, named
//! by a plain relative path. Each refusal says what to do instead, in words a model can
//! act on.

use testsmith_driver::syntax;
use tree_sitter::Node;

/// Attributes refused (by their path), with the reason given to the model.
const ATTRIBUTES: &[(&str, &str)] = &[
    (
        "no_mangle",
        "`#[no_mangle]` exports a symbol that can replace another crate's; a test exports nothing",
    ),
    (
        "export_name",
        "`#[export_name]` exports a symbol that can replace another crate's; a test exports \
         nothing",
    ),
    (
        "link",
        "`#[link]` links a native library into the test; use only the crate under test and std",
    ),
    (
        "link_section",
        "`#[link_section]` places code in a chosen section; a test needs no linker tricks",
    ),
];

/// `Err` with a reason when the parsed answer holds something refused.
pub(crate) fn check(root: Node<'_>, code: &str) -> Result<(), String> {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "macro_invocation" => check_macro(node, code)?,
            "attribute" => check_attribute(node, code)?,
            "foreign_mod_item" => {
                return Err(
                    "the answer declares an `extern` block, which links foreign \
                            functions into the test; call the crate's own Rust API"
                        .to_owned(),
                );
            }
            _ => {}
        }
        // Children in reverse, so the stack yields them in the order they are written.
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    Ok(())
}

fn check_macro(node: Node<'_>, code: &str) -> Result<(), String> {
    let Some(name) = node.child_by_field_name("macro") else {
        return Ok(());
    };
    let name = syntax::text(name, code);
    let name = name.rsplit("::").next().unwrap_or(name);
    match name {
        "include" => Err(
            "the answer uses `include!`, which compiles another file into the \
                          test; write the test's code inline"
                .to_owned(),
        ),
        "global_asm" | "naked_asm" => Err(format!(
            "the answer uses `{name}!`; a unit test calls the crate's Rust API, with no assembly"
        )),
        "include_str" | "include_bytes" => {
            let argument = node
                .children(&mut node.walk())
                .find(|child| child.kind() == "token_tree")
                .map(|tree| syntax::text(tree, code).trim_matches(['(', ')', '[', ']', '{', '}']))
                .unwrap_or_default()
                .trim();
            let path = argument
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'));
            match path {
                Some(path) if is_inside_the_crate(path) => Ok(()),
                _ => Err(format!(
                    "the answer uses `{name}!({argument})`, which may read a file outside the \
                     crate; write the data inline, or name a file of the crate by a plain \
                     relative path without `..`"
                )),
            }
        }
        _ => Ok(()),
    }
}

/// A plain relative path that stays below the test's folder (no `..`, no `/` root, no
/// escapes or computed parts).
fn is_inside_the_crate(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.split('/').any(|part| part == "..")
}

fn check_attribute(node: Node<'_>, code: &str) -> Result<(), String> {
    let text = syntax::text(node, code);
    // `#[unsafe(no_mangle)]` (edition 2024) wraps the attribute it marks.
    let inner = text
        .strip_prefix("unsafe")
        .map(|rest| rest.trim_start().trim_start_matches('(').trim_start())
        .unwrap_or(text);
    let path: String = inner
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    match ATTRIBUTES.iter().find(|(name, _)| *name == path) {
        Some((_, reason)) => Err(format!("the answer holds `#[{text}]`: {reason}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::answer::check_answer;
    use testsmith_driver::Member;

    fn largest() -> Member {
        testsmith_driver::testing::member("largest", None)
    }

    /// The answer check's verdict on a test whose body holds `body`.
    fn checked(body: &str) -> Result<String, String> {
        let answer = format!(
            "#[test]\nfn test_largest() {{\n    {body}\n    assert_eq!(largest(&[1]), Some(1));\n}}"
        );
        check_answer(&largest(), "test_largest", &answer).map(|test| test.code)
    }

    #[track_caller]
    fn assert_refused(body: &str, expected: &str) {
        let reason = checked(body).expect_err("the answer is refused");
        assert!(reason.contains(expected), "{body}: {reason}");
    }

    #[test]
    fn macros_that_pull_in_files_or_assembly_are_refused() {
        assert_refused("include!(\"/etc/evil.rs\");", "`include!`");
        assert_refused(
            "let s = include_str!(\"/root/.ssh/id_rsa\");",
            "may read a file outside the crate",
        );
        assert_refused(
            "let s = include_bytes!(\"../../../.env\");",
            "may read a file outside the crate",
        );
        assert_refused(
            "let s = include_str!(concat!(env!(\"HOME\"), \"/.netrc\"));",
            "may read a file outside the crate",
        );
        assert_refused("std::arch::global_asm!(\"nop\");", "`global_asm!`");
    }

    #[test]
    fn a_data_file_of_the_crate_may_be_included() {
        assert!(checked("let data = include_str!(\"testdata/input.txt\");").is_ok());
    }

    #[test]
    fn exporting_and_linking_attributes_are_refused() {
        assert_refused(
            "#[no_mangle]\n    extern \"C\" fn malloc() {}",
            "`#[no_mangle]` exports a symbol",
        );
        assert_refused(
            "#[unsafe(no_mangle)]\n    extern \"C\" fn free() {}",
            "`#[no_mangle]` exports a symbol",
        );
        assert_refused(
            "#[export_name = \"open\"]\n    fn open() {}",
            "`#[export_name]`",
        );
        assert_refused(
            "#[link(name = \"evil\")]\n    unsafe extern \"C\" {}",
            "`#[link]` links a native library",
        );
    }

    #[test]
    fn extern_blocks_are_refused() {
        assert_refused(
            "unsafe extern \"C\" { fn getenv(name: *const u8) -> *const u8; }",
            "declares an `extern` block",
        );
    }

    #[test]
    fn ordinary_attributes_and_macros_pass() {
        assert!(
            checked("#[allow(unused)]\n    let x = vec![1];\n    println!(\"{x:?}\");").is_ok()
        );
    }
}
