//! Go imports: what a file imports and by which name, and adding imports to a test file the
//! way gofmt and goimports lay them out — never removing or reordering what is there.

use crate::stdlib;
use std::ops::Range;
use testsmith_driver::syntax;
use tree_sitter::Node;

/// One import spec: a path and, when written, the name it is imported as.
///
/// Ordered by path, then alias: the order gofmt sorts specs in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ImportSpec {
    pub path: String,
    pub alias: Option<String>,
}

impl ImportSpec {
    pub(crate) fn new(path: &str) -> Self {
        ImportSpec {
            path: path.to_owned(),
            alias: None,
        }
    }

    /// Reads the spelling [`render`](ImportSpec::render) writes (and `TestCode::imports`
    /// carries): `"reflect"`, `yaml "gopkg.in/yaml.v3"`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (alias, path) = match text.split_once(char::is_whitespace) {
            Some((alias, path)) => (Some(alias.to_owned()), path.trim()),
            None => (None, text),
        };
        let path = unquote(path)?;
        Some(ImportSpec {
            path: path.to_owned(),
            alias,
        })
    }

    /// The spec as Go writes it: `"reflect"`, `yaml "gopkg.in/yaml.v3"`.
    pub(crate) fn render(&self) -> String {
        match &self.alias {
            Some(alias) => format!("{alias} \"{}\"", self.path),
            None => format!("\"{}\"", self.path),
        }
    }

    /// The name code uses the package by: the alias, or the name guessed from the path.
    /// `None` for blank (`_`) and dot imports, which bind no name.
    pub(crate) fn name(&self) -> Option<String> {
        match self.alias.as_deref() {
            Some("_" | ".") => None,
            Some(alias) => Some(alias.to_owned()),
            None => Some(guess_name(&self.path)),
        }
    }
}

/// The name a package is used by when imported without an alias, as goimports guesses it
/// from the path: the last element, without a `/vN` major-version suffix, a `.vN` suffix
/// (`gopkg.in/yaml.v3` → `yaml`) or `go-`, `-go` and `.go` decorations.
pub(crate) fn guess_name(path: &str) -> String {
    let mut elements = path.rsplit('/');
    let mut last = elements.next().unwrap_or(path);
    if is_major_version(last)
        && let Some(before) = elements.next()
    {
        last = before;
    }
    let last = match last.rsplit_once('.') {
        Some((head, version)) if is_major_version(version) => head,
        _ => last,
    };
    let last = last.strip_prefix("go-").unwrap_or(last);
    let last = last.strip_suffix("-go").unwrap_or(last);
    let last = last.strip_suffix(".go").unwrap_or(last);
    last.replace(['-', '.'], "_")
}

fn is_major_version(element: &str) -> bool {
    element
        .strip_prefix('v')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

fn unquote(literal: &str) -> Option<&str> {
    literal
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .or_else(|| {
            literal
                .strip_prefix('`')
                .and_then(|rest| rest.strip_suffix('`'))
        })
}

/// An import as it stands in a file.
#[derive(Debug, Clone)]
pub(crate) struct FoundImport {
    pub spec: ImportSpec,
    /// The whole `import` declaration holding it.
    pub declaration: Range<usize>,
    /// The spec itself (`yaml "gopkg.in/yaml.v3"`).
    pub range: Range<usize>,
}

/// Every import of the file rooted at `root`, in order.
pub(crate) fn file_imports(root: Node<'_>, text: &str) -> Vec<FoundImport> {
    let mut found = Vec::new();
    let mut cursor = root.walk();
    for declaration in root.children(&mut cursor) {
        if declaration.kind() != "import_declaration" {
            continue;
        }
        let mut specs = Vec::new();
        collect_specs(declaration, &mut specs);
        for spec in specs {
            let Some(path) = spec
                .child_by_field_name("path")
                .and_then(|path| unquote(syntax::text(path, text)))
            else {
                continue;
            };
            let alias = spec
                .child_by_field_name("name")
                .map(|name| syntax::text(name, text).to_owned());
            found.push(FoundImport {
                spec: ImportSpec {
                    path: path.to_owned(),
                    alias,
                },
                declaration: declaration.byte_range(),
                range: spec.byte_range(),
            });
        }
    }
    found
}

/// The byte ranges of the import declarations of `text`, a whole Go file.
pub(crate) fn declaration_ranges(text: &str) -> Vec<Range<usize>> {
    let Some(tree) = parse_header(text) else {
        return Vec::new();
    };
    let root = tree.root_node();
    let mut cursor = root.walk();
    root.children(&mut cursor)
        .filter(|declaration| declaration.kind() == "import_declaration")
        .map(|declaration| declaration.byte_range())
        .collect()
}

/// How long the header of `text`, a Go file, is: the build constraints, package clause and
/// imports before its first other top-level declaration. Imports are read from the header
/// alone, which spares parsing every function body of a large file.
fn header_len(text: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let starts_declaration = ["func", "type", "var", "const"].iter().any(|keyword| {
            line.strip_prefix(keyword)
                .is_some_and(|rest| rest.starts_with([' ', '(', '\t']))
        });
        if starts_declaration {
            return offset;
        }
        offset += line.len();
    }
    text.len()
}

