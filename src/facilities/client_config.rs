//! The user's own client configuration: base URLs, enclaves, credential sources.
//!
//! Rule 3 of the house: endpoint overrides come from the user's own config or flags, never from
//! files in a scanned repository. So this file lives only in the user's config directory
//! (`$TOKENWARDEN_CONFIG`, else `$XDG_CONFIG_HOME/tokenwarden/config.toml`, else
//! `~/.config/tokenwarden/config.toml`) and is never looked for in the working directory.
//!
//! ```toml
//! [http]
//! timeout = "30s"
//! retries = 3
//!
//! [s3m]
//! url = "https://s3m.olcf.ornl.gov"
//! enclave = "open"
//! token = "keyring:s3m"          # a credential *source*, never a value
//!
//! [iri.alcf]
//! url = "https://api.alcf.anl.gov/api/v1"
//! ```

use crate::facilities::credential::CredentialSource;
use crate::facilities::http::{ClientError, HttpOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The parsed config file (empty when there is none).
#[derive(Clone, Debug, Default)]
pub struct ClientConfig {
    table: toml::Table,
    path: Option<PathBuf>,
}

impl ClientConfig {
    /// Where the config file is looked for.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("TOKENWARDEN_CONFIG") {
            return Some(PathBuf::from(p));
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("tokenwarden").join("config.toml"))
    }

    /// Loads the user's config; a missing file is an empty config, a malformed one an error.
    pub fn load() -> Result<ClientConfig, ClientError> {
        match Self::default_path() {
            Some(p) if p.exists() => Self::load_from(&p),
            _ => Ok(ClientConfig::default()),
        }
    }

    /// Loads a given file.
    pub fn load_from(path: &Path) -> Result<ClientConfig, ClientError> {
        let text = std::fs::read_to_string(path).map_err(|source| ClientError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ClientError::Invalid(format!("{}: {}", path.display(), e.message()))
        })?;
        Ok(ClientConfig {
            table,
            path: Some(path.to_path_buf()),
        })
    }

    /// The file this came from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A string at a dotted key path (`["iri", "alcf", "url"]`).
    pub fn str(&self, keys: &[&str]) -> Option<&str> {
        self.value(keys)?.as_str()
    }

    /// An integer at a key path.
    pub fn int(&self, keys: &[&str]) -> Option<i64> {
        self.value(keys)?.as_integer()
    }

    /// A credential source at a key path; a value that is not a source is an error (the
    /// config file must not hold the token itself either).
    pub fn credential(&self, keys: &[&str]) -> Result<Option<CredentialSource>, ClientError> {
        match self.str(keys) {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|e| {
                ClientError::Invalid(format!(
                    "{} `{}`: {e}",
                    self.path
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    keys.join(".")
                ))
            }),
        }
    }

    /// The `[http]` section applied over the defaults.
    pub fn http_options(&self) -> Result<HttpOptions, ClientError> {
        let mut o = HttpOptions::default();
        if let Some(t) = self.str(&["http", "timeout"]) {
            o.timeout = parse_duration(t)?;
        }
        if let Some(r) = self.int(&["http", "retries"]) {
            o.retries = r.clamp(0, 10) as u32;
        }
        Ok(o)
    }

    fn value(&self, keys: &[&str]) -> Option<&toml::Value> {
        let (last, path) = keys.split_last()?;
        let mut t = &self.table;
        for k in path {
            t = t.get(*k)?.as_table()?;
        }
        t.get(*last)
    }
}

/// Parses `30s`, `2m`, `1h 30m`.
pub fn parse_duration(s: &str) -> Result<Duration, ClientError> {
    humantime::parse_duration(s.trim())
        .map_err(|e| ClientError::Invalid(format!("{s:?} is not a duration ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_and_refuses_values_as_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(
            &p,
            "[http]\ntimeout = \"5s\"\nretries = 1\n[s3m]\nurl = \"https://x\"\ntoken = \"env:A\"\n\
             [iri.alcf]\nurl = \"https://y\"\ntoken = \"eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.sig\"\n",
        )
        .unwrap();
        let c = ClientConfig::load_from(&p).unwrap();
        assert_eq!(c.str(&["s3m", "url"]), Some("https://x"));
        assert_eq!(c.str(&["iri", "alcf", "url"]), Some("https://y"));
        assert_eq!(
            c.credential(&["s3m", "token"]).unwrap(),
            Some(CredentialSource::Env("A".into()))
        );
        let err = c
            .credential(&["iri", "alcf", "token"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("iri.alcf.token"), "{err}");
        assert!(!err.contains("eyJhIjoxfQ"), "{err}");
        let o = c.http_options().unwrap();
        assert_eq!(o.timeout, Duration::from_secs(5));
        assert_eq!(o.retries, 1);
    }
}
