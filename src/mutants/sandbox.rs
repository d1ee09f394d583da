//! Where a mutant lives while its tests run — never in the user's tree.
//!
//! - **Overlay** (Go): the mutated file is written under `.testsmith/mutants/overlay/` and the
//!   toolchain is handed an overlay file mapping the original path to it; the module builds
//!   where it is, with its build cache warm.
//! - **Scratch copy** (Rust): the package is copied to `.testsmith/mutants/scratch/` (its
//!   `Cargo.toml` made a workspace of its own), the mutant written into the copy and the
//!   original put back after, built into `.testsmith/mutants/target/`. Every run first brings
//!   the copy back in line with the tree, so a run killed with a mutant in place leaves
//!   nothing behind that the next run does not undo.
//!
//! Everything is written with a temporary file renamed into place, so no reader ever sees
//! half a file.

use super::plan::{MutatedFile, Project};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use testsmith_driver::{BuildSelection, Driver, MutantRun, MutationSandbox};

/// The folder under `.testsmith/` that holds everything of mutation runs.
pub const MUTANTS_DIR: &str = "mutants";

/// A project made ready for mutants.
#[derive(Debug)]
pub struct Sandbox {
    driver: &'static dyn Driver,
    kind: MutationSandbox,
    /// The user's project, canonical.
    root: PathBuf,
    /// `.testsmith/mutants/` of the project.
    state_dir: PathBuf,
    /// The scratch copy, for [`MutationSandbox::ScratchCopy`].
    scratch: Option<PathBuf>,
    /// A hash of every file the copy holds: a change anywhere may change an outcome.
    scratch_fingerprint: String,
    /// The build tags and features every run builds with.
    build: BuildSelection,
}

impl Sandbox {
    /// Prepares `project`: the state folder, and for a scratch copy the copy itself,
    /// brought in line with the tree.
    pub fn prepare(project: &Project, build: &BuildSelection) -> io::Result<Sandbox> {
        let state_dir = state_dir(&project.root);
        std::fs::create_dir_all(&state_dir)?;
        let kind = project.driver.mutation_sandbox();
        let mut sandbox = Sandbox {
            driver: project.driver,
            kind,
            root: project.root.clone(),
            state_dir,
            scratch: None,
            scratch_fingerprint: String::new(),
            build: build.clone(),
        };
        if kind == MutationSandbox::ScratchCopy {
            let scratch = sandbox.state_dir.join("scratch");
            sandbox.scratch_fingerprint = sync_copy(&project.root, &scratch)?;
            sandbox.scratch = Some(scratch);
        }
        Ok(sandbox)
    }

    /// The state folder, where the journal and the lock live.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The run of `package_dir`'s tests with no mutant in place.
    pub fn baseline(&self, package_dir: &Path) -> MutantRun {
        MutantRun {
            root: self.build_root().to_owned(),
            package_dir: package_dir.to_owned(),
            overlay: None,
            target_dir: self.target_dir(),
            tests: None,
            build: self.build.clone(),
        }
    }

    /// Puts `mutated`, the new text of `file`, where the toolchain will read it, and says how
    /// to run it. [`restore`](Self::restore) undoes it.
    pub fn install(&self, file: &MutatedFile, mutated: &str) -> io::Result<MutantRun> {
        let package_dir = file.rel.parent().unwrap_or(Path::new("")).to_owned();
        match self.kind {
            MutationSandbox::Overlay => {
                let replacement = self.state_dir.join("overlay").join(&file.rel);
                write_file(&replacement, mutated.as_bytes())?;
                let overlay = self.state_dir.join("overlay.json");
                let text = self
                    .driver
                    .overlay_file(&self.root.join(&file.rel), &replacement);
                write_file(&overlay, text.as_bytes())?;
                Ok(MutantRun {
                    root: self.root.clone(),
                    package_dir,
                    overlay: Some(overlay),
                    target_dir: None,
                    tests: None,
                    build: self.build.clone(),
                })
            }
            MutationSandbox::ScratchCopy => {
                write_file(&self.build_root().join(&file.rel), mutated.as_bytes())?;
                Ok(MutantRun {
                    root: self.build_root().to_owned(),
                    package_dir,
                    overlay: None,
                    target_dir: self.target_dir(),
                    tests: None,
                    build: self.build.clone(),
                })
            }
        }
    }

    /// Takes the mutant of `file` out again.
    pub fn restore(&self, file: &MutatedFile) -> io::Result<()> {
        match self.kind {
            MutationSandbox::Overlay => Ok(()),
            MutationSandbox::ScratchCopy => {
                write_file(&self.build_root().join(&file.rel), file.text.as_bytes())
            }
        }
    }

    /// A hash of everything the outcome of a mutant in `package_dir` depends on: the whole
    /// copy for a scratch copy, the package's own folder (its sources and tests) for an
    /// overlay.
    pub fn fingerprint(&self, package_dir: &Path) -> String {
        if self.kind == MutationSandbox::ScratchCopy {
            return self.scratch_fingerprint.clone();
        }
        let mut hasher = Sha256::new();
        let folder = self.root.join(package_dir);
        let mut names: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
                    .map(|entry| entry.path())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        for path in names {
            hasher.update(path.file_name().unwrap_or_default().as_encoded_bytes());
            hasher.update([0]);
            hasher.update(std::fs::read(&path).unwrap_or_default());
            hasher.update([0]);
        }
        crate::store::hex(&hasher.finalize())
    }

