//! The plan: for each found secret, where it is, whether it is alive, and what will be done —
//! printed in full before anything is done, and carried into the incident report with what
//! was done.

use super::call_log::{History, Past};
use super::issuer::{self, handling};
use super::issuers::Issuers;
use super::notify::{self, Notice};
use crate::engine::jwt::TokenFacts;
use crate::finding::{Finding, HistorySummary, Liveness, Location, Verification};
use crate::rules::Issuer;
use serde::Serialize;

/// What will be done to one secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Planned {
    /// Revoke it at `endpoint`.
    Revoke {
        /// Where (scheme, host, path).
        endpoint: String,
        /// Whether it can be undone (S3M: no).
        irreversible: bool,
        /// Anything the user should know first.
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Nothing to call: why.
    Skip {
        /// Why (already revoked per the audit log; dead already).
        why: String,
    },
    /// No revocation exists: rotate and tell the facility.
    Manual {
        /// Why.
        why: String,
    },
}

/// What happened to one call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// The issuer confirmed.
    Revoked {
        /// Where.
        endpoint: String,
        /// The issuer's answer in brief.
        detail: String,
    },
    /// The issuer said it was dead or gone already.
    Already {
        /// Where.
        endpoint: String,
        /// The issuer's answer in brief.
        detail: String,
    },
    /// This client may not revoke it (another may).
    Refused {
        /// Where.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The issuer has no revocation for it.
    NotRevocable {
        /// Why.
        why: String,
    },
    /// The call failed: the secret may still be alive.
    Failed {
        /// Where.
        endpoint: String,
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// The same outcome with `secret` cut out of every text the issuer could have put in it.
    pub fn redacted(self, secret: &str) -> Outcome {
        let r = |t: String| crate::facilities::http::redact(&t, &[secret]);
        match self {
            Outcome::Revoked { endpoint, detail } => Outcome::Revoked {
                endpoint,
                detail: r(detail),
            },
            Outcome::Already { endpoint, detail } => Outcome::Already {
                endpoint,
                detail: r(detail),
            },
            Outcome::Refused { endpoint, reason } => Outcome::Refused {
                endpoint,
                reason: r(reason),
            },
            Outcome::NotRevocable { why } => Outcome::NotRevocable { why: r(why) },
            Outcome::Failed { endpoint, reason } => Outcome::Failed {
                endpoint,
                reason: r(reason),
            },
        }
    }

    /// Whether the secret is taken care of by this outcome.
    pub fn ended(&self) -> bool {
        matches!(self, Outcome::Revoked { .. } | Outcome::Already { .. })
    }

    /// The word and detail the audit log records.
    pub fn log_words(&self) -> (&'static str, String) {
        match self {
            Outcome::Revoked { detail, .. } => ("ok", detail.clone()),
            Outcome::Already { detail, .. } => ("already", detail.clone()),
            Outcome::Refused { reason, .. } => ("refused", reason.clone()),
            Outcome::NotRevocable { why } => ("not-revocable", why.clone()),
            Outcome::Failed { reason, .. } => ("failed", reason.clone()),
        }
    }
}

/// One secret in the plan.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// The keyed fingerprint.
    pub fingerprint: String,
    /// The rule.
    pub rule_id: String,
    /// The rule's name.
    pub rule_name: String,
    /// The facility.
    pub facility: String,
    /// Who issued it, so how the lifecycle handles it (shown as `kind`: `s3m`, `globus`,
    /// `slurm-jwt`, `palmetto`, `keycloak`, `s3-keys`, `manual`).
    #[serde(rename = "kind", serialize_with = "handling_name")]
    pub issuer: Option<Issuer>,
    /// The redacted preview.
    pub preview: String,
    /// Decoded token facts (JWTs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenFacts>,
    /// Every place it was found.
    pub locations: Vec<Location>,
    /// Who put it in git history, and whether it is still there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistorySummary>,
    /// Liveness before anything was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Verification>,
    /// What earlier runs did (audit log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earlier: Option<String>,
    /// What will be done.
    pub planned: Planned,
    /// What was done (after execution).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
    /// Liveness after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Verification>,
    /// Who must be told, what to rotate, and a ready message.
    pub notice: Notice,
}

