//! One scan from start to end: a source → the engine → findings.

use crate::engine::Engine;
use crate::finding::Collector;
use crate::outcome::{Merge, SameSecret, ScanResult};

use crate::hygiene::{
    CommandChecks, CommitRef, HygieneFinding, check_staged, check_work_tree, history_finding,
};
use crate::rules::Confidence;
use crate::secret::Fingerprinter;
use crate::sources::Warning;
use crate::sources::fs::{FsError, WalkOptions, scan_paths};
use crate::sources::git::{GitError, GitOptions, scan_history, scan_staged};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// What the roots are scanned as.
#[derive(Clone, Debug, Default)]
pub enum Target {
    /// Directory trees and files as they are on disk.
    #[default]
    Tree,
    /// The git history of the repository at the (single) root.
    History(GitOptions),
    /// What is staged for the next commit in the repository at the (single) root.
    Staged,
}

/// What to scan and how to judge it.
#[derive(Clone)]
pub struct ScanRequest {
    /// Directories or files (for git targets: one path inside the repository).
    pub roots: Vec<PathBuf>,
    /// How the roots are read.
    pub target: Target,
    /// Walk options (tree scans).
    pub walk: WalkOptions,
    /// Findings below this confidence are dropped.
    pub min_confidence: Confidence,
    /// Fingerprint key.
    pub fingerprinter: Fingerprinter,
    /// Run the hygiene checks: credential files in a work tree (tree scans) or in history
    /// (full history scans).
    pub hygiene: bool,
    /// Honour `tokenwarden:allow` comments. CI can turn them off (`--no-inline-allow`) when a
    /// team wants every exception in a reviewed baseline or config instead.
    pub inline_allow: bool,
}

/// A scan that could not be done at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Directory scan.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Git scan.
    #[error(transparent)]
    Git(#[from] GitError),
    /// Git targets take exactly one repository.
    #[error("git scans take one repository path, got {0}")]
    OneRepo(usize),
}

/// Gitignore-style matching of repository-relative paths against the exclude globs.
fn exclude_matcher(excludes: &[String]) -> Result<Option<ignore::gitignore::Gitignore>, ScanError> {
    if excludes.is_empty() {
        return Ok(None);
    }
    let mut b = ignore::gitignore::GitignoreBuilder::new("");
    for glob in excludes {
        b.add_line(None, glob).map_err(|e| FsError::Exclude {
            glob: glob.clone(),
            message: e.to_string(),
        })?;
    }
    let g = b.build().map_err(|e| FsError::Exclude {
        glob: excludes.join(", "),
        message: e.to_string(),
    })?;
    Ok(Some(g))
}

/// Scans the request's roots. With a shard in the walk options, a tree scan of several roots
/// keeps the roots this shard owns; of one root, its top-level entries this shard owns.
pub fn scan(engine: &Engine, req: &ScanRequest) -> Result<ScanResult, ScanError> {
    if let Target::History(opts) = &req.target
        && req.roots.len() > 1
    {
        return scan_histories(engine, req, opts);
    }
    let shard = req.walk.shard;
    let owned;
    let req = match (&req.target, shard) {
        (Target::Tree, Some(sh)) if req.roots.len() > 1 => {
            let mut r = req.clone();
            r.roots
                .retain(|root| sh.owns(&crate::sources::fs::display_path(root)));
            r.walk.shard = None;
            r.walk.prefix_roots = true;
            owned = r;
            if owned.roots.is_empty() {
                return Ok(ScanResult::default());
            }
            &owned
        }
        _ => req,
    };
    let mut result = scan_unsharded(engine, req)?;
    // Hygiene findings of one root follow the same partition as its files.
    if let (Target::Tree, Some(sh)) = (&req.target, req.walk.shard) {
        result.hygiene.retain(|h| {
            let top = h.path.split('/').next().unwrap_or(&h.path);
            sh.owns(top)
        });
    }
    Ok(result)
}

/// The histories of several repositories (a sweep's targets): each scanned on its own, with
/// its paths named `<repository>/<path>`, one finding per secret across all. A shard takes
/// whole repositories (by path), not blobs.
fn scan_histories(
    engine: &Engine,
    req: &ScanRequest,
    opts: &crate::sources::git::GitOptions,
) -> Result<ScanResult, ScanError> {
    let started = Instant::now();
    let shard = opts.shard.or(req.walk.shard);
    let mut merged = Merge::new(SameSecret::Separate);
    for root in &req.roots {
        let name = crate::sources::fs::display_path(root);
        if shard.is_some_and(|s| !s.owns(&name)) {
            continue;
        }
        let mut one = req.clone();
        one.roots = vec![root.clone()];
        let mut o = opts.clone();
        o.shard = None;
        one.target = Target::History(o);
        one.walk.shard = None;
        match scan_unsharded(engine, &one) {
            Ok(mut r) => {
                r.prefix_paths(&name);
                merged.add(r);
            }
            // One unreadable repository does not stop a sweep: it is reported.
            Err(e) => merged.warn(Warning {
                path: name.clone(),
                message: format!("not scanned: {e}"),
            }),
        }
    }
    Ok(merged.finish(started.elapsed()))
}

