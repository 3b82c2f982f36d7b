//! What a scan found, and the one way several scans' outcomes become one.
//!
//! A sweep scans several repositories, `audit` scans a target's files and its history, and
//! `merge` reads the reports of N shards: each ends with one [`ScanResult`] made by
//! [`Merge`], so "one finding per secret, most severe first, hygiene sorted and distinct"
//! is said once. Reports read this type and nothing of the scan's orchestration.

use crate::finding::{Finding, FindingSet, Suppressed};
use crate::hygiene::HygieneFinding;
use crate::rules::Severity;
use crate::sources::{Stats, Warning};
use std::time::Duration;

/// The outcome of a scan.
#[derive(Debug, Default)]
pub struct ScanResult {
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Matches silenced by inline allow comments.
    pub suppressed: Vec<Suppressed>,
    /// Problems with single inputs.
    pub warnings: Vec<Warning>,
    /// Counters.
    pub stats: Stats,
    /// Hygiene findings, sorted.
    pub hygiene: Vec<HygieneFinding>,
    /// Wall time.
    pub elapsed: Duration,
}

impl ScanResult {
    /// True if some finding or hygiene finding is at or above `fail_on`.
    pub fn failed(&self, fail_on: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= fail_on)
            || self.hygiene.iter().any(|h| h.severity >= fail_on)
    }

    /// Every path named `<name>/<path>`: a sweep's repositories share one report. A warning
    /// about the whole target (no path) is named by `name` alone.
    pub fn prefix_paths(&mut self, name: &str) {
        let prefix = |p: &str| format!("{}/{p}", name.trim_end_matches('/'));
        for f in &mut self.findings {
            for l in &mut f.locations {
                l.path = prefix(&l.path);
            }
        }
        for h in &mut self.hygiene {
            h.path = prefix(&h.path);
        }
        for w in &mut self.warnings {
            w.path = if w.path.is_empty() {
                name.to_string()
            } else {
                prefix(&w.path)
            };
        }
        for s in &mut self.suppressed {
            s.location.path = prefix(&s.location.path);
        }
    }
}

/// How two parts' findings of the same secret are made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSecret {
    /// The parts are different targets (repositories, or a target's files and its history):
    /// the finding keeps the first history it came with; histories of different
    /// repositories are not mixed.
    Separate,
    /// The parts are shards of one history: their histories are joined (the earliest
    /// introducer, every branch).
    OneHistory,
}

/// Several outcomes made one, as one scan would report them.
pub struct Merge {
    same: SameSecret,
    findings: FindingSet,
    result: ScanResult,
}

impl Merge {
    /// An empty merge.
    pub fn new(same: SameSecret) -> Self {
        Merge {
            same,
            findings: FindingSet::default(),
            result: ScanResult::default(),
        }
    }

    /// Adds one part. Its wall time is not added: parts may have run at the same time.
    pub fn add(&mut self, part: ScanResult) {
        for f in part.findings {
            match self.same {
                SameSecret::Separate => self.findings.add(f),
                SameSecret::OneHistory => self.findings.join(f),
            }
        }
        self.result.suppressed.extend(part.suppressed);
        self.result.warnings.extend(part.warnings);
        self.result.hygiene.extend(part.hygiene);
        self.result.stats.add(&part.stats);
    }

    /// Adds a warning about something that is not part of any outcome (a target that could
    /// not be read at all).
    pub fn warn(&mut self, w: Warning) {
        self.result.warnings.push(w);
    }

    /// The merged outcome: one finding per secret, most severe first (then by fingerprint);
    /// hygiene findings and warnings sorted, each once.
    pub fn finish(self, elapsed: Duration) -> ScanResult {
        let mut r = self.result;
        r.findings = self.findings.into_vec();
        r.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        r.hygiene.sort();
        r.hygiene.dedup();
        r.warnings.sort();
        r.warnings.dedup();
        r.elapsed = elapsed;
        r
    }
}
