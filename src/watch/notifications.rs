//! The notification side of `watch`: notify's debouncer, folder by folder, feeding one
//! channel, and the quiet window that turns a burst of saves into one batch.
//!
//! notify-debouncer-full pairs the two halves of a rename, folds a folder's deletion into one
//! notification and drops duplicates, but it delays each notification by its own timeout
//! rather than waiting for quiet: 100 saves spread over its timeout would come out in several
//! lots. So it runs with a short timeout, and [`FolderWatcher::next_batch`] waits until the
//! user's debounce has passed since the last save before handing the batch over.

use super::changes::Changes;
use super::filter::PathFilter;
use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What wakes the watch loop.
#[derive(Debug)]
pub enum Wake {
    /// Notifications (or the watcher's errors) from the debouncer.
    Notified(DebounceEventResult),
    /// The user asked the watch to stop.
    Interrupted,
}

/// Watches chosen folders (each on its own, not recursively: ignored folders such as
/// `target/` or `.git/` are never watched at all) and hands over batches of changes.
pub struct FolderWatcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    wake: mpsc::Receiver<Wake>,
    waker: mpsc::Sender<Wake>,
    watched: BTreeSet<PathBuf>,
    quiet: Duration,
}

impl std::fmt::Debug for FolderWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderWatcher")
            .field("watched", &self.watched.len())
            .field("quiet", &self.quiet)
            .finish_non_exhaustive()
    }
}

/// The debouncer's own timeout (also its tick) for a quiet window of `quiet`: short enough
/// that a notification reaches [`FolderWatcher::next_batch`] before the window it opened
/// closes, long enough that a rename's two halves meet, and not so short that an idle watch
/// spins.
pub fn debouncer_timeout(quiet: Duration) -> Duration {
    (quiet / 4).clamp(Duration::from_millis(10), Duration::from_millis(100))
}

impl FolderWatcher {
    /// Starts the debouncer with nothing watched yet.
    pub fn start(quiet: Duration) -> Result<FolderWatcher, notify::Error> {
        let (waker, wake) = mpsc::channel();
        let sender = waker.clone();
        let timeout = debouncer_timeout(quiet);
        let debouncer = new_debouncer(timeout, Some(timeout), move |result| {
            // The receiver lives as long as the watch; after it, nobody is listening.
            let _ = sender.send(Wake::Notified(result));
        })?;
        Ok(FolderWatcher {
            debouncer,
            wake,
            waker,
            watched: BTreeSet::new(),
            quiet,
        })
    }

    /// A handle that wakes the loop from another thread (Ctrl-C).
    pub fn waker(&self) -> mpsc::Sender<Wake> {
        self.waker.clone()
    }

    /// Starts watching `folder` (absolute) itself, not its subfolders. Watching a folder
    /// twice is a no-op.
    pub fn watch_folder(&mut self, folder: &Path) -> Result<(), notify::Error> {
        if self.watched.contains(folder) {
            return Ok(());
        }
        self.debouncer
            .watch(folder, RecursiveMode::NonRecursive)
            .map_err(|error| error.add_path(folder.to_owned()))?;
        self.watched.insert(folder.to_owned());
        Ok(())
    }

    /// Stops watching `folder` and every watched folder below it: they were deleted or moved
    /// away (the new place is watched afresh, so notifications name the new paths).
    pub fn unwatch_below(&mut self, folder: &Path) {
        let below: Vec<PathBuf> = self
            .watched
            .range(folder.to_owned()..)
            .take_while(|watched| watched.starts_with(folder))
            .cloned()
            .collect();
        for watched in below {
            // The kernel drops the watch of a deleted folder by itself; notify may then not
            // know it any more, which is fine.
            let _ = self.debouncer.unwatch(&watched);
            self.watched.remove(&watched);
        }
    }

    pub fn watched_folders(&self) -> usize {
        self.watched.len()
    }

    /// Waits for the next batch: the first notification that may matter, then until the
    /// quiet window has passed since the last one. `None`: the user asked to stop.
    pub fn next_batch(&mut self, filter: &PathFilter) -> Option<Changes> {
        let mut changes = Changes::default();
        let mut last_save: Option<Instant> = None;
        loop {
            let message = match last_save {
                None => self.wake.recv().ok()?,
                Some(last) => {
                    let wait = (last + self.quiet).saturating_duration_since(Instant::now());
                    match self.wake.recv_timeout(wait) {
                        Ok(message) => message,
                        Err(mpsc::RecvTimeoutError::Timeout) => return Some(changes),
                        Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                    }
                }
            };
            match message {
                Wake::Interrupted => return None,
                Wake::Notified(Ok(events)) => {
                    for event in events {
                        if changes.add(&event, |path| filter.may_matter(path)) {
                            // The time of the save itself, not of its late delivery.
                            last_save = Some(last_save.map_or(event.time, |t| t.max(event.time)));
                        }
                    }
                }
                Wake::Notified(Err(errors)) => {
                    changes
                        .errors
                        .extend(errors.iter().map(ToString::to_string));
                    last_save.get_or_insert_with(Instant::now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_arrives_before_the_window_it_opened_closes() {
        for millis in [50, 100, 300, 1000, 5000] {
            let quiet = Duration::from_millis(millis);
            // The debouncer hands a notification over within two of its timeouts.
            assert!(debouncer_timeout(quiet) * 2 < quiet, "{millis} ms");
        }
    }

    #[test]
    fn a_zero_debounce_still_gives_the_debouncer_time_to_pair_renames() {
        assert_eq!(debouncer_timeout(Duration::ZERO), Duration::from_millis(10));
    }
}
