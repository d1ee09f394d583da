//! Measuring what a Cargo package's tests execute with LLVM's source-based coverage, using
//! nothing beyond stable Rust: `-C instrument-coverage` added to the user's own rustflags,
//! built once in a target folder of testsmith's own, the tests run once together (the
//! baseline) and once per test with `--exact`, each process writing its raw profile
//! (`LLVM_PROFILE_FILE=<folder>/%p-%m.profraw`). testsmith reads the profiles and the test
//! binaries' coverage maps itself (`src/coverage/llvm.rs`).
//!
//! Setting `CARGO_ENCODED_RUSTFLAGS` replaces every other source of rustflags, so the user's
//! are read first and kept, in Cargo's order of precedence: `CARGO_ENCODED_RUSTFLAGS`,
//! `RUSTFLAGS`, `target.<host>.rustflags`, `build.rustflags` (`CARGO_BUILD_RUSTFLAGS`, then
//! the `.cargo/config.toml` files from the package's folder up to `/`, then
//! `$CARGO_HOME/config.toml`). This is the one place the driver reads files and the
//! environment: what Cargo would read, to pass it on unchanged.
//!
//! `--tests` leaves doctests out: rustdoc builds them without the instrumentation on stable.
//! A member whose documentation holds a runnable example is reported as such instead.

use crate::verify::test_module;
use std::path::{Path, PathBuf};
use testsmith_driver::{
    CommandOutput, CoveragePlan, CoverageTarget, ProfileFormat, VerifyCommand, VerifyStep,
};

/// The flag that instruments a crate for source-based coverage.
const INSTRUMENT: [&str; 2] = ["-C", "instrument-coverage"];

/// Build the instrumented tests once, run them all once.
pub(crate) fn plan(target: &CoverageTarget) -> CoveragePlan {
    let profile = target.work_dir.join("baseline");
    let build = command(
        target,
        VerifyStep::Build,
        &[
            "test",
            "--tests",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ],
        None,
    );
    let baseline = command(
        target,
        VerifyStep::Run,
        &["test", "--tests", "--no-fail-fast"],
        Some(&profile),
    );
    CoveragePlan {
        files: Vec::new(),
        build: vec![build],
        baseline,
        profile,
        format: ProfileFormat::Llvm,
        side_files: vec![lock_file(&target.root)],
    }
}

/// Where Cargo writes the lock file of the package at `root` when it is missing: beside the
/// manifest of its workspace (the nearest one above that has a `[workspace]` table), else
/// beside its own.
fn lock_file(root: &Path) -> PathBuf {
    let workspace = root.ancestors().find(|dir| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .is_some_and(|manifest| manifest.contains_key("workspace"))
    });
    workspace.unwrap_or(root).join("Cargo.lock")
}

/// Runs only the test at `test_path` (`a::b_tests::test_x`), its profiles into `profile`.
pub(crate) fn test_run(target: &CoverageTarget, test_path: &str, profile: &Path) -> VerifyCommand {
    command(
        target,
        VerifyStep::Run,
        &["test", "--tests", "--", "--exact", test_path],
        Some(profile),
    )
}

/// The path libtest knows the test `name` of `test_file` by, or `None` for a test written
/// inside the source file (its module is not known from the paths).
pub(crate) fn test_path(source_file: &Path, test_file: &Path, name: &str) -> Option<String> {
    let module = test_module(source_file, test_file)?;
    Some(if module.is_empty() {
        name.to_owned()
    } else {
        format!("{module}::{name}")
    })
}

/// A `cargo` command in the package's folder with the instrumented build's flags and
/// target folder; `profile`, if given, is the folder the processes write their profiles to.
fn command(
    target: &CoverageTarget,
    step: VerifyStep,
    args: &[&str],
    profile: Option<&Path>,
) -> VerifyCommand {
    let mut flags = user_rustflags(&target.root, |name| std::env::var(name).ok());
    flags.extend(INSTRUMENT.map(str::to_owned));
    let mut env = vec![
        ("CARGO_TERM_COLOR".to_owned(), "never".to_owned()),
        ("RUST_BACKTRACE".to_owned(), "0".to_owned()),
        ("CARGO_ENCODED_RUSTFLAGS".to_owned(), flags.join("\x1f")),
        (
            "CARGO_TARGET_DIR".to_owned(),
            target.build_cache.display().to_string(),
        ),
    ];
    if let Some(profile) = profile {
        env.push((
            "LLVM_PROFILE_FILE".to_owned(),
            profile.join("%p-%m.profraw").display().to_string(),
        ));
    }
    // `--tests` stands for the package's tests as `verify::test_targets` selects them.
    let targets = crate::verify::test_targets(&target.marker_text);
    VerifyCommand {
        step,
        program: "cargo".to_owned(),
        args: args
            .iter()
            .flat_map(|arg| match *arg {
                "--tests" => targets.clone(),
                other => vec![other.to_owned()],
            })
            .collect(),
        dir: target.root.clone(),
        env,
    }
}

