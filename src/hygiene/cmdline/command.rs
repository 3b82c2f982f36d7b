//! One command, parsed: its leaks judged, nested shells and substitutions followed, and
//! findings written.

use super::*;

/// The command name and its arguments, past leading `NAME=value` assignments and wrappers
/// (`sudo -u svc`, `env -i`, `srun -n 4`, `exec`, `time`, `nohup`, `command`): after a
/// wrapper, the first word naming a known command is the command.
pub(super) fn split_command(c: &Command) -> Option<(String, &[Word])> {
    let mut i = 0;
    while let Some(w) = c.words.get(i) {
        let lit = w.literal_prefix();
        let is_assign = lit.split_once('=').is_some_and(|(n, _)| {
            !n.is_empty() && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        });
        if !is_assign {
            break;
        }
        i += 1;
    }
    let name = basename(c.words.get(i)?)?;
    // Programs that run the command in their arguments (`kubectl exec pod -- curl …`,
    // `timeout 10 curl …`), and a script's own helpers named for it (`retry 3 curl …`,
    // `run_cmd_verify curl …`): curl's argv is the same there.
    let runner = matches!(
        name.as_str(),
        "sudo"
            | "env"
            | "exec"
            | "time"
            | "nohup"
            | "command"
            | "srun"
            | "mpirun"
            | "xargs"
            | "if"
            | "elif"
            | "then"
            | "else"
            | "while"
            | "until"
            | "do"
            | "!"
            | "timeout"
            | "nice"
            | "ionice"
            | "stdbuf"
            | "watch"
            | "flock"
            | "kubectl"
            | "docker"
            | "podman"
            | "singularity"
            | "apptainer"
            | "ssh"
    ) || ["retry", "run_cmd", "_run", "run_"]
        .iter()
        .any(|h| name.to_ascii_lowercase().contains(h));
    if runner {
        let j = (i + 1..c.words.len())
            .find(|&j| basename(&c.words[j]).is_some_and(|b| KNOWN.contains(&b.as_str())))?;
        let inner = basename(&c.words[j])?;
        return Some((inner, &c.words[j + 1..]));
    }
    Some((name, &c.words[i + 1..]))
}

/// Checks one lexed source (a script, a recipe, a `RUN`, a history file).
pub fn check_source(src: &str, ctx: Context, judge: &dyn SecretJudge) -> Vec<CmdFinding> {
    let mut out = Vec::new();
    check_nested(src, None, ctx, judge, &mut out, 0);
    out
}

/// How deep command substitutions inside command substitutions are followed.
pub(super) const MAX_NESTING: usize = 4;

/// Checks each command of `src`, then the commands inside its `$(…)` and backticks
/// (`TOKEN=$(curl -s -H "Authorization: Bearer $T" …)`, `[[ $(curl …) ]]` is how admin scripts
/// call APIs). A nested command's finding is placed at the word that holds it (`at`, for the
/// outermost source: its own offset).
pub(super) fn check_nested(
    src: &str,
    at: Option<usize>,
    ctx: Context,
    judge: &dyn SecretJudge,
    out: &mut Vec<CmdFinding>,
    depth: usize,
) {
    let cmds = commands(src);
    for (i, c) in cmds.iter().enumerate() {
        // `munge -n | unmunge`, MUNGE's own test: the credential goes straight into the
        // decoder, nowhere else.
        if c.piped
            && c.words.first().and_then(basename).as_deref() == Some("munge")
            && cmds
                .get(i + 1)
                .and_then(|n| n.words.first())
                .and_then(basename)
                .as_deref()
                == Some("unmunge")
        {
            continue;
        }
        let first = out.len();
        check_command(c, ctx, judge, out);
        if let Some(at) = at {
            for f in &mut out[first..] {
                f.offset = at;
            }
        }
        if depth >= MAX_NESTING {
            continue;
        }
        for w in &c.words {
            for p in &w.parts {
                if let Part::Subst(inner) = p {
                    let place = at.unwrap_or(w.offset);
                    check_nested(inner, Some(place), ctx, judge, out, depth + 1);
                }
            }
        }
    }
}

/// What to do about SLURM_JWT in `sbatch --export` or `#SBATCH --export`.
pub(super) const SLURM_JWT_EXPORT_FIX: &str =
    "leave SLURM_JWT out of --export; the job does not need it to run";

