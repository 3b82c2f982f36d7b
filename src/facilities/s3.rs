//! S3 (AWS, Ceph RGW, MinIO): just enough of the API to prove whether a set of S3 credentials
//! is alive — an access key id, a secret access key and, for temporary credentials (AWS STS,
//! the CSM Simple Token Service's Ceph RGW STS keys), a session token.
//!
//! Why it is shaped like this:
//! - the probe is `ListBuckets` (`GET /` on the endpoint): it changes nothing, needs no bucket
//!   name, and every S3 implementation authenticates it, so its answer tells a dead credential
//!   from a live one;
//! - requests are signed with AWS Signature Version 4, written here on `hmac` and `sha2`: the
//!   secret key is only ever an HMAC key — it is never sent, in a header, a URL or anywhere
//!   else — and the signature and session token travel in headers marked sensitive, which the
//!   transport cuts out of any error text ([`Call::credential`]);
//! - an S3 error answer is XML with a `<Code>`; it comes back as [`ClientError::Status`] whose
//!   advice names the code and says what it means, and [`s3_error_code`] /
//!   [`credential_rejected`] read it back, so a caller can tell "this key is dead" from "the
//!   server is in trouble" without parsing prose.

use crate::facilities::credential::Token;
use crate::facilities::csm::StsCredentials;
use crate::facilities::http::{self, Call, ClientError, Endpoint, Http, Response};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::SystemTime;
use url::Url;
use zeroize::Zeroizing;

/// The region to sign for when the caller knows no better. AWS needs the bucket's real region;
/// Ceph RGW and MinIO accept `us-east-1` (RGW also its zonegroup name, often `default`).
pub const DEFAULT_REGION: &str = "us-east-1";

/// The SigV4 service name for S3.
const SERVICE: &str = "s3";

/// SHA-256 of the empty body, sent as `x-amz-content-sha256` (S3 requires that header, and a
/// `GET` has no body).
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Where [`s3_error_code`] finds the code again: the advice of an S3 error starts with it.
const CODE_PREFIX: &str = "S3 error ";

/// The error codes that mean the server refused the credential itself (as opposed to a
/// permission, the clock, or the server's own trouble).
const REJECTED: &[&str] = &[
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "UserSuspended",
];

/// S3 credentials: permanent keys (an IAM user's, a Ceph RGW user's) or temporary ones (with a
/// session token). The secret parts are [`Token`]s, so they never print themselves.
#[derive(Clone)]
pub struct S3Credentials {
    /// `aws_access_key_id`: names the key; not secret on its own (it appears in the request).
    pub access_key_id: String,
    /// `aws_secret_access_key`: only ever used as the signing key, never sent.
    pub secret_access_key: Token,
    /// `aws_session_token`, for temporary credentials (sent as `x-amz-security-token`).
    pub session_token: Option<Token>,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "S3Credentials({}, session token: {})",
            self.access_key_id,
            if self.session_token.is_some() {
                "yes"
            } else {
                "no"
            }
        )
    }
}

impl From<&StsCredentials> for S3Credentials {
    /// The CSM STS answer's keys, to check them against its `EndpointURL`.
    fn from(c: &StsCredentials) -> S3Credentials {
        S3Credentials {
            access_key_id: c.access_key_id.clone(),
            secret_access_key: c.secret_access_key.clone(),
            session_token: Some(c.session_token.clone()),
        }
    }
}

