//! `tokenwarden man`: the manual pages, generated from the clap definitions.

use super::output::print_generated;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use tokenwarden::text::printable;

/// The command as the manual pages describe it: no `help` subcommand (it has no page).
fn man_command(cli: clap::Command) -> clap::Command {
    let mut cmd = cli.disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every manual page (the command's and each subcommand's, as clap_mangen names them) into
/// `dir`, 0644, never through a symlink (see `private_file`).
fn write_man_pages(dir: &Path, cli: clap::Command) -> Result<ExitCode> {
    fn collect(cmd: clap::Command, out: &mut Vec<clap_mangen::Man>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            collect(sub, out);
        }
        out.push(clap_mangen::Man::new(cmd));
    }
    let mut pages = Vec::new();
    collect(man_command(cli), &mut pages);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for page in &pages {
        let mut buf = Vec::new();
        page.render(&mut buf)?;
        let path = dir.join(page.get_filename());
        tokenwarden::private_file::write(&path, &buf)
            .with_context(|| format!("cannot write {}", path.display()))?;
        // Readable by all, as manual pages are; only a file this wrote (not a device the
        // path may be).
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        }
    }
    outln!(
        "wrote {} manual pages to {}",
        pages.len(),
        printable(&dir.display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// `tokenwarden man`: the main page on stdout, or every page into `out_dir`.
pub(crate) fn run(out_dir: Option<&Path>, cli: clap::Command) -> Result<ExitCode> {
    match out_dir {
        Some(dir) => write_man_pages(dir, cli),
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(man_command(cli)).render(&mut buf)?;
            print_generated(&buf)
        }
    }
}

/// `tokenwarden completions SHELL`.
pub(crate) fn completions(shell: clap_complete::Shell, mut cli: clap::Command) -> Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cli, "tokenwarden", &mut buf);
    print_generated(&buf)
}
