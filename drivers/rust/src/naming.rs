//! Where a source file's tests go and what each test is called.
//!
//! Tests of `src/a/b.rs` go to the sibling `src/a/b_tests.rs`, a child module of `b`
//! declared by `#[cfg(test)] #[path = "b_tests.rs"] mod b_tests;` at the end of `b.rs`. A
//! `#[path]` on a module declared at file level resolves against the declaring file's own
//! folder, for `mod.rs`, `lib.rs` and `b.rs` files alike (checked with cargo).
//!
//! One exception: a crate root that Cargo discovers by its place — `src/bin/x.rs`,
//! `examples/x.rs` — cannot have a sibling, because Cargo would take `x_tests.rs` for one
//! more binary or example (and fail to build it). Its tests go one folder down,
//! `src/bin/x/x_tests.rs`, where Cargo looks only for a `main.rs`.
//!
//! A test is named `test_<name>`, or `test_<owner>_<name>` for a method, in snake case
//! (`Point::new` → `test_point_new`, `HTTPServer::run` → `test_http_server_run`); a member
//! of an inline module has the module path below its file in front (`wrap::wrap` →
//! `test_wrap_wrap`). Raw identifiers lose their `r#`.

use std::path::{Component, Path, PathBuf};
use testsmith_driver::{FileMembers, Member, MemberKind};

/// The test file of the source file at `source`; `None` for a file that is not `.rs`.
pub(crate) fn test_file_for(source: &Path) -> Option<PathBuf> {
    let stem = source
        .file_name()?
        .to_str()?
        .strip_suffix(".rs")
        .filter(|stem| !stem.is_empty())?;
    let test_file = format!("{stem}_tests.rs");
    let folder = source.parent().unwrap_or(Path::new(""));
    if is_discovered_target_folder(folder) {
        Some(folder.join(stem).join(test_file))
    } else {
        Some(folder.join(test_file))
    }
}

/// Whether Cargo takes every `.rs` file directly in `folder` for a target of its own:
/// `src/bin` and `examples`.
fn is_discovered_target_folder(folder: &Path) -> bool {
    let names: Vec<&str> = folder
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => name.to_str(),
            _ => None,
        })
        .collect();
    matches!(names.as_slice(), [.., "src", "bin"] | [.., "examples"])
}

/// What `#[path = ".."]` must say in `source` to reach `test_file`: the test file relative to
/// the source's folder, with `/` as Rust wants on every platform.
pub(crate) fn path_attribute(source: &Path, test_file: &Path) -> String {
    let folder = source.parent().unwrap_or(Path::new(""));
    let relative = test_file.strip_prefix(folder).unwrap_or(test_file);
    relative
        .components()
        .filter_map(|component| component.as_os_str().to_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// The module name a test file is declared under: its file stem (`b_tests`).
pub(crate) fn test_module_name(test_file: &Path) -> Option<&str> {
    test_file.file_stem()?.to_str()
}

/// The conventional test name of `member` of `file` (see the module documentation).
pub(crate) fn test_name(file: &FileMembers, member: &Member) -> String {
    let mut parts: Vec<String> = module_below_file(file, member)
        .map(|module| module.split("::").map(snake_case).collect())
        .unwrap_or_default();
    if let (MemberKind::Method, Some(owner)) = (member.kind, &member.owner) {
        parts.push(snake_case(owner));
    }
    parts.push(snake_case(&member.name));
    parts.retain(|part| !part.is_empty());
    format!("test_{}", parts.join("_"))
}

/// The path of the inline module `member` sits in, below its file's module (`wrap`, or
/// `outer::inner`); `None` for a member at file level. When the member's module does not
/// start with the file's (which the driver never produces), the path below the crate.
pub(crate) fn module_below_file<'m>(file: &FileMembers, member: &'m Member) -> Option<&'m str> {
    let module = member.module.as_deref()?;
    let below = file
        .module
        .as_deref()
        .and_then(|file_module| module.strip_prefix(file_module))
        .and_then(|rest| rest.strip_prefix("::"))
        .or_else(|| module.strip_prefix("crate::"))
        .unwrap_or(module);
    (!below.is_empty()).then_some(below)
}

