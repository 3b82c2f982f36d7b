//! JWT decoding and classification by claims.
//!
//! A JWT's shape says nothing about who issued it, so a token is classified only after its
//! header and payload decode as JSON objects: an S3M project access token by `type` and `aud`,
//! a Slurm token by its tiny HS256 claim set, a Keycloak token by its `iss` realm, an AmSC
//! Keycard by `amsc_project_context`. Anything that looks like a JWT but does not decode is not
//! a JWT finding. Signatures are never verified here: verification needs the issuer's key, and
//! liveness is the lifecycle's job.

use crate::rules::JwtClass;
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde::Serialize;
use serde_json::{Map, Value};

/// A decoded (not verified) JWT.
#[derive(Debug, Clone)]
pub struct Jwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
}

/// What a token says about itself, as reported in findings. Holds no secret material.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct TokenFacts {
    /// The classification.
    pub class: Option<JwtClass>,
    /// `alg` from the header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `iss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The Keycloak realm taken from `iss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// `aud` (a string or a list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<String>,
    /// `sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The user: Slurm `sun`/`username`, Keycloak `preferred_username`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `azp`: the OAuth client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The token's own type claim (`type: opat`, Keycloak `typ: Bearer|Refresh|Offline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// S3M `description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `jti`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `iat` (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// `nbf` (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// `exp` (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Whether `exp` had passed at scan time (`None` when there is no `exp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired: Option<bool>,
}

fn b64_json(part: &[u8]) -> Option<Map<String, Value>> {
    // Some encoders pad; strip it and accept both alphabets' padding rules.
    let trimmed: &[u8] = {
        let mut p = part;
        while let [rest @ .., b'='] = p {
            p = rest;
        }
        p
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE.decode(part))
        .ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Decodes `header.payload[.signature]`. Returns `None` unless both parts are base64url JSON
/// objects and the header names an `alg`.
pub fn decode(token: &[u8]) -> Option<Jwt> {
    let mut parts = token.split(|&b| b == b'.');
    let header = b64_json(parts.next()?)?;
    let claims = b64_json(parts.next()?)?;
    let _signature = parts.next()?;
    if parts.next().is_some() {
        return None; // five parts is a JWE; not a token we classify
    }
    header.get("alg")?.as_str()?;
    Some(Jwt { header, claims })
}

fn as_str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn as_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn str_claim(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(String::from)
}

/// The Keycloak realm named by an issuer URL such as `https://host/keycloak/realms/shasta`.
pub fn keycloak_realm(iss: &str) -> Option<&str> {
    let rest = iss
        .strip_prefix("https://")
        .or_else(|| iss.strip_prefix("http://"))?;
    let (_host, path) = rest.split_once('/')?;
    let path = path.trim_end_matches('/');
    let idx = path.rfind("realms/")?;
    if idx != 0 && !path[..idx].ends_with('/') {
        return None;
    }
    let realm = &path[idx + "realms/".len()..];
    (!realm.is_empty() && !realm.contains('/')).then_some(realm)
}

const SLURM_CLAIMS: &[&str] = &["exp", "iat", "sun", "username", "uid", "gid", "id"];

/// Classifies a decoded token by its claims.
pub fn classify(jwt: &Jwt) -> JwtClass {
    let c = &jwt.claims;
    let aud = as_str_list(c.get("aud"));
    if c.get("type").and_then(Value::as_str) == Some("opat")
        && aud.iter().any(|a| a == "api.olcf.ornl.gov")
    {
        return JwtClass::S3mOpat;
    }
    if c.contains_key("amsc_project_context") {
        return JwtClass::AmscKeycard;
    }
    if let Some(realm) = c
        .get("iss")
        .and_then(Value::as_str)
        .and_then(keycloak_realm)
    {
        return if realm == "shasta" {
            JwtClass::KeycloakCsm
        } else {
            JwtClass::Keycloak
        };
    }
    let hs256 = jwt.header.get("alg").and_then(Value::as_str) == Some("HS256");
    if hs256
        && c.contains_key("exp")
        && (c.contains_key("sun") || c.contains_key("username"))
        && c.keys().all(|k| SLURM_CLAIMS.contains(&k.as_str()))
    {
        return JwtClass::Slurm;
    }
    JwtClass::Other
}

/// The widely copied demo tokens, recognised by their claims (people re-sign them with their
/// own keys, so the signature says nothing): jwt.io's "John Doe" token, with or without its
/// `admin` claim. Found in a file they are a documentation example, not a credential.
pub fn published_demo(jwt: &Jwt) -> Option<&'static str> {
    let c = &jwt.claims;
    let only = |keys: &[&str]| c.keys().all(|k| keys.contains(&k.as_str()));
    (c.get("sub") == Some(&Value::from("1234567890"))
        && c.get("name") == Some(&Value::from("John Doe"))
        && only(&["sub", "name", "iat", "admin", "exp"]))
    .then_some("the jwt.io demo token (its claims: sub 1234567890, name John Doe)")
}

