//! A client for slurmrestd (any site) and for the Clemson Palmetto API, which is slurmrestd
//! behind a gateway that adds its own authentication.
//!
//! Versions v0.0.36–v0.0.45 and `latest` are spoken; the payloads differ across them and the
//! client writes the shape each version wants (v0.0.38 and older: the script beside the job and
//! the environment as an object; v0.0.39 and newer: the script inside the job, the environment
//! as a list, numbers as `{set, infinite, number}`).
//!
//! Four ways to authenticate, with the hygiene each needs:
//! - **Slurm JWT** (`scontrol token`): sent as `X-SLURM-USER-TOKEN` with the user name from the
//!   token's own `sun` claim (Slurm 22.05 requires the name); an expired token is refused here,
//!   before it leaves the machine.
//! - **user + token header pair** (`X-SLURM-USER-NAME` + `X-SLURM-USER-TOKEN`), for any token.
//! - **bearer** (`Authorization: Bearer …`): Palmetto API keys; slurmrestd's `bearerAuth`.
//! - **MUNGE** (Palmetto only): `munge -n -t 5` is run for every request and its credential sent
//!   as `Authorization: MUNGE …`. A stock slurmrestd logs any `Authorization` header that is not
//!   `Bearer …` in full (FACILITIES.md §0.10), so MUNGE over HTTP is refused for it.

mod api;
mod job;

pub use api::*;
pub use job::*;

use crate::facilities::credential::Token;
use crate::facilities::http::{Call, ClientError, Endpoint, Http, excerpt};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The Palmetto API's public address.
pub const PALMETTO_URL: &str = "https://api.palmetto.clemson.edu";

/// The oldest and newest REST API versions this client speaks.
pub const VERSIONS: std::ops::RangeInclusive<u8> = 36..=45;

/// The REST API version in paths: `v0.0.<minor>`, or `latest` (Palmetto's alias; for a stock
/// slurmrestd the client asks the daemon which versions it serves).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    /// `v0.0.<minor>`.
    V(u8),
    /// `latest`.
    Latest,
}

impl std::str::FromStr for ApiVersion {
    type Err = ClientError;
    fn from_str(s: &str) -> Result<Self, ClientError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("latest") {
            return Ok(ApiVersion::Latest);
        }
        let digits = t
            .strip_prefix("v0.0.")
            .or_else(|| t.strip_prefix("0.0."))
            .unwrap_or(t);
        match digits.parse::<u8>() {
            Ok(n) if VERSIONS.contains(&n) => Ok(ApiVersion::V(n)),
            _ => Err(ClientError::Invalid(format!(
                "{s:?} is not a slurmrestd API version this client speaks (v0.0.{}–v0.0.{} or \
                 latest)",
                VERSIONS.start(),
                VERSIONS.end()
            ))),
        }
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiVersion::V(n) => write!(f, "v0.0.{n}"),
            ApiVersion::Latest => f.write_str("latest"),
        }
    }
}

impl ApiVersion {
    /// The minor number whose payload shapes to use (`latest` speaks the newest).
    fn shape(self) -> u8 {
        match self {
            ApiVersion::V(n) => n,
            ApiVersion::Latest => *VERSIONS.end(),
        }
    }
}

/// Which server is on the other end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gateway {
    /// A stock slurmrestd.
    Slurmrestd,
    /// The Clemson Palmetto API (slurmrestd behind RCD's gateway).
    Palmetto,
}

/// How requests are authenticated.
#[derive(Clone, Debug)]
pub enum Auth {
    /// A Slurm JWT; the user name comes from its `sun` claim unless given.
    Jwt {
        /// The token.
        token: Token,
        /// The user name sent beside it.
        user: String,
    },
    /// `X-SLURM-USER-NAME` + `X-SLURM-USER-TOKEN`.
    UserToken {
        /// The user name.
        user: String,
        /// The token.
        token: Token,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Token),
    /// `Authorization: MUNGE <credential>`, a fresh credential from `munge -n -t 5` per request.
    Munge(Munge),
}

