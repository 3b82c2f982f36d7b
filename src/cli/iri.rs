//! `tokenwarden iri …`: the IRI Facility API v1 at ALCF, NERSC and OLCF (amsc).
//!
//! Flags become calls on [`tokenwarden::facilities::iri::IriClient`]; answers become tables, or
//! the API's JSON with `--json`. The token is looked for only when the operation needs one (the
//! spec's public operations go out without it), in this order: `--token-from`, the config's
//! `[iri.<facility>] token`, the facility's environment variables, the Globus token files
//! `tokenwarden login` and the ALCF tools write (refreshed when about to expire), a prompt.

use crate::cli::common::{self, ClientArgs, cell, print_json, print_table};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use tokenwarden::facilities::credential::{self, CredentialError, CredentialSource, Token};
use tokenwarden::facilities::globus::{self, GlobusApp};
use tokenwarden::facilities::iri::{
    self, Facility, FsOp, IriClient, JobListOptions, PollOptions, StatusKind, TaskState,
};
use tokenwarden::facilities::{ClientConfig, Endpoint, Http};

/// The sites, as the command line names them.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FacilityArg {
    /// ALCF (api.alcf.anl.gov), Globus token.
    Alcf,
    /// NERSC (api.iri.nersc.gov), Globus token.
    Nersc,
    /// OLCF open enclave (amsc-open), S3M Project Access Token.
    OlcfOpen,
    /// OLCF moderate enclave (amsc-moderate), S3M Project Access Token.
    OlcfModerate,
}

impl From<FacilityArg> for Facility {
    fn from(f: FacilityArg) -> Facility {
        match f {
            FacilityArg::Alcf => Facility::Alcf,
            FacilityArg::Nersc => Facility::Nersc,
            FacilityArg::OlcfOpen => Facility::OlcfOpen,
            FacilityArg::OlcfModerate => Facility::OlcfModerate,
        }
    }
}

/// IRI Facility API commands.
#[derive(Args, Debug)]
pub struct IriArgs {
    /// The site.
    #[arg(long, value_enum, default_value = "alcf", global = true)]
    facility: FacilityArg,
    #[command(flatten)]
    client: ClientArgs,
    /// Globus Auth base URL for refreshing stored tokens [default: https://auth.globus.org, or
    /// [globus] auth_url in the config].
    #[arg(long, value_name = "URL", global = true)]
    auth_url: Option<String>,
    #[command(subcommand)]
    command: IriCommand,
}

#[derive(Subcommand, Debug)]
enum IriCommand {
    /// The facility's description.
    Facility,
    /// The facility's sites (or one).
    Sites {
        /// A site id.
        id: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Resources, incidents and events.
    #[command(subcommand)]
    Status(StatusCommand),
    /// Capabilities, projects and allocations.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Jobs: launch, update, list, get, cancel.
    #[command(subcommand)]
    Compute(ComputeCommand),
    /// Files: every operation returns a task, waited for unless --no-wait.
    #[command(alias = "filesystem")]
    Fs(FsArgs),
    /// Asynchronous tasks.
    #[command(subcommand)]
    Task(TaskCommand),
}

#[derive(Args, Debug, Default)]
struct Page {
    /// Skip this many.
    #[arg(long)]
    offset: Option<u64>,
    /// At most this many.
    #[arg(long)]
    limit: Option<u64>,
    /// Filter by name.
    #[arg(long)]
    name: Option<String>,
}

impl Page {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(o) = self.offset {
            q.push(("offset", o.to_string()));
        }
        if let Some(l) = self.limit {
            q.push(("limit", l.to_string()));
        }
        if let Some(n) = &self.name {
            q.push(("name", n.clone()));
        }
        q
    }
}

