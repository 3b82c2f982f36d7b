//! `tokenwarden audit`: this machine (command lines, token stores), and incident response for
//! repositories — find every secret in the files and the whole history, ask each issuer which
//! are alive (`--verify`), revoke what can be revoked after a plan and a confirmation
//! (`--revoke`), and write the incident report (`--report DIR`).
//!
//! The lifecycle itself lives in the library (`tokenwarden::lifecycle`); this file turns flags
//! into calls, asks the question and sets the exit code.

use super::output::{ColorChoice, emit, fingerprinter, use_color};
use super::rules::{RuleArgs, load_rules};
use anyhow::{Context, Result, bail};
use clap::Args;
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokenwarden::facilities::{ClientConfig, Http};
use tokenwarden::finding::{Finding, Liveness};
use tokenwarden::lifecycle::{self, Issuers, Lifecycle, Plan, incident::Incident};
use tokenwarden::outcome::{Merge, SameSecret};
use tokenwarden::report::{Format, ReportContext};
use tokenwarden::sources::fs::WalkOptions;
use tokenwarden::sources::git::GitOptions;
use tokenwarden::{Confidence, Engine, EngineOptions, ScanRequest, ScanResult, Severity, Target};

/// `tokenwarden audit` flags.
#[derive(Args)]
pub struct AuditArgs {
    /// Repositories or directories to audit: their files and, in a git repository, its whole
    /// history. Without paths (and without --processes/--home), audits this machine.
    pub paths: Vec<PathBuf>,
    /// Check every process's command line (/proc/*/cmdline, which every user can read).
    #[arg(long)]
    pub processes: bool,
    /// Check the token stores under your home directory (or DIR).
    // `--home` alone is `Some(None)`: the directory is optional, as the help says.
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    pub home: Option<Option<PathBuf>>,
    /// Only the files on disk, not the git history.
    #[arg(long)]
    pub no_history: bool,
    /// Ask each secret's issuer whether it is alive (network; each secret once, side-effect
    /// free). Endpoints come only from the built-in ones and your own config file.
    #[arg(long)]
    pub verify: bool,
    /// Revoke what the issuers allow, after printing the plan and asking (implies --verify).
    #[arg(long)]
    pub revoke: bool,
    /// With --revoke: print the plan and stop. Building the plan still asks each secret's
    /// issuer whether it is alive (each token goes to its own issuer only, side-effect free);
    /// add --offline to send nothing at all.
    #[arg(long, requires = "revoke")]
    pub dry_run: bool,
    /// Send no secret anywhere: the plan and the incident report say "not checked" for
    /// liveness. With --revoke it needs --dry-run (revoking is sending).
    #[arg(long, conflicts_with_all = ["verify", "yes"])]
    pub offline: bool,
    /// With --revoke: do not ask. Without a terminal, --revoke refuses to run without it.
    #[arg(long, requires = "revoke", conflicts_with = "dry_run")]
    pub yes: bool,
    /// Write incident.md and incident.json into DIR (created 0700; files 0600).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// The write-ahead audit log [default: $XDG_STATE_HOME/tokenwarden/audit.jsonl].
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// How many secrets to check at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub verify_jobs: usize,
    /// Report format.
    #[arg(short, long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE (created 0600, atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: low].
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<Severity>,
    /// Colour: auto (on a terminal, unless NO_COLOR), always or never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

/// Runs `tokenwarden audit`.
pub fn run(args: AuditArgs) -> Result<ExitCode> {
    if args.paths.is_empty() {
        if args.verify || args.revoke || args.report.is_some() {
            bail!(
                "--verify, --revoke and --report work on repositories or directories: give \
                 their paths (tokenwarden audit PATH… --revoke)"
            );
        }
        return machine(&args);
    }
    let started = std::time::Instant::now();
    let set = load_rules(&RuleArgs::default(), None, &mut Vec::new())?;
    let engine = Engine::new(&set, EngineOptions::default())?;
    // A repository's own .tokenwarden.toml is not read: an audit must not let the audited
    // repository hide a secret (allow entries) or narrow what is searched.
    let mut result = scan_targets(&engine, &args.paths, args.no_history)?;
    if args.processes || args.home.is_some() {
        result.hygiene.extend(machine_hygiene(&engine, &args)?.0);
    }
    for w in &result.warnings {
        eprintln!(
            "tokenwarden: warning: {}{}{}",
            tokenwarden::text::printable(&w.path),
            if w.path.is_empty() { "" } else { ": " },
            tokenwarden::text::printable(&w.message)
        );
    }
    let roots = args.paths.clone();
    if args.offline && args.revoke && !args.dry_run {
        bail!("--offline sends nothing, and revoking is sending: add --dry-run to plan offline");
    }
    let mut plan_state = None;
    if args.verify || args.revoke || args.report.is_some() {
        let lc = if (args.verify || args.revoke) && !args.offline {
            let lc = open_lifecycle(args.audit_log.as_deref())?;
            eprintln!(
                "tokenwarden: checking {} secret(s) with their issuers (audit log {})",
                result.findings.len(),
                lc.log_path().display()
            );
            verify_all(&lc, &mut result.findings, &roots, args.verify_jobs)?;
            Some(lc)
        } else {
            None
        };
        let history = match &lc {
            Some(lc) => lc.history().clone(),
            None => lifecycle::call_log::read(&log_path(args.audit_log.as_deref())?)?,
        };
        let issuers = match &lc {
            Some(lc) => lc.issuers().clone(),
            None => Issuers::from_config(&ClientConfig::load()?)?,
        };
        let mut plan = lifecycle::plan::build(&result.findings, &history, &issuers);
        let mut revocation = "not requested (run with --revoke)".to_string();
        if args.revoke {
            if args.offline {
                eprintln!(
                    "tokenwarden: offline: no secret was sent anywhere; liveness not checked."
                );
            } else if args.dry_run {
                eprintln!(
                    "tokenwarden: dry run: liveness below was asked of each secret's own issuer \
                     (--offline sends nothing)."
                );
            }
            eprint!("{}", plan.render());
        }
        if let Some(lc) = &lc
            && args.revoke
        {
            revocation = execute(&args, lc, &mut plan, &mut result.findings, &roots)?;
        } else if args.revoke {
            revocation = "offline dry run: nothing sent, nothing revoked".into();
        }
        if let Some(dir) = &args.report {
            let log = log_path(args.audit_log.as_deref())?;
            let targets = roots.iter().map(|p| p.display().to_string()).collect();
            Incident::new(&plan, targets, &log, &revocation)
                .write(dir)
                .with_context(|| {
                    format!("cannot write the incident report in {}", dir.display())
                })?;
            eprintln!(
                "tokenwarden: incident report written: {}/incident.md and incident.json",
                dir.display()
            );
        }
        plan_state = Some(plan);
    }
    result.elapsed = started.elapsed();
    let fail_on = args.fail_on.unwrap_or(Severity::Low);
    let roots_shown = roots.iter().map(|p| p.display().to_string()).collect();
    emit_report(&args, &engine, &result, roots_shown)?;
    // With --revoke the exit code says whether a secret is left to deal with (not revoked,
    // maybe alive, or needing the facility); otherwise it is the scanner's: findings at or
    // above --fail-on.
    let failed = match (&plan_state, args.revoke) {
        (Some(plan), true) => plan.items.iter().any(|i| i.open()),
        _ => result.failed(fail_on),
    };
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Asks, revokes, checks again. Returns the sentence the incident report records.
fn execute(
    args: &AuditArgs,
    lc: &Lifecycle,
    plan: &mut Plan,
    findings: &mut [Finding],
    roots: &[PathBuf],
) -> Result<String> {
    let n = plan.revocations();
    if n == 0 {
        eprintln!("tokenwarden: nothing to revoke.");
        return Ok("requested; nothing to revoke".into());
    }
    if args.dry_run {
        eprintln!("tokenwarden: dry run: nothing was revoked.");
        return Ok("dry run: nothing revoked".into());
    }
    if !args.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            bail!(
                "refusing to revoke without a confirmation: there is no terminal to ask on. \
                 Read the plan above, then run again with --yes (or --dry-run to only plan)"
            );
        }
        // Said by each issuer (`IssuerOps::irreversible`), not assumed here.
        let final_ = plan
            .items
            .iter()
            .filter(|i| {
                matches!(
                    i.planned,
                    tokenwarden::lifecycle::Planned::Revoke {
                        irreversible: true,
                        ..
                    }
                )
            })
            .count();
        let undo = match final_ {
            0 => String::new(),
            k if k == n => " This cannot be undone.".to_string(),
            k => format!(" This cannot be undone for {k} of them."),
        };
        eprint!("\nRevoke {n} secret(s) as planned?{undo} Type `yes` to go on: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("reading the answer")?;
        if answer.trim() != "yes" {
            eprintln!("tokenwarden: not confirmed: nothing was revoked.");
            return Ok("declined at the confirmation: nothing revoked".into());
        }
    }
    let by_fp: HashMap<String, usize> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.fingerprint.clone(), i))
        .collect();
    let reader = source_reader(roots);
    for item in plan.items.iter_mut().filter(|i| i.revokes()) {
        let Some(&fi) = by_fp.get(&item.fingerprint) else {
            continue;
        };
        let f = &mut findings[fi];
        item.outcomes = lc.revoke(f)?;
        if item.outcomes.iter().any(|o| o.ended()) {
            // Asked again, so the report shows liveness before and after.
            let after = lc.verify(f, &reader)?;
            f.liveness = if after.liveness == Liveness::Live {
                Liveness::Live
            } else {
                Liveness::Revoked
            };
            f.verification = Some(after.clone());
            item.after = Some(after);
        }
    }
    eprint!("{}", plan.render_outcomes());
    Ok(if args.yes {
        "requested with --yes".into()
    } else {
        "requested and confirmed at the terminal".into()
    })
}

