//! Snapshot tests of the Rust mutator over the mutation fixture (`fixtures/mutants/rust`) and the
//! bundled example: every mutant listed with its place, operator and change; every operator
//! of the set found at least once; every mutant applies and leaves a file that parses (the
//! checks every driver shares, `testsmith_driver::testing`).

use testsmith_driver::testing::{check_mutants, listing};
use testsmith_driver_rust::RustDriver;

const FILES: &[&str] = &[
    "mutants/rust/src/lib.rs",
    "example/rust/src/lib.rs",
    "example/rust/src/text/mod.rs",
];

const HERE: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_mutation_fixture_mutants() {
    insta::assert_snapshot!(listing(&RustDriver, HERE, "mutants/rust/src/lib.rs"));
}

#[test]
fn the_bundled_example_mutants() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        listing(&RustDriver, HERE, "example/rust/src/lib.rs"),
        listing(&RustDriver, HERE, "example/rust/src/text/mod.rs")
    ));
}

#[test]
fn every_operator_makes_a_mutant_and_every_mutant_applies_and_parses() {
    check_mutants(&RustDriver, &tree_sitter_rust::LANGUAGE.into(), HERE, FILES);
}
