//! Opening the state database: its place under the project, WAL mode, the busy timeout and
//! the schema migrations. Every write goes through [`Store::write`], one transaction each.

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The folder under the project root that holds testsmith's state.
pub const STATE_DIR: &str = ".testsmith";
/// The database file inside [`STATE_DIR`].
pub const STATE_FILE: &str = "state.db";

/// Another testsmith process (a second run, `watch`) may hold the write lock for a moment;
/// waiting this long beats failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Append,
/// never edit: a database in the wild has already run the old ones.
const MIGRATIONS: &[&str] = &[
    // 1: the result cache and the durable job queue.
    "
    CREATE TABLE cache_entries (
        -- hex SHA-256 over everything the answer depends on (llm::cache::CacheKey)
        key TEXT PRIMARY KEY NOT NULL,
        -- the validated answer; only validated answers are ever written
        value TEXT NOT NULL,
        -- hex SHA-256 over key and value: a row that does not match is never served
        checksum TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE jobs (
        -- keyed like the cache, so recording or completing a job twice changes nothing
        key TEXT PRIMARY KEY NOT NULL,
        -- what the caller needs to redo the job; opaque to the store
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'done', 'dead')),
        -- failed attempts so far; at the caller's maximum the job is dead-lettered
        attempts INTEGER NOT NULL DEFAULT 0,
        -- a deferred job is not leased before this time (unix ms)
        not_before_ms INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        -- a lease past this time belongs to a dead process and is reclaimed
        lease_until_ms INTEGER,
        last_error TEXT,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE INDEX jobs_by_state ON jobs (state, not_before_ms);
    ",
    // 2: tests written but not yet verified (src/store/unverified.rs).
    "
    CREATE TABLE unverified_tests (
        -- canonical paths: the test file and the source file it tests
        test_file TEXT NOT NULL,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        marked_at_ms INTEGER NOT NULL,
        PRIMARY KEY (test_file, name)
    ) WITHOUT ROWID;

    CREATE INDEX unverified_by_source ON unverified_tests (source);
    ",
];

/// Everything that can go wrong with the state database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create {}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot open the state database {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error(
        "the state database {} has schema version {found}, newer than this testsmith knows \
         ({known})",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: usize,
        known: usize,
    },

    #[error("state database error")]
    Sqlite(#[from] rusqlite::Error),

    /// The file is a database, but damaged, or its tables contradict its schema version.
    #[error("the state database {} is damaged: {report}", path.display())]
    Corrupt { path: PathBuf, report: String },

    #[error("cannot move the unusable state database {} aside", path.display())]
    MoveAside {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The shared database; `location` has its password masked, and the driver's errors
    /// never carry the connection string.
    #[error("shared state database {location}")]
    Postgres {
        location: String,
        #[source]
        source: postgres::Error,
    },

    #[error(
        "the shared state database {location} has schema version {found}, newer than this \
         testsmith knows ({known}); upgrade testsmith on this machine"
    )]
    NewerSharedSchema {
        location: String,
        found: i32,
        known: usize,
    },

    #[error("the connection to the shared state database {location} is gone")]
    Disconnected { location: String },

    #[error("the shared state URL is not valid: {reason}")]
    BadUrl { reason: String },
}

