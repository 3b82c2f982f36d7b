//! Sources produce blobs with provenance: directory trees ([`fs`]), git history and staged
//! changes ([`git`]).

pub mod fs;
pub mod git;

pub mod text;

use serde::Serialize;

/// Something that went wrong with one input while the scan went on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Warning {
    /// The path concerned (may be empty for walk-level problems).
    pub path: String,
    /// What happened, in plain words.
    pub message: String,
}

/// Counters for one scan.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Stats {
    /// Files whose content was scanned.
    pub files_scanned: u64,
    /// Bytes of content scanned.
    pub bytes_scanned: u64,
    /// Files skipped because their content is binary (path rules still applied).
    pub binary_skipped: u64,
    /// Files skipped because they exceed `--max-file-size`.
    pub too_large_skipped: u64,
    /// Symbolic links not followed.
    pub symlinks_skipped: u64,
    /// Files scanned in overlapping chunks because they are large.
    pub chunked_files: u64,
    /// Files and directories met during a walk that could not be read (each also a warning).
    #[serde(skip_serializing_if = "is_zero")]
    pub unreadable: u64,
    /// History scans: commits walked.
    #[serde(skip_serializing_if = "is_zero")]
    pub commits: u64,
    /// History scans: distinct blobs considered (each scanned once).
    #[serde(skip_serializing_if = "is_zero")]
    pub blobs: u64,
}

impl Stats {
    /// Adds another scan's counters (shards merged, repositories scanned one by one).
    pub fn add(&mut self, o: &Stats) {
        self.files_scanned += o.files_scanned;
        self.bytes_scanned += o.bytes_scanned;
        self.binary_skipped += o.binary_skipped;
        self.too_large_skipped += o.too_large_skipped;
        self.symlinks_skipped += o.symlinks_skipped;
        self.chunked_files += o.chunked_files;
        self.unreadable += o.unreadable;
        self.commits += o.commits;
        self.blobs += o.blobs;
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
