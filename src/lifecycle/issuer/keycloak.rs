//! A Keycloak (HPE/Cray CSM), for its JWTs: the token's own `exp`, then `userinfo` on the
//! Keycloak the user configured (only when the token's `iss` is that Keycloak); RFC 7009
//! revocation as the client the token was issued to, and for a refresh token also Keycloak's
//! logout, which ends the session.

use super::IssuerOps;
use crate::engine::jwt::TokenFacts;
use crate::facilities::credential::Token;
use crate::facilities::http::Call;
use crate::finding::{Finding, Liveness, Verification};
use crate::lifecycle::call_log::CallLogError;
use crate::lifecycle::issuers::Issuers;
use crate::lifecycle::issuers::display_endpoint;
use crate::lifecycle::plan::Outcome;
use crate::lifecycle::revoke::{oauth_error, oauth_post};
use crate::lifecycle::verify::status_of;
use crate::lifecycle::verify::{result, unknown};
use crate::lifecycle::{Lifecycle, SourceReader};
use crate::rules::Issuer;
use crate::rules::JwtClass;
use reqwest::Method;
use serde_json::Value;

/// A Keycloak.
pub struct Keycloak;

/// Whether a Keycloak token is a refresh (or offline) token rather than an access token.
pub fn is_refresh(t: Option<&TokenFacts>) -> bool {
    matches!(
        t.and_then(|t| t.token_type.as_deref()),
        Some("Refresh") | Some("Offline")
    )
}

impl IssuerOps for Keycloak {
    fn name(&self) -> &'static str {
        "CSM Keycloak"
    }

    /// Only what decodes as a JWT: Keycloak's tokens are.
    fn takes(&self, class: Option<JwtClass>) -> bool {
        class.is_some()
    }

    fn origins(&self, issuers: &Issuers) -> Vec<String> {
        issuers
            .keycloak
            .iter()
            .map(|k| super::origin(&k.base))
            .collect()
    }

    fn verify(
        &self,
        lc: &Lifecycle,
        f: &Finding,
        token: Token,
        source: SourceReader<'_>,
    ) -> Result<Verification, CallLogError> {
        let _ = source;
        let token = &token;
        let Some(kc) = lc.issuers.keycloak.clone() else {
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
        if is_refresh(f.token.as_ref()) {
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
        lc.checked(f, Issuer::Keycloak, &url, || match lc.http.send(&call) {
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

    fn revoke_target(&self, issuers: &Issuers, f: &Finding) -> Result<String, String> {
        let kc = issuers
            .keycloak
            .as_ref()
            .ok_or_else(|| "no CSM Keycloak in your config (set `url` under [csm])".to_string())?;
        let iss = f.token.as_ref().and_then(|t| t.issuer.as_deref());
        if iss != Some(kc.issuer().as_str()) {
            return Err(format!(
                "issued by {}, not by the Keycloak in your config ({}): it is not sent there",
                iss.unwrap_or("an unnamed issuer"),
                kc.issuer()
            ));
        }
        Ok(display_endpoint(&kc.oidc("revoke")))
    }

    fn revoke_notes(&self, f: &Finding, _before: Option<&Verification>) -> Vec<String> {
        if is_refresh(f.token.as_ref()) {
            return Vec::new();
        }
        vec![
            "an access JWT may still be accepted until its `exp` by services that check it \
             offline (the CSM gateway)"
                .into(),
        ]
    }

    /// An access JWT is checked offline by CSM's gateway: revoked or not, it is good there
    /// until `exp`.
    fn valid_until_exp_after_revocation(&self, token: Option<&TokenFacts>) -> bool {
        !is_refresh(token)
    }

    fn revoke(
        &self,
        lc: &Lifecycle,
        f: &Finding,
        token: &Token,
    ) -> Result<Vec<Outcome>, CallLogError> {
        let Some(kc) = lc.issuers.keycloak.clone() else {
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
        let refresh = is_refresh(f.token.as_ref());
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
        let mut out = vec![lc.mutation(f, Issuer::Keycloak, "revoke", &url, || {
            match lc.http.send(&call) {
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
            out.push(lc.mutation(
                f,
                Issuer::Keycloak,
                "logout",
                &url,
                || match lc.http.send(&call) {
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
                },
            )?);
        }
        Ok(out)
    }

    fn notice(&self, _f: &Finding) -> Option<(&'static str, Vec<String>)> {
        Some((
                "the system's administrators (CSM), and HPE support if they need it",
                vec![
                    "Revocation and logout stop refresh, but an access JWT stays valid at a \
                     gateway that checks it offline until `exp` (CSM's default is 365 days)."
                        .into(),
                    "Admin steps that end it sooner: `POST /keycloak/admin/realms/shasta/users/\
                     {id}/logout` (all sessions of the user), `POST …/push-revocation` (not-before \
                     for every client), rotating the realm's signing keys, or disabling the account."
                        .into(),
                ],
            ))
    }
}
