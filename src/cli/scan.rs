//! `tokenwarden scan`: the flags, the scan they ask for, and its report and exit code.

use super::output::{ColorChoice, emit, fingerprinter, use_color};
use super::rules::{RuleArgs, load_rules};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokenwarden::policy::apply_allowlist;
use tokenwarden::repo_config::Config;
use tokenwarden::report::{self, Format, ReportContext};
use tokenwarden::sources::fs::WalkOptions;
use tokenwarden::sources::git::GitOptions;
use tokenwarden::text::printable;
use tokenwarden::{Confidence, Engine, EngineOptions, ScanRequest, Severity, Target};

#[derive(Args)]
pub(crate) struct ScanArgs {
    /// Directories or files to scan (with --git or --staged: a path inside the repository).
    #[arg(default_value = ".")]
    pub(crate) paths: Vec<PathBuf>,
    /// Read more paths from FILE, one per line (`#` comments): the targets of a sweep.
    #[arg(long, value_name = "FILE")]
    pub(crate) targets: Option<PathBuf>,
    /// Scan only shard I of N (0-based): several paths are split by path, one directory by
    /// its top-level entries, one repository's history (--git) by blob. N runs with I = 0..N
    /// cover everything exactly once (`--shard $SLURM_ARRAY_TASK_ID/N`).
    #[arg(long, value_name = "I/N", conflicts_with = "staged")]
    pub(crate) shard: Option<tokenwarden::shard::Shard>,
    /// Scan the whole git history (every ref; each blob once) instead of the files on disk.
    #[arg(long, conflicts_with = "staged")]
    pub(crate) git: bool,
    /// With --git: also scan objects that no ref reaches any more.
    #[arg(long, requires = "git")]
    pub(crate) all_objects: bool,
    /// With --git: only commits reachable from HEAD but not from REV (e.g. origin/main).
    #[arg(long, requires = "git", value_name = "REV")]
    pub(crate) since: Option<String>,
    /// With --git: only the commits in A..B.
    #[arg(long, requires = "git", conflicts_with = "since", value_name = "A..B")]
    pub(crate) range: Option<String>,
    /// With --git: only commits made on or after DATE (YYYY-MM-DD or RFC 3339).
    #[arg(long, requires = "git", value_name = "DATE", value_parser = parse_date)]
    pub(crate) since_date: Option<i64>,
    /// With --git: skip, with a warning, blobs larger than this [default: 256M].
    #[arg(long, requires = "git", value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_blob_size: Option<u64>,
    /// Scan only what is staged for the next commit (the pre-commit hook runs this).
    #[arg(long)]
    pub(crate) staged: bool,
    /// Report format.
    #[arg(short, long, value_enum, default_value = "text")]
    pub(crate) format: Format,
    /// Write the report to FILE (created 0600, atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Print secrets in full. Off by default: reports and logs travel further than you expect.
    #[arg(long)]
    pub(crate) show_secrets: bool,
    /// Ask each secret's issuer whether it is alive (network; side-effect free; each secret
    /// once). Endpoints come only from the built-in ones and your own config file.
    #[arg(long)]
    pub(crate) verify: bool,
    /// With --verify: the write-ahead audit log of every call [default:
    /// $XDG_STATE_HOME/tokenwarden/audit.jsonl].
    #[arg(long, requires = "verify", value_name = "FILE")]
    pub(crate) audit_log: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: low].
    #[arg(long, value_name = "LEVEL")]
    pub(crate) fail_on: Option<Severity>,
    /// Report findings at or above this confidence [default: medium].
    #[arg(long, value_name = "LEVEL")]
    pub(crate) min_confidence: Option<Confidence>,
    /// Fail the run (exit 2) when a file or directory met during the walk could not be read
    /// [default: `fail_on_unreadable` in .tokenwarden.toml, else off: they are warnings, counted
    /// in the summary]. A path named on the command line that cannot be read always fails.
    #[arg(long)]
    pub(crate) fail_on_unreadable: bool,
    /// Read files that .gitignore excludes.
    #[arg(long)]
    pub(crate) no_ignore: bool,
    /// Ignore `tokenwarden:allow` comments (for CI that keeps every exception in a reviewed
    /// baseline or config).
    #[arg(long)]
    pub(crate) no_inline_allow: bool,
    /// Report only findings that are not in this baseline (see `tokenwarden baseline`)
    /// [default: `baseline` in .tokenwarden.toml].
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Skip the hygiene checks (credential files not gitignored, tracked or ever committed;
    /// code that reads a .env the repository does not ignore).
    #[arg(long)]
    pub(crate) no_hygiene: bool,
    /// Follow symbolic links (loops are reported, not followed forever).
    #[arg(long)]
    pub(crate) follow: bool,
    /// Skip, with a warning, files larger than this (bytes; K, M, G suffixes).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_file_size: Option<u64>,
    /// Exclude paths matching a gitignore-style glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub(crate) threads: usize,
    /// Use this config file instead of <root>/.tokenwarden.toml.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Ignore any .tokenwarden.toml in the scanned tree.
    #[arg(long, conflicts_with = "config")]
    pub(crate) no_config: bool,
    /// Do not show the progress line on stderr (it only appears on a terminal anyway).
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// Colour: auto (terminal and no NO_COLOR), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) color: ColorChoice,
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
}

pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
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

