//! Client for the DOE IRI Facility API v1 (ALCF, NERSC, and OLCF's amsc endpoints).
//!
//! One client serves every site because they all implement the same spec
//! (`fixtures/specs/iri/iri-facility-api-v1.yaml`); what differs is the base URL, the credential
//! and *which* of the 43 operations a site offers. The last comes from the doe-iri validator's
//! compliance reports, embedded here: OLCF's amsc endpoints offer 14 operations and no
//! filesystem, task or account ones, so the client refuses those before sending anything
//! (a clear message beats a 404 that reads like a typo). A user who points `--url` at a server
//! of their own takes responsibility for what it offers, so the check is off then.
//!
//! Credentials: ALCF and NERSC take a Globus access token as `Authorization: Bearer …`. For
//! OLCF's amsc endpoints FACILITIES.md §1.6 knows only that third-party code uses S3M Project
//! Access Tokens there, and §9 that the header form is not documented; the endpoints implement
//! the IRI spec, whose one security scheme is HTTP bearer, so the client sends `Bearer <OPAT>`
//! there too — unlike S3M's own REST API, which takes the bare token.
//!
//! Operations the spec marks public (facility, status, capabilities, resource lists) are sent
//! with no credential at all: a token that need not travel does not.
//!
//! Filesystem operations answer with a task; [`IriClient::wait_task`] polls `/task/{id}` with a
//! bounded backoff until the task is `completed`, `failed` or `canceled`. Launch and update
//! carry an `Idempotency-Key` (the IRI framework's optional header) and, like every mutation,
//! are never retried after the server may have acted (the transport's rule).

mod fs;

pub use fs::*;

use crate::facilities::credential::Token;
use crate::facilities::http::{Body, Call, ClientError, Endpoint, Http, segment};
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A site that runs the IRI Facility API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facility {
    /// ALCF, `api.alcf.anl.gov` (Globus token).
    Alcf,
    /// NERSC, `api.iri.nersc.gov` (Globus token).
    Nersc,
    /// OLCF open enclave, `amsc-open.s3m.olcf.ornl.gov` (S3M Project Access Token).
    OlcfOpen,
    /// OLCF moderate enclave, `amsc-moderate.s3m.olcf.ornl.gov` (S3M Project Access Token).
    OlcfModerate,
}

impl Facility {
    /// Every site, in the order help text lists them.
    pub const ALL: [Facility; 4] = [
        Facility::Alcf,
        Facility::Nersc,
        Facility::OlcfOpen,
        Facility::OlcfModerate,
    ];

