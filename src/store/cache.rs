//! The result cache table: validated answers by content key, each row carrying a checksum so
//! a corrupted entry is noticed and dropped instead of served.

use super::Store;
use super::db::{StoreError, now_ms};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

/// What a cache lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLookup {
    Hit(CachedAnswer),
    Miss,
    /// A row whose checksum did not match its content. It has been deleted; treat it as a
    /// miss and fetch again.
    Corrupt,
}

/// One stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedAnswer {
    pub value: String,
    pub created_at_ms: i64,
}

impl Store {
    /// Looks `key` up, verifying the row's checksum.
    pub fn cache_get(&self, key: &str) -> Result<CacheLookup, StoreError> {
        let row = self.read(|c| {
            c.query_row(
                "SELECT value, checksum, created_at_ms FROM cache_entries WHERE key = ?1",
                [key],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()
        })?;
        let Some((value, checksum, created_at_ms)) = row else {
            return Ok(CacheLookup::Miss);
        };
        if checksum != entry_checksum(key, &value) {
            tracing::warn!("cache entry {key} is corrupted (checksum mismatch); dropping it");
            self.write(|tx| tx.execute("DELETE FROM cache_entries WHERE key = ?1", [key]))?;
            return Ok(CacheLookup::Corrupt);
        }
        Ok(CacheLookup::Hit(CachedAnswer {
            value,
            created_at_ms,
        }))
    }

    /// Stores `value` under `key`, replacing any older entry. Callers store validated
    /// answers only.
    pub fn cache_put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let checksum = entry_checksum(key, value);
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO cache_entries (key, value, checksum, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                params![key, value, checksum, now_ms()],
            )
        })?;
        Ok(())
    }

    /// How many answers are cached.
    pub fn cache_entries(&self) -> Result<u64, StoreError> {
        self.read(|c| c.query_row("SELECT COUNT(*) FROM cache_entries", [], |row| row.get(0)))
    }

    /// Drops every cached answer; returns how many there were.
    pub fn cache_clear(&self) -> Result<u64, StoreError> {
        let removed = self.write(|tx| tx.execute("DELETE FROM cache_entries", []))?;
        Ok(removed as u64)
    }
}

/// SHA-256 over the key, a separator and the value: a row edited, truncated or swapped with
/// another key's value no longer matches.
fn entry_checksum(key: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update([0]);
    hasher.update(value.as_bytes());
    hex(&hasher.finalize())
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_stored_answer_is_found_again_after_reopening() {
        let (dir, store) = store();
        assert_eq!(store.cache_get("k").unwrap(), CacheLookup::Miss);
        store.cache_put("k", "func TestX(t *testing.T) {}").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        match store.cache_get("k").unwrap() {
            CacheLookup::Hit(answer) => assert_eq!(answer.value, "func TestX(t *testing.T) {}"),
            other => panic!("expected a hit, got {other:?}"),
        }
    }

    #[test]
    fn a_corrupted_entry_is_reported_deleted_and_never_served() {
        let (_dir, store) = store();
        store.cache_put("k", "good").unwrap();
        store
            .write(|tx| tx.execute("UPDATE cache_entries SET value = 'tampered'", []))
            .unwrap();
        assert_eq!(store.cache_get("k").unwrap(), CacheLookup::Corrupt);
        assert_eq!(store.cache_entries().unwrap(), 0);
        assert_eq!(store.cache_get("k").unwrap(), CacheLookup::Miss);
    }

    #[test]
    fn clearing_removes_every_entry_and_counts_them() {
        let (_dir, store) = store();
        store.cache_put("a", "1").unwrap();
        store.cache_put("b", "2").unwrap();
        store.cache_put("b", "3").unwrap();
        assert_eq!(store.cache_entries().unwrap(), 2);
        assert_eq!(store.cache_clear().unwrap(), 2);
        assert_eq!(store.cache_entries().unwrap(), 0);
    }
}
