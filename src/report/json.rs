//! JSON and JSON Lines.

use super::{ReportContext, VERSION, severity_counts};
use crate::finding::{Finding, Suppressed};
use crate::hygiene::HygieneFinding;
use crate::outcome::ScanResult;
use crate::rules::Severity;
use crate::shard::Shard;
use crate::sources::{Stats, Warning};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;

/// The JSON report, as written by `scan --format json` and read back by `merge`: one type, so
/// the two cannot drift. Written through a `serde_json::Value`, whose objects keep their keys
/// sorted, so the document's layout does not depend on the order fields are declared in.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct JsonReport {
    /// The tool that wrote it.
    #[serde(default)]
    pub tool: Tool,
    /// The scan roots as given.
    #[serde(default)]
    pub roots: Vec<String>,
    /// The shard this report covers, when the scan was one of N.
    #[serde(default)]
    pub shard: Option<Shard>,
    /// Counts, the threshold and its verdict (not read back: `merge` recomputes them).
    #[serde(default)]
    pub summary: Summary,
    /// Counters.
    #[serde(default)]
    pub stats: Stats,
    /// Findings, most severe first.
    #[serde(default)]
    pub findings: Vec<ReportedFinding>,
    /// Hygiene findings.
    #[serde(default)]
    pub hygiene: Vec<HygieneFinding>,
    /// Matches silenced by inline allow comments.
    #[serde(default)]
    pub suppressed: Vec<Suppressed>,
    /// Problems with single inputs.
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

/// The tool's name and version.
#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Tool {
    /// `tokenwarden`.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "tokenwarden".into(),
            version: VERSION.into(),
        }
    }
}

/// The report's summary.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// How many findings.
    pub findings: usize,
    /// How many at each severity that has any, by severity name.
    pub by_severity: BTreeMap<String, usize>,
    /// The fail threshold.
    pub fail_on: Severity,
    /// Whether something is at or above it.
    pub failed: bool,
    /// How many hygiene findings.
    pub hygiene: usize,
    /// How many suppressed matches.
    pub suppressed: usize,
    /// How many warnings.
    pub warnings: usize,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Notes about the configuration.
    pub notes: Vec<String>,
}

/// A finding as reported: the secret itself only in a `--show-secrets` report.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReportedFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The secret in full, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl ReportedFinding {
    fn of(f: &Finding, show_secrets: bool) -> Self {
        ReportedFinding {
            finding: f.clone(),
            secret: show_secrets.then(|| f.secret.reveal()),
        }
    }
}

impl JsonReport {
    /// The report of `result`.
    pub fn of(result: &ScanResult, ctx: &ReportContext) -> Self {
        JsonReport {
            tool: Tool::default(),
            roots: ctx.roots.clone(),
            shard: ctx.shard,
            summary: Summary {
                findings: result.findings.len(),
                by_severity: severity_counts(result)
                    .into_iter()
                    .map(|(s, n)| (s.to_string(), n))
                    .collect(),
                fail_on: ctx.fail_on,
                failed: result.failed(ctx.fail_on),
                hygiene: result.hygiene.len(),
                suppressed: result.suppressed.len(),
                warnings: result.warnings.len(),
                elapsed_ms: result.elapsed.as_millis() as u64,
                notes: ctx.notes.clone(),
            },
            stats: result.stats.clone(),
            findings: result
                .findings
                .iter()
                .map(|f| ReportedFinding::of(f, ctx.show_secrets))
                .collect(),
            hygiene: result.hygiene.clone(),
            suppressed: result.suppressed.clone(),
            warnings: result.warnings.clone(),
        }
    }
}

pub(super) fn document(result: &ScanResult, ctx: &ReportContext) -> Value {
    serde_json::to_value(JsonReport::of(result, ctx)).unwrap_or(Value::Null)
}

pub(super) fn write(
    result: &ScanResult,
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    super::write_pretty(&document(result, ctx), out)
}

pub(super) fn write_lines(
    result: &ScanResult,
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for f in &result.findings {
        let v = serde_json::to_value(ReportedFinding::of(f, ctx.show_secrets));
        serde_json::to_writer(&mut *out, &v.unwrap_or(Value::Null))?;
        writeln!(out)?;
    }
    // Hygiene findings carry a `check` where secret findings carry a `rule_id`.
    for h in &result.hygiene {
        serde_json::to_writer(&mut *out, h)?;
        writeln!(out)?;
    }
    Ok(())
}
