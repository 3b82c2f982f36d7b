//! SARIF 2.1.0 via `serde-sarif`, shaped for GitHub code scanning.
//!
//! One result per place a secret was seen (code scanning shows a result's first location only),
//! each with `partialFingerprints` built from the secret's keyed fingerprint and the path, so an
//! alert survives line moves. Columns are Unicode code points (`columnKind`), URIs are relative
//! to `%SRCROOT%` and percent-encoded.

use super::{ReportContext, VERSION};
use crate::finding::{Finding, Location as FLocation};
use crate::hygiene::{CHECKS, HygieneFinding};
use crate::outcome::ScanResult;
use crate::rules::{Confidence, Rule, Severity};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SResult, ResultLevel, Run, Sarif, Tool, ToolComponent, VersionControlDetails,
};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// Characters escaped in relative URIs (RFC 3986: everything but unreserved and `/`).
const URI_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b':');

fn uri(path: &str) -> String {
    utf8_percent_encode(path, URI_ESCAPE).to_string()
}

/// GitHub's `security-severity` score for a severity.
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

fn level_str(s: Severity) -> &'static str {
    match level(s) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        _ => "note",
    }
}

fn precision(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

fn props(map: serde_json::Value, tags: Option<Vec<String>>) -> PropertyBag {
    let additional: BTreeMap<String, serde_json::Value> = match map {
        serde_json::Value::Object(m) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    PropertyBag {
        tags,
        additional_properties: additional,
    }
}

/// One rule descriptor: what GitHub code scanning reads (`security-severity`, precision,
/// level, help) for secret rules and hygiene checks alike.
fn reporting_descriptor(
    id: &str,
    name: &str,
    full: String,
    help: String,
    severity: Severity,
    precision: &str,
    tags: Vec<String>,
) -> ReportingDescriptor {
    ReportingDescriptor::builder()
        .id(id.to_string())
        .name(name.to_string())
        .short_description(
            MultiformatMessageString::builder()
                .text(name.to_string())
                .build(),
        )
        .full_description(MultiformatMessageString::builder().text(full).build())
        .help(
            MultiformatMessageString::builder()
                .text(help.clone())
                .markdown(help)
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_str(severity)))
                .build(),
        )
        .properties(props(
            json!({
                "security-severity": security_severity(severity),
                "precision": precision,
                "problem.severity": level_str(severity),
            }),
            Some(tags),
        ))
        .build()
}

fn descriptor(r: &Rule) -> ReportingDescriptor {
    let mut help = format!("{}\n\nFacility: {}.", r.remediation, r.facility);
    if let Some(u) = &r.help_url {
        help.push_str(&format!(" See {u}"));
    }
    let mut d = reporting_descriptor(
        &r.id,
        &r.name,
        format!("{} ({} credential).", r.name, r.facility),
        help,
        r.severity,
        precision(r.confidence),
        vec!["security".into(), "secret".into(), r.facility.clone()],
    );
    if let Some(u) = &r.help_url {
        d.help_uri = Some(u.clone());
    }
    d
}

fn location(l: &FLocation) -> Location {
    Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(uri(&l.path))
                        .uri_base_id("%SRCROOT%")
                        .build(),
                )
                .region(
                    Region::builder()
                        .start_line(l.line as i64)
                        .start_column(l.column as i64)
                        .end_line(l.end_line as i64)
                        .end_column(l.end_column.max(l.column) as i64)
                        .build(),
                )
                .build(),
        )
        .build()
}

fn results(f: &Finding, index: &HashMap<&str, usize>, show: bool) -> Vec<SResult> {
    let mut what = format!(
        "{} ({}) found: {}",
        f.rule_name,
        f.facility,
        if show {
            f.secret.reveal()
        } else {
            f.preview.clone()
        }
    );
    if let Some(t) = &f.token {
        if t.expired == Some(true) {
            what.push_str(" — expired");
        }
        if let Some(u) = &t.user {
            what.push_str(&format!(" — user {u}"));
        }
    }
    if f.documentation_example.is_some() {
        what.push_str(" — published documentation example");
    }
    if let Some(how) = &f.decoded_from {
        what.push_str(&format!(" — decoded ({how})"));
    }
    if f.locations.len() > 1 {
        what.push_str(&format!(
            " — the same secret appears in {} places",
            f.locations.len()
        ));
    }
    f.locations
        .iter()
        .map(|l| {
            let mut pf = BTreeMap::new();
            pf.insert(
                "tokenwarden/v1".to_string(),
                format!("{}:{}", f.fingerprint, l.path),
            );
            let git = l.git.as_ref().map(|g| {
                json!({
                    "commit": g.commit, "blob": g.blob, "path": g.path,
                    "author": g.author, "email": g.email,
                    "time": crate::text::format_time(g.time), "summary": g.summary,
                    "introduced": g.introduced, "at_head": g.at_head,
                    "commits_holding": g.commits_holding, "branches": g.branches,
                })
            });
            let mut r = SResult::builder()
                .message(Message::builder().text(what.clone()).build())
                .rule_id(f.rule_id.clone())
                .level(level(f.severity))
                .locations(vec![location(l)])
                .partial_fingerprints(pf)
                .properties(props(
                    json!({
                        "fingerprint": f.fingerprint,
                        "severity": f.severity,
                        "confidence": f.confidence,
                        "facility": f.facility,
                        "token": f.token,
                        "liveness": f.liveness,
                        "verification": f.verification,
                        "git": git,
                        "history": f.history,
                    }),
                    None,
                ))
                .build();
            if let Some(&i) = index.get(f.rule_id.as_str()) {
                r.rule_index = Some(i as i64);
            }
            r
        })
        .collect()
}

