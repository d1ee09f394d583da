//! Which paths `watch` cares about: the files `generate` would walk — hidden paths, the
//! drivers' ignored folders and .gitignore'd paths left out, decided as [`crate::walk`]'s
//! `ignore` walker decides — minus editors' temporary files and testsmith's own.
//!
//! The walker decides top-down while it descends; a notification names one path out of the
//! blue, so the same rules are applied to that path and each folder above it.

use ignore::Match;
use ignore::gitignore::Gitignore;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use testsmith_driver::Driver;

/// One path the user named: as shown in output and as the file system knows it.
#[derive(Debug, Clone)]
pub struct WatchRoot {
    /// As given (`.` for the current folder); output paths start with it, as `generate`'s do.
    shown: PathBuf,
    /// Absolute, symlinks resolved: notifications name paths below it.
    canonical: PathBuf,
    /// A named file rather than a folder.
    is_file: bool,
}

impl WatchRoot {
    pub fn new(shown: &Path) -> std::io::Result<WatchRoot> {
        let canonical = shown.canonicalize()?;
        Ok(WatchRoot {
            shown: shown.to_owned(),
            is_file: canonical.is_file(),
            canonical,
        })
    }

    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// The folder to watch for this root: the root itself, or a named file's folder.
    pub fn folder(&self) -> &Path {
        if self.is_file {
            self.canonical.parent().unwrap_or(&self.canonical)
        } else {
            &self.canonical
        }
    }

    pub fn is_file(&self) -> bool {
        self.is_file
    }

    /// `absolute` as output shows it — below `.` without the `./` prefix, as the walker does —
    /// or `None` when it is not this root's.
    pub fn shown_path(&self, absolute: &Path) -> Option<PathBuf> {
        if self.is_file {
            return (absolute == self.canonical).then(|| self.shown.clone());
        }
        let relative = absolute.strip_prefix(&self.canonical).ok()?;
        Some(if relative.as_os_str().is_empty() {
            self.shown.clone()
        } else if self.shown == Path::new(".") {
            relative.to_owned()
        } else {
            self.shown.join(relative)
        })
    }
}

/// Editors' and testsmith's temporary files: vim's swap files (`.a.go.swp`, `.swx`, …) and
/// its write test `4913`, backups (`a.go~`), emacs' lock and autosave files (`.#a.go`,
/// `#a.go#`), JetBrains' safe-write files (`a.go___jb_tmp___`, `___jb_old___`), any `*.tmp`,
/// and testsmith's own `.testsmith-*.tmp`. None of them is ever a source file, however its
/// name ends.
pub fn is_temporary_file(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let is_vim_swap = name.starts_with('.')
        && [".swp", ".swx", ".swo", ".swn"]
            .iter()
            .any(|suffix| name.ends_with(suffix));
    is_vim_swap
        || name == "4913"
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || name.ends_with(".tmp")
}

/// The ignore files of one folder, read once (until one of them changes).
#[derive(Debug, Default)]
struct FolderRules {
    /// `.ignore`: wins over git's files, and applies above a repository root too.
    ignore: Option<Gitignore>,
    /// `.gitignore`.
    git: Option<Gitignore>,
    /// `.git/info/exclude`, in a repository's root folder.
    exclude: Option<Gitignore>,
    /// The folder is a repository root: git's rules of the folders above it do not apply.
    is_repository: bool,
}

impl FolderRules {
    fn read(folder: &Path) -> FolderRules {
        let load = |path: PathBuf| {
            path.is_file()
                .then(|| Gitignore::new(&path).0)
                .filter(|rules| !rules.is_empty())
        };
        let git_dir = folder.join(".git");
        FolderRules {
            ignore: load(folder.join(".ignore")),
            git: load(folder.join(".gitignore")),
            exclude: load(git_dir.join("info").join("exclude")),
            is_repository: git_dir.exists(),
        }
    }
}

/// Decides, path by path, what `watch` does with a notification.
#[derive(Debug)]
pub struct PathFilter {
    roots: Vec<WatchRoot>,
    drivers: Vec<&'static dyn Driver>,
    ignored_dirs: Vec<&'static str>,
    rules: HashMap<PathBuf, FolderRules>,
    global: Gitignore,
}

