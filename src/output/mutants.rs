//! The report of `testsmith mutants`: per function its counts, score and the mutants its
//! tests miss; the totals; and the progress bar while mutants run.

use super::Printer;
use super::progress::should_draw;
use crate::cli::Format;
use crate::errors::AppError;
use crate::mutants::LabEvent;
use crate::mutants::report::{Counts, MutantsReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;

/// Prints a run's report on stdout (text or one JSON document) and its problems on stderr.
pub fn print_mutants(
    report: &MutantsReport,
    format: Format,
    printer: &mut Printer,
) -> Result<(), AppError> {
    for problem in &report.problems {
        eprintln!("error: {problem}");
    }
    match format {
        Format::Json => print_json(report, printer),
        Format::Text => {
            printer.out(&text(report, printer.is_verbose()))?;
            printer.flush()
        }
    }
}

/// Prints the mutants a run would try, one line each (or the report as JSON).
pub fn print_mutants_list(
    report: &MutantsReport,
    format: Format,
    printer: &mut Printer,
) -> Result<(), AppError> {
    if format == Format::Json {
        return print_json(report, printer);
    }
    let mut out = String::new();
    for mutant in &report.mutants {
        let _ = writeln!(out, "{}", mutant.shown);
    }
    let _ = writeln!(out, "{} mutants", report.summary.counts.mutants);
    printer.out(&out)?;
    printer.flush()
}

fn print_json(report: &MutantsReport, printer: &mut Printer) -> Result<(), AppError> {
    let json = serde_json::to_string(report).expect("the report serialises");
    printer.out(&json)?;
    printer.out("\n")?;
    printer.flush()
}

/// The text report: a block per file, a line per function, its missed mutants below it;
/// `verbose` adds every mutant's outcome.
fn text(report: &MutantsReport, verbose: bool) -> String {
    let mut out = String::new();
    let mut file = None;
    for function in &report.functions {
        if file != Some(&function.file) {
            let _ = writeln!(out, "{}", function.file.display());
            file = Some(&function.file);
        }
        let _ = writeln!(
            out,
            "  {}  :{}  {}",
            function.function,
            function.line,
            counts_line(&function.counts)
        );
        let shown = report.mutants.iter().filter(|mutant| {
            mutant.file == function.file
                && mutant.function == function.function
                && (mutant.outcome == "missed" || verbose)
        });
        for mutant in shown {
            let _ = writeln!(
                out,
                "    {:<8} {}{}",
                mutant.outcome,
                mutant.shown,
                if mutant.unexecuted {
                    "  (no test executes it)"
                } else {
                    ""
                }
            );
        }
    }
    let summary = &report.summary;
    let resumed = summary.counts.mutants - summary.counts.not_run - summary.tested_now;
    let _ = write!(out, "total: {}", counts_line(&summary.counts));
    if resumed > 0 {
        let _ = write!(out, "  ({resumed} from an earlier run)");
    }
    let _ = writeln!(out, "  in {:.1} s", summary.seconds);
    out
}

/// `5 mutants: 3 caught, 1 missed, 1 unviable — score 75.0%`
fn counts_line(counts: &Counts) -> String {
    let mut line = super::plural(counts.mutants, "mutant", "mutants");
    let parts = [
        (counts.caught, "caught"),
        (counts.missed, "missed"),
        (counts.timeout, "timeout"),
        (counts.unviable, "unviable"),
        (counts.not_run, "not run"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, name)| format!("{count} {name}"))
        .collect();
    if !shown.is_empty() {
        line.push_str(": ");
        line.push_str(&shown.join(", "));
    }
    if let Some(score) = counts.score() {
        let _ = write!(line, " — score {score:.1}%");
    }
    line
}

/// Mutants tested out of mutants to test, with the one in progress; drawn only for a person
/// at a terminal.
#[derive(Debug)]
pub struct MutantsProgress {
    bar: Option<ProgressBar>,
}

impl MutantsProgress {
    pub fn new(printer: &Printer, format: Format, total: usize) -> MutantsProgress {
        let draw = should_draw(
            std::io::stderr().is_terminal(),
            std::env::var_os("CI").is_some(),
            printer.is_quiet(),
            format,
        );
        let bar = draw.then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} mutants  {elapsed} (eta {eta})  {wide_msg}",
                )
                .expect("a valid template"),
            );
            bar
        });
        MutantsProgress { bar }
    }

    pub fn event(&self, event: &LabEvent<'_>) {
        let Some(bar) = &self.bar else {
            return;
        };
        match event {
            // Mutants the journal knew, or left out, are done already.
            LabEvent::Settled(count) => bar.inc(*count as u64),
            LabEvent::Baseline(unit) => {
                bar.set_message(format!("baseline: {}", unit.display()));
            }
            LabEvent::Coverage(unit) => {
                bar.set_message(format!("coverage per test: {}", unit.display()));
            }
            LabEvent::Testing(file, mutant) => {
                bar.set_message(mutant.located(&file.shown).to_string());
            }
            LabEvent::Tested => bar.inc(1),
        }
    }

    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
