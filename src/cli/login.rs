//! (being written)

use anyhow::{Result, bail};
use clap::Args;
use std::process::ExitCode;

/// (being written)
#[derive(Args, Debug)]
pub struct LoginArgs {}

/// (being written)
#[derive(Args, Debug)]
pub struct LogoutArgs {}

/// (being written)
pub fn run_login(_args: LoginArgs) -> Result<ExitCode> {
    bail!("not built yet")
}

/// (being written)
pub fn run_logout(_args: LogoutArgs) -> Result<ExitCode> {
    bail!("not built yet")
}
