//! OLCF S3M (Secure Scientific Service Mesh) REST client: status, token control, Slurm per
//! resource and enclave, streaming clusters.
//!
//! What the documentation fixes (FACILITIES.md §1), and why this client follows it exactly:
//! - the token goes in `Authorization: <token>` with **no** `Bearer` (the docs never use one and
//!   the gateway's handling of it is undocumented, so a prefix risks a 401 at best);
//! - status calls need no token, so none is sent: a token sent where it is not needed is a
//!   token exposed for nothing;
//! - since March 2026 Slurm and streaming paths carry the security enclave
//!   (`/slurm/open/v0.0.43/defiant/ping`); older deployments and old scripts use the form
//!   without it. Both are supported ([`PathStyle`]) and the enclave is configurable, never
//!   hard-coded;
//! - revocation is irreversible, so it is never retried and the CLI asks first;
//! - provisioned streaming clusters come back with URLs that hold passwords: they are secrets
//!   like the token itself ([`redact_stream_secrets`]).

use crate::facilities::credential::Token;
use crate::facilities::http::{Call, ClientError, Endpoint, Http, segment};
use crate::facilities::slurm;
use reqwest::Method;
use serde_json::{Value, json};
use std::fmt;
use std::str::FromStr;

/// The production base URL.
pub const DEFAULT_URL: &str = "https://s3m.olcf.ornl.gov";
/// The enclave every documented example uses.
pub const DEFAULT_ENCLAVE: &str = "open";
/// The project-scoped token's name in prompts and errors.
pub const TOKEN_WHAT: &str = "S3M token";

/// Which path layout the deployment uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PathStyle {
    /// `/slurm/{enclave}/v0.0.4x/{resource}/…`, `/olcf/{enclave}/v1alpha/streaming/…` (2026-03
    /// onwards).
    #[default]
    Current,
    /// `/slurm/v0.0.4x/{resource}/…`, `/olcf/v1alpha/streaming/…` (before 2026-03).
    Legacy,
}

impl FromStr for PathStyle {
    type Err = ClientError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "current" | "enclave" => Ok(PathStyle::Current),
            "legacy" => Ok(PathStyle::Legacy),
            other => Err(ClientError::Invalid(format!(
                "S3M path style {other:?}: use \"current\" or \"legacy\""
            ))),
        }
    }
}

/// The Slurm REST API versions S3M relays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlurmVersion {
    /// v0.0.42 (deprecated by OLCF).
    V42,
    /// v0.0.43.
    V43,
    /// v0.0.44.
    V44,
}

impl SlurmVersion {
    /// `v0.0.43`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlurmVersion::V42 => "v0.0.42",
            SlurmVersion::V43 => "v0.0.43",
            SlurmVersion::V44 => "v0.0.44",
        }
    }
}

impl fmt::Display for SlurmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SlurmVersion {
    type Err = ClientError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_start_matches('v');
        match t {
            "0.0.42" | "42" => Ok(SlurmVersion::V42),
            "0.0.43" | "43" => Ok(SlurmVersion::V43),
            "0.0.44" | "44" => Ok(SlurmVersion::V44),
            _ => Err(ClientError::Invalid(format!(
                "Slurm API version {s:?}: S3M offers v0.0.42, v0.0.43 and v0.0.44"
            ))),
        }
    }
}

/// A streaming backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// RabbitMQ (`amqpsUrl`).
    Rabbitmq,
    /// Redis (`url`).
    Redis,
}

impl Backend {
    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Rabbitmq => "rabbitmq",
            Backend::Redis => "redis",
        }
    }
}

/// What a call needs the token to allow, for the 403 advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Token control (any valid token may introspect or revoke itself).
    Token,
    /// Slurm reads (`compute-ace` or `compute-ace-readonly`).
    SlurmRead,
    /// Slurm submit / cancel (`compute-ace`).
    SlurmWrite,
    /// Streaming (`data-streaming`).
    Streaming,
    /// Status (no token).
    Status,
}

