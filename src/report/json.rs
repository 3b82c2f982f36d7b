//! JSON and JSON Lines.

use super::{ReportContext, VERSION, severity_counts};
use crate::finding::Finding;
use crate::scan::ScanResult;
use serde_json::{Value, json};
use std::io::Write;

fn finding_value(f: &Finding, show_secrets: bool) -> Value {
    let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
    if show_secrets && let Value::Object(m) = &mut v {
        m.insert("secret".into(), Value::String(f.secret.reveal()));
    }
    v
}

pub(super) fn document(result: &ScanResult, ctx: &ReportContext) -> Value {
    let counts: serde_json::Map<String, Value> = severity_counts(result)
        .into_iter()
        .map(|(s, n)| (s.to_string(), json!(n)))
        .collect();
    json!({
        "tool": {"name": "tokenwarden", "version": VERSION},
        "roots": ctx.roots,
        "shard": ctx.shard,
        "summary": {
            "findings": result.findings.len(),
            "by_severity": counts,
            "fail_on": ctx.fail_on,
            "failed": result.failed(ctx.fail_on),
            "hygiene": result.hygiene.len(),
            "suppressed": result.suppressed.len(),
            "warnings": result.warnings.len(),
            "elapsed_ms": result.elapsed.as_millis() as u64,
            "notes": ctx.notes,
        },
        "stats": result.stats,
        "findings": result.findings.iter().map(|f| finding_value(f, ctx.show_secrets)).collect::<Vec<_>>(),
        "hygiene": result.hygiene,
        "suppressed": result.suppressed,
        "warnings": result.warnings,
    })
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
        serde_json::to_writer(&mut *out, &finding_value(f, ctx.show_secrets))?;
        writeln!(out)?;
    }
    // Hygiene findings carry a `check` where secret findings carry a `rule_id`.
    for h in &result.hygiene {
        serde_json::to_writer(&mut *out, h)?;
        writeln!(out)?;
    }
    Ok(())
}
