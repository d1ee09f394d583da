//! Mutation testing: small deliberate bugs (mutants) made by the drivers' mutators, each
//! built and tested in a sandbox that never touches the user's tree, classified as caught,
//! missed, timeout or unviable, and reported per function with the mutants that survive.
//!
//! [`plan::projects`] finds the mutants, [`lab::run_project`] tests one project's,
//! [`report::MutantsReport`] sums them up.

mod coverage;
pub mod journal;
pub mod lab;
pub mod plan;
pub mod report;
pub mod sandbox;
pub mod targets;

pub(crate) use coverage::executed_at;
pub use lab::{Budget, LabEvent, LabOptions, MutantOutcome, Trial, run_project};
pub use plan::projects;
pub use report::MutantsReport;
