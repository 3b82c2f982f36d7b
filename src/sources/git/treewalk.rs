//! Walking every tree of a history once, and knowing afterwards which matched blobs each
//! tree holds without reading any tree again.
//!
//! The walk records each new tree as a change to the tree last walked at the same path
//! (entries removed, entries added), which on a real history is a handful of entries: a
//! commit that edits one file of an 8500-entry directory records two. It also lists every
//! blob the first time it is met, with that path, so that blobs can be read and scanned
//! afterwards in whatever order reads fastest (pack order), not in the order the walk meets
//! them. Once the matched blobs are known, [`HeldIndex`] replays the records to tell which
//! matched blobs any walked tree holds, and at which paths.
//!
//! The walk's queue lives on the heap: a hostile repository's nesting depth cannot overflow the
//! thread's stack, and a tree that (in a corrupt object database) contains itself is read once.
//! A tree's entries shared with the previous tree at its path, at the start and at the end,
//! are skipped by comparing bytes, so an edit to one entry of a wide directory parses only
//! the entries around it.

use super::objects::{Key, Kind, Objects, RawObject, TreeEntry, tree_entry};
pub use super::records::{Added, Name, Names, Records, TreeRec};
use crate::credential_files::classify;
use crate::sources::Warning;
use git2::Oid;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// The matched blobs a tree holds (recursively), with their paths inside it, by path.
pub type Held = Arc<Vec<(Oid, String)>>;

/// The earlier version a tree is compared with, and where its next entry starts.
#[derive(Default)]
struct Prev<'a> {
    data: Option<&'a [u8]>,
    pos: usize,
    /// Where the part of it still to be matched ends (the rest is a common suffix).
    end: usize,
}

/// A tree kept as the previous version at its path: its id, content, and where each of its
/// entries starts (with the content's end last), so that the next version at that path can
/// skip the entries the two share at the start and the end without parsing them.
struct Last {
    id: Key,
    data: Vec<u8>,
    starts: Vec<u32>,
}

/// The length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    for step in [4096, 64] {
        while i + step <= n && a[i..i + step] == b[i..i + step] {
            i += step;
        }
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// The length of the longest common suffix of `a` and `b`.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    for step in [4096, 64] {
        while i + step <= n && a[n - i - step..n - i] == b[n - i - step..n - i] {
            i += step;
        }
    }
    while i < n && a[n - i - 1] == b[n - i - 1] {
        i += 1;
    }
    i
}

impl Prev<'_> {
    /// True if `raw` (the encoded `entry`) is also an entry of the previous tree; entries of
    /// the previous tree passed over on the way are recorded as removed. Both trees are in
    /// git's order, so one merge pass serves the whole tree; in a corrupt tree the pass loses
    /// step, which costs lookups but not correctness: an entry is only ever skipped when it is
    /// byte-identical to a previous entry that is kept.
    fn unchanged(
        &mut self,
        raw: &[u8],
        entry: &TreeEntry<'_>,
        removed: &mut Vec<Name>,
        names: &mut Names,
    ) -> bool {
        let Some(prev) = self.data else {
            return false;
        };
        while self.pos < self.end
            && let Some(Ok((p, next))) = tree_entry(prev, self.pos)
        {
            if &prev[self.pos..next] == raw {
                self.pos = next;
                return true;
            }
            let order = tree_order(&p, entry);
            if order.is_gt() {
                // New in this tree: the previous entry may still come.
                return false;
            }
            // Gone from this tree (less), or changed in it (equal).
            removed.push(names.number(p.name));
            self.pos = next;
            if order.is_eq() {
                return false;
            }
        }
        false
    }

    /// Records the previous tree's entries that were never reached as removed.
    fn finish(&mut self, removed: &mut Vec<Name>, names: &mut Names) {
        if let Some(prev) = self.data {
            while self.pos < self.end
                && let Some(Ok((p, next))) = tree_entry(prev, self.pos)
            {
                removed.push(names.number(p.name));
                self.pos = next;
            }
        }
    }
}

/// The entry of raw tree `data` at `pos` and where the next starts; `None` at the end, or at
/// a malformed entry, which sets `corrupt` (the rest of the tree cannot be trusted).
pub(super) fn next_entry<'d>(
    data: &'d [u8],
    pos: usize,
    corrupt: &mut bool,
) -> Option<(TreeEntry<'d>, usize)> {
    match tree_entry(data, pos)? {
        Ok(e) => Some(e),
        Err(()) => {
            *corrupt = true;
            None
        }
    }
}

