//! The job model, with no network in it: a job request built from a batch script's `#SBATCH`
//! lines and the flags, Slurm's own spellings of memory and time limits, and job states.

use super::*;

/// A job to submit: the batch script and the options its `#SBATCH` lines and the flags give.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobRequest {
    /// The batch script.
    pub script: String,
    /// `--job-name`.
    pub name: Option<String>,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// `--time`, in minutes.
    pub time_limit: Option<u32>,
    /// `--nodes` (the minimum).
    pub nodes: Option<u32>,
    /// `--ntasks`.
    pub tasks: Option<u32>,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<u32>,
    /// `--mem`, in megabytes per node.
    pub memory_per_node: Option<u64>,
    /// `--chdir`: the working directory on the cluster (required by slurmrestd).
    pub cwd: Option<String>,
    /// `--output`.
    pub stdout: Option<String>,
    /// `--error`.
    pub stderr: Option<String>,
    /// The job's environment. The caller's own environment is never copied in: it may hold
    /// `SLURM_JWT` or other tokens, which would then live in the job record and its logs.
    pub env: Vec<(String, String)>,
    /// `--array` (`0-7`, `2,5`).
    pub array: Option<String>,
    /// `--dependency` (`afterany:1234`).
    pub dependency: Option<String>,
}

impl JobRequest {
    /// Reads the `#SBATCH` directives of a batch script (those before the first command, as
    /// sbatch does).
    pub fn from_script(script: &str) -> Result<JobRequest, ClientError> {
        let mut job = JobRequest {
            script: script.to_string(),
            ..JobRequest::default()
        };
        if !script.starts_with("#!") {
            return Err(ClientError::Invalid(
                "a batch script must start with a #! line (as sbatch requires)".into(),
            ));
        }
        for line in script.lines().skip(1) {
            let l = line.trim();
            if l.is_empty() {
                continue;
            }
            if !l.starts_with('#') {
                break;
            }
            let Some(rest) = l.strip_prefix("#SBATCH") else {
                continue;
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            let mut i = 0;
            while i < words.len() {
                let w = words[i];
                let (opt, inline) = match w.split_once('=') {
                    Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
                    _ => (w, None),
                };
                let takes_value = !matches!(opt, "--exclusive" | "--requeue" | "--no-requeue");
                let value = if !takes_value {
                    None
                } else if let Some(v) = inline {
                    Some(v)
                } else if let Some(attached) = short_value(opt) {
                    Some(attached.to_string())
                } else {
                    i += 1;
                    words.get(i).map(|s| s.to_string())
                };
                // `-c4` is `-c 4`; `get`, not slicing: a script may hold any character there.
                let opt = if opt.starts_with('-') && !opt.starts_with("--") {
                    opt.get(..2).unwrap_or(opt)
                } else {
                    opt
                };
                job.apply(opt, value.as_deref())?;
                i += 1;
            }
        }
        Ok(job)
    }

    fn apply(&mut self, opt: &str, value: Option<&str>) -> Result<(), ClientError> {
        let v = || value.map(str::to_string);
        let num = |what: &str| -> Result<Option<u32>, ClientError> {
            match value {
                None => Ok(None),
                Some(s) => s
                    .split('-')
                    .next()
                    .unwrap_or(s)
                    .parse()
                    .map(Some)
                    .map_err(|_| ClientError::Invalid(format!("#SBATCH {what} {s}: not a number"))),
            }
        };
        match opt {
            "-J" | "--job-name" => self.name = v(),
            "-p" | "--partition" => self.partition = v(),
            "-A" | "--account" => self.account = v(),
            "-q" | "--qos" => self.qos = v(),
            "-t" | "--time" => {
                self.time_limit = value.map(parse_time_limit).transpose()?;
            }
            "-N" | "--nodes" => self.nodes = num("--nodes")?,
            "-n" | "--ntasks" => self.tasks = num("--ntasks")?,
            "-c" | "--cpus-per-task" => self.cpus_per_task = num("--cpus-per-task")?,
            "--mem" => self.memory_per_node = value.map(parse_memory).transpose()?,
            "-D" | "--chdir" => self.cwd = v(),
            "-o" | "--output" => self.stdout = v(),
            "-e" | "--error" => self.stderr = v(),
            "-a" | "--array" => self.array = v(),
            "-d" | "--dependency" => self.dependency = v(),
            // Other directives are left to the script's own sbatch semantics; slurmrestd does
            // not read #SBATCH lines, so say which ones are not carried.
            _ => {}
        }
        Ok(())
    }

    /// Lays `flags` over this request: every option the flags set replaces the script's
    /// (`#SBATCH` lines are defaults, flags win, as with sbatch); their environment is added.
    pub fn overlay(&mut self, flags: JobRequest) {
        macro_rules! take {
            ($($f:ident),*) => {$(if flags.$f.is_some() { self.$f = flags.$f; })*};
        }
        take!(
            name,
            partition,
            account,
            qos,
            time_limit,
            nodes,
            tasks,
            cpus_per_task,
            memory_per_node,
            cwd,
            stdout,
            stderr,
            array,
            dependency
        );
        self.env.extend(flags.env);
    }

    /// Adds a variable to the job's environment, refusing names that look like credentials:
    /// Slurm keeps a job's environment in its records (`scontrol show job`, accounting, the
    /// saved batch script), where admins and logs see it.
    pub fn push_env(&mut self, name: &str, value: &str) -> Result<(), ClientError> {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
            return Err(ClientError::Invalid(format!(
                "--env {name:?}: not a variable name"
            )));
        }
        if credential_like(name) {
            return Err(ClientError::Invalid(format!(
                "--env {name}: a credential in a job's environment is stored in Slurm's job \
                 records and logs; give the job a file readable only by you instead"
            )));
        }
        self.env.push((name.to_string(), value.to_string()));
        Ok(())
    }