    /// The name used on the command line and in the config (`[iri.<name>]`).
    pub fn name(self) -> &'static str {
        match self {
            Facility::Alcf => "alcf",
            Facility::Nersc => "nersc",
            Facility::OlcfOpen => "olcf-open",
            Facility::OlcfModerate => "olcf-moderate",
        }
    }

    /// Parses a name given by the user.
    pub fn parse(s: &str) -> Option<Facility> {
        Facility::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
    }

    /// The production base URL (with `/api/v1`).
    pub fn default_url(self) -> &'static str {
        match self {
            Facility::Alcf => "https://api.alcf.anl.gov/api/v1",
            Facility::Nersc => "https://api.iri.nersc.gov/api/v1",
            Facility::OlcfOpen => "https://amsc-open.s3m.olcf.ornl.gov/api/v1",
            Facility::OlcfModerate => "https://amsc-moderate.s3m.olcf.ornl.gov/api/v1",
        }
    }

    /// True for the OLCF amsc endpoints, which take an S3M Project Access Token.
    pub fn is_olcf(self) -> bool {
        matches!(self, Facility::OlcfOpen | Facility::OlcfModerate)
    }

    /// Environment variables that may hold this site's token, most specific first (names
    /// seen in the wild, FACILITIES.md §6).
    pub fn token_env_vars(self) -> &'static [&'static str] {
        match self {
            Facility::Alcf => &["ALCF_IRI_TOKEN", "IRI_API_TOKEN"],
            Facility::Nersc => &["NERSC_IRI_TOKEN", "NERSC_IRI_API_TOKEN", "IRI_API_TOKEN"],
            Facility::OlcfOpen | Facility::OlcfModerate => {
                &["OLCF_IRI_TOKEN", "S3M_TOKEN", "IRI_API_TOKEN"]
            }
        }
    }

    /// What the credential is called in prompts and errors.
    pub fn token_name(self) -> &'static str {
        if self.is_olcf() {
            "OLCF S3M Project Access Token"
        } else {
            "Globus access token for the IRI API"
        }
    }

    /// The doe-iri validator's compliance report for this site.
    fn compliance_json(self) -> &'static str {
        match self {
            Facility::Alcf => include_str!(
                "../../../fixtures/specs/iri/compliance/api.alcf.anl.gov.spec.compliance.json"
            ),
            Facility::Nersc => include_str!(
                "../../../fixtures/specs/iri/compliance/api.iri.nersc.gov.spec.compliance.json"
            ),
            Facility::OlcfOpen => include_str!(
                "../../../fixtures/specs/iri/compliance/amsc-open.s3m.olcf.ornl.gov.spec.compliance.json"
            ),
            Facility::OlcfModerate => include_str!(
                "../../../fixtures/specs/iri/compliance/amsc-moderate.s3m.olcf.ornl.gov.spec.compliance.json"
            ),
        }
    }

    /// Whether the site implements an operation (by the spec's `operationId`), per the
    /// validator's report: only what the report lists as `missing` is refused, so operations
    /// newer than the report (the spec's two resource lists) and an unreadable report err on
    /// the side of allowing the call.
    pub fn implements(self, operation_id: &str) -> bool {
        let Ok(report) = serde_json::from_str::<Value>(self.compliance_json()) else {
            return true;
        };
        !report["missing"]
            .as_array()
            .map(|m| m.iter().any(|o| o["operationId"] == operation_id))
            .unwrap_or(false)
    }

    /// The operations the site implements (`present` in the report).
    pub fn implemented(self) -> Vec<String> {
        serde_json::from_str::<Value>(self.compliance_json())
            .ok()
            .and_then(|r| {
                r["present"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|o| o["operationId"].as_str().map(String::from))
                        .collect()
                })
            })
            .unwrap_or_default()
    }
}

/// The spec, embedded so that tests and `--help` can name its operations.
pub const SPEC_V1: &str = include_str!("../../../fixtures/specs/iri/iri-facility-api-v1.yaml");

/// Operations the spec marks public (no `security`): sent without a credential.
const PUBLIC_OPERATIONS: &[&str] = &[
    "getFacility",
    "getSites",
    "getSite",
    "getResources",
    "getResource",
    "getIncidents",
    "getIncident",
    "getEventsByIncident",
    "getEventByIncident",
    "getCapabilities",
    "getCapability",
    "getComputeResources",
    "getFilesystemResources",
];

/// True when the spec requires a bearer token for the operation.
pub fn needs_token(operation_id: &str) -> bool {
    !PUBLIC_OPERATIONS.contains(&operation_id)
}

/// How [`IriClient::wait_task`] polls.
#[derive(Clone, Debug)]
pub struct PollOptions {
    /// First pause between polls.
    pub first: Duration,
    /// Longest pause (the pause grows by half each poll up to this).
    pub max: Duration,
    /// Give up after this long (the task may still finish).
    pub timeout: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            first: Duration::from_millis(250),
            max: Duration::from_secs(5),
            timeout: Duration::from_secs(600),
        }
    }
}

/// A task's state, as `/task/{id}` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting to run.
    Pending,
    /// Running.
    Active,
    /// Finished well.
    Completed,
    /// Finished badly.
    Failed,
    /// Canceled.
    Canceled,
    /// A state this client does not know (a newer server).
    Other(String),
}

impl TaskState {
    /// Reads the `status` field of a Task.
    pub fn of(task: &Value) -> TaskState {
        match task["status"].as_str().unwrap_or("pending") {
            "pending" => TaskState::Pending,
            "active" => TaskState::Active,
            "completed" => TaskState::Completed,
            "failed" => TaskState::Failed,
            "canceled" => TaskState::Canceled,
            s => TaskState::Other(s.to_string()),
        }
    }

    /// True when the task will not change any more.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Failed | TaskState::Canceled
        )
    }
}

