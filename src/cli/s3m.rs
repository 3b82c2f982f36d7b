//! `tokenwarden s3m …`: OLCF S3M status, token introspection and revocation, Slurm through S3M,
//! and streaming clusters. The REST calls live in `tokenwarden::facilities::s3m`; this file turns
//! flags into calls and answers into tables or JSON, and holds the two human safeguards the
//! library cannot: the confirmation before an irreversible revocation, and the redaction of
//! streaming passwords on screen.

use crate::cli::common::{ClientArgs, cell, print_json, print_table};
use crate::cli::jobs::{self, JobArgs};
use crate::cli::slurm::{Listing, print_listing};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokenwarden::facilities::credential::{CredentialSource, Token};
use tokenwarden::facilities::s3m::{
    self, Backend, ClusterSettings, PathStyle, S3m, S3mSlurm, SlurmVersion,
};
use tokenwarden::facilities::slurm::JobRequest;

/// OLCF S3M: status, token introspect/revoke, Slurm per resource and enclave, streaming.
#[derive(Args, Debug)]
pub struct S3mArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Security enclave in the request paths [default: [s3m] enclave in the config, else open].
    #[arg(long, value_name = "NAME", global = true)]
    enclave: Option<String>,
    /// Use the pre-2026 paths without the enclave (`/slurm/v0.0.43/…`,
    /// `/olcf/v1alpha/streaming/…`); also `[s3m] paths = "legacy"` in the config.
    #[arg(long, global = true)]
    legacy_paths: bool,
    /// Show streaming cluster passwords and credential URLs in full.
    #[arg(long, global = true)]
    show_secrets: bool,
    #[command(subcommand)]
    command: S3mCommand,
}

#[derive(Subcommand, Debug)]
enum S3mCommand {
    /// Resource status (no token needed, and none is sent): all resources, or one.
    Status {
        /// One resource (defiant, odo, frontier, …).
        resource: Option<String>,
    },
    /// Downtimes in effect now, or (with --upcoming) in the next 10 days. No token is sent.
    Downtimes {
        /// The upcoming downtimes instead of the current ones.
        #[arg(long)]
        upcoming: bool,
    },
    /// The token itself: introspect (owner, project, expiry) or revoke (irreversible).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Slurm on an OLCF resource, through S3M.
    Slurm(SlurmArgs),
    /// Streaming: backends, and RabbitMQ / Redis clusters.
    #[command(subcommand)]
    Stream(StreamCommand),
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Show what the token is: user, project, enclave, permissions, planned expiration.
    Introspect,
    /// Revoke the token at S3M. Irreversible: asks for confirmation on a terminal; give --yes
    /// when there is none.
    Revoke {
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args, Debug)]
struct SlurmArgs {
    /// The resource (defiant, odo, wombat, quokka) [default: [s3m] resource in the config].
    #[arg(long, short = 'r', value_name = "NAME")]
    resource: Option<String>,
    /// Slurm REST API version: v0.0.42, v0.0.43 or v0.0.44 [default: [s3m] api in the
    /// config, else v0.0.43].
    #[arg(long = "api-version", alias = "api", value_name = "VERSION")]
    api: Option<String>,
    #[command(subcommand)]
    command: SlurmCommand,
}

#[derive(Subcommand, Debug)]
enum SlurmCommand {
    /// Ping the controllers.
    Ping,
    /// Scheduler statistics.
    Diag,
    /// List jobs.
    Jobs,
    /// Nodes.
    Nodes,
    /// Partitions.
    Partitions,
    /// Reservations.
    Reservations,
    /// One job: get, submit, cancel.
    #[command(subcommand)]
    Job(JobCommand),
}

#[derive(Subcommand, Debug)]
enum JobCommand {
    /// Show one job.
    Get {
        /// The job id.
        job_id: String,
    },
    /// Submit a batch script (its `#SBATCH` lines are read; flags override them).
    Submit(Box<SubmitArgs>),
    /// Cancel (or signal) a job.
    Cancel {
        /// The job id.
        job_id: String,
        /// Signal to send instead of the default SIGTERM (e.g. SIGUSR1, KILL).
        #[arg(long, value_name = "SIGNAL")]
        signal: Option<String>,
    },
}

/// `s3m slurm job submit`: the flags every Slurm submission takes, and S3M's own.
#[derive(Args, Debug)]
struct SubmitArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Send the description as a one-element `jobs` list (v0.0.44 only) instead of `job`.
    #[arg(long)]
    jobs_array: bool,
}

#[derive(Subcommand, Debug)]
enum StreamCommand {
    /// List the streaming backends S3M offers.
    Backends,
    /// RabbitMQ clusters.
    #[command(subcommand)]
    Rabbitmq(ClusterCommand),
    /// Redis clusters.
    #[command(subcommand)]
    Redis(ClusterCommand),
}