fn log_path(explicit: Option<&Path>) -> Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.to_path_buf()),
        None => lifecycle::call_log::default_path()
            .context("HOME is not set; give the audit log: --audit-log FILE"),
    }
}

/// The lifecycle with the user's own config (never a repository's).
pub fn open_lifecycle(audit_log: Option<&Path>) -> Result<Lifecycle> {
    let cfg = ClientConfig::load()?;
    let http = Http::new(cfg.http_options()?)?;
    let issuers = Issuers::from_config(&cfg)?;
    Ok(Lifecycle::new(http, issuers, &log_path(audit_log)?)?)
}

/// Reads the bytes behind a location: the file under one of the roots, or the git blob in
/// whichever audited repository has it (blob ids name content, so any copy is the same).
fn source_reader(roots: &[PathBuf]) -> impl Fn(&tokenwarden::Location) -> Option<Vec<u8>> + Sync {
    let roots = roots.to_vec();
    move |loc| {
        if loc.git.is_some() || roots.len() == 1 {
            roots.iter().find_map(|r| lifecycle::read_source(r, loc))
        } else {
            lifecycle::read_source(Path::new("."), loc)
        }
    }
}

/// Checks every finding once (findings are one per secret already), `jobs` at a time, and
/// records the answer on the finding.
pub fn verify_all(
    lc: &Lifecycle,
    findings: &mut [Finding],
    roots: &[PathBuf],
    jobs: usize,
) -> Result<()> {
    let reader = source_reader(roots);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.clamp(1, 32))
        .build()
        .context("starting the verification threads")?;
    let results: Vec<_> =
        pool.install(|| findings.par_iter().map(|f| lc.verify(f, &reader)).collect());
    for (f, r) in findings.iter_mut().zip(results) {
        let v = r?;
        f.liveness = v.liveness;
        f.verification = Some(v);
    }
    Ok(())
}

