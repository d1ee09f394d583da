//! One package's work, before and after the tests are produced: reading the package's test
//! files once, planning each source file ([`prepare_file`]), and merging and writing what a
//! generator produced ([`finish_file`]). Producing the tests — from templates or a model — is
//! the caller's business, between the two.

use super::fixed_lines::FixedLines;
use super::plan::{Decision, ExistingTests, MemberPlan, ScaffoldPolicy, plan_file};
use super::scan::decode_source;
use super::write::{WriteError, WriteJournal, WriteScope, write_atomically};
use crate::output::FileReport;
use crate::output::generate::{Diversion, SkippedMember};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use testsmith_driver::{Driver, ExistingTest, FileMembers, SourceFile, TestChange, TestCode};

/// The source files of one folder in one language.
#[derive(Debug)]
pub struct Package {
    pub folder: PathBuf,
    pub driver: &'static dyn Driver,
    pub files: Vec<FileMembers>,
}

impl Package {
    /// The test files in the package's folder, sorted; none when the folder cannot be
    /// listed. `texts` learns the listing, so it need not try to open the files that are not
    /// there.
    pub fn tests_beside(&self, texts: &mut FileTexts) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.folder) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
            .map(|entry| {
                if self.folder == Path::new(".") {
                    PathBuf::from(entry.file_name())
                } else {
                    self.folder.join(entry.file_name())
                }
            })
            .collect();
        files.sort();
        let tests = files
            .iter()
            .filter(|path| self.driver.is_test_file(path))
            .cloned()
            .collect();
        texts.listing = Some((self.folder.clone(), files.into_iter().collect()));
        tests
    }
}

/// The folder a path sits in, `.` for a bare file name.
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The files of a package's folder, read (and their tests listed) at most once each during a
/// run: a package's test files are shared by all its source files. `Ok(None)` means the file
/// does not exist.
#[derive(Debug, Default)]
pub struct FileTexts {
    texts: HashMap<PathBuf, Result<Option<String>, String>>,
    tests: HashMap<PathBuf, Vec<ExistingTest>>,
    /// The tests of a test scope, gathered once: a Go package's source files share one.
    scopes: HashMap<Vec<PathBuf>, Arc<ScopeTests>>,
    /// The files of the package's folder as listed: another file there does not exist (most
    /// sources have no test file yet), and is not looked for.
    listing: Option<(PathBuf, HashSet<PathBuf>)>,
}

/// Every test of one test scope, and the style example taken from it.
#[derive(Debug, Default)]
struct ScopeTests {
    existing: ExistingTests,
    /// A test of the project's own (not a scaffold), to show a model the project's style.
    style_example: Option<String>,
}

impl FileTexts {
    /// Records a file's text, read by someone else (the scan), so it is not read again.
    pub fn insert(&mut self, path: PathBuf, text: String) {
        self.texts.insert(path, Ok(Some(text)));
    }

    pub fn get(&mut self, path: &Path) -> Result<Option<String>, String> {
        self.read(path).clone()
    }

    /// The file's text as read (or recorded) the first time, without a copy.
    fn read(&mut self, path: &Path) -> &Result<Option<String>, String> {
        if !self.texts.contains_key(path) {
            let is_unlisted = self.listing.as_ref().is_some_and(|(folder, files)| {
                folder_of(path) == folder.as_path() && !files.contains(path)
            });
            let text = if is_unlisted {
                Ok(None)
            } else {
                read_text(path)
            };
            self.texts.insert(path.to_owned(), text);
        }
        &self.texts[path]
    }

    /// The tests `driver` finds in the file at `path` (none when it does not exist).
    fn tests(&mut self, driver: &dyn Driver, path: &Path) -> Result<&[ExistingTest], String> {
        if !self.tests.contains_key(path) {
            let tests = match self.read(path) {
                Ok(Some(text)) => driver.existing_tests(path, text),
                Ok(None) => Vec::new(),
                Err(error) => return Err(error.clone()),
            };
            self.tests.insert(path.to_owned(), tests);
        }
        Ok(&self.tests[path])
    }

