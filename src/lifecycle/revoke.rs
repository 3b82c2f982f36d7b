//! Revocation, where the issuer has it (FACILITIES.md §8); each issuer's calls live in its
//! module under [`super::issuer`], and this file holds what they share:
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
use super::issuer;
use super::issuers::display_endpoint;
use super::plan::Outcome;
use crate::facilities::ClientError;
use crate::facilities::credential::Token;
use crate::facilities::http::{Call, form};
use crate::finding::Finding;
use crate::lifecycle::call_log::CallLogError;
use crate::rules::{Action, Issuer};
use reqwest::Method;

/// An OAuth form POST carrying `token` (and the client's secret, when it has one, by
/// `client_secret_post`); both are cut out of any error text.
pub(super) fn oauth_post<'a>(
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
pub(super) fn oauth_error(e: &ClientError) -> Option<String> {
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
    pub fn revoke(&self, f: &Finding) -> Result<Vec<Outcome>, CallLogError> {
        let token = Token::new(String::from_utf8_lossy(f.secret.expose()).into_owned());
        match issuer::of(f) {
            Some(i) if issuer::wants(f, i, Action::Revoke) => {
                issuer::ops(i).revoke(self, f, &token)
            }
            _ => Ok(vec![Outcome::NotRevocable {
                why: "the issuer offers no revocation for this kind of secret".into(),
            }]),
        }
    }

    /// One mutation through the allowlist and the audit log.
    pub(super) fn mutation(
        &self,
        f: &Finding,
        issuer: Issuer,
        action: &str,
        url: &url::Url,
        call: impl FnOnce() -> Outcome,
    ) -> Result<Outcome, CallLogError> {
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
}
