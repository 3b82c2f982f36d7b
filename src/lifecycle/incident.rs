//! The incident report: `incident.json` (for tools) and `incident.md` (for people), both 0600
//! in a 0700 directory. What was exposed, where and since when (first commit, author, date,
//! pushed or not, still at HEAD), liveness before and after, what was revoked, what remains
//! and who must be told, and how to rewrite history — with the warning that rewriting does not
//! un-leak a pushed secret. Never a secret: fingerprints and redacted previews only.

use super::plan::{Item, Outcome, Plan, Planned, where_};
use crate::finding::Liveness;
use crate::private_file;
use crate::text::format_time;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// How to take the secrets out of git history.
#[derive(Clone, Debug, Serialize)]
pub struct Rewrite {
    /// Files in history that hold secrets.
    pub paths: Vec<String>,
    /// Blobs that hold secrets.
    pub blobs: Vec<String>,
    /// The commands, in order.
    pub commands: Vec<String>,
    /// What rewriting does not do.
    pub warning: String,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Incident {
    /// When it was written.
    pub generated_at: String,
    /// tokenwarden's version.
    pub tool_version: String,
    /// What was scanned.
    pub targets: Vec<String>,
    /// The audit log that holds every call made.
    pub audit_log: String,
    /// Whether revocation was requested and confirmed.
    pub revocation: String,
    /// Counts.
    pub summary: Summary,
    /// One entry per secret.
    pub secrets: Vec<Item>,
    /// History rewrite, when any secret is in git history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Rewrite>,
}

/// Counts for the top of the report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Secrets found.
    pub secrets: usize,
    /// Alive when checked first.
    pub live_before: usize,
    /// Revoked (or found dead by the issuer) in this run.
    pub revoked: usize,
    /// Revocations that failed.
    pub failed: usize,
    /// Still needing someone's attention.
    pub open: usize,
    /// Reachable from a remote-tracking branch (pushed).
    pub pushed: usize,
}

fn pushed(i: &Item) -> bool {
    i.history.as_ref().is_some_and(|h| h.pushed)
        || i.locations
            .iter()
            .any(|l| l.git.as_ref().is_some_and(|g| g.pushed))
}

impl Incident {
    /// Builds the report from an executed plan.
    pub fn new(plan: &Plan, targets: Vec<String>, audit_log: &Path, revocation: &str) -> Incident {
        let items = plan.items.clone();
        let summary = Summary {
            secrets: items.len(),
            live_before: items
                .iter()
                .filter(|i| {
                    i.before
                        .as_ref()
                        .is_some_and(|v| v.liveness == Liveness::Live)
                })
                .count(),
            revoked: items
                .iter()
                .filter(|i| i.outcomes.iter().any(Outcome::ended))
                .count(),
            failed: items
                .iter()
                .filter(|i| {
                    i.outcomes
                        .iter()
                        .any(|o| matches!(o, Outcome::Failed { .. }))
                })
                .count(),
            open: items.iter().filter(|i| i.open()).count(),
            pushed: items.iter().filter(|i| pushed(i)).count(),
        };
        Incident {
            generated_at: super::call_log::now_rfc3339(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            targets,
            audit_log: audit_log.display().to_string(),
            revocation: revocation.to_string(),
            summary,
            rewrite: rewrite(&items),
            secrets: items,
        }
    }

    /// Writes `incident.json` and `incident.md` into `dir` (created 0700), each 0600 and
    /// atomically.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        private_file::create_private_dir(dir)?;
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        private_file::write(&dir.join("incident.json"), &json)?;
        private_file::write(&dir.join("incident.md"), self.markdown().as_bytes())
    }

