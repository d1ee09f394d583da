//! `testsmith analyze`: list the public members of every file, as text or one JSON document.

use crate::cli::AnalyzeArgs;
use crate::errors::{AppError, Outcome};
use crate::output::{AnalyzeReport, Printer};
use crate::pipeline::{ScanOutcome, scan_file};
use crate::walk::{Found, walk};
use rayon::prelude::*;

/// Files are scanned in parallel in chunks of this many and printed in path order after each
/// chunk: output stays deterministic and memory stays flat on any tree size.
const CHUNK: usize = 512;

pub fn run(args: &AnalyzeArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let drivers = super::selected_drivers(args.input.lang);
    let roots = args.input.roots();
    let found = walk(&roots, &drivers);
    if found.is_empty() {
        return Err(AppError::NothingToDo { paths: roots });
    }

    let mut report = AnalyzeReport::new(args.format, printer);
    report.begin()?;
    for chunk in found.chunks(CHUNK) {
        let outcomes: Vec<ScanOutcome> = chunk
            .par_iter()
            .map(|found| match found {
                Found::File { path, driver, .. } => scan_file(path, *driver),
                Found::Problem { path, message } => ScanOutcome::Failed {
                    path: path.clone(),
                    error: message.clone(),
                },
            })
            .collect();
        for outcome in outcomes {
            report.file(outcome)?;
        }
    }
    let summary = report.finish()?;
    Ok(summary.outcome())
}
