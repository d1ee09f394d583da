//! Packages outside any module: where `go.mod` is missing, `go test` builds a package from its
//! GOPATH (`GO111MODULE=off`), the folder above the nearest enclosing `src/`. This module
//! finds that GOPATH and the environment the go tool needs to build from it.

use std::path::{Path, PathBuf};
use testsmith_driver::ProjectLocation;

/// Why a package with neither a module nor a GOPATH cannot be built.
pub(crate) const NO_PROJECT: &str = "not in a module or a GOPATH: run `go mod init`";

/// The module holding `folder` (nearest `go.mod` at or above it), else its GOPATH package:
/// the folder itself, with `module <import path>` standing in for `go.mod`'s text so that
/// the go tool's package paths map back to folders as in a module.
pub(crate) fn locate(folder: &Path) -> Result<ProjectLocation, String> {
    if let Some(root) = folder.ancestors().find(|dir| dir.join("go.mod").is_file()) {
        let marker = root.join("go.mod");
        let marker_text = std::fs::read_to_string(&marker)
            .map_err(|error| format!("{}: {error}", marker.display()))?;
        return Ok(ProjectLocation {
            root: root.to_owned(),
            marker_text,
        });
    }
    let (_, import_path) = gopath_of(folder).ok_or_else(|| NO_PROJECT.to_owned())?;
    Ok(ProjectLocation {
        root: folder.to_owned(),
        marker_text: format!("module {import_path}\n"),
    })
}

/// The GOPATH holding `folder` (the parent of its nearest enclosing `src/`) and the
/// package's import path below `src/`; `None` when no `src/` encloses it or `folder` is
/// `src/` itself.
fn gopath_of(folder: &Path) -> Option<(PathBuf, String)> {
    let src = folder
        .ancestors()
        .skip(1)
        .find(|dir| dir.file_name().is_some_and(|name| name == "src"))?;
    let gopath = src.parent()?;
    let import_path = folder
        .strip_prefix(src)
        .ok()?
        .components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    Some((gopath.to_owned(), import_path))
}

/// The variables the go tool needs to build the package at `root` (a [`locate`]d root):
/// none inside a module; for a GOPATH package `GO111MODULE=off` and `GOPATH` set to its own
/// GOPATH, followed by the entries of the user's `GOPATH`, as `go test` would find them.
pub(crate) fn env(root: &Path) -> Vec<(String, String)> {
    if root.ancestors().any(|dir| dir.join("go.mod").is_file()) {
        return Vec::new();
    }
    let Some((gopath, _)) = gopath_of(root) else {
        return Vec::new();
    };
    let user = std::env::var_os("GOPATH").unwrap_or_default();
    let entries: Vec<PathBuf> = std::iter::once(gopath.clone())
        .chain(
            std::env::split_paths(&user)
                .filter(|entry| !entry.as_os_str().is_empty() && *entry != gopath),
        )
        .collect();
    let joined = std::env::join_paths(entries)
        .map(|joined| joined.to_string_lossy().into_owned())
        .unwrap_or_else(|_| gopath.to_string_lossy().into_owned());
    vec![
        ("GO111MODULE".to_owned(), "off".to_owned()),
        ("GOPATH".to_owned(), joined),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_below_src_is_a_gopath_package_named_by_its_import_path() {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("gopath/src/github.com/dustin/go-humanize");
        std::fs::create_dir_all(&package).unwrap();
        let found = locate(&package).unwrap();
        assert_eq!(found.root, package);
        assert_eq!(found.marker_text, "module github.com/dustin/go-humanize\n");
        let env = env(&package);
        assert_eq!(env[0], ("GO111MODULE".to_owned(), "off".to_owned()));
        assert!(
            env[1]
                .1
                .starts_with(&dir.path().join("gopath").display().to_string()),
            "{env:?}"
        );
    }

    #[test]
    fn a_module_wins_over_an_enclosing_src_folder_and_needs_no_environment() {
        let dir = tempfile::tempdir().unwrap();
        let module = dir.path().join("src/m");
        std::fs::create_dir_all(module.join("sub")).unwrap();
        std::fs::write(module.join("go.mod"), "module example.com/m\n").unwrap();
        let found = locate(&module.join("sub")).unwrap();
        assert_eq!(found.root, module);
        assert_eq!(found.marker_text, "module example.com/m\n");
        assert!(env(&module).is_empty());
    }

    #[test]
    fn a_package_in_neither_says_to_run_go_mod_init() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(locate(dir.path()).unwrap_err(), NO_PROJECT);
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        assert_eq!(locate(&src).unwrap_err(), NO_PROJECT);
    }
}
