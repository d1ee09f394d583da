//! A throwaway PostgreSQL server for tests: `initdb` in a temporary folder, started on a free
//! loopback port with password authentication, stopped when dropped. Shared by the unit tests
//! (`src/store`) and the CLI tests (`tests/cli`, through `#[path]`).
//!
//! Debian's `postgresql` package keeps its programs in `/usr/lib/postgresql/<version>/bin`,
//! off `PATH`, and `initdb` refuses to run as root — CI runs as root — so as root the server
//! is run as the `postgres` user the package creates. Without the programs a test is skipped
//! with a message, unless `CI` is set: there it fails.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The password of the test server's `postgres` user: tests check it never shows.
pub const PASSWORD: &str = "pw-never-printed-7f3a";

/// A running server; stopped (immediately, it holds nothing worth keeping) when dropped.
#[derive(Debug)]
pub struct TestServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres_user: bool,
}

impl TestServer {
    /// Starts a server, or returns `None` (after saying why on stderr) when PostgreSQL is
    /// not installed and `CI` is not set. Under `CI` a missing server is a failure.
    pub fn start() -> Option<TestServer> {
        let Some(bin) = find_bin() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but PostgreSQL is not installed (apt-get install postgresql)"
            );
            eprintln!(
                "SKIPPED: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl; \
                 set TESTSMITH_PG_BIN to its bin folder)"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        let as_postgres_user = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let password_file = dir.path().join("password");
        std::fs::write(&password_file, PASSWORD).expect("write the password file");
        if as_postgres_user {
            for path in [dir.path(), password_file.as_path()] {
                chown_to_postgres(path);
            }
        }
        let server = TestServer {
            bin,
            port: free_port(),
            dir,
            as_postgres_user,
        };
        let data = server.dir.path().join("data");
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--pwfile".as_ref(),
                password_file.as_os_str(),
                "--auth-host=scram-sha-256".as_ref(),
                "--auth-local=trust".as_ref(),
                "--no-sync".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
            ],
        );
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            server.port,
            server.dir.path().display()
        );
        let log = server.dir.path().join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        Some(server)
    }

    /// A fresh, empty database on the server; its URL, password included.
    pub fn database(&self, name: &str) -> String {
        self.run(
            "createdb",
            &[
                "-h".as_ref(),
                self.dir.path().as_os_str(),
                "-p".as_ref(),
                self.port.to_string().as_ref(),
                "-U".as_ref(),
                "postgres".as_ref(),
                name.as_ref(),
            ],
        );
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// Runs one of the server's programs (as `postgres` when we are root), failing the test
    /// with its output when it fails.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", path.display()));
        assert!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let path = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let _ = command
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The bin folder of the newest PostgreSQL installed, or `$TESTSMITH_PG_BIN`.
fn find_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("TESTSMITH_PG_BIN") {
        return Some(PathBuf::from(bin));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn chown_to_postgres(path: &Path) {
    let status = Command::new("chown")
        .arg("postgres")
        .arg(path)
        .status()
        .expect("run chown");
    assert!(status.success(), "chown postgres {}", path.display());
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}