/// What an S3M error status means, for the user (FACILITIES.md §1.1 permissions; the status
/// codes for revoked tokens are undocumented, so the 401 text covers every cause).
pub fn advice(scope: Scope, status: u16) -> Option<String> {
    match status {
        401 => Some(
            "the S3M token was not accepted: it is expired, revoked, not yet valid (delayed \
             start) or mistyped. Create a new one in myOLCF (https://my.olcf.ornl.gov → your \
             project → S3M Access → New Token); note that S3M takes the token without `Bearer`"
                .into(),
        ),
        403 => Some(match scope {
            Scope::SlurmRead => "the token is valid but may not do this: it needs the \
                                 `compute-ace` or `compute-ace-readonly` permission, and must \
                                 belong to this project and enclave"
                .into(),
            Scope::SlurmWrite => "the token is valid but may not do this: submitting or \
                                  cancelling jobs needs the `compute-ace` permission \
                                  (`compute-ace-readonly` only reads), for this project and \
                                  enclave"
                .into(),
            Scope::Streaming => "the token is valid but may not do this: streaming needs the \
                                 `data-streaming` permission, for this project and enclave"
                .into(),
            Scope::Token | Scope::Status => {
                "the token is valid but not allowed here (another project or enclave?)".into()
            }
        }),
        404 => Some(match scope {
            Scope::SlurmRead | Scope::SlurmWrite => "not found: check the resource name, the \
                 Slurm API version it offers (defiant v0.0.42/43, odo v0.0.43/44, wombat and \
                 quokka v0.0.42), the enclave (--enclave) and the path style (--legacy-paths), \
                 or the job id"
                .into(),
            Scope::Streaming => "not found: check the cluster name, the enclave (--enclave) \
                                 and the path style (--legacy-paths)"
                .into(),
            _ => "not found: check the resource name and the base URL".into(),
        }),
        _ => None,
    }
}

/// The S3M client.
pub struct S3m {
    http: Http,
    base: Endpoint,
    enclave: String,
    paths: PathStyle,
}

fn adv(scope: Scope) -> Box<dyn Fn(u16) -> Option<String>> {
    Box::new(move |s| advice(scope, s))
}

