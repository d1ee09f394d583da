//! Tests written but not yet verified, in the project's own `state.db` (never the shared
//! database: they name files of this copy). `generate --verify` marks what it wrote before
//! the first command runs and clears each test as verification settles it, so a run killed
//! in between (kill -9, a power cut) leaves its tests marked for the next run to verify.

use super::db::{Store, StoreError, now_ms};
use rusqlite::params;

/// One marked test; paths are canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedTest {
    pub source: String,
    pub test_file: String,
    pub name: String,
}

impl Store {
    /// Marks every test as written and not yet verified (again, for one marked already).
    pub fn mark_unverified(&self, tests: &[UnverifiedTest]) -> Result<(), StoreError> {
        let now = now_ms();
        self.write(|tx| {
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO unverified_tests (test_file, name, source, marked_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for test in tests {
                insert.execute(params![test.test_file, test.name, test.source, now])?;
            }
            Ok(())
        })
    }

    /// Clears the marks of `(test_file, name)`; a test not marked is no error.
    pub fn clear_unverified(&self, tests: &[(String, String)]) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut delete =
                tx.prepare("DELETE FROM unverified_tests WHERE test_file = ?1 AND name = ?2")?;
            for (test_file, name) in tests {
                delete.execute(params![test_file, name])?;
            }
            Ok(())
        })
    }

    /// The tests of `source` still marked, by test file and name.
    pub fn unverified_of(&self, source: &str) -> Result<Vec<UnverifiedTest>, StoreError> {
        self.read(|connection| {
            let mut select = connection.prepare(
                "SELECT test_file, name FROM unverified_tests WHERE source = ?1
                 ORDER BY test_file, name",
            )?;
            select
                .query_map(params![source], |row| {
                    Ok(UnverifiedTest {
                        source: source.to_owned(),
                        test_file: row.get(0)?,
                        name: row.get(1)?,
                    })
                })?
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(source: &str, name: &str) -> UnverifiedTest {
        UnverifiedTest {
            source: source.to_owned(),
            test_file: format!("{source}_test"),
            name: name.to_owned(),
        }
    }

    #[test]
    fn marks_survive_a_reopen_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .mark_unverified(&[test("a", "TestA"), test("a", "TestB"), test("b", "TestC")])
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.unverified_of("a").unwrap(),
            vec![test("a", "TestA"), test("a", "TestB")]
        );
        store
            .clear_unverified(&[("a_test".to_owned(), "TestA".to_owned())])
            .unwrap();
        assert_eq!(store.unverified_of("a").unwrap(), vec![test("a", "TestB")]);
        assert_eq!(store.unverified_of("b").unwrap(), vec![test("b", "TestC")]);
    }
}
