//! The pipeline every front door (`analyze`, `generate`, `watch`) runs: scan files into
//! members, plan the work, generate, assemble, write.

mod diff;
mod plan;
mod scan;
mod write;

pub use diff::unified_diff;
pub use plan::{Decision, ExistingTests, MemberPlan, ScaffoldPolicy, plan_file};
pub use scan::{ScanOutcome, decode_source, scan_file};
pub use write::{WriteError, WriteScope, write_atomically};