/// A source file a notification named, as output shows it.
#[derive(Debug, Clone)]
pub struct SourcePath {
    pub shown: PathBuf,
    pub driver: &'static dyn Driver,
}

impl PathFilter {
    pub fn new(roots: Vec<WatchRoot>, drivers: Vec<&'static dyn Driver>) -> PathFilter {
        let ignored_dirs = drivers
            .iter()
            .flat_map(|driver| driver.ignored_dirs().iter().copied())
            .collect();
        PathFilter {
            roots,
            drivers,
            ignored_dirs,
            rules: HashMap::new(),
            global: Gitignore::global().0,
        }
    }

    pub fn roots(&self) -> &[WatchRoot] {
        &self.roots
    }

    pub fn drivers(&self) -> &[&'static dyn Driver] {
        &self.drivers
    }

    /// The root `absolute` belongs to and its path as shown; the first root wins when
    /// roots overlap.
    pub fn shown_path(&self, absolute: &Path) -> Option<(&WatchRoot, PathBuf)> {
        self.roots
            .iter()
            .find_map(|root| root.shown_path(absolute).map(|shown| (root, shown)))
    }

    /// Whether a notification about `absolute` may matter, judged by its name alone (no file
    /// system access, so a storm of irrelevant notifications costs nothing): under a root, not
    /// temporary, not hidden, not in an ignored folder, and not a test file — a test file a
    /// person edits is read again on the next pass, but is no reason for one.
    pub fn may_matter(&self, absolute: &Path) -> bool {
        let Some((root, _)) = self.shown_path(absolute) else {
            return false;
        };
        if root.is_file {
            return true;
        }
        let name = absolute.file_name().unwrap_or_default();
        let is_test_file = crate::drivers::for_path(&self.drivers, absolute)
            .is_some_and(|driver| driver.is_test_file(absolute));
        !is_temporary_file(name) && !is_test_file && !self.is_excluded_by_name(root, absolute)
    }

    /// A source file the walk would find at `absolute` (which must be a file): a named file,
    /// or a file below a named folder that a driver claims, that is no test file and that no
    /// rule excludes.
    pub fn source(&mut self, absolute: &Path) -> Option<SourcePath> {
        let (root, shown) = self.shown_path(absolute)?;
        let driver = crate::drivers::for_path(&self.drivers, absolute)?;
        if root.is_file {
            return Some(SourcePath { shown, driver });
        }
        let name = absolute.file_name().unwrap_or_default();
        let admitted = !driver.is_test_file(absolute)
            && !is_temporary_file(name)
            && !self.is_excluded(absolute, false);
        admitted.then_some(SourcePath { shown, driver })
    }

    /// Whether the walk would descend into the folder `absolute`.
    pub fn admits_folder(&mut self, absolute: &Path) -> bool {
        match self.shown_path(absolute) {
            Some((root, _)) if !root.is_file => !self.is_excluded(absolute, true),
            _ => false,
        }
    }

    /// Forgets the ignore files read for `folder`: one of them changed.
    pub fn forget_rules(&mut self, folder: &Path) {
        self.rules.remove(folder);
    }

    /// Whether `name` is a file whose change changes the rules.
    pub fn is_rules_file(name: &OsStr) -> bool {
        name == ".gitignore" || name == ".ignore"
    }

    /// Hidden paths and the drivers' ignored folders below `root`, by name.
    fn is_excluded_by_name(&self, root: &WatchRoot, absolute: &Path) -> bool {
        let Ok(relative) = absolute.strip_prefix(&root.canonical) else {
            return true;
        };
        let mut components = relative.components().peekable();
        while let Some(component) = components.next() {
            let name = component.as_os_str().to_string_lossy();
            let is_folder = components.peek().is_some();
            if name.starts_with('.')
                || is_folder && self.ignored_dirs.iter().any(|dir| *dir == name)
                || name == crate::store::STATE_DIR
            {
                return true;
            }
        }
        false
    }

