//! The model of mutation testing shared by drivers and the application: a [`Mutant`] (one
//! small, deliberate bug in a function, as text edits), the [`MutationOperator`] that made it,
//! and how a driver's toolchain builds and tests one ([`MutantRun`], [`MutationSandbox`]).
//!
//! A driver finds mutants by walking the syntax tree and never applies or runs one; the
//! application applies the edits to a copy (never the user's file) and runs the commands.

use serde::Serialize;
use std::ops::Range;
use std::path::PathBuf;

/// What kind of change a mutant makes — cargo-mutants' operator set, in words a report can
/// count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationOperator {
    /// The function's body replaced by a plain value of its return type (`return 0`,
    /// `Default::default()`, `Ok(Default::default())`, nothing at all).
    ReplaceBody,
    /// A comparison changed: `<` to `<=`, `==` to `!=`, …
    Comparison,
    /// An arithmetic or bitwise operator changed: `+` to `-`, `&` to `|`, …
    Arithmetic,
    /// `&&` and `||` swapped.
    Boolean,
    /// An `if`/`for`/`while` condition negated.
    NegateCondition,
    /// A unary `!` or `-` deleted.
    DeleteUnary,
    /// A compound assignment (`x += e`) removed; `e` is still evaluated.
    CompoundAssignment,
}

impl MutationOperator {
    /// Every operator, in report order.
    pub const ALL: [MutationOperator; 7] = [
        Self::ReplaceBody,
        Self::Comparison,
        Self::Arithmetic,
        Self::Boolean,
        Self::NegateCondition,
        Self::DeleteUnary,
        Self::CompoundAssignment,
    ];

    /// The name used in JSON and text reports (`replace_body`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReplaceBody => "replace_body",
            Self::Comparison => "comparison",
            Self::Arithmetic => "arithmetic",
            Self::Boolean => "boolean",
            Self::NegateCondition => "negate_condition",
            Self::DeleteUnary => "delete_unary",
            Self::CompoundAssignment => "compound_assignment",
        }
    }
}

/// One replacement of a byte range of the source file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct MutationEdit {
    pub range: Range<usize>,
    pub replacement: String,
}

/// One mutant: a small change to one function that a good test suite should notice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Mutant {
    /// The function or method mutated, as the language writes it (`(*Rect).Scale`,
    /// `Stack::push`).
    pub function: String,
    /// The 1-based line where that function starts.
    pub function_line: usize,
    pub operator: MutationOperator,
    /// 1-based line and column of the change.
    pub line: usize,
    pub column: usize,
    /// The text replaced, collapsed to one line (`<`, or the whole body for
    /// [`MutationOperator::ReplaceBody`]).
    pub original: String,
    /// What it became, collapsed to one line.
    pub replacement: String,
    /// The edits that make the mutant, in the order found; the first is the change itself,
    /// any others keep the file compiling (Go: a blank use of an import only the replaced
    /// body used). Never overlapping.
    pub edits: Vec<MutationEdit>,
}

impl Mutant {
    /// The change in words: `` replace `<` with `<=` ``.
    pub fn describe(&self) -> String {
        match self.operator {
            MutationOperator::ReplaceBody => {
                format!(
                    "replace the body of {} with `{}`",
                    self.function, self.replacement
                )
            }
            _ => format!("replace `{}` with `{}`", self.original, self.replacement),
        }
    }