/// How to run `munge`.
#[derive(Clone, Debug)]
pub struct Munge {
    /// The `munge` program.
    pub program: PathBuf,
    /// munged's socket (`-S`), when not the default.
    pub socket: Option<PathBuf>,
}

impl Default for Munge {
    fn default() -> Self {
        Munge {
            program: PathBuf::from("munge"),
            socket: None,
        }
    }
}

impl Munge {
    /// A fresh credential that lives 5 seconds (Palmetto refuses longer ones; a short life is
    /// what makes a leaked one harmless). Nothing secret goes into munge's argv: the
    /// credential is its output.
    pub fn credential(&self) -> Result<Token, ClientError> {
        let mut cmd = Command::new(&self.program);
        cmd.args(["-n", "-t", "5"]);
        if let Some(s) = &self.socket {
            cmd.arg("-S").arg(s);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            ClientError::Invalid(format!(
                "cannot run {}: {e} (MUNGE authentication needs the munge client, as on a \
                 cluster node; elsewhere use a bearer token)",
                self.program.display()
            ))
        })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(ClientError::Invalid(
                        "munge did not answer within 10 s: is munged running?".into(),
                    ));
                }
                Err(e) => return Err(ClientError::Invalid(format!("munge: {e}"))),
            }
        };
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_string(&mut out);
        }
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let out = zeroize::Zeroizing::new(out);
        let cred = out.trim();
        if !status.success() || !cred.starts_with("MUNGE:") {
            return Err(ClientError::Invalid(format!(
                "munge failed ({status}): {}",
                err.trim()
            )));
        }
        Ok(Token::new(cred))
    }
}

/// The claims of a Slurm JWT that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwtClaims {
    /// `sun` (or `username`).
    pub user: Option<String>,
    /// `exp`, seconds since the epoch.
    pub exp: Option<i64>,
}

