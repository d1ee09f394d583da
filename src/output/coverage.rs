//! `coverage` output: a table per package (member, place, statements executed / total,
//! percent, and what no test executes), the total, and `--fail-under`'s verdict; or the
//! report as one JSON document.

use super::{Printer, plural};
use crate::cli::Format;
use crate::coverage::CoverageReport;
use crate::coverage::report::{MemberStatus, PackageReport, unit_of};
use crate::errors::AppError;
use std::fmt::Write as _;

/// Prints `report`: problems on stderr, the report on stdout.
pub fn print(
    report: &CoverageReport,
    format: Format,
    fail_under: Option<f64>,
    printer: &mut Printer,
) -> Result<(), AppError> {
    for failed in &report.failed {
        printer.file_error(&failed.path, &failed.reason);
    }
    for skipped in &report.skipped {
        printer.warning(&skipped.path, &skipped.reason);
    }
    for package in report
        .packages
        .iter()
        .filter(|package| package.tests_failed)
    {
        printer.warning(
            &package.package,
            "some tests failed; what they executed still counts",
        );
    }
    match format {
        Format::Json => {
            let json = serde_json::to_string(report).expect("the report serialises");
            printer.out(&json)?;
            printer.out("\n")?;
        }
        Format::Text => printer.out(&text(report))?,
    }
    printer.flush()?;
    if let Some(threshold) = fail_under.filter(|threshold| report.percent < *threshold) {
        printer.note(&format!(
            "coverage {:.1}% is below --fail-under {threshold}%",
            report.percent
        ));
    }
    Ok(())
}

fn text(report: &CoverageReport) -> String {
    let mut out = String::new();
    for package in &report.packages {
        package_text(package, &mut out);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "total: {}/{} {} executed ({:.1}%) in {}; {} no test executes",
        report.total.executed,
        report.total.total,
        unit_of(report.packages.iter().map(|package| package.unit)),
        report.percent,
        plural(report.packages.len(), "package", "packages"),
        plural(report.untested, "member", "members"),
    );
    out
}

fn package_text(package: &PackageReport, out: &mut String) {
    let _ = writeln!(
        out,
        "{} ({})  {}/{} {}  {:.1}%",
        package.package.display(),
        package.language,
        package.total.executed,
        package.total.total,
        package.unit,
        package.percent
    );
    let places: Vec<String> = package
        .members
        .iter()
        .map(|member| format!("{}:{}", member.file.display(), member.line))
        .collect();
    let counts: Vec<String> = package
        .members
        .iter()
        .map(|member| format!("{}/{}", member.executed, member.total))
        .collect();
    let width = |items: &mut dyn Iterator<Item = usize>| items.max().unwrap_or(0);
    let name_width = width(&mut package.members.iter().map(|m| m.member.chars().count()));
    let place_width = width(&mut places.iter().map(|p| p.chars().count()));
    let count_width = width(&mut counts.iter().map(String::len));
    for ((member, place), count) in package.members.iter().zip(&places).zip(&counts) {
        let note = match member.status {
            MemberStatus::Untested => "  no test executes it",
            MemberStatus::NoStatements => "  nothing to execute",
            MemberStatus::Doctest => "  only its doc example runs it (doctests are not measured)",
            MemberStatus::Covered | MemberStatus::Partly => "",
        };
        let line = format!(
            "  {:<name_width$}  {:<place_width$}  {:>count_width$}  {:>5.1}%{note}",
            member.member, place, count, member.percent
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