/// Git's order of tree entries: by name, a tree's name as if it ended in `/`.
pub(super) fn tree_order(a: &TreeEntry<'_>, b: &TreeEntry<'_>) -> std::cmp::Ordering {
    let slash =
        |e: &TreeEntry<'_>| -> &'static [u8] { if e.kind == Kind::Tree { b"/" } else { b"" } };
    a.name
        .iter()
        .chain(slash(a))
        .cmp(b.name.iter().chain(slash(b)))
}

/// What a walk has met: every tree and blob, each blob's first path, the submodules and the
/// credential files. The walk from git's readers and the walk of a pack's records share it.
#[derive(Default)]
pub struct Met {
    /// Every tree met.
    pub seen: FxHashSet<Key>,
    /// Every blob met.
    pub blobs: FxHashSet<Key>,
    /// Blobs in the order first met, with the path they were met at.
    pub new_blobs: Vec<(Key, String)>,
    /// Paths of submodule entries.
    pub submodules: BTreeSet<String>,
    /// Blobs at paths that name credential files (`.env`, `munge.key` …), with the path.
    pub credential_files: Vec<(Key, String)>,
}

impl Met {
    /// Whether every blob in the tree at `path` may be a credential file, whatever its name
    /// (a `cray/tokens` directory's files are tokens).
    pub fn credential_dir(path: &str) -> bool {
        path.ends_with("cray/tokens")
    }

    /// Whether blob entry `a` of the tree at `path` may be a credential file: by its name
    /// ([`Names::may_be_credential`]) or by its directory.
    pub fn may_be_credential(path: &str, a: &Added, names: &Names) -> bool {
        names.may_be_credential(a.name) || Self::credential_dir(path)
    }

    /// Lists blob entry `a` of the tree at `path` when that makes it a credential file.
    pub fn credential(&mut self, path: &str, a: &Added, names: &Names) {
        if Self::may_be_credential(path, a, names) {
            let at = join(path, &String::from_utf8_lossy(names.name(a.name)));
            if classify(&at, None).is_some() {
                self.credential_files.push((a.id, at));
            }
        }
    }

    /// Whether meeting entry `a` of the tree at `path` would change anything: false for a
    /// blob or tree met already, unless the blob's name may make a credential file there.
    pub fn would_change(&self, path: &str, a: &Added, names: &Names) -> bool {
        match a.kind {
            Kind::Blob => !self.blobs.contains(&a.id) || Self::may_be_credential(path, a, names),
            Kind::Tree => !self.seen.contains(&a.id),
            Kind::Commit => true,
            Kind::Other => false,
        }
    }

    /// Meets entry `a` of the tree at `path`, new in that tree. Returns the subtree's path
    /// when it is a tree not met before, which the caller then walks.
    pub fn meet(&mut self, path: &str, a: &Added, names: &Names) -> Option<String> {
        let name = || String::from_utf8_lossy(names.name(a.name));
        match a.kind {
            Kind::Blob => {
                if self.blobs.insert(a.id) {
                    self.new_blobs.push((a.id, join(path, &name())));
                }
                self.credential(path, a, names);
                None
            }
            Kind::Tree => self.seen.insert(a.id).then(|| join(path, &name())),
            Kind::Commit => {
                self.submodules.insert(join(path, &name()));
                None
            }
            Kind::Other => None,
        }
    }
}

/// A tree compared with an earlier version of it: the entries gone or changed, the entries
/// new or changed, and where each of its own entries starts.
pub struct Compared {
    pub removed: Vec<Name>,
    pub added: Vec<Added>,
    /// Entry starts, with the tree's end last (empty for a tree of 4 GiB or more, which is
    /// then parsed whole when compared with).
    pub starts: Vec<u32>,
    /// The tree is malformed from some entry on; the entries before it are recorded.
    pub corrupt: bool,
}

