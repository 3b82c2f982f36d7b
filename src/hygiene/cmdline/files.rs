//! Files that hold commands, by kind, and the commands read out of each kind (batch
//! directives, Makefile recipes, Dockerfile `RUN`, notebook cells, CI and manifest scripts).

use super::*;

/// What kind of file holds commands, by name and first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A shell script (or a Slurm batch script).
    Shell,
    /// A shell history file.
    History,
    /// A Makefile: its recipes are shell.
    Makefile,
    /// A Dockerfile: `RUN` is shell; `ENV` and `ARG` end up in the image.
    Dockerfile,
    /// A Jupyter notebook: `!` lines and `%%bash` cells are shell.
    Notebook,
    /// A CI definition: GitHub Actions `run:`, GitLab `script:` (and `before_`/`after_`).
    CiYaml,
    /// Python: `subprocess` argument lists and `os.system` strings.
    Python,
    /// A Kubernetes-style manifest: Pods, Jobs, Argo Workflows, Tekton Tasks (`command`,
    /// `args`, `script`, `source`).
    Manifest,
    /// A Windows batch file (`.bat`, `.cmd`): `%NAME%` expands before the command runs, and
    /// Task Manager, `wmic` and every process listing show the command line.
    Batch,
    /// Documentation: its shell code blocks teach commands to readers.
    Docs(crate::hygiene::docs::Markup),
    /// JSON that may be an IRI job specification (`executable` with `environment` or
    /// `arguments`).
    Json,
}

/// The kind of command file at `rel` (a `/`-separated path) is, if any (`content` for
/// shebangs and manifests).
pub fn file_kind(rel: &str, content: &[u8]) -> Option<FileKind> {
    let first_line = &content[..memchr::memchr(b'\n', content).unwrap_or(content.len())];
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let lower = name.to_ascii_lowercase();
    let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
    if yaml
        && (lower == ".gitlab-ci.yml"
            || lower.ends_with(".gitlab-ci.yml")
            || lower == "action.yml"
            || lower == "action.yaml"
            || rel.contains(".github/workflows/"))
    {
        return Some(FileKind::CiYaml);
    }
    if yaml
        && memchr::memmem::find(content, b"apiVersion:").is_some()
        && memchr::memmem::find(content, b"kind:").is_some()
    {
        return Some(FileKind::Manifest);
    }
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if matches!(
        lower.as_str(),
        ".bash_history" | ".zsh_history" | ".history" | ".sh_history" | ".ksh_history"
    ) {
        return Some(FileKind::History);
    }
    if matches!(lower.as_str(), "makefile" | "gnumakefile") || ext == "mk" {
        return Some(FileKind::Makefile);
    }
    if lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || ext == "dockerfile"
    {
        return Some(FileKind::Dockerfile);
    }
    if ext == "ipynb" {
        return Some(FileKind::Notebook);
    }
    if ext == "py" {
        return Some(FileKind::Python);
    }
    if ext == "json" {
        return Some(FileKind::Json);
    }
    if matches!(
        ext,
        "sh" | "bash" | "zsh" | "ksh" | "bats" | "sbatch" | "slurm" | "pbs" | "job"
    ) || matches!(
        lower.as_str(),
        ".bashrc"
            | ".bash_profile"
            | ".profile"
            | ".zshrc"
            | ".zprofile"
            | ".bash_aliases"
            | ".kshrc"
            | ".cshrc"
            | ".tcshrc"
            | ".login"
            | ".envrc"
    ) {
        return Some(FileKind::Shell);
    }
    if matches!(ext, "bat" | "cmd") {
        return Some(FileKind::Batch);
    }
    if let Some(m) = crate::hygiene::docs::markup(name) {
        return Some(FileKind::Docs(m));
    }
    if first_line.starts_with(b"#!") {
        let l = String::from_utf8_lossy(first_line);
        if ["/sh", "bash", "zsh", "ksh", "dash"]
            .iter()
            .any(|s| l.contains(s))
        {
            return Some(FileKind::Shell);
        }
    }
    None
}

