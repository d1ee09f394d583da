//! The model of coverage shared by drivers and the application: which package to measure,
//! the commands and helper files that measure it (plain data — the application runs them),
//! and the blocks a profile says were executed, with file, lines and columns.
//!
//! A driver never runs anything: it turns a [`CoverageTarget`] into a [`CoveragePlan`] (build
//! an instrumented test binary once, run it once for the baseline, and again per test), and
//! reads a profile's text into [`CoverBlock`]s. Which member a block belongs to, and what
//! counts as executed, the application decides.

use crate::verify::VerifyCommand;
use std::path::PathBuf;

/// One package whose tests are measured: a Go package (a folder), a Cargo package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageTarget {
    /// The project's folder (absolute), holding the driver's
    /// [`project_marker`](crate::Driver::project_marker).
    pub root: PathBuf,
    /// The marker file's text (Go: `go.mod`, which names the module path).
    pub marker_text: String,
    /// The package's folder, relative to [`root`](Self::root); `""` for the root itself.
    pub package_dir: PathBuf,
    /// The package's name as its sources declare it (Go's package clause), if known.
    pub package_name: Option<String>,
    /// Whether the package has test files of its own. A Go package without any is still
    /// measured — every statement then counts as not executed.
    pub has_tests: bool,
    /// testsmith's own folder for this package's binaries and profiles (absolute, created by
    /// the application, never inside the user's tree).
    pub work_dir: PathBuf,
    /// Count what the tests execute in every package of the project, not just in the one
    /// measured (Go's `-coverpkg`).
    pub all_packages: bool,
    /// How long one run of the tests may take before the toolchain stops it, where it can.
    pub test_timeout_secs: u64,
    /// testsmith's own folder for instrumented builds kept between runs (absolute, under
    /// the project's `.testsmith/build/`, never the user's build folder): a second run
    /// builds only what changed.
    pub build_cache: PathBuf,
}

/// How to measure one [`CoverageTarget`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoveragePlan {
    /// Files to write before anything runs: path (absolute, under the target's `work_dir`)
    /// and text (Go: an overlay adding an empty test file to a package without tests).
    pub files: Vec<(PathBuf, String)>,
    /// Builds the instrumented test binary; run in order, each must succeed.
    pub build: Vec<VerifyCommand>,
    /// Runs every test of the package once and writes the profile to [`profile`](Self::profile).
    pub baseline: VerifyCommand,
    /// Where [`baseline`](Self::baseline) writes its profile.
    pub profile: PathBuf,
    /// What the runs write there, and so how it is read.
    pub format: ProfileFormat,
    /// Files the toolchain writes into the project when they are missing (Cargo's
    /// `Cargo.lock`): removed when measuring ends if they were not there before.
    pub side_files: Vec<PathBuf>,
}

/// What a coverage run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileFormat {
    /// One text file, read by [`Driver::read_coverage`](crate::Driver::read_coverage) (Go's
    /// cover profile).
    Text,
    /// A folder of LLVM raw profiles (`.profraw`, one per process: `LLVM_PROFILE_FILE`
    /// with `%p`), read with the coverage maps of the objects the build made, which
    /// [`Driver::coverage_objects`](crate::Driver::coverage_objects) names. LLVM's
    /// source-based coverage is the same for every language compiled with it, so testsmith
    /// reads it itself.
    Llvm,
}

/// One block of code a profile reports on: a stretch of a file, how many statements it holds
/// (Go; 1 for a Rust region) and how often it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// 1-based line of the first byte.
    pub start_line: u32,
    /// 1-based byte column of the first byte.
    pub start_col: u32,
    /// 1-based line where the block ends.
    pub end_line: u32,
    /// 1-based byte column just past the block's last byte.
    pub end_col: u32,
}

/// One block of a profile (Go: a basic block of statements; LLVM: a code region).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CoverBlock {
    /// The file, relative to the target's [`root`](CoverageTarget::root) when it lies in the
    /// project; as the profile names it otherwise.
    pub file: PathBuf,
    pub span: Span,
    /// Statements in the block: the unit Go's coverage counts.
    pub statements: u32,
    /// How often the block ran (in Go's `set` mode: 1 or 0).
    pub hits: u64,
}
