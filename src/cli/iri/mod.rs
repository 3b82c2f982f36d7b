//! `tokenwarden iri …`: the IRI Facility API v1 at ALCF, NERSC and OLCF (amsc).
//!
//! Flags become calls on [`tokenwarden::facilities::iri::IriClient`]; answers become tables, or
//! the API's JSON with `--json`. The token is looked for only when the operation needs one (the
//! spec's public operations go out without it), in this order: `--token-from`, the config's
//! `[iri.<facility>] token`, the facility's environment variables, the Globus token files
//! `tokenwarden login` and the ALCF tools write (refreshed when about to expire), a prompt.

mod compute;
mod tasks;

use compute::*;
use tasks::*;

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
    pub(super) offset: Option<u64>,
    /// At most this many.
    #[arg(long)]
    pub(super) limit: Option<u64>,
    /// Filter by name.
    #[arg(long)]
    pub(super) name: Option<String>,
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
    if let IriCommand::Fs(fs) = &args.command {
        fs.check_output()?;
    }
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
