//! HPE/Cray CSM: a Keycloak password grant (realm `shasta`, public client `shasta`), then the
//! Simple Token Service (`PUT {gateway}/apis/sts/token`) for temporary Ceph RGW S3 credentials.
//!
//! Why it is shaped like this (FACILITIES.md §5):
//! - CSM serves Keycloak under the gateway (`https://<gw>/keycloak/…`) but also on separate
//!   `auth.*` hosts, so the Keycloak base is configurable apart from the gateway;
//! - the password is a [`Token`] (never argv, wiped on drop) and is cut out of error text;
//! - a Keycloak access token lives 365 days by default and sign-out does not revoke it, so the
//!   client says when it expires — the STS credentials expire in an hour, the token does not;
//! - the STS credentials are written only to files created 0600, atomically
//!   ([`crate::private_file`]), merged into an existing AWS credentials file without losing the
//!   user's other profiles.

use crate::facilities::credential::Token;
use crate::facilities::http::{Body, Call, ClientError, Endpoint, Http};
use base64::Engine;
use reqwest::Method;
use serde_json::Value;
use zeroize::Zeroizing;

/// CSM's realm.
pub const DEFAULT_REALM: &str = "shasta";
/// CSM's public client for the password grant.
pub const DEFAULT_CLIENT: &str = "shasta";

/// A Keycloak token answer.
pub struct KeycloakToken {
    /// The access token (a JWT).
    pub access: Token,
    /// The refresh token, when one came.
    pub refresh: Option<Token>,
    /// `expires_in`, seconds.
    pub expires_in: Option<u64>,
    /// The whole answer, for the Cray CLI token store (holds the tokens: a secret).
    pub raw: Zeroizing<String>,
}

impl std::fmt::Debug for KeycloakToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeycloakToken({:?})", self.access)
    }
}

impl KeycloakToken {
    /// The access token's `exp` claim (seconds since the epoch), read without verifying the
    /// signature — only to tell the user how long the token lives.
    pub fn exp(&self) -> Option<i64> {
        jwt_claim(self.access.expose(), "exp")?.as_i64()
    }
}

/// A claim of a JWT's payload (unverified).
pub fn jwt_claim(jwt: &str, claim: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get(claim).cloned()
}

/// Temporary S3 credentials from the STS.
pub struct StsCredentials {
    /// `AccessKeyId` (not secret on its own, but shown only as a preview anyway).
    pub access_key_id: String,
    /// `SecretAccessKey`.
    pub secret_access_key: Token,
    /// `SessionToken`.
    pub session_token: Token,
    /// `EndpointURL`: the S3 (RGW) endpoint to use them with.
    pub endpoint_url: String,
    /// `Expiration` as the service wrote it (ISO 8601).
    pub expiration: String,
}

impl StsCredentials {
    /// Reads the STS answer (`{"Credentials": {…}}`). Any JSON gives credentials or an error
    /// naming the missing field, never a panic and never a value in the message.
    pub fn from_answer(v: &Value) -> Result<StsCredentials, ClientError> {
        let c = v.get("Credentials").ok_or_else(|| ClientError::Decode {
            what: "CSM STS answer".into(),
            detail: "no Credentials object".into(),
        })?;
        let field = |k: &str| -> Result<String, ClientError> {
            c.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| ClientError::Decode {
                    what: "CSM STS answer".into(),
                    detail: format!("no {k} in Credentials"),
                })
        };
        Ok(StsCredentials {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: Token::new(field("SecretAccessKey")?),
            session_token: Token::new(field("SessionToken")?),
            endpoint_url: field("EndpointURL").unwrap_or_default(),
            expiration: field("Expiration").unwrap_or_default(),
        })
    }
}

impl std::fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StsCredentials({}, expires {})",
            self.access_key_id, self.expiration
        )
    }
}

fn keycloak_advice(status: u16) -> Option<String> {
    match status {
        400 | 401 => Some(
            "Keycloak refused the login: wrong user name or password, a disabled account, or a \
             client that does not allow the password grant (CSM's is `shasta` in realm \
             `shasta`)"
                .into(),
        ),
        404 => Some(
            "no Keycloak token endpoint there: check --keycloak (CSM serves it as \
             https://<gateway>/keycloak) and --realm"
                .into(),
        ),
        _ => None,
    }
}

