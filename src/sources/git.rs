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
//! Damage is reported, never fatal: a missing tree or blob, a shallow boundary, a submodule or
//! a blob over the size limit each become a [`Warning`] and the scan goes on.

use super::fs::{Locator, ScanCounters, locate_in};
use super::objects::{Key, Kind, Objects, RawObject, other_blobs, pack_order};
use super::text;
use super::treewalk::{Held, HeldIndex, Records, TreeWalker};
use super::{Stats, Warning};
use crate::engine::{Engine, RawMatch};
use crate::finding::{GitProvenance, Location};
use git2::{Delta, DiffOptions, ObjectType, Oid, Repository, Sort};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

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

/// Commits to walk, per the options.
fn walk_commits(repo: &Repository, opts: &GitOptions) -> Result<Vec<Oid>, GitError> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    if let Some(range) = &opts.range {
        walk.push_range(range).map_err(|e| GitError::Rev {
            rev: range.clone(),
            message: e.message().to_string(),
        })?;
    } else if let Some(since) = &opts.since {
        let base = repo.revparse_single(since).map_err(|e| GitError::Rev {
            rev: since.clone(),
            message: e.message().to_string(),
        })?;
        walk.push_head().map_err(|e| GitError::Rev {
            rev: "HEAD".into(),
            message: e.message().to_string(),
        })?;
        walk.hide(base.peel_to_commit()?.id())?;
    } else {
        let mut pushed = 0;
        let mut damage: Vec<String> = Vec::new();
        for r in repo.references()? {
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    damage.push(format!("unreadable reference ({})", e.message()));
                    continue;
                }
            };
            let name = crate::text::printable(&String::from_utf8_lossy(r.name_bytes()));
            match r.peel_to_commit() {
                Ok(c) => {
                    if walk.push(c.id()).is_ok() {
                        pushed += 1;
                    }
                }
                // Tags of trees or blobs exist but are rare; anything else is damage.
                Err(e) if e.code() == git2::ErrorCode::NotFound => {
                    damage.push(format!("reference {name} points to a missing object"));
                }
                Err(_) => {}
            }
        }
        if !damage.is_empty() {
            return Err(unreadable(repo, &damage));
        }
        if let Ok(head) = repo.head()
            && let Ok(c) = head.peel_to_commit()
            && walk.push(c.id()).is_ok()
        {
            pushed += 1;
        }
        if pushed == 0 {
            return Ok(Vec::new());
        }
    }
    let mut commits = Vec::new();
    for oid in walk {
        match oid {
            Ok(oid) => commits.push(oid),
            Err(e) => {
                return Err(unreadable(
                    repo,
                    &[format!("the commit walk failed ({})", e.message())],
                ));
            }
        }
    }
    if let Some(since) = opts.since_date {
        commits.retain(|&c| {
            repo.find_commit(c)
                .map(|c| c.time().seconds() >= since)
                .unwrap_or(true)
        });
    }
    Ok(commits)
}

fn unreadable(repo: &Repository, damage: &[String]) -> GitError {
    let mut what = damage
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if damage.len() > 3 {
        what.push_str(&format!(" (and {} more)", damage.len() - 3));
    }
    GitError::Unreadable {
        path: repo
            .workdir()
            .unwrap_or_else(|| repo.path())
            .display()
            .to_string(),
        what,
    }
}

/// A walked commit: what attribution needs, so no commit is parsed twice.
struct WalkedCommit {
    id: Oid,
    tree: Oid,
    parents: Vec<Oid>,
}

/// Reads each commit's root tree and parents; unreadable commits become warnings.
fn read_commits(
    repo: &Repository,
    commits: &[Oid],
    warnings: &mut Vec<Warning>,
) -> Vec<WalkedCommit> {
    let mut out = Vec::with_capacity(commits.len());
    for &c in commits {
        match repo.find_commit(c) {
            Ok(commit) => out.push(WalkedCommit {
                id: c,
                tree: commit.tree_id(),
                parents: commit.parent_ids().collect(),
            }),
            Err(e) => warn(
                warnings,
                "",
                format!("commit {}: {}", short(c), e.message()),
            ),
        }
    }
    out
}

