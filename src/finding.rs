//! Findings: one secret, one finding, however many places and rules it turned up in.

use crate::engine::jwt::TokenFacts;
use crate::engine::{Engine, RawMatch};
use crate::rules::{Action, Confidence, Issuer, Rule, Severity};
use crate::secret::{Fingerprinter, Secret};
use serde::Serialize;
use std::collections::HashMap;

/// Where a secret was seen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct Location {
    /// The path, relative to the scan root where possible, `/`-separated.
    pub path: String,
    /// 1-based line of the secret's first byte.
    pub line: u64,
    /// 1-based column (Unicode scalar values) of the secret's first byte.
    pub column: u64,
    /// 1-based line of the secret's last byte.
    pub end_line: u64,
    /// 1-based column just past the secret's last byte.
    pub end_column: u64,
    /// Byte offset of the secret in the file.
    pub byte_offset: u64,
    /// Where in git history, for findings from `--git`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<GitProvenance>,
}

/// A commit and path that hold a secret (history scans).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub struct GitProvenance {
    /// Commit id (empty for an unreachable blob).
    pub commit: String,
    /// Path in that commit.
    pub path: String,
    /// Author name.
    pub author: String,
    /// Author e-mail.
    pub email: String,
    /// Commit time (Unix seconds).
    pub time: i64,
    /// First line of the commit message.
    pub summary: String,
    /// True if this commit introduced the secret (no parent held it).
    pub introduced: bool,
    /// The blob that holds it.
    pub blob: String,
    /// Whether that blob is still in HEAD's tree.
    pub at_head: bool,
    /// How many walked commits hold the blob.
    pub commits_holding: u64,
    /// Local and remote-tracking branches whose history reaches this commit.
    pub branches: Vec<String>,
    /// A remote-tracking branch reaches this commit: it was pushed (as far as this clone knows).
    pub pushed: bool,
}

/// A history finding in brief: who introduced it first, and whether it is still there.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct HistorySummary {
    /// The earliest introducing commit.
    pub introduced_by: GitProvenance,
    /// Still present in HEAD's tree.
    pub at_head: bool,
    /// Branches whose history holds it.
    pub branches: Vec<String>,
    /// Distinct commits that introduced it (one per path or re-introduction).
    pub introductions: usize,
    /// Some commit holding it is reachable from a remote-tracking branch.
    pub pushed: bool,
}

/// Whether a finding's secret still works. Scans leave it `unknown`; the lifecycle fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Liveness {
    /// Not checked.
    #[default]
    Unknown,
    /// The issuer accepted it.
    Live,
    /// The issuer refused it, or it expired.
    Dead,
    /// Revoked by tokenwarden.
    Revoked,
}

impl Liveness {
    /// Its name in reports (`live`, `dead`, `unknown`, `revoked`).
    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Unknown => "unknown",
            Liveness::Live => "live",
            Liveness::Dead => "dead",
            Liveness::Revoked => "revoked",
        }
    }
}

impl Verification {
    /// The verdict in a word or two, for people: `LIVE` stands out; a refusal that does not
    /// prove death says so.
    pub fn headline(&self) -> &'static str {
        match self.liveness {
            Liveness::Live => "LIVE",
            Liveness::Dead if self.conclusive => "dead",
            Liveness::Dead => "refused (not proven dead)",
            Liveness::Revoked => "revoked",
            Liveness::Unknown => "unknown",
        }
    }
}

/// What asking the issuer (or reading the token's own `exp`) found out about a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Verification {
    /// `live`, `dead`, `unknown` or `revoked`.
    pub liveness: Liveness,
    /// Why: the issuer's answer in brief, or why nothing could be asked.
    pub reason: String,
    /// False when `dead` may be wrong: the probe speaks for one resource server only (a
    /// Globus token refused by ALCF may be alive at NERSC). Revocation does not skip those.
    pub conclusive: bool,
    /// Where it was asked (scheme, host, path), when a request was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// When (RFC 3339).
    pub checked_at: String,
    /// What the issuer told about the token (owner, project, planned expiration, …).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub facts: std::collections::BTreeMap<String, String>,
}

