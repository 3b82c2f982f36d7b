//! Git history and staged changes.
//!
//! History: every commit reachable from every ref (branches, tags, remote-tracking refs, stash,
//! notes, a detached HEAD) is walked once, each distinct tree is read once, and each distinct
//! blob is scanned once, in parallel, however many commits hold it. Only blobs that matched are
//! attributed afterwards: the commits that introduced them, every path they appear under,
//! whether they are still at HEAD and which branches reach them. `--all-objects` adds blobs
//! that no ref reaches any more.
//!
//! Staged: the index entries that differ from HEAD, and within modified files only the added
//! lines, so a pre-commit hook blocks what is about to be committed and nothing else.
//!
//! The rooms: `commits` (which commits, and the tree walk in shares), `treewalk` (each tree
//! once, as a change to the previous tree at its path), `records` (those changes, in arenas),
//! `pack` (the pack files read directly,
//! each delta chain once), `packwalk` (the whole history's trees walked from the packs'
//! records), `objects` (git's readers, pipelined, for what the packs do not serve), `blobs`
//! (each blob once: from the packs, the rest in pack order), `attribution` (commits, paths and
//! branches for what matched) and `staged`.
//!
//! `TOKENWARDEN_GIT_READER=git|libgit2` turns the pack reader off and reads everything through
//! that reader (the tests compare all three).
//!
//! Damage is reported, never fatal: a missing tree or blob, a shallow boundary, a submodule or
//! a blob over the size limit each become a [`Warning`] and the scan goes on.

mod attribution;
mod blobs;
mod commits;
mod delta;
mod objects;
mod pack;
mod packwalk;
mod records;
mod staged;
mod treedelta;
mod treewalk;

use attribution::*;
use blobs::*;
use commits::*;
pub use staged::*;

use super::fs::{Locator, ScanCounters, locate_in};
use super::text;
use super::{Stats, Warning};
use crate::engine::{Engine, RawMatch};
use crate::finding::{GitProvenance, Location};
use git2::{Delta, DiffOptions, ObjectType, Oid, Repository, Sort};
use objects::{Key, Kind, Objects, RawObject, other_blobs, pack_order, read_packs};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use treewalk::{Held, HeldIndex, Records, TreeWalker};

/// Options for a history scan.
#[derive(Clone, Debug)]
pub struct GitOptions {
    /// Also scan blobs that no ref reaches (amended, rebased or deleted history).
    pub all_objects: bool,
    /// Only commits reachable from HEAD and not from this revision.
    pub since: Option<String>,
    /// Only commits in this `A..B` range.
    pub range: Option<String>,
    /// Only commits made at or after this Unix time.
    pub since_date: Option<i64>,
    /// Blobs larger than this are skipped with a warning.
    pub max_blob_size: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Live counters for a progress display.
    pub counters: Option<Arc<ScanCounters>>,
    /// Scan only this shard's blobs (by object id): one large history over N runs.
    pub shard: Option<crate::shard::Shard>,
}

impl Default for GitOptions {
    fn default() -> Self {
        GitOptions {
            all_objects: false,
            since: None,
            range: None,
            since_date: None,
            max_blob_size: 256 << 20,
            threads: 0,
            shard: None,
            counters: None,
        }
    }
}

/// Errors that stop a git scan before it starts.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// Not a repository, or it cannot be opened.
    #[error("cannot open git repository {path}: {message}")]
    Open {
        /// The path given.
        path: String,
        /// What libgit2 said.
        message: String,
    },
    /// A revision or range that does not resolve.
    #[error("bad revision `{rev}`: {message}")]
    Rev {
        /// The revision.
        rev: String,
        /// What libgit2 said.
        message: String,
    },
    /// Part of the history cannot be read: a reference or commit points to an object that is
    /// not there or cannot be decoded (a corrupt pack or index). Reporting "no findings" for a
    /// history that was not read would pass a CI job on nothing.
    #[error(
        "the history of {path} cannot be read: {what}; check it with `git fsck` (a partial \
         clone missing only blobs is scanned, with a warning per missing blob)"
    )]
    Unreadable {
        /// The repository.
        path: String,
        /// What could not be read (the first few).
        what: String,
    },
    /// Another libgit2 failure that prevents the scan.
    #[error("git: {0}")]
    Git(String),
}

impl From<git2::Error> for GitError {
    fn from(e: git2::Error) -> Self {
        GitError::Git(e.message().to_string())
    }
}

