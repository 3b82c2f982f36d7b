//! `tokenwarden slurm …` (any slurmrestd) and `tokenwarden palmetto …` (Clemson's gateway).

use crate::cli::common::{ClientArgs, cell, print_json, print_table};
use crate::cli::jobs::{self, JobArgs, exit_code_cell};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use tokenwarden::facilities::credential::{self, CredentialSource};
use tokenwarden::facilities::slurm::{
    self, ApiVersion, Auth, Gateway, JobPoll, JobRequest, Munge, SlurmClient,
};

/// Flags shared by every slurm/palmetto subcommand.
#[derive(Args, Debug)]
pub struct SlurmArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// REST API version: v0.0.36 … v0.0.45, or latest [default: latest, or the config's].
    #[arg(
        long = "api-version",
        value_name = "VERSION",
        global = true,
        help_heading = "Slurm API (any subcommand)"
    )]
    api_version: Option<String>,
    /// How to authenticate [default: slurm: jwt; palmetto: bearer when a key is configured or
    /// PALMETTO_API_KEY is set, else munge].
    #[arg(
        long,
        value_enum,
        global = true,
        help_heading = "Slurm API (any subcommand)"
    )]
    auth: Option<AuthKind>,
    /// User name for --auth user-token (for jwt it overrides the token's `sun`).
    #[arg(
        long,
        value_name = "NAME",
        global = true,
        help_heading = "Slurm API (any subcommand)"
    )]
    user: Option<String>,
    /// munged's socket, for --auth munge (palmetto).
    #[arg(
        long,
        value_name = "PATH",
        global = true,
        help_heading = "Slurm API (any subcommand)"
    )]
    munge_socket: Option<PathBuf>,
    #[command(subcommand)]
    command: SlurmCommand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AuthKind {
    /// A Slurm JWT (`scontrol token`), user name from its `sun` claim.
    Jwt,
    /// X-SLURM-USER-NAME (--user) + X-SLURM-USER-TOKEN.
    UserToken,
    /// Authorization: Bearer (Palmetto API keys).
    Bearer,
    /// Authorization: MUNGE, a fresh `munge -n -t 5` credential per request (Palmetto only).
    Munge,
}

#[derive(Subcommand, Debug)]
enum SlurmCommand {
    /// Is slurmctld reachable through the API (authenticated)?
    Ping,
    /// Scheduler statistics.
    Diag,
    /// The API versions the server offers.
    Versions,
    /// List jobs.
    Jobs,
    /// Show one job.
    Job {
        /// The job id.
        id: u64,
    },
    /// Submit a batch script (its #SBATCH lines are read; flags override them).
    Submit(Box<JobArgs>),
    /// Submit a sweep planned by `tokenwarden sweep plan`: its job array, then its merge job
    /// (after the array, whatever its tasks' fate); `--array` re-runs only some shards.
    SubmitSweep {
        /// The sweep directory.
        dir: std::path::PathBuf,
        /// Only these array indices (`2,5`), as `sweep status` suggests.
        #[arg(long)]
        array: Option<String>,
        /// Wait for the merge job to finish.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this long.
        #[arg(long, default_value = "1h")]
        wait_timeout: humantime::Duration,
    },
    /// Cancel (or signal) a job.
    Cancel {
        /// The job id.
        id: u64,
        /// Signal to send instead of cancelling (e.g. SIGUSR1).
        #[arg(long, value_name = "SIGNAL")]
        signal: Option<String>,
    },
    /// List nodes.
    Nodes,
    /// List partitions.
    Partitions,
    /// List reservations.
    Reservations,
}

