//! OLCF S3M: project access tokens are introspected (`GET /olcf/v1/token/ctls/introspect`:
//! owner, project, expiry) and revoked (`DELETE /olcf/v1/token/ctls/revoke`, irreversible).

use super::IssuerOps;
use crate::facilities::credential::Token;
use crate::facilities::s3m::{PathStyle, S3m as S3mClient};
use crate::finding::{Finding, Liveness, Verification};
use crate::lifecycle::call_log::CallLogError;
use crate::lifecycle::issuers::{Issuers, display_endpoint};
use crate::lifecycle::notify::OLCF;
use crate::lifecycle::plan::Outcome;
use crate::lifecycle::verify::status_of;
use crate::lifecycle::verify::{result, unknown};
use crate::lifecycle::{Lifecycle, SourceReader};
use crate::rules::Issuer;
use serde_json::Value;

/// OLCF S3M.
pub struct S3m;

impl IssuerOps for S3m {
    fn name(&self) -> &'static str {
        "OLCF S3M"
    }

    fn origins(&self, issuers: &Issuers) -> Vec<String> {
        vec![super::origin(&issuers.s3m)]
    }

    fn verify(
        &self,
        lc: &Lifecycle,
        f: &Finding,
        token: Token,
        _source: SourceReader<'_>,
    ) -> Result<Verification, CallLogError> {
        let token = &token;
        let base = lc.issuers.s3m.clone();
        let url = base.join("/olcf/v1/token/ctls/introspect");
        let client = match S3mClient::new(lc.http.clone(), base, "open", PathStyle::Current) {
            Ok(c) => c,
            Err(e) => return Ok(unknown(e.to_string())),
        };
        lc.checked(f, Issuer::S3m, &url, || match client.introspect(token) {
            Ok(v) => {
                let mut r = result(Liveness::Live, true, "S3M introspection accepted it");
                if let Some(t) = v.get("token").and_then(Value::as_object) {
                    for (k, name) in [
                        ("username", "owner"),
                        ("project", "project"),
                        ("plannedExpiration", "planned_expiration"),
                        ("securityEnclave", "enclave"),
                        ("description", "description"),
                    ] {
                        if let Some(s) = t.get(k).and_then(Value::as_str) {
                            r.facts.insert(name.into(), s.into());
                        }
                    }
                    if let Some(p) = t.get("permissions").and_then(Value::as_array) {
                        let p: Vec<&str> = p.iter().filter_map(Value::as_str).collect();
                        r.facts.insert("permissions".into(), p.join(", "));
                    }
                }
                r
            }
            Err(e) => match status_of(&e) {
                Some(401) | Some(403) => result(
                    Liveness::Dead,
                    true,
                    format!(
                        "S3M refused it (HTTP {}): revoked, expired or never valid",
                        status_of(&e).unwrap_or(0)
                    ),
                ),
                _ => unknown(format!("S3M did not answer the question: {e}")),
            },
        })
    }

    fn revoke_target(&self, issuers: &Issuers, _f: &Finding) -> Result<String, String> {
        Ok(display_endpoint(
            &issuers.s3m.join("/olcf/v1/token/ctls/revoke"),
        ))
    }

    fn revoke(
        &self,
        lc: &Lifecycle,
        f: &Finding,
        token: &Token,
    ) -> Result<Vec<Outcome>, CallLogError> {
        revoke(lc, f, token).map(|o| vec![o])
    }

    fn irreversible(&self) -> bool {
        true
    }

    fn notice(&self, _f: &Finding) -> Option<(&'static str, Vec<String>)> {
        Some((
            OLCF,
            vec![
                "Confirm the token is revoked in myOLCF → Manage Tokens (revocation cannot be \
                 undone), then create a new token with only the permissions needed."
                    .into(),
                "Tell OLCF promptly (their token policy asks for it), with the fingerprint and \
                 where it was exposed."
                    .into(),
            ],
        ))
    }
}

fn revoke(lc: &Lifecycle, f: &Finding, token: &Token) -> Result<Outcome, CallLogError> {
    let base = lc.issuers.s3m.clone();
    let url = base.join("/olcf/v1/token/ctls/revoke");
    let endpoint = display_endpoint(&url);
    let client = match S3mClient::new(lc.http.clone(), base, "open", PathStyle::Current) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Outcome::Failed {
                endpoint,
                reason: e.to_string(),
            });
        }
    };
    lc.mutation(f, Issuer::S3m, "revoke", &url, || {
        match client.revoke(token) {
            Ok(_) => Outcome::Revoked {
                endpoint: endpoint.clone(),
                detail: "S3M answered 200: revoked (irreversible)".into(),
            },
            // S3M refuses a token it no longer knows: it is dead already.
            Err(e) if e.status() == Some(401) => Outcome::Already {
                endpoint: endpoint.clone(),
                detail: "S3M no longer accepts it (HTTP 401): revoked or invalid already".into(),
            },
            Err(e) => Outcome::Failed {
                endpoint: endpoint.clone(),
                reason: e.to_string(),
            },
        }
    })
}
