//! The offline scaffold of a member's test: an ignored `#[test]` whose body is a `todo!()`
//! naming the call to make, below testsmith's marker.
//!
//! ```text
//! // testsmith:scaffold sig=1a2b3c4d body=5e6f7a8b
//! #[test]
//! #[ignore = "testsmith: write this test"]
//! fn test_point_distance() {
//!     todo!("build a `Point` (e.g. with `Point::new`), call `Point::distance(&self, other: &Point) -> f64` on it and assert on the result");
//! }
//! ```
//!
//! Ignored, so `cargo test` stays green while `cargo test -- --ignored` lists the work left;
//! a `todo!()`, so the test compiles whatever the member's types are, with no warning.

use crate::naming;
use testsmith_driver::{FileMembers, Member, MemberKind, SourceFile, TestCode, marker};

/// What the `#[ignore]` of every scaffold says.
pub(crate) const IGNORE_REASON: &str = "testsmith: write this test";

/// rustfmt's default line width, which decides how the `todo!()` line is laid out.
const MAX_WIDTH: usize = 100;

/// The scaffold of `member`'s test, marker line first, without a trailing newline.
pub(crate) fn scaffold(source: &SourceFile<'_>, member: &Member) -> Result<TestCode, String> {
    if !member.kind.is_callable() {
        return Err(format!(
            "`{}` is a type; only functions get tests",
            member.name
        ));
    }
    let name = naming::test_name(source.members, member);
    let message = todo_message(source, member);
    let body = crate::attributes::with_member_cfgs(
        member,
        &format!(
            "#[test]\n#[ignore = \"{IGNORE_REASON}\"]\nfn {name}() {{\n{}\n}}",
            todo_line(&message)
        ),
    );
    let marker = marker::marker_line(&marker::signature_hash(&member.signature), &body);
    Ok(TestCode {
        name,
        code: format!("{marker}\n{body}"),
        imports: Vec::new(),
    })
}

/// The `todo!(..)` statement, laid out as rustfmt would: on one line when it fits, else the
/// literal on a line of its own when that fits, else on one line anyway (rustfmt leaves a
/// macro call alone when nothing fits).
fn todo_line(message: &str) -> String {
    let literal = format!("\"{}\"", escape_format_literal(message));
    let width = literal.chars().count();
    let one_line = format!("    todo!({literal});");
    if one_line.chars().count() <= MAX_WIDTH || 8 + width > MAX_WIDTH {
        one_line
    } else {
        format!("    todo!(\n        {literal}\n    );")
    }
}

/// `text` as the inside of a format string literal: quotes and backslashes escaped, braces
/// doubled.
fn escape_format_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '{' => escaped.push_str("{{"),
            '}' => escaped.push_str("}}"),
            '\n' | '\r' | '\t' => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

/// What the test must do, in one sentence: how to get a receiver, the call with its
/// signature, what to assert on, and what async, unsafe or generic members need besides.
pub(crate) fn todo_message(source: &SourceFile<'_>, member: &Member) -> String {
    let path = call_path(source.members, member);
    let call = format!("{path}{}", call_shape(member));
    let callable = member.callable.clone().unwrap_or_default();
    let has_result = !callable.results.is_empty();
    let mut message = match (&callable.receiver, &member.owner) {
        (Some(receiver), Some(owner)) => {
            let owner_path = owner_path(source.members, member, owner);
            let built_with = constructor(source, member, owner)
                .map(|constructor| format!(" (e.g. with `{owner_path}::{constructor}`)"))
                .unwrap_or_default();
            let receiver = receiver.ty.as_str();
            let (build, takes, check) = if receiver.contains("&mut") || receiver.contains("& mut") {
                let check = if has_result {
                    "the result and on its state afterwards"
                } else {
                    "its state afterwards"
                };
                ("a mutable ", "", check)
            } else if receiver.contains('&') {
                ("a ", "", result_phrase(has_result))
            } else {
                ("a ", " (it takes the value)", result_phrase(has_result))
            };
            format!(
                "build {build}`{owner_path}`{built_with}, call `{call}` on it{takes} and assert on \
                 {check}"
            )
        }
        _ => format!("call `{call}` and assert on {}", result_phrase(has_result)),
    };
    let type_params: Vec<&str> = callable
        .type_params
        .iter()
        .map(String::as_str)
        .filter(|param| !param.starts_with('\'') && !param.starts_with("const "))
        .map(|param| param.split([':', '=']).next().unwrap_or(param).trim())
        .collect();
    if !type_params.is_empty() {
        let names: Vec<String> = type_params.iter().map(|name| format!("`{name}`")).collect();
        message.push_str(&format!("; pick concrete types for {}", names.join(", ")));
    }
    if callable.has_qualifier("async") {
        message.push_str(
            "; it is async: run it to completion on an executor (e.g. `#[tokio::test]` if the \
             project uses tokio)",
        );
    }
    if callable.has_qualifier("unsafe") {
        message.push_str(
            "; it is unsafe: call it in an `unsafe` block and uphold its safety contract",
        );
    }
    message
}