/// `ListBuckets` — `GET /` on `endpoint`, signed with SigV4 for `region` ([`DEFAULT_REGION`]
/// unless the endpoint wants another) — and the names of the buckets the credential owns.
///
/// `Ok` proves the credential alive (an empty list too). An S3 error answer is a
/// [`ClientError::Status`]: read its code with [`s3_error_code`], or ask
/// [`credential_rejected`] whether it says the credential is dead or wrong. A 2xx answer that
/// is not a `ListAllMyBucketsResult` (not an S3 endpoint) is a [`ClientError::Decode`].
pub fn list_buckets(
    http: &Http,
    endpoint: &Endpoint,
    region: &str,
    creds: &S3Credentials,
) -> Result<Vec<String>, ClientError> {
    check(region, creds)?;
    let url = endpoint.url().clone();
    let amz_date = amz_date(SystemTime::now());
    let host = host_header(&url);
    let mut headers = vec![
        ("host".to_string(), host.clone()),
        ("x-amz-content-sha256".to_string(), EMPTY_SHA256.to_string()),
        ("x-amz-date".to_string(), amz_date.clone()),
    ];
    if let Some(t) = &creds.session_token {
        headers.push(("x-amz-security-token".to_string(), t.expose().to_string()));
    }
    let request = CanonicalInput {
        method: "GET",
        uri: canonical_uri(url.path()),
        query: String::new(),
        headers,
        payload_hash: EMPTY_SHA256,
    };
    let scope = Scope {
        date: &amz_date[..8],
        region,
        service: SERVICE,
    };
    let signed = sign(
        &request,
        creds.secret_access_key.expose(),
        &amz_date,
        &scope,
    );
    // `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=<sig>`: the
    // part before the signature names the key; the signature is what is cut out of errors.
    let prefix = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature=",
        creds.access_key_id,
        scope.string(),
        signed.signed_headers
    );
    let signature = Token::new(signed.signature);
    let mut call = Call::new(Method::GET, url)
        .header("host", &host)
        .header("x-amz-date", &amz_date)
        .header("x-amz-content-sha256", EMPTY_SHA256);
    if let Some(t) = &creds.session_token {
        call = call.credential("x-amz-security-token", "", t);
    }
    let call = call
        .credential("authorization", &prefix, &signature)
        .secret(creds.secret_access_key.expose())
        .advice(&codeless_advice)
        .read_only();
    let resp = http.send_raw(&call)?;
    if !resp.is_success() {
        return Err(s3_status_error(&call, &resp));
    }
    parse_list_buckets(&resp.text()).map_err(|detail| ClientError::Decode {
        what: format!("S3 ListBuckets answer from {endpoint}"),
        detail: format!(
            "{detail}: is this an S3 endpoint? ({})",
            http::excerpt(call.redact(&resp.text()).as_bytes(), &[])
        ),
    })
}

/// The S3 error code (`SignatureDoesNotMatch`, `InvalidAccessKeyId`, `AccessDenied`, …) of an
/// error [`list_buckets`] returned, when the server sent one.
pub fn s3_error_code(err: &ClientError) -> Option<String> {
    match err {
        ClientError::Status { advice, .. } => {
            let rest = advice.strip_prefix(CODE_PREFIX)?;
            let code = rest.split(':').next()?;
            is_code(code).then(|| code.to_string())
        }
        _ => None,
    }
}

/// True when the server refused the credential itself: an unknown key id, a wrong secret, an
/// expired or altered session token, a suspended user. False for everything that says nothing
/// about the credential — a refused permission (`AccessDenied`: the key authenticated), a
/// skewed clock, server errors, timeouts.
pub fn credential_rejected(err: &ClientError) -> bool {
    s3_error_code(err).is_some_and(|c| REJECTED.contains(&c.as_str()))
}

// ----------------------------------------------------------------------------- errors

/// Checks what goes into the signature and headers before anything is sent. Values are not
/// echoed: a "key id" that does not look like one may be a pasted secret.
fn check(region: &str, creds: &S3Credentials) -> Result<(), ClientError> {
    let word = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if !word(&creds.access_key_id) {
        return Err(ClientError::Invalid(
            "the S3 access key id must be one word of letters, digits, '-', '_' or '.'".into(),
        ));
    }
    if creds.secret_access_key.expose().is_empty() {
        return Err(ClientError::Invalid(
            "the S3 secret access key is empty".into(),
        ));
    }
    if let Some(t) = &creds.session_token
        && (t.expose().is_empty() || !t.expose().bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(ClientError::Invalid(
            "the S3 session token must be one word of printable ASCII".into(),
        ));
    }
    if !word(region) {
        return Err(ClientError::Invalid(format!(
            "region {:?}: one word such as {DEFAULT_REGION}",
            region.chars().take(40).collect::<String>()
        )));
    }
    Ok(())
}

/// Advice for an error answer that carries no S3 error code (a proxy's page, a `HEAD`).
fn codeless_advice(status: u16) -> Option<String> {
    match status {
        403 => Some(
            "the endpoint refused the request without an S3 error code: the credential may be \
             wrong or expired, or something in front of the S3 service refused it"
                .into(),
        ),
        404 | 405 => Some(
            "no S3 service answers ListBuckets (GET /) there: give the S3 endpoint itself \
             (https://host[:port]), not a bucket or console URL"
                .into(),
        ),
        _ => None,
    }
}

