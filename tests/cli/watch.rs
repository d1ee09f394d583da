//! `testsmith watch` as a child process in a temporary project: tests appear for new members
//! as sources are created, edited, renamed and deleted; nothing is written for unchanged
//! members; testsmith's own writes, editors' temporary files and ignored paths start no pass;
//! a burst of saves is one pass; `--llm` holds one session for the whole watch; Ctrl-C ends
//! it with exit code 130.
//!
//! Every wait has a hard deadline, and the child is killed however a test ends. Absence is
//! asserted with `-v`, under which every pass prints a line for every file it looked at, even
//! one with nothing to do: no line within a generous window means no pass.

use crate::fake_llm::FakeLlm;
use crate::util::{Project, TestRun};
use std::collections::VecDeque;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// The longest any single wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// How long to watch for a pass that must not come. A pass starts within the debounce
/// (50 ms here) of the change that causes it; waiting twenty times that only makes the
/// check stricter.
const NOTHING_FOR: Duration = Duration::from_secs(1);

const ADD: &str = "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n";
const ADD_SUB: &str = "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n\n\
                       // Sub subtracts.\nfunc Sub(a, b int) int { return a - b }\n";
const MUL: &str = "package deep\n\n// Mul multiplies.\nfunc Mul(a, b int) int { return a * b }\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// A running `testsmith watch`, its output read line by line as it comes. Killed on drop.
///
/// stdout and stderr arrive through separate pipes, so their relative order is lost: each
/// stream has its own queue of lines not waited for yet, and a wait on one never consumes
/// the other's.
struct WatchProcess {
    child: Child,
    lines: mpsc::Receiver<(Stream, String)>,
    unread_stdout: VecDeque<String>,
    unread_stderr: VecDeque<String>,
    /// Everything printed so far, for failure messages.
    stdout: Vec<String>,
    stderr: Vec<String>,
}

impl WatchProcess {
    /// Starts the watch and waits until it says it is watching (the first pass is done).
    fn start(mut run: TestRun) -> WatchProcess {
        let mut child = run
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("testsmith starts");
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for (stream, reader) in [
            (
                Stream::Out,
                Box::new(stdout) as Box<dyn std::io::Read + Send>,
            ),
            (Stream::Err, Box::new(stderr)),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    if sender.send((stream, line)).is_err() {
                        break;
                    }
                }
            });
        }
        let mut watch = WatchProcess {
            child,
            lines,
            unread_stdout: VecDeque::new(),
            unread_stderr: VecDeque::new(),
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        watch.wait_for(Stream::Err, |line| line.starts_with("note: watching"));
        watch
    }

    /// Waits for a line on `stream` that `wanted` accepts and returns it; fails after
    /// [`DEADLINE`] showing everything printed so far.
    #[track_caller]
    fn wait_for(&mut self, stream: Stream, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let unread = match stream {
                Stream::Out => &mut self.unread_stdout,
                Stream::Err => &mut self.unread_stderr,
            };
            if let Some(line) = unread.pop_front() {
                if wanted(&line) {
                    return line;
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((from, line)) => self.record(from, line),
                Err(_) => panic!(
                    "the expected line never came (or testsmith exited)\n{}",
                    self.transcript()
                ),
            }
        }
    }

    /// Waits for the stdout line `expected`, exactly.
    #[track_caller]
    fn wait_for_line(&mut self, expected: &str) {
        self.wait_for(Stream::Out, |line| line == expected);
    }

    /// Waits for a stdout line starting with `prefix` and returns it.
    #[track_caller]
    fn wait_for_line_starting(&mut self, prefix: &str) -> String {
        self.wait_for(Stream::Out, |line| line.starts_with(prefix))
    }

    /// The stdout lines not waited for yet and those that arrive within `window`.
    fn stdout_within(&mut self, window: Duration) -> Vec<String> {
        let end = Instant::now() + window;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok((from, line)) => self.record(from, line),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("testsmith exited\n{}", self.transcript())
                }
            }
        }
        self.unread_stdout.drain(..).collect()
    }

    /// Sends Ctrl-C and returns the exit code, with the rest of the output recorded.
    #[track_caller]
    fn interrupt(&mut self) -> i32 {
        let status = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + DEADLINE;
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "testsmith did not stop after Ctrl-C\n{}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The readers end when the pipes close.
        while let Ok((from, line)) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.record(from, line);
        }
        code
    }

    fn record(&mut self, stream: Stream, line: String) {
        match stream {
            Stream::Out => {
                self.stdout.push(line.clone());
                self.unread_stdout.push_back(line);
            }
            Stream::Err => {
                self.stderr.push(line.clone());
                self.unread_stderr.push_back(line);
            }
        }
    }

    fn transcript(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout.join("\n"),
            self.stderr.join("\n")
        )
    }

    /// The stdout lines about `path` so far.
    fn lines_about(&self, path: &str) -> Vec<&String> {
        self.stdout
            .iter()
            .filter(|line| line.starts_with(&format!("{path}:")) || line.starts_with(path))
            .collect()
    }
}