/// The open state database. One connection behind a mutex: every operation is a short
/// transaction, and callers on several tasks share one `Store` (wrap it in an `Arc`).
#[derive(Debug)]
pub struct Store {
    connection: Mutex<Connection>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating when needed) `<project_root>/.testsmith/state.db`. The folder gets a
    /// `.gitignore` of `*` so the state is never committed by accident.
    pub fn open(project_root: &Path) -> Result<Store, StoreError> {
        Store::open_at(&ensure_state_dir(project_root)?.join(STATE_FILE))
    }

    /// Opens (creating when needed) the database file at `path` and brings its schema up to
    /// date. A file that is not a database, is damaged (`PRAGMA quick_check`) or holds a
    /// schema that contradicts its version is moved aside — `state.db.corrupt-<ms>`, named
    /// in a warning — and a fresh database takes its place: the cache and queue are
    /// disposable, a run that cannot start is not. One from a newer testsmith is refused
    /// (that testsmith can still use it).
    pub fn open_at(path: &Path) -> Result<Store, StoreError> {
        let error = match Store::open_checked(path) {
            Ok(store) => return Ok(store),
            Err(error) => error,
        };
        let Some(reason) = unusable(&error) else {
            return Err(error);
        };
        let aside = move_aside(path).map_err(|source| StoreError::MoveAside {
            path: path.to_owned(),
            source,
        })?;
        tracing::warn!(
            "the state database {} is unusable ({reason}); moved it to {} and started a \
             fresh one (cached answers and queued jobs start over)",
            path.display(),
            aside.display()
        );
        Store::open_checked(path)
    }

    fn open_checked(path: &Path) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut connection = Connection::open_with_flags(path, flags).map_err(open_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        // WAL: readers never block the writer, and a transaction is either wholly in the log
        // or not at all. NORMAL sync is crash-safe for a killed process (the log is already
        // handed to the OS on commit); only a power cut may lose the last commits.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_error)?;
        migrate(&mut connection, path)?;
        // Damage past the first page shows only when a query reaches it, mid-run; a quick
        // check reads every page once now (milliseconds for a cache of thousands of answers).
        let check: String = connection
            .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
            .map_err(open_error)?;
        if check != "ok" {
            // One line for the warning: SQLite opens with a `*** in database main ***` header.
            let report: Vec<&str> = check
                .lines()
                .filter(|line| !line.starts_with("***"))
                .collect();
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                report: report.join("; "),
            });
        }
        Ok(Store {
            connection: Mutex::new(connection),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of migrations applied.
    #[cfg(test)]
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        Ok(user_version(&self.lock())?)
    }

    /// `PRAGMA integrity_check`: `Ok(())` when SQLite finds nothing wrong, else its report.
    pub fn integrity_check(&self) -> Result<Result<(), String>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare("PRAGMA integrity_check")?;
        let lines = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(if lines == ["ok"] {
            Ok(())
        } else {
            Err(lines.join("\n"))
        })
    }

    /// Runs `change` in one write transaction, taken up front (`BEGIN IMMEDIATE`) so two
    /// processes never deadlock upgrading a read lock. Commits on `Ok`, rolls back otherwise.
    pub(super) fn write<T>(
        &self,
        change: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = change(&transaction)?;
        transaction.commit()?;
        Ok(value)
    }

    /// Runs `query` on the connection; a single statement needs no explicit transaction.
    pub(super) fn read<T>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        Ok(query(&self.lock())?)
    }

    // A panic while holding the lock leaves no open transaction behind (it rolls back on
    // drop), so the connection is still good to use.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn user_version(connection: &Connection) -> rusqlite::Result<usize> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}

fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&transaction)?;
    if found > MIGRATIONS.len() {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            known: MIGRATIONS.len(),
        });
    }
    for (number, migration) in MIGRATIONS.iter().enumerate().skip(found) {
        transaction.execute_batch(migration).map_err(|error| {
            // SQLITE_ERROR here means the tables are not what version `found` says.
            let code = match &error {
                rusqlite::Error::SqliteFailure(failure, _)
                | rusqlite::Error::SqlInputError { error: failure, .. } => Some(failure.code),
                _ => None,
            };
            if code == Some(rusqlite::ErrorCode::Unknown) {
                StoreError::Corrupt {
                    path: path.to_owned(),
                    report: format!(
                        "its tables do not match schema version {found} (migration {}: {error})",
                        number + 1
                    ),
                }
            } else {
                error.into()
            }
        })?;
    }
    transaction.pragma_update(None, "user_version", MIGRATIONS.len())?;
    transaction.commit()?;
    Ok(())
}

/// Why the file behind `error` can never be used, when that is the trouble: not a database,
/// damaged, or a schema that contradicts itself. A busy, locked, read-only or newer-schema
/// database is not unusable: waiting, permissions or a newer testsmith fix those.
fn unusable(error: &StoreError) -> Option<String> {
    let source = match error {
        StoreError::Corrupt { report, .. } => return Some(report.clone()),
        StoreError::Open { source, .. } | StoreError::Sqlite(source) => source,
        _ => return None,
    };
    matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
    .then(|| source.to_string())
}

/// Renames the database at `path`, with its `-wal` and `-shm` files (a stale log must not
/// meet the fresh database), to `<path>.corrupt-<unix ms>`; returns the new path. Nothing is
/// deleted: the file may still hold what someone wants to look at.
pub(super) fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{}", now_ms()));
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = aside.as_os_str().to_owned();
        to.push(suffix);
        match std::fs::rename(&from, &to) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    Ok(aside)
}