    /// The `job_submit_req` body for an API version.
    pub fn payload(&self, version: ApiVersion) -> Result<Value, ClientError> {
        let cwd = self.cwd.clone().ok_or_else(|| {
            ClientError::Invalid(
                "the job needs a working directory on the cluster: #SBATCH --chdir or --chdir"
                    .into(),
            )
        })?;
        let v = version.shape();
        let mut job = serde_json::Map::new();
        let mut put = |k: &str, val: Value| {
            job.insert(k.to_string(), val);
        };
        put("current_working_directory", json!(cwd));
        let mut env = self.env.clone();
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.insert(0, ("PATH".into(), "/bin:/usr/bin:/usr/local/bin".into()));
        }
        if v <= 38 {
            let obj: serde_json::Map<String, Value> =
                env.iter().map(|(k, val)| (k.clone(), json!(val))).collect();
            put("environment", Value::Object(obj));
        } else {
            let list: Vec<Value> = env
                .iter()
                .map(|(k, val)| json!(format!("{k}={val}")))
                .collect();
            put("environment", Value::Array(list));
        }
        let number = |n: u32| {
            if v <= 38 {
                json!(n)
            } else {
                json!({"set": true, "infinite": false, "number": n})
            }
        };
        for (k, val) in [
            ("name", &self.name),
            ("partition", &self.partition),
            ("account", &self.account),
            ("qos", &self.qos),
            ("standard_output", &self.stdout),
            ("standard_error", &self.stderr),
            ("array", &self.array),
            ("dependency", &self.dependency),
        ] {
            if let Some(s) = val {
                put(k, json!(s));
            }
        }
        if let Some(t) = self.time_limit {
            put("time_limit", number(t));
        }
        if let Some(n) = self.nodes {
            // `nodes` is a range string in every version; `minimum_nodes` a plain count.
            put("minimum_nodes", json!(n));
        }
        if let Some(n) = self.tasks {
            put("tasks", json!(n));
        }
        if let Some(n) = self.cpus_per_task {
            put("cpus_per_task", json!(n));
        }
        if let Some(mb) = self.memory_per_node {
            // A plain integer up to v0.0.38, a "no value" struct since.
            let mem = if v <= 38 {
                json!(mb)
            } else {
                json!({"set": true, "infinite": false, "number": mb})
            };
            put("memory_per_node", mem);
        }
        if v <= 38 {
            Ok(json!({"job": Value::Object(job), "script": self.script}))
        } else {
            job.insert("script".into(), json!(self.script));
            Ok(json!({"job": Value::Object(job)}))
        }
    }
}