/// The test executables Cargo's JSON messages name (`cargo test --no-run`).
pub(crate) fn objects(build_outputs: &[CommandOutput]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for line in build_outputs
        .iter()
        .flat_map(|output| output.stdout.lines())
    {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        if let Some(executable) = message["executable"].as_str() {
            let path = PathBuf::from(executable);
            if !found.contains(&path) {
                found.push(path);
            }
        }
    }
    found
}

/// The rustflags Cargo would use for a build in `root` without testsmith, read from the
/// environment (`var`) and the configuration files.
fn user_rustflags(root: &Path, var: impl Fn(&str) -> Option<String>) -> Vec<String> {
    if let Some(encoded) = var("CARGO_ENCODED_RUSTFLAGS") {
        return encoded
            .split('\x1f')
            .filter(|flag| !flag.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Some(flags) = var("RUSTFLAGS") {
        return split_flags(&flags);
    }
    let configs = config_files(root, &var);
    let host_table = configs
        .iter()
        .flat_map(|config| config.get("target").and_then(toml::Value::as_table))
        .flat_map(|targets| targets.keys())
        .find(|triple| is_host_triple(triple))
        .cloned();
    if let Some(triple) = host_table {
        let env_name = format!(
            "CARGO_TARGET_{}_RUSTFLAGS",
            triple.to_uppercase().replace(['-', '.'], "_")
        );
        if let Some(flags) = var(&env_name) {
            return split_flags(&flags);
        }
        let flags = joined(&configs, &["target", &triple, "rustflags"]);
        if !flags.is_empty() {
            return flags;
        }
    }
    if let Some(flags) = var("CARGO_BUILD_RUSTFLAGS") {
        return split_flags(&flags);
    }
    joined(&configs, &["build", "rustflags"])
}

/// Whether a `[target.<key>]` table is for the machine testsmith runs on (`cfg(…)` keys are
/// not evaluated).
fn is_host_triple(key: &str) -> bool {
    let mut parts = key.split('-');
    parts.next() == Some(std::env::consts::ARCH)
        && !key.starts_with("cfg(")
        && parts.any(|part| part == std::env::consts::OS)
}

fn split_flags(flags: &str) -> Vec<String> {
    flags.split_whitespace().map(str::to_owned).collect()
}

/// Cargo's configuration files that apply in `root`, parsed, least precedence first.
fn config_files(root: &Path, var: &impl Fn(&str) -> Option<String>) -> Vec<toml::Table> {
    let mut paths: Vec<PathBuf> = root
        .ancestors()
        .filter_map(|dir| config_in(&dir.join(".cargo")))
        .collect();
    let home = var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cargo")));
    if let Some(home_config) = home.and_then(|home| config_in(&home))
        && !paths.contains(&home_config)
    {
        paths.push(home_config);
    }
    paths.reverse();
    paths
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter_map(|text| text.parse::<toml::Table>().ok())
        .collect()
}

/// `config.toml`, else `config`, in `dir`.
fn config_in(dir: &Path) -> Option<PathBuf> {
    ["config.toml", "config"]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// The flags at `keys` in every configuration, joined as Cargo joins arrays: the more
/// specific file's last. A string value is split at whitespace.
fn joined(configs: &[toml::Table], keys: &[&str]) -> Vec<String> {
    let mut flags = Vec::new();
    for config in configs {
        let mut value = config.get(keys[0]);
        for key in &keys[1..] {
            value = value.and_then(|value| value.get(key));
        }
        match value {
            Some(toml::Value::String(text)) => flags.extend(split_flags(text)),
            Some(toml::Value::Array(items)) => flags.extend(
                items
                    .iter()
                    .filter_map(toml::Value::as_str)
                    .map(str::to_owned),
            ),
            _ => {}
        }
    }
    flags
}

/// Whether a doc comment holds an example rustdoc runs: a code block that is Rust (no
/// language, or `rust`) and not marked `ignore`, `no_run`, `compile_fail` or `text`.
pub(crate) fn runs_doc_example(doc: &str) -> bool {
    let mut in_block = false;
    for line in doc.lines() {
        let line = line.trim_start();
        let Some(info) = line
            .strip_prefix("```")
            .or_else(|| line.strip_prefix("~~~"))
        else {
            continue;
        };
        if in_block {
            in_block = false;
            continue;
        }
        in_block = true;
        let runs = info
            .split([',', ' ', '\t'])
            .map(str::trim)
            .filter(|word| !word.is_empty())
            .all(|word| {
                matches!(
                    word,
                    "rust" | "should_panic" | "edition2015" | "edition2018"
                ) || word.starts_with("edition")
            });
        if runs {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn the_users_rustflags_come_from_the_environment_first() {
        let root = Path::new("/nonexistent");
        let both = lookup(&[
            ("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1fa b"),
            ("RUSTFLAGS", "-D warnings"),
        ]);
        assert_eq!(user_rustflags(root, both), ["--cfg", "a b"]);
        let plain = lookup(&[("RUSTFLAGS", " -D  warnings ")]);
        assert_eq!(user_rustflags(root, plain), ["-D", "warnings"]);
    }

    #[test]
    fn config_files_are_joined_from_the_outermost_to_the_package_and_target_wins() {
        let dir = tempfile::tempdir().unwrap();
        let outer = dir.path();
        let package = outer.join("ws/pkg");
        std::fs::create_dir_all(package.join(".cargo")).unwrap();
        std::fs::create_dir_all(outer.join(".cargo")).unwrap();
        std::fs::write(
            outer.join(".cargo/config.toml"),
            "[build]\nrustflags = \"--cfg outer\"\n",
        )
        .unwrap();
        std::fs::write(
            package.join(".cargo/config.toml"),
            "[build]\nrustflags = [\"--cfg\", \"inner\"]\n",
        )
        .unwrap();
        let no_env = lookup(&[("CARGO_HOME", "/nonexistent")]);
        assert_eq!(
            user_rustflags(&package, no_env),
            ["--cfg", "outer", "--cfg", "inner"]
        );
        let host = format!(
            "{}-unknown-{}-gnu",
            std::env::consts::ARCH,
            std::env::consts::OS
        );
        std::fs::write(
            outer.join(".cargo/config"),
            format!("[target.{host}]\nrustflags = [\"-Ctarget-cpu=native\"]\n"),
        )
        .unwrap();
        std::fs::remove_file(outer.join(".cargo/config.toml")).unwrap();
        let no_env = lookup(&[("CARGO_HOME", "/nonexistent")]);
        assert_eq!(user_rustflags(&package, no_env), ["-Ctarget-cpu=native"]);
    }

    #[test]
    fn the_lock_file_cargo_may_write_is_the_workspaces() {
        let dir = tempfile::tempdir().unwrap();
        let member = dir.path().join("crates/a");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(member.join("Cargo.toml"), "[package]\nname = \"a\"\n").unwrap();
        assert_eq!(lock_file(&member), member.join("Cargo.lock"));
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/a\"]\n",
        )
        .unwrap();
        assert_eq!(lock_file(&member), dir.path().join("Cargo.lock"));
    }

    #[test]
    fn the_instrumentation_is_added_to_the_users_flags_in_a_target_folder_of_our_own() {
        let target = CoverageTarget {
            root: PathBuf::from("/nonexistent/p"),
            marker_text: String::new(),
            package_dir: PathBuf::new(),
            package_name: None,
            has_tests: true,
            work_dir: PathBuf::from("/w"),
            all_packages: false,
            test_timeout_secs: 60,
            build_cache: PathBuf::from("/p/.testsmith/build/coverage"),
        };
        let run = test_run(&target, "a::a_tests::test_x", Path::new("/w/t1"));
        let env: HashMap<&str, &str> = run
            .env
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        assert!(env["CARGO_ENCODED_RUSTFLAGS"].ends_with("-C\x1finstrument-coverage"));
        assert_eq!(env["CARGO_TARGET_DIR"], "/p/.testsmith/build/coverage");
        assert_eq!(env["LLVM_PROFILE_FILE"], "/w/t1/%p-%m.profraw");
        assert_eq!(
            run.args,
            ["test", "--tests", "--", "--exact", "a::a_tests::test_x"]
        );
    }

    #[test]
    fn the_test_binaries_are_read_from_cargos_messages() {
        let stdout = concat!(
            r#"{"reason":"compiler-artifact","executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","executable":"/t/debug/deps/a-1"}"#,
            "\nnot json\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n"
        );
        let output = CommandOutput {
            exit_code: Some(0),
            stdout: stdout.to_owned(),
            stderr: String::new(),
        };
        assert_eq!(objects(&[output]), [PathBuf::from("/t/debug/deps/a-1")]);
    }

    #[test]
    fn a_runnable_doc_example_is_a_rust_block_not_marked_otherwise() {
        assert!(runs_doc_example(
            "Adds.\n\n```\nassert_eq!(add(1, 2), 3);\n```"
        ));
        assert!(runs_doc_example("```rust,should_panic\nboom();\n```"));
        assert!(!runs_doc_example("```ignore\nx\n```\n```text\nout\n```"));
        assert!(!runs_doc_example("```no_run\nserve();\n```"));
        assert!(!runs_doc_example("No example here."));
        // The closing fence of a skipped block is not the opening of a runnable one.
        assert!(!runs_doc_example("```text\na\n```\nmore"));
    }
}
