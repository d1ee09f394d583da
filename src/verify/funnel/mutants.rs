//! The funnel's last stage under `generate --llm --mutants`: which of the mutants the
//! existing suite missed does a new test kill? Each new test that passed reliably runs alone
//! against every survivor of its package not killed yet (through the lab's sandbox, so the
//! user's tree is never touched), in the report's order; where its coverage profile is
//! known, only against survivors on lines it executes. A test that kills only what an
//! earlier test killed kills nothing new.

use crate::coverage::Profile;
use crate::mutants::plan::{Project, projects};
use crate::mutants::targets::{MutationTargets, Survivor};
use crate::mutants::{LabOptions, MutantOutcome, Trial};
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, MutationSandbox};

/// What the funnel needs to judge kills: the survivors (updated as tests kill them) and how
/// to run the lab.
#[derive(Debug)]
pub struct MutantJudge<'t> {
    pub targets: &'t mut MutationTargets,
    pub lab: LabOptions,
}

/// One package's survivors, found again in its files as they are now, and the sandbox to
/// try them in (started on first use: its baseline costs a run of the package's tests).
pub(super) struct PackageMutants {
    state: State,
    /// (survivor index, file index, mutant index) of the survivors not killed yet.
    alive: Vec<(usize, usize, usize)>,
}

enum State {
    NotStarted(Project),
    Ready(Trial),
    Failed(String),
}

impl PackageMutants {
    /// The survivors a test of `folder` may kill: those of its package (Go), or of its whole
    /// project where the toolchain tests a project as one (Cargo); `None` when there are
    /// none.
    pub(super) fn find(
        judge: &MutantJudge<'_>,
        folder: &Path,
        driver: &'static dyn Driver,
    ) -> Option<PackageMutants> {
        let whole_project = driver.mutation_sandbox() == MutationSandbox::ScratchCopy;
        let root = driver.project_marker().and_then(|marker| {
            let absolute = folder.canonicalize().ok()?;
            absolute
                .ancestors()
                .find(|dir| dir.join(marker).is_file())
                .map(Path::to_owned)
        });
        let wanted = |survivor: &Survivor| {
            if whole_project {
                root.as_ref() == Some(&survivor.root)
            } else {
                crate::pipeline::folder_of(&survivor.source) == folder
            }
        };
        let mut sources: Vec<PathBuf> = judge
            .targets
            .survivors
            .iter()
            .filter(|survivor| survivor.killed_by.is_none() && wanted(survivor))
            .map(|survivor| survivor.source.clone())
            .collect();
        sources.sort();
        sources.dedup();
        let (mut found, _) = projects(sources.into_iter().map(|path| (path, driver)).collect());
        let project = found.pop()?;
        let alive = judge.targets.alive_in(&project, wanted);
        (!alive.is_empty()).then_some(PackageMutants {
            state: State::NotStarted(project),
            alive,
        })
    }

    /// The survivors `test` (of `test_file`, testing `source_file`; both as the user named
    /// them) kills, marked killed in `judge` and shown; `Err` says why they could not be
    /// tried. `profile`, the test's own coverage where measured, leaves out the survivors
    /// on lines it does not execute.
    pub(super) fn kills(
        &mut self,
        judge: &mut MutantJudge<'_>,
        test: &str,
        test_file: &Path,
        source_file: &Path,
        profile: Option<&Profile>,
    ) -> Result<Vec<String>, String> {
        if self.alive.is_empty() {
            return Ok(Vec::new());
        }
        if let State::NotStarted(_) = self.state {
            let State::NotStarted(project) =
                std::mem::replace(&mut self.state, State::Failed(String::new()))
            else {
                unreachable!("matched above");
            };
            let rel = project.files[self.alive[0].1].rel.clone();
            self.state = match Trial::start(project, &rel, &judge.lab) {
                Ok(trial) => State::Ready(trial),
                Err(reason) => State::Failed(reason),
            };
        }
        let trial = match &self.state {
            State::Ready(trial) => trial,
            State::Failed(reason) => return Err(reason.clone()),
            State::NotStarted(_) => unreachable!("started above"),
        };
        let project = trial.project();
        let driver = project.driver;
        let (Some(source_rel), Some(test_rel)) = (
            relative(&project.root, source_file),
            relative(&project.root, test_file),
        ) else {
            return Err(format!(
                "{} is not in {}",
                test_file.display(),
                project.root.display()
            ));
        };
        let id = driver.mutant_test_id(&source_rel, &test_rel, test);
        // Coverage is measured without tags or features: with them, it cannot rule out.
        let profile =
            profile.filter(|_| judge.lab.build == testsmith_driver::BuildSelection::default());
        let mut shown = Vec::new();
        let mut still_alive = Vec::new();
        for &(survivor, file_index, mutant_index) in &self.alive {
            let file = &project.files[file_index];
            let mutant = &file.mutants[mutant_index];
            let reached = profile.is_none_or(|profile| {
                crate::mutants::executed_at(profile, &file.rel, (mutant.line, mutant.column))
                    != Some(false)
            });
            if reached && killed(trial.outcome(file_index, mutant_index, vec![id.clone()])?) {
                judge.targets.survivors[survivor].killed_by = Some(test.to_owned());
                shown.push(judge.targets.survivors[survivor].shown());
            } else {
                still_alive.push((survivor, file_index, mutant_index));
            }
        }
        self.alive = still_alive;
        Ok(shown)
    }
}

/// `path` relative to `root` (canonical), made canonical first.
fn relative(root: &Path, path: &Path) -> Option<PathBuf> {
    let canonical = path.canonicalize().ok()?;
    canonical.strip_prefix(root).ok().map(Path::to_owned)
}

/// Whether `outcome` means the test noticed the mutant (a hang counts, as in the lab).
fn killed(outcome: MutantOutcome) -> bool {
    matches!(outcome, MutantOutcome::Caught | MutantOutcome::Timeout)
}