    /// [`is_excluded_by_name`](Self::is_excluded_by_name), or ignored by the ignore files —
    /// the path itself or any folder between it and `root` (the walker never enters an
    /// ignored folder, so nothing below one counts, whatever a deeper rule says).
    fn is_excluded(&mut self, absolute: &Path, is_dir: bool) -> bool {
        let Some((root, _)) = self.shown_path(absolute) else {
            return true;
        };
        if self.is_excluded_by_name(root, absolute) {
            return true;
        }
        let root = root.canonical.clone();
        let root = root.as_path();
        // The name check cannot tell a folder from a file by its last component; here it is
        // known to be a folder, so its own name may be an ignored folder's (`vendor`).
        if is_dir
            && absolute
                .file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|name| self.ignored_dirs.contains(&name))
            && absolute != root
        {
            return true;
        }
        let mut folders: Vec<&Path> = absolute
            .ancestors()
            .skip(1)
            .take_while(|folder| folder.starts_with(root) && *folder != root)
            .collect();
        folders.reverse();
        for folder in folders {
            if self.is_ignored(folder, true) {
                return true;
            }
        }
        absolute != root && self.is_ignored(absolute, is_dir)
    }

    /// Whether the ignore files say `path` is ignored. As in the `ignore` crate, `.ignore`
    /// wins over `.gitignore`, which wins over `.git/info/exclude`, which wins over git's
    /// global excludes; within each kind the deepest folder with an opinion decides; git's
    /// rules stop at the repository root.
    fn is_ignored(&mut self, path: &Path, is_dir: bool) -> bool {
        let folders: Vec<PathBuf> = path.ancestors().skip(1).map(Path::to_owned).collect();
        for folder in &folders {
            self.rules
                .entry(folder.clone())
                .or_insert_with(|| FolderRules::read(folder));
        }
        let rules: Vec<&FolderRules> = folders.iter().map(|folder| &self.rules[folder]).collect();
        let decide = |matched: Match<&ignore::gitignore::Glob>| match matched {
            Match::Ignore(_) => Some(true),
            Match::Whitelist(_) => Some(false),
            Match::None => None,
        };
        let by_ignore = rules.iter().find_map(|folder| {
            folder
                .ignore
                .as_ref()
                .and_then(|rules| decide(rules.matched(path, is_dir)))
        });
        if let Some(ignored) = by_ignore {
            return ignored;
        }
        let within_repository = {
            let last = rules
                .iter()
                .position(|folder| folder.is_repository)
                .map_or(rules.len(), |index| index + 1);
            &rules[..last]
        };
        let by_git = |pick: fn(&FolderRules) -> Option<&Gitignore>| {
            within_repository.iter().find_map(|folder| {
                pick(folder).and_then(|rules| decide(rules.matched(path, is_dir)))
            })
        };
        by_git(|folder| folder.git.as_ref())
            .or_else(|| by_git(|folder| folder.exclude.as_ref()))
            .or_else(|| decide(self.global.matched(path, is_dir)))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter_for(dir: &Path) -> PathFilter {
        let root = WatchRoot::new(dir).unwrap();
        PathFilter::new(vec![root], crate::drivers::DRIVERS.to_vec())
    }

    fn project() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        (dir, root)
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn editors_temporary_files_are_recognised_whatever_they_end_with() {
        for name in [
            ".parser.go.swp",
            ".parser.go.swx",
            "4913",
            "parser.go~",
            ".#parser.go",
            "#parser.go#",
            "parser.go___jb_tmp___",
            "parser.go___jb_old___",
            "parser.go.tmp",
            ".testsmith-a1B2c3.tmp",
        ] {
            assert!(is_temporary_file(OsStr::new(name)), "{name}");
        }
        for name in ["parser.go", "lib.rs", "swap.go", "tmp.rs", "4913.go"] {
            assert!(!is_temporary_file(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn a_source_file_is_shown_as_the_walker_shows_it() {
        let (_dir, root) = project();
        let file = root.join("src/parser.go");
        write(&file, "package src\n");
        let mut filter = filter_for(&root);
        let source = filter.source(&file).unwrap();
        assert_eq!(source.driver.name(), "go");
        assert_eq!(source.shown, root.join("src/parser.go"));

        let dot = WatchRoot {
            shown: PathBuf::from("."),
            canonical: root.clone(),
            is_file: false,
        };
        assert_eq!(dot.shown_path(&file), Some(PathBuf::from("src/parser.go")));
    }

    #[test]
    fn test_files_temporary_files_and_other_languages_are_no_sources() {
        let (_dir, root) = project();
        let mut filter = filter_for(&root);
        for name in [
            "a_test.go",
            "a.go~",
            ".#a.go",
            "notes.md",
            ".testsmith-x.tmp",
        ] {
            write(&root.join(name), "x");
            assert!(filter.source(&root.join(name)).is_none(), "{name}");
        }
    }

    #[test]
    fn hidden_and_ignored_folders_are_left_out_as_the_walker_leaves_them_out() {
        let (_dir, root) = project();
        let mut filter = filter_for(&root);
        for path in [
            ".git/a.go",
            ".testsmith/a.go",
            "vendor/x/a.go",
            "pkg/testdata/a.go",
            "target/debug/a.rs",
            ".hidden.go",
        ] {
            write(&root.join(path), "package x\n");
            assert!(filter.source(&root.join(path)).is_none(), "{path}");
            assert!(!filter.may_matter(&root.join(path)), "{path}");
        }
        assert!(!filter.admits_folder(&root.join("vendor")));
        assert!(!filter.admits_folder(&root.join("pkg/testdata")));
        assert!(filter.admits_folder(&root.join("pkg")));
    }

    #[test]
    fn gitignored_files_and_everything_in_gitignored_folders_are_left_out() {
        let (_dir, root) = project();
        write(&root.join(".gitignore"), "generated.go\nbuild/\n");
        write(&root.join("build/sub/.gitignore"), "!keep.go\n");
        let mut filter = filter_for(&root);
        for path in ["generated.go", "pkg/generated.go", "build/sub/keep.go"] {
            write(&root.join(path), "package x\n");
            assert!(filter.source(&root.join(path)).is_none(), "{path}");
        }
        assert!(!filter.admits_folder(&root.join("build")));
        write(&root.join("pkg/kept.go"), "package x\n");
        assert!(filter.source(&root.join("pkg/kept.go")).is_some());
    }

    #[test]
    fn a_deeper_ignore_file_overrides_a_shallower_one() {
        let (_dir, root) = project();
        write(&root.join(".gitignore"), "*.gen.go\n");
        write(&root.join("pkg/.gitignore"), "!wanted.gen.go\n");
        write(&root.join("pkg/wanted.gen.go"), "package pkg\n");
        write(&root.join("pkg/other.gen.go"), "package pkg\n");
        let mut filter = filter_for(&root);
        assert!(filter.source(&root.join("pkg/wanted.gen.go")).is_some());
        assert!(filter.source(&root.join("pkg/other.gen.go")).is_none());
    }

    #[test]
    fn a_changed_ignore_file_is_read_again_once_forgotten() {
        let (_dir, root) = project();
        write(&root.join("a.go"), "package a\n");
        let mut filter = filter_for(&root);
        assert!(filter.source(&root.join("a.go")).is_some());
        write(&root.join(".gitignore"), "a.go\n");
        filter.forget_rules(&root);
        assert!(filter.source(&root.join("a.go")).is_none());
    }

    #[test]
    fn a_named_file_is_always_watched() {
        let (_dir, root) = project();
        write(&root.join(".gitignore"), "a.go\n");
        write(&root.join("a.go"), "package a\n");
        write(&root.join("b.go"), "package a\n");
        let named = WatchRoot::new(&root.join("a.go")).unwrap();
        let mut filter = PathFilter::new(vec![named], crate::drivers::DRIVERS.to_vec());
        assert!(filter.source(&root.join("a.go")).is_some());
        assert!(filter.source(&root.join("b.go")).is_none());
        assert!(!filter.may_matter(&root.join("b.go")));
    }
}
