//! `testsmith watch`: one full pass like `generate`, then one pass per burst of saves over the
//! source files that changed, until Ctrl-C (exit code 130, as for any interrupted run).
//!
//! A pass is `generate`'s own entry point ([`generate_files`]) over the changed files, with
//! the other files of their packages as context; members that have a test already get no
//! work, and with `--llm` the ones asked about before come from the cache. Everything
//! testsmith writes is journaled with the hash of what it wrote, so the notifications its own
//! writes cause are recognised as echoes and start nothing. With `--llm` one session — run
//! lock, cache, queue and client — serves every pass and is held for the whole watch.

use super::generate::{Generator, Selection, generate_files};
use super::generate_llm::LlmSession;
use crate::cli::WatchArgs;
use crate::errors::{AppError, Outcome};
use crate::llm::Halt;
use crate::output::{Printer, Progress, WatchReport};
use crate::pipeline::{
    Package, ScanProblem, WriteJournal, WriteScope, WriteSettings, scan_into_packages,
};
use crate::walk::{Found, folders, walk};
use crate::watch::{
    Changes, FolderWatcher, KnownSources, PathFilter, Reading, WatchRoot, listen_for_interrupt,
};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use testsmith_driver::Driver;

pub fn run(args: &WatchArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let roots = args.input.roots();
    let mut watch_roots = Vec::new();
    for root in &roots {
        let watch_root = WatchRoot::new(root).map_err(|error| cannot_watch(root, error))?;
        watch_roots.push(watch_root);
    }
    let debounce = Duration::from_millis(args.debounce);
    let session = if args.llm.enabled {
        Some(LlmSession::open(&args.llm.tuning, printer)?)
    } else {
        None
    };
    let watcher = FolderWatcher::start(debounce).map_err(|source| AppError::Watch {
        path: roots[0].clone(),
        source,
    })?;
    let cancel = session.as_ref().map(LlmSession::cancellation);
    listen_for_interrupt(watcher.waker(), cancel)
        .map_err(|error| cannot_watch(&roots[0], error))?;

    let drivers = super::selected_drivers(args.input.lang);
    let mut watch = Watch {
        filter: PathFilter::new(watch_roots, drivers),
        watcher,
        known: KnownSources::default(),
        session,
        settings: WriteSettings {
            scope: WriteScope::new(&roots),
            dry_run: false,
            journal: Some(WriteJournal::default()),
        },
        report: WatchReport::new(),
        quota_noted: false,
    };
    // Folders first, then the first pass: a save during the pass is not missed.
    watch.watch_roots(printer)?;
    watch.first_pass(&roots, printer)?;
    watch
        .report
        .watching(printer, watch.watcher.watched_folders(), debounce);
    while let Some(changes) = watch.watcher.next_batch(&watch.filter) {
        watch.handle(changes, printer)?;
    }
    watch.report.stopped(printer);
    Ok(Outcome::Interrupted)
}

fn cannot_watch(root: &Path, error: std::io::Error) -> AppError {
    let source = if error.kind() == std::io::ErrorKind::NotFound {
        notify::Error::path_not_found()
    } else {
        notify::Error::io(error)
    };
    AppError::Watch {
        path: root.to_owned(),
        source,
    }
}

/// Everything the watch keeps between passes.
#[derive(Debug)]
struct Watch {
    filter: PathFilter,
    watcher: FolderWatcher,
    known: KnownSources,
    session: Option<LlmSession>,
    settings: WriteSettings,
    report: WatchReport,
    /// The exhausted quota was reported; once is enough.
    quota_noted: bool,
}

