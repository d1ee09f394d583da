//! `testsmith __confine`: testsmith re-executed as the confining parent of `go` or `cargo`.
//!
//! `testsmith __confine --level LEVEL --dir DIR [--write BUILD_DIR]… -- PROGRAM ARGS…`
//! (`--write`: a build folder of testsmith's own outside `DIR`, such as mutants' shared
//! target folder) sets up the confinement
//! in its own (single-threaded, freshly started) process and then `exec`s the program, so
//! every process the toolchain starts — the compiler, the test binaries — inherits it:
//! 1. new user, network and mount namespaces (the user's own uid and gid mapped to
//!    themselves), `lo` up;
//! 2. `/tmp`, `/var/tmp`, `/run`, `/dev/shm`, `/home`, `/var/lib` and `HOME` hidden under
//!    empty tmpfs mounts (other programs' unix sockets live there, and `HOME` holds the
//!    user's secrets), the project and toolchain folders bound back when they live below
//!    one of them;
//! 3. `DIR/.git` and `DIR/.testsmith` bound read-only over themselves, `DIR/.testsmith/build`
//!    writable;
//! 4. Landlock: read everywhere, write beneath `DIR` (and to `/dev/null` and friends);
//!    abstract unix sockets and signals scoped, and no `ptrace` outside — which keeps
//!    `/proc/<pid>/environ` of every process outside unreadable.
//!
//! With `--level landlock` (no user namespaces) only step 4 applies, with every TCP bind and
//! connect denied and, since nothing is bind-mounted read-only, write access granted per
//! entry of `DIR` other than `.git` and `.testsmith`. `--probe` tries the strongest level
//! in this process and prints its label (and any shortfall) on stdout. Any failure before
//! `exec` exits with [`SETUP_FAILED`] and a line on stderr; nothing has run then.

use super::{BUILD_DIR, Confinement};
use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::statvfs::{FsFlags, statvfs};
use std::ffi::OsString;
use std::os::fd::AsRawFd as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "__confine";

/// The exit code when the confinement could not be set up (nothing ran).
pub const SETUP_FAILED: u8 = 121;

/// The stderr prefix of a setup failure, so the runner can tell it from the program's own.
pub const FAILURE_PREFIX: &str = "testsmith-confine: ";

/// Folders where other programs keep unix sockets (agents, databases, Docker, X11, tmux,
/// other users' sessions), hidden from confined code; `HOME` is hidden too.
const HIDDEN: &[&str] = &["/tmp", "/var/tmp", "/run", "/dev/shm", "/home", "/var/lib"];

/// Device files a toolchain opens for writing.
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// Variables naming toolchain folders that must stay visible when they live under a hidden
/// folder (`HOME` is hidden too).
const TOOLCHAIN_DIRS: &[&str] = &[
    "GOROOT",
    "GOPATH",
    "GOMODCACHE",
    "CARGO_HOME",
    "RUSTUP_HOME",
];

/// The toolchains' default folders in `HOME`, kept visible (read-only) when the variables
/// above are not set: rustup's toolchains and cargo's registry, Go's module cache and its
/// `go env -w` settings.
const HOME_TOOLCHAIN_DIRS: &[&str] = &[".cargo", ".rustup", "go", ".config/go"];

/// The Landlock ABI whose rights are asked for; older kernels get what they have (best
/// effort), reported as a shortfall.
const ABI_WANTED: ABI = ABI::V6;