/// `name` in snake case, without a raw identifier's `r#`: `HTTPServer` → `http_server`,
/// `Vec2D` → `vec2_d`, `r#type` → `type`. Characters that cannot be in an identifier become
/// `_`; underscores already there are kept.
pub(crate) fn snake_case(name: &str) -> String {
    let name = name.strip_prefix("r#").unwrap_or(name);
    let chars: Vec<char> = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    let mut snake = String::with_capacity(name.len() + 4);
    for (index, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let previous = index.checked_sub(1).map(|i| chars[i]);
            let next = chars.get(index + 1).copied();
            let starts_word = match previous {
                None | Some('_') => false,
                Some(previous) => {
                    previous.is_lowercase()
                        || previous.is_numeric()
                        || (previous.is_uppercase() && next.is_some_and(char::is_lowercase))
                }
            };
            if starts_word {
                snake.push('_');
            }
            snake.extend(c.to_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(module: &str) -> FileMembers {
        let mut file = FileMembers::new("src/a.rs", "rust");
        file.module = Some(module.to_owned());
        file
    }

    fn member(kind: MemberKind, name: &str, owner: Option<&str>, module: Option<&str>) -> Member {
        Member {
            kind,
            module: module.map(str::to_owned),
            ..testsmith_driver::testing::member(name, owner)
        }
    }

    #[test]
    fn a_source_file_gets_a_sibling_test_file() {
        let test_file = |path: &str| test_file_for(Path::new(path)).unwrap();
        assert_eq!(test_file("src/a/b.rs"), Path::new("src/a/b_tests.rs"));
        assert_eq!(test_file("src/lib.rs"), Path::new("src/lib_tests.rs"));
        assert_eq!(test_file("src/a/mod.rs"), Path::new("src/a/mod_tests.rs"));
        assert_eq!(test_file("src/main.rs"), Path::new("src/main_tests.rs"));
        assert_eq!(test_file("lib.rs"), Path::new("lib_tests.rs"));
    }

    #[test]
    fn binaries_and_examples_cargo_discovers_get_their_tests_one_folder_down() {
        let test_file = |path: &str| test_file_for(Path::new(path)).unwrap();
        assert_eq!(
            test_file("src/bin/tool.rs"),
            Path::new("src/bin/tool/tool_tests.rs")
        );
        assert_eq!(
            test_file("examples/demo.rs"),
            Path::new("examples/demo/demo_tests.rs")
        );
        assert_eq!(
            test_file("src/bin/tool/main.rs"),
            Path::new("src/bin/tool/main_tests.rs")
        );
        assert_eq!(test_file("src/bin.rs"), Path::new("src/bin_tests.rs"));
    }

    #[test]
    fn a_file_that_is_not_rust_has_no_test_file() {
        assert_eq!(test_file_for(Path::new("src/a.go")), None);
        assert_eq!(test_file_for(Path::new(".rs")), None);
    }

    #[test]
    fn the_path_attribute_is_relative_to_the_source_folder() {
        let attribute = |source: &str| {
            let source = Path::new(source);
            path_attribute(source, &test_file_for(source).unwrap())
        };
        assert_eq!(attribute("src/a/b.rs"), "b_tests.rs");
        assert_eq!(attribute("src/bin/tool.rs"), "tool/tool_tests.rs");
        assert_eq!(attribute("lib.rs"), "lib_tests.rs");
    }

    #[test]
    fn functions_and_methods_are_named_in_snake_case() {
        let file = file("crate");
        let name = |m: Member| test_name(&file, &m);
        assert_eq!(
            name(member(MemberKind::Function, "largest", None, None)),
            "test_largest"
        );
        assert_eq!(
            name(member(MemberKind::Method, "new", Some("Point"), None)),
            "test_point_new"
        );
        assert_eq!(
            name(member(MemberKind::Method, "run", Some("HTTPServer"), None)),
            "test_http_server_run"
        );
    }

    #[test]
    fn members_of_inline_modules_carry_the_module_path_below_their_file() {
        let file = file("crate::text");
        let wrap = member(
            MemberKind::Function,
            "wrap",
            None,
            Some("crate::text::wrap"),
        );
        assert_eq!(test_name(&file, &wrap), "test_wrap_wrap");
        let deep = member(
            MemberKind::Method,
            "go",
            Some("Car"),
            Some("crate::text::a::b"),
        );
        assert_eq!(test_name(&file, &deep), "test_a_b_car_go");
    }

    #[test]
    fn raw_identifiers_lose_their_prefix() {
        let file = file("crate");
        let raw = member(
            MemberKind::Method,
            "r#type",
            Some("r#Match"),
            Some("crate::r#mod"),
        );
        assert_eq!(test_name(&file, &raw), "test_mod_match_type");
    }

    #[test]
    fn snake_case_splits_words_acronyms_and_digits() {
        assert_eq!(snake_case("Point"), "point");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("XMLHttpRequest"), "xml_http_request");
        assert_eq!(snake_case("Vec2D"), "vec2_d");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(snake_case("Ärger"), "ärger");
        assert_eq!(snake_case("IO_Error"), "io_error");
    }
}