    /// The tests of the files of `scope` that exist, gathered once per such set of files.
    fn scope_tests(
        &mut self,
        driver: &dyn Driver,
        scope: Vec<PathBuf>,
    ) -> Result<Arc<ScopeTests>, String> {
        let mut existing_files = Vec::with_capacity(scope.len());
        for path in scope {
            if self.read(&path).as_ref().map_err(Clone::clone)?.is_some() {
                existing_files.push(path);
            }
        }
        if let Some(found) = self.scopes.get(&existing_files) {
            return Ok(Arc::clone(found));
        }
        let mut gathered = ScopeTests::default();
        for path in &existing_files {
            let tests = self.tests(driver, path)?.to_vec();
            if gathered.style_example.is_none()
                && let Ok(Some(text)) = &self.texts[path]
            {
                gathered.style_example = tests
                    .iter()
                    .find(|test| test.scaffold.is_none())
                    .and_then(|test| {
                        testsmith_driver::syntax::declaration_text(text, test.byte_range.clone())
                    });
            }
            gathered.existing.add(path, tests);
        }
        let gathered = Arc::new(gathered);
        self.scopes.insert(existing_files, Arc::clone(&gathered));
        Ok(gathered)
    }
}

fn read_text(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read(path) {
        Ok(bytes) => decode_source(bytes)
            .map(Some)
            .map_err(|reason| format!("{}: {reason}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!(
            "{}: {}",
            path.display(),
            crate::walk::io_message(&error)
        )),
    }
}

/// One source file, planned, with everything needed to produce and merge its tests.
#[derive(Debug)]
pub struct PreparedFile<'p> {
    pub package: &'p Package,
    pub file: &'p FileMembers,
    pub test_path: PathBuf,
    /// The driver's candidate test files after `test_path`: where new tests go instead when
    /// appending them to `test_path` would move one of its lines.
    pub later_candidates: Vec<PathBuf>,
    pub plans: Vec<MemberPlan>,
    pub source_text: String,
    pub existing_test_text: Option<String>,
    /// A test of the project's own (not a scaffold) from the file's test scope, to show a
    /// model the project's style.
    pub style_example: Option<String>,
    /// The names of the tests in the file's test scope, so that a new test under another
    /// name (a follow-up, a test aimed at surviving mutants) takes a free one.
    pub taken_names: std::collections::HashSet<String>,
    pub report: FileReport,
}

impl<'p> PreparedFile<'p> {
    pub fn driver(&self) -> &'static dyn Driver {
        self.package.driver
    }

    pub fn source(&self) -> SourceFile<'_> {
        SourceFile {
            members: self.file,
            text: &self.source_text,
            package: &self.package.files,
        }
    }

    /// The plans that need a test produced (new, or replacing a scaffold), with their index.
    pub fn wanted(&self) -> impl Iterator<Item = (usize, &MemberPlan)> {
        self.plans
            .iter()
            .enumerate()
            .filter(|(_, plan)| matches!(plan.decision, Decision::Write | Decision::Replace { .. }))
    }
}