impl Drop for WatchProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file's contents and modification time: both unchanged means it was not written.
fn snapshot(path: &Path) -> (String, SystemTime) {
    let text = std::fs::read_to_string(path).unwrap();
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    (text, modified)
}

fn watch(project: &Project, extra: &[&str]) -> WatchProcess {
    let mut args = vec!["watch", "--debounce", "50"];
    args.extend_from_slice(extra);
    WatchProcess::start(project.testsmith(&args))
}

#[test]
fn tests_appear_for_new_members_as_sources_are_created_edited_renamed_and_deleted() {
    let project = Project::new();
    project.write("calc/calc.go", ADD);
    let mut watch = watch(&project, &[]);
    // The first pass is generate's.
    watch.wait_for_line_starting("calc/calc.go: 1 test written in ");
    assert!(project.read("calc/calc_test.go").contains("func TestAdd("));

    project.write("calc/calc.go", ADD_SUB);
    watch.wait_for_line_starting("calc/calc.go: 1 test written in ");
    let tests = project.read("calc/calc_test.go");
    assert!(tests.contains("func TestAdd(") && tests.contains("func TestSub("));

    // A new folder is watched as it appears; the file created in it is found.
    project.write("calc/deep/mul.go", MUL);
    watch.wait_for_line_starting("calc/deep/mul.go: 1 test written in ");
    assert!(
        project
            .read("calc/deep/mul_test.go")
            .contains("func TestMul(")
    );

    // Renamed: the package's tests still cover Mul, so nothing is written for times.go,
    // and mul_test.go, a test file of the package, is no orphan.
    std::fs::rename(
        project.path("calc/deep/mul.go"),
        project.path("calc/deep/times.go"),
    )
    .unwrap();
    let after_rename = watch.stdout_within(NOTHING_FOR);
    assert!(
        after_rename.iter().all(|line| !line.contains("orphaned")),
        "{after_rename:?}"
    );

    std::fs::remove_file(project.path("calc/calc.go")).unwrap();
    watch.wait_for_line("calc/calc.go deleted; its tests in calc/calc_test.go are orphaned");
    assert!(project.read("calc/calc_test.go").contains("func TestSub("));
    assert!(
        project
            .read("calc/deep/mul_test.go")
            .contains("func TestMul(")
    );

    assert_eq!(watch.interrupt(), 130, "{}", watch.transcript());
    assert!(
        watch.lines_about("calc/deep/times.go").is_empty(),
        "{}",
        watch.transcript()
    );
    assert!(
        watch
            .stderr
            .iter()
            .any(|line| line.starts_with("note: stopped")),
        "{}",
        watch.transcript()
    );
}

#[test]
fn its_own_writes_and_unchanged_members_start_no_work() {
    let project = Project::new();
    project.write("calc/calc.go", ADD);
    let mut watch = watch(&project, &["-v"]);
    watch.wait_for_line_starting("calc/calc.go: 1 test written in ");
    let tests = project.path("calc/calc_test.go");
    let written = snapshot(&tests);

    // The first pass wrote calc_test.go: that write starts nothing.
    assert_eq!(watch.stdout_within(NOTHING_FOR), Vec::<String>::new());

    // A save of the same text starts nothing either.
    project.write("calc/calc.go", ADD);
    assert_eq!(watch.stdout_within(NOTHING_FOR), Vec::<String>::new());

    // A change that adds no member is looked at, and nothing is written.
    project.write("calc/calc.go", format!("{ADD}\n// A comment.\n"));
    watch.wait_for_line_starting("calc/calc.go: nothing to write (1 already tested) in ");
    assert_eq!(snapshot(&tests), written);
    assert_eq!(watch.stdout_within(NOTHING_FOR), Vec::<String>::new());

    // A person's edit of the test file is no reason for a pass, but it is read again: the
    // next test is merged into the edited file.
    let edited = format!("{}\n// My note.\n", written.0);
    project.write("calc/calc_test.go", &edited);
    assert_eq!(watch.stdout_within(NOTHING_FOR), Vec::<String>::new());
    project.write("calc/calc.go", ADD_SUB);
    watch.wait_for_line_starting("calc/calc.go: 1 test written in ");
    let merged = project.read("calc/calc_test.go");
    assert!(merged.contains("// My note.") && merged.contains("func TestSub("));
    assert_eq!(watch.stdout_within(NOTHING_FOR), Vec::<String>::new());

    assert_eq!(watch.interrupt(), 130, "{}", watch.transcript());
}

