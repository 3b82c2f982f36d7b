//! Who must be told about a leaked secret, what to rotate, and a notice ready to send.
//!
//! Contacts are the ones FACILITIES.md cites (§1.7, §8); where our sources have no address
//! (Clemson RCD, NERSC, HPE) the notice says so rather than guess one. The notice never holds
//! the secret: the fingerprint and the redacted preview identify it.

use crate::finding::Finding;
use crate::rules::Issuer;
use serde::Serialize;

/// What to tell whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Who must be told.
    pub contact: String,
    /// The steps that end the secret where no revocation call exists, or that finish the job.
    pub rotate: Vec<String>,
    /// A subject line for the notice.
    pub subject: String,
}

pub(super) const OLCF: &str = "OLCF User Assistance, help@olcf.ornl.gov";
const ALCF: &str = "ALCF Support, support@alcf.anl.gov";
pub(super) const SITE: &str = "the cluster's system administrators";

/// Why a finding has no revocation call, in one sentence for the plan: its issuer's reason,
/// or (no issuer) the rule's.
pub fn no_revocation_why(f: &Finding, issuer: Option<Issuer>) -> String {
    if let Some(i) = issuer {
        return super::issuer::ops(i).no_revocation_why(f);
    }
    match f.rule_id.as_str() {
        "munge.key_file" => "a munge.key is the cluster's shared secret: it must be replaced on \
                             every node"
            .into(),
        "munge.credential" => "a MUNGE credential expires within minutes and cannot be \
                               replayed"
            .into(),
        _ => "the issuer offers no revocation call".into(),
    }
}

/// The notice for one finding.
pub fn notice(f: &Finding, issuer: Option<Issuer>) -> Notice {
    let subject = format!("Exposed credential: {} ({})", f.rule_name, f.fingerprint);
    let by_issuer = issuer.and_then(|i| super::issuer::ops(i).notice(f));
    let (contact, rotate): (&str, Vec<String>) = match (by_issuer, f.rule_id.as_str()) {
        (Some(n), _) => n,
        (_, "munge.key_file") => (
            SITE,
            vec![
                "A leaked munge.key lets anyone impersonate any user on the cluster. Create a \
                 new key (`mungekey --create --force`), copy it to every node (owner munge, \
                 mode 0400) and restart munged everywhere."
                    .into(),
            ],
        ),
        (_, "slurm.jwt_key_file") | (_, "slurm.jwt_key_conf") => (
            SITE,
            vec![
                "Anyone with jwt_hs256.key can mint tokens for any user: write a new key, \
                 restart slurmctld and slurmdbd (this ends every issued JWT)."
                    .into(),
            ],
        ),
        (_, "ceph.rgw_sts_key") => (
            "the Ceph cluster's administrators",
            vec![
                "Set a new `rgw_sts_key` (16 characters) in the RGW configuration and restart \
                 the gateways; every STS session token ends."
                    .into(),
            ],
        ),
        (_, "keycloak.client_secret") => (
            "the Keycloak realm's administrators",
            vec![
                "Regenerate the client's secret (admin console → Clients → Credentials, or \
                 `POST /admin/realms/{realm}/clients/{id}/client-secret`) and update the \
                 services that use it."
                    .into(),
            ],
        ),
        (_, "globus.client_secret") => (
            "the Globus app's owner",
            vec![
                "Delete the client secret in the Globus developer settings of the app, create \
                 a new one, and update the services that use it."
                    .into(),
            ],
        ),
        (_, "csm.keycloak_password") | (_, "csm.keycloak_password_form") => (
            "the system's administrators (CSM)",
            vec!["Change the account's password, and end its sessions in Keycloak.".into()],
        ),
        (_, r) if r.starts_with("s3m.") => (
            OLCF,
            vec![
                "Delete or replace the exposed S3M resource (streaming cluster, storage \
                 token) and tell OLCF."
                    .into(),
            ],
        ),
        (_, r) if r.starts_with("aws.") || r.starts_with("s3.") => (
            "whoever issued the key (AWS IAM, or the Ceph RGW administrators)",
            vec![f.remediation.clone()],
        ),
        _ => ("the secret's issuer", vec![f.remediation.clone()]),
    };
    let contact =
        if f.facility == "amsc-iri" || f.facility == "iri" && issuer != Some(Issuer::Globus) {
            format!("{contact}; for IRI tokens also the facility ({OLCF} / {ALCF})")
        } else {
            contact.to_string()
        };
    Notice {
        contact,
        rotate,
        subject,
    }
}