/// Scans each path's files and, unless told not to, its git history; one finding per secret
/// across all of them.
fn scan_targets(engine: &Engine, paths: &[PathBuf], no_history: bool) -> Result<ScanResult> {
    let started = std::time::Instant::now();
    let mut merged = Merge::new(SameSecret::Separate);
    let prefix = paths.len() > 1;
    for root in paths {
        let mut targets = vec![Target::Tree];
        // A repository whose git directory is unsafe to open (a FIFO in its config's
        // includes) is an error here, not "no history".
        tokenwarden::untrusted::check_git_dir(root)
            .with_context(|| format!("cannot audit {}", root.display()))?;
        let is_repo = tokenwarden::sources::git::discover(root).is_ok();
        if is_repo && !no_history {
            targets.push(Target::History(GitOptions::default()));
        }
        for target in targets {
            let history = matches!(target, Target::History(_));
            let req = ScanRequest {
                target,
                roots: vec![root.clone()],
                // Incident response reads everything, whatever the audited repository's
                // `.gitignore` or `.ignore` says: an ignored `.env` is exactly where a token
                // sits, and a `.ignore` holding `*` must not make a tree look clean.
                walk: WalkOptions {
                    no_ignore: true,
                    ..WalkOptions::default()
                },
                min_confidence: Confidence::Medium,
                fingerprinter: fingerprinter(),
                hygiene: !history,
                // An audit reports everything; an allow comment in the audited repository
                // does not hide a secret from incident response.
                inline_allow: false,
            };
            let mut r = tokenwarden::scan(engine, &req)
                .with_context(|| format!("cannot audit {}", root.display()))?;
            if prefix && !history {
                for l in r.findings.iter_mut().flat_map(|f| &mut f.locations) {
                    l.path = tokenwarden::sources::fs::display_path(&root.join(&l.path));
                }
            }
            merged.add(r);
        }
    }
    Ok(merged.finish(started.elapsed()))
}

