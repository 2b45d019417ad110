//! What the binary's tests share: running `ferrite` and reading what it printed.

use std::process::{Command, Output};

/// Runs the `ferrite` binary under test with `args`.
pub fn ferrite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(args)
        .output()
        .expect("ferrite runs")
}

/// Printed bytes as text.
#[allow(dead_code)] // Not every test file reads the output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
