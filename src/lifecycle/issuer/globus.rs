//! Globus Auth, for ALCF/NERSC IRI tokens: ALCF's IRI API is the liveness probe (a 404 for a
//! task that does not exist means the token authenticated), and RFC 7009 revocation goes to
//! Globus Auth as the native client that issued the token (the user's `[globus] client_id`,
//! then ALCF's published clients; a client that is not the issuer is refused, and the next is
//! tried), through the Globus client in `facilities`.

use super::IssuerOps;
use crate::facilities::credential::Token;
use crate::facilities::globus;
use crate::facilities::http::Call;
use crate::finding::{Finding, Liveness, Verification};
use crate::lifecycle::call_log::CallLogError;
use crate::lifecycle::issuers::Issuers;
use crate::lifecycle::issuers::display_endpoint;
use crate::lifecycle::plan::Outcome;
use crate::lifecycle::revoke::oauth_error;
use crate::lifecycle::verify::status_of;
use crate::lifecycle::verify::{result, unknown};
use crate::lifecycle::{Lifecycle, SourceReader};
use crate::rules::Issuer;
use crate::rules::JwtClass;
use reqwest::Method;

/// Globus Auth.
pub struct Globus;

impl IssuerOps for Globus {
    fn name(&self) -> &'static str {
        "Globus"
    }

    /// Globus access tokens are opaque: a JWT in an IRI variable that is none of the known
    /// classes (an AmSC Keycard) is not Globus's, and has no documented probe.
    fn takes(&self, class: Option<JwtClass>) -> bool {
        class.is_none()
    }

    fn origins(&self, issuers: &Issuers) -> Vec<String> {
        vec![
            super::origin(&issuers.globus_auth),
            super::origin(&issuers.alcf_iri),
        ]
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
        let url = lc.issuers.alcf_iri.join("task/not-a-real-task");
        let call = Call::new(Method::GET, url.clone())
            .header("accept", "application/json")
            .credential("authorization", "Bearer ", token)
            .read_only();
        lc.checked(f, Issuer::Globus, &url, || match lc.http.send(&call) {
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

    fn revoke_target(&self, issuers: &Issuers, _f: &Finding) -> Result<String, String> {
        Ok(display_endpoint(
            &issuers.globus_auth.join("/v2/oauth2/token/revoke"),
        ))
    }

    fn revoke_notes(&self, _f: &Finding, before: Option<&Verification>) -> Vec<String> {
        if before.is_none_or(|v| v.liveness != Liveness::Live) {
            vec![
                "its liveness is not proven either way; revoking a dead Globus token is harmless"
                    .into(),
            ]
        } else {
            Vec::new()
        }
    }

    /// A Globus revocation takes about ten minutes to reach every service.
    fn settles_late(&self) -> bool {
        true
    }

    fn revoke(
        &self,
        lc: &Lifecycle,
        f: &Finding,
        token: &Token,
    ) -> Result<Vec<Outcome>, CallLogError> {
        revoke(lc, f, token).map(|o| vec![o])
    }

    fn notice(&self, _f: &Finding) -> Option<(&'static str, Vec<String>)> {
        Some((
            "the facility whose API the token is for: ALCF Support, support@alcf.anl.gov; \
                 for NERSC, NERSC user support (no address in our sources)",
            vec![
                "Revoke both the access and the refresh token (RFC 7009); revocation can take \
                     about 10 minutes to reach every service."
                    .into(),
                "Log in again (`tokenwarden login`) to get fresh tokens; review Globus \
                     consents at the Globus web app and remove any you do not recognise."
                    .into(),
            ],
        ))
    }
}

fn revoke(lc: &Lifecycle, f: &Finding, token: &Token) -> Result<Outcome, CallLogError> {
    let url = lc.issuers.globus_auth.join("/v2/oauth2/token/revoke");
    let endpoint = display_endpoint(&url);
    let mut refusals = Vec::new();
    for client_id in &lc.issuers.globus_clients {
        let outcome = lc.mutation(f, Issuer::Globus, "revoke", &url, || {
            match globus::revoke_as(&lc.http, &url, client_id, token, None) {
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