/// Checks one simple command.
pub fn check_command(
    c: &Command,
    ctx: Context,
    judge: &dyn SecretJudge,
    out: &mut Vec<CmdFinding>,
) {
    {
        let Some(offset) = c.words.first().map(|w| w.offset) else {
            return;
        };
        let Some((name, args)) = split_command(c) else {
            return;
        };
        match name.as_str() {
            "curl" | "wget" | "http" | "https" | "xh" | "grpcurl" => {
                let (leaks, leak_words) = http_client_leaks(&name, args, judge);
                if leaks.is_empty() {
                    return;
                }
                let worst = leaks
                    .iter()
                    .map(|l| l.how)
                    .max()
                    .unwrap_or(Carries::Variable);
                let what: Vec<String> = leaks
                    .iter()
                    .map(|l| {
                        let v = shown(&l.value, judge);
                        if l.option.is_empty() {
                            v
                        } else {
                            format!("{} {v}", l.option)
                        }
                    })
                    .collect();
                let how = carries_phrase(worst);
                // Palmetto's documented form, `Authorization: MUNGE $(munge -n -t 5)`: a
                // credential that lives seconds and that munged replays only once.
                let short_lived = leaks.iter().all(|l| short_lived_munge(&l.value));
                let expired = leaks
                    .iter()
                    .all(|l| l.how == Carries::Literal && judge.expired(&l.value.render()));
                out.push(CmdFinding {
                    check: "hygiene.token_on_command_line",
                    severity: if short_lived {
                        Severity::Info
                    } else {
                        leak_severity(worst, ctx, expired)
                    },
                    offset,
                    message: format!(
                        "`{name}` gets {how} on its command line ({}): every user of the machine can read it with ps while it runs",
                        what.join(", ")
                    ),
                    fix: format!(
                        "read it from a file or stdin instead: {}",
                        rewrite(&name, args, &leaks, &leak_words, judge)
                    ),
                });
                // A plain slurmrestd logs a non-Bearer Authorization header.
                let slurm_url = args.iter().any(|w| {
                    let t = w.render();
                    t.contains("/slurm/v0.0.") || t.contains("/slurmdb/v0.0.")
                });
                // Palmetto's gateway takes `Authorization: MUNGE …`: it is not a plain slurmrestd.
                let palmetto = args
                    .iter()
                    .any(|w| w.render().contains("api.palmetto.clemson.edu"));
                if slurm_url
                    && !palmetto
                    && leaks.iter().any(|l| {
                        let v = l.value.literal_prefix().to_ascii_lowercase();
                        v.starts_with("authorization:")
                            && !v
                                .trim_start_matches("authorization:")
                                .trim_start()
                                .starts_with("bearer")
                    })
                {
                    out.push(CmdFinding {
                        check: "hygiene.slurmrestd_non_bearer_auth",
                        severity: Severity::Medium,
                        offset,
                        message: "an `Authorization` header without `Bearer` sent to slurmrestd: a plain slurmrestd does not accept it and logs the header".into(),
                        fix: "send `X-SLURM-USER-TOKEN` (with `X-SLURM-USER-NAME`) or `Authorization: Bearer <jwt>`, read from a file (-H @file)".into(),
                    });
                }
            }
            "aws" | "s3cmd" | "rclone" | "mc" | "redis-cli" => {
                // The value is a credential by its position: any expansion there is one.
                let leaks: Vec<(String, &Word, Carries)> = storage_cli_secrets(&name, args)
                    .into_iter()
                    .filter_map(|(opt, w)| {
                        let how = carries(w, judge, true).or_else(|| {
                            w.literal()
                                .is_some_and(|l| key_shaped(&l))
                                .then_some(Carries::Literal)
                        });
                        how.map(|how| (opt, w, how))
                    })
                    .collect();
                let Some(worst) = leaks.iter().map(|(_, _, how)| *how).max() else {
                    return;
                };
                let expired = leaks
                    .iter()
                    .all(|(_, w, how)| *how == Carries::Literal && judge.expired(&w.render()));
                let what: Vec<String> = leaks
                    .iter()
                    .map(|(opt, w, _)| format!("{opt} {}", shown(w, judge)))
                    .collect();
                out.push(CmdFinding {
                    check: "hygiene.token_on_command_line",
                    severity: leak_severity(worst, ctx, expired),
                    offset,
                    message: format!(
                        "`{name}` gets {} on its command line ({}): every user of the machine can read it with ps while it runs{}",
                        carries_phrase(worst),
                        what.join(", "),
                        if ctx == Context::History { ", and shell history keeps it" } else { "" }
                    ),
                    fix: storage_cli_fix(&name).into(),
                });
            }
            "export" | "declare" | "typeset" | "setenv" => {
                // csh's `setenv NAME VALUE`: the same, written with a space.
                let csh: Vec<(String, Word)> = match (name.as_str(), args) {
                    ("setenv", [n, v, ..]) if !n.literal_prefix().contains('=') => {
                        vec![(n.literal_prefix(), v.clone())]
                    }
                    _ => args
                        .iter()
                        .filter_map(|w| {
                            let lit = w.literal_prefix();
                            let (var, _) = lit.split_once('=')?;
                            Some((var.to_string(), w.strip_literal(var.len() + 1)))
                        })
                        .collect(),
                };
                for (var, value) in csh {
                    let var = var.as_str();
                    let literal = value.literal();
                    let literal_secret = literal.as_ref().is_some_and(|v| judge.is_secret(v));
                    if literal_secret {
                        let expired = literal.as_ref().is_some_and(|v| judge.expired(v));
                        out.push(CmdFinding {
                            check: "hygiene.token_exported",
                            severity: if expired { Severity::Low } else { Severity::High },
                            offset,
                            message: format!(
                                "`export {var}=<redacted>` writes a literal credential into {}",
                                if ctx == Context::History { "shell history" } else { "a script" }
                            ),
                            fix: format!(
                                "keep it in a 0600 file and read it at run time: export {var}=\"$(cat ~/.config/<facility>/token)\" (and delete the history entry: history -d N)"
                            ),
                        });
                    }
                    if ctx == Context::BatchScript && var == "SLURM_JWT" {
                        out.push(CmdFinding {
                            check: "hygiene.slurm_jwt_in_job_environment",
                            severity: Severity::Medium,
                            offset,
                            message: "SLURM_JWT is exported in a batch script: every job step inherits it, and it shows in the job's environment (scontrol show job, /proc/*/environ)".into(),
                            fix: "export SLURM_JWT only in the shell that calls slurmrestd, never in a batch script; submit with --export=NONE or an explicit list without it".into(),
                        });
                    }
                }
            }
            "sbatch" | "salloc" => {
                let exports_jwt = args.iter().any(|w| {
                    let t = w.render();
                    (t.starts_with("--export=") || t.starts_with("--export "))
                        && t.contains("SLURM_JWT")
                });
                if exports_jwt {
                    out.push(CmdFinding {
                        check: "hygiene.slurm_jwt_in_job_environment",
                        severity: Severity::Medium,
                        offset,
                        message: format!(
                            "`{name} --export=…SLURM_JWT…` hands the token to every step of the job"
                        ),
                        fix: SLURM_JWT_EXPORT_FIX.into(),
                    });
                }
            }
            "munge" => {
                let lits: Vec<String> = args.iter().map(|w| w.literal_prefix()).collect();
                let no_input = lits.iter().any(|t| {
                    t == "--no-input"
                        || t.strip_prefix('-').is_some_and(|f| {
                            !f.starts_with('-')
                                && f.split('t').next().is_some_and(|b| b.contains('n'))
                        })
                });
                let words: Vec<&str> = lits.iter().map(String::as_str).collect();
                let ttl = munge_ttl(&words).is_some();
                if no_input && !ttl {
                    out.push(CmdFinding {
                        check: "hygiene.munge_without_ttl",
                        severity: Severity::Low,
                        offset,
                        message: "`munge -n` without `-t`: the credential stays replayable for the default TTL (300 s) wherever it is sent or logged".into(),
                        fix: "munge -n -t 5 (Palmetto's API accepts a credential once, within seconds)".into(),
                    });
                }
            }
            _ => {}
        }
    }
}

/// How a credential reaches a command line, in words.
pub(super) fn carries_phrase(how: Carries) -> &'static str {
    match how {
        Carries::Literal => "a literal credential",
        Carries::Variable => "a credential expanded from a variable",
        Carries::Substitution => "a credential from a command substitution",
    }
}

/// A literal (or anything typed into history) is high; an expansion is medium: the script
/// itself holds no secret, but every run shows one. An expired literal is low.
pub(super) fn leak_severity(worst: Carries, ctx: Context, expired: bool) -> Severity {
    if expired {
        Severity::Low
    } else if worst == Carries::Literal || ctx == Context::History {
        Severity::High
    } else {
        Severity::Medium
    }
}