#[derive(Subcommand, Debug)]
enum StatusCommand {
    /// Resources (or one) and their current status.
    Resources {
        /// A resource id.
        id: Option<String>,
        #[command(flatten)]
        page: Page,
        /// compute, storage, service, …
        #[arg(long)]
        resource_type: Option<String>,
        /// up, down, degraded, unknown.
        #[arg(long)]
        current_status: Option<String>,
        /// Filter by group.
        #[arg(long)]
        group: Option<String>,
    },
    /// Incidents (or one).
    Incidents {
        /// An incident id.
        id: Option<String>,
        #[command(flatten)]
        page: Page,
        /// Only incidents touching this resource.
        #[arg(long)]
        resource_id: Option<String>,
    },
    /// Events (or one).
    Events {
        /// An event id.
        id: Option<String>,
        #[command(flatten)]
        page: Page,
        /// Only this incident's events.
        #[arg(long)]
        incident_id: Option<String>,
        /// Only this resource's events.
        #[arg(long)]
        resource_id: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum AccountCommand {
    /// Capabilities (or one).
    Capabilities {
        /// A capability id.
        id: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Your projects (or one).
    Projects {
        /// A project id.
        id: Option<String>,
    },
    /// A project's allocations (or one).
    Allocations {
        /// The project id.
        project: String,
        /// An allocation id.
        id: Option<String>,
    },
    /// The user allocations within a project allocation (or one).
    UserAllocations {
        /// The project id.
        project: String,
        /// The project allocation id.
        allocation: String,
        /// A user allocation id.
        id: Option<String>,
    },
}

#[derive(Args, Debug, Default)]
struct SpecArgs {
    /// A JobSpec JSON file (the other flags override its fields).
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// The executable.
    #[arg(long)]
    executable: Option<String>,
    /// An argument (repeat).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    args: Vec<String>,
    /// Job name.
    #[arg(long)]
    name: Option<String>,
    /// Working directory.
    #[arg(long)]
    directory: Option<String>,
    /// NAME=VALUE in the job's environment (repeat). The server keeps and echoes it back: never
    /// put a secret here.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// Nodes.
    #[arg(long)]
    nodes: Option<u64>,
    /// Processes in total.
    #[arg(long)]
    processes: Option<u64>,
    /// Processes per node.
    #[arg(long)]
    processes_per_node: Option<u64>,
    /// Wall time in seconds.
    #[arg(long)]
    duration: Option<u64>,
    /// Queue.
    #[arg(long)]
    queue: Option<String>,
    /// Account (project) to charge.
    #[arg(long)]
    account: Option<String>,
    /// Standard output path.
    #[arg(long)]
    stdout: Option<String>,
    /// Standard error path.
    #[arg(long)]
    stderr: Option<String>,
}

impl SpecArgs {
    fn build(&self) -> Result<Value> {
        let mut spec = match &self.spec {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                let v: Value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", p.display()))?;
                if !v.is_object() {
                    bail!("{}: a JobSpec is a JSON object", p.display());
                }
                v
            }
            None => json!({}),
        };
        let set = |spec: &mut Value, k: &str, v: Option<Value>| {
            if let Some(v) = v {
                spec[k] = v;
            }
        };
        set(
            &mut spec,
            "executable",
            self.executable.clone().map(Value::from),
        );
        if !self.args.is_empty() {
            spec["arguments"] = json!(self.args);
        }
        set(&mut spec, "name", self.name.clone().map(Value::from));
        set(
            &mut spec,
            "directory",
            self.directory.clone().map(Value::from),
        );
        set(
            &mut spec,
            "stdout_path",
            self.stdout.clone().map(Value::from),
        );
        set(
            &mut spec,
            "stderr_path",
            self.stderr.clone().map(Value::from),
        );
        if !self.env.is_empty() {
            if !spec["environment"].is_object() {
                spec["environment"] = json!({});
            }
            for e in &self.env {
                let Some((k, v)) = e.split_once('=') else {
                    bail!("--env takes NAME=VALUE");
                };
                spec["environment"][k] = json!(v);
            }
        }
        let mut res = |k: &str, v: Option<u64>| {
            if let Some(v) = v {
                if !spec["resources"].is_object() {
                    spec["resources"] = json!({});
                }
                spec["resources"][k] = json!(v);
            }
        };
        res("node_count", self.nodes);
        res("process_count", self.processes);
        res("processes_per_node", self.processes_per_node);
        let mut attr = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                if !spec["attributes"].is_object() {
                    spec["attributes"] = json!({});
                }
                spec["attributes"][k] = v;
            }
        };
        attr("duration", self.duration.map(Value::from));
        attr("queue_name", self.queue.clone().map(Value::from));
        attr("account", self.account.clone().map(Value::from));
        if spec.as_object().is_some_and(|o| o.is_empty()) {
            bail!("give a JobSpec with --spec FILE or at least --executable");
        }
        Ok(spec)
    }
}