fn result_phrase(has_result: bool) -> &'static str {
    if has_result {
        "the result"
    } else {
        "its effects"
    }
}

/// How the test file reaches `member`: `name`, `Owner::name`, `inner::name`,
/// `inner::Owner::name`.
pub(crate) fn call_path(file: &FileMembers, member: &Member) -> String {
    let mut path = String::new();
    if let Some(module) = naming::module_below_file(file, member) {
        path.push_str(module);
        path.push_str("::");
    }
    if let (MemberKind::Method, Some(owner)) = (member.kind, &member.owner) {
        path.push_str(owner);
        path.push_str("::");
    }
    path.push_str(&member.name);
    path
}

pub(crate) fn owner_path(file: &FileMembers, member: &Member, owner: &str) -> String {
    match naming::module_below_file(file, member) {
        Some(module) => format!("{module}::{owner}"),
        None => owner.to_owned(),
    }
}

/// The signature from the member's name on: `(&self, other: &Point) -> f64`, `<T:
/// Copy>(items: &[T]) -> Option<T>`.
fn call_shape(member: &Member) -> String {
    let signature = member.signature.as_str();
    let needle = format!("fn {}", member.name);
    let mut search_from = 0;
    while let Some(found) = signature[search_from..].find(&needle) {
        let after = search_from + found + needle.len();
        if signature[after..].starts_with(['(', '<', ' ']) {
            // A where clause's trailing comma is part of the declaration, not of the call.
            return signature[after..]
                .trim_start()
                .trim_end_matches([',', ' '])
                .to_owned();
        }
        search_from = after;
    }
    "(..)".to_owned()
}

/// An associated function of `owner` that builds one: `new` when there is one, else the
/// first function without a receiver that returns `Self` or the owner. This file's impls are
/// searched first, then the rest of the package.
fn constructor(source: &SourceFile<'_>, member: &Member, owner: &str) -> Option<String> {
    constructor_of(source, member, owner).map(|candidate| candidate.name.clone())
}

/// The member [`constructor`] names.
pub(crate) fn constructor_of<'s>(
    source: &SourceFile<'s>,
    member: &Member,
    owner: &str,
) -> Option<&'s Member> {
    let files = std::iter::once(source.members).chain(
        source
            .package
            .iter()
            .filter(|file| file.path != source.members.path),
    );
    let candidates: Vec<&Member> = files
        .flat_map(|file| file.members.iter())
        .filter(|candidate| {
            candidate.kind == MemberKind::Method
                && candidate.owner.as_deref() == Some(owner)
                && candidate.module == member.module
        })
        .filter(|candidate| {
            candidate.callable.as_ref().is_some_and(|callable| {
                callable.receiver.is_none()
                    && callable
                        .results
                        .iter()
                        .any(|result| returns_owner(result, owner))
            })
        })
        .collect();
    candidates
        .iter()
        .find(|candidate| candidate.name == "new")
        .or(candidates.first())
        .copied()
}