impl Item {
    /// Whether something is left to do for this secret: it was not revoked, or may still be
    /// alive, or the facility must still rotate something.
    pub fn open(&self) -> bool {
        if self
            .outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Failed { .. }))
        {
            return true;
        }
        let revoked = self.outcomes.iter().any(Outcome::ended)
            && self
                .outcomes
                .iter()
                .all(|o| !matches!(o, Outcome::NotRevocable { .. }));
        let latest = self.after.as_ref().or(self.before.as_ref());
        let ops = self.issuer.map(issuer::ops);
        // Still accepted after everything: open — except a revocation that takes minutes to
        // reach every service (Globus).
        if latest.is_some_and(|v| v.liveness == Liveness::Live)
            && !(revoked && ops.is_some_and(|o| o.settles_late()))
        {
            return true;
        }
        // A revoked token still good until `exp` where it is checked offline (a Keycloak
        // access JWT at CSM's gateway): the admin steps remain.
        let exp_ahead = self
            .token
            .as_ref()
            .and_then(|t| t.exp)
            .is_some_and(|e| e > super::call_log::now_unix());
        if revoked
            && ops.is_some_and(|o| o.valid_until_exp_after_revocation(self.token.as_ref()))
            && exp_ahead
        {
            return true;
        }
        let dead = latest.is_some_and(|v| {
            (v.liveness == Liveness::Dead && v.conclusive) || v.liveness == Liveness::Revoked
        });
        !(revoked || dead || matches!(self.planned, Planned::Skip { .. }))
    }

    /// Whether the plan calls the issuer.
    pub fn revokes(&self) -> bool {
        matches!(self.planned, Planned::Revoke { .. })
    }
}

/// The whole plan.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// One item per secret.
    pub items: Vec<Item>,
}

fn earlier(p: Option<&Past>) -> Option<String> {
    let p = p?;
    if let Some(t) = &p.revoked_at {
        return Some(format!("revoked by an earlier run at {t}"));
    }
    if let Some(t) = &p.interrupted_at {
        return Some(format!(
            "an earlier revocation was cut off at {t} (no answer was logged); it may or may \
             not have happened"
        ));
    }
    p.failed
        .as_ref()
        .map(|f| format!("an earlier revocation failed: {f}"))
}

fn handling_name<S: serde::Serializer>(i: &Option<Issuer>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(handling(*i))
}

/// Decides what to do to each finding.
pub fn build(findings: &[Finding], history: &History, issuers: &Issuers) -> Plan {
    let mut items: Vec<Item> = findings
        .iter()
        .map(|f| {
            let kind = issuer::of(f);
            let past = history.get(&f.fingerprint);
            let before = f.verification.clone();
            let planned = decide(f, kind, past, before.as_ref(), issuers);
            Item {
                fingerprint: f.fingerprint.clone(),
                rule_id: f.rule_id.clone(),
                rule_name: f.rule_name.clone(),
                facility: f.facility.clone(),
                issuer: kind,
                preview: f.preview.clone(),
                token: f.token.clone(),
                locations: f.locations.clone(),
                history: f.history.clone(),
                before,
                earlier: earlier(past),
                planned,
                outcomes: Vec::new(),
                after: None,
                notice: notify::notice(f, kind),
            }
        })
        .collect();
    // Live first, then what will be revoked, then the rest; stable by fingerprint.
    items.sort_by_key(|i| {
        (
            !matches!(i.before.as_ref().map(|v| v.liveness), Some(Liveness::Live)),
            !i.revokes(),
            i.fingerprint.clone(),
        )
    });
    Plan { items }
}

