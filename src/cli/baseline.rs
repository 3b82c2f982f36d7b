//! `tokenwarden baseline create|update`: record what a scan reports now.

use super::output::fingerprinter;
use super::scan::{ScanArgs, ScanPlan, Scanned};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tokenwarden::report;

#[derive(Subcommand)]
pub(crate) enum BaselineCommand {
    /// Write a new baseline (refuses to overwrite one).
    Create(Box<BaselineArgs>),
    /// Rewrite a baseline with what the scan reports now (adds new findings, drops fixed ones).
    Update(Box<BaselineArgs>),
}

#[derive(Args)]
pub(crate) struct BaselineArgs {
    /// The baseline file.
    #[arg(
        long,
        value_name = "FILE",
        default_value = ".tokenwarden-baseline.json"
    )]
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) scan: ScanArgs,
}

/// `tokenwarden baseline create|update`: everything the scan reports now becomes known.
pub(crate) fn write_baseline(args: &BaselineArgs, update: bool) -> Result<ExitCode> {
    let fp = fingerprinter();
    let Scanned { result, .. } = ScanPlan::resolve(&args.scan)?.scan()?;
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

/// `tokenwarden baseline …`.
pub(crate) fn run(cmd: BaselineCommand) -> Result<ExitCode> {
    match cmd {
        BaselineCommand::Create(a) => write_baseline(&a, false),
        BaselineCommand::Update(a) => write_baseline(&a, true),
    }
}