#[derive(Subcommand, Debug)]
enum ClusterCommand {
    /// Provision a cluster (7-day lifetime; extend to keep it). Its password is a secret:
    /// shown redacted unless --show-secrets; --save writes it to a 0600 file.
    Provision {
        /// Cluster name (lower-case letters, digits, dashes).
        name: String,
        /// CPUs per node.
        #[arg(long, default_value_t = 2)]
        cpus: u32,
        /// RAM per node in GB.
        #[arg(long, default_value_t = 4)]
        ram_gbs: u32,
        /// Nodes.
        #[arg(long, default_value_t = 1)]
        nodes: u32,
        /// Cluster kind.
        #[arg(long, default_value = "general")]
        kind: String,
        /// Write the full answer, credentials included, to FILE (mode 0600, atomically).
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
    },
    /// List your clusters.
    List,
    /// Show one cluster.
    Get {
        /// Cluster name.
        name: String,
        /// Write the full answer, credentials included, to FILE (mode 0600, atomically).
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
    },
    /// Delete a cluster (its data and credentials go with it).
    Delete {
        /// Cluster name.
        name: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Reset the cluster's 7-day lifetime.
    Extend {
        /// Cluster name.
        name: String,
    },
}

/// Runs `tokenwarden s3m …`.
pub fn run(args: S3mArgs) -> Result<ExitCode> {
    let cfg = args.client.config()?;
    let http = args.client.http(&cfg)?;
    let base = args
        .client
        .endpoint(&cfg, &["s3m", "url"], s3m::DEFAULT_URL)?;
    let enclave = args
        .enclave
        .clone()
        .or_else(|| cfg.str(&["s3m", "enclave"]).map(str::to_string))
        .unwrap_or_else(|| s3m::DEFAULT_ENCLAVE.to_string());
    let paths = if args.legacy_paths {
        PathStyle::Legacy
    } else {
        match cfg.str(&["s3m", "paths"]) {
            Some(p) => p.parse()?,
            None => PathStyle::Current,
        }
    };
    let client = S3m::new(http, base, &enclave, paths)?;
    let token = || -> Result<Token> {
        args.client.token(
            &cfg,
            &["s3m", "token"],
            &[
                CredentialSource::Env("S3M_TOKEN".into()),
                CredentialSource::Keyring("s3m".into()),
            ],
            s3m::TOKEN_WHAT,
        )
    };
    let json = args.client.json;
    match &args.command {
        S3mCommand::Status { resource } => {
            let v = match resource {
                Some(r) => client.status_resource(r)?,
                None => client.status_resources()?,
            };
            if json {
                print_json(&v)?;
            } else if resource.is_some() {
                print_resources(std::slice::from_ref(&v));
                if let Some(d) = v.get("upcomingDowntimes").and_then(Value::as_array)
                    && !d.is_empty()
                {
                    outln!();
                    print_downtimes(d);
                }
            } else {
                print_resources(list_in(&v, &["resources", "items"]));
            }
            Ok(ExitCode::SUCCESS)
        }
        S3mCommand::Downtimes { upcoming } => {
            let v = client.downtimes(*upcoming)?;
            if json {
                print_json(&v)?;
            } else {
                let d = list_in(&v, &["downtimes"]);
                if d.is_empty() {
                    outln!(
                        "no {} downtimes",
                        if *upcoming { "upcoming" } else { "current" }
                    );
                } else {
                    print_downtimes(d);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        S3mCommand::Token(TokenCommand::Introspect) => {
            let t = token()?;
            let v = client.introspect(&t)?;
            if json {
                print_json(&v)?;
            } else {
                print_object(v.get("token").unwrap_or(&v));
            }
            Ok(ExitCode::SUCCESS)
        }
        S3mCommand::Token(TokenCommand::Revoke { yes }) => {
            let t = token()?;
            let what = format!(
                "revoke the S3M token {} at {} — this cannot be undone",
                t.preview(),
                client.base()
            );
            if !confirm(&what, *yes)? {
                eprintln!("not revoked");
                return Ok(ExitCode::from(1));
            }
            let v = client.revoke(&t)?;
            if json {
                print_json(&v)?;
            } else {
                outln!(
                    "revoked the S3M token {}; remove it from wherever it is stored",
                    t.preview()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        S3mCommand::Slurm(sa) => {
            // A job is checked (script, directives, environment) before any credential is
            // read or any request made.
            let job = match &sa.command {
                SlurmCommand::Job(JobCommand::Submit(sub)) => Some(s3m_job(sub)?),
                _ => None,
            };
            run_slurm(&client, sa, &cfg, &token()?, job, json)
        }
        S3mCommand::Stream(sc) => run_stream(&client, sc, &token()?, json, args.show_secrets),
    }
}

fn run_slurm(
    client: &S3m,
    sa: &SlurmArgs,
    cfg: &tokenwarden::facilities::ClientConfig,
    token: &Token,
    job: Option<JobRequest>,
    json: bool,
) -> Result<ExitCode> {
    let resource = sa
        .resource
        .clone()
        .or_else(|| cfg.str(&["s3m", "resource"]).map(str::to_string))
        .context("which resource? give --resource (defiant, odo, wombat, quokka)")?;
    let version: SlurmVersion = sa
        .api
        .as_deref()
        .or_else(|| cfg.str(&["s3m", "api"]))
        .unwrap_or("v0.0.43")
        .parse()?;
    let simple =
        |what: &str| -> Result<Value> { Ok(client.slurm_get(token, version, &resource, what)?) };
    let show = |listing: Listing, v: Value| -> Value {
        if !json {
            print_listing(listing, &v);
        }
        v
    };
    let v = match &sa.command {
        SlurmCommand::Ping => show(Listing::Ping, simple("ping")?),
        SlurmCommand::Diag => show(Listing::Diag, simple("diag")?),
        SlurmCommand::Jobs => show(Listing::Jobs, simple("jobs")?),
        SlurmCommand::Nodes => show(Listing::Nodes, simple("nodes")?),
        SlurmCommand::Partitions => show(Listing::Partitions, simple("partitions")?),
        SlurmCommand::Reservations => show(Listing::Reservations, simple("reservations")?),
        SlurmCommand::Job(JobCommand::Get { job_id }) => {
            let v = client.job_get(token, version, &resource, job_id)?;
            if !json {
                match list_in(&v, &["jobs"]).first() {
                    Some(job) => print_listing(Listing::Job, job),
                    None => outln!("no job {job_id}"),
                }
            }
            v
        }
        SlurmCommand::Job(JobCommand::Cancel { job_id, signal }) => {
            let v = client.job_cancel(token, version, &resource, job_id, signal.as_deref())?;
            if !json && slurm_errors(&v) == 0 {
                match signal {
                    Some(s) => outln!("sent {s} to job {job_id} on {resource}"),
                    None => outln!("cancelled job {job_id} on {resource}"),
                }
            }
            v
        }
        SlurmCommand::Job(JobCommand::Submit(sub)) => {
            let job = job.context("the job was prepared before the token was read")?;
            let api = S3mSlurm {
                client,
                token,
                version,
                resource: &resource,
                jobs_array: sub.jobs_array,
            };
            return jobs::submit(&api, &job, &sub.job, &format!(" on {resource}"), json);
        }
    };
    if json {
        print_json(&v)?;
    }
    Ok(if slurm_errors(&v) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The job an S3M submission sends. S3M's resources want a working directory and a name:
/// `/tmp` and the script's file name unless the script or the flags give them.
fn s3m_job(sub: &SubmitArgs) -> Result<JobRequest> {
    let mut job = sub.job.request()?;
    if job.cwd.is_none() {
        job.cwd = Some("/tmp".into());
    }
    if job.name.is_none() {
        job.name = sub
            .job
            .script
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
    }
    Ok(job)
}

fn run_stream(
    client: &S3m,
    sc: &StreamCommand,
    token: &Token,
    json: bool,
    show_secrets: bool,
) -> Result<ExitCode> {
    let (backend, cmd) = match sc {
        StreamCommand::Backends => {
            let v = client.list_backends(token)?;
            if json {
                print_json(&v)?;
            } else {
                let rows: Vec<Vec<String>> = list_in(&v, &["backends"])
                    .iter()
                    .map(|b| match b {
                        Value::Object(_) => vec![
                            cell(b.get("name").or(b.get("kind"))),
                            cell(b.get("description").or(b.get("status"))),
                        ],
                        other => vec![cell(Some(other)), "-".into()],
                    })
                    .collect();
                print_table(&["BACKEND", "DESCRIPTION"], &rows);
            }
            return Ok(ExitCode::SUCCESS);
        }
        StreamCommand::Rabbitmq(c) => (Backend::Rabbitmq, c),
        StreamCommand::Redis(c) => (Backend::Redis, c),
    };
    let show = |mut v: Value, save: Option<&Path>| -> Result<()> {
        if let Some(path) = save {
            let text = serde_json::to_string_pretty(&v)?;
            tokenwarden::private_file::write(path, format!("{text}\n").as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "saved the cluster's credentials to {} (mode 0600)",
                path.display()
            );
        }
        let cut = if show_secrets {
            0
        } else {
            s3m::redact_stream_secrets(&mut v)
        };
        if json {
            print_json(&v)?;
        } else if let Some(list) = v
            .get("clusters")
            .and_then(Value::as_array)
            .or_else(|| v.as_array())
        {
            print_clusters(list);
        } else {
            print_object(&v);
        }
        if cut > 0 && save.is_none() {
            eprintln!(
                "credentials redacted; --show-secrets shows them, --save FILE writes them to a \
                 0600 file"
            );
        }
        Ok(())
    };
    match cmd {
        ClusterCommand::Provision {
            name,
            cpus,
            ram_gbs,
            nodes,
            kind,
            save,
        } => {
            let v = client.provision(
                token,
                backend,
                &ClusterSettings {
                    kind: kind.clone(),
                    name: name.clone(),
                    cpus: *cpus,
                    ram_gbs: *ram_gbs,
                    nodes: *nodes,
                },
            )?;
            show(v, save.as_deref())?;
            if !json {
                eprintln!(
                    "the cluster is deleted 7 days from now unless extended \
                     (`tokenwarden s3m stream {} extend {name}`)",
                    backend.as_str()
                );
            }
        }
        ClusterCommand::List => show(client.list_clusters(token, backend)?, None)?,
        ClusterCommand::Get { name, save } => {
            show(client.get_cluster(token, backend, name)?, save.as_deref())?
        }
        ClusterCommand::Delete { name, yes } => {
            let what = format!(
                "delete the {} cluster {name:?} and everything in it",
                backend.as_str()
            );
            if !confirm(&what, *yes)? {
                eprintln!("not deleted");
                return Ok(ExitCode::from(1));
            }
            let v = client.delete_cluster(token, backend, name)?;
            if json {
                print_json(&v)?;
            } else {
                outln!("deleted the {} cluster {name}", backend.as_str());
            }
        }
        ClusterCommand::Extend { name } => {
            let v = client.extend_cluster(token, backend, name)?;
            if json {
                print_json(&v)?;
            } else {
                outln!(
                    "extended the {} cluster {name} for 7 days",
                    backend.as_str()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks before something that cannot be undone. `--yes` answers for scripts; without it and
/// without a terminal to ask on, the answer is no — silence must never mean consent.
fn confirm(what: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        bail!("refusing to {what} without confirmation: there is no terminal to ask on; add --yes");
    }
    eprint!("About to {what}.\nType yes to go on: ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().eq_ignore_ascii_case("yes"))
}

/// The list under the first of `keys`, or the value itself when it is a list.
fn list_in<'a>(v: &'a Value, keys: &[&str]) -> &'a [Value] {
    if let Some(a) = v.as_array() {
        return a;
    }
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_array))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Prints Slurm's `errors` and `warnings` to stderr; returns how many errors there were.
fn slurm_errors(v: &Value) -> usize {
    for w in list_in(v, &["warnings"]).iter() {
        eprintln!("slurm warning: {}", cell(w.get("description")));
    }
    let errors = list_in(v, &["errors"]);
    for e in errors {
        eprintln!(
            "slurm error: {} ({})",
            cell(e.get("description")),
            cell(e.get("error"))
        );
    }
    errors.len()
}

fn print_resources(list: &[Value]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                cell(r.get("name")),
                cell(r.get("status")),
                cell(r.get("securityEnclave")),
                cell(r.get("systemType")),
                cell(r.get("description")),
            ]
        })
        .collect();
    print_table(
        &["RESOURCE", "STATUS", "ENCLAVE", "TYPE", "DESCRIPTION"],
        &rows,
    );
}

fn print_downtimes(list: &[Value]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                cell(d.get("resourceName")),
                cell(d.get("status")),
                cell(d.get("start")),
                cell(d.get("end")),
                cell(d.get("description")),
            ]
        })
        .collect();
    print_table(
        &["RESOURCE", "STATUS", "START", "END", "DESCRIPTION"],
        &rows,
    );
}

fn print_clusters(list: &[Value]) {
    if list.is_empty() {
        outln!("no clusters");
        return;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                cell(c.get("name")),
                cell(c.get("status")),
                cell(c.get("amqpsUrl").or(c.get("url"))),
                cell(c.get("expiresAt").or(c.get("expiration"))),
            ]
        })
        .collect();
    print_table(&["CLUSTER", "STATUS", "URL", "EXPIRES"], &rows);
}

/// Prints an object's scalar fields as a two-column table (nested objects as compact JSON).
fn print_object(v: &Value) {
    let Some(map) = v.as_object() else {
        outln!("{}", cell(Some(v)));
        return;
    };
    let rows: Vec<Vec<String>> = map
        .iter()
        .map(|(k, x)| {
            let shown = match x {
                Value::Object(o)
                    if !(o.contains_key("number") || o.contains_key("set") && o.len() <= 3) =>
                {
                    serde_json::to_string(x).unwrap_or_default()
                }
                Value::Array(a) if a.iter().any(Value::is_object) => {
                    serde_json::to_string(x).unwrap_or_default()
                }
                _ => cell(Some(x)),
            };
            vec![k.clone(), shown]
        })
        .collect();
    print_table(&["FIELD", "VALUE"], &rows);
}