/// Plans `file`: reads its test scope, decides per member. `Err` is a finished report for a
/// file that cannot be worked on (no test file for its language, unreadable files).
pub fn prepare_file<'p>(
    package: &'p Package,
    file: &'p FileMembers,
    tests_beside: &[PathBuf],
    texts: &mut FileTexts,
    policy: ScaffoldPolicy,
) -> Result<PreparedFile<'p>, Box<FileReport>> {
    let driver = package.driver;
    let mut report = FileReport::new(file.path.clone());
    let candidates = driver.test_file_candidates(&file.path);
    if candidates.is_empty() {
        for member in file.members.iter().filter(|m| m.kind.is_callable()) {
            report.skipped.push(SkippedMember {
                member: driver.display_name_in(file, member),
                reason: format!("testsmith writes no {} tests", driver.name()),
            });
        }
        return Err(Box::new(report));
    }
    let source_text = match texts.get(&file.path) {
        Ok(Some(text)) => text,
        Ok(None) => {
            let error = "disappeared during the run".to_owned();
            return Err(Box::new(FileReport::failed(file.path.clone(), error)));
        }
        Err(error) => return Err(Box::new(FileReport::failed(file.path.clone(), error))),
    };
    let source = SourceFile {
        members: file,
        text: &source_text,
        package: &package.files,
    };
    let chosen = match choose_test_file(driver, &source, candidates, texts) {
        Ok(chosen) => chosen,
        Err(error) => return Err(Box::new(FileReport::failed(file.path.clone(), error))),
    };
    let (test_path, later_candidates) = (chosen.path, chosen.later);
    report.test_file = Some(test_path.clone());
    report.diverted = chosen.passed_over;
    report.has_syntax_errors = file.has_syntax_errors();

    let scope = match texts.scope_tests(driver, driver.test_scope(&file.path, tests_beside)) {
        Ok(scope) => scope,
        Err(error) => return Err(Box::new(FileReport::failed(file.path.clone(), error))),
    };
    // Scaffolds an earlier run put in a file beside the usual one (which could not take
    // them) are replaced where they are: that file, testsmith's own, takes this run's tests.
    let (test_path, later_candidates) = match later_candidates
        .iter()
        .position(|candidate| holds_unedited_scaffolds(driver, file, candidate, &scope.existing))
    {
        Some(at) if !holds_unedited_scaffolds(driver, file, &test_path, &scope.existing) => {
            let mut later = later_candidates;
            let home = later.remove(at);
            report.test_file = Some(home.clone());
            (home, later.split_off(at))
        }
        _ => (test_path, later_candidates),
    };
    let plans = plan_file(driver, file, &test_path, &scope.existing, policy);
    let existing_test_text = match texts.get(&test_path) {
        Ok(text) => text,
        Err(error) => return Err(Box::new(FileReport::failed(file.path.clone(), error))),
    };
    Ok(PreparedFile {
        package,
        file,
        test_path,
        later_candidates,
        plans,
        source_text,
        existing_test_text,
        style_example: scope.style_example.clone(),
        taken_names: scope.existing.names(),
        report,
    })
}

/// Whether `path` holds an unedited scaffold of one of `file`'s members.
fn holds_unedited_scaffolds(
    driver: &dyn Driver,
    file: &FileMembers,
    path: &Path,
    existing: &ExistingTests,
) -> bool {
    file.members
        .iter()
        .filter(|member| member.kind.is_callable())
        .any(|member| existing.unedited_scaffold_in(&driver.test_name(file, member), path))
}

/// The test file chosen for a source's tests.
struct ChosenTestFile {
    path: PathBuf,
    /// The candidates after it.
    later: Vec<PathBuf>,
    /// The first candidate, when it could not take the tests, and why.
    passed_over: Option<Diversion>,
}

/// The first candidate test file that is free or can take `source`'s tests.
fn choose_test_file(
    driver: &dyn Driver,
    source: &SourceFile<'_>,
    candidates: Vec<PathBuf>,
    texts: &mut FileTexts,
) -> Result<ChosenTestFile, String> {
    let mut passed_over = None;
    let mut refused = Vec::new();
    let mut candidates = candidates.into_iter();
    while let Some(candidate) = candidates.next() {
        let refusal = match texts.read(&candidate).as_ref().map_err(Clone::clone)? {
            None => None,
            Some(text) => driver.can_hold_tests(source, &candidate, text).err(),
        };
        let Some(reason) = refusal else {
            return Ok(ChosenTestFile {
                path: candidate,
                later: candidates.collect(),
                passed_over,
            });
        };
        if passed_over.is_none() {
            passed_over = Some(Diversion {
                from: candidate.clone(),
                reason: reason.clone(),
            });
        }
        refused.push(format!("{}: {reason}", candidate.display()));
    }
    Err(format!(
        "no test file can take its tests: {}",
        refused.join("; ")
    ))
}

