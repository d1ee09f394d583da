//! The pipeline every front door (`analyze`, `generate`, `watch`) runs: scan files into
//! members, plan the work, generate, assemble, write.

mod scan;

pub use scan::{ScanOutcome, scan_file};
