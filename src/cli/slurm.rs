//! (being written)

use anyhow::{Result, bail};
use clap::Args;
use std::process::ExitCode;

/// (being written)
#[derive(Args, Debug)]
pub struct SlurmArgs {}

/// (being written)
pub fn run(_args: SlurmArgs) -> Result<ExitCode> {
    bail!("not built yet")
}
