//! The project config file, `.tokenwarden.toml`.
//!
//! It selects and adds rules, excludes paths and sets thresholds. It can never name an
//! endpoint or a credential: configuration found inside a scanned repository is untrusted
//! (rule 3 of the house), so it only ever narrows or widens what is *reported*, and every
//! exclusion it makes is stated in the report's summary.

use crate::rules::{Confidence, Rule, Severity};
use crate::untrusted;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The file name looked for at the scan root.
pub const CONFIG_FILE: &str = ".tokenwarden.toml";

/// `[scan]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Gitignore-style globs (relative to the scan root) that are not scanned.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Skip files larger than this many bytes.
    #[serde(default)]
    pub max_file_size: Option<u64>,
}

/// `[rules]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule ids to turn off; `facility.*` turns off a family.
    #[serde(default)]
    pub disable: Vec<String>,
    /// If set, only these rules (same syntax) run.
    #[serde(default)]
    pub only: Vec<String>,
    /// Extra tokenwarden rule files, relative to the config file.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// gitleaks/Betterleaks rule files to import, relative to the config file.
    #[serde(default)]
    pub gitleaks: Vec<PathBuf>,
}

/// `[[allow]]`: one secret, by fingerprint, that is known not to be a live credential — a
/// synthetic test token that git history keeps even after the file stopped holding it.
/// A fingerprint is a keyed hash (no plaintext), so this list can be committed; the finding
/// is still listed as suppressed, with the reason, in every report.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// The finding's fingerprint (`tw1:…`).
    pub fingerprint: String,
    /// Why it is not a risk (required: an allowlist without reasons cannot be reviewed).
    pub reason: String,
}

/// The whole file.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Paths.
    #[serde(default)]
    pub scan: ScanConfig,
    /// Rule selection.
    #[serde(default)]
    pub rules: RulesConfig,
    /// Exit 1 when a finding is at or above this severity.
    #[serde(default)]
    pub fail_on: Option<Severity>,
    /// Report findings at or above this confidence.
    #[serde(default)]
    pub min_confidence: Option<Confidence>,
    /// Fail the run (exit 2) when a file met during the walk cannot be read.
    #[serde(default)]
    pub fail_on_unreadable: Option<bool>,
    /// Rules defined inline.
    #[serde(default, rename = "rule")]
    pub extra_rules: Vec<Rule>,
    /// Secrets known to be synthetic, by fingerprint.
    #[serde(default)]
    pub allow: Vec<AllowEntry>,
    /// A baseline file (relative to the config file) whose findings are not reported as new.
    #[serde(default)]
    pub baseline: Option<PathBuf>,
    /// Where the file was read from (set by [`Config::load`]).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file the config names, or the config itself, that may not be read.
    #[error(transparent)]
    Untrusted(#[from] crate::untrusted::UntrustedError),
    /// Not valid TOML or not the schema.
    #[error("config {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = untrusted::read_regular_text(path, untrusted::MAX_CONFIG_BYTES)?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: untrusted::toml_error(&text, &e),
        })?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Looks for `.tokenwarden.toml` in `root` (a directory); `Ok(None)` when there is none.
    /// A config that is a symlink out of `root`, or not a regular file, is an error: it would
    /// be read from outside the repository that put it there.
    pub fn discover(root: &Path) -> Result<Option<Config>, ConfigError> {
        let candidate = root.join(CONFIG_FILE);
        if !root.is_dir() || candidate.symlink_metadata().is_err() {
            return Ok(None);
        }
        let path = untrusted::contained(root, Path::new(CONFIG_FILE))?;
        let mut cfg = Config::load(&path)?;
        cfg.source = Some(candidate);
        Ok(Some(cfg))
    }

    /// Resolves a path written in the config relative to the config file's directory; it must
    /// stay at or below that directory (see [`untrusted::contained`]).
    pub fn resolve(&self, p: &Path) -> Result<PathBuf, ConfigError> {
        let dir = match self.source.as_ref().and_then(|s| s.parent()) {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(untrusted::contained(&dir, p)?)
    }
}

/// True if `id` is selected by a list entry (`exact.id` or `family.*`).
pub fn id_matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let c: Config = toml::from_str(
            "fail_on = \"high\"\n[scan]\nexclude=[\"fixtures/**\"]\n[rules]\ndisable=[\"jwt.*\"]\n",
        )
        .unwrap();
        assert_eq!(c.fail_on, Some(Severity::High));
        assert_eq!(c.scan.exclude, vec!["fixtures/**"]);
        assert!(toml::from_str::<Config>("endpoint = \"http://evil\"").is_err());
        assert!(id_matches("jwt.*", "jwt.generic"));
        assert!(!id_matches("jwt.*", "s3m.opat"));
        assert!(id_matches("s3m.opat", "s3m.opat"));
    }
}
