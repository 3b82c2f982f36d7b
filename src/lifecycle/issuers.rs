//! Where each kind of found secret may be sent: its issuer's endpoints, and nothing else.
//!
//! Rule 3 of the house. The endpoints come from two places only: the built-in production
//! endpoints of each facility, and the user's own client config (`~/.config/tokenwarden/
//! config.toml`, the same file the facility clients read). Never from the scanned repository
//! (its `.tokenwarden.toml` has no endpoint keys at all), and never from text beside the
//! secret: a Keycloak token's `iss`, an `EndpointURL` next to STS keys or a URL in a token
//! file are compared with the configured issuer, never followed. Plain HTTP is accepted only
//! for loopback, and only because the user's config named it ([`Endpoint`] enforces that).

use crate::facilities::client_config::ClientConfig;
use crate::facilities::credential::CredentialSource;
use crate::facilities::http::{ClientError, Endpoint};
use crate::facilities::slurm::{self, ApiVersion};
use crate::facilities::{globus, iri, s3m};
use crate::finding::Finding;
use crate::rules::{Action, Issuer};
use url::Url;

/// The Keycloak a CSM system runs.
#[derive(Clone, Debug)]
pub struct Keycloak {
    /// Keycloak's base (`{gateway}/keycloak` on CSM).
    pub base: Endpoint,
    /// The realm (`shasta`).
    pub realm: String,
    /// The client to revoke as, when the token does not name one (`azp`).
    pub client_id: String,
    /// The secret of that client, for confidential clients.
    pub client_secret: Option<CredentialSource>,
}

impl Keycloak {
    /// The `iss` of the tokens it issues.
    pub fn issuer(&self) -> String {
        self.base
            .join(&format!("realms/{}", self.realm))
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    /// `{issuer}/protocol/openid-connect/{rest}`.
    pub fn oidc(&self, rest: &str) -> Url {
        self.base.join(&format!(
            "realms/{}/protocol/openid-connect/{rest}",
            self.realm
        ))
    }
}

/// Every issuer endpoint the lifecycle may use.
#[derive(Clone, Debug)]
pub struct Issuers {
    /// OLCF S3M (introspect, revoke).
    pub s3m: Endpoint,
    /// Globus Auth (RFC 7009 revocation).
    pub globus_auth: Endpoint,
    /// The native-app client ids to revoke Globus tokens as, in order: the user's
    /// `[globus] client_id`, then ALCF's two published ones.
    pub globus_clients: Vec<String>,
    /// ALCF's IRI API: the documented liveness probe for Globus tokens.
    pub alcf_iri: Endpoint,
    /// A slurmrestd from `[slurm] url`, with its API version.
    pub slurm: Option<(Endpoint, ApiVersion)>,
    /// Clemson's Palmetto API, with its API version.
    pub palmetto: (Endpoint, ApiVersion),
    /// A CSM Keycloak from `[csm] url` / `[csm] keycloak`.
    pub keycloak: Option<Keycloak>,
    /// An S3 (RGW) endpoint for STS credentials, from `[csm] s3_url`, and its region.
    pub s3: Option<(Endpoint, String)>,
}

impl Issuers {
    /// The built-in endpoints, overridden by the user's own config.
    pub fn from_config(cfg: &ClientConfig) -> Result<Issuers, ClientError> {
        let ep = |keys: &[&str], default: &str| -> Result<Endpoint, ClientError> {
            Endpoint::parse(cfg.str(keys).unwrap_or(default))
        };
        let opt = |keys: &[&str]| -> Result<Option<Endpoint>, ClientError> {
            cfg.str(keys).map(Endpoint::parse).transpose()
        };
        let version = |keys: &[&str]| -> Result<ApiVersion, ClientError> {
            cfg.str(keys).unwrap_or("latest").parse()
        };
        let mut globus_clients = Vec::new();
        if let Some(c) = cfg.str(&["globus", "client_id"]) {
            globus_clients.push(c.to_string());
        }
        for c in [globus::ALCF_FACILITY_API_CLIENT, globus::ALCF_TOKENS_CLIENT] {
            if !globus_clients.iter().any(|x| x == c) {
                globus_clients.push(c.to_string());
            }
        }
        let slurm = match opt(&["slurm", "url"])? {
            Some(e) => Some((e, version(&["slurm", "version"])?)),
            None => None,
        };
        let keycloak = match (opt(&["csm", "keycloak"])?, opt(&["csm", "url"])?) {
            (Some(base), _) => Some(base),
            (None, Some(gw)) => Some(Endpoint::parse(gw.join("keycloak").as_str())?),
            (None, None) => None,
        };
        let keycloak = match keycloak {
            Some(base) => Some(Keycloak {
                base,
                realm: cfg
                    .str(&["csm", "realm"])
                    .unwrap_or(crate::facilities::csm::DEFAULT_REALM)
                    .to_string(),
                client_id: cfg
                    .str(&["csm", "client_id"])
                    .unwrap_or(crate::facilities::csm::DEFAULT_CLIENT)
                    .to_string(),
                client_secret: cfg.credential(&["csm", "client_secret"])?,
            }),
            None => None,
        };
        let s3 = opt(&["csm", "s3_url"])?.map(|e| {
            let region = cfg.str(&["csm", "s3_region"]).unwrap_or("us-east-1");
            (e, region.to_string())
        });
        Ok(Issuers {
            s3m: ep(&["s3m", "url"], s3m::DEFAULT_URL)?,
            globus_auth: ep(&["globus", "auth_url"], globus::DEFAULT_AUTH_URL)?,
            globus_clients,
            alcf_iri: ep(&["iri", "alcf", "url"], iri::Facility::Alcf.default_url())?,
            slurm,
            palmetto: (
                ep(&["palmetto", "url"], slurm::PALMETTO_URL)?,
                version(&["palmetto", "version"])?,
            ),
            keycloak,
            s3,
        })
    }

