//! Revocation, where the issuer has it (FACILITIES.md §8):
//!
//! - S3M: `DELETE /olcf/v1/token/ctls/revoke` with the token itself; irreversible.
//! - Globus: RFC 7009 `POST /v2/oauth2/token/revoke`, as the native client that issued the
//!   token (the user's `[globus] client_id`, then ALCF's published clients; a client that is
//!   not the issuer is refused by the server, and the next is tried).
//! - Keycloak: RFC 7009 `POST …/openid-connect/revoke`, and for a refresh token also
//!   Keycloak's `POST …/openid-connect/logout`, which ends the session.
//!
//! Each call is logged before and after. A mutation is never retried blindly (the transport
//! retries a POST or DELETE only on 429 or when the connection never opened). An issuer that
//! says the token is already dead is an outcome (`already`), not an error: re-running an audit
//! is idempotent.

use super::Lifecycle;
use super::issuers::{Issuer, display_endpoint};
use super::kind::{self, Kind};
use super::plan::Outcome;
use crate::facilities::ClientError;
use crate::facilities::credential::Token;
use crate::facilities::http::{Call, form};
use crate::facilities::s3m::{PathStyle, S3m};
use crate::finding::Finding;
use crate::lifecycle::auditlog::AuditLogError;
use reqwest::Method;

/// An OAuth form POST carrying `token` (and the client's secret, when it has one, by
/// `client_secret_post`); both are cut out of any error text.
fn oauth_post<'a>(
    url: &url::Url,
    fields: &[(&str, &str)],
    token: &'a Token,
    client_secret: Option<&'a Token>,
) -> Call<'a> {
    let mut fields = fields.to_vec();
    if let Some(s) = client_secret {
        fields.push(("client_secret", s.expose()));
    }
    let mut call = Call::new(Method::POST, url.clone())
        .header("accept", "application/json")
        .body(form(&fields))
        .secret(token.expose());
    if let Some(s) = client_secret {
        call = call.secret(s.expose());
    }
    call
}

/// The OAuth `error` code of a refused request, if its body had one.
fn oauth_error(e: &ClientError) -> Option<String> {
    let text = e.to_string();
    for code in [
        "invalid_client",
        "unauthorized_client",
        "unsupported_token_type",
        "invalid_grant",
        "invalid_request",
    ] {
        if text.contains(code) {
            return Some(code.to_string());
        }
    }
    None
}

impl Lifecycle {
    /// Revokes one secret, if its issuer offers revocation. Only a failure to write the audit
    /// log is an error; everything the issuer says is an [`Outcome`].
    pub fn revoke(&self, f: &Finding) -> Result<Vec<Outcome>, AuditLogError> {
        let token = Token::new(String::from_utf8_lossy(f.secret.expose()).into_owned());
        match kind::of(f) {
            Kind::S3m => self.revoke_s3m(f, &token).map(|o| vec![o]),
            Kind::Globus => self.revoke_globus(f, &token).map(|o| vec![o]),
            Kind::Keycloak => self.revoke_keycloak(f, &token),
            _ => Ok(vec![Outcome::NotRevocable {
                why: "the issuer offers no revocation for this kind of secret".into(),
            }]),
        }
    }

    /// One mutation through the allowlist and the audit log.
    fn mutation(
        &self,
        f: &Finding,
        issuer: Issuer,
        action: &str,
        url: &url::Url,
        call: impl FnOnce() -> Outcome,
    ) -> Result<Outcome, AuditLogError> {
        if let Err(e) = self.issuers.check(issuer, url) {
            return Ok(Outcome::Failed {
                endpoint: display_endpoint(url),
                reason: e.to_string(),
            });
        }
        let endpoint = display_endpoint(url);
        let secret = String::from_utf8_lossy(f.secret.expose());
        self.logged(&f.fingerprint, &f.facility, action, &endpoint, || {
            // An issuer may echo the token in its answer: nothing of it reaches the log, the
            // reports or the incident files.
            let o = call().redacted(&secret);
            let (word, detail) = o.log_words();
            (o, word.to_string(), detail)
        })
    }