#[derive(Subcommand, Debug)]
enum ComputeCommand {
    /// Compute resources.
    Resources,
    /// Submit a job (with an Idempotency-Key).
    Launch {
        /// The compute resource id.
        resource: String,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Change a job's spec (with an Idempotency-Key).
    Update {
        /// The compute resource id.
        resource: String,
        /// The job id.
        job: String,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// List jobs (a POST whose body is the filter).
    List {
        /// The compute resource id.
        resource: String,
        /// Filters as a JSON object (e.g. '{"state":"queued"}').
        #[arg(long, value_name = "JSON")]
        filter: Option<String>,
        /// Skip this many.
        #[arg(long)]
        offset: Option<u64>,
        /// At most this many (≤ 1000).
        #[arg(long)]
        limit: Option<u64>,
        /// Include finished jobs.
        #[arg(long)]
        historical: bool,
        /// Include each job's spec.
        #[arg(long)]
        include_spec: bool,
    },
    /// One job.
    Get {
        /// The compute resource id.
        resource: String,
        /// The job id.
        job: String,
        /// Look in finished jobs too.
        #[arg(long)]
        historical: bool,
        /// Include the job's spec.
        #[arg(long)]
        include_spec: bool,
    },
    /// Cancel a job.
    Cancel {
        /// The compute resource id.
        resource: String,
        /// The job id.
        job: String,
    },
}

#[derive(Args, Debug)]
struct WaitArgs {
    /// Wait for the task to finish and show its result (the default).
    #[arg(long, overrides_with = "no_wait", global = true)]
    wait: bool,
    /// Print the task id and return at once.
    #[arg(long, global = true)]
    no_wait: bool,
    /// Give up waiting after this long.
    #[arg(long, value_name = "DURATION", default_value = "10m", global = true)]
    wait_timeout: humantime::Duration,
}

/// `iri fs`: the library's operations are the subcommands; the task flags and the download's
/// `--output` apply to every one of them.
#[derive(Args, Debug)]
struct FsArgs {
    #[command(subcommand)]
    cmd: FsCommand,
    #[command(flatten)]
    wait: WaitArgs,
    /// With download: where to write the file (mode 0600) instead of stdout.
    #[arg(long, short, global = true)]
    output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum FsCommand {
    /// Filesystem resources.
    Resources,
    #[command(flatten)]
    Op(FsOp),
}

#[derive(Subcommand, Debug)]
enum TaskCommand {
    /// Your tasks.
    List,
    /// One task.
    Get {
        /// Task id.
        id: String,
    },
    /// Wait for a task to finish.
    Wait {
        /// Task id.
        id: String,
        /// Give up after this long.
        #[arg(long, value_name = "DURATION", default_value = "10m")]
        wait_timeout: humantime::Duration,
    },
    /// Cancel a task.
    Cancel {
        /// Task id.
        id: String,
    },
}

/// The operation a command calls (for the compliance check and to know if a token is needed).
fn operation_of(cmd: &IriCommand) -> &'static str {
    match cmd {
        IriCommand::Facility => "getFacility",
        IriCommand::Sites { id, .. } => pick(id, "getSite", "getSites"),
        IriCommand::Status(StatusCommand::Resources { id, .. }) => {
            pick(id, "getResource", "getResources")
        }
        IriCommand::Status(StatusCommand::Incidents { id, .. }) => {
            pick(id, "getIncident", "getIncidents")
        }
        IriCommand::Status(StatusCommand::Events { id, .. }) => {
            pick(id, "getEventByIncident", "getEventsByIncident")
        }
        IriCommand::Account(AccountCommand::Capabilities { id, .. }) => {
            pick(id, "getCapability", "getCapabilities")
        }
        IriCommand::Account(AccountCommand::Projects { id }) => {
            pick(id, "getProject", "getProjects")
        }
        IriCommand::Account(AccountCommand::Allocations { id, .. }) => pick(
            id,
            "getProjectAllocationByProject",
            "getProjectAllocationsByProject",
        ),
        IriCommand::Account(AccountCommand::UserAllocations { id, .. }) => pick(
            id,
            "getUserAllocationByProjectAllocation",
            "getUserAllocationsByProjectAllocation",
        ),
        IriCommand::Compute(c) => match c {
            ComputeCommand::Resources => "getComputeResources",
            ComputeCommand::Launch { .. } => "launchJob",
            ComputeCommand::Update { .. } => "updateJob",
            ComputeCommand::List { .. } => "getJobs",
            ComputeCommand::Get { .. } => "getJob",
            ComputeCommand::Cancel { .. } => "cancelJob",
        },
        IriCommand::Fs(FsArgs {
            cmd: FsCommand::Resources,
            ..
        }) => "getFilesystemResources",
        IriCommand::Fs(FsArgs {
            cmd: FsCommand::Op(op),
            ..
        }) => op.name(),
        IriCommand::Task(t) => match t {
            TaskCommand::List => "getTasks",
            TaskCommand::Get { .. } | TaskCommand::Wait { .. } => "getTask",
            TaskCommand::Cancel { .. } => "deleteTask",
        },
    }
}

fn pick(id: &Option<String>, one: &'static str, many: &'static str) -> &'static str {
    if id.is_some() { one } else { many }
}

/// The Globus app whose stored tokens serve this facility, and the files to look in.
fn globus_sources(
    facility: Facility,
    auth: Endpoint,
) -> Option<(GlobusApp, Vec<(String, PathBuf)>)> {
    let home = globus::home_dir()?;
    match facility {
        Facility::Alcf => Some((GlobusApp::alcf(auth), globus::alcf_token_files(&home))),
        _ => None,
    }
}

/// Finds the token: `--token-from`, config, env, stored Globus tokens, prompt.
fn find_token(
    args: &IriArgs,
    cfg: &ClientConfig,
    http: &Http,
    facility: Facility,
) -> Result<Token> {
    let what = facility.token_name();
    let keys = ["iri", facility.name(), "token"];
    let configured = cfg.credential(&keys)?;
    if let Some(src) = args.client.token_from.as_ref().or(configured.as_ref()) {
        let loaded = src.load(what).with_context(|| format!("no {what}"))?;
        for w in &loaded.warnings {
            eprintln!("tokenwarden: warning: {w}");
        }
        return Ok(loaded.token);
    }
    for var in facility.token_env_vars() {
        match CredentialSource::Env((*var).into()).load(what) {
            Ok(l) => return Ok(l.token),
            Err(CredentialError::EnvUnset(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let auth = Endpoint::parse(
        args.auth_url
            .as_deref()
            .or_else(|| cfg.str(&["globus", "auth_url"]))
            .unwrap_or(globus::DEFAULT_AUTH_URL),
    )?;
    if let Some((app, files)) = globus_sources(facility, auth) {
        for (client_id, path) in files {
            let app = GlobusApp {
                client_id,
                ..app.clone()
            };
            if let Some((token, _)) = globus::stored_access_token(http, &app, &[path])? {
                return Ok(token);
            }
        }
    }
    let tried: Vec<String> = facility
        .token_env_vars()
        .iter()
        .map(|v| format!("env:{v}"))
        .collect();
    let hint = if facility.is_olcf() {
        "create a Project Access Token in myOLCF"
    } else {
        "run `tokenwarden login alcf`"
    };
    credential::resolve(None, &[], what)
        .map(|l| l.token)
        .with_context(|| {
            format!(
                "no {what} (tried {}, the Globus token files; {hint}, or give --token-from)",
                tried.join(", ")
            )
        })
}

/// Runs an IRI subcommand.
pub fn run(args: IriArgs) -> Result<ExitCode> {
    let facility: Facility = args.facility.into();
    let cfg = args.client.config()?;
    let http = args.client.http(&cfg)?;
    let base = args.client.endpoint(
        &cfg,
        &["iri", facility.name(), "url"],
        facility.default_url(),
    )?;
    let check = args.client.url.is_none();
    let op = operation_of(&args.command);
    // Refuse before looking for a token: asking for one to then refuse would be rude.
    let probe = IriClient::new(http.clone(), base.clone(), None, Some(facility), check);
    probe.check(op)?;
    let token = if iri::needs_token(op) {
        Some(find_token(&args, &cfg, &http, facility)?)
    } else {
        None
    };
    let c = IriClient::new(http, base, token, Some(facility), check);
    let json_out = args.client.json;
    match &args.command {
        IriCommand::Facility => {
            let v = c.facility()?;
            show(
                json_out,
                &v,
                &[
                    "id",
                    "short_name",
                    "name",
                    "organization_name",
                    "support_uri",
                ],
            )
        }
        IriCommand::Sites { id, page } => {
            let v = c.sites(id.as_deref(), &page.query())?;
            show(
                json_out,
                &v,
                &["id", "short_name", "name", "locality_name", "country_name"],
            )
        }
        IriCommand::Status(s) => {
            let (kind, id, q, cols): (_, _, Vec<(&str, String)>, &[&str]) = match s {
                StatusCommand::Resources {
                    id,
                    page,
                    resource_type,
                    current_status,
                    group,
                } => {
                    let mut q = page.query();
                    opt(&mut q, "resource_type", resource_type);
                    opt(&mut q, "current_status", current_status);
                    opt(&mut q, "group", group);
                    (
                        StatusKind::Resources,
                        id,
                        q,
                        &["id", "name", "resource_type", "current_status", "group"],
                    )
                }
                StatusCommand::Incidents {
                    id,
                    page,
                    resource_id,
                } => {
                    let mut q = page.query();
                    opt(&mut q, "resource_id", resource_id);
                    (
                        StatusKind::Incidents,
                        id,
                        q,
                        &["id", "name", "status", "type", "start", "end", "resolution"],
                    )
                }
                StatusCommand::Events {
                    id,
                    page,
                    incident_id,
                    resource_id,
                } => {
                    let mut q = page.query();
                    opt(&mut q, "incident_id", incident_id);
                    opt(&mut q, "resource_id", resource_id);
                    (
                        StatusKind::Events,
                        id,
                        q,
                        &["id", "name", "status", "occurred_at"],
                    )
                }
            };
            let v = c.status(kind, id.as_deref(), &q)?;
            show(json_out, &v, cols)
        }
        IriCommand::Account(a) => match a {
            AccountCommand::Capabilities { id, page } => {
                let v = c.capabilities(id.as_deref(), &page.query())?;
                show(json_out, &v, &["id", "name", "units"])
            }
            AccountCommand::Projects { id } => {
                let v = c.projects(id.as_deref())?;
                show(json_out, &v, &["id", "name", "description", "user_ids"])
            }
            AccountCommand::Allocations { project, id } => {
                let v = c.project_allocations(project, id.as_deref())?;
                show_allocations(json_out, &v, "capability_uri")
            }
            AccountCommand::UserAllocations {
                project,
                allocation,
                id,
            } => {
                let v = c.user_allocations(project, allocation, id.as_deref())?;
                show_allocations(json_out, &v, "user_id")
            }
        },
        IriCommand::Compute(cc) => run_compute(&c, cc, json_out),
        IriCommand::Fs(FsArgs {
            cmd: FsCommand::Resources,
            ..
        }) => {
            let v = c.filesystem_resources()?;
            show(
                json_out,
                &v,
                &["id", "name", "resource_type", "current_status"],
            )
        }
        IriCommand::Fs(FsArgs {
            cmd: FsCommand::Op(op),
            wait,
            output,
        }) => run_fs(&c, op, wait, output.as_deref(), json_out),
        IriCommand::Task(t) => match t {
            TaskCommand::List => {
                let v = c.tasks()?;
                show_tasks(json_out, &v)
            }
            TaskCommand::Get { id } => {
                let v = c.task(id)?;
                show_tasks(json_out, &v)
            }
            TaskCommand::Wait { id, wait_timeout } => {
                let task = wait_for(&c, id, (*wait_timeout).into())?;
                finish_task(json_out, &task, None)
            }
            TaskCommand::Cancel { id } => {
                let v = c.cancel_task(id)?;
                if json_out {
                    print_json(&v)?;
                } else {
                    outln!("canceled task {id}");
                }
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

fn opt(q: &mut Vec<(&'static str, String)>, k: &'static str, v: &Option<String>) {
    if let Some(v) = v {
        q.push((k, v.clone()));
    }
}

fn run_compute(c: &IriClient, cmd: &ComputeCommand, json_out: bool) -> Result<ExitCode> {
    let cols: &[&str] = &["id", "status.state", "status.message", "status.exit_code"];
    match cmd {
        ComputeCommand::Resources => {
            let v = c.compute_resources()?;
            show(
                json_out,
                &v,
                &["id", "name", "resource_type", "current_status"],
            )
        }
        ComputeCommand::Launch { resource, spec } => {
            let v = c.launch(resource, &spec.build()?)?;
            if !json_out {
                eprintln!("launched job {} on {resource}", cell(Some(&v["id"])));
            }
            show(json_out, &v, cols)
        }
        ComputeCommand::Update {
            resource,
            job,
            spec,
        } => {
            let v = c.update(resource, job, &spec.build()?)?;
            show(json_out, &v, cols)
        }
        ComputeCommand::List {
            resource,
            filter,
            offset,
            limit,
            historical,
            include_spec,
        } => {
            let filters = match filter {
                Some(f) => {
                    let v: Value =
                        serde_json::from_str(f).context("--filter must be a JSON object")?;
                    if !v.is_object() {
                        bail!("--filter must be a JSON object");
                    }
                    v
                }
                None => json!({}),
            };
            let v = c.jobs(
                resource,
                &filters,
                &JobListOptions {
                    offset: *offset,
                    limit: *limit,
                    historical: *historical,
                    include_spec: *include_spec,
                },
            )?;
            show(json_out, &v, cols)
        }
        ComputeCommand::Get {
            resource,
            job,
            historical,
            include_spec,
        } => {
            let v = c.job(resource, job, *historical, *include_spec)?;
            show(json_out, &v, cols)
        }
        ComputeCommand::Cancel { resource, job } => {
            c.cancel(resource, job)?;
            if json_out {
                print_json(&json!({"canceled": job}))?;
            } else {
                outln!("canceled job {job} on {resource}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_fs(
    c: &IriClient,
    op: &FsOp,
    wait: &WaitArgs,
    output: Option<&std::path::Path>,
    json_out: bool,
) -> Result<ExitCode> {
    if output.is_some() && !matches!(op, FsOp::Download { .. }) {
        bail!(
            "--output is for `iri fs download`; {} writes no file",
            op.name()
        );
    }
    let submitted = c.filesystem(op)?;
    let task_id = submitted["task_id"]
        .as_str()
        .context("the server answered without a task_id")?
        .to_string();
    if wait.no_wait && !wait.wait {
        if json_out {
            print_json(&submitted)?;
        } else {
            outln!("{task_id}");
            eprintln!(
                "submitted {} as task {task_id} (`tokenwarden iri task wait {task_id}`)",
                op.name()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let task = wait_for(c, &task_id, wait.wait_timeout.into())?;
    finish_task(json_out, &task, output)
}

fn wait_for(c: &IriClient, id: &str, timeout: std::time::Duration) -> Result<Value> {
    let bar = common::spinner(&format!("task {id}: pending"));
    let poll = PollOptions {
        timeout,
        ..PollOptions::default()
    };
    let task = c.wait_task(id, &poll, |t| {
        if let Some(b) = &bar {
            b.set_message(format!("task {id}: {}", cell(Some(&t["status"]))));
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(task?)
}

/// Prints a finished task: its result (text output as text), and exits 1 unless completed.
fn finish_task(json_out: bool, task: &Value, output: Option<&std::path::Path>) -> Result<ExitCode> {
    let state = TaskState::of(task);
    let result = &task["result"];
    let out = &result["output"];
    if let Some(path) = output {
        let text = out
            .as_str()
            .context("the task result holds no file content")?;
        tokenwarden::private_file::write(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {} bytes to {}", text.len(), path.display());
    } else if json_out {
        print_json(task)?;
    } else if let Some(s) = out.as_str() {
        out!("{s}");
        if !s.ends_with('\n') {
            outln!();
        }
    } else if let Some(items) = out.as_array().filter(|a| a.iter().all(Value::is_object)) {
        let mut headers: Vec<String> = Vec::new();
        for it in items {
            for k in it.as_object().into_iter().flat_map(|o| o.keys()) {
                if !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
        }
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|it| headers.iter().map(|h| cell(it.get(h))).collect())
            .collect();
        let hs: Vec<&str> = headers.iter().map(String::as_str).collect();
        print_table(&hs, &rows);
    } else if !result.is_null() {
        print_json(if out.is_null() { result } else { out })?;
    }
    match state {
        TaskState::Completed => Ok(ExitCode::SUCCESS),
        other => {
            eprintln!(
                "tokenwarden: task {} ended {:?}{}",
                cell(Some(&task["id"])),
                other,
                result["error"]
                    .as_str()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// A field by dotted path (`status.state`).
fn field<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// Prints a list (one row per item) or one object (one row) under `cols`, or the JSON.
fn show(json_out: bool, v: &Value, cols: &[&str]) -> Result<ExitCode> {
    if json_out {
        print_json(v)?;
        return Ok(ExitCode::SUCCESS);
    }
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    };
    let headers: Vec<String> = cols
        .iter()
        .map(|c| c.rsplit('.').next().unwrap_or(c).to_uppercase())
        .collect();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|it| cols.iter().map(|c| cell(field(it, c))).collect())
        .collect();
    let hs: Vec<&str> = headers.iter().map(String::as_str).collect();
    print_table(&hs, &rows);
    Ok(ExitCode::SUCCESS)
}

fn show_allocations(json_out: bool, v: &Value, who: &str) -> Result<ExitCode> {
    if json_out {
        print_json(v)?;
        return Ok(ExitCode::SUCCESS);
    }
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut rows = Vec::new();
    for it in items {
        for e in it["entries"].as_array().into_iter().flatten() {
            rows.push(vec![
                cell(it.get("id")),
                cell(it.get(who)),
                cell(e.get("unit")),
                cell(e.get("usage")),
                cell(e.get("allocation")),
            ]);
        }
    }
    print_table(
        &["ID", &who.to_uppercase(), "UNIT", "USAGE", "ALLOCATION"],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

fn show_tasks(json_out: bool, v: &Value) -> Result<ExitCode> {
    show(json_out, v, &["id", "status", "command.command"])
}
