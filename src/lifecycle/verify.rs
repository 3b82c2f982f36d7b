//! Liveness: the cheapest call that proves a secret works, without side effects
//! (FACILITIES.md §8), or the token's own `exp` when that already answers.
//!
//! Each issuer's check lives in its module under [`super::issuer`]; this file holds what they
//! share: the token's own expiry, the dispatch, and `Lifecycle::checked`.
//!
//! Every request is logged before and after (the audit log) and goes only to an endpoint
//! [`Issuers::check`](super::Issuers::check) allows.

use super::issuer;
use super::issuers::display_endpoint;
use super::{Lifecycle, SourceReader};
use crate::facilities::ClientError;
use crate::facilities::credential::Token;
use crate::finding::{Finding, Liveness, Verification};
use crate::lifecycle::call_log::{CallLogError, now_rfc3339};
use crate::rules::{Action, Issuer};
use std::collections::BTreeMap;

pub(super) fn result(
    liveness: Liveness,
    conclusive: bool,
    reason: impl Into<String>,
) -> Verification {
    Verification {
        liveness,
        reason: reason.into(),
        conclusive,
        endpoint: None,
        checked_at: now_rfc3339(),
        facts: BTreeMap::new(),
    }
}

pub(super) fn unknown(reason: impl Into<String>) -> Verification {
    result(Liveness::Unknown, false, reason)
}

fn at(mut v: Verification, url: &url::Url) -> Verification {
    v.endpoint = Some(display_endpoint(url));
    v
}

/// The `(outcome, detail)` the audit log records for a check.
fn log_words(v: &Verification) -> (String, String) {
    let word = match v.liveness {
        Liveness::Live => "live",
        Liveness::Dead => "dead",
        Liveness::Revoked => "revoked",
        Liveness::Unknown => "unknown",
    };
    (word.to_string(), v.reason.clone())
}

/// "401" and friends, from a client error.
pub(super) fn status_of(e: &ClientError) -> Option<u16> {
    e.status()
}

impl Lifecycle {
    /// Checks one secret. A check that cannot be made is `unknown` with the reason; only a
    /// failure to write the audit log is an error.
    pub fn verify(
        &self,
        f: &Finding,
        source: SourceReader<'_>,
    ) -> Result<Verification, CallLogError> {
        let token = Token::new(String::from_utf8_lossy(f.secret.expose()).into_owned());
        // A token's own expiry answers without asking anyone.
        if let Some(exp) = f.token.as_ref().and_then(|t| t.exp)
            && exp <= self.now
        {
            return Ok(result(
                Liveness::Dead,
                true,
                format!(
                    "expired at {} (its own `exp`)",
                    crate::text::format_time(exp)
                ),
            ));
        }
        let Some(issuer) = issuer::of(f) else {
            return Ok(unknown(
                "no issuer offers a liveness check for this kind of secret",
            ));
        };
        if !issuer::wants(f, issuer, Action::Verify) {
            return Ok(unknown("not checked: its rule asks for no liveness check"));
        }
        issuer::ops(issuer).verify(self, f, token, source)
    }

    /// Runs a check through the allowlist and the audit log.
    pub(super) fn checked(
        &self,
        f: &Finding,
        issuer: Issuer,
        url: &url::Url,
        call: impl FnOnce() -> Verification,
    ) -> Result<Verification, CallLogError> {
        if let Err(e) = self.issuers.check(issuer, url) {
            return Ok(unknown(e.to_string()));
        }
        let endpoint = display_endpoint(url);
        let secret = String::from_utf8_lossy(f.secret.expose());
        let v = self.logged(&f.fingerprint, &f.facility, "verify", &endpoint, || {
            // An issuer may echo the token (in an error, or in a field such as an S3M token's
            // `description`): nothing of it reaches the log, the reports or the incident files.
            let mut v = call();
            let cut = |t: &str| crate::facilities::http::redact(t, &[&secret]);
            v.reason = cut(&v.reason);
            v.facts = std::mem::take(&mut v.facts)
                .into_iter()
                .map(|(k, x)| (cut(&k), cut(&x)))
                .collect();
            let (o, d) = log_words(&v);
            (v, o, d)
        })?;
        Ok(at(v, url))
    }
}