/// What a git scan produced.
#[derive(Debug, Default)]
pub struct GitOutput {
    /// Every match with its location (commit provenance included).
    pub matches: Vec<(RawMatch, Location)>,
    /// Problems with single objects.
    pub warnings: Vec<Warning>,
    /// Counters, commits and blobs included.
    pub stats: Stats,
    /// Files that hold credentials by name, ever added in the history walked, each with the
    /// commit that first added it there (full-history scans only).
    pub credential_files: Vec<(String, GitProvenance)>,
}

fn open(path: &Path) -> Result<Repository, GitError> {
    discover(path)
}

/// Opens the repository holding `path` — the one way tokenwarden opens a repository it did not
/// create. Its git directory is checked first ([`crate::untrusted::check_git_dir`]): libgit2
/// reads the config, and every file it includes, as it opens, and a FIFO there hangs it.
pub fn discover(path: &Path) -> Result<Repository, GitError> {
    let open_error = |message: String| GitError::Open {
        path: path.display().to_string(),
        message,
    };
    crate::untrusted::check_git_dir(path).map_err(|e| open_error(e.to_string()))?;
    Repository::discover(path).map_err(|e| open_error(e.message().to_string()))
}

fn warn(out: &mut Vec<Warning>, path: impl Into<String>, message: impl Into<String>) {
    out.push(Warning {
        path: path.into(),
        message: message.into(),
    });
}

/// With `TOKENWARDEN_PHASES` set, prints what a phase did to stderr (how many blobs the packs
/// served, for one): what the benchmark and the readers' tests look at.
fn phase_note(what: std::fmt::Arguments) {
    if std::env::var_os("TOKENWARDEN_PHASES").is_some() {
        eprintln!("tokenwarden: history {what}");
    }
}

/// With `TOKENWARDEN_PHASES` set, prints the time since `start` at the end of each phase of
/// a history scan to stderr, for the history benchmark's profiles.
fn phase(start: std::time::Instant, name: &str) {
    if std::env::var_os("TOKENWARDEN_PHASES").is_some() {
        // Resident memory now and at its peak, from the kernel's accounting.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        eprintln!(
            "tokenwarden: history {name} at {:.2} s, rss {}, peak {}",
            start.elapsed().as_secs_f64(),
            field("VmRSS:"),
            field("VmHWM:")
        );
    }
}

fn short(oid: Oid) -> String {
    oid.to_string()[..12].to_string()
}

/// What a report says about the repository it scanned (SARIF `versionControlProvenance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// The `origin` remote's URL, else a `file://` URL of the repository.
    pub uri: String,
    /// HEAD's commit id (absent on an unborn branch).
    pub revision: Option<String>,
    /// HEAD's branch name (absent when detached).
    pub branch: Option<String>,
}

/// Describes the repository at (or above) `path`, or `None` if there is none.
pub fn describe(path: &Path) -> Option<RepoInfo> {
    let repo = discover(path).ok()?;
    let uri = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().ok().map(String::from))
        .unwrap_or_else(|| {
            let dir = repo.workdir().unwrap_or_else(|| repo.path());
            let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            format!("file://{}", abs.display())
        });
    let head = repo.head().ok();
    Some(RepoInfo {
        uri,
        revision: head
            .as_ref()
            .and_then(|h| h.peel_to_commit().ok())
            .map(|c| c.id().to_string()),
        branch: head
            .as_ref()
            .filter(|h| h.is_branch())
            .and_then(|h| h.shorthand().ok().map(String::from)),
    })
}

