//! Tests written but not yet verified survive a killed run: `generate --verify` marks what
//! it wrote in the project's `state.db` before the first command runs ([`Pending::mark`]),
//! clears each test once verification settles it ([`Pending::settle`]), and verifies what
//! an earlier run left marked alongside what it writes ([`Pending::left_over`]) — so a test
//! written just before a kill -9 is verified by the next run instead of being taken for a
//! test that was checked ("already tested").
//!
//! The marks live in the local database even when the cache and queue are shared
//! (`--state-url`): they name files of this copy. A database that cannot be opened costs
//! the marks only, with a warning; verification goes on.

use super::report::{TestStatus, VerifyReport};
use super::written::WrittenFile;
use crate::store::{Store, UnverifiedTest};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The marks of one project.
pub struct Pending {
    store: Option<Store>,
}

impl Pending {
    /// Opens the marks of the project at `root`. Without `writing` (a run that wrote no
    /// test), a project that has no `state.db` yet gets none: there is nothing to mark, and
    /// no marks an earlier run could have left.
    pub fn open(root: &Path, writing: bool) -> Pending {
        let database = root
            .join(crate::store::STATE_DIR)
            .join(crate::store::STATE_FILE);
        if !writing && !database.exists() {
            return Pending { store: None };
        }
        let store = Store::open(root)
            .inspect_err(|error| {
                tracing::warn!(
                    "cannot remember which tests are unverified ({}): a run killed now leaves \
                     its tests unmarked",
                    chain(error)
                );
            })
            .ok();
        Pending { store }
    }

    /// The tests an earlier run left marked for the sources of `sources`, still in their
    /// test files and not among `written` (marks of tests gone from their files are
    /// cleared).
    pub fn left_over(&self, sources: &[PathBuf], written: &[WrittenFile]) -> Vec<WrittenFile> {
        let Some(store) = &self.store else {
            return Vec::new();
        };
        let queued: HashSet<(PathBuf, &str)> = written
            .iter()
            .flat_map(|file| {
                let test_file = canonical(&file.test_file);
                file.tests
                    .iter()
                    .map(move |name| (PathBuf::from(&test_file), name.as_str()))
            })
            .collect();
        let mut found = Vec::new();
        let mut gone = Vec::new();
        for source in sources {
            let Some(driver) = crate::drivers::for_path(crate::drivers::DRIVERS, source) else {
                continue;
            };
            let marked = store.unverified_of(&canonical(source)).unwrap_or_default();
            for test in marked {
                let test_file = PathBuf::from(&test.test_file);
                if queued.contains(&(test_file.clone(), test.name.as_str())) {
                    continue;
                }
                let still_there = std::fs::read_to_string(&test_file).is_ok_and(|text| {
                    driver
                        .existing_tests(&test_file, &text)
                        .iter()
                        .any(|existing| existing.name == test.name)
                });
                if !still_there {
                    gone.push((test.test_file, test.name));
                    continue;
                }
                match found
                    .iter_mut()
                    .find(|file: &&mut WrittenFile| file.test_file == test_file)
                {
                    Some(file) => file.tests.push(test.name),
                    None => found.push(WrittenFile {
                        driver,
                        source: source.clone(),
                        test_file,
                        tests: vec![test.name],
                        // What the file held before that run is not known.
                        replaced: Vec::new(),
                    }),
                }
            }
        }
        if !gone.is_empty() {
            let _ = store.clear_unverified(&gone);
        }
        found
    }

    /// Marks every test of `written` as not yet verified.
    pub fn mark(&self, written: &[WrittenFile]) {
        let Some(store) = &self.store else {
            return;
        };
        let tests: Vec<UnverifiedTest> = written
            .iter()
            .flat_map(|file| {
                let source = canonical(&file.source);
                let test_file = canonical(&file.test_file);
                file.tests.iter().map(move |name| UnverifiedTest {
                    source: source.clone(),
                    test_file: test_file.clone(),
                    name: name.clone(),
                })
            })
            .collect();
        if let Err(error) = store.mark_unverified(&tests) {
            tracing::warn!("cannot mark the tests unverified: {}", chain(&error));
        }
    }

    /// Clears the mark of every test `report` settled; one left not verified (interrupted,
    /// no toolchain, a project that does not build) stays marked.
    pub fn settle(&self, report: &VerifyReport) {
        let Some(store) = &self.store else {
            return;
        };
        let settled: Vec<(String, String)> = report
            .tests
            .iter()
            .filter(|test| test.status != TestStatus::NotVerified)
            .map(|test| (canonical(&test.test_file), test.test.clone()))
            .collect();
        if let Err(error) = store.clear_unverified(&settled) {
            tracing::warn!(
                "cannot clear the marks of verified tests: {}",
                chain(&error)
            );
        }
    }
}

/// The path as the marks name it: canonical when it exists (a relative path and an absolute
/// one name the same file).
fn canonical(path: &Path) -> String {
    path.canonicalize()
        .unwrap_or_else(|_| path.to_owned())
        .to_string_lossy()
        .into_owned()
}

/// An error with its causes, `: `-separated, for a one-line warning.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
