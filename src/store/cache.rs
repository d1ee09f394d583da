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
    #[cfg(test)]
    pub fn cache_get(&self, key: &str) -> Result<CacheLookup, StoreError> {
        Ok(self.cache_get_many(&[key])?.remove(0))
    }

    /// Looks every key up in one read transaction, verifying each row's checksum; one
    /// lookup per key, in order. Corrupted rows are deleted.
    pub fn cache_get_many(&self, keys: &[&str]) -> Result<Vec<CacheLookup>, StoreError> {
        let rows = self.read(|c| {
            let transaction = c.unchecked_transaction()?;
            let mut statement = transaction.prepare_cached(
                "SELECT value, checksum, created_at_ms FROM cache_entries WHERE key = ?1",
            )?;
            let rows = keys
                .iter()
                .map(|key| {
                    statement
                        .query_row([key], |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, i64>(2)?,
                            ))
                        })
                        .optional()
                })
                .collect::<rusqlite::Result<Vec<_>>>()?;
            drop(statement);
            transaction.commit()?;
            Ok(rows)
        })?;
        let mut corrupted = Vec::new();
        let lookups = keys
            .iter()
            .zip(rows)
            .map(|(key, row)| match row {
                None => CacheLookup::Miss,
                Some((value, checksum, _)) if checksum != entry_checksum(key, &value) => {
                    tracing::warn!(
                        "cache entry {key} is corrupted (checksum mismatch); dropping it"
                    );
                    corrupted.push(*key);
                    CacheLookup::Corrupt
                }
                Some((value, _, created_at_ms)) => CacheLookup::Hit(CachedAnswer {
                    value,
                    created_at_ms,
                }),
            })
            .collect();
        if !corrupted.is_empty() {
            self.write(|tx| {
                let mut delete = tx.prepare_cached("DELETE FROM cache_entries WHERE key = ?1")?;
                for key in &corrupted {
                    delete.execute([key])?;
                }
                Ok(())
            })?;
        }
        Ok(lookups)
    }

    /// Stores `value` under `key`, replacing any older entry. Callers store validated
    /// answers only.
    #[cfg(test)]
    pub fn cache_put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.cache_put_many(&[(key, value)])
    }

    /// Stores every `(key, value)` in one transaction: a batch's answers cost one commit.
    pub fn cache_put_many(&self, entries: &[(&str, &str)]) -> Result<(), StoreError> {
        let now = now_ms();
        self.write(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO cache_entries (key, value, checksum, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (key, value) in entries {
                insert.execute(params![key, value, entry_checksum(key, value), now])?;
            }
            Ok(())
        })
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
pub(super) fn entry_checksum(key: &str, value: &str) -> String {
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
