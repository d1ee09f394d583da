//! Measuring what a Go package's tests execute, the way `go test -cover` does, but with the
//! test binary built once: `go test -c -cover -covermode=set`, then the binary run once for
//! all tests (the baseline) and once per test with `-test.run '^TestX$'`.
//!
//! A package without test files gets an empty one through `-overlay` (nothing is written into
//! the package), so its statements are counted, none of them executed.
//!
//! Profiles are Go's text format — `mode: set`, then `import/path/file.go:L.C,L.C stmts count`
//! per block, in no particular order — read into blocks with files relative to the module.

use crate::verify::module_path;
use std::path::{Path, PathBuf};
use testsmith_driver::{
    CoverBlock, CoveragePlan, CoverageTarget, ProfileFormat, Span, VerifyCommand, VerifyStep,
};

/// The name of the empty test file a package without tests is given through `-overlay`.
const EMPTY_TEST_FILE: &str = "testsmith_coverage_test.go";

/// Build the instrumented test binary, run it once with every test.
pub(crate) fn plan(target: &CoverageTarget) -> Option<CoveragePlan> {
    let package_name = target.package_name.as_deref()?;
    let binary = binary_path(target);
    let profile = target.work_dir.join("baseline.cover");
    let mut files = Vec::new();
    let mut build_args: Vec<String> = ["test", "-c", "-cover", "-covermode=set", "-vet=off"]
        .map(str::to_owned)
        .to_vec();
    if target.all_packages {
        build_args.push("-coverpkg=./...".to_owned());
    }
    if !target.has_tests {
        let empty_test = target.work_dir.join(EMPTY_TEST_FILE);
        let overlay = target.work_dir.join("overlay.json");
        let in_package = target.root.join(&target.package_dir).join(EMPTY_TEST_FILE);
        let replace = serde_json::json!({ "Replace": { in_package.to_string_lossy(): empty_test.to_string_lossy() } });
        files.push((empty_test, format!("package {package_name}\n")));
        files.push((overlay.clone(), replace.to_string()));
        build_args.push(format!("-overlay={}", overlay.display()));
    }
    build_args.push("-o".to_owned());
    build_args.push(binary.display().to_string());
    build_args.push(package_pattern(&target.package_dir));
    let build = VerifyCommand {
        step: VerifyStep::Build,
        program: "go".to_owned(),
        args: build_args,
        dir: target.root.clone(),
        env: crate::gopath::env(&target.root),
    };
    let baseline = binary_run(target, None, &profile);
    Some(CoveragePlan {
        files,
        build: vec![build],
        baseline,
        profile,
        format: ProfileFormat::Text,
        side_files: Vec::new(),
    })
}

/// Runs the binary [`plan`] built with only `test_name`, writing its profile to `profile`.
pub(crate) fn test_run(target: &CoverageTarget, test_name: &str, profile: &Path) -> VerifyCommand {
    binary_run(target, Some(test_name), profile)
}

fn binary_path(target: &CoverageTarget) -> PathBuf {
    target.work_dir.join("package.test")
}

/// The test binary run as `go test` runs it: in the package's folder, with a time limit.
fn binary_run(target: &CoverageTarget, test_name: Option<&str>, profile: &Path) -> VerifyCommand {
    let mut args = vec![
        format!("-test.coverprofile={}", profile.display()),
        "-test.count=1".to_owned(),
        "-test.paniconexit0".to_owned(),
        format!("-test.timeout={}s", target.test_timeout_secs.max(1)),
    ];
    if let Some(name) = test_name {
        args.push("-test.run".to_owned());
        args.push(format!("^{}$", regex_quote(name)));
    }
    VerifyCommand {
        step: VerifyStep::Run,
        program: binary_path(target).display().to_string(),
        args,
        dir: target.root.join(&target.package_dir),
        env: Vec::new(),
    }
}

/// A Go identifier needs no quoting, but a subtest path (`TestA/case_1`) may hold anything.
fn regex_quote(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len());
    for c in name.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted
}

/// `./a/b` for a folder below the module root, `.` for the root itself.
fn package_pattern(folder: &Path) -> String {
    if folder.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        format!("./{}", folder.display())
    }
}

