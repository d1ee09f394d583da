//! Coverage decides which members get a test: `generate --coverage` plans by what the
//! existing tests execute, not by test names. A member whose statements the tests all
//! execute is tested whatever its tests are called; one none of whose statements run gets a
//! scaffold; one partly executed is reported with the lines no test executes, not
//! scaffolded (a scaffold would not reach them any better than the tests there).

use super::members::LineRange;
use super::report::{CoverageReport, MemberStatus};
use crate::pipeline::{Decision, MemberPlan};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What coverage says about one member.
#[derive(Debug, Clone)]
pub struct MemberVerdict {
    pub status: MemberStatus,
    pub executed: u64,
    pub total: u64,
    /// What the counts count (`statements`, `regions`).
    pub unit: &'static str,
    pub missed_lines: Vec<LineRange>,
}

/// Every measured member's verdict, by source file (as walked) and declaration line.
#[derive(Debug, Default)]
pub struct Verdicts {
    members: HashMap<(PathBuf, usize), MemberVerdict>,
}

impl Verdicts {
    pub fn from_report(report: &CoverageReport) -> Self {
        let members = report
            .packages
            .iter()
            .flat_map(|package| package.members.iter().map(|member| (package.unit, member)))
            .map(|(unit, member)| {
                (
                    (member.file.clone(), member.line),
                    MemberVerdict {
                        status: member.status,
                        executed: member.executed,
                        total: member.total,
                        unit,
                        missed_lines: member.missed_lines.clone(),
                    },
                )
            })
            .collect();
        Verdicts { members }
    }

    /// The verdict on the member declared at `line` of `file`, if it was measured.
    pub fn get(&self, file: &Path, line: usize) -> Option<&MemberVerdict> {
        self.members.get(&(file.to_owned(), line))
    }

    /// Re-decides `plans` (of the source `file`) by coverage, for scaffolds or, with
    /// `for_model`, for a model's tests. Members coverage knows nothing about (a package
    /// that could not be measured, a member without statements) keep the decision their
    /// test names gave.
    pub fn decide(&self, file: &Path, plans: &mut [MemberPlan], for_model: bool) {
        for plan in plans {
            let Some(verdict) = self.get(file, plan.member.start_line) else {
                continue;
            };
            let decision = if for_model {
                for_a_model(verdict, &plan.test_name, &plan.decision)
            } else {
                by_coverage(verdict, &plan.test_name, &plan.decision)
            };
            if let Some(decision) = decision {
                plan.decision = decision;
            }
            plan.missed_lines = verdict
                .missed_lines
                .iter()
                .map(|range| (range.first as usize, range.last as usize))
                .collect();
        }
    }
}

/// With `--llm`, every member with statements no test executes is a target: a partly
/// covered one too, its prompt aimed at the lines still missed.
fn for_a_model(verdict: &MemberVerdict, test_name: &str, named: &Decision) -> Option<Decision> {
    match (verdict.status, named) {
        (MemberStatus::Partly, Decision::Write | Decision::Replace { .. }) => None,
        (MemberStatus::Partly, Decision::AlreadyTested) => Some(Decision::Skip(format!(
            "partly covered: no test executes {}, but {test_name} exists: extend it",
            describe_lines(&verdict.missed_lines)
        ))),
        _ => by_coverage(verdict, test_name, named),
    }
}

/// The decision coverage makes, or `None` to keep `named` (the one by test name).
fn by_coverage(verdict: &MemberVerdict, test_name: &str, named: &Decision) -> Option<Decision> {
    if matches!(named, Decision::Skip(_)) {
        return None;
    }
    match verdict.status {
        MemberStatus::NoStatements => None,
        MemberStatus::Covered => Some(Decision::AlreadyTested),
        MemberStatus::Partly => Some(Decision::Skip(format!(
            "partly covered: the tests execute {} of its {} {}; no test executes {}",
            verdict.executed,
            verdict.total,
            verdict.unit,
            describe_lines(&verdict.missed_lines)
        ))),
        // Its doc example may well run all of it: not a gap coverage can show.
        MemberStatus::Doctest => match named {
            Decision::AlreadyTested => None,
            _ => Some(Decision::Skip(
                "only its doc example runs it, and doctests are not measured".to_owned(),
            )),
        },
        MemberStatus::Untested => match named {
            // An unedited scaffold of ours stands in the test's place: regenerate it as
            // planned; a test of the member's name the user wrote that executes nothing of
            // it is theirs to fix.
            Decision::Write | Decision::Replace { .. } => None,
            Decision::AlreadyTested => Some(Decision::Skip(format!(
                "no test executes it, but {test_name} exists: fill it in"
            ))),
            Decision::Skip(_) => None,
        },
    }
}

/// `line 7`, `lines 7-9 and 12`.
pub fn describe_lines(ranges: &[LineRange]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|range| {
            if range.first == range.last {
                range.first.to_string()
            } else {
                format!("{}-{}", range.first, range.last)
            }
        })
        .collect();
    let single = ranges.len() == 1 && ranges[0].first == ranges[0].last;
    let word = if single { "line" } else { "lines" };
    match parts.split_last() {
        None => "no line".to_owned(),
        Some((last, [])) => format!("{word} {last}"),
        Some((last, rest)) => format!("{word} {} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(status: MemberStatus) -> MemberVerdict {
        MemberVerdict {
            status,
            executed: 2,
            total: 3,
            unit: "statements",
            missed_lines: vec![LineRange { first: 7, last: 7 }],
        }
    }

    #[test]
    fn covered_members_are_tested_whatever_their_tests_are_called() {
        let decision = by_coverage(&verdict(MemberStatus::Covered), "TestA", &Decision::Write);
        assert_eq!(decision, Some(Decision::AlreadyTested));
    }

    #[test]
    fn a_partly_covered_member_is_reported_with_the_lines_no_test_executes() {
        let decision = by_coverage(&verdict(MemberStatus::Partly), "TestA", &Decision::Write);
        assert_eq!(
            decision,
            Some(Decision::Skip(
                "partly covered: the tests execute 2 of its 3 statements; no test executes line 7"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn an_untested_member_gets_a_test_unless_a_test_of_its_name_is_there() {
        let untested = verdict(MemberStatus::Untested);
        assert_eq!(by_coverage(&untested, "TestA", &Decision::Write), None);
        assert_eq!(
            by_coverage(&untested, "TestA", &Decision::AlreadyTested),
            Some(Decision::Skip(
                "no test executes it, but TestA exists: fill it in".to_owned()
            ))
        );
    }

    #[test]
    fn lines_read_as_a_person_would_write_them() {
        let range = |first, last| LineRange { first, last };
        assert_eq!(describe_lines(&[range(7, 7)]), "line 7");
        assert_eq!(
            describe_lines(&[range(7, 9), range(12, 12)]),
            "lines 7-9 and 12"
        );
        assert_eq!(
            describe_lines(&[range(1, 1), range(3, 3), range(5, 6)]),
            "lines 1, 3 and 5-6"
        );
    }
}
