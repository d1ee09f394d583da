//! Integration tests of the `testsmith` binary: one test binary, a module per command.

mod analyze;
mod coverage;
mod crash;
mod fake_llm;
mod generate;
mod go_toolchain;
mod llm;
mod rust_toolchain;
mod sandbox;
mod util;
mod verify;
mod watch;