/// A syntax tree holding at least the package clause and imports of `text`, a whole Go file:
/// of its header when that parses cleanly, else of all of it. Positions are those of `text`.
pub(crate) fn parse_header(text: &str) -> Option<tree_sitter::Tree> {
    let header = &text[..header_len(text)];
    match syntax::parse(&crate::GO, header) {
        Some(tree) if !tree.root_node().has_error() => Some(tree),
        _ => syntax::parse(&crate::GO, text),
    }
}

fn collect_specs<'t>(node: Node<'t>, specs: &mut Vec<Node<'t>>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "import_spec" => specs.push(child),
            "import_spec_list" => collect_specs(child, specs),
            _ => {}
        }
    }
}

fn has_child_of_kind(node: Node<'_>, kind: &str) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor).any(|child| child.kind() == kind)
}

/// A new file's import declaration for `specs`: `import "testing"` alone, else a block with
/// the standard library first and everything else in a second group, each sorted (goimports'
/// layout, which gofmt keeps).
pub(crate) fn render_declaration(specs: &[ImportSpec]) -> String {
    let mut specs = specs.to_vec();
    specs.sort();
    specs.dedup();
    if let [single] = specs.as_slice() {
        return format!("import {}", single.render());
    }
    let (standard, others): (Vec<_>, Vec<_>) = specs
        .iter()
        .partition(|spec| stdlib::is_standard(&spec.path));
    let mut out = String::from("import (\n");
    for (index, group) in [standard, others]
        .iter()
        .filter(|group| !group.is_empty())
        .enumerate()
    {
        if index > 0 {
            out.push('\n');
        }
        for spec in group {
            out.push('\t');
            out.push_str(&spec.render());
            out.push('\n');
        }
    }
    out.push(')');
    out
}

