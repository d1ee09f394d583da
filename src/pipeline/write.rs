//! Writing files safely: only inside the project, atomically (temporary file + rename, the
//! old permissions kept), and only if nobody changed the file while testsmith worked on it.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The folders testsmith may write into: the project of each path the user named, its real
/// location.
#[derive(Debug, Clone)]
pub struct WriteScope {
    roots: Vec<PathBuf>,
    /// Folders already resolved in this run, with where they lead: a folder holding many
    /// written files is resolved once.
    resolved: Arc<Mutex<HashMap<PathBuf, PathBuf>>>,
}

/// What marks a project's folder: its own configuration, version control, or a toolchain's
/// manifest.
const PROJECT_MARKERS: &[&str] = &["testsmith.toml", ".git", "go.mod", "Cargo.toml"];

impl WriteScope {
    /// The scope for a run over `roots` (files or folders): for each, its project root.
    /// Roots that do not exist are left out: nothing is found below them, so nothing is
    /// written there.
    pub fn new(roots: &[PathBuf]) -> WriteScope {
        let roots = roots.iter().filter_map(|root| project_root(root)).collect();
        WriteScope {
            roots,
            resolved: Arc::default(),
        }
    }

    /// Why `target` must not be written, if it must not: it is a symlink (replacing it would
    /// break the link; writing through it could leave the project) or it resolves to a place
    /// outside every root.
    pub fn refuse(&self, target: &Path) -> Option<String> {
        if std::fs::symlink_metadata(target).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Some(format!(
                "{} is a symlink; testsmith does not write through links",
                target.display()
            ));
        }
        // A folder that does not exist yet (a Rust binary's `src/bin/x/x_tests.rs`) is judged
        // by the nearest folder above it that does: that is where it would be created.
        let Some(resolved) = self.resolve_folder(folder_of(target)) else {
            return Some(format!(
                "{} cannot be resolved",
                folder_of(target).display()
            ));
        };
        if self.roots.iter().any(|root| resolved.starts_with(root)) {
            None
        } else {
            Some(format!(
                "{} lies outside the project (reached through a symlink); not written",
                target.display()
            ))
        }
    }
}

impl WriteScope {
    /// Where `folder` leads, symlinks resolved; a folder that does not exist yet is judged
    /// by the nearest one above it that does.
    fn resolve_folder(&self, folder: &Path) -> Option<PathBuf> {
        let resolved = self.resolved.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = resolved.get(folder) {
            return Some(found.clone());
        }
        drop(resolved);
        let existing = folder
            .ancestors()
            .find(|dir| dir.exists())
            .unwrap_or(Path::new("."));
        let found = existing.canonicalize().ok()?;
        if existing == folder {
            self.resolved
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(folder.to_owned(), found.clone());
        }
        Some(found)
    }
}

/// The project a named path belongs to, defined once: the real path of the nearest folder
/// holding a [project marker](PROJECT_MARKERS) at or above where the user named it — judged
/// from the folder the link sits in, for a symlink the user named (or one among the
/// components they typed), so `generate extlink` cannot make the link's target a project
/// of its own — or, with no marker anywhere above, the named folder itself.
fn project_root(named: &Path) -> Option<PathBuf> {
    let current = std::env::current_dir().ok()?;
    let absolute = std::path::absolute(named).ok()?;
    // The components the user typed: below the current folder for a relative path, the last
    // one for an absolute path (links above a project, like /home → /data/home, are the
    // machine's business, not the project's).
    let typed_from = if named.is_relative() {
        current.components().count()
    } else {
        absolute.components().count().saturating_sub(1)
    };
    let mut start = PathBuf::new();
    for (index, component) in absolute.components().enumerate() {
        let next = start.join(component);
        if index >= typed_from
            && std::fs::symlink_metadata(&next).is_ok_and(|meta| meta.file_type().is_symlink())
        {
            break;
        }
        start = next;
    }
    if start.is_file() {
        start.pop();
    }
    if !start.exists() {
        return None;
    }
    let marked = start.ancestors().find(|folder| {
        PROJECT_MARKERS
            .iter()
            .any(|marker| folder.join(marker).exists())
    });
    marked.unwrap_or(&start).canonicalize().ok()
}

/// One file a run wrote and what it held before: enough to undo the write byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub path: PathBuf,
    /// Its text before the write; `None` when the write created it.
    pub before: Option<String>,
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Refused(String),
    #[error("changed on disk while testsmith was working on it; run again")]
    ChangedMeanwhile,
    #[error("{}", crate::walk::io_message(.0))]
    Io(#[from] std::io::Error),
}

