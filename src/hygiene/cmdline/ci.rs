//! The scripts of CI files (GitHub Actions, GitLab CI) and of build manifests, read with a
//! YAML event parser so each script keeps its line.

use super::*;

/// Keys whose values are shell: GitHub `run`, GitLab `script`, `before_script`,
/// `after_script`.
pub(super) const SCRIPT_KEYS: &[&str] = &["run", "script", "before_script", "after_script"];

/// Keys whose values are shell in Kubernetes-style manifests: Tekton's step `script`, Argo's
/// script template `source`.
pub(super) const MANIFEST_SCRIPT_KEYS: &[&str] = &["script", "source"];

pub(super) fn script_keys(manifest: bool) -> &'static [&'static str] {
    if manifest {
        MANIFEST_SCRIPT_KEYS
    } else {
        SCRIPT_KEYS
    }
}

/// Where the YAML parser is: in a mapping (its last key, whether a key comes next, and the
/// container `command`/`args` gathered in it) or in a sequence (the key that owns it).
pub(super) enum Yctx {
    Map {
        key: Option<String>,
        want_key: bool,
        argv: Vec<(String, u64, String)>,
        /// An item of a script list that YAML read as a mapping: `- curl -H "Authorization:
        /// Bearer $T" …` has a `: ` in it, so the line is `{curl -H "Authorization: Bearer
        /// $T" …}`. GitLab refuses it, but it is written, and a reader sees the command.
        in_script: bool,
    },
    Seq {
        owner: Option<String>,
    },
}

#[derive(Default)]
pub(super) struct CiScripts {
    /// Kubernetes-style manifests (Pods, Jobs, Argo Workflows, Tekton Tasks), not CI files.
    pub(super) manifest: bool,
    pub(super) stack: Vec<Yctx>,
    pub(super) out: Vec<(u64, String)>,
}

impl CiScripts {
    /// The keys whose values are shell in this kind of file.
    fn script_keys(&self) -> &'static [&'static str] {
        script_keys(self.manifest)
    }

    fn owner(&self) -> Option<String> {
        match self.stack.last() {
            Some(Yctx::Map {
                key,
                want_key: false,
                ..
            }) => key.clone(),
            Some(Yctx::Seq { owner }) => owner.clone(),
            _ => None,
        }
    }

    fn value_done(&mut self) {
        if let Some(Yctx::Map { want_key, .. }) = self.stack.last_mut() {
            *want_key = true;
        }
    }

    /// The mapping that holds the current value: the top, or the one under a sequence.
    fn holder(&mut self) -> Option<&mut Vec<(String, u64, String)>> {
        let n = self.stack.len();
        let at = match self.stack.last()? {
            Yctx::Map { .. } => n - 1,
            Yctx::Seq { .. } => n.checked_sub(2)?,
        };
        match self.stack.get_mut(at)? {
            Yctx::Map { argv, .. } => Some(argv),
            Yctx::Seq { .. } => None,
        }
    }

    /// A container's `command` and `args`, as the script that runs: the string after
    /// `sh -c`, or the argument vector quoted as one command line. Kubernetes expands
    /// `$(NAME)` from the container's environment before the process starts.
    fn container(&mut self, argv: Vec<(String, u64, String)>) {
        let mut ordered: Vec<&(String, u64, String)> =
            argv.iter().filter(|(k, ..)| k == "command").collect();
        ordered.extend(argv.iter().filter(|(k, ..)| k == "args"));
        let Some(first) = ordered.first() else {
            return;
        };
        let shell = ordered.first().is_some_and(|(_, _, v)| {
            matches!(
                v.rsplit('/').next().unwrap_or(v),
                "sh" | "bash" | "ash" | "dash" | "zsh"
            )
        });
        let dash_c = ordered
            .iter()
            .position(|(_, _, v)| v.starts_with('-') && !v.starts_with("--") && v.ends_with('c'));
        if shell && let Some(c) = dash_c {
            for (_, line, script) in ordered.iter().skip(c + 1).take(1) {
                self.out.push((*line, make_to_shell(script)));
            }
            return;
        }
        let line = first.1;
        let joined: Vec<String> = ordered.iter().map(|(_, _, v)| quote_expanding(v)).collect();
        self.out.push((line, make_to_shell(&joined.join(" "))));
    }
}

