//! Merging shard reports (`tokenwarden merge`): the JSON reports of N `--shard I/N` runs become
//! one report, as if one process had scanned everything. The same secret found by several
//! shards is one finding with every location. A shard with no report is named, never silently
//! dropped; two reports of the same shard (a re-run) keep the newer one.

use super::JsonReport;
use crate::outcome::{Merge, SameSecret, ScanResult};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A report that cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not a tokenwarden JSON report, or shards of different sweeps.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The merged result and what the inputs said about completeness.
pub struct Merged {
    /// One result, as one scan would report it.
    pub result: ScanResult,
    /// The roots the shards scanned.
    pub roots: Vec<String>,
    /// How many shards the sweep has (when the inputs are shards).
    pub shards: Option<u32>,
    /// Shards with no report.
    pub missing: Vec<u32>,
    /// Notes for the report (replaced re-runs, …).
    pub notes: Vec<String>,
}

/// Reads and merges JSON reports.
pub fn merge(paths: &[PathBuf]) -> Result<Merged, MergeError> {
    // Per shard index (or per file, for unsharded reports), the newest report.
    let mut by_shard: BTreeMap<u32, (SystemTime, PathBuf, JsonReport)> = BTreeMap::new();
    let mut plain: Vec<JsonReport> = Vec::new();
    let mut count: Option<u32> = None;
    let mut notes = Vec::new();
    for p in paths {
        let (doc, mtime) = read(p)?;
        match doc.shard {
            Some(sh) => {
                if let Some(n) = count
                    && n != sh.count
                {
                    return Err(MergeError::Invalid {
                        path: p.display().to_string(),
                        message: format!(
                            "shard {sh} of a {}-shard sweep, but other reports are of {n} shards",
                            sh.count
                        ),
                    });
                }
                count = Some(sh.count);
                match by_shard.get(&sh.index) {
                    Some((t, old, _)) if *t > mtime => {
                        notes.push(format!(
                            "shard {sh}: {} is older than {}, not used",
                            p.display(),
                            old.display()
                        ));
                    }
                    Some((_, old, _)) => {
                        notes.push(format!(
                            "shard {sh}: {} replaces the older {}",
                            p.display(),
                            old.display()
                        ));
                        by_shard.insert(sh.index, (mtime, p.clone(), doc));
                    }
                    None => {
                        by_shard.insert(sh.index, (mtime, p.clone(), doc));
                    }
                }
            }
            None => plain.push(doc),
        }
    }
    let missing: Vec<u32> = match count {
        Some(n) => (0..n).filter(|i| !by_shard.contains_key(i)).collect(),
        None => Vec::new(),
    };
    let docs: Vec<JsonReport> = by_shard
        .into_values()
        .map(|(_, _, d)| d)
        .chain(plain)
        .collect();
    let mut roots = BTreeSet::new();
    let mut merged = Merge::new(SameSecret::OneHistory);
    for d in docs {
        roots.extend(d.roots);
        merged.add(ScanResult {
            findings: d.findings.into_iter().map(|f| f.finding).collect(),
            suppressed: d.suppressed,
            warnings: d.warnings,
            stats: d.stats,
            hygiene: d.hygiene,
            elapsed: Default::default(),
        });
    }
    Ok(Merged {
        result: merged.finish(Default::default()),
        roots: roots.into_iter().collect(),
        shards: count,
        missing,
        notes,
    })
}

fn read(p: &Path) -> Result<(JsonReport, SystemTime), MergeError> {
    let io = |source| MergeError::Io {
        path: p.display().to_string(),
        source,
    };
    let bytes = std::fs::read(p).map_err(io)?;
    let mtime = std::fs::metadata(p)
        .and_then(|m| m.modified())
        .map_err(io)?;
    let doc: JsonReport = serde_json::from_slice(&bytes).map_err(|e| MergeError::Invalid {
        path: p.display().to_string(),
        message: format!("not a tokenwarden JSON report (scan --format json): {e}"),
    })?;
    Ok((doc, mtime))
}
