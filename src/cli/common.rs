//! Flags every client subcommand takes, and the output helpers they share.

use anyhow::Result;
use clap::Args;
use std::io::IsTerminal;
use tokenwarden::facilities::credential::{self, CredentialSource, Token};
use tokenwarden::facilities::{ClientConfig, Endpoint, Http};

/// Connection and credential flags (global: given before or after the subcommand; shown under
/// a heading of their own so that each subcommand's own flags stand apart).
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Connection and credential (any subcommand)")]
pub struct ClientArgs {
    /// Base URL (default: the facility's own, or the one in your config file). HTTPS only;
    /// plain HTTP only on loopback.
    #[arg(long, value_name = "URL", global = true)]
    pub url: Option<String>,
    /// Where the credential comes from: env:NAME, file:PATH (`Authorization: …` lines, as
    /// `curl -H @file` reads), keyring:NAME, stdin or prompt. Never the credential itself.
    #[arg(long, value_name = "SOURCE", global = true, value_parser = SourceParser)]
    pub token_from: Option<CredentialSource>,
    /// Print the API's JSON answer instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Timeout for each request [default: 30s, or [http] timeout in the config].
    #[arg(long, value_name = "DURATION", global = true)]
    pub timeout: Option<humantime::Duration>,
    /// Retries for reads (and for requests the server refused with 429) [default: 3].
    #[arg(long, value_name = "N", global = true)]
    pub retries: Option<u32>,
}

impl ClientArgs {
    /// The user's config file.
    pub fn config(&self) -> Result<ClientConfig> {
        Ok(ClientConfig::load()?)
    }

    /// The HTTP client with the timeout and retries asked for.
    pub fn http(&self, cfg: &ClientConfig) -> Result<Http> {
        let mut opts = cfg.http_options()?;
        if let Some(t) = self.timeout {
            opts.timeout = t.into();
        }
        if let Some(r) = self.retries {
            opts.retries = r;
        }
        Ok(Http::new(opts)?)
    }

    /// The base URL: `--url`, else the config's `keys`, else `default`.
    pub fn endpoint(&self, cfg: &ClientConfig, keys: &[&str], default: &str) -> Result<Endpoint> {
        let url = self
            .url
            .as_deref()
            .or_else(|| cfg.str(keys))
            .unwrap_or(default);
        Ok(Endpoint::parse(url)?)
    }

    /// The credential: `--token-from`, else the config's `keys`, else `defaults` in turn, else
    /// a prompt on a terminal. Warnings (a header file others can read) go to stderr.
    pub fn token(
        &self,
        cfg: &ClientConfig,
        keys: &[&str],
        defaults: &[CredentialSource],
        what: &str,
    ) -> Result<Token> {
        let configured = cfg.credential(keys)?;
        let explicit = self.token_from.as_ref().or(configured.as_ref());
        // "no Slurm JWT found: tried …" says what is missing itself; the others get it said.
        let loaded = match credential::resolve(explicit, defaults, what) {
            Ok(l) => l,
            Err(e @ credential::CredentialError::NotFound { .. }) => return Err(e.into()),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("no {what}"))),
        };
        for w in &loaded.warnings {
            eprintln!("tokenwarden: warning: {w}");
        }
        Ok(loaded.token)
    }
}

/// Parses `--token-from` without echoing a bad value: clap's own "invalid value '…'" message
/// would print a pasted token in full, a second time, into a terminal or a CI log.
#[derive(Clone, Copy, Debug)]
pub struct SourceParser;

impl clap::builder::TypedValueParser for SourceParser {
    type Value = CredentialSource;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<CredentialSource, clap::Error> {
        let text = value.to_string_lossy();
        text.parse::<CredentialSource>().map_err(|e| {
            let mut msg = format!("--token-from: {e}\n");
            if credential::looks_like_a_credential(&text) {
                msg.push_str(
                    "That value looks like a credential. It is now in your shell history and \
                     was visible in the process list to every user of this machine: treat it \
                     as leaked and replace it.\n",
                );
            }
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, msg)
        })
    }
}

/// Prints a JSON value, pretty.
pub fn print_json(value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    outln!("{text}");
    Ok(())
}

/// Prints rows under headers, columns padded to their widest cell. Every cell is the
/// server's text (a job name, a node's reason), so it is escaped for the terminal first.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| tokenwarden::text::printable(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                let pad = widths[i].saturating_sub(c.chars().count());
                out.push_str(c);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        outln!("{}", out.trim_end());
    };
    line(headers.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A string cell from a JSON value: strings as they are, numbers and booleans printed, null
/// and missing as `-`, Slurm's `{set, infinite, number}` as its number.
pub fn cell(v: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) if s.is_empty() => "-".into(),
        // The server's text, shown on a terminal: escaped.
        Some(Value::String(s)) => tokenwarden::text::printable(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(a)) => {
            let parts: Vec<String> = a.iter().map(|x| cell(Some(x))).collect();
            if parts.is_empty() {
                "-".into()
            } else {
                parts.join(",")
            }
        }
        Some(Value::Object(o)) => match (o.get("set"), o.get("infinite"), o.get("number")) {
            (Some(Value::Bool(false)), _, _) => "-".into(),
            (_, Some(Value::Bool(true)), _) => "infinite".into(),
            (_, _, Some(n)) => cell(Some(n)),
            _ => serde_json::to_string(o).unwrap_or_default(),
        },
    }
}

/// A spinner on stderr while waiting, when stderr is a terminal.
pub fn spinner(message: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}
