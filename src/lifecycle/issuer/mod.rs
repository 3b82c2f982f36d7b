//! One module per issuer, each implementing [`IssuerOps`]: how its secrets are proven alive,
//! where and how they are revoked (when they can be), why they cannot be, and whom to tell
//! with what rotation steps. Adding an issuer is one file here, one [`Issuer`] variant, and
//! `issuer = "…"` on the rules that find its credentials.
//!
//! Which issuer a finding belongs to ([`of`]): the token's own claims first (an S3M token in
//! an `IRI_TOKEN` variable is S3M's), then its rule's `issuer` field, if the issuer takes
//! that kind of value ([`IssuerOps::takes`]).

mod globus;
mod keycloak;
mod palmetto;
mod s3;
mod s3m;
mod slurm;

pub use keycloak::is_refresh;
pub use s3::{StsParts, sts_parts};

use super::call_log::CallLogError;
use super::issuers::Issuers;
use super::plan::Outcome;
use super::{Lifecycle, SourceReader};
use crate::engine::jwt::TokenFacts;
use crate::facilities::Endpoint;
use crate::facilities::credential::Token;
use crate::finding::{Finding, Verification};
use crate::rules::{Action, Issuer, JwtClass};

/// What the lifecycle does with one issuer's secrets.
pub trait IssuerOps: Sync {
    /// Its name in messages.
    fn name(&self) -> &'static str;

    /// Whether a value of this JWT class (`None`: not a JWT) can be this issuer's, when a rule
    /// names it.
    fn takes(&self, class: Option<JwtClass>) -> bool {
        let _ = class;
        true
    }

    /// The origins (scheme://host:port) its secrets may be sent to.
    fn origins(&self, issuers: &Issuers) -> Vec<String>;

    /// The cheapest side-effect-free call that proves liveness, through `Lifecycle::checked`.
    fn verify(
        &self,
        lc: &Lifecycle,
        f: &Finding,
        token: Token,
        source: SourceReader<'_>,
    ) -> Result<Verification, CallLogError>;

    /// Where a revocation would go, or why there is none here.
    fn revoke_target(&self, issuers: &Issuers, f: &Finding) -> Result<String, String> {
        let _ = issuers;
        Err(self.no_revocation_why(f))
    }

    /// Revokes, through `Lifecycle::mutation`.
    fn revoke(
        &self,
        lc: &Lifecycle,
        f: &Finding,
        token: &Token,
    ) -> Result<Vec<Outcome>, CallLogError> {
        let _ = (lc, f, token);
        Ok(vec![Outcome::NotRevocable {
            why: "the issuer offers no revocation for this kind of secret".into(),
        }])
    }

    /// Why it offers no revocation call, in one sentence for the plan.
    fn no_revocation_why(&self, f: &Finding) -> String {
        super::notify::no_revocation_why(f, None)
    }

    /// Whom to tell and what to rotate; `None` leaves it to the rule-by-rule notices.
    fn notice(&self, f: &Finding) -> Option<(&'static str, Vec<String>)>;

    /// Whether a revocation cannot be undone (the plan says so before the confirmation).
    fn irreversible(&self) -> bool {
        false
    }

    /// What the plan should say about revoking `f`, whose liveness before is `before`.
    fn revoke_notes(&self, f: &Finding, before: Option<&Verification>) -> Vec<String> {
        let _ = (f, before);
        Vec::new()
    }

    /// Whether a probe may still accept a token for a while after its revocation succeeded
    /// (the revocation has yet to reach every service): not a reason to keep the item open.
    fn settles_late(&self) -> bool {
        false
    }

    /// Whether a revoked token with this `token` (its decoded facts) stays valid until its
    /// `exp` where it is checked offline: the rotation steps remain to be done.
    fn valid_until_exp_after_revocation(&self, token: Option<&TokenFacts>) -> bool {
        let _ = token;
        false
    }
}

/// The operations of `issuer`.
pub fn ops(issuer: Issuer) -> &'static dyn IssuerOps {
    match issuer {
        Issuer::S3m => &s3m::S3m,
        Issuer::Globus => &globus::Globus,
        Issuer::Slurm => &slurm::Slurm,
        Issuer::Palmetto => &palmetto::Palmetto,
        Issuer::Keycloak => &keycloak::Keycloak,
        Issuer::S3 => &s3::S3,
    }
}