/// Compares raw tree `data` with `prev`: an earlier version's bytes and entry starts (the
/// tree last walked at the same path, or the base a pack stores it as a delta of). The
/// entries the two share at the start and the end are byte-identical, so unchanged: only the
/// part between is parsed and matched (an 8500-entry directory that one commit edits is two
/// entries, not 8500).
pub fn compare(prev: Option<(&[u8], &[u32])>, data: &[u8], names: &mut Names) -> Compared {
    let (mut pos, mut starts, prev_start, suffix) = match prev {
        Some((pdata, pstarts)) => {
            let shared = common_prefix(pdata, data);
            let whole = pstarts.partition_point(|&s| s as usize <= shared);
            let start = whole
                .checked_sub(1)
                .and_then(|i| pstarts.get(i))
                .map_or(0, |&s| s as usize);
            let tail = common_suffix(&pdata[start..], &data[start..]);
            let from = pdata.len() - tail;
            let first = pstarts.partition_point(|&s| (s as usize) < from);
            let head = pstarts[..whole.saturating_sub(1)].to_vec();
            (start, head, start, Some(first))
        }
        None => (0, Vec::new(), 0, None),
    };
    let (prev_data, prev_starts): (Option<&[u8]>, &[u32]) = match prev {
        Some((d, s)) => (Some(d), s),
        None => (None, &[]),
    };
    let prev_len = prev_data.map_or(0, <[u8]>::len);
    // The previous tree's entry starts that begin the common suffix, in order; the parse of
    // this tree stops at the first one it lands on.
    let mut suffix = suffix.unwrap_or(prev_starts.len());
    let shift = |s: u32| (s as usize + data.len()).checked_sub(prev_len);
    let mut prev = Prev {
        data: prev_data,
        pos: prev_start,
        end: prev_len,
    };
    let mut removed: Vec<Name> = Vec::new();
    let mut added: Vec<Added> = Vec::new();
    let mut tail_from = None;
    let mut corrupt = false;
    loop {
        while suffix < prev_starts.len() && shift(prev_starts[suffix]).is_some_and(|s| s < pos) {
            suffix += 1;
        }
        if suffix < prev_starts.len() && shift(prev_starts[suffix]) == Some(pos) {
            let at = prev_starts[suffix] as usize;
            if prev.pos <= at {
                // The rest is the previous tree's, entry for entry.
                prev.end = at;
                tail_from = Some(suffix);
                break;
            }
            // The match ran past the common suffix, which only an unsorted (corrupt) tree
            // allows: it recorded some of those entries as removed, so the rest is parsed and
            // matched as usual and re-adds them.
            suffix = prev_starts.len();
        }
        starts.push(pos as u32);
        let Some((entry, next)) = next_entry(data, pos, &mut corrupt) else {
            break;
        };
        let raw = &data[pos..next];
        pos = next;
        if prev.unchanged(raw, &entry, &mut removed, names) {
            continue;
        }
        added.push(Added {
            kind: entry.kind,
            id: entry.id,
            name: names.number(entry.name),
        });
    }
    prev.finish(&mut removed, names);
    match tail_from {
        Some(i) => starts.extend(
            prev_starts[i..]
                .iter()
                .filter_map(|&s| shift(s).and_then(|s| u32::try_from(s).ok())),
        ),
        None => {
            // `pos` is the end, or where a corrupt tree stopped being readable.
            starts.pop_if(|s| *s as usize == pos);
            starts.push(pos as u32);
        }
    }
    if u32::try_from(data.len()).is_err() {
        // Positions are kept as u32: a tree this large is parsed whole next time.
        starts.clear();
    }
    Compared {
        removed,
        added,
        starts,
        corrupt,
    }
}

/// Reads trees breadth first from each root, each distinct tree once, recording each as a
/// [`TreeRec`] and listing each blob the first time it is met.
pub struct TreeWalker<'r> {
    repo: &'r git2::Repository,
    /// Opened on first use.
    objects: Option<Objects<'r>>,
    /// Every walked tree's record.
    pub records: Records,
    /// What the walk met.
    pub met: Met,
    /// Per path, the last tree walked there.
    last: FxHashMap<String, Last>,
}

impl<'r> TreeWalker<'r> {
    pub fn new(repo: &'r git2::Repository) -> Self {
        TreeWalker {
            repo,
            objects: None,
            records: Records::default(),
            met: Met::default(),
            last: FxHashMap::default(),
        }
    }

    /// Why reading through git was given up, if it was.
    pub fn fallback(&self) -> Option<String> {
        self.objects.as_ref().and_then(|o| o.fallback.clone())
    }

