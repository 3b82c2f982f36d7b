//! `iri fs` and `iri task`: the filesystem operations (the library's `FsOp`), which return
//! tasks, and waiting for tasks.

use super::*;

#[derive(Args, Debug)]
pub(super) struct WaitArgs {
    /// Wait for the task to finish and show its result (the default).
    #[arg(long, overrides_with = "no_wait", global = true)]
    pub(super) wait: bool,
    /// Print the task id and return at once.
    #[arg(long, global = true)]
    pub(super) no_wait: bool,
    /// Give up waiting after this long.
    #[arg(long, value_name = "DURATION", default_value = "10m", global = true)]
    pub(super) wait_timeout: humantime::Duration,
}

/// `iri fs`: the library's operations are the subcommands; the task flags and the download's
/// `--output` apply to every one of them.
#[derive(Args, Debug)]
pub(super) struct FsArgs {
    #[command(subcommand)]
    pub(super) cmd: FsCommand,
    #[command(flatten)]
    pub(super) wait: WaitArgs,
    /// With download: where to write the file (mode 0600) instead of stdout.
    #[arg(long, short, global = true)]
    pub(super) output: Option<PathBuf>,
}

impl FsArgs {
    /// `--output` belongs to download: refused for anything else, before any token is read.
    pub(super) fn check_output(&self) -> Result<()> {
        let what = match &self.cmd {
            FsCommand::Op(FsOp::Download { .. }) => return Ok(()),
            FsCommand::Op(op) => op.name(),
            FsCommand::Resources => "resources",
        };
        if self.output.is_some() {
            bail!("--output is for `iri fs download`; {what} writes no file");
        }
        Ok(())
    }
}

#[derive(Subcommand, Debug)]
pub(super) enum FsCommand {
    /// Filesystem resources.
    Resources,
    #[command(flatten)]
    Op(FsOp),
}

#[derive(Subcommand, Debug)]
pub(super) enum TaskCommand {
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

pub(super) fn run_fs(
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

pub(super) fn wait_for(c: &IriClient, id: &str, timeout: std::time::Duration) -> Result<Value> {
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
pub(super) fn finish_task(
    json_out: bool,
    task: &Value,
    output: Option<&std::path::Path>,
) -> Result<ExitCode> {
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

pub(super) fn show_tasks(json_out: bool, v: &Value) -> Result<ExitCode> {
    show(json_out, v, &["id", "status", "command.command"])
}