/// The IRI client for one base URL.
pub struct IriClient {
    http: Http,
    base: Endpoint,
    token: Option<Token>,
    facility: Option<Facility>,
    check_compliance: bool,
}

impl IriClient {
    /// A client for `base`. `facility` names the site for advice and, when `check_compliance`
    /// is set (a named site at its own URL), for refusing what the site does not implement.
    pub fn new(
        http: Http,
        base: Endpoint,
        token: Option<Token>,
        facility: Option<Facility>,
        check_compliance: bool,
    ) -> IriClient {
        IriClient {
            http,
            base,
            token,
            facility,
            check_compliance,
        }
    }

    /// The base URL.
    pub fn base(&self) -> &Endpoint {
        &self.base
    }

    /// Refuses an operation the named site does not implement.
    pub fn check(&self, operation_id: &str) -> Result<(), ClientError> {
        if let (true, Some(f)) = (self.check_compliance, self.facility)
            && !f.implements(operation_id)
        {
            return Err(ClientError::Invalid(format!(
                "{} does not implement the IRI operation `{operation_id}` (per the doe-iri \
                 validator's compliance report, it offers {}); nothing was sent. Give --url to \
                 call a server that does.",
                f.name(),
                summarize(&f.implemented())
            )));
        }
        Ok(())
    }

    fn advice(&self, status: u16) -> Option<String> {
        let olcf = self.facility.is_some_and(Facility::is_olcf);
        let login = match self.facility {
            Some(Facility::Nersc) => "tokenwarden login nersc",
            _ => "tokenwarden login alcf",
        };
        match status {
            401 if olcf => Some(
                "the S3M Project Access Token was not accepted: it is expired, revoked, or \
                 lacks the compute scope — create one in myOLCF (Manage Tokens)"
                    .into(),
            ),
            401 => Some(format!(
                "the Globus token was not accepted (expired or revoked): run `{login}` to get \
                 a new one"
            )),
            403 => Some(
                "the token is valid but not allowed to do this: the wrong project or \
                 allocation for this resource, or a token without the IRI scope (for ALCF, \
                 log in again through the ALCF identity provider)"
                    .into(),
            ),
            404 => Some(
                "not found: check the resource, job or task id (list them with `iri status \
                 resources`, `iri compute list`, `iri task list`) and the base URL"
                    .into(),
            ),
            _ => None,
        }
    }

    fn call(
        &self,
        operation_id: &str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Body,
        mode: Mode<'_>,
    ) -> Result<Value, ClientError> {
        self.check(operation_id)?;
        let mut url = self.base.join(path);
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        let advice = |s: u16| self.advice(s);
        let mut call = Call::new(method, url)
            .header("accept", "application/json")
            .body(body)
            .advice(&advice);
        if needs_token(operation_id) {
            let token = self.token.as_ref().ok_or_else(|| {
                ClientError::Invalid(format!("`{operation_id}` needs a token and none was given"))
            })?;
            call = call.credential("authorization", "Bearer ", token);
        }
        match mode {
            Mode::Plain => {}
            Mode::ReadOnly => call = call.read_only(),
            Mode::Idempotent(k) => call = call.header("idempotency-key", k),
        }
        let resp = self.http.send(&call)?;
        if resp.body.is_empty() || resp.status == 204 {
            return Ok(Value::Null);
        }
        resp.json_shown(operation_id)
    }

