//! Running a driver's verification command: found on `PATH`, confined (see
//! [`crate::sandbox`]: cleared environment, private temporary and build folders, and where
//! the machine allows it namespaces and Landlock), output captured, stopped — with
//! everything it started — when it runs out of time.
//!
//! [`run`] is the one way testsmith runs anything that builds or executes generated code:
//! verify, coverage, mutants and watch all go through it.
//!
//! The command leads a process group of its own, registered with [`super::stop`]: a
//! command out of time, or running when the user stops testsmith (SIGINT, SIGTERM), is
//! killed with its group and all its descendants, found through `/proc`, since `go test`
//! and `cargo test` run the test binaries as children.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};
use testsmith_driver::{CommandOutput, VerifyCommand, VerifyRequest};

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("`{program}` was not found on PATH")]
    NotFound { program: String },
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
    /// The user stopped testsmith (SIGINT, SIGTERM) before or while the command ran: it
    /// was not started, or was killed and its output means nothing.
    #[error("interrupted before `{command}` finished")]
    Interrupted { command: String },
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// The program's full path when `PATH` holds it (an executable file), else `None`.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return is_executable(Path::new(program)).then(|| PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Runs `command` to the end or until `timeout`; a command out of time is killed with its
/// descendants and reported with no exit code and a note on stderr.
pub fn run(command: &VerifyCommand, timeout: Duration) -> Result<CommandOutput, CommandError> {
    let program = find_on_path(&command.program).ok_or_else(|| CommandError::NotFound {
        program: command.program.clone(),
    })?;
    if crate::sandbox::availability().confinement != crate::sandbox::Confinement::None {
        fetch_once(&command.dir, timeout);
    }
    let prepared = crate::sandbox::prepare(command, &program)?;
    run_prepared(command, prepared, timeout)
}

/// Downloads the dependencies of the project holding `dir` once per run, before its first
/// confined command (which is offline): the driver whose project marker the project holds
/// says how (`go mod download`, `cargo fetch`). A failed download is only logged — the
/// build that follows names what is missing, in the toolchain's words.
fn fetch_once(dir: &Path, timeout: Duration) {
    static FETCHED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let root = crate::sandbox::confined_root(dir);
    let is_new = FETCHED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(root.clone());
    if !is_new {
        return;
    }
    let found = crate::drivers::DRIVERS.iter().find_map(|driver| {
        let marker = root.join(driver.project_marker()?);
        let marker_text = std::fs::read_to_string(marker).ok()?;
        let request = VerifyRequest {
            root: root.clone(),
            marker_text,
            files: Vec::new(),
            include_ignored: false,
            test_timeout_secs: 0,
            build: Default::default(),
        };
        driver.fetch_command(&request)
    });
    let Some(fetch) = found else {
        return;
    };
    match run_download(&fetch, timeout) {
        Ok(output) if output.is_success() => {}
        Ok(output) => tracing::info!(
            "`{}` failed; building offline with what is there: {}",
            fetch.display(),
            output.stderr.trim()
        ),
        Err(error) => tracing::info!("`{}`: {error}", fetch.display()),
    }
}

/// Runs a driver's dependency download (`go mod download`, `cargo fetch`) as [`run`] does,
/// but with the network and unconfined: it executes no generated code, and the confined
/// build that follows is offline.
fn run_download(command: &VerifyCommand, timeout: Duration) -> Result<CommandOutput, CommandError> {
    let program = find_on_path(&command.program).ok_or_else(|| CommandError::NotFound {
        program: command.program.clone(),
    })?;
    let prepared = crate::sandbox::prepare_download(command, &program)?;
    run_prepared(command, prepared, timeout)
}

fn run_prepared(
    command: &VerifyCommand,
    mut prepared: crate::sandbox::Prepared,
    timeout: Duration,
) -> Result<CommandOutput, CommandError> {
    tracing::info!(
        "verify: {} (in {}, confinement: {})",
        command.display(),
        command.dir.display(),
        prepared.confinement.label()
    );
    let interrupted = || CommandError::Interrupted {
        command: command.display(),
    };
    let spawned = super::stop::spawn(
        prepared
            .command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .map_err(|source| CommandError::Spawn {
        command: command.display(),
        source,
    })?;
    let (mut child, registration) = spawned.ok_or_else(interrupted)?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let exit_code = wait(&mut child, timeout);
    drop(registration);
    if super::stop::stopping() {
        return Err(interrupted());
    }
    let stdout = collect(&stdout);
    let mut stderr = collect(&stderr);
    drop(prepared);
    if exit_code.is_none() {
        stderr.push_str(&format!(
            "\ntestsmith: stopped `{}` after {} s\n",
            command.display(),
            timeout.as_secs()
        ));
    }
    tracing::debug!("verify: exit {exit_code:?}");
    Ok(CommandOutput {
        exit_code,
        stdout,
        stderr,
    })
}

/// How long the output of a finished command may take to arrive: a descendant that
/// escaped the kill could hold a pipe open for ever.
const OUTPUT_GRACE: Duration = Duration::from_secs(5);

/// Reads a pipe to its end on a thread of its own, so a chatty command never blocks on a
/// full pipe while we wait for it.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = sender.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    receiver
}