/// Whether a return type hands back the owner: `Self`, `Owner`, `Owner<T>`, `Result<Self,
/// E>`, `Option<Owner>`.
fn returns_owner(result: &str, owner: &str) -> bool {
    result
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == "Self" || word == owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::Driver;

    fn scaffolds(path: &str, text: &str) -> Vec<String> {
        let file = crate::RustDriver.analyze(std::path::Path::new(path), text);
        let package = [file.clone()];
        let source = SourceFile {
            members: &file,
            text,
            package: &package,
        };
        file.members
            .iter()
            .filter(|member| member.kind.is_callable())
            .map(|member| scaffold(&source, member).expect("a scaffold").code)
            .collect()
    }

    fn messages(path: &str, text: &str) -> Vec<String> {
        let file = crate::RustDriver.analyze(std::path::Path::new(path), text);
        let package = [file.clone()];
        let source = SourceFile {
            members: &file,
            text,
            package: &package,
        };
        file.members
            .iter()
            .filter(|member| member.kind.is_callable())
            .map(|member| todo_message(&source, member))
            .collect()
    }

    #[test]
    fn a_scaffold_is_an_ignored_test_below_its_marker() {
        let code = &scaffolds("src/lib.rs", "pub fn add(a: u8, b: u8) -> u8 { a + b }\n")[0];
        let (marker_line, body) = code.split_once('\n').unwrap();
        assert!(marker::is_marker_line(marker_line));
        assert!(marker::read_marker(marker_line, body).unwrap().is_unedited);
        assert_eq!(
            body,
            "#[test]\n#[ignore = \"testsmith: write this test\"]\nfn test_add() {\n    \
             todo!(\"call `add(a: u8, b: u8) -> u8` and assert on the result\");\n}"
        );
    }

    #[test]
    fn a_method_message_says_how_to_build_the_receiver() {
        let text = "pub struct P;\nimpl P {\n    pub fn new() -> Self { P }\n    \
                    pub fn get(&self) -> u8 { 1 }\n    pub fn set(&mut self, v: u8) {}\n    \
                    pub fn into_u8(self) -> u8 { 1 }\n}\n";
        assert_eq!(
            messages("src/lib.rs", text),
            [
                "call `P::new() -> Self` and assert on the result",
                "build a `P` (e.g. with `P::new`), call `P::get(&self) -> u8` on it and assert on \
                 the result",
                "build a mutable `P` (e.g. with `P::new`), call `P::set(&mut self, v: u8)` on it \
                 and assert on its state afterwards",
                "build a `P` (e.g. with `P::new`), call `P::into_u8(self) -> u8` on it (it takes \
                 the value) and assert on the result",
            ]
        );
    }

    #[test]
    fn a_receiver_without_a_constructor_gets_no_hint() {
        let text = "pub struct P;\nimpl P { pub fn get(&self) -> u8 { 1 } }\n";
        assert_eq!(
            messages("src/lib.rs", text),
            ["build a `P`, call `P::get(&self) -> u8` on it and assert on the result"]
        );
    }

    #[test]
    fn async_unsafe_and_generic_members_say_what_they_need() {
        let text = "pub async fn fetch() -> u8 { 1 }\npub unsafe fn raw(p: *const u8) -> u8 { *p }\n\
                    pub fn big<'a, T: Ord, const N: usize>(x: &'a [T; N]) -> &'a T { &x[0] }\n";
        let found = messages("src/lib.rs", text);
        assert!(found[0].ends_with("; it is async: run it to completion on an executor (e.g. `#[tokio::test]` if the project uses tokio)"), "{}", found[0]);
        assert!(
            found[1].ends_with(
                "; it is unsafe: call it in an `unsafe` block and uphold its safety contract"
            ),
            "{}",
            found[1]
        );
        assert!(
            found[2].ends_with("; pick concrete types for `T`"),
            "{}",
            found[2]
        );
    }

    #[test]
    fn inline_module_members_are_reached_by_their_module_path() {
        let text = "pub mod wrap {\n    pub struct W;\n    impl W {\n        pub fn new() -> W { W }\n        \
                    pub fn go(&self) {}\n    }\n    pub fn wrap(s: &str) {}\n}\n";
        assert_eq!(
            messages("src/text/mod.rs", text),
            [
                "call `wrap::W::new() -> W` and assert on the result",
                "build a `wrap::W` (e.g. with `wrap::W::new`), call `wrap::W::go(&self)` on it and \
                 assert on its effects",
                "call `wrap::wrap(s: &str)` and assert on its effects",
            ]
        );
    }

    #[test]
    fn braces_and_quotes_in_a_signature_are_escaped_for_the_format_string() {
        let line = todo_line("call `f() -> Foo<{ N }>` with \"x\\y\"");
        assert_eq!(
            line,
            "    todo!(\"call `f() -> Foo<{{ N }}>` with \\\"x\\\\y\\\"\");"
        );
    }

    #[test]
    fn the_todo_line_is_laid_out_as_rustfmt_does() {
        let fits = "x".repeat(86);
        assert_eq!(todo_line(&fits).len(), 100);
        assert!(!todo_line(&fits).contains('\n'));
        let wraps = "x".repeat(88);
        assert_eq!(
            todo_line(&wraps),
            format!("    todo!(\n        \"{wraps}\"\n    );")
        );
        let overflows = "x".repeat(91);
        assert!(!todo_line(&overflows).contains('\n'));
    }

    #[test]
    fn types_get_no_scaffold() {
        let file = crate::RustDriver.analyze(std::path::Path::new("src/lib.rs"), "pub struct S;\n");
        let source = SourceFile {
            members: &file,
            text: "pub struct S;\n",
            package: &[],
        };
        assert!(scaffold(&source, &file.members[0]).is_err());
    }
}