/// What one worker found walking its share of the history.
#[derive(Default)]
struct Share {
    commits: Vec<WalkedCommit>,
    records: Records,
    new_blobs: Vec<(Key, String)>,
    submodules: BTreeSet<String>,
    credential_files: Vec<(Key, String)>,
    warnings: Vec<Warning>,
}

/// Walks the trees of one contiguous share of the commits with its own repository handle and
/// object reader. Shares meet only at their boundaries, where the trees of the snapshot they
/// share are read by both.
fn walk_share(repo_dir: &Path, commits: &[Oid]) -> Share {
    let mut share = Share::default();
    let repo = match Repository::open(repo_dir) {
        Ok(r) => r,
        Err(e) => {
            warn(
                &mut share.warnings,
                "",
                format!(
                    "cannot reopen the repository in a worker thread: {}",
                    e.message()
                ),
            );
            return share;
        }
    };
    share.commits = read_commits(&repo, commits, &mut share.warnings);
    let mut walker = TreeWalker::new(&repo);
    let roots: Vec<Oid> = share.commits.iter().map(|c| c.tree).collect();
    walker.walk(&roots, &mut share.warnings);
    if let Some(why) = walker.fallback() {
        warn(&mut share.warnings, "", why);
    }
    share.records = std::mem::take(&mut walker.records);
    share.new_blobs = std::mem::take(&mut walker.new_blobs);
    share.submodules = std::mem::take(&mut walker.submodules);
    share.credential_files = std::mem::take(&mut walker.credential_files);
    share
}

/// Runs `work` on the scan's thread pool (`--threads`), or rayon's global one.
fn in_pool<T: Send>(opts: &GitOptions, work: impl FnOnce() -> T + Send) -> T {
    if opts.threads > 0
        && let Ok(pool) = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build()
    {
        return pool.install(work);
    }
    work()
}

/// The whole reachable history's trees, walked in parallel shares of contiguous commits.
fn walk_history(repo_dir: &Path, commits: &[Oid], opts: &GitOptions) -> Vec<Share> {
    in_pool(opts, || {
        // One share per thread, at most four: every extra share re-reads one snapshot at its
        // boundary, and libgit2 reads a pack's objects one at a time (a lock per pack file,
        // shared by every handle), so with it more shares add little.
        let n = rayon::current_num_threads().clamp(1, 4);
        let size = commits.len().div_ceil(n).max(1);
        commits
            .par_chunks(size)
            .map(|chunk| walk_share(repo_dir, chunk))
            .collect()
    })
}

/// Scans the listed blobs in parallel, in contiguous runs (the list is in the order that
/// reads fastest), each run with its own repository handle and object reader.
fn scan_listed(
    engine: &Engine,
    repo_dir: &Path,
    list: &[(Key, String)],
    opts: &GitOptions,
    counters: &ScanCounters,
) -> (Vec<(Oid, RawMatch, Location)>, Vec<Warning>) {
    in_pool(opts, || {
        let runs = rayon::current_num_threads().max(1) * 2;
        let size = list.len().div_ceil(runs).max(1);
        list.par_chunks(size)
            .map(|run| {
                let mut found = Vec::new();
                let mut warnings = Vec::new();
                let repo = match Repository::open(repo_dir) {
                    Ok(r) => r,
                    Err(e) => {
                        warn(
                            &mut warnings,
                            "",
                            format!(
                                "cannot reopen the repository in a worker thread: {}",
                                e.message()
                            ),
                        );
                        return (found, warnings);
                    }
                };
                let mut objects = Objects::open(&repo);
                // Every blob of the run is asked for up front and taken in the same order.
                for (id, _) in run {
                    objects.request(id.oid());
                }
                for (id, path) in run {
                    let answer = match objects.next(opts.max_blob_size) {
                        Some((_, answer)) => answer,
                        None => Err("no answer from the object reader".into()),
                    };
                    let (mut f, mut w) =
                        scan_walked_blob(engine, &repo, answer, id.oid(), path, opts, counters);
                    found.append(&mut f);
                    warnings.append(&mut w);
                }
                if let Some(why) = objects.fallback.clone() {
                    warn(&mut warnings, "", why);
                }
                (found, warnings)
            })
            .reduce(
                || (Vec::new(), Vec::new()),
                |mut a, mut b| {
                    a.0.append(&mut b.0);
                    a.1.append(&mut b.1);
                    a
                },
            )
    })
}

