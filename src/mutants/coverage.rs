//! Which tests can catch a mutant, from the coverage API (`src/coverage`): a package's tests
//! run once together (the baseline profile) and once each alone. A mutant on a line no test
//! executes cannot be caught and is counted missed without being run; any other runs only
//! against the tests that execute its line.

use crate::coverage::{PackageRun, Profile, StartError, packages};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testsmith_driver::{Driver, Mutant};

/// What the coverage of a package says about a mutant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// No test executes its place: it cannot be caught.
    NotExecuted,
    /// These tests execute it; only they need to run.
    Tests(Vec<String>),
    /// Coverage cannot say (its place is in no block, or tests outside the per-test runs
    /// execute it): the whole suite runs.
    Unknown,
}

/// The per-test coverage of one package.
#[derive(Debug)]
pub struct TestCoverage {
    baseline: Profile,
    per_test: Vec<(String, Profile)>,
}

impl TestCoverage {
    /// Measures the package of the sources `files` (paths as the user named them): the
    /// baseline, then each of its tests alone. `Err` says why coverage cannot help (the
    /// language has none, the tests fail, …); the caller then runs the whole suite.
    pub fn measure(
        driver: &'static dyn Driver,
        files: &[PathBuf],
        test_timeout: Duration,
    ) -> Result<TestCoverage, String> {
        let sources = files.iter().map(|path| (path.clone(), driver)).collect();
        let (found, problems) = packages(sources);
        if let Some((path, reason)) = problems.into_iter().next() {
            return Err(format!("{}: {reason}", path.display()));
        }
        let [package] = &found[..] else {
            return Err(format!("{} packages where one was expected", found.len()));
        };
        if package.whole_project {
            // Tests are attributed by the test files in the package's folder; a package
            // that is a whole project keeps them elsewhere (a crate's in `src/`, `tests/`).
            return Err("per-test coverage is measured per folder only".to_owned());
        }
        let run = PackageRun::start(package, false, test_timeout).map_err(|error| match error {
            StartError::Unsupported(reason) | StartError::Failed(reason) => reason,
        })?;
        if !run.baseline_passed() {
            return Err("the tests fail when run with coverage".to_owned());
        }
        let mut names = BTreeSet::new();
        let folder = package.root.join(&package.dir);
        for entry in std::fs::read_dir(&folder).map_err(|error| error.to_string())? {
            let path = entry.map_err(|error| error.to_string())?.path();
            if driver.claims(&path) && driver.is_test_file(&path) {
                let text = std::fs::read_to_string(&path).map_err(|error| error.to_string())?;
                names.extend(
                    driver
                        .existing_tests(&path, &text)
                        .into_iter()
                        .map(|test| test.name),
                );
            }
        }
        let mut per_test = Vec::new();
        for name in names {
            let (profile, _) = run.test_profile(&name)?;
            per_test.push((name, profile));
        }
        Ok(TestCoverage {
            baseline: run.baseline.clone(),
            per_test,
        })
    }

    /// Which tests reach `mutant` of the file at `rel` (relative to the project root).
    pub fn reach(&self, rel: &Path, mutant: &Mutant) -> Reach {
        let place = (mutant.line, mutant.column);
        match executed_at(&self.baseline, rel, place) {
            None => Reach::Unknown,
            Some(false) => Reach::NotExecuted,
            Some(true) => {
                let tests: Vec<String> = self
                    .per_test
                    .iter()
                    .filter(|(_, profile)| executed_at(profile, rel, place) == Some(true))
                    .map(|(name, _)| name.clone())
                    .collect();
                if tests.is_empty() {
                    Reach::Unknown
                } else {
                    Reach::Tests(tests)
                }
            }
        }
    }
}

/// Whether `profile` executed the block holding `place` (line, byte column, 1-based) of
/// `file`; `None` when no block holds it.
pub(crate) fn executed_at(profile: &Profile, file: &Path, place: (usize, usize)) -> Option<bool> {
    let mut found = None;
    for (key, count) in profile.blocks_in(file) {
        let start = (key.span.start_line as usize, key.span.start_col as usize);
        let end = (key.span.end_line as usize, key.span.end_col as usize);
        if start <= place && place < end {
            if count.hits > 0 {
                return Some(true);
            }
            found = Some(false);
        }
    }
    found
}