/// A finding placed in its file: the 1-based line, and a prefix for the message (a
/// notebook's cell).
pub struct Placed {
    /// The finding.
    pub finding: CmdFinding,
    /// 1-based line in the file, when known.
    pub line: Option<u64>,
    /// Where in the file, in words (`cell 3`), when a line number would mislead.
    pub place: Option<String>,
}

pub(super) fn line_at(text: &str, offset: usize) -> u64 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// A batch line as shell: `%NAME%` and `!NAME!` (delayed expansion) as `${NAME}`.
pub(super) fn batch_to_shell(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(['%', '!']) {
        let delim = rest.as_bytes()[i] as char;
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find(delim) {
            Some(j)
                if j > 0
                    && after[..j]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                out.push_str(&format!("${{{}}}", &after[..j]));
                rest = &after[j + 1..];
            }
            _ => {
                out.push(delim);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Make's `$(NAME)` and `${NAME}` as shell `${NAME}`, `$$` as `$`.
pub(super) fn make_to_shell(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if b[i] == b'$' && b.get(i + 1) == Some(&b'(') {
            let end = line[i + 2..].find(')').map(|e| i + 2 + e);
            if let Some(end) = end {
                let inner = &line[i + 2..end];
                if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    out.push_str("${");
                    out.push_str(inner);
                    out.push('}');
                    i = end + 1;
                    continue;
                }
            }
        }
        let ch = line[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Logical lines: physical lines joined where one ends in a backslash, with the 1-based line
/// each starts on.
pub(super) fn logical_lines(text: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0u64;
    for (n, line) in text.lines().enumerate() {
        if cur.is_empty() {
            start = n as u64 + 1;
        }
        if let Some(body) = line.strip_suffix('\\') {
            cur.push_str(body);
            cur.push(' ');
        } else {
            cur.push_str(line);
            out.push((start, std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

/// Checks the commands in one file's text.
pub fn check_file(kind: FileKind, text: &str, judge: &dyn SecretJudge) -> Vec<Placed> {
    let mut out = Vec::new();
    let place = |f: CmdFinding, line: u64| Placed {
        finding: f,
        line: Some(line),
        place: None,
    };
    match kind {
        FileKind::Shell => {
            let ctx = if text.contains("\n#SBATCH") || text.starts_with("#SBATCH") {
                Context::BatchScript
            } else {
                Context::Script
            };
            if ctx == Context::BatchScript {
                for (n, line) in text.lines().enumerate() {
                    if let Some(directive) = line.trim_start().strip_prefix("#SBATCH")
                        && directive.contains("--export")
                        && directive.contains("SLURM_JWT")
                    {
                        out.push(place(
                            CmdFinding {
                                check: "hygiene.slurm_jwt_in_job_environment",
                                severity: Severity::Medium,
                                offset: 0,
                                message: "`#SBATCH --export=…SLURM_JWT…` hands the token to every step of the job (scontrol show job, /proc/*/environ)".into(),
                                fix: SLURM_JWT_EXPORT_FIX.into(),
                            },
                            n as u64 + 1,
                        ));
                    }
                }
            }
            let regions = if judge.knows_secrets() {
                vec![(0, text.len())]
            } else {
                command_regions(text)
            };
            for (start, end) in regions {
                for f in check_source(&text[start..end], ctx, judge) {
                    let line = line_at(text, start + f.offset);
                    out.push(place(f, line));
                }
            }
        }
        FileKind::History => {
            // A command typed over several lines (`\` at the ends) is one entry.
            for (n, line) in logical_lines(text) {
                // zsh's extended history: `: 1700000000:0;command`.
                let cmd = match line.strip_prefix(": ") {
                    Some(rest) => rest.split_once(';').map(|(_, c)| c).unwrap_or(rest),
                    None => line.as_str(),
                };
                if !judge.knows_secrets() && !may_hold_commands(cmd.as_bytes()) {
                    continue;
                }
                for f in check_source(cmd, Context::History, judge) {
                    out.push(place(f, n));
                }
            }
        }
        FileKind::Makefile => {
            for (line, l) in logical_lines(text) {
                let Some(recipe) = l.strip_prefix('\t') else {
                    continue;
                };
                let recipe = recipe.trim_start_matches(['@', '-', '+', ' ']);
                if !judge.knows_secrets() && !may_hold_commands(recipe.as_bytes()) {
                    continue;
                }
                for f in check_source(&make_to_shell(recipe), Context::Script, judge) {
                    out.push(place(f, line));
                }
            }
        }
        FileKind::Dockerfile => {
            for (line, l) in logical_lines(text) {
                let t = l.trim_start();
                let (instr, rest) = t.split_once([' ', '\t']).unwrap_or((t, ""));
                match instr.to_ascii_uppercase().as_str() {
                    "RUN" => {
                        let rest = rest.trim_start();
                        // Skip RUN's own flags (--mount=…, --network=…).
                        let mut body = rest;
                        while body.starts_with("--") {
                            body = body
                                .split_once(' ')
                                .map(|(_, r)| r.trim_start())
                                .unwrap_or("");
                        }
                        let shell = if body.starts_with('[') {
                            serde_json::from_str::<Vec<String>>(body)
                                .map(|v| v.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "))
                                .unwrap_or_default()
                        } else {
                            body.to_string()
                        };
                        for f in check_source(&shell, Context::Script, judge) {
                            out.push(place(f, line));
                        }
                    }
                    i @ ("ENV" | "ARG") => {
                        if let Some(f) = check_docker_env(i, rest.trim(), judge) {
                            out.push(place(f, line));
                        }
                    }
                    _ => {}
                }
            }
        }
        FileKind::Json => {
            if !text.contains("\"executable\"") {
                return out;
            }
            let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
                return out;
            };
            for f in job_specs(&v, judge) {
                out.push(place(f, 1));
            }
        }
        FileKind::Python => {
            if !text.contains("subprocess.")
                && !text.contains("os.system")
                && !text.contains("os.popen")
            {
                return out;
            }
            for (offset, c) in python_commands(text) {
                let mut found = Vec::new();
                check_command(&c, Context::Script, judge, &mut found);
                for f in found {
                    out.push(place(f, line_at(text, offset)));
                }
            }
        }
        FileKind::CiYaml | FileKind::Manifest => {
            let scripts = if kind == FileKind::CiYaml {
                ci_scripts(text)
            } else {
                manifest_scripts(text)
            };
            for (line, script) in scripts {
                let script = github_expressions(&script);
                for f in check_source(&script, Context::Script, judge) {
                    let at = line + line_at(&script, f.offset) - 1;
                    out.push(place(f, at));
                }
            }
        }
        FileKind::Batch => {
            for (n, line) in text.lines().enumerate() {
                let t = line.trim_start().trim_start_matches('@');
                let lower = t.to_ascii_lowercase();
                if lower.starts_with("rem ") || t.starts_with("::") || lower.starts_with("set ") {
                    continue;
                }
                for f in check_source(&batch_to_shell(t), Context::Script, judge) {
                    out.push(place(f, n as u64 + 1));
                }
            }
        }
        FileKind::Docs(markup) => {
            let mut taught: Vec<(u64, CmdFinding)> = Vec::new();
            for b in crate::hygiene::docs::blocks(markup, text) {
                if b.warned || !may_hold_commands(b.code.as_bytes()) {
                    continue;
                }
                for f in check_source(&b.code, Context::Script, judge) {
                    // Palmetto's documented `MUNGE $(munge -n -t 5)` is the safe form.
                    if f.check == "hygiene.token_on_command_line" && f.severity > Severity::Info {
                        taught.push((b.line + line_at(&b.code, f.offset) - 1, f));
                    }
                }
            }
            if let Some((line, first)) = taught.first() {
                let more = match taught.len() {
                    1 => String::new(),
                    n => format!(" ({} more after it)", n - 1),
                };
                out.push(place(
                    CmdFinding {
                        check: "hygiene.docs_teach_token_on_command_line",
                        severity: Severity::Info,
                        offset: 0,
                        message: format!(
                            "documentation teaches putting a credential on a command line{more}: readers copy the example, and ps shows the credential to every user of a login node. The first: {}",
                            first.message
                        ),
                        fix: format!("teach the safer form: {}", first.fix),
                    },
                    *line,
                ));
            }
        }
        FileKind::Notebook => {
            let Ok(nb) = serde_json::from_str::<serde_json::Value>(text) else {
                return out;
            };
            let cells = nb["cells"].as_array().cloned().unwrap_or_default();
            for (ci, cell) in cells.iter().enumerate() {
                if cell["cell_type"] != "code" {
                    continue;
                }
                let src = match &cell["source"] {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Array(a) => a.iter().filter_map(|l| l.as_str()).collect(),
                    _ => continue,
                };
                let first = src.lines().next().unwrap_or("").trim();
                let shell_cell = ["%%bash", "%%sh", "%%script bash", "%%script sh"]
                    .iter()
                    .any(|m| first.starts_with(m));
                // (finding, the cell's line it is on)
                let mut found: Vec<(CmdFinding, &str)> = Vec::new();
                if shell_cell {
                    for f in check_source(&src, Context::Script, judge) {
                        let at = src[..f.offset.min(src.len())]
                            .rfind('\n')
                            .map_or(0, |p| p + 1);
                        let line = src[at..].lines().next().unwrap_or("");
                        found.push((f, line));
                    }
                } else {
                    for l in src.lines() {
                        // `!cmd`, and IPython's capture `x = !cmd`.
                        let t = l.trim_start();
                        let cmd = t.strip_prefix('!').or_else(|| {
                            let (name, rest) = t.split_once('=')?;
                            (is_py_identifier(name.trim()) && !rest.starts_with('='))
                                .then(|| rest.trim_start().strip_prefix('!'))
                                .flatten()
                        });
                        if let Some(cmd) = cmd {
                            for f in check_source(&ipython_expand(cmd), Context::Script, judge) {
                                found.push((f, l));
                            }
                        }
                    }
                }
                for (f, line) in found {
                    out.push(Placed {
                        finding: f,
                        line: notebook_line(text, ci, line),
                        place: Some(format!("cell {}", ci + 1)),
                    });
                }
            }
        }
    }
    out
}

/// The 1-based line of the notebook file that holds `line` of cell `cell` (0-based): the
/// JSON-escaped line searched for after the cell's start, so a reader lands on it.
pub(super) fn notebook_line(text: &str, cell: usize, line: &str) -> Option<u64> {
    let mut at = 0;
    for _ in 0..=cell {
        at += text[at..].find("\"cell_type\"")? + 1;
    }
    let escaped = serde_json::to_string(line.trim_end_matches(['\r', '\n'])).ok()?;
    let needle = escaped.trim_matches('"');
    // At most 60 characters (not bytes: a cut inside a character would panic).
    let cut = needle
        .char_indices()
        .nth(60)
        .map_or(needle.len(), |(i, _)| i);
    let needle = &needle[..cut];
    if needle.trim().is_empty() {
        return None;
    }
    let i = text[at..].find(needle)?;
    Some(line_at(text, at + i))
}

/// GitHub's `${{ secrets.NAME }}` and `${{ env.NAME }}` as shell variables: the runner pastes
/// their values into the script before the shell runs it, so they land in argv the same way.
pub(super) fn github_expressions(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[i..]);
            return out;
        };
        let expr = after[..end].trim();
        let name: String = expr
            .rsplit('.')
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if expr.starts_with("secrets.") {
            out.push_str(&format!("${{SECRETS_{name}}}"));
        } else if expr.starts_with("env.") && !name.is_empty() {
            out.push_str(&format!("${{{name}}}"));
        } else {
            out.push_str("GHEXPR");
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}