/// `text`, a whole Go file, importing every spec of `needed` too. What is imported already
/// (the same path by the same name) is left alone, and so is every line of the file: new
/// specs join its first parenthesised import declaration — the group of standard or of
/// other packages, at their sorted place — or, when it has only lone `import "x"` lines,
/// a declaration of their own below them.
///
/// `Err` when a needed name is taken by another import of the file: `rand` from
/// `crypto/rand` cannot also be `math/rand`.
pub(crate) fn merge(text: &str, needed: &[ImportSpec]) -> Result<String, String> {
    let tree = parse(text)?;
    let root = tree.root_node();
    let found = file_imports(root, text);
    let missing = missing_from(&found, needed)?;
    if missing.is_empty() {
        return Ok(text.to_owned());
    }
    if first_block(root).is_some() {
        let mut text = text.to_owned();
        for spec in &missing {
            text = add_to_block(&text, spec)?;
        }
        return Ok(text);
    }
    let mut out = text.to_owned();
    if let Some(last) = found.last() {
        let at = line_end(text, last.declaration.end);
        let mut insertion = String::new();
        if !text[..at].ends_with('\n') {
            insertion.push('\n');
        }
        insertion.push('\n');
        insertion.push_str(&render_declaration(&missing));
        insertion.push('\n');
        out.insert_str(at, &insertion);
        return Ok(out);
    }
    // No import yet: after the package clause, a blank line either side.
    let package = first_child_of_kind(root, "package_clause")
        .ok_or_else(|| "the test file has no package clause".to_owned())?;
    let at = line_end(text, package.end_byte());
    let mut insertion = String::new();
    if !text[..at].ends_with('\n') {
        insertion.push('\n');
    }
    insertion.push('\n');
    insertion.push_str(&render_declaration(&missing));
    insertion.push('\n');
    if at < text.len() && !text[at..].starts_with('\n') {
        insertion.push('\n');
    }
    out.insert_str(at, &insertion);
    Ok(out)
}

/// The specs of `needed` that `text`, a whole Go file, does not import yet, sorted; `Err`
/// when a needed name is taken by another import of the file.
pub(crate) fn missing(text: &str, needed: &[ImportSpec]) -> Result<Vec<ImportSpec>, String> {
    let tree = parse(text)?;
    missing_from(&file_imports(tree.root_node(), text), needed)
}

fn missing_from(found: &[FoundImport], needed: &[ImportSpec]) -> Result<Vec<ImportSpec>, String> {
    let mut needed = needed.to_vec();
    needed.sort();
    needed.dedup();
    let mut missing = Vec::new();
    for spec in needed {
        if !is_imported(&spec, found)? {
            missing.push(spec);
        }
    }
    Ok(missing)
}

fn parse(text: &str) -> Result<tree_sitter::Tree, String> {
    parse_header(text).ok_or_else(|| "the Go grammar failed to load".to_owned())
}

/// Whether `spec` is imported already; `Err` if its name is bound to another path.
fn is_imported(spec: &ImportSpec, found: &[FoundImport]) -> Result<bool, String> {
    let name = spec.name();
    for import in found {
        if import.spec.path == spec.path && import.spec.name() == name {
            return Ok(true);
        }
    }
    if let Some(name) = &name
        && let Some(clash) = found
            .iter()
            .find(|import| import.spec.name().as_ref() == Some(name))
    {
        return Err(format!(
            "the test file imports {:?} as `{name}`, but the new tests need {:?} by that name",
            clash.spec.path, spec.path
        ));
    }
    Ok(false)
}

/// `text` with `spec` added to its first parenthesised import declaration.
fn add_to_block(text: &str, spec: &ImportSpec) -> Result<String, String> {
    let tree = parse(text)?;
    let root = tree.root_node();
    let block = first_block(root).ok_or_else(|| "the import block is gone".to_owned())?;
    let found = file_imports(root, text);
    let specs: Vec<&FoundImport> = found
        .iter()
        .filter(|import| import.declaration == block.byte_range())
        .collect();
    let mut out = text.to_owned();
    if specs.is_empty() {
        // `import ()`
        out.replace_range(
            block.byte_range(),
            &render_declaration(std::slice::from_ref(spec)),
        );
        return Ok(out);
    }
    let (at, insertion) = place_in_block(text, &specs, spec);
    out.insert_str(at, &insertion);
    Ok(out)
}

fn first_block(root: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = root.walk();
    root.children(&mut cursor).find(|child| {
        child.kind() == "import_declaration" && has_child_of_kind(*child, "import_spec_list")
    })
}

fn first_child_of_kind<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .find(|child| child.kind() == kind)
}

