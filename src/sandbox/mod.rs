//! Confining model-written code: every command that builds or runs generated tests (verify,
//! and through the same runner coverage, mutants and watch) starts here.
//!
//! # API
//! - [`configure`] (once per run, by the front door): what the user decided — the names
//!   `[verify] pass_env` lets through, the variable holding the API key, and whether
//!   confinement is required (`--require-sandbox`).
//! - [`prepare`] turns a driver's [`VerifyCommand`] into a [`Prepared`] process: the
//!   environment cleared to an allowlist ([`env`]), a private `TMPDIR`, private build dirs
//!   under `<project>/.testsmith/build/` (`GOCACHE`, `CARGO_TARGET_DIR`), and, where the
//!   machine allows it, the confinement below. The project ([`confined_root`]) is the
//!   nearest folder above the command's with a driver's project marker. `src/verify/command.rs::run` is its one
//!   caller; anything else that runs generated code goes through that `run`.
//! - [`prepare_download`] is the same without confinement, for the one command per project
//!   that downloads dependencies (a driver's `fetch_command`) before anything is built.
//! - [`private_dir`] gives a folder those commands may write outside the project's own
//!   files (coverage profiles, test binaries): the system's temporary folder is hidden.
//! - [`availability`] says once per process which confinement this machine gives, for the
//!   `-v` log and the JSON report ([`Confinement::label`]).
//!
//! # Confinement (Linux)
//! testsmith re-executes itself as the confining parent (`testsmith __confine …`, see
//! `confine.rs`), which before `exec`ing `go` or `cargo`:
//! - enters new user, network and mount namespaces; only `lo` is up, so a test's own
//!   loopback server works and nothing of the host (its 127.0.0.1 included) is reachable;
//! - hides the folders where other programs keep their unix sockets and temporary files
//!   (`/tmp`, `/var/tmp`, `/run`, `/dev/shm`, `/home`, `/var/lib`) and `HOME` under empty
//!   tmpfs mounts, binding back only the project and the toolchains when they live there;
//! - bind-mounts `.git` and `.testsmith` read-only (the private build dir stays writable);
//! - applies Landlock: read everywhere, write only beneath the project folder and a few
//!   device files; abstract unix sockets and signals scoped to the confined processes,
//!   and no `ptrace` (so no `/proc/<parent>/environ`) of anything outside.
//!
//! Where namespaces cannot be had but Landlock can, Landlock alone confines the files and
//! denies every TCP bind and connect (a test's own server then fails). Where neither can be
//! had, the command runs with the cleared environment only, after one notice — or, with
//! `--require-sandbox`, not at all.

mod env;

#[cfg(target_os = "linux")]
pub mod confine;
#[cfg(target_os = "linux")]
mod netlink;

pub use env::EnvPolicy;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use testsmith_driver::VerifyCommand;

/// The folder under a project's `.testsmith/` that confined builds may write.
pub const BUILD_DIR: &str = ".testsmith/build";

/// Variables a command's own environment (from testsmith's code: a driver, mutants) may set
/// to a build folder of testsmith's choosing; a confined command may write there too.
const BUILD_DIR_VARS: &[&str] = &["CARGO_TARGET_DIR", "GOCACHE", "GOTMPDIR", "TMPDIR"];

/// What the user decided about running generated code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub env: EnvPolicy,
    /// Missing confinement is an error rather than a notice.
    pub require: bool,
}

static SETTINGS: Mutex<Option<Settings>> = Mutex::new(None);
static CONFINER: OnceLock<PathBuf> = OnceLock::new();
static AVAILABILITY: OnceLock<Availability> = OnceLock::new();

/// Sets what the user decided; called by the front door once its configuration is read.
pub fn configure(settings: Settings) {
    *SETTINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(settings);
}

fn settings() -> Settings {
    SETTINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
        .unwrap_or_default()
}

/// Names the testsmith executable that confines commands (`main` passes its own path).
/// Without it (unit tests of the library), commands run with the cleared environment only.
pub fn set_confiner(executable: PathBuf) {
    let _ = CONFINER.set(executable);
}

/// How generated code is confined on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confinement {
    /// User, network and mount namespaces, and Landlock.
    Namespaces,
    /// Landlock only: files confined, TCP denied whole.
    Landlock,
    /// The cleared environment only.
    None,
}

