//! Who must be told about a leaked secret, what to rotate, and a notice ready to send.
//!
//! Contacts are the ones FACILITIES.md cites (§1.7, §8); where our sources have no address
//! (Clemson RCD, NERSC, HPE) the notice says so rather than guess one. The notice never holds
//! the secret: the fingerprint and the redacted preview identify it.

use super::kind::Kind;
use crate::finding::Finding;
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

const OLCF: &str = "OLCF User Assistance, help@olcf.ornl.gov";
const ALCF: &str = "ALCF Support, support@alcf.anl.gov";
const SITE: &str = "the cluster's system administrators";

/// Why a kind has no revocation call, in one sentence for the plan.
pub fn no_revocation_why(f: &Finding, kind: Kind) -> String {
    match kind {
        Kind::SlurmJwt => "Slurm JWTs are stateless: they live until `exp` unless the \
                           cluster's jwt_hs256.key is rotated"
            .into(),
        Kind::Palmetto => "Clemson publishes no revocation for Palmetto API keys".into(),
        Kind::S3Keys if f.rule_id == "csm.sts_secret_key" => {
            "STS credentials cannot be revoked one by one; they expire (1 h)".into()
        }
        Kind::S3Keys => {
            "S3 keys are revoked by whoever issued them (AWS IAM, radosgw-admin)".into()
        }
        _ => match f.rule_id.as_str() {
            "munge.key_file" => "a munge.key is the cluster's shared secret: it must be \
                                 replaced on every node"
                .into(),
            "munge.credential" => "a MUNGE credential expires within minutes and cannot be \
                                   replayed"
                .into(),
            _ => "the issuer offers no revocation call".into(),
        },
    }
}

/// The notice for one finding.
pub fn notice(f: &Finding, kind: Kind) -> Notice {
    let subject = format!("Exposed credential: {} ({})", f.rule_name, f.fingerprint);
    let (contact, rotate): (&str, Vec<String>) = match (kind, f.rule_id.as_str()) {
        (Kind::S3m, _) => (
            OLCF,
            vec![
                "Confirm the token is revoked in myOLCF → Manage Tokens (revocation cannot be \
                 undone), then create a new token with only the permissions needed."
                    .into(),
                "Tell OLCF promptly (their token policy asks for it), with the fingerprint and \
                 where it was exposed."
                    .into(),
            ],
        ),
        (Kind::Globus, _) => (
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
        ),
        (Kind::SlurmJwt, _) => (
            SITE,
            vec![
                "Wait for the token's `exp` if it is close; otherwise ask the administrators \
                 to rotate the cluster's key, which ends every Slurm JWT at once: write a new \
                 key (`dd if=/dev/urandom of=/var/spool/slurm/statesave/jwt_hs256.key bs=32 \
                 count=1`, owner slurm, mode 0600), restart slurmctld and slurmdbd."
                    .into(),
                "Until then, `AuthAltParameters=disable_token_creation` stops new tokens.".into(),
            ],
        ),
        (Kind::Palmetto, _) => (
            "Clemson RCD support (no address in our sources: use the Palmetto documentation's \
             support page)",
            vec![
                "Ask RCD to revoke the API key, then create a new one and update the \
                 integration that used it."
                    .into(),
            ],
        ),
        (Kind::Keycloak, _) => (
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
        ),
        (Kind::S3Keys, "csm.sts_secret_key") => (
            SITE,
            vec![
                "The credentials expire one hour after issue. If they are still valid and \
                 misused: RGW administrators can change the role's permission policy, or \
                 rotate `rgw_sts_key`, which ends every STS session."
                    .into(),
            ],
        ),
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
    let contact = if f.facility == "amsc-iri" || f.facility == "iri" && kind != Kind::Globus {
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
