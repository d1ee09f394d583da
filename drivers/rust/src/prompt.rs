//! The skeleton a model completes for a member's test: the call written with the path the
//! test file reaches it by (`wrap::wrap`, `Point::distance`), the receiver built with its
//! constructor, one `let` per argument and an `assert_eq!` whose wanted value is left as `…`
//! to fill.
//!
//! ```text
//! #[test]
//! fn test_point_distance() {
//!     let point = Point::new(…, …); // x: f64, y: f64
//!     let other: Point = …;
//!     let got = point.distance(&other);
//!     assert_eq!(got, …);
//! }
//! ```
//!
//! Measured with a real 0.5B model (docs/benchmarks.md): it called a module as a function
//! (`text::wrap(…)` for `text::wrap::wrap`) and left arguments out; a call already written
//! with its arguments named is filled in.

use crate::scaffold::{call_path, constructor_of, owner_path};
use testsmith_driver::{Member, SourceFile};

/// The skeleton of `member`'s test named `test_name`, or `None` for a member that is not a
/// function (a type) or whose call a skeleton cannot spell out (async, unsafe, generic over
/// types the test must choose).
pub(crate) fn skeleton(
    source: &SourceFile<'_>,
    member: &Member,
    test_name: &str,
) -> Option<String> {
    let callable = member.callable.as_ref()?;
    if callable.has_qualifier("async") || callable.has_qualifier("unsafe") {
        return None;
    }
    let type_params: Vec<&str> = callable
        .type_params
        .iter()
        .filter(|param| !param.starts_with('\''))
        .map(|param| param.split([':', '=']).next().unwrap_or(param).trim())
        .collect();
    let generic = |ty: &str| {
        ty.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| type_params.contains(&word))
    };
    // No sentence about the call (the scaffold's `todo!` text): measured with a 0.5B model,
    // a skeleton opening with the member's signature in a comment had the model write the
    // member again; only the choice of types is left to say.
    let mut lines = Vec::new();
    if !type_params.is_empty() {
        let names: Vec<String> = type_params.iter().map(|name| format!("`{name}`")).collect();
        lines.push(format!("// pick concrete types for {}", names.join(", ")));
    }
    let mut args = Vec::new();
    for param in &callable.params {
        let name = param.name.trim_start_matches("mut ");
        if name.is_empty() || name.contains(['(', '[', '{', ':']) || name == "_" {
            return None;
        }
        // A borrowed argument is an owned local lent to the call: a model asked for a
        // `&Point` writes `Point::new(..)`, which does not compile as a reference.
        let (ty, lent) = borrowed(&param.ty);
        let binding = if lent == "&mut " { "let mut" } else { "let" };
        if generic(&ty) {
            lines.push(format!("{binding} {name} = …;"));
        } else {
            lines.push(format!("{binding} {name}: {ty} = …;"));
        }
        args.push(format!("{lent}{name}"));
    }
    let args = args.join(", ");
    let has_result = !callable.results.is_empty();
    let mut checked = "got".to_owned();
    let call = match (&callable.receiver, &member.owner) {
        (Some(receiver), Some(owner)) => {
            let var = variable_name(owner);
            let mutable = receiver.ty.contains("mut");
            let owner_path = owner_path(source.members, member, owner);
            let built = match constructor_of(source, member, owner) {
                Some(constructor) => {
                    let params = constructor
                        .callable
                        .as_ref()
                        .map(|c| c.params.as_slice())
                        .unwrap_or_default();
                    let holes = vec!["…"; params.len()].join(", ");
                    let named: Vec<String> = params
                        .iter()
                        .map(|param| format!("{}: {}", param.name, param.ty))
                        .collect();
                    let unwrap = constructor
                        .callable
                        .as_ref()
                        .and_then(|c| c.results.first())
                        .filter(|result| {
                            result.starts_with("Result") || result.starts_with("Option")
                        })
                        .map_or("", |_| ".unwrap()");
                    let comment = if named.is_empty() {
                        String::new()
                    } else {
                        format!(" // {}", named.join(", "))
                    };
                    format!(
                        "{owner_path}::{}({holes}){unwrap};{comment}",
                        constructor.name
                    )
                }
                None => format!("{owner_path} {{ … }};"),
            };
            let binding = if mutable { "let mut" } else { "let" };
            lines.insert(0, format!("{binding} {var} = {built}"));
            if mutable && !has_result {
                checked = var.clone();
            }
            format!("{var}.{}({args})", member.name)
        }
        (Some(_), None) => return None,
        (None, _) => format!("{}({args})", call_path(source.members, member)),
    };
    if has_result {
        lines.push(format!("let got = {call};"));
    } else {
        lines.push(format!("{call};"));
    }
    if has_result || checked != "got" {
        lines.push(format!("assert_eq!({checked}, …);"));
    } else {
        lines.push("assert!(…);".to_owned());
    }
    let body: Vec<String> = lines.iter().map(|line| format!("    {line}")).collect();
    Some(format!(
        "#[test]\nfn {test_name}() {{\n{}\n}}",
        body.join("\n")
    ))
}