    /// Walks the trees `roots` (commits' root trees, in walk order) and every tree under them
    /// not walked before. Trees are asked of the object reader as soon as they are known (each
    /// tree's subtrees when it is read, the next roots while one is walked), so reading never
    /// waits on a round trip; they are taken in the order asked, which walks each root breadth
    /// first, overlapping the next.
    pub fn walk(&mut self, roots: &[Oid], warnings: &mut Vec<Warning>) {
        let repo = self.repo;
        let objects = self.objects.get_or_insert_with(|| Objects::open(repo));
        // Trees asked for and not yet taken, in the order asked; `true` for a root.
        let mut asked: VecDeque<(Key, String, bool)> = VecDeque::new();
        let mut roots = roots.iter();
        let mut roots_ahead = 0;
        loop {
            while roots_ahead < ROOTS_AHEAD {
                let Some(&root) = roots.next() else { break };
                if self.met.seen.insert(Key::of(root)) {
                    objects.request(root);
                    asked.push_back((Key::of(root), String::new(), true));
                    roots_ahead += 1;
                }
            }
            let Some((id, path, root)) = asked.pop_front() else {
                break;
            };
            if root {
                roots_ahead -= 1;
            }
            let answer = match objects.next(u64::MAX) {
                Some((_, answer)) => answer,
                None => Err("no answer from the object reader".into()),
            };
            let data = match answer {
                Ok(RawObject {
                    kind: Kind::Tree,
                    data: Some(data),
                    ..
                }) => data,
                Ok(_) => {
                    warn(warnings, path, TreeTrouble::NotATree.say(id));
                    continue;
                }
                Err(e) => {
                    warn(warnings, path, TreeTrouble::Unreadable(&e).say(id));
                    continue;
                }
            };
            let last = self.last.remove(&path);
            let prev_id = last.as_ref().map(|l| l.id);
            let c = compare(
                last.as_ref().map(|l| (&l.data[..], &l.starts[..])),
                &data,
                &mut self.records.names,
            );
            if c.corrupt {
                warn(warnings, path.clone(), TreeTrouble::Corrupt.say(id));
            }
            for a in &c.added {
                if let Some(at) = self.met.meet(&path, a, &self.records.names) {
                    objects.request(a.id.oid());
                    asked.push_back((a.id, at, false));
                }
            }
            self.records.insert(id, prev_id, &c.removed, &c.added);
            let starts = c.starts;
            self.last.insert(path, Last { id, data, starts });
        }
    }
}

/// Roots asked for ahead of the one being walked, so that the reader is never idle between
/// two commits.
const ROOTS_AHEAD: usize = 2;

/// Which matched blobs each walked tree holds, computed from the walk's records.
pub struct HeldIndex<'a> {
    records: &'a Records,
    matched: &'a FxHashSet<Key>,
    /// By record number ([`Records::slot`]): what the tree holds, once known. A history's
    /// half a million trees made a map by id most of attribution's time.
    memo: Vec<Option<Held>>,
    /// By record number: the tree is on the stack, waiting for what it depends on.
    on_stack: Vec<bool>,
    empty: Held,
}

impl<'a> HeldIndex<'a> {
    pub fn new(records: &'a Records, matched: &'a FxHashSet<Key>) -> Self {
        HeldIndex {
            records,
            matched,
            memo: vec![None; records.numbered()],
            on_stack: vec![false; records.numbered()],
            empty: Arc::new(Vec::new()),
        }
    }

    /// The matched blobs tree `root` holds, sorted by path (nothing if it was not walked).
    pub fn held(&mut self, root: Oid) -> Held {
        let records = self.records;
        let Some(root) = records.slot(&Key::of(root)) else {
            return self.empty.clone();
        };
        // Depth first on a heap stack; a tree is computed once everything it depends on (its
        // previous version and its added subtrees) is. A dependency already on the stack
        // (a cycle, only possible in a corrupt repository) counts as holding nothing. The
        // dependencies' record numbers are looked up once, when a tree is expanded, and kept
        // in `deps` (from `start`) until it is computed: lookups were most of attribution.
        const UNEXPANDED: u32 = u32::MAX;
        let mut stack = vec![(root, UNEXPANDED)];
        let mut deps: Vec<u32> = Vec::new();
        while let Some((n, start)) = stack.pop() {
            let i = n as usize;
            if self.memo.get(i).is_none_or(Option::is_some) {
                continue;
            }
            let Some(rec) = records.at(n) else {
                continue;
            };
            if start == UNEXPANDED {
                self.on_stack[i] = true;
                let start = deps.len();
                stack.push((n, start as u32));
                let ids = rec.prev.into_iter().chain(
                    rec.added
                        .iter()
                        .filter(|a| a.kind == Kind::Tree)
                        .map(|a| a.id),
                );
                for d in ids {
                    let m = records.slot(&d).unwrap_or(UNEXPANDED);
                    deps.push(m);
                    if m != UNEXPANDED
                        && self.memo[m as usize].is_none()
                        && !self.on_stack[m as usize]
                    {
                        stack.push((m, UNEXPANDED));
                    }
                }
                continue;
            }
            self.on_stack[i] = false;
            let held = self.compute(rec, &deps[start as usize..]);
            deps.truncate(start as usize);
            self.memo[i] = Some(held);
        }
        self.memo[root as usize]
            .clone()
            .unwrap_or_else(|| self.empty.clone())
    }