/// Blobs in the object database that no walked tree holds.
fn unreachable_blobs(
    repo: &Repository,
    known: impl Fn(&Oid) -> bool,
    warnings: &mut Vec<Warning>,
) -> Vec<Oid> {
    let mut all = Vec::new();
    let odb = match repo.odb() {
        Ok(o) => o,
        Err(e) => {
            warn(warnings, "", format!("object database: {}", e.message()));
            return all;
        }
    };
    let mut ids = Vec::new();
    if let Err(e) = odb.foreach(|oid| {
        ids.push(*oid);
        true
    }) {
        warn(warnings, "", format!("listing objects: {}", e.message()));
    }
    for oid in ids {
        if known(&oid) {
            continue;
        }
        if let Ok((_, ObjectType::Blob)) = odb.read_header(oid) {
            all.push(oid);
        }
    }
    all.sort();
    all.dedup();
    all
}

/// Scans one blob met by the history walk, given as the object reader answered for it. A blob over
/// the size limit is not read unless a key-file rule wants its head.
fn scan_walked_blob(
    engine: &Engine,
    repo: &Repository,
    answer: Result<RawObject, String>,
    oid: Oid,
    path: &str,
    opts: &GitOptions,
    counters: &ScanCounters,
) -> (Vec<(Oid, RawMatch, Location)>, Vec<Warning>) {
    // An answer that is not scanned: no findings and the one warning saying why.
    let skipped = |message: String| {
        let mut warnings = Vec::new();
        warn(&mut warnings, path, message);
        (Vec::new(), warnings)
    };
    match answer {
        Ok(RawObject { kind, .. }) if kind != Kind::Blob => {
            skipped(format!("object {} is not a blob; not scanned", short(oid)))
        }
        Ok(RawObject {
            data: Some(data), ..
        }) => scan_blob_content(engine, oid, path, &data, opts, counters),
        Ok(RawObject { size, .. }) if engine.path_matches(path, size).is_empty() => {
            counters.too_large_inc();
            skipped(format!(
                "blob {}: {size} bytes is over the blob size limit; not scanned",
                short(oid)
            ))
        }
        Ok(_) => scan_one_blob(engine, Some(repo), oid, path, opts, counters),
        Err(e) => skipped(format!("blob {} missing or corrupt: {e}", short(oid))),
    }
}

/// Scans one blob: file rules by path and size, then content unless binary or too large.
fn scan_one_blob(
    engine: &Engine,
    repo: Option<&Repository>,
    oid: Oid,
    path: &str,
    opts: &GitOptions,
    counters: &ScanCounters,
) -> (Vec<(Oid, RawMatch, Location)>, Vec<Warning>) {
    let mut warnings = Vec::new();
    let Some(repo) = repo else {
        warn(
            &mut warnings,
            path,
            "cannot reopen the repository in a worker thread",
        );
        return (Vec::new(), warnings);
    };
    match repo.find_blob(oid) {
        Ok(blob) => scan_blob_content(engine, oid, path, blob.content(), opts, counters),
        Err(e) => {
            warn(
                &mut warnings,
                path,
                format!("blob {} missing or corrupt: {}", short(oid), e.message()),
            );
            (Vec::new(), warnings)
        }
    }
}

