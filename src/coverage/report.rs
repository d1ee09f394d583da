//! What a coverage run found, as data: per package, per public member and in total,
//! statements executed / total, and the members no test executes. Printed by
//! `src/output/coverage.rs`, serialised as is for `--format json`.

use super::members::{LineRange, extent, member_tally, missed_lines};
use super::package::{CoveragePackage, CoverageSource};
use super::profile::{Profile, Tally};
use crate::output::PathNote;
use serde::Serialize;
use std::path::PathBuf;
use testsmith_driver::Member;

/// The whole run.
#[derive(Debug, Default, Serialize)]
pub struct CoverageReport {
    pub packages: Vec<PackageReport>,
    /// Packages or files that could not be measured, with the reason.
    pub failed: Vec<PathNote>,
    /// Packages of a language whose coverage testsmith does not measure.
    pub skipped: Vec<PathNote>,
    /// Over every package measured.
    pub total: Tally,
    pub percent: f64,
    /// Members no test executes, over every package.
    pub untested: usize,
}

/// `statements`, `regions`, or both where the packages count differently.
pub fn unit_of<'r>(units: impl IntoIterator<Item = &'r str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for unit in units {
        if !seen.contains(&unit) {
            seen.push(unit);
        }
    }
    if seen.is_empty() {
        "statements".to_owned()
    } else {
        seen.join("/")
    }
}

/// One package.
#[derive(Debug, Serialize)]
pub struct PackageReport {
    pub language: String,
    /// The package's folder, as the user named it.
    pub package: PathBuf,
    /// What the figures count: `statements` (Go), `regions` (Rust: LLVM's code regions).
    pub unit: &'static str,
    /// Every statement of the package's files the toolchain instrumented.
    pub total: Tally,
    pub percent: f64,
    /// Whether some existing test failed in the baseline run (what ran still counts).
    pub tests_failed: bool,
    /// Public functions and methods, in file and line order.
    pub members: Vec<MemberReport>,
}

/// How much of a member the tests execute.
#[derive(Debug, Serialize)]
pub struct MemberReport {
    /// As `analyze` names it (`Type.Method` in Go, `Type::method` in Rust).
    pub member: String,
    pub file: PathBuf,
    pub line: usize,
    pub executed: u64,
    pub total: u64,
    pub percent: f64,
    pub status: MemberStatus,
    /// Lines holding statements no test executes.
    pub missed_lines: Vec<LineRange>,
}

/// A member's coverage in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Every statement executed.
    Covered,
    /// Some statements executed, some not.
    Partly,
    /// None of its statements executed: no test executes it.
    Untested,
    /// The profile holds no statement of it: empty, or not built on this platform.
    NoStatements,
    /// No measured test executes it, but its documentation holds an example the toolchain
    /// runs as a test (a Rust doctest), which coverage cannot measure.
    Doctest,
}

impl MemberStatus {
    pub fn of(tally: Tally) -> Self {
        match tally {
            Tally { total: 0, .. } => MemberStatus::NoStatements,
            Tally { executed: 0, .. } => MemberStatus::Untested,
            Tally { executed, total } if executed == total => MemberStatus::Covered,
            _ => MemberStatus::Partly,
        }
    }
}

/// The report of `package`, measured into `profile`.
pub fn package_report(
    package: &CoveragePackage,
    profile: &Profile,
    tests_failed: bool,
) -> PackageReport {
    let total = package.tally(profile);
    let members = package
        .sources
        .iter()
        .flat_map(|source| {
            source
                .members
                .members
                .iter()
                .filter(|member| member.kind.is_callable())
                .map(move |member| member_report(package, source, member, profile))
        })
        .collect();
    PackageReport {
        language: package.driver.name().to_owned(),
        package: package.shown_dir.clone(),
        unit: package.driver.coverage_unit(),
        total,
        percent: round(total.percent()),
        tests_failed,
        members,
    }
}

/// How much of `member` of `source` the runs in `profile` executed.
pub fn member_report(
    package: &CoveragePackage,
    source: &CoverageSource,
    member: &Member,
    profile: &Profile,
) -> MemberReport {
    let span = extent(&source.text, &member.byte_range);
    let tally = member_tally(profile, &source.rel, span);
    let mut status = MemberStatus::of(tally);
    if status == MemberStatus::Untested && package.driver.runs_doc_example(member) {
        status = MemberStatus::Doctest;
    }
    MemberReport {
        member: package.driver.display_name_in(&source.members, member),
        file: source.shown.clone(),
        line: member.start_line,
        executed: tally.executed,
        total: tally.total,
        percent: round(tally.percent()),
        status,
        missed_lines: missed_lines(profile, &source.rel, &source.text, span),
    }
}

impl CoverageReport {
    /// Adds a package's report to the totals.
    pub fn push(&mut self, package: PackageReport) {
        self.total.add(package.total);
        self.percent = round(self.total.percent());
        self.untested += package
            .members
            .iter()
            .filter(|member| member.status == MemberStatus::Untested)
            .count();
        self.packages.push(package);
    }
}

/// One decimal, as the toolchains print it.
fn round(percent: f64) -> f64 {
    (percent * 10.0).round() / 10.0
}
