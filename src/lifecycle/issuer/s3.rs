//! An S3 endpoint (Ceph RGW), for STS and RGW keys: `ListBuckets` with the keys found beside
//! the secret key, on the S3 endpoint the user configured (SigV4 sends the key id and a
//! signature, never the secret key; the session token does travel, so only there). There is
//! no revocation call.

use super::IssuerOps;
use crate::facilities::credential::Token;
use crate::finding::{Finding, Liveness, Verification};
use crate::lifecycle::call_log::CallLogError;
use crate::lifecycle::issuers::Issuers;
use crate::lifecycle::notify::SITE;
use crate::lifecycle::verify::{result, unknown};
use crate::lifecycle::{Lifecycle, SourceReader};
use crate::rules::Issuer;
use regex::bytes::Regex;
use std::sync::LazyLock;

/// An S3 (RGW) endpoint.
pub struct S3;

impl IssuerOps for S3 {
    fn name(&self) -> &'static str {
        "the S3 (RGW) endpoint"
    }

    fn origins(&self, issuers: &Issuers) -> Vec<String> {
        issuers.s3.iter().map(|(e, _)| super::origin(e)).collect()
    }

    fn verify(
        &self,
        lc: &Lifecycle,
        f: &Finding,
        token: Token,
        source: SourceReader<'_>,
    ) -> Result<Verification, CallLogError> {
        let secret = token;
        // SigV4 sends the key id and a signature, never the secret key; the session token
        // does travel, so only to the S3 endpoint the user named.
        let Some((base, region)) = lc.issuers.s3.clone() else {
            return Ok(unknown(
                "not checked: no S3 endpoint in your config (set `s3_url` under [csm]); an \
                 endpoint written beside the keys is never used",
            ));
        };
        let parts = f.locations.iter().find_map(|loc| {
            let bytes = source(loc)?;
            sts_parts(&bytes, loc.byte_offset as usize)
        });
        let Some(parts) = parts else {
            return Ok(unknown(
                "not checked: no access key id found beside the secret key",
            ));
        };
        let creds = crate::facilities::s3::S3Credentials {
            access_key_id: parts.access_key_id,
            secret_access_key: secret,
            session_token: parts.session_token.map(Token::new),
        };
        let url = base.join("/");
        lc.checked(
            f,
            Issuer::S3,
            &url,
            || match crate::facilities::s3::list_buckets(&lc.http, &base, &region, &creds) {
                Ok(b) => {
                    let mut v = result(Liveness::Live, true, "ListBuckets succeeded");
                    v.facts.insert("buckets".into(), b.len().to_string());
                    v
                }
                Err(e) => match crate::facilities::s3::s3_error_code(&e).as_deref() {
                    Some(
                        code @ ("InvalidAccessKeyId"
                        | "SignatureDoesNotMatch"
                        | "ExpiredToken"
                        | "InvalidToken"),
                    ) => result(
                        Liveness::Dead,
                        true,
                        format!("the S3 endpoint refused them ({code})"),
                    ),
                    Some("AccessDenied") => result(
                        Liveness::Live,
                        true,
                        "the S3 endpoint authenticated them but denied ListBuckets",
                    ),
                    _ => unknown(format!("the S3 endpoint did not answer the question: {e}")),
                },
            },
        )
    }

    fn no_revocation_why(&self, f: &Finding) -> String {
        if f.rule_id == "csm.sts_secret_key" {
            "STS credentials cannot be revoked one by one; they expire (1 h)".into()
        } else {
            "S3 keys are revoked by whoever issued them (AWS IAM, radosgw-admin)".into()
        }
    }

    fn notice(&self, f: &Finding) -> Option<(&'static str, Vec<String>)> {
        (f.rule_id == "csm.sts_secret_key").then(|| {
            (
                SITE,
                vec![
                    "The credentials expire one hour after issue. If they are still valid and \
                     misused: RGW administrators can change the role's permission policy, or \
                     rotate `rgw_sts_key`, which ends every STS session."
                        .into(),
                ],
            )
        })
    }
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