/// Runs a slurm or palmetto subcommand.
pub fn run(args: SlurmArgs, gateway: Gateway) -> Result<ExitCode> {
    let section = match gateway {
        Gateway::Slurmrestd => "slurm",
        Gateway::Palmetto => "palmetto",
    };
    let cfg = args.client.config()?;
    let http = args.client.http(&cfg)?;
    let base = match gateway {
        Gateway::Palmetto => args
            .client
            .endpoint(&cfg, &[section, "url"], slurm::PALMETTO_URL)?,
        Gateway::Slurmrestd => {
            let url = args
                .client
                .url
                .as_deref()
                .or_else(|| cfg.str(&[section, "url"]))
                .context(
                    "which slurmrestd? give --url https://… or set `url` under [slurm] in your \
                     config file",
                )?;
            tokenwarden::facilities::Endpoint::parse(url)?
        }
    };
    let version: ApiVersion = args
        .api_version
        .as_deref()
        .or_else(|| cfg.str(&[section, "version"]))
        .unwrap_or("latest")
        .parse()?;

    // Palmetto's unauthenticated calls need no credential at all.
    if gateway == Gateway::Palmetto && matches!(args.command, SlurmCommand::Versions) {
        let client = SlurmClient::new(http, base, version, gateway, Auth::Munge(Munge::default()))?;
        return versions(&client, args.client.json);
    }

    // A job is checked (script, directives, environment) before any credential is read or
    // any request made.
    let prepared = match &args.command {
        SlurmCommand::Submit(s) => Some(s.request()?),
        _ => None,
    };
    let auth = auth(&args, &cfg, section, gateway)?;
    let mut client = SlurmClient::new(http, base, version, gateway, auth)?;
    client.resolve_latest()?;
    let json = args.client.json;
    let (listing, v) = match args.command {
        SlurmCommand::Ping => (Listing::Ping, client.ping()?),
        SlurmCommand::Diag => (Listing::Diag, client.diag()?),
        SlurmCommand::Versions => return versions(&client, json),
        SlurmCommand::Jobs => (Listing::Jobs, client.jobs()?),
        SlurmCommand::Job { id } => (Listing::Job, client.job(id)?),
        SlurmCommand::Submit(s) => {
            let job = prepared.context("the job was prepared above")?;
            return jobs::submit(&client, &job, &s, "", json);
        }
        SlurmCommand::SubmitSweep {
            dir,
            array,
            wait,
            wait_timeout,
        } => return submit_sweep(&client, &dir, array, wait, wait_timeout.into(), json),
        SlurmCommand::Cancel { id, signal } => {
            let v = client.cancel(id, signal.as_deref())?;
            if json {
                print_json(&v)?;
            } else {
                match signal {
                    Some(s) => outln!("sent {s} to job {id}"),
                    None => outln!("cancelled job {id}"),
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        SlurmCommand::Nodes => (Listing::Nodes, client.nodes()?),
        SlurmCommand::Partitions => (Listing::Partitions, client.partitions()?),
        SlurmCommand::Reservations => (Listing::Reservations, client.reservations()?),
    };
    if json {
        print_json(&v)?;
    } else {
        print_listing(listing, &v);
    }
    Ok(ExitCode::SUCCESS)
}

/// The slurmrestd answers printed as tables, by `slurm`, `palmetto` and `s3m slurm` alike.
/// Field names follow the version: v0.0.38 and older are flat, v0.0.39+ nest nodes, CPUs and
/// limits and list job states.
#[derive(Clone, Copy, Debug)]
pub enum Listing {
    /// `ping/`.
    Ping,
    /// `diag/` statistics.
    Diag,
    /// `jobs/`.
    Jobs,
    /// One job record (not the `jobs` wrapper).
    Job,
    /// `nodes/`.
    Nodes,
    /// `partitions/`.
    Partitions,
    /// `reservations/`.
    Reservations,
}

/// Prints a slurmrestd answer as a table.
pub fn print_listing(kind: Listing, v: &Value) {
    match kind {
        Listing::Ping => {
            let rows = rows(v, "pings", |p| {
                vec![
                    cell(p.get("hostname")),
                    cell(p.get("pinged").or_else(|| p.get("ping"))),
                    cell(p.get("latency")),
                    cell(p.get("mode")),
                ]
            });
            print_table(&["HOST", "STATUS", "LATENCY(us)", "MODE"], &rows);
        }
        Listing::Diag => {
            let stats = v.get("statistics").and_then(Value::as_object);
            let rows: Vec<Vec<String>> = stats
                .into_iter()
                .flatten()
                .filter(|(_, val)| !val.is_array() && !val.is_object() || is_noval(val))
                .map(|(k, val)| vec![k.clone(), cell(Some(val))])
                .collect();
            print_table(&["STATISTIC", "VALUE"], &rows);
        }
        Listing::Jobs => {
            let rows = rows(v, "jobs", job_row);
            print_table(
                &[
                    "JOBID",
                    "NAME",
                    "USER",
                    "STATE",
                    "PARTITION",
                    "TIME LIMIT",
                    "NODES",
                ],
                &rows,
            );
        }
        Listing::Job => print_job(v),
        Listing::Nodes => {
            let rows = rows(v, "nodes", |n| {
                vec![
                    cell(n.get("name")),
                    cell(n.get("state")),
                    cell(n.get("cpus")),
                    cell(n.get("real_memory")),
                    cell(n.get("partitions")),
                ]
            });
            print_table(
                &["NODE", "STATE", "CPUS", "MEMORY(MB)", "PARTITIONS"],
                &rows,
            );
        }
        Listing::Partitions => {
            let rows = rows(v, "partitions", |p| {
                vec![
                    cell(p.get("name")),
                    cell(p.pointer("/partition/state").or_else(|| p.get("state"))),
                    cell(p.pointer("/nodes/configured").or_else(|| p.get("nodes"))),
                    cell(p.pointer("/nodes/total").or_else(|| p.get("total_nodes"))),
                    cell(p.pointer("/cpus/total").or_else(|| p.get("total_cpus"))),
                    time_cell(
                        p.pointer("/maximums/time")
                            .or_else(|| p.get("max_time_limit")),
                    ),
                ]
            });
            print_table(
                &[
                    "PARTITION",
                    "STATE",
                    "NODES",
                    "TOTAL NODES",
                    "CPUS",
                    "MAX TIME",
                ],
                &rows,
            );
        }
        Listing::Reservations => {
            let rows = rows(v, "reservations", |r| {
                vec![
                    cell(r.get("name")),
                    cell(r.get("node_list")),
                    cell(r.get("start_time")),
                    cell(r.get("end_time")),
                    cell(r.get("users")),
                ]
            });
            if rows.is_empty() {
                outln!("no reservations");
            } else {
                print_table(&["RESERVATION", "NODES", "START", "END", "USERS"], &rows);
            }
        }
    }
}

fn versions(client: &SlurmClient, json: bool) -> Result<ExitCode> {
    let v = client.versions()?;
    if json {
        print_json(&Value::from(v))?;
    } else {
        for s in v {
            outln!("{s}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn auth(
    args: &SlurmArgs,
    cfg: &tokenwarden::facilities::ClientConfig,
    section: &str,
    gateway: Gateway,
) -> Result<Auth> {
    let configured_kind = cfg
        .str(&[section, "auth"])
        .map(|s| AuthKind::from_str(s, true).map_err(anyhow::Error::msg))
        .transpose()?;
    let user = args
        .user
        .clone()
        .or_else(|| cfg.str(&[section, "user"]).map(str::to_string));
    let kind = match args.auth.or(configured_kind) {
        Some(k) => k,
        None => match gateway {
            Gateway::Slurmrestd => AuthKind::Jwt,
            Gateway::Palmetto => {
                let have_key = args.client.token_from.is_some()
                    || cfg.str(&[section, "token"]).is_some()
                    || std::env::var("PALMETTO_API_KEY").is_ok_and(|v| !v.trim().is_empty());
                if have_key {
                    AuthKind::Bearer
                } else {
                    AuthKind::Munge
                }
            }
        },
    };
    let defaults: Vec<CredentialSource> = match gateway {
        Gateway::Slurmrestd => vec![
            CredentialSource::Env("SLURM_JWT".into()),
            CredentialSource::Keyring("slurm".into()),
        ],
        Gateway::Palmetto => vec![
            CredentialSource::Env("PALMETTO_API_KEY".into()),
            CredentialSource::Keyring("palmetto".into()),
        ],
    };
    let token = |what: &str| -> Result<credential::Token> {
        let t = args
            .client
            .token(cfg, &[section, "token"], &defaults, what)?;
        if t.expose() == "daemon" {
            // `SLURM_JWT=daemon` is slurmrestd's own mode switch, not a token.
            bail!(
                "SLURM_JWT is `daemon` (a slurmrestd setting), not a token: run `scontrol token`"
            );
        }
        Ok(t)
    };
    Ok(match kind {
        AuthKind::Jwt => Auth::jwt(token("Slurm JWT")?, user)?,
        AuthKind::UserToken => {
            let user = user.context("--auth user-token needs --user (or `user` in the config)")?;
            Auth::UserToken {
                user,
                token: token("Slurm user token")?,
            }
        }
        AuthKind::Bearer => Auth::Bearer(token(match gateway {
            Gateway::Palmetto => "Palmetto API key",
            Gateway::Slurmrestd => "bearer token",
        })?),
        AuthKind::Munge => Auth::Munge(Munge {
            program: PathBuf::from("munge"),
            socket: args
                .munge_socket
                .clone()
                .or_else(|| cfg.str(&[section, "munge_socket"]).map(PathBuf::from)),
        }),
    })
}

/// Submits a planned sweep: the array job, then the merge job after it.
fn submit_sweep(
    client: &SlurmClient,
    dir: &std::path::Path,
    array: Option<String>,
    wait: bool,
    timeout: std::time::Duration,
    json: bool,
) -> Result<ExitCode> {
    let dir = std::fs::canonicalize(dir)
        .with_context(|| format!("no sweep directory {}", dir.display()))?;
    let read = |name: &str| -> Result<JobRequest> {
        let p = dir.join(name);
        let text = std::fs::read_to_string(&p).with_context(|| {
            format!(
                "cannot read {} (run tokenwarden sweep plan first)",
                p.display()
            )
        })?;
        let mut job = JobRequest::from_script(&text)?;
        job.cwd = Some(dir.display().to_string());
        Ok(job)
    };
    let mut sweep = read("sweep.sbatch")?;
    if let Some(a) = array {
        sweep.array = Some(a);
    }
    let (array_id, _) = client.submit(&sweep)?;
    let mut merge = read("merge.sbatch")?;
    merge.dependency = Some(format!("afterany:{array_id}"));
    let (merge_id, _) = client.submit(&merge)?;
    if json {
        print_json(&serde_json::json!({"array_job_id": array_id, "merge_job_id": merge_id}))?;
    } else {
        outln!(
            "array job {array_id} (shards {}), merge job {merge_id} after it",
            sweep.array.as_deref().unwrap_or("?")
        );
    }
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    let job = jobs::wait_showing(
        client,
        merge_id,
        &format!("merge job {merge_id}"),
        "waiting",
        JobPoll {
            timeout,
            interval: None,
        },
    )?;
    let state = tokenwarden::facilities::slurm::job_state(&job);
    outln!(
        "merge job {merge_id}: {state}; reports in {}",
        dir.display()
    );
    // The merge exits 1 for findings or missing shards: FAILED then means "look", not "broken".
    Ok(if state == "COMPLETED" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn rows(v: &Value, key: &str, f: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(f).collect())
        .unwrap_or_default()
}

fn is_noval(v: &Value) -> bool {
    v.get("set").is_some() && v.get("number").is_some()
}

fn job_row(j: &Value) -> Vec<String> {
    vec![
        cell(j.get("job_id")),
        cell(j.get("name")),
        cell(j.get("user_name")),
        slurm::job_state(j),
        cell(j.get("partition")),
        time_cell(j.get("time_limit")),
        cell(j.get("nodes")),
    ]
}

fn time_cell(v: Option<&Value>) -> String {
    // Minutes; -1 / infinite / unset as Slurm prints them.
    match v {
        Some(Value::Number(n)) if n.as_i64() == Some(-1) => "UNLIMITED".into(),
        Some(Value::Number(n)) if n.as_u64() == Some(u32::MAX as u64 - 1) => "UNLIMITED".into(),
        Some(x) if x.get("infinite") == Some(&Value::Bool(true)) => "UNLIMITED".into(),
        other => {
            let c = cell(other);
            match c.parse::<u64>() {
                Ok(m) => format!("{}:{:02}:00", m / 60, m % 60),
                Err(_) => c,
            }
        }
    }
}

fn print_job(j: &Value) {
    let fields: [(&str, String); 10] = [
        ("job id", cell(j.get("job_id"))),
        ("name", cell(j.get("name"))),
        ("user", cell(j.get("user_name"))),
        ("state", slurm::job_state(j)),
        ("reason", cell(j.get("state_reason"))),
        ("partition", cell(j.get("partition"))),
        ("nodes", cell(j.get("nodes"))),
        ("time limit", time_cell(j.get("time_limit"))),
        ("working dir", cell(j.get("current_working_directory"))),
        ("exit code", exit_code_cell(j.get("exit_code"))),
    ];
    let rows: Vec<Vec<String>> = fields
        .into_iter()
        .map(|(k, v)| vec![k.to_string(), v])
        .collect();
    print_table(&["FIELD", "VALUE"], &rows);
}