/// The type of the local an argument of type `ty` is made from, and how it is lent: `&Point`
/// → `Point` lent as `&`, `&[u8]` → `Vec<u8>`, `&mut String` → `String` lent as `&mut `.
/// `&str` and owned types are passed as they are.
fn borrowed(ty: &str) -> (String, &'static str) {
    let ty = ty.trim();
    let (inner, lent) = if let Some(inner) = ty.strip_prefix("&mut ") {
        (inner.trim(), "&mut ")
    } else if let Some(inner) = ty.strip_prefix('&') {
        (inner.trim(), "&")
    } else {
        return (ty.to_owned(), "");
    };
    if inner.starts_with('\'')
        || inner == "str"
        || inner.starts_with("dyn ")
        || inner.starts_with("impl ")
    {
        return (ty.to_owned(), "");
    }
    match inner
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(element) if !element.contains(';') => (format!("Vec<{element}>"), lent),
        _ => (inner.to_owned(), lent),
    }
}

/// `point` for `Point`, `http_client` for `HttpClient`: the receiver's variable.
fn variable_name(owner: &str) -> String {
    let base = owner.split('<').next().unwrap_or(owner);
    let mut name = String::new();
    for (index, c) in base.chars().enumerate() {
        if c.is_uppercase() {
            if index > 0 {
                name.push('_');
            }
            name.extend(c.to_lowercase());
        } else {
            name.push(c);
        }
    }
    match name.as_str() {
        "" | "self" | "got" | "type" | "mod" | "fn" | "match" | "ref" | "box" => "value".to_owned(),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use testsmith_driver::Driver;

    const SOURCE: &str = "pub struct Point { pub x: f64, pub y: f64 }\n\nimpl Point {\n    \
        pub fn new(x: f64, y: f64) -> Self { Point { x, y } }\n    \
        pub fn distance(&self, other: &Point) -> f64 { 0.0 }\n    \
        pub fn translate(&mut self, dx: f64) { self.x += dx; }\n}\n\n\
        pub mod wrap {\n    pub fn wrap(s: &str, width: usize) -> Vec<String> { vec![] }\n}\n\n\
        pub fn largest<T: PartialOrd>(items: &[T]) -> Option<&T> { items.first() }\n";

    fn skeleton_of(name: &str) -> String {
        let file = crate::RustDriver.analyze(Path::new("src/lib.rs"), SOURCE);
        let package = [file.clone()];
        let source = SourceFile {
            members: &file,
            text: SOURCE,
            package: &package,
        };
        let member = file.members.iter().find(|m| m.name == name).unwrap();
        skeleton(&source, member, &format!("test_{name}")).expect("a skeleton")
    }

    #[test]
    fn a_method_is_called_on_a_receiver_built_with_its_constructor() {
        let code = skeleton_of("distance");
        assert!(
            code.starts_with("#[test]\nfn test_distance() {\n    let point = "),
            "{code}"
        );
        assert!(
            code.contains("    let point = Point::new(…, …); // x: f64, y: f64\n    let other: Point = …;\n    let got = point.distance(&other);\n    assert_eq!(got, …);\n}"),
            "{code}"
        );
    }

    #[test]
    fn a_mutating_method_without_a_result_checks_the_receiver() {
        let code = skeleton_of("translate");
        assert!(code.contains("let mut point = Point::new(…, …);"), "{code}");
        assert!(
            code.contains("    point.translate(dx);\n    assert_eq!(point, …);"),
            "{code}"
        );
    }

    #[test]
    fn a_function_in_an_inner_module_is_called_by_its_path() {
        let code = skeleton_of("wrap");
        assert!(code.contains("let got = wrap::wrap(s, width);"), "{code}");
        assert!(
            code.contains("let s: &str = …;\n    let width: usize = …;"),
            "{code}"
        );
        // A generic parameter's type is the test's to choose.
        let largest = skeleton_of("largest");
        assert!(
            largest.contains("    // pick concrete types for `T`\n    let items = …;"),
            "{largest}"
        );
    }

    #[test]
    fn a_borrowed_argument_is_an_owned_local_lent_to_the_call() {
        assert_eq!(borrowed("&Point"), ("Point".to_owned(), "&"));
        assert_eq!(borrowed("&mut String"), ("String".to_owned(), "&mut "));
        assert_eq!(borrowed("&[u8]"), ("Vec<u8>".to_owned(), "&"));
        assert_eq!(borrowed("&str"), ("&str".to_owned(), ""));
        assert_eq!(borrowed("&'a str"), ("&'a str".to_owned(), ""));
        assert_eq!(borrowed("usize"), ("usize".to_owned(), ""));
    }

    #[test]
    fn the_receivers_variable_is_its_type_in_snake_case() {
        assert_eq!(variable_name("HttpClient"), "http_client");
        assert_eq!(variable_name("Stack<T>"), "stack");
        assert_eq!(variable_name("Self"), "value");
    }
}
