//! What on a command line carries a credential: how a word carries it, the HTTP clients
//! whose options take headers and credentials, MUNGE credentials, and the rewrite that reads
//! the header from a file instead.

use super::*;

/// How a word carries a credential, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Carries {
    /// A command substitution (`$(cat token)`): its output lands in argv.
    Substitution,
    /// A variable named like a credential.
    Variable,
    /// A literal credential.
    Literal,
}

/// True when a command substitution's output is a credential: it reads something named like
/// one (`$(cat ~/.s3m/token)`), a Kubernetes Secret, or a secret store.
pub(super) fn reads_credential(cmd: &str) -> bool {
    let c = cmd.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "credential",
        "vault ",
        "pass show",
        "gopass",
        "op read",
        "keyring get",
    ]
    .iter()
    .any(|k| c.contains(k))
}

/// True when literal text ends with a credential's key: `client_secret=`, `password:`,
/// `"token": "` (the value that follows it is the credential).
pub(super) fn ends_with_credential_key(lit: &str) -> bool {
    let t = lit.trim_end_matches(['"', '\'', ' ']);
    let Some(t) = t.strip_suffix(['=', ':']) else {
        return false;
    };
    let t = t.trim_end_matches(['"', '\'', ' ']);
    let key = t
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .next()
        .unwrap_or("");
    !key.is_empty() && token_variable(&key.replace('-', "_"))
}

pub(super) fn carries(w: &Word, judge: &dyn SecretJudge, header_like: bool) -> Option<Carries> {
    let mut best = None;
    let mut before = "";
    for p in &w.parts {
        // `-d client_secret=$(kubectl get secret …)`, `-d "password=$P"`: the key says what
        // the expansion is, whatever it is named.
        let keyed = ends_with_credential_key(before);
        let c = match p {
            // In an auth header any expansion is the credential, whatever its name.
            Part::Var(v) if header_like || token_variable(v) || keyed => Some(Carries::Variable),
            // In an auth header any substitution is the credential; elsewhere only one that
            // reads a credential or sits under a credential's key.
            Part::Subst(cmd) if header_like || keyed || reads_credential(cmd) => {
                Some(Carries::Substitution)
            }
            _ => None,
        };
        before = match p {
            Part::Lit(t) => t,
            _ => "",
        };
        best = best.max(c);
    }
    if let Some(text) = w.literal()
        && judge.is_secret(&text)
    {
        best = Some(Carries::Literal);
    } else if header_like
        && let Some(Part::Lit(first)) = w.parts.first()
        && let Some((_, value)) = first.split_once(':')
        && w.parts.len() == 1
        && judge.is_secret(value.trim())
    {
        best = Some(Carries::Literal);
    }
    best
}

/// Header names whose value is a credential.
pub(super) fn auth_header(value: &str) -> bool {
    let name = value
        .split_once(':')
        .map(|(n, _)| n.trim().to_ascii_lowercase())
        .unwrap_or_default();
    name == "authorization"
        || name == "cookie"
        || name.contains("token")
        || name.contains("api-key")
        || name.contains("apikey")
        || name.contains("secret")
}

