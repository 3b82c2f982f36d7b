//! For the blobs that matched: which commits introduced them and hold them, at which paths,
//! whether they are still at HEAD, and which branches reach them.

use super::*;

/// Facts about one commit, kept for attribution.
#[derive(Clone)]
pub(super) struct CommitMeta {
    pub(super) id: Oid,
    pub(super) author: String,
    pub(super) email: String,
    pub(super) time: i64,
    pub(super) summary: String,
}

pub(super) fn meta_of(c: &git2::Commit<'_>) -> CommitMeta {
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
pub(super) fn held_by_commit(
    index: &mut HeldIndex<'_>,
    trees: &FxHashMap<Oid, Oid>,
    c: Oid,
) -> Held {
    match trees.get(&c) {
        Some(t) => index.held(*t),
        None => index.held(Oid::ZERO_SHA1),
    }
}

/// Where each matched blob lives in history, from the walk's `records`: they hold every
/// commit's tree, and for a range also the trees of `outside` commits (the parents the range
/// grew from, and HEAD), given as (commit, tree).
pub(super) fn attribute(
    repo: &Repository,
    commits: &[WalkedCommit],
    matched: &FxHashSet<Oid>,
    records: Records,
    outside: &[(Oid, Oid)],
    whole_graph: bool,
) -> FxHashMap<Oid, Vec<GitProvenance>> {
    let mut trees: FxHashMap<Oid, Oid> = commits.iter().map(|c| (c.id, c.tree)).collect();
    trees.extend(outside.iter().copied());
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
pub(super) struct BranchReach<'r> {
    pub(super) repo: &'r Repository,
    pub(super) tips: Vec<Oid>,
    /// Per target, its chunk and bit.
    pub(super) slot: FxHashMap<Oid, (usize, u64)>,
    /// Per chunk of 64 targets, per branch, the targets that branch reaches (None: ask git).
    pub(super) bits: Vec<Vec<Option<u64>>>,
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

pub(super) fn provenance(
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
