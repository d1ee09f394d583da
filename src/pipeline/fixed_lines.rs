//! The lines of a test file that someone wrote, which a merge must leave where they are: a
//! test may assert its own line numbers (`runtime.Caller`, `line!()`), so moving one line
//! by one can fail a test that passed.
//!
//! A line is someone's unless it is blank or in a range the driver calls movable
//! ([`Driver::movable_ranges`]: testsmith's unedited scaffolds, Go's import declarations).

use std::ops::Range;
use std::path::Path;
use testsmith_driver::Driver;

/// The fixed lines of one test file's text, as it was before the merge.
#[derive(Debug)]
pub struct FixedLines {
    /// (0-based line index, the line without its line ending).
    lines: Vec<(usize, String)>,
    /// Byte offset at which each line of the text starts.
    line_starts: Vec<usize>,
}

impl FixedLines {
    pub fn of(driver: &dyn Driver, path: &Path, text: &str) -> FixedLines {
        let movable = driver.movable_ranges(path, text);
        let mut lines = Vec::new();
        let mut line_starts = Vec::new();
        let mut start = 0;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            line_starts.push(start);
            let content = without_line_ending(line);
            let end = start + line.len();
            if !content.trim().is_empty() && !movable.iter().any(|range| within(range, start, end))
            {
                lines.push((index, content.to_owned()));
            }
            start = end;
        }
        FixedLines { lines, line_starts }
    }

    /// The first (1-based) fixed line that `new`, an edit of the text, no longer has at its
    /// place: moved, changed or removed. `None` when every one stands where it stood.
    pub fn first_moved(&self, new: &str) -> Option<usize> {
        let new_lines: Vec<&str> = new.split_inclusive('\n').map(without_line_ending).collect();
        self.lines
            .iter()
            .find(|(index, content)| new_lines.get(*index) != Some(&content.as_str()))
            .map(|(index, _)| index + 1)
    }

    /// The first (1-based) fixed line that starts at or after byte `offset`: what would
    /// move if the text before it grew or shrank.
    pub fn first_after(&self, offset: usize) -> Option<usize> {
        self.lines
            .iter()
            .find(|(index, _)| self.line_starts[*index] >= offset)
            .map(|(index, _)| index + 1)
    }
}

/// Whether the line `start..end` lies inside `range` (its line ending may stick out).
fn within(range: &Range<usize>, start: usize, end: usize) -> bool {
    let content_end = end.max(start + 1) - 1;
    range.start <= start && content_end <= range.end.max(range.start)
}

fn without_line_ending(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver_go::GoDriver;

    /// A user's file: an unedited scaffold (lines 5-7), then a test of the user's.
    fn user_file() -> String {
        let scaffold = "func TestA(t *testing.T) {\n}";
        let marker = testsmith_driver::marker::marker_line("0", scaffold);
        format!(
            "package p\n\nimport \"testing\"\n\n{marker}\n{scaffold}\n\n\
             func TestMine(t *testing.T) {{\n\tt.Log(\"line 10\")\n}}\n"
        )
    }

    fn fixed_of(text: &str) -> FixedLines {
        FixedLines::of(&GoDriver, Path::new("p_test.go"), text)
    }

    #[test]
    fn the_users_lines_are_fixed_and_scaffolds_imports_and_blank_lines_are_not() {
        let fixed = fixed_of(&user_file());
        let numbers: Vec<usize> = fixed.lines.iter().map(|(index, _)| index + 1).collect();
        assert_eq!(numbers, vec![1, 9, 10, 11]);
        let edited = user_file().replace(
            "func TestA(t *testing.T) {\n}",
            "func TestA(t *testing.T) {\n\tt.Log()\n}",
        );
        let numbers: Vec<usize> = fixed_of(&edited)
            .lines
            .iter()
            .map(|(index, _)| index + 1)
            .collect();
        assert_eq!(
            numbers,
            vec![1, 5, 6, 7, 8, 10, 11, 12],
            "an edited scaffold is the user's"
        );
    }

    #[test]
    fn a_line_that_moves_by_one_is_found() {
        let text = user_file();
        let fixed = fixed_of(&text);
        assert_eq!(fixed.first_moved(&text), None);
        let shifted = text.replacen(
            "func TestA(t *testing.T) {\n}",
            "func TestA(t *testing.T) {\n\tt.Log()\n}",
            1,
        );
        assert_eq!(fixed.first_moved(&shifted), Some(9));
        let appended = format!("{text}\nfunc TestB(t *testing.T) {{}}\n");
        assert_eq!(fixed.first_moved(&appended), None);
    }

    #[test]
    fn import_lines_may_move_but_what_follows_them_may_not() {
        let text = "package p\n\nimport \"testing\"\n";
        let fixed = fixed_of(text);
        assert_eq!(fixed.lines.len(), 1, "only the package clause is fixed");
        let more = "package p\n\nimport (\n\t\"reflect\"\n\t\"testing\"\n)\n";
        assert_eq!(fixed.first_moved(more), None);
        let with_test = format!("{text}\nfunc TestMine(t *testing.T) {{}}\n");
        let grown = format!("{more}\nfunc TestMine(t *testing.T) {{}}\n");
        assert_eq!(
            FixedLines::of(&GoDriver, Path::new("p_test.go"), &with_test).first_moved(&grown),
            Some(5)
        );
    }

    #[test]
    fn crlf_line_endings_are_not_a_move() {
        let text = user_file();
        assert_eq!(
            fixed_of(&text).first_moved(&text.replace('\n', "\r\n")),
            None
        );
    }

    #[test]
    fn first_after_names_the_first_fixed_line_below_an_offset() {
        let text = user_file();
        let fixed = fixed_of(&text);
        let scaffold_end = text.find("}\n").unwrap() + 1;
        assert_eq!(fixed.first_after(scaffold_end), Some(9));
        assert_eq!(fixed.first_after(text.len()), None);
    }
}
