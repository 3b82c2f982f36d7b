//! The `tokenwarden` command line: the top-level commands, dispatch and exit codes. Each
//! command lives in its file under `cli/`.
//!
//! Exit codes: 0 nothing at or above `--fail-on`; 1 findings; 2 usage or fatal error.

#[macro_use]
mod cli;

use clap::{Parser, Subcommand};
use cli::baseline::BaselineCommand;
use cli::fix::FixCommand;
use cli::hook::HookCommand;
use cli::rules::RulesCommand;
use std::path::PathBuf;
use std::process::ExitCode;
use tokenwarden::text::printable;

/// An error and its causes on one line, each said once: many errors quote their cause in
/// their own message (`{path}: {source}`), which `{:#}` would then print a second time.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let said = cause.to_string();
        if said.is_empty() || text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

#[derive(Parser)]
#[command(
    name = "tokenwarden",
    version,
    about = "Finds and audits research-computing facility credentials"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan directories or files for facility credentials.
    Scan(Box<cli::scan::ScanArgs>),
    /// List or check the rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Install or remove the git pre-commit hook (runs `scan --staged`).
    #[command(subcommand)]
    Hook(HookCommand),
    /// Fix what the hygiene checks report.
    #[command(subcommand)]
    Fix(FixCommand),
    /// Incident response for repositories (every secret in files and history; --verify which
    /// are alive; --revoke after a plan and a confirmation; --report DIR), or, without paths,
    /// this machine: credentials on live command lines and the token stores in your home.
    Audit(cli::audit::AuditArgs),
    /// OLCF S3M: status, token introspect/revoke, Slurm per resource and enclave, streaming.
    S3m(cli::s3m::S3mArgs),
    /// IRI Facility API (ALCF, NERSC, OLCF): facility, status, account, compute, filesystem.
    Iri(cli::iri::IriArgs),
    /// Log in to a facility through Globus (native app, PKCE) and store the tokens (0600).
    Login(cli::login::LoginArgs),
    /// Revoke and forget the tokens `login` stored.
    Logout(cli::login::LogoutArgs),
    /// Any slurmrestd: ping, jobs, submit, cancel, nodes, partitions (JWT or header-pair auth).
    ///
    /// The token: --token-from SOURCE if given, else `token` under [slurm] in your config, else
    /// $SLURM_JWT (what `scontrol token` prints, as `export SLURM_JWT=…`), else the keyring
    /// entry `slurm`, else a prompt on a terminal. The user name is the token's `sun` claim
    /// unless --user is given. The URL: --url, else `url` under [slurm] in your config.
    Slurm(cli::slurm::SlurmArgs),
    /// Clemson Palmetto API: the slurm commands through RCD's gateway (MUNGE or bearer auth).
    Palmetto(cli::slurm::SlurmArgs),
    /// HPE/Cray CSM: Keycloak login and temporary S3 credentials from the STS.
    Csm(cli::csm::CsmArgs),
    /// Store or remove a credential in the OS keyring (for --token-from keyring:NAME).
    Keyring(cli::keyring::KeyringArgs),
    /// Record what a scan reports now, so that later scans (`--baseline FILE`) report only
    /// what is new. Fingerprints only: no secrets, no line numbers.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// A facility-wide sweep as a Slurm job array: plan the scripts, see which shards are left.
    #[command(subcommand)]
    Sweep(cli::sweep::SweepCommand),
    /// Merge the JSON reports of a sharded sweep (`scan --shard I/N --format json`) into one
    /// report; missing shards are named and make the exit code 1.
    Merge(cli::merge::MergeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), generated from these definitions: `tokenwarden man |
    /// man -l -`; with --out-dir, write it and one page per subcommand
    /// (`tokenwarden-scan.1`, …), which its SEE ALSO names.
    Man {
        /// Write every page into DIR instead of printing the main one.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Scans read each git object once; libgit2's object cache would only hold them (up to
    // 256 MiB) for nothing. The pack's delta-base cache is separate and stays on.
    git2::opts::enable_caching(false);
    // libgit2 re-hashes every object it reads (SHA-1 with collision detection), which `git
    // cat-file` does not; a scanner reads, it does not trust content for integrity, so skip it.
    git2::opts::strict_hash_verification(false);
    // libgit2 maps pack files in 1 GiB windows, up to 8 GiB, and every page it touches counts
    // as this process's memory: reading the whole trees of Spack's history through it grew a
    // scan by 80 MB. Windows of 32 MiB, at most 96 MiB mapped (the `git` readers get 32 MiB
    // windows and at most 128 MiB).
    // SAFETY: set once, before any thread or repository exists.
    unsafe {
        let _ = git2::opts::set_mwindow_size(32 << 20);
        let _ = git2::opts::set_mwindow_mapped_limit(96 << 20);
    }
    // Buffers over 256 KiB (a history's trees and blobs, decoded one version after another)
    // are mapped and given back when freed. glibc otherwise raises its threshold to the size
    // of the largest buffer freed and keeps the rest in its heaps, which fragment: a Spack
    // history scan peaked at 405 MB instead of 310 MB.
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes an allocator setting; called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
    let result = match cli.command {
        Command::Scan(args) => cli::scan::run(*args),
        Command::Rules(cmd) => cli::rules::run(cmd),
        Command::Hook(cmd) => cli::hook::run(cmd),
        Command::Fix(cmd) => cli::fix::run(cmd),
        Command::Audit(args) => cli::audit::run(args),
        Command::S3m(args) => cli::s3m::run(args),
        Command::Iri(args) => cli::iri::run(args),
        Command::Login(args) => cli::login::run_login(args),
        Command::Logout(args) => cli::login::run_logout(args),
        Command::Slurm(args) => {
            cli::slurm::run(args, tokenwarden::facilities::slurm::Gateway::Slurmrestd)
        }
        Command::Palmetto(args) => {
            cli::slurm::run(args, tokenwarden::facilities::slurm::Gateway::Palmetto)
        }
        Command::Csm(args) => cli::csm::run(args),
        Command::Keyring(args) => cli::keyring::run(args),
        Command::Baseline(cmd) => cli::baseline::run(cmd),
        Command::Merge(args) => cli::merge::run(&args),
        Command::Sweep(cmd) => cli::sweep::run(cmd),
        Command::Completions { shell } => {
            cli::man::completions(shell, <Cli as clap::CommandFactory>::command())
        }
        Command::Man { out_dir } => {
            cli::man::run(out_dir.as_deref(), <Cli as clap::CommandFactory>::command())
        }
    };
    match result {
        Ok(code) => code,
        // Output cut short because standard output's reader went away (`| head`) is not a
        // failure; a report file or FIFO whose reader went away is (the report was lost).
        Err(e)
            if cli::output::STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
                && e.chain().any(|c| {
                    let kind = c
                        .downcast_ref::<std::io::Error>()
                        .map(|io| io.kind())
                        .or_else(|| {
                            c.downcast_ref::<serde_json::Error>()
                                .and_then(serde_json::Error::io_error_kind)
                        });
                    kind == Some(std::io::ErrorKind::BrokenPipe)
                }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // Errors quote paths, names and answers from outside: escaped, on one line.
            eprintln!("tokenwarden: error: {}", printable(&error_text(&e)));
            // The facility answered, and said no: 1. Anything else (usage, local files, no
            // answer at all): 2.
            match e.downcast_ref::<tokenwarden::facilities::ClientError>() {
                Some(
                    tokenwarden::facilities::ClientError::Status { .. }
                    | tokenwarden::facilities::ClientError::Rejected { .. },
                ) => ExitCode::from(1),
                _ => ExitCode::from(2),
            }
        }
    }
}
