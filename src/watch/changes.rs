//! One batch of notifications, boiled down to what happened to which path.

use super::filter::PathFilter;
use notify::EventKind;
use notify::event::{ModifyKind, RenameMode};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What a batch of notifications says happened, by absolute path.
#[derive(Debug, Default)]
pub struct Changes {
    /// Created, written or moved in: files to look at, folders to watch and walk.
    pub touched: BTreeSet<PathBuf>,
    /// Deleted or moved away: the known sources at or below them may be gone.
    pub removed: BTreeSet<PathBuf>,
    /// Renames seen whole, from → to: a moved source's orphaned tests are reported with the
    /// place it went to.
    pub moves: Vec<(PathBuf, PathBuf)>,
    /// Notifications were lost (the kernel's queue overflowed): look at everything again.
    pub rescan: bool,
    /// Folders whose `.gitignore` or `.ignore` changed.
    pub rules_changed: BTreeSet<PathBuf>,
    /// Problems the watcher reported (a folder it could no longer watch, …).
    pub errors: Vec<String>,
}

impl Changes {
    /// Adds one notification, keeping the paths `may_matter` lets through. Returns whether
    /// it is a reason for a pass: a read, or a write to a test or temporary file, is not.
    pub fn add(&mut self, event: &notify::Event, may_matter: impl Fn(&Path) -> bool) -> bool {
        if event.need_rescan() {
            self.rescan = true;
            return true;
        }
        for path in &event.paths {
            if path.file_name().is_some_and(PathFilter::is_rules_file)
                && let Some(folder) = path.parent()
            {
                self.rules_changed.insert(folder.to_owned());
            }
        }
        match event.kind {
            // testsmith's own reads open files too; they change nothing.
            EventKind::Access(_) | EventKind::Other => false,
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) if event.paths.len() == 2 => {
                let (from, to) = (&event.paths[0], &event.paths[1]);
                let (from_matters, to_matters) = (may_matter(from), may_matter(to));
                if from_matters {
                    self.removed.insert(from.clone());
                }
                if to_matters {
                    self.touched.insert(to.clone());
                }
                if from_matters && to_matters {
                    self.moves.push((from.clone(), to.clone()));
                }
                from_matters || to_matters
            }
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                self.keep(&event.paths, &may_matter, Kept::Removed)
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::Any)) => {
                let (present, gone): (Vec<PathBuf>, Vec<PathBuf>) =
                    event.paths.iter().cloned().partition(|path| path.exists());
                let touched = self.keep(&present, &may_matter, Kept::Touched);
                self.keep(&gone, &may_matter, Kept::Removed) || touched
            }
            _ => self.keep(&event.paths, &may_matter, Kept::Touched),
        }
    }

    fn keep(&mut self, paths: &[PathBuf], may_matter: &impl Fn(&Path) -> bool, as_: Kept) -> bool {
        let mut kept = false;
        for path in paths.iter().filter(|path| may_matter(path)) {
            kept = true;
            match as_ {
                Kept::Touched => self.touched.insert(path.clone()),
                Kept::Removed => self.removed.insert(path.clone()),
            };
        }
        kept
    }

    /// Where the source that was at `gone` went, when a rename of it (or of a folder above
    /// it) was seen whole.
    pub fn moved_to(&self, gone: &Path) -> Option<PathBuf> {
        self.moves.iter().rev().find_map(|(from, to)| {
            gone.strip_prefix(from).ok().map(|rest| {
                if rest.as_os_str().is_empty() {
                    to.clone()
                } else {
                    to.join(rest)
                }
            })
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Kept {
    Touched,
    Removed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, RemoveKind};

    fn event(kind: EventKind, paths: &[&str]) -> notify::Event {
        let mut event = notify::Event::new(kind);
        for path in paths {
            event = event.add_path(PathBuf::from(path));
        }
        event
    }

    fn not_temporary(path: &Path) -> bool {
        !path.to_string_lossy().ends_with(".tmp")
    }

    #[test]
    fn reads_are_no_reason_for_a_pass() {
        let mut changes = Changes::default();
        let opened = event(
            EventKind::Access(AccessKind::Open(AccessMode::Read)),
            &["/p/a.go"],
        );
        assert!(!changes.add(&opened, not_temporary));
        assert!(changes.touched.is_empty());
    }

    #[test]
    fn writes_and_creations_touch_and_removals_remove() {
        let mut changes = Changes::default();
        let written = EventKind::Modify(ModifyKind::Data(DataChange::Content));
        assert!(changes.add(&event(written, &["/p/a.go"]), not_temporary));
        assert!(changes.add(
            &event(EventKind::Create(CreateKind::Folder), &["/p/new"]),
            not_temporary
        ));
        assert!(changes.add(
            &event(EventKind::Remove(RemoveKind::File), &["/p/gone.go"]),
            not_temporary
        ));
        assert_eq!(
            changes.touched.iter().collect::<Vec<_>>(),
            [Path::new("/p/a.go"), Path::new("/p/new")]
        );
        assert_eq!(
            changes.removed.iter().collect::<Vec<_>>(),
            [Path::new("/p/gone.go")]
        );
    }

    #[test]
    fn a_rename_from_a_temporary_file_touches_only_its_target() {
        let mut changes = Changes::default();
        let renamed = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            &["/p/.testsmith-x.tmp", "/p/lib.rs"],
        );
        assert!(changes.add(&renamed, not_temporary));
        assert_eq!(
            changes.touched.iter().collect::<Vec<_>>(),
            [Path::new("/p/lib.rs")]
        );
        assert!(changes.removed.is_empty());
        assert!(changes.moves.is_empty());
    }

    #[test]
    fn a_rename_seen_whole_remembers_where_the_file_and_its_folder_went() {
        let mut changes = Changes::default();
        let renamed = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            &["/p/old", "/p/new"],
        );
        assert!(changes.add(&renamed, not_temporary));
        assert_eq!(
            changes.moved_to(Path::new("/p/old/a.go")),
            Some(PathBuf::from("/p/new/a.go"))
        );
        assert_eq!(
            changes.moved_to(Path::new("/p/old")),
            Some(PathBuf::from("/p/new"))
        );
        assert_eq!(changes.moved_to(Path::new("/p/other.go")), None);
    }

    #[test]
    fn a_changed_ignore_file_is_noted_for_its_folder() {
        let mut changes = Changes::default();
        let written = EventKind::Modify(ModifyKind::Data(DataChange::Content));
        changes.add(&event(written, &["/p/sub/.gitignore"]), |_| false);
        assert_eq!(
            changes.rules_changed.iter().collect::<Vec<_>>(),
            [Path::new("/p/sub")]
        );
    }
}