    /// A GET of `path` (ids already percent-encoded with [`segment`]).
    pub fn get(
        &self,
        operation_id: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Value, ClientError> {
        self.call(
            operation_id,
            Method::GET,
            path,
            query,
            Body::Empty,
            Mode::Plain,
        )
    }

    // ---- facility ----------------------------------------------------------------------

    /// `GET /facility`.
    pub fn facility(&self) -> Result<Value, ClientError> {
        self.get("getFacility", "facility", &[])
    }

    /// `GET /facility/sites` (with optional filters) or `/facility/sites/{id}`.
    pub fn sites(&self, id: Option<&str>, query: &[(&str, String)]) -> Result<Value, ClientError> {
        match id {
            Some(id) => self.get("getSite", &format!("facility/sites/{}", segment(id)), &[]),
            None => self.get("getSites", "facility/sites", query),
        }
    }

    // ---- status ------------------------------------------------------------------------

    /// `GET /status/{resources|incidents|events}[/{id}]`.
    pub fn status(
        &self,
        kind: StatusKind,
        id: Option<&str>,
        query: &[(&str, String)],
    ) -> Result<Value, ClientError> {
        let (list, one, path) = match kind {
            StatusKind::Resources => ("getResources", "getResource", "status/resources"),
            StatusKind::Incidents => ("getIncidents", "getIncident", "status/incidents"),
            StatusKind::Events => ("getEventsByIncident", "getEventByIncident", "status/events"),
        };
        match id {
            Some(id) => self.get(one, &format!("{path}/{}", segment(id)), &[]),
            None => self.get(list, path, query),
        }
    }

    // ---- account -----------------------------------------------------------------------

    /// `GET /account/capabilities[/{id}]`.
    pub fn capabilities(
        &self,
        id: Option<&str>,
        query: &[(&str, String)],
    ) -> Result<Value, ClientError> {
        match id {
            Some(id) => self.get(
                "getCapability",
                &format!("account/capabilities/{}", segment(id)),
                &[],
            ),
            None => self.get("getCapabilities", "account/capabilities", query),
        }
    }

    /// `GET /account/projects[/{id}]`.
    pub fn projects(&self, id: Option<&str>) -> Result<Value, ClientError> {
        match id {
            Some(id) => self.get(
                "getProject",
                &format!("account/projects/{}", segment(id)),
                &[],
            ),
            None => self.get("getProjects", "account/projects", &[]),
        }
    }

    /// `GET /account/projects/{p}/project_allocations[/{id}]`.
    pub fn project_allocations(
        &self,
        project: &str,
        id: Option<&str>,
    ) -> Result<Value, ClientError> {
        let base = format!("account/projects/{}/project_allocations", segment(project));
        match id {
            Some(id) => self.get(
                "getProjectAllocationByProject",
                &format!("{base}/{}", segment(id)),
                &[],
            ),
            None => self.get("getProjectAllocationsByProject", &base, &[]),
        }
    }

    /// `GET /account/projects/{p}/project_allocations/{a}/user_allocations[/{id}]`.
    pub fn user_allocations(
        &self,
        project: &str,
        allocation: &str,
        id: Option<&str>,
    ) -> Result<Value, ClientError> {
        let base = format!(
            "account/projects/{}/project_allocations/{}/user_allocations",
            segment(project),
            segment(allocation)
        );
        match id {
            Some(id) => self.get(
                "getUserAllocationByProjectAllocation",
                &format!("{base}/{}", segment(id)),
                &[],
            ),
            None => self.get("getUserAllocationsByProjectAllocation", &base, &[]),
        }
    }

    // ---- compute -----------------------------------------------------------------------

    /// `GET /compute/resources`.
    pub fn compute_resources(&self) -> Result<Value, ClientError> {
        self.get("getComputeResources", "compute/resources", &[])
    }

    /// `POST /compute/job/{resource}` with a JobSpec and a fresh `Idempotency-Key`.
    pub fn launch(&self, resource: &str, spec: &Value) -> Result<Value, ClientError> {
        let key = idempotency_key()?;
        self.call(
            "launchJob",
            Method::POST,
            &format!("compute/job/{}", segment(resource)),
            &[],
            Body::Json(spec.clone()),
            Mode::Idempotent(&key),
        )
    }

    /// `PUT /compute/job/{resource}/{job}` with a JobSpec and a fresh `Idempotency-Key`.
    pub fn update(&self, resource: &str, job: &str, spec: &Value) -> Result<Value, ClientError> {
        let key = idempotency_key()?;
        self.call(
            "updateJob",
            Method::PUT,
            &format!("compute/job/{}/{}", segment(resource), segment(job)),
            &[],
            Body::Json(spec.clone()),
            Mode::Idempotent(&key),
        )
    }

    /// `POST /compute/status/{resource}`: the job list, a POST whose JSON body is the filter.
    /// It changes nothing, so it is retried as a read.
    pub fn jobs(
        &self,
        resource: &str,
        filters: &Value,
        list: &JobListOptions,
    ) -> Result<Value, ClientError> {
        let mut q: Vec<(&str, String)> = Vec::new();
        if let Some(o) = list.offset {
            q.push(("offset", o.to_string()));
        }
        if let Some(l) = list.limit {
            q.push(("limit", l.to_string()));
        }
        if list.historical {
            q.push(("historical", "true".into()));
        }
        if list.include_spec {
            q.push(("include_spec", "true".into()));
        }
        self.call(
            "getJobs",
            Method::POST,
            &format!("compute/status/{}", segment(resource)),
            &q,
            Body::Json(filters.clone()),
            Mode::ReadOnly,
        )
    }

    /// `GET /compute/status/{resource}/{job}`.
    pub fn job(
        &self,
        resource: &str,
        job: &str,
        historical: bool,
        include_spec: bool,
    ) -> Result<Value, ClientError> {
        let mut q: Vec<(&str, String)> = Vec::new();
        if historical {
            q.push(("historical", "true".into()));
        }
        if include_spec {
            q.push(("include_spec", "true".into()));
        }
        self.get(
            "getJob",
            &format!("compute/status/{}/{}", segment(resource), segment(job)),
            &q,
        )
    }

    /// `DELETE /compute/cancel/{resource}/{job}`.
    pub fn cancel(&self, resource: &str, job: &str) -> Result<(), ClientError> {
        self.call(
            "cancelJob",
            Method::DELETE,
            &format!("compute/cancel/{}/{}", segment(resource), segment(job)),
            &[],
            Body::Empty,
            Mode::Plain,
        )
        .map(|_| ())
    }

    // ---- filesystem --------------------------------------------------------------------

    /// `GET /filesystem/resources`.
    pub fn filesystem_resources(&self) -> Result<Value, ClientError> {
        self.get("getFilesystemResources", "filesystem/resources", &[])
    }

    /// Submits a filesystem operation; returns the `TaskSubmitResponse`.
    pub fn filesystem(&self, op: &FsOp) -> Result<Value, ClientError> {
        let name = op.name();
        // A site that does not implement it is said before a local file is read.
        self.check(name)?;
        let (method, body, query) = op.request()?;
        let resource = op.resource();
        self.call(
            name,
            method,
            &format!("filesystem/{name}/{}", segment(resource)),
            &query,
            body,
            Mode::Plain,
        )
    }

    // ---- tasks -------------------------------------------------------------------------

    /// `GET /task`.
    pub fn tasks(&self) -> Result<Value, ClientError> {
        self.get("getTasks", "task", &[])
    }

    /// `GET /task/{id}`.
    pub fn task(&self, id: &str) -> Result<Value, ClientError> {
        self.get("getTask", &format!("task/{}", segment(id)), &[])
    }

    /// `DELETE /task/{id}`.
    pub fn cancel_task(&self, id: &str) -> Result<Value, ClientError> {
        self.call(
            "deleteTask",
            Method::DELETE,
            &format!("task/{}", segment(id)),
            &[],
            Body::Empty,
            Mode::Plain,
        )
    }

    /// Polls `/task/{id}` until the task is final, pausing `first`, then half as long again
    /// each time up to `max`, for at most `timeout`. `tick` sees each answer (a spinner).
    pub fn wait_task(
        &self,
        id: &str,
        poll: &PollOptions,
        mut tick: impl FnMut(&Value),
    ) -> Result<Value, ClientError> {
        let start = Instant::now();
        let mut pause = poll.first;
        loop {
            let task = self.task(id)?;
            tick(&task);
            if TaskState::of(&task).is_final() {
                return Ok(task);
            }
            let left = poll.timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(ClientError::WaitTimeout {
                    what: format!("task {id}"),
                    secs: poll.timeout.as_secs(),
                });
            }
            std::thread::sleep(pause.min(left));
            pause = (pause + pause / 2).min(poll.max);
        }
    }
}

