//! Globus Auth for native apps: log in (authorization code + PKCE), keep the tokens where
//! globus-sdk keeps them, refresh them, and revoke them.
//!
//! Why this shape:
//! - **PKCE S256, public client.** The ALCF IRI clients are native apps with no secret
//!   (FACILITIES.md §2.1); the verifier is what stops a stolen authorization code from being
//!   redeemed by someone else.
//! - **globus-sdk's file format and path** (`~/.globus/app/<client_id>/<app_name>/tokens.json`,
//!   format 2.0). The ALCF tools (`alcf_facility_api_globus_token.py`, `alcf-tokens`) read and
//!   write exactly this, so a user who logs in here can keep using them and vice versa, and the
//!   token store `audit` checks is the one that really exists. Other resource servers in the
//!   same file (alcf-tokens keeps inference and Compute tokens there) are left as they were.
//! - **Atomic 0600 writes** through [`crate::private_file`], parent directories 0700.
//! - **Refresh within 60 s of expiry**, saving the rotated refresh token: Globus (and the test
//!   peer) rotate refresh tokens, and re-using a rotated one revokes the whole grant.
//! - **Logout revokes both tokens** (RFC 7009) before forgetting them: an access token lives
//!   48 h and a refresh token up to 7 days at ALCF, so deleting the file alone leaves both
//!   usable by whoever copied them.

use crate::facilities::credential::Token;
use crate::facilities::http::{Call, ClientError, Endpoint, Http, form};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// Globus Auth's production base URL.
pub const DEFAULT_AUTH_URL: &str = "https://auth.globus.org";
/// The page Globus shows the code on, for users who paste it back.
pub const AUTH_CODE_PAGE: &str = "https://auth.globus.org/v2/web/auth-code";
/// ALCF's high-assurance session policy (forces the ALCF identity provider).
pub const ALCF_SESSION_POLICY: &str = "a128e981-c9a5-417a-97ab-8571c9831bff";
/// The IRI resource server at ALCF.
pub const ALCF_IRI_RESOURCE_SERVER: &str = "6be511f6-a071-471f-9bc0-02a0d0836723";
/// The IRI scope at ALCF.
pub const ALCF_IRI_SCOPE: &str =
    "https://auth.globus.org/scopes/6be511f6-a071-471f-9bc0-02a0d0836723/filesystem";
/// The ALCF `alcf-tokens` CLI's native client id (the one `login alcf` uses).
pub const ALCF_TOKENS_CLIENT: &str = "7f3e61f5-e0de-4e8f-9150-0a62c65dda63";
/// The older `alcf_facility_api_globus_token.py` native client id.
pub const ALCF_FACILITY_API_CLIENT: &str = "8b84fc2d-49e9-49ea-b54d-b3a29a70cf31";
/// NERSC's IRI resource server.
pub const NERSC_IRI_RESOURCE_SERVER: &str = "ed3e577d-f7f3-4639-b96e-ff5a8445d699";
/// NERSC's IRI scope.
pub const NERSC_IRI_SCOPE: &str =
    "https://auth.globus.org/scopes/ed3e577d-f7f3-4639-b96e-ff5a8445d699/iri_api";

/// Refresh when the access token has less than this left.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// One Globus native app: who it is, what it asks for, where its tokens live.
#[derive(Clone, Debug)]
pub struct GlobusApp {
    /// The native (public) client id.
    pub client_id: String,
    /// globus-sdk's app name (the token directory).
    pub app_name: String,
    /// Space-separated scopes requested.
    pub scope: String,
    /// The resource server whose token this app is for (the key in the token file).
    pub resource_server: String,
    /// `session_required_policies`, when the facility needs one.
    pub session_policy: Option<String>,
    /// Globus Auth's base URL.
    pub auth: Endpoint,
}

impl GlobusApp {
    /// ALCF's IRI login, as `alcf-tokens` does it (client `7f3e61f5…`, app `alcf_tokens`).
    pub fn alcf(auth: Endpoint) -> GlobusApp {
        GlobusApp {
            client_id: ALCF_TOKENS_CLIENT.into(),
            app_name: "alcf_tokens".into(),
            scope: ALCF_IRI_SCOPE.into(),
            resource_server: ALCF_IRI_RESOURCE_SERVER.into(),
            session_policy: Some(ALCF_SESSION_POLICY.into()),
            auth,
        }
    }