    /// The mutant in the plain words a prompt uses, given the `source` it was found in:
    /// ``if line 8 `if n < lo {` became `if n <= lo {`, no test would notice``. A replaced
    /// body is named by its function; a change whose line cannot be shown on its own (it
    /// spans lines, or the file changed) falls back to the operator alone.
    pub fn in_plain_words(&self, source: &str) -> String {
        if self.operator == MutationOperator::ReplaceBody {
            return format!(
                "if the body of `{}` (line {}) were replaced by `{}`, no test would notice",
                self.function, self.function_line, self.replacement
            );
        }
        let line = self.line.wrapping_sub(1);
        fn line_of(text: &str, line: usize) -> Option<&str> {
            text.lines().nth(line).map(str::trim)
        }
        let mutated = self.apply(source);
        let shown = match (line_of(source, line), mutated.as_deref()) {
            (Some(before), Some(mutated))
                if mutated.lines().count() == source.lines().count()
                    && line_of(mutated, line).is_some_and(|after| after != before) =>
            {
                line_of(mutated, line).map(|after| (before.to_owned(), after.to_owned()))
            }
            _ => None,
        };
        match shown {
            Some((before, after)) => format!(
                "if line {} `{before}` became `{after}`, no test would notice",
                self.line
            ),
            None => format!(
                "if `{}` on line {} became `{}`, no test would notice",
                self.original, self.line, self.replacement
            ),
        }
    }

    /// The mutant with the file it is in: `calc/calc.go:8:7  Clamp  comparison: replace `<`
    /// with `<=``, the one way a mutant is shown in listings and reports.
    pub fn located<'a>(&'a self, file: &'a std::path::Path) -> impl std::fmt::Display + 'a {
        Located { file, mutant: self }
    }

    /// `source` with the mutant's edits made. `None` when an edit falls outside `source` or
    /// off a character boundary: the file changed since the mutant was found.
    pub fn apply(&self, source: &str) -> Option<String> {
        let mut edits: Vec<&MutationEdit> = self.edits.iter().collect();
        edits.sort_by_key(|edit| std::cmp::Reverse(edit.range.start));
        let mut text = source.to_owned();
        for edit in edits {
            if edit.range.end > text.len()
                || !text.is_char_boundary(edit.range.start)
                || !text.is_char_boundary(edit.range.end)
            {
                return None;
            }
            text.replace_range(edit.range.clone(), &edit.replacement);
        }
        Some(text)
    }
}

/// `8:7  Clamp  comparison: replace `<` with `<=``: place, function, operator, change.
impl std::fmt::Display for Mutant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}  {}  {}: {}",
            self.line,
            self.column,
            self.function,
            self.operator.as_str(),
            self.describe()
        )
    }
}

/// A mutant shown with its file ([`Mutant::located`]).
struct Located<'a> {
    file: &'a std::path::Path,
    mutant: &'a Mutant,
}

impl std::fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.mutant)
    }
}

/// How a driver's toolchain is shown a mutated file without touching the user's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutationSandbox {
    /// The toolchain reads a replacement file named in an overlay file (Go's `-overlay`):
    /// the project is built where it is.
    Overlay,
    /// The project is copied to a scratch folder, mutated there, and built with a target
    /// folder of its own (Cargo).
    ScratchCopy,
}

/// One build-and-test of a project with a mutant in place (or none: the baseline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutantRun {
    /// The folder to build from (absolute): the project itself for
    /// [`MutationSandbox::Overlay`], the scratch copy for [`MutationSandbox::ScratchCopy`].
    pub root: PathBuf,
    /// The folder of the mutated file relative to `root` (Go: its package); for the
    /// baseline, one of the folders to test.
    pub package_dir: PathBuf,
    /// The overlay file to hand the toolchain, if any.
    pub overlay: Option<PathBuf>,
    /// A build folder of testsmith's own (Cargo's `CARGO_TARGET_DIR`), if any.
    pub target_dir: Option<PathBuf>,
    /// Only these tests need to run (those that execute the mutated line); `None` runs
    /// them all. A driver that cannot select tests runs them all.
    pub tests: Option<Vec<String>>,
    /// The build tags and features the user chose (`--tags`, `--features`).
    pub build: crate::BuildSelection,
}

