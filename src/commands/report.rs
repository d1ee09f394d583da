//! `testsmith report merge` and `testsmith completions`: small front doors over JSON reports
//! and the command line itself.

use crate::cli::Cli;
use crate::errors::{AppError, Outcome};
use crate::output::{Printer, merge_reports};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Joins the JSON reports at `paths` (`-` is stdin) and prints the result.
pub fn merge(paths: &[PathBuf], printer: &mut Printer) -> Result<Outcome, AppError> {
    let reports = paths
        .iter()
        .map(|path| read_report(path))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = merge_reports(reports).map_err(|reason| AppError::BadReport {
        path: paths.last().cloned().unwrap_or_default(),
        reason,
    })?;
    printer.out(&format!("{merged}\n"))?;
    printer.flush()?;
    Ok(Outcome::Success)
}

fn read_report(path: &Path) -> Result<serde_json::Value, AppError> {
    let bad = |reason: String| AppError::BadReport {
        path: path.to_owned(),
        reason,
    };
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|error| bad(error.to_string()))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|error| bad(error.to_string()))?
    };
    serde_json::from_str(&text).map_err(|error| bad(format!("not a JSON report: {error}")))
}

/// Prints the completion script for `shell`.
pub fn completions(
    shell: clap_complete::Shell,
    printer: &mut Printer,
) -> Result<Outcome, AppError> {
    use clap::CommandFactory as _;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "testsmith", &mut script);
    printer.out(&String::from_utf8_lossy(&script))?;
    printer.flush()?;
    Ok(Outcome::Success)
}
