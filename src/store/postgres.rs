//! The shared state backend: the answer cache and the job queue in a PostgreSQL database
//! that every machine of a team (laptops, CI runners) points at with `--state-url` or
//! `TESTSMITH_STATE_URL`.
//!
//! Leasing uses `FOR UPDATE SKIP LOCKED`: two machines taking jobs at the same moment never
//! wait for each other and never take the same job. Leases are kept fresh by their holder's
//! heartbeat and reclaimed only once expired, so a machine joining late steals nothing from
//! one still working. The schema is versioned in `testsmith_schema` and migrated at connect
//! time under an advisory lock, so machines starting together migrate once.
//!
//! The `postgres` client (rust-postgres, the field's standard driver) is synchronous and runs
//! its own small runtime, which must not be entered from inside testsmith's tokio runtime;
//! so one thread owns the connection and every call is handed to it — the same one
//! connection, one operation at a time, that the SQLite backend has behind its mutex.

use super::cache::{CacheLookup, CachedAnswer, entry_checksum};
use super::queue::{Job, JobState, QueueCounts};
use super::{Settlement, StateStore, StoreError};
use postgres::{Client, NoTls, Row, Transaction};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

/// Schema migrations, applied in order; `testsmith_schema.version` records how many ran.
/// Append, never edit.
const MIGRATIONS: &[&str] = &[
    // 1: the result cache and the durable job queue, as in the SQLite schema.
    "
    CREATE TABLE testsmith_cache (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        checksum TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    );
    CREATE TABLE testsmith_jobs (
        key TEXT PRIMARY KEY,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'done', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before_ms BIGINT NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until_ms BIGINT,
        last_error TEXT,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
    );
    CREATE INDEX testsmith_jobs_by_state ON testsmith_jobs (state, not_before_ms);
    ",
];

/// Any number, as long as it is always the same: the advisory lock migrations run under.
const MIGRATION_LOCK: i64 = 0x7465_7374_736d_6974; // "testsmit"

/// A transaction that loses a deadlock or a serialization conflict is tried again this many
/// times before its error is reported.
const TRANSACTION_ATTEMPTS: usize = 5;

/// Waiting longer than this for a server that does not answer a connection is worse than an
/// error, unless the URL says otherwise (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const JOB_COLUMNS: &str = "key, payload, state, attempts, not_before_ms, lease_owner, last_error";

type Work = Box<dyn FnOnce(&mut Connection) + Send>;

/// The shared state database. Cheap to share behind an `Arc`: calls from any thread or task
/// are queued to the connection's own thread.
#[derive(Debug)]
pub struct PgStore {
    /// The URL with its password masked: the only form that is ever printed.
    location: String,
    work: mpsc::Sender<Work>,
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let location = mask_password(url);
        let mut config = postgres::Config::from_str(url).map_err(|error| StoreError::BadUrl {
            reason: error.to_string(),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("testsmith");
        let (work, incoming) = mpsc::channel::<Work>();
        std::thread::Builder::new()
            .name("testsmith-postgres".to_owned())
            .spawn(move || {
                let mut connection = Connection {
                    config,
                    client: None,
                };
                for work in incoming {
                    work(&mut connection);
                }
            })
            .map_err(|_| StoreError::Disconnected {
                location: location.clone(),
            })?;
        let store = PgStore { location, work };
        store.migrate()?;
        Ok(store)
    }

    /// Runs `work` on the connection's thread, in one transaction (tried again after a
    /// deadlock or serialization failure), and waits for its result.
    pub(super) fn transaction<T: Send + 'static>(
        &self,
        mut work: impl FnMut(&mut Transaction<'_>) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, result) = mpsc::sync_channel(1);
        let job: Work = Box::new(move |connection| {
            let _ = reply.send(connection.run(&mut work));
        });
        let disconnected = || StoreError::Disconnected {
            location: self.location.clone(),
        };
        self.work.send(job).map_err(|_| disconnected())?;
        result
            .recv()
            .map_err(|_| disconnected())?
            .map_err(|source| StoreError::Postgres {
                location: self.location.clone(),
                source,
            })
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let found = self.transaction(|tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS testsmith_schema (version INTEGER NOT NULL)",
            )?;
            let found: i32 = match tx.query_opt("SELECT version FROM testsmith_schema", &[])? {
                Some(row) => row.get(0),
                None => {
                    tx.execute("INSERT INTO testsmith_schema (version) VALUES (0)", &[])?;
                    0
                }
            };
            let applied = usize::try_from(found).unwrap_or(usize::MAX);
            if applied <= MIGRATIONS.len() {
                for migration in &MIGRATIONS[applied..] {
                    tx.batch_execute(migration)?;
                }
                let latest = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
                tx.execute("UPDATE testsmith_schema SET version = $1", &[&latest])?;
            }
            Ok(found)
        })?;
        if usize::try_from(found).unwrap_or(usize::MAX) > MIGRATIONS.len() {
            return Err(StoreError::NewerSharedSchema {
                location: self.location.clone(),
                found,
                known: MIGRATIONS.len(),
            });
        }
        Ok(())
    }

    /// The schema version the database is at.
    #[cfg(test)]
    pub fn schema_version(&self) -> Result<i32, StoreError> {
        self.transaction(|tx| {
            Ok(tx
                .query_one("SELECT version FROM testsmith_schema", &[])?
                .get(0))
        })
    }
}

