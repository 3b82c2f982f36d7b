//! The one HTTP transport every facility client goes through, and what it refuses to do.
//!
//! Rule 3 of the house: a token goes only to the facility that issued it, over HTTPS. Here that
//! means: an [`Endpoint`] is `https://…`, or plain `http://` on a loopback address (test
//! servers); redirects are never followed (a redirect could carry an `Authorization` or
//! `X-SLURM-USER-TOKEN` header to another host — reqwest strips only the former); credential
//! headers are marked sensitive; and error messages quote response bodies only after the
//! request's own secrets are cut out of them.
//!
//! Rule 4's other half lives here too: reads are retried with backoff on timeouts, refused
//! connections, 429 and 502/503/504; a mutation is retried only when the server provably did
//! not act on it (429, or a connection that never opened). A 429's `Retry-After` is honoured.

mod redact;
#[cfg(test)]
mod tests;

pub use redact::*;

use crate::facilities::credential::Token;
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;
use url::Url;

/// What went wrong talking to a facility, phrased as what the user should do.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A base URL that is not HTTPS (and not loopback).
    #[error(
        "{0}: only https:// URLs are allowed (plain http:// only on 127.0.0.1, ::1 or localhost, \
         for test servers): a token sent over plain HTTP can be read on the way"
    )]
    Insecure(String),
    /// A URL that does not parse or cannot be a base.
    #[error("invalid URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// No answer: timeout, refused connection, TLS failure.
    #[error("{method} {endpoint}: {kind}: {detail}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Where (no query string).
        endpoint: String,
        /// `timed out`, `connection failed` or `request failed`.
        kind: &'static str,
        /// The transport's own message.
        detail: String,
    },
    /// An answer that is an error.
    #[error("{method} {endpoint}: HTTP {status}: {advice}{}", detail_suffix(.detail))]
    Status {
        /// HTTP method.
        method: String,
        /// Where (no query string).
        endpoint: String,
        /// The status code.
        status: u16,
        /// What the user should do.
        advice: String,
        /// An excerpt of the body, redacted.
        detail: String,
        /// Seconds the server asked to wait (429, 503).
        retry_after: Option<u64>,
    },
    /// The server answered with a redirect, which is not followed.
    #[error(
        "{method} {endpoint}: the server redirects to {location}; tokenwarden does not follow \
         redirects, so a credential is never sent to a host you did not name — use that URL \
         as the base URL if you trust it"
    )]
    Redirect {
        /// HTTP method.
        method: String,
        /// Where.
        endpoint: String,
        /// The `Location` header.
        location: String,
    },
    /// A body that does not have the documented shape.
    #[error("{what}: unexpected response: {detail}")]
    Decode {
        /// What was being read.
        what: String,
        /// Why it did not parse (redacted).
        detail: String,
    },
    /// The credential could not be had.
    #[error(transparent)]
    Credential(#[from] crate::facilities::credential::CredentialError),
    /// Something the user asked for cannot be done as asked.
    #[error("{0}")]
    Invalid(String),
    /// A wait (`--wait`) that ran out.
    #[error("{what} did not finish within {secs} s (it may still finish; check again later)")]
    WaitTimeout {
        /// What was waited on.
        what: String,
        /// How long.
        secs: u64,
    },
    /// The API answered 2xx but reported that it did not do what was asked (slurmrestd puts
    /// errors in the body's `errors[]`).
    #[error("{what}: {detail}")]
    Rejected {
        /// What was asked.
        what: String,
        /// What the API said, redacted.
        detail: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" (server said: {detail})")
    }
}

impl ClientError {
    /// The HTTP status, when the server answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A base URL a credential may be sent to.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint(Url);

impl Endpoint {
    /// Parses and checks a base URL: HTTPS, or HTTP on loopback; no credentials, query or
    /// fragment in it. A trailing slash is implied.
    pub fn parse(s: &str) -> Result<Endpoint, ClientError> {
        let mut url = Url::parse(s.trim()).map_err(|e| ClientError::BadUrl {
            url: s.to_string(),
            reason: e.to_string(),
        })?;
        let bad = |reason: &str| ClientError::BadUrl {
            url: url_for_message(s),
            reason: reason.to_string(),
        };
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(bad("not an http(s) base URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials in a URL end up in logs and process lists; give them with \
                 --token-from",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a base URL has no query or fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err(ClientError::Insecure(url_for_message(s))),
            _ => return Err(bad("the scheme must be https")),
        }
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        Ok(Endpoint(url))
    }

    /// The URL of `path` under this base (`path` may start with `/`; the base's own path is
    /// kept, so `https://h/api/v1` + `/task/1` is `https://h/api/v1/task/1`). Each segment of
    /// `path` is taken as written: callers percent-encode ids with [`segment`].
    pub fn join(&self, path: &str) -> Url {
        let mut url = self.0.clone();
        let base = url.path().trim_end_matches('/').to_string();
        let rel = path.trim_start_matches('/');
        url.set_path(&format!("{base}/{rel}"));
        url
    }

    /// The base URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The host name.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// True when the base is on this machine (plain HTTP allowed).
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.0)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str().trim_end_matches('/'))
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

/// Percent-encodes one path segment (a job id, a resource name, a file name).
pub fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn url_for_message(s: &str) -> String {
    // A user may paste a URL with a token in its query or user-info: show only its shape.
    match Url::parse(s.trim()) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => s.chars().take(60).collect(),
    }
}