/// The value attached to a short option (`-c4` → `4`), if any.
pub(super) fn short_value(opt: &str) -> Option<&str> {
    let rest = opt.strip_prefix('-').filter(|r| !r.starts_with('-'))?;
    let mut chars = rest.chars();
    chars.next()?;
    Some(chars.as_str()).filter(|v| !v.is_empty())
}

/// Parses sbatch's `--mem` (`4096`, `500M`, `4G`, `1T`; megabytes without a unit) into
/// megabytes.
pub fn parse_memory(s: &str) -> Result<u64, ClientError> {
    let bad = || ClientError::Invalid(format!("#SBATCH --mem {s}: not a size (500M, 4G, 4096)"));
    let t = s.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "M" | "MB" => 1,
        "K" | "KB" => return Ok(n.div_ceil(1024)),
        "G" | "GB" => 1024,
        "T" | "TB" => 1024 * 1024,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// True for variable names that usually hold credentials.
pub fn credential_like(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSW",
        "JWT",
        "API_KEY",
        "APIKEY",
        "CREDENTIAL",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Parses a Slurm time limit (`minutes`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`,
/// `D-HH:MM:SS`, `infinite`) into minutes, rounding seconds up as Slurm does.
pub fn parse_time_limit(s: &str) -> Result<u32, ClientError> {
    let bad = || ClientError::Invalid(format!("{s:?} is not a Slurm time limit"));
    let t = s.trim();
    if t.eq_ignore_ascii_case("infinite") || t.eq_ignore_ascii_case("unlimited") {
        return Ok(u32::MAX - 1);
    }
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().map_err(|_| bad())?, Some(r)),
        None => (0, None),
    };
    let nums = |p: &str| -> Result<Vec<u64>, ClientError> {
        p.split(':')
            .map(|x| x.parse::<u64>().map_err(|_| bad()))
            .collect()
    };
    // Checked: a huge value is an error, not a wrapped (release) or panicking (debug) sum.
    let total = |d: u64, h: u64, m: u64, sec: u64| -> Option<u64> {
        d.checked_mul(86400)?
            .checked_add(h.checked_mul(3600)?)?
            .checked_add(m.checked_mul(60)?)?
            .checked_add(sec)
    };
    let secs = match rest {
        Some(r) => match nums(r)?.as_slice() {
            [h] => total(days, *h, 0, 0),
            [h, m] => total(days, *h, *m, 0),
            [h, m, sec] => total(days, *h, *m, *sec),
            _ => return Err(bad()),
        },
        None => match nums(t)?.as_slice() {
            [m] => total(0, 0, *m, 0),
            [m, sec] => total(0, 0, *m, *sec),
            [h, m, sec] => total(0, *h, *m, *sec),
            _ => return Err(bad()),
        },
    }
    .ok_or_else(bad)?;
    u32::try_from(secs.div_ceil(60)).map_err(|_| bad())
}

/// States a job is still moving through; any other state is final.
pub(super) const ACTIVE_STATES: &[&str] = &[
    "PENDING",
    "RUNNING",
    "CONFIGURING",
    "COMPLETING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "RESIZING",
    "SUSPENDED",
    "SIGNALING",
    "STAGE_OUT",
    "POWER_UP_NODE",
];

/// A job record's state: a string up to v0.0.38, a list of flags from v0.0.39.
pub fn job_state(job: &Value) -> String {
    match job.get("job_state") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => "UNKNOWN".into(),
    }
}

/// True while a job may still change state.
pub fn is_active(state: &str) -> bool {
    state.split(',').any(|s| ACTIVE_STATES.contains(&s))
}

/// Reads a batch script file.
pub fn read_script(path: &Path) -> Result<String, ClientError> {
    std::fs::read_to_string(path).map_err(|source| ClientError::Io {
        path: path.display().to_string(),
        source,
    })
}
