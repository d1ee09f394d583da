//! Reading one file and handing it to its driver: the unit of parallel work.

use super::package::{Package, folder_of};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, FileMembers};

/// What became of one file.
#[derive(Debug)]
pub enum ScanOutcome {
    /// Parsed; members extracted (possibly with recovered syntax errors).
    Analyzed(FileMembers),
    /// A test file: not analysed for members, but known.
    TestFile,
    /// Deliberately not analysed, with the reason (binary, not UTF-8).
    Skipped { path: PathBuf, reason: String },
    /// Could not be read.
    Failed { path: PathBuf, error: String },
}

/// Reads `path` and extracts its members with `driver`. The file's text is dropped before
/// returning, so memory stays proportional to the members, not the sources.
pub fn scan_file(path: &Path, driver: &dyn Driver) -> ScanOutcome {
    if driver.is_test_file(path) {
        return ScanOutcome::TestFile;
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            return ScanOutcome::Failed {
                path: path.to_owned(),
                error: crate::walk::io_message(&error),
            };
        }
    };
    match decode_source(bytes) {
        Ok(source) => ScanOutcome::Analyzed(driver.analyze(path, &source)),
        Err(reason) => ScanOutcome::Skipped {
            path: path.to_owned(),
            reason,
        },
    }
}

/// A source file that was not scanned.
#[derive(Debug)]
pub enum ScanProblem {
    /// Deliberately not analysed (binary, not UTF-8), with the reason.
    Skipped { path: PathBuf, reason: String },
    /// Could not be read.
    Failed { path: PathBuf, error: String },
}

/// Scans `sources` (none of them test files) in parallel and groups them into packages, in
/// folder order; the files that could not be scanned come back in path order.
pub fn scan_into_packages(
    sources: &[(PathBuf, &'static dyn Driver)],
) -> (Vec<Package>, Vec<ScanProblem>) {
    let scanned: Vec<(&'static dyn Driver, ScanOutcome)> = sources
        .par_iter()
        .map(|(path, driver)| (*driver, scan_file(path, *driver)))
        .collect();
    let mut packages: BTreeMap<(PathBuf, &'static str), Package> = BTreeMap::new();
    let mut problems = Vec::new();
    for (driver, outcome) in scanned {
        match outcome {
            ScanOutcome::Analyzed(file) => {
                let folder = folder_of(&file.path).to_owned();
                packages
                    .entry((folder.clone(), driver.name()))
                    .or_insert_with(|| Package {
                        folder,
                        driver,
                        files: Vec::new(),
                    })
                    .files
                    .push(file);
            }
            ScanOutcome::TestFile => {}
            ScanOutcome::Skipped { path, reason } => {
                problems.push(ScanProblem::Skipped { path, reason })
            }
            ScanOutcome::Failed { path, error } => {
                problems.push(ScanProblem::Failed { path, error })
            }
        }
    }
    (packages.into_values().collect(), problems)
}

/// How far into a file to look for a NUL byte, the mark of a binary file (git's heuristic).
const BINARY_SNIFF_LEN: usize = 8000;

/// The file's text, or why it is not source text.
pub fn decode_source(bytes: Vec<u8>) -> Result<String, String> {
    let head = &bytes[..bytes.len().min(BINARY_SNIFF_LEN)];
    if head.contains(&0) {
        return Err("binary file".to_owned());
    }
    String::from_utf8(bytes).map_err(|error| {
        format!(
            "not valid UTF-8 (first bad byte at offset {})",
            error.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_byte_marks_a_binary_file() {
        assert_eq!(
            decode_source(b"package a\0".to_vec()),
            Err("binary file".to_owned())
        );
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        assert_eq!(
            decode_source(b"package \xff".to_vec()),
            Err("not valid UTF-8 (first bad byte at offset 8)".to_owned())
        );
    }

    #[test]
    fn utf8_text_passes() {
        assert_eq!(
            decode_source("package ä".as_bytes().to_vec()).as_deref(),
            Ok("package ä")
        );
    }
}
