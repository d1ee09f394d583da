//! The syn side of the Rust cross-check: walks a tree as `testsmith analyze --lang rust`
//! does and prints one JSON line per public function and method, found by testsmith's
//! member rules applied to syn's syntax tree instead of tree-sitter's.
//!
//! Output, one JSON object per line:
//! - `{"path","kind","name","owner"}` for each member (`kind` is `function` or `method`);
//! - `{"path","parsed":true}` once for each file syn parsed, members or not;
//! - `{"path","skipped":"<reason>"}` for a file syn cannot parse or that is not UTF-8 text:
//!   the comparison leaves those files out.
//!
//! The rules are written again here from their description, not shared with the driver, so
//! that a misreading on one side shows up as a difference.
//!
//! Usage: `crosscheck-rust ROOT...`

use ignore::WalkBuilder;
use serde_json::json;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use syn::punctuated::Punctuated;
use syn::{Attribute, ImplItem, Item, Meta, Token, Type, Visibility};

fn main() -> io::Result<()> {
    let roots: Vec<String> = std::env::args().skip(1).collect();
    if roots.is_empty() {
        eprintln!("usage: crosscheck-rust ROOT...");
        std::process::exit(2);
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for root in &roots {
        for path in rust_files(root) {
            check_file(&path, &mut out)?;
        }
    }
    out.flush()?;
    EXCLUDED.with(|excluded| eprintln!("left out: {:?}", excluded.borrow()));
    Ok(())
}

/// The `.rs` files below `root` with testsmith's excludes: .gitignore and .ignore files,
/// hidden entries, `target` folders below the root, and test files.
fn rust_files(root: &str) -> Vec<String> {
    let mut files: Vec<String> = WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .ignore(true)
        .require_git(false)
        .follow_links(true)
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|kind| kind.is_dir());
            !(is_dir && entry.depth() > 0 && entry.file_name() == "target")
        })
        .build()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_file()))
        .map(|entry| entry.path().to_string_lossy().into_owned())
        .filter(|path| path.ends_with(".rs") && !is_test_file(Path::new(path)))
        .collect();
    files.sort();
    files
}

/// testsmith's test files: `_tests.rs` siblings, and anything in a `tests` or `benches`
/// folder unless a `src` folder follows that folder in the path.
fn is_test_file(path: &Path) -> bool {
    let parts: Vec<String> = path
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let Some((file, folders)) = parts.split_last() else {
        return false;
    };
    if file.ends_with("_tests.rs") {
        return true;
    }
    match folders.iter().rposition(|f| f == "tests" || f == "benches") {
        Some(at) => !folders[at + 1..].iter().any(|f| f == "src"),
        None => false,
    }
}

