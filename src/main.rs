//! The `tokenwarden` command line: clap definitions, dispatch and exit codes.
//!
//! Exit codes: 0 nothing at or above `--fail-on`; 1 findings; 2 usage or fatal error.

/// Prints to standard output like `println!`, except that a closed standard output (the reader
/// of a pipe went away: `| head -1`, `| true`) ends the program quietly with success, as
/// ripgrep does; `println!` panics there.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            $crate::stdout_failed(e)
        }
    }};
}

/// Like [`outln!`], without the newline.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = write!(out, $($arg)*).and_then(|()| out.flush()) {
            $crate::stdout_failed(e)
        }
    }};
}

mod cli;

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

/// Set once standard output's reader has gone away: later output is dropped, and the command
/// goes on to finish what it was doing (a revocation half printed is still recorded) and exits
/// with the code it would have had.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// After a failed write to standard output: a closed pipe is remembered and otherwise
/// ignored; any other failure ends the program (exit 2), since output is being lost.
fn stdout_failed(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
        return;
    }
    eprintln!("tokenwarden: error: cannot write to standard output: {e}");
    std::process::exit(2);
}

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokenwarden::config::{Config, id_matches};
use tokenwarden::engine::check_rules;
use tokenwarden::report::{self, Format, ReportContext};
use tokenwarden::rules::{RuleSet, import_gitleaks};
use tokenwarden::sources::fs::WalkOptions;
use tokenwarden::sources::git::GitOptions;
use tokenwarden::text::printable;
use tokenwarden::{
    Confidence, Engine, EngineOptions, Fingerprinter, ScanRequest, Severity, Target,
};

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
    Scan(Box<ScanArgs>),
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
    Merge(MergeArgs),
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

#[derive(Args)]
struct MergeArgs {
    /// The shard reports (JSON).
    #[arg(required = true)]
    reports: Vec<PathBuf>,
    /// Report format.
    #[arg(short, long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report to FILE (created 0600, atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: low].
    #[arg(long, value_name = "LEVEL")]
    fail_on: Option<Severity>,
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// Write a new baseline (refuses to overwrite one).
    Create(Box<BaselineArgs>),
    /// Rewrite a baseline with what the scan reports now (adds new findings, drops fixed ones).
    Update(Box<BaselineArgs>),
}

#[derive(Args)]
struct BaselineArgs {
    /// The baseline file.
    #[arg(
        long,
        value_name = "FILE",
        default_value = ".tokenwarden-baseline.json"
    )]
    file: PathBuf,
    #[command(flatten)]
    scan: ScanArgs,
}