    /// NERSC's IRI scope with a native client the user registered (NERSC publishes none).
    pub fn nersc(auth: Endpoint, client_id: &str) -> GlobusApp {
        GlobusApp {
            client_id: client_id.into(),
            app_name: "tokenwarden_nersc".into(),
            scope: NERSC_IRI_SCOPE.into(),
            resource_server: NERSC_IRI_RESOURCE_SERVER.into(),
            session_policy: None,
            auth,
        }
    }

    /// The token file globus-sdk uses for this app under `home`.
    pub fn token_path(&self, home: &Path) -> PathBuf {
        home.join(".globus")
            .join("app")
            .join(&self.client_id)
            .join(&self.app_name)
            .join("tokens.json")
    }

    fn url(&self, path: &str) -> url::Url {
        self.auth.join(path)
    }
}

/// The ALCF token files other tools write, newest tool first: (client id, path).
pub fn alcf_token_files(home: &Path) -> Vec<(String, PathBuf)> {
    let app = home.join(".globus").join("app");
    vec![
        (
            ALCF_TOKENS_CLIENT.into(),
            app.join(ALCF_TOKENS_CLIENT)
                .join("alcf_tokens")
                .join("tokens.json"),
        ),
        (
            ALCF_TOKENS_CLIENT.into(),
            app.join(ALCF_TOKENS_CLIENT)
                .join("alcf_tokens")
                .join("tokens-bash.json"),
        ),
        (
            ALCF_FACILITY_API_CLIENT.into(),
            app.join(ALCF_FACILITY_API_CLIENT)
                .join("alcf_facility_api_app")
                .join("tokens.json"),
        ),
    ]
}

/// The user's home directory.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

// ---- PKCE and the authorize URL ---------------------------------------------------------

/// A PKCE verifier (kept secret until the exchange) and its S256 challenge, plus `state`.
pub struct Pkce {
    /// The verifier.
    pub verifier: Token,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
    /// A random `state` value.
    pub state: String,
}

fn random_b64(n: usize) -> Result<String, ClientError> {
    let mut b = Zeroizing::new(vec![0u8; n]);
    getrandom::fill(&mut b)
        .map_err(|e| ClientError::Invalid(format!("no randomness for PKCE: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(&*b))
}

impl Pkce {
    /// A fresh verifier of 43 characters (32 random bytes), the RFC 7636 minimum length.
    pub fn new() -> Result<Pkce, ClientError> {
        let verifier = Token::new(random_b64(32)?);
        Ok(Pkce {
            challenge: challenge_for(verifier.expose()),
            verifier,
            state: random_b64(16)?,
        })
    }
}

/// The S256 challenge for a verifier.
pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The URL the user opens to log in.
pub fn authorize_url(app: &GlobusApp, redirect_uri: &str, pkce: &Pkce) -> url::Url {
    let mut url = app.url("/v2/oauth2/authorize");
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &app.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &app.scope)
            .append_pair("response_type", "code")
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("access_type", "offline")
            .append_pair("state", &pkce.state);
        if let Some(p) = &app.session_policy {
            q.append_pair("session_required_policies", p);
        }
    }
    url
}

/// Takes what the user pasted: the bare code, or the whole redirect URL (whose `state` must
/// then match). Returns the code.
pub fn code_from_paste(pasted: &str, expected_state: &str) -> Result<Token, ClientError> {
    let text = pasted.trim();
    if text.is_empty() {
        return Err(ClientError::Invalid(
            "no authorization code was given".into(),
        ));
    }
    if text.contains("://")
        && let Ok(u) = url::Url::parse(text)
    {
        let mut code = None;
        let mut state = None;
        let mut error = None;
        for (k, v) in u.query_pairs() {
            match &*k {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                "error" => error = Some(v.into_owned()),
                _ => {}
            }
        }
        if let Some(e) = error {
            return Err(ClientError::Invalid(format!("the login was refused: {e}")));
        }
        if let Some(s) = state
            && s != expected_state
        {
            return Err(ClientError::Invalid(
                "the pasted URL belongs to another login attempt (state does not match)".into(),
            ));
        }
        return code
            .map(Token::new)
            .ok_or_else(|| ClientError::Invalid("the pasted URL holds no `code`".into()));
    }
    if text.contains(char::is_whitespace) {
        return Err(ClientError::Invalid(
            "that does not look like an authorization code".into(),
        ));
    }
    Ok(Token::new(text))
}

// ---- token records and files -----------------------------------------------------------

/// One resource server's tokens.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    /// The resource server.
    pub resource_server: String,
    /// The Globus identity, when known.
    pub identity_id: Option<String>,
    /// Granted scopes.
    pub scope: String,
    /// The access token.
    pub access_token: Token,
    /// The refresh token.
    pub refresh_token: Option<Token>,
    /// When the access token expires (Unix seconds).
    pub expires_at_seconds: i64,
    /// `Bearer`.
    pub token_type: String,
}