fn decide(
    f: &Finding,
    kind: Option<Issuer>,
    past: Option<&Past>,
    before: Option<&Verification>,
    issuers: &Issuers,
) -> Planned {
    let endpoint = match issuers.revoke_target(f, kind) {
        Ok(e) => e,
        Err(why) => return Planned::Manual { why },
    };
    let live = before.is_some_and(|v| v.liveness == Liveness::Live);
    if let Some(t) = past.and_then(|p| p.revoked_at.as_ref())
        && !live
    {
        return Planned::Skip {
            why: format!("already revoked at {t} (audit log)"),
        };
    }
    if let Some(v) = before
        && v.liveness == Liveness::Dead
        && v.conclusive
    {
        return Planned::Skip {
            why: format!("dead already: {}", v.reason),
        };
    }
    let mut notes = Vec::new();
    if past.is_some_and(|p| p.revoked_at.is_some()) && live {
        notes.push("revoked before, but still accepted: revoking again".to_string());
    }
    if past.is_some_and(|p| p.interrupted_at.is_some()) {
        notes.push("an earlier revocation was cut off; revoking again is safe".into());
    }
    let ops = kind.map(issuer::ops);
    if let Some(o) = ops {
        notes.extend(o.revoke_notes(f, before));
    }
    Planned::Revoke {
        endpoint,
        irreversible: ops.is_some_and(|o| o.irreversible()),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

fn liveness_word(v: Option<&Verification>) -> String {
    match v {
        None => "not checked".into(),
        Some(v) => format!("{}: {}", v.headline(), v.reason),
    }
}

/// A location in one line: `path:line` or `commit:path:line`.
pub fn where_(l: &Location) -> String {
    match &l.git {
        Some(g) if !g.commit.is_empty() => {
            format!(
                "{}:{}:{}",
                &g.commit[..g.commit.len().min(12)],
                g.path,
                l.line
            )
        }
        Some(g) => format!("blob {}:{}", &g.blob[..g.blob.len().min(12)], l.line),
        None => format!("{}:{}", l.path, l.line),
    }
}

/// Appends one line to a rendered plan, escaped as a whole ([`crate::text::printable`]):
/// nearly every value in it came from outside (paths, authors, claims, an issuer's words), and
/// the plan is on screen right before "Type yes to revoke".
macro_rules! say {
    ($s:expr, $($arg:tt)*) => {{
        $s.push_str(&crate::text::printable(&format!($($arg)*)));
        $s.push('\n');
    }};
}

impl Plan {
    /// How many secrets the plan revokes.
    pub fn revocations(&self) -> usize {
        self.items.iter().filter(|i| i.revokes()).count()
    }

    /// The plan as text, for the terminal: nothing secret in it.
    pub fn render(&self) -> String {
        let mut s = String::new();
        say!(
            s,
            "Plan: {} secret(s); {} to revoke.",
            self.items.len(),
            self.revocations()
        );
        for (n, i) in self.items.iter().enumerate() {
            s.push('\n');
            say!(
                s,
                "{}. {} [{}] {}  {}",
                n + 1,
                i.rule_name,
                i.rule_id,
                i.preview,
                i.fingerprint
            );
            let mut locs: Vec<String> = i.locations.iter().map(where_).collect();
            locs.dedup();
            let more = locs.len().saturating_sub(5);
            locs.truncate(5);
            say!(
                s,
                "   found: {}{}",
                locs.join(", "),
                if more > 0 {
                    format!(" (+{more} more)")
                } else {
                    String::new()
                }
            );
            if let Some(h) = &i.history {
                let g = &h.introduced_by;
                say!(
                    s,
                    "   history: first committed in {} by {} ({}); {}",
                    &g.commit[..g.commit.len().min(12)],
                    g.author,
                    crate::text::format_time(g.time),
                    if h.at_head {
                        "still at HEAD"
                    } else {
                        "no longer at HEAD"
                    }
                );
            }
            say!(s, "   liveness: {}", liveness_word(i.before.as_ref()));
            if let Some(v) = &i.before {
                for (k, val) in &v.facts {
                    say!(s, "     {k}: {val}");
                }
            }
            if let Some(e) = &i.earlier {
                say!(s, "   earlier: {e}");
            }
            match &i.planned {
                Planned::Revoke {
                    endpoint,
                    irreversible,
                    note,
                } => {
                    say!(
                        s,
                        "   action: REVOKE at {endpoint}{}",
                        if *irreversible {
                            " (irreversible: the token cannot be restored)"
                        } else {
                            ""
                        }
                    );
                    if let Some(n) = note {
                        say!(s, "   note: {n}");
                    }
                }
                Planned::Skip { why } => {
                    say!(s, "   action: none ({why})");
                }
                Planned::Manual { why } => {
                    say!(s, "   action: none possible here ({why})");
                    say!(s, "   tell: {}", i.notice.contact);
                }
            }
        }
        s
    }

    /// What happened, as text, after execution.
    pub fn render_outcomes(&self) -> String {
        let mut s = String::new();
        for (n, i) in self.items.iter().enumerate() {
            if i.outcomes.is_empty() && i.after.is_none() {
                continue;
            }
            say!(s, "{}. {} {}", n + 1, i.rule_id, i.fingerprint);
            for o in &i.outcomes {
                match o {
                    Outcome::Revoked { endpoint, detail } => {
                        say!(s, "   revoked at {endpoint}: {detail}")
                    }
                    Outcome::Already { endpoint, detail } => {
                        say!(s, "   already dead at {endpoint}: {detail}")
                    }
                    Outcome::Refused { endpoint, reason } => {
                        say!(s, "   refused at {endpoint}: {reason}")
                    }
                    Outcome::NotRevocable { why } => say!(s, "   not revocable: {why}"),
                    Outcome::Failed { endpoint, reason } => {
                        say!(s, "   FAILED at {endpoint}: {reason}")
                    }
                };
            }
            if i.after.is_some() {
                say!(s, "   liveness after: {}", liveness_word(i.after.as_ref()));
            }
        }
        let open = self.items.iter().filter(|i| i.open()).count();
        say!(
            s,
            "{} secret(s) still need attention (see the notices in the incident report).",
            open
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(liveness: Liveness, conclusive: bool) -> Verification {
        Verification {
            liveness,
            reason: String::new(),
            conclusive,
            endpoint: None,
            checked_at: String::new(),
            facts: Default::default(),
        }
    }

    fn item(kind: Option<Issuer>, before: Option<Verification>, planned: Planned) -> Item {
        Item {
            fingerprint: "tw1:x".into(),
            rule_id: "r".into(),
            rule_name: "r".into(),
            facility: "f".into(),
            issuer: kind,
            preview: String::new(),
            token: None,
            locations: Vec::new(),
            history: None,
            before,
            earlier: None,
            planned,
            outcomes: Vec::new(),
            after: None,
            notice: Notice {
                contact: String::new(),
                rotate: Vec::new(),
                subject: String::new(),
            },
        }
    }

    fn revoke() -> Planned {
        Planned::Revoke {
            endpoint: "https://x".into(),
            irreversible: false,
            note: None,
        }
    }

    fn revoked() -> Outcome {
        Outcome::Revoked {
            endpoint: "https://x".into(),
            detail: String::new(),
        }
    }

    #[test]
    fn what_is_left_to_do() {
        // Alive and nothing possible: open. Proven dead: closed. Refused but not proven: open.
        let manual = || Planned::Manual { why: String::new() };
        assert!(
            item(
                Some(Issuer::Slurm),
                Some(check(Liveness::Live, true)),
                manual()
            )
            .open()
        );
        assert!(
            !item(
                Some(Issuer::Slurm),
                Some(check(Liveness::Dead, true)),
                manual()
            )
            .open()
        );
        assert!(
            item(
                Some(Issuer::Slurm),
                Some(check(Liveness::Dead, false)),
                manual()
            )
            .open()
        );
        assert!(item(None, None, manual()).open());
        // Revoked and dead after: closed; a failure anywhere: open; still live after: open.
        let mut i = item(
            Some(Issuer::S3m),
            Some(check(Liveness::Live, true)),
            revoke(),
        );
        assert!(i.open(), "planned but not done");
        i.outcomes = vec![revoked()];
        i.after = Some(check(Liveness::Dead, true));
        assert!(!i.open());
        i.after = Some(check(Liveness::Live, true));
        assert!(i.open(), "S3M still accepts it after a revocation");
        i.after = None;
        i.outcomes.push(Outcome::Failed {
            endpoint: String::new(),
            reason: String::new(),
        });
        assert!(i.open());
        // Globus: still accepted right after the revocation is propagation, not failure.
        let mut g = item(
            Some(Issuer::Globus),
            Some(check(Liveness::Live, true)),
            revoke(),
        );
        g.outcomes = vec![revoked()];
        g.after = Some(check(Liveness::Live, true));
        assert!(!g.open());
        // A revoked Keycloak access JWT before its exp: open; past exp or a refresh token: closed.
        let mut k = item(
            Some(Issuer::Keycloak),
            Some(check(Liveness::Live, true)),
            revoke(),
        );
        k.outcomes = vec![revoked()];
        k.after = Some(check(Liveness::Dead, true));
        k.token = Some(TokenFacts {
            exp: Some(super::super::call_log::now_unix() + 3600),
            token_type: Some("Bearer".into()),
            ..Default::default()
        });
        assert!(k.open());
        k.token.as_mut().unwrap().token_type = Some("Refresh".into());
        assert!(!k.open());
        // Skipped because the log or the issuer says it is over: closed.
        let s = item(
            Some(Issuer::S3m),
            Some(check(Liveness::Unknown, false)),
            Planned::Skip { why: String::new() },
        );
        assert!(!s.open());
    }
}
