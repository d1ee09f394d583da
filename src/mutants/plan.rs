//! Which mutants a run tries: the source files under the paths, grouped by the project their
//! toolchain builds (the nearest `go.mod` or `Cargo.toml` above them), each file's mutants
//! found by its driver.

use crate::output::PathNote;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, Mutant};

/// One project and the mutants of its files.
#[derive(Debug)]
pub struct Project {
    pub driver: &'static dyn Driver,
    /// The folder the driver's toolchain builds from (`Driver::locate_project`), canonical.
    pub root: PathBuf,
    pub files: Vec<MutatedFile>,
}

/// One source file and its mutants.
#[derive(Debug)]
pub struct MutatedFile {
    /// Relative to [`Project::root`].
    pub rel: PathBuf,
    /// As the user named it, for the report.
    pub shown: PathBuf,
    pub text: String,
    pub mutants: Vec<Mutant>,
}

impl Project {
    pub fn mutant_count(&self) -> usize {
        self.files.iter().map(|file| file.mutants.len()).sum()
    }
}

/// The projects of `sources` (source files, not tests, each with its driver), in a stable
/// order, with the paths that could not be placed or read.
pub fn projects(sources: Vec<(PathBuf, &'static dyn Driver)>) -> (Vec<Project>, Vec<PathNote>) {
    let mut by_root: BTreeMap<(PathBuf, &'static str), Project> = BTreeMap::new();
    let mut problems = Vec::new();
    for (shown, driver) in sources {
        match place(&shown, driver) {
            Ok((root, rel)) => {
                let text = match std::fs::read_to_string(&shown) {
                    Ok(text) => text,
                    Err(error) => {
                        problems.push(PathNote {
                            path: shown,
                            reason: crate::walk::io_message(&error),
                        });
                        continue;
                    }
                };
                let mutants = driver.mutants(&rel, &text);
                by_root
                    .entry((root.clone(), driver.name()))
                    .or_insert_with(|| Project {
                        driver,
                        root,
                        files: Vec::new(),
                    })
                    .files
                    .push(MutatedFile {
                        rel,
                        shown,
                        text,
                        mutants,
                    });
            }
            Err(reason) => problems.push(PathNote {
                path: shown,
                reason,
            }),
        }
    }
    let mut projects: Vec<Project> = by_root.into_values().collect();
    for project in &mut projects {
        project.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    }
    (projects, problems)
}

/// The project root above `path` (canonical) and `path` relative to it.
fn place(path: &Path, driver: &dyn Driver) -> Result<(PathBuf, PathBuf), String> {
    if driver.project_marker().is_none() {
        return Err(format!("testsmith cannot run {} mutants", driver.name()));
    }
    let canonical = path
        .canonicalize()
        .map_err(|error| crate::walk::io_message(&error))?;
    let root = driver
        .locate_project(canonical.parent().unwrap_or(&canonical))?
        .root;
    let rel = canonical
        .strip_prefix(&root)
        .expect("an ancestor is a prefix")
        .to_owned();
    Ok((root, rel))
}