/// What `cache clear` or `queue clear` drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clearing {
    /// Every cached answer.
    Cache,
    /// Every job not done.
    Queue,
}

/// `cache clear` / `queue clear` on a database from a newer testsmith, which
/// [`Store::open_at`] refuses: the rows go without the schema being touched, so the newer
/// testsmith can still use the file. Where even that fails (its tables changed), the file
/// is moved aside like a damaged one and a fresh one started: clearing always works.
/// Returns how many rows went.
pub fn clear_newer(path: &Path, what: Clearing) -> Result<u64, StoreError> {
    let statement = match what {
        Clearing::Cache => "DELETE FROM cache_entries",
        Clearing::Queue => "DELETE FROM jobs WHERE state != 'done'",
    };
    let cleared = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).and_then(
        |connection| {
            connection.busy_timeout(BUSY_TIMEOUT)?;
            connection.execute(statement, [])
        },
    );
    match cleared {
        Ok(removed) => Ok(removed as u64),
        Err(error) => {
            let aside = move_aside(path).map_err(|source| StoreError::MoveAside {
                path: path.to_owned(),
                source,
            })?;
            tracing::warn!(
                "cannot clear the state database {} ({error}); moved it to {} and started a \
                 fresh one",
                path.display(),
                aside.display()
            );
            Store::open_at(path)?;
            Ok(0)
        }
    }
}

/// Creates `<project_root>/.testsmith/` when missing, with a `.gitignore` of `*` so the
/// state is never committed by accident; returns its path.
pub(super) fn ensure_state_dir(project_root: &Path) -> Result<PathBuf, StoreError> {
    let dir = project_root.join(STATE_DIR);
    let create_error = |source| StoreError::CreateDir {
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(create_error)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n").map_err(create_error)?;
    }
    Ok(dir)
}

/// Milliseconds since the Unix epoch: the store's clock for leases and deferrals.
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_creates_the_state_folder_in_wal_mode_with_the_latest_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.path(), dir.path().join(".testsmith/state.db"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".testsmith/.gitignore")).unwrap(),
            "*\n"
        );
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
        let mode: String = store
            .read(|c| c.pragma_query_value(None, "journal_mode", |row| row.get(0)))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(store.integrity_check().unwrap(), Ok(()));
    }

    #[test]
    fn reopening_keeps_the_data_and_runs_no_migration_twice() {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path())
            .unwrap()
            .cache_put("k", "v")
            .unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
        assert_eq!(store.cache_entries().unwrap(), 1);
    }

    #[test]
    fn a_database_from_a_newer_testsmith_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let error = Store::open_at(&path).unwrap_err();
        assert!(
            matches!(error, StoreError::NewerSchema { found: 99, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_file_whose_tables_contradict_its_version_is_moved_aside_for_a_fresh_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        // Version 0 says "nothing yet", but a table of that name is there.
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE cache_entries (x); INSERT INTO cache_entries VALUES (1);")
            .unwrap();
        let store = Store::open_at(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
        assert_eq!(store.cache_entries().unwrap(), 0);
        let aside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("state.db.corrupt-") && !name.contains("-wal"))
            .filter(|name| !name.ends_with("-shm"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        let old = Connection::open(dir.path().join(&aside[0])).unwrap();
        let kept: i64 = old
            .query_row("SELECT x FROM cache_entries", [], |row| row.get(0))
            .unwrap();
        assert_eq!(kept, 1, "the old file is kept as it was");
    }

    #[test]
    fn a_busy_database_is_not_taken_for_a_damaged_one() {
        let error = StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        ));
        assert_eq!(unusable(&error), None);
        let error = StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOTADB),
            None,
        ));
        assert!(unusable(&error).is_some());
    }

    #[test]
    fn a_failed_change_is_rolled_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let result = store.write(|tx| {
            tx.execute("INSERT INTO cache_entries VALUES ('a', 'v', 'c', 0)", [])?;
            // Violates the primary key: the first insert must vanish with it.
            tx.execute("INSERT INTO cache_entries VALUES ('a', 'v', 'c', 0)", [])
        });
        assert!(result.is_err());
        assert_eq!(store.cache_entries().unwrap(), 0);
    }
}