/// A reported secret.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Finding {
    /// The rule that describes it best.
    pub rule_id: String,
    /// That rule's name.
    pub rule_name: String,
    /// The facility that issued it.
    pub facility: String,
    /// Severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// Keyed hash of rule id and secret: stable, line-independent, no plaintext.
    pub fingerprint: String,
    /// Redacted preview.
    pub preview: String,
    /// The secret itself; only serialized by `--show-secrets` reports.
    #[serde(skip)]
    pub secret: Secret,
    /// Decoded token facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenFacts>,
    /// Set when the secret is a published documentation example.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation_example: Option<String>,
    /// How the secret was encoded where it was found, when the scanner decoded it
    /// (`base64 in a Kubernetes Secret`, `a CSV export's column`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded_from: Option<String>,
    /// Liveness (unknown after a plain scan).
    pub liveness: Liveness,
    /// The liveness check behind `liveness`, when one was made (`--verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// For history findings: who introduced it and where it still is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistorySummary>,
    /// Every place it was seen.
    pub locations: Vec<Location>,
    /// Other rules that matched the same secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_matched: Vec<String>,
    /// Lifecycle actions that apply.
    pub actions: Vec<Action>,
    /// Who issued it, by its rule (the lifecycle may learn better from the token's claims).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Issuer>,
    /// What to do.
    pub remediation: String,
    /// Where to read more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_url: Option<String>,
}

/// Findings of several scans (the files and the history of a target, or several targets) made
/// one per secret: a fingerprint seen again adds its locations, and its history when the
/// first had none.
#[derive(Default)]
pub struct FindingSet {
    findings: Vec<Finding>,
    index: HashMap<String, usize>,
}

impl FindingSet {
    /// Adds one scan's finding. A secret seen again keeps the first history it came with
    /// (audit's files carry none; different repositories' histories are not mixed).
    pub fn add(&mut self, f: Finding) {
        if let Some((m, h)) = self.seen_again(f)
            && m.history.is_none()
        {
            m.history = h;
        }
    }

    /// Adds a finding from another part of the same history (a sweep's shards): a secret seen
    /// again has its histories joined, the earliest introducer, every branch, at HEAD or
    /// pushed if either part says so.
    pub fn join(&mut self, f: Finding) {
        let Some((m, Some(h))) = self.seen_again(f) else {
            return;
        };
        match &mut m.history {
            Some(mh) => {
                if h.introduced_by.time < mh.introduced_by.time {
                    mh.introduced_by = h.introduced_by;
                }
                mh.at_head |= h.at_head;
                mh.pushed |= h.pushed;
                mh.branches.extend(h.branches);
                mh.branches.sort();
                mh.branches.dedup();
            }
            None => m.history = Some(h),
        }
    }

    /// Takes `f` in as new, or adds its locations to the finding already held and hands back
    /// that finding with `f`'s history for the caller to combine.
    fn seen_again(&mut self, mut f: Finding) -> Option<(&mut Finding, Option<HistorySummary>)> {
        match self.index.get(&f.fingerprint) {
            Some(&i) => {
                let m = &mut self.findings[i];
                m.locations.append(&mut f.locations);
                Some((m, f.history))
            }
            None => {
                self.index
                    .insert(f.fingerprint.clone(), self.findings.len());
                self.findings.push(f);
                None
            }
        }
    }

    /// The findings in the order first seen, each with its locations sorted and distinct.
    pub fn into_vec(self) -> Vec<Finding> {
        let mut out = self.findings;
        for f in &mut out {
            f.locations.sort();
            f.locations.dedup();
        }
        out
    }
}

/// A match silenced by an inline `tokenwarden:allow` comment. No secret, only where and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Suppressed {
    /// The rule.
    pub rule_id: String,
    /// The fingerprint the finding would have had.
    pub fingerprint: String,
    /// Where.
    pub location: Location,
    /// The reason written after the marker.
    pub reason: String,
}

struct Pending {
    best: RawMatch,
    locations: Vec<Location>,
    /// The same locations, for an O(1) duplicate check: a file can hold one token on tens of
    /// thousands of lines.
    seen: std::collections::HashSet<Location>,
    rules: Vec<usize>,
}

/// Merges raw matches from every source into findings.
pub struct Collector {
    fingerprinter: Fingerprinter,
    pending: HashMap<[u8; 32], Pending>,
    /// One entry per secret and place, whichever rules matched it there.
    suppressed: HashMap<([u8; 32], Location), (RawMatch, String)>,
}

/// Summarises the history locations of one finding (none for working-tree findings).
fn history_summary(locations: &[Location]) -> Option<HistorySummary> {
    let provs: Vec<&GitProvenance> = locations
        .iter()
        .filter_map(|l| l.git.as_ref())
        .filter(|g| !g.commit.is_empty())
        .collect();
    let intro: Vec<&GitProvenance> = provs.iter().copied().filter(|g| g.introduced).collect();
    // The oldest introduction; failing that (a range scan that starts after it), the oldest sighting.
    let first = intro
        .iter()
        .chain(provs.iter())
        .min_by_key(|g| (!g.introduced, g.time))?;
    let mut branches: Vec<String> = provs
        .iter()
        .flat_map(|g| g.branches.iter().cloned())
        .collect();
    branches.sort();
    branches.dedup();
    Some(HistorySummary {
        introduced_by: (*first).clone(),
        at_head: provs.iter().any(|g| g.at_head),
        branches,
        introductions: intro.len(),
        pushed: provs.iter().any(|g| g.pushed),
    })
}