/// Scans the history of the repository at (or above) `path`.
pub fn scan_history(
    engine: &Engine,
    path: &Path,
    opts: &GitOptions,
) -> Result<GitOutput, GitError> {
    let repo = open(path)?;
    let repo_dir: PathBuf = repo.path().to_path_buf();
    let mut warnings = Vec::new();
    if repo.is_shallow() {
        warn(
            &mut warnings,
            "",
            "shallow clone: commits beyond the shallow boundary are not in this repository and were not scanned (git fetch --unshallow for a full audit)",
        );
    }
    let t0 = std::time::Instant::now();
    let ranged = opts.range.is_some() || opts.since.is_some() || opts.since_date.is_some();
    // The whole history's trees are recorded from the packs while the commits are listed: the
    // one does not need the other, and listing is one thread's work.
    let reads_packs = read_packs(&repo);
    let packed = !ranged && reads_packs;
    // The packs blobs are read from, opened once for the trees and the blobs.
    let packs = if reads_packs {
        pack::Packs::new(&repo_dir)
    } else {
        pack::Packs::none()
    };
    let (commits, mut pack_trees) = std::thread::scope(|s| {
        let early = packed.then(|| s.spawn(|| packwalk::pack_records(packs.get(), opts)));
        let commits = walk_commits(&repo, opts);
        (commits, early.and_then(|h| h.join().ok()))
    });
    let commits = commits?;
    phase(t0, "commits");
    let counters = opts.counters.clone().unwrap_or_default();
    let mut unreachable = FxHashSet::default();
    let mut credential: BTreeSet<(Key, String)> = BTreeSet::new();
    // Commits outside the walked ones whose trees attribution needs: a range's parents, HEAD.
    let mut outside_trees: Vec<(Oid, Oid)> = Vec::new();
    let (walked, mut found, records, blob_count) = if ranged {
        let walked = read_commits(&repo, &commits, &mut warnings);
        // The blobs new in the range: the trees of the commits just outside it (the parents
        // the range grew from) are walked first, and whatever the range's own trees add to
        // them is scanned. The trees are read like the whole history's, through the
        // pipelined readers, and the blobs in pack order; libgit2's diff of each commit
        // against its parent read Spack's 8,500-entry directory twice per commit through a
        // 16 MiB cache (1,000 commits: 18.6 s; the whole history did not end in 300 s).
        let in_range: FxHashSet<Oid> = walked.iter().map(|c| c.id).collect();
        let outside: BTreeSet<Oid> = walked
            .iter()
            .flat_map(|c| c.parents.iter().copied())
            .filter(|p| !in_range.contains(p))
            .collect();
        outside_trees = outside
            .into_iter()
            .filter_map(|p| repo.find_commit(p).ok().map(|c| (p, c.tree_id())))
            .collect();
        let base: Vec<Oid> = outside_trees.iter().map(|(_, t)| *t).collect();
        let mut walker = TreeWalker::new(&repo);
        // Damage outside the range is not this scan's to report.
        walker.walk(&base, &mut Vec::new());
        let known = walker.met.new_blobs.len();
        let known_credentials = walker.met.credential_files.len();
        let roots: Vec<Oid> = walked.iter().map(|c| c.tree).collect();
        walker.walk(&roots, &mut warnings);
        // Credential files the range's trees add (a `.env` a pushed commit adds): attributed
        // below to the range's commits, like a whole-history scan's.
        credential.extend(
            walker
                .met
                .credential_files
                .split_off(known_credentials)
                .into_iter()
                .filter(|(k, _)| opts.shard.is_none_or(|s| s.owns_object(&k.0))),
        );
        if let Some(why) = walker.fallback() {
            warn(&mut warnings, "", why);
        }
        let mut list = walker.met.new_blobs.split_off(known);
        // HEAD's tree, when HEAD is outside the range, for attribution (is a secret still
        // there?); walked after the range's new blobs are taken, which it must not change.
        if let Some(h) = repo.head().ok().and_then(|h| h.peel_to_commit().ok())
            && !in_range.contains(&h.id())
        {
            walker.walk(&[h.tree_id()], &mut Vec::new());
            outside_trees.push((h.id(), h.tree_id()));
        }
        let count = list.len();
        list.retain(|(b, _)| opts.shard.is_none_or(|s| s.owns_object(&b.0)));
        let (found, mut w) = scan_blobs(engine, &repo, &packs, list, opts, &counters);
        warnings.append(&mut w);
        // The walk's records serve attribution too: it walked the range's trees and those
        // of every commit outside it that attribution asks about.
        (walked, found, std::mem::take(&mut walker.records), count)
    } else {
        let mut walked = Vec::with_capacity(commits.len());
        let mut records = Records::default();
        let mut blobs: FxHashSet<Key> = FxHashSet::default();
        let mut list: Vec<(Key, String)> = Vec::new();
        let mut submodules = BTreeSet::new();
        // From the pack files when blobs are read from them, else through git's readers.
        let shares = if packed {
            vec![packwalk::walk_packed(
                &repo,
                packs.get(),
                &commits,
                opts,
                pack_trees.take(),
            )]
        } else {
            walk_history(&repo_dir, &commits, opts)
        };
        for mut share in shares {
            // A blob at a share boundary was met by both shares: the first's path is kept.
            list.extend(
                share
                    .new_blobs
                    .into_iter()
                    .filter(|(b, _)| blobs.insert(*b)),
            );
            records.absorb(share.records);
            walked.append(&mut share.commits);
            submodules.append(&mut share.submodules);
            credential.extend(share.credential_files);
            warnings.append(&mut share.warnings);
        }
        for s in submodules {
            warn(
                &mut warnings,
                s,
                "submodule: its history is in another repository and was not scanned; scan it separately",
            );
        }
        // Blobs are read in pack order when git reads them: delta chains are then resolved
        // from bases just read (Spack-like history: 16 s of reading in walk order, 6.5 s in
        // pack order). libgit2 reads them in the order met, newest commits first.
        if let Some(s) = opts.shard {
            list.retain(|(b, _)| s.owns_object(b.oid().as_bytes()));
            credential.retain(|(k, _)| s.owns_object(k.oid().as_bytes()));
        }
        phase(t0, "walked");
        let (mut found, mut w) = scan_blobs(engine, &repo, &packs, list, opts, &counters);
        phase(t0, "scanned");
        warnings.append(&mut w);
        if opts.all_objects {
            // Blobs no walked tree holds, read like the walked ones: through git, in pack
            // order, when git reads this repository.
            let others: Vec<Key> = match other_blobs(&repo, &blobs) {
                Some(keys) => keys,
                None => {
                    unreachable_blobs(&repo, |oid| blobs.contains(&Key::of(*oid)), &mut warnings)
                        .into_iter()
                        .map(Key::of)
                        .collect()
                }
            };
            let extra: Vec<(Key, String)> = others
                .into_iter()
                .filter(|k| opts.shard.is_none_or(|s| s.owns_object(&k.0)))
                .map(|k| (k, format!("(unreachable)/{}", k.oid())))
                .collect();
            unreachable.extend(extra.iter().map(|(k, _)| k.oid()));
            let (mut f, mut w) = scan_blobs(engine, &repo, &packs, extra, opts, &counters);
            found.append(&mut f);
            warnings.append(&mut w);
        }
        (walked, found, records, blobs.len())
    };
    // Credential files by name are attributed like matched blobs: their adding commits.
    let matched: FxHashSet<Oid> = found
        .iter()
        .map(|(b, _, _)| *b)
        .filter(|b| !unreachable.contains(b))
        .chain(credential.iter().map(|(k, _)| k.oid()))
        .collect();
    let provenance = if matched.is_empty() {
        FxHashMap::default()
    } else {
        attribute(
            &repo,
            &walked,
            &matched,
            records,
            &outside_trees,
            opts.since_date.is_none(),
        )
    };
    phase(t0, "attributed");
    // Findings in discovery order whatever the thread timing.
    found.sort_by(|a, b| (&a.2.path, a.2.byte_offset).cmp(&(&b.2.path, b.2.byte_offset)));
    let mut matches = Vec::new();
    for (blob, m, loc) in found {
        match provenance.get(&blob) {
            Some(provs) if !provs.is_empty() => {
                for p in provs {
                    let mut l = loc.clone();
                    l.path = p.path.clone();
                    l.git = Some(p.clone());
                    matches.push((m.clone(), l));
                }
            }
            _ => {
                let mut l = loc;
                if unreachable.contains(&blob) {
                    l.git = Some(GitProvenance {
                        blob: blob.to_string(),
                        ..GitProvenance::default()
                    });
                }
                matches.push((m, l));
            }
        }
    }
    // Per credential path, the oldest commit that introduced a blob there.
    let mut first_added: BTreeMap<String, GitProvenance> = BTreeMap::new();
    for (k, path) in &credential {
        for p in provenance.get(&k.oid()).into_iter().flatten() {
            if p.introduced && &p.path == path {
                let slot = first_added.entry(path.clone()).or_insert_with(|| p.clone());
                if p.time < slot.time {
                    *slot = p.clone();
                }
            }
        }
    }
    warnings.sort();
    warnings.dedup();
    let mut stats = counters.snapshot();
    stats.commits = commits.len() as u64;
    stats.blobs = (blob_count + unreachable.len()) as u64;
    Ok(GitOutput {
        matches,
        warnings,
        stats,
        credential_files: first_added.into_iter().collect(),
    })
}