/// What an S3 error code means for the user.
fn code_advice(code: &str, status: u16) -> String {
    match code {
        "InvalidAccessKeyId" => "the access key id does not exist on this endpoint: the key was \
             deleted, never existed here, or belongs to another endpoint or cluster (temporary \
             STS keys vanish when they expire) — the credential is dead here"
            .into(),
        "SignatureDoesNotMatch" => "the access key id exists but the signature does not match: \
             the secret access key is wrong (mistyped, truncated, or from another key pair) — \
             or a proxy altered the request"
            .into(),
        "ExpiredToken" | "TokenRefreshRequired" => "the temporary credentials have expired: get \
             new ones from the STS that issued them"
            .into(),
        "InvalidToken" => "the session token is malformed, altered, or not the one issued with \
             this access key id"
            .into(),
        "UserSuspended" => "the user that owns this key is suspended (radosgw-admin user \
             suspend): the key is refused until the user is enabled again"
            .into(),
        "AccessDenied" => "the request was authenticated but ListBuckets is not allowed: a \
             user, role or bucket policy denies s3:ListAllMyBuckets — the credential itself \
             works"
            .into(),
        "RequestTimeTooSkewed" => "this machine's clock is more than 15 minutes off the \
             server's: fix the clock (the credential may be fine)"
            .into(),
        "AuthorizationHeaderMalformed" => "the server did not accept the signature's scope, \
             usually the region: sign for the region the endpoint expects"
            .into(),
        _ => http::generic_advice(status, None),
    }
}

/// A non-2xx answer as a [`ClientError::Status`]: the transport's error (body excerpt with the
/// request's secrets cut out, `Retry-After`), with the S3 code and its meaning as the advice.
fn s3_status_error(call: &Call<'_>, resp: &Response) -> ClientError {
    let err = http::status_error(call, resp);
    let Some(code) = error_code(&resp.text()) else {
        return err;
    };
    // The server's word, shown to a person: nothing of the request's secrets in it.
    let code = call.redact(&code);
    match err {
        ClientError::Status {
            method,
            endpoint,
            status,
            detail,
            retry_after,
            ..
        } => ClientError::Status {
            method,
            endpoint,
            status,
            advice: format!("{CODE_PREFIX}{code}: {}", code_advice(&code, status)),
            detail,
            retry_after,
        },
        other => other,
    }
}

/// An S3 error code is one word of letters and digits.
fn is_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The `<Code>` of an `<Error>` answer (S3 puts it at the top; IAM-style servers wrap it in
/// `<ErrorResponse>`).
fn error_code(xml: &str) -> Option<String> {
    let error = element(xml, "Error")?;
    let code = element(error, "Code")?.trim();
    is_code(code).then(|| code.to_string())
}

// ----------------------------------------------------------------------------- XML

/// The bucket names of a `ListAllMyBucketsResult`, or why the body is not one.
fn parse_list_buckets(xml: &str) -> Result<Vec<String>, String> {
    let result = element(xml, "ListAllMyBucketsResult")
        .ok_or_else(|| "no <ListAllMyBucketsResult> in the answer".to_string())?;
    // `<Buckets/>`, or no `<Buckets>` at all, is an account without buckets.
    let Some(buckets) = element(result, "Buckets") else {
        return Ok(Vec::new());
    };
    elements(buckets, "Bucket")
        .into_iter()
        .map(|b| {
            element(b, "Name")
                .map(|n| unescape(n.trim()))
                .filter(|n| !n.is_empty())
                .ok_or_else(|| "a <Bucket> without a <Name>".to_string())
        })
        .collect()
}

/// The content of the first `<tag>…</tag>` in `xml`.
fn element<'x>(xml: &'x str, tag: &str) -> Option<&'x str> {
    elements(xml, tag).into_iter().next()
}

