//! What a Rust file's path alone says about it: its module path and whether it holds tests.
//!
//! The driver does no I/O, so neither rule may look at `Cargo.toml` or at the `mod`
//! declarations that really decide a file's module; both read the conventional Cargo layout
//! off the path instead:
//!
//! - Below the last `src` folder, the path is the module path: `src/lib.rs` and `src/main.rs`
//!   are `crate`, `src/a/mod.rs` is `crate::a`, `src/a/b.rs` is `crate::a::b`.
//! - `src/bin/x.rs` and `src/bin/x/main.rs` are binaries, each its own crate root (`crate`);
//!   the other files of a multi-file binary are modules below it (`src/bin/x/util.rs` is
//!   `crate::util`).
//! - A file outside any `src` folder (`build.rs`, `examples/demo.rs`, a lone file named on the
//!   command line) is taken as its own crate root: `crate`. Guessing more from folder names
//!   above it would go wrong as soon as the user's own folders carry names like `examples`.
//! - Test files are testsmith's own `_tests.rs` siblings and whatever sits in a `tests` or
//!   `benches` folder: Cargo's integration tests and benchmarks (`tests/cli.rs`,
//!   `tests/common/mod.rs`, `benches/parse.rs`), and the `src/tests/` folders crates keep
//!   their `#[cfg(test)] mod tests;` in. A crate kept inside such a folder (a `src` folder
//!   below it, `tests/fixtures/demo/src/lib.rs`) is code again.
//!
//! Only the last `src` folder counts, so a project kept in `~/src/project` is read right,
//! except for its files outside `src/` (`build.rs`, `examples/`), whose module path then
//! starts with the folders below `~/src`: without reading `Cargo.toml` nothing tells the
//! project's own `src` from one above it.

use std::path::{Component, Path};

/// The module path of the file at `path`, by the rules in this module's documentation.
pub(crate) fn module_path(path: &Path) -> String {
    let components = normal_components(path);
    let Some((file, folders)) = components.split_last() else {
        return "crate".to_owned();
    };
    let Some(src) = folders.iter().rposition(|folder| *folder == "src") else {
        return "crate".to_owned();
    };
    let mut below_root = &folders[src + 1..];
    let mut is_crate_root = matches!(*file, "lib.rs" | "main.rs") && below_root.is_empty();

    if let Some((&"bin", below_bin)) = below_root.split_first() {
        match below_bin.split_first() {
            // `src/bin/x.rs`
            None => is_crate_root = true,
            // `src/bin/x/main.rs` is the root; its siblings are modules below it.
            Some((_binary, below_binary)) => {
                below_root = below_binary;
                is_crate_root = *file == "main.rs" && below_root.is_empty();
            }
        }
    }
    if is_crate_root {
        return "crate".to_owned();
    }

    let mut module = String::from("crate");
    for folder in below_root {
        module.push_str("::");
        module.push_str(folder);
    }
    if *file != "mod.rs" {
        module.push_str("::");
        module.push_str(file.strip_suffix(".rs").unwrap_or(file));
    }
    module
}

/// Whether the file at `path` holds tests rather than code under test.
pub(crate) fn is_test_file(path: &Path) -> bool {
    let components = normal_components(path);
    let Some((file, folders)) = components.split_last() else {
        return false;
    };
    if file.ends_with("_tests.rs") {
        return true;
    }
    // The last `tests` or `benches` folder decides, unless a `src` folder follows it: then
    // the file belongs to a crate kept inside the tests (a fixture crate), not to the tests.
    let Some(tests) = folders
        .iter()
        .rposition(|folder| matches!(*folder, "tests" | "benches"))
    else {
        return false;
    };
    !folders[tests + 1..].contains(&"src")
}

/// Whether the file at `path` belongs to an example (`examples/demo.rs`,
/// `examples/demo/main.rs`): code Cargo builds but no test runs, so its mutants say nothing
/// about the tests (cargo-mutants leaves examples out too). The same rule as for `tests`: a
/// `src` folder after the last `examples` folder makes it a crate of its own.
pub(crate) fn is_example_file(path: &Path) -> bool {
    let components = normal_components(path);
    let Some((_, folders)) = components.split_last() else {
        return false;
    };
    folders
        .iter()
        .rposition(|folder| *folder == "examples")
        .is_some_and(|examples| !folders[examples + 1..].contains(&"src"))
}

