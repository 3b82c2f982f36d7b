//! (being written)

use anyhow::{Result, bail};
use clap::Args;
use std::process::ExitCode;

/// (being written)
#[derive(Args, Debug)]
pub struct IriArgs {}

/// (being written)
pub fn run(_args: IriArgs) -> Result<ExitCode> {
    bail!("not built yet")
}
