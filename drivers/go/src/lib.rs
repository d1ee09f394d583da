//! The Go driver: which Go declarations are public members, as the Go spec defines exported.

use std::path::Path;
use std::sync::LazyLock;
use testsmith_driver::{Driver, FileMembers, syntax};
use tree_sitter::Language;

static GO: LazyLock<Language> = LazyLock::new(|| tree_sitter_go::LANGUAGE.into());

/// Go: `.go` files; `_test.go` files are tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct GoDriver;

impl Driver for GoDriver {
    fn name(&self) -> &'static str {
        "go"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["go"]
    }

    fn ignored_dirs(&self) -> &'static [&'static str] {
        &["vendor", "testdata"]
    }

    fn is_test_file(&self, path: &Path) -> bool {
        path.file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.ends_with("_test.go"))
    }

    fn analyze(&self, path: &Path, source: &str) -> FileMembers {
        let mut file = FileMembers::new(path, self.name());
        let Some(tree) = syntax::parse(&GO, source) else {
            return file;
        };
        file.errors = syntax::syntax_issues(&tree, source);
        file
    }
}