    /// What the tree of record `rec` holds, given the record numbers of its previous version
    /// (first, when it has one) and of its added subtrees, in order (`u32::MAX`: no record).
    fn compute(&self, rec: TreeRec<'_>, deps: &[u32]) -> Held {
        let get = |m: Option<&u32>| {
            m.and_then(|&m| self.memo.get(m as usize)?.clone())
                .unwrap_or_else(|| self.empty.clone())
        };
        let mut deps = deps.iter();
        let mut out: Vec<(Oid, String)> = Vec::new();
        // Most trees of a history hold no matched blob: nothing to filter then.
        if let Some(prev) = rec.prev.map(|_| get(deps.next())).filter(|h| !h.is_empty()) {
            let names = &self.records.names;
            let removed: FxHashSet<&[u8]> = rec.removed.iter().map(|&n| names.name(n)).collect();
            out.extend(
                prev.iter()
                    .filter(|(_, p)| {
                        let first = p.split('/').next().unwrap_or("");
                        !removed.contains(first.as_bytes())
                    })
                    .cloned(),
            );
        }
        for &Added { kind, id, name } in rec.added {
            match kind {
                Kind::Blob if self.matched.contains(&id) => {
                    let name = self.records.names.name(name);
                    out.push((id.oid(), String::from_utf8_lossy(name).into_owned()));
                }
                Kind::Tree => {
                    let sub = get(deps.next());
                    if !sub.is_empty() {
                        let name = String::from_utf8_lossy(self.records.names.name(name));
                        out.extend(sub.iter().map(|(b, p)| (*b, format!("{name}/{p}"))));
                    }
                }
                _ => {}
            }
        }
        if out.is_empty() {
            return self.empty.clone();
        }
        out.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        out.dedup();
        Arc::new(out)
    }
}

/// `prefix/name` (`name` at the root): a walk joins one for every tree and blob it meets, so
/// without the formatting machinery.
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        return name.to_string();
    }
    let mut at = String::with_capacity(prefix.len() + 1 + name.len());
    at.push_str(prefix);
    at.push('/');
    at.push_str(name);
    at
}

/// What can be wrong with a tree a walk reads; both walks (git's readers, the packs'
/// records) warn of it in the same words.
pub enum TreeTrouble<'e> {
    /// The id names another kind of object.
    NotATree,
    /// It cannot be read, and why.
    Unreadable(&'e str),
    /// It is malformed from some entry on; the entries before are walked.
    Corrupt,
}

impl TreeTrouble<'_> {
    /// The warning for tree `id`.
    pub fn say(&self, id: Key) -> String {
        match self {
            TreeTrouble::NotATree => format!("tree {} is not a tree object", short(id)),
            TreeTrouble::Unreadable(e) => format!("tree {} missing or corrupt: {e}", short(id)),
            TreeTrouble::Corrupt => {
                format!("tree {} is corrupt; the rest of it was not read", short(id))
            }
        }
    }
}

fn short(id: Key) -> String {
    id.oid().to_string()[..12].to_string()
}

