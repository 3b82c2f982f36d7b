//! `tokenwarden hook install|uninstall`: the git pre-commit hook.

use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokenwarden::text::printable;

#[derive(Subcommand)]
pub(crate) enum HookCommand {
    /// Write .git/hooks/pre-commit (an existing foreign hook needs --force and is kept aside).
    Install {
        /// A path inside the repository.
        #[arg(default_value = ".")]
        repo: PathBuf,
        /// Replace a hook tokenwarden did not write (it is kept as pre-commit.tokenwarden-backup).
        #[arg(long)]
        force: bool,
    },
    /// Remove tokenwarden's pre-commit hook (restoring a kept one).
    Uninstall {
        /// A path inside the repository.
        #[arg(default_value = ".")]
        repo: PathBuf,
    },
}

pub(crate) fn hook_install(repo: &Path, force: bool) -> Result<ExitCode> {
    // The hook pins an absolute path (git may run it with a different PATH): the installed
    // binary when there is one on PATH, since a build directory's binary goes with `cargo clean`.
    let running = std::env::current_exe().context("cannot find the tokenwarden binary")?;
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("tokenwarden"))
            .find(|c| c.is_absolute() && c.is_file())
    });
    let exe = on_path.clone().unwrap_or_else(|| running.clone());
    let hook = tokenwarden::hook::install(repo, &exe, force)?;
    outln!(
        "installed {}: it runs {} scan --staged",
        printable(&hook.display().to_string()),
        printable(&exe.display().to_string())
    );
    if on_path.is_none() {
        eprintln!(
            "tokenwarden: warning: tokenwarden is not on PATH, so the hook runs this build's \
             binary, which `cargo clean` removes; install it (`cargo install --locked --path .`) \
             and run `tokenwarden hook install` again"
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn hook_uninstall(repo: &Path) -> Result<ExitCode> {
    match tokenwarden::hook::uninstall(repo)? {
        Some(hook) => outln!("removed {}", hook.display()),
        None => outln!("no tokenwarden pre-commit hook to remove"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `tokenwarden hook …`.
pub(crate) fn run(cmd: HookCommand) -> Result<ExitCode> {
    match cmd {
        HookCommand::Install { repo, force } => hook_install(&repo, force),
        HookCommand::Uninstall { repo } => hook_uninstall(&repo),
    }
}