    fn revoke_s3m(&self, f: &Finding, token: &Token) -> Result<Outcome, AuditLogError> {
        let base = self.issuers.s3m.clone();
        let url = base.join("/olcf/v1/token/ctls/revoke");
        let endpoint = display_endpoint(&url);
        let client = match S3m::new(self.http.clone(), base, "open", PathStyle::Current) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Outcome::Failed {
                    endpoint,
                    reason: e.to_string(),
                });
            }
        };
        self.mutation(f, Issuer::S3m, "revoke", &url, || {
            match client.revoke(token) {
                Ok(_) => Outcome::Revoked {
                    endpoint: endpoint.clone(),
                    detail: "S3M answered 200: revoked (irreversible)".into(),
                },
                // S3M refuses a token it no longer knows: it is dead already.
                Err(e) if e.status() == Some(401) => Outcome::Already {
                    endpoint: endpoint.clone(),
                    detail: "S3M no longer accepts it (HTTP 401): revoked or invalid already"
                        .into(),
                },
                Err(e) => Outcome::Failed {
                    endpoint: endpoint.clone(),
                    reason: e.to_string(),
                },
            }
        })
    }

    fn revoke_globus(&self, f: &Finding, token: &Token) -> Result<Outcome, AuditLogError> {
        let url = self.issuers.globus_auth.join("/v2/oauth2/token/revoke");
        let endpoint = display_endpoint(&url);
        let mut refusals = Vec::new();
        for client_id in &self.issuers.globus_clients {
            let fields = [("token", token.expose()), ("client_id", client_id.as_str())];
            let call = oauth_post(&url, &fields, token, None);
            let outcome = self.mutation(f, Issuer::Globus, "revoke", &url, || {
                match self.http.send(&call) {
                    // RFC 7009 answers 200 for a token that was already invalid, too.
                    Ok(_) => Outcome::Revoked {
                        endpoint: endpoint.clone(),
                        detail: format!(
                            "Globus Auth answered 200 as client {client_id}: revoked (or already \
                             invalid); it can take about 10 minutes to reach every service"
                        ),
                    },
                    Err(e) => match oauth_error(&e).as_deref() {
                        Some("invalid_client" | "unauthorized_client" | "invalid_request")
                            if matches!(e.status(), Some(400) | Some(401) | Some(403)) =>
                        {
                            Outcome::Refused {
                                endpoint: endpoint.clone(),
                                reason: format!("not as client {client_id}: {e}"),
                            }
                        }
                        _ => Outcome::Failed {
                            endpoint: endpoint.clone(),
                            reason: e.to_string(),
                        },
                    },
                }
            })?;
            match outcome {
                Outcome::Refused { reason, .. } => refusals.push(reason),
                other => return Ok(other),
            }
        }
        Ok(Outcome::Failed {
            endpoint,
            reason: format!(
                "no known client could revoke it (set `client_id` under [globus] to the app that \
                 issued it): {}",
                refusals.join("; ")
            ),
        })
    }

    fn revoke_keycloak(&self, f: &Finding, token: &Token) -> Result<Vec<Outcome>, AuditLogError> {
        let Some(kc) = self.issuers.keycloak.clone() else {
            return Ok(vec![Outcome::Failed {
                endpoint: String::new(),
                reason: "no CSM Keycloak in your config (set `url` under [csm])".into(),
            }]);
        };
        let iss = f.token.as_ref().and_then(|t| t.issuer.clone());
        if iss.as_deref() != Some(kc.issuer().as_str()) {
            return Ok(vec![Outcome::Failed {
                endpoint: String::new(),
                reason: format!(
                    "issued by {}, not by the Keycloak in your config ({}): not sent",
                    iss.as_deref().unwrap_or("an unnamed issuer"),
                    kc.issuer()
                ),
            }]);
        }
        // The client the token was issued to (`azp`) is who may revoke it; its secret is
        // only known for the configured client.
        let client_id = f
            .token
            .as_ref()
            .and_then(|t| t.client.clone())
            .unwrap_or_else(|| kc.client_id.clone());
        let secret = match (&kc.client_secret, client_id == kc.client_id) {
            (Some(src), true) => match src.load("CSM Keycloak client secret") {
                Ok(l) => Some(l.token),
                Err(e) => {
                    return Ok(vec![Outcome::Failed {
                        endpoint: String::new(),
                        reason: e.to_string(),
                    }]);
                }
            },
            _ => None,
        };
        let refresh = kind::is_refresh(f.token.as_ref());
        let hint = if refresh {
            "refresh_token"
        } else {
            "access_token"
        };
        let fields = [
            ("token", token.expose()),
            ("token_type_hint", hint),
            ("client_id", client_id.as_str()),
        ];
        let url = kc.oidc("revoke");
        let endpoint = display_endpoint(&url);
        let call = oauth_post(&url, &fields, token, secret.as_ref());
        let mut out = vec![self.mutation(f, Issuer::Keycloak, "revoke", &url, || {
            match self.http.send(&call) {
                Ok(_) => Outcome::Revoked {
                    endpoint: endpoint.clone(),
                    detail: format!("Keycloak answered 200 as client {client_id}"),
                },
                Err(e) if oauth_error(&e).as_deref() == Some("unsupported_token_type") => {
                    Outcome::NotRevocable {
                        why: "this Keycloak does not revoke access tokens \
                              (unsupported_token_type): it stays valid until its `exp`"
                            .into(),
                    }
                }
                Err(e) => Outcome::Failed {
                    endpoint: endpoint.clone(),
                    reason: e.to_string(),
                },
            }
        })?];
        if refresh {
            let url = kc.oidc("logout");
            let endpoint = display_endpoint(&url);
            let fields = [
                ("client_id", client_id.as_str()),
                ("refresh_token", token.expose()),
            ];
            let call = oauth_post(&url, &fields, token, secret.as_ref());
            out.push(self.mutation(f, Issuer::Keycloak, "logout", &url, || {
                match self.http.send(&call) {
                    Ok(_) => Outcome::Revoked {
                        endpoint: endpoint.clone(),
                        detail: "Keycloak ended the session (logout)".into(),
                    },
                    Err(e) if oauth_error(&e).as_deref() == Some("invalid_grant") => {
                        Outcome::Already {
                            endpoint: endpoint.clone(),
                            detail: "Keycloak no longer knows the session (invalid_grant)".into(),
                        }
                    }
                    Err(e) => Outcome::Failed {
                        endpoint: endpoint.clone(),
                        reason: e.to_string(),
                    },
                }
            })?);
        }
        Ok(out)
    }
}
