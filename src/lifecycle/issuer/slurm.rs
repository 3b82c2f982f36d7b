//! A slurmrestd, for Slurm JWTs: the token's own `exp` first, then an authenticated read
//! (`GET /slurm/<v>/diag/`) on the slurmrestd the user configured. A Slurm JWT has no
//! revocation: it lives until `exp` unless the cluster's key is rotated.

use super::IssuerOps;
use crate::facilities::credential::Token;
use crate::facilities::slurm::{Auth, Gateway, SlurmClient};
use crate::finding::{Finding, Liveness, Verification};
use crate::lifecycle::call_log::CallLogError;
use crate::lifecycle::issuers::Issuers;
use crate::lifecycle::notify::SITE;
use crate::lifecycle::verify::status_of;
use crate::lifecycle::verify::{result, unknown};
use crate::lifecycle::{Lifecycle, SourceReader};
use crate::rules::Issuer;
use crate::rules::JwtClass;

/// A slurmrestd.
pub struct Slurm;

impl IssuerOps for Slurm {
    fn name(&self) -> &'static str {
        "slurmrestd"
    }

    /// Only what decodes as a JWT: a Slurm token is one.
    fn takes(&self, class: Option<JwtClass>) -> bool {
        class.is_some()
    }

    fn origins(&self, issuers: &Issuers) -> Vec<String> {
        issuers
            .slurm
            .iter()
            .map(|(e, _)| super::origin(e))
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
        let Some((base, version)) = lc.issuers.slurm.clone() else {
            return Ok(unknown(
                "not checked: no slurmrestd in your config (set `url` under [slurm]); a Slurm \
                 JWT is only valid at the cluster whose key signed it",
            ));
        };
        let Some(user) = f.token.as_ref().and_then(|t| t.user.clone()) else {
            return Ok(unknown("not checked: the JWT names no user (`sun`)"));
        };
        slurm_read(
            lc,
            f,
            Issuer::Slurm,
            base,
            version,
            Gateway::Slurmrestd,
            || Auth::Jwt { token, user },
        )
    }

    fn no_revocation_why(&self, _f: &Finding) -> String {
        "Slurm JWTs are stateless: they live until `exp` unless the cluster's jwt_hs256.key is \
         rotated"
            .into()
    }

    fn notice(&self, _f: &Finding) -> Option<(&'static str, Vec<String>)> {
        Some((
            SITE,
            vec![
                "Wait for the token's `exp` if it is close; otherwise ask the administrators \
                     to rotate the cluster's key, which ends every Slurm JWT at once: write a new \
                     key (`dd if=/dev/urandom of=/var/spool/slurm/statesave/jwt_hs256.key bs=32 \
                     count=1`, owner slurm, mode 0600), restart slurmctld and slurmdbd."
                    .into(),
                "Until then, `AuthAltParameters=disable_token_creation` stops new tokens.".into(),
            ],
        ))
    }
}

/// An authenticated read (`diag`) on a Slurm API: a slurmrestd, or Palmetto's gateway.
pub(super) fn slurm_read(
    lc: &Lifecycle,
    f: &Finding,
    issuer: Issuer,
    base: crate::facilities::Endpoint,
    version: crate::facilities::slurm::ApiVersion,
    gateway: Gateway,
    auth: impl FnOnce() -> Auth,
) -> Result<Verification, CallLogError> {
    let mut client = match SlurmClient::new(lc.http.clone(), base.clone(), version, gateway, auth())
    {
        Ok(c) => c,
        Err(e) => return Ok(unknown(e.to_string())),
    };
    // One logged call covers both requests: for `latest`, a stock slurmrestd is asked for
    // its OpenAPI document first (authenticated, so it carries the token too).
    let url = base.join(&format!("slurm/{}/diag/", client.version()));
    let name = super::ops(issuer).name();
    lc.checked(f, issuer, &url, move || {
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
                    format!("{name} knows it but denied this read (HTTP 403): it authenticates"),
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
