//! The pipeline every front door (`analyze`, `generate`, `watch`) runs: select a share of the
//! packages, scan files into members, plan the work per package, produce tests (templates or
//! a model), merge, write.

mod changes;
mod diff;
mod fixed_lines;
mod package;
mod plan;
mod scan;
mod select;
mod template;
mod write;

pub use changes::{ChangedLines, ChangesError};
pub use diff::unified_diff;
pub use fixed_lines::FixedLines;
pub use package::{
    FileTexts, Package, PreparedFile, Produced, WriteSettings, finish_file, folder_of, prepare_file,
};
pub use plan::{Decision, MemberPlan, ScaffoldPolicy};
pub use scan::{
    ScanOutcome, ScanProblem, group_into_packages, scan_file, scan_into_packages, scan_package,
};
pub use select::Partition;
pub use template::scaffold_all;
pub use write::{ContentHash, Replaced, WriteJournal, WriteScope, content_hash, write_atomically};
