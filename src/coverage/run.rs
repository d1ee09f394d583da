//! One package's coverage session: its instrumented test binary built once in a folder of
//! testsmith's own (removed when the session ends), the baseline profile of all its tests,
//! and, on demand, the profile of any one test run alone — what a new test adds.
//!
//! Every command goes through the verify runner, like every other command testsmith runs.

use super::package::CoveragePackage;
use super::profile::Profile;
use crate::verify::run_command;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use testsmith_driver::{CommandOutput, CoverageTarget, Driver, ProfileFormat, VerifyCommand};

/// How long building an instrumented test binary may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a package could not be measured.
#[derive(Debug)]
pub enum StartError {
    /// Its language's driver does not measure coverage.
    Unsupported(String),
    /// Building or running its tests failed, with what the toolchain said.
    Failed(String),
}

impl From<String> for StartError {
    fn from(reason: String) -> Self {
        StartError::Failed(reason)
    }
}

/// A built package, ready to run its tests with coverage.
#[derive(Debug)]
pub struct PackageRun {
    driver: &'static dyn Driver,
    target: CoverageTarget,
    /// Holds the binary and profiles; removed on drop.
    _work: crate::sandbox::PrivateDir,
    /// Files the toolchain wrote into the project; removed on drop.
    _side_files: SideFiles,
    /// What every existing test executed, run together once.
    pub baseline: Profile,
    /// The baseline run's output; a failing test still leaves a profile.
    pub baseline_output: CommandOutput,
    profiles_written: AtomicUsize,
    test_timeout: Duration,
    /// How the runs' profiles are read.
    reader: Reader,
}

/// What reads a run's profile: the driver (a text format), or testsmith's LLVM reader with
/// the objects the build made.
#[derive(Debug)]
enum Reader {
    Text,
    Llvm(Vec<PathBuf>),
}

impl PackageRun {
    /// Builds `package`'s instrumented tests and runs them all once. Fails with what the
    /// toolchain said when the tests do not build or no profile comes out.
    pub fn start(
        package: &CoveragePackage,
        all_packages: bool,
        test_timeout: Duration,
    ) -> Result<PackageRun, StartError> {
        // Under the project's `.testsmith/build/`: the confined test binary can write its
        // profiles there, and nowhere outside the project.
        let work = crate::sandbox::private_dir(&package.root, "coverage-")
            .map_err(|error| format!("cannot make a folder for coverage: {error}"))?;
        let target = CoverageTarget {
            root: package.root.clone(),
            marker_text: package.marker_text.clone(),
            package_dir: package.dir.clone(),
            package_name: package.name.clone(),
            has_tests: package.has_tests,
            work_dir: work.path().to_owned(),
            all_packages,
            test_timeout_secs: test_timeout.as_secs(),
            build_cache: build_cache(&package.root),
        };
        let driver = package.driver;
        let plan = driver.coverage_plan(&target).ok_or_else(|| {
            StartError::Unsupported(format!(
                "testsmith cannot measure {} coverage yet",
                driver.name()
            ))
        })?;
        for (path, text) in &plan.files {
            std::fs::write(path, text)
                .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        }
        let side_files = SideFiles(
            plan.side_files
                .iter()
                .filter(|path| !path.exists())
                .cloned()
                .collect(),
        );
        let mut build_outputs = Vec::new();
        for command in &plan.build {
            let output = run(command, BUILD_TIMEOUT)?;
            if !output.is_success() {
                return Err(StartError::Failed(format!(
                    "the tests do not build (`{}`):\n{}",
                    command.display(),
                    last_lines(&output)
                )));
            }
            build_outputs.push(output);
        }
        let reader = match plan.format {
            ProfileFormat::Text => Reader::Text,
            ProfileFormat::Llvm => Reader::Llvm(driver.coverage_objects(&build_outputs)),
        };
        let run_timeout = test_timeout + Duration::from_secs(30);
        let baseline_output = run(&plan.baseline, run_timeout)?;
        let baseline = read_profile(driver, &target, &reader, &plan.profile, &baseline_output)?;
        Ok(PackageRun {
            driver,
            target,
            _work: work,
            _side_files: side_files,
            baseline,
            baseline_output,
            profiles_written: AtomicUsize::new(0),
            test_timeout: run_timeout,
            reader,
        })
    }

    /// What the session measures, as the driver was told.
    #[expect(
        dead_code,
        reason = "the API for judging new tests (generate --coverage, mutants)"
    )]
    pub fn target(&self) -> &CoverageTarget {
        &self.target
    }

    /// Whether every existing test passed in the baseline run.
    pub fn baseline_passed(&self) -> bool {
        self.baseline_output.is_success()
    }

    /// Runs the test `test_name` alone with the binary already built: the profile of what
    /// it executes, and its run's output (a failing test still has a profile).
    pub fn test_profile(&self, test_name: &str) -> Result<(Profile, CommandOutput), String> {
        let number = self.profiles_written.fetch_add(1, Ordering::Relaxed);
        let profile = self.target.work_dir.join(format!("test-{number}.cover"));
        let command = self
            .driver
            .coverage_test_run(&self.target, test_name, &profile)
            .ok_or_else(|| format!("testsmith cannot run one {} test", self.driver.name()))?;
        let output = run(&command, self.test_timeout)?;
        let read = read_profile(self.driver, &self.target, &self.reader, &profile, &output);
        let _ = std::fs::remove_file(&profile).or_else(|_| std::fs::remove_dir_all(&profile));
        Ok((read?, output))
    }
}

/// Files a session's toolchain wrote into the project that were not there before it.
#[derive(Debug)]
struct SideFiles(Vec<PathBuf>);

impl Drop for SideFiles {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn run(command: &VerifyCommand, timeout: Duration) -> Result<CommandOutput, String> {
    run_command(command, timeout).map_err(|error| error.to_string())
}

fn read_profile(
    driver: &dyn Driver,
    target: &CoverageTarget,
    reader: &Reader,
    path: &PathBuf,
    output: &CommandOutput,
) -> Result<Profile, String> {
    let no_profile = || {
        format!(
            "the tests wrote no coverage profile (exit {}):\n{}",
            output
                .exit_code
                .map_or("by signal or time limit".to_owned(), |code| code
                    .to_string()),
            last_lines(output)
        )
    };
    let blocks = match reader {
        Reader::Text => {
            let text = std::fs::read_to_string(path).map_err(|_| no_profile())?;
            driver.read_coverage(target, &text)?
        }
        Reader::Llvm(objects) => {
            if !path.is_dir() {
                return Err(no_profile());
            }
            super::llvm::read(&target.root, path, objects)?
        }
    };
    Ok(Profile::from_blocks(blocks))
}

/// testsmith's folder for a project's instrumented builds, kept between runs so that a
/// second run rebuilds only what changed (beside the confined runner's own build folders).
pub fn build_cache(root: &std::path::Path) -> PathBuf {
    root.join(crate::sandbox::BUILD_DIR).join("coverage")
}

/// The end of what a command printed, enough to see why it failed.
fn last_lines(output: &CommandOutput) -> String {
    let text = format!("{}{}", output.stdout, output.stderr);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
