//! Reading one file and handing it to its driver: the unit of parallel work.

use super::package::{FileTexts, Package, folder_of};
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
    scan_file_keeping_text(path, driver).0
}

/// [`scan_file`], returning the text of an analysed file too, for a caller that goes on to
/// generate its tests and need not read it again.
fn scan_file_keeping_text(path: &Path, driver: &dyn Driver) -> (ScanOutcome, Option<String>) {
    if driver.is_test_file(path) {
        return (ScanOutcome::TestFile, None);
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let failed = ScanOutcome::Failed {
                path: path.to_owned(),
                error: crate::walk::io_message(&error),
            };
            return (failed, None);
        }
    };
    match decode_source(bytes) {
        Ok(source) => (
            ScanOutcome::Analyzed(driver.analyze(path, &source)),
            Some(source),
        ),
        Err(reason) => {
            let skipped = ScanOutcome::Skipped {
                path: path.to_owned(),
                reason,
            };
            (skipped, None)
        }
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

/// The source files of one package (one folder, one language), not read yet.
#[derive(Debug)]
pub struct PackageSources {
    pub folder: PathBuf,
    pub driver: &'static dyn Driver,
    pub paths: Vec<PathBuf>,
}

/// Groups `sources` (none of them test files) by package, in folder order, without reading
/// them.
pub fn group_into_packages(sources: &[(PathBuf, &'static dyn Driver)]) -> Vec<PackageSources> {
    let mut packages: BTreeMap<(PathBuf, &'static str), PackageSources> = BTreeMap::new();
    for (path, driver) in sources {
        let folder = folder_of(path).to_owned();
        packages
            .entry((folder.clone(), driver.name()))
            .or_insert_with(|| PackageSources {
                folder,
                driver: *driver,
                paths: Vec::new(),
            })
            .paths
            .push(path.clone());
    }
    packages.into_values().collect()
}

/// One package, scanned: its members, the texts of its source files (so that planning does
/// not read them again), and the files that could not be scanned.
#[derive(Debug)]
pub struct ScannedPackage {
    pub package: Package,
    pub texts: FileTexts,
    pub problems: Vec<ScanProblem>,
}

/// Scans a package's files in parallel.
pub fn scan_package(sources: &PackageSources) -> ScannedPackage {
    let scanned: Vec<(ScanOutcome, Option<String>)> = sources
        .paths
        .par_iter()
        .map(|path| scan_file_keeping_text(path, sources.driver))
        .collect();
    let mut package = Package {
        folder: sources.folder.clone(),
        driver: sources.driver,
        files: Vec::new(),
    };
    let mut texts = FileTexts::default();
    let mut problems = Vec::new();
    for (outcome, text) in scanned {
        match outcome {
            ScanOutcome::Analyzed(file) => {
                if let Some(text) = text {
                    texts.insert(file.path.clone(), text);
                }
                package.files.push(file);
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
    ScannedPackage {
        package,
        texts,
        problems,
    }
}

/// Scans `sources` (none of them test files) in parallel and groups them into packages, in
/// folder order, the texts let go; the files that could not be scanned come back in path
/// order.
pub fn scan_into_packages(
    sources: &[(PathBuf, &'static dyn Driver)],
) -> (Vec<Package>, Vec<ScanProblem>) {
    let scanned: Vec<(Package, Vec<ScanProblem>)> = group_into_packages(sources)
        .par_iter()
        .map(|sources| {
            let scanned = scan_package(sources);
            (scanned.package, scanned.problems)
        })
        .collect();
    let mut packages = Vec::with_capacity(scanned.len());
    let mut problems = Vec::new();
    for (package, package_problems) in scanned {
        packages.push(package);
        problems.extend(package_problems);
    }
    problems.sort_by(|a, b| a.path().cmp(b.path()));
    (packages, problems)
}

impl ScanProblem {
    pub fn path(&self) -> &Path {
        match self {
            ScanProblem::Skipped { path, .. } | ScanProblem::Failed { path, .. } => path,
        }
    }
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