#[test]
fn the_rust_attach_edit_to_a_source_file_starts_no_work() {
    let project = Project::new();
    project.write(
        "Cargo.toml",
        "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    project.write(
        "src/lib.rs",
        "/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
    );
    let mut watch = watch(&project, &["-v"]);
    watch.wait_for_line_starting("src/lib.rs: 1 test written (test module attached) in ");
    let attached = project.read("src/lib.rs");
    assert!(attached.contains("mod lib_tests;"), "{attached}");

    // testsmith rewrote src/lib.rs to attach its tests: that write is no edit.
    assert_eq!(watch.stdout_within(NOTHING_FOR), Vec::<String>::new());

    // A person's edit of the attached source is: the new member gets its test, and the
    // module is not attached twice.
    project.write(
        "src/lib.rs",
        format!(
            "{attached}\n/// Subtracts.\npub fn sub(a: i32, b: i32) -> i32 {{\n    a - b\n}}\n"
        ),
    );
    watch.wait_for_line_starting("src/lib.rs: 1 test written in ");
    assert_eq!(
        project.read("src/lib.rs").matches("mod lib_tests;").count(),
        1
    );
    assert!(project.read("src/lib_tests.rs").contains("fn test_sub("));
    assert_eq!(watch.stdout_within(NOTHING_FOR), Vec::<String>::new());
    assert_eq!(watch.interrupt(), 130, "{}", watch.transcript());
}

#[test]
fn editors_temporary_files_and_ignored_paths_start_no_work() {
    let project = Project::new();
    project.write(".gitignore", "generated/\n");
    project.write("calc/calc.go", ADD);
    let mut watch = watch(&project, &["-v"]);
    watch.wait_for_line_starting("calc/calc.go: 1 test written in ");

    let ignored = [
        "calc/.calc.go.swp",
        "calc/.calc.go.swx",
        "calc/4913",
        "calc/calc.go~",
        "calc/.#calc.go",
        "calc/#calc.go#",
        "calc/calc.go___jb_tmp___",
        "calc/calc.go.tmp",
        "calc/.testsmith-a1b2c3.tmp",
        ".testsmith/state.go",
        "generated/gen.go",
        "vendor/dep/dep.go",
        "calc/testdata/fixture.go",
        ".hidden/hidden.go",
    ];
    for path in ignored {
        project.write(path, MUL);
    }
    assert_eq!(watch.stdout_within(NOTHING_FOR), Vec::<String>::new());
    for path in ignored {
        let test_file = format!("{}_test.go", path.trim_end_matches(".go"));
        assert!(!project.exists(&test_file), "{test_file} was written");
    }

    // An editor's safe save — the old file moved to a backup, the new text written in its
    // place — is an edit, not a deletion.
    std::fs::rename(project.path("calc/calc.go"), project.path("calc/calc.go~")).unwrap();
    project.write("calc/calc.go", ADD_SUB);
    watch.wait_for_line_starting("calc/calc.go: 1 test written in ");
    assert_eq!(watch.interrupt(), 130, "{}", watch.transcript());
    assert!(
        !watch.stdout.iter().any(|line| line.contains("deleted")),
        "{}",
        watch.transcript()
    );
}

#[test]
fn a_file_that_cannot_be_read_is_reported_and_the_watch_goes_on() {
    let project = Project::new();
    project.write("calc/calc.go", ADD);
    let mut watch = watch(&project, &[]);
    watch.wait_for_line_starting("calc/calc.go: 1 test written in ");

    project.write("calc/bad.go", b"package calc\n\xff\xfe\n");
    let warning = watch.wait_for(Stream::Err, |line| line.contains("calc/bad.go"));
    assert!(warning.contains("not valid UTF-8"), "{warning}");

    // The next save of the same file, fixed, is worked on like any other.
    project.write("calc/bad.go", MUL.replace("package deep", "package calc"));
    watch.wait_for_line_starting("calc/bad.go: 1 test written in ");
    project.write("calc/calc.go", ADD_SUB);
    watch.wait_for_line_starting("calc/calc.go: 1 test written in ");
    assert_eq!(watch.interrupt(), 130, "{}", watch.transcript());
}

#[test]
fn a_moved_folder_is_watched_at_its_new_place() {
    let project = Project::new();
    project.write("calc/deep/mul.go", MUL);
    let mut watch = watch(&project, &[]);
    watch.wait_for_line_starting("calc/deep/mul.go: 1 test written in ");
    std::fs::rename(project.path("calc/deep"), project.path("calc/deeper")).unwrap();
    // The folder moved with its tests: nothing is orphaned, nothing new is written.
    assert_eq!(watch.stdout_within(NOTHING_FOR), Vec::<String>::new());

    project.write(
        "calc/deeper/mul.go",
        format!(
            "{MUL}
// Div divides.
func Div(a, b int) int {{ return a / b }}
"
        ),
    );
    watch.wait_for_line_starting("calc/deeper/mul.go: 1 test written in ");
    assert!(
        project
            .read("calc/deeper/mul_test.go")
            .contains("func TestDiv(")
    );
    assert_eq!(watch.interrupt(), 130, "{}", watch.transcript());
}

