//! Snapshot tests of the Go mutator over the mutation fixture (`fixtures/mutants/go`) and the
//! bundled example: every mutant listed with its place, operator and change; every operator
//! of the set found at least once; every mutant applies and leaves a file that parses (the
//! checks every driver shares, `testsmith_driver::testing`).

use testsmith_driver::testing::{check_mutants, listing};
use testsmith_driver_go::GoDriver;

const FILES: &[&str] = &[
    "mutants/go/calc/calc.go",
    "example/go/shapes/shapes.go",
    "example/go/shapes/stack.go",
];

const HERE: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_mutation_fixture_mutants() {
    insta::assert_snapshot!(listing(&GoDriver, HERE, "mutants/go/calc/calc.go"));
}

#[test]
fn the_bundled_example_mutants() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        listing(&GoDriver, HERE, "example/go/shapes/shapes.go"),
        listing(&GoDriver, HERE, "example/go/shapes/stack.go")
    ));
}

#[test]
fn every_operator_makes_a_mutant_and_every_mutant_applies_and_parses() {
    check_mutants(&GoDriver, &tree_sitter_go::LANGUAGE.into(), HERE, FILES);
}
