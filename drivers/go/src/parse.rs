//! Parsing Go with tree-sitter over chosen parts of a file: all of it, all but the bodies the
//! [skeleton](crate::skeleton) found, or one piece.

use std::cell::RefCell;
use tree_sitter::{Parser, Range, Tree};

thread_local! {
    // Not the shared parser of `testsmith_driver::syntax`: included ranges are parser state,
    // and leaving them set would cut up the next file another driver parses.
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Parses only `ranges` of `source` (all of it when `ranges` is empty). Node positions stay
/// those of the whole file.
///
/// `None` only if tree-sitter refuses the grammar or the ranges, both bugs.
pub(crate) fn parse_ranges(source: &str, ranges: &[Range]) -> Option<Tree> {
    PARSER.with_borrow_mut(|slot| {
        let parser = match slot {
            Some(parser) => parser,
            None => {
                let mut parser = Parser::new();
                parser.set_language(&crate::GO).ok()?;
                slot.insert(parser)
            }
        };
        parser.set_included_ranges(ranges).ok()?;
        parser.parse(source, None)
    })
}