/// Scans one blob's content: file rules by path and size, then the content unless it is
/// binary or over the size limit.
fn scan_blob_content(
    engine: &Engine,
    oid: Oid,
    path: &str,
    content: &[u8],
    opts: &GitOptions,
    counters: &ScanCounters,
) -> (Vec<(Oid, RawMatch, Location)>, Vec<Warning>) {
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    let size = content.len() as u64;
    for rule in engine.path_matches(path, size) {
        let m = engine.file_match(rule, content);
        let loc = locate_in(path, &[], &m);
        found.push((oid, m, loc));
    }
    if size > opts.max_blob_size {
        counters.too_large_inc();
        warn(
            &mut warnings,
            path,
            format!(
                "blob {}: {size} bytes is over the blob size limit; not scanned",
                short(oid)
            ),
        );
        return (found, warnings);
    }
    let Some(content) = text::scannable(content) else {
        counters.binary_inc();
        return (found, warnings);
    };
    let content = &content[..];
    counters.files.fetch_add(1, Ordering::Relaxed);
    counters.bytes.fetch_add(size, Ordering::Relaxed);
    let mut matches = engine.scan(content, Some(path));
    matches.sort_by_key(|m| m.start);
    let mut at = Locator::whole(path, content);
    for m in matches {
        let loc = at.locate(&m);
        found.push((oid, m, loc));
    }
    counters
        .matches
        .fetch_add(found.len() as u64, Ordering::Relaxed);
    (found, warnings)
}

/// Facts about one commit, kept for attribution.
#[derive(Clone)]
struct CommitMeta {
    id: Oid,
    author: String,
    email: String,
    time: i64,
    summary: String,
}