impl S3m {
    /// A client for `base`, in `enclave`, with the given path layout. The enclave becomes a
    /// path segment, so it is checked to be one plain word.
    pub fn new(
        http: Http,
        base: Endpoint,
        enclave: &str,
        paths: PathStyle,
    ) -> Result<S3m, ClientError> {
        let enclave = enclave.trim();
        if enclave.is_empty()
            || !enclave
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ClientError::Invalid(format!(
                "enclave {enclave:?}: expected one word such as `open` or `moderate`"
            )));
        }
        Ok(S3m {
            http,
            base,
            enclave: enclave.to_ascii_lowercase(),
            paths,
        })
    }

    /// The base URL.
    pub fn base(&self) -> &Endpoint {
        &self.base
    }

    /// The enclave.
    pub fn enclave(&self) -> &str {
        &self.enclave
    }

    /// The path of a Slurm call: `/slurm/{enclave}/{version}/{resource}/{rest}`.
    pub fn slurm_path(&self, version: SlurmVersion, resource: &str, rest: &str) -> String {
        let resource = segment(resource);
        match self.paths {
            PathStyle::Current => format!("/slurm/{}/{version}/{resource}/{rest}", self.enclave),
            PathStyle::Legacy => format!("/slurm/{version}/{resource}/{rest}"),
        }
    }

    /// The path of a streaming call: `/olcf/{enclave}/v1alpha/streaming/{rest}`.
    pub fn streaming_path(&self, rest: &str) -> String {
        match self.paths {
            PathStyle::Current => format!("/olcf/{}/v1alpha/streaming/{rest}", self.enclave),
            PathStyle::Legacy => format!("/olcf/v1alpha/streaming/{rest}"),
        }
    }

    fn json_of(&self, call: Call<'_>, what: &str) -> Result<Value, ClientError> {
        let resp = self.http.send(&call)?;
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        resp.json(what)
    }

    fn authed<'a>(
        &self,
        method: Method,
        path: &str,
        token: &'a Token,
        advice: &'a dyn Fn(u16) -> Option<String>,
    ) -> Call<'a> {
        Call::new(method, self.base.join(path))
            .header("accept", "application/json")
            // The documented form: the bare token, no scheme word.
            .credential("authorization", "", token)
            .advice(advice)
    }

    fn unauthed(&self, path: &str, what: &str) -> Result<Value, ClientError> {
        let a = adv(Scope::Status);
        let call = Call::new(Method::GET, self.base.join(path))
            .header("accept", "application/json")
            .advice(&*a);
        self.json_of(call, what)
    }

    // ---------------------------------------------------------------- status (no token)

    /// `GET /olcf/v1alpha/status`: every resource.
    pub fn status_resources(&self) -> Result<Value, ClientError> {
        self.unauthed("/olcf/v1alpha/status", "S3M status")
    }

    /// `GET /olcf/v1alpha/status/{name}`.
    pub fn status_resource(&self, name: &str) -> Result<Value, ClientError> {
        self.unauthed(
            &format!("/olcf/v1alpha/status/{}", segment(name)),
            "S3M resource status",
        )
    }

    /// `GET /olcf/v1alpha/status/downtimes[/upcoming]` (the proto's path; the docs' Python
    /// example drops `/status/` by mistake).
    pub fn downtimes(&self, upcoming: bool) -> Result<Value, ClientError> {
        let p = if upcoming {
            "/olcf/v1alpha/status/downtimes/upcoming"
        } else {
            "/olcf/v1alpha/status/downtimes"
        };
        self.unauthed(p, "S3M downtimes")
    }

    // ---------------------------------------------------------------- token control

    /// `GET /olcf/v1/token/ctls/introspect`: owner, project, enclave, planned expiration — the
    /// only way to learn a token's expiry (it has no `exp`).
    pub fn introspect(&self, token: &Token) -> Result<Value, ClientError> {
        let a = adv(Scope::Token);
        let call = self.authed(Method::GET, "/olcf/v1/token/ctls/introspect", token, &*a);
        self.json_of(call, "S3M token introspection")
    }

    /// `DELETE /olcf/v1/token/ctls/revoke`: irreversible. Not retried on a server error (the
    /// transport retries a mutation only when the server provably did not act).
    pub fn revoke(&self, token: &Token) -> Result<Value, ClientError> {
        let a = adv(Scope::Token);
        let call = self.authed(Method::DELETE, "/olcf/v1/token/ctls/revoke", token, &*a);
        self.json_of(call, "S3M token revocation")
    }

    // ---------------------------------------------------------------- Slurm

    /// A Slurm read: `ping`, `diag`, `jobs`, `nodes`, `partitions`, `reservations`.
    pub fn slurm_get(
        &self,
        token: &Token,
        version: SlurmVersion,
        resource: &str,
        what: &str,
    ) -> Result<Value, ClientError> {
        let a = adv(Scope::SlurmRead);
        let call = self.authed(
            Method::GET,
            &self.slurm_path(version, resource, what),
            token,
            &*a,
        );
        self.json_of(call, &format!("S3M Slurm {what}"))
    }

    /// `GET …/job/{id}`.
    pub fn job_get(
        &self,
        token: &Token,
        version: SlurmVersion,
        resource: &str,
        job_id: &str,
    ) -> Result<Value, ClientError> {
        let a = adv(Scope::SlurmRead);
        let path = self.slurm_path(version, resource, &format!("job/{}", segment(job_id)));
        self.json_of(self.authed(Method::GET, &path, token, &*a), "S3M Slurm job")
    }

    /// `POST …/job/submit` with a `job_submit_req` body (see [`submit_payload`]).
    pub fn job_submit(
        &self,
        token: &Token,
        version: SlurmVersion,
        resource: &str,
        payload: Value,
    ) -> Result<Value, ClientError> {
        let a = adv(Scope::SlurmWrite);
        let path = self.slurm_path(version, resource, "job/submit");
        let call = self.authed(Method::POST, &path, token, &*a).json(payload);
        self.json_of(call, "S3M Slurm job submission")
    }

    /// `DELETE …/job/{id}[?signal=…]`.
    pub fn job_cancel(
        &self,
        token: &Token,
        version: SlurmVersion,
        resource: &str,
        job_id: &str,
        signal: Option<&str>,
    ) -> Result<Value, ClientError> {
        let a = adv(Scope::SlurmWrite);
        let path = self.slurm_path(version, resource, &format!("job/{}", segment(job_id)));
        let mut url = self.base.join(&path);
        if let Some(sig) = signal {
            url.query_pairs_mut().append_pair("signal", sig);
        }
        let call = Call::new(Method::DELETE, url)
            .header("accept", "application/json")
            .credential("authorization", "", token)
            .advice(&*a);
        self.json_of(call, "S3M Slurm job cancel")
    }

    // ---------------------------------------------------------------- streaming

    /// `GET …/streaming/list_backends`.
    pub fn list_backends(&self, token: &Token) -> Result<Value, ClientError> {
        let a = adv(Scope::Streaming);
        let call = self.authed(
            Method::GET,
            &self.streaming_path("list_backends"),
            token,
            &*a,
        );
        self.json_of(call, "S3M streaming backends")
    }

    /// `POST …/{backend}/provision_cluster` with `{kind,name,resourceSettings{cpus,ram-gbs,nodes}}`.
    /// The answer holds the cluster's password: treat it as a secret.
    pub fn provision(
        &self,
        token: &Token,
        backend: Backend,
        settings: &ClusterSettings,
    ) -> Result<Value, ClientError> {
        check_cluster_name(&settings.name)?;
        let a = adv(Scope::Streaming);
        let path = self.streaming_path(&format!("{}/provision_cluster", backend.as_str()));
        let body = json!({
            "kind": settings.kind,
            "name": settings.name,
            "resourceSettings": {
                "cpus": settings.cpus,
                "ram-gbs": settings.ram_gbs,
                "nodes": settings.nodes,
            }
        });
        let call = self.authed(Method::POST, &path, token, &*a).json(body);
        self.json_of(call, "S3M cluster provisioning")
    }

    /// `GET …/{backend}/list_clusters`.
    pub fn list_clusters(&self, token: &Token, backend: Backend) -> Result<Value, ClientError> {
        let a = adv(Scope::Streaming);
        let path = self.streaming_path(&format!("{}/list_clusters", backend.as_str()));
        self.json_of(
            self.authed(Method::GET, &path, token, &*a),
            "S3M cluster list",
        )
    }

    /// `…/{backend}/{verb}/{name}`, the name percent-encoded.
    fn cluster_path(&self, backend: Backend, verb: &str, name: &str) -> String {
        self.streaming_path(&format!("{}/{verb}/{}", backend.as_str(), segment(name)))
    }

    /// `GET …/{backend}/cluster/{name}`.
    pub fn get_cluster(
        &self,
        token: &Token,
        backend: Backend,
        name: &str,
    ) -> Result<Value, ClientError> {
        let a = adv(Scope::Streaming);
        let path = self.cluster_path(backend, "cluster", name);
        self.json_of(self.authed(Method::GET, &path, token, &*a), "S3M cluster")
    }

    /// `DELETE …/{backend}/cluster/{name}`: destroys the cluster (and so its credentials).
    pub fn delete_cluster(
        &self,
        token: &Token,
        backend: Backend,
        name: &str,
    ) -> Result<Value, ClientError> {
        let a = adv(Scope::Streaming);
        let path = self.cluster_path(backend, "cluster", name);
        self.json_of(
            self.authed(Method::DELETE, &path, token, &*a),
            "S3M cluster deletion",
        )
    }

    /// `POST …/{backend}/extend/{name}`: resets the 7-day lifetime.
    pub fn extend_cluster(
        &self,
        token: &Token,
        backend: Backend,
        name: &str,
    ) -> Result<Value, ClientError> {
        let a = adv(Scope::Streaming);
        let path = self.cluster_path(backend, "extend", name);
        let call = self.authed(Method::POST, &path, token, &*a).json(json!({}));
        self.json_of(call, "S3M cluster extension")
    }
}