/// Decodes a JWT's payload (no signature check: only the cluster can do that).
pub fn jwt_claims(token: &Token) -> Option<JwtClaims> {
    let payload = token.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    Some(JwtClaims {
        user: v
            .get("sun")
            .or_else(|| v.get("username"))
            .and_then(Value::as_str)
            .map(str::to_string),
        exp: v.get("exp").and_then(Value::as_i64),
    })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Auth {
    /// A Slurm JWT: refuses one that has expired (it would only be rejected, and sending it
    /// anywhere gains nothing), and takes the user name from `sun` unless `user` is given.
    pub fn jwt(token: Token, user: Option<String>) -> Result<Auth, ClientError> {
        let claims = jwt_claims(&token).ok_or_else(|| {
            ClientError::Invalid(format!(
                "the Slurm token {} is not a JWT (expected what `scontrol token` prints)",
                token.preview()
            ))
        })?;
        if let Some(exp) = claims.exp
            && exp <= now()
        {
            return Err(ClientError::Invalid(format!(
                "the Slurm token expired {} ago; get a new one with `scontrol token` (it is not \
                 sent)",
                humantime::format_duration(Duration::from_secs((now() - exp) as u64))
            )));
        }
        let user = user.or(claims.user).ok_or_else(|| {
            ClientError::Invalid(
                "the Slurm token names no user (`sun`): give one with --user".into(),
            )
        })?;
        Ok(Auth::Jwt { token, user })
    }
}

/// A slurmrestd (or Palmetto) client.
pub struct SlurmClient {
    http: Http,
    base: Endpoint,
    version: ApiVersion,
    gateway: Gateway,
    auth: Auth,
}

impl SlurmClient {
    /// A client; refuses MUNGE over HTTP to a stock slurmrestd (it would log the credential).
    pub fn new(
        http: Http,
        base: Endpoint,
        version: ApiVersion,
        gateway: Gateway,
        auth: Auth,
    ) -> Result<SlurmClient, ClientError> {
        if gateway == Gateway::Slurmrestd && matches!(auth, Auth::Munge(_)) {
            return Err(ClientError::Invalid(
                "MUNGE credentials over HTTP are a Palmetto gateway feature: a stock slurmrestd \
                 logs an `Authorization` header that is not `Bearer …` in full. Use \
                 `tokenwarden palmetto`, or a Slurm JWT (--auth jwt)"
                    .into(),
            ));
        }
        Ok(SlurmClient {
            http,
            base,
            version,
            gateway,
            auth,
        })
    }

    /// The API version in use (after [`SlurmClient::resolve_latest`], a fixed one).
    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// For a stock slurmrestd, `latest` means the newest version the daemon serves (it has
    /// no alias): asks it. Palmetto has the alias and keeps it.
    pub fn resolve_latest(&mut self) -> Result<(), ClientError> {
        if self.version == ApiVersion::Latest && self.gateway == Gateway::Slurmrestd {
            let served = self.versions()?;
            let newest = served
                .iter()
                .filter_map(|v| v.parse::<ApiVersion>().ok())
                .filter_map(|v| match v {
                    ApiVersion::V(n) => Some(n),
                    ApiVersion::Latest => None,
                })
                .max()
                .ok_or_else(|| {
                    ClientError::Invalid(format!(
                        "{} serves no slurmrestd API version this client speaks ({})",
                        self.base,
                        served.join(", ")
                    ))
                })?;
            self.version = ApiVersion::V(newest);
        }
        Ok(())
    }

    fn advice(&self) -> impl Fn(u16) -> Option<String> + use<> {
        let gateway = self.gateway;
        let jwt = matches!(self.auth, Auth::Jwt { .. } | Auth::UserToken { .. });
        move |status| match status {
            401 => Some(match gateway {
                Gateway::Palmetto => "the Palmetto API did not accept the credential: a MUNGE \
                                      credential must be made on a Palmetto node and used within \
                                      5 s; a bearer token may be expired or revoked (ask RCD)"
                    .into(),
                Gateway::Slurmrestd => "slurmrestd accepted no credential: check --auth, the \
                                        user name and the token"
                    .into(),
            }),
            403 => Some(match gateway {
                Gateway::Palmetto => "the credential lacks the scope for this (`slurm:read` to \
                                      read, `slurm:jobs:manage` to submit or cancel) or this is \
                                      not your job or partition"
                    .into(),
                Gateway::Slurmrestd => "Slurm refused: not your job, or an account, partition \
                                        or QOS you may not use"
                    .into(),
            }),
            400 if gateway == Gateway::Palmetto => Some(
                "the Palmetto API refused the request; an unsupported API version is answered \
                 400 (see `tokenwarden palmetto versions`)"
                    .into(),
            ),
            500 if jwt => Some(
                "slurmrestd failed; Slurm 22.05 also answers 500 to an expired or invalid token \
                 — get a new one with `scontrol token`"
                    .into(),
            ),
            511 => Some(
                "slurmctld refused the authentication: the token is expired, or not signed with \
                 this cluster's key — get a new one with `scontrol token`"
                    .into(),
            ),
            _ => None,
        }
    }

    fn url(&self, family: &str, rest: &str) -> url::Url {
        self.base.join(&format!("{family}/{}/{rest}", self.version))
    }

    fn call(
        &self,
        method: Method,
        url: url::Url,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        // A MUNGE credential lives 5 s and munged refuses to decode one twice, so a retry could
        // only resend a spent credential: MUNGE requests are sent once, each with its own.
        let munge_token;
        let advice = self.advice();
        let mut call = Call::new(method.clone(), url.clone()).advice(&advice);
        call = match &self.auth {
            Auth::Jwt { token, user } | Auth::UserToken { user, token } => call
                .header("x-slurm-user-name", user)
                .credential("x-slurm-user-token", "", token),
            Auth::Bearer(token) => call.credential("authorization", "Bearer ", token),
            Auth::Munge(m) => {
                munge_token = m.credential()?;
                call.credential("authorization", "MUNGE ", &munge_token)
            }
        };
        if let Some(b) = body {
            call = call.json(b);
        }
        // A MUNGE request is sent once (see above); the others retry as the transport allows.
        let resp = if matches!(self.auth, Auth::Munge(_)) {
            let once = Http::new(crate::facilities::HttpOptions {
                retries: 0,
                ..self.http.options().clone()
            })?;
            once.send_raw(&call)?
        } else {
            self.http.send_raw(&call)?
        };
        if !resp.is_success() {
            let mut err = crate::facilities::http::status_error(&call, &resp);
            // slurmrestd explains itself in `errors[]`: that beats a JSON excerpt, and it beats
            // a guess. A 500 that says "Invalid job id specified" is about the job, not the
            // token, so the token is blamed only when the server's own words do not say more.
            if let ClientError::Status {
                detail,
                advice,
                status,
                ..
            } = &mut err
                && let Ok(body) = serde_json::from_slice::<Value>(&resp.body)
            {
                let msgs = error_messages(&body);
                if !msgs.is_empty() {
                    *detail = call.redact(&msgs.join("; "));
                    // Slurm 22.05 answers a forged token with 500 "Unspecified error: Failed
                    // while looking for jobs", so only an answer that names the input it
                    // refused ("Invalid job id specified", "Invalid partition name specified")
                    // clears the token.
                    let names_the_input = msgs.iter().any(|m| {
                        let l = m.to_ascii_lowercase();
                        m.contains("Invalid ")
                            && !["auth", "token", "jwt", "credential", "munge"]
                                .iter()
                                .any(|w| l.contains(w))
                    });
                    if *status == 500 && names_the_input {
                        *advice = "slurmrestd reported an error (below)".into();
                    }
                }
            }
            return Err(err);
        }
        let value: Value = if resp.body.is_empty() {
            json!({})
        } else {
            resp.json_shown(&format!("{method} {}", url.path()))?
        };
        check_errors(&value, &format!("{method} {}", url.path())).map_err(|e| match e {
            ClientError::Rejected { what, detail } => ClientError::Rejected {
                what,
                detail: call.redact(&detail),
            },
            other => other,
        })?;
        Ok(value)
    }

    /// `GET /slurm/<v>/ping/`. A daemon that cannot reach slurmctld (or, on 24.11, a token it
    /// refuses) answers 200 with `pinged: DOWN`; that is an error here.
    pub fn ping(&self) -> Result<Value, ClientError> {
        let v = self.call(Method::GET, self.url("slurm", "ping/"), None)?;
        let down: Vec<String> = v
            .get("pings")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|p| {
                        p.get("pinged").and_then(Value::as_str) != Some("UP")
                            && p.get("ping").and_then(Value::as_str) != Some("UP")
                    })
                    .map(|p| {
                        p.get("hostname")
                            .and_then(Value::as_str)
                            .unwrap_or("?")
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !down.is_empty() {
            return Err(ClientError::Rejected {
                what: "ping".into(),
                detail: format!(
                    "slurmctld on {} is DOWN as seen by slurmrestd (Slurm 24.11 also says so \
                     when the token is refused)",
                    down.join(", ")
                ),
            });
        }
        Ok(v)
    }

    /// `GET /slurm/<v>/diag/`.
    pub fn diag(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, self.url("slurm", "diag/"), None)
    }

    /// `GET /slurm/<v>/jobs/`.
    pub fn jobs(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, self.url("slurm", "jobs/"), None)
    }

    /// `GET /slurm/<v>/job/<id>`: the job record.
    pub fn job(&self, id: u64) -> Result<Value, ClientError> {
        let v = self.call(Method::GET, self.url("slurm", &format!("job/{id}")), None)?;
        v.get("jobs")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned()
            .ok_or_else(|| ClientError::Rejected {
                what: format!("job {id}"),
                detail: "no such job".into(),
            })
    }

    /// `GET /slurm/<v>/nodes/`.
    pub fn nodes(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, self.url("slurm", "nodes/"), None)
    }

    /// `GET /slurm/<v>/partitions/`.
    pub fn partitions(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, self.url("slurm", "partitions/"), None)
    }

    /// `GET /slurm/<v>/reservations/`.
    pub fn reservations(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, self.url("slurm", "reservations/"), None)
    }

    /// `POST /slurm/<v>/job/submit`: returns the job id and the whole answer.
    pub fn submit(&self, job: &JobRequest) -> Result<(u64, Value), ClientError> {
        let body = job.payload(self.version)?;
        let v = self.call(Method::POST, self.url("slurm", "job/submit"), Some(body))?;
        Ok((submitted_job_id(&v)?, v))
    }

    /// `DELETE /slurm/<v>/job/<id>[?signal=…]`.
    pub fn cancel(&self, id: u64, signal: Option<&str>) -> Result<Value, ClientError> {
        let mut url = self.url("slurm", &format!("job/{id}"));
        if let Some(s) = signal {
            url.query_pairs_mut().append_pair("signal", s);
        }
        self.call(Method::DELETE, url, None)
    }

    /// The API versions the server offers: Palmetto's `/meta/versions/supported`; a stock
    /// slurmrestd's OpenAPI document (it needs authentication too).
    pub fn versions(&self) -> Result<Vec<String>, ClientError> {
        match self.gateway {
            Gateway::Palmetto => {
                let call = Call::new(Method::GET, self.base.join("meta/versions/supported"));
                let v: Value = self.http.send(&call)?.json("supported versions")?;
                Ok(v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default())
            }
            Gateway::Slurmrestd => {
                let v = self.call(Method::GET, self.base.join("openapi/v3"), None)?;
                let mut found: Vec<String> = v
                    .get("paths")
                    .and_then(Value::as_object)
                    .map(|p| {
                        p.keys()
                            .filter_map(|k| k.strip_prefix("/slurm/"))
                            .filter_map(|k| k.split('/').next())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                found.sort_by_key(|v| v.parse::<ApiVersion>().ok().map(|v| v.shape()));
                found.dedup();
                Ok(found)
            }
        }
    }

    /// Palmetto's unauthenticated `GET /ping` (`pong`) — reachability without a credential.
    pub fn gateway_ping(&self) -> Result<String, ClientError> {
        let call = Call::new(Method::GET, self.base.join("ping"));
        Ok(self.http.send(&call)?.text().trim().to_string())
    }
}

/// slurmrestd reports failures in `errors[]`, sometimes with a 200 (a DELETE of an unknown job
/// on 24.11): any error there fails the call.
pub(crate) fn check_errors(v: &Value, what: &str) -> Result<(), ClientError> {
    let msgs = error_messages(v);
    let mut msgs = msgs;
    // v0.0.40+ DELETE answers 200 and reports per-job failures in `status[].error`.
    for st in v
        .get("status")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(e) = st.get("error")
            && e.get("code").and_then(Value::as_i64).unwrap_or(0) != 0
        {
            let m = e
                .get("message")
                .or_else(|| e.get("string"))
                .and_then(Value::as_str)
                .unwrap_or("error");
            let id = st.get("step_id").and_then(Value::as_str).unwrap_or("?");
            msgs.push(format!("job {id}: {m}"));
        }
    }
    if msgs.is_empty() {
        return Ok(());
    }
    Err(ClientError::Rejected {
        what: what.to_string(),
        detail: msgs.join("; "),
    })
}

