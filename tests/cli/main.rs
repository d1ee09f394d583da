//! Integration tests of the `testsmith` binary: one test binary, a module per command.

mod analyze;
mod changed;
mod coverage;
mod coverage_rust;
mod crash;
mod fake_llm;
mod generate;
mod go_toolchain;
mod llm;
mod llm_real;
mod llm_stream;
mod merges;
mod mutants;
mod partition;
mod prompt;
mod realcode;
mod rust_toolchain;
mod sandbox;
mod shared_state;
mod signals;
mod state_db;
mod suite_guard;
#[path = "../../src/store/test_server.rs"]
mod test_server;
mod util;
mod verify;
mod watch;
