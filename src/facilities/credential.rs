//! Where a client's credential comes from, and the type that holds it.
//!
//! Rule 2 of the house: no secret on a command line. A token typed as an argument lands in shell
//! history and in `/proc/<pid>/cmdline`, which every user of a login node can read — the very
//! thing `scan` flags. So the client takes a credential only from an environment variable, a
//! header file (`Authorization: …` lines, as `curl -H @file` reads them — the form OLCF
//! recommends), the OS keyring, standard input, or a prompt on the terminal; a
//! [`CredentialSource`] names one of those, and never holds the value itself.

use crate::private_file;
use std::fmt;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use zeroize::Zeroizing;

/// The keyring service name under which tokenwarden keeps credentials.
pub const KEYRING_SERVICE: &str = "tokenwarden";

/// A credential value: a token, a password, a secret key. It has no `Display`, its `Debug` is
/// redacted, and it is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a credential value (surrounding whitespace removed).
    pub fn new(value: impl Into<String>) -> Token {
        let value: String = value.into();
        let trimmed = value.trim();
        if trimmed.len() == value.len() {
            Token(Zeroizing::new(value))
        } else {
            Token(Zeroizing::new(trimmed.to_string()))
        }
    }

    /// The value, for the one place that sends it to its issuer.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A redacted preview (`eyJh…(312 chars)`), as findings show secrets.
    pub fn preview(&self) -> String {
        crate::secret::Secret::new(self.0.as_bytes()).preview()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", self.preview())
    }
}

/// Why a credential could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The environment variable is unset or empty.
    #[error("environment variable {0} is not set")]
    EnvUnset(String),
    /// The header file could not be read. (The I/O error is part of the message, not a
    /// `source`, so that a chain printer does not say it twice.)
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The header file holds no usable line.
    #[error(
        "{0} holds no credential: expected an `Authorization: …` line, a `NAME=value` line or \
         the bare token"
    )]
    NoCredentialInFile(PathBuf),
    /// Nothing in the keyring under that name.
    #[error(
        "no credential named {0:?} in the keyring (store one with `tokenwarden keyring set {0}`)"
    )]
    KeyringMissing(String),
    /// The keyring could not be used.
    #[error(
        "the OS keyring cannot be used here ({0}); containers and some login nodes deny the \
         kernel key store — give the credential with --token-from env:NAME, file:PATH or stdin"
    )]
    Keyring(String),
    /// A prompt was needed but there is no terminal.
    #[error(
        "{what} is needed and there is no terminal to ask on; give it with --token-from \
         env:NAME, file:PATH, keyring:NAME or stdin"
    )]
    NoTerminal {
        /// What was asked for.
        what: String,
    },
    /// Standard input held nothing.
    #[error("standard input held no credential")]
    EmptyStdin,
    /// The source specification does not parse.
    #[error(
        "{0:?} is not a credential source: use env:NAME, file:PATH, keyring:NAME, stdin or \
         prompt (a credential itself is never accepted on the command line)"
    )]
    BadSource(String),
    /// No source was given and none of the defaults held a credential.
    #[error("no {what} found: {tried}")]
    NotFound {
        /// What was looked for.
        what: String,
        /// What was tried, and how to give one.
        tried: String,
    },
}

/// One place a credential may be read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// An environment variable.
    Env(String),
    /// A file: `Authorization: …` header lines, a `NAME=value` line, or the bare value.
    File(PathBuf),
    /// The OS keyring, service [`KEYRING_SERVICE`], under this name.
    Keyring(String),
    /// Standard input (read to the end).
    Stdin,
    /// A prompt on the terminal, not echoed.
    Prompt,
}

