//! Liveness: the cheapest call that proves a secret works, without side effects
//! (FACILITIES.md §8), or the token's own `exp` when that already answers.
//!
//! | kind | check |
//! |---|---|
//! | S3M OPAT | `GET /olcf/v1/token/ctls/introspect` (owner, project, expiry) |
//! | Globus | ALCF IRI `GET /task/not-a-real-task`: 404 live, 401/403 refused |
//! | Slurm JWT | `exp`, then `GET /slurm/<v>/diag/` on the configured slurmrestd |
//! | Palmetto | `GET /slurm/<v>/diag/` with the bearer |
//! | Keycloak | `exp`, then `GET …/openid-connect/userinfo` on the configured Keycloak |
//! | S3 keys (CSM STS, RGW, AWS-style) | S3 `ListBuckets` on the S3 endpoint in the user's config |
//!
//! Every request is logged before and after (the audit log) and goes only to an endpoint
//! [`Issuers::check`](super::Issuers::check) allows.

use super::issuers::{Issuer, display_endpoint};
use super::kind::{self, Kind};
use super::{Lifecycle, SourceReader};
use crate::facilities::ClientError;
use crate::facilities::credential::Token;
use crate::facilities::http::Call;
use crate::facilities::s3m::{PathStyle, S3m};
use crate::facilities::slurm::{Auth, Gateway, SlurmClient};
use crate::finding::{Finding, Liveness, Verification};
use crate::lifecycle::auditlog::{AuditLogError, now_rfc3339};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;

fn result(liveness: Liveness, conclusive: bool, reason: impl Into<String>) -> Verification {
    Verification {
        liveness,
        reason: reason.into(),
        conclusive,
        endpoint: None,
        checked_at: now_rfc3339(),
        facts: BTreeMap::new(),
    }
}

