//! Reports: text, JSON, JSON Lines, SARIF 2.1.0 and GitLab's secret-detection report.
//!
//! Every format redacts secrets unless the user asked for `--show-secrets`; fingerprints are
//! keyed hashes, so a report can be shared without sharing the secrets in it.

pub mod baseline;
mod gitlab;
mod json;
pub use json::{JsonReport, ReportedFinding};
pub mod merge;
mod sarif;
mod text;

use crate::outcome::ScanResult;
use crate::rules::{Rule, Severity};
use std::io::Write;

pub use gitlab::SCHEMA_VERSION as GITLAB_SCHEMA_VERSION;
pub use sarif::security_severity;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable at a glance; coloured on a terminal.
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per finding, one per line.
    Jsonl,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitLab secret-detection report (schema 15), for `artifacts:reports:secret_detection`.
    Gitlab,
}

/// Everything a report needs besides the findings.
pub struct ReportContext<'a> {
    /// The rules that were active.
    pub rules: &'a [Rule],
    /// The scan roots as given.
    pub roots: Vec<String>,
    /// Print secrets in full.
    pub show_secrets: bool,
    /// The fail threshold.
    pub fail_on: Severity,
    /// Whether the text report may use colour.
    pub color: bool,
    /// Notes about the configuration (config file used, exclusions) shown in the summary.
    pub notes: Vec<String>,
    /// The repository, for git scans.
    pub repo: Option<crate::sources::git::RepoInfo>,
    /// The shard this report covers, when the scan was one of N (`--shard`).
    pub shard: Option<crate::shard::Shard>,
}

/// The tool's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Writes `result` in `format`.
pub fn write(
    format: Format,
    result: &ScanResult,
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Text => text::write(result, ctx, out),
        Format::Json => json::write(result, ctx, out),
        Format::Jsonl => json::write_lines(result, ctx, out),
        Format::Sarif => sarif::write(result, ctx, out),
        Format::Gitlab => gitlab::write(result, ctx, out),
    }
}

/// One JSON document, pretty-printed, with a final newline.
fn write_pretty(value: &serde_json::Value, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// Counts of findings by severity, highest first, for summaries.
pub fn severity_counts(result: &ScanResult) -> Vec<(Severity, usize)> {
    Severity::ALL
        .iter()
        .rev()
        .map(|&s| {
            (
                s,
                result.findings.iter().filter(|f| f.severity == s).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}
