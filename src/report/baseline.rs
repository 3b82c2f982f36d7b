//! Baselines: living with findings a team has already looked at. A baseline lists them by
//! fingerprint (a keyed hash of rule and secret), so it holds no plaintext and no line numbers
//! (they churn with every edit above the secret); hygiene findings by check and path. The file
//! is sorted and pretty-printed so that a change to it is a small, reviewable diff, and it is
//! rewritten atomically. A scan with a baseline reports only what is new.
//!
//! The baseline also records a check value of the fingerprint key: fingerprints made with
//! another `TOKENWARDEN_FINGERPRINT_KEY` never match, and a baseline that silently matched
//! nothing would make every old finding look new — so that is an error instead.

use crate::finding::Suppressed;
use crate::outcome::ScanResult;
use crate::secret::{Fingerprinter, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// The format version written.
pub const FORMAT: u32 = 1;

/// A secret finding accepted into the baseline.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretEntry {
    /// `tw1:…`
    pub fingerprint: String,
    /// The rule, for people reading the file.
    pub rule_id: String,
}

/// A hygiene finding accepted into the baseline.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HygieneEntry {
    /// The check.
    pub check: String,
    /// The file it is about.
    pub path: String,
}

/// A baseline file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version.
    pub tokenwarden_baseline: u32,
    /// The fingerprint key's check value.
    pub key_check: String,
    /// Accepted secrets, sorted.
    #[serde(default)]
    pub findings: BTreeSet<SecretEntry>,
    /// Accepted hygiene findings, sorted.
    #[serde(default)]
    pub hygiene: BTreeSet<HygieneEntry>,
}

/// A baseline that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Unreadable, or not a regular file of a sane size.
    #[error("cannot read the baseline")]
    Unreadable(#[from] crate::untrusted::UntrustedError),
    /// Not a baseline.
    #[error("baseline {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// What applying a baseline did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Secret findings moved to `suppressed`.
    pub findings: usize,
    /// Hygiene findings dropped.
    pub hygiene: usize,
    /// Baseline entries that matched nothing (fixed, or moved out of the scanned paths).
    pub stale: usize,
}

/// The key's check value: the fingerprint of a fixed string.
pub fn key_check(fp: &Fingerprinter) -> String {
    fp.fingerprint("baseline", &Secret::new(b"tokenwarden baseline key check"))
}

impl Baseline {
    /// Everything `result` reports.
    pub fn of(result: &ScanResult, fp: &Fingerprinter) -> Baseline {
        Baseline {
            tokenwarden_baseline: FORMAT,
            key_check: key_check(fp),
            findings: result
                .findings
                .iter()
                .map(|f| SecretEntry {
                    fingerprint: f.fingerprint.clone(),
                    rule_id: f.rule_id.clone(),
                })
                .collect(),
            hygiene: result
                .hygiene
                .iter()
                .map(|h| HygieneEntry {
                    check: h.check.clone(),
                    path: h.path.clone(),
                })
                .collect(),
        }
    }

    /// Reads a baseline written with the same fingerprint key.
    pub fn load(path: &Path, fp: &Fingerprinter) -> Result<Baseline, BaselineError> {
        let p = path.display().to_string();
        let bytes = crate::untrusted::read_regular(path, crate::untrusted::MAX_CONFIG_BYTES)?;
        Baseline::parse(&p, &bytes, fp)
    }

    /// Reads a baseline's bytes (`p` names it in errors). Any bytes give a baseline or an
    /// error, never a panic: the file may come from the repository being scanned.
    pub fn parse(p: &str, bytes: &[u8], fp: &Fingerprinter) -> Result<Baseline, BaselineError> {
        let p = p.to_string();
        let b: Baseline = serde_json::from_slice(bytes).map_err(|e| BaselineError::Invalid {
            path: p.clone(),
            message: crate::untrusted::json_error(&e),
        })?;
        if b.tokenwarden_baseline != FORMAT {
            return Err(BaselineError::Invalid {
                path: p,
                message: format!(
                    "format {} (this tokenwarden reads format {FORMAT})",
                    b.tokenwarden_baseline
                ),
            });
        }
        if b.key_check != key_check(fp) {
            return Err(BaselineError::Invalid {
                path: p,
                message: "written with another fingerprint key (TOKENWARDEN_FINGERPRINT_KEY); \
                          none of its entries could match, so it is not used"
                    .into(),
            });
        }
        Ok(b)
    }

    /// Writes the file: sorted, pretty, atomically, 0600.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        text.push(b'\n');
        crate::private_file::write(path, &text)
    }

    /// Moves what the baseline holds out of the report: secrets to `suppressed` (reason
    /// "baseline"), hygiene findings away.
    pub fn apply(&self, result: &mut ScanResult) -> Applied {
        let mut applied = Applied::default();
        let mut used_f = BTreeSet::new();
        let mut used_h = BTreeSet::new();
        let by_fp: std::collections::HashMap<&str, &SecretEntry> = self
            .findings
            .iter()
            .map(|e| (e.fingerprint.as_str(), e))
            .collect();
        let findings = std::mem::take(&mut result.findings);
        for f in findings {
            match by_fp.get(f.fingerprint.as_str()) {
                Some(e) => {
                    used_f.insert((*e).clone());
                    applied.findings += 1;
                    for loc in &f.locations {
                        result.suppressed.push(Suppressed {
                            rule_id: f.rule_id.clone(),
                            fingerprint: f.fingerprint.clone(),
                            location: loc.clone(),
                            reason: "baseline".into(),
                        });
                    }
                }
                None => result.findings.push(f),
            }
        }
        result.hygiene.retain(|h| {
            let key = HygieneEntry {
                check: h.check.clone(),
                path: h.path.clone(),
            };
            if self.hygiene.contains(&key) {
                used_h.insert(key);
                applied.hygiene += 1;
                false
            } else {
                true
            }
        });
        applied.stale = (self.findings.len() - used_f.len()) + (self.hygiene.len() - used_h.len());
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_sorted_and_keyed() {
        let fp = Fingerprinter::default();
        let mut b = Baseline {
            tokenwarden_baseline: FORMAT,
            key_check: key_check(&fp),
            ..Default::default()
        };
        for (f, r) in [("tw1:bb", "s3m.opat"), ("tw1:aa", "slurm.jwt")] {
            b.findings.insert(SecretEntry {
                fingerprint: f.into(),
                rule_id: r.into(),
            });
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        b.save(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.find("tw1:aa").unwrap() < text.find("tw1:bb").unwrap());
        assert!(!text.contains("\"line\""), "no line numbers: {text}");
        assert_eq!(Baseline::load(&p, &fp).unwrap(), b);
        let other = Fingerprinter::new(b"site key");
        let err = Baseline::load(&p, &other).unwrap_err().to_string();
        assert!(err.contains("another fingerprint key"), "{err}");
        std::fs::write(
            &p,
            "{\"tokenwarden_baseline\": 1, \"key_check\": \"x\", \"extra\": 1}",
        )
        .unwrap();
        assert!(Baseline::load(&p, &fp).is_err());
    }
}
