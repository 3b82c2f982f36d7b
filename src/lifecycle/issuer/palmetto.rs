//! Clemson's Palmetto API, for its bearer keys: an authenticated read (`diag`) through the
//! gateway. Clemson publishes no revocation.

use super::IssuerOps;
use crate::facilities::credential::Token;
use crate::facilities::slurm::{Auth, Gateway};
use crate::finding::{Finding, Verification};
use crate::lifecycle::call_log::CallLogError;
use crate::lifecycle::issuers::Issuers;
use crate::lifecycle::{Lifecycle, SourceReader};
use crate::rules::Issuer;

/// The Palmetto API.
pub struct Palmetto;

impl IssuerOps for Palmetto {
    fn name(&self) -> &'static str {
        "the Palmetto API"
    }

    fn origins(&self, issuers: &Issuers) -> Vec<String> {
        vec![super::origin(&issuers.palmetto.0)]
    }

    fn verify(
        &self,
        lc: &Lifecycle,
        f: &Finding,
        token: Token,
        source: SourceReader<'_>,
    ) -> Result<Verification, CallLogError> {
        let _ = source;
        let (base, version) = lc.issuers.palmetto.clone();
        super::slurm::slurm_read(
            lc,
            f,
            Issuer::Palmetto,
            base,
            version,
            Gateway::Palmetto,
            || Auth::Bearer(token),
        )
    }

    fn no_revocation_why(&self, _f: &Finding) -> String {
        "Clemson publishes no revocation for Palmetto API keys".into()
    }

    fn notice(&self, _f: &Finding) -> Option<(&'static str, Vec<String>)> {
        Some((
            "Clemson RCD support (no address in our sources: use the Palmetto documentation's \
                 support page)",
            vec![
                "Ask RCD to revoke the API key, then create a new one and update the \
                     integration that used it."
                    .into(),
            ],
        ))
    }
}