/// The blocks of a Go cover profile, files relative to the module root when they lie in it.
pub(crate) fn read_profile(
    target: &CoverageTarget,
    profile: &str,
) -> Result<Vec<CoverBlock>, String> {
    let module = module_path(&target.marker_text).unwrap_or("");
    let mut lines = profile.lines().enumerate();
    match lines.next() {
        Some((_, first)) if first.starts_with("mode: ") => {}
        _ => return Err("not a Go cover profile: it does not start with `mode:`".to_owned()),
    }
    let mut blocks = Vec::new();
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let block = parse_block(line, module)
            .ok_or_else(|| format!("cover profile line {}: cannot read `{line}`", index + 1))?;
        blocks.push(block);
    }
    Ok(blocks)
}

/// `example.com/m/a/a.go:3.24,4.11 1 1`.
fn parse_block(line: &str, module: &str) -> Option<CoverBlock> {
    let colon = line.rfind(':')?;
    let (name, rest) = (&line[..colon], &line[colon + 1..]);
    let mut fields = rest.split_whitespace();
    let (range, statements, hits) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    let (start, end) = range.split_once(',')?;
    let (start_line, start_col) = line_col(start)?;
    let (end_line, end_col) = line_col(end)?;
    Some(CoverBlock {
        file: relative_to_module(name, module),
        span: Span {
            start_line,
            start_col,
            end_line,
            end_col,
        },
        statements: statements.parse().ok()?,
        hits: hits.parse().ok()?,
    })
}

fn line_col(text: &str) -> Option<(u32, u32)> {
    let (line, col) = text.split_once('.')?;
    Some((line.parse().ok()?, col.parse().ok()?))
}

fn relative_to_module(name: &str, module: &str) -> PathBuf {
    match name
        .strip_prefix(module)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(rest) if !module.is_empty() => PathBuf::from(rest),
        _ => PathBuf::from(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(has_tests: bool) -> CoverageTarget {
        CoverageTarget {
            root: PathBuf::from("/p"),
            marker_text: "module example.com/m\n\ngo 1.19\n".to_owned(),
            package_dir: PathBuf::from("a/b"),
            package_name: Some("b".to_owned()),
            has_tests,
            work_dir: PathBuf::from("/w"),
            all_packages: false,
            test_timeout_secs: 60,
            build_cache: PathBuf::from("/c"),
        }
    }

    #[test]
    fn the_profile_is_read_into_blocks_relative_to_the_module() {
        let profile = "mode: set\nexample.com/m/a/b/b.go:3.24,4.11 1 1\n\
                       example.com/m/a/b/b.go:7.2,7.10 2 0\nother.org/x/x.go:1.1,1.2 1 1\n";
        let blocks = read_profile(&target(true), profile).unwrap();
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[0].file, PathBuf::from("a/b/b.go"));
        assert_eq!(
            blocks[0].span,
            Span {
                start_line: 3,
                start_col: 24,
                end_line: 4,
                end_col: 11
            }
        );
        assert_eq!((blocks[1].statements, blocks[1].hits), (2, 0));
        assert_eq!(blocks[2].file, PathBuf::from("other.org/x/x.go"));
    }

    #[test]
    fn a_broken_profile_line_is_named() {
        let error = read_profile(&target(true), "mode: set\nx.go:1.1 1 1\n").unwrap_err();
        assert_eq!(error, "cover profile line 2: cannot read `x.go:1.1 1 1`");
        assert!(read_profile(&target(true), "x.go:1.1,1.2 1 1\n").is_err());
    }

    #[test]
    fn a_package_without_tests_is_given_an_empty_test_file_through_an_overlay() {
        let plan = plan(&target(false)).unwrap();
        assert_eq!(plan.files[0].1, "package b\n");
        assert!(
            plan.files[1]
                .1
                .contains("/p/a/b/testsmith_coverage_test.go")
        );
        assert!(
            plan.build[0]
                .args
                .contains(&"-overlay=/w/overlay.json".to_owned())
        );
        assert_eq!(plan.build[0].args.last().unwrap(), "./a/b");
        let with_tests = super::plan(&target(true)).unwrap();
        assert!(with_tests.files.is_empty());
        assert!(
            !with_tests.build[0]
                .args
                .iter()
                .any(|arg| arg.starts_with("-overlay"))
        );
    }

    #[test]
    fn one_test_runs_alone_in_the_package_folder() {
        let command = test_run(&target(true), "TestA/case.1", Path::new("/w/t.cover"));
        assert_eq!(command.dir, PathBuf::from("/p/a/b"));
        assert_eq!(command.program, "/w/package.test");
        assert!(command.args.contains(&"^TestA/case\\.1$".to_owned()));
        assert!(
            command
                .args
                .contains(&"-test.coverprofile=/w/t.cover".to_owned())
        );
    }
}