/// A streaming cluster to provision.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    /// `kind` (the docs use `general`).
    pub kind: String,
    /// The cluster name (part of its host name).
    pub name: String,
    /// CPUs per node.
    pub cpus: u32,
    /// RAM per node, GB.
    pub ram_gbs: u32,
    /// Nodes.
    pub nodes: u32,
}

fn check_cluster_name(name: &str) -> Result<(), ClientError> {
    // The name becomes a DNS label (`rmq-<project>-<user>-<name>.…`).
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ClientError::Invalid(format!(
            "cluster name {name:?}: use lower-case letters, digits and inner dashes (it becomes \
             part of a host name)"
        )))
    }
}

// -------------------------------------------------------------------- job submission payloads

/// S3M's Slurm passthrough for one resource, as a [`slurm::SlurmApi`]: the same submit and
/// wait as a slurmrestd, with S3M's token, API version and path layout.
pub struct S3mSlurm<'a> {
    /// The client.
    pub client: &'a S3m,
    /// The project access token.
    pub token: &'a Token,
    /// The slurmrestd API version.
    pub version: SlurmVersion,
    /// The resource (`defiant`, `odo`, …).
    pub resource: &'a str,
    /// Send a submission as a one-element `jobs` list (v0.0.44 only).
    pub jobs_array: bool,
}