fn check_file(path: &str, out: &mut impl Write) -> io::Result<()> {
    let bytes = std::fs::read(path)?;
    if bytes[..bytes.len().min(8000)].contains(&0) {
        return skipped(out, path, "binary");
    }
    let Ok(source) = String::from_utf8(bytes) else {
        return skipped(out, path, "not UTF-8");
    };
    let file = match syn::parse_file(&source) {
        Ok(file) => file,
        Err(error) => return skipped(out, path, &format!("syn: {error}")),
    };
    writeln!(out, "{}", json!({"path": path, "parsed": true}))?;
    if is_test_only(&file.attrs) {
        return Ok(());
    }
    let mut members = Vec::new();
    collect(&file.items, &mut members);
    for (kind, name, owner) in members {
        let line = json!({"path": path, "kind": kind, "name": name, "owner": owner});
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn skipped(out: &mut impl Write, path: &str, reason: &str) -> io::Result<()> {
    writeln!(out, "{}", json!({"path": path, "skipped": reason}))
}

type Found = (&'static str, String, Option<String>);

/// How often each rule left a function out, printed to stderr at the end: evidence that the
/// corpus exercises the rules the comparison is meant to check.
#[derive(Debug, Default)]
struct Excluded {
    test_only: usize,
    restricted_visibility: usize,
    trait_impl_fns: usize,
    item_macros: usize,
    foreign_fns: usize,
}

thread_local! {
    static EXCLUDED: std::cell::RefCell<Excluded> = std::cell::RefCell::default();
}

fn count(bump: impl FnOnce(&mut Excluded)) {
    EXCLUDED.with(|excluded| bump(&mut excluded.borrow_mut()));
}

/// Public functions of `items` and of the inline modules among them, and the public methods
/// of inherent impls. Function bodies, trait impls, macros and foreign blocks are not
/// entered.
fn collect(items: &[Item], found: &mut Vec<Found>) {
    for item in items {
        match item {
            Item::Fn(function) => match (is_pub(&function.vis), is_test_only(&function.attrs)) {
                (true, false) => found.push(("function", function.sig.ident.to_string(), None)),
                (true, true) => count(|c| c.test_only += 1),
                (false, _) => count_restricted(&function.vis),
            },
            Item::Impl(block) if block.trait_.is_some() => {
                count(|c| c.trait_impl_fns += block.items.len());
            }
            Item::Impl(block) if is_test_only(&block.attrs) => count(|c| c.test_only += 1),
            Item::Impl(block) => {
                let owner = owner_of(&block.self_ty);
                for impl_item in &block.items {
                    let ImplItem::Fn(method) = impl_item else {
                        continue;
                    };
                    match (is_pub(&method.vis), is_test_only(&method.attrs)) {
                        (true, false) => found.push((
                            "method",
                            method.sig.ident.to_string(),
                            Some(owner.clone()),
                        )),
                        (true, true) => count(|c| c.test_only += 1),
                        (false, _) => count_restricted(&method.vis),
                    }
                }
            }
            // syn puts a module's inner attributes (`#![cfg(test)]`) in `attrs` too.
            Item::Mod(module) if is_test_only(&module.attrs) => count(|c| c.test_only += 1),
            Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    collect(items, found);
                }
            }
            Item::Macro(_) => count(|c| c.item_macros += 1),
            Item::ForeignMod(block) => count(|c| c.foreign_fns += block.items.len()),
            _ => {}
        }
    }
}

fn count_restricted(visibility: &Visibility) {
    if matches!(visibility, Visibility::Restricted(_)) {
        count(|c| c.restricted_visibility += 1);
    }
}

fn is_pub(visibility: &Visibility) -> bool {
    matches!(visibility, Visibility::Public(_))
}

/// The last path segment of an impl's self type, through references, pointers, parentheses
/// and trait objects (the first trait bound).
fn owner_of(ty: &Type) -> String {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(String::new, |segment| segment.ident.to_string()),
        Type::Reference(reference) => owner_of(&reference.elem),
        Type::Ptr(pointer) => owner_of(&pointer.elem),
        Type::Paren(inner) => owner_of(&inner.elem),
        Type::Group(inner) => owner_of(&inner.elem),
        Type::TraitObject(object) => object
            .bounds
            .iter()
            .find_map(|bound| match bound {
                syn::TypeParamBound::Trait(bound) => bound.path.segments.last(),
                _ => None,
            })
            .map_or_else(String::new, |segment| segment.ident.to_string()),
        other => quote_text(other),
    }
}

fn quote_text(ty: &Type) -> String {
    use quote::ToTokens;
    ty.to_token_stream().to_string()
}

/// Whether the attributes make the item exist only in test builds: a `cfg` whose predicate
/// is false whenever `test` is, or a test function attribute (`#[test]`, `#[tokio::test]`).
fn is_test_only(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        if path.is_ident("cfg") {
            return attr
                .parse_args::<Meta>()
                .ok()
                .is_some_and(|predicate| value_without_test(&predicate) == Some(false));
        }
        let is_test_name = path.segments.last().is_some_and(|s| s.ident == "test");
        match &attr.meta {
            Meta::Path(_) if path.is_ident("test") => true,
            _ => is_test_name && path.segments.len() > 1,
        }
    })
}

/// A `cfg` predicate's value in a build without `test`: `Some` when it does not depend on any
/// other option, `None` when it does.
fn value_without_test(predicate: &Meta) -> Option<bool> {
    match predicate {
        Meta::Path(path) if path.is_ident("test") => Some(false),
        Meta::Path(_) | Meta::NameValue(_) => None,
        Meta::List(list) => {
            let Ok(inner) = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            else {
                return None;
            };
            let values: Vec<Option<bool>> = inner.iter().map(value_without_test).collect();
            if list.path.is_ident("all") {
                if values.contains(&Some(false)) {
                    Some(false)
                } else if values.iter().all(|v| *v == Some(true)) {
                    Some(true)
                } else {
                    None
                }
            } else if list.path.is_ident("any") {
                if values.contains(&Some(true)) {
                    Some(true)
                } else if values.iter().all(|v| *v == Some(false)) {
                    Some(false)
                } else {
                    None
                }
            } else if list.path.is_ident("not") && values.len() == 1 {
                values[0].map(|v| !v)
            } else {
                None
            }
        }
    }
}
