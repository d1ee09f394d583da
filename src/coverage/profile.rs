//! A coverage profile as a set: every block once, keyed by file and span, however often and
//! in whatever order the toolchain listed it (Go writes its blocks in a different order on
//! every run). Comparing two profiles is comparing sets of executed blocks.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testsmith_driver::{CoverBlock, Span};

/// Where a block is: its file (relative to the project root) and span.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockKey {
    pub file: PathBuf,
    pub span: Span,
}

/// What a profile says about one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockCount {
    pub statements: u32,
    pub hits: u64,
}

/// Executed / total statements, and the percentage people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Tally {
    pub executed: u64,
    pub total: u64,
}

impl Tally {
    /// Percent executed, as `go tool cover` computes it (0 of 0 is 0 %).
    pub fn percent(self) -> f64 {
        100.0 * self.executed as f64 / self.total.max(1) as f64
    }

    pub fn add(&mut self, other: Tally) {
        self.executed += other.executed;
        self.total += other.total;
    }
}

/// Every block of one or more coverage runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    blocks: BTreeMap<BlockKey, BlockCount>,
}

impl Profile {
    /// The blocks a driver read, duplicates merged: their hits add up.
    pub fn from_blocks(blocks: impl IntoIterator<Item = CoverBlock>) -> Self {
        let mut profile = Profile::default();
        for block in blocks {
            profile.insert(
                BlockKey {
                    file: block.file,
                    span: block.span,
                },
                BlockCount {
                    statements: block.statements,
                    hits: block.hits,
                },
            );
        }
        profile
    }

    fn insert(&mut self, key: BlockKey, count: BlockCount) {
        let entry = self.blocks.entry(key).or_default();
        entry.statements = entry.statements.max(count.statements);
        entry.hits = entry.hits.saturating_add(count.hits);
    }

    /// Adds `other`'s runs to this profile: a block executed in either is executed.
    pub fn merge(&mut self, other: &Profile) {
        for (key, count) in &other.blocks {
            self.insert(key.clone(), *count);
        }
    }

    /// Every block, in file and position order.
    pub fn blocks(&self) -> impl Iterator<Item = (&BlockKey, &BlockCount)> {
        self.blocks.iter()
    }

    /// The blocks of one file, in position order.
    pub fn blocks_in<'p>(
        &'p self,
        file: &'p Path,
    ) -> impl Iterator<Item = (&'p BlockKey, &'p BlockCount)> + 'p {
        self.blocks.iter().filter(move |(key, _)| key.file == file)
    }

    /// Statements executed / total over the blocks of the files directly in `dir` (relative
    /// to the project root, like the blocks' files).
    pub fn tally_in(&self, dir: &Path) -> Tally {
        tally(
            self.blocks
                .iter()
                .filter(|(key, _)| key.file.parent() == Some(dir)),
        )
    }

    /// The blocks this profile executed that `before` did not: what a new test adds.
    pub fn newly_executed<'p>(&'p self, before: &'p Profile) -> Vec<&'p BlockKey> {
        self.blocks
            .iter()
            .filter(|(key, count)| {
                count.hits > 0 && before.blocks.get(*key).is_none_or(|seen| seen.hits == 0)
            })
            .map(|(key, _)| key)
            .collect()
    }
}

/// Statements executed / total over `blocks`.
pub fn tally<'a>(blocks: impl Iterator<Item = (&'a BlockKey, &'a BlockCount)>) -> Tally {
    let mut tally = Tally::default();
    for (_, count) in blocks {
        tally.total += u64::from(count.statements);
        if count.hits > 0 {
            tally.executed += u64::from(count.statements);
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(line: u32, statements: u32, hits: u64) -> CoverBlock {
        CoverBlock {
            file: PathBuf::from("a.go"),
            span: Span {
                start_line: line,
                start_col: 1,
                end_line: line,
                end_col: 9,
            },
            statements,
            hits,
        }
    }

    #[test]
    fn the_order_of_blocks_does_not_matter() {
        let one = Profile::from_blocks([block(1, 1, 1), block(2, 2, 0)]);
        let other = Profile::from_blocks([block(2, 2, 0), block(1, 1, 1)]);
        assert_eq!(one, other);
        assert_eq!(
            tally(one.blocks()),
            Tally {
                executed: 1,
                total: 3
            }
        );
    }

    #[test]
    fn a_block_listed_twice_counts_once_and_ran_if_either_ran() {
        let profile = Profile::from_blocks([block(1, 3, 0), block(1, 3, 1)]);
        assert_eq!(
            tally(profile.blocks()),
            Tally {
                executed: 3,
                total: 3
            }
        );
    }

    #[test]
    fn newly_executed_blocks_are_those_the_earlier_runs_missed() {
        let before = Profile::from_blocks([block(1, 1, 1), block(2, 1, 0), block(3, 1, 0)]);
        let after = Profile::from_blocks([block(1, 1, 1), block(2, 1, 1), block(3, 1, 0)]);
        let new: Vec<u32> = after
            .newly_executed(&before)
            .iter()
            .map(|key| key.span.start_line)
            .collect();
        assert_eq!(new, [2]);
        let mut merged = before.clone();
        merged.merge(&after);
        assert!(after.newly_executed(&merged).is_empty());
        assert_eq!(
            tally(merged.blocks()),
            Tally {
                executed: 2,
                total: 3
            }
        );
    }

    #[test]
    fn percent_of_nothing_is_zero() {
        assert_eq!(Tally::default().percent(), 0.0);
        assert_eq!(
            Tally {
                executed: 2,
                total: 3
            }
            .percent(),
            200.0 / 3.0
        );
    }
}
