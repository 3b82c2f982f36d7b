//! `tokenwarden merge`: one report from a sweep's shard reports.

use super::output::{ColorChoice, emit, use_color};
use super::rules::{RuleArgs, load_rules};
use anyhow::Result;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use tokenwarden::report::{self, Format, ReportContext};
use tokenwarden::{Engine, EngineOptions, Severity};

#[derive(Args)]
pub(crate) struct MergeArgs {
    /// The shard reports (JSON).
    #[arg(required = true)]
    pub(crate) reports: Vec<PathBuf>,
    /// Report format.
    #[arg(short, long, value_enum, default_value = "text")]
    pub(crate) format: Format,
    /// Write the report to FILE (created 0600, atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: low].
    #[arg(long, value_name = "LEVEL")]
    pub(crate) fail_on: Option<Severity>,
}

/// `tokenwarden merge`: one report from a sweep's shard reports.
pub(crate) fn run(args: &MergeArgs) -> Result<ExitCode> {
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
