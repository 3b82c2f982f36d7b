//! The human report.

use super::{ReportContext, severity_counts};
use crate::engine::jwt::TokenFacts;
use crate::finding::Finding;
use crate::hygiene::HygieneFinding;
use crate::outcome::ScanResult;
use crate::rules::Severity;
use crate::text::{format_time, printable};
use anstyle::{AnsiColor, Style};
use std::io::Write;

fn sev_style(s: Severity) -> Style {
    let c = match s {
        Severity::Critical => AnsiColor::BrightRed,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Cyan,
        Severity::Info => AnsiColor::BrightBlack,
    };
    Style::new().fg_color(Some(c.into())).bold()
}

/// A coarse human duration: `45m`, `5h`, `364d`.
fn span(secs: i64) -> String {
    match secs {
        s if s < 3600 => format!("{}m", s.max(0) / 60),
        s if s < 3 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn token_line(t: &TokenFacts, now: i64) -> String {
    let mut parts = Vec::new();
    if let Some(c) = t.class {
        parts.push(format!("JWT {}", c.as_str()));
    }
    if let Some(a) = &t.alg {
        parts.push(format!("alg {a}"));
    }
    if let Some(x) = &t.token_type {
        parts.push(format!("type {x}"));
    }
    if let Some(u) = &t.user {
        parts.push(format!("user {u}"));
    }
    if let Some(r) = &t.realm {
        parts.push(format!("realm {r}"));
    }
    if let Some(i) = &t.issuer {
        parts.push(format!("iss {i}"));
    }
    if !t.audience.is_empty() {
        parts.push(format!("aud {}", t.audience.join(",")));
    }
    if let Some(c) = &t.client {
        parts.push(format!("client {c}"));
    }
    if let Some(j) = &t.jti {
        parts.push(format!("jti {j}"));
    }
    if let Some(i) = t.iat {
        parts.push(format!("issued {}", format_time(i)));
    }
    match (t.exp, t.expired) {
        (Some(e), Some(true)) => parts.push(format!("EXPIRED {}", format_time(e))),
        (Some(e), _) => parts.push(format!("expires {} (in {})", format_time(e), span(e - now))),
        (None, _) => parts.push("no exp claim".into()),
    }
    parts.join(" · ")
}

fn write_finding(
    f: &Finding,
    ctx: &ReportContext,
    now: i64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let (sev, bold, dim) = if ctx.color {
        (
            sev_style(f.severity),
            Style::new().bold(),
            Style::new().dimmed(),
        )
    } else {
        (Style::new(), Style::new(), Style::new())
    };
    writeln!(
        out,
        "{sev}{:<8}{sev:#} {bold}{}{bold:#}  {}  {dim}[{}, confidence {}]{dim:#}",
        f.severity.as_str().to_uppercase(),
        printable(&f.rule_id),
        printable(&f.rule_name),
        printable(&f.facility),
        f.confidence
    )?;
    let shown = if ctx.show_secrets {
        f.secret.reveal()
    } else {
        f.preview.clone()
    };
    writeln!(
        out,
        "  secret    {}   {dim}{}{dim:#}",
        printable(&shown),
        f.fingerprint
    )?;
    if let Some(t) = &f.token {
        // Every claim is the token author's text: `sun` may hold a newline or an escape.
        writeln!(out, "  token     {}", printable(&token_line(t, now)))?;
    }
    if let Some(h) = &f.history {
        let g = &h.introduced_by;
        let mut line = format!(
            "introduced in {} by {} on {}",
            &g.commit[..g.commit.len().min(12)],
            printable(&g.author),
            format_time(g.time)
        );
        line.push_str(if h.at_head {
            " · still in HEAD"
        } else {
            " · no longer in HEAD (still in history)"
        });
        if !h.branches.is_empty() {
            line.push_str(&format!(" · on {}", printable(&h.branches.join(", "))));
        }
        writeln!(out, "  history   {line}")?;
    }
    if let Some(v) = &f.verification {
        writeln!(
            out,
            "  liveness  {}: {}",
            v.headline(),
            printable(&v.reason)
        )?;
    }
    if let Some(src) = &f.documentation_example {
        writeln!(
            out,
            "  note      published documentation example ({}); not a live credential",
            printable(src)
        )?;
    }
    if let Some(how) = &f.decoded_from {
        writeln!(out, "  decoded   {}", printable(how))?;
    }
    for (i, l) in f.locations.iter().enumerate() {
        let label = if i == 0 { "found in" } else { "" };
        let mut at = format!("{}:{}:{}", printable(&l.path), l.line, l.column);
        if let Some(g) = &l.git {
            if g.commit.is_empty() {
                at.push_str(&format!(
                    "  in unreachable blob {}",
                    &g.blob[..g.blob.len().min(12)]
                ));
            } else {
                at.push_str(&format!(
                    "  {} {} {} <{}> \"{}\"{}",
                    &g.commit[..g.commit.len().min(12)],
                    format_time(g.time),
                    printable(&g.author),
                    printable(&g.email),
                    printable(&g.summary),
                    if g.introduced { " (introduced)" } else { "" }
                ));
            }
        }
        writeln!(out, "  {label:<9} {at}")?;
    }
    if !f.also_matched.is_empty() {
        writeln!(
            out,
            "  {dim}also      {}{dim:#}",
            printable(&f.also_matched.join(", "))
        )?;
    }
    // Rule names, remediation and links may come from a repository's own rule files.
    writeln!(out, "  fix       {}", printable(&f.remediation))?;
    if let Some(u) = &f.help_url {
        writeln!(out, "  see       {}", printable(u))?;
    }
    writeln!(out)
}

fn write_hygiene(
    h: &HygieneFinding,
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let style = if ctx.color {
        sev_style(h.severity)
    } else {
        Style::new()
    };
    writeln!(
        out,
        "{style}{}{style:#} {}",
        h.severity.to_string().to_uppercase(),
        printable(&h.check)
    )?;
    writeln!(out, "  problem   {}", printable(&h.message))?;
    let at = match h.line {
        Some(l) => format!("{}:{l}", printable(&h.path)),
        None => printable(&h.path),
    };
    writeln!(out, "  file      {at}")?;
    if let Some(c) = &h.commit {
        writeln!(
            out,
            "  history   added in {} by {} on {} \"{}\"",
            &c.id[..c.id.len().min(12)],
            printable(&c.author),
            format_time(c.time),
            printable(&c.summary)
        )?;
    }
    writeln!(out, "  fix       {}", printable(&h.fix))?;
    writeln!(out)
}

pub(super) fn write(
    result: &ScanResult,
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let now = crate::rules::template::now_unix();
    for f in &result.findings {
        write_finding(f, ctx, now, out)?;
    }
    for h in &result.hygiene {
        write_hygiene(h, ctx, out)?;
    }
    let counts = severity_counts(result);
    let summary = if counts.is_empty() {
        "no findings".to_string()
    } else {
        let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        format!(
            "{} finding{} ({})",
            result.findings.len(),
            if result.findings.len() == 1 { "" } else { "s" },
            parts.join(", ")
        )
    };
    let summary = match result.hygiene.len() {
        0 => summary,
        n => format!(
            "{summary}, {n} hygiene finding{}",
            if n == 1 { "" } else { "s" }
        ),
    };
    let st = &result.stats;
    // A history scan reads blobs, not files (its count goes with the files'): say so.
    let (what, history) = if st.commits > 0 {
        ("files and blobs", format!(" from {} commits", st.commits))
    } else {
        ("files", String::new())
    };
    writeln!(
        out,
        "{summary} in {} {what} ({:.1} MB){history} in {:.2} s",
        st.files_scanned,
        st.bytes_scanned as f64 / 1e6,
        result.elapsed.as_secs_f64()
    )?;
    let mut extra = Vec::new();
    if !result.suppressed.is_empty() {
        extra.push(format!(
            "{} suppressed (tokenwarden:allow comments, [[allow]] entries)",
            result.suppressed.len()
        ));
    }
    if !result.warnings.is_empty() {
        extra.push(format!("{} warning(s), see stderr", result.warnings.len()));
    }
    if st.unreadable > 0 {
        extra.push(format!(
            "{} file(s) or director(ies) could not be read (warnings on stderr; \
             --fail-on-unreadable fails the run on them)",
            st.unreadable
        ));
    }
    if st.binary_skipped > 0 {
        extra.push(format!("{} binary file(s) skipped", st.binary_skipped));
    }
    if st.too_large_skipped > 0 {
        extra.push(format!(
            "{} file(s) over --max-file-size skipped",
            st.too_large_skipped
        ));
    }
    if st.chunked_files > 0 {
        extra.push(format!(
            "{} large file(s) scanned in chunks",
            st.chunked_files
        ));
    }
    extra.extend(ctx.notes.iter().cloned());
    for e in extra {
        writeln!(out, "  {}", printable(&e))?;
    }
    Ok(())
}
