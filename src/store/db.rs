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
    /// date.
    pub fn open_at(path: &Path) -> Result<Store, StoreError> {
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
    for migration in &MIGRATIONS[found..] {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", MIGRATIONS.len())?;
    transaction.commit()?;
    Ok(())
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
