//! `--partition hash:I/N` and `testsmith report merge`: N CI runners, each on its own
//! checkout, split a project's packages between them, and their reports join into the one a
//! single run gives.

use crate::util::Project;
use std::collections::HashMap;

/// The example project (a Go package, a Rust crate with a nested module) and six more Go
/// packages: nine packages to share out.
fn checkout() -> Project {
    let project = Project::new();
    project.copy_fixture("example", ".");
    for p in 0..6 {
        project.write(
            &format!("go/more/p{p}/p{p}.go"),
            format!(
                "package p{p}\n\n// Add{p} adds.\nfunc Add{p}(a, b int) int {{ return a + b }}\n\n\
                 // Neg{p} negates.\nfunc Neg{p}(a int) int {{ return -a }}\n"
            ),
        );
    }
    project
}

fn folder(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(folder, _)| folder)
}

#[test]
fn three_partitions_cover_every_package_once_and_merge_into_the_whole_run() {
    let whole_run = checkout()
        .testsmith(&["generate", "--format", "json"])
        .run()
        .success();
    let whole = whole_run.json();
    let every_package: std::collections::BTreeSet<&str> = whole["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| folder(file["path"].as_str().unwrap()))
        .collect();
    assert_eq!(every_package.len(), 9, "{every_package:?}");

    let reports = Project::new();
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut report_paths = Vec::new();
    for share in 1..=3 {
        let runner = checkout();
        let partition = format!("hash:{share}/3");
        let run = runner
            .testsmith(&["generate", "--format", "json", "--partition", &partition])
            .run()
            .success();
        for file in run.json()["files"].as_array().unwrap() {
            let package = folder(file["path"].as_str().unwrap()).to_owned();
            let first = *owner.entry(package.clone()).or_insert(share);
            assert_eq!(first, share, "{package} is in shares {first} and {share}");
            // The runner wrote that package's tests and no other.
            assert!(runner.exists(file["test_file"].as_str().unwrap()));
        }
        for package in &every_package {
            if owner.get(*package) != Some(&share) {
                let untouched = checkout();
                assert_eq!(
                    std::fs::read_dir(runner.path(package)).unwrap().count(),
                    std::fs::read_dir(untouched.path(package)).unwrap().count(),
                    "share {share} wrote into {package}, which is not its own"
                );
            }
        }
        let path = format!("share-{share}.json");
        reports.write(&path, &run.stdout);
        report_paths.push(reports.path(&path).display().to_string());
    }
    let covered: std::collections::BTreeSet<&str> = owner.keys().map(String::as_str).collect();
    assert_eq!(covered, every_package, "some package is in no share");
    assert!(
        (1..=3).all(|share| owner.values().any(|&s| s == share)),
        "a share got nothing: {owner:?}"
    );

    let mut args = vec!["report", "merge"];
    args.extend(report_paths.iter().map(String::as_str));
    let merged = reports.testsmith(&args).run().success();
    assert_eq!(merged.json(), whole);
    assert_eq!(
        merged.stdout, whole_run.stdout,
        "not byte for byte the whole run's report"
    );
}

#[test]
fn a_bad_partition_or_report_is_a_usage_error_that_says_why() {
    let project = checkout();
    let run = project
        .testsmith(&["generate", "--partition", "hash:4/3"])
        .run()
        .code(2);
    assert!(run.stderr.contains("between 1 and N"), "{}", run.stderr);
    project.write("a.json", "{\"summary\": {\"dry_run\": true}}");
    project.write("b.json", "{\"summary\": {\"dry_run\": false}}");
    project.write("c.json", "not json");
    let run = project
        .testsmith(&["report", "merge", "a.json", "b.json"])
        .run()
        .code(2);
    assert!(run.stderr.contains("summary.dry_run"), "{}", run.stderr);
    let run = project
        .testsmith(&["report", "merge", "a.json", "c.json"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("c.json: not a JSON report"),
        "{}",
        run.stderr
    );
}

#[test]
fn completions_are_printed_for_each_shell() {
    let project = Project::new();
    for (shell, marker) in [
        ("bash", "_testsmith()"),
        ("zsh", "#compdef testsmith"),
        ("fish", "complete -c testsmith"),
    ] {
        let run = project.testsmith(&["completions", shell]).run().success();
        assert!(
            run.stdout.contains(marker),
            "{shell}: {}",
            &run.stdout[..run.stdout.len().min(300)]
        );
        assert!(
            run.stdout.contains("partition"),
            "{shell} completes no --partition"
        );
    }
}
