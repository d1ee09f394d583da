//! The Rust driver: which Rust items are public members of their crate's API surface.

use std::path::Path;
use std::sync::LazyLock;
use testsmith_driver::{Driver, FileMembers, syntax};
use tree_sitter::Language;

static RUST: LazyLock<Language> = LazyLock::new(|| tree_sitter_rust::LANGUAGE.into());

/// Rust: `.rs` files; testsmith's own `_tests.rs` siblings are tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct RustDriver;

impl Driver for RustDriver {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["rs"]
    }

    fn ignored_dirs(&self) -> &'static [&'static str] {
        &["target"]
    }

    fn is_test_file(&self, path: &Path) -> bool {
        path.file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.ends_with("_tests.rs"))
    }

    fn analyze(&self, path: &Path, source: &str) -> FileMembers {
        let mut file = FileMembers::new(path, self.name());
        let Some(tree) = syntax::parse(&RUST, source) else {
            return file;
        };
        file.errors = syntax::syntax_issues(&tree, source);
        file
    }
}
