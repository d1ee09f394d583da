//! The pipeline every front door (`analyze`, `generate`, `watch`) runs: scan files into
//! members, plan the work per package, produce tests (templates or a model), merge, write.

mod diff;
mod package;
mod plan;
mod scan;
mod template;
mod write;

pub use diff::unified_diff;
pub use package::{
    FileTexts, Package, PreparedFile, Produced, WriteSettings, finish_file, folder_of, prepare_file,
};
pub use plan::ScaffoldPolicy;
pub use scan::{
    ScanOutcome, ScanProblem, group_into_packages, scan_file, scan_into_packages, scan_package,
};
pub use template::scaffold_all;
pub use write::{ContentHash, WriteJournal, WriteScope, content_hash, write_atomically};