/// Where `spec` goes in a block holding `specs` (in order), and the text to insert there.
///
/// The block's runs (specs on consecutive lines, as gofmt sorts them) are its groups; a
/// standard package joins the first run holding one, anything else the last run holding a
/// non-standard one, or a new run of its own at the end.
fn place_in_block(text: &str, specs: &[&FoundImport], spec: &ImportSpec) -> (usize, String) {
    let runs = runs_of(text, specs);
    let is_standard = stdlib::is_standard(&spec.path);
    let holds_kind = |run: &&Vec<&FoundImport>| {
        run.iter()
            .any(|import| stdlib::is_standard(&import.spec.path) == is_standard)
    };
    let run = if is_standard {
        runs.iter().find(holds_kind).or(runs.first())
    } else {
        runs.iter().rev().find(holds_kind)
    };
    let line = format!("\t{}\n", spec.render());
    match run {
        Some(run) => {
            let before = run.iter().find(|import| import.spec > *spec);
            match before {
                Some(next) => (
                    above_comments(text, line_start(text, next.range.start)),
                    line,
                ),
                None => {
                    let last = run.last().expect("a run holds a spec");
                    (line_end(text, last.range.end), line)
                }
            }
        }
        None => {
            let last = specs.last().expect("a block with specs");
            (line_end(text, last.range.end), format!("\n{line}"))
        }
    }
}

fn runs_of<'a>(text: &str, specs: &[&'a FoundImport]) -> Vec<Vec<&'a FoundImport>> {
    let mut runs: Vec<Vec<&FoundImport>> = Vec::new();
    let mut previous_end_line = None;
    for import in specs {
        // A spec's comment lines belong to it: they do not split a group.
        let start_line = line_number(
            text,
            above_comments(text, line_start(text, import.range.start)),
        );
        let continues = previous_end_line.is_some_and(|end: usize| start_line <= end + 1);
        match runs.last_mut() {
            Some(run) if continues => run.push(import),
            _ => runs.push(vec![import]),
        }
        previous_end_line = Some(line_number(text, import.range.end));
    }
    runs
}

fn line_number(text: &str, at: usize) -> usize {
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |newline| newline + 1)
}

/// `at`, the start of a spec's line, moved up over the comment lines right above it: a
/// comment about a spec stays with it.
fn above_comments(text: &str, mut at: usize) -> usize {
    while at > 0 {
        let previous = line_start(text, at - 1);
        if !text[previous..at].trim_start().starts_with("//") {
            break;
        }
        at = previous;
    }
    at
}

