//! One scan from start to end: sources → engine → findings.

use crate::engine::Engine;
use crate::finding::{Collector, Finding, Suppressed};
use crate::rules::Confidence;
use crate::secret::Fingerprinter;
use crate::sources::fs::{FsError, WalkOptions, scan_paths};
use crate::sources::{Stats, Warning};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to scan and how to judge it.
#[derive(Clone)]
pub struct ScanRequest {
    /// Directories or files.
    pub roots: Vec<PathBuf>,
    /// Walk options.
    pub walk: WalkOptions,
    /// Findings below this confidence are dropped.
    pub min_confidence: Confidence,
    /// Fingerprint key.
    pub fingerprinter: Fingerprinter,
}

/// The outcome of a scan.
#[derive(Debug)]
pub struct ScanResult {
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Matches silenced by inline allow comments.
    pub suppressed: Vec<Suppressed>,
    /// Problems with single inputs.
    pub warnings: Vec<Warning>,
    /// Counters.
    pub stats: Stats,
    /// Wall time.
    pub elapsed: Duration,
}

/// Scans the request's roots.
pub fn scan(engine: &Engine, req: &ScanRequest) -> Result<ScanResult, FsError> {
    let started = Instant::now();
    let out = scan_paths(engine, &req.roots, &req.walk)?;
    let rules = engine.rules();
    let mut collector = Collector::new(req.fingerprinter.clone());
    for (m, loc) in out.matches {
        collector.add(m, loc);
    }
    let (findings, suppressed) = collector.finish(rules, req.min_confidence);
    Ok(ScanResult {
        findings,
        suppressed,
        warnings: out.warnings,
        stats: out.stats,
        elapsed: started.elapsed(),
    })
}