    /// Where a revocation of `f` would go, or why there is none here.
    pub fn revoke_target(&self, f: &Finding, issuer: Option<Issuer>) -> Result<String, String> {
        match issuer {
            Some(i) if super::issuer::wants(f, i, Action::Revoke) => {
                super::issuer::ops(i).revoke_target(self, f)
            }
            _ => Err(super::notify::no_revocation_why(f, issuer)),
        }
    }

    /// The origins (scheme://host:port) a facility's secrets may be sent to.
    pub fn allowed_origins(&self, facility: Issuer) -> Vec<String> {
        super::issuer::ops(facility).origins(self)
    }

    /// Refuses a URL that is not on the facility's allowlist. Every lifecycle request passes
    /// through here first, so a bug elsewhere cannot send a secret to a stranger.
    pub fn check(&self, facility: Issuer, url: &Url) -> Result<(), ClientError> {
        let origin = url.origin().ascii_serialization();
        if self.allowed_origins(facility).contains(&origin) {
            Ok(())
        } else {
            Err(ClientError::Invalid(format!(
                "{origin} is not an endpoint of {} in your config; a secret is only sent to \
                 its own issuer",
                super::issuer::ops(facility).name()
            )))
        }
    }
}

/// A URL as the audit log and reports show it: scheme, host, port, path; no query.
pub fn display_endpoint(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> ClientConfig {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, text).unwrap();
        ClientConfig::load_from(&p).unwrap()
    }

    #[test]
    fn defaults_are_the_production_issuers() {
        let i = Issuers::from_config(&ClientConfig::default()).unwrap();
        assert_eq!(
            i.allowed_origins(Issuer::S3m),
            vec!["https://s3m.olcf.ornl.gov"]
        );
        assert_eq!(
            i.allowed_origins(Issuer::Globus),
            vec!["https://auth.globus.org", "https://api.alcf.anl.gov"]
        );
        assert!(i.allowed_origins(Issuer::Slurm).is_empty());
        assert!(i.keycloak.is_none() && i.s3.is_none());
        assert_eq!(i.globus_clients.len(), 2);
        let stranger = Url::parse("https://evil.example/olcf/v1/token/ctls/revoke").unwrap();
        let err = i.check(Issuer::S3m, &stranger).unwrap_err().to_string();
        assert!(err.contains("only sent to its own issuer"), "{err}");
        let ok = Url::parse("https://s3m.olcf.ornl.gov/olcf/v1/token/ctls/revoke").unwrap();
        i.check(Issuer::S3m, &ok).unwrap();
        // The right host for another facility is still refused.
        i.check(Issuer::Globus, &ok).unwrap_err();
    }

    #[test]
    fn user_config_overrides_and_keycloak_issuer() {
        let c = cfg(
            "[csm]\nurl = \"https://gw.example\"\ns3_url = \"http://127.0.0.1:9500\"\n\
                     [globus]\nclient_id = \"mine\"\n[slurm]\nurl = \"http://127.0.0.1:6820\"\n",
        );
        let i = Issuers::from_config(&c).unwrap();
        let k = i.keycloak.as_ref().unwrap();
        assert_eq!(k.issuer(), "https://gw.example/keycloak/realms/shasta");
        assert_eq!(
            k.oidc("revoke").as_str(),
            "https://gw.example/keycloak/realms/shasta/protocol/openid-connect/revoke"
        );
        assert_eq!(i.globus_clients[0], "mine");
        assert_eq!(
            i.allowed_origins(Issuer::S3),
            vec!["http://127.0.0.1:9500".to_string()]
        );
        // Plain HTTP to a non-loopback host is refused even from the user's config.
        let bad = cfg("[s3m]\nurl = \"http://s3m.example\"\n");
        assert!(Issuers::from_config(&bad).is_err());
    }
}
