//! Which issuer a finding belongs to, and the companion values some checks need (the access
//! key id and session token beside an STS secret key).

use crate::engine::jwt::TokenFacts;
use crate::finding::{Finding, Location};
use crate::rules::JwtClass;
use regex::bytes::Regex;
use serde::Serialize;
use std::path::Path;
use std::sync::LazyLock;

/// How the lifecycle handles a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An OLCF S3M Project Access Token: introspect, revoke.
    S3m,
    /// A Globus access or refresh token (ALCF/NERSC IRI): probe ALCF, RFC 7009 revoke.
    Globus,
    /// A Slurm JWT: `exp` offline, then an authenticated slurmrestd read; no revocation.
    SlurmJwt,
    /// A Palmetto API bearer key: an authenticated read; no public revocation.
    Palmetto,
    /// A Keycloak JWT (CSM): `exp` offline, `userinfo`; RFC 7009 revoke and logout.
    Keycloak,
    /// S3 keys (CSM STS / Ceph RGW temporary keys, RGW user keys, AWS-style keys): a
    /// ListBuckets at the S3 endpoint the user configured; no revocation call.
    S3Keys,
    /// Nothing to ask anyone: rotate and tell the facility.
    Manual,
}

impl Kind {
    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::S3m => "s3m",
            Kind::Globus => "globus",
            Kind::SlurmJwt => "slurm-jwt",
            Kind::Palmetto => "palmetto",
            Kind::Keycloak => "keycloak",
            Kind::S3Keys => "s3-keys",
            Kind::Manual => "manual",
        }
    }

    /// Whether the issuer offers a revocation tokenwarden can call.
    pub fn revocable(self) -> bool {
        matches!(self, Kind::S3m | Kind::Globus | Kind::Keycloak)
    }
}

/// The kind of a finding: the token's own claims first (an OPAT in an `IRI_TOKEN` variable is
/// an S3M token), then the rule.
pub fn of(f: &Finding) -> Kind {
    let class = f.token.as_ref().and_then(|t| t.class);
    match class {
        Some(JwtClass::S3mOpat) => return Kind::S3m,
        Some(JwtClass::Slurm) => return Kind::SlurmJwt,
        Some(JwtClass::KeycloakCsm) | Some(JwtClass::Keycloak) => return Kind::Keycloak,
        _ => {}
    }
    match f.rule_id.as_str() {
        "s3m.opat" | "s3m.token_env" | "s3m.authz_header" => Kind::S3m,
        // A JWT in an IRI variable that is none of the above (an AmSC Keycard) has no
        // documented probe or revocation.
        "globus.token" | "globus.token_json" | "iri.token_env" if class.is_none() => Kind::Globus,
        "slurm.jwt" | "slurm.jwt_env" | "slurm.user_token_header" if class.is_some() => {
            Kind::SlurmJwt
        }
        "palmetto.api_key" | "palmetto.bearer" => Kind::Palmetto,
        "csm.keycloak_jwt" | "keycloak.jwt" if class.is_some() => Kind::Keycloak,
        "csm.sts_secret_key" | "s3.secret_key" | "aws.secret_access_key" => Kind::S3Keys,
        _ => Kind::Manual,
    }
}

/// Whether a Keycloak token is a refresh (or offline) token rather than an access token.
pub fn is_refresh(t: Option<&TokenFacts>) -> bool {
    matches!(
        t.and_then(|t| t.token_type.as_deref()),
        Some("Refresh") | Some("Offline")
    )
}

/// The other two parts of an STS credential: the access key id and the session token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsParts {
    /// `AccessKeyId` / `aws_access_key_id`.
    pub access_key_id: String,
    /// `SessionToken` / `aws_session_token`, when present.
    pub session_token: Option<String>,
}

static ACCESS_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|[^A-Za-z0-9_])["']?(?:AccessKeyId|aws_access_key_id|access_key)["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9]{16,128})"#,
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

static SESSION_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|[^A-Za-z0-9_])["']?(?:SessionToken|aws_session_token|session_token)["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9+/=%._~-]{16,})"#,
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Finds, within 2 KiB of the secret at `offset`, the access key id and session token that
/// belong with it: the nearest of each (STS JSON, AWS credentials files and env files all keep
/// the three together).
pub fn sts_parts(text: &[u8], offset: usize) -> Option<StsParts> {
    // The text is read again at audit time; a file that changed since the scan may no longer
    // reach the offset the scan recorded.
    if offset > text.len() {
        return None;
    }
    let lo = offset.saturating_sub(2048);
    let hi = offset.saturating_add(2048).min(text.len());
    let window = text.get(lo..hi)?;
    let rel = offset - lo;
    let nearest = |re: &Regex| -> Option<String> {
        re.captures_iter(window)
            .filter_map(|c| c.get(1))
            .min_by_key(|m| m.start().abs_diff(rel))
            .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
            .map(str::to_string)
    };
    Some(StsParts {
        access_key_id: nearest(&ACCESS_KEY)?,
        session_token: nearest(&SESSION_TOKEN),
    })
}

/// The bytes a location points into: the file under `root`, or for a history finding the blob
/// in the repository that holds `root`. `None` when neither can be read.
pub fn read_source(root: &Path, loc: &Location) -> Option<Vec<u8>> {
    if let Some(g) = &loc.git
        && !g.blob.is_empty()
    {
        let repo = crate::sources::git::discover(root).ok()?;
        let oid = git2::Oid::from_str(&g.blob).ok()?;
        return repo.find_blob(oid).ok().map(|b| b.content().to_vec());
    }
    let p = Path::new(&loc.path);
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else if root.is_file() {
        root.to_path_buf()
    } else {
        root.join(p)
    };
    let meta = std::fs::metadata(&full).ok()?;
    // A credential file is small; do not read a huge file to find its companions.
    if !meta.is_file() || meta.len() > 16 << 20 {
        return None;
    }
    std::fs::read(full).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_parts_from_json_and_ini() {
        let secret = "A".repeat(40);
        let json = format!(
            r#"{{"Credentials": {{"AccessKeyId": "ABCDEFGHIJKLMNOPQRST", "EndpointURL": "http://rgw", "SecretAccessKey": "{secret}", "SessionToken": "tok.en-value_123456789"}}}}"#
        );
        let off = json.find(&secret).unwrap();
        let p = sts_parts(json.as_bytes(), off).unwrap();
        assert_eq!(p.access_key_id, "ABCDEFGHIJKLMNOPQRST");
        assert_eq!(p.session_token.as_deref(), Some("tok.en-value_123456789"));

        let ini = format!(
            "[a]\naws_access_key_id = FIRSTKEYFIRSTKEYXXXX\naws_secret_access_key = x\n\n[b]\n\
             aws_access_key_id = SECONDKEYSECONDKEYXX\naws_secret_access_key = {secret}\n"
        );
        let off = ini.find(&secret).unwrap();
        let p = sts_parts(ini.as_bytes(), off).unwrap();
        assert_eq!(p.access_key_id, "SECONDKEYSECONDKEYXX");
        assert_eq!(p.session_token, None);
        assert_eq!(sts_parts(b"SecretAccessKey: nothing near", 0), None);
    }
}