#[derive(Subcommand)]
enum FixCommand {
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

#[derive(Subcommand)]
enum HookCommand {
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

#[derive(Subcommand)]
enum RulesCommand {
    /// Print the rule catalogue.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Run every rule against its examples and negative examples.
    Check {
        #[command(flatten)]
        rules: RuleArgs,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

#[derive(Args, Clone, Default)]
struct RuleArgs {
    /// Add a tokenwarden rule file (TOML); repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    rule_files: Vec<PathBuf>,
    /// Import a gitleaks/Betterleaks rule file (TOML); repeatable.
    #[arg(long = "rules-from", value_name = "FILE")]
    gitleaks: Vec<PathBuf>,
    /// Turn a rule off (`id` or `family.*`); repeatable.
    #[arg(long = "disable-rule", value_name = "ID")]
    disable: Vec<String>,
    /// Run only these rules (`id` or `family.*`); repeatable.
    #[arg(long = "only-rule", value_name = "ID")]
    only: Vec<String>,
}

#[derive(Args)]
struct ScanArgs {
    /// Directories or files to scan (with --git or --staged: a path inside the repository).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Read more paths from FILE, one per line (`#` comments): the targets of a sweep.
    #[arg(long, value_name = "FILE")]
    targets: Option<PathBuf>,
    /// Scan only shard I of N (0-based): several paths are split by path, one directory by
    /// its top-level entries, one repository's history (--git) by blob. N runs with I = 0..N
    /// cover everything exactly once (`--shard $SLURM_ARRAY_TASK_ID/N`).
    #[arg(long, value_name = "I/N", conflicts_with = "staged")]
    shard: Option<tokenwarden::shard::Shard>,
    /// Scan the whole git history (every ref; each blob once) instead of the files on disk.
    #[arg(long, conflicts_with = "staged")]
    git: bool,
    /// With --git: also scan objects that no ref reaches any more.
    #[arg(long, requires = "git")]
    all_objects: bool,
    /// With --git: only commits reachable from HEAD but not from REV (e.g. origin/main).
    #[arg(long, requires = "git", value_name = "REV")]
    since: Option<String>,
    /// With --git: only the commits in A..B.
    #[arg(long, requires = "git", conflicts_with = "since", value_name = "A..B")]
    range: Option<String>,
    /// With --git: only commits made on or after DATE (YYYY-MM-DD or RFC 3339).
    #[arg(long, requires = "git", value_name = "DATE", value_parser = parse_date)]
    since_date: Option<i64>,
    /// With --git: skip, with a warning, blobs larger than this [default: 256M].
    #[arg(long, requires = "git", value_name = "SIZE", value_parser = parse_size)]
    max_blob_size: Option<u64>,
    /// Scan only what is staged for the next commit (the pre-commit hook runs this).
    #[arg(long)]
    staged: bool,
    /// Report format.
    #[arg(short, long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report to FILE (created 0600, atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print secrets in full. Off by default: reports and logs travel further than you expect.
    #[arg(long)]
    show_secrets: bool,
    /// Ask each secret's issuer whether it is alive (network; side-effect free; each secret
    /// once). Endpoints come only from the built-in ones and your own config file.
    #[arg(long)]
    verify: bool,
    /// With --verify: the write-ahead audit log of every call [default:
    /// $XDG_STATE_HOME/tokenwarden/audit.jsonl].
    #[arg(long, requires = "verify", value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: low].
    #[arg(long, value_name = "LEVEL")]
    fail_on: Option<Severity>,
    /// Report findings at or above this confidence [default: medium].
    #[arg(long, value_name = "LEVEL")]
    min_confidence: Option<Confidence>,
    /// Fail the run (exit 2) when a file or directory met during the walk could not be read
    /// [default: `fail_on_unreadable` in .tokenwarden.toml, else off: they are warnings, counted
    /// in the summary]. A path named on the command line that cannot be read always fails.
    #[arg(long)]
    fail_on_unreadable: bool,
    /// Read files that .gitignore excludes.
    #[arg(long)]
    no_ignore: bool,
    /// Ignore `tokenwarden:allow` comments (for CI that keeps every exception in a reviewed
    /// baseline or config).
    #[arg(long)]
    no_inline_allow: bool,
    /// Report only findings that are not in this baseline (see `tokenwarden baseline`)
    /// [default: `baseline` in .tokenwarden.toml].
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Skip the hygiene checks (credential files not gitignored, tracked or ever committed;
    /// code that reads a .env the repository does not ignore).
    #[arg(long)]
    no_hygiene: bool,
    /// Follow symbolic links (loops are reported, not followed forever).
    #[arg(long)]
    follow: bool,
    /// Skip, with a warning, files larger than this (bytes; K, M, G suffixes).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_file_size: Option<u64>,
    /// Exclude paths matching a gitignore-style glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Use this config file instead of <root>/.tokenwarden.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ignore any .tokenwarden.toml in the scanned tree.
    #[arg(long, conflicts_with = "config")]
    no_config: bool,
    /// Do not show the progress line on stderr (it only appears on a terminal anyway).
    #[arg(long)]
    no_progress: bool,
    /// Colour: auto (terminal and no NO_COLOR), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    #[command(flatten)]
    rules: RuleArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("unknown size suffix `{c}` (use K, M or G)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .map_err(|_| format!("`{s}` is not a size"))?
        .checked_mul(mult)
        .ok_or_else(|| "size too large".to_string())
}

fn parse_date(s: &str) -> Result<i64, String> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    let t =
        humantime::parse_rfc3339_weak(&full).map_err(|e| format!("`{s}`: {e} (use YYYY-MM-DD)"))?;
    Ok(t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Scans read each git object once; libgit2's object cache would only hold them (up to
    // 256 MiB) for nothing. The pack's delta-base cache is separate and stays on.
    git2::opts::enable_caching(false);
    // libgit2 re-hashes every object it reads (SHA-1 with collision detection), which `git
    // cat-file` does not; a scanner reads, it does not trust content for integrity, so skip it.
    git2::opts::strict_hash_verification(false);
    let result = match cli.command {
        Command::Scan(args) => run_scan(*args),
        Command::Rules(RulesCommand::List { rules, format }) => list_rules(&rules, format),
        Command::Rules(RulesCommand::Check { rules }) => check(&rules),
        Command::Hook(HookCommand::Install { repo, force }) => hook_install(&repo, force),
        Command::Hook(HookCommand::Uninstall { repo }) => hook_uninstall(&repo),
        Command::Fix(FixCommand::Gitignore { repo, dry_run }) => fix_gitignore(&repo, dry_run),
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
        Command::Baseline(BaselineCommand::Create(a)) => write_baseline(&a, false),
        Command::Baseline(BaselineCommand::Update(a)) => write_baseline(&a, true),
        Command::Merge(args) => merge_reports(&args),
        Command::Sweep(cmd) => cli::sweep::run(cmd),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tokenwarden", &mut buf);
            print_generated(&buf)
        }
        Command::Man { out_dir: None } => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(man_command())
                .render(&mut buf)
                .map_err(anyhow::Error::from)
                .and_then(|()| print_generated(&buf))
        }
        Command::Man { out_dir: Some(dir) } => write_man_pages(&dir),
    };
    match result {
        Ok(code) => code,
        // Output cut short because standard output's reader went away (`| head`) is not a
        // failure; a report file or FIFO whose reader went away is (the report was lost).
        Err(e)
            if STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
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

/// Writes generated text to stdout; a closed pipe (`| head`) is not an error.
fn print_generated(buf: &[u8]) -> Result<ExitCode> {
    if let Err(e) = std::io::stdout().lock().write_all(buf) {
        stdout_failed(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// Moves findings whose fingerprint the config allows to the suppressed list (they stay
/// visible, with the reason). An entry that matched nothing is reported: it may be stale.
fn apply_allowlist(
    result: &mut tokenwarden::ScanResult,
    allow: &[tokenwarden::config::AllowEntry],
    notes: &mut Vec<String>,
) {
    if allow.is_empty() {
        return;
    }
    let mut used = vec![false; allow.len()];
    let findings = std::mem::take(&mut result.findings);
    for f in findings {
        match allow.iter().position(|a| a.fingerprint == f.fingerprint) {
            Some(i) => {
                used[i] = true;
                for loc in &f.locations {
                    result.suppressed.push(tokenwarden::finding::Suppressed {
                        rule_id: f.rule_id.clone(),
                        fingerprint: f.fingerprint.clone(),
                        location: loc.clone(),
                        reason: format!("config allow: {}", allow[i].reason),
                    });
                }
            }
            None => result.findings.push(f),
        }
    }
    let stale: Vec<&str> = allow
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(a, _)| a.fingerprint.as_str())
        .collect();
    if !stale.is_empty() {
        notes.push(format!(
            "allow entries that matched nothing: {}",
            stale.join(", ")
        ));
    }
}

/// Builds the rule set from built-ins, the config and the flags.
fn load_rules(
    args: &RuleArgs,
    config: Option<&Config>,
    notes: &mut Vec<String>,
) -> Result<RuleSet> {
    let mut set = RuleSet::builtin().context("built-in rules")?;
    let mut files: Vec<PathBuf> = args.rule_files.clone();
    let mut gitleaks: Vec<PathBuf> = args.gitleaks.clone();
    let mut disable = args.disable.clone();
    let mut only = args.only.clone();
    if let Some(cfg) = config {
        for p in &cfg.rules.files {
            files.push(cfg.resolve(p)?);
        }
        for p in &cfg.rules.gitleaks {
            gitleaks.push(cfg.resolve(p)?);
        }
        disable.extend(cfg.rules.disable.iter().cloned());
        only.extend(cfg.rules.only.iter().cloned());
        for r in &cfg.extra_rules {
            set.push(r.clone()).context("rule in config")?;
        }
    }
    for f in &files {
        set.add_file(f)?;
    }
    for f in &gitleaks {
        let text =
            tokenwarden::untrusted::read_regular_text(f, tokenwarden::untrusted::MAX_CONFIG_BYTES)
                .context("cannot read a gitleaks rule file")?;
        let before = set.rules.len();
        for note in import_gitleaks(&mut set, &f.display().to_string(), &text)? {
            eprintln!(
                "tokenwarden: note: {}: {}",
                printable(&f.display().to_string()),
                printable(&note)
            );
        }
        notes.push(format!(
            "{} rule(s) imported from {}",
            set.rules.len() - before,
            f.display()
        ));
    }
    if !only.is_empty() {
        set.retain(|r| only.iter().any(|p| id_matches(p, &r.id)));
    }
    if !disable.is_empty() {
        let before = set.rules.len();
        set.retain(|r| !disable.iter().any(|p| id_matches(p, &r.id)));
        notes.push(format!("{} rule(s) disabled", before - set.rules.len()));
    }
    if set.rules.is_empty() {
        bail!("no rules left to run");
    }
    Ok(set)
}

fn find_config(args: &ScanArgs) -> Result<Option<Config>> {
    if args.no_config {
        return Ok(None);
    }
    if let Some(p) = &args.config {
        return Ok(Some(Config::load(p)?));
    }
    match args.paths.first() {
        Some(root) if args.paths.len() == 1 => Ok(Config::discover(root)?),
        _ => Ok(None),
    }
}

fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

fn fingerprinter() -> Fingerprinter {
    match std::env::var("TOKENWARDEN_FINGERPRINT_KEY") {
        Ok(k) if !k.is_empty() => Fingerprinter::new(k.as_bytes()),
        _ => Fingerprinter::default(),
    }
}

/// A scan done, before it is reported.
struct Scanned {
    engine: Engine,
    result: tokenwarden::ScanResult,
    notes: Vec<String>,
    fail_on: Severity,
    config: Option<Config>,
    roots: Vec<PathBuf>,
}

fn run_scan(args: ScanArgs) -> Result<ExitCode> {
    let Scanned {
        engine,
        mut result,
        mut notes,
        fail_on,
        config,
        roots,
    } = scan_for(&args)?;
    let baseline = match (&args.baseline, &config) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(c)) => c.baseline.as_ref().map(|b| c.resolve(b)).transpose()?,
        (None, None) => None,
    };
    if let Some(path) = baseline {
        let b = report::baseline::Baseline::load(&path, &fingerprinter())?;
        let applied = b.apply(&mut result);
        notes.push(format!(
            "baseline {}: {} known finding(s) and {} hygiene finding(s) not reported as new{}",
            path.display(),
            applied.findings,
            applied.hygiene,
            if applied.stale > 0 {
                format!(
                    "; {} entr{} matched nothing (run `tokenwarden baseline update`)",
                    applied.stale,
                    if applied.stale == 1 { "y" } else { "ies" }
                )
            } else {
                String::new()
            }
        ));
    }
    let fail_on_unreadable = args.fail_on_unreadable
        || config
            .as_ref()
            .is_some_and(|c| c.fail_on_unreadable == Some(true));
    report_scan(
        &args,
        &roots,
        &engine,
        &result,
        notes,
        fail_on,
        fail_on_unreadable,
    )
}

/// Scans as `args` say, with the config's allow entries applied and, with `--verify`, the
/// liveness checked; warnings printed.
fn scan_for(args: &ScanArgs) -> Result<Scanned> {
    let config = find_config(args)?;
    let roots = scan_roots(args)?;
    let mut notes = Vec::new();
    if let Some(c) = &config
        && let Some(src) = &c.source
    {
        let mut n = format!("config {}", src.display());
        if !c.scan.exclude.is_empty() {
            n.push_str(&format!(" excludes {}", c.scan.exclude.join(", ")));
        }
        notes.push(n);
    }
    let set = load_rules(&args.rules, config.as_ref(), &mut notes)?;
    let engine = Engine::new(&set, EngineOptions::default())?;
    let mut excludes = args.exclude.clone();
    if let Some(c) = &config {
        excludes.extend(c.scan.exclude.iter().cloned());
    }
    let fail_on = args
        .fail_on
        .or(config.as_ref().and_then(|c| c.fail_on))
        .unwrap_or(Severity::Low);
    let min_confidence = args
        .min_confidence
        .or(config.as_ref().and_then(|c| c.min_confidence))
        .unwrap_or(Confidence::Medium);
    let target = if args.staged {
        Target::Staged
    } else if args.git {
        Target::History(GitOptions {
            all_objects: args.all_objects,
            since: args.since.clone(),
            range: args.range.clone(),
            since_date: args.since_date,
            max_blob_size: args
                .max_blob_size
                .unwrap_or(GitOptions::default().max_blob_size),
            threads: args.threads,
            counters: None,
            shard: args.shard,
        })
    } else {
        Target::Tree
    };
    let mut req = ScanRequest {
        target,
        roots: roots.clone(),
        walk: WalkOptions {
            no_ignore: args.no_ignore,
            follow_links: args.follow,
            max_file_size: args
                .max_file_size
                .or(config.as_ref().and_then(|c| c.scan.max_file_size)),
            excludes,
            threads: args.threads,
            shard: args.shard,
            ..WalkOptions::default()
        },
        min_confidence,
        fingerprinter: fingerprinter(),
        hygiene: !args.no_hygiene,
        inline_allow: !args.no_inline_allow,
    };
    let unit = if args.git { "blobs" } else { "files" };
    let progress = (!args.no_progress && std::io::stderr().is_terminal())
        .then(|| Progress::start(&mut req, unit));
    let result = tokenwarden::scan(&engine, &req);
    if let Some(p) = progress {
        p.finish();
    }
    let mut result = result?;
    if let Some(c) = &config {
        apply_allowlist(&mut result, &c.allow, &mut notes);
    }
    if args.verify {
        let lc = cli::audit::open_lifecycle(args.audit_log.as_deref())?;
        cli::audit::verify_all(&lc, &mut result.findings, &roots, 4)?;
        notes.push(format!(
            "liveness checked with the issuers; every call is in {}",
            lc.log_path().display()
        ));
    }
    for w in &result.warnings {
        if w.path.is_empty() {
            eprintln!("tokenwarden: warning: {}", printable(&w.message));
        } else {
            eprintln!(
                "tokenwarden: warning: {}: {}",
                printable(&w.path),
                printable(&w.message)
            );
        }
    }
    if let Some(sh) = args.shard {
        notes.push(format!(
            "shard {sh}: this run covers only its part of the targets"
        ));
    }
    Ok(Scanned {
        engine,
        result,
        notes,
        fail_on,
        config,
        roots,
    })
}

/// The paths to scan: the positional ones and the `--targets` file's (a lone default `.` is
/// dropped when a targets file is given).
fn scan_roots(args: &ScanArgs) -> Result<Vec<PathBuf>> {
    let mut roots = args.paths.clone();
    if let Some(file) = &args.targets {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the targets file {}", file.display()))?;
        if roots == [PathBuf::from(".")] {
            roots.clear();
        }
        roots.extend(
            tokenwarden::shard::read_targets(&text)
                .into_iter()
                .map(PathBuf::from),
        );
        if roots.is_empty() {
            bail!("{} lists no targets", file.display());
        }
    }
    Ok(roots)
}

/// Writes the scan's report and says what the exit code is.
fn report_scan(
    args: &ScanArgs,
    roots: &[PathBuf],
    engine: &Engine,
    result: &tokenwarden::ScanResult,
    notes: Vec<String>,
    fail_on: Severity,
    fail_on_unreadable: bool,
) -> Result<ExitCode> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let ctx = ReportContext {
        rules: engine.rules(),
        roots: roots.iter().map(|p| p.display().to_string()).collect(),
        show_secrets: args.show_secrets,
        fail_on,
        color: use_color(args.color, to_terminal),
        notes,
        repo: if args.git || args.staged {
            args.paths
                .first()
                .and_then(|p| tokenwarden::sources::git::describe(p))
        } else {
            None
        },
        shard: args.shard,
    };
    emit(args.format, result, &ctx, args.output.as_deref())?;
    let unreadable = result.stats.unreadable;
    if unreadable > 0 && fail_on_unreadable {
        eprintln!(
            "tokenwarden: error: {unreadable} file(s) or director(ies) could not be read \
             (see the warnings above); with --fail-on-unreadable that fails the run"
        );
        return Ok(ExitCode::from(2));
    }
    let failed = result.failed(fail_on);
    if failed && args.staged {
        eprintln!(
            "{}",
            commit_blocked(args.paths.first().map(PathBuf::as_path))
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What the pre-commit hook says when it stops a commit: that it did, how to take the secret
/// out of the commit, how to mark a false positive, and what `--no-verify` costs.
fn commit_blocked(repo: Option<&Path>) -> String {
    // `git restore --staged` needs a HEAD to restore from; before the first commit there is
    // none, and `git rm --cached` is the way.
    let unborn = tokenwarden::sources::git::discover(repo.unwrap_or(Path::new(".")))
        .map(|r| r.head().is_err())
        .unwrap_or(false);
    let unstage = if unborn {
        "git rm --cached -- <file>"
    } else {
        "git restore --staged -- <file>"
    };
    format!(
        "\ntokenwarden: COMMIT BLOCKED: what is staged holds the credential(s) above.\n\
         - Take it out: delete the secret from the file and `git add` it again, or unstage the \
         file with `{unstage}` (and add it to .gitignore: `tokenwarden fix gitignore`). If it \
         was ever pushed or shared, rotate it too.\n\
         - Not a secret (a test fixture, an example)? Put `tokenwarden:allow <why>` on its line, \
         or record it in a baseline: `tokenwarden baseline create`.\n\
         - `git commit --no-verify` skips this check once: the credential then lands in history, \
         where only revoking it and rewriting history remove it."
    )
}

/// `tokenwarden merge`: one report from a sweep's shard reports.
fn merge_reports(args: &MergeArgs) -> Result<ExitCode> {
    let merged = report::merge::merge(&args.reports)?;
    let mut notes = merged.notes;
    if let Some(n) = merged.shards {
        if merged.missing.is_empty() {
            notes.push(format!("all {n} shards merged"));
        } else {
            let list: Vec<String> = merged.missing.iter().map(|i| format!("{i}/{n}")).collect();
            eprintln!(
                "tokenwarden: warning: INCOMPLETE: no report for shard(s) {}; their part of the \
                 targets was not scanned (re-run them, then merge again)",
                list.join(", ")
            );
            notes.push(format!("INCOMPLETE: missing shard(s) {}", list.join(", ")));
        }
    }
    let set = load_rules(&RuleArgs::default(), None, &mut Vec::new())?;
    let engine = Engine::new(&set, EngineOptions::default())?;
    let fail_on = args.fail_on.unwrap_or(Severity::Low);
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let ctx = ReportContext {
        rules: engine.rules(),
        roots: merged.roots,
        show_secrets: false,
        fail_on,
        color: use_color(ColorChoice::Auto, to_terminal),
        notes,
        repo: None,
        shard: None,
    };
    emit(args.format, &merged.result, &ctx, args.output.as_deref())?;
    Ok(
        if merged.result.failed(fail_on) || !merged.missing.is_empty() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// `tokenwarden baseline create|update`: everything the scan reports now becomes known.
fn write_baseline(args: &BaselineArgs, update: bool) -> Result<ExitCode> {
    let fp = fingerprinter();
    let Scanned { result, .. } = scan_for(&args.scan)?;
    let new = report::baseline::Baseline::of(&result, &fp);
    let path = &args.file;
    let old = if path.exists() {
        if !update {
            bail!(
                "{} exists; `tokenwarden baseline update` rewrites it with the current findings",
                path.display()
            );
        }
        Some(report::baseline::Baseline::load(path, &fp)?)
    } else {
        None
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    new.save(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let (added, removed) = match &old {
        Some(o) => (
            new.findings.difference(&o.findings).count()
                + new.hygiene.difference(&o.hygiene).count(),
            o.findings.difference(&new.findings).count()
                + o.hygiene.difference(&new.hygiene).count(),
        ),
        None => (new.findings.len() + new.hygiene.len(), 0),
    };
    outln!(
        "{}: {} finding(s), {} hygiene finding(s) ({added} added, {removed} removed)",
        path.display(),
        new.findings.len(),
        new.hygiene.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// A progress line on stderr, fed by the walk's live counters, for scans long enough to wonder.
struct Progress {
    bar: indicatif::ProgressBar,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ticker: std::thread::JoinHandle<()>,
}

impl Progress {
    fn start(req: &mut ScanRequest, unit: &'static str) -> Progress {
        use std::sync::atomic::Ordering;
        let counters = std::sync::Arc::new(tokenwarden::sources::fs::ScanCounters::default());
        req.walk.counters = Some(counters.clone());
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} scanning: {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (b, s) = (bar.clone(), stop.clone());
        let ticker = std::thread::spawn(move || {
            // Quiet for the first half second: short scans should not flicker.
            let started = std::time::Instant::now();
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if started.elapsed() > std::time::Duration::from_millis(500) {
                    let st = counters.snapshot();
                    b.set_message(format!(
                        "{} {unit}, {:.1} MB, {} matches",
                        st.files_scanned,
                        st.bytes_scanned as f64 / 1e6,
                        counters.matches.load(std::sync::atomic::Ordering::Relaxed)
                    ));
                    b.tick();
                }
            }
        });
        Progress { bar, stop, ticker }
    }

    fn finish(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.ticker.join();
        self.bar.finish_and_clear();
    }
}

/// Writes a file atomically with mode 0600 (rule 5 of the house).
fn write_private(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    tokenwarden::private_file::write_with(path, body)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The command as the manual pages describe it: no `help` subcommand (it has no page).
fn man_command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every manual page (the command's and each subcommand's, as clap_mangen names them) into
/// `dir`, 0644, never through a symlink (see `private_file`).
fn write_man_pages(dir: &Path) -> Result<ExitCode> {
    fn collect(cmd: clap::Command, out: &mut Vec<clap_mangen::Man>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            collect(sub, out);
        }
        out.push(clap_mangen::Man::new(cmd));
    }
    let mut pages = Vec::new();
    collect(man_command(), &mut pages);
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

fn hook_install(repo: &Path, force: bool) -> Result<ExitCode> {
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

fn hook_uninstall(repo: &Path) -> Result<ExitCode> {
    match tokenwarden::hook::uninstall(repo)? {
        Some(hook) => outln!("removed {}", hook.display()),
        None => outln!("no tokenwarden pre-commit hook to remove"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the report to `output` (0600, atomically) or to stdout (a closed pipe is fine).
fn emit(
    format: Format,
    result: &tokenwarden::ScanResult,
    ctx: &ReportContext,
    output: Option<&Path>,
) -> Result<()> {
    // `-o /dev/stdout` is standard output, with its closed-pipe rule.
    let output = output.filter(|p| tokenwarden::private_file::standard_stream(p) != Some(1));
    match output {
        Some(path) => write_private(path, |w| report::write(format, result, ctx, w))?,
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            match report::write(format, result, ctx, &mut lock).and_then(|()| lock.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => stdout_failed(e),
                other => other.context("writing the report")?,
            }
        }
    }
    Ok(())
}

fn fix_gitignore(repo: &Path, dry_run: bool) -> Result<ExitCode> {
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

fn list_rules(args: &RuleArgs, format: ListFormat) -> Result<ExitCode> {
    let set = load_rules(args, None, &mut Vec::new())?;
    let mut out: Vec<u8> = Vec::new();
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &set.rules)?;
            writeln!(out)?;
        }
        ListFormat::Text => {
            writeln!(
                out,
                "{:<28} {:<9} {:<7} {:<10} NAME",
                "ID", "SEVERITY", "CONF", "FACILITY"
            )?;
            for r in &set.rules {
                writeln!(
                    out,
                    "{:<28} {:<9} {:<7} {:<10} {}",
                    printable(&r.id),
                    r.severity.as_str(),
                    r.confidence.as_str(),
                    printable(&r.facility),
                    printable(&r.name)
                )?;
            }
            writeln!(out, "{} rules", set.rules.len())?;
        }
    }
    print_generated(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn check(args: &RuleArgs) -> Result<ExitCode> {
    let set = load_rules(args, None, &mut Vec::new())?;
    let (failures, ran) = check_rules(&set)?;
    for f in &failures {
        outln!(
            "FAIL {}: {}: {}",
            printable(&f.rule),
            printable(&f.message),
            printable(&f.example)
        );
    }
    outln!(
        "{} rules, {} examples: {} passed, {} failed",
        set.rules.len(),
        ran,
        ran - failures.len(),
        failures.len()
    );
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