/// Runs the subcommand with the arguments after its name.
pub fn main(args: Vec<OsString>) -> ExitCode {
    match parse(args) {
        Ok(Invocation::Probe) => probe(),
        Ok(Invocation::Run {
            level,
            dir,
            writable,
            program,
            args,
        }) => {
            // Entered again after the mounts, so it is seen through them.
            let working_dir = std::env::current_dir().unwrap_or_else(|_| dir.clone());
            // A toolchain installed under `HOME` (`~/sdk/go/bin/go`) stays visible: the
            // folder above its `bin`.
            let installed = Path::new(&program)
                .parent()
                .and_then(Path::parent)
                .map(Path::to_owned);
            let error = match confine(level, &dir, &writable, installed.as_deref()) {
                Ok(_) => std::process::Command::new(&program)
                    .args(&args)
                    .current_dir(&working_dir)
                    .exec(),
                Err(error) => error,
            };
            fail(&format!("{}: {error}", program.to_string_lossy()))
        }
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{FAILURE_PREFIX}{message}");
    ExitCode::from(SETUP_FAILED)
}

#[derive(Debug)]
enum Invocation {
    Probe,
    Run {
        level: Confinement,
        dir: PathBuf,
        writable: Vec<PathBuf>,
        program: OsString,
        args: Vec<OsString>,
    },
}

fn parse(args: Vec<OsString>) -> Result<Invocation, String> {
    let mut args = args.into_iter();
    let (mut level, mut dir, mut writable) = (None, None, Vec::new());
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--probe") => return Ok(Invocation::Probe),
            Some("--level") => {
                let label = args.next().unwrap_or_default();
                level = Confinement::from_label(&label.to_string_lossy());
            }
            Some("--dir") => dir = args.next().map(PathBuf::from),
            Some("--write") => writable.extend(args.next().map(PathBuf::from)),
            Some("--") => {
                let program = args.next().ok_or("no program to run")?;
                return Ok(Invocation::Run {
                    level: level.ok_or("no --level")?,
                    dir: dir.ok_or("no --dir")?,
                    writable,
                    program,
                    args: args.collect(),
                });
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Err("no program to run".to_owned())
}

/// Tries the strongest confinement in this (throw-away) process and prints what it got.
fn probe() -> ExitCode {
    let dir = std::env::temp_dir();
    let (level, mut shortfalls) = match confine(Confinement::Namespaces, &dir, &[], None) {
        Ok(shortfalls) => (Confinement::Namespaces, shortfalls),
        Err(namespaces) => match confine(Confinement::Landlock, &dir, &[], None) {
            Ok(mut shortfalls) => {
                shortfalls.insert(0, format!("no namespaces: {namespaces}"));
                (Confinement::Landlock, shortfalls)
            }
            Err(landlock) => (
                Confinement::None,
                vec![format!(
                    "no namespaces: {namespaces}; no Landlock: {landlock}"
                )],
            ),
        },
    };
    println!("{}", level.label());
    for shortfall in shortfalls.drain(..) {
        println!("{shortfall}");
    }
    ExitCode::SUCCESS
}

/// Confines this process at `level` for a command working in `dir`; `Ok` holds what the
/// kernel could not give (an older Landlock ABI).
fn confine(
    level: Confinement,
    dir: &Path,
    writable: &[PathBuf],
    installed: Option<&Path>,
) -> Result<Vec<String>, std::io::Error> {
    let dir = dir.canonicalize()?;
    let writable: Vec<PathBuf> = writable
        .iter()
        .filter_map(|path| path.canonicalize().ok())
        .collect();
    match level {
        Confinement::Namespaces => {
            enter_namespaces()?;
            let mut kept = writable.clone();
            kept.extend(installed.map(Path::to_owned));
            hide_shared_folders(&dir, &kept)?;
            protect_state(&dir)?;
            let mut rules = writable;
            rules.push(dir);
            landlock(&rules, false)
        }
        Confinement::Landlock => {
            let mut rules = writable_entries(&dir)?;
            rules.extend(writable);
            landlock(&rules, true)
        }
        Confinement::None => Ok(Vec::new()),
    }
}

fn enter_namespaces() -> std::io::Result<()> {
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS)
        .map_err(|errno| context("unshare", errno.into()))?;
    match std::fs::write("/proc/self/setgroups", "deny") {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(context("setgroups", error));
        }
        _ => {}
    }
    std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))
        .map_err(|error| context("uid_map", error))?;
    std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))
        .map_err(|error| context("gid_map", error))?;
    super::netlink::loopback_up().map_err(|error| context("bringing lo up", error))?;
    // Nothing mounted from here on reaches the host's mount namespace.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|errno| context("making / private", errno.into()))
}

