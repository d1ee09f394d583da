//! `--changed-since REF`: what a pull request changed. The lines added or edited since the
//! merge base of `REF` and `HEAD` — committed, staged or not yet (`git diff <merge-base>`
//! against the working tree), and every line of a new untracked file — so the work can be
//! limited to the functions and methods whose lines the diff touches.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::Command;
use testsmith_driver::{FileMembers, MemberKind};

/// Lines changed since a git reference, by file (canonical path).
#[derive(Debug, Default)]
pub struct ChangedLines {
    files: HashMap<PathBuf, Vec<RangeInclusive<usize>>>,
}

/// Why the changes could not be read: the message says what git said.
#[derive(Debug, thiserror::Error)]
#[error("--changed-since {reference}: {reason}")]
pub struct ChangesError {
    reference: String,
    reason: String,
}

impl ChangedLines {
    /// The changes since the merge base of `reference` and `HEAD`, in the repository holding
    /// `dir`.
    pub fn since(reference: &str, dir: &Path) -> Result<ChangedLines, ChangesError> {
        let fail = |reason: String| ChangesError {
            reference: reference.to_owned(),
            reason,
        };
        let top = git(dir, &["rev-parse", "--show-toplevel"]).map_err(fail)?;
        let top = PathBuf::from(top.trim());
        let base = git(dir, &["merge-base", reference, "HEAD"]).map_err(fail)?;
        let diff = git(
            &top,
            &[
                "diff",
                "--unified=0",
                "--no-color",
                "--no-ext-diff",
                "--no-renames",
                base.trim(),
                "--",
            ],
        )
        .map_err(fail)?;
        let mut changes = ChangedLines::default();
        for (path, ranges) in parse_diff(&diff) {
            changes.add(&top.join(path), ranges);
        }
        let untracked =
            git(&top, &["ls-files", "--others", "--exclude-standard", "-z"]).map_err(fail)?;
        for path in untracked.split('\0').filter(|path| !path.is_empty()) {
            changes.add(&top.join(path), vec![1..=usize::MAX]);
        }
        Ok(changes)
    }

    fn add(&mut self, path: &Path, ranges: Vec<RangeInclusive<usize>>) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
        self.files.entry(path).or_default().extend(ranges);
    }

    fn ranges_of(&self, path: &Path) -> Option<&Vec<RangeInclusive<usize>>> {
        let path = path.canonicalize().ok()?;
        self.files.get(&path)
    }

    /// Whether any file in `folder` (a package) changed.
    pub fn touches_folder(&self, folder: &Path) -> bool {
        let Ok(folder) = folder.canonicalize() else {
            return false;
        };
        self.files
            .keys()
            .any(|path| path.parent() == Some(folder.as_path()))
    }

    /// Keeps the functions and methods of `file` whose lines the changes touch; types stay,
    /// as context for the scaffolds and prompts of the functions that remain.
    pub fn keep_changed_members(&self, file: &mut FileMembers) {
        let ranges = self.ranges_of(&file.path);
        file.members.retain(|member| {
            let callable = matches!(member.kind, MemberKind::Function | MemberKind::Method);
            !callable
                || ranges.is_some_and(|ranges| {
                    ranges.iter().any(|changed| {
                        *changed.start() <= member.end_line && member.start_line <= *changed.end()
                    })
                })
        });
    }
}

/// Runs git in `dir`; its stdout, or its stderr as the error.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|error| format!("cannot run git: {error}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    String::from_utf8(output.stdout).map_err(|_| "git printed a path that is not UTF-8".to_owned())
}

/// The new-side line ranges of each file in a `--unified=0` diff. A hunk that only removes
/// lines touches the lines on both sides of the gap it leaves.
fn parse_diff(diff: &str) -> Vec<(String, Vec<RangeInclusive<usize>>)> {
    let mut files: Vec<(String, Vec<RangeInclusive<usize>>)> = Vec::new();
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            // `+++ /dev/null` is a deleted file: nothing of it is left to test.
            let path = path.strip_prefix("b/").unwrap_or(path);
            files.push((path.to_owned(), Vec::new()));
        } else if let Some(hunk) = line.strip_prefix("@@ ") {
            let Some(new_side) = hunk.split_whitespace().find(|part| part.starts_with('+')) else {
                continue;
            };
            let mut numbers = new_side[1..].splitn(2, ',');
            let start: usize = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let count: usize = numbers
                .next()
                .map_or(Some(1), |n| n.parse().ok())
                .unwrap_or(1);
            let range = if count == 0 {
                start.max(1)..=start + 1
            } else {
                start..=start + count - 1
            };
            if let Some((_, ranges)) = files.last_mut() {
                ranges.push(range);
            }
        }
    }
    files.retain(|(path, _)| path != "/dev/null");
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_become_new_side_line_ranges() {
        let diff = "\
diff --git a/a.go b/a.go
--- a/a.go
+++ b/a.go
@@ -3 +3 @@ func A() {
-\treturn 1
+\treturn 2
@@ -10,0 +11,4 @@ func B() {
+func C() {
+}
@@ -20,2 +24,0 @@
-x
-y
diff --git a/gone.go b/gone.go
--- a/gone.go
+++ /dev/null
@@ -1,3 +0,0 @@
";
        assert_eq!(
            parse_diff(diff),
            [("a.go".to_owned(), vec![3..=3, 11..=14, 24..=25])]
        );
    }
}
