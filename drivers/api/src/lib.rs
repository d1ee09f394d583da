//! The contract between testsmith and a language: the [`Driver`] trait and the model it fills.
//!
//! A driver knows one language and nothing else. It is handed a path and the file's text and
//! answers with plain data; it never reads files, talks to the network or prints. Everything a
//! language decides — which files it claims, which folders never hold code, which items are
//! public — is answered here, so the application never matches on a language name.
//!
//! Adding a language means one crate implementing [`Driver`] and one line in the registry.

mod model;
pub mod syntax;

pub use model::{FileMembers, Member, MemberKind, Param, Signature, SyntaxIssue};

use std::path::Path;

/// One programming language, as testsmith sees it.
///
/// Only [`name`](Driver::name), [`extensions`](Driver::extensions) and
/// [`analyze`](Driver::analyze) are required; the rest have defaults that suit a language with
/// no special files or folders.
pub trait Driver: Send + Sync + std::fmt::Debug {
    /// The short lowercase name used on the command line (`--lang go`) and in output.
    fn name(&self) -> &'static str;

    /// The file name endings this driver claims, without the dot (`["go"]`).
    fn extensions(&self) -> &'static [&'static str];

    /// Folder names that hold no code of the project's own when walking a tree (`vendor`,
    /// `target`, ...). A folder named explicitly by the user is analysed regardless.
    fn ignored_dirs(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether `path`, a file this driver claims, holds tests rather than code under test.
    /// Test files are not analysed for members.
    fn is_test_file(&self, path: &Path) -> bool {
        let _ = path;
        false
    }

    /// Extracts the public members of one source file. `path` is the file's path as the user
    /// named it (used to derive a module path, never opened); `source` is its whole text.
    ///
    /// Never fails: a file with syntax errors is analysed as far as the parser recovers and
    /// the errors are reported in [`FileMembers::errors`].
    fn analyze(&self, path: &Path, source: &str) -> FileMembers;

    /// How a member is named in text output: `(*Parser).Parse` in Go, `Parser::parse` in
    /// Rust. The default joins owner and name with `::`.
    fn display_name(&self, member: &Member) -> String {
        match &member.owner {
            Some(owner) => format!("{owner}::{}", member.name),
            None => member.name.clone(),
        }
    }

    /// Whether this driver claims `path`, judged by its extension alone.
    fn claims(&self, path: &Path) -> bool {
        path.extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| self.extensions().contains(&ext))
    }
}