/// The contents of every `<tag …>…</tag>` in `xml`, in order; `<tag/>` is empty content.
/// Plain scanning, enough for S3's flat, unprefixed answers: `<Buckets>` is not `<Bucket>`,
/// `<DisplayName>` is not `<Name>`, attributes and whitespace in the open tag are allowed.
fn elements<'x>(xml: &'x str, tag: &str) -> Vec<&'x str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(end) = after.find('>') else { break };
        let attrs = &after[..end];
        if !(attrs.is_empty() || attrs.starts_with(|c: char| c.is_whitespace() || c == '/')) {
            rest = after; // a longer name that starts with `tag`
            continue;
        }
        let body = &after[end + 1..];
        if attrs.ends_with('/') {
            out.push("");
            rest = body;
            continue;
        }
        let Some(stop) = body.find(&close) else { break };
        out.push(&body[..stop]);
        rest = &body[stop + close.len()..];
    }
    out
}

/// XML's five predefined entities and numeric character references.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let decoded = tail.find(';').and_then(|j| {
            let c = match &tail[1..j] {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                n => {
                    let n = n.strip_prefix('#')?;
                    let v = match n.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => n.parse().ok()?,
                    };
                    char::from_u32(v)?
                }
            };
            Some((c, j + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// ----------------------------------------------------------------------------- SigV4

/// `YYYYMMDDTHHMMSSZ` (UTC), the form of `x-amz-date`.
fn amz_date(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect()
}

/// The `Host` header as the client sends it: the port only when it is not the scheme's default.
fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// SigV4's canonical URI for S3: each segment decoded once and encoded with the RFC 3986
/// unreserved set (S3 does not double-encode).
fn canonical_uri(path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .map(|s| http::segment(&percent_encoding::percent_decode_str(s).decode_utf8_lossy()))
        .collect();
    let uri = segments.join("/");
    if uri.starts_with('/') {
        uri
    } else {
        format!("/{uri}")
    }
}

/// What is signed: a request in SigV4's terms.
struct CanonicalInput<'a> {
    method: &'a str,
    /// Already canonical ([`canonical_uri`]).
    uri: String,
    /// Already canonical (sorted, encoded); empty for ListBuckets.
    query: String,
    /// Every signed header, any case, any order.
    headers: Vec<(String, String)>,
    /// Hex SHA-256 of the body.
    payload_hash: &'a str,
}

impl CanonicalInput<'_> {
    /// The canonical request and its `SignedHeaders` list.
    fn canonical(&self) -> (String, String) {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
                (k.to_ascii_lowercase(), v)
            })
            .collect();
        headers.sort();
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed_headers = headers
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let request = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
            self.method, self.uri, self.query, self.payload_hash
        );
        (request, signed_headers)
    }
}

/// The credential scope: `date/region/service/aws4_request`.
struct Scope<'a> {
    /// `YYYYMMDD`.
    date: &'a str,
    region: &'a str,
    service: &'a str,
}

