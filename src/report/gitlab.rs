//! GitLab's secret-detection report (`gl-secret-detection-report.json`, schema 15.0.4), which
//! GitLab reads from `artifacts:reports:secret_detection` into merge-request widgets, the
//! pipeline security tab and the vulnerability report.
//!
//! One vulnerability per place a secret was seen (GitLab tracks vulnerabilities by location);
//! the `id` is derived from the fingerprint and the place, so it is stable across pipelines.
//! The report never holds a secret: no `raw_source_code_extract` (GitLab's own analyzer puts
//! the secret there), only the redacted preview and the keyed fingerprint.

use super::{ReportContext, VERSION};
use crate::finding::{Finding, Location};
use crate::hygiene::HygieneFinding;
use crate::outcome::ScanResult;
use crate::rules::Severity;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Write;

/// The schema version written.
pub const SCHEMA_VERSION: &str = "15.0.4";

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "Info",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

/// A UUID-shaped id from a hash: stable for the same secret at the same place.
fn stable_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = hex::encode(&h.finalize()[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &d[..8],
        &d[8..12],
        &d[12..16],
        &d[16..20],
        &d[20..32]
    )
}

/// `yyyy-mm-ddThh:mm:ss` in UTC, as the schema wants it (no zone suffix).
fn schema_time(t: std::time::SystemTime) -> String {
    let s = humantime::format_rfc3339_seconds(t).to_string();
    s.trim_end_matches('Z').to_string()
}

/// The commit a location belongs to: its own (history), HEAD (staged, git scans), GitLab's
/// `CI_COMMIT_SHA` (a tree scan in a pipeline), else the placeholder GitLab's analyzer uses.
fn commit_of(loc: Option<&Location>, ctx: &ReportContext) -> Value {
    if let Some(g) = loc.and_then(|l| l.git.as_ref())
        && !g.commit.is_empty()
    {
        return json!({
            "sha": g.commit,
            "author": format!("{} <{}>", g.author, g.email),
            "date": schema_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(g.time.max(0) as u64)),
            "message": g.summary,
        });
    }
    let sha = ctx
        .repo
        .as_ref()
        .and_then(|r| r.revision.clone())
        .or_else(|| {
            std::env::var("CI_COMMIT_SHA")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "0000000".to_string());
    json!({ "sha": sha })
}

fn identifier(rule_id: &str, kind: &str, url: Option<&str>) -> Value {
    let mut id = json!({
        "type": kind,
        "name": format!("tokenwarden {rule_id}"),
        "value": rule_id,
    });
    if let Some(u) = url.filter(|u| u.starts_with("http://") || u.starts_with("https://")) {
        id["url"] = json!(u);
    }
    id
}

fn finding_vulns(f: &Finding, ctx: &ReportContext, out: &mut Vec<Value>) {
    let mut details = serde_json::Map::new();
    details.insert(
        "fingerprint".into(),
        json!({"name": "Fingerprint", "type": "text", "value": f.fingerprint}),
    );
    details.insert(
        "preview".into(),
        json!({"name": "Redacted preview", "type": "text", "value": f.preview}),
    );
    let live = match &f.verification {
        Some(v) => format!("{}: {}", f.liveness.as_str(), v.reason),
        None => f.liveness.as_str().to_string(),
    };
    details.insert(
        "liveness".into(),
        json!({"name": "Liveness", "type": "text", "value": live}),
    );
    let description = format!(
        "{} found ({}, confidence {}). Fingerprint {}; preview {}. Liveness: {}.",
        f.rule_name,
        f.facility,
        f.confidence.as_str(),
        f.fingerprint,
        f.preview,
        live
    );
    let mut links = Vec::new();
    if let Some(u) = f
        .help_url
        .as_deref()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    {
        links.push(json!({"url": u}));
    }
    for loc in &f.locations {
        let commit = commit_of(Some(loc), ctx);
        let path = loc
            .git
            .as_ref()
            .map(|g| g.path.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or(&loc.path);
        let id = stable_id(&[
            &f.fingerprint,
            path,
            &loc.line.to_string(),
            commit["sha"].as_str().unwrap_or(""),
        ]);
        out.push(json!({
            "id": id,
            "category": "secret_detection",
            "name": truncate(&f.rule_name, 255),
            "description": description,
            "severity": severity(f.severity),
            "solution": truncate(&f.remediation, 7000),
            "identifiers": [identifier(&f.rule_id, "tokenwarden_rule_id", f.help_url.as_deref())],
            "links": links,
            "details": details,
            "location": {
                "file": path,
                "start_line": loc.line,
                "end_line": loc.end_line,
                "commit": commit,
            },
        }));
    }
}

fn hygiene_vuln(h: &HygieneFinding, ctx: &ReportContext) -> Value {
    let commit = match &h.commit {
        Some(c) => json!({"sha": c.id, "author": c.author}),
        None => commit_of(None, ctx),
    };
    let mut location = json!({"file": h.path, "commit": commit});
    if let Some(l) = h.line {
        location["start_line"] = json!(l);
        location["end_line"] = json!(l);
    }
    json!({
        "id": stable_id(&[&h.check, &h.path, &h.line.unwrap_or(0).to_string()]),
        "category": "secret_detection",
        "name": truncate(&h.check, 255),
        "description": truncate(&h.message, 1_048_576),
        "severity": severity(h.severity),
        "solution": truncate(&h.fix, 7000),
        "identifiers": [identifier(&h.check, "tokenwarden_check", None)],
        "location": location,
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    s.chars().take(max.saturating_sub(1)).chain(['…']).collect()
}

/// The report document.
pub(super) fn document(result: &ScanResult, ctx: &ReportContext) -> Value {
    let end = std::time::SystemTime::now();
    let start = end.checked_sub(result.elapsed).unwrap_or(end);
    let mut vulns = Vec::new();
    for f in &result.findings {
        finding_vulns(f, ctx, &mut vulns);
    }
    for h in &result.hygiene {
        vulns.push(hygiene_vuln(h, ctx));
    }
    let tool = json!({
        "id": "tokenwarden",
        "name": "tokenwarden",
        "version": VERSION,
        "vendor": {"name": "tokenwarden"},
    });
    let messages: Vec<Value> = result
        .warnings
        .iter()
        .map(|w| {
            let v = if w.path.is_empty() {
                w.message.clone()
            } else {
                format!("{}: {}", w.path, w.message)
            };
            json!({"level": "warn", "value": v})
        })
        .collect();
    json!({
        "version": SCHEMA_VERSION,
        "scan": {
            "analyzer": tool,
            "scanner": tool,
            "type": "secret_detection",
            "start_time": schema_time(start),
            "end_time": schema_time(end),
            "status": "success",
            "messages": messages,
        },
        "vulnerabilities": vulns,
    })
}

pub(super) fn write(
    result: &ScanResult,
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    super::write_pretty(&document(result, ctx), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_uuid_shaped() {
        let a = stable_id(&["tw1:x", "a.env", "3", "abc"]);
        assert_eq!(a, stable_id(&["tw1:x", "a.env", "3", "abc"]));
        assert_ne!(a, stable_id(&["tw1:x", "a.env", "4", "abc"]));
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
    }

    #[test]
    fn times_have_no_zone_suffix() {
        let t = schema_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000));
        assert_eq!(t, "2023-11-14T22:13:20");
    }
}
