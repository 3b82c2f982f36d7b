//! Submitting a Slurm job and waiting for it, one way for every Slurm API the client speaks:
//! `slurm submit`, `palmetto submit` and `s3m slurm job submit` take the same flags
//! ([`JobArgs`]), build the same [`JobRequest`] and wait the same way, through
//! [`SlurmApi`].

use crate::cli::common::{cell, print_json, spinner};
use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use tokenwarden::facilities::slurm::{self, JobPoll, JobRequest, SlurmApi};

/// The flags of a job submission.
#[derive(Args, Debug)]
pub struct JobArgs {
    /// The batch script (must start with #!).
    pub script: PathBuf,
    /// Job name.
    #[arg(short = 'J', long, alias = "name")]
    pub job_name: Option<String>,
    /// Partition.
    #[arg(short, long)]
    pub partition: Option<String>,
    /// Account to charge (your project).
    #[arg(short = 'A', long)]
    pub account: Option<String>,
    /// QOS.
    #[arg(short, long)]
    pub qos: Option<String>,
    /// Time limit (minutes, HH:MM:SS, D-HH:MM…).
    #[arg(short, long)]
    pub time: Option<String>,
    /// Minimum node count.
    #[arg(short = 'N', long)]
    pub nodes: Option<u32>,
    /// Task count.
    #[arg(short = 'n', long)]
    pub ntasks: Option<u32>,
    /// CPUs per task.
    #[arg(short = 'c', long)]
    pub cpus_per_task: Option<u32>,
    /// Memory per node (500M, 4G; megabytes without a unit).
    #[arg(long)]
    pub mem: Option<String>,
    /// Working directory on the cluster.
    #[arg(short = 'D', long)]
    pub chdir: Option<String>,
    /// Standard output file.
    #[arg(short, long)]
    pub output: Option<String>,
    /// Standard error file.
    #[arg(short, long)]
    pub error: Option<String>,
    /// A variable for the job: NAME=VALUE, or NAME to copy it from here. Your own
    /// environment is never copied whole; names that look like credentials are refused. Do
    /// not pass secrets this way: they are stored in the job record.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,
    /// Wait until the job ends; exit 1 unless it COMPLETED.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub wait_timeout: humantime::Duration,
    /// How often --wait polls [default: from half a second, backing off to ten].
    #[arg(long, value_name = "DURATION", hide = true)]
    pub poll_interval: Option<humantime::Duration>,
}

impl JobArgs {
    /// The job: the script's `#SBATCH` lines, overridden by the flags. Checked (script,
    /// directives, environment) before any credential is read or any request made.
    pub fn request(&self) -> Result<JobRequest> {
        let text = slurm::read_script(&self.script)?;
        let mut job = JobRequest::from_script(&text)?;
        job.overlay(JobRequest {
            name: self.job_name.clone(),
            partition: self.partition.clone(),
            account: self.account.clone(),
            qos: self.qos.clone(),
            time_limit: self
                .time
                .as_deref()
                .map(slurm::parse_time_limit)
                .transpose()?,
            nodes: self.nodes,
            tasks: self.ntasks,
            cpus_per_task: self.cpus_per_task,
            memory_per_node: self.mem.as_deref().map(slurm::parse_memory).transpose()?,
            cwd: self.chdir.clone(),
            stdout: self.output.clone(),
            stderr: self.error.clone(),
            ..JobRequest::default()
        });
        for e in &self.env {
            let (name, value) = match e.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => (
                    e.clone(),
                    std::env::var(e).with_context(|| format!("--env {e}: not set here"))?,
                ),
            };
            job.push_env(&name, &value)?;
        }
        Ok(job)
    }

    /// How --wait polls.
    pub fn poll(&self) -> JobPoll {
        JobPoll {
            timeout: self.wait_timeout.into(),
            interval: self.poll_interval.map(Into::into),
        }
    }
}

/// Submits `job` and, if asked, waits for it: exit 0 when submitted (or, waiting, when it
/// COMPLETED), 1 when it ended otherwise. `place` names where it runs, for the messages.
pub fn submit(
    api: &dyn SlurmApi,
    job: &JobRequest,
    args: &JobArgs,
    place: &str,
    json: bool,
) -> Result<ExitCode> {
    let (id, answer) = api.submit_job(job)?;
    if json && !args.wait {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !json {
        outln!("submitted job {id}{place}");
        for w in answer
            .get("warnings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            eprintln!(
                "tokenwarden: slurm warning: {}",
                cell(w.get("description").or_else(|| w.get("error")))
            );
        }
    }
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let finished = wait_showing(api, id, &format!("job {id}"), "submitted", args.poll())?;
    let state = slurm::job_state(&finished);
    if json {
        print_json(&finished)?;
    } else {
        outln!(
            "job {id} ended: {state} (exit code {})",
            exit_code_cell(finished.get("exit_code"))
        );
    }
    Ok(if state == "COMPLETED" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Waits for job `id` to end, its state on a spinner (`{label}: {state}`) on a terminal.
pub fn wait_showing(
    api: &dyn SlurmApi,
    id: u64,
    label: &str,
    first: &str,
    poll: JobPoll,
) -> Result<Value> {
    let bar = spinner(&format!("{label}: {first}"));
    let result = api.wait_job(id, poll, &mut |state| {
        if let Some(b) = &bar {
            b.set_message(format!("{label}: {state}"));
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(result?)
}

/// A job's exit code as a cell: v0.0.38 gives a number; v0.0.40+ `{status, return_code}`.
pub fn exit_code_cell(v: Option<&Value>) -> String {
    match v {
        Some(Value::Object(o)) => cell(o.get("return_code")),
        other => cell(other),
    }
}
