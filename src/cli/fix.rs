//! `tokenwarden fix gitignore`: what the hygiene checks report, fixed.

use anyhow::Result;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokenwarden::text::printable;

#[derive(Subcommand)]
pub(crate) enum FixCommand {
    /// Append to the repository's root .gitignore what keeps .env files and the credential
    /// files present out of git (idempotent; keeps the file's line endings).
    Gitignore {
        /// A path inside the work tree.
        #[arg(default_value = ".")]
        repo: PathBuf,
        /// Print what would be added; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub(crate) fn fix_gitignore(repo: &Path, dry_run: bool) -> Result<ExitCode> {
    let outcome = tokenwarden::hygiene::gitignore::fix_gitignore(repo, dry_run)?;
    let file = printable(&outcome.gitignore.display().to_string());
    if outcome.added.is_empty() {
        outln!("{file}: nothing to add; .env and the credential files present are ignored");
    } else {
        let verb = if dry_run { "would add" } else { "added" };
        outln!("{file}: {verb}:");
        for e in &outcome.added {
            outln!("  {}", printable(e));
        }
    }
    for t in &outcome.still_tracked {
        outln!(
            "still tracked (ignoring does not untrack it): git rm --cached -- '{}', then rotate its credentials",
            printable(t)
        );
    }
    for t in &outcome.not_ignored_after {
        eprintln!(
            "tokenwarden: warning: {} is still not ignored: a nested .gitignore re-includes it",
            printable(t)
        );
    }
    Ok(if outcome.not_ignored_after.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `tokenwarden fix …`.
pub(crate) fn run(cmd: FixCommand) -> Result<ExitCode> {
    match cmd {
        FixCommand::Gitignore { repo, dry_run } => fix_gitignore(&repo, dry_run),
    }
}