/// The messages of a slurmrestd body's `errors[]`.
fn error_messages(v: &Value) -> Vec<String> {
    let Some(errors) = v.get("errors").and_then(Value::as_array) else {
        return Vec::new();
    };
    errors
        .iter()
        .filter(|e| {
            // Some versions list an entry with error_number 0 ("No error").
            e.get("error_number").and_then(Value::as_i64).unwrap_or(1) != 0
        })
        .map(|e| {
            let d = e.get("description").and_then(Value::as_str).unwrap_or("");
            let m = e.get("error").and_then(Value::as_str).unwrap_or("");
            match (d.is_empty(), m.is_empty()) {
                (false, false) if d.contains(m) => d.to_string(),
                (false, false) => format!("{m}: {d}"),
                (true, false) => m.to_string(),
                (false, true) => d.to_string(),
                (true, true) => e.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!("v0.0.42".parse::<ApiVersion>().unwrap(), ApiVersion::V(42));
        assert_eq!("0.0.38".parse::<ApiVersion>().unwrap(), ApiVersion::V(38));
        assert_eq!("latest".parse::<ApiVersion>().unwrap(), ApiVersion::Latest);
        assert!("v0.0.35".parse::<ApiVersion>().is_err());
        assert!("v0.0.46".parse::<ApiVersion>().is_err());
        assert_eq!(ApiVersion::V(40).to_string(), "v0.0.40");
    }

    #[test]
    fn time_limits_in_every_slurm_form() {
        for (s, m) in [
            ("5", 5),
            ("5:30", 6),
            ("1:00:00", 60),
            ("2-0", 2880),
            ("1-2:30", 1590),
            ("0-0:0:1", 1),
        ] {
            assert_eq!(parse_time_limit(s).unwrap(), m, "{s}");
        }
        assert!(parse_time_limit("soon").is_err());
        assert!(parse_time_limit("1:2:3:4").is_err());
    }

    #[test]
    fn sbatch_directives_are_read_until_the_first_command() {
        let s = "#!/bin/bash\n#SBATCH -J demo\n#SBATCH --partition=debug --time 1:00:00\n\
                 #SBATCH -n4 -N 2\n# a comment\n#SBATCH --chdir /tmp\n#SBATCH -o out-%j.txt\n\
                 echo hi\n#SBATCH --account=late\n";
        let j = JobRequest::from_script(s).unwrap();
        assert_eq!(j.name.as_deref(), Some("demo"));
        assert_eq!(j.partition.as_deref(), Some("debug"));
        assert_eq!(j.time_limit, Some(60));
        assert_eq!(j.tasks, Some(4));
        assert_eq!(j.nodes, Some(2));
        assert_eq!(j.cwd.as_deref(), Some("/tmp"));
        assert_eq!(j.stdout.as_deref(), Some("out-%j.txt"));
        assert_eq!(
            j.account, None,
            "directives after the first command are ignored"
        );
        assert!(JobRequest::from_script("echo no shebang\n").is_err());
    }

    #[test]
    fn memory_and_cpus_are_read_and_sent_per_version() {
        let j = JobRequest::from_script(
            "#!/bin/sh\n#SBATCH --mem=2G -c4 -D /tmp\n#SBATCH --cpus-per-task 8\necho\n",
        )
        .unwrap();
        assert_eq!((j.memory_per_node, j.cpus_per_task), (Some(2048), Some(8)));
        let old = j.payload(ApiVersion::V(38)).unwrap();
        assert_eq!(old["job"]["memory_per_node"], json!(2048));
        assert_eq!(old["job"]["cpus_per_task"], json!(8));
        let new = j.payload(ApiVersion::V(42)).unwrap();
        assert_eq!(
            new["job"]["memory_per_node"],
            json!({"set": true, "infinite": false, "number": 2048})
        );
        assert_eq!(new["job"]["cpus_per_task"], json!(8));
        for (text, mb) in [
            ("4096", 4096),
            ("500M", 500),
            ("4g", 4096),
            ("1T", 1 << 20),
            ("1536K", 2),
        ] {
            assert_eq!(parse_memory(text).unwrap(), mb, "{text}");
        }
        for bad in ["", "G", "4X", "-1", "99999999999999999999T"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
    }

    /// A short option followed by a multi-byte character is an error or ignored, never a
    /// panic (the script comes from the user's disk).
    #[test]
    fn odd_short_options_never_panic() {
        for line in ["-é", "-pé", "-é4", "-", "-ц ц", "--mem=é"] {
            let _ = JobRequest::from_script(&format!("#!/bin/sh\n#SBATCH {line}\necho\n"));
        }
        let j = JobRequest::from_script("#!/bin/sh\n#SBATCH -pdébug\n").unwrap();
        assert_eq!(j.partition.as_deref(), Some("débug"));
    }

    #[test]
    fn flags_overlay_the_script() {
        let mut j = JobRequest::from_script("#!/bin/sh\n#SBATCH -J script -p a -t 5\n").unwrap();
        j.overlay(JobRequest {
            partition: Some("b".into()),
            env: vec![("X".into(), "1".into())],
            ..JobRequest::default()
        });
        assert_eq!(j.name.as_deref(), Some("script"));
        assert_eq!(j.partition.as_deref(), Some("b"));
        assert_eq!(j.time_limit, Some(5));
        assert_eq!(j.env, vec![("X".to_string(), "1".to_string())]);
    }

    #[test]
    fn payload_shapes_per_version() {
        let mut j = JobRequest::from_script("#!/bin/sh\n#SBATCH -t 5 -D /tmp\necho\n").unwrap();
        j.env.push(("FOO".into(), "bar".into()));
        let old = j.payload(ApiVersion::V(38)).unwrap();
        assert_eq!(old["script"], json!(j.script));
        assert_eq!(old["job"]["time_limit"], json!(5));
        assert_eq!(old["job"]["environment"]["FOO"], json!("bar"));
        assert!(old["job"]["environment"]["PATH"].is_string());
        let new = j.payload(ApiVersion::V(42)).unwrap();
        assert!(new.get("script").is_none());
        assert_eq!(new["job"]["script"], json!(j.script));
        assert_eq!(
            new["job"]["time_limit"],
            json!({"set": true, "infinite": false, "number": 5})
        );
        assert!(
            new["job"]["environment"]
                .as_array()
                .unwrap()
                .contains(&json!("FOO=bar"))
        );
        let latest = j.payload(ApiVersion::Latest).unwrap();
        assert_eq!(latest["job"]["script"], json!(j.script));
        j.cwd = None;
        assert!(j.payload(ApiVersion::V(42)).is_err());
    }

    #[test]
    fn jwt_auth_takes_the_user_and_refuses_expired_tokens() {
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let mk = |exp: i64| {
            Token::new(format!(
                "{}.{}.c2ln",
                b64(&json!({"alg": "HS256", "typ": "JWT"})),
                b64(&json!({"exp": exp, "iat": 1, "sun": "alice"}))
            ))
        };
        match Auth::jwt(mk(now() + 600), None).unwrap() {
            Auth::Jwt { user, .. } => assert_eq!(user, "alice"),
            other => panic!("{other:?}"),
        }
        let err = Auth::jwt(mk(now() - 600), None).unwrap_err().to_string();
        assert!(err.contains("expired"), "{err}");
        assert!(Auth::jwt(Token::new("not-a-jwt"), None).is_err());
    }

    #[test]
    fn munge_is_refused_for_a_stock_slurmrestd() {
        let http = Http::new(Default::default()).unwrap();
        let base = Endpoint::parse("http://127.0.0.1:1").unwrap();
        let err = SlurmClient::new(
            http,
            base,
            ApiVersion::V(42),
            Gateway::Slurmrestd,
            Auth::Munge(Munge::default()),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("logs"), "{err}");
    }

    #[test]
    fn errors_in_the_body_fail_the_call() {
        let v = json!({"errors": [{"description": "Unable to find JobId=9", "error": "Invalid job id specified", "error_number": 2017}]});
        let e = check_errors(&v, "job 9").unwrap_err().to_string();
        assert!(e.contains("Unable to find JobId=9"), "{e}");
        assert!(check_errors(&json!({"errors": []}), "x").is_ok());
        assert!(check_errors(&json!({"errors": [{"error_number": 0}]}), "x").is_ok());
        assert!(is_active("PENDING") && is_active("RUNNING,COMPLETING"));
        assert!(!is_active("CANCELLED") && !is_active("COMPLETED"));
        assert_eq!(job_state(&json!({"job_state": ["FAILED"]})), "FAILED");
    }
}
