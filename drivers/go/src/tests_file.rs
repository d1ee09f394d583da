//! Where Go tests live and what a test file holds: `foo.go` → `foo_test.go`, the package's
//! `_test.go` files as the scope of "already tested", gotests' test names, and the test
//! functions of a file with their scaffold markers.

use std::path::{Path, PathBuf};
use testsmith_driver::{ExistingTest, FileMembers, Member, SourceFile, marker, syntax};
use tree_sitter::Node;

/// The prefixes `go test` runs functions by; only `Test` names decide "already tested", the
/// others are listed so that verification can map a diagnostic in them to a function.
const TEST_PREFIXES: &[&str] = &["Test", "Benchmark", "Example", "Fuzz"];

/// `foo.go` → `foo_test.go`, in the same folder. A name's `_linux`-style suffix stays before
/// `_test`, so the test file is built for the same platforms as the source.
/// A package whose tests must be external ([`crate::external`]) gets `foo_testsmith_test.go`:
/// `foo_test.go` is Go's own there, and stays byte for byte as it is.
pub(crate) fn test_file_for(source: &Path) -> Option<PathBuf> {
    let stem = source.file_name()?.to_str()?.strip_suffix(".go")?;
    if stem.is_empty() || stem.ends_with("_test") {
        return None;
    }
    if crate::external::folder_import_path(source).is_some() {
        let (base, platform) = split_platform_suffix(stem);
        return Some(source.with_file_name(format!("{base}_testsmith{platform}_test.go")));
    }
    Some(source.with_file_name(format!("{stem}_test.go")))
}

/// `foo_test.go`; then `foo_internal_test.go` for when `foo_test.go` belongs to the external
/// `p_test` package (the standard library has 128 such files), where scaffolds calling
/// unexported names unqualified cannot go; then `foo_testsmith_test.go` (and `…2`, `…3`) for
/// tests that need an import the others lack (adding it would move their lines) or a build
/// constraint they do not have. A `_linux`-style suffix stays last before `_test`, so every
/// candidate is built for the same platforms as the source.
pub(crate) fn test_file_candidates(source: &Path) -> Vec<PathBuf> {
    let Some(primary) = test_file_for(source) else {
        return Vec::new();
    };
    let Some(stem) = primary
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix("_test.go"))
    else {
        return vec![primary];
    };
    let (base, platform) = split_platform_suffix(stem);
    let mut candidates = vec![primary.clone()];
    let infixes: &[&str] = if crate::external::folder_import_path(source).is_some() {
        &["testsmith2", "testsmith3"]
    } else {
        &["internal", "testsmith", "testsmith2", "testsmith3"]
    };
    for infix in infixes {
        candidates.push(primary.with_file_name(format!("{base}_{infix}{platform}_test.go")));
    }
    candidates
}

/// `node_linux_amd64` → (`node`, `_linux_amd64`): the `_GOOS`, `_GOARCH` or `_GOOS_GOARCH`
/// ending that go/build reads as a constraint, split off so a name can be inserted before it.
fn split_platform_suffix(stem: &str) -> (&str, &str) {
    let parts: Vec<&str> = stem.split('_').collect();
    let n = parts.len();
    // go/build ignores the first element: `linux.go` has no constraint.
    let suffix_len = if n >= 3
        && crate::constraint::KNOWN_OS.contains(&parts[n - 2])
        && crate::constraint::KNOWN_ARCH.contains(&parts[n - 1])
    {
        2
    } else if n >= 2
        && (crate::constraint::KNOWN_OS.contains(&parts[n - 1])
            || crate::constraint::KNOWN_ARCH.contains(&parts[n - 1]))
    {
        1
    } else {
        0
    };
    let suffix_bytes: usize = parts[n - suffix_len..].iter().map(|p| p.len() + 1).sum();
    stem.split_at(stem.len() - suffix_bytes)
}

