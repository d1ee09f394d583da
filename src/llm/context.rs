//! What the model is shown of the package around the members it tests: the types they use
//! with their fields (a test builds values of them), the functions that build those values
//! (constructors), and the signatures of the other members they name. Built from the
//! analysed sources; the driver renders a declaration, nothing here knows a language.
//!
//! Measured with a real small model (docs/benchmarks.md): without a type's fields and its
//! constructor, a model guesses them — `Rect{Width: 2}` for a `Rect{W, H}` — and the test does
//! not compile.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, FileMembers, Member};

/// A type declaration longer than this many lines is shown by its signature only: its fields
/// would crowd out the rest of the context.
const MAX_DECLARATION_LINES: usize = 40;

/// The context entries for the `wanted` members of the file at `path` whose text is `text`
/// (each member with the source the model is shown), most useful first: the receivers' types
/// in full, their constructors, the other types named, then every other member named. The
/// prompt's budget cuts from the end. Another file of the package is read only for a type
/// declared there; one that cannot be read shows its types by their signatures.
pub fn member_context(
    driver: &dyn Driver,
    files: &[FileMembers],
    (path, text): (&Path, &str),
    wanted: &[(&Member, &str)],
) -> Vec<String> {
    let mut texts: HashMap<PathBuf, Option<String>> = HashMap::new();
    texts.insert(path.to_owned(), Some(text.to_owned()));
    let mentioned: HashSet<&str> = wanted
        .iter()
        .flat_map(|(_, source)| {
            source
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|word| !word.is_empty())
        })
        .collect();
    let owners: HashSet<&str> = wanted
        .iter()
        .filter_map(|(member, _)| member.owner.as_deref())
        .collect();
    let is_wanted = |file: &FileMembers, member: &Member| {
        file.path == path
            && wanted
                .iter()
                .any(|(wanted, _)| wanted.byte_range == member.byte_range)
    };
    let mut entries: Vec<(u8, String)> = Vec::new();
    for file in files {
        for member in &file.members {
            if is_wanted(file, member) {
                continue;
            }
            let is_owner = owners.contains(member.name.as_str()) && !member.kind.is_callable();
            let builds_owner = constructs(member, &owners);
            let is_named = mentioned.contains(member.name.as_str())
                || member
                    .owner
                    .as_deref()
                    .is_some_and(|owner| mentioned.contains(owner) || owners.contains(owner));
            if !(is_owner || builds_owner || is_named) {
                continue;
            }
            let rank = if is_owner {
                0
            } else if builds_owner {
                1
            } else if !member.kind.is_callable() {
                2
            } else {
                3
            };
            let text = if member.kind.is_callable() {
                None
            } else {
                texts
                    .entry(file.path.clone())
                    .or_insert_with(|| std::fs::read_to_string(&file.path).ok())
                    .as_deref()
            };
            entries.push((rank, render(driver, file, text, member)));
        }
    }
    entries.sort();
    let mut seen = HashSet::new();
    entries
        .into_iter()
        .map(|(_, text)| text)
        .filter(|text| seen.insert(text.clone()))
        .collect()
}

/// Whether `member` is a function that returns a value of one of `owners` without needing
/// one: a plain function whose result names the type (`NewRect(w, h) (*Rect, error)`), or
/// an associated function of the type returning `Self`.
fn constructs(member: &Member, owners: &HashSet<&str>) -> bool {
    let Some(signature) = &member.callable else {
        return false;
    };
    if signature.receiver.is_some() {
        return false;
    }
    let own = member
        .owner
        .as_deref()
        .filter(|owner| owners.contains(owner));
    signature.results.iter().any(|result| {
        result
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| owners.contains(word) || (own.is_some() && word == "Self"))
    })
}

/// A member as a line (or block) of context: a type in full when its text is at hand and
/// short, else its signature; a method whose signature does not say its type is preceded by
/// a comment with its full name (`// Point::new`).
fn render(driver: &dyn Driver, file: &FileMembers, text: Option<&str>, member: &Member) -> String {
    if let Some(text) = text.and_then(|text| driver.llm_declaration(member, text))
        && text.lines().count() <= MAX_DECLARATION_LINES
    {
        return text;
    }
    let names_owner = member.owner.as_deref().is_none_or(|owner| {
        member
            .signature
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| word == owner)
    });
    if names_owner {
        member.signature.clone()
    } else {
        format!(
            "// {}\n{}",
            driver.display_name_in(file, member),
            member.signature
        )
    }
}