impl Scope<'_> {
    fn string(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// A computed signature and the headers it covers.
struct Signed {
    signed_headers: String,
    /// Hex HMAC-SHA256 of the string to sign.
    signature: String,
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(msg);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// The SigV4 signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
/// "aws4_request")`. It is derived from the secret, so it is wiped like one.
fn signing_key(secret: &str, scope: &Scope<'_>) -> Zeroizing<[u8; 32]> {
    let k_secret = Zeroizing::new(format!("AWS4{secret}"));
    let k_date = hmac_sha256(k_secret.as_bytes(), scope.date.as_bytes());
    let k_region = hmac_sha256(&*k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&*k_region, scope.service.as_bytes());
    hmac_sha256(&*k_service, b"aws4_request")
}

/// The string to sign for a canonical request.
fn string_to_sign(amz_date: &str, scope: &Scope<'_>, canonical_request: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        scope.string(),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// Signs `request` at `amz_date` for `scope` with `secret`.
fn sign(request: &CanonicalInput<'_>, secret: &str, amz_date: &str, scope: &Scope<'_>) -> Signed {
    let (canonical, signed_headers) = request.canonical();
    let to_sign = string_to_sign(amz_date, scope, &canonical);
    let key = signing_key(secret, scope);
    Signed {
        signed_headers,
        signature: hex::encode(*hmac_sha256(&*key, to_sign.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The secret of the AWS documentation's SigV4 examples (a published placeholder).
    const DOC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn doc_scope(service: &str) -> Scope<'_> {
        Scope {
            date: "20150830",
            region: "us-east-1",
            service,
        }
    }

    #[test]
    fn signing_key_matches_the_published_example() {
        // AWS General Reference, "Examples of how to derive a signing key for Signature
        // Version 4": secret above, 20150830, us-east-1, iam.
        let key = signing_key(DOC_SECRET, &doc_scope("iam"));
        assert_eq!(
            hex::encode(*key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn the_published_iam_request_signs_as_documented() {
        // The documentation's worked example: GET https://iam.amazonaws.com/?Action=ListUsers
        // &Version=2010-05-08 at 20150830T123600Z; its canonical request hashes to f536975d…
        // and its signature is 5d672d79… (also what botocore 1.44.5 produces).
        let req = CanonicalInput {
            method: "GET",
            uri: canonical_uri("/"),
            query: "Action=ListUsers&Version=2010-05-08".into(),
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                ),
                ("Host".into(), "iam.amazonaws.com".into()),
                ("X-Amz-Date".into(), "20150830T123600Z".into()),
            ],
            payload_hash: EMPTY_SHA256,
        };
        let scope = doc_scope("iam");
        let (canonical, signed_headers) = req.canonical();
        assert_eq!(signed_headers, "content-type;host;x-amz-date");
        assert_eq!(
            string_to_sign("20150830T123600Z", &scope, &canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n\
             f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(
            sign(&req, DOC_SECRET, "20150830T123600Z", &scope).signature,
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    fn list_buckets_request(host: &str, token: Option<&str>) -> CanonicalInput<'static> {
        let mut headers = vec![
            ("host".into(), host.to_string()),
            ("x-amz-content-sha256".into(), EMPTY_SHA256.into()),
            ("x-amz-date".into(), "20150830T123600Z".into()),
        ];
        if let Some(t) = token {
            headers.push(("x-amz-security-token".into(), t.to_string()));
        }
        CanonicalInput {
            method: "GET",
            uri: canonical_uri("/"),
            query: String::new(),
            headers,
            payload_hash: EMPTY_SHA256,
        }
    }

    #[test]
    fn s3_list_buckets_signatures_match_botocore() {
        // Cross-checked with botocore 1.44.5's S3SigV4Auth (the peer's venv), the clock pinned
        // to 2015-08-30T12:36:00Z: GET http://127.0.0.1:9500/ with a session token, and
        // GET https://rgw.example.org/ for region "default" without one.
        let s = sign(
            &list_buckets_request("127.0.0.1:9500", Some("FQoGZXIvYXdzEXAMPLETOKEN")),
            DOC_SECRET,
            "20150830T123600Z",
            &doc_scope("s3"),
        );
        assert_eq!(
            s.signed_headers,
            "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
        );
        assert_eq!(
            s.signature,
            "2955810774761e8f48f67bbcdde83ed76d58d1600d390454e1aed9711219ed39"
        );
        let scope = Scope {
            date: "20150830",
            region: "default",
            service: "s3",
        };
        let s = sign(
            &list_buckets_request("rgw.example.org", None),
            DOC_SECRET,
            "20150830T123600Z",
            &scope,
        );
        assert_eq!(s.signed_headers, "host;x-amz-content-sha256;x-amz-date");
        assert_eq!(
            s.signature,
            "a59d53907d7cc9c43a2a74749944bde7f0a284c8f15a95e2a70e702c23d3b2d6"
        );
        assert_eq!(
            hex::encode(Sha256::digest(b"")),
            EMPTY_SHA256,
            "the empty body's hash"
        );
    }

    #[test]
    fn dates_hosts_and_paths_are_canonical() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        assert_eq!(amz_date(t), "20150830T123600Z");
        let u = Url::parse("https://rgw.example.org:443/").unwrap();
        assert_eq!(host_header(&u), "rgw.example.org");
        let u = Url::parse("http://127.0.0.1:9500/").unwrap();
        assert_eq!(host_header(&u), "127.0.0.1:9500");
        let u = Url::parse("http://[::1]:8080/").unwrap();
        assert_eq!(host_header(&u), "[::1]:8080");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/s3/"), "/s3/");
        assert_eq!(canonical_uri("/a%20b/c:d/"), "/a%20b/c%3Ad/");
    }

    #[test]
    fn a_two_bucket_answer_parses() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
    <DisplayName>webfile</DisplayName></Owner>
  <Buckets>
    <Bucket><Name>test-bucket</Name><CreationDate>2006-02-03T16:45:09.000Z</CreationDate></Bucket>
    <Bucket>
      <CreationDate>2006-02-03T16:41:58.000Z</CreationDate>
      <Name> q&amp;a.data </Name>
    </Bucket>
  </Buckets>
</ListAllMyBucketsResult>"#;
        assert_eq!(
            parse_list_buckets(xml).unwrap(),
            vec!["test-bucket".to_string(), "q&a.data".to_string()]
        );
        let empty = r#"<ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets/></ListAllMyBucketsResult>"#;
        assert_eq!(parse_list_buckets(empty).unwrap(), Vec::<String>::new());
        assert!(parse_list_buckets("<html>login</html>").is_err());
        assert!(
            parse_list_buckets(
                "<ListAllMyBucketsResult><Buckets><Bucket><CreationDate>x</CreationDate>\
                 </Bucket></Buckets></ListAllMyBucketsResult>"
            )
            .is_err()
        );
        assert_eq!(unescape("a&#65;&#x42;&bogus;&lt;"), "aAB&bogus;<");
    }

    #[test]
    fn error_answers_give_their_code_and_advice() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>SignatureDoesNotMatch</Code>
  <Message>The request signature we calculated does not match the signature you provided.</Message>
  <AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><RequestId>4442587FB7D0A2F9</RequestId>
</Error>"#;
        assert_eq!(error_code(xml).as_deref(), Some("SignatureDoesNotMatch"));
        let iam_style =
            "<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>";
        assert_eq!(
            error_code(iam_style).as_deref(),
            Some("InvalidClientTokenId")
        );
        assert_eq!(error_code("<Code>NotInAnError</Code>"), None);
        assert_eq!(error_code("<Error><Code>two words</Code></Error>"), None);
        assert_eq!(error_code("Forbidden"), None);

        let err = |advice: String| ClientError::Status {
            method: "GET".into(),
            endpoint: "http://127.0.0.1:9500/".into(),
            status: 403,
            advice,
            detail: String::new(),
            retry_after: None,
        };
        for (code, rejected) in [
            ("InvalidAccessKeyId", true),
            ("SignatureDoesNotMatch", true),
            ("ExpiredToken", true),
            ("InvalidToken", true),
            ("AccessDenied", false),
            ("RequestTimeTooSkewed", false),
            ("SlowDown", false),
        ] {
            let e = err(format!("{CODE_PREFIX}{code}: {}", code_advice(code, 403)));
            assert_eq!(s3_error_code(&e).as_deref(), Some(code));
            assert_eq!(credential_rejected(&e), rejected, "{code}");
            assert!(e.to_string().contains(code), "{e}");
        }
        let generic = err(codeless_advice(403).unwrap());
        assert_eq!(s3_error_code(&generic), None);
        assert!(!credential_rejected(&generic));
        assert!(code_advice("InvalidAccessKeyId", 403).contains("does not exist"));
        assert!(code_advice("SignatureDoesNotMatch", 403).contains("secret access key is wrong"));
        assert!(code_advice("ExpiredToken", 400).contains("expired"));
    }

    #[test]
    fn bad_inputs_are_refused_without_echoing_them() {
        let creds = |id: &str, secret: &str, token: Option<&str>| S3Credentials {
            access_key_id: id.into(),
            secret_access_key: Token::new(secret),
            session_token: token.map(Token::new),
        };
        let pasted = "notakeyid/butsomething+secret=";
        let e = check("us-east-1", &creds(pasted, "s", None)).unwrap_err();
        assert!(!e.to_string().contains(pasted), "{e}");
        assert!(check("us-east-1", &creds("AKIDEXAMPLE", "", None)).is_err());
        assert!(check("us-east-1", &creds("AKIDEXAMPLE", "s", Some("a b"))).is_err());
        assert!(check("us east", &creds("AKIDEXAMPLE", "s", None)).is_err());
        assert!(check("default", &creds("AKIDEXAMPLE", "s", Some("tok+/="))).is_ok());
        let c = creds("AKIDEXAMPLE", "topsecretvalue", Some("sessiontokenvalue"));
        let d = format!("{c:?}");
        assert!(
            !d.contains("topsecretvalue") && !d.contains("sessiontokenvalue"),
            "{d}"
        );
    }
}
