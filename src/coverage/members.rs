//! Which blocks of a profile belong to a member, by position: the rule `go tool cover -func`
//! uses, so per-member figures equal the toolchain's — a block belongs to a member when it
//! ends after the member's declaration starts and starts before it ends.

use super::profile::{BlockCount, BlockKey, Profile, Tally, tally};
use serde::Serialize;
use std::ops::Range;
use std::path::Path;
use testsmith_driver::Span;

/// The span of `byte_range` in `text`: 1-based lines, 1-based byte columns, the end column
/// just past the last byte (how Go's `token.Position` locates a declaration).
pub fn extent(text: &str, byte_range: &Range<usize>) -> Span {
    let (start_line, start_col) = position(text, byte_range.start);
    let (end_line, end_col) = position(text, byte_range.end);
    Span {
        start_line,
        start_col,
        end_line,
        end_col,
    }
}

fn position(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |at| at + 1);
    let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (to_u32(line), to_u32(offset - line_start + 1))
}

/// The blocks of `file` inside `extent`.
pub fn blocks_of<'p>(
    profile: &'p Profile,
    file: &'p Path,
    extent: Span,
) -> impl Iterator<Item = (&'p BlockKey, &'p BlockCount)> + 'p {
    let start = (extent.start_line, extent.start_col);
    let end = (extent.end_line, extent.end_col);
    profile.blocks_in(file).filter(move |(key, _)| {
        let span = key.span;
        (span.end_line, span.end_col) > start && (span.start_line, span.start_col) < end
    })
}

/// Statements of the member at `extent` executed / total.
pub fn member_tally(profile: &Profile, file: &Path, extent: Span) -> Tally {
    tally(blocks_of(profile, file, extent))
}

/// A stretch of lines (inclusive) that holds code no test executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineRange {
    pub first: u32,
    pub last: u32,
}

/// The lines of the member at `extent` in `text` whose statements no run of `profile`
/// executed, as few ranges as possible: what a prompt marks, what a follow-up still asks for.
/// A block's first line is left out when it holds only the `{` that opens the block, its
/// last when it holds only the `}` that closes it.
pub fn missed_lines(profile: &Profile, file: &Path, text: &str, extent: Span) -> Vec<LineRange> {
    let line_texts: Vec<&str> = text.lines().collect();
    let line_text = |line: u32| {
        line_texts
            .get((line as usize).wrapping_sub(1))
            .copied()
            .unwrap_or("")
    };
    let mut lines: Vec<u32> = blocks_of(profile, file, extent)
        .filter(|(_, count)| count.hits == 0 && count.statements > 0)
        .flat_map(|(key, _)| {
            let span = key.span;
            let mut first = span.start_line;
            let mut last = span.end_line;
            let after_start = line_text(first)
                .get((span.start_col as usize).saturating_sub(1)..)
                .unwrap_or("");
            if first < last && matches!(after_start.trim(), "" | "{") {
                first += 1;
            }
            let before_end = line_text(last)
                .get(..(span.end_col as usize).saturating_sub(1))
                .unwrap_or("");
            if first < last && matches!(before_end.trim(), "" | "}") {
                last -= 1;
            }
            first..=last
        })
        .collect();
    lines.sort_unstable();
    lines.dedup();
    let mut ranges: Vec<LineRange> = Vec::new();
    for line in lines {
        match ranges.last_mut() {
            Some(range) if range.last + 1 == line => range.last = line,
            _ => ranges.push(LineRange {
                first: line,
                last: line,
            }),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use testsmith_driver::CoverBlock;

    fn block(start: (u32, u32), end: (u32, u32), statements: u32, hits: u64) -> CoverBlock {
        CoverBlock {
            file: PathBuf::from("a.go"),
            span: Span {
                start_line: start.0,
                start_col: start.1,
                end_line: end.0,
                end_col: end.1,
            },
            statements,
            hits,
        }
    }

    const SOURCE: &str = "package a\n\nfunc Add(x, y int) int {\n\tif x > 0 {\n\t\treturn x + y\n\t}\n\treturn y\n}\n\nfunc Other() int { return 1 }\n";

    /// The profile `go test -coverprofile` wrote for SOURCE with a test calling `Add(1, 2)`.
    fn profile() -> Profile {
        Profile::from_blocks([
            block((3, 24), (4, 11), 1, 1),
            block((7, 2), (7, 10), 1, 0),
            block((4, 11), (6, 3), 1, 1),
            block((10, 18), (10, 30), 1, 0),
        ])
    }

    fn extent_of(name: &str) -> Span {
        let start = SOURCE.find(&format!("func {name}")).unwrap();
        // A function's closing brace starts a line, unless it is all on one line.
        let rest = &SOURCE[start..];
        let end = start
            + rest
                .find("\n}\n")
                .filter(|&at| at > rest.find('\n').unwrap())
                .map_or_else(|| rest.find("}\n").unwrap() + 1, |at| at + 2);
        extent(SOURCE, &(start..end))
    }

    #[test]
    fn the_extent_is_in_lines_and_byte_columns() {
        assert_eq!(
            extent_of("Add"),
            Span {
                start_line: 3,
                start_col: 1,
                end_line: 8,
                end_col: 2
            }
        );
    }

    #[test]
    fn a_member_counts_the_blocks_inside_it_as_go_tool_cover_does() {
        // go tool cover -func: Add 66.7%, Other 0.0%.
        let file = Path::new("a.go");
        assert_eq!(
            member_tally(&profile(), file, extent_of("Add")),
            Tally {
                executed: 2,
                total: 3
            }
        );
        assert_eq!(
            member_tally(&profile(), file, extent_of("Other")),
            Tally {
                executed: 0,
                total: 1
            }
        );
    }

    #[test]
    fn missed_lines_are_the_lines_of_blocks_that_never_ran() {
        let file = Path::new("a.go");
        assert_eq!(
            missed_lines(&profile(), file, SOURCE, extent_of("Add")),
            [LineRange { first: 7, last: 7 }]
        );
        assert_eq!(
            missed_lines(&profile(), file, SOURCE, extent_of("Other")),
            [LineRange {
                first: 10,
                last: 10
            }]
        );
    }
}
