//! S3 and storage clients (aws, s3cmd, rclone, mc) given secret keys on the command line,
//! and Dockerfile `ENV`/`ARG` that bake a credential into an image.

use super::*;

/// A literal in a secret's position that has a key's shape (`mc alias set rgw URL AK SK`):
/// sixteen or more key characters, letters and digits mixed, no placeholder words. The
/// engine needs context to call a bare key a key; here the command gives it.
pub(super) fn key_shaped(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    v.len() >= 16
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_alphabetic())
        && ![
            "xxxx",
            "your",
            "example",
            "changeme",
            "secret",
            "placeholder",
        ]
        .iter()
        .any(|p| lower.contains(p))
}

/// Configuration keys of the S3 clients that hold a secret.
pub(super) fn s3_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    let k = k.rsplit('.').next().unwrap_or(&k);
    matches!(
        k,
        "aws_secret_access_key"
            | "secret_access_key"
            | "aws_session_token"
            | "session_token"
            | "secret_key"
            | "access_token"
    )
}

/// The arguments of an S3 client that hold a secret, with the option or key that names
/// them: `aws configure set aws_secret_access_key V`, `s3cmd --secret_key=V`,
/// `rclone config create r s3 secret_access_key V` (or `key=V`, `--s3-secret-access-key V`),
/// `mc alias set NAME URL ACCESS SECRET`.
pub(super) fn storage_cli_secrets<'a>(cmd: &str, args: &'a [Word]) -> Vec<(String, &'a Word)> {
    let lits: Vec<String> = args.iter().map(|w| w.literal_prefix()).collect();
    let mut out = Vec::new();
    match cmd {
        "aws" => {
            if lits.first().map(String::as_str) == Some("configure")
                && lits.get(1).map(String::as_str) == Some("set")
                && let (Some(key), Some(value)) = (lits.get(2), args.get(3))
                && s3_secret_key(key)
            {
                out.push((format!("configure set {key}"), value));
            }
        }
        "mc" => {
            let sub: Vec<&str> = lits.iter().take(3).map(String::as_str).collect();
            let secret_at = match sub.as_slice() {
                ["alias", "set", ..] => Some(5),
                ["config", "host", "add", ..] => Some(6),
                _ => None,
            };
            let positional: Vec<&Word> = args
                .iter()
                .filter(|w| !w.literal_prefix().starts_with('-'))
                .collect();
            if let Some(at) = secret_at
                && let Some(value) = positional.get(at)
            {
                out.push((sub[..2].join(" "), *value));
            }
        }
        "redis-cli" => {
            // OLCF's S3M streaming brokers: `redis-cli -u rediss://user:PASSWORD@host`,
            // `-a PASSWORD`, `--pass PASSWORD`.
            let mut i = 0;
            while i < args.len() {
                let lit = &lits[i];
                if matches!(lit.as_str(), "-a" | "--pass" | "-u")
                    && let Some(value) = args.get(i + 1)
                {
                    let authority = value
                        .render()
                        .split_once("://")
                        .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_string())
                        .unwrap_or_default();
                    if lit != "-u" || (authority.contains(':') && authority.contains('@')) {
                        out.push((lit.clone(), value));
                    }
                    i += 1;
                }
                i += 1;
            }
        }
        "s3cmd" | "rclone" => {
            let mut i = 0;
            while i < args.len() {
                let lit = &lits[i];
                let opt = lit.trim_start_matches('-');
                if let Some((k, _)) = lit.split_once('=')
                    && s3_secret_key(k.trim_start_matches('-').trim_start_matches("s3-"))
                {
                    // `--secret_key=V`, rclone's `secret_access_key=V`.
                    out.push((k.to_string(), &args[i]));
                } else if (lit.starts_with("--") || cmd == "rclone")
                    && s3_secret_key(opt.trim_start_matches("s3-"))
                    && let Some(value) = args.get(i + 1)
                {
                    out.push((lit.clone(), value));
                    i += 1;
                }
                i += 1;
            }
        }
        _ => {}
    }
    out
}

/// What to do instead, per S3 client.
pub(super) fn storage_cli_fix(cmd: &str) -> &'static str {
    match cmd {
        "aws" => {
            "write the key into ~/.aws/credentials (0600) with an editor or `aws configure` (it prompts), or export it from a 0600 file for the one process that needs it"
        }
        "s3cmd" => {
            "keep secret_key in a 0600 config file and pass only its name: s3cmd -c ~/.s3cfg …"
        }
        "rclone" => {
            "run `rclone config` (it prompts), or set RCLONE_CONFIG_<REMOTE>_SECRET_ACCESS_KEY from a 0600 file in the environment of the one process, or use env_auth = true"
        }
        "redis-cli" => {
            "let redis-cli read the password from the environment (REDISCLI_AUTH, set from a 0600 file) or from --askpass, and give -u a URL without it"
        }
        _ => {
            "let `mc alias set NAME URL` prompt for the keys, or keep them in ~/.mc/config.json (0600)"
        }
    }
}

/// Dockerfile `ENV`/`ARG` that bake a credential into the image.
pub fn check_docker_env(
    instruction: &str,
    rest: &str,
    judge: &dyn SecretJudge,
) -> Option<CmdFinding> {
    let pairs: Vec<(String, Option<String>)> = if rest.contains('=') {
        commands(rest)
            .into_iter()
            .flat_map(|c| c.words)
            .filter_map(|w| {
                let r = w.render();
                let (k, v) = r.split_once('=')?;
                Some((k.to_string(), Some(v.to_string())))
            })
            .collect()
    } else {
        let mut it = rest.split_whitespace();
        let k = it.next()?.to_string();
        let v: Vec<&str> = it.collect();
        vec![(k, (!v.is_empty()).then(|| v.join(" ")))]
    };
    for (k, v) in pairs {
        let literal = v
            .as_deref()
            .is_some_and(|v| !v.starts_with('$') && judge.is_secret(v));
        // `ENV CRAY_CREDENTIALS=/tmp/setup-token.json` names a file; `false`, `4096` and URLs
        // are settings.
        let plain_setting = |v: &str| {
            let v = v.trim_matches(['"', '\'']);
            v.starts_with(['/', '~', '.'])
                || v.contains("://")
                || v.parse::<f64>().is_ok()
                || matches!(
                    v.to_ascii_lowercase().as_str(),
                    "true" | "false" | "yes" | "no" | "on" | "off" | "none" | "null"
                )
        };
        if literal
            || (token_variable(&k) && instruction == "ARG")
            || (token_variable(&k)
                && v.as_deref()
                    .is_some_and(|v| !v.is_empty() && !v.starts_with('$') && !plain_setting(v)))
        {
            return Some(CmdFinding {
                check: "hygiene.secret_in_image",
                severity: if literal { Severity::High } else { Severity::Medium },
                offset: 0,
                message: format!(
                    "Dockerfile `{instruction} {k}` puts a credential into the image: build args and ENV values are kept in the image's history and layers (docker history shows them)"
                ),
                fix: "pass it at build time with a BuildKit secret (RUN --mount=type=secret,id=token …) or at run time, never as ARG or ENV".into(),
            });
        }
    }
    None
}