/// The named parts of `path` (no root, `.` or `..`), as text; a part that is not UTF-8 cannot
/// be a Rust module name and is replaced, which is harmless here.
fn normal_components(path: &Path) -> Vec<&str> {
    path.components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_str().unwrap_or("\u{fffd}")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module_of(path: &str) -> String {
        module_path(Path::new(path))
    }

    #[test]
    fn lib_and_main_at_the_source_root_are_the_crate_root() {
        assert_eq!(module_of("src/lib.rs"), "crate");
        assert_eq!(module_of("/home/me/project/src/main.rs"), "crate");
    }

    #[test]
    fn a_nested_file_is_named_by_its_folders_and_stem() {
        assert_eq!(module_of("src/a/b.rs"), "crate::a::b");
        assert_eq!(module_of("./crates/x/src/a.rs"), "crate::a");
    }

    #[test]
    fn mod_rs_is_named_by_its_folder() {
        assert_eq!(module_of("src/a/mod.rs"), "crate::a");
        assert_eq!(module_of("src/a/b/mod.rs"), "crate::a::b");
    }

    #[test]
    fn lib_rs_below_the_source_root_is_an_ordinary_module() {
        assert_eq!(module_of("src/a/lib.rs"), "crate::a::lib");
        assert_eq!(module_of("src/a/main.rs"), "crate::a::main");
    }

    #[test]
    fn only_the_last_src_folder_counts() {
        assert_eq!(module_of("src/vendor/x/src/a/b.rs"), "crate::a::b");
    }

    #[test]
    fn a_binary_in_src_bin_is_its_own_crate_root() {
        assert_eq!(module_of("src/bin/tool.rs"), "crate");
        assert_eq!(module_of("src/bin/tool/main.rs"), "crate");
    }

    #[test]
    fn files_of_a_multi_file_binary_are_modules_below_its_root() {
        assert_eq!(module_of("src/bin/tool/util.rs"), "crate::util");
        assert_eq!(module_of("src/bin/tool/net/mod.rs"), "crate::net");
    }

    #[test]
    fn a_file_named_bin_rs_is_an_ordinary_module() {
        assert_eq!(module_of("src/bin.rs"), "crate::bin");
    }

    #[test]
    fn a_file_outside_any_src_folder_is_its_own_crate_root() {
        assert_eq!(module_of("build.rs"), "crate");
        assert_eq!(module_of("examples/demo.rs"), "crate");
        assert_eq!(module_of("/tmp/scratch/a/b.rs"), "crate");
    }

    #[test]
    fn a_file_called_src_is_not_a_source_folder() {
        assert_eq!(module_of("a/src"), "crate");
    }

    #[test]
    fn testsmith_sibling_test_files_are_tests() {
        assert!(is_test_file(Path::new("src/a/b_tests.rs")));
    }

    #[test]
    fn integration_tests_and_benchmarks_are_tests() {
        assert!(is_test_file(Path::new("tests/cli.rs")));
        assert!(is_test_file(Path::new("crates/x/tests/common/mod.rs")));
        assert!(is_test_file(Path::new("benches/parse.rs")));
    }

    #[test]
    fn a_tests_folder_inside_src_holds_tests() {
        assert!(is_test_file(Path::new("src/tests/helpers.rs")));
    }

    #[test]
    fn a_tests_module_file_is_code() {
        assert!(!is_test_file(Path::new("src/tests.rs")));
    }

    #[test]
    fn folders_above_the_project_do_not_hide_its_tests() {
        assert!(is_test_file(Path::new("/home/me/src/project/tests/cli.rs")));
    }

    #[test]
    fn a_crate_inside_a_tests_folder_is_code() {
        assert!(!is_test_file(Path::new("tests/fixtures/demo/src/lib.rs")));
    }

    #[test]
    fn examples_are_told_apart_from_crates_kept_in_an_examples_folder() {
        assert!(is_example_file(Path::new("examples/demo.rs")));
        assert!(is_example_file(Path::new(
            "/work/crate/examples/demo/main.rs"
        )));
        assert!(!is_example_file(Path::new("examples/demo/src/lib.rs")));
        assert!(!is_example_file(Path::new("src/examples.rs")));
        assert!(!is_example_file(Path::new("src/lib.rs")));
    }

    #[test]
    fn ordinary_sources_are_not_tests() {
        assert!(!is_test_file(Path::new("src/lib.rs")));
        assert!(!is_test_file(Path::new("src/latest.rs")));
        assert!(!is_test_file(Path::new("examples/demo.rs")));
    }
}