/// Timeouts and retry policy.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Retries after the first attempt (reads; and mutations the server did not act on).
    pub retries: u32,
    /// First backoff; doubled each retry, capped at 8 s.
    pub backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one fails at once, saying when to retry.
    pub max_retry_after: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// An `application/x-www-form-urlencoded` body (OAuth); the values are held zeroized.
pub fn form(fields: &[(&str, &str)]) -> Body {
    Body::Form(
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), zeroize::Zeroizing::new(v.to_string())))
            .collect(),
    )
}

/// A request body.
pub enum Body {
    /// None.
    Empty,
    /// JSON.
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded` (OAuth); values may be secrets.
    Form(Vec<(String, zeroize::Zeroizing<String>)>),
    /// A multipart upload of one file field.
    File {
        /// The form field name.
        field: String,
        /// The file name sent.
        file_name: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// One request: method, URL, headers, body, and the secrets it carries (cut out of any error
/// text built from the answer).
pub struct Call<'a> {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Body,
    secrets: Vec<&'a str>,
    advice: Option<&'a dyn Fn(u16) -> Option<String>>,
    read_only: bool,
}

impl<'a> Call<'a> {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: Url) -> Call<'a> {
        Call {
            method,
            url,
            headers: HeaderMap::new(),
            body: Body::Empty,
            secrets: Vec::new(),
            advice: None,
            read_only: false,
        }
    }

    /// Adds a header that is not secret.
    pub fn header(mut self, name: &'static str, value: &str) -> Call<'a> {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(HeaderName::from_static(name), v);
        }
        self
    }

    /// Adds a header that carries a credential: marked sensitive, and the credential is cut
    /// out of error messages. `prefix` is the scheme word with its space (`"Bearer "`), or `""`.
    pub fn credential(mut self, name: &'static str, prefix: &str, token: &'a Token) -> Call<'a> {
        if let Ok(mut v) = HeaderValue::from_str(&format!("{prefix}{}", token.expose())) {
            v.set_sensitive(true);
            self.headers.insert(HeaderName::from_static(name), v);
        }
        self.secrets.push(token.expose());
        self
    }

    /// Declares a secret carried some other way (a form field), to be cut out of errors.
    pub fn secret(mut self, s: &'a str) -> Call<'a> {
        if !s.is_empty() {
            self.secrets.push(s);
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Body) -> Call<'a> {
        self.body = body;
        self
    }

    /// Sets a JSON body.
    pub fn json(self, value: serde_json::Value) -> Call<'a> {
        self.body(Body::Json(value))
    }

    /// Facility-specific advice for error statuses (falls back to the generic advice).
    pub fn advice(mut self, f: &'a dyn Fn(u16) -> Option<String>) -> Call<'a> {
        self.advice = Some(f);
        self
    }

    /// Declares a call that changes nothing although its method is not GET (IRI's `getJobs` is
    /// a POST whose body is a filter), so that it is retried as reads are.
    pub fn read_only(mut self) -> Call<'a> {
        self.read_only = true;
        self
    }

    /// `text` with this request's secrets cut out (for messages built from an answer).
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.secrets)
    }

    fn is_read(&self) -> bool {
        self.read_only || matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS)
    }

    fn endpoint(&self) -> String {
        let mut u = self.url.clone();
        u.set_query(None);
        u.to_string()
    }
}

/// An answer, read whole, with the secrets its request carried (so that nothing built from it
/// for a human can quote them back: an issuer may echo the token it was sent).
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    secrets: Vec<zeroize::Zeroizing<String>>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body", &self.excerpt())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// Parses the body as JSON; the error quotes the body only with the request's secrets cut
    /// out.
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::Decode {
            what: what.to_string(),
            detail: format!("{}: {}", crate::untrusted::json_error(&e), self.excerpt()),
        })
    }

    /// Parses the body as JSON and cuts the request's secrets out of every string in it (keys
    /// too). For data APIs (Slurm, IRI), whose answers are shown to people and never rightly
    /// hold the credential that asked; not for token endpoints, whose answers are credentials.
    pub fn json_shown(&self, what: &str) -> Result<serde_json::Value, ClientError> {
        let mut v: serde_json::Value = self.json(what)?;
        redact_json(&mut v, &self.secret_refs());
        Ok(v)
    }

    /// At most 300 characters of the body, on one line, with the request's secrets cut out.
    pub fn excerpt(&self) -> String {
        excerpt(&self.body, &self.secret_refs())
    }

    /// `text` (built from this answer) with the request's secrets cut out.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.secret_refs())
    }

    fn secret_refs(&self) -> Vec<&str> {
        self.secrets.iter().map(|s| s.as_str()).collect()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The HTTP client every facility module uses.
#[derive(Clone)]
pub struct Http {
    /// For HTTPS to other hosts: honours `https_proxy`/`ALL_PROXY`, which then only relay an
    /// encrypted tunnel (CONNECT) and never see a header.
    client: Client,
    /// For plain HTTP (loopback only, see [`Endpoint`]) and loopback HTTPS: never through a
    /// proxy. A plain-HTTP request sent to a proxy hands it the `Authorization` header in
    /// clear, and a proxy cannot reach this machine's loopback (an SSH tunnel) anyway.
    direct: Client,
    opts: HttpOptions,
}

impl Http {
    /// A client with these options: redirects never followed, the timeouts set, rustls for TLS.
    pub fn new(opts: HttpOptions) -> Result<Http, ClientError> {
        let builder = || {
            Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(opts.timeout)
                .connect_timeout(opts.connect_timeout)
                .user_agent(concat!("tokenwarden/", env!("CARGO_PKG_VERSION")))
                .https_only(false) // enforced per Endpoint: loopback HTTP is allowed for tests
        };
        let built = |b: reqwest::blocking::ClientBuilder| {
            b.build()
                .map_err(|e| ClientError::Invalid(format!("cannot build the HTTP client: {e}")))
        };
        Ok(Http {
            client: built(builder())?,
            direct: built(builder().no_proxy())?,
            opts,
        })
    }

    /// The client for `url`: the direct one unless it is HTTPS to another machine.
    fn client_for(&self, url: &Url) -> &Client {
        if url.scheme() == "https" && !is_loopback(url) {
            &self.client
        } else {
            &self.direct
        }
    }

    /// The options in force.
    pub fn options(&self) -> &HttpOptions {
        &self.opts
    }

    /// Sends the request (retrying as the policy allows) and returns the answer whatever its
    /// status, but for redirects, which are errors.
    pub fn send_raw(&self, call: &Call<'_>) -> Result<Response, ClientError> {
        let mut attempt = 0u32;
        loop {
            let outcome = self.attempt(call);
            let delay = match &outcome {
                Ok(resp) => self.retry_delay_for_status(call, resp, attempt)?,
                Err(err) => self.retry_delay_for_error(call, err, attempt),
            };
            match delay {
                Some(d) if attempt < self.opts.retries => {
                    std::thread::sleep(d);
                    attempt += 1;
                }
                _ => {
                    let resp = outcome.map_err(|e| transport_error(call, &e))?;
                    if (300..400).contains(&resp.status) && resp.status != 304 {
                        let location = resp
                            .headers
                            .get(reqwest::header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .map(|l| call.redact(&crate::text::printable(&url_for_message(l))))
                            .unwrap_or_else(|| "an unnamed place".into());
                        return Err(ClientError::Redirect {
                            method: call.method.to_string(),
                            endpoint: call.endpoint(),
                            location,
                        });
                    }
                    return Ok(resp);
                }
            }
        }
    }

    /// Sends the request and turns any non-2xx answer into a [`ClientError::Status`].
    pub fn send(&self, call: &Call<'_>) -> Result<Response, ClientError> {
        let resp = self.send_raw(call)?;
        if resp.is_success() {
            Ok(resp)
        } else {
            Err(status_error(call, &resp))
        }
    }

    fn attempt(&self, call: &Call<'_>) -> Result<Response, reqwest::Error> {
        let mut req = self
            .client_for(&call.url)
            .request(call.method.clone(), call.url.clone())
            .headers(call.headers.clone());
        req = match &call.body {
            Body::Empty => req,
            Body::Json(v) => req.json(v),
            Body::Form(fields) => {
                let pairs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                req.form(&pairs)
            }
            Body::File {
                field,
                file_name,
                bytes,
            } => {
                let part = reqwest::blocking::multipart::Part::bytes(bytes.clone())
                    .file_name(file_name.clone());
                req.multipart(reqwest::blocking::multipart::Form::new().part(field.clone(), part))
            }
        };
        let resp = req.send()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes()?.to_vec();
        Ok(Response {
            status,
            headers,
            body,
            secrets: call
                .secrets
                .iter()
                .map(|s| zeroize::Zeroizing::new(s.to_string()))
                .collect(),
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let d = self.opts.backoff.saturating_mul(1u32 << attempt.min(5));
        d.min(Duration::from_secs(8))
    }

    fn retry_delay_for_status(
        &self,
        call: &Call<'_>,
        resp: &Response,
        attempt: u32,
    ) -> Result<Option<Duration>, ClientError> {
        let status = resp.status;
        let retry_after = retry_after(&resp.headers);
        let retryable = match status {
            429 => true,
            502..=504 => call.is_read(),
            _ => false,
        };
        if !retryable || attempt >= self.opts.retries {
            return Ok(None);
        }
        match retry_after {
            Some(s) if Duration::from_secs(s) > self.opts.max_retry_after => {
                // Waiting that long silently would look like a hang: say when instead.
                Err(status_error(call, resp))
            }
            Some(s) => Ok(Some(Duration::from_secs(s))),
            None => Ok(Some(self.backoff(attempt))),
        }
    }

    fn retry_delay_for_error(
        &self,
        call: &Call<'_>,
        err: &reqwest::Error,
        attempt: u32,
    ) -> Option<Duration> {
        // A refused connection never reached the server, so even a mutation may be retried;
        // a timeout may have reached it, so only a read is.
        let safe = err.is_connect() || call.is_read();
        (safe && (err.is_connect() || err.is_timeout() || err.is_request()))
            .then(|| self.backoff(attempt))
    }
}

fn retry_after(headers: &HeaderMap) -> Option<u64> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let when = httpdate_parse(v)?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

fn httpdate_parse(v: &str) -> Option<std::time::SystemTime> {
    humantime::parse_rfc3339_weak(v).ok().or_else(|| {
        // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
        let parts: Vec<&str> = v.split_whitespace().collect();
        if parts.len() != 6 {
            return None;
        }
        let month = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .iter()
        .position(|m| *m == parts[2])?
            + 1;
        let s = format!("{}-{month:02}-{:0>2}T{}Z", parts[3], parts[1], parts[4]);
        humantime::parse_rfc3339(&s).ok()
    })
}

fn transport_error(call: &Call<'_>, e: &reqwest::Error) -> ClientError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    if !call.is_read() && !e.is_connect() {
        // The connection was open: a revocation or submission may have been carried out with
        // only its answer lost. Saying "failed" alone would send the user to do it again by hand.
        detail.push_str(
            " (the request may have reached the server: whether it took effect is unknown until \
             checked again)",
        );
    }
    ClientError::Transport {
        method: call.method.to_string(),
        endpoint: call.endpoint(),
        kind,
        detail: redact(&detail, &call.secrets),
    }
}

/// Builds the error for a non-2xx answer.
pub fn status_error(call: &Call<'_>, resp: &Response) -> ClientError {
    let advice = call
        .advice
        .and_then(|f| f(resp.status))
        .unwrap_or_else(|| generic_advice(resp.status, retry_after(&resp.headers)));
    ClientError::Status {
        method: call.method.to_string(),
        endpoint: call.endpoint(),
        status: resp.status,
        advice,
        detail: excerpt(&resp.body, &call.secrets),
        retry_after: retry_after(&resp.headers),
    }
}

/// What a status code means for the user, when the facility client has nothing better.
pub fn generic_advice(status: u16, retry_after: Option<u64>) -> String {
    match status {
        400 | 422 => "the server rejected the request as malformed".into(),
        401 => "the credential was not accepted: it is expired, revoked or mistyped — get a new \
                one"
        .into(),
        403 => "the credential is valid but not allowed to do this: a missing scope or \
                permission, or the wrong project, account or enclave"
            .into(),
        404 => "not found: check the id, the path, the API version and the base URL".into(),
        405 => "this server does not offer that operation".into(),
        409 => "conflict: the object is not in a state that allows this".into(),
        429 => match retry_after {
            Some(s) => format!("rate limited by the facility: retry after {s} s"),
            None => "rate limited by the facility: wait and retry".into(),
        },
        500..=599 => format!(
            "the facility's server failed (HTTP {status}); try again later, and tell the \
             facility if it persists"
        ),
        _ => StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("unexpected answer")
            .to_string(),
    }
}
