//! The projects a verification run works on: the tests to check, grouped by the folder their
//! toolchain builds from (the nearest `go.mod` or `Cargo.toml` above each test file), with
//! their source files analysed (for member names and repairs) and their test files edited
//! in place, atomically.

use super::WrittenFile;
use super::report::{TestReport, TestStatus};
use crate::pipeline::WriteScope;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, FileMembers, Member, ProjectLocation, SourceFile};

/// One project: a toolchain's unit of work.
#[derive(Debug)]
pub(super) struct Project {
    pub driver: &'static dyn Driver,
    /// The folder holding the marker file, canonical.
    pub root: PathBuf,
    pub marker_text: String,
    pub files: Vec<ProjectFile>,
    pub sources: Vec<SourceInfo>,
    pub tests: Vec<Tracked>,
    /// Where edits may be written; `None` when verification must change nothing.
    pub scope: Option<WriteScope>,
    /// Every file the run wrote in this project, with what it held before: the edit that
    /// is undone when it breaks a test of the user's that passed before it.
    pub undo: Vec<Undo>,
    /// The last test run of verification that ran whole suites: the suite guard's "after"
    /// for each unit whose files still hold what they held then.
    pub suite_run: Option<super::suite_guard::SuiteRun>,
}

/// One file the run wrote, and how to undo the write.
#[derive(Debug, Clone)]
pub(super) struct Undo {
    /// Canonical.
    pub path: PathBuf,
    /// Relative to the project root, for the driver.
    pub rel: PathBuf,
    /// As the run named it, for the report.
    pub shown: PathBuf,
    /// What it held before the run wrote it; `None`: the run created it.
    pub before: Option<String>,
}

/// One test file of a project.
#[derive(Debug)]
pub(super) struct ProjectFile {
    /// Canonical; read and written.
    pub test_path: PathBuf,
    /// Relative to the project root, for the driver.
    pub test_rel: PathBuf,
    pub source_rel: PathBuf,
    pub source_index: usize,
    /// As the caller named them, for the report.
    pub shown_test: PathBuf,
    pub shown_source: PathBuf,
}

/// A source file, analysed, with the other source files of its folder (its package).
#[derive(Debug)]
pub(super) struct SourceInfo {
    pub text: String,
    pub package: Vec<FileMembers>,
}

impl SourceInfo {
    fn members(&self) -> &FileMembers {
        &self.package[0]
    }

    /// The member whose conventional test name is `test_name`, with the source file as a
    /// driver sees it.
    pub fn member_for<'s>(
        &'s self,
        driver: &dyn Driver,
        test_name: &str,
    ) -> Option<(SourceFile<'s>, &'s Member)> {
        let file = self.members();
        let member = file
            .members
            .iter()
            .filter(|member| member.kind.is_callable())
            .find(|member| driver.test_name(file, member) == test_name)?;
        let source = SourceFile {
            members: file,
            text: &self.text,
            package: &self.package,
        };
        Some((source, member))
    }
}

/// One test being verified.
#[derive(Debug)]
pub(super) struct Tracked {
    /// Index into [`Project::files`].
    pub file: usize,
    pub name: String,
    pub member: Option<String>,
    /// Repair rounds spent.
    pub repairs: u32,
    /// Runs it was missing from.
    pub unrun: u32,
    /// `None` while pending.
    pub outcome: Option<(TestStatus, Option<String>)>,
}

impl Tracked {
    pub fn is_pending(&self) -> bool {
        self.outcome.is_none()
    }

    pub fn settle(&mut self, status: TestStatus, reason: String) {
        self.outcome = Some((status, Some(reason)));
    }

    pub fn settle_passed(&mut self) {
        self.outcome = Some((TestStatus::Passed, None));
    }
}

impl Project {
    /// Replaces the test file's text with `edit(text)`, atomically, unless someone changed
    /// it meanwhile.
    pub fn edit(
        &self,
        file: usize,
        edit: impl FnOnce(&str) -> Result<String, String>,
    ) -> Result<(), String> {
        let scope = self
            .scope
            .as_ref()
            .ok_or("verification may not change files here")?;
        let path = &self.files[file].test_path;
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("{}: {}", path.display(), crate::walk::io_message(&error)))?;
        let edited = edit(&text)?;
        // A repair, a drop or a quarantine of a test the run wrote leaves every line of the
        // user's where it stood before the run, as the merge did.
        if let Some(undo) = self.undo.iter().find(|undo| undo.path == *path)
            && let Some(before) = &undo.before
            && let Some(line) =
                crate::pipeline::FixedLines::of(self.driver, &undo.rel, before).first_moved(&edited)
        {
            return Err(format!(
                "that would move line {line} of {}, which you wrote",
                undo.shown.display()
            ));
        }
        if edited != text {
            crate::pipeline::write_atomically(scope, path, &edited, Some(&text))
                .map_err(|error| error.to_string())?;
        }
        Ok(())
    }

    /// Removes each test file the run created whose every test verification dropped: a
    /// file of imports and nothing else is no test file (a Go one does not even compile,
    /// its imports unused).
    pub fn remove_emptied(&self) {
        let Some(scope) = &self.scope else {
            return;
        };
        // A source file the run attached its test file to (Rust's `#[path]` module) would
        // name a missing file: then nothing is removed.
        if self
            .undo
            .iter()
            .any(|undo| !self.driver.is_test_file(&undo.path))
        {
            return;
        }
        for undo in self.undo.iter().filter(|undo| undo.before.is_none()) {
            if !self.driver.is_test_file(&undo.path) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&undo.path) else {
                continue;
            };
            if self.driver.existing_tests(&undo.path, &text).is_empty()
                && scope.refuse(&undo.path).is_none()
                && let Err(error) = std::fs::remove_file(&undo.path)
            {
                tracing::warn!("cannot remove {}: {error}", undo.shown.display());
            }
        }
    }

    /// The report lines for every test, once all are settled.
    pub fn reports(&self) -> Vec<TestReport> {
        self.tests
            .iter()
            .map(|test| {
                let file = &self.files[test.file];
                let (status, reason) = test
                    .outcome
                    .clone()
                    .unwrap_or((TestStatus::NotVerified, Some("not reached".to_owned())));
                TestReport {
                    test: test.name.clone(),
                    member: test.member.clone(),
                    source_file: file.shown_source.clone(),
                    test_file: file.shown_test.clone(),
                    status,
                    repairs: test.repairs,
                    reason,
                }
            })
            .collect()
    }
}