fn warn(out: &mut Vec<Warning>, path: impl Into<String>, message: impl Into<String>) {
    out.push(Warning {
        path: path.into(),
        message: message.into(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a tree from `(name, Ok(blob content) | Err(subtree))` entries.
    fn tree(repo: &git2::Repository, entries: &[(&str, Result<&[u8], Oid>)]) -> Oid {
        let mut b = repo.treebuilder(None).unwrap();
        for (name, e) in entries {
            match e {
                Ok(content) => {
                    let id = repo.blob(content).unwrap();
                    b.insert(name, id, 0o100644).unwrap();
                }
                Err(sub) => {
                    b.insert(name, *sub, 0o040000).unwrap();
                }
            }
        }
        b.write().unwrap()
    }

    fn paths(h: &Held) -> Vec<String> {
        h.iter().map(|(_, p)| p.clone()).collect()
    }

    /// An entry `would_change` says no to is one meeting leaves everything as it was: the
    /// orphan step skips those, so a wrong no would lose a blob, a path or a credential file.
    #[test]
    fn meeting_what_would_change_nothing_changes_nothing() {
        let mut names = Names::default();
        let key = |n: u8| Key([n; 20]);
        let mut met = Met::default();
        let state = |m: &Met| {
            (
                m.seen.len(),
                m.blobs.len(),
                m.new_blobs.clone(),
                m.submodules.clone(),
                m.credential_files.clone(),
            )
        };
        let named = ["README", ".env", "credentials", "token.txt", "sub"];
        let paths = ["", "docs", ".aws", "deploy/cray/tokens"];
        for round in 0..3 {
            for (i, name) in named.iter().enumerate() {
                for kind in [Kind::Blob, Kind::Tree, Kind::Commit, Kind::Other] {
                    for path in paths {
                        let a = Added {
                            kind,
                            id: key((i % 3) as u8 + round),
                            name: names.number(name.as_bytes()),
                        };
                        let before = state(&met);
                        let would = met.would_change(path, &a, &names);
                        let subtree = met.meet(path, &a, &names);
                        if !would {
                            assert!(subtree.is_none(), "{kind:?} {name} at {path}");
                            assert!(state(&met) == before, "{kind:?} {name} at {path}");
                        }
                    }
                }
            }
        }
        // Every kind was met both new and again.
        assert!(met.credential_files.len() > 1 && met.submodules.len() > 1);
    }

    /// Trees recorded as changes to the previous tree at the same path must hold exactly
    /// what trees walked from scratch hold: additions, removals, changes, copies, a file
    /// turned into a directory, and a secret moved into a subdirectory.
    #[test]
    fn held_from_change_records_equals_held_from_scratch() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let secret: &[u8] = b"secret";
        let secret_id = repo.blob(secret).unwrap();
        let sub = tree(&repo, &[("x", Ok(secret)), ("y", Ok(b"y"))]);
        let sub2 = tree(&repo, &[("y", Ok(b"y2"))]);
        let versions = [
            tree(&repo, &[("a", Ok(secret)), ("b", Ok(b"b"))]),
            tree(
                &repo,
                &[("a", Ok(secret)), ("b", Ok(b"b2")), ("c", Ok(secret))],
            ),
            tree(&repo, &[("b", Ok(b"b2")), ("c", Err(sub))]),
            tree(
                &repo,
                &[("b", Ok(b"b2")), ("c", Err(sub2)), ("z", Ok(b"z"))],
            ),
            tree(&repo, &[("a", Ok(b"a")), ("c", Err(sub))]),
        ];
        let expected: [&[&str]; 5] = [&["a"], &["a", "c"], &["c/x"], &[], &["c/x"]];
        let matched: FxHashSet<Key> = [Key::of(secret_id)].into_iter().collect();
        let mut chained = TreeWalker::new(&repo);
        let mut warnings = Vec::new();
        chained.walk(&versions, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let mut index = HeldIndex::new(&chained.records, &matched);
        for (v, want) in versions.iter().zip(expected) {
            assert_eq!(paths(&index.held(*v)), want, "chained walk");
            let mut alone = TreeWalker::new(&repo);
            alone.walk(&[*v], &mut warnings);
            let mut fresh = HeldIndex::new(&alone.records, &matched);
            assert_eq!(paths(&fresh.held(*v)), want, "walked alone");
        }
        // Each blob is listed once, at the path it was first met.
        let first: Vec<&str> = chained
            .met
            .new_blobs
            .iter()
            .map(|(_, p)| p.as_str())
            .collect();
        assert_eq!(first.iter().filter(|p| **p == "a").count(), 2, "{first:?}");
        assert!(
            !first.contains(&"c"),
            "the secret is listed once: {first:?}"
        );
        // A tree never walked holds nothing.
        assert!(index.held(Oid::ZERO_SHA1).is_empty());
    }

    /// Many versions of a wide directory, each a random edit of the one before (entries
    /// added, removed or changed at the start, the middle and the end, files and directories
    /// whose names prefix each other): walked as a chain, where each version is matched
    /// against the previous one by shared start and end, every version must hold exactly
    /// what it holds walked alone.
    #[test]
    fn change_records_from_shared_starts_and_ends_match_whole_trees() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let sub = tree(&repo, &[("k", Ok(b"secret-0"))]);
        let mut rng = crate::testing::Rng(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: u64| rng.below(n as usize) as u64;
        // name -> (object, mode): blobs written once, trees built from ids.
        let plain = repo.blob(b"plain").unwrap();
        let mut entries: std::collections::BTreeMap<String, (Oid, i32)> = (0..300)
            .map(|i| (format!("f{i:03}"), (plain, 0o100644)))
            .collect();
        let mut versions = Vec::new();
        let mut secrets = FxHashSet::default();
        for v in 0..120 {
            for _ in 0..1 + next(3) {
                let names: Vec<String> = entries.keys().cloned().collect();
                let at = match next(3) {
                    0 => 0,
                    1 => names.len().saturating_sub(1),
                    _ => next(names.len().max(1) as u64) as usize,
                };
                let base = names.get(at).cloned().unwrap_or_else(|| "f".into());
                match next(5) {
                    0 => {
                        entries.remove(&base);
                    }
                    1 => {
                        entries.insert(format!("{base}.d"), (sub, 0o040000));
                    }
                    2 => {
                        entries.insert(format!("{base}-"), (plain, 0o100644));
                    }
                    _ => {
                        let content = format!("secret-{v}-{}", next(1000));
                        let id = repo.blob(content.as_bytes()).unwrap();
                        secrets.insert(Key::of(id));
                        entries.insert(base, (id, 0o100644));
                    }
                }
            }
            let mut b = repo.treebuilder(None).unwrap();
            for (name, (id, mode)) in &entries {
                b.insert(name, *id, *mode).unwrap();
            }
            versions.push(b.write().unwrap());
        }
        secrets.insert(Key::of(repo.blob(b"secret-0").unwrap()));
        let mut chained = TreeWalker::new(&repo);
        let mut warnings = Vec::new();
        chained.walk(&versions, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let mut index = HeldIndex::new(&chained.records, &secrets);
        for v in &versions {
            let mut alone = TreeWalker::new(&repo);
            alone.walk(&[*v], &mut warnings);
            let mut fresh = HeldIndex::new(&alone.records, &secrets);
            assert_eq!(paths(&index.held(*v)), paths(&fresh.held(*v)));
        }
        // The chain recorded changes, not whole trees: a few entries per version.
        let recorded = chained.records.added_entries();
        assert!(recorded < 120 * 10, "{recorded} entries recorded");
    }

    /// A corrupt tree whose entries are out of order (`z` first) shares its end with the
    /// previous version: the entries passed over by the match must not be lost when the
    /// shared end is skipped, so a secret in `b` is still held by the second version.
    #[test]
    fn an_unsorted_tree_sharing_its_end_keeps_its_entries() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let secret = repo.blob(b"secret").unwrap();
        let plain = repo.blob(b"plain").unwrap();
        let raw = |entries: &[(&str, Oid)]| {
            let mut out = Vec::new();
            for (name, id) in entries {
                out.extend_from_slice(format!("100644 {name}\0").as_bytes());
                out.extend_from_slice(id.as_bytes());
            }
            repo.odb()
                .unwrap()
                .write(git2::ObjectType::Tree, &out)
                .unwrap()
        };
        let first = raw(&[("a", plain), ("b", secret), ("c", plain)]);
        let unsorted = raw(&[("z", plain), ("b", secret), ("c", plain)]);
        let matched: FxHashSet<Key> = [Key::of(secret)].into_iter().collect();
        let mut chained = TreeWalker::new(&repo);
        let mut warnings = Vec::new();
        chained.walk(&[first, unsorted], &mut warnings);
        let mut index = HeldIndex::new(&chained.records, &matched);
        assert_eq!(paths(&index.held(unsorted)), vec!["b"]);
        assert_eq!(paths(&index.held(first)), vec!["b"]);
    }
}