/// Replaces `path` with `contents` atomically: readers see the old file or the new one, never
/// a half-written one. `expected` is what the file held when testsmith read it (`None`: it did
/// not exist); if it holds something else now, nothing is written.
pub fn write_atomically(
    scope: &WriteScope,
    path: &Path,
    contents: &str,
    expected: Option<&str>,
) -> Result<(), WriteError> {
    if let Some(reason) = scope.refuse(path) {
        return Err(WriteError::Refused(reason));
    }
    // What is there now, and its permissions, through one handle.
    let (current, permissions) = match std::fs::File::open(path) {
        Ok(mut file) => {
            let permissions = file.metadata()?.permissions();
            // Replacing the file by a rename would succeed: the folder is writable. The
            // user's choice to protect it stands.
            if permissions.readonly() {
                return Err(WriteError::Refused(format!(
                    "{} is read-only; testsmith does not write over a file you protected                      (make it writable to let it)",
                    path.display()
                )));
            }
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            (Some(bytes), permissions)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            (None, new_file_permissions())
        }
        Err(error) => return Err(error.into()),
    };
    if current.as_deref() != expected.map(str::as_bytes) {
        return Err(WriteError::ChangedMeanwhile);
    }

    let dir = folder_of(path);
    let temp_in = |dir: &Path| {
        tempfile::Builder::new()
            .prefix(".testsmith-")
            .suffix(".tmp")
            .tempfile_in(dir)
    };
    let mut temp = match temp_in(dir) {
        // A folder that is not there yet (a Rust binary's tests folder).
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            temp_in(dir)?
        }
        temp => temp?,
    };
    temp.write_all(contents.as_bytes())?;
    // The rename alone is atomic for every reader and for a killed process. Flushing to disk
    // first matters only for a power cut, and only when replacing a file: some file systems
    // could then leave an empty file where the user's tests were. A new file has nothing to
    // lose, and skipping its flush keeps `generate` over thousands of files fast.
    if current.is_some() {
        temp.as_file().sync_data()?;
    }
    temp.as_file().set_permissions(permissions)?;
    temp.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// The folder `path` is in; `.` for a bare file name.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// A SHA-256 digest of a file's contents. Content, not mtime: an editor that saves unchanged
/// text, or a clock that jumps, must not look like an edit.
pub type ContentHash = [u8; 32];

pub fn content_hash(bytes: &[u8]) -> ContentHash {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Every file a run wrote, with the hash of what it wrote: `watch` compares the files its
/// notifications name against this, so its own writes never trigger another pass.
#[derive(Debug, Default)]
pub struct WriteJournal {
    written: std::sync::Mutex<Vec<(PathBuf, ContentHash)>>,
}

impl WriteJournal {
    pub fn record(&self, path: &Path, contents: &str) {
        let hash = content_hash(contents.as_bytes());
        self.lock().push((path.to_owned(), hash));
    }

    /// The writes recorded since the last call, oldest first.
    pub fn take(&self) -> Vec<(PathBuf, ContentHash)> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(PathBuf, ContentHash)>> {
        // A panic while holding the lock cannot leave the list half-updated: push and take
        // are single operations.
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// New files get the usual `rw-r--r--`; the temporary file would otherwise keep its private
/// `rw-------`.
fn new_file_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_file_is_written_readable_by_everyone() {
        let dir = tempfile::tempdir().unwrap();
        let scope = WriteScope::new(&[dir.path().to_owned()]);
        let target = dir.path().join("a_test.go");
        write_atomically(&scope, &target, "package a\n", None).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "package a\n");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn an_existing_file_keeps_its_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let scope = WriteScope::new(&[dir.path().to_owned()]);
        let target = dir.path().join("a_test.go");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&scope, &target, "new", Some("old")).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let scope = WriteScope::new(&[dir.path().to_owned()]);
        let target = dir.path().join("a_test.go");
        std::fs::write(&target, "edited by a person").unwrap();
        let error = write_atomically(&scope, &target, "new", Some("old")).unwrap_err();
        assert!(matches!(error, WriteError::ChangedMeanwhile));
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "edited by a person"
        );
    }

    #[test]
    fn the_journal_hands_back_each_write_once() {
        let journal = WriteJournal::default();
        journal.record(Path::new("a_test.go"), "package a\n");
        assert_eq!(
            journal.take(),
            [(PathBuf::from("a_test.go"), content_hash(b"package a\n"))]
        );
        assert!(journal.take().is_empty());
    }

    #[test]
    fn no_temporary_file_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let scope = WriteScope::new(&[dir.path().to_owned()]);
        write_atomically(&scope, &dir.path().join("a.rs"), "x", None).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["a.rs"]);
    }

    #[test]
    fn writing_through_a_symlinked_folder_out_of_the_project_is_refused() {
        // Into the linked folder itself, and into a folder that would have to be created
        // below it.
        for (relative, first_created) in [
            ("escape/a_test.go", "a_test.go"),
            ("escape/new/a_test.go", "new"),
        ] {
            let outside = tempfile::tempdir().unwrap();
            let project = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(outside.path(), project.path().join("escape")).unwrap();
            let scope = WriteScope::new(&[project.path().to_owned()]);
            let target = project.path().join(relative);
            let error = write_atomically(&scope, &target, "x", None).unwrap_err();
            assert!(
                matches!(error, WriteError::Refused(_)),
                "{relative}: {error}"
            );
            assert!(!outside.path().join(first_created).exists(), "{relative}");
        }
    }

    #[test]
    fn a_missing_folder_inside_the_project_is_created() {
        let project = tempfile::tempdir().unwrap();
        let scope = WriteScope::new(&[project.path().to_owned()]);
        let target = project.path().join("src/bin/tool/tool_tests.rs");
        write_atomically(&scope, &target, "x", None).unwrap();
        assert_eq!(std::fs::read_to_string(target).unwrap(), "x");
    }

    #[test]
    fn a_symlinked_file_is_never_replaced() {
        let project = tempfile::tempdir().unwrap();
        std::fs::write(project.path().join("real.go"), "x").unwrap();
        std::os::unix::fs::symlink("real.go", project.path().join("link_test.go")).unwrap();
        let scope = WriteScope::new(&[project.path().to_owned()]);
        let error = write_atomically(&scope, &project.path().join("link_test.go"), "y", Some("x"))
            .unwrap_err();
        assert!(matches!(error, WriteError::Refused(_)));
        assert_eq!(
            std::fs::read_to_string(project.path().join("real.go")).unwrap(),
            "x"
        );
    }
}