impl TokenRecord {
    /// Seconds left (negative when expired).
    pub fn seconds_left(&self) -> i64 {
        self.expires_at_seconds - now()
    }

    /// True when expired or about to be.
    pub fn needs_refresh(&self) -> bool {
        self.seconds_left() < REFRESH_MARGIN_SECS
    }

    fn to_v2(&self) -> Value {
        json!({
            "resource_server": self.resource_server,
            "identity_id": self.identity_id,
            "scope": self.scope,
            "access_token": self.access_token.expose(),
            "refresh_token": self.refresh_token.as_ref().map(|t| t.expose()),
            "expires_at_seconds": self.expires_at_seconds,
            "token_type": self.token_type,
        })
    }

    fn from_value(rs: &str, v: &Value) -> Option<TokenRecord> {
        let access = v["access_token"].as_str().filter(|s| !s.is_empty())?;
        let expires = v["expires_at_seconds"]
            .as_i64()
            .or_else(|| v["expires_at"].as_i64())
            .or_else(|| v["expires_at_seconds"].as_f64().map(|f| f as i64))
            .unwrap_or(0);
        Some(TokenRecord {
            resource_server: v["resource_server"].as_str().unwrap_or(rs).to_string(),
            identity_id: v["identity_id"].as_str().map(String::from),
            scope: v["scope"].as_str().unwrap_or_default().to_string(),
            access_token: Token::new(access),
            refresh_token: v["refresh_token"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(Token::new),
            expires_at_seconds: expires,
            token_type: v["token_type"].as_str().unwrap_or("Bearer").to_string(),
        })
    }
}

/// The shape of a token file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// globus-sdk 2.0: `data.<namespace>.<rs>`.
    V2,
    /// globus-sdk 1.0: `by_rs.<rs>`.
    V1,
    /// The alcf-tokens shell script: `by_resource_server.<rs>` with `expires_at`.
    Bash,
}

/// A token file, kept whole so that writing it back preserves what this client does not use.
#[derive(Clone, Debug)]
pub struct TokenFile {
    /// Where it lives.
    pub path: PathBuf,
    /// Its format.
    pub format: FileFormat,
    doc: Value,
}

/// The globus-sdk version written into files (the format is what matters to readers).
const SDK_VERSION_TAG: &str = "3.65.0";

impl TokenFile {
    /// An empty v2 file at `path` (not yet written).
    pub fn new_v2(path: PathBuf) -> TokenFile {
        TokenFile {
            path,
            format: FileFormat::V2,
            doc: json!({"data": {"DEFAULT": {}}, "format_version": "2.0",
                        "globus-sdk.version": SDK_VERSION_TAG}),
        }
    }

    /// Reads a file in any of the three formats; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<TokenFile>, ClientError> {
        let text = match std::fs::read(path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ClientError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Self::parse(path, &text).map(Some)
    }

