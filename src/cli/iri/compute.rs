//! `iri compute`: job specifications from flags or a file, and the job commands.

use super::*;

#[derive(Args, Debug, Default)]
pub(super) struct SpecArgs {
    /// A JobSpec JSON file (the other flags override its fields).
    #[arg(long, value_name = "FILE")]
    pub(super) spec: Option<PathBuf>,
    /// The executable.
    #[arg(long)]
    pub(super) executable: Option<String>,
    /// An argument (repeat).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    pub(super) args: Vec<String>,
    /// Job name.
    #[arg(long)]
    pub(super) name: Option<String>,
    /// Working directory.
    #[arg(long)]
    pub(super) directory: Option<String>,
    /// NAME=VALUE in the job's environment (repeat). The server keeps and echoes it back: never
    /// put a secret here.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub(super) env: Vec<String>,
    /// Nodes.
    #[arg(long)]
    pub(super) nodes: Option<u64>,
    /// Processes in total.
    #[arg(long)]
    pub(super) processes: Option<u64>,
    /// Processes per node.
    #[arg(long)]
    pub(super) processes_per_node: Option<u64>,
    /// Wall time in seconds.
    #[arg(long)]
    pub(super) duration: Option<u64>,
    /// Queue.
    #[arg(long)]
    pub(super) queue: Option<String>,
    /// Account (project) to charge.
    #[arg(long)]
    pub(super) account: Option<String>,
    /// Standard output path.
    #[arg(long)]
    pub(super) stdout: Option<String>,
    /// Standard error path.
    #[arg(long)]
    pub(super) stderr: Option<String>,
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
pub(super) enum ComputeCommand {
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

pub(super) fn opt(q: &mut Vec<(&'static str, String)>, k: &'static str, v: &Option<String>) {
    if let Some(v) = v {
        q.push((k, v.clone()));
    }
}

pub(super) fn run_compute(c: &IriClient, cmd: &ComputeCommand, json_out: bool) -> Result<ExitCode> {
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