impl Watch {
    /// Watches every folder the walk of the roots enters (a named file: its folder).
    fn watch_roots(&mut self, printer: &mut Printer) -> Result<(), AppError> {
        let roots = self.filter.roots().to_vec();
        for root in &roots {
            if root.is_file() {
                self.watcher
                    .watch_folder(root.folder())
                    .map_err(|source| AppError::Watch {
                        path: root.shown().to_owned(),
                        source,
                    })?;
            } else {
                self.watch_tree(root.folder(), printer)
                    .map_err(|source| AppError::Watch {
                        path: root.shown().to_owned(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Watches `folder` and the folders below it the walk would enter. A folder that cannot
    /// be watched below the first is reported and skipped; the first one failing is an error.
    fn watch_tree(&mut self, folder: &Path, printer: &mut Printer) -> Result<(), notify::Error> {
        for (index, below) in folders(folder, self.filter.drivers()).iter().enumerate() {
            match self.watcher.watch_folder(below) {
                Ok(()) => {}
                Err(error) if index == 0 => return Err(error),
                Err(error) => printer.warning(&self.shown(below), &format!("not watched: {error}")),
            }
        }
        Ok(())
    }

    /// The source files below `folder` (absolute), as the walk finds them.
    fn sources_below(&mut self, folder: &Path) -> Vec<PathBuf> {
        let found = walk(&[folder.to_owned()], self.filter.drivers());
        found
            .into_iter()
            .filter_map(|item| match item {
                Found::File { path, .. } => Some(path),
                Found::Problem { .. } => None,
            })
            .filter(|path| self.filter.source(path).is_some())
            .collect()
    }

    /// `generate` over the roots, remembering every source file's contents.
    fn first_pass(&mut self, roots: &[PathBuf], printer: &mut Printer) -> Result<(), AppError> {
        let mut sources = Vec::new();
        for item in walk(roots, self.filter.drivers()) {
            match item {
                Found::File { path, driver } if !driver.is_test_file(&path) => {
                    sources.push((path, driver))
                }
                Found::File { .. } => {}
                Found::Problem { path, message } => printer.file_error(&path, &message),
            }
        }
        // Hashed before they are scanned: a save from now on differs from what is recorded.
        for (path, _) in &sources {
            if let Some(absolute) = absolute(path)
                && let Reading::Changed(hash) = self.known.read(&absolute)
            {
                self.known.record(absolute, hash);
            }
        }
        let (packages, problems) = scan_into_packages(&sources);
        for problem in &problems {
            self.report.scan_problem(printer, problem);
        }
        let attempted: Vec<PathBuf> = self.known.all();
        self.pass(&packages, Selection::All, &attempted, printer)
    }

    /// Works out what a batch of notifications changed and runs a pass over it.
    fn handle(&mut self, changes: Changes, printer: &mut Printer) -> Result<(), AppError> {
        for error in &changes.errors {
            printer.note(&format!("the file watcher reported: {error}"));
        }
        for folder in &changes.rules_changed {
            self.filter.forget_rules(folder);
        }
        let mut candidates: BTreeSet<PathBuf> = BTreeSet::new();
        let mut maybe_gone: BTreeSet<PathBuf> = BTreeSet::new();
        if changes.rescan {
            let roots = self.filter.roots().to_vec();
            for root in &roots {
                if root.is_file() {
                    candidates.extend(absolute(root.shown()));
                } else {
                    if let Err(error) = self.watch_tree(root.folder(), printer) {
                        printer.warning(root.shown(), &format!("not watched: {error}"));
                    }
                    candidates.extend(self.sources_below(root.folder()));
                }
            }
            maybe_gone.extend(self.known.all());
        }
        for path in &changes.removed {
            if std::fs::symlink_metadata(path).is_err() {
                self.watcher.unwatch_below(path);
            }
            maybe_gone.extend(self.known.at_or_below(path));
        }
        for path in &changes.touched {
            if path.is_dir() {
                // New (or moved in): watch it, and take the files that were created in it
                // before it was watched.
                if self.filter.admits_folder(path) {
                    if let Err(error) = self.watch_tree(path, printer) {
                        printer.warning(&self.shown(path), &format!("not watched: {error}"));
                    }
                    candidates.extend(self.sources_below(path));
                }
            } else if self.filter.source(path).is_some() {
                candidates.insert(path.clone());
            } else if self.known.contains(path) {
                // Known, but no source any more (gone, or ignored since).
                maybe_gone.insert(path.clone());
            }
        }

        for path in maybe_gone.iter().chain(&candidates) {
            if !self.known.contains(path) {
                continue;
            }
            if std::fs::symlink_metadata(path).is_err() {
                self.known.forget(path);
                self.report_gone(path, &changes, printer)?;
            } else if self.filter.source(path).is_none() {
                // Still there but ignored since (a new .gitignore line): no longer watched.
                self.known.forget(path);
            }
        }

        let mut changed = Vec::new();
        for path in candidates {
            match self.known.read(&path) {
                Reading::Changed(hash) => changed.push((path, hash)),
                Reading::Unchanged | Reading::Missing => {}
                Reading::Unreadable(message) => printer.file_error(&self.shown(&path), &message),
            }
        }
        if changed.is_empty() {
            return self.report.flush(printer);
        }
        let packages = self.packages_of(&changed, printer);
        for (path, hash) in &changed {
            self.known.record(path.clone(), *hash);
        }
        let selected: HashSet<PathBuf> = changed.iter().map(|(path, _)| self.shown(path)).collect();
        let attempted: Vec<PathBuf> = changed.into_iter().map(|(path, _)| path).collect();
        self.pass(&packages, Selection::Only(selected), &attempted, printer)
    }

    /// The packages of the changed files: every source file of their folders and languages,
    /// so planning and prompts see the same package `generate` would.
    fn packages_of(
        &mut self,
        changed: &[(PathBuf, crate::pipeline::ContentHash)],
        printer: &mut Printer,
    ) -> Vec<Package> {
        let mut wanted: BTreeSet<(PathBuf, &'static str)> = BTreeSet::new();
        let mut selected = HashSet::new();
        for (path, _) in changed {
            if let (Some(folder), Some(source)) = (path.parent(), self.filter.source(path)) {
                wanted.insert((folder.to_owned(), source.driver.name()));
                selected.insert(source.shown);
            }
        }
        let mut context: Vec<(PathBuf, &'static dyn Driver)> = Vec::new();
        let folders: BTreeSet<&PathBuf> = wanted.iter().map(|(folder, _)| folder).collect();
        for folder in folders {
            let Ok(entries) = std::fs::read_dir(folder) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                if !entry.file_type().is_ok_and(|kind| kind.is_file()) {
                    continue;
                }
                if let Some(source) = self.filter.source(&path)
                    && wanted.contains(&(folder.clone(), source.driver.name()))
                {
                    context.push((source.shown, source.driver));
                }
            }
        }
        context.sort_by(|a, b| a.0.cmp(&b.0));
        let (packages, problems) = scan_into_packages(&context);
        for problem in &problems {
            let path = match problem {
                ScanProblem::Skipped { path, .. } | ScanProblem::Failed { path, .. } => path,
            };
            if selected.contains(path) {
                self.report.scan_problem(printer, problem);
            }
        }
        packages
    }

    /// One pass through `generate`'s entry point. A file that fails (or a pass that panics)
    /// is forgotten, so that its next save — even one that restores the same text — retries.
    fn pass(
        &mut self,
        packages: &[Package],
        selection: Selection,
        attempted: &[PathBuf],
        printer: &mut Printer,
    ) -> Result<(), AppError> {
        let hidden = |_files: usize| Progress::hidden();
        let generator = match &self.session {
            Some(session) => Generator::Llm {
                session,
                progress: &hidden,
            },
            None => Generator::Template,
        };
        let settings = &self.settings;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            generate_files(packages, &selection, generator, settings)
        }));
        let mut outcomes = match result {
            Ok(Ok(outcomes)) => outcomes,
            Ok(Err(error)) => {
                printer.fatal(&error);
                attempted.iter().for_each(|path| self.known.forget(path));
                Vec::new()
            }
            Err(_) => {
                printer.note(
                    "testsmith failed on these changes (the error is above); they are \
                     retried on their next save",
                );
                attempted.iter().for_each(|path| self.known.forget(path));
                Vec::new()
            }
        };
        outcomes.sort_by(|a, b| a.report.path.cmp(&b.report.path));
        for outcome in &outcomes {
            let report = &outcome.report;
            if (report.error.is_some() || report.interrupted)
                && let Some(path) = absolute(&report.path)
            {
                self.known.forget(&path);
            }
            self.report.file(printer, report, outcome.elapsed)?;
        }
        let written = self.settings.journal.as_ref().map(WriteJournal::take);
        for (path, hash) in written.unwrap_or_default() {
            if let Some(path) = absolute(&path) {
                self.known.record_write(&path, hash);
            }
        }
        self.report.flush(printer)?;
        self.check_session(printer)
    }

    /// Ends the watch when the model refuses the credentials (every later pass would fail
    /// the same way); says once that the quota is exhausted.
    fn check_session(&mut self, printer: &mut Printer) -> Result<(), AppError> {
        let Some(session) = &self.session else {
            return Ok(());
        };
        match session.client.halt() {
            Some(Halt::BadCredentials(error)) => Err(AppError::Credentials(
                error,
                session.credentials_help.clone(),
            )),
            Some(Halt::Refused(error)) => Err(AppError::Refused(error)),
            Some(Halt::QuotaExhausted) if !self.quota_noted => {
                self.quota_noted = true;
                printer.note(
                    "the API quota is exhausted: new tests wait in the queue; add credit, then \
                     run `testsmith resume`",
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Reports a known source that is gone, with its tests when they are left behind.
    fn report_gone(
        &mut self,
        path: &Path,
        changes: &Changes,
        printer: &mut Printer,
    ) -> Result<(), AppError> {
        let shown = self.shown(path);
        let moved_to = changes
            .moved_to(path)
            .filter(|to| to.exists())
            .map(|to| self.shown(&to));
        let driver = crate::drivers::for_path(self.filter.drivers(), &shown);
        let tests = driver
            .and_then(|driver| driver.test_file_for(&shown))
            .filter(|tests| tests.exists())
            .filter(|tests| !driver.is_some_and(|driver| still_in_scope(driver, &shown, tests)));
        self.report
            .deleted(printer, &shown, moved_to.as_deref(), tests.as_deref())
    }

    /// `absolute` as output shows it; the absolute path itself outside every root.
    fn shown(&self, absolute: &Path) -> PathBuf {
        self.filter
            .shown_path(absolute)
            .map_or_else(|| absolute.to_owned(), |(_, shown)| shown)
    }
}

/// Whether `tests`, the test file of the source `gone`, still counts for another source of
/// its folder (Go: every test file of a package tests the whole package), so that it is not
/// orphaned — a renamed Go file leaves its package's tests where they belong.
fn still_in_scope(driver: &dyn testsmith_driver::Driver, gone: &Path, tests: &Path) -> bool {
    let folder = match gone.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(folder) else {
        return false;
    };
    let files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && driver.claims(path))
        .collect();
    let (beside, sources): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|path| driver.is_test_file(path));
    let name = tests.file_name();
    sources
        .iter()
        .filter(|source| source.file_name() != gone.file_name())
        .any(|source| {
            driver
                .test_scope(source, &beside)
                .iter()
                .any(|in_scope| in_scope.file_name() == name)
        })
}

/// The absolute path of a file named relative to the current folder, its folder's symlinks
/// resolved — the form notifications name it by.
fn absolute(path: &Path) -> Option<PathBuf> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Some(folder.canonicalize().ok()?.join(path.file_name()?))
}