    /// Parses a token file's bytes.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<TokenFile, ClientError> {
        let bad = |why: &str| {
            ClientError::Invalid(format!(
                "{}: not a Globus token file: {why}",
                path.display()
            ))
        };
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
            // serde's message quotes no input beyond a line/column, so no token leaks here.
            bad(&format!(
                "invalid JSON at line {}, column {}",
                e.line(),
                e.column()
            ))
        })?;
        let format = if doc["data"].is_object() {
            FileFormat::V2
        } else if doc["by_rs"].is_object() {
            FileFormat::V1
        } else if doc["by_resource_server"].is_object() {
            FileFormat::Bash
        } else {
            return Err(bad("no `data`, `by_rs` or `by_resource_server` object"));
        };
        Ok(TokenFile {
            path: path.to_path_buf(),
            format,
            doc,
        })
    }

    fn table(&self) -> Option<&serde_json::Map<String, Value>> {
        match self.format {
            FileFormat::V2 => self.doc["data"]["DEFAULT"].as_object(),
            FileFormat::V1 => self.doc["by_rs"].as_object(),
            FileFormat::Bash => self.doc["by_resource_server"].as_object(),
        }
    }

    fn table_mut(&mut self) -> Option<&mut serde_json::Map<String, Value>> {
        match self.format {
            FileFormat::V2 => {
                if !self.doc["data"]["DEFAULT"].is_object() {
                    self.doc["data"]["DEFAULT"] = json!({});
                }
                self.doc["data"]["DEFAULT"].as_object_mut()
            }
            FileFormat::V1 => self.doc["by_rs"].as_object_mut(),
            FileFormat::Bash => self.doc["by_resource_server"].as_object_mut(),
        }
    }

    /// The resource servers with tokens in the file.
    pub fn resource_servers(&self) -> Vec<String> {
        self.table()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The tokens for one resource server.
    pub fn get(&self, rs: &str) -> Option<TokenRecord> {
        TokenRecord::from_value(rs, self.table()?.get(rs)?)
    }

    /// Sets (adds or replaces) one resource server's tokens.
    pub fn set(&mut self, rec: &TokenRecord) {
        let format = self.format;
        let value = match format {
            FileFormat::Bash => json!({
                "scope": rec.scope,
                "access_token": rec.access_token.expose(),
                "refresh_token": rec.refresh_token.as_ref().map(|t| t.expose()),
                "expires_at": rec.expires_at_seconds,
            }),
            _ => rec.to_v2(),
        };
        if let Some(t) = self.table_mut() {
            t.insert(rec.resource_server.clone(), value);
        }
    }

    /// Removes one resource server's tokens; true when they were there.
    pub fn remove(&mut self, rs: &str) -> bool {
        self.table_mut().is_some_and(|t| t.remove(rs).is_some())
    }

    /// Writes the file atomically with mode 0600, its directories 0700.
    pub fn save(&self) -> Result<(), ClientError> {
        let io = |source| ClientError::Io {
            path: self.path.display().to_string(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            crate::private_file::create_private_dir(dir).map_err(io)?;
        }
        let bytes = Zeroizing::new(
            serde_json::to_vec_pretty(&self.doc)
                .map_err(|e| ClientError::Invalid(format!("cannot encode tokens: {e}")))?,
        );
        crate::private_file::write(&self.path, &bytes).map_err(io)
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// ---- the token endpoint ----------------------------------------------------------------

fn oauth_advice(status: u16) -> Option<String> {
    match status {
        400 => Some(
            "Globus Auth refused the grant: the code or refresh token is expired, already \
             used or revoked, or the PKCE verifier does not match — run `tokenwarden login` \
             again"
                .into(),
        ),
        401 => Some("Globus Auth did not accept the client: check --client-id".into()),
        _ => None,
    }
}

/// Reads a token-endpoint answer into records: the main token and Globus's `other_tokens`.
fn records_from_response(
    app: &GlobusApp,
    v: &Value,
    previous_refresh: Option<&Token>,
) -> Result<Vec<TokenRecord>, ClientError> {
    let one = |v: &Value, default_rs: &str| -> Result<TokenRecord, ClientError> {
        let access = v["access_token"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ClientError::Decode {
                what: "token response".into(),
                detail: "no access_token".into(),
            })?;
        let expires_in = v["expires_in"].as_i64().unwrap_or(0);
        Ok(TokenRecord {
            resource_server: v["resource_server"]
                .as_str()
                .unwrap_or(default_rs)
                .to_string(),
            identity_id: identity_from_id_token(v["id_token"].as_str()),
            scope: v["scope"].as_str().unwrap_or(&app.scope).to_string(),
            access_token: Token::new(access),
            refresh_token: v["refresh_token"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(Token::new)
                .or_else(|| previous_refresh.cloned()),
            expires_at_seconds: now() + expires_in,
            token_type: v["token_type"].as_str().unwrap_or("Bearer").to_string(),
        })
    };
    let mut out = vec![one(v, &app.resource_server)?];
    if let Some(others) = v["other_tokens"].as_array() {
        for o in others {
            if let Ok(r) = one(o, o["resource_server"].as_str().unwrap_or_default())
                && !r.resource_server.is_empty()
            {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// The `sub` of an id_token, read without verifying it: it only labels the stored record
/// (globus-sdk stores it as `identity_id`), nothing is authorised by it.
fn identity_from_id_token(id_token: Option<&str>) -> Option<String> {
    let payload = id_token?.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["sub"].as_str().map(String::from)
}

/// Exchanges an authorization code (with its PKCE verifier) for tokens.
pub fn exchange_code(
    http: &Http,
    app: &GlobusApp,
    code: &Token,
    verifier: &Token,
    redirect_uri: &str,
) -> Result<Vec<TokenRecord>, ClientError> {
    let advice = oauth_advice;
    let call = Call::new(Method::POST, app.url("/v2/oauth2/token"))
        .header("accept", "application/json")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", redirect_uri),
            ("client_id", &app.client_id),
            ("code_verifier", verifier.expose()),
        ]))
        .secret(code.expose())
        .secret(verifier.expose())
        .advice(&advice);
    let v: Value = http.send(&call)?.json("token response")?;
    records_from_response(app, &v, None)
}

/// Refreshes one record (`grant_type=refresh_token`); the answer's refresh token replaces the
/// old one when the server rotated it.
pub fn refresh(
    http: &Http,
    app: &GlobusApp,
    rec: &TokenRecord,
) -> Result<TokenRecord, ClientError> {
    let rt = rec.refresh_token.as_ref().ok_or_else(|| {
        ClientError::Invalid(
            "the stored access token has expired and there is no refresh token: run \
             `tokenwarden login` again"
                .into(),
        )
    })?;
    let advice = oauth_advice;
    let call = Call::new(Method::POST, app.url("/v2/oauth2/token"))
        .header("accept", "application/json")
        .body(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.expose()),
            ("client_id", &app.client_id),
        ]))
        .secret(rt.expose())
        .advice(&advice);
    let v: Value = http.send(&call)?.json("refresh response")?;
    let mut recs = records_from_response(app, &v, Some(rt))?;
    let mut new = recs.remove(0);
    new.resource_server = rec.resource_server.clone();
    if new.identity_id.is_none() {
        new.identity_id = rec.identity_id.clone();
    }
    Ok(new)
}

/// What happened to one token at logout.
#[derive(Debug)]
pub struct RevokeOutcome {
    /// `access token` or `refresh token`.
    pub which: &'static str,
    /// A redacted preview.
    pub preview: String,
    /// `Ok(())` when revoked.
    pub result: Result<(), ClientError>,
}

/// Revokes one token (RFC 7009: form `token`, a type hint, `client_id`).
pub fn revoke(http: &Http, app: &GlobusApp, token: &Token, hint: &str) -> Result<(), ClientError> {
    let url = app.url("/v2/oauth2/token/revoke");
    revoke_as(http, &url, &app.client_id, token, Some(hint))
}

/// Revokes one token at `url` (Globus Auth's `/v2/oauth2/token/revoke`) as the native client
/// `client_id`, which must be the one that issued it: Globus refuses any other. Without a type
/// hint (a token found in a file is of unknown type) the server works it out.
pub fn revoke_as(
    http: &Http,
    url: &url::Url,
    client_id: &str,
    token: &Token,
    hint: Option<&str>,
) -> Result<(), ClientError> {
    let mut fields = vec![("token", token.expose())];
    if let Some(h) = hint {
        fields.push(("token_type_hint", h));
    }
    fields.push(("client_id", client_id));
    let call = Call::new(Method::POST, url.clone())
        .header("accept", "application/json")
        .body(form(&fields))
        .secret(token.expose());
    http.send(&call).map(|_| ())
}

/// Revokes a record's refresh token (first: it is the longer-lived one) and access token.
pub fn revoke_record(http: &Http, app: &GlobusApp, rec: &TokenRecord) -> Vec<RevokeOutcome> {
    let mut out = Vec::new();
    if let Some(rt) = &rec.refresh_token {
        out.push(RevokeOutcome {
            which: "refresh token",
            preview: rt.preview(),
            result: revoke(http, app, rt, "refresh_token"),
        });
    }
    out.push(RevokeOutcome {
        which: "access token",
        preview: rec.access_token.preview(),
        result: revoke(http, app, &rec.access_token, "access_token"),
    });
    out
}

/// The stored access token for `app`'s resource server, refreshed (and the file rewritten)
/// when it expires within a minute. `Ok(None)` when no file holds one.
pub fn stored_access_token(
    http: &Http,
    app: &GlobusApp,
    files: &[PathBuf],
) -> Result<Option<(Token, PathBuf)>, ClientError> {
    for path in files {
        let Some(mut file) = TokenFile::load(path)? else {
            continue;
        };
        let Some(rec) = file.get(&app.resource_server) else {
            continue;
        };
        if !rec.needs_refresh() {
            return Ok(Some((rec.access_token, path.clone())));
        }
        let new = refresh(http, app, &rec)?;
        file.set(&new);
        file.save()?;
        return Ok(Some((new.access_token, path.clone())));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        assert_eq!(
            challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let p = Pkce::new().unwrap();
        assert_eq!(p.verifier.expose().len(), 43);
        assert_eq!(p.challenge, challenge_for(p.verifier.expose()));
    }

    #[test]
    fn authorize_url_carries_pkce_offline_and_policy() {
        let app = GlobusApp::alcf(Endpoint::parse(DEFAULT_AUTH_URL).unwrap());
        let p = Pkce::new().unwrap();
        let u = authorize_url(&app, AUTH_CODE_PAGE, &p);
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(u.path(), "/v2/oauth2/authorize");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], p.challenge);
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["session_required_policies"], ALCF_SESSION_POLICY);
        assert_eq!(q["scope"], ALCF_IRI_SCOPE);
        assert_eq!(q["client_id"], ALCF_TOKENS_CLIENT);
        assert!(!u.as_str().contains(p.verifier.expose()));
    }

    #[test]
    fn pasted_codes_and_urls() {
        assert_eq!(
            code_from_paste(" abc123 \n", "s").unwrap().expose(),
            "abc123"
        );
        assert_eq!(
            code_from_paste("http://127.0.0.1:5/callback?code=xyz&state=s", "s")
                .unwrap()
                .expose(),
            "xyz"
        );
        assert!(code_from_paste("http://127.0.0.1:5/callback?code=xyz&state=t", "s").is_err());
        assert!(code_from_paste("", "s").is_err());
        assert!(code_from_paste("two words", "s").is_err());
    }

    #[test]
    fn reads_all_three_formats_and_keeps_other_servers() {
        let dir = tempfile::tempdir().unwrap();
        let v2 = br#"{"data":{"DEFAULT":{"rs1":{"resource_server":"rs1","identity_id":"id",
            "scope":"s","access_token":"AgAAA","refresh_token":"AgRRR","expires_at_seconds":5,
            "token_type":"Bearer"},"other":{"access_token":"AgOTHER","expires_at_seconds":9}}},
            "format_version":"2.0","globus-sdk.version":"3.50.0"}"#;
        let f = TokenFile::parse(&dir.path().join("t.json"), v2).unwrap();
        assert_eq!(f.format, FileFormat::V2);
        let r = f.get("rs1").unwrap();
        assert_eq!(r.access_token.expose(), "AgAAA");
        assert_eq!(r.refresh_token.as_ref().unwrap().expose(), "AgRRR");
        assert!(r.needs_refresh());
        let mut f2 = f.clone();
        f2.path = dir.path().join("a/b/tokens.json");
        let mut r2 = r.clone();
        r2.access_token = Token::new("AgNEW");
        f2.set(&r2);
        f2.save().unwrap();
        let back = TokenFile::load(&f2.path).unwrap().unwrap();
        assert_eq!(back.get("rs1").unwrap().access_token.expose(), "AgNEW");
        assert_eq!(back.get("other").unwrap().access_token.expose(), "AgOTHER");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&f2.path).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, 0o600);
        }

        let v1 = br#"{"by_rs":{"rs1":{"access_token":"AgV1","expires_at_seconds":99}}}"#;
        let f = TokenFile::parse(Path::new("v1"), v1).unwrap();
        assert_eq!(f.format, FileFormat::V1);
        assert_eq!(f.get("rs1").unwrap().expires_at_seconds, 99);

        let bash = br#"{"app_name":"alcf_tokens","client_id":"7f3e","by_resource_server":
            {"rs1":{"scope":"s","access_token":"AgB","refresh_token":"AgBR","expires_at":77}}}"#;
        let f = TokenFile::parse(Path::new("b"), bash).unwrap();
        assert_eq!(f.format, FileFormat::Bash);
        assert_eq!(f.get("rs1").unwrap().expires_at_seconds, 77);

        let e = TokenFile::parse(Path::new("x"), br#"{"access_token":"AgSECRET""#)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("AgSECRET"), "{e}");
    }
}