/// Why the test file holding `text` cannot take `source`'s tests: it is in
/// another package (the external `p_test`), or its build constraints differ from the
/// source's — a test of a `//go:build integration` member in an untagged file does not
/// compile, and an untagged member's test in a tagged file runs only with the tag.
pub(crate) fn can_hold_tests(source: &SourceFile<'_>, text: &str) -> Result<(), String> {
    if let (Some(existing), Ok(own)) = (package_name(text), test_package(source.members))
        && existing != own
    {
        return Err(format!("it is in package {existing}, not {own}"));
    }
    if text.trim().is_empty() {
        return Ok(());
    }
    let wanted = constraint_expression(source.text);
    let found = constraint_expression(text);
    let squeeze = |expression: &Option<String>| {
        expression
            .as_deref()
            .map(|e| e.split_whitespace().collect::<String>())
    };
    if squeeze(&wanted) != squeeze(&found) {
        let describe = |expression: &Option<String>| match expression {
            Some(expression) => format!("`//go:build {expression}`"),
            None => "no build constraint".to_owned(),
        };
        return Err(format!(
            "it has {}, its source {}",
            describe(&found),
            describe(&wanted)
        ));
    }
    Ok(())
}

/// The `//go:build` expression of a file's header (from `// +build` lines if that is all it
/// has).
pub(crate) fn constraint_expression(text: &str) -> Option<String> {
    crate::assemble::build_constraints(text)
        .first()
        .and_then(|line| line.strip_prefix("//go:build "))
        .map(str::to_owned)
}

/// Every `_test.go` file of the folder, `tests_beside` (whatever its package clause: tests of
/// the external `p_test` package count too), and `source`'s own test file.
pub(crate) fn test_scope(source: &Path, tests_beside: &[PathBuf]) -> Vec<PathBuf> {
    let mut scope = tests_beside.to_vec();
    if let Some(own) = test_file_for(source)
        && !scope.contains(&own)
    {
        scope.push(own);
    }
    scope
}

/// gotests' name: `TestFoo` for a function, `TestType_Method` for a method of `Type` (pointer
/// or value receiver alike, type parameters stripped — `owner` has none).
pub(crate) fn test_name(member: &Member) -> String {
    match &member.owner {
        Some(owner) => format!("Test{owner}_{}", member.name),
        None => format!("Test{}", member.name),
    }
}

/// Whether `go test` treats a function named `name` as one of its own: a prefix followed by
/// nothing or by a character that is not a lower-case letter (`Testify` is no test).
fn is_test_function_name(name: &str) -> bool {
    TEST_PREFIXES.iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.chars().next().is_none_or(|c| !c.is_lowercase()))
    })
}

/// The test functions of `text`, a test file, each with its marker comment and doc comment.
///
/// Read from the lexical pass alone when the file is balanced: a package's test files are
/// read for every `generate`, and a syntax tree of their declarations costs several times
/// more while telling nothing more about a test's name and extent. An unbalanced file is
/// parsed, so that tree-sitter's recovery keeps the tests around the damage.
pub(crate) fn existing_tests(text: &str) -> Vec<ExistingTest> {
    let skeleton = crate::skeleton::scan(text);
    if !skeleton.is_balanced {
        return parsed_existing_tests(text);
    }
    let mut tests = Vec::new();
    for function in skeleton.functions {
        let Some(name) = function.name.map(|range| &text[range]) else {
            continue;
        };
        if !is_test_function_name(name) {
            continue;
        }
        // The doc comment is the run of comment lines from `start` to the `func` line; a
        // marker is its first line.
        let scaffold = (function.start < function.keyword)
            .then(|| {
                let first_line_end = text[function.start..]
                    .find('\n')
                    .map_or(text.len(), |at| function.start + at);
                let below = text[first_line_end..function.end].trim_start_matches(['\r', '\n']);
                marker::read_marker(&text[function.start..first_line_end], below)
            })
            .flatten();
        tests.push(ExistingTest {
            name: name.to_owned(),
            byte_range: function.start..function.end,
            scaffold,
        });
    }
    tests
}

/// [`existing_tests`] from a syntax tree.
fn parsed_existing_tests(text: &str) -> Vec<ExistingTest> {
    let trees = crate::outline::top_level_trees(text);
    let children = crate::outline::top_level_nodes(&trees);
    let mut tests = Vec::new();
    for (index, node) in children.iter().enumerate() {
        if node.kind() != "function_declaration" {
            continue;
        }
        let Some(name) = node.child_by_field_name("name") else {
            continue;
        };
        let name = syntax::text(name, text);
        if !is_test_function_name(name) {
            continue;
        }
        let comments = lead_comments(&children[..index], *node);
        let start = comments
            .first()
            .map_or(node.start_byte(), |c| c.start_byte());
        let start = text[..start].rfind('\n').map_or(0, |at| at + 1);
        let scaffold = comments.first().and_then(|first| {
            let line = syntax::text(*first, text);
            let below = text[first.end_byte()..node.end_byte()].trim_start_matches(['\r', '\n']);
            marker::read_marker(line, below)
        });
        tests.push(ExistingTest {
            name: name.to_owned(),
            byte_range: start..node.end_byte(),
            scaffold,
        });
    }
    tests
}

