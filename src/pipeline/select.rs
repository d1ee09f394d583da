//! Which share of a project a run works on: `--partition hash:I/N`, a CI runner's
//! deterministic, disjoint share of the packages. Applied to what the walk found, before
//! anything is read, so every command that walks (`generate`, `verify`, `coverage`, …) shares
//! it through [`crate::commands::walk_selected`].

use super::package::folder_of;
use crate::walk::Found;
use sha2::{Digest, Sha256};
use std::path::{Component, Path};

/// `--partition hash:I/N`: the I-th of N shares, I counted from 1 (cargo-nextest's spelling
/// and counting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    index: u64,
    count: u64,
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || format!("`{text}` is not hash:I/N (for example hash:1/3)");
        let shares = text
            .strip_prefix("hash:")
            .ok_or_else(|| format!("`{text}`: only hash partitioning is supported (hash:I/N)"))?;
        let (index, count) = shares.split_once('/').ok_or_else(usage)?;
        let index: u64 = index.trim().parse().map_err(|_| usage())?;
        let count: u64 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "`{text}`: I must be between 1 and N, and N at least 1"
            ));
        }
        Ok(Partition { index, count })
    }
}

impl Partition {
    /// Whether the package (folder) `key` is in this share.
    pub fn admits(&self, key: &str) -> bool {
        share_of(key, self.count) == self.index
    }

    /// Keeps what the walk found in this share's packages: a file by its folder (a package
    /// is a folder), a problem by the folder it was met in.
    pub fn select(&self, found: Vec<Found>, root: &Path) -> Vec<Found> {
        found
            .into_iter()
            .filter(|item| {
                let path = match item {
                    Found::File { path, .. } | Found::Problem { path, .. } => path,
                };
                self.admits(&package_key(folder_of(path), root))
            })
            .collect()
    }
}

/// The share, 1 to `count`, of the package `key`: the first 8 bytes of SHA-256 over the
/// key's UTF-8 bytes, as a big-endian number, modulo `count`. SHA-256 is fixed by its
/// standard, so every machine, platform and Rust version agrees (std's `Hash` promises no
/// such thing), and it spreads similar paths evenly.
fn share_of(key: &str, count: u64) -> u64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % count + 1
}

/// A package's name for partitioning: its folder relative to the project root, with `/`
/// between components and no `.` (the root itself is ``), however the user named the path —
/// so `./a/b`, `a/b/` and `/abs/project/a/b` agree on every machine. A folder outside the
/// root keeps the path as given.
fn package_key(folder: &Path, root: &Path) -> String {
    let relative = match (folder.canonicalize(), root.canonicalize()) {
        (Ok(folder), Ok(root)) => folder
            .strip_prefix(&root)
            .map(Path::to_path_buf)
            .unwrap_or(folder),
        _ => folder.to_path_buf(),
    };
    relative
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_owned()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_spelled_and_counted_as_nextest_does() {
        assert_eq!(
            "hash:1/3".parse::<Partition>(),
            Ok(Partition { index: 1, count: 3 })
        );
        for bad in [
            "hash:0/3",
            "hash:4/3",
            "hash:1/0",
            "count:1/2",
            "hash:1",
            "hash:a/b",
        ] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_package_is_in_exactly_one_share() {
        let keys: Vec<String> = (0..200).map(|i| format!("pkg/p{i}")).collect();
        let partitions: Vec<Partition> = (1..=3)
            .map(|i| format!("hash:{i}/3").parse().unwrap())
            .collect();
        let mut sizes = [0; 3];
        for key in &keys {
            let shares: Vec<usize> = (0..3).filter(|&i| partitions[i].admits(key)).collect();
            assert_eq!(shares.len(), 1, "{key}: {shares:?}");
            sizes[shares[0]] += 1;
        }
        assert!(sizes.iter().all(|&size| size > 40), "uneven: {sizes:?}");
    }

    #[test]
    fn the_share_of_a_path_is_fixed_forever() {
        // Pinned (computed independently with Python's hashlib): a change here would move
        // packages between CI runners when one of them upgrades.
        let shares: Vec<u64> = ["", "go/shapes", "rust/src", "a/b/c"]
            .iter()
            .map(|key| share_of(key, 7))
            .collect();
        assert_eq!(shares, [2, 6, 1, 3]);
    }

    #[test]
    fn a_package_is_named_the_same_however_its_path_is_spelled() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("a/b")).unwrap();
        let expected = "a/b";
        assert_eq!(package_key(&root.path().join("a/b"), root.path()), expected);
        assert_eq!(
            package_key(&root.path().join("a/./b/"), root.path()),
            expected
        );
        assert_eq!(package_key(root.path(), root.path()), "");
    }
}