impl Confinement {
    /// The name in the JSON report and logs.
    pub fn label(self) -> &'static str {
        match self {
            Confinement::Namespaces => "namespaces+landlock",
            Confinement::Landlock => "landlock",
            Confinement::None => "none",
        }
    }

    fn from_label(label: &str) -> Option<Confinement> {
        [
            Confinement::Namespaces,
            Confinement::Landlock,
            Confinement::None,
        ]
        .into_iter()
        .find(|level| level.label() == label)
    }
}

/// The confinement this machine gives, and why not more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub confinement: Confinement,
    /// Why confinement is missing or partial.
    pub reason: Option<String>,
}

/// Probes once per process which confinement works here, by confining `true`.
pub fn availability() -> &'static Availability {
    AVAILABILITY.get_or_init(probe)
}

fn probe() -> Availability {
    let Some(confiner) = CONFINER.get() else {
        return Availability {
            confinement: Confinement::None,
            reason: Some("no confining executable is set".to_owned()),
        };
    };
    probe_with(confiner)
}

#[cfg(target_os = "linux")]
fn probe_with(confiner: &Path) -> Availability {
    let output = std::process::Command::new(confiner)
        .arg(confine::SUBCOMMAND)
        .arg("--probe")
        .env_clear()
        .stdin(std::process::Stdio::null())
        .output();
    let unavailable = |reason: String| Availability {
        confinement: Confinement::None,
        reason: Some(reason),
    };
    match output {
        Ok(output) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let mut lines = stdout.lines();
            let level = lines.next().and_then(Confinement::from_label);
            let reason = lines.collect::<Vec<_>>().join("; ");
            match level {
                Some(confinement) if output.status.success() => Availability {
                    confinement,
                    reason: (!reason.is_empty()).then_some(reason),
                },
                _ => unavailable(format!(
                    "the confinement probe failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )),
            }
        }
        Err(error) => unavailable(format!("cannot start the confinement probe: {error}")),
    }
}

#[cfg(not(target_os = "linux"))]
fn probe_with(_confiner: &Path) -> Availability {
    Availability {
        confinement: Confinement::None,
        reason: Some("confinement needs Linux (namespaces and Landlock)".to_owned()),
    }
}

/// Why a command was not started.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "generated code would run unconfined ({reason}), and confinement is required (--require-sandbox)"
    )]
    Required { reason: String },
    #[error("cannot create {}: {source}", .path.display())]
    BuildDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The one notice that confinement is missing, or the error when it is required.
pub fn check_required() -> Result<(), SandboxError> {
    let availability = availability();
    if availability.confinement != Confinement::None {
        return Ok(());
    }
    let reason = availability
        .reason
        .clone()
        .unwrap_or_else(|| "no confinement available".to_owned());
    if settings().require {
        return Err(SandboxError::Required { reason });
    }
    static NOTICE: OnceLock<()> = OnceLock::new();
    NOTICE.get_or_init(|| {
        tracing::warn!(
            "generated tests run without confinement ({reason}); only the environment is cleared"
        );
    });
    Ok(())
}

/// A command ready to start, and the private temporary folder it lives with.
#[derive(Debug)]
pub struct Prepared {
    pub command: std::process::Command,
    pub confinement: Confinement,
    _tmp: PrivateDir,
}

/// The process for `command` (whose program is at `program`): cleared environment, private
/// temporary and build folders under `<dir>/.testsmith/build/`, confined where possible.
pub fn prepare(command: &VerifyCommand, program: &Path) -> Result<Prepared, SandboxError> {
    check_required()?;
    prepare_as(command, program, availability().confinement)
}

/// The process for a command that downloads dependencies and executes no generated code
/// (`go mod download`, `cargo fetch`): the cleared environment and private folders, with
/// the network and without confinement.
pub fn prepare_download(command: &VerifyCommand, program: &Path) -> Result<Prepared, SandboxError> {
    prepare_as(command, program, Confinement::None)
}

