//! The offline generator: a driver's scaffold for every wanted member.

use super::package::{PreparedFile, Produced};
use std::collections::HashMap;

/// Scaffolds for every member of `prepared` that wants a test.
pub fn scaffold_all(prepared: &PreparedFile<'_>) -> HashMap<usize, Produced> {
    let source = prepared.source();
    prepared
        .wanted()
        .map(|(index, plan)| {
            let produced = match prepared.driver().scaffold(&source, &plan.member) {
                Ok(test) => Produced::Test(test),
                Err(reason) => Produced::Skipped(reason),
            };
            (index, produced)
        })
        .collect()
}