fn line_end(text: &str, at: usize) -> usize {
    text[at..]
        .find('\n')
        .map_or(text.len(), |newline| at + newline + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(texts: &[&str]) -> Vec<ImportSpec> {
        texts
            .iter()
            .map(|text| ImportSpec::parse(text).expect("a spec"))
            .collect()
    }

    #[test]
    fn the_header_ends_where_the_first_other_declaration_begins() {
        let text =
            "//go:build x\n\npackage p\n\nimport (\n\t\"fmt\"\n)\n\n// F does.\nfunc F() {}\n";
        assert_eq!(
            &text[..header_len(text)],
            "//go:build x\n\npackage p\n\nimport (\n\t\"fmt\"\n)\n\n// F does.\n"
        );
        assert_eq!(header_len("package p\n"), 10);
        let tree = parse_header("package p\n/*\nfunc x\n*/\nimport \"a\"\nvar v = 1\n").unwrap();
        assert!(!tree.root_node().has_error());
        assert_eq!(
            file_imports(
                tree.root_node(),
                "package p\n/*\nfunc x\n*/\nimport \"a\"\nvar v = 1\n"
            )
            .len(),
            1
        );
    }

    #[test]
    fn specs_read_back_what_they_render() {
        for text in ["\"reflect\"", "yaml \"gopkg.in/yaml.v3\"", "_ \"embed\""] {
            assert_eq!(ImportSpec::parse(text).unwrap().render(), text);
        }
        assert_eq!(ImportSpec::parse("`fmt`").unwrap().path, "fmt");
        assert!(ImportSpec::parse("fmt").is_none());
    }

    #[test]
    fn names_follow_goimports_guesses() {
        assert_eq!(guess_name("net/http"), "http");
        assert_eq!(guess_name("gopkg.in/yaml.v3"), "yaml");
        assert_eq!(guess_name("github.com/go-chi/chi/v5"), "chi");
        assert_eq!(guess_name("github.com/mattn/go-sqlite3"), "sqlite3");
        assert_eq!(guess_name("github.com/x/client-go"), "client");
        assert_eq!(guess_name("github.com/x/lib.go"), "lib");
        assert_eq!(ImportSpec::parse("_ \"embed\"").unwrap().name(), None);
        assert_eq!(
            ImportSpec::parse("y \"gopkg.in/yaml.v3\"").unwrap().name(),
            Some("y".to_owned())
        );
    }

    #[test]
    fn a_new_declaration_is_single_or_grouped_standard_first() {
        assert_eq!(
            render_declaration(&specs(&["\"testing\""])),
            "import \"testing\""
        );
        assert_eq!(
            render_declaration(&specs(&[
                "\"testing\"",
                "\"github.com/google/uuid\"",
                "\"reflect\"",
                "\"testing\""
            ])),
            "import (\n\t\"reflect\"\n\t\"testing\"\n\n\t\"github.com/google/uuid\"\n)"
        );
    }

    #[test]
    fn a_lone_import_stays_as_written_and_new_ones_get_a_declaration_below_it() {
        let text = "package p\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n";
        assert_eq!(
            merge(text, &specs(&["\"reflect\"", "\"testing\"", "\"io\""])).unwrap(),
            "package p\n\nimport \"testing\"\n\nimport (\n\t\"io\"\n\t\"reflect\"\n)\n\nfunc TestA(t *testing.T) {}\n"
        );
    }

    #[test]
    fn new_imports_take_their_sorted_place_in_the_right_group() {
        let text = "package p\n\nimport (\n\t// for tests\n\t\"fmt\"\n\t\"testing\"\n\n\tyaml \"gopkg.in/yaml.v3\"\n)\n";
        let merged = merge(
            text,
            &specs(&["\"reflect\"", "\"errors\"", "\"github.com/google/uuid\""]),
        )
        .unwrap();
        assert_eq!(
            merged,
            "package p\n\nimport (\n\t\"errors\"\n\t// for tests\n\t\"fmt\"\n\t\"reflect\"\n\t\"testing\"\n\n\t\"github.com/google/uuid\"\n\tyaml \"gopkg.in/yaml.v3\"\n)\n"
        );
    }

    #[test]
    fn a_third_party_import_opens_a_group_of_its_own_after_the_standard_library() {
        let text = "package p\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n)\n";
        assert_eq!(
            merge(text, &specs(&["\"github.com/google/uuid\""])).unwrap(),
            "package p\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n\n\t\"github.com/google/uuid\"\n)\n"
        );
    }

    #[test]
    fn a_file_without_imports_gets_a_declaration_after_its_package_clause() {
        assert_eq!(
            merge("package p\n\nfunc A() {}\n", &specs(&["\"testing\""])).unwrap(),
            "package p\n\nimport \"testing\"\n\nfunc A() {}\n"
        );
        assert_eq!(
            merge("package p\nfunc A() {}\n", &specs(&["\"testing\""])).unwrap(),
            "package p\n\nimport \"testing\"\n\nfunc A() {}\n"
        );
        assert_eq!(
            merge("package p", &specs(&["\"testing\""])).unwrap(),
            "package p\n\nimport \"testing\"\n"
        );
    }

    #[test]
    fn what_is_imported_already_is_left_alone() {
        let text = "package p\n\nimport (\n\t\"testing\"\n\tt2 \"testing\"\n)\n";
        assert_eq!(merge(text, &specs(&["\"testing\""])).unwrap(), text);
    }

    #[test]
    fn a_name_bound_to_another_path_is_an_error() {
        let text = "package p\n\nimport \"crypto/rand\"\n";
        let error = merge(text, &specs(&["\"math/rand\""])).unwrap_err();
        assert!(error.contains("\"crypto/rand\" as `rand`"), "{error}");
    }
}
