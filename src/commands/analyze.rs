//! `testsmith analyze`: list the public members of every file, as text or one JSON document.

use crate::cli::AnalyzeArgs;
use crate::errors::{AppError, Outcome};
use crate::output::{AnalyzeReport, Printer, RenderedFile, render};
use crate::pipeline::{ScanOutcome, scan_file};
use crate::walk::{Found, walk};
use rayon::prelude::*;

/// Files are scanned and rendered in parallel in chunks of this many, and printed in path
/// order while the next chunk is being scanned: output stays deterministic, both cores stay
/// busy, and memory stays flat on any tree size.
const CHUNK: usize = 512;

pub fn run(args: &AnalyzeArgs, printer: &mut Printer) -> Result<Outcome, AppError> {
    let drivers = super::selected_drivers(args.input.lang);
    let roots = args.input.roots();
    let found = walk(&roots, &drivers);
    if found.is_empty() {
        return Err(AppError::NothingToDo { paths: roots });
    }

    let format = args.format;
    let scan_chunk = |chunk: &[Found]| -> Vec<RenderedFile> {
        chunk
            .par_iter()
            .map(|found| {
                let outcome = match found {
                    Found::File { path, driver } => scan_file(path, *driver),
                    Found::Problem { path, message } => ScanOutcome::Failed {
                        path: path.clone(),
                        error: message.clone(),
                    },
                };
                render(outcome, format)
            })
            .collect()
    };

    let mut report = AnalyzeReport::new(format, printer);
    report.begin()?;
    let mut ready: Vec<RenderedFile> = Vec::new();
    for chunk in found.chunks(CHUNK) {
        let (next, printed) = rayon::join(
            || scan_chunk(chunk),
            || print_all(&mut report, std::mem::take(&mut ready)),
        );
        printed?;
        ready = next;
    }
    print_all(&mut report, ready)?;
    let summary = report.finish()?;
    Ok(summary.outcome())
}

fn print_all(report: &mut AnalyzeReport<'_>, files: Vec<RenderedFile>) -> Result<(), AppError> {
    for file in files {
        report.file(file)?;
    }
    Ok(())
}
