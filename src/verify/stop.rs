//! Stopping a run while it verifies. Every command the runner ([`super::command`]) starts
//! leads a process group of its own, registered here while it runs; SIGINT or SIGTERM to
//! testsmith ends those groups — and whatever their processes started, even outside the
//! group — waits until they are gone, then exits with 130. No `go`, `cargo`, confining
//! `__confine` parent or test binary outlives testsmith.
//!
//! A command of testsmith that stops gracefully on its own (`generate --llm`, `watch`)
//! holds a [`Graceful`] guard: the first signal then ends the running commands only (their
//! output is thrown away: [`super::command::run`] reports them interrupted) and leaves the
//! rest of the stop to that command; a second signal exits at once. Without a guard the
//! first signal exits: the files testsmith writes are replaced whole and the state database
//! is transactional, so stopping mid-verification leaves the tests written, marked
//! unverified for the next run.
//!
//! Own groups also mean a Ctrl-C at the terminal reaches testsmith alone, which then stops
//! the commands itself — the same path as a SIGTERM sent to its PID.
//!
//! Exiting on a signal skips destructors, so the private folders the commands were given
//! (under `.testsmith/build/`) are registered here too ([`remove_on_stop`]) and removed
//! once their commands are dead.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a killed process may take to be gone before testsmith exits anyway.
const DEATH_GRACE: Duration = Duration::from_secs(5);

/// The commands running now, and whether the run is stopping.
struct Running {
    /// The process group of every running command (its leader's PID).
    groups: BTreeSet<u32>,
    /// Set by the first signal: no command starts after it.
    stopping: bool,
    /// How many [`Graceful`] guards are held.
    graceful: usize,
    /// Private folders of the commands, removed when a signal ends the run.
    folders: BTreeSet<PathBuf>,
}

static RUNNING: Mutex<Running> = Mutex::new(Running {
    groups: BTreeSet::new(),
    stopping: false,
    graceful: 0,
    folders: BTreeSet::new(),
});

fn running() -> MutexGuard<'static, Running> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Listens for SIGINT and SIGTERM from now on (once per process, from `main`). Returns once
/// the handlers are installed, so a signal right after is never lost to the default action
/// (which would leave the commands running).
pub fn listen() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut interrupt, mut terminate) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    std::thread::Builder::new()
        .name("testsmith-stop".to_owned())
        .spawn(move || {
            let mut next_signal = || {
                runtime.block_on(async {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                });
            };
            next_signal();
            let state = stop_commands();
            if state.graceful == 0 {
                exit_interrupted(state);
            }
            drop(state);
            next_signal();
            exit_interrupted(stop_commands());
        })?;
    Ok(())
}

/// Removes the registered folders (their commands are dead by now) and exits with 130 while
/// holding the registry, so no command can start in between.
fn exit_interrupted(running: MutexGuard<'static, Running>) -> ! {
    for folder in &running.folders {
        let _ = std::fs::remove_dir_all(folder);
    }
    std::process::exit(crate::errors::Outcome::Interrupted.code().into())
}

/// A folder removed if a signal ends the run while this is held; dropping it (the folder's
/// own cleanup runs then) forgets the folder.
#[derive(Debug)]
pub struct RemoveOnStop {
    folder: PathBuf,
}

/// Registers `folder` for removal when a signal ends the run.
pub fn remove_on_stop(folder: &Path) -> RemoveOnStop {
    running().folders.insert(folder.to_owned());
    RemoveOnStop {
        folder: folder.to_owned(),
    }
}

impl Drop for RemoveOnStop {
    fn drop(&mut self) {
        running().folders.remove(&self.folder);
    }
}

/// Marks the run as stopping and ends every running command's group; returns the registry
/// still locked.
fn stop_commands() -> MutexGuard<'static, Running> {
    let mut state = running();
    state.stopping = true;
    let leaders: Vec<u32> = state.groups.iter().copied().collect();
    let doomed: Vec<u32> = leaders
        .iter()
        .flat_map(|&leader| kill_group(leader))
        .collect();
    wait_until_gone(&doomed);
    state
}