/// The issuer a JWT class names, whatever rule found it.
fn of_class(class: JwtClass) -> Option<Issuer> {
    match class {
        JwtClass::S3mOpat => Some(Issuer::S3m),
        JwtClass::Slurm => Some(Issuer::Slurm),
        JwtClass::KeycloakCsm | JwtClass::Keycloak => Some(Issuer::Keycloak),
        _ => None,
    }
}

/// The issuer of a finding's secret: the token's own claims first, then its rule's `issuer`;
/// `None` when no issuer can be asked (rotate and tell the facility).
pub fn of(f: &Finding) -> Option<Issuer> {
    let class = f.token.as_ref().and_then(|t| t.class);
    if let Some(i) = class.and_then(of_class) {
        return Some(i);
    }
    f.issuer.filter(|&i| ops(i).takes(class))
}

/// Whether `action` applies to a finding of `issuer`: what its rule asks for, or, when the
/// token's claims named the issuer (whatever rule found it), what that issuer offers.
pub fn wants(f: &Finding, issuer: Issuer, action: Action) -> bool {
    let class = f.token.as_ref().and_then(|t| t.class);
    if class.and_then(of_class) == Some(issuer) && f.issuer != Some(issuer) {
        return issuer.actions().contains(&action);
    }
    f.actions.contains(&action)
}

/// How the plan and the incident report name the handling of a finding.
pub fn handling(issuer: Option<Issuer>) -> &'static str {
    match issuer {
        Some(Issuer::S3m) => "s3m",
        Some(Issuer::Globus) => "globus",
        Some(Issuer::Slurm) => "slurm-jwt",
        Some(Issuer::Palmetto) => "palmetto",
        Some(Issuer::Keycloak) => "keycloak",
        Some(Issuer::S3) => "s3-keys",
        None => "manual",
    }
}

/// An endpoint's origin (scheme://host:port).
fn origin(e: &Endpoint) -> String {
    e.url().origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facilities::ClientConfig;

    fn config(text: &str) -> ClientConfig {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, text).unwrap();
        ClientConfig::load_from(&p).unwrap()
    }

    /// A finding of `issuer`'s, its token issued by the configured Keycloak.
    fn finding(issuer: Issuer) -> Finding {
        serde_json::from_value(serde_json::json!({
            "rule_id": "t.rule", "rule_name": "t", "facility": "t", "severity": "high",
            "confidence": "high", "fingerprint": "tw1:0", "preview": "…",
            "token": {"issuer": "https://gw.example/keycloak/realms/shasta", "class": "keycloak-csm"},
            "liveness": "unknown", "locations": [], "actions": issuer.actions(),
            "issuer": issuer, "remediation": "r"
        }))
        .unwrap()
    }

    /// What the rules say an issuer offers (`Issuer::revocable`, which `rules check` holds
    /// the rules to) is what its module does: a revocation target exactly when revocable.
    #[test]
    fn each_issuer_revokes_exactly_when_the_rules_say_it_can() {
        let issuers = Issuers::from_config(&config(
            "[csm]\nurl = \"https://gw.example\"\ns3_url = \"https://s3.example\"\n\
             [slurm]\nurl = \"https://slurm.example\"\n",
        ))
        .unwrap();
        for i in [
            Issuer::S3m,
            Issuer::Globus,
            Issuer::Slurm,
            Issuer::Palmetto,
            Issuer::Keycloak,
            Issuer::S3,
        ] {
            let f = finding(i);
            let target = issuers.revoke_target(&f, Some(i));
            assert_eq!(target.is_ok(), i.revocable(), "{i:?}: {target:?}");
            assert_eq!(ops(i).irreversible(), i == Issuer::S3m, "{i:?}");
            assert!(
                !ops(i).origins(&issuers).is_empty(),
                "{i:?} has no endpoint"
            );
        }
    }
}