impl FromStr for CredentialSource {
    type Err = CredentialError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CredentialError::BadSource(redact_spec(s));
        match s.split_once(':') {
            Some(("env", name)) if is_env_name(name) => Ok(CredentialSource::Env(name.into())),
            // A token pasted where a path or a name belongs would be echoed by the "cannot
            // read" or "not in the keyring" error that follows: refused here, unechoed.
            Some(("file", path)) if !path.is_empty() && !looks_pasted(path) => {
                Ok(CredentialSource::File(path.into()))
            }
            Some(("keyring", name))
                if !name.is_empty()
                    && !name.contains(char::is_whitespace)
                    && !looks_pasted(name)
                    && name.len() < 32 =>
            {
                Ok(CredentialSource::Keyring(name.into()))
            }
            None if s == "stdin" || s == "-" => Ok(CredentialSource::Stdin),
            None if s == "prompt" => Ok(CredentialSource::Prompt),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Env(n) => write!(f, "env:{n}"),
            CredentialSource::File(p) => write!(f, "file:{}", p.display()),
            CredentialSource::Keyring(n) => write!(f, "keyring:{n}"),
            CredentialSource::Stdin => f.write_str("stdin"),
            CredentialSource::Prompt => f.write_str("prompt"),
        }
    }
}

/// True when a `--token-from` value, or the part after its `file:` or `keyring:`, looks like a
/// credential pasted where a source belongs: a JWT, a MUNGE credential, or a long run with no
/// path separator and no space (file names and keyring names are short words).
pub fn looks_like_a_credential(s: &str) -> bool {
    match s.split_once(':') {
        Some(("file" | "keyring" | "env", rest)) => looks_pasted(rest),
        _ => {
            !s.contains(':') && s.len() >= 16 && !s.contains(char::is_whitespace) || looks_pasted(s)
        }
    }
}

fn looks_pasted(s: &str) -> bool {
    s.starts_with("eyJ")
        || s.starts_with("MUNGE:")
        || (s.len() >= 32 && !s.contains('/') && !s.contains(char::is_whitespace))
}

/// A mistyped source may be a pasted token: an error message must not echo it whole.
fn redact_spec(s: &str) -> String {
    if s.len() > 24 || looks_like_a_credential(s) {
        crate::secret::Secret::new(s.as_bytes()).preview()
    } else {
        s.to_string()
    }
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// A credential read from a source, with what the reader noticed on the way (a header file
/// others can read).
#[derive(Debug)]
pub struct Loaded {
    /// The value.
    pub token: Token,
    /// Warnings for the user (never containing the value).
    pub warnings: Vec<String>,
}

impl CredentialSource {
    /// Reads the credential. `what` names it in prompts and errors ("S3M token").
    pub fn load(&self, what: &str) -> Result<Loaded, CredentialError> {
        let mut warnings = Vec::new();
        let token = match self {
            CredentialSource::Env(name) => match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => Token::new(v),
                _ => return Err(CredentialError::EnvUnset(name.clone())),
            },
            CredentialSource::File(path) => {
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
                    CredentialError::Read {
                        path: path.clone(),
                        error: source,
                    }
                })?);
                if let Some(w) = private_file::loose_permissions(path) {
                    warnings.push(w);
                }
                parse_credential_file(&text)
                    .ok_or_else(|| CredentialError::NoCredentialInFile(path.clone()))?
            }
            CredentialSource::Keyring(name) => keyring_get(name)?,
            CredentialSource::Stdin => {
                let mut text = Zeroizing::new(String::new());
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|error| CredentialError::Read {
                        path: PathBuf::from("<stdin>"),
                        error,
                    })?;
                parse_credential_file(&text).ok_or(CredentialError::EmptyStdin)?
            }
            CredentialSource::Prompt => prompt(what)?,
        };
        Ok(Loaded { token, warnings })
    }
}

/// Reads the first source that holds a credential: the explicit one when given (its failure is
/// final), else each default in turn, else a prompt when there is a terminal.
pub fn resolve(
    explicit: Option<&CredentialSource>,
    defaults: &[CredentialSource],
    what: &str,
) -> Result<Loaded, CredentialError> {
    if let Some(src) = explicit {
        return src.load(what);
    }
    for src in defaults {
        match src.load(what) {
            Ok(loaded) => return Ok(loaded),
            Err(CredentialError::EnvUnset(_)) | Err(CredentialError::KeyringMissing(_)) => {}
            Err(CredentialError::Keyring(_)) => {} // no keyring on this machine: try the next
            Err(e) => return Err(e),
        }
    }
    if std::io::stdin().is_terminal() {
        return prompt(what).map(|token| Loaded {
            token,
            warnings: Vec::new(),
        });
    }
    let tried: Vec<String> = defaults.iter().map(|s| s.to_string()).collect();
    Err(CredentialError::NotFound {
        what: what.to_string(),
        tried: format!(
            "tried {}; give one with --token-from env:NAME, file:PATH, keyring:NAME or stdin",
            if tried.is_empty() {
                "nothing".to_string()
            } else {
                tried.join(", ")
            }
        ),
    })
}