/// Descriptors for the hygiene checks, which have no rule file.
fn hygiene_descriptor(id: &str, severity: Severity, name: &str) -> ReportingDescriptor {
    reporting_descriptor(
        id,
        name,
        format!("{name} (hygiene check: no secret value is reported)."),
        format!(
            "{name}. A hygiene finding names a file, never a secret value. `tokenwarden fix gitignore` adds the missing .gitignore entries; `git rm --cached` untracks a tracked file; credentials that were ever committed are leaked and must be rotated."
        ),
        severity,
        "high",
        vec!["security".into(), "hygiene".into()],
    )
}

fn hygiene_result(h: &HygieneFinding, index: Option<usize>) -> SResult {
    let mut region = Region::builder().build();
    if let Some(line) = h.line {
        region.start_line = Some(line as i64);
    }
    let mut physical = PhysicalLocation::builder()
        .artifact_location(
            ArtifactLocation::builder()
                .uri(uri(&h.path))
                .uri_base_id("%SRCROOT%")
                .build(),
        )
        .build();
    if h.line.is_some() {
        physical.region = Some(region);
    }
    let mut pf = BTreeMap::new();
    pf.insert(
        "tokenwarden/v1".to_string(),
        format!("{}:{}", h.check, h.path),
    );
    let mut r = SResult::builder()
        .message(
            Message::builder()
                .text(format!("{} Fix: {}", h.message, h.fix))
                .build(),
        )
        .rule_id(h.check.clone())
        .level(level(h.severity))
        .locations(vec![
            Location::builder().physical_location(physical).build(),
        ])
        .partial_fingerprints(pf)
        .properties(props(
            json!({ "severity": h.severity, "fix": h.fix, "commit": h.commit }),
            None,
        ))
        .build();
    r.rule_index = index.map(|i| i as i64);
    r
}

/// The most results GitHub code scanning accepts in one SARIF run.
pub const MAX_RESULTS: usize = 25_000;

pub(super) fn write(
    result: &ScanResult,
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let index: HashMap<&str, usize> = ctx
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let driver = ToolComponent::builder()
        .name("tokenwarden")
        .version(VERSION)
        .semantic_version(VERSION)
        .rules(
            ctx.rules
                .iter()
                .map(descriptor)
                .chain(
                    CHECKS
                        .iter()
                        .map(|(id, sev, name)| hygiene_descriptor(id, *sev, name)),
                )
                .collect::<Vec<_>>(),
        )
        .build();
    let hygiene_index = |check: &str| {
        CHECKS
            .iter()
            .position(|(id, _, _)| *id == check)
            .map(|i| ctx.rules.len() + i)
    };
    let notifications: Vec<Notification> = result
        .warnings
        .iter()
        .map(|w| {
            let mut n = Notification::builder()
                .message(
                    Message::builder()
                        .text(format!("{}: {}", w.path, w.message))
                        .build(),
                )
                .level(json!("warning"))
                .build();
            if !w.path.is_empty() {
                n.locations = Some(vec![
                    Location::builder()
                        .physical_location(
                            PhysicalLocation::builder()
                                .artifact_location(
                                    ArtifactLocation::builder()
                                        .uri(uri(&w.path))
                                        .uri_base_id("%SRCROOT%")
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                ]);
            }
            n
        })
        .collect();
    let mut all: Vec<SResult> = result
        .findings
        .iter()
        .flat_map(|f| results(f, &index, ctx.show_secrets))
        .chain(
            result
                .hygiene
                .iter()
                .map(|h| hygiene_result(h, hygiene_index(&h.check))),
        )
        .collect();
    // GitHub code scanning refuses a run with more results than it accepts. Findings come most
    // severe first, so the cut keeps what matters, and says so.
    let mut notifications = notifications;
    if all.len() > MAX_RESULTS {
        let dropped = all.len() - MAX_RESULTS;
        all.truncate(MAX_RESULTS);
        notifications.push(
            Notification::builder()
                .message(
                    Message::builder()
                        .text(format!(
                            "{dropped} more results are not in this SARIF file (code scanning \
                             accepts {MAX_RESULTS} per run); --format json lists them all"
                        ))
                        .build(),
                )
                .level(json!("warning"))
                .build(),
        );
    }
    let invocation = Invocation::builder()
        .execution_successful(true)
        .tool_execution_notifications(notifications)
        .build();
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(all)
        .invocations(vec![invocation])
        .build();
    run.column_kind = Some(json!("unicodeCodePoints"));
    if let Some(repo) = &ctx.repo {
        let mut vcs = VersionControlDetails::builder()
            .repository_uri(repo.uri.clone())
            .build();
        vcs.revision_id = repo.revision.clone();
        vcs.branch = repo.branch.clone();
        vcs.mapped_to = Some(ArtifactLocation::builder().uri_base_id("%SRCROOT%").build());
        run.version_control_provenance = Some(vec![vcs]);
    }
    if let Some(root) = ctx.roots.first()
        && let Ok(abs) = std::fs::canonicalize(root)
        && abs.is_dir()
    {
        let mut base = format!("file://{}", uri(&abs.to_string_lossy()));
        if !base.ends_with('/') {
            base.push('/');
        }
        run.original_uri_base_ids = Some(
            [(
                "%SRCROOT%".to_string(),
                ArtifactLocation::builder().uri(base).build(),
            )]
            .into_iter()
            .collect(),
        );
    }
    let sarif = Sarif::builder()
        .version(json!("2.1.0"))
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    writeln!(out)
}