/// Where tests that cannot be appended to `prepared`'s test file without moving its lines
/// go: the first later candidate that is free, or that can take them and simply append.
/// Returns its path and text.
fn divert(
    prepared: &PreparedFile<'_>,
    changes: &[TestChange],
) -> Result<(PathBuf, Option<String>), String> {
    let driver = prepared.driver();
    let source = prepared.source();
    let mut refused = Vec::new();
    for candidate in &prepared.later_candidates {
        match read_text(candidate)? {
            None => return Ok((candidate.clone(), None)),
            Some(text) => {
                let reason = driver
                    .can_hold_tests(&source, candidate, &text)
                    .err()
                    .or_else(|| driver.appending_moves_lines(&text, changes));
                match reason {
                    None => return Ok((candidate.clone(), Some(text))),
                    Some(reason) => refused.push(format!("{}: {reason}", candidate.display())),
                }
            }
        }
    }
    Err(format!(
        "no test file beside it can take its tests without moving a line: {}",
        refused.join("; ")
    ))
}

/// What a generator made of one wanted member.
#[derive(Debug)]
pub enum Produced {
    /// A test to merge.
    Test(TestCode),
    /// No test, for a reason that will not change by waiting.
    Skipped(String),
    /// No test now; the job waits in the queue for a later run.
    Deferred(String),
}

/// How this run writes.
#[derive(Debug)]
pub struct WriteSettings {
    pub scope: WriteScope,
    pub dry_run: bool,
    /// What was written, so `watch` can tell its own writes from a person's save; `None`
    /// where nobody asks (hashing every file written is not free).
    pub journal: Option<WriteJournal>,
}