/// The word shown in a finding: every literal part redacted, including literals beside an
/// expansion (`"https://h/?token=<literal>&x=$Y"`), and the text of a substitution too (it
/// may hold one: `$(echo <literal> | base64 -d)`), on one line.
pub(super) fn shown(w: &Word, judge: &dyn SecretJudge) -> String {
    let text: String = w
        .parts
        .iter()
        .map(|p| match p {
            Part::Lit(t) => judge.redact(t),
            other => judge.redact(
                &Word {
                    parts: vec![other.clone()],
                    offset: w.offset,
                }
                .render(),
            ),
        })
        .collect();
    // A substitution continued over lines (`$(kubectl … \<newline> -o …)`) reads as one.
    text.replace("\\\n", " ")
        .split('\n')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Options of HTTP clients whose value may carry a credential, and whether the value is a
/// header (`Name: value`).
pub(super) fn value_option(cmd: &str, opt: &str) -> Option<bool> {
    match cmd {
        "curl" => match opt {
            "-H" | "--header" | "--proxy-header" => Some(true),
            "-u" | "--user" | "-U" | "--proxy-user" | "--oauth2-bearer" | "-d" | "--data"
            | "--data-raw" | "--data-binary" | "--data-urlencode" | "-F" | "--form" | "-b"
            | "--cookie" => Some(false),
            _ => None,
        },
        "wget" => match opt {
            "--header" => Some(true),
            "--password" | "--http-password" | "--proxy-password" | "--post-data" => Some(false),
            _ => None,
        },
        "grpcurl" => match opt {
            "-H" | "-rpc-header" | "-reflect-header" => Some(true),
            _ => None,
        },
        "http" | "https" | "xh" => match opt {
            "-a" | "--auth" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Options that take a value, per client, so positional arguments are told from values.
pub(super) fn takes_value(cmd: &str, opt: &str) -> bool {
    value_option(cmd, opt).is_some()
        || matches!(
            (cmd, opt),
            (
                "curl",
                "-o" | "--output"
                    | "-X"
                    | "--request"
                    | "-A"
                    | "--user-agent"
                    | "-e"
                    | "--referer"
                    | "--cacert"
                    | "--cert"
                    | "--key"
                    | "-m"
                    | "--max-time"
                    | "-K"
                    | "--config"
                    | "-w"
                    | "--write-out"
                    | "--connect-timeout"
                    | "--retry"
                    | "-x"
                    | "--proxy"
                    | "-T"
                    | "--upload-file"
            ) | (
                "wget",
                "-O" | "-o" | "--output-document" | "-t" | "--tries" | "-T" | "--timeout"
            ) | (
                "http" | "https" | "xh",
                "-A" | "--auth-type" | "-o" | "--output"
            )
        )
}

/// The longest MUNGE credential lifetime (`munge -t`, seconds) that counts as short-lived on a
/// command line: replay is refused by munged and the window closes before most eyes see it.
pub(super) const SHORT_MUNGE_TTL: u32 = 60;

/// True when the word is a `MUNGE $(munge … -t N)` header value with N at most
/// [`SHORT_MUNGE_TTL`].
pub(super) fn short_lived_munge(w: &Word) -> bool {
    if !w.literal_prefix().to_ascii_lowercase().contains("munge") {
        return false;
    }
    w.parts.iter().any(|p| {
        let Part::Subst(inner) = p else { return false };
        let words: Vec<&str> = inner.split_whitespace().collect();
        if words
            .first()
            .is_none_or(|c| c.rsplit('/').next() != Some("munge"))
        {
            return false;
        }
        munge_ttl(&words).is_some_and(|t| t > 0 && t <= SHORT_MUNGE_TTL)
    })
}

/// The TTL a `munge` command line asks for: `-t N`, `-tN`, `--ttl N`, `--ttl=N`, and bundled
/// short flags (`-nt 5`, `-nt5`). `Some(0)` when a TTL flag has no number after it.
pub(super) fn munge_ttl(words: &[&str]) -> Option<u32> {
    words.iter().enumerate().find_map(|(i, a)| {
        let next = || words.get(i + 1).and_then(|v| v.parse::<u32>().ok());
        if *a == "--ttl" {
            return Some(next().unwrap_or(0));
        }
        if let Some(v) = a.strip_prefix("--ttl=") {
            return Some(v.parse().unwrap_or(0));
        }
        let flags = a.strip_prefix('-').filter(|f| !f.starts_with('-'))?;
        let at = flags.find('t')?;
        // Letters before `t` are flags without values (`-n`); what follows is the number.
        if !flags[..at].bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        let rest = &flags[at + 1..];
        Some(if rest.is_empty() {
            next().unwrap_or(0)
        } else {
            rest.parse().unwrap_or(0)
        })
    })
}

/// The last flag of a bundle of short flags (`-iskH` → `-H`) when it is one that carries a
/// credential and the flags before it take no value (a value-taking flag in the middle would
/// take the rest of the word as its value).
pub(super) fn bundled_value_flag(cmd: &str, word: &str) -> Option<String> {
    let flags = word.strip_prefix('-')?;
    if flags.len() < 2 || flags.starts_with('-') || !flags.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return None;
    }
    let (before, last) = flags.split_at(flags.len() - 1);
    if before.chars().any(|c| takes_value(cmd, &format!("-{c}"))) {
        return None;
    }
    let last = format!("-{last}");
    value_option(cmd, &last).map(|_| last)
}

/// One argument that carries a credential: option (or item), the value word, and how.
pub(super) struct Leak {
    pub(super) option: String,
    pub(super) value: Word,
    pub(super) header: bool,
    pub(super) how: Carries,
}

pub(super) fn http_client_leaks(
    cmd: &str,
    args: &[Word],
    judge: &dyn SecretJudge,
) -> (Vec<Leak>, Vec<usize>) {
    let mut leaks = Vec::new();
    let mut leak_words = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        let lit = w.literal_prefix();
        // `--opt=value` and `-Hvalue`.
        let (opt, value, span) = if let Some((o, _)) = lit.split_once('=')
            && o.starts_with("--")
            && value_option(cmd, o).is_some()
        {
            (o.to_string(), Some(w.strip_literal(o.len() + 1)), 1)
        } else if let Some(short) = lit.get(..2)
            && lit.len() > 2
            && lit.starts_with('-')
            && !lit.starts_with("--")
            && value_option(cmd, short).is_some()
        {
            // `get`, not `[..2]`: after a `-` may come a multi-byte character.
            (short.to_string(), Some(w.strip_literal(2)), 1)
        } else if value_option(cmd, &lit).is_some() && w.literal().is_some() {
            (lit.clone(), args.get(i + 1).cloned(), 2)
        } else if let Some(last) = bundled_value_flag(cmd, &lit)
            && w.literal().is_some()
        {
            // `-iskH "Authorization: …"`: flags bundled before the one that takes the value.
            (last, args.get(i + 1).cloned(), 2)
        } else if takes_value(cmd, &lit) && w.literal().is_some() {
            i += 2;
            continue;
        } else {
            (String::new(), None, 1)
        };
        if let Some(value) = value {
            let header = value_option(cmd, &opt) == Some(true);
            let vlit = value.literal_prefix();
            // `-H @file`, `--header @-`: the value is read from a file, not argv.
            let from_file = vlit.starts_with('@');
            // `-H "$hdr"`, where the file set `hdr="Authorization: …"`.
            let header_var = header
                && matches!(value.parts.as_slice(), [Part::Var(v)] if judge.holds_credential_header(v));
            let relevant = !header || auth_header(&vlit) || value.parts.len() > 1 || header_var;
            // `-u "root:$(cat pw)"`: whatever follows `user:` is the password.
            let userinfo = matches!(opt.as_str(), "-u" | "--user" | "-U" | "--proxy-user")
                && vlit.contains(':');
            if !from_file
                && relevant
                && let Some(how) = carries(
                    &value,
                    judge,
                    (header && auth_header(&vlit)) || userinfo || header_var,
                )
            {
                leaks.push(Leak {
                    option: opt,
                    value,
                    header,
                    how,
                });
                leak_words.extend(i..i + span);
            }
            i += span;
            continue;
        }
        // Positional: a URL with a credential in it, or an HTTPie `Header:value` item.
        if !lit.starts_with('-') {
            let url_like = lit.contains("://") || lit.contains('?');
            let httpie_header = matches!(cmd, "http" | "https" | "xh")
                && lit.contains(':')
                && !lit.contains("://")
                && auth_header(&lit);
            if (url_like || httpie_header)
                && let Some(how) = carries(w, judge, httpie_header)
            {
                leaks.push(Leak {
                    option: String::new(),
                    value: w.clone(),
                    header: httpie_header,
                    how,
                });
                leak_words.push(i);
            }
        }
        i += 1;
    }
    (leaks, leak_words)
}

/// A name for the 0600 file that keeps the header, after the facility the command talks to:
/// a Palmetto or Globus user is not told to keep an S3M header.
pub(super) fn header_file(rest: &str, headers: &[String]) -> &'static str {
    let all = format!("{rest} {}", headers.join(" ")).to_ascii_lowercase();
    let facility = [
        ("s3m", ".s3m-header"),
        ("palmetto", ".palmetto-header"),
        ("globus", ".globus-header"),
        ("alcf", ".iri-header"),
        ("nersc", ".iri-header"),
        ("iri", ".iri-header"),
        ("slurm", ".slurm-header"),
        ("keycloak", ".csm-header"),
        ("api-gw-service", ".csm-header"),
    ];
    facility
        .iter()
        .find(|(word, _)| all.contains(word))
        .map_or(".api-header", |(_, file)| file)
}

/// The command rewritten so the credential is read from stdin or a file, not argv.
pub(super) fn rewrite(
    cmd: &str,
    args: &[Word],
    leaks: &[Leak],
    leak_words: &[usize],
    judge: &dyn SecretJudge,
) -> String {
    let kept: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| !leak_words.contains(i))
        .map(|(_, w)| quote(&shown(w, judge)))
        .collect();
    let headers: Vec<String> = leaks
        .iter()
        .filter(|l| l.header || l.option == "--oauth2-bearer")
        .map(|l| {
            if l.option == "--oauth2-bearer" {
                format!("Authorization: Bearer {}", shown(&l.value, judge))
            } else {
                shown(&l.value, judge)
            }
        })
        .collect();
    let rest = kept.join(" ");
    match cmd {
        "curl" if !headers.is_empty() => format!(
            "curl -H @- {rest} <<< \"{}\"   (or keep the header in a 0600 file: curl -H @~/{} …)",
            headers.join("\\n"),
            header_file(&rest, &headers)
        ),
        "curl" => format!(
            "curl -K - {rest} <<< 'user = \"…\"'   (curl reads the option from stdin; or use --netrc-file with a 0600 file)"
        ),
        "wget" if !headers.is_empty() => format!(
            "wget {rest} with the header in a 0600 file: wget --config=FILE (header = {}) …",
            headers.join(", ")
        ),
        "grpcurl" => format!(
            "grpcurl {rest} with the header read from a file (grpcurl -H does not read files: use a wrapper that passes it via -rpc-header from a 0600 file, or a client library)"
        ),
        other => format!(
            "{other} {rest}, with the credential read from a 0600 file or the environment inside the program"
        ),
    }
}

pub(super) fn basename(w: &Word) -> Option<String> {
    let lit = w.literal()?;
    let base = lit.rsplit(['/', '\\']).next().unwrap_or(&lit);
    // `curl.exe` in a Windows batch file or PowerShell.
    let base = base
        .strip_suffix(".exe")
        .or_else(|| base.strip_suffix(".EXE"))
        .unwrap_or(base);
    Some(base.to_string())
}
