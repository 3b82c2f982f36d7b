//! Tokens on command lines, found by parsing (not grepping) the places commands are written:
//! shell and Slurm batch scripts, shell history files, Makefile recipes, Dockerfile `RUN`,
//! `ENV` and `ARG`, and Jupyter `!` and `%%bash` cells.
//!
//! A command's arguments are visible to every user of a login node (`ps`, `/proc/*/cmdline`),
//! so a token in `curl -H "Authorization: $S3M_TOKEN"` leaks whether it is written literally or
//! expanded from a variable. Facility guidance (OLCF, ALCF) is `curl -H @file`: the header is
//! read from a file, and argv holds only the file name. Each finding shows the command
//! rewritten that way. Literal values are never copied into a finding: they are shown redacted.

use super::shell::{Command, Part, Word, commands};
use crate::rules::Severity;

/// A problem found in one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdFinding {
    /// The check id.
    pub check: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// Byte offset of the command in the lexed source.
    pub offset: usize,
    /// What is wrong (credential values redacted).
    pub message: String,
    /// The command rewritten, or what to do.
    pub fix: String,
}

/// What the file is, for checks that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A script or recipe that runs where it is written.
    Script,
    /// A Slurm batch script: its environment is inherited by every job step.
    BatchScript,
    /// A shell history file: what was typed, as it was typed.
    History,
}

/// Judges whether a literal value is a credential (the engine, in practice).
pub trait SecretJudge {
    /// True if `value` holds a credential.
    fn is_secret(&self, value: &str) -> bool;

    /// True if every credential in `value` is a token that has expired: still worth telling
    /// (it shows the habit, and the next one will be live), at low severity.
    fn expired(&self, _value: &str) -> bool {
        false
    }

    /// True when the file assigns a credential header to shell variable `var`
    /// (`hdr="Authorization: MUNGE $(munge -n)"`), so `curl -H "$hdr"` sends it.
    fn holds_credential_header(&self, _var: &str) -> bool {
        false
    }

    /// False when the file holds no credential the engine found: then only commands that
    /// name a known program can matter, and only the lines around them need lexing.
    fn knows_secrets(&self) -> bool {
        true
    }

    /// `text` with its credentials replaced by `<redacted>`. By default the whole text goes,
    /// or the value of a `Name: value` pair; the engine's judge redacts exactly the
    /// credential's bytes.
    fn redact(&self, text: &str) -> String {
        if self.is_secret(text) {
            return "<redacted>".into();
        }
        match text.split_once(':') {
            Some((n, v)) if self.is_secret(v.trim()) => format!("{n}: <redacted>"),
            _ => text.to_string(),
        }
    }
}

/// Variable names that hold credentials.
///
/// A keyword counts as a word of the name (`S3M_TOKEN`, `AUTH_HEADER`) or at its end
/// (`GHTOKEN`), not inside another word: `TOKENIZERS_PARALLELISM` and `MAX_TOKENS` are
/// settings, `AUTHOR` a name.
pub fn token_variable(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let word_at = |k: &str| {
        n.ends_with(k)
            || n.match_indices(k).any(|(i, _)| {
                let before = i == 0 || n.as_bytes()[i - 1] == b'_';
                let after = n.as_bytes().get(i + k.len()).is_none_or(|&c| c == b'_');
                before && after
            })
    };
    [
        "TOKEN",
        "JWT",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "BEARER",
        "CREDENTIAL",
        "CREDENTIALS",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "AUTH",
    ]
    .iter()
    .any(|k| word_at(k))
        && !n.ends_with("_FILE")
        && !n.ends_with("_PATH")
        && !n.ends_with("_DIR")
        && !n.ends_with("_URL")
}

/// How a word carries a credential, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Carries {
    /// A command substitution (`$(cat token)`): its output lands in argv.
    Substitution,
    /// A variable named like a credential.
    Variable,
    /// A literal credential.
    Literal,
}