/// While held, the first signal ends the running commands but not the process: the holder
/// notices the signal itself and stops in its own way.
#[must_use = "the guard works while it is held"]
pub struct Graceful(());

/// Takes a [`Graceful`] guard.
pub fn graceful() -> Graceful {
    running().graceful += 1;
    Graceful(())
}

impl Drop for Graceful {
    fn drop(&mut self) {
        let mut state = running();
        state.graceful = state.graceful.saturating_sub(1);
    }
}

/// Whether a signal asked the run to stop.
pub fn stopping() -> bool {
    running().stopping
}

/// A running command's place in the registry, removed when dropped.
pub struct Registration {
    leader: u32,
}

impl Drop for Registration {
    fn drop(&mut self) {
        running().groups.remove(&self.leader);
    }
}

/// Starts `command` as the leader of a new process group and registers the group; `None`
/// (nothing started) once the run is stopping.
pub fn spawn(command: &mut Command) -> std::io::Result<Option<(Child, Registration)>> {
    let mut state = running();
    if state.stopping {
        return Ok(None);
    }
    let child = command.process_group(0).spawn()?;
    let leader = child.id();
    state.groups.insert(leader);
    Ok(Some((child, Registration { leader })))
}

/// Kills the process group led by `leader` and every process below the leader (a test may
/// start processes in groups of their own); returns who was killed. They are listed before
/// anyone dies: once the leader is gone, its children belong to init and can no longer be
/// told from anyone else's.
pub fn kill_group(leader: u32) -> Vec<u32> {
    let processes = processes();
    let mut doomed = vec![leader];
    let mut frontier = vec![leader];
    while let Some(parent) = frontier.pop() {
        for process in &processes {
            if process.parent == parent && !doomed.contains(&process.pid) {
                doomed.push(process.pid);
                frontier.push(process.pid);
            }
        }
    }
    for process in &processes {
        if process.group == leader && !doomed.contains(&process.pid) {
            doomed.push(process.pid);
        }
    }
    if let Ok(group) = i32::try_from(leader) {
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
    }
    for &pid in &doomed {
        if let Ok(pid) = i32::try_from(pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    doomed
}

/// Waits (a few seconds at most) until every process of `pids` has died: gone from `/proc`,
/// or a zombie waiting for its parent.
fn wait_until_gone(pids: &[u32]) {
    let deadline = Instant::now() + DEATH_GRACE;
    while pids.iter().any(|&pid| is_alive(pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn is_alive(pid: u32) -> bool {
    stat_of(pid).is_some_and(|process| !matches!(process.state, 'Z' | 'X'))
}

/// One process as `/proc/<pid>/stat` describes it.
struct Process {
    pid: u32,
    state: char,
    parent: u32,
    group: u32,
}

/// Every process on the machine (empty without `/proc`).
fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat_of)
        .collect()
}

/// The fields of `/proc/<pid>/stat` after the command name's closing parenthesis (the name
/// itself may hold spaces and parentheses): state, parent, process group.
fn stat_of(pid: u32) -> Option<Process> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    Some(Process {
        pid,
        state,
        parent,
        group,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    #[test]
    fn a_killed_group_takes_a_grandchild_that_left_it() {
        // The grandchild moves to a session (and group) of its own: only the walk down from
        // the leader finds it.
        let mut command = Command::new("sh");
        command
            .args(["-c", "setsid sleep 30 & echo $!; wait"])
            .stdout(Stdio::piped());
        let (mut child, registration) = spawn(&mut command).unwrap().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild: u32 = line.trim().parse().unwrap();
        assert!(is_alive(grandchild));
        let doomed = kill_group(child.id());
        wait_until_gone(&doomed);
        assert!(doomed.contains(&grandchild), "{doomed:?}");
        assert!(!is_alive(grandchild));
        let _ = child.wait();
        drop(registration);
        assert!(!running().groups.contains(&child.id()));
    }
}