/// The `//` comments on the lines right above `decl`, with no blank line between: its doc
/// comment, a scaffold marker first when testsmith wrote it.
pub(crate) fn lead_comments<'t>(before: &[Node<'t>], decl: Node<'t>) -> Vec<Node<'t>> {
    let mut comments = Vec::new();
    let mut next_row = decl.start_position().row;
    for node in before.iter().rev() {
        let is_line_comment = node.kind() == "comment" && node.start_position().column == 0;
        if !is_line_comment || node.end_position().row + 1 != next_row {
            break;
        }
        next_row = node.start_position().row;
        comments.push(*node);
    }
    comments.reverse();
    comments
}

/// The package clause's name in `text`. Read lexically: Go puts the clause before anything
/// but comments, and this is asked of every test file a run may write to.
pub(crate) fn package_name(text: &str) -> Option<String> {
    let rest = skip_space_and_comments(text.strip_prefix('\u{feff}').unwrap_or(text))?;
    let rest = rest.strip_prefix("package")?;
    let name_at = skip_space_and_comments(rest)?;
    if name_at.len() == rest.len() {
        return None; // `packagefoo`
    }
    let name: &str = &name_at[..name_at
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(name_at.len())];
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_');
    starts_well.then(|| name.to_owned())
}

/// `text` from its first token on; `None` inside an unclosed block comment.
fn skip_space_and_comments(mut text: &str) -> Option<&str> {
    loop {
        text = text.trim_start();
        if let Some(comment) = text.strip_prefix("//") {
            text = comment.find('\n').map_or("", |end| &comment[end..]);
        } else if let Some(comment) = text.strip_prefix("/*") {
            text = &comment[comment.find("*/")? + 2..];
        } else {
            return Some(text);
        }
    }
}