fn scan_unsharded(engine: &Engine, req: &ScanRequest) -> Result<ScanResult, ScanError> {
    let started = Instant::now();
    let repo = || match req.roots.as_slice() {
        [one] => Ok(one.clone()),
        other => Err(ScanError::OneRepo(other.len())),
    };
    let commands = Arc::new(CommandChecks::default());
    let mut history_credentials = Vec::new();
    let (matches, mut warnings, stats) = match &req.target {
        Target::Tree => {
            let mut walk = req.walk.clone();
            if req.hygiene {
                walk.file_hook = Some(commands.clone());
            }
            let out = scan_paths(engine, &req.roots, &walk)?;
            (out.matches, out.warnings, out.stats)
        }
        Target::History(opts) => {
            let mut opts = opts.clone();
            if opts.counters.is_none() {
                opts.counters = req.walk.counters.clone();
            }
            let out = scan_history(engine, &repo()?, &opts)?;
            history_credentials = out.credential_files;
            (out.matches, out.warnings, out.stats)
        }
        Target::Staged => {
            let out = scan_staged(engine, &repo()?)?;
            (out.matches, out.warnings, out.stats)
        }
    };
    // Tree walks apply the excludes while walking; git sources apply them to each location,
    // so a secret excluded at one path is still reported at another.
    let excluded = match &req.target {
        Target::Tree => None,
        _ => exclude_matcher(&req.walk.excludes)?,
    };
    let mut collector = Collector::new(req.fingerprinter.clone());
    for (mut m, loc) in matches {
        if !req.inline_allow {
            m.allowed = None;
        }
        if excluded
            .as_ref()
            .is_some_and(|g| g.matched_path_or_any_parents(&loc.path, false).is_ignore())
        {
            continue;
        }
        collector.add(m, loc);
    }
    let (findings, suppressed) = collector.finish(engine.rules(), req.min_confidence);
    let hygiene = if req.hygiene {
        // One root: the walk's file hook saw its `.env` readers and credential files already.
        let seen =
            (matches!(req.target, Target::Tree) && req.roots.len() == 1).then(|| commands.seen());
        let mut h = hygiene(req, seen, &mut warnings)?;
        h.extend(commands.take());
        h.extend(history_credentials.into_iter().filter_map(|(path, g)| {
            history_finding(
                &path,
                CommitRef {
                    id: g.commit,
                    author: g.author,
                    time: g.time,
                    summary: g.summary,
                },
            )
        }));
        finish_hygiene(req, h)?
    } else {
        Vec::new()
    };
    Ok(ScanResult {
        findings,
        suppressed,
        warnings,
        stats,
        hygiene,
        elapsed: started.elapsed(),
    })
}

/// The hygiene checks that fit the target: a work tree's credential files for tree scans,
/// credential files about to be committed for staged scans. (Credential files ever committed
/// come from the history walk itself.)
fn hygiene(
    req: &ScanRequest,
    seen: Option<crate::hygiene::Seen>,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<HygieneFinding>, ScanError> {
    let mut out = Vec::new();
    let reports: Vec<_> = match &req.target {
        Target::Tree => req
            .roots
            .iter()
            .filter(|r| r.is_dir())
            .filter_map(|r| check_work_tree(r, seen.clone()))
            .collect(),
        Target::Staged => req
            .roots
            .first()
            .and_then(|r| check_staged(r))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    for r in reports {
        out.extend(r.findings);
        warnings.extend(r.warnings);
    }
    Ok(out)
}

/// Excludes applied, sorted, duplicates (several roots in one repository) dropped.
fn finish_hygiene(
    req: &ScanRequest,
    mut out: Vec<HygieneFinding>,
) -> Result<Vec<HygieneFinding>, ScanError> {
    if let Some(g) = exclude_matcher(&req.walk.excludes)? {
        out.retain(|h| !g.matched_path_or_any_parents(&h.path, false).is_ignore());
    }
    out.sort();
    out.dedup();
    Ok(out)
}
