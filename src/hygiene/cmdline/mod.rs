//! Tokens on command lines, found by parsing (not grepping) the places commands are written:
//! shell and Slurm batch scripts, shell history files, Makefile recipes, Dockerfile `RUN`,
//! `ENV` and `ARG`, and Jupyter `!` and `%%bash` cells.
//!
//! A command's arguments are visible to every user of a login node (`ps`, `/proc/*/cmdline`),
//! so a token in `curl -H "Authorization: $S3M_TOKEN"` leaks whether it is written literally or
//! expanded from a variable. Facility guidance (OLCF, ALCF) is `curl -H @file`: the header is
//! read from a file, and argv holds only the file name. Each finding shows the command
//! rewritten that way. Literal values are never copied into a finding: they are shown redacted.
//!
//! - [`shell`] splits shell text into commands and words (quotes, substitutions, heredocs).
//! - `files` knows which files hold commands and reads them out of each kind; `ci` reads the
//!   scripts of CI files and manifests, `python` the commands Python code runs, `jobspec` IRI
//!   job specifications.
//! - `prefilter` decides cheaply whether a file may hold a command at all.
//! - `command` judges one command; `leaks` knows what in its words carries a credential and
//!   how to rewrite it; `storage` covers S3 clients' keys and Dockerfile `ENV`/`ARG`.

use crate::rules::Severity;
use shell::{Command, Part, Word, commands};

mod ci;
mod command;
#[cfg(test)]
mod file_tests;
mod files;
mod jobspec;
mod leaks;
mod prefilter;
mod python;
pub mod shell;
mod storage;
#[cfg(test)]
mod tests;

pub use ci::*;
pub use command::*;
pub use files::*;
use jobspec::*;
use leaks::*;
pub use prefilter::*;
pub use python::*;
pub use storage::*;

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
