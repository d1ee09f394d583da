//! `--dry-run`: the change a run would make, as a unified diff.

use similar::TextDiff;
use std::path::Path;

/// A unified diff from `old` (`None`: the file does not exist) to `new`, with `a/` and `b/`
/// headers as git prints them.
pub fn unified_diff(path: &Path, old: Option<&str>, new: &str) -> String {
    let old_header = match old {
        Some(_) => format!("a/{}", path.display()),
        None => "/dev/null".to_owned(),
    };
    TextDiff::from_lines(old.unwrap_or(""), new)
        .unified_diff()
        .context_radius(3)
        .header(&old_header, &format!("b/{}", path.display()))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_diffs_against_dev_null() {
        let diff = unified_diff(Path::new("a_test.go"), None, "package a\n");
        assert_eq!(
            diff,
            "--- /dev/null\n+++ b/a_test.go\n@@ -0,0 +1 @@\n+package a\n"
        );
    }

    #[test]
    fn an_appended_test_shows_only_the_new_lines_and_context() {
        let diff = unified_diff(Path::new("a.rs"), Some("a\nb\n"), "a\nb\nc\n");
        assert_eq!(
            diff,
            "--- a/a.rs\n+++ b/a.rs\n@@ -1,2 +1,3 @@\n a\n b\n+c\n"
        );
    }
}
