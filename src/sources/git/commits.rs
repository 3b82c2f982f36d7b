//! Which commits a history scan covers, and the walk of their trees, split into shares that
//! run on the pool's threads.

use super::*;

/// Commits to walk, per the options.
pub(super) fn walk_commits(repo: &Repository, opts: &GitOptions) -> Result<Vec<Oid>, GitError> {
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

pub(super) fn unreadable(repo: &Repository, damage: &[String]) -> GitError {
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
pub(super) struct WalkedCommit {
    pub(super) id: Oid,
    pub(super) tree: Oid,
    pub(super) parents: Vec<Oid>,
}

/// Reads each commit's root tree and parents; unreadable commits become warnings.
pub(super) fn read_commits(
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
pub(super) struct Share {
    pub(super) commits: Vec<WalkedCommit>,
    pub(super) records: Records,
    pub(super) new_blobs: Vec<(Key, String)>,
    pub(super) submodules: BTreeSet<String>,
    pub(super) credential_files: Vec<(Key, String)>,
    pub(super) warnings: Vec<Warning>,
}

/// Walks the trees of one contiguous share of the commits with its own repository handle and
/// object reader. Shares meet only at their boundaries, where the trees of the snapshot they
/// share are read by both.
pub(super) fn walk_share(repo_dir: &Path, commits: &[Oid]) -> Share {
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
    share.new_blobs = std::mem::take(&mut walker.met.new_blobs);
    share.submodules = std::mem::take(&mut walker.met.submodules);
    share.credential_files = std::mem::take(&mut walker.met.credential_files);
    share
}

/// Runs `work` on the scan's thread pool (`--threads`), or rayon's global one.
pub(super) fn in_pool<T: Send>(opts: &GitOptions, work: impl FnOnce() -> T + Send) -> T {
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
pub(super) fn walk_history(repo_dir: &Path, commits: &[Oid], opts: &GitOptions) -> Vec<Share> {
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