fn meta_of(c: &git2::Commit<'_>) -> CommitMeta {
    let author = c.author();
    CommitMeta {
        id: c.id(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        time: c.time().seconds(),
        summary: c
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
    }
}

/// The matched blobs commit `c`'s tree holds (nothing for a commit not walked).
fn held_by_commit(index: &mut HeldIndex<'_>, trees: &FxHashMap<Oid, Oid>, c: Oid) -> Held {
    match trees.get(&c) {
        Some(t) => index.held(*t),
        None => index.held(Oid::ZERO_SHA1),
    }
}

/// Where each matched blob lives in history. `records` are the history walk's, when it
/// walked every commit's tree; without them (ranges) the commits' trees, their parents' and
/// HEAD's are walked here.
fn attribute(
    repo: &Repository,
    commits: &[WalkedCommit],
    matched: &FxHashSet<Oid>,
    records: Option<Records>,
    whole_graph: bool,
) -> FxHashMap<Oid, Vec<GitProvenance>> {
    let mut trees: FxHashMap<Oid, Oid> = commits.iter().map(|c| (c.id, c.tree)).collect();
    let records = match records {
        Some(r) => r,
        None => {
            let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
            let mut order: Vec<Oid> = commits.iter().map(|c| c.tree).collect();
            let outside: BTreeSet<Oid> = commits
                .iter()
                .flat_map(|c| c.parents.iter().copied())
                .chain(head.map(|h| h.id()))
                .filter(|c| !trees.contains_key(c))
                .collect();
            for c in outside {
                if let Ok(commit) = repo.find_commit(c) {
                    trees.insert(c, commit.tree_id());
                    order.push(commit.tree_id());
                }
            }
            let mut walker = TreeWalker::new(repo);
            // Damage was reported by the scan already.
            let mut ignored = Vec::new();
            walker.walk(&order, &mut ignored);
            std::mem::take(&mut walker.records)
        }
    };
    let matched_keys: FxHashSet<Key> = matched.iter().map(|o| Key::of(*o)).collect();
    let mut index = HeldIndex::new(&records, &matched_keys);
    // Per blob: introducing (commit, path) pairs, and per path the oldest commit holding it.
    let mut introduced: FxHashMap<Oid, Vec<(Oid, String)>> = FxHashMap::default();
    let mut by_path: FxHashMap<(Oid, String), (i64, Oid)> = FxHashMap::default();
    let mut holders: FxHashMap<Oid, u64> = FxHashMap::default();
    let mut metas: FxHashMap<Oid, CommitMeta> = FxHashMap::default();
    for wc in commits {
        let c = wc.id;
        let here = index.held(wc.tree);
        if here.is_empty() {
            continue;
        }
        let Ok(commit) = repo.find_commit(c) else {
            continue;
        };
        let mut in_parents: FxHashSet<Oid> = FxHashSet::default();
        for &p in &wc.parents {
            in_parents.extend(
                held_by_commit(&mut index, &trees, p)
                    .iter()
                    .map(|(b, _)| *b),
            );
        }
        let m = meta_of(&commit);
        let mut counted = FxHashSet::default();
        for (blob, path) in here.iter() {
            if counted.insert(*blob) {
                *holders.entry(*blob).or_default() += 1;
            }
            if !in_parents.contains(blob) {
                introduced.entry(*blob).or_default().push((c, path.clone()));
            }
            let slot = by_path.entry((*blob, path.clone())).or_insert((m.time, c));
            if m.time < slot.0 {
                *slot = (m.time, c);
            }
        }
        metas.insert(c, m);
    }
    let head_blobs: FxHashSet<Oid> = match repo.head().ok().and_then(|h| h.peel_to_commit().ok()) {
        Some(h) => held_by_commit(&mut index, &trees, h.id())
            .iter()
            .map(|(b, _)| *b)
            .collect(),
        None => FxHashSet::default(),
    };
    // (name, tip, remote-tracking): `origin/x` and a local `feature/x` look alike by name.
    let branches: Vec<(String, Oid, bool)> = repo
        .branches(None)
        .map(|bs| {
            bs.flatten()
                .filter_map(|(b, kind)| {
                    let name = b.name().ok().flatten()?.to_string();
                    Some((
                        name,
                        b.get().peel_to_commit().ok()?.id(),
                        kind == git2::BranchType::Remote,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    // Every commit a provenance will name, so that which branches reach them is worked out
    // in one pass over the walked graph rather than one ancestry walk per branch and commit.
    let targets: Vec<Oid> = {
        let mut t: FxHashSet<Oid> = FxHashSet::default();
        for blob in matched {
            t.extend(introduced.get(blob).into_iter().flatten().map(|(c, _)| *c));
        }
        t.extend(by_path.values().map(|(_, c)| *c));
        t.into_iter().collect()
    };
    let reach = BranchReach::new(repo, commits, &branches, &targets, whole_graph);
    let on_branches = |c: Oid| -> (Vec<String>, bool) {
        let reaching: Vec<&(String, Oid, bool)> = branches
            .iter()
            .enumerate()
            .filter(|(i, _)| reach.reaches(*i, c))
            .map(|(_, b)| b)
            .collect();
        (
            reaching.iter().map(|(n, _, _)| n.clone()).collect(),
            reaching.iter().any(|(_, _, remote)| *remote),
        )
    };
    let mut out: FxHashMap<Oid, Vec<GitProvenance>> = FxHashMap::default();
    for &blob in matched {
        let mut provs = Vec::new();
        let mut covered_paths = FxHashSet::default();
        let intro = introduced.remove(&blob).unwrap_or_default();
        for (c, path) in &intro {
            covered_paths.insert(path.clone());
            if let Some(m) = metas.get(c) {
                provs.push(provenance(
                    m,
                    path,
                    true,
                    blob,
                    &head_blobs,
                    holders.get(&blob),
                    on_branches(*c),
                ));
            }
        }
        // Paths it moved or was copied to, each with the oldest commit holding it there.
        let mut others: Vec<(i64, Oid, &String)> = by_path
            .iter()
            .filter(|((b, p), _)| *b == blob && !covered_paths.contains(p))
            .map(|((_, p), (t, c))| (*t, *c, p))
            .collect();
        others.sort();
        for (_, c, path) in others {
            if let Some(m) = metas.get(&c) {
                provs.push(provenance(
                    m,
                    path,
                    false,
                    blob,
                    &head_blobs,
                    holders.get(&blob),
                    on_branches(c),
                ));
            }
        }
        out.insert(blob, provs);
    }
    out
}

/// Which branch tips reach which target commits, from the walked commit graph: one pass over
/// the commits (parents before children) per 64 targets, carrying a bit per target. On
/// Spack's 37k-commit history, asking libgit2 `graph_descendant_of` per branch and commit
/// instead took 7 s for a single finding (58 refs). A tip the walk did not meet (a range
/// scan's branch beyond the range) is asked of libgit2, and so is every tip when commits were
/// dropped from the walk by date (a path through a dropped commit would be missed).
struct BranchReach<'r> {
    repo: &'r Repository,
    tips: Vec<Oid>,
    /// Per target, its chunk and bit.
    slot: FxHashMap<Oid, (usize, u64)>,
    /// Per chunk of 64 targets, per branch, the targets that branch reaches (None: ask git).
    bits: Vec<Vec<Option<u64>>>,
}

impl<'r> BranchReach<'r> {
    fn new(
        repo: &'r Repository,
        commits: &[WalkedCommit],
        branches: &[(String, Oid, bool)],
        targets: &[Oid],
        whole_graph: bool,
    ) -> Self {
        let mut index: FxHashMap<Oid, usize> = if whole_graph {
            commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect()
        } else {
            FxHashMap::default()
        };
        let mut parents: Vec<Vec<usize>> = commits
            .iter()
            .map(|c| {
                c.parents
                    .iter()
                    .filter_map(|p| index.get(p).copied())
                    .collect()
            })
            .collect();
        // The pass below needs every parent after its children; should the walk ever list
        // them otherwise, every question goes to libgit2 instead of being answered wrongly.
        if parents
            .iter()
            .enumerate()
            .any(|(i, ps)| ps.iter().any(|&p| p <= i))
        {
            index.clear();
            parents.iter_mut().for_each(Vec::clear);
        }
        let mut slot = FxHashMap::default();
        let mut bits = Vec::new();
        for (chunk, group) in targets.chunks(64).enumerate() {
            let mut carried = vec![0u64; commits.len()];
            for (b, t) in group.iter().enumerate() {
                slot.insert(*t, (chunk, 1u64 << b));
                if let Some(&i) = index.get(t) {
                    carried[i] |= 1u64 << b;
                }
            }
            // The walk lists children before parents (topological order), so going
            // backwards every parent is done before its children.
            for i in (0..commits.len()).rev() {
                let from_parents = parents[i].iter().fold(0, |acc, &p| acc | carried[p]);
                carried[i] |= from_parents;
            }
            bits.push(
                branches
                    .iter()
                    .map(|(_, tip, _)| index.get(tip).map(|&i| carried[i]))
                    .collect(),
            );
        }
        BranchReach {
            repo,
            tips: branches.iter().map(|(_, tip, _)| *tip).collect(),
            slot,
            bits,
        }
    }

    /// Whether branch `branch` (an index into the branches given) reaches commit `c`.
    fn reaches(&self, branch: usize, c: Oid) -> bool {
        let tip = self.tips[branch];
        if tip == c {
            return true;
        }
        match self.slot.get(&c) {
            Some(&(chunk, bit)) => match self.bits[chunk][branch] {
                Some(reached) => reached & bit != 0,
                None => self.repo.graph_descendant_of(tip, c).unwrap_or(false),
            },
            None => self.repo.graph_descendant_of(tip, c).unwrap_or(false),
        }
    }
}

fn provenance(
    m: &CommitMeta,
    path: &str,
    introduced: bool,
    blob: Oid,
    head: &FxHashSet<Oid>,
    holders: Option<&u64>,
    (branches, pushed): (Vec<String>, bool),
) -> GitProvenance {
    GitProvenance {
        commit: m.id.to_string(),
        path: path.to_string(),
        author: m.author.clone(),
        email: m.email.clone(),
        time: m.time,
        summary: m.summary.clone(),
        introduced,
        blob: blob.to_string(),
        at_head: head.contains(&blob),
        commits_holding: holders.copied().unwrap_or(0),
        branches,
        pushed,
    }
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
    let commits = walk_commits(&repo, opts)?;
    phase(t0, "commits");
    let ranged = opts.range.is_some() || opts.since.is_some() || opts.since_date.is_some();
    let counters = opts.counters.clone().unwrap_or_default();
    let mut unreachable = FxHashSet::default();
    let mut credential: BTreeSet<(Key, String)> = BTreeSet::new();
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
        let base: Vec<Oid> = outside
            .into_iter()
            .filter_map(|p| repo.find_commit(p).ok().map(|c| c.tree_id()))
            .collect();
        let mut walker = TreeWalker::new(&repo);
        // Damage outside the range is not this scan's to report.
        walker.walk(&base, &mut Vec::new());
        let known = walker.new_blobs.len();
        let roots: Vec<Oid> = walked.iter().map(|c| c.tree).collect();
        walker.walk(&roots, &mut warnings);
        if let Some(why) = walker.fallback() {
            warn(&mut warnings, "", why);
        }
        let mut list = walker.new_blobs.split_off(known);
        let count = list.len();
        list.retain(|(b, _)| opts.shard.is_none_or(|s| s.owns_object(&b.0)));
        let new: FxHashSet<Key> = list.iter().map(|(b, _)| *b).collect();
        if let Some(rank) = pack_order(&repo, &new) {
            list.sort_by_key(|(b, _)| rank.get(b).copied().unwrap_or(u32::MAX));
        }
        let (found, mut w) = scan_listed(engine, &repo_dir, &list, opts, &counters);
        warnings.append(&mut w);
        (walked, found, None, count)
    } else {
        let mut walked = Vec::with_capacity(commits.len());
        let mut records = Records::default();
        let mut blobs: FxHashSet<Key> = FxHashSet::default();
        let mut list: Vec<(Key, String)> = Vec::new();
        let mut submodules = BTreeSet::new();
        for mut share in walk_history(&repo_dir, &commits, opts) {
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
        if let Some(rank) = pack_order(&repo, &blobs) {
            list.sort_by_key(|(b, _)| rank.get(b).copied().unwrap_or(u32::MAX));
        }
        phase(t0, "ordered");
        let (mut found, mut w) = scan_listed(engine, &repo_dir, &list, opts, &counters);
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
            let (mut f, mut w) = scan_listed(engine, &repo_dir, &extra, opts, &counters);
            found.append(&mut f);
            warnings.append(&mut w);
        }
        (walked, found, Some(records), blobs.len())
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
        attribute(&repo, &walked, &matched, records, opts.since_date.is_none())
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

/// The paths staged relative to HEAD (added, modified, type-changed), from
/// `git diff --cached`, which skips unchanged directories through the index's cache-tree
/// (libgit2's tree-to-index diff walks every entry: ~40 ms on a 17k-file tree). `None` when
/// git cannot be run, and the caller falls back to libgit2. Nothing from the repository can
/// make this run other programs: external diff, textconv and fsmonitor are off.
fn staged_paths_from_git(repo: &Repository) -> Option<Vec<PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let dir = repo.workdir()?;
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .env("GIT_DIR", repo.path())
        .args(["-c", "core.fsmonitor=false", "-c", "core.quotepath=off"])
        .args([
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            "--no-textconv",
        ])
        .arg("--diff-filter=AMT")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        out.stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(p)))
            .collect(),
    )
}

/// For each staged path: its staged blob, and the lines it adds (all of them for a new file).
fn staged_files_for(
    repo: &Repository,
    index: &git2::Index,
    head: Option<&git2::Tree<'_>>,
    paths: &[PathBuf],
) -> HashMap<String, StagedFile> {
    let mut files = HashMap::new();
    for p in paths {
        let Some(entry) = index.get_path(p, 0) else {
            continue;
        };
        if entry.mode == 0o160000 {
            continue; // a submodule's commit, not content
        }
        let name = p.to_string_lossy().into_owned();
        let old = head
            .and_then(|t| t.get_path(p).ok())
            .filter(|e| e.kind() == Some(ObjectType::Blob))
            .map(|e| e.id());
        let mut added = HashSet::new();
        let whole = match old.and_then(|o| repo.find_blob(o).ok()) {
            None => true,
            Some(old_blob) => match repo.find_blob(entry.id) {
                Ok(new_blob) => {
                    let mut opts = DiffOptions::new();
                    opts.context_lines(0);
                    let diffed = repo.diff_blobs(
                        Some(&old_blob),
                        None,
                        Some(&new_blob),
                        None,
                        Some(&mut opts),
                        None,
                        None,
                        None,
                        Some(&mut |_, _, line| {
                            if line.origin() == '+'
                                && let Some(n) = line.new_lineno()
                            {
                                added.insert(n);
                            }
                            true
                        }),
                    );
                    diffed.is_err() // if the diff fails, treat the whole file as new
                }
                Err(_) => true,
            },
        };
        files.insert(name, (entry.id, whole, added));
    }
    files
}

/// The same as [`staged_files_for`] over libgit2's own tree-to-index diff (no git binary).
fn staged_files_libgit2(
    repo: &Repository,
    index: &git2::Index,
    head_tree: Option<&git2::Tree<'_>>,
) -> Result<HashMap<String, StagedFile>, GitError> {
    let mut dopts = DiffOptions::new();
    dopts.context_lines(0);
    let diff = repo.diff_tree_to_index(head_tree, Some(index), Some(&mut dopts))?;
    // path → (blob, whole file?, added lines)
    // Both diff callbacks fill it, so it lives in a RefCell.
    let files: std::cell::RefCell<HashMap<String, StagedFile>> = Default::default();
    let path_of = |d: &git2::DiffDelta<'_>| {
        d.new_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    diff.foreach(
        &mut |d, _| {
            let whole = matches!(d.status(), Delta::Added | Delta::Copied | Delta::Typechange);
            if whole || matches!(d.status(), Delta::Modified | Delta::Renamed) {
                files
                    .borrow_mut()
                    .insert(path_of(&d), (d.new_file().id(), whole, HashSet::new()));
            }
            true
        },
        None,
        None,
        Some(&mut |d, _, line| {
            if line.origin() == '+'
                && let (Some(n), Some(f)) =
                    (line.new_lineno(), files.borrow_mut().get_mut(&path_of(&d)))
            {
                f.2.insert(n);
            }
            true
        }),
    )?;
    Ok(files.into_inner())
}

/// A staged file: its blob, whether all of it is new, and the line numbers it adds.
type StagedFile = (Oid, bool, HashSet<u32>);

/// Scans what is staged for the next commit in the repository at (or above) `path`: files
/// added to the index whole, and only the added lines of modified files.
pub fn scan_staged(engine: &Engine, path: &Path) -> Result<GitOutput, GitError> {
    let repo = open(path)?;
    let index = repo.index()?;
    let head_tree = match repo.head() {
        Ok(h) => Some(h.peel_to_tree()?),
        Err(_) => None, // unborn branch: everything in the index is new
    };
    let files = match staged_paths_from_git(&repo) {
        Some(paths) => staged_files_for(&repo, &index, head_tree.as_ref(), &paths),
        None => staged_files_libgit2(&repo, &index, head_tree.as_ref())?,
    };
    let mut out = GitOutput::default();
    let counters = ScanCounters::default();
    let mut paths: Vec<_> = files.into_iter().collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, (oid, whole, added)) in paths {
        let blob = match repo.find_blob(oid) {
            Ok(b) => b,
            Err(e) => {
                warn(
                    &mut out.warnings,
                    p,
                    format!("staged blob unreadable: {}", e.message()),
                );
                continue;
            }
        };
        let content = blob.content();
        for rule in engine.path_matches(&p, content.len() as u64) {
            let m = engine.file_match(rule, content);
            let loc = locate_in(&p, &[], &m);
            out.matches.push((m, loc));
        }
        let Some(content) = text::scannable(content) else {
            counters.binary_inc();
            continue;
        };
        let content = &content[..];
        counters.files.fetch_add(1, Ordering::Relaxed);
        counters
            .bytes
            .fetch_add(content.len() as u64, Ordering::Relaxed);
        let mut matches = engine.scan(content, Some(&p));
        matches.sort_by_key(|m| m.start);
        let mut at = Locator::whole(&p, content);
        for m in matches {
            let loc = at.locate(&m);
            if whole || added.contains(&(loc.line as u32)) {
                out.matches.push((m, loc));
            }
        }
    }
    out.stats = counters.snapshot();
    Ok(out)
}