/// An argument quoted for the shell lexer with its `$(NAME)` and `${NAME}` left expandable
/// (double quotes), so that Kubernetes' expansion is seen as one.
pub(super) fn quote_expanding(s: &str) -> String {
    if !s.contains('$') {
        return quote(s);
    }
    format!("\"{}\"", s.replace(['"', '\\', '`'], ""))
}

impl yaml_rust2::parser::MarkedEventReceiver for CiScripts {
    fn on_event(&mut self, ev: yaml_rust2::Event, mark: yaml_rust2::scanner::Marker) {
        use yaml_rust2::Event;
        match ev {
            Event::MappingStart(..) => {
                let keys = self.script_keys();
                let in_script = matches!(self.stack.last(), Some(Yctx::Seq { owner: Some(o) }) if keys.contains(&o.as_str()));
                self.stack.push(Yctx::Map {
                    key: None,
                    want_key: true,
                    argv: Vec::new(),
                    in_script,
                })
            }
            Event::SequenceStart(..) => {
                let owner = self.owner();
                self.stack.push(Yctx::Seq { owner });
            }
            Event::MappingEnd => {
                if let Some(Yctx::Map { argv, .. }) = self.stack.pop()
                    && !argv.is_empty()
                {
                    self.container(argv);
                }
                self.value_done();
            }
            Event::SequenceEnd => {
                self.stack.pop();
                self.value_done();
            }
            Event::Scalar(v, ..) => {
                if let Some(Yctx::Map {
                    key,
                    want_key: want @ true,
                    ..
                }) = self.stack.last_mut()
                {
                    *key = Some(v);
                    *want = false;
                    return;
                }
                if let Some(Yctx::Map {
                    key: Some(k),
                    in_script: true,
                    ..
                }) = self.stack.last()
                {
                    let line = format!("{k}: {v}");
                    self.out.push((mark.line() as u64, line));
                    self.value_done();
                    return;
                }
                let owner = self.owner();
                let keys = self.script_keys();
                if owner.as_deref().is_some_and(|k| keys.contains(&k)) {
                    // The parser marks a block scalar (`|`, `>`) at its first line of text,
                    // which is where the script starts.
                    self.out.push((mark.line() as u64, v));
                } else if self.manifest
                    && let Some(k @ ("command" | "args")) = owner.as_deref()
                {
                    let k = k.to_string();
                    if let Some(argv) = self.holder() {
                        argv.push((k, mark.line() as u64, v));
                    }
                }
                self.value_done();
            }
            Event::Alias(_) => self.value_done(),
            _ => {}
        }
    }
}

/// The shell scripts of a CI definition, each with the 1-based line it starts on.
pub fn ci_scripts(text: &str) -> Vec<(u64, String)> {
    yaml_scripts(text, false)
}

/// The shell scripts of a Kubernetes-style manifest (containers' `command`/`args`, Tekton
/// `script`, Argo `source`), each with the 1-based line it starts on.
pub fn manifest_scripts(text: &str) -> Vec<(u64, String)> {
    yaml_scripts(text, true)
}

pub(super) fn yaml_scripts(text: &str, manifest: bool) -> Vec<(u64, String)> {
    let mut recv = CiScripts {
        manifest,
        ..CiScripts::default()
    };
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    // What parsed before an error is kept. After it, one-line script values are still read
    // line by line: `run: curl -H "Authorization: ${{ secrets.T }}" …` has a `: ` in a plain
    // scalar, which YAML refuses and people write.
    let failed_at = parser
        .load(&mut recv, true)
        .err()
        .map(|e| e.marker().line());
    let mut out = recv.out;
    if let Some(from) = failed_at {
        // The scalar the error cut short (`curl -sS -H "Authorization`) is read again whole.
        out.retain(|(l, _)| (*l as usize) < from);
        let keys = script_keys(manifest);
        for (n, line) in text.lines().enumerate().skip(from.saturating_sub(1)) {
            let t = line.trim_start().trim_start_matches("- ").trim_start();
            let Some((key, value)) = t.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if keys.contains(&key.trim())
                && !value.is_empty()
                && !value.starts_with(['|', '>'])
                && !out.iter().any(|(l, _)| *l == n as u64 + 1)
            {
                out.push((n as u64 + 1, value.to_string()));
            }
        }
    }
    out.sort_by_key(|(line, _)| *line);
    out
}
