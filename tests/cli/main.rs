//! Integration tests of the `testsmith` binary: one test binary, a module per command.

mod analyze;
mod generate;
mod util;
