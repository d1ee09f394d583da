//! Checks every driver's mutator must pass, shared by the drivers' own tests (feature
//! `testing`, a dev-dependency of each driver): over a language's fixture files, every
//! operator of the set makes a mutant, and every mutant applies, changes the file and leaves
//! it free of syntax errors.

use crate::{Driver, Member, MemberKind, Mutant, MutationOperator};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A member for a unit test: a method when it has an `owner`, else a function, on line 1 with
/// nothing else known; set other fields with struct update syntax.
pub fn member(name: &str, owner: Option<&str>) -> Member {
    Member {
        kind: if owner.is_some() {
            MemberKind::Method
        } else {
            MemberKind::Function
        },
        name: name.to_owned(),
        owner: owner.map(str::to_owned),
        signature: String::new(),
        start_line: 1,
        end_line: 1,
        doc: None,
        module: None,
        byte_range: 0..0,
        callable: None,
    }
}

/// The text of `name` under the repository's `fixtures/`, seen from a driver crate.
pub fn fixture(driver_dir: &str, name: &str) -> String {
    let path = Path::new(driver_dir).join("../../fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The mutants `driver` finds in fixture `name`.
pub fn mutants_of(driver: &dyn Driver, driver_dir: &str, name: &str) -> Vec<Mutant> {
    driver.mutants(&PathBuf::from(name), &fixture(driver_dir, name))
}

/// Every mutant of fixture `name`, one line each as listings show them: the snapshot of a
/// mutator's output.
pub fn listing(driver: &dyn Driver, driver_dir: &str, name: &str) -> String {
    let mut out = String::new();
    for mutant in mutants_of(driver, driver_dir, name) {
        let _ = writeln!(out, "{mutant}");
    }
    out
}

/// Panics unless the fixtures `files` hold a mutant of every operator, and every mutant
/// applies, changes its file and leaves it parsing without errors in `language`.
pub fn check_mutants(
    driver: &dyn Driver,
    language: &tree_sitter::Language,
    driver_dir: &str,
    files: &[&str],
) {
    let mut found = BTreeSet::new();
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(language).expect("the grammar loads");
    for name in files {
        let source = fixture(driver_dir, name);
        for mutant in mutants_of(driver, driver_dir, name) {
            found.insert(mutant.operator);
            let mutated = mutant
                .apply(&source)
                .unwrap_or_else(|| panic!("{name}: {mutant:?} does not apply"));
            assert_ne!(mutated, source, "{name}: {mutant} changes nothing");
            let tree = parser.parse(&mutated, None).expect("the parser runs");
            assert!(
                !tree.root_node().has_error(),
                "{name}: `{mutant}` leaves a syntax error:\n{mutated}"
            );
        }
    }
    let all: BTreeSet<MutationOperator> = MutationOperator::ALL.into_iter().collect();
    assert_eq!(found, all, "operators with a mutant in {files:?}");
}
