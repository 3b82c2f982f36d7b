//! (being written)

use anyhow::{Result, bail};
use clap::Args;
use std::process::ExitCode;

/// (being written)
#[derive(Args, Debug)]
pub struct S3mArgs {}

/// (being written)
pub fn run(_args: S3mArgs) -> Result<ExitCode> {
    bail!("not built yet")
}