fn sts_advice(status: u16) -> Option<String> {
    match status {
        401 => Some(
            "the API gateway / STS did not accept the Keycloak token: it is expired, revoked, \
             for another realm or mistyped; log in again (`tokenwarden csm sts` without \
             --token-from)"
                .into(),
        ),
        403 => Some(
            "the Keycloak token is valid but this user may not get S3 credentials (a role or \
             OPA policy of the gateway)"
                .into(),
        ),
        404 => Some(
            "no STS there: check --url (the API gateway; the STS is at /apis/sts/token)".into(),
        ),
        _ => None,
    }
}

/// The CSM client.
pub struct Csm {
    http: Http,
    gateway: Endpoint,
    keycloak: Endpoint,
    realm: String,
}

impl Csm {
    /// `gateway` is the API gateway (`https://api-gw-service-nmn.local`); `keycloak` the
    /// Keycloak base (default: `{gateway}/keycloak`, CSM's layout).
    pub fn new(
        http: Http,
        gateway: Endpoint,
        keycloak: Option<Endpoint>,
        realm: &str,
    ) -> Result<Csm, ClientError> {
        if realm.is_empty()
            || !realm
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ClientError::Invalid(format!("realm {realm:?}: one word")));
        }
        let keycloak = match keycloak {
            Some(k) => k,
            None => Endpoint::parse(gateway.join("keycloak").as_str())?,
        };
        Ok(Csm {
            http,
            gateway,
            keycloak,
            realm: realm.to_string(),
        })
    }

    /// The gateway.
    pub fn gateway(&self) -> &Endpoint {
        &self.gateway
    }

    /// `{keycloak}/realms/{realm}/protocol/openid-connect/token`.
    pub fn token_url(&self) -> url::Url {
        self.keycloak.join(&format!(
            "realms/{}/protocol/openid-connect/token",
            self.realm
        ))
    }

    /// The OAuth password grant. The password goes only in the form body, to the Keycloak the
    /// user named, and is cut out of any error text.
    pub fn password_grant(
        &self,
        client_id: &str,
        username: &str,
        password: &Token,
    ) -> Result<KeycloakToken, ClientError> {
        let form = vec![
            ("grant_type".to_string(), Zeroizing::new("password".into())),
            ("client_id".to_string(), Zeroizing::new(client_id.into())),
            ("username".to_string(), Zeroizing::new(username.into())),
            (
                "password".to_string(),
                Zeroizing::new(password.expose().to_string()),
            ),
        ];
        let call = Call::new(Method::POST, self.token_url())
            .header("accept", "application/json")
            .body(Body::Form(form))
            .secret(password.expose())
            .advice(&keycloak_advice);
        let resp = self.http.send(&call)?;
        let raw = Zeroizing::new(resp.text());
        let v: Value = serde_json::from_str(&raw).map_err(|e| ClientError::Decode {
            what: "Keycloak token".into(),
            detail: e.to_string(),
        })?;
        let access = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| ClientError::Decode {
                what: "Keycloak token".into(),
                detail: "no access_token in the answer".into(),
            })?;
        Ok(KeycloakToken {
            access: Token::new(access),
            refresh: v
                .get("refresh_token")
                .and_then(Value::as_str)
                .map(Token::new),
            expires_in: v.get("expires_in").and_then(Value::as_u64),
            raw,
        })
    }

    /// `PUT {gateway}/apis/sts/token` with `Authorization: Bearer <access token>` → 201 and
    /// `{"Credentials": {…}}`. A PUT that failed is not retried blindly (each call mints new
    /// credentials; the transport retries only a request that never reached the server).
    pub fn sts_token(&self, access: &Token) -> Result<StsCredentials, ClientError> {
        let call = Call::new(Method::PUT, self.gateway.join("apis/sts/token"))
            .header("accept", "application/json")
            .credential("authorization", "Bearer ", access)
            .advice(&sts_advice);
        let resp = self.http.send(&call)?;
        let v: Value = resp.json("CSM STS answer")?;
        StsCredentials::from_answer(&v)
    }
}

/// The Cray CLI's token file name for a gateway host and user:
/// `<host with dots → underscores>.<user>` (docs-csm `configure_cray_cli.md`).
pub fn cray_token_file_name(host: &str, user: &str) -> String {
    format!("{}.{}", host.replace(['.', '-'], "_"), user)
}

// -------------------------------------------------------------------- credential files

/// The `[profile]` section lines for an AWS shared credentials file.
fn aws_section(profile: &str, c: &StsCredentials) -> String {
    format!(
        "[{profile}]\n# CSM STS credentials written by tokenwarden; they expire at {exp}.\n\
         # Use them with the endpoint {ep} (e.g. aws --endpoint-url {ep} s3 ls).\n\
         aws_access_key_id = {id}\naws_secret_access_key = {sk}\naws_session_token = {st}\n",
        exp = c.expiration,
        ep = c.endpoint_url,
        id = c.access_key_id,
        sk = c.secret_access_key.expose(),
        st = c.session_token.expose(),
    )
}

