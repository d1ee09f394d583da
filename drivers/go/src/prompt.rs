//! The skeleton a model completes for a member's test: the member's own table-driven
//! scaffold ([`crate::scaffold`]), unmarked, under the test name asked for, its empty table
//! showing one row's shape (`{name: "…", args: args{w: …, h: …}, want: …},`) to copy.
//!
//! Measured with a real 0.5B model (docs/benchmarks.md): given an existing test of the
//! package as the example it copied that test's body into unrelated tests; a small model
//! fills a table whose call, receiver and checks are written already far more reliably than
//! it writes a test from a blank page.

use crate::scaffold;
use testsmith_driver::{Member, SourceFile, marker};

/// What the scaffold leaves in an empty table.
const EMPTY_TABLE: &str = "// TODO: Add test cases.";

/// The skeleton of `member`'s test named `test_name`, or `None` when the member has no
/// scaffold (a type, a member whose types cannot be instantiated).
pub(crate) fn skeleton(source: &SourceFile<'_>, member: &Member, test_name: &str) -> Option<String> {
    let scaffold = scaffold::scaffold(source, member).ok()?;
    let code: Vec<&str> = scaffold
        .code
        .lines()
        .filter(|line| !marker::is_marker_line(line))
        .collect();
    let mut code = code.join("\n");
    let head = format!("func {}(", scaffold.name);
    if let Some(at) = code.find(&head) {
        code.replace_range(at..at + head.len(), &format!("func {test_name}("));
    }
    Some(match row_shape(&code) {
        Some(row) => code.replace(EMPTY_TABLE, &format!("// TODO: cases like {row}")),
        None => code,
    })
}

/// One row of the scaffold's `tests` table as a model should write it, from the table's
/// fields and the `args`/`newArgs` structs they name: `{name: "…", args: args{x: …}, want: …},`.
fn row_shape(code: &str) -> Option<String> {
    let fields = struct_fields(code, "tests := []struct {")?;
    let values: Vec<String> = fields
        .iter()
        .map(|(field, ty)| {
            let value = if field == "name" {
                "\"…\"".to_owned()
            } else if ty == "args" || ty == "newArgs" {
                let inner = struct_fields(code, &format!("type {ty} struct {{"))
                    .unwrap_or_default()
                    .iter()
                    .map(|(name, _)| format!("{name}: …"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("{ty}{{{inner}}}")
            } else {
                "…".to_owned()
            };
            format!("{field}: {value}")
        })
        .collect();
    Some(format!("{{{}}},", values.join(", ")))
}

/// The `(name, type)` fields of the struct literal type opened by the line `opening` (gofmt's
/// one field per line), up to its closing brace.
fn struct_fields(code: &str, opening: &str) -> Option<Vec<(String, String)>> {
    let mut lines = code.lines().skip_while(|line| line.trim() != opening);
    lines.next()?;
    let mut fields = Vec::new();
    for line in lines {
        let line = line.trim();
        if line.starts_with('}') {
            return Some(fields);
        }
        let (name, ty) = line.split_once(char::is_whitespace)?;
        fields.push((name.to_owned(), ty.trim().to_owned()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GoDriver;
    use std::path::Path;
    use testsmith_driver::{Driver, FileMembers};

    const SOURCE: &str = "package shapes\n\ntype Rect struct{ W, H float64 }\n\n\
        func NewRect(w, h float64) (*Rect, error) { return &Rect{W: w, H: h}, nil }\n\n\
        func (r Rect) Area() float64 { return r.W * r.H }\n\ntype Rect2 int\n";

    fn skeleton_of(name: &str, test_name: &str) -> Option<String> {
        let file: FileMembers = GoDriver.analyze(Path::new("shapes.go"), SOURCE);
        let package = vec![file.clone()];
        let source = SourceFile {
            members: &file,
            text: SOURCE,
            package: &package,
        };
        let member = file.members.iter().find(|m| m.name == name).unwrap();
        skeleton(&source, member, test_name)
    }

    #[test]
    fn the_skeleton_is_the_unmarked_scaffold_under_the_asked_name_with_a_row_to_copy() {
        let code = skeleton_of("Area", "TestRect_Area_2").expect("a skeleton");
        assert!(code.starts_with("func TestRect_Area_2(t *testing.T) {"), "{code}");
        assert!(!code.contains("testsmith:scaffold"), "{code}");
        assert!(
            code.contains(
                "// TODO: cases like {name: \"…\", newArgs: newArgs{w: …, h: …}, want: …},"
            ),
            "{code}"
        );
        assert!(code.contains("r.Area()"), "{code}");
        let code = skeleton_of("NewRect", "TestNewRect").expect("a skeleton");
        assert!(
            code.contains("{name: \"…\", args: args{w: …, h: …}, want: …, wantErr: …},"),
            "{code}"
        );
    }

    #[test]
    fn a_type_has_no_skeleton() {
        assert_eq!(skeleton_of("Rect2", "TestRect2"), None);
    }
}