/// Groups the written files into projects. Tests that cannot be verified at all (no
/// marker file above them, a language without verification, an unreadable file) come back
/// as finished reports.
pub(super) fn projects(
    written: &[WrittenFile],
    scope: Option<&WriteScope>,
) -> (Vec<Project>, Vec<TestReport>) {
    let mut projects: BTreeMap<(&'static str, PathBuf), Project> = BTreeMap::new();
    let mut unverifiable = Vec::new();
    for file in written.iter().filter(|file| !file.tests.is_empty()) {
        let placed = place(file).and_then(|(location, test_path, source_path)| {
            let root = location.root;
            let key = (file.driver.name(), root.clone());
            if !projects.contains_key(&key) {
                let marker_text = location.marker_text;
                projects.insert(
                    key.clone(),
                    Project {
                        driver: file.driver,
                        root: root.clone(),
                        marker_text,
                        files: Vec::new(),
                        sources: Vec::new(),
                        tests: Vec::new(),
                        scope: scope.cloned(),
                        undo: Vec::new(),
                        suite_run: None,
                    },
                );
            }
            let project = projects.get_mut(&key).expect("inserted above");
            project.add(file, test_path, source_path)
        });
        if let Err(reason) = placed {
            for test in &file.tests {
                unverifiable.push(TestReport {
                    test: test.clone(),
                    member: None,
                    source_file: file.source.clone(),
                    test_file: file.test_file.clone(),
                    status: TestStatus::NotVerified,
                    repairs: 0,
                    reason: Some(reason.clone()),
                });
            }
        }
    }
    (projects.into_values().collect(), unverifiable)
}

/// Where `file`'s toolchain builds it from, and its test file and source file, all canonical.
fn place(file: &WrittenFile) -> Result<(ProjectLocation, PathBuf, PathBuf), String> {
    if file.driver.project_marker().is_none() {
        return Err(format!(
            "testsmith cannot verify {} tests",
            file.driver.name()
        ));
    }
    let canonical = |path: &Path| {
        path.canonicalize()
            .map_err(|error| format!("{}: {}", path.display(), crate::walk::io_message(&error)))
    };
    let test_path = canonical(&file.test_file)?;
    let source_path = canonical(&file.source)?;
    let folder = test_path.parent().unwrap_or(&test_path);
    let location = file.driver.locate_project(folder)?;
    Ok((location, test_path, source_path))
}

impl Project {
    fn add(
        &mut self,
        written: &WrittenFile,
        test_path: PathBuf,
        source_path: PathBuf,
    ) -> Result<(), String> {
        let relative = |path: &Path| path.strip_prefix(&self.root).map(Path::to_owned);
        let (Ok(test_rel), Ok(source_rel)) = (relative(&test_path), relative(&source_path)) else {
            return Err(format!(
                "{} and its tests are not in one project",
                written.source.display()
            ));
        };
        let source_index = self.sources.len();
        self.sources
            .push(analyse_source(self.driver, &written.source)?);
        let index = self.files.len();
        self.files.push(ProjectFile {
            test_path,
            test_rel,
            source_rel,
            source_index,
            shown_test: written.test_file.clone(),
            shown_source: written.source.clone(),
        });
        for replaced in &written.replaced {
            // The first write of a file in the run is the one that knows its text before.
            let Ok(path) = replaced.path.canonicalize() else {
                continue;
            };
            let Ok(rel) = path.strip_prefix(&self.root).map(Path::to_owned) else {
                continue;
            };
            if !self.undo.iter().any(|undo| undo.path == path) {
                self.undo.push(Undo {
                    path,
                    rel,
                    shown: replaced.path.clone(),
                    before: replaced.before.clone(),
                });
            }
        }
        let source = &self.sources[source_index];
        for name in &written.tests {
            let member = source
                .member_for(self.driver, name)
                .map(|(_, member)| self.driver.display_name(member));
            self.tests.push(Tracked {
                file: index,
                name: name.clone(),
                member,
                repairs: 0,
                unrun: 0,
                outcome: None,
            });
        }
        Ok(())
    }
}

/// Reads and analyses `path` and the other source files of its folder in its language.
fn analyse_source(driver: &dyn Driver, path: &Path) -> Result<SourceInfo, String> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|error| format!("{}: {}", path.display(), crate::walk::io_message(&error)))
    };
    let text = read(path)?;
    let mut package = vec![driver.analyze(path, &text)];
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut siblings: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|sibling| {
                    sibling.is_file()
                        && driver.claims(sibling)
                        && !driver.is_test_file(sibling)
                        && sibling.file_name() != path.file_name()
                })
                .collect()
        })
        .unwrap_or_default();
    siblings.sort();
    for sibling in siblings {
        if let Ok(sibling_text) = read(&sibling) {
            package.push(driver.analyze(&sibling, &sibling_text));
        }
    }
    Ok(SourceInfo { text, package })
}
