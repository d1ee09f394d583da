//! The offline generator: a driver's scaffold for every wanted member.

use super::package::{PreparedFile, Produced};
use std::collections::HashMap;
use testsmith_driver::Member;

/// Scaffolds for every member of `prepared` that wants a test.
pub fn scaffold_all(prepared: &PreparedFile<'_>) -> HashMap<usize, Produced> {
    let (indices, members): (Vec<usize>, Vec<&Member>) = prepared
        .wanted()
        .map(|(index, plan)| (index, &plan.member))
        .unzip();
    let scaffolds = prepared.driver().scaffold_all(&prepared.source(), &members);
    indices
        .into_iter()
        .zip(scaffolds)
        .map(|(index, scaffold)| {
            let produced = match scaffold {
                Ok(test) => Produced::Test(test),
                Err(reason) => Produced::Skipped(reason),
            };
            (index, produced)
        })
        .collect()
}