/// How a call is retried and marked.
#[derive(Clone, Copy)]
enum Mode<'k> {
    /// By its method.
    Plain,
    /// As a read although it is a POST.
    ReadOnly,
    /// A mutation carrying this `Idempotency-Key`.
    Idempotent(&'k str),
}

/// Which status collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    /// `/status/resources`.
    Resources,
    /// `/status/incidents`.
    Incidents,
    /// `/status/events`.
    Events,
}

/// Query options of the job list.
#[derive(Clone, Debug, Default)]
pub struct JobListOptions {
    /// `offset`.
    pub offset: Option<u64>,
    /// `limit` (the spec allows up to 1000).
    pub limit: Option<u64>,
    /// `historical=true`: finished jobs too.
    pub historical: bool,
    /// `include_spec=true`: echo each job's spec (which holds its environment — secrets
    /// passed to jobs that way come back here).
    pub include_spec: bool,
}

/// A random UUID v4 for the `Idempotency-Key` header: a retry by the *user* of the same
/// logical launch could reuse it; the client itself never resends a launch.
pub fn idempotency_key() -> Result<String, ClientError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| ClientError::Invalid(format!("no randomness for an idempotency key: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn summarize(ops: &[String]) -> String {
    if ops.is_empty() {
        return "no operations".into();
    }
    let mut s = ops.to_vec();
    s.sort();
    format!("{} operations: {}", s.len(), s.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_operations() -> Vec<(String, bool)> {
        let docs = yaml_rust2::YamlLoader::load_from_str(SPEC_V1).unwrap();
        let paths = docs[0]["paths"].as_hash().unwrap();
        let mut out = Vec::new();
        for (_, ops) in paths {
            for (m, op) in ops.as_hash().unwrap() {
                if m.as_str() == Some("parameters") {
                    continue;
                }
                let id = op["operationId"].as_str().unwrap().to_string();
                out.push((id, !op["security"].is_badvalue()));
            }
        }
        out
    }

    #[test]
    fn public_operations_are_exactly_those_without_security_in_the_spec() {
        let ops = spec_operations();
        // 43 operations the validator's reports know, plus the two resource lists
        // (`getComputeResources`, `getFilesystemResources`) added to the spec after them.
        assert_eq!(ops.len(), 45);
        for (id, secured) in ops {
            assert_eq!(needs_token(&id), secured, "{id}");
        }
    }

    #[test]
    fn compliance_reports_are_read() {
        assert!(Facility::Alcf.implements("ls"));
        assert!(Facility::Nersc.implements("upload"));
        assert!(!Facility::OlcfOpen.implements("ls"));
        assert!(!Facility::OlcfModerate.implements("getTask"));
        assert!(Facility::OlcfOpen.implements("launchJob"));
        assert_eq!(Facility::OlcfOpen.implemented().len(), 14);
        assert_eq!(Facility::Alcf.implemented().len(), 43);
        // Every operation id in a report is one of the spec's.
        let ids: Vec<String> = spec_operations().into_iter().map(|(i, _)| i).collect();
        for f in Facility::ALL {
            for op in f.implemented() {
                assert!(ids.contains(&op), "{op}");
            }
        }
    }

    #[test]
    fn refusal_names_the_site_and_sends_nothing() {
        let http = Http::new(Default::default()).unwrap();
        // An unroutable base: if the check let the call through, it would fail differently.
        let base = Endpoint::parse("https://amsc-open.s3m.olcf.ornl.gov/api/v1").unwrap();
        let c = IriClient::new(http, base, None, Some(Facility::OlcfOpen), true);
        let e = c
            .filesystem(&FsOp::Ls {
                resource: "r".into(),
                path: "/".into(),
                show_hidden: false,
                numeric_uid: false,
                recursive: false,
                dereference: false,
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("olcf-open does not implement"), "{e}");
        assert!(e.contains("`ls`"), "{e}");
    }

    #[test]
    fn idempotency_keys_are_uuid_v4_and_fresh() {
        let a = idempotency_key().unwrap();
        let b = idempotency_key().unwrap();
        assert_ne!(a, b);
        let re = regex::Regex::new(
            r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        assert!(re.is_match(&a), "{a}");
    }

    #[test]
    fn task_states() {
        use serde_json::json;
        assert!(TaskState::of(&json!({"status":"completed"})).is_final());
        assert!(!TaskState::of(&json!({"status":"active"})).is_final());
        assert!(!TaskState::of(&json!({"id":"x"})).is_final());
        assert_eq!(
            TaskState::of(&json!({"status":"weird"})),
            TaskState::Other("weird".into())
        );
    }
}