fn collect(output: &mpsc::Receiver<String>) -> String {
    output.recv_timeout(OUTPUT_GRACE).unwrap_or_default()
}

/// The exit code, or `None` when the child died of a signal or ran out of time (and was
/// killed with its descendants).
fn wait(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) if Instant::now() >= deadline => {
                super::stop::kill_group(child.id());
                let _ = child.wait();
                return None;
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(_) => return child.wait().ok().and_then(|status| status.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::VerifyStep;

    /// A shell command in a fresh folder (the runner puts its build folder there), with the
    /// folder kept alive by the caller.
    fn shell_in(dir: &tempfile::TempDir, script: &str) -> VerifyCommand {
        VerifyCommand {
            step: VerifyStep::Run,
            program: "sh".to_owned(),
            args: vec!["-c".to_owned(), script.to_owned()],
            dir: dir.path().to_owned(),
            env: vec![("TESTSMITH_PROBE".to_owned(), "probe".to_owned())],
        }
    }

    #[test]
    fn output_exit_code_and_environment_are_captured() {
        let dir = tempfile::tempdir().unwrap();
        let output = run(
            &shell_in(
                &dir,
                "echo out; echo err >&2; echo $TESTSMITH_PROBE; exit 3",
            ),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(output.exit_code, Some(3));
        assert_eq!(output.stdout, "out\nprobe\n");
        assert_eq!(output.stderr, "err\n");
    }

    #[test]
    fn a_command_out_of_time_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        // The grandchild holds stdout open: only killing the group lets the run return.
        let output = run(
            &shell_in(&dir, "sleep 30 & sleep 30; echo never"),
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(output.exit_code, None);
        assert!(
            output.stderr.contains("testsmith: stopped"),
            "{}",
            output.stderr
        );
        assert!(!output.stdout.contains("never"));
    }

    #[test]
    fn a_program_missing_from_path_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut command = shell_in(&dir, "true");
        command.program = "testsmith-no-such-program".to_owned();
        let error = run(&command, Duration::from_secs(1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`testsmith-no-such-program` was not found on PATH"
        );
    }

    #[test]
    fn the_command_sees_a_cleared_environment_and_a_private_tmpdir() {
        let dir = tempfile::tempdir().unwrap();
        // This test process's own environment is what `run` starts from: whatever it holds
        // beyond the allowlist (a CI's tokens, the harness's variables) must not pass.
        let output = run(
            &shell_in(&dir, "env; echo tmpdir=$TMPDIR; echo gocache=$GOCACHE"),
            Duration::from_secs(10),
        )
        .unwrap();
        let names: Vec<&str> = output
            .stdout
            .lines()
            .filter_map(|line| line.split_once('=').map(|(name, _)| name))
            .collect();
        for name in names {
            assert!(
                name.starts_with("LC_")
                    || [
                        "PATH",
                        "HOME",
                        "USER",
                        "LOGNAME",
                        "SHELL",
                        "TZ",
                        "LANG",
                        "LANGUAGE",
                        "TERM",
                        "NO_COLOR",
                        "TMPDIR",
                        "GOCACHE",
                        "CARGO_TARGET_DIR",
                        "PWD",
                        "SHLVL",
                        "_",
                        "TESTSMITH_PROBE",
                        "tmpdir",
                        "gocache"
                    ]
                    .contains(&name)
                    || name.starts_with("GO")
                    || name.starts_with("CGO_")
                    || name.starts_with("CARGO_")
                    || name.starts_with("RUST"),
                "{name} passed: {}",
                output.stdout
            );
        }
        let build = dir.path().join(".testsmith/build");
        let tmpdir = output
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("tmpdir="))
            .unwrap();
        assert!(Path::new(tmpdir).starts_with(&build), "{tmpdir}");
        // The private temporary folder goes with the command.
        assert!(!Path::new(tmpdir).exists());
        assert_eq!(
            output
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix("gocache=")),
            Some(build.join("go-cache").to_str().unwrap())
        );
    }
}
