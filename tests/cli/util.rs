//! The test harness: a temporary project folder and a way to run the real `testsmith` binary
//! in it, with the environment scrubbed of anything that could reach a real API.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A throwaway project folder.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        Project {
            dir: tempfile::Builder::new()
                .prefix("testsmith-test-")
                .tempdir()
                .expect("a temp dir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    /// Writes `contents` to `relative`, creating folders as needed.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> &Project {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        self
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative))
            .unwrap_or_else(|error| panic!("reading {relative}: {error}"))
    }

    pub fn exists(&self, relative: &str) -> bool {
        self.path(relative).exists()
    }

    /// Copies a folder of the repository's `fixtures/` into the project at `relative`.
    pub fn copy_fixture(&self, fixture: &str, relative: &str) -> &Project {
        copy_dir(&fixtures_dir().join(fixture), &self.path(relative));
        self
    }

    /// `testsmith ARGS` run in the project folder.
    pub fn testsmith(&self, args: &[&str]) -> TestRun {
        TestRun::new(self.root(), args)
    }
}

/// Runs `command` on a blocking thread, so the test's runtime keeps serving the fake API.
pub async fn run_async(command: TestRun) -> Finished {
    tokio::task::spawn_blocking(move || command.run())
        .await
        .unwrap()
}

/// The repository's `fixtures/` folder.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A command being built; [`run`](TestRun::run) executes it.
pub struct TestRun {
    command: Command,
}

impl TestRun {
    fn new(dir: &Path, args: &[&str]) -> TestRun {
        let mut command = Command::new(env!("CARGO_BIN_EXE_testsmith"));
        command.args(args).current_dir(dir);
        for (key, _) in std::env::vars() {
            if key.starts_with("OPENAI_") || key.starts_with("TESTSMITH_") || key == "CI" {
                command.env_remove(key);
            }
        }
        TestRun { command }
    }

    pub fn env(mut self, key: &str, value: &str) -> TestRun {
        self.command.env(key, value);
        self
    }

    /// Runs as an unprivileged user when the tests run as root, so that file permissions
    /// bite as they would for a user. The project folder must be reachable by that user.
    pub fn unprivileged(mut self) -> TestRun {
        if is_root() {
            let program = self.command.get_program().to_owned();
            let args: Vec<_> = self.command.get_args().map(|a| a.to_owned()).collect();
            let dir = self.command.get_current_dir().unwrap().to_owned();
            let mut wrapped = Command::new("setpriv");
            wrapped
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(program)
                .args(args)
                .current_dir(dir);
            self.command = wrapped;
        }
        self
    }

    pub fn command(&mut self) -> &mut Command {
        &mut self.command
    }

    pub fn run(mut self) -> Finished {
        let output = self.command.output().expect("testsmith runs");
        Finished::from(output)
    }
}

/// A finished run: exit code and both streams as text.
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Finished {
    fn from(output: Output) -> Finished {
        Finished {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Finished {
    /// Asserts the exit code, showing both streams when it is wrong.
    #[track_caller]
    pub fn code(self, expected: i32) -> Finished {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn success(self) -> Finished {
        self.code(0)
    }

    /// stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", self.stdout))
    }
}

/// Whether the tests run as root, for whom file permissions do not apply.
pub fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("id runs");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// Makes the project readable (and its folders enterable) by every user, so a run as an
/// unprivileged user can reach it.
pub fn open_to_everyone(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path).unwrap();
    if meta.file_type().is_symlink() {
        return;
    }
    let mode = meta.permissions().mode();
    let wanted = if meta.is_dir() {
        mode | 0o777
    } else {
        mode | 0o666
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted)).unwrap();
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            open_to_everyone(&entry.unwrap().path());
        }
    }
}

/// A Cargo target folder under `parent` for the project in `dir` alone. Tests must not share
/// one across projects: Cargo hashes a root package without its path, so two same-named
/// crates built from different temporary folders race for the same artifacts.
pub(crate) fn cargo_target_of(parent: &Path, dir: &Path) -> PathBuf {
    let name: String = dir
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    parent.join(name)
}

/// The newest version of a crate in the local Cargo registry whose folder name starts with
/// `prefix` (`"strsim-0.11."`). Only crates of testsmith's own dependency tree are sure to be
/// there: building testsmith fetched them.
pub(crate) fn registry_crate(prefix: &str) -> PathBuf {
    let registry =
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cargo/registry/src");
    std::fs::read_dir(&registry)
        .unwrap_or_else(|error| panic!("{}: {error}", registry.display()))
        .filter_map(Result::ok)
        .flat_map(|index| std::fs::read_dir(index.path()).into_iter().flatten())
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(prefix))
        })
        .max()
        .unwrap_or_else(|| panic!("no {prefix}* in {}", registry.display()))
}