/// The machine checks asked for (both without flags): their findings and what they looked at.
fn machine_hygiene(
    engine: &Engine,
    args: &AuditArgs,
) -> Result<(Vec<tokenwarden::hygiene::HygieneFinding>, Vec<String>)> {
    let both = !args.processes && args.home.is_none();
    let mut hygiene = Vec::new();
    let mut roots = Vec::new();
    if args.processes || both {
        hygiene.extend(tokenwarden::hygiene::machine::processes(
            engine,
            Path::new("/proc"),
        ));
        roots.push("/proc".to_string());
    }
    if args.home.is_some() || both {
        let dir = match args.home.clone().flatten() {
            Some(d) => d,
            None => std::env::var_os("HOME")
                .map(PathBuf::from)
                .context("HOME is not set; give the directory: --home DIR")?,
        };
        hygiene.extend(tokenwarden::hygiene::machine::home(&dir));
        roots.push(dir.display().to_string());
    }
    Ok((hygiene, roots))
}

/// Writes the report in the asked format (never with secrets: an audit report travels).
fn emit_report(
    args: &AuditArgs,
    engine: &Engine,
    result: &ScanResult,
    roots: Vec<String>,
) -> Result<()> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let ctx = ReportContext {
        rules: engine.rules(),
        roots,
        show_secrets: false,
        fail_on: args.fail_on.unwrap_or(Severity::Low),
        color: use_color(args.color, to_terminal),
        notes: Vec::new(),
        repo: None,
        shard: None,
    };
    emit(args.format, result, &ctx, args.output.as_deref())
}

/// The machine audit: command lines and home token stores.
fn machine(args: &AuditArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let set = load_rules(&RuleArgs::default(), None, &mut Vec::new())?;
    let engine = Engine::new(&set, EngineOptions::default())?;
    let (hygiene, roots) = machine_hygiene(&engine, args)?;
    let result = ScanResult {
        hygiene,
        elapsed: started.elapsed(),
        ..ScanResult::default()
    };
    let fail_on = args.fail_on.unwrap_or(Severity::Low);
    emit_report(args, &engine, &result, roots)?;
    Ok(if result.failed(fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