/// The reportable facts of a token, with expiry judged against `now` (Unix seconds).
pub fn facts(jwt: &Jwt, now: i64) -> TokenFacts {
    let c = &jwt.claims;
    let class = classify(jwt);
    let issuer = str_claim(c, "iss");
    let exp = as_i64(c.get("exp"));
    TokenFacts {
        class: Some(class),
        alg: str_claim(&jwt.header, "alg"),
        realm: issuer.as_deref().and_then(keycloak_realm).map(String::from),
        issuer,
        audience: as_str_list(c.get("aud")),
        subject: str_claim(c, "sub"),
        user: str_claim(c, "sun")
            .or_else(|| str_claim(c, "username"))
            .or_else(|| str_claim(c, "preferred_username")),
        client: str_claim(c, "azp"),
        token_type: str_claim(c, "type").or_else(|| str_claim(c, "typ")),
        description: str_claim(c, "description"),
        jti: str_claim(c, "jti"),
        iat: as_i64(c.get("iat")),
        nbf: as_i64(c.get("nbf")),
        exp,
        expired: exp.map(|e| e <= now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::template::{mint_jwt, mint_jwt_alg, now_unix};
    use serde_json::json;

    fn class_of(t: &str) -> JwtClass {
        classify(&decode(t.as_bytes()).expect("decodes"))
    }

    #[test]
    fn classifies_by_claims() {
        let opat = mint_jwt_alg(
            "RS256",
            &json!({"description":"x","type":"opat","aud":["api.olcf.ornl.gov"],"nbf":1,"iat":1,"jti":"u"}),
        );
        assert_eq!(class_of(&opat), JwtClass::S3mOpat);
        let slurm = mint_jwt_alg(
            "HS256",
            &json!({"exp":"@now+60","iat":"@now","sun":"alice"}),
        );
        assert_eq!(class_of(&slurm), JwtClass::Slurm);
        let kc = mint_jwt_alg(
            "RS256",
            &json!({"iss":"https://api.cmn.example.org/keycloak/realms/shasta","typ":"Bearer","exp":1}),
        );
        assert_eq!(class_of(&kc), JwtClass::KeycloakCsm);
        let kc2 = mint_jwt_alg(
            "RS256",
            &json!({"iss":"http://localhost:8081/auth/realms/demo"}),
        );
        assert_eq!(class_of(&kc2), JwtClass::Keycloak);
        let amsc = mint_jwt_alg("RS256", &json!({"sub":"x","amsc_project_context":{}}));
        assert_eq!(class_of(&amsc), JwtClass::AmscKeycard);
        // HS256 with an extra claim is not Slurm; opat without the OLCF audience is not S3M.
        let hs_extra = mint_jwt_alg("HS256", &json!({"exp":1,"sun":"a","role":"admin"}));
        assert_eq!(class_of(&hs_extra), JwtClass::Other);
        let not_olcf = mint_jwt_alg("RS256", &json!({"type":"opat","aud":"example.org"}));
        assert_eq!(class_of(&not_olcf), JwtClass::Other);
        // An RS256 token with Slurm's claims is not an HS256 Slurm token.
        let rs_slurm = mint_jwt_alg("RS256", &json!({"exp":1,"sun":"a"}));
        assert_eq!(class_of(&rs_slurm), JwtClass::Other);
    }

    #[test]
    fn refuses_what_does_not_decode() {
        assert!(decode(b"eyJhbGciOiJIUzI1NiJ9.notjson.sig").is_none());
        assert!(decode(b"eyJhbGc").is_none());
        assert!(decode(b"a.b").is_none());
        // A header without `alg` is not a JOSE header.
        let no_alg = mint_jwt(&json!({"typ":"JWT"}), &json!({"sub":"x"}));
        assert!(decode(no_alg.as_bytes()).is_none());
    }

    #[test]
    fn facts_report_expiry_and_identity() {
        let t = mint_jwt_alg(
            "HS256",
            &json!({"exp":"@now-10","iat":"@now-100","sun":"bob"}),
        );
        let f = facts(&decode(t.as_bytes()).unwrap(), now_unix());
        assert_eq!(f.user.as_deref(), Some("bob"));
        assert_eq!(f.expired, Some(true));
        let t = mint_jwt_alg("HS256", &json!({"exp":"@now+1000","sun":"bob"}));
        assert_eq!(
            facts(&decode(t.as_bytes()).unwrap(), now_unix()).expired,
            Some(false)
        );
        assert_eq!(
            keycloak_realm("https://h/keycloak/realms/shasta"),
            Some("shasta")
        );
        assert_eq!(keycloak_realm("https://h/realms/x/"), Some("x"));
        assert_eq!(keycloak_realm("https://h/notrealms/x"), None);
        assert_eq!(keycloak_realm("ftp://h/realms/x"), None);
    }
}
