//! `testsmith cache` and `testsmith queue`: look at and tidy the state — the answer cache
//! and the durable job queue, in `.testsmith/state.db` or the shared database.

use super::generate_llm::JobPayload;
use crate::cli::{CacheAction, Format, QueueAction, QueueArgs, StateArgs};
use crate::config::{Config, LlmOverrides};
use crate::errors::{AppError, Outcome};
use crate::output::Printer;
use crate::store::{Clearing, Job, JobState, StateStore, StoreError, now_ms};
use std::path::PathBuf;
use std::sync::Arc;

/// The project root: the folder of `testsmith.toml`, else the current folder.
pub fn project_root() -> Result<PathBuf, AppError> {
    let cwd = std::env::current_dir().map_err(AppError::CurrentDir)?;
    let config = Config::load(&cwd, &LlmOverrides::default())?;
    Ok(config.project_root().map(PathBuf::from).unwrap_or(cwd))
}

/// The state store when there is one to look at: a shared database, or a project's
/// `.testsmith/state.db` that exists. Looking at the cache or the queue never creates
/// `.testsmith/` in whatever folder the command runs from.
fn existing_store(state: &StateArgs) -> Result<Option<Arc<dyn StateStore>>, AppError> {
    let root = project_root()?;
    if state.url().is_none() && !local_database(&root).exists() {
        return Ok(None);
    }
    Ok(Some(crate::store::open(&root, state.url())?))
}

fn local_database(root: &std::path::Path) -> PathBuf {
    root.join(crate::store::STATE_DIR)
        .join(crate::store::STATE_FILE)
}

/// `cache clear` / `queue clear` where the local database is one a newer testsmith made:
/// the rows are dropped without touching its schema. `None` when the database opens (or
/// fails) as usual.
fn clear_newer(
    state: &StateArgs,
    opened: &Result<Option<Arc<dyn StateStore>>, AppError>,
    what: Clearing,
) -> Result<Option<u64>, AppError> {
    match opened {
        Err(AppError::Store(StoreError::NewerSchema { path, .. })) if state.url().is_none() => {
            Ok(Some(crate::store::clear_newer(path, what)?))
        }
        _ => Ok(None),
    }
}

pub fn cache(
    action: &CacheAction,
    state: &StateArgs,
    printer: &mut Printer,
) -> Result<Outcome, AppError> {
    let opened = existing_store(state);
    if let CacheAction::Clear = action
        && let Some(removed) = clear_newer(state, &opened, Clearing::Cache)?
    {
        printer.out(&format!("removed {removed} cached answers\n"))?;
        printer.flush()?;
        return Ok(Outcome::Success);
    }
    let Some(store) = opened? else {
        let text = match action {
            CacheAction::Stats {
                format: Format::Json,
            } => format!(
                "{}\n",
                serde_json::json!({"entries": 0, "path": local_database(&project_root()?), "integrity": "no database yet"})
            ),
            CacheAction::Stats { .. } => format!(
                "0 cached answers ({} does not exist yet)\n",
                local_database(&project_root()?).display()
            ),
            CacheAction::Clear => "removed 0 cached answers\n".to_owned(),
        };
        printer.out(&text)?;
        printer.flush()?;
        return Ok(Outcome::Success);
    };
    match action {
        CacheAction::Stats { format } => {
            let entries = store.cache_entries()?;
            let integrity = match store.integrity_check()? {
                Ok(()) => "ok".to_owned(),
                Err(report) => report,
            };
            let text = match format {
                Format::Json => format!(
                    "{}\n",
                    serde_json::json!({"entries": entries, "path": store.location(), "integrity": integrity})
                ),
                Format::Text => format!(
                    "{entries} cached answers in {} (integrity: {integrity})\n",
                    store.location()
                ),
            };
            printer.out(&text)?;
        }
        CacheAction::Clear => {
            let removed = store.cache_clear()?;
            printer.out(&format!("removed {removed} cached answers\n"))?;
        }
    }
    printer.flush()?;
    Ok(Outcome::Success)
}