/// What a binary operator may become, after cargo-mutants (`src/visit.rs`): the operator kind
/// and the replacements, or `None` for an operator left alone. Shared by the drivers; a
/// language drops the replacements its type system rejects.
pub fn binary_replacements(op: &str) -> Option<(MutationOperator, &'static [&'static str])> {
    use MutationOperator::{Arithmetic, Boolean, Comparison};
    let found: (MutationOperator, &'static [&'static str]) = match op {
        "==" => (Comparison, &["!="]),
        "!=" => (Comparison, &["=="]),
        "<" => (Comparison, &["==", ">", "<="]),
        ">" => (Comparison, &["==", "<", ">="]),
        "<=" => (Comparison, &["<", ">"]),
        ">=" => (Comparison, &[">", "<"]),
        "&&" => (Boolean, &["||"]),
        "||" => (Boolean, &["&&"]),
        "+" => (Arithmetic, &["-", "*"]),
        "-" => (Arithmetic, &["+", "/"]),
        "*" => (Arithmetic, &["+", "/"]),
        "/" => (Arithmetic, &["%", "*"]),
        "%" => (Arithmetic, &["/", "+"]),
        "<<" => (Arithmetic, &[">>"]),
        ">>" => (Arithmetic, &["<<"]),
        "&" => (Arithmetic, &["|", "^"]),
        "|" => (Arithmetic, &["&", "^"]),
        "^" => (Arithmetic, &["|", "&"]),
        _ => return None,
    };
    Some(found)
}

/// Puts `mutants` in source order (by line and column, stably): a walk down the tree finds
/// an outer operator before the inner ones to its left.
pub fn sort_in_source_order(mutants: &mut [Mutant]) {
    mutants.sort_by_key(|mutant| (mutant.function_line, mutant.line, mutant.column));
}

/// The first line of `text` with its whitespace collapsed, cut to `limit` characters with
/// `…` when longer: how a replaced body is shown.
pub fn short_text(text: &str, limit: usize) -> String {
    let collapsed = crate::syntax::collapse_whitespace(text);
    if collapsed.chars().count() <= limit {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(limit).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(edits: Vec<MutationEdit>) -> Mutant {
        Mutant {
            function: "f".into(),
            function_line: 1,
            operator: MutationOperator::Comparison,
            line: 1,
            column: 1,
            original: "<".into(),
            replacement: "<=".into(),
            edits,
        }
    }

    #[test]
    fn edits_apply_from_the_end_so_earlier_ranges_stay_valid() {
        let source = "a < b && c";
        let mutant = mutant(vec![
            MutationEdit {
                range: 2..3,
                replacement: "<=".into(),
            },
            MutationEdit {
                range: 6..8,
                replacement: "||".into(),
            },
        ]);
        assert_eq!(mutant.apply(source).as_deref(), Some("a <= b || c"));
    }

    #[test]
    fn an_edit_past_the_end_of_a_changed_file_applies_nothing() {
        let mutant = mutant(vec![MutationEdit {
            range: 20..21,
            replacement: "x".into(),
        }]);
        assert_eq!(mutant.apply("short"), None);
    }

    #[test]
    fn plain_words_show_the_line_before_and_after() {
        let source = "func f(n int) bool {\n\treturn n <= 0\n}\n";
        let mut m = mutant(vec![MutationEdit {
            range: 31..33,
            replacement: "<".into(),
        }]);
        m.line = 2;
        m.original = "<=".into();
        m.replacement = "<".into();
        assert_eq!(
            m.in_plain_words(source),
            "if line 2 `return n <= 0` became `return n < 0`, no test would notice"
        );
        // The file changed since: the operator alone.
        assert_eq!(
            m.in_plain_words("x"),
            "if `<=` on line 2 became `<`, no test would notice"
        );
        assert_eq!(
            m.located(std::path::Path::new("a/f.go")).to_string(),
            "a/f.go:2:1  f  comparison: replace `<=` with `<`"
        );
        m.operator = MutationOperator::ReplaceBody;
        m.replacement = "return false".into();
        assert_eq!(
            m.in_plain_words(source),
            "if the body of `f` (line 1) were replaced by `return false`, no test would notice"
        );
    }

    #[test]
    fn a_long_body_is_shown_cut() {
        assert_eq!(
            short_text("{\n    return   a + b\n}", 40),
            "{ return a + b }"
        );
        assert_eq!(short_text("abcdef", 3), "abc…");
    }
}