/// Asks on the terminal without echo.
pub fn prompt(what: &str) -> Result<Token, CredentialError> {
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return Err(CredentialError::NoTerminal { what: what.into() });
    }
    let value = Zeroizing::new(
        rpassword::prompt_password(format!("{what}: "))
            .map_err(|_| CredentialError::NoTerminal { what: what.into() })?,
    );
    if value.trim().is_empty() {
        return Err(CredentialError::NoTerminal { what: what.into() });
    }
    Ok(Token::new(value.as_str()))
}

/// Finds the credential in a header file's text: the value of the first `Authorization:` line
/// (its scheme word — `Bearer`, `MUNGE`, … — removed: the client adds the one its API wants),
/// else of an `X-SLURM-USER-TOKEN:` line, else of the only `NAME=value` line (`export` and
/// quotes allowed), else the only non-comment line.
pub fn parse_credential_file(text: &str) -> Option<Token> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for l in &lines {
        if let Some((name, value)) = l.split_once(':')
            && name.trim().eq_ignore_ascii_case("authorization")
        {
            let value = value.trim();
            let value = match value.split_once(char::is_whitespace) {
                Some((scheme, rest))
                    if ["bearer", "munge", "token"]
                        .iter()
                        .any(|s| scheme.eq_ignore_ascii_case(s)) =>
                {
                    rest.trim()
                }
                _ => value,
            };
            if !value.is_empty() {
                return Some(Token::new(value));
            }
        }
    }
    for l in &lines {
        if let Some((name, value)) = l.split_once(':')
            && name.trim().eq_ignore_ascii_case("x-slurm-user-token")
            && !value.trim().is_empty()
        {
            return Some(Token::new(value.trim()));
        }
    }
    let assignments: Vec<&str> = lines
        .iter()
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
            let (name, value) = l.split_once('=')?;
            is_env_name(name.trim()).then_some(value.trim())
        })
        .collect();
    if assignments.len() == 1 {
        let v = assignments[0];
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(v);
        if !v.is_empty() {
            return Some(Token::new(v));
        }
    }
    if lines.len() == 1 && assignments.is_empty() && !lines[0].contains(char::is_whitespace) {
        return Some(Token::new(lines[0]));
    }
    None
}

fn keyring_store() -> Result<(), CredentialError> {
    use std::sync::OnceLock;
    static STORE: OnceLock<Result<(), String>> = OnceLock::new();
    STORE
        .get_or_init(|| {
            // The kernel's key store works on a headless login node, where no desktop secret
            // service runs; that is where these credentials are used.
            let store = linux_keyutils_keyring_store::Store::new().map_err(|e| e.to_string())?;
            keyring_core::set_default_store(store);
            Ok(())
        })
        .clone()
        .map_err(CredentialError::Keyring)
}

fn keyring_entry(name: &str) -> Result<keyring_core::Entry, CredentialError> {
    keyring_store()?;
    keyring_core::Entry::new(KEYRING_SERVICE, name)
        .map_err(|e| CredentialError::Keyring(e.to_string()))
}

fn keyring_get(name: &str) -> Result<Token, CredentialError> {
    match keyring_entry(name)?.get_password() {
        Ok(v) => Ok(Token::new(v)),
        Err(keyring_core::Error::NoEntry) => Err(CredentialError::KeyringMissing(name.into())),
        Err(e) => Err(CredentialError::Keyring(e.to_string())),
    }
}

/// Stores a credential in the OS keyring under `name`.
pub fn keyring_set(name: &str, token: &Token) -> Result<(), CredentialError> {
    keyring_entry(name)?
        .set_password(token.expose())
        .map_err(|e| CredentialError::Keyring(e.to_string()))
}