/// Merges what was produced (keyed by plan index) into the test file, attaches it to the
/// source when the language needs that, and writes both (or, dry, diffs them). Returns the
/// file's report and how many files were (or would be) written.
pub fn finish_file(
    mut prepared: PreparedFile<'_>,
    mut produced: HashMap<usize, Produced>,
    settings: &WriteSettings,
) -> (FileReport, usize) {
    let driver = prepared.driver();
    let mut changes = Vec::new();
    let mut report = std::mem::take(&mut prepared.report);
    let fixed = prepared
        .existing_test_text
        .as_deref()
        .map(|text| FixedLines::of(driver, &prepared.test_path, text));
    for (index, plan) in prepared.plans.iter().enumerate() {
        let display = driver.display_name_in(prepared.file, &plan.member);
        let outcome = produced.remove(&index);
        match (&plan.decision, outcome) {
            (Decision::AlreadyTested, _) => report.already_tested.push(plan.test_name.clone()),
            (Decision::Skip(reason), _) => report.skipped.push(SkippedMember {
                member: display,
                reason: reason.clone(),
            }),
            (Decision::Write, Some(Produced::Test(test))) => {
                report.written.push(test.name.clone());
                changes.push(TestChange::Add(test));
            }
            (Decision::Replace { range, .. }, Some(Produced::Test(test))) => {
                // A scaffold above lines someone wrote stays: whatever replaced it (or
                // took it away) would move them.
                if let Some(line) = fixed
                    .as_ref()
                    .and_then(|fixed| fixed.first_after(range.end))
                {
                    report.skipped.push(SkippedMember {
                        member: display,
                        reason: format!(
                            "its scaffold in {} stands above line {line}, which you wrote, and \
                             replacing it would move that line; delete the scaffold (or move \
                             it to the end of the file) and run again",
                            prepared.test_path.display()
                        ),
                    });
                    continue;
                }
                report.regenerated.push(test.name.clone());
                changes.push(TestChange::Replace {
                    range: range.clone(),
                    test,
                });
            }
            (_, Some(Produced::Skipped(reason))) => report.skipped.push(SkippedMember {
                member: display,
                reason,
            }),
            (_, Some(Produced::Deferred(reason))) => report.deferred.push(SkippedMember {
                member: display,
                reason,
            }),
            // Nothing produced (the run was interrupted): nothing to say or write for it.
            (_, None) => {}
        }
    }

    let source = prepared.source();
    let existing = prepared.existing_test_text.as_deref();
    let new_test_text = if changes.is_empty() {
        None
    } else {
        match driver.assemble(&source, &prepared.test_path, existing, &changes) {
            Ok(text) if Some(text.as_str()) != existing => Some(keep_line_endings(existing, text)),
            Ok(_) => None,
            Err(error) => return (fail(report, format!("cannot merge tests: {error}")), 0),
        }
    };
    // A test file someone wrote keeps every line where it stood: tests that would move one
    // (an import it lacks) go to a file of their own beside it.
    let moved = fixed
        .as_ref()
        .zip(new_test_text.as_deref())
        .and_then(|(fixed, text)| fixed.first_moved(text));
    let mut edits = Vec::new();
    let new_test_text = match (moved, existing) {
        (Some(line), Some(existing)) => {
            let reason = driver
                .appending_moves_lines(existing, &changes)
                .unwrap_or_else(|| format!("merging its tests would move line {line}"));
            let fixed = fixed.as_ref().expect("a file with lines has fixed lines");
            let Diverted {
                emptied,
                changes: moving,
            } = take_scaffolds_out(&prepared, existing, fixed, changes, &mut report);
            if moving.is_empty() {
                None
            } else {
                let (path, text) = match divert(&prepared, &moving) {
                    Ok(found) => found,
                    Err(error) => return (fail(report, error), 0),
                };
                report.diverted = Some(Diversion {
                    from: prepared.test_path.clone(),
                    reason,
                });
                report.test_file = Some(path.clone());
                if let Some(emptied) = emptied {
                    edits.push(OwnedEdit {
                        path: prepared.test_path.clone(),
                        old: existing.to_owned(),
                        new: keep_line_endings(Some(existing), emptied),
                    });
                }
                prepared.test_path = path;
                prepared.existing_test_text = text;
                let source = prepared.source();
                let existing = prepared.existing_test_text.as_deref();
                match driver.assemble(&source, &prepared.test_path, existing, &moving) {
                    Ok(text) => Some(keep_line_endings(existing, text)),
                    Err(error) => {
                        return (fail(report, format!("cannot merge tests: {error}")), 0);
                    }
                }
            }
        }
        _ => new_test_text,
    };
    let existing = prepared.existing_test_text.as_deref();
    let test_file_will_exist = existing.is_some() || new_test_text.is_some();
    let new_source_text = if test_file_will_exist {
        driver.attach(
            &prepared.file.path,
            &prepared.source_text,
            &prepared.test_path,
        )
    } else {
        None
    };
    let new_source_text =
        new_source_text.map(|text| keep_line_endings(Some(&prepared.source_text), text));
    report.attached = new_source_text.is_some();

    let mut edits: Vec<Edit<'_>> = edits
        .iter()
        .map(|edit: &OwnedEdit| Edit {
            path: &edit.path,
            old: Some(&edit.old),
            new: edit.new.clone(),
        })
        .collect();
    if let Some(text) = new_test_text {
        edits.push(Edit {
            path: &prepared.test_path,
            old: existing,
            new: text,
        });
    }
    if let Some(text) = new_source_text {
        edits.push(Edit {
            path: &prepared.file.path,
            old: Some(&prepared.source_text),
            new: text,
        });
    }
    match apply(&edits, settings, &mut report) {
        Ok(()) => (report, edits.len()),
        Err(error) => (fail(report, error.to_string()), 0),
    }
}

/// What goes beside a test file that cannot take a run's tests without moving a line.
struct Diverted {
    /// The test file's text with the replaced scaffolds taken out, when any were.
    emptied: Option<String>,
    /// The tests for the file beside it: every new test, and the answers for those
    /// scaffolds.
    changes: Vec<TestChange>,
}

