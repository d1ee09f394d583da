//! The source files `watch` knows, each with the hash of its contents as testsmith last read
//! or wrote it. A notification whose file still hashes the same is an echo — testsmith's
//! own write, or a save that changed nothing — and starts no work. Content, not mtime: an
//! mtime changes on every echo.

use crate::pipeline::{ContentHash, content_hash};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Known source files by absolute path.
#[derive(Debug, Default)]
pub struct KnownSources {
    hashes: BTreeMap<PathBuf, ContentHash>,
}

/// What reading a source file found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reading {
    /// Its contents differ from what testsmith last saw (or it is new); the hash to record
    /// once it has been worked on.
    Changed(ContentHash),
    /// Exactly what testsmith last read or wrote.
    Unchanged,
    /// Not there (any more).
    Missing,
    /// Cannot be read; the message says why.
    Unreadable(String),
}

impl KnownSources {
    /// Reads `path` and compares it with what testsmith last saw there.
    pub fn read(&self, path: &Path) -> Reading {
        match std::fs::read(path) {
            Ok(bytes) => {
                let hash = content_hash(&bytes);
                if self.hashes.get(path) == Some(&hash) {
                    Reading::Unchanged
                } else {
                    Reading::Changed(hash)
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Reading::Missing,
            Err(error) => Reading::Unreadable(crate::walk::io_message(&error)),
        }
    }

    pub fn record(&mut self, path: PathBuf, hash: ContentHash) {
        self.hashes.insert(path, hash);
    }

    /// Records a write testsmith made, if `path` is a source it knows (a test file is never
    /// a reason for a pass, so its hash is not kept).
    pub fn record_write(&mut self, path: &Path, hash: ContentHash) {
        if let Some(known) = self.hashes.get_mut(path) {
            *known = hash;
        }
    }

    /// Forgets `path`: it is gone, or its last pass failed and any later save must retry it.
    pub fn forget(&mut self, path: &Path) {
        self.hashes.remove(path);
    }

    pub fn contains(&self, path: &Path) -> bool {
        self.hashes.contains_key(path)
    }

    /// The known sources at `path` or below it.
    pub fn at_or_below(&self, path: &Path) -> Vec<PathBuf> {
        self.hashes
            .range(path.to_owned()..)
            .map(|(known, _)| known)
            .take_while(|known| known.starts_with(path))
            .cloned()
            .collect()
    }

    /// Every known source.
    pub fn all(&self) -> Vec<PathBuf> {
        self.hashes.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_hashes_as_recorded_is_unchanged_whatever_its_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.go");
        std::fs::write(&path, "package a\n").unwrap();
        let mut known = KnownSources::default();
        let Reading::Changed(hash) = known.read(&path) else {
            panic!("a new file is a change");
        };
        known.record(path.clone(), hash);
        std::fs::write(&path, "package a\n").unwrap();
        assert_eq!(known.read(&path), Reading::Unchanged);
        std::fs::write(&path, "package a\n\nfunc F() {}\n").unwrap();
        assert!(matches!(known.read(&path), Reading::Changed(_)));
    }

    #[test]
    fn a_recorded_write_to_a_known_source_is_an_echo_but_test_files_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("lib.rs");
        let tests = dir.path().join("lib_tests.rs");
        std::fs::write(&source, "pub fn f() {}\n").unwrap();
        let mut known = KnownSources::default();
        known.record(source.clone(), content_hash(b"pub fn f() {}\n"));
        let attached = "pub fn f() {}\n#[cfg(test)]\n#[path = \"lib_tests.rs\"]\nmod lib_tests;\n";
        known.record_write(&source, content_hash(attached.as_bytes()));
        known.record_write(&tests, content_hash(b"use super::*;\n"));
        std::fs::write(&source, attached).unwrap();
        assert_eq!(known.read(&source), Reading::Unchanged);
        assert!(!known.contains(&tests));
    }

    #[test]
    fn the_sources_below_a_folder_are_found_and_no_others() {
        let mut known = KnownSources::default();
        for path in ["/p/a.go", "/p/pkg/b.go", "/p/pkg/sub/c.go", "/p/pkg2/d.go"] {
            known.record(PathBuf::from(path), [0; 32]);
        }
        assert_eq!(
            known.at_or_below(Path::new("/p/pkg")),
            [
                PathBuf::from("/p/pkg/b.go"),
                PathBuf::from("/p/pkg/sub/c.go")
            ]
        );
        assert_eq!(
            known.at_or_below(Path::new("/p/a.go")),
            [PathBuf::from("/p/a.go")]
        );
    }
}