/// Merges `profile` into the text of an AWS credentials file: the section of that name (if
/// any) is replaced; every other line — other profiles, comments — is kept as it was.
pub fn merge_aws_credentials(
    existing: &str,
    profile: &str,
    c: &StsCredentials,
) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    let mut skipping = false;
    let mut replaced = false;
    let header = |l: &str| -> Option<String> {
        let t = l.trim();
        t.strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .map(|n| n.trim().to_string())
    };
    for line in existing.lines() {
        if let Some(name) = header(line) {
            if name == profile {
                skipping = true;
                if !replaced {
                    out.push_str(&aws_section(profile, c));
                    replaced = true;
                }
                continue;
            }
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&aws_section(profile, c));
    }
    out
}

/// An env file: `AWS_ACCESS_KEY_ID=…`, `AWS_SECRET_ACCESS_KEY=…`, `AWS_SESSION_TOKEN=…`,
/// `AWS_ENDPOINT_URL=…` (as `set -a; . file` and docker `--env-file` read it).
pub fn env_file(c: &StsCredentials) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "# CSM STS credentials written by tokenwarden; they expire at {}.\n\
         AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\nAWS_SESSION_TOKEN={}\nAWS_ENDPOINT_URL={}\n",
        c.expiration,
        c.access_key_id,
        c.secret_access_key.expose(),
        c.session_token.expose(),
        c.endpoint_url
    ))
}

/// JSON in the AWS `credential_process` shape (`Version: 1`), plus `EndpointURL`.
pub fn json_file(c: &StsCredentials) -> Zeroizing<String> {
    let v = serde_json::json!({
        "Version": 1,
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose(),
        "SessionToken": c.session_token.expose(),
        "Expiration": c.expiration,
        "EndpointURL": c.endpoint_url,
    });
    Zeroizing::new(format!(
        "{}\n",
        serde_json::to_string_pretty(&v).unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> StsCredentials {
        StsCredentials {
            access_key_id: "AKIDEXAMPLE12345678".into(),
            secret_access_key: Token::new("SECRETSECRETSECRETSECRETSECRETSECRET123"),
            session_token: Token::new("c2Vzc2lvbg+/=="),
            endpoint_url: "http://rgw.local:8080".into(),
            expiration: "2030-01-01T00:00:00+00:00".into(),
        }
    }

    #[test]
    fn merging_keeps_other_profiles_and_replaces_ours() {
        let old = "# mine\n[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n\
                   [csm]\naws_access_key_id = OLD\naws_secret_access_key = OLDSECRET\n\n\
                   [other]\naws_access_key_id = C\n";
        let new = merge_aws_credentials(old, "csm", &creds());
        assert!(new.starts_with("# mine\n[default]\naws_access_key_id = A\n"));
        assert!(new.contains("[other]\naws_access_key_id = C\n"));
        assert!(!new.contains("OLDSECRET"));
        assert_eq!(new.matches("[csm]").count(), 1);
        assert!(new.contains("aws_session_token = c2Vzc2lvbg+/=="));
        let fresh = merge_aws_credentials("", "csm", &creds());
        assert!(fresh.starts_with("[csm]\n"));
        let appended = merge_aws_credentials("[default]\nx = 1", "p", &creds());
        assert!(
            appended.starts_with("[default]\nx = 1\n\n[p]\n"),
            "{appended:?}"
        );
    }

    #[test]
    fn env_and_json_forms() {
        let e = env_file(&creds());
        assert!(e.contains("AWS_ENDPOINT_URL=http://rgw.local:8080\n"));
        assert!(e.contains("AWS_SESSION_TOKEN=c2Vzc2lvbg+/==\n"));
        let j: Value = serde_json::from_str(&json_file(&creds())).unwrap();
        assert_eq!(j["Version"], 1);
        assert_eq!(j["AccessKeyId"], "AKIDEXAMPLE12345678");
        assert_eq!(
            cray_token_file_name("api-gw-service-nmn.local", "vers"),
            "api_gw_service_nmn_local.vers"
        );
    }

    #[test]
    fn jwt_claims_are_read() {
        let p = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":1234}"#);
        assert_eq!(
            jwt_claim(&format!("e30.{p}.sig"), "exp"),
            Some(Value::from(1234))
        );
        assert_eq!(jwt_claim("nope", "exp"), None);
    }
}