/// Splits `changes` for a diversion. Each scaffold to be replaced is taken out of
/// `existing` (it stands below every line someone wrote: see [`finish_file`], so only its
/// own lines go) and its answer joins the new tests; a scaffold whose removal would still
/// move a line (it leaves an import only it used) stays, and its member is reported skipped.
fn take_scaffolds_out(
    prepared: &PreparedFile<'_>,
    existing: &str,
    fixed: &FixedLines,
    changes: Vec<TestChange>,
    report: &mut FileReport,
) -> Diverted {
    let driver = prepared.driver();
    let mut text = existing.to_owned();
    let mut taken_out = false;
    let mut moving = Vec::new();
    for change in changes {
        let (range, test) = match change {
            TestChange::Add(test) => {
                moving.push(TestChange::Add(test));
                continue;
            }
            TestChange::Replace { range, test } => (range, test),
        };
        let Some(plan) = prepared.plans.iter().find(|plan| {
            matches!(&plan.decision, Decision::Replace { range: planned, .. } if *planned == range)
        }) else {
            continue;
        };
        let why_not = match driver.remove_test(&prepared.test_path, &text, &plan.test_name) {
            Ok(removed) => match fixed.first_moved(&removed) {
                None => {
                    text = removed;
                    taken_out = true;
                    moving.push(TestChange::Add(test));
                    continue;
                }
                Some(line) => format!(
                    "its test needs a file of its own beside {path}, but taking its scaffold \
                     out of {path} would move line {line} (an import only the scaffold used \
                     would go); delete the scaffold and run again",
                    path = prepared.test_path.display()
                ),
            },
            Err(error) => format!("its scaffold could not be taken out: {error}"),
        };
        report.regenerated.retain(|name| *name != test.name);
        report.skipped.push(SkippedMember {
            member: driver.display_name_in(prepared.file, &plan.member),
            reason: why_not,
        });
    }
    Diverted {
        emptied: taken_out.then_some(text),
        changes: moving,
    }
}

/// `new`, an edit of `old`, with the line endings `old` was written with: a file whose every
/// line ends in CRLF keeps CRLF on the lines testsmith adds (drivers write `\n`).
fn keep_line_endings(old: Option<&str>, new: String) -> String {
    let Some(old) = old else {
        return new;
    };
    let lines = old.matches('\n').count();
    if lines == 0 || old.matches("\r\n").count() != lines {
        return new;
    }
    let mut out = String::with_capacity(new.len() + new.len() / 32);
    let mut previous = '\0';
    for c in new.chars() {
        if c == '\n' && previous != '\r' {
            out.push('\r');
        }
        out.push(c);
        previous = c;
    }
    out
}

/// The report of a file whose write failed: what was planned is not claimed as written.
fn fail(report: FileReport, error: String) -> FileReport {
    let mut failed = FileReport::failed(report.path, error);
    failed.test_file = report.test_file;
    failed.has_syntax_errors = report.has_syntax_errors;
    failed
}

/// One file's new contents.
#[derive(Debug)]
struct Edit<'a> {
    path: &'a Path,
    old: Option<&'a str>,
    new: String,
}

/// An edit of a file other than the one the tests go to: the test file a diversion took
/// scaffolds out of.
struct OwnedEdit {
    path: PathBuf,
    old: String,
    new: String,
}

/// Writes the edits in order (test file first, so an interrupted run never leaves a source
/// attached to a missing test file), or with `--dry-run` records their diff.
fn apply(
    edits: &[Edit<'_>],
    settings: &WriteSettings,
    report: &mut FileReport,
) -> Result<(), WriteError> {
    if settings.dry_run {
        report.dry_run = true;
        let diff: String = edits
            .iter()
            .map(|edit| super::unified_diff(edit.path, edit.old, &edit.new))
            .collect();
        if !diff.is_empty() {
            report.diff = Some(diff);
        }
        return Ok(());
    }
    for edit in edits {
        write_atomically(&settings.scope, edit.path, &edit.new, edit.old)?;
        report.replaced.push(super::write::Replaced {
            path: edit.path.to_owned(),
            before: edit.old.map(str::to_owned),
        });
        if let Some(journal) = &settings.journal {
            journal.record(edit.path, &edit.new);
        }
    }
    Ok(())
}
