//! The progress bar of a `--llm` run: drawn only for a person watching a terminal, never in
//! CI, in a pipe, with `--quiet` or with `--format json`.

use crate::cli::Format;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;

/// Whether to draw a progress bar: a pure function of where the output goes, so it can be
/// tested (nextest's displayer config is the model).
pub fn should_draw(stderr_is_terminal: bool, in_ci: bool, quiet: bool, format: Format) -> bool {
    stderr_is_terminal && !in_ci && !quiet && format == Format::Text
}

/// Files done out of files to do, with the file in progress.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn for_files(printer: &super::Printer, format: Format, files: usize) -> Progress {
        let in_ci = std::env::var_os("CI").is_some();
        let draw = should_draw(
            std::io::stderr().is_terminal(),
            in_ci,
            printer.is_quiet(),
            format,
        );
        let bar = draw.then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} files  {elapsed}  {wide_msg}")
                    .expect("a valid template"),
            );
            bar
        });
        Progress { bar }
    }

    /// No bar at all: for `watch`, whose passes print a status line per file instead.
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    pub fn start(&self, path: &Path) {
        if let Some(bar) = &self.bar {
            bar.set_message(path.display().to_string());
        }
    }

    pub fn finish_one(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_at_a_terminal_gets_a_bar() {
        assert!(should_draw(true, false, false, Format::Text));
    }

    #[test]
    fn ci_pipes_quiet_runs_and_json_get_none() {
        assert!(!should_draw(true, true, false, Format::Text), "CI");
        assert!(!should_draw(false, false, false, Format::Text), "pipe");
        assert!(!should_draw(true, false, true, Format::Text), "quiet");
        assert!(!should_draw(true, false, false, Format::Json), "json");
    }
}