/// Covers [`HIDDEN`] and `HOME` with empty tmpfs mounts; the project and toolchain folders
/// below one are bound back from a descriptor opened before the cover.
fn hide_shared_folders(dir: &Path, also_kept: &[PathBuf]) -> std::io::Result<()> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .and_then(|home| home.canonicalize().ok())
        .filter(|home| home.parent().is_some());
    let home_toolchains = home
        .iter()
        .flat_map(|home| HOME_TOOLCHAIN_DIRS.iter().map(move |dir| home.join(dir)));
    let mut keep: Vec<PathBuf> = TOOLCHAIN_DIRS
        .iter()
        .filter_map(std::env::var_os)
        // `GOPATH` is a list (a GOPATH package's own GOPATH, then the user's).
        .flat_map(|value| std::env::split_paths(&value).collect::<Vec<_>>())
        .chain(home_toolchains)
        .chain(also_kept.iter().cloned())
        .chain(std::iter::once(dir.to_owned()))
        .filter_map(|path| path.canonicalize().ok())
        .collect();
    keep.sort();
    // A folder inside another kept one comes back with it.
    keep.dedup_by(|inner, outer| inner.starts_with(outer));
    let hidden_dirs = HIDDEN.iter().map(PathBuf::from).chain(home);
    for hidden in hidden_dirs {
        let hidden = hidden.as_path();
        let is_real_dir = std::fs::symlink_metadata(hidden).is_ok_and(|meta| meta.is_dir());
        if !is_real_dir {
            continue;
        }
        let kept: Vec<(PathBuf, std::fs::File)> = keep
            .iter()
            .filter(|path| path.starts_with(hidden))
            .filter_map(|path| Some((path.clone(), std::fs::File::open(path).ok()?)))
            .collect();
        mount(
            Some("tmpfs"),
            hidden,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=1777,size=16m"),
        )
        .map_err(|errno| context(&format!("hiding {}", hidden.display()), errno.into()))?;
        for (path, handle) in kept {
            std::fs::create_dir_all(&path)?;
            let source = format!("/proc/self/fd/{}", handle.as_raw_fd());
            mount(
                Some(source.as_str()),
                &path,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|errno| context(&format!("keeping {}", path.display()), errno.into()))?;
        }
    }
    Ok(())
}

/// Binds `.git` and `.testsmith` read-only over themselves; the build folder inside
/// `.testsmith` stays writable.
fn protect_state(dir: &Path) -> std::io::Result<()> {
    let state = dir.join(".testsmith");
    let build = dir.join(BUILD_DIR);
    for path in [dir.join(".git"), state.clone()] {
        if !path.exists() {
            continue;
        }
        bind(&path)?;
        if path == state && build.is_dir() {
            bind(&build)?;
        }
        let kept = statvfs(&path)
            .map(|stat| locked_flags(stat.flags()))
            .unwrap_or_else(|_| MsFlags::empty());
        mount(
            None::<&str>,
            &path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | kept,
            None::<&str>,
        )
        .map_err(|errno| context(&format!("read-only {}", path.display()), errno.into()))?;
    }
    Ok(())
}

fn bind(path: &Path) -> std::io::Result<()> {
    mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|errno| context(&format!("binding {}", path.display()), errno.into()))
}

/// The flags of an inherited mount that a remount in a user namespace must keep.
fn locked_flags(flags: FsFlags) -> MsFlags {
    [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ]
    .into_iter()
    .filter(|(statvfs, _)| flags.contains(*statvfs))
    .fold(MsFlags::empty(), |all, (_, mount)| all | mount)
}

/// Without a mount namespace nothing can be made read-only inside `dir`: write access goes
/// to each of its entries but `.git` and `.testsmith`, and to the build folder.
fn writable_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name() != ".git" && entry.file_name() != ".testsmith")
        .map(|entry| entry.path())
        .collect();
    entries.push(dir.join(BUILD_DIR));
    Ok(entries)
}

/// Applies Landlock: read everywhere, everything beneath `writable`; with `deny_tcp`, no
/// TCP bind or connect at all.
fn landlock(writable: &[PathBuf], deny_tcp: bool) -> Result<Vec<String>, std::io::Error> {
    let abi = ABI_WANTED;
    let error = |error: landlock::RulesetError| context("Landlock", std::io::Error::other(error));
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .map_err(error)?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(error)?;
    if deny_tcp {
        ruleset = ruleset
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
            .map_err(error)?;
    }
    let status = ruleset
        .create()
        .map_err(error)?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi)))
        .map_err(error)?
        .add_rules(path_beneath_rules(writable, AccessFs::from_all(abi)))
        .map_err(error)?
        .add_rules(path_beneath_rules(
            DEVICES,
            AccessFs::from_read(abi) | AccessFs::WriteFile,
        ))
        .map_err(error)?
        .restrict_self()
        .map_err(error)?;
    match status.ruleset {
        RulesetStatus::FullyEnforced => Ok(Vec::new()),
        RulesetStatus::PartiallyEnforced => Ok(vec![
            "Landlock is older than ABI 6: abstract unix sockets and signals are not scoped"
                .to_owned(),
        ]),
        RulesetStatus::NotEnforced => Err(context(
            "Landlock",
            std::io::Error::other("not enabled in this kernel"),
        )),
    }
}

fn context(what: &str, error: std::io::Error) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("{what}: {error}"))
}
