//! Finding the files to work on: the `ignore` crate's walker with testsmith's excludes.
//!
//! Honours .gitignore (in and out of git repositories), skips hidden folders and the folders
//! drivers name (`vendor/`, `testdata/`, `target/`), follows symlinks so that a loop is seen
//! and reported rather than silently skipped. Paths the user names are always walked.

use ignore::WalkBuilder;
use std::path::{Path, PathBuf};
use testsmith_driver::Driver;

/// One thing the walk found.
#[derive(Debug)]
pub enum Found {
    /// A file some driver claims.
    File {
        path: PathBuf,
        driver: &'static dyn Driver,
    },
    /// A path that could not be walked: unreadable folder, symlink loop, missing path, or a
    /// named file no driver claims.
    Problem { path: PathBuf, message: String },
}

/// Walks `roots` and returns every claimed file, sorted by path for stable output, and every
/// problem met on the way.
pub fn walk(roots: &[PathBuf], drivers: &[&'static dyn Driver]) -> Vec<Found> {
    let mut found = Vec::new();
    for root in roots {
        walk_root(root, drivers, &mut found);
    }
    found.sort_by(|a, b| a.path().cmp(b.path()));
    found.dedup_by(|a, b| a.path() == b.path());
    found
}

fn walk_root(root: &Path, drivers: &[&'static dyn Driver], found: &mut Vec<Found>) {
    match std::fs::metadata(root) {
        Err(error) => {
            found.push(Found::Problem {
                path: root.to_owned(),
                message: io_message(&error),
            });
            return;
        }
        Ok(meta) if meta.is_file() => {
            match crate::drivers::for_path(drivers, root) {
                Some(driver) => found.push(Found::File {
                    path: root.to_owned(),
                    driver,
                }),
                None => found.push(Found::Problem {
                    path: root.to_owned(),
                    message: format!("not a file testsmith reads ({})", known_extensions(drivers)),
                }),
            }
            return;
        }
        Ok(_) => {}
    }

    for entry in walker(root, drivers) {
        match entry {
            Ok(entry) => {
                if !entry.file_type().is_some_and(|kind| kind.is_file()) {
                    continue;
                }
                if let Some(driver) = crate::drivers::for_path(drivers, entry.path()) {
                    found.push(Found::File {
                        path: without_dot_prefix(root, entry.into_path()),
                        driver,
                    });
                }
            }
            Err(error) => found.push(problem_from_walk_error(root, &error)),
        }
    }
}

/// The walker with testsmith's excludes: .gitignore (in and out of git repositories), hidden
/// paths, and the folders drivers name.
fn walker(root: &Path, drivers: &[&'static dyn Driver]) -> ignore::Walk {
    let ignored_dirs: Vec<&'static str> = drivers
        .iter()
        .flat_map(|driver| driver.ignored_dirs().iter().copied())
        .collect();
    WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .ignore(true)
        .require_git(false)
        .follow_links(true)
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|kind| kind.is_dir());
            !(is_dir
                && entry.depth() > 0
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| ignored_dirs.contains(&name)))
        })
        .build()
}

/// Every folder the walk of `root` enters, `root` included: the folders `watch` watches.
/// Folders that cannot be read are left out (the walk of their files reports them).
pub fn folders(root: &Path, drivers: &[&'static dyn Driver]) -> Vec<PathBuf> {
    walker(root, drivers)
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_dir()))
        .map(ignore::DirEntry::into_path)
        .collect()
}

/// Paths found below the current folder `.` are shown without the `./` prefix, as ripgrep
/// does; below any other root they keep the root as given.
fn without_dot_prefix(root: &Path, path: PathBuf) -> PathBuf {
    if root == Path::new(".")
        && let Ok(stripped) = path.strip_prefix(".")
    {
        return stripped.to_owned();
    }
    path
}

impl Found {
    pub fn path(&self) -> &Path {
        match self {
            Found::File { path, .. } | Found::Problem { path, .. } => path,
        }
    }
}

fn problem_from_walk_error(root: &Path, error: &ignore::Error) -> Found {
    let (path, inner) = unwrap_walk_error(error);
    let message = match inner {
        ignore::Error::Loop { ancestor, child } => format!(
            "symlink loop: {} points back to {}",
            child.display(),
            ancestor.display()
        ),
        ignore::Error::Io(io) => io_message(io),
        other => other.to_string(),
    };
    Found::Problem {
        path: without_dot_prefix(root, path.unwrap_or(root).to_owned()),
        message,
    }
}

/// Peels the depth and path wrappers off a walk error, keeping the innermost path.
fn unwrap_walk_error(error: &ignore::Error) -> (Option<&Path>, &ignore::Error) {
    match error {
        ignore::Error::WithPath { path, err } => {
            let (inner_path, inner) = unwrap_walk_error(err);
            (inner_path.or(Some(path.as_path())), inner)
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            unwrap_walk_error(err)
        }
        ignore::Error::Loop { child, .. } => (Some(child.as_path()), error),
        other => (None, other),
    }
}

/// An I/O error as a short lowercase phrase, without the OS error number.
pub fn io_message(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file or folder".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

fn known_extensions(drivers: &[&'static dyn Driver]) -> String {
    let extensions: Vec<String> = drivers
        .iter()
        .flat_map(|driver| driver.extensions().iter().map(|ext| format!(".{ext}")))
        .collect();
    format!("expected {}", extensions.join(" or "))
}
