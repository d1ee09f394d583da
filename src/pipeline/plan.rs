//! Deciding, member by member, what a run must do: write a new test, regenerate an untouched
//! scaffold, or leave the member alone because it is tested already (or cannot be tested).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use testsmith_driver::{Driver, ExistingTest, FileMembers, Member, marker};

/// Every test found in a source file's test scope, by name.
#[derive(Debug, Default)]
pub struct ExistingTests {
    by_name: HashMap<String, (PathBuf, ExistingTest)>,
}

impl ExistingTests {
    pub fn add(&mut self, path: &Path, tests: Vec<ExistingTest>) {
        for test in tests {
            // The first definition wins; a duplicate name would not compile anyway.
            self.by_name
                .entry(test.name.clone())
                .or_insert_with(|| (path.to_owned(), test));
        }
    }

    fn get(&self, name: &str) -> Option<&(PathBuf, ExistingTest)> {
        self.by_name.get(name)
    }

    /// Whether the test `name` is an unedited scaffold in the file at `path`.
    pub fn unedited_scaffold_in(&self, name: &str, path: &Path) -> bool {
        self.get(name).is_some_and(|(found_in, test)| {
            found_in == path && test.scaffold.as_ref().is_some_and(|mark| mark.is_unedited)
        })
    }

    /// Every test name in the scope.
    pub fn names(&self) -> std::collections::HashSet<String> {
        self.by_name.keys().cloned().collect()
    }
}

/// What to do about one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No test of this name exists: write one.
    Write,
    /// testsmith's own unedited scaffold sits at `range` of the test file: replace it.
    Replace {
        range: Range<usize>,
        why: ReplaceReason,
    },
    /// A test of this name exists; nothing to do.
    AlreadyTested,
    /// The member cannot get a test; the reason says why.
    Skip(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceReason {
    /// The member's signature changed since the scaffold was written.
    SignatureChanged,
    /// A real test is being written (`--llm`) where only a scaffold stood.
    ScaffoldUpgraded,
}

/// One member and what to do about it.
#[derive(Debug, Clone)]
pub struct MemberPlan {
    pub member: Member,
    pub test_name: String,
    pub decision: Decision,
    /// `--coverage --llm`: the member's lines (first, last; 1-based, inclusive) that no
    /// test executes, for the prompt to mark. Empty when unknown or all executed.
    pub missed_lines: Vec<(usize, usize)>,
    /// `--mutants --llm`: the mutants of the member the existing tests miss, in the
    /// prompt's plain words. Empty when unknown or none survive.
    pub surviving_mutants: Vec<String>,
}

/// How eagerly existing scaffolds are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaffoldPolicy {
    /// Template mode: an unedited scaffold is regenerated only when its signature changed.
    RegenerateWhenSignatureChanges,
    /// LLM mode: every unedited scaffold is replaced by a real test.
    ReplaceUnedited,
}

/// Plans every callable member of `file`, whose tests go to `test_path`.
pub fn plan_file(
    driver: &dyn Driver,
    file: &FileMembers,
    test_path: &Path,
    existing: &ExistingTests,
    policy: ScaffoldPolicy,
) -> Vec<MemberPlan> {
    let syntax_error = file.errors.first().map(|issue| {
        format!(
            "the file has syntax errors (first at {}:{}); fix them and run again",
            issue.line, issue.column
        )
    });
    // A file whose members cannot be tested at all: what has a test stays "tested".
    let untestable = driver.cannot_test(file);
    let mut planned_names: HashMap<String, String> = HashMap::new();
    let mut plans = Vec::new();
    for member in file.members.iter().filter(|m| m.kind.is_callable()) {
        let test_name = driver.test_name(file, member);
        let display = driver.display_name_in(file, member);
        let decision = if let Some(reason) = &syntax_error {
            Decision::Skip(reason.clone())
        } else if let Some(first) = planned_names.get(&test_name) {
            Decision::Skip(format!(
                "its test name {test_name} is already used by {first}"
            ))
        } else {
            match (
                decide(member, &test_name, test_path, existing, policy),
                &untestable,
            ) {
                (Decision::AlreadyTested, _) => Decision::AlreadyTested,
                (_, Some(reason)) => Decision::Skip(reason.clone()),
                (decision, None) => match driver.cannot_test_member(file, member) {
                    Some(reason) => Decision::Skip(reason),
                    None => decision,
                },
            }
        };
        planned_names.entry(test_name.clone()).or_insert(display);
        plans.push(MemberPlan {
            member: member.clone(),
            test_name,
            decision,
            missed_lines: Vec::new(),
            surviving_mutants: Vec::new(),
        });
    }
    plans
}