/// The connection, opened on first use and again after it broke.
struct Connection {
    config: postgres::Config,
    client: Option<Client>,
}

impl Connection {
    fn run<T>(
        &mut self,
        work: &mut impl FnMut(&mut Transaction<'_>) -> Result<T, postgres::Error>,
    ) -> Result<T, postgres::Error> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = Some(self.config.connect(NoTls)?);
        }
        let client = self.client.as_mut().expect("connected above");
        let mut attempt = 1;
        loop {
            let mut tx = client.transaction()?;
            let result = work(&mut tx).and_then(|value| tx.commit().map(|()| value));
            match result {
                Err(error) if attempt < TRANSACTION_ATTEMPTS && is_conflict(&error) => {
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// A deadlock or serialization failure: the transaction did nothing and may simply be run
/// again.
fn is_conflict(error: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    matches!(
        error.code(),
        Some(code) if *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// `url` with its password replaced by `***`, in both of PostgreSQL's spellings: the URL's
/// `user:password@` or `?password=`, and the key-value `password=...`.
pub fn mask_password(url: &str) -> String {
    let mut masked = url.to_owned();
    if let Some(scheme_end) = masked.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = masked[authority_start..]
            .find(['/', '?'])
            .map_or(masked.len(), |end| authority_start + end);
        if let Some(at) = masked[authority_start..authority_end].rfind('@') {
            let userinfo = authority_start..authority_start + at;
            if let Some(colon) = masked[userinfo.clone()].find(':') {
                masked.replace_range(userinfo.start + colon + 1..userinfo.end, "***");
            }
        }
    }
    // `password=` as a query parameter or a key-value pair, its value up to the next
    // separator (a quoted key-value value up to its closing quote).
    let mut from = 0;
    while let Some(found) = masked[from..].find("password=") {
        let start = from + found + "password=".len();
        let preceded_ok = from + found == 0
            || matches!(
                masked.as_bytes()[from + found - 1],
                b'?' | b'&' | b' ' | b'\t'
            );
        if !preceded_ok {
            from = start;
            continue;
        }
        let rest = &masked[start..];
        let len = if let Some(quoted) = rest.strip_prefix('\'') {
            quoted.find('\'').map_or(rest.len(), |end| end + 2)
        } else {
            rest.find(['&', ' ', '\t']).unwrap_or(rest.len())
        };
        masked.replace_range(start..start + len, "***");
        from = start + 3;
    }
    masked
}

fn job_from_row(row: &Row) -> Result<Job, postgres::Error> {
    let state: String = row.try_get(2)?;
    Ok(Job {
        key: row.try_get(0)?,
        payload: row.try_get(1)?,
        // The column's CHECK constraint admits only the four states.
        state: JobState::parse(&state).unwrap_or(JobState::Dead),
        attempts: u32::try_from(row.try_get::<_, i32>(3)?).unwrap_or(0),
        not_before_ms: row.try_get(4)?,
        lease_owner: row.try_get(5)?,
        last_error: row.try_get(6)?,
    })
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn owned(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| (*key).to_owned()).collect()
}

impl StateStore for PgStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn cache_get_many(&self, keys: &[&str]) -> Result<Vec<CacheLookup>, StoreError> {
        let keys = owned(keys);
        self.transaction(move |tx| {
            let rows = tx.query(
                "SELECT key, value, checksum, created_at_ms FROM testsmith_cache
                 WHERE key = ANY($1)",
                &[&keys],
            )?;
            let mut found = std::collections::HashMap::with_capacity(rows.len());
            for row in rows {
                let key: String = row.try_get(0)?;
                let value: String = row.try_get(1)?;
                let checksum: String = row.try_get(2)?;
                let created_at_ms: i64 = row.try_get(3)?;
                found.insert(key, (value, checksum, created_at_ms));
            }
            let mut corrupted = Vec::new();
            let lookups = keys
                .iter()
                .map(|key| match found.remove(key) {
                    None => CacheLookup::Miss,
                    Some((value, checksum, _)) if checksum != entry_checksum(key, &value) => {
                        tracing::warn!(
                            "cache entry {key} is corrupted (checksum mismatch); dropping it"
                        );
                        corrupted.push(key.clone());
                        CacheLookup::Corrupt
                    }
                    Some((value, _, created_at_ms)) => CacheLookup::Hit(CachedAnswer {
                        value,
                        created_at_ms,
                    }),
                })
                .collect();
            if !corrupted.is_empty() {
                tx.execute(
                    "DELETE FROM testsmith_cache WHERE key = ANY($1)",
                    &[&corrupted],
                )?;
            }
            Ok(lookups)
        })
    }

    fn cache_put_many(&self, entries: &[(&str, &str)]) -> Result<(), StoreError> {
        let keys: Vec<String> = entries.iter().map(|(key, _)| (*key).to_owned()).collect();
        let values: Vec<String> = entries.iter().map(|(_, v)| (*v).to_owned()).collect();
        let checksums: Vec<String> = entries
            .iter()
            .map(|(key, value)| entry_checksum(key, value))
            .collect();
        let now = super::now_ms();
        self.transaction(move |tx| {
            tx.execute(
                "INSERT INTO testsmith_cache (key, value, checksum, created_at_ms)
                 SELECT key, value, checksum, $4
                 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(key, value, checksum)
                 ORDER BY key
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value,
                     checksum = EXCLUDED.checksum, created_at_ms = EXCLUDED.created_at_ms",
                &[&keys, &values, &checksums, &now],
            )?;
            Ok(())
        })
    }

    fn cache_entries(&self) -> Result<u64, StoreError> {
        self.transaction(|tx| {
            let entries: i64 = tx
                .query_one("SELECT COUNT(*) FROM testsmith_cache", &[])?
                .get(0);
            Ok(count(entries))
        })
    }

    fn cache_clear(&self) -> Result<u64, StoreError> {
        self.transaction(|tx| tx.execute("DELETE FROM testsmith_cache", &[]))
    }

    fn integrity_check(&self) -> Result<Result<(), String>, StoreError> {
        // The server looks after its own storage; what can go wrong here is a row whose
        // checksum does not match, and those are found (and dropped) when read.
        self.transaction(|tx| tx.execute("SELECT 1", &[]))?;
        Ok(Ok(()))
    }

    fn record_and_lease(
        &self,
        jobs: &[(&str, &str)],
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<Option<Job>>, StoreError> {
        let keys: Vec<String> = jobs.iter().map(|(key, _)| (*key).to_owned()).collect();
        let payloads: Vec<String> = jobs.iter().map(|(_, p)| (*p).to_owned()).collect();
        let owner = owner.to_owned();
        let until = now_ms.saturating_add(lease_ms);
        self.transaction(move |tx| {
            // Rows are inserted and locked in key order, so two machines recording the same
            // jobs never wait on each other in a circle.
            tx.execute(
                "INSERT INTO testsmith_jobs (key, payload, state, created_at_ms, updated_at_ms)
                 SELECT key, payload, 'pending', $3, $3
                 FROM unnest($1::text[], $2::text[]) AS t(key, payload)
                 ORDER BY key
                 ON CONFLICT (key) DO NOTHING",
                &[&keys, &payloads, &now_ms],
            )?;
            let leased: std::collections::HashSet<String> = tx
                .query(
                    "UPDATE testsmith_jobs SET state = 'leased', lease_owner = $2,
                         lease_until_ms = $3, updated_at_ms = $4
                     WHERE key IN (
                         SELECT key FROM testsmith_jobs
                         WHERE key = ANY($1)
                           AND ((state = 'pending' AND not_before_ms <= $4)
                             OR (state = 'leased' AND lease_until_ms <= $4))
                         ORDER BY key
                         FOR UPDATE SKIP LOCKED)
                     RETURNING key",
                    &[&keys, &owner, &until, &now_ms],
                )?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            let mut others = std::collections::HashMap::new();
            for row in tx.query(
                &format!("SELECT {JOB_COLUMNS} FROM testsmith_jobs WHERE key = ANY($1)"),
                &[&keys],
            )? {
                let job = job_from_row(&row)?;
                others.insert(job.key.clone(), job);
            }
            Ok(keys
                .iter()
                .map(|key| {
                    if leased.contains(key) {
                        return None;
                    }
                    // Always there (inserted above); a row another transaction is taking
                    // right now reads as pending with no owner.
                    Some(others.remove(key).unwrap_or_else(|| Job {
                        key: key.clone(),
                        payload: String::new(),
                        state: JobState::Pending,
                        attempts: 0,
                        not_before_ms: 0,
                        lease_owner: None,
                        last_error: None,
                    }))
                })
                .collect())
        })
    }

    fn lease_jobs(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let owner = owner.to_owned();
        let until = now_ms.saturating_add(lease_ms);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.transaction(move |tx| {
            let rows = tx.query(
                &format!(
                    "UPDATE testsmith_jobs SET state = 'leased', lease_owner = $1,
                         lease_until_ms = $2, updated_at_ms = $3
                     WHERE key IN (
                         SELECT key FROM testsmith_jobs
                         WHERE (state = 'pending' AND not_before_ms <= $3)
                            OR (state = 'leased' AND lease_until_ms <= $3)
                         ORDER BY created_at_ms, key
                         LIMIT $4
                         FOR UPDATE SKIP LOCKED)
                     RETURNING {JOB_COLUMNS}, created_at_ms"
                ),
                &[&owner, &until, &now_ms, &limit],
            )?;
            let mut jobs = rows
                .iter()
                .map(|row| Ok((row.try_get::<_, i64>(7)?, job_from_row(row)?)))
                .collect::<Result<Vec<_>, postgres::Error>>()?;
            jobs.sort_by(|(a_at, a), (b_at, b)| (a_at, &a.key).cmp(&(b_at, &b.key)));
            Ok(jobs.into_iter().map(|(_, job)| job).collect())
        })
    }

    fn settle(
        &self,
        owner: &str,
        settlements: &[Settlement<'_>],
        now_ms: i64,
    ) -> Result<Vec<Option<JobState>>, StoreError> {
        let owner = owner.to_owned();
        let settlements: Vec<OwnedSettlement> =
            settlements.iter().map(OwnedSettlement::from).collect();
        self.transaction(move |tx| {
            let complete = tx.prepare(
                "UPDATE testsmith_jobs SET state = 'done', lease_owner = NULL,
                     lease_until_ms = NULL, updated_at_ms = $2
                 WHERE key = $1 AND state != 'done'",
            )?;
            let defer = tx.prepare(
                "UPDATE testsmith_jobs SET state = 'pending', not_before_ms = $3,
                     last_error = $4, lease_owner = NULL, lease_until_ms = NULL,
                     updated_at_ms = $5
                 WHERE key = $1 AND state = 'leased' AND lease_owner = $2",
            )?;
            let fail = tx.prepare(
                "UPDATE testsmith_jobs SET attempts = attempts + 1, last_error = $3,
                     state = CASE WHEN attempts + 1 >= $4 THEN 'dead' ELSE 'pending' END,
                     not_before_ms = $5, lease_owner = NULL, lease_until_ms = NULL,
                     updated_at_ms = $6
                 WHERE key = $1 AND state = 'leased' AND lease_owner = $2
                 RETURNING state",
            )?;
            settlements
                .iter()
                .map(|settlement| match settlement {
                    OwnedSettlement::Complete { key } => {
                        tx.execute(&complete, &[key, &now_ms])?;
                        Ok(Some(JobState::Done))
                    }
                    OwnedSettlement::Defer {
                        key,
                        not_before_ms,
                        reason,
                    } => {
                        let changed =
                            tx.execute(&defer, &[key, &owner, not_before_ms, reason, &now_ms])?;
                        Ok((changed == 1).then_some(JobState::Pending))
                    }
                    OwnedSettlement::Fail {
                        key,
                        error,
                        max_attempts,
                        retry_at_ms,
                    } => {
                        let state = tx.query_opt(
                            &fail,
                            &[key, &owner, error, max_attempts, retry_at_ms, &now_ms],
                        )?;
                        Ok(match state {
                            Some(row) => JobState::parse(&row.try_get::<_, String>(0)?).ok(),
                            None => None,
                        })
                    }
                })
                .collect()
        })
    }

    fn renew_leases(&self, owner: &str, now_ms: i64, lease_ms: i64) -> Result<u64, StoreError> {
        let owner = owner.to_owned();
        let until = now_ms.saturating_add(lease_ms);
        self.transaction(move |tx| {
            tx.execute(
                "UPDATE testsmith_jobs SET lease_until_ms = $2
                 WHERE state = 'leased' AND lease_owner = $1",
                &[&owner, &until],
            )
        })
    }

    fn release_dead_leases(&self, copy: &str, now_ms: i64) -> Result<u64, StoreError> {
        let prefix = format!("{copy}/");
        self.transaction(move |tx| {
            tx.execute(
                "UPDATE testsmith_jobs SET state = 'pending', lease_owner = NULL,
                     lease_until_ms = NULL, updated_at_ms = $2
                 WHERE state = 'leased' AND left(lease_owner, length($1)) = $1",
                &[&prefix, &now_ms],
            )
        })
    }

    fn jobs(&self, state: Option<JobState>) -> Result<Vec<Job>, StoreError> {
        let state = state.map(|state| state.as_str().to_owned());
        self.transaction(move |tx| {
            tx.query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM testsmith_jobs
                     WHERE $1::text IS NULL OR state = $1
                     ORDER BY created_at_ms, key"
                ),
                &[&state],
            )?
            .iter()
            .map(job_from_row)
            .collect()
        })
    }

    fn queue_counts(&self, now_ms: i64) -> Result<QueueCounts, StoreError> {
        self.transaction(move |tx| {
            let row = tx.query_one(
                "SELECT
                    COUNT(*) FILTER (WHERE state = 'pending' AND not_before_ms <= $1),
                    COUNT(*) FILTER (WHERE state = 'pending' AND not_before_ms > $1),
                    COUNT(*) FILTER (WHERE state = 'leased'),
                    COUNT(*) FILTER (WHERE state = 'done'),
                    COUNT(*) FILTER (WHERE state = 'dead')
                 FROM testsmith_jobs",
                &[&now_ms],
            )?;
            Ok(QueueCounts {
                ready: count(row.try_get(0)?),
                deferred: count(row.try_get(1)?),
                leased: count(row.try_get(2)?),
                done: count(row.try_get(3)?),
                dead: count(row.try_get(4)?),
            })
        })
    }

    fn retry_dead_jobs(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.transaction(move |tx| {
            tx.execute(
                "UPDATE testsmith_jobs SET state = 'pending', attempts = 0, not_before_ms = 0,
                     updated_at_ms = $1
                 WHERE state = 'dead'",
                &[&now_ms],
            )
        })
    }

    fn clear_queue(&self) -> Result<u64, StoreError> {
        self.transaction(|tx| tx.execute("DELETE FROM testsmith_jobs WHERE state != 'done'", &[]))
    }
}

/// A [`Settlement`] that can cross to the connection's thread.
enum OwnedSettlement {
    Complete {
        key: String,
    },
    Defer {
        key: String,
        not_before_ms: i64,
        reason: String,
    },
    Fail {
        key: String,
        error: String,
        max_attempts: i32,
        retry_at_ms: i64,
    },
}

impl From<&Settlement<'_>> for OwnedSettlement {
    fn from(settlement: &Settlement<'_>) -> Self {
        match *settlement {
            Settlement::Complete { key } => OwnedSettlement::Complete {
                key: key.to_owned(),
            },
            Settlement::Defer {
                key,
                not_before_ms,
                reason,
            } => OwnedSettlement::Defer {
                key: key.to_owned(),
                not_before_ms,
                reason: reason.to_owned(),
            },
            Settlement::Fail {
                key,
                error,
                max_attempts,
                retry_at_ms,
            } => OwnedSettlement::Fail {
                key: key.to_owned(),
                error: error.to_owned(),
                max_attempts: i32::try_from(max_attempts).unwrap_or(i32::MAX),
                retry_at_ms,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_every_spelling() {
        let cases = [
            (
                "postgres://ci:s3cret@db.example:5432/testsmith",
                "postgres://ci:***@db.example:5432/testsmith",
            ),
            (
                "postgresql://ci:p%40ss@host/db?sslmode=disable",
                "postgresql://ci:***@host/db?sslmode=disable",
            ),
            ("postgres://ci@host/db", "postgres://ci@host/db"),
            (
                "postgres://host/db?user=ci&password=s3cret&x=1",
                "postgres://host/db?user=ci&password=***&x=1",
            ),
            (
                "host=db user=ci password=s3cret dbname=t",
                "host=db user=ci password=*** dbname=t",
            ),
            (
                "host=db password='a b c' dbname=t",
                "host=db password=*** dbname=t",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(mask_password(url), expected, "{url}");
        }
    }

    #[test]
    fn a_url_that_cannot_be_parsed_is_refused_without_echoing_it() {
        let error = PgStore::connect("postgres://ci:s3cret@host:notaport/db").unwrap_err();
        assert!(matches!(error, StoreError::BadUrl { .. }), "{error:?}");
        let shown = crate::errors::AppError::Store(error).render();
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