    /// The Markdown report. Every value from outside (paths, authors, claims, rule names, an
    /// issuer's words) is escaped for Markdown ([`md`]) or set in a code span that it cannot
    /// leave ([`code`]): a branch name holding `<img src=…>` or a newline and `# Resolved` must
    /// not render as such in the report a facility reads.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.summary;
        let _ = writeln!(s, "# Credential exposure: incident report\n");
        let _ = writeln!(
            s,
            "Written {} by tokenwarden {}. Scanned: {}. Every call made is in the audit log \
             {}.\n",
            self.generated_at,
            self.tool_version,
            self.targets
                .iter()
                .map(|t| code(t))
                .collect::<Vec<_>>()
                .join(", "),
            code(&self.audit_log)
        );
        let _ = writeln!(
            s,
            "| secrets | live when found | revoked now | failed | pushed | still open |\n\
             |---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} |\n",
            m.secrets, m.live_before, m.revoked, m.failed, m.pushed, m.open
        );
        let _ = writeln!(s, "Revocation: {}.\n", md(&self.revocation));
        for (n, i) in self.secrets.iter().enumerate() {
            let _ = writeln!(
                s,
                "## {}. {} — {}\n\n- rule {}, facility {}, handled as {}\n- preview {}",
                n + 1,
                md(&i.rule_name),
                code(&i.fingerprint),
                code(&i.rule_id),
                md(&i.facility),
                code(super::issuer::handling(i.issuer)),
                code(&i.preview)
            );
            if let Some(t) = &i.token {
                let mut facts = Vec::new();
                if let Some(u) = &t.user {
                    facts.push(format!("user {}", md(u)));
                }
                if let Some(iss) = &t.issuer {
                    facts.push(format!("issuer {}", md(iss)));
                }
                if let Some(e) = t.exp {
                    facts.push(format!("expires {}", format_time(e)));
                }
                if !facts.is_empty() {
                    let _ = writeln!(s, "- token: {}", facts.join(", "));
                }
            }
            let _ = writeln!(s, "\n### Timeline\n");
            if let Some(h) = &i.history {
                let g = &h.introduced_by;
                let _ = writeln!(
                    s,
                    "- first exposed {} in commit {} ({}) by {} &lt;{}&gt;: {}",
                    format_time(g.time),
                    code(&g.commit),
                    code(&g.path),
                    md(&g.author),
                    md(&g.email),
                    md(&g.summary)
                );
                let _ = writeln!(
                    s,
                    "- {}; reachable from: {}",
                    if h.at_head {
                        "still at HEAD"
                    } else {
                        "no longer at HEAD (history only)"
                    },
                    if h.branches.is_empty() {
                        "no branch (unreachable objects)".to_string()
                    } else {
                        h.branches
                            .iter()
                            .map(|b| md(b))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
                let _ = writeln!(
                    s,
                    "- pushed to a remote-tracking branch: {}",
                    if pushed(i) {
                        "yes: assume it is public"
                    } else {
                        "not that this clone knows"
                    }
                );
            }
            let mut locs: Vec<String> = i.locations.iter().map(where_).collect();
            locs.dedup();
            let locs: Vec<String> = locs.iter().map(|l| code(l)).collect();
            let _ = writeln!(s, "- found at: {}", locs.join(", "));
            let _ = writeln!(s, "\n### Liveness and actions\n");
            let word = |v: Option<&crate::finding::Verification>| match v {
                None => "not checked".to_string(),
                Some(v) => format!(
                    "{}{} — {}",
                    v.liveness.as_str(),
                    if v.liveness == Liveness::Dead && !v.conclusive {
                        " (not proven)"
                    } else {
                        ""
                    },
                    md(&v.reason)
                ),
            };
            let _ = writeln!(s, "- before: {}", word(i.before.as_ref()));
            if let Some(v) = &i.before {
                for (k, val) in &v.facts {
                    let _ = writeln!(s, "  - {}: {}", md(k), md(val));
                }
            }
            if let Some(e) = &i.earlier {
                let _ = writeln!(s, "- earlier runs: {}", md(e));
            }
            match &i.planned {
                Planned::Revoke { endpoint, .. } => {
                    let _ = writeln!(s, "- planned: revoke at {}", md(endpoint));
                }
                Planned::Skip { why } => {
                    let _ = writeln!(s, "- planned: nothing ({})", md(why));
                }
                Planned::Manual { why } => {
                    let _ = writeln!(s, "- planned: nothing possible here ({})", md(why));
                }
            }
            for o in &i.outcomes {
                let (w, d) = o.log_words();
                let _ = writeln!(s, "- done: {} — {}", md(w), md(&d));
            }
            if i.after.is_some() {
                let _ = writeln!(s, "- after: {}", word(i.after.as_ref()));
            }
            let _ = writeln!(
                s,
                "\n### What remains\n\n- status: {}",
                if i.open() {
                    "OPEN: needs someone's action"
                } else {
                    "dealt with"
                }
            );
            for r in &i.notice.rotate {
                let _ = writeln!(s, "- {}", md(r));
            }
            // The notice is plain text in a fenced block: its lines all start with a fixed
            // word, and its values are on one line each, so none can close the fence.
            let _ = writeln!(
                s,
                "\n### Notice to send\n\nTo: {}\nSubject: {}\n\n```text\n{}\n```\n",
                crate::text::printable(&i.notice.contact),
                md(&i.notice.subject),
                notice_body(i)
            );
        }
        if let Some(r) = &self.rewrite {
            let _ = writeln!(s, "## Rewriting history\n\n**{}**\n", md(&r.warning));
            if !r.paths.is_empty() {
                let _ = writeln!(
                    s,
                    "Files in history that hold secrets: {}\n",
                    r.paths
                        .iter()
                        .map(|p| code(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            let _ = writeln!(s, "```sh");
            for c in &r.commands {
                let _ = writeln!(s, "{}", crate::text::printable(c));
            }
            let _ = writeln!(s, "```");
        }
        s
    }
}

/// Outside text for Markdown.
fn md(s: &str) -> String {
    crate::text::markdown(s)
}

/// Outside text in a code span it cannot leave: the fence is one backtick longer than the
/// longest run inside, padded with spaces (CommonMark), and control characters are escaped.
fn code(s: &str) -> String {
    let s = crate::text::printable(s);
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 || s.starts_with(' ') || s.ends_with(' ') {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// The body of the ready notice: what, where, since when, what was done. No secret. Each line
/// is escaped as a whole for a terminal (a value cannot start a line of its own).
pub fn notice_body(i: &Item) -> String {
    let mut lines: Vec<String> = Vec::new();
    lines.push(format!(
        "A credential was exposed: {} (rule {}), fingerprint {}, preview {}.",
        i.rule_name, i.rule_id, i.fingerprint, i.preview
    ));
    if let Some(t) = &i.token
        && let Some(u) = &t.user
    {
        lines.push(format!("It belongs to user {u}."));
    }
    let mut locs: Vec<String> = i.locations.iter().map(where_).collect();
    locs.dedup();
    locs.truncate(10);
    lines.push(format!("Where: {}.", locs.join(", ")));
    if let Some(h) = &i.history {
        lines.push(format!(
            "First committed {} by {} in {}{}.",
            format_time(h.introduced_by.time),
            h.introduced_by.author,
            h.introduced_by.commit,
            if pushed(i) { "; it was pushed" } else { "" }
        ));
    }
    // What the facility needs: the liveness and what was done, in a word and the issuer's own
    // answer — not the reporter's to-do list or a transport's error chain (those are in the
    // report above the notice and in the audit log).
    if let Some(v) = &i.before {
        if v.conclusive && v.liveness != Liveness::Unknown {
            lines.push(format!(
                "Liveness when found: {} ({}).",
                v.liveness.as_str(),
                v.reason
            ));
        } else {
            lines.push(format!(
                "Liveness when found: {} (not proven from here).",
                v.liveness.as_str()
            ));
        }
    }
    for o in &i.outcomes {
        let line = match o {
            Outcome::Revoked { detail, .. } | Outcome::Already { detail, .. } => {
                format!("Action: {}: {detail}.", o.log_words().0)
            }
            Outcome::Refused { .. } | Outcome::Failed { .. } => format!(
                "Action: revocation attempted, not confirmed ({}); please revoke it on your side.",
                o.log_words().0
            ),
            Outcome::NotRevocable { .. } => {
                "Action: not revocable by the reporter; please revoke it on your side.".to_string()
            }
        };
        lines.push(line);
    }
    if i.open() && i.outcomes.is_empty() {
        lines.push("Nothing has been revoked yet; please revoke it on your side.".to_string());
    }
    lines
        .iter()
        .map(|l| crate::text::printable(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `s` as one shell word. A path with characters a terminal or a Markdown fence must not see
/// (a newline, an escape, a bidi override) is written as `$'…'` with those bytes as `\xHH`,
/// so the command still names the real file, and its text is plain ASCII.
fn shell_quote(s: &str) -> String {
    if crate::text::printable(s) == s {
        return format!("'{}'", s.replace('\'', "'\\''"));
    }
    let mut out = String::from("$'");
    for b in s.bytes() {
        match b {
            b'\'' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

fn rewrite(items: &[Item]) -> Option<Rewrite> {
    let mut paths = BTreeSet::new();
    let mut blobs = BTreeSet::new();
    for i in items {
        for l in &i.locations {
            if let Some(g) = &l.git {
                if !g.path.is_empty() {
                    paths.insert(g.path.clone());
                }
                if !g.blob.is_empty() {
                    blobs.insert(g.blob.clone());
                }
            }
        }
    }
    if blobs.is_empty() {
        return None;
    }
    let blobs: Vec<String> = blobs.into_iter().collect();
    let paths: Vec<String> = paths.into_iter().collect();
    let mut commands = vec![
        "# 1. Revoke or rotate every secret above FIRST: rewriting does not end them.".into(),
        "# 2. Work on a fresh mirror clone: git clone --mirror <url> repo.git && cd repo.git"
            .into(),
        "# Either drop the blobs that hold secrets (the whole file version goes):".into(),
        format!(
            "printf '%s\\n' {} > ../tokenwarden-blobs.txt",
            blobs.join(" ")
        ),
        "git filter-repo --strip-blobs-with-ids ../tokenwarden-blobs.txt".into(),
        "# Or drop the files from every commit:".into(),
        format!(
            "git filter-repo --invert-paths {}",
            paths
                .iter()
                .map(|p| format!("--path {}", shell_quote(p)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        "# Or keep the files and replace only the secrets: write each secret, one per line as \
         `SECRET==>REDACTED`, into a file outside the repository (tokenwarden does not write \
         secrets to disk), then:"
            .into(),
        "git filter-repo --replace-text ../replacements.txt".into(),
        "# 3. Force-push every rewritten branch and tag, ask the hosting service to purge \
         cached views and pull-request refs, and have every collaborator re-clone."
            .into(),
    ];
    commands.dedup();
    Some(Rewrite {
        paths,
        blobs,
        commands,
        warning: "Rewriting history does not un-leak a secret that was pushed or cloned: \
                  forks, clones, caches and pull-request refs keep it. Revoke or rotate first; \
                  rewrite only to stop the secret spreading further."
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn shell_words_name_the_real_file_in_plain_ascii() {
        assert_eq!(shell_quote("deploy/.env"), "'deploy/.env'");
        assert_eq!(shell_quote("it's.env"), "'it'\\''s.env'");
        let odd = "a\nb\u{202e}c'\\.env";
        let q = shell_quote(odd);
        assert_eq!(q, "$'a\\x0ab\\xe2\\x80\\xaec\\'\\\\.env'");
        assert!(q.is_ascii() && !q.contains('\n'));
    }
}