impl slurm::SlurmApi for S3mSlurm<'_> {
    fn submit_job(&self, job: &slurm::JobRequest) -> Result<(u64, Value), ClientError> {
        let payload = submit_payload(self.version, job, self.jobs_array)?;
        let v = self
            .client
            .job_submit(self.token, self.version, self.resource, payload)?;
        slurm::check_errors(&v, "S3M Slurm job submission")?;
        Ok((slurm::submitted_job_id(&v)?, v))
    }

    fn job_record(&self, id: u64) -> Result<Value, ClientError> {
        let v = self
            .client
            .job_get(self.token, self.version, self.resource, &id.to_string())?;
        first_job(&v).cloned().ok_or_else(|| ClientError::Decode {
            what: format!("S3M Slurm job {id}"),
            detail: "the answer holds no job_state".into(),
        })
    }
}

/// The `job_submit_req` body for `version`. S3M relays the request to slurmrestd unchanged,
/// so the shapes are slurmrestd's own ([`slurm::JobRequest::payload`]: the script inside `job`,
/// `environment` a list, numbers as `{set, infinite, number}`). With `as_jobs` (v0.0.44 only,
/// as S3M documents) the description goes in a one-element `jobs` list instead of `job` —
/// never both.
pub fn submit_payload(
    version: SlurmVersion,
    job: &slurm::JobRequest,
    as_jobs: bool,
) -> Result<Value, ClientError> {
    if as_jobs && version != SlurmVersion::V44 {
        return Err(ClientError::Invalid(format!(
            "--jobs-array needs API v0.0.44 (S3M documents `jobs` only there), not {version}"
        )));
    }
    let minor = match version {
        SlurmVersion::V42 => 42,
        SlurmVersion::V43 => 43,
        SlurmVersion::V44 => 44,
    };
    let mut body = job.payload(slurm::ApiVersion::V(minor))?;
    if as_jobs {
        let one = body.get_mut("job").map(Value::take).unwrap_or_default();
        body = json!({ "jobs": [one] });
    }
    Ok(body)
}

/// The first job of a job answer (`{"jobs": [{…}]}`), if it has a `job_state`.
pub fn first_job(job_info: &Value) -> Option<&Value> {
    let job = job_info.get("jobs")?.as_array()?.first()?;
    job.get("job_state")?;
    Some(job)
}

// -------------------------------------------------------------------- streaming secrets

/// The placeholder a redacted password shows.
pub const REDACTED: &str = "<redacted: --show-secrets>";

