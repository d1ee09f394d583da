//! The packages a coverage run measures: the walked source files grouped by folder and
//! language, each placed in its project (the nearest folder above holding the driver's
//! `project_marker`) and analysed for its members.

use crate::pipeline::folder_of;
use crate::walk::io_message;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, FileMembers};

/// One package: a folder's source files in one language, with their project.
#[derive(Debug)]
pub struct CoveragePackage {
    pub driver: &'static dyn Driver,
    /// The project's folder, canonical.
    pub root: PathBuf,
    pub marker_text: String,
    /// The package's folder relative to [`root`](Self::root).
    pub dir: PathBuf,
    /// The package's folder as the user named it, for the report.
    pub shown_dir: PathBuf,
    /// The package's name as its sources declare it, where the language has one.
    pub name: Option<String>,
    /// Whether the folder holds test files of the language.
    pub has_tests: bool,
    pub sources: Vec<CoverageSource>,
}

/// One source file of a package, analysed.
#[derive(Debug)]
pub struct CoverageSource {
    /// Relative to the project root: how profiles name it.
    pub rel: PathBuf,
    /// As the user named it, for the report.
    pub shown: PathBuf,
    pub text: String,
    pub members: FileMembers,
}

/// Source files with the driver that claims them.
type Sources = Vec<(PathBuf, &'static dyn Driver)>;
/// Files that could not be read or placed, with the reason.
type Unread = Vec<(PathBuf, String)>;

/// Groups `sources` (walked, not test files) into packages. A file that cannot be placed
/// or read comes back with the reason.
pub fn packages(sources: Sources) -> (Vec<CoveragePackage>, Unread) {
    let mut by_folder: BTreeMap<(PathBuf, &'static str), Sources> = BTreeMap::new();
    for (path, driver) in sources {
        by_folder
            .entry((folder_of(&path).to_owned(), driver.name()))
            .or_default()
            .push((path, driver));
    }
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    for ((folder, _), files) in by_folder {
        let driver = files[0].1;
        match package(&folder, driver, &files) {
            Ok((package, unread)) => {
                problems.extend(unread);
                packages.push(package);
            }
            Err(reason) => {
                problems.extend(files.into_iter().map(|(path, _)| (path, reason.clone())))
            }
        }
    }
    (packages, problems)
}

fn package(
    folder: &Path,
    driver: &'static dyn Driver,
    files: &[(PathBuf, &'static dyn Driver)],
) -> Result<(CoveragePackage, Unread), String> {
    let marker = driver
        .project_marker()
        .ok_or_else(|| format!("testsmith cannot measure {} coverage", driver.name()))?;
    let canonical = folder
        .canonicalize()
        .map_err(|error| format!("{}: {}", folder.display(), io_message(&error)))?;
    let root = canonical
        .ancestors()
        .find(|dir| dir.join(marker).is_file())
        .ok_or_else(|| format!("no {marker} above {}", folder.display()))?
        .to_owned();
    let marker_path = root.join(marker);
    let marker_text = std::fs::read_to_string(&marker_path)
        .map_err(|error| format!("{}: {}", marker_path.display(), io_message(&error)))?;
    let dir = canonical
        .strip_prefix(&root)
        .expect("an ancestor")
        .to_owned();
    let has_tests = std::fs::read_dir(&canonical)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|entry| driver.claims(&entry.path()) && driver.is_test_file(&entry.path()))
        })
        .unwrap_or(false);
    let mut sources = Vec::new();
    let mut unread = Vec::new();
    for (path, _) in files {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let members = driver.analyze(path, &text);
                let file_name = path.file_name().map(PathBuf::from).unwrap_or_default();
                sources.push(CoverageSource {
                    rel: dir.join(file_name),
                    shown: path.clone(),
                    text,
                    members,
                });
            }
            Err(error) => unread.push((path.clone(), io_message(&error))),
        }
    }
    let name = sources
        .iter()
        .find_map(|source| source.members.package.clone());
    Ok((
        CoveragePackage {
            driver,
            root,
            marker_text,
            dir,
            shown_dir: folder.to_owned(),
            name,
            has_tests,
            sources,
        },
        unread,
    ))
}