/// True when a command substitution's output is a credential: it reads something named like
/// one (`$(cat ~/.s3m/token)`), a Kubernetes Secret, or a secret store.
fn reads_credential(cmd: &str) -> bool {
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
fn ends_with_credential_key(lit: &str) -> bool {
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

fn carries(w: &Word, judge: &dyn SecretJudge, header_like: bool) -> Option<Carries> {
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
fn auth_header(value: &str) -> bool {
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
fn shown(w: &Word, judge: &dyn SecretJudge) -> String {
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

fn quote(s: &str) -> String {
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
fn value_option(cmd: &str, opt: &str) -> Option<bool> {
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
fn takes_value(cmd: &str, opt: &str) -> bool {
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
const SHORT_MUNGE_TTL: u32 = 60;

/// True when the word is a `MUNGE $(munge … -t N)` header value with N at most
/// [`SHORT_MUNGE_TTL`].
fn short_lived_munge(w: &Word) -> bool {
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
fn munge_ttl(words: &[&str]) -> Option<u32> {
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
fn bundled_value_flag(cmd: &str, word: &str) -> Option<String> {
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
struct Leak {
    option: String,
    value: Word,
    header: bool,
    how: Carries,
}

fn http_client_leaks(cmd: &str, args: &[Word], judge: &dyn SecretJudge) -> (Vec<Leak>, Vec<usize>) {
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
fn header_file(rest: &str, headers: &[String]) -> &'static str {
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
fn rewrite(
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

fn basename(w: &Word) -> Option<String> {
    let lit = w.literal()?;
    let base = lit.rsplit(['/', '\\']).next().unwrap_or(&lit);
    // `curl.exe` in a Windows batch file or PowerShell.
    let base = base
        .strip_suffix(".exe")
        .or_else(|| base.strip_suffix(".EXE"))
        .unwrap_or(base);
    Some(base.to_string())
}

/// Commands the checks know.
const KNOWN: &[&str] = &[
    "curl",
    "wget",
    "http",
    "https",
    "xh",
    "grpcurl",
    "export",
    "declare",
    "typeset",
    "setenv",
    "sbatch",
    "salloc",
    "munge",
    "aws",
    "s3cmd",
    "rclone",
    "mc",
    "redis-cli",
];

/// Shell variables a file assigns a credential header to (`hdr="Authorization: Bearer $T"`,
/// `AUTH='X-SLURM-USER-TOKEN: …'`), found with one pattern over the whole file.
pub fn credential_header_variables(text: &[u8]) -> Vec<String> {
    static RE: std::sync::LazyLock<Option<regex::bytes::Regex>> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(
            r#"(?m)^[ \t]*(?:export[ \t]+|local[ \t]+|readonly[ \t]+|declare[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=["']?((?i:authorization|cookie|private-token|x-[a-z-]*token|[a-z-]*api-key))[ \t]*:"#,
        )
        .ok()
    });
    // Only a file that passes a header from a variable can need them: one substring search
    // per form spares the pattern (no literal to start from) every other file.
    if ![
        &b"-H \"$"[..],
        b"-H $",
        b"-H\"$",
        b"--header \"$",
        b"--header $",
        b"--header=\"$",
        b"--header=$",
    ]
    .iter()
    .any(|w| memchr::memmem::find(text, w).is_some())
    {
        return Vec::new();
    }
    let Some(re) = RE.as_ref() else {
        return Vec::new();
    };
    let mut names: Vec<String> = re
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Bytes that every command the checks report contains (HTTPie's words count only where
/// [`httpie_at`] says they start a command), apart from an `export` of a literal credential
/// (which the engine has then found in the file). A file without any of them holds nothing to report, so it is not lexed: of
/// git/git's 1,345 shell scripts and 960 documents, 80 are.
const COMMAND_WORDS: &[&str] = &[
    "curl",
    "wget",
    "munge -",
    "SLURM_JWT",
    "configure set",
    "s3cmd",
    "rclone",
    "alias set",
    "config host add",
    "redis-cli",
    // HTTPie and xh: a hit is kept only when it is a command (see `httpie_at`).
    "http ",
    "http\t",
    "https ",
    "https\t",
    "xh ",
    "xh\t",
];

/// How many of [`COMMAND_WORDS`], from the end, are HTTPie's and need [`httpie_at`].
const HTTPIE_WORDS: usize = 6;

/// Leftmost-first, not the default standard semantics: only leftmost searches get the packed
/// (SIMD) searcher; the standard automaton ran at a tenth of its speed and cost more than
/// the lexing it spared.
static COMMAND_WORDS_AC: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(COMMAND_WORDS)
            .ok()
    });

/// True when the HTTPie/xh word found at `at` (`http `, `xh\t`, …) starts a command, not the
/// word `http` in prose: a word boundary before it, and after the blanks a method, a flag, a
/// `:port` or a URL. Checked by hand on the one automaton's hits: a separate regex pass over
/// every document cost a thirtieth of a git/git scan.
fn httpie_at(content: &[u8], at: usize, len: usize) -> bool {
    if at > 0 && !b" \t\n;&|(!".contains(&content[at - 1]) {
        return false;
    }
    let rest = &content[at + len..];
    let rest = &rest[rest
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(rest.len())..];
    let method = rest.iter().take_while(|b| b.is_ascii_uppercase()).count();
    rest.starts_with(b"-")
        || rest.starts_with(b":")
        || rest.starts_with(b"http://")
        || rest.starts_with(b"https://")
        || (method > 0 && matches!(rest.get(method), Some(b' ' | b'\t')))
}

/// The offsets of the command words in `content` (HTTPie's only where they are commands).
fn command_word_hits(content: &[u8]) -> Option<impl Iterator<Item = usize> + '_> {
    let ac = COMMAND_WORDS_AC.as_ref()?;
    let strong = COMMAND_WORDS.len() - HTTPIE_WORDS;
    Some(ac.find_iter(content).filter_map(move |m| {
        let id = m.pattern().as_usize();
        (id < strong || httpie_at(content, m.start(), m.len())).then_some(m.start())
    }))
}

/// The parts of a shell script worth lexing when it holds no credential the engine found:
/// each line with a command word (see [`may_hold_commands`]), widened to the whole command —
/// the lines a backslash continues, and the lines a quote left open runs on to (at most
/// [`REGION_LINES`]). Byte ranges, in order, merged where they touch. gitk (400 kB of Tcl
/// behind a `#!/bin/sh`) was lexed whole for one `http` in a comment.
fn command_regions(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let hits: Vec<usize> = match command_word_hits(b) {
        Some(h) => h.collect(),
        None => return vec![(0, b.len())],
    };
    let line_start = |i: usize| {
        b[..i]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1)
    };
    let line_end = |i: usize| memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p);
    let continued = |end: usize| {
        let line = &b[line_start(end)..end];
        line.strip_suffix(b"\r").unwrap_or(line).ends_with(b"\\")
    };
    let mut out: Vec<(usize, usize)> = Vec::new();
    for hit in hits {
        if out.last().is_some_and(|&(_, e)| hit < e) {
            continue;
        }
        let mut start = line_start(hit);
        // Up over the lines a backslash continues into this one.
        while start > 0 && continued(start - 1) {
            start = line_start(start - 1);
        }
        let mut end = line_end(hit);
        let mut lines = 0;
        while end < b.len()
            && lines < REGION_LINES
            && (continued(end) || open_quote(&b[start..end]))
        {
            end = line_end(end + 1);
            lines += 1;
        }
        match out.last_mut() {
            Some((_, e)) if start <= *e + 1 => *e = end.max(*e),
            _ => out.push((start, end)),
        }
    }
    out
}

/// How far a region follows a command past its line.
const REGION_LINES: usize = 100;

/// True when `s` ends inside a quoted string.
fn open_quote(s: &[u8]) -> bool {
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' if !single => i += 1,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single && !double && (i == 0 || b" \t\n;".contains(&s[i - 1])) => {
                // A comment runs to the end of its line; its quotes do not count.
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    single || double
}

/// True when `content` may hold a command the checks know (see [`COMMAND_WORDS`]); when a
/// searcher cannot be built, every file may.
pub fn may_hold_commands(content: &[u8]) -> bool {
    command_word_hits(content).is_none_or(|mut hits| hits.next().is_some())
}

/// The command name and its arguments, past leading `NAME=value` assignments and wrappers
/// (`sudo -u svc`, `env -i`, `srun -n 4`, `exec`, `time`, `nohup`, `command`): after a
/// wrapper, the first word naming a known command is the command.
fn split_command(c: &Command) -> Option<(String, &[Word])> {
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
const MAX_NESTING: usize = 4;

/// Checks each command of `src`, then the commands inside its `$(…)` and backticks
/// (`TOKEN=$(curl -s -H "Authorization: Bearer $T" …)`, `[[ $(curl …) ]]` is how admin scripts
/// call APIs). A nested command's finding is placed at the word that holds it (`at`, for the
/// outermost source: its own offset).
fn check_nested(
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
const SLURM_JWT_EXPORT_FIX: &str =
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
fn carries_phrase(how: Carries) -> &'static str {
    match how {
        Carries::Literal => "a literal credential",
        Carries::Variable => "a credential expanded from a variable",
        Carries::Substitution => "a credential from a command substitution",
    }
}

/// A literal (or anything typed into history) is high; an expansion is medium: the script
/// itself holds no secret, but every run shows one. An expired literal is low.
fn leak_severity(worst: Carries, ctx: Context, expired: bool) -> Severity {
    if expired {
        Severity::Low
    } else if worst == Carries::Literal || ctx == Context::History {
        Severity::High
    } else {
        Severity::Medium
    }
}

/// A literal in a secret's position that has a key's shape (`mc alias set rgw URL AK SK`):
/// sixteen or more key characters, letters and digits mixed, no placeholder words. The
/// engine needs context to call a bare key a key; here the command gives it.
fn key_shaped(v: &str) -> bool {
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
fn s3_secret_key(key: &str) -> bool {
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
fn storage_cli_secrets<'a>(cmd: &str, args: &'a [Word]) -> Vec<(String, &'a Word)> {
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
fn storage_cli_fix(cmd: &str) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Judges `tok_` strings and JWT-shaped strings secret.
    struct Fake;
    impl SecretJudge for Fake {
        fn is_secret(&self, v: &str) -> bool {
            v.contains("tok_") || v.starts_with("eyJ")
        }
    }

    fn checks(src: &str, ctx: Context) -> Vec<&'static str> {
        check_source(src, ctx, &Fake)
            .into_iter()
            .map(|f| f.check)
            .collect()
    }

    #[test]
    fn commands_inside_substitutions_and_conditions_are_checked() {
        for src in [
            r#"TOKEN=$(curl -s -H "Authorization: Bearer ${ACCESS_TOKEN}" https://api-gw/apis/x)"#,
            r#"out=`curl -s -H "Authorization: $S3M_TOKEN" https://h/`"#,
            r#"if curl -sf -H "Authorization: Bearer $TOKEN" https://h/; then echo ok; fi"#,
            r#"[[ $(curl -s -H "X-SLURM-USER-TOKEN: $SLURM_JWT" http://c:6820/ping) ]] && echo up"#,
            r#"echo "$(jq -r .id <<< "$(curl -H "Authorization: $TOKEN" https://h/)")""#,
            r#"if [[ $(curl -iskH "Authorization: Bearer $TOKEN" https://api-gw/apis/sls/v1/liveness | head -1) != 204 ]]; then :; fi"#,
            r#"kubectl -n nexus exec -it "${pod}" -c nexus -- curl -i -sfk -u "${NEXUS_USERNAME}:${NEXUS_PASSWORD}" https://h/"#,
            r#"timeout 10 curl -H "Authorization: Bearer $TOKEN" https://h/"#,
            r#"retry 3 curl -H "Authorization: Bearer $TOKEN" https://h/"#,
            r#"out=$(update_bss_storage_run_cmd_verify_nonblank curl -s -k -d grant_type=client_credentials -d client_secret="$secret" https://h/token)"#,
        ] {
            let found = check_source(src, Context::Script, &Fake);
            assert_eq!(
                found.iter().map(|f| f.check).collect::<Vec<_>>(),
                ["hygiene.token_on_command_line"],
                "{src}"
            );
            assert!(
                found[0].offset < src.find("curl").unwrap_or(0),
                "placed at the word that holds it: {src}"
            );
        }
        // Palmetto's documented MUNGE form is info and its gateway is not a plain slurmrestd;
        // a MUNGE credential without a short TTL, in a substitution, is munge_without_ttl.
        let palmetto = check_source(
            r#"curl -H "Authorization: MUNGE $(munge -n -t 5)" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs"#,
            Context::Script,
            &Fake,
        );
        assert_eq!(
            palmetto
                .iter()
                .map(|f| (f.check, f.severity))
                .collect::<Vec<_>>(),
            [("hygiene.token_on_command_line", Severity::Info)]
        );
        let long = check_source(
            r#"curl -H "Authorization: MUNGE $(munge -n)" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs"#,
            Context::Script,
            &Fake,
        );
        let mut checks: Vec<_> = long.iter().map(|f| (f.check, f.severity)).collect();
        checks.sort();
        assert_eq!(
            checks,
            [
                ("hygiene.munge_without_ttl", Severity::Low),
                ("hygiene.token_on_command_line", Severity::Medium)
            ]
        );
        // The header file the fix names fits the facility.
        let fix = |src: &str| check_source(src, Context::Script, &Fake)[0].fix.clone();
        assert!(fix(r#"curl -H "Authorization: Bearer $PALMETTO_API_KEY" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs"#).contains("@~/.palmetto-header"));
        assert!(fix(r#"curl -H "Authorization: Bearer $TOKEN" https://transfer.api.globus.org/v0.10/task_list"#).contains("@~/.globus-header"));
        assert!(
            fix(r#"curl -H "Authorization: $S3M_TOKEN" https://s3m.olcf.ornl.gov/olcf/v1/status"#)
                .contains("@~/.s3m-header")
        );
        assert!(
            !fix(r#"curl -H "Authorization: Bearer $TOKEN" https://example.org/x"#).contains("s3m")
        );
        // A substitution that reads a file is not a command line with a token.
        assert!(check_source("T=$(cat ~/.s3m/token)", Context::Script, &Fake).is_empty());
    }

    #[test]
    fn tokens_on_curl_wget_httpie_and_grpcurl_command_lines() {
        for src in [
            r#"curl -H "Authorization: $S3M_TOKEN" https://s3m.olcf.ornl.gov/olcf/v1/status"#,
            r#"curl -s --header="Authorization: Bearer ${ACCESS_TOKEN}" https://api.alcf.anl.gov/api/v1/status"#,
            r#"curl -HAuthorization:$TOKEN https://h/"#,
            r#"curl -H "Authorization: $(cat ~/.s3m/token)" https://h/"#,
            r#"curl --oauth2-bearer "$GLOBUS_TOKEN" https://h/"#,
            r#"curl -u "admin:$KEYCLOAK_PASSWORD" https://h/"#,
            r#"curl "https://h/api?access_token=$TOKEN""#,
            r#"curl -H 'Authorization: eyJhbGciOi.x.y' https://h/"#,
            r#"sudo -u svc curl -H "X-SLURM-USER-TOKEN: $SLURM_JWT" http://localhost:6820/slurm/v0.0.40/ping"#,
            r#"wget --header="Authorization: $TOKEN" https://h/"#,
            r#"http GET https://h/ "Authorization:Bearer $IRI_TOKEN""#,
            r#"grpcurl -H "authorization: $TOKEN" h:443 svc/M"#,
            r#"X=1 /usr/bin/curl -H "Authorization: $S3M_TOKEN" https://h/ | jq ."#,
        ] {
            assert_eq!(
                checks(src, Context::Script),
                vec!["hygiene.token_on_command_line"],
                "{src}"
            );
        }
    }

    #[test]
    fn headers_from_files_and_ordinary_arguments_stay_quiet() {
        for src in [
            "curl -H @.env https://s3m.olcf.ornl.gov/olcf/v1/status",
            "curl --header @/home/u/.s3m-header https://h/",
            "curl -H @- https://h/ <<< \"Authorization: $S3M_TOKEN\"",
            "curl -H 'Accept: application/json' -o \"$OUT\" https://h/$PATH_PART",
            "curl -K - https://h/",
            "wget -O out.json https://h/x",
            "token=$(cat ~/.s3m/token); python3 submit.py",
            "curl -H \"Content-Type: $CT\" https://h/",
            "export TOKEN_FILE=~/.s3m/token",
            "echo curl -H",
            "kubectl get secrets admin-client-auth -o jsonpath='{.data.client-secret}'",
            "timeout 10 curl -H @hdr https://h/",
        ] {
            assert_eq!(checks(src, Context::Script), Vec::<&str>::new(), "{src}");
        }
    }

    #[test]
    fn the_fix_shows_the_command_rewritten_without_the_credential() {
        let f = &check_source(
            r#"curl -s -H "Authorization: $S3M_TOKEN" https://s3m.olcf.ornl.gov/olcf/v1/status"#,
            Context::Script,
            &Fake,
        )[0];
        assert!(
            f.fix.contains("curl -H @- -s https://s3m.olcf.ornl.gov/olcf/v1/status <<< \"Authorization: ${S3M_TOKEN}\""),
            "{}",
            f.fix
        );
        // Literal values are redacted in both message and fix.
        let f = &check_source(
            "curl -H 'Authorization: eyJhbGciOi.tok_x.y' https://h/",
            Context::History,
            &Fake,
        )[0];
        assert_eq!(f.severity, Severity::High);
        assert!(
            !f.message.contains("tok_") && !f.fix.contains("tok_"),
            "{f:?}"
        );
        // A literal inside a substitution is redacted too, and a substitution continued over
        // lines is shown on one.
        let f = &check_source(
            "curl -H \"Authorization: Bearer $(echo tok_9f8e | \\\n  base64 -d)\" https://h/",
            Context::Script,
            &Fake,
        )[0];
        assert!(!f.message.contains("tok_9f8e"), "{}", f.message);
        assert!(!f.message.contains('\n'), "{}", f.message);
    }

    #[test]
    fn exports_batch_scripts_munge_and_slurmrestd_auth() {
        assert_eq!(
            checks("export S3M_TOKEN=eyJhbGciOi.x.y", Context::History),
            vec!["hygiene.token_exported"]
        );
        assert_eq!(
            checks("export S3M_TOKEN=$(cat ~/.tok)", Context::Script),
            Vec::<&str>::new()
        );
        assert_eq!(
            checks(
                "#!/bin/bash\n#SBATCH -N 1\nexport SLURM_JWT=$(scontrol token | cut -d= -f2)\nsrun ./a.out",
                Context::BatchScript
            ),
            vec!["hygiene.slurm_jwt_in_job_environment"]
        );
        assert_eq!(
            checks("sbatch --export=ALL,SLURM_JWT job.sh", Context::Script),
            vec!["hygiene.slurm_jwt_in_job_environment"]
        );
        assert_eq!(
            checks("munge -n | curl -H @- https://h/", Context::Script),
            vec!["hygiene.munge_without_ttl"]
        );
        assert_eq!(checks("munge -n -t 5", Context::Script), Vec::<&str>::new());
        // MUNGE's own round trip hands the credential to nothing but the decoder.
        assert_eq!(
            checks("munge -n | unmunge", Context::History),
            Vec::<&str>::new()
        );
        assert_eq!(
            checks("munge -n || unmunge x", Context::Script),
            vec!["hygiene.munge_without_ttl"]
        );
        assert_eq!(
            checks(
                r#"curl -H "Authorization: $SLURM_JWT" http://c:6820/slurm/v0.0.41/jobs"#,
                Context::Script
            ),
            vec![
                "hygiene.token_on_command_line",
                "hygiene.slurmrestd_non_bearer_auth"
            ]
        );
    }

    #[test]
    fn credentials_under_a_credential_key_in_request_data() {
        for src in [
            r#"curl -s -d client_id=admin-client -d client_secret=$(kubectl get secrets admin-client-auth -o jsonpath='{.data.client-secret}' | base64 -d) https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token"#,
            r#"curl -d "grant_type=password&password=$PW" https://h/token"#,
            r#"curl --data-urlencode "client_secret=${CS}" https://auth.globus.org/v2/oauth2/token"#,
            r#"curl -d "{\"token\": \"$(vault kv get -field=t kv/s3m)\"}" https://h/"#,
        ] {
            assert_eq!(
                checks(src, Context::Script),
                vec!["hygiene.token_on_command_line"],
                "{src}"
            );
        }
        for src in [
            "curl -d grant_type=client_credentials -d scope=openid https://h/token",
            r#"curl -d "user=$USER&host=$(hostname)" https://h/"#,
            r#"curl -d @request.json https://h/"#,
            r#"curl -d "name=$(cat VERSION)" https://h/"#,
        ] {
            assert_eq!(checks(src, Context::Script), Vec::<&str>::new(), "{src}");
        }
    }

    #[test]
    fn secrets_given_to_s3_clients_on_their_command_lines() {
        let found = |src: &str, ctx| {
            check_source(src, ctx, &Fake)
                .into_iter()
                .map(|f| (f.check, f.severity))
                .collect::<Vec<_>>()
        };
        let high = vec![("hygiene.token_on_command_line", Severity::High)];
        let medium = vec![("hygiene.token_on_command_line", Severity::Medium)];
        for (src, want) in [
            ("aws configure set aws_secret_access_key tok_9f8e7d", &high),
            (
                "aws configure set profile.ceph.aws_session_token \"$AWS_SESSION_TOKEN\"",
                &medium,
            ),
            ("s3cmd --secret_key=tok_9f8e7d ls s3://b", &high),
            (
                "s3cmd --access_key=AK --secret_key \"$SECRET_KEY\" ls",
                &medium,
            ),
            (
                "rclone config create ceph s3 provider Ceph access_key_id AK secret_access_key tok_9f8e7d endpoint https://rgw",
                &high,
            ),
            (
                "rclone config create ceph s3 secret_access_key=tok_9f8e7d",
                &high,
            ),
            (
                "rclone lsd ceph: --s3-secret-access-key $S3_SECRET",
                &medium,
            ),
            ("mc alias set ceph https://rgw.example AK tok_9f8e7d", &high),
            (
                "mc config host add ceph https://rgw.example AK $MC_SECRET",
                &medium,
            ),
            (
                "redis-cli -u rediss://app:tok_9f8e7d@cache.example.org:6380 ping",
                &high,
            ),
            ("redis-cli -a \"$PW\" -h redis-stf040 ping", &medium),
        ] {
            assert_eq!(&found(src, Context::Script), want, "{src}");
        }
        // Typed into a shell, even an expansion is high: history keeps the command.
        assert_eq!(
            found("s3cmd --secret_key=$SECRET_KEY ls", Context::History),
            high
        );
        for src in [
            "aws configure set region us-east-1",
            "aws configure set aws_secret_access_key",
            "aws s3 ls s3://bucket --profile ceph",
            "s3cmd -c ~/.s3cfg ls s3://b",
            "rclone copy ceph:bucket/a ./a",
            "rclone config create ceph s3 env_auth true",
            "mc alias set ceph https://rgw.example",
            "mc alias set play https://play.min.io minioadmin minioadmin",
            "redis-cli -u rediss://cache.example.org:6380 ping",
            "redis-cli -h localhost ping",
        ] {
            assert_eq!(found(src, Context::Script), vec![], "{src}");
        }
        // The secret is redacted in what the finding says.
        let f = &check_source("s3cmd --secret_key=tok_9f8e7d ls", Context::Script, &Fake)[0];
        assert!(!f.message.contains("tok_9f8e7d"), "{}", f.message);
    }

    #[test]
    fn only_the_commands_around_a_command_word_are_lexed_in_a_file_without_secrets() {
        let script = "#!/bin/sh\nset -e\necho 'it'\\''s'\nfor f in *; do\n  echo \"$f\"\ndone\nX=1 \\\n  curl -H \"Authorization: Bearer $TOKEN\" \\\n  https://h/\ncurl -d '{\n  \"a\": 1\n}' https://h/\ntrue\n";
        let regions: Vec<&str> = command_regions(script)
            .into_iter()
            .map(|(s, e)| &script[s..e])
            .collect();
        assert_eq!(
            regions,
            [
                "X=1 \\\n  curl -H \"Authorization: Bearer $TOKEN\" \\\n  https://h/\ncurl -d '{\n  \"a\": 1\n}' https://h/"
            ]
        );
        // Lexed by regions or whole, the same findings, on the same lines.
        struct Blind;
        impl SecretJudge for Blind {
            fn is_secret(&self, _: &str) -> bool {
                false
            }
            fn knows_secrets(&self) -> bool {
                false
            }
        }
        let by_regions: Vec<_> = check_file(FileKind::Shell, script, &Blind)
            .into_iter()
            .map(|p| (p.finding.check, p.line))
            .collect();
        let whole: Vec<_> = check_file(FileKind::Shell, script, &Fake)
            .into_iter()
            .map(|p| (p.finding.check, p.line))
            .collect();
        assert_eq!(by_regions, [("hygiene.token_on_command_line", Some(7))]);
        assert_eq!(by_regions, whole);
        assert!(!open_quote(b"echo 'a' \"b\" # it's"));
        assert!(open_quote(b"curl -d '{"));
    }

    #[test]
    fn files_without_a_known_command_need_no_lexing() {
        assert!(may_hold_commands(b"#!/bin/sh\ncurl -s https://h/\n"));
        assert!(may_hold_commands(b"http GET https://h/ Authorization:$T\n"));
        assert!(may_hold_commands(b"#SBATCH -N 1\nexport SLURM_JWT=x\n"));
        assert!(may_hold_commands(b"xh :8080/api Authorization:$T\n"));
        assert!(may_hold_commands(b"X=$(munge -n)\n"));
        for quiet in [
            &b"#!/bin/sh\ntest_expect_success 'x' 'git log >out'\n# see https://git-scm.com\n"[..],
            b"Fetch over http or https from the server.\n",
            b"Do not munge the message.\n",
        ] {
            assert!(
                !may_hold_commands(quiet),
                "{}",
                String::from_utf8_lossy(quiet)
            );
        }
    }

    /// What a held-out corpus written by someone who never read this file taught: each form
    /// it used that the checks missed, or took for a leak.
    #[test]
    fn forms_from_the_blind_hygiene_corpus() {
        for (name, want) in [
            ("S3M_TOKEN", true),
            ("GHTOKEN", true),
            ("AUTH_HEADER", true),
            ("X_AUTH", true),
            ("GLOBUS_CLIENT_SECRET", true),
            ("TOKENIZERS_PARALLELISM", false),
            ("MAX_TOKENS", false),
            ("AUTHOR", false),
            ("TOKEN_FILE", false),
        ] {
            assert_eq!(token_variable(name), want, "{name}");
        }
        let sev = |src: &str, ctx| {
            check_source(src, ctx, &Fake)
                .into_iter()
                .map(|f| (f.check, f.severity))
                .collect::<Vec<_>>()
        };
        // Bundled munge flags: `-nt 5` is Palmetto's five-second credential.
        assert_eq!(
            sev(
                r#"curl -H "Authorization: MUNGE $(munge -nt 5)" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs"#,
                Context::History
            ),
            [("hygiene.token_on_command_line", Severity::Info)]
        );
        assert_eq!(sev("munge -nt5", Context::Script), []);
        assert_eq!(
            sev("munge -n > cred", Context::Script),
            [("hygiene.munge_without_ttl", Severity::Low)]
        );
        // csh, curl.exe, a password from a substitution after `user:`, keys given to mc.
        assert_eq!(
            sev("setenv S3M_TOKEN eyJhbGciOi.x.y", Context::History),
            [("hygiene.token_exported", Severity::High)]
        );
        assert_eq!(sev("setenv EDITOR vim", Context::History), []);
        assert_eq!(
            sev(
                r#"curl.exe -H "Authorization: Bearer ${PALMETTO_API_KEY}" https://h/"#,
                Context::Script
            ),
            [("hygiene.token_on_command_line", Severity::Medium)]
        );
        assert_eq!(
            sev(
                r#"curl -k -u "root:$(cat /root/.bmc_pw)" https://bmc/redfish/v1"#,
                Context::Script
            ),
            [("hygiene.token_on_command_line", Severity::Medium)]
        );
        assert_eq!(sev(r#"curl -u "$USER" https://h/"#, Context::Script), []);
        assert_eq!(
            sev(
                "mc alias set rgw https://rgw.example AKIA7QX2M4N8P1R3 9sKq2Lm4Np6Rt8Vx0Zb3Cd5Fg7Hj",
                Context::History
            ),
            [("hygiene.token_on_command_line", Severity::High)]
        );
        assert_eq!(
            sev(
                "mc alias set rgw https://rgw.example YOUR-ACCESS-KEY YOUR-SECRET-KEY-HERE",
                Context::History
            ),
            []
        );
        // A multi-line command in history is one entry, placed on its first line.
        assert_eq!(
            check_file(
                FileKind::History,
                ": 1774582870:2;curl -sS -X POST https://api.alcf.anl.gov/x \\\n  -H \"Authorization: Bearer $ALCF_TOKEN\" \\\n  -d @job.json\nls\n",
                &Fake
            )
            .into_iter()
            .map(|p| (p.finding.check, p.line))
            .collect::<Vec<_>>(),
            [("hygiene.token_on_command_line", Some(1))]
        );
        for shell in [".cshrc", ".envrc", ".tcshrc"] {
            assert_eq!(file_kind(shell, b""), Some(FileKind::Shell), "{shell}");
        }
        // Settings named like credentials are not credentials in an image.
        assert!(check_docker_env("ENV", "CRAY_CREDENTIALS=/tmp/setup-token.json", &Fake).is_none());
        assert!(check_docker_env("ENV", "TOKENIZERS_PARALLELISM=false", &Fake).is_none());
        assert!(check_docker_env("ENV", "MAX_TOKENS=4096", &Fake).is_none());
        assert!(check_docker_env("ENV", "API_TOKEN=9f8e7d6c5b4a", &Fake).is_some());
    }

    #[test]
    fn a_header_held_in_a_variable_the_file_assigns() {
        struct Knows(Vec<String>);
        impl SecretJudge for Knows {
            fn is_secret(&self, _: &str) -> bool {
                false
            }
            fn holds_credential_header(&self, var: &str) -> bool {
                self.0.iter().any(|v| v == var)
            }
        }
        let script = "#!/bin/bash\nhdr=\"Authorization: MUNGE $(munge --no-input)\"\nct='Content-Type: application/json'\ncurl -sf -H \"$hdr\" -H \"$ct\" \"$API/nodes\"\n";
        let vars = credential_header_variables(script.as_bytes());
        assert_eq!(vars, ["hdr"]);
        let found: Vec<_> = check_source(script, Context::Script, &Knows(vars))
            .into_iter()
            .map(|f| f.check)
            .collect();
        assert!(
            found.contains(&"hygiene.token_on_command_line"),
            "{found:?}"
        );
        assert!(
            check_source(script, Context::Script, &Knows(Vec::new()))
                .iter()
                .all(|f| f.check != "hygiene.token_on_command_line")
        );
    }

    #[test]
    fn dockerfile_env_and_arg() {
        assert!(check_docker_env("ENV", "S3M_TOKEN=eyJhbGciOi.x.y", &Fake).is_some());
        assert!(check_docker_env("ARG", "GLOBUS_CLIENT_SECRET", &Fake).is_some());
        assert!(check_docker_env("ENV", "PATH=/usr/local/bin:$PATH", &Fake).is_none());
        assert!(check_docker_env("ENV", "TOKEN_FILE=/run/secrets/token", &Fake).is_none());
    }
}

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
    Docs(super::docs::Markup),
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
    if let Some(m) = super::docs::markup(name) {
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

fn line_at(text: &str, offset: usize) -> u64 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// A batch line as shell: `%NAME%` and `!NAME!` (delayed expansion) as `${NAME}`.
fn batch_to_shell(line: &str) -> String {
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
fn make_to_shell(line: &str) -> String {
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
fn logical_lines(text: &str) -> Vec<(u64, String)> {
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
            for b in super::docs::blocks(markup, text) {
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
fn notebook_line(text: &str, cell: usize, line: &str) -> Option<u64> {
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
fn github_expressions(script: &str) -> String {
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

/// Keys whose values are shell: GitHub `run`, GitLab `script`, `before_script`,
/// `after_script`.
const SCRIPT_KEYS: &[&str] = &["run", "script", "before_script", "after_script"];

/// Keys whose values are shell in Kubernetes-style manifests: Tekton's step `script`, Argo's
/// script template `source`.
const MANIFEST_SCRIPT_KEYS: &[&str] = &["script", "source"];

fn script_keys(manifest: bool) -> &'static [&'static str] {
    if manifest {
        MANIFEST_SCRIPT_KEYS
    } else {
        SCRIPT_KEYS
    }
}

/// Where the YAML parser is: in a mapping (its last key, whether a key comes next, and the
/// container `command`/`args` gathered in it) or in a sequence (the key that owns it).
enum Yctx {
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
struct CiScripts {
    /// Kubernetes-style manifests (Pods, Jobs, Argo Workflows, Tekton Tasks), not CI files.
    manifest: bool,
    stack: Vec<Yctx>,
    out: Vec<(u64, String)>,
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
fn quote_expanding(s: &str) -> String {
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

fn yaml_scripts(text: &str, manifest: bool) -> Vec<(u64, String)> {
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

#[cfg(test)]
mod file_tests {
    use super::*;

    struct Fake;
    impl SecretJudge for Fake {
        fn is_secret(&self, v: &str) -> bool {
            v.starts_with("eyJ")
        }
    }

    fn found(kind: FileKind, text: &str) -> Vec<(&'static str, Option<u64>, Option<String>)> {
        check_file(kind, text, &Fake)
            .into_iter()
            .map(|p| (p.finding.check, p.line, p.place))
            .collect()
    }

    #[test]
    fn file_kinds() {
        assert_eq!(file_kind("job.sbatch", b""), Some(FileKind::Shell));
        assert_eq!(
            file_kind("run", b"#!/usr/bin/env bash"),
            Some(FileKind::Shell)
        );
        assert_eq!(file_kind("run", b"#!/usr/bin/python3"), None);
        assert_eq!(file_kind(".zsh_history", b""), Some(FileKind::History));
        assert_eq!(file_kind("GNUmakefile", b""), Some(FileKind::Makefile));
        assert_eq!(file_kind("Dockerfile.gpu", b""), Some(FileKind::Dockerfile));
        assert_eq!(file_kind("a.ipynb", b""), Some(FileKind::Notebook));
        assert_eq!(file_kind("a.py", b""), Some(FileKind::Python));
        assert_eq!(file_kind("a.pyc", b""), None);
        assert_eq!(
            file_kind(".github/workflows/ci.yml", b""),
            Some(FileKind::CiYaml)
        );
        assert_eq!(
            file_kind("ci/deploy.gitlab-ci.yml", b""),
            Some(FileKind::CiYaml)
        );
        assert_eq!(file_kind("config/app.yml", b""), None);
    }

    /// (The exec form of RUN has no shell: `$TOKEN` there stays literal text, not a leak.)
    #[test]
    fn lines_in_scripts_histories_makefiles_and_dockerfiles() {
        assert_eq!(
            found(
                FileKind::Shell,
                "#!/bin/sh\n\ncurl -H \"Authorization: $S3M_TOKEN\" \\\n  https://h/\n"
            ),
            vec![("hygiene.token_on_command_line", Some(3), None)]
        );
        assert_eq!(
            found(
                FileKind::History,
                "ls\n: 1700000000:0;curl -H \"Authorization: $TOKEN\" https://h/\n"
            ),
            vec![("hygiene.token_on_command_line", Some(2), None)]
        );
        assert_eq!(
            found(
                FileKind::Makefile,
                "status:\n\t@curl -s -H \"Authorization: $(S3M_TOKEN)\" \\\n\t  https://h/\nok:\n\tcurl -H @.env https://h/\n"
            ),
            vec![("hygiene.token_on_command_line", Some(2), None)]
        );
        assert_eq!(
            found(
                FileKind::Dockerfile,
                "FROM debian\nARG S3M_TOKEN\nRUN --mount=type=cache,target=/x curl -H \"Authorization: $S3M_TOKEN\" https://h/\nRUN [\"curl\", \"-H\", \"Authorization: eyJhbGc.x.y\", \"https://h/\"]\nRUN [\"curl\", \"-H\", \"Authorization: $TOKEN\", \"https://h/\"]\nENV PATH=/x:$PATH\n"
            ),
            vec![
                ("hygiene.secret_in_image", Some(2), None),
                ("hygiene.token_on_command_line", Some(3), None),
                ("hygiene.token_on_command_line", Some(4), None),
            ]
        );
    }

    #[test]
    fn github_and_gitlab_ci_scripts() {
        let gh = "on: push\njobs:\n  s:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - name: status\n        run: |\n          echo hi\n          curl -H \"Authorization: ${{ secrets.S3M_TOKEN }}\" https://h/\n      - run: curl -H @header.txt https://h/\n      - run: curl -u \"me:${{ env.API_PASSWORD }}\" https://h/\n";
        assert_eq!(
            found(FileKind::CiYaml, gh),
            vec![
                ("hygiene.token_on_command_line", Some(10), None),
                ("hygiene.token_on_command_line", Some(12), None),
            ]
        );
        // A script line with `: ` in it, unquoted: YAML reads a mapping, a reader a command.
        assert_eq!(
            found(
                FileKind::CiYaml,
                "smoke:\n  script:\n    - echo start\n    - curl -sf -H \"Authorization: Bearer $IRI_API_TOKEN\" https://api.alcf.anl.gov/api/v1/facility\n"
            ),
            vec![("hygiene.token_on_command_line", Some(4), None)]
        );
        // A workflow YAML refuses (a `: ` in a plain scalar) is still read, line by line.
        assert_eq!(
            found(
                FileKind::CiYaml,
                "jobs:\n  a:\n    steps:\n      - run: echo ok\n      - run: curl -sS -H \"Authorization: ${{ secrets.S3M_TOKEN }}\" https://h/\n      - run: curl -H @h https://h/\n"
            ),
            vec![("hygiene.token_on_command_line", Some(5), None)]
        );
        let gl = "stages: [t]\njob:\n  before_script:\n    - export X=1\n  script:\n    - echo ok\n    - >\n      curl --header \"PRIVATE-TOKEN: $DEPLOY_TOKEN\" https://h/\n    - - curl --oauth2-bearer $IRI_TOKEN https://h/\nvariables:\n  script: not a script key here\n";
        assert_eq!(
            found(FileKind::CiYaml, gl),
            vec![
                ("hygiene.token_on_command_line", Some(8), None),
                ("hygiene.token_on_command_line", Some(9), None),
            ]
        );
        assert!(found(FileKind::CiYaml, "a: [unclosed").is_empty());
    }

    #[test]
    fn documentation_that_teaches_a_token_on_a_command_line_is_one_info_per_file() {
        let md = "# Status\n\n```bash\n$ curl -H \"Authorization: $S3M_TOKEN\" https://s3m.olcf.ornl.gov/olcf/v1/status\n$ curl -H \"Authorization: $S3M_TOKEN\" https://s3m.olcf.ornl.gov/olcf/v1/tokens\n```\n";
        let kind = file_kind("docs/s3m.md", md.as_bytes()).expect("docs");
        let placed = check_file(kind, md, &Fake);
        assert_eq!(
            placed
                .iter()
                .map(|p| (p.finding.check, p.finding.severity, p.line))
                .collect::<Vec<_>>(),
            [(
                "hygiene.docs_teach_token_on_command_line",
                Severity::Info,
                Some(4)
            )]
        );
        assert!(placed[0].finding.message.contains("1 more"));
        assert!(placed[0].finding.fix.contains("@~/.s3m-header"));
        // The safe forms, and Palmetto's short-lived MUNGE credential, teach nothing wrong.
        for quiet in [
            "```\ncurl -H @~/.s3m-header https://s3m.olcf.ornl.gov/olcf/v1/status\n```\n",
            "```bash\ncurl -H \"Authorization: MUNGE $(munge -n -t 5)\" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs\n```\n",
            "Run `curl -H \"Authorization: $TOKEN\" https://h/` inline: not a block.\n",
        ] {
            assert!(check_file(kind, quiet, &Fake).is_empty(), "{quiet}");
        }
    }

    #[test]
    fn batch_directives_and_windows_batch_files() {
        assert_eq!(
            found(
                FileKind::Shell,
                "#!/bin/bash\n#SBATCH --array=1-100\n#SBATCH --export=ALL,SLURM_JWT=eyJhbGc.x.y\nsrun ./task\n"
            ),
            vec![("hygiene.slurm_jwt_in_job_environment", Some(3), None)]
        );
        assert!(
            found(
                FileKind::Shell,
                "#!/bin/bash\n#SBATCH --export=NONE\nsrun ./task\n"
            )
            .is_empty()
        );
        assert_eq!(
            file_kind("windows/deploy.BAT", b"@echo off"),
            Some(FileKind::Batch)
        );
        assert_eq!(
            found(
                FileKind::Batch,
                "@echo off\r\nset PALMETTO_API_KEY=x\r\ncurl -H \"Authorization: Bearer %PALMETTO_API_KEY%\" https://api.palmetto.clemson.edu/ping\r\nrem curl -H \"Authorization: %TOKEN%\" https://h/\r\nexit /b 0\r\n"
            ),
            vec![("hygiene.token_on_command_line", Some(3), None)]
        );
        assert_eq!(batch_to_shell("echo 100% done !x"), "echo 100% done !x");
    }

    #[test]
    fn kubernetes_argo_and_tekton_manifests() {
        assert_eq!(
            file_kind("k8s/job.yaml", b"apiVersion: batch/v1\nkind: Job\n"),
            Some(FileKind::Manifest)
        );
        let job = "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - name: sync\n          image: curlimages/curl\n          env:\n            - name: S3M_TOKEN\n              valueFrom: {secretKeyRef: {name: s3m, key: token}}\n          command: [\"curl\"]\n          args:\n            - -H\n            - \"Authorization: $(S3M_TOKEN)\"\n            - https://s3m.olcf.ornl.gov/olcf/v1/status\n        - name: safe\n          command: [\"curl\", \"-H\", \"@/var/run/secrets/s3m/header\", \"https://h/\"]\n        - name: shell\n          command:\n            - /bin/sh\n            - -ec\n            - |\n              echo start\n              curl -s -H \"Authorization: Bearer $IRI_TOKEN\" https://api.alcf.anl.gov/x\n";
        assert_eq!(
            found(FileKind::Manifest, job),
            vec![
                ("hygiene.token_on_command_line", Some(12), None),
                ("hygiene.token_on_command_line", Some(25), None),
            ]
        );
        let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n    - name: fetch\n      script:\n        image: alpine\n        command: [sh]\n        source: |\n          curl --oauth2-bearer \"$GLOBUS_TOKEN\" https://transfer.api.globus.org/v0.10/task_list\n";
        assert_eq!(
            found(FileKind::Manifest, argo),
            vec![("hygiene.token_on_command_line", Some(10), None)]
        );
        let tekton = "apiVersion: tekton.dev/v1\nkind: Task\nspec:\n  steps:\n    - name: s\n      image: alpine\n      script: |\n        #!/bin/sh\n        curl -u \"admin:$KEYCLOAK_PASSWORD\" https://h/\n";
        assert_eq!(
            found(FileKind::Manifest, tekton),
            vec![("hygiene.token_on_command_line", Some(9), None)]
        );
        // A manifest whose commands carry no credential, and a CI file's `run` key in a
        // manifest, are not findings.
        let quiet = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - command: [\"sleep\", \"3600\"]\n      run: curl -H \"Authorization: $TOKEN\" https://h/\n";
        assert!(found(FileKind::Manifest, quiet).is_empty());
    }

    #[test]
    fn notebook_bang_lines_and_bash_cells() {
        let nb = serde_json::json!({"cells": [
            {"cell_type": "markdown", "source": ["!curl -H \"Authorization: $TOKEN\" https://h/"]},
            {"cell_type": "code", "source": ["import os\n", "!curl -H \"Authorization: $TOKEN\" https://h/\n"]},
            {"cell_type": "code", "source": "%%bash\nexport X=1\ncurl --oauth2-bearer $IRI_TOKEN https://h/\n"},
            {"cell_type": "code", "source": "print('curl -H $TOKEN')"},
            {"cell_type": "code", "source": ["tok = open(p).read()\n", "!curl -s -H \"Authorization: Bearer {tok}\" https://api.alcf.anl.gov/x\n"]},
            {"cell_type": "code", "source": ["!curl -s -H \"Accept: {mime}\" https://h/{path}\n"]}
        ]});
        assert_eq!(
            found(FileKind::Notebook, &nb.to_string()),
            vec![
                (
                    "hygiene.token_on_command_line",
                    Some(1),
                    Some("cell 2".into())
                ),
                (
                    "hygiene.token_on_command_line",
                    Some(1),
                    Some("cell 3".into())
                ),
                (
                    "hygiene.token_on_command_line",
                    Some(1),
                    Some("cell 5".into())
                ),
            ]
        );
        // Written as Jupyter writes it (one source line per line of the file), each finding
        // is placed on the file's line, and IPython's `x = !cmd` capture is a command too.
        let pretty = serde_json::to_string_pretty(&serde_json::json!({"cells": [
            {"cell_type": "markdown", "source": ["# x\n"]},
            {"cell_type": "code", "source": ["import os\n", "out = !curl -s -H \"Authorization: Bearer $TOKEN\" https://h/\n"]}
        ]}))
        .unwrap_or_default();
        let want = pretty
            .lines()
            .position(|l| l.contains("out = !curl"))
            .map(|i| i as u64 + 1);
        assert_eq!(
            found(FileKind::Notebook, &pretty),
            vec![("hygiene.token_on_command_line", want, Some("cell 2".into()))]
        );
        // A long line of multi-byte characters is cut between characters, not inside one.
        let wide = serde_json::json!({"cells": [{"cell_type": "code", "source": [format!(
            "!curl -H \"Authorization: Bearer $TOKEN\" https://h/?q={}\n",
            "é".repeat(80)
        )]}]})
        .to_string();
        assert_eq!(found(FileKind::Notebook, &wide).len(), 1);
        assert_eq!(
            ipython_expand("echo {a,b} {self.token}"),
            "echo {a,b} ${token}"
        );
        assert!(found(FileKind::Notebook, "not json").is_empty());
    }
}

/// IRI job specifications (objects with `executable` and `environment` or `arguments`) that
/// carry a credential: the API stores both and returns them with the job (`GET …/compute/job`),
/// so everyone who can list the project's jobs reads them.
fn job_specs(v: &serde_json::Value, judge: &dyn SecretJudge) -> Vec<CmdFinding> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        match x {
            serde_json::Value::Object(m) => {
                if m.contains_key("executable") {
                    let mut what = Vec::new();
                    if let Some(env) = m.get("environment").and_then(|e| e.as_object()) {
                        for (k, val) in env {
                            let s = val.as_str().unwrap_or("");
                            if judge.is_secret(s) || (token_variable(k) && !s.is_empty()) {
                                what.push(format!("environment {k}"));
                            }
                        }
                    }
                    if let Some(args) = m.get("arguments").and_then(|a| a.as_array()) {
                        for (i, a) in args.iter().enumerate() {
                            let s = a.as_str().unwrap_or("");
                            let expands = commands(s)
                                .iter()
                                .flat_map(|c| &c.words)
                                .flat_map(|w| &w.parts)
                                .any(|p| matches!(p, Part::Var(n) if token_variable(n)));
                            if judge.is_secret(s) || expands {
                                what.push(format!("arguments[{i}]"));
                            }
                        }
                    }
                    if !what.is_empty() {
                        out.push(CmdFinding {
                            check: "hygiene.token_in_job_spec",
                            severity: Severity::High,
                            offset: 0,
                            message: format!(
                                "a job specification passes a credential in {}: the IRI API keeps the job's environment and arguments and returns them to anyone who lists the project's jobs",
                                what.join(", ")
                            ),
                            fix: "have the job read the credential from a 0600 file on the facility's filesystem (or the facility's secret store) instead of passing it in the job specification".into(),
                        });
                    }
                }
                stack.extend(m.values());
            }
            serde_json::Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    out
}

/// Python: commands run through `subprocess` (`run`, `call`, `check_call`, `check_output`,
/// `Popen`) and `os.system` / `os.popen`. An argument list becomes the command's words as
/// they are (no shell); a string (`os.system`, `shell=True`) is lexed as shell. String
/// literals, f-strings and `+` concatenations are followed; a name or `os.environ["X"]` /
/// `os.getenv("X")` is a variable of that name.
pub fn python_commands(text: &str) -> Vec<(usize, Command)> {
    let mut out = Vec::new();
    for call in [
        "subprocess.run(",
        "subprocess.call(",
        "subprocess.check_call(",
        "subprocess.check_output(",
        "subprocess.Popen(",
        "os.system(",
        "os.popen(",
    ] {
        let mut from = 0;
        while let Some(i) = text[from..].find(call) {
            let start = from + i;
            let open = start + call.len();
            from = open;
            let Some(args) = balanced(text, open) else {
                continue;
            };
            let mut first = split_top(args, b',')
                .into_iter()
                .next()
                .unwrap_or("")
                .trim();
            // `cmd = f"curl … {token}"` a few lines up, then `os.system(cmd)`.
            if is_py_identifier(first)
                && let Some(expr) = py_assignment(text, first, start)
            {
                first = expr;
            }
            let words =
                if let Some(list) = first.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    split_top(list, b',')
                        .into_iter()
                        .filter(|e| !e.trim().is_empty())
                        .map(|e| py_word(e.trim(), start))
                        .collect()
                } else {
                    // A shell string. Python pastes values in before the shell sees the text, so
                    // a value stays a value even inside shell quotes: it travels as a marker
                    // through the shell lexer and becomes a variable part again afterwards.
                    let shell: String = py_word(first, start)
                        .parts
                        .iter()
                        .map(|p| match p {
                            Part::Lit(t) => t.clone(),
                            Part::Var(v) | Part::Subst(v) => format!("\u{1}{v}\u{2}"),
                        })
                        .collect();
                    let mut cmds = commands(&shell);
                    for c in &mut cmds {
                        for w in &mut c.words {
                            w.offset = start;
                            w.parts = unmark(std::mem::take(&mut w.parts));
                        }
                    }
                    out.extend(cmds.into_iter().map(|c| (start, c)));
                    continue;
                };
            out.push((
                start,
                Command {
                    words,
                    piped: false,
                },
            ));
        }
    }
    out.sort_by_key(|(o, _)| *o);
    out
}

fn is_py_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The expression last assigned to `name` at the start of a line before `before`
/// (`cmd = [...]` over several lines, or `cmd = f"…"` on one).
fn py_assignment<'a>(text: &'a str, name: &str, before: usize) -> Option<&'a str> {
    let head = text.get(..before)?;
    let mut found = None;
    for (i, _) in head.match_indices(name) {
        let line_start = head[..i].rfind('\n').map_or(0, |p| p + 1);
        if !head[line_start..i].trim().is_empty() {
            continue;
        }
        let after = &text[i + name.len()..];
        let Some(expr) = after.trim_start_matches([' ', '\t']).strip_prefix('=') else {
            continue;
        };
        if expr.starts_with('=') {
            continue;
        }
        let expr = expr.trim_start_matches([' ', '\t']);
        let at = text.len() - expr.len();
        found = if expr.starts_with(['[', '(']) {
            balanced(text, at + 1).map(|inner| &text[at..at + inner.len() + 2])
        } else {
            expr.lines().next().map(str::trim)
        };
    }
    found
}

/// IPython's `!` lines expand Python names as `$name` and `{expr}`: the second becomes a
/// shell variable here, so `!curl -H "Authorization: Bearer {token}"` is seen as what it is.
fn ipython_expand(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j)
                if !after[..j].is_empty()
                    && after[..j]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') =>
            {
                let name = after[..j].rsplit('.').next().unwrap_or("");
                out.push_str(&format!("${{{name}}}"));
                rest = &after[j + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Literal parts with `\u{1}NAME\u{2}` markers split back into variables.
fn unmark(parts: Vec<Part>) -> Vec<Part> {
    let mut out = Vec::new();
    for p in parts {
        let Part::Lit(t) = p else {
            out.push(p);
            continue;
        };
        let mut rest = t.as_str();
        while let Some(i) = rest.find('\u{1}') {
            if i > 0 {
                out.push(Part::Lit(rest[..i].to_string()));
            }
            let after = &rest[i + 1..];
            let end = after.find('\u{2}').unwrap_or(after.len());
            out.push(Part::Var(after[..end].to_string()));
            rest = after.get(end + 1..).unwrap_or("");
        }
        if !rest.is_empty() {
            out.push(Part::Lit(rest.to_string()));
        }
    }
    out
}

/// Index of the closing quote of the string literal opening at `i` (or the end).
fn string_end(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() && b[j] != q {
        if b[j] == b'\\' {
            j += 1;
        }
        j += 1;
    }
    j
}

/// The text between `(` (just before `open`) and its matching `)`, strings respected.
fn balanced(text: &str, open: usize) -> Option<&str> {
    let b = text.as_bytes();
    let mut depth = 1usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => i = string_end(b, i),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return text.get(open..i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `s` split at top-level `sep` (outside strings and brackets).
fn split_top(s: &str, sep: u8) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => i = string_end(b, i),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(s.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

/// The variable a Python expression reads: `os.environ["X"]`, `os.getenv("X")`,
/// `os.environ.get("X")` give `X`; otherwise the last identifier (`self.token` → `token`).
fn py_name(expr: &str) -> String {
    let e = expr.trim();
    for p in [
        "os.environ[",
        "os.getenv(",
        "os.environ.get(",
        "environ.get(",
        "getenv(",
    ] {
        if let Some(rest) = e.strip_prefix(p) {
            return rest
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
        }
    }
    e.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string()
}

/// One Python expression as a word: literals, f-string fields and names, joined by `+`.
fn py_word(expr: &str, offset: usize) -> Word {
    let mut parts = Vec::new();
    for operand in split_top(expr, b'+') {
        let o = operand.trim();
        let prefix_len = o
            .find(['"', '\''])
            .filter(|&q| o[..q].chars().all(|c| "rRbBfFuU".contains(c)))
            .unwrap_or(usize::MAX);
        if prefix_len == usize::MAX {
            parts.push(Part::Var(py_name(o)));
            continue;
        }
        let fstring = o[..prefix_len].to_ascii_lowercase().contains('f');
        let q = &o[prefix_len..];
        let quote = if q.starts_with("\"\"\"") || q.starts_with("'''") {
            &q[..3]
        } else {
            &q[..1]
        };
        let body = q
            .strip_prefix(quote)
            .and_then(|b| b.strip_suffix(quote))
            .unwrap_or("");
        if !fstring {
            parts.push(Part::Lit(body.to_string()));
            continue;
        }
        let mut rest = body;
        while let Some(i) = rest.find('{') {
            if rest[i..].starts_with("{{") {
                parts.push(Part::Lit(rest[..i + 1].to_string()));
                rest = &rest[i + 2..];
                continue;
            }
            parts.push(Part::Lit(rest[..i].to_string()));
            let Some(j) = rest[i..].find('}') else {
                rest = "";
                break;
            };
            let field = rest[i + 1..i + j].split(['!', ':']).next().unwrap_or("");
            parts.push(Part::Var(py_name(field)));
            rest = &rest[i + j + 1..];
        }
        parts.push(Part::Lit(rest.to_string()));
    }
    // Adjacent literals merge, as the shell lexer's words do.
    let mut merged: Vec<Part> = Vec::new();
    for p in parts {
        match (merged.last_mut(), p) {
            (Some(Part::Lit(a)), Part::Lit(b)) => a.push_str(&b),
            (_, Part::Lit(b)) if b.is_empty() => {}
            (_, p) => merged.push(p),
        }
    }
    Word {
        parts: merged,
        offset,
    }
}

#[cfg(test)]
mod job_spec_tests {
    use super::*;

    struct Fake;
    impl SecretJudge for Fake {
        fn is_secret(&self, v: &str) -> bool {
            v.starts_with("eyJ")
        }
    }

    #[test]
    fn iri_job_specs_with_credentials_in_environment_or_arguments() {
        let found = |v: serde_json::Value| job_specs(&v, &Fake).len();
        assert_eq!(
            found(serde_json::json!({"executable": "/bin/app", "environment": {"S3M_TOKEN": "x"}})),
            1
        );
        assert_eq!(
            found(
                serde_json::json!({"job": {"executable": "a", "arguments": ["--token", "eyJhbGc.x.y"]}})
            ),
            1
        );
        assert_eq!(
            found(serde_json::json!({"executable": "a", "arguments": ["--auth=$IRI_TOKEN"]})),
            1
        );
        assert_eq!(
            found(
                serde_json::json!({"executable": "a", "environment": {"OMP_NUM_THREADS": "4"}, "arguments": ["-n", "4"]})
            ),
            0
        );
        assert_eq!(
            found(serde_json::json!({"environment": {"S3M_TOKEN": "x"}})),
            0
        );
    }
}

#[cfg(test)]
mod python_tests {
    use super::*;

    struct Fake;
    impl SecretJudge for Fake {
        fn is_secret(&self, v: &str) -> bool {
            v.starts_with("eyJ")
        }
    }

    fn checks(src: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (_, c) in python_commands(src) {
            check_command(&c, Context::Script, &Fake, &mut out);
        }
        out.into_iter().map(|f| f.check).collect()
    }

    #[test]
    fn subprocess_lists_and_os_system_strings() {
        for src in [
            r#"subprocess.run(["curl", "-H", f"Authorization: {token}", url], check=True)"#,
            r#"subprocess.check_output(['curl', '-H', 'Authorization: ' + os.environ["S3M_TOKEN"], URL])"#,
            r#"os.system("curl -H 'Authorization: " + os.getenv('IRI_TOKEN') + "' https://h/")"#,
            r#"os.system(f"curl --oauth2-bearer {self.access_token} https://h/")"#,
            "subprocess.Popen(\n    [\"curl\", \"-u\", f\"admin:{password}\", url],\n)",
        ] {
            assert_eq!(checks(src), vec!["hygiene.token_on_command_line"], "{src}");
        }
        // A command built in a name first, then run.
        for src in [
            "TOKEN = read_token()\ncmd = f\"curl -H 'Authorization: Bearer {TOKEN}' {url}\"\nos.system(cmd)\n",
            "def go(token):\n    args = [\n        \"curl\",\n        \"--oauth2-bearer\",\n        token,\n        url,\n    ]\n    subprocess.run(args, check=True)\n",
        ] {
            assert_eq!(checks(src), vec!["hygiene.token_on_command_line"], "{src}");
        }
        for src in [
            "cmd = f\"curl -H @{header_file} {url}\"\nos.system(cmd)\n",
            "os.system(cmd)\n",
            "cmd == 'x'\nos.system(cmd)\n",
            r#"subprocess.run(["curl", "-H", "@.env", url])"#,
            r#"subprocess.run(["curl", "-H", f"Accept: {mime}", url])"#,
            r#"requests.get(url, headers={"Authorization": token})"#,
            r#"subprocess.run(["sbatch", script])"#,
            r#"os.system("ls"#,
        ] {
            assert_eq!(checks(src), Vec::<&str>::new(), "{src}");
        }
    }
}