/// Cuts passwords out of a streaming answer: every `password`/`secret`-named string field, and
/// the password part of every URL (`amqps://user:pw@host` → `amqps://user:<redacted>@host`).
/// Returns how many values were cut.
pub fn redact_stream_secrets(v: &mut Value) -> usize {
    let mut n = 0;
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let key = k.to_ascii_lowercase();
                if (key.contains("password") || key.contains("secret"))
                    && val.as_str().is_some_and(|s| !s.is_empty())
                {
                    *val = json!(REDACTED);
                    n += 1;
                } else {
                    n += redact_stream_secrets(val);
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                n += redact_stream_secrets(x);
            }
        }
        Value::String(s) => {
            if let Some(r) = redact_url_password(s) {
                *s = r;
                n += 1;
            }
        }
        _ => {}
    }
    n
}

fn redact_url_password(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let at = rest.find('@')?;
    let userinfo = &rest[..at];
    if userinfo.contains('/') {
        return None;
    }
    let (user, pw) = userinfo.split_once(':')?;
    if pw.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{user}:<redacted>{}", &rest[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_both_styles() {
        let http = Http::new(Default::default()).unwrap();
        let base = Endpoint::parse("https://s3m.olcf.ornl.gov").unwrap();
        let c = S3m::new(http.clone(), base.clone(), "open", PathStyle::Current).unwrap();
        assert_eq!(
            c.slurm_path(SlurmVersion::V43, "defiant", "ping"),
            "/slurm/open/v0.0.43/defiant/ping"
        );
        assert_eq!(
            c.streaming_path("list_backends"),
            "/olcf/open/v1alpha/streaming/list_backends"
        );
        let l = S3m::new(http.clone(), base.clone(), "open", PathStyle::Legacy).unwrap();
        assert_eq!(
            l.slurm_path(SlurmVersion::V42, "wombat", "jobs"),
            "/slurm/v0.0.42/wombat/jobs"
        );
        assert_eq!(
            l.streaming_path("redis/list_clusters"),
            "/olcf/v1alpha/streaming/redis/list_clusters"
        );
        assert!(S3m::new(http, base, "../x", PathStyle::Current).is_err());
    }

    #[test]
    fn payloads_follow_the_version() {
        let mut job = slurm::JobRequest::from_script("#!/bin/bash\ntrue\n").unwrap();
        job.time_limit = Some(5);
        job.cwd = Some("/tmp".into());
        let p = submit_payload(SlurmVersion::V43, &job, false).unwrap();
        assert_eq!(p["job"]["script"], "#!/bin/bash\ntrue\n");
        assert_eq!(p["job"]["time_limit"]["number"], 5);
        assert!(p.get("jobs").is_none());
        let p = submit_payload(SlurmVersion::V44, &job, true).unwrap();
        assert!(p.get("job").is_none());
        assert_eq!(p["jobs"][0]["script"], "#!/bin/bash\ntrue\n");
        assert!(submit_payload(SlurmVersion::V43, &job, true).is_err());
    }

    #[test]
    fn stream_passwords_are_cut() {
        let mut v = json!({
            "username": "stf040-api",
            "password": "bMjHlJKjHQGbWrnO",
            "amqpsUrl": "amqps://stf040-api:bMjHlJKjHQGbWrnO@rmq.example:443",
            "mgmtUrl": "https://rmq.example",
            "clusters": [{"url": "redis://u:pw123456@r.example:443"}]
        });
        assert_eq!(redact_stream_secrets(&mut v), 3);
        let s = v.to_string();
        assert!(!s.contains("bMjHlJKjHQGbWrnO"), "{s}");
        assert!(!s.contains("pw123456"), "{s}");
        assert!(
            s.contains("amqps://stf040-api:<redacted>@rmq.example:443"),
            "{s}"
        );
    }

    #[test]
    fn job_state_activity() {
        let job_is_active =
            |v: &Value| first_job(v).map(|j| slurm::is_active(&slurm::job_state(j)));
        assert_eq!(
            job_is_active(&json!({"jobs":[{"job_state":["PENDING"]}]})),
            Some(true)
        );
        assert_eq!(
            job_is_active(&json!({"jobs":[{"job_state":["COMPLETED"]}]})),
            Some(false)
        );
        assert_eq!(job_is_active(&json!({})), None);
    }
}
