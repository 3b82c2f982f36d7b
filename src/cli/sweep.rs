//! `tokenwarden sweep plan|status`: a facility-wide sweep as a Slurm job array. `plan` writes
//! an `sbatch` array script (one task per shard, each writing its JSON report), a merge script
//! to run after it, and a manifest; `status` names the shards that have no report yet and the
//! `sbatch --array=…` that re-runs only those (resuming after a node failure).

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `tokenwarden sweep` commands.
#[derive(Subcommand)]
pub enum SweepCommand {
    /// Write the job-array script, the merge script and the manifest into DIR.
    Plan(PlanArgs),
    /// Which shards have no report yet, and how to re-run only those.
    Status {
        /// The sweep directory.
        dir: PathBuf,
    },
}

/// `sweep plan` flags.
#[derive(Args)]
pub struct PlanArgs {
    /// The targets: repositories or directories, one per line.
    #[arg(long, value_name = "FILE")]
    targets: PathBuf,
    /// How many array tasks (shards).
    #[arg(long, value_name = "N")]
    shards: u32,
    /// The sweep directory (reports, logs, scripts).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Scan each target's git history too (one repository per target).
    #[arg(long)]
    git: bool,
    /// `#SBATCH --time`.
    #[arg(long, default_value = "02:00:00")]
    time: String,
    /// `#SBATCH --mem`.
    #[arg(long, default_value = "4G")]
    mem: String,
    /// `#SBATCH --cpus-per-task`.
    #[arg(long, default_value_t = 2)]
    cpus: u32,
    /// `#SBATCH --partition`.
    #[arg(long)]
    partition: Option<String>,
    /// `#SBATCH --account`.
    #[arg(long)]
    account: Option<String>,
}

/// What `status` needs to know about a planned sweep.
#[derive(Serialize, Deserialize)]
struct Manifest {
    shards: u32,
    targets: String,
    git: bool,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Slurm option values go into `#SBATCH` lines: one word each, nothing a shell would read.
fn plain(what: &str, v: &str) -> Result<()> {
    if v.is_empty()
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:.,".contains(c))
    {
        bail!("--{what} {v:?}: letters, digits and - _ : . , only");
    }
    Ok(())
}

/// Runs `tokenwarden sweep …`.
pub fn run(cmd: SweepCommand) -> Result<ExitCode> {
    match cmd {
        SweepCommand::Plan(a) => plan(&a),
        SweepCommand::Status { dir } => status(&dir),
    }
}

fn plan(a: &PlanArgs) -> Result<ExitCode> {
    if a.shards == 0 {
        bail!("--shards must be at least 1");
    }
    if a.cpus == 0 {
        bail!("--cpus must be at least 1");
    }
    plain("time", &a.time)?;
    plain("mem", &a.mem)?;
    // Checked here, not when sbatch reads them hours later in a queue: a typo must not cost a
    // facility-wide sweep its place.
    tokenwarden::facilities::slurm::parse_time_limit(&a.time)
        .with_context(|| format!("--time {:?}", a.time))?;
    tokenwarden::facilities::slurm::parse_memory(&a.mem)
        .with_context(|| format!("--mem {:?}", a.mem))?;
    if let Some(p) = &a.partition {
        plain("partition", p)?;
    }
    if let Some(p) = &a.account {
        plain("account", p)?;
    }
    let targets = std::fs::canonicalize(&a.targets)
        .with_context(|| format!("cannot read the targets file {}", a.targets.display()))?;
    let listed = tokenwarden::shard::read_targets(&std::fs::read_to_string(&targets)?);
    if listed.is_empty() {
        bail!("{} lists no targets", targets.display());
    }
    std::fs::create_dir_all(a.out.join("logs"))
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let out = std::fs::canonicalize(&a.out)?;
    let exe = std::env::current_exe().context("cannot find the tokenwarden binary")?;
    let (tw, t, o) = (
        shell_quote(&exe.display().to_string()),
        shell_quote(&targets.display().to_string()),
        out.display().to_string(),
    );
    let mut head = format!(
        "#!/bin/bash\n#SBATCH --job-name=tokenwarden-sweep\n#SBATCH --array=0-{}\n\
         #SBATCH --output={o}/logs/shard-%a.log\n#SBATCH --time={}\n#SBATCH --mem={}\n\
         #SBATCH --cpus-per-task={}\n",
        a.shards - 1,
        a.time,
        a.mem,
        a.cpus
    );
    for (k, v) in [("partition", &a.partition), ("account", &a.account)] {
        if let Some(v) = v {
            head.push_str(&format!("#SBATCH --{k}={v}\n"));
        }
    }
    let git = if a.git { " --git" } else { "" };
    let sweep = format!(
        "{head}\n# tokenwarden sweep: {n} targets in {s} shards. Each task writes its report\n\
         # atomically; a task with no report is re-run with `tokenwarden sweep status {o}`.\n\
         set -uo pipefail\nid=\"${{SLURM_ARRAY_TASK_ID:?run this with sbatch}}\"\n\
         {tw} scan --targets {t}{git} --shard \"$id/{s}\" --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" \\\n\
         \x20 --no-progress --color never --format json --output {q}/shard-\"$id\".json\n\
         rc=$?\n# 1 means findings, which is a finished shard; 2 means the shard could not be scanned.\n\
         [ \"$rc\" -le 1 ]\n",
        n = listed.len(),
        s = a.shards,
        q = shell_quote(&o),
    );
    let merge = format!(
        "#!/bin/bash\n#SBATCH --job-name=tokenwarden-merge\n#SBATCH --output={o}/logs/merge.log\n\
         #SBATCH --time=00:30:00\n#SBATCH --mem={}\n\
         # Submit after the array: sbatch --dependency=afterany:<array job id> {o}/merge.sbatch\n\
         set -uo pipefail\ncd {q}\n\
         {tw} merge shard-*.json --format json --output merged.json\nrc=$?\n\
         {tw} merge shard-*.json --format sarif --output merged.sarif\n\
         {tw} sweep status {q}\nexit $rc\n",
        a.mem,
        q = shell_quote(&o),
    );
    tokenwarden::private_file::write(&out.join("sweep.sbatch"), sweep.as_bytes())?;
    tokenwarden::private_file::write(&out.join("merge.sbatch"), merge.as_bytes())?;
    let manifest = Manifest {
        shards: a.shards,
        targets: targets.display().to_string(),
        git: a.git,
    };
    tokenwarden::private_file::write(
        &out.join("sweep.json"),
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    outln!(
        "{} targets in {} shards. Submit:\n  jid=$(sbatch --parsable {o}/sweep.sbatch)\n  \
         sbatch --dependency=afterany:$jid {o}/merge.sbatch",
        listed.len(),
        a.shards
    );
    Ok(ExitCode::SUCCESS)
}

fn status(dir: &Path) -> Result<ExitCode> {
    let m: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join("sweep.json"))
            .with_context(|| format!("{} holds no sweep.json: not a sweep", dir.display()))?,
    )?;
    let missing: Vec<u32> = (0..m.shards)
        .filter(|i| !dir.join(format!("shard-{i}.json")).is_file())
        .collect();
    if missing.is_empty() {
        outln!("all {} shards have a report", m.shards);
        return Ok(ExitCode::SUCCESS);
    }
    let list: Vec<String> = missing.iter().map(u32::to_string).collect();
    outln!(
        "{} of {} shards have no report: {}\nre-run only those:\n  sbatch --array={} {}",
        missing.len(),
        m.shards,
        list.join(", "),
        list.join(","),
        dir.join("sweep.sbatch").display()
    );
    Ok(ExitCode::from(1))
}