fn decide(
    member: &Member,
    test_name: &str,
    test_path: &Path,
    existing: &ExistingTests,
    policy: ScaffoldPolicy,
) -> Decision {
    let Some((path, test)) = existing.get(test_name) else {
        return Decision::Write;
    };
    let Some(mark) = &test.scaffold else {
        return Decision::AlreadyTested;
    };
    // Only scaffolds in the file this run writes are replaced; and never an edited one.
    if path != test_path || !mark.is_unedited {
        return Decision::AlreadyTested;
    }
    let signature_changed = mark.signature_hash != marker::signature_hash(&member.signature);
    match policy {
        ScaffoldPolicy::ReplaceUnedited => Decision::Replace {
            range: test.byte_range.clone(),
            why: ReplaceReason::ScaffoldUpgraded,
        },
        ScaffoldPolicy::RegenerateWhenSignatureChanges if signature_changed => Decision::Replace {
            range: test.byte_range.clone(),
            why: ReplaceReason::SignatureChanged,
        },
        ScaffoldPolicy::RegenerateWhenSignatureChanges => Decision::AlreadyTested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::MemberKind;
    use testsmith_driver::marker::ScaffoldMark;
    use testsmith_driver_go::GoDriver;

    fn function(name: &str, signature: &str) -> Member {
        Member {
            kind: MemberKind::Function,
            name: name.to_owned(),
            owner: None,
            signature: signature.to_owned(),
            start_line: 1,
            end_line: 1,
            doc: None,
            module: None,
            byte_range: 0..0,
            callable: Some(Default::default()),
        }
    }

    fn file(members: Vec<Member>) -> FileMembers {
        let mut file = FileMembers::new("a.go", "go");
        file.package = Some("a".to_owned());
        file.members = members;
        file
    }

    fn scaffold(name: &str, signature: &str, is_unedited: bool) -> ExistingTest {
        ExistingTest {
            name: name.to_owned(),
            byte_range: 10..20,
            scaffold: Some(ScaffoldMark {
                signature_hash: marker::signature_hash(signature),
                is_unedited,
            }),
        }
    }

    fn decisions(plans: &[MemberPlan]) -> Vec<(&str, &Decision)> {
        plans
            .iter()
            .map(|p| (p.test_name.as_str(), &p.decision))
            .collect()
    }

    const REGENERATE: ScaffoldPolicy = ScaffoldPolicy::RegenerateWhenSignatureChanges;

    #[test]
    fn members_without_a_test_are_written_and_tested_ones_skipped() {
        let file = file(vec![function("A", "func A()"), function("B", "func B()")]);
        let mut existing = ExistingTests::default();
        existing.add(
            Path::new("other_test.go"),
            vec![ExistingTest {
                name: "TestB".to_owned(),
                byte_range: 0..5,
                scaffold: None,
            }],
        );
        let plans = plan_file(
            &GoDriver,
            &file,
            Path::new("a_test.go"),
            &existing,
            REGENERATE,
        );
        assert_eq!(
            decisions(&plans),
            [
                ("TestA", &Decision::Write),
                ("TestB", &Decision::AlreadyTested)
            ]
        );
    }

    #[test]
    fn an_unedited_scaffold_is_regenerated_only_when_the_signature_changed() {
        let file = file(vec![
            function("A", "func A(x int)"),
            function("B", "func B()"),
        ]);
        let mut existing = ExistingTests::default();
        existing.add(
            Path::new("a_test.go"),
            vec![
                scaffold("TestA", "func A()", true),
                scaffold("TestB", "func B()", true),
            ],
        );
        let plans = plan_file(
            &GoDriver,
            &file,
            Path::new("a_test.go"),
            &existing,
            REGENERATE,
        );
        assert_eq!(
            decisions(&plans),
            [
                (
                    "TestA",
                    &Decision::Replace {
                        range: 10..20,
                        why: ReplaceReason::SignatureChanged
                    }
                ),
                ("TestB", &Decision::AlreadyTested)
            ]
        );
    }

    #[test]
    fn an_edited_scaffold_is_never_replaced() {
        let file = file(vec![function("A", "func A(x int)")]);
        let mut existing = ExistingTests::default();
        existing.add(
            Path::new("a_test.go"),
            vec![scaffold("TestA", "func A()", false)],
        );
        for policy in [REGENERATE, ScaffoldPolicy::ReplaceUnedited] {
            let plans = plan_file(&GoDriver, &file, Path::new("a_test.go"), &existing, policy);
            assert_eq!(plans[0].decision, Decision::AlreadyTested);
        }
    }

    #[test]
    fn llm_mode_replaces_every_unedited_scaffold() {
        let file = file(vec![function("A", "func A()")]);
        let mut existing = ExistingTests::default();
        existing.add(
            Path::new("a_test.go"),
            vec![scaffold("TestA", "func A()", true)],
        );
        let plans = plan_file(
            &GoDriver,
            &file,
            Path::new("a_test.go"),
            &existing,
            ScaffoldPolicy::ReplaceUnedited,
        );
        assert!(matches!(
            plans[0].decision,
            Decision::Replace {
                why: ReplaceReason::ScaffoldUpgraded,
                ..
            }
        ));
    }

    #[test]
    fn a_scaffold_in_another_test_file_of_the_package_counts_as_a_test() {
        let file = file(vec![function("A", "func A(x int)")]);
        let mut existing = ExistingTests::default();
        existing.add(
            Path::new("b_test.go"),
            vec![scaffold("TestA", "func A()", true)],
        );
        let plans = plan_file(
            &GoDriver,
            &file,
            Path::new("a_test.go"),
            &existing,
            REGENERATE,
        );
        assert_eq!(plans[0].decision, Decision::AlreadyTested);
    }

    #[test]
    fn a_file_with_syntax_errors_gets_no_tests_and_says_where() {
        let mut file = file(vec![function("A", "func A()")]);
        file.errors.push(testsmith_driver::SyntaxIssue {
            line: 3,
            column: 7,
            message: "syntax error".to_owned(),
        });
        let plans = plan_file(
            &GoDriver,
            &file,
            Path::new("a_test.go"),
            &ExistingTests::default(),
            REGENERATE,
        );
        assert_eq!(
            plans[0].decision,
            Decision::Skip(
                "the file has syntax errors (first at 3:7); fix them and run again".to_owned()
            )
        );
    }

    #[test]
    fn types_are_not_planned() {
        let mut type_member = function("T", "type T struct{}");
        type_member.kind = MemberKind::Struct;
        let file = file(vec![type_member]);
        let plans = plan_file(
            &GoDriver,
            &file,
            Path::new("a_test.go"),
            &ExistingTests::default(),
            REGENERATE,
        );
        assert!(plans.is_empty());
    }
}