pub fn queue(args: &QueueArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let (action, format) = (args.action.as_ref(), args.format);
    let now = now_ms();
    let opened = existing_store(&args.state);
    if let Some(QueueAction::Clear) = action
        && let Some(removed) = clear_newer(&args.state, &opened, Clearing::Queue)?
    {
        printer.out(&format!("removed {removed} jobs\n"))?;
        printer.flush()?;
        return Ok(Outcome::Success);
    }
    let Some(store) = opened? else {
        let text = match (action, format) {
            (None, Format::Json) => format!("{}\n", queue_json(&[], now)),
            (None, Format::Text) => queue_text(&[], now),
            (Some(QueueAction::RetryDead), _) => {
                "0 dead jobs are pending again; `testsmith resume` runs them\n".to_owned()
            }
            (Some(QueueAction::Clear), _) => "removed 0 jobs\n".to_owned(),
        };
        printer.out(&text)?;
        printer.flush()?;
        return Ok(Outcome::Success);
    };
    match action {
        None => {
            let mut jobs = store.jobs(Some(JobState::Pending))?;
            jobs.extend(store.jobs(Some(JobState::Leased))?);
            jobs.extend(store.jobs(Some(JobState::Dead))?);
            let text = match format {
                Format::Json => format!("{}\n", queue_json(&jobs, now)),
                Format::Text => queue_text(&jobs, now),
            };
            printer.out(&text)?;
        }
        Some(QueueAction::RetryDead) => {
            let revived = store.retry_dead_jobs(now)?;
            printer.out(&format!(
                "{revived} dead jobs are pending again; `testsmith resume` runs them\n"
            ))?;
        }
        Some(QueueAction::Clear) => {
            let removed = store.clear_queue()?;
            printer.out(&format!("removed {removed} jobs\n"))?;
        }
    }
    printer.flush()?;
    Ok(Outcome::Success)
}

/// A job's state as the user sees it: pending jobs not yet due are "deferred".
fn shown_state(job: &Job, now: i64) -> &'static str {
    match job.state {
        JobState::Pending if job.not_before_ms > now => "deferred",
        state => state.as_str(),
    }
}

fn queue_text(jobs: &[Job], now: i64) -> String {
    if jobs.is_empty() {
        return "the queue is empty\n".to_owned();
    }
    let mut out = String::new();
    for job in jobs {
        let payload = JobPayload::parse(&job.payload);
        let what = payload
            .as_ref()
            .map(|p| format!("{}: {}", p.path.display(), p.member))
            .unwrap_or_else(|| job.key.clone());
        out.push_str(&format!("{:<9} {what}", shown_state(job, now)));
        if job.state == JobState::Pending && job.not_before_ms > now {
            out.push_str(&format!(
                " (in {} s)",
                (job.not_before_ms - now + 999) / 1000
            ));
        }
        if job.attempts > 0 {
            out.push_str(&format!(", {} attempts", job.attempts));
        }
        if let Some(error) = &job.last_error {
            out.push_str(&format!(", last error: {error}"));
        }
        out.push('\n');
    }
    let count = |state: &str| jobs.iter().filter(|j| shown_state(j, now) == state).count();
    out.push_str(&format!(
        "{} pending, {} deferred, {} in progress, {} dead\n",
        count("pending"),
        count("deferred"),
        count("leased"),
        count("dead")
    ));
    out
}

fn queue_json(jobs: &[Job], now: i64) -> serde_json::Value {
    let items: Vec<serde_json::Value> = jobs
        .iter()
        .map(|job| {
            let payload = JobPayload::parse(&job.payload);
            serde_json::json!({
                "state": shown_state(job, now),
                "path": payload.as_ref().map(|p| p.path.clone()),
                "member": payload.as_ref().map(|p| p.member.clone()),
                "test_name": payload.as_ref().map(|p| p.test_name.clone()),
                "attempts": job.attempts,
                "not_before_ms": job.not_before_ms,
                "last_error": job.last_error,
            })
        })
        .collect();
    serde_json::json!({ "jobs": items })
}

/// The source files with jobs waiting (pending, deferred or dead-lettered jobs aside), for
/// `testsmith resume`.
pub fn queued_paths(store: &dyn StateStore) -> Result<Vec<PathBuf>, AppError> {
    let mut paths: Vec<PathBuf> = store
        .jobs(Some(JobState::Pending))?
        .into_iter()
        .chain(store.jobs(Some(JobState::Leased))?)
        .filter_map(|job| JobPayload::parse(&job.payload).map(|payload| payload.path))
        .filter(|path| path.exists())
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// The paths whose `--llm` jobs wait in the queue; none when there is no state database
/// (which is not created to find that out).
pub fn queued_paths_if_any(state: &StateArgs) -> Result<Vec<PathBuf>, AppError> {
    match existing_store(state)? {
        Some(store) => queued_paths(&*store),
        None => Ok(Vec::new()),
    }
}