fn unknown(reason: impl Into<String>) -> Verification {
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
fn status_of(e: &ClientError) -> Option<u16> {
    e.status()
}

impl Lifecycle {
    /// Checks one secret. A check that cannot be made is `unknown` with the reason; only a
    /// failure to write the audit log is an error.
    pub fn verify(
        &self,
        f: &Finding,
        source: SourceReader<'_>,
    ) -> Result<Verification, AuditLogError> {
        let token = Token::new(String::from_utf8_lossy(f.secret.expose()).into_owned());
        // A token's own expiry answers without asking anyone.
        if let Some(exp) = f.token.as_ref().and_then(|t| t.exp)
            && exp <= self.now
        {
            return Ok(result(
                Liveness::Dead,
                true,
                format!("expired at {} (its own `exp`)", unix_to_rfc3339(exp)),
            ));
        }
        match kind::of(f) {
            Kind::S3m => self.verify_s3m(f, &token),
            Kind::Globus => self.verify_globus(f, &token),
            Kind::SlurmJwt => self.verify_slurm(f, token),
            Kind::Palmetto => self.verify_palmetto(f, token),
            Kind::Keycloak => self.verify_keycloak(f, &token),
            Kind::S3Keys => self.verify_sts(f, token, source),
            Kind::Manual => Ok(unknown(
                "no issuer offers a liveness check for this kind of secret",
            )),
        }
    }

    /// Runs a check through the allowlist and the audit log.
    fn checked(
        &self,
        f: &Finding,
        issuer: Issuer,
        url: &url::Url,
        call: impl FnOnce() -> Verification,
    ) -> Result<Verification, AuditLogError> {
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

    fn verify_s3m(&self, f: &Finding, token: &Token) -> Result<Verification, AuditLogError> {
        let base = self.issuers.s3m.clone();
        let url = base.join("/olcf/v1/token/ctls/introspect");
        let client = match S3m::new(self.http.clone(), base, "open", PathStyle::Current) {
            Ok(c) => c,
            Err(e) => return Ok(unknown(e.to_string())),
        };
        self.checked(f, Issuer::S3m, &url, || match client.introspect(token) {
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

    fn verify_globus(&self, f: &Finding, token: &Token) -> Result<Verification, AuditLogError> {
        let url = self.issuers.alcf_iri.join("task/not-a-real-task");
        let call = Call::new(Method::GET, url.clone())
            .header("accept", "application/json")
            .credential("authorization", "Bearer ", token)
            .read_only();
        self.checked(f, Issuer::Globus, &url, || match self.http.send(&call) {
            Ok(_) => result(
                Liveness::Live,
                true,
                "ALCF's IRI API accepted it (it even answered for a task that does not exist)",
            ),
            Err(e) => match status_of(&e) {
                Some(404) => result(
                    Liveness::Live,
                    true,
                    "ALCF's IRI API accepted it (404 for a task that does not exist)",
                ),
                Some(s @ (401 | 403)) => result(
                    Liveness::Dead,
                    false,
                    format!(
                        "ALCF's IRI API refused it (HTTP {s}): expired or revoked, or a token \
                         for another Globus resource server (NERSC), which this probe cannot tell"
                    ),
                ),
                _ => unknown(format!("ALCF's IRI API did not answer the question: {e}")),
            },
        })
    }

    fn verify_slurm(&self, f: &Finding, token: Token) -> Result<Verification, AuditLogError> {
        let Some((base, version)) = self.issuers.slurm.clone() else {
            return Ok(unknown(
                "not checked: no slurmrestd in your config (set `url` under [slurm]); a Slurm \
                 JWT is only valid at the cluster whose key signed it",
            ));
        };
        let Some(user) = f.token.as_ref().and_then(|t| t.user.clone()) else {
            return Ok(unknown("not checked: the JWT names no user (`sun`)"));
        };
        self.slurm_read(f, Issuer::Slurm, base, version, Gateway::Slurmrestd, || {
            Auth::Jwt { token, user }
        })
    }

    fn verify_palmetto(&self, f: &Finding, token: Token) -> Result<Verification, AuditLogError> {
        let (base, version) = self.issuers.palmetto.clone();
        self.slurm_read(
            f,
            Issuer::Palmetto,
            base,
            version,
            Gateway::Palmetto,
            || Auth::Bearer(token),
        )
    }

    fn slurm_read(
        &self,
        f: &Finding,
        issuer: Issuer,
        base: crate::facilities::Endpoint,
        version: crate::facilities::slurm::ApiVersion,
        gateway: Gateway,
        auth: impl FnOnce() -> Auth,
    ) -> Result<Verification, AuditLogError> {
        let mut client =
            match SlurmClient::new(self.http.clone(), base.clone(), version, gateway, auth()) {
                Ok(c) => c,
                Err(e) => return Ok(unknown(e.to_string())),
            };
        // One logged call covers both requests: for `latest`, a stock slurmrestd is asked for
        // its OpenAPI document first (authenticated, so it carries the token too).
        let url = base.join(&format!("slurm/{}/diag/", client.version()));
        let name = issuer.name();
        self.checked(f, issuer, &url, move || {
            let answer = client.resolve_latest().and_then(|()| client.diag());
            match answer {
                Ok(_) => result(Liveness::Live, true, format!("{name} accepted it (diag)")),
                Err(e) => match status_of(&e) {
                    Some(401) => result(
                        Liveness::Dead,
                        true,
                        format!("{name} refused it (HTTP 401)"),
                    ),
                    Some(403) => result(
                        Liveness::Live,
                        true,
                        format!(
                            "{name} knows it but denied this read (HTTP 403): it authenticates"
                        ),
                    ),
                    // Slurm 24.11's slurmrestd passes the token on; slurmctld refuses it: 511.
                    Some(511) => result(
                        Liveness::Dead,
                        true,
                        format!("slurmctld behind {name} refused the authentication (HTTP 511)"),
                    ),
                    // Slurm 22.05's slurmrestd answers a token it refuses with 500, as it answers a
                    // failure of its own: probably dead, not proven.
                    Some(500) if gateway == Gateway::Slurmrestd => result(
                        Liveness::Dead,
                        false,
                        format!(
                            "{name} answered 500, as Slurm 22.05 answers a token it refuses (or a \
                         failure of its own)"
                        ),
                    ),
                    _ => unknown(format!("{name} did not answer the question: {e}")),
                },
            }
        })
    }

    fn verify_keycloak(&self, f: &Finding, token: &Token) -> Result<Verification, AuditLogError> {
        let Some(kc) = self.issuers.keycloak.clone() else {
            return Ok(unknown(
                "not checked: no CSM Keycloak in your config (set `url` under [csm])",
            ));
        };
        let iss = f.token.as_ref().and_then(|t| t.issuer.clone());
        if iss.as_deref() != Some(kc.issuer().as_str()) {
            return Ok(unknown(format!(
                "not checked: issued by {}, not by the Keycloak in your config ({}); a token is \
                 only sent to its own issuer",
                iss.as_deref().unwrap_or("an unnamed issuer"),
                kc.issuer()
            )));
        }
        if kind::is_refresh(f.token.as_ref()) {
            return Ok(unknown(
                "not checked: a refresh token can only be tested by using it, which would \
                 rotate it",
            ));
        }
        let url = kc.oidc("userinfo");
        let call = Call::new(Method::GET, url.clone())
            .header("accept", "application/json")
            .credential("authorization", "Bearer ", token)
            .read_only();
        self.checked(f, Issuer::Keycloak, &url, || match self.http.send(&call) {
            Ok(r) => {
                let mut v = result(Liveness::Live, true, "Keycloak's userinfo accepted it");
                if let Ok(j) = r.json::<Value>("userinfo")
                    && let Some(u) = j.get("preferred_username").and_then(Value::as_str)
                {
                    v.facts.insert("user".into(), u.into());
                }
                v
            }
            Err(e) => match status_of(&e) {
                Some(401) => result(
                    Liveness::Dead,
                    true,
                    "Keycloak refused it (HTTP 401): revoked, logged out or expired",
                ),
                _ => unknown(format!("Keycloak did not answer the question: {e}")),
            },
        })
    }

    fn verify_sts(
        &self,
        f: &Finding,
        secret: Token,
        source: SourceReader<'_>,
    ) -> Result<Verification, AuditLogError> {
        // SigV4 sends the key id and a signature, never the secret key; the session token
        // does travel, so only to the S3 endpoint the user named.
        let Some((base, region)) = self.issuers.s3.clone() else {
            return Ok(unknown(
                "not checked: no S3 endpoint in your config (set `s3_url` under [csm]); an \
                 endpoint written beside the keys is never used",
            ));
        };
        let parts = f.locations.iter().find_map(|loc| {
            let bytes = source(loc)?;
            kind::sts_parts(&bytes, loc.byte_offset as usize)
        });
        let Some(parts) = parts else {
            return Ok(unknown(
                "not checked: no access key id found beside the secret key",
            ));
        };
        let creds = crate::facilities::s3::S3Credentials {
            access_key_id: parts.access_key_id,
            secret_access_key: secret,
            session_token: parts.session_token.map(Token::new),
        };
        let url = base.join("/");
        self.checked(
            f,
            Issuer::S3,
            &url,
            || match crate::facilities::s3::list_buckets(&self.http, &base, &region, &creds) {
                Ok(b) => {
                    let mut v = result(Liveness::Live, true, "ListBuckets succeeded");
                    v.facts.insert("buckets".into(), b.len().to_string());
                    v
                }
                Err(e) => match crate::facilities::s3::s3_error_code(&e).as_deref() {
                    Some(
                        code @ ("InvalidAccessKeyId"
                        | "SignatureDoesNotMatch"
                        | "ExpiredToken"
                        | "InvalidToken"),
                    ) => result(
                        Liveness::Dead,
                        true,
                        format!("the S3 endpoint refused them ({code})"),
                    ),
                    Some("AccessDenied") => result(
                        Liveness::Live,
                        true,
                        "the S3 endpoint authenticated them but denied ListBuckets",
                    ),
                    _ => unknown(format!("the S3 endpoint did not answer the question: {e}")),
                },
            },
        )
    }
}

/// Unix seconds as RFC 3339.
pub fn unix_to_rfc3339(t: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}