/// Which of several rules' matches of one secret describes it best: the surest, then a
/// facility JWT class, then a rule that knows the credential's shape over one that knows only
/// its context, then the most severe.
fn rank(m: &RawMatch) -> (Confidence, bool, bool, Severity) {
    (
        m.confidence,
        Engine::is_specific_jwt(m.token.as_ref().and_then(|t| t.class)),
        !m.by_context,
        m.severity,
    )
}

impl Collector {
    /// A collector that fingerprints with `fingerprinter`.
    pub fn new(fingerprinter: Fingerprinter) -> Self {
        Collector {
            fingerprinter,
            pending: HashMap::new(),
            suppressed: HashMap::new(),
        }
    }

    /// Adds one match seen at `location`.
    pub fn add(&mut self, m: RawMatch, location: Location) {
        let id = self.fingerprinter.secret_id(&m.secret);
        if let Some(reason) = m.allowed.clone() {
            match self.suppressed.get_mut(&(id, location.clone())) {
                Some((best, _)) if rank(best) >= rank(&m) => {}
                Some(slot) => *slot = (m, reason),
                None => {
                    self.suppressed.insert((id, location), (m, reason));
                }
            }
            return;
        }
        match self.pending.get_mut(&id) {
            Some(p) => {
                if !p.rules.contains(&m.rule) {
                    p.rules.push(m.rule);
                }
                if p.seen.insert(location.clone()) {
                    p.locations.push(location);
                }
                if rank(&m) > rank(&p.best) {
                    p.best = m;
                }
            }
            None => {
                self.pending.insert(
                    id,
                    Pending {
                        rules: vec![m.rule],
                        best: m,
                        seen: std::iter::once(location.clone()).collect(),
                        locations: vec![location],
                    },
                );
            }
        }
    }

    /// The findings at or above `min_confidence`, most severe first, and the suppressed matches.
    pub fn finish(
        self,
        rules: &[Rule],
        min_confidence: Confidence,
    ) -> (Vec<Finding>, Vec<Suppressed>) {
        let mut findings: Vec<Finding> = self
            .pending
            .into_values()
            .filter(|p| p.best.confidence >= min_confidence)
            .map(|mut p| {
                let rule = &rules[p.best.rule];
                p.locations.sort();
                let mut also: Vec<String> = p
                    .rules
                    .iter()
                    .filter(|&&r| r != p.best.rule)
                    .map(|&r| rules[r].id.clone())
                    .collect();
                also.sort();
                Finding {
                    rule_id: rule.id.clone(),
                    rule_name: rule.name.clone(),
                    facility: rule.facility.clone(),
                    severity: p.best.severity,
                    confidence: p.best.confidence,
                    fingerprint: self.fingerprinter.fingerprint(&rule.id, &p.best.secret),
                    // A key file's content is key material from its first byte: show its size only.
                    preview: if rule.pattern.is_none() {
                        format!("(key file, {} bytes)", p.best.secret.len())
                    } else {
                        p.best.secret.preview()
                    },
                    token: p.best.token.clone(),
                    documentation_example: p.best.doc_example.clone(),
                    decoded_from: p.best.decoded.map(str::to_string),
                    liveness: Liveness::Unknown,
                    verification: None,
                    history: history_summary(&p.locations),
                    locations: p.locations,
                    also_matched: also,
                    actions: rule.actions.clone(),
                    issuer: rule.issuer,
                    remediation: rule.remediation.clone(),
                    help_url: rule.help_url.clone(),
                    secret: p.best.secret,
                }
            })
            .collect();
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.confidence.cmp(&a.confidence))
                .then_with(|| a.locations.first().cmp(&b.locations.first()))
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        let mut suppressed: Vec<Suppressed> = self
            .suppressed
            .into_iter()
            .map(|((_, location), (m, reason))| Suppressed {
                rule_id: rules[m.rule].id.clone(),
                fingerprint: self.fingerprinter.fingerprint(&rules[m.rule].id, &m.secret),
                location,
                reason,
            })
            .collect();
        suppressed.sort_by(|a, b| a.location.cmp(&b.location));
        (findings, suppressed)
    }
}

#[cfg(test)]
mod tests {
    use super::Liveness;

    #[test]
    fn liveness_names_are_the_serialized_ones() {
        for l in [
            Liveness::Unknown,
            Liveness::Live,
            Liveness::Dead,
            Liveness::Revoked,
        ] {
            assert_eq!(serde_json::to_value(l).unwrap(), l.as_str());
        }
    }
}