/// Removes `name` from the OS keyring; `Ok(false)` when it was not there.
pub fn keyring_delete(name: &str) -> Result<bool, CredentialError> {
    match keyring_entry(name)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring_core::Error::NoEntry) => Ok(false),
        Err(e) => Err(CredentialError::Keyring(e.to_string())),
    }
}

/// The file a `file:` source names, when it is one (for permission checks by callers).
pub fn source_path(src: &CredentialSource) -> Option<&Path> {
    match src {
        CredentialSource::File(p) => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_files_in_the_forms_people_write_them() {
        let t = |s: &str| parse_credential_file(s).map(|t| t.expose().to_string());
        assert_eq!(
            t("Authorization: eyJabc.def.ghi\n").as_deref(),
            Some("eyJabc.def.ghi")
        );
        assert_eq!(t("authorization:Bearer  Ag123\n").as_deref(), Some("Ag123"));
        assert_eq!(
            t("# S3M\nAccept: application/json\nAuthorization: MUNGE MUNGE:AwQ=:\n").as_deref(),
            Some("MUNGE:AwQ=:")
        );
        assert_eq!(t("X-SLURM-USER-TOKEN: eyJx\n").as_deref(), Some("eyJx"));
        assert_eq!(t("export S3M_TOKEN=\"eyJq\"\n").as_deref(), Some("eyJq"));
        assert_eq!(t("PALMETTO_API_KEY='k-1'\n").as_deref(), Some("k-1"));
        assert_eq!(t("  plain-token  \n").as_deref(), Some("plain-token"));
        // Two assignments are ambiguous; prose is not a token.
        assert_eq!(t("A=1\nB=2\n"), None);
        assert_eq!(t("this is not a token\n"), None);
        assert_eq!(t("\n# only a comment\n"), None);
    }

    #[test]
    fn sources_parse_and_never_take_a_value() {
        assert_eq!(
            "env:S3M_TOKEN".parse::<CredentialSource>().unwrap(),
            CredentialSource::Env("S3M_TOKEN".into())
        );
        assert_eq!(
            "file:.env".parse::<CredentialSource>().unwrap(),
            CredentialSource::File(".env".into())
        );
        assert_eq!(
            "keyring:s3m".parse::<CredentialSource>().unwrap(),
            CredentialSource::Keyring("s3m".into())
        );
        assert_eq!(
            "-".parse::<CredentialSource>().unwrap(),
            CredentialSource::Stdin
        );
        // A pasted token is refused, and the error does not repeat it.
        // Assembled at run time, so the project's own scan does not flag this test.
        let jwt = format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.c2lnbmF0dXJlc2lnbmF0dXJl",
            "eyJzdWIiOiJ4In0"
        );
        let err = jwt.parse::<CredentialSource>().unwrap_err().to_string();
        assert!(!err.contains(&jwt), "{err}");
        assert!(err.contains("never accepted on the command line"), "{err}");
        assert!("env:1BAD".parse::<CredentialSource>().is_err());
        assert!("keyring:".parse::<CredentialSource>().is_err());
    }

    #[test]
    fn tokens_do_not_print_themselves() {
        let t = Token::new("eyJhbGciOiJIUzI1NiJ9.secretpayload.signature\n");
        assert_eq!(t.expose(), "eyJhbGciOiJIUzI1NiJ9.secretpayload.signature");
        let shown = format!("{t:?}");
        assert!(!shown.contains("secretpayload"), "{shown}");
    }

    #[test]
    fn env_and_file_sources_load() {
        // SAFETY: this test owns the variable name; no other test reads it.
        unsafe { std::env::set_var("TW_TEST_CRED_VAR", "value-1") };
        let got = CredentialSource::Env("TW_TEST_CRED_VAR".into())
            .load("token")
            .unwrap();
        assert_eq!(got.token.expose(), "value-1");
        assert!(matches!(
            CredentialSource::Env("TW_TEST_CRED_UNSET".into()).load("token"),
            Err(CredentialError::EnvUnset(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "Authorization: tok-2\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let got = CredentialSource::File(path.clone()).load("token").unwrap();
        assert_eq!(got.token.expose(), "tok-2");
        #[cfg(unix)]
        assert!(got.warnings[0].contains("chmod 600"), "{:?}", got.warnings);
    }
}