pub(crate) fn parse_date(s: &str) -> Result<i64, String> {
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

/// Everything `scan` (and `baseline`) will do, resolved once from the flags and the config:
/// the flags are [`ScanArgs`] as typed (ripgrep's "low" arguments), this is what they mean
/// (its "high" arguments). Nothing after [`ScanPlan::resolve`] reads a flag again.
pub(crate) struct ScanPlan {
    /// The rules, compiled.
    pub(crate) engine: Engine,
    /// The scan itself.
    request: ScanRequest,
    /// The config that applied, if any (its allow entries are applied after the scan).
    config: Option<Config>,
    /// Notes for the report's summary.
    notes: Vec<String>,
    /// `--baseline`; without it, the config's `baseline`, resolved when it is applied (only
    /// `scan` applies one: `baseline create` writes the file the config names).
    baseline: Option<PathBuf>,
    /// `--verify`: the audit log to write (`None` inside: the default one).
    verify: Option<Option<PathBuf>>,
    /// Show the progress line, counting these units.
    progress: Option<&'static str>,
    /// The exit threshold.
    fail_on: Severity,
    /// Unreadable inputs fail the run.
    fail_on_unreadable: bool,
    /// The path of the repository to describe in the report (git and staged scans).
    repo: Option<PathBuf>,
    /// Staged scans say how to unblock the commit.
    staged: bool,
    format: Format,
    output: Option<PathBuf>,
    show_secrets: bool,
    color: ColorChoice,
}

/// A scan done, before it is reported.
pub(crate) struct Scanned {
    pub(crate) result: tokenwarden::ScanResult,
    pub(crate) notes: Vec<String>,
}

impl ScanPlan {
    /// Reads the config, the targets file and the rules, and turns every flag into what it
    /// means.
    pub(crate) fn resolve(args: &ScanArgs) -> Result<ScanPlan> {
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
        let request = ScanRequest {
            target,
            roots,
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
        let fail_on_unreadable = args.fail_on_unreadable
            || config
                .as_ref()
                .is_some_and(|c| c.fail_on_unreadable == Some(true));
        Ok(ScanPlan {
            engine,
            request,
            config,
            notes,
            baseline: args.baseline.clone(),
            verify: args.verify.then(|| args.audit_log.clone()),
            progress: (!args.no_progress && std::io::stderr().is_terminal())
                .then_some(if args.git { "blobs" } else { "files" }),
            fail_on,
            fail_on_unreadable,
            repo: if args.git || args.staged {
                args.paths.first().cloned()
            } else {
                None
            },
            staged: args.staged,
            format: args.format,
            output: args.output.clone(),
            show_secrets: args.show_secrets,
            color: args.color,
        })
    }

    /// Scans, with the config's allow entries applied and, with `--verify`, the liveness
    /// checked; warnings printed.
    pub(crate) fn scan(&self) -> Result<Scanned> {
        let mut req = self.request.clone();
        let mut notes = self.notes.clone();
        let progress = self.progress.map(|unit| Progress::start(&mut req, unit));
        let result = tokenwarden::scan(&self.engine, &req);
        if let Some(p) = progress {
            p.finish();
        }
        let mut result = result?;
        if let Some(c) = &self.config {
            apply_allowlist(&mut result, &c.allow, &mut notes);
        }
        if let Some(audit_log) = &self.verify {
            let lc = super::audit::open_lifecycle(audit_log.as_deref())?;
            super::audit::verify_all(&lc, &mut result.findings, &req.roots, 4)?;
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
        if let Some(sh) = self.request.walk.shard {
            notes.push(format!(
                "shard {sh}: this run covers only its part of the targets"
            ));
        }
        Ok(Scanned { result, notes })
    }

    /// Leaves out what the baseline knows, and says so in the notes.
    fn apply_baseline(&self, scanned: &mut Scanned) -> Result<()> {
        let path = match (&self.baseline, &self.config) {
            (Some(b), _) => Some(b.clone()),
            (None, Some(c)) => c.baseline.as_ref().map(|b| c.resolve(b)).transpose()?,
            (None, None) => None,
        };
        let Some(path) = &path else {
            return Ok(());
        };
        let b = report::baseline::Baseline::load(path, &self.request.fingerprinter)?;
        let applied = b.apply(&mut scanned.result);
        scanned.notes.push(format!(
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
        Ok(())
    }

    /// Writes the scan's report and says what the exit code is.
    fn report(&self, scanned: Scanned) -> Result<ExitCode> {
        let Scanned { result, notes } = scanned;
        let to_terminal = self.output.is_none() && std::io::stdout().is_terminal();
        let ctx = ReportContext {
            rules: self.engine.rules(),
            roots: self
                .request
                .roots
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            show_secrets: self.show_secrets,
            fail_on: self.fail_on,
            color: use_color(self.color, to_terminal),
            notes,
            repo: self
                .repo
                .as_ref()
                .and_then(|p| tokenwarden::sources::git::describe(p)),
            shard: self.request.walk.shard,
        };
        emit(self.format, &result, &ctx, self.output.as_deref())?;
        let unreadable = result.stats.unreadable;
        if unreadable > 0 && self.fail_on_unreadable {
            eprintln!(
                "tokenwarden: error: {unreadable} file(s) or director(ies) could not be read \
                 (see the warnings above); with --fail-on-unreadable that fails the run"
            );
            return Ok(ExitCode::from(2));
        }
        let failed = result.failed(self.fail_on);
        if failed && self.staged {
            eprintln!("{}", commit_blocked(self.repo.as_deref()));
        }
        Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
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

/// `tokenwarden scan`.
pub(crate) fn run(args: ScanArgs) -> Result<ExitCode> {
    let plan = ScanPlan::resolve(&args)?;
    let mut scanned = plan.scan()?;
    plan.apply_baseline(&mut scanned)?;
    plan.report(scanned)
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

/// A progress line on stderr, fed by the walk's live counters, for scans long enough to wonder.
pub(crate) struct Progress {
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
