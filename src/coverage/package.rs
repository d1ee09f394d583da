//! The packages a coverage run measures: the walked source files grouped by folder and
//! language, each placed in its project (the nearest folder above holding the driver's
//! `project_marker`) and analysed for its members. For a driver that measures per project
//! (a Cargo package), the folders of one project are one package.

use super::profile::{Profile, Tally, tally};
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
    /// The package is its whole project ([`dir`](Self::dir) is empty): its figures are
    /// those of its source files, wherever below the root they are.
    pub whole_project: bool,
    pub sources: Vec<CoverageSource>,
}

impl CoveragePackage {
    /// Executed / total over the package's code in `profile`: its folder's files (Go), or
    /// every file of the project the tests built that is not a test file (a whole project:
    /// the crate's, whichever of its files were named, as a Go package's folder counts
    /// whichever of its files were named).
    pub fn tally(&self, profile: &Profile) -> Tally {
        if !self.whole_project {
            return profile.tally_in(&self.dir);
        }
        tally(
            profile
                .blocks()
                .filter(|(key, _)| !self.driver.is_test_file(&key.file)),
        )
    }

    /// `path` (as the user named it, or absolute) relative to the project root; as given
    /// when it is not below it.
    pub fn relative(&self, path: &Path) -> PathBuf {
        let absolute = path.canonicalize().unwrap_or_else(|_| path.to_owned());
        absolute
            .strip_prefix(&self.root)
            .map(Path::to_owned)
            .unwrap_or_else(|_| path.to_owned())
    }

    /// Whether `file` (relative to the root) is the package's.
    pub fn holds(&self, file: &Path) -> bool {
        if self.whole_project {
            !self.driver.is_test_file(file)
        } else {
            file.parent() == Some(self.dir.as_path())
        }
    }
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
            // Said once for the package, not once per file: the reason is the folder's.
            Err(reason) => problems.push((shown_folder(&folder), reason)),
        }
    }
    (merge_projects(packages), problems)
}

/// `folder` as the user would name it: `.` for the current folder.
fn shown_folder(folder: &Path) -> PathBuf {
    if folder.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        folder.to_owned()
    }
}

/// Joins the folders of one project into one package where the driver measures per project.
fn merge_projects(found: Vec<CoveragePackage>) -> Vec<CoveragePackage> {
    let mut merged: Vec<CoveragePackage> = Vec::new();
    for mut package in found {
        if !package.driver.coverage_per_project() {
            merged.push(package);
            continue;
        }
        // The project's folder as the user named it: the package folder without the
        // components that lead from the root to it.
        let mut shown = package.shown_dir.clone();
        for _ in package.dir.components() {
            if !shown.pop() {
                break;
            }
        }
        if shown.as_os_str().is_empty() {
            shown = PathBuf::from(".");
        }
        let same = merged.iter_mut().find(|known| {
            known.whole_project
                && known.root == package.root
                && known.driver.name() == package.driver.name()
        });
        match same {
            Some(known) => {
                known.sources.append(&mut package.sources);
                known.has_tests |= package.has_tests;
                known.name = known.name.take().or(package.name);
            }
            None => {
                package.dir = PathBuf::new();
                package.shown_dir = shown;
                package.whole_project = true;
                merged.push(package);
            }
        }
    }
    merged
}

fn package(
    folder: &Path,
    driver: &'static dyn Driver,
    files: &[(PathBuf, &'static dyn Driver)],
) -> Result<(CoveragePackage, Unread), String> {
    if driver.project_marker().is_none() {
        return Err(format!(
            "testsmith cannot measure {} coverage",
            driver.name()
        ));
    }
    let canonical = folder
        .canonicalize()
        .map_err(|error| format!("{}: {}", folder.display(), io_message(&error)))?;
    let testsmith_driver::ProjectLocation { root, marker_text } =
        driver.locate_project(&canonical)?;
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
            whole_project: false,
            sources,
        },
        unread,
    ))
}
