//! Snapshot tests of the Rust mutator over the mutation fixture (`fixtures/mutants/rust`) and the
//! bundled example: every mutant listed with its place, operator and change; every operator
//! of the set found at least once; every mutant applies and leaves a file that parses.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, Mutant, MutationOperator};
use testsmith_driver_rust::RustDriver;

const FILES: &[&str] = &[
    "mutants/rust/src/lib.rs",
    "example/rust/src/lib.rs",
    "example/rust/src/text/mod.rs",
];

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mutants_of(name: &str) -> Vec<Mutant> {
    RustDriver.mutants(&PathBuf::from(name), &fixture(name))
}

fn listing(name: &str) -> String {
    let mut out = String::new();
    for mutant in mutants_of(name) {
        writeln!(
            out,
            "{}:{}  {}  {}: {}",
            mutant.line,
            mutant.column,
            mutant.function,
            mutant.operator.as_str(),
            mutant.describe()
        )
        .unwrap();
    }
    out
}

#[test]
fn the_mutation_fixture_mutants() {
    insta::assert_snapshot!(listing("mutants/rust/src/lib.rs"));
}

#[test]
fn the_bundled_example_mutants() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        listing("example/rust/src/lib.rs"),
        listing("example/rust/src/text/mod.rs")
    ));
}

#[test]
fn every_operator_makes_a_mutant() {
    let found: BTreeSet<MutationOperator> = FILES
        .iter()
        .flat_map(|name| mutants_of(name))
        .map(|mutant| mutant.operator)
        .collect();
    let all: BTreeSet<MutationOperator> = MutationOperator::ALL.into_iter().collect();
    assert_eq!(found, all);
}

#[test]
fn every_mutant_applies_and_parses() {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_rust::LANGUAGE.into())
        .unwrap();
    for name in FILES {
        let source = fixture(name);
        for mutant in mutants_of(name) {
            let mutated = mutant
                .apply(&source)
                .unwrap_or_else(|| panic!("{name}: {mutant:?} does not apply"));
            assert_ne!(
                mutated,
                source,
                "{name}: {} changes nothing",
                mutant.describe()
            );
            let tree = parser.parse(&mutated, None).unwrap();
            assert!(
                !tree.root_node().has_error(),
                "{name}:{}: `{}` leaves a syntax error:\n{mutated}",
                mutant.line,
                mutant.describe()
            );
        }
    }
}