fn prepare_as(
    command: &VerifyCommand,
    program: &Path,
    confinement: Confinement,
) -> Result<Prepared, SandboxError> {
    let settings = settings();
    let root = confined_root(&command.dir);
    let build = build_dir(&root)?;
    let tmp = private_dir(&root, "tmp-")?;
    let mut env = settings.env.cleared(std::env::vars());
    let tmp_path = tmp.path().to_string_lossy().into_owned();
    env.insert("TMPDIR".to_owned(), tmp_path);
    env.insert(
        "GOCACHE".to_owned(),
        build.join("go-cache").to_string_lossy().into_owned(),
    );
    env.insert(
        "CARGO_TARGET_DIR".to_owned(),
        build.join("target").to_string_lossy().into_owned(),
    );
    if confinement != Confinement::None {
        // Dependencies were fetched before; offline, a missing one is named at once.
        env.insert("GOPROXY".to_owned(), "off".to_owned());
        env.insert("CARGO_NET_OFFLINE".to_owned(), "true".to_owned());
    }
    let mut process = match (confinement, CONFINER.get()) {
        (Confinement::None, _) | (_, None) => std::process::Command::new(program),
        (_, Some(confiner)) => {
            let mut process = std::process::Command::new(confiner);
            process
                .arg(confine_subcommand())
                .args(["--level", confinement.label()])
                .arg("--dir")
                .arg(&root);
            for (name, value) in &command.env {
                let path = Path::new(value);
                if BUILD_DIR_VARS.contains(&name.as_str()) && path.is_absolute() {
                    let _ = std::fs::create_dir_all(path);
                    process.arg("--write").arg(path);
                }
            }
            process.arg("--").arg(program);
            process
        }
    };
    process
        .args(&command.args)
        .current_dir(&command.dir)
        .env_clear()
        .envs(&env)
        .envs(command.env.iter().map(|(key, value)| (key, value)));
    Ok(Prepared {
        command: process,
        confinement,
        _tmp: tmp,
    })
}

#[cfg(target_os = "linux")]
fn confine_subcommand() -> &'static str {
    confine::SUBCOMMAND
}

#[cfg(not(target_os = "linux"))]
fn confine_subcommand() -> &'static str {
    "__confine"
}

/// The folder a command working in `dir` may write to: the project holding it — the
/// nearest folder with a driver's project marker (`go.mod`, `Cargo.toml`) — or `dir` itself.
pub fn confined_root(dir: &Path) -> PathBuf {
    let markers: Vec<&str> = crate::drivers::DRIVERS
        .iter()
        .filter_map(|driver| driver.project_marker())
        .collect();
    dir.ancestors()
        .find(|folder| markers.iter().any(|marker| folder.join(marker).is_file()))
        .unwrap_or(dir)
        .to_owned()
}

/// A fresh folder that confined commands working in `dir` may write (test binaries,
/// coverage profiles), under `<dir>/.testsmith/build/`; removed when dropped, or when a
/// signal ends the run. Anything a confined command must write outside the project goes
/// here instead: the system's temporary folder is hidden from it.
pub fn private_dir(dir: &Path, prefix: &str) -> Result<PrivateDir, SandboxError> {
    let build = build_dir(&confined_root(dir))?;
    let folder = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&build)
        .map_err(|source| SandboxError::BuildDir {
            path: build,
            source,
        })?;
    Ok(PrivateDir {
        _on_stop: crate::verify::stop::remove_on_stop(folder.path()),
        folder,
    })
}

/// A folder made by [`private_dir`].
#[derive(Debug)]
pub struct PrivateDir {
    folder: tempfile::TempDir,
    _on_stop: crate::verify::stop::RemoveOnStop,
}

impl PrivateDir {
    pub fn path(&self) -> &Path {
        self.folder.path()
    }
}

/// `<dir>/.testsmith/build`, created with a `.gitignore` of `*` in `.testsmith` when new.
fn build_dir(dir: &Path) -> Result<PathBuf, SandboxError> {
    let state = dir.join(".testsmith");
    let build = dir.join(BUILD_DIR);
    let error = |path: &Path| {
        let path = path.to_owned();
        move |source| SandboxError::BuildDir { path, source }
    };
    std::fs::create_dir_all(&build).map_err(error(&build))?;
    let ignore = state.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n").map_err(error(&ignore))?;
    }
    Ok(build)
}