    /// The folder whose tests judge a mutant of the file at `rel`: its package (Go), or the
    /// whole copy (Cargo builds and tests the crate as one).
    pub fn test_unit(&self, rel: &Path) -> PathBuf {
        match self.kind {
            MutationSandbox::Overlay => rel.parent().unwrap_or(Path::new("")).to_owned(),
            MutationSandbox::ScratchCopy => PathBuf::new(),
        }
    }

    fn build_root(&self) -> &Path {
        self.scratch.as_deref().unwrap_or(&self.root)
    }

    fn target_dir(&self) -> Option<PathBuf> {
        self.scratch.as_ref().map(|_| self.state_dir.join("target"))
    }
}

/// `.testsmith/mutants/` of the project at `root`.
pub fn state_dir(root: &Path) -> PathBuf {
    root.join(crate::store::STATE_DIR).join(MUTANTS_DIR)
}

/// Takes the project's mutation lock, held by the returned file until it is dropped: two
/// runs on one project would overwrite each other's mutants. `None` when another run holds
/// it.
pub fn lock(root: &Path) -> io::Result<Option<std::fs::File>> {
    let dir = state_dir(root);
    std::fs::create_dir_all(&dir)?;
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("run.lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(error)) => Err(error),
    }
}

/// Makes `copy` hold exactly the files of `root` (hidden files and folders and `target/`
/// left out), writing only what differs and removing what `root` no longer has, and returns
/// a hash of it all. A `Cargo.toml` that declares no workspace gets an empty `[workspace]`,
/// so that Cargo does not take the copy for a member of a workspace around it.
fn sync_copy(root: &Path, copy: &Path) -> io::Result<String> {
    let mut files = Vec::new();
    list_files(root, Path::new(""), &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for rel in &files {
        let mut bytes = std::fs::read(root.join(rel))?;
        if rel.as_os_str() == "Cargo.toml" && !declares_workspace(&bytes) {
            bytes.extend_from_slice(
                b"\n# added by testsmith: the copy is a workspace of its own\n[workspace]\n",
            );
        }
        hasher.update(rel.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        hasher.update(&bytes);
        hasher.update([0]);
        let target = copy.join(rel);
        if std::fs::read(&target).ok().as_deref() != Some(&bytes[..]) {
            write_file(&target, &bytes)?;
        }
    }
    let wanted: BTreeSet<&PathBuf> = files.iter().collect();
    let mut present = Vec::new();
    if copy.is_dir() {
        list_files(copy, Path::new(""), &mut present)?;
    }
    for stale in present.iter().filter(|rel| !wanted.contains(rel)) {
        std::fs::remove_file(copy.join(stale))?;
    }
    Ok(crate::store::hex(&hasher.finalize()))
}

fn declares_workspace(manifest: &[u8]) -> bool {
    String::from_utf8_lossy(manifest)
        .lines()
        .any(|line| line.trim_start().starts_with("[workspace"))
}

/// Every regular file below `dir`, relative to the walk's start, skipping hidden entries,
/// symbolic links and the top-level `target/`.
fn list_files(base: &Path, rel: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(base.join(rel))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = rel.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if rel.as_os_str().is_empty() && name == "target" {
                continue;
            }
            list_files(base, &path, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same folder, renamed into place.
fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    io::Write::write_all(&mut temporary, bytes)?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_follows_the_tree_and_drops_what_it_lost() {
        let dir = tempfile::tempdir().unwrap();
        let (root, copy) = (dir.path().join("p"), dir.path().join("copy"));
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"p\"\n").unwrap();
        std::fs::write(root.join("src/lib.rs"), "pub fn a() {}\n").unwrap();
        std::fs::write(root.join("src/old.rs"), "").unwrap();
        std::fs::write(root.join("target/debug/big"), "x").unwrap();
        std::fs::write(root.join(".git/HEAD"), "x").unwrap();
        let first = sync_copy(&root, &copy).unwrap();
        assert!(copy.join("src/old.rs").is_file());
        assert!(!copy.join("target").exists() && !copy.join(".git").exists());
        let manifest = std::fs::read_to_string(copy.join("Cargo.toml")).unwrap();
        assert!(manifest.ends_with("[workspace]\n"), "{manifest}");

        // A mutant left in the copy by a killed run, and a file deleted from the tree.
        std::fs::write(copy.join("src/lib.rs"), "pub fn a() { loop {} }\n").unwrap();
        std::fs::remove_file(root.join("src/old.rs")).unwrap();
        let second = sync_copy(&root, &copy).unwrap();
        assert_eq!(
            std::fs::read_to_string(copy.join("src/lib.rs")).unwrap(),
            "pub fn a() {}\n"
        );
        assert!(!copy.join("src/old.rs").exists());
        assert_ne!(first, second);
        assert_eq!(second, sync_copy(&root, &copy).unwrap());
    }
}