/// The package a file's tests are written in: the source's own (an internal test), or
/// `p_test` for a package whose tests must be external ([`crate::external`]).
pub(crate) fn test_package(file: &FileMembers) -> Result<String, String> {
    let package = file
        .package
        .as_deref()
        .ok_or_else(|| format!("{} has no package clause", file.path.display()))?;
    Ok(match crate::external::external_import_path(file) {
        Some(_) => format!("{package}_test"),
        None => package.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::{Driver as _, marker};

    use testsmith_driver::testing::member;

    #[test]
    fn test_names_follow_gotests() {
        assert_eq!(test_name(&member("NewRect", None)), "TestNewRect");
        assert_eq!(test_name(&member("Push", Some("Stack"))), "TestStack_Push");
        assert_eq!(test_name(&member("Ärger", None)), "TestÄrger");
        assert_eq!(test_name(&member("Größe", Some("Maß"))), "TestMaß_Größe");
    }

    #[test]
    fn the_test_file_sits_beside_the_source_with_the_platform_suffix_kept() {
        assert_eq!(
            test_file_for(Path::new("a/shapes.go")),
            Some(PathBuf::from("a/shapes_test.go"))
        );
        assert_eq!(
            test_file_for(Path::new("node_linux.go")),
            Some(PathBuf::from("node_linux_test.go"))
        );
        assert_eq!(test_file_for(Path::new("a/shapes_test.go")), None);
        assert_eq!(test_file_for(Path::new("a/README.md")), None);
    }

    #[test]
    fn the_scope_is_every_test_file_of_the_folder_and_the_own_one() {
        let tests_beside = [PathBuf::from("p/b_test.go"), PathBuf::from("p/x_test.go")];
        assert_eq!(
            test_scope(Path::new("p/a.go"), &tests_beside),
            [
                PathBuf::from("p/b_test.go"),
                PathBuf::from("p/x_test.go"),
                PathBuf::from("p/a_test.go")
            ]
        );
    }

    #[test]
    fn test_functions_are_found_with_their_doc_and_marker() {
        let body = "func TestA(t *testing.T) {\n\tA()\n}";
        let marker_line = marker::marker_line("1a2b3c4d", body);
        let text = format!(
            "package p\n\nimport \"testing\"\n\n{marker_line}\n{body}\n\n// TestB is mine.\n// Really.\nfunc TestB(t *testing.T) {{}}\n\nfunc helper() {{}}\n\nfunc Testify() {{}}\n\nfunc BenchmarkA(b *testing.B) {{}}\n"
        );
        let tests = existing_tests(&text);
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["TestA", "TestB", "BenchmarkA"]);
        assert_eq!(
            &text[tests[0].byte_range.clone()],
            format!("{marker_line}\n{body}")
        );
        let mark = tests[0].scaffold.as_ref().expect("a marker");
        assert_eq!(mark.signature_hash, "1a2b3c4d");
        assert!(mark.is_unedited);
        assert!(text[tests[1].byte_range.clone()].starts_with("// TestB is mine."));
        assert_eq!(tests[1].scaffold, None);
    }

    #[test]
    fn an_edited_scaffold_reads_as_edited_and_a_detached_comment_is_not_its_doc() {
        let body = "func TestA(t *testing.T) {\n\tA()\n}";
        let marker_line = marker::marker_line("1a2b3c4d", body);
        let edited = body.replace("A()", "if A() != 1 {\n\t\tt.Fail()\n\t}");
        let text = format!("package p\n\n// loose\n\n{marker_line}\n{edited}\n");
        let tests = existing_tests(&text);
        assert!(!tests[0].scaffold.as_ref().unwrap().is_unedited);
        assert!(text[tests[0].byte_range.clone()].starts_with("// testsmith:scaffold"));
    }

    /// The Go files below `dir`, recursively.
    fn go_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                go_files(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "go") {
                found.push(path);
            }
        }
    }

    #[test]
    fn the_lexical_reading_agrees_with_the_syntax_tree() {
        let edge_cases = [
            "package p\n\nfunc TestEmpty(t *testing.T) {}\nfunc TestNext(t *testing.T) { x() }\n",
            "package p\n\nfunc asm(x int) int\n\nvar v = T{1}\n\nfunc TestA(t *testing.T) {}\n",
            "package p\n\nfunc TestR() struct{ a int } { return struct{ a int }{} }\n",
            "package p\n\nfunc TestG[T any](t *testing.T) {\n\tf := func() {}\n\t_ = f\n}\n",
            "package p\n\nfunc (s *S) TestM(t *testing.T) {}\n\nfunc Test\u{c4}(t *testing.T) {}\n",
            "package p\n\n/* block */\nfunc TestB(t *testing.T) {}\n// trailing\n",
            "package p\r\n\r\n// testsmith:scaffold sig=1 body=2\r\nfunc TestCRLF(t *testing.T) {\r\n}\r\n",
            "package p\n\nfunc TestS(t *testing.T) {\n\ts := \"}\"\n\tr := '}'\n\t_ = `\n}`\n}\n",
            "package p\n\nfunc TestBody(t *testing.T) {\nvar x = 1\n_ = x\n}\n",
        ];
        for text in edge_cases {
            assert_eq!(
                existing_tests(text),
                parsed_existing_tests(text),
                "{text:?}"
            );
        }
        // Every Go file of the project's fixtures, and of the tree in TESTSMITH_GO_TREE when
        // it is set (checked once over Go's standard library).
        let mut files = Vec::new();
        go_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"),
            &mut files,
        );
        if let Some(tree) = std::env::var_os("TESTSMITH_GO_TREE") {
            go_files(Path::new(&tree), &mut files);
        }
        assert!(files.len() > 20, "the fixtures went missing");
        for path in files {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            assert_eq!(
                existing_tests(&text),
                parsed_existing_tests(&text),
                "{}",
                path.display()
            );
            assert_eq!(
                package_name(&text),
                crate::GoDriver.analyze(&path, &text).package,
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn the_package_clause_is_read() {
        assert_eq!(
            package_name("// x\npackage p_test\n").as_deref(),
            Some("p_test")
        );
        for (text, name) in [
            (
                "//go:build linux\n\n/* a\n*/ package\tgrüße // x\n",
                Some("grüße"),
            ),
            ("\u{feff}package p;", Some("p")),
            ("package/* x */q\n", Some("q")),
            ("func A() {}\n", None),
            ("packagep\n", None),
            ("package 1p\n", None),
            ("/* open\npackage p\n", None),
            ("", None),
        ] {
            assert_eq!(package_name(text).as_deref(), name, "{text:?}");
        }
    }
}