#[test]
fn a_burst_of_100_saves_within_the_debounce_window_is_one_pass() {
    // A window long enough that writing 100 small files surely fits in it, even on a CI
    // machine whose disk is busy with other tests (1.5 s was once not enough there).
    const DEBOUNCE: Duration = Duration::from_millis(5000);
    let project = Project::new();
    project.write("calc/calc.go", ADD);
    let mut watch = WatchProcess::start(project.testsmith(&["watch", "--debounce", "5000", "-v"]));
    watch.wait_for_line_starting("calc/calc.go: 1 test written in ");

    let started = Instant::now();
    for save in 0..100 {
        let text = if save == 99 { ADD_SUB } else { ADD };
        project.write("calc/calc.go", format!("{text}\n// Save {save}.\n"));
    }
    let burst = started.elapsed();
    assert!(burst < DEBOUNCE, "100 saves took {burst:?}");

    // With -v every pass prints a line for calc.go, even one with nothing to write: the first
    // line after the burst is the pass that wrote TestSub, and no other follows.
    let pass = watch.wait_for_line_starting("calc/calc.go: ");
    assert!(
        pass.starts_with("calc/calc.go: 1 test written in "),
        "{}",
        watch.transcript()
    );
    assert_eq!(watch.stdout_within(DEBOUNCE * 2), Vec::<String>::new());
    assert!(project.read("calc/calc_test.go").contains("func TestSub("));
    assert_eq!(watch.interrupt(), 130, "{}", watch.transcript());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_llm_one_session_holds_the_run_lock_and_asks_only_about_new_members() {
    const KEY: &str = "sk-test-watch-4242";
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let base_url = fake.base_url();
    let llm_args = ["--llm", "--base-url", &base_url, "--model", "fake-1"];
    let project = Project::new();
    project.write("calc/calc.go", ADD);

    let mut args = vec!["watch", "--debounce", "50"];
    args.extend_from_slice(&llm_args);
    let run = project.testsmith(&args).env("OPENAI_API_KEY", KEY);
    let mut watch = tokio::task::spawn_blocking(move || {
        let mut watch = WatchProcess::start(run);
        watch.wait_for_line_starting("calc/calc.go: 1 test written in ");
        watch
    })
    .await
    .unwrap();
    assert_eq!(fake.log.asked(), [["TestAdd"]]);

    // The run lock is held while the watch waits between passes.
    let mut args = vec!["generate"];
    args.extend_from_slice(&llm_args);
    let other = project.testsmith(&args).env("OPENAI_API_KEY", KEY);
    let busy = tokio::task::spawn_blocking(move || other.run())
        .await
        .unwrap();
    assert_eq!(busy.code, 2, "{}", busy.stderr);
    assert!(
        busy.stderr.contains("another testsmith run is working on"),
        "{}",
        busy.stderr
    );

    // A new member: only it is asked about.
    project.write("calc/calc.go", ADD_SUB);
    let mut watch = tokio::task::spawn_blocking(move || {
        watch.wait_for_line_starting("calc/calc.go: 1 test written in ");
        watch
    })
    .await
    .unwrap();
    assert_eq!(fake.log.asked(), [["TestAdd"], ["TestSub"]]);

    // The tests deleted, then a change: both come back from the cache, nothing is sent.
    std::fs::remove_file(project.path("calc/calc_test.go")).unwrap();
    project.write("calc/calc.go", format!("{ADD_SUB}\n// A comment.\n"));
    let mut watch = tokio::task::spawn_blocking(move || {
        watch.wait_for_line_starting("calc/calc.go: 2 tests written (2 cached) in ");
        watch
    })
    .await
    .unwrap();
    assert_eq!(fake.log.count(), 2);

    let (code, watch) = tokio::task::spawn_blocking(move || (watch.interrupt(), watch))
        .await
        .unwrap();
    assert_eq!(code, 130, "{}", watch.transcript());
    drop(watch);

    // The lock went with the watch; the queue holds nothing for the next run.
    let mut args = vec!["generate", "--format", "json"];
    args.extend_from_slice(&llm_args);
    let next = project.testsmith(&args).env("OPENAI_API_KEY", KEY);
    let finished = tokio::task::spawn_blocking(move || next.run())
        .await
        .unwrap()
        .success();
    let doc = finished.json();
    assert_eq!(doc["summary"]["written"], 0, "{}", finished.stdout);
    assert_eq!(doc["summary"]["llm"]["jobs_waiting"], 0);
    assert_eq!(fake.log.count(), 2);
}
