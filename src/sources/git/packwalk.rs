//! The whole history's trees, walked from the pack files instead of read one by one.
//!
//! Every version of a tree is read by a whole-history walk, and git stores most of them as
//! deltas of another version: Spack's history has 505,000 trees, 11.5 GB whole, in a pack of
//! 250 MB. Read in walk order through `git cat-file`, they cost two thirds of the scan (6.4 of
//! 9.1 s), most of it git resolving chains again and the bytes crossing a pipe. Here they are
//! read in two steps:
//!
//! 1. Every tree of each pack is decoded in chain order, each once, chains in parallel, and
//!    recorded as a change to the tree the pack stores it as a delta of ([`compare`], the
//!    comparison the walk makes with the previous version at a path). A version is usually
//!    stored against another version of the same directory, so the change is a few entries.
//! 2. The commits' root trees are then walked over those records alone, breadth first, each
//!    tree once, meeting what each adds ([`Met`]), as the walk from git's readers does. A
//!    whole tree over 4 KiB that starts a chain, or a tree no pack holds (a loose one, from
//!    recent commits), is read through libgit2 and recorded as a change to the tree last read
//!    so at its path. A tree whose base is not reachable (left in a pack by a rewritten
//!    history) has the entries it shares with that base met from the base's chain of records,
//!    so nothing reachable is missed and nothing unreachable is met. A blob a tree shares with
//!    its base was met at the base's path; names that can make a credential file are checked
//!    again at this tree's path, so `.aws/credentials` is found even when its tree is stored
//!    as a delta of a backup copy elsewhere.
//!
//! A tree in several packs is recorded from the first (the largest): records from different
//! packs could otherwise name each other as bases, in a loop.
//!
//! The records serve attribution as the walk's do: [`HeldIndex`](super::treewalk::HeldIndex)
//! only needs each record's base to be recorded, wherever it came from.

use super::commits::{Share, WalkedCommit, in_pool, read_commits};
use super::objects::Key;
use super::pack::{NONE, Node, Pack, TREE};
use super::treedelta::compare_delta;
use super::treewalk::{Added, Met, Records, TreeTrouble, compare};
use super::{GitOptions, warn};
use crate::sources::Warning;
use git2::{Oid, Repository};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::path::Path;

/// Whole trees up to this size are recorded from the pack; larger ones when the walk meets
/// them (see `pack_records`).
const SMALL_TREE: usize = 4096;

/// Per path, the tree last read whole there: its id, bytes and entry starts.
type LastWhole = FxHashMap<String, (Key, Vec<u8>, Vec<u32>)>;

/// Trees larger than this are not decoded from a pack (nor their deltas); the walk reads them
/// through libgit2.
const TREE_LIMIT: u64 = 1 << 30;

/// Walks the trees of `commits` (in walk order) from the pack files, as one share; the
/// packs' trees already recorded ([`pack_records`]) when given.
pub(super) fn walk_packed(
    repo: &Repository,
    packs: &[Pack],
    commits: &[Oid],
    opts: &GitOptions,
    recorded: Option<(Records, FxHashSet<Key>)>,
) -> Share {
    let mut share = Share::default();
    let (mut records, corrupt) = recorded.unwrap_or_else(|| pack_records(packs, opts));
    // The decoding threads' freed buffers go back to the system before the walk grows.
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap memory; it is safe at any time.
    unsafe {
        libc::malloc_trim(0);
    }
    let mut met = Met::default();
    // The commits are read on another thread while their trees are walked: the walk is one
    // thread's work, and reading 37,000 commits through libgit2 took Spack 0.45 s of one
    // core's time before it.
    let mut read = Vec::with_capacity(commits.len());
    let git_dir = repo.path();
    let reader_warnings = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<WalkedCommit>>(8);
        let reader = s.spawn(move || read_commits_to(git_dir, commits, &tx));
        let roots = rx.into_iter().flat_map(|part| {
            let roots: Vec<Key> = part.iter().map(|c| Key::of(c.tree)).collect();
            read.extend(part);
            roots
        });
        walk_records(
            repo,
            &mut records,
            &corrupt,
            roots,
            &mut met,
            &mut share.warnings,
        );
        // A panic in the reader is a bug: it ends the scan, as it did when the commits were
        // read before the walk, rather than leaving a history report silently short.
        reader
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    share.commits = read;
    share.warnings.extend(reader_warnings);
    share.records = records;
    share.new_blobs = met.new_blobs;
    share.submodules = met.submodules;
    share.credential_files = met.credential_files;
    share
}

/// Step 1: every tree in the packs, recorded as a change to its delta base; and the trees
/// found malformed.
pub(super) fn pack_records(packs: &[Pack], opts: &GitOptions) -> (Records, FxHashSet<Key>) {
    let mut records = Records::default();
    let mut corrupt = FxHashSet::default();
    // Trees of the packs already read, when more follow: each tree is recorded from the first
    // pack that holds it.
    let mut prior: FxHashSet<Key> = FxHashSet::default();
    for (n, pack) in packs.iter().enumerate() {
        let kinds = pack.kinds();
        let want: Vec<u32> = (0..kinds.len() as u32)
            .map(|i| {
                let tree = kinds[i as usize] == TREE;
                if tree && !prior.contains(&pack.keys[i as usize]) {
                    i
                } else {
                    NONE
                }
            })
            .collect();
        if n + 1 < packs.len() {
            prior.extend(
                (0..kinds.len())
                    .filter(|&i| kinds[i] == TREE)
                    .map(|i| pack.keys[i]),
            );
        }
        let forest = pack.forest(&want);
        let visit = |ctx: &mut (Records, Vec<Key>), node: Node<'_, Vec<u32>>| -> Vec<u32> {
            if node.item == NONE || node.kind != TREE {
                return Vec::new();
            }
            let id = pack.keys[node.entry as usize];
            let Some((base, bytes, starts)) = node.base else {
                // A large whole tree is recorded when the walk meets it, as a change to the
                // tree last read whole at its path: recorded here, as a change to nothing,
                // each version of Spack's 8,500-entry directory that starts a chain held all
                // of its entries (240 MB of records). Small ones (most of Spack's 300,000
                // whole trees) are recorded here, which keeps them out of libgit2's cache.

                let c = compare(None, node.data, &mut ctx.0.names);
                if node.data.len() <= SMALL_TREE {
                    ctx.0.insert(id, None, &c.removed, &c.added);
                }
                if c.corrupt {
                    ctx.1.push(id);
                }
                return c.starts;
            };
            let base = Some((pack.keys[base as usize], bytes, starts));
            let c = compare_delta(bytes, starts, node.delta, node.data, &mut ctx.0.names)
                .unwrap_or_else(|| {
                    compare(Some((bytes, &starts[..])), node.data, &mut ctx.0.names)
                });
            if c.corrupt {
                ctx.1.push(id);
            }
            ctx.0
                .insert(id, base.map(|(k, _, _)| k), &c.removed, &c.added);
            c.starts
        };
        // One set of records per piece of work, each copied once into the whole (merged in
        // pairs, records were copied once per level of rayon's splits).
        let parts: Vec<(Records, Vec<Key>)> = in_pool(opts, || {
            forest
                .roots
                .par_iter()
                .fold(
                    || (Records::default(), Vec::new()),
                    |mut ctx, &root| {
                        pack.chain(root, &forest, &want, TREE_LIMIT, &mut ctx, &visit);
                        ctx
                    },
                )
                .collect()
        });
        for (found, bad) in parts {
            records.absorb(found);
            corrupt.extend(bad);
        }
    }
    (records, corrupt)
}

/// Reads `commits` (their trees and parents) in order, sent in parts to the walk; returns the
/// warnings. Stops early when the walk is gone.
fn read_commits_to(
    git_dir: &Path,
    commits: &[Oid],
    to: &std::sync::mpsc::SyncSender<Vec<WalkedCommit>>,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    match Repository::open(git_dir) {
        Ok(repo) => {
            for part in commits.chunks(1024) {
                if to.send(read_commits(&repo, part, &mut warnings)).is_err() {
                    break;
                }
            }
        }
        Err(e) => warn(
            &mut warnings,
            "",
            format!("cannot reopen the repository: {}", e.message()),
        ),
    }
    warnings
}

/// Step 2: walks `roots` breadth first over the records, each tree once. Trees without a
/// record are read through libgit2 and recorded as a change to the tree last read so at their
/// path.
fn walk_records(
    repo: &Repository,
    records: &mut Records,
    corrupt: &FxHashSet<Key>,
    roots: impl IntoIterator<Item = Key>,
    met: &mut Met,
    warnings: &mut Vec<Warning>,
) {
    let odb = repo.odb().ok();
    let mut last = LastWhole::default();
    let mut queue: VecDeque<(Key, String)> = VecDeque::new();
    // Trees walked that are recorded as a change to a tree (their base) not met when they
    // were.
    let mut based: Vec<(Key, String)> = Vec::new();
    // Where each walked tree was walked, by record number (a hash of its path, never 0).
    let mut walked_at = WalkedAt::default();
    let mut chain = ChainCredential::default();
    let mut drain = |queue: &mut VecDeque<(Key, String)>,
                     records: &mut Records,
                     met: &mut Met,
                     based: &mut Vec<(Key, String)>,
                     warnings: &mut Vec<Warning>| {
        while let Some((id, path)) = queue.pop_front() {
            let slot = match records.slot(&id) {
                Some(n) => n,
                None => {
                    if !read_whole(odb.as_ref(), id, &path, records, Some(&mut last), warnings) {
                        continue;
                    }
                    let Some(n) = records.slot(&id) else { continue };
                    n
                }
            };
            if !corrupt.is_empty() && corrupt.contains(&id) {
                warn(warnings, path.clone(), TreeTrouble::Corrupt.say(id));
            }
            let Some(rec) = records.at(slot) else {
                continue;
            };
            for a in rec.added {
                if let Some(at) = met.meet(&path, a, &records.names) {
                    queue.push_back((a.id, at));
                }
            }
            let here = path_hash(&path);
            walked_at.set(slot, here);
            if let Some(base) = rec.prev {
                if walked_at.get(records, &base) != Some(here)
                    && (Met::credential_dir(&path) || chain.holds(records, base))
                {
                    shared_credentials(records, id, &path, here, &walked_at, met);
                }
                // A base met already is walked (or waits in the queue): only the others can
                // turn out to be unreachable.
                if !met.seen.contains(&base) {
                    based.push((id, path));
                }
            }
        }
    };
    for root in roots {
        if met.seen.insert(root) {
            queue.push_back((root, String::new()));
            drain(&mut queue, records, met, &mut based, warnings);
        }
    }
    // A walked tree whose base was not walked: what it shares with the base is met from the
    // base's chain of records. Rare (a base left in a pack by a rewritten history), and what
    // it meets can hold more such trees, so until there are none.
    loop {
        let orphans: Vec<(Key, String)> = based
            .drain(..)
            .filter(|(id, _)| {
                records
                    .get(id)
                    .and_then(|r| r.prev)
                    .is_some_and(|b| !met.seen.contains(&b))
            })
            .collect();
        if orphans.is_empty() {
            break;
        }
        for (id, path) in orphans {
            for a in entries(odb.as_ref(), records, id, met, &path, warnings) {
                if let Some(at) = met.meet(&path, &a, &records.names) {
                    queue.push_back((a.id, at));
                }
            }
        }
        drain(&mut queue, records, met, &mut based, warnings);
    }
}

/// A hash of a tree's path, to tell whether two trees were walked at the same one; never 0.
fn path_hash(path: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(path) | 1
}

/// Where each walked tree was walked ([`path_hash`]), by the number of its record: a map of
/// half a million trees cost more than the walk's other lookups.
#[derive(Default)]
struct WalkedAt(Vec<u64>);

impl WalkedAt {
    fn set(&mut self, slot: u32, here: u64) {
        let n = slot as usize;
        if self.0.len() <= n {
            self.0.resize(n + 1, 0);
        }
        self.0[n] = here;
    }

    fn get(&self, records: &Records, id: &Key) -> Option<u64> {
        let n = records.slot(id)? as usize;
        self.0.get(n).copied().filter(|&h| h != 0)
    }
}

/// Checks, at `path`, the blobs tree `id` shares with its base chain under names that can make
/// a credential file: they were met where the base was walked, which may be another directory
/// (`backup/aws/credentials` is not a credential file by its path; `.aws/credentials` is). The
/// chain is followed up to a tree walked at this same path, whose entries were checked here.
fn shared_credentials(
    records: &Records,
    id: Key,
    path: &str,
    here: u64,
    walked_at: &WalkedAt,
    met: &mut Met,
) {
    let Some(rec) = records.get(&id) else { return };
    // Names whose older versions are not in this tree: changed or removed closer to it.
    let mut superseded: FxHashSet<u32> = rec.removed.iter().copied().collect();
    superseded.extend(rec.added.iter().map(|a| a.name));
    let mut on_chain: FxHashSet<Key> = FxHashSet::default();
    let mut at = rec.prev;
    while let Some(tree) = at {
        if !on_chain.insert(tree) || walked_at.get(records, &tree) == Some(here) {
            break;
        }
        let Some(r) = records.get(&tree) else { break };
        for a in r.added {
            if a.kind == super::objects::Kind::Blob
                && Met::may_be_credential(path, a, &records.names)
                && superseded.insert(a.name)
            {
                met.credential(path, a, &records.names);
            }
        }
        superseded.extend(r.removed.iter().copied());
        at = r.prev;
    }
}

/// Whether the chain of records from a tree's base on adds a blob under a name that may make
/// a credential file ([`TreeRec::credential`](super::records::TreeRec)), by record number,
/// worked out once per record: most trees are walked at another path than their base (Spack
/// stores one package's directory as a delta of another's), and following each one's chain
/// to look took a quarter of the walk.
#[derive(Default)]
struct ChainCredential(Vec<u8>);

impl ChainCredential {
    const UNKNOWN: u8 = 0;
    const NO: u8 = 1;
    const YES: u8 = 2;
    const ON_PATH: u8 = 3;

    /// Whether tree `id`'s record, or one on its chain of bases, has the flag. A chain that
    /// ends at a tree not yet recorded (a whole tree the walk reads when it meets it) is
    /// answered but not kept: the tree's record can come later.
    fn holds(&mut self, records: &Records, id: Key) -> bool {
        let mut path: Vec<u32> = Vec::new();
        let mut at = Some(id);
        let mut answer = Self::NO;
        let mut keep = true;
        while let Some(tree) = at {
            let Some(n) = records.slot(&tree) else {
                keep = false;
                break;
            };
            let i = n as usize;
            if self.0.len() <= i {
                self.0.resize(i + 1, Self::UNKNOWN);
            }
            match self.0[i] {
                Self::UNKNOWN => {}
                // A loop of bases (a malformed pack) holds what its records hold, which the
                // ones already on the path answer.
                Self::ON_PATH => break,
                known => {
                    answer = known;
                    break;
                }
            }
            let Some(r) = records.at(n) else { break };
            if r.credential {
                answer = Self::YES;
                path.push(n);
                break;
            }
            self.0[i] = Self::ON_PATH;
            path.push(n);
            at = r.prev;
        }
        for n in path {
            self.0[n as usize] = if keep || answer == Self::YES {
                answer
            } else {
                Self::UNKNOWN
            };
        }
        answer == Self::YES
    }
}

/// Reads a tree that has no record yet through libgit2 (a whole tree in a pack, or a loose
/// one) and records it as a change to the tree last read whole at its path, when `last` is
/// given. False, with a warning, when it cannot be read.
fn read_whole(
    odb: Option<&git2::Odb<'_>>,
    id: Key,
    path: &str,
    records: &mut Records,
    last: Option<&mut LastWhole>,
    warnings: &mut Vec<Warning>,
) -> bool {
    let read = match odb {
        Some(odb) => odb.read(id.oid()).map_err(|e| e.message().to_string()),
        None => Err("no object database".to_string()),
    };
    let obj = match read {
        Ok(obj) if obj.kind() == git2::ObjectType::Tree => obj,
        Ok(_) => {
            warn(warnings, path, TreeTrouble::NotATree.say(id));
            return false;
        }
        Err(e) => {
            warn(warnings, path, TreeTrouble::Unreadable(&e).say(id));
            return false;
        }
    };
    let data = obj.data();
    let mut last = last;
    let prev = last.as_mut().and_then(|l| l.remove(path));
    let c = compare(
        prev.as_ref().map(|(_, d, s)| (&d[..], &s[..])),
        data,
        &mut records.names,
    );
    if c.corrupt {
        warn(warnings, path, TreeTrouble::Corrupt.say(id));
    }
    records.insert(id, prev.map(|(k, _, _)| k), &c.removed, &c.added);
    if let Some(last) = last {
        last.insert(path.to_string(), (id, data.to_vec(), c.starts));
    }
    true
}

/// Every entry of tree `id` (at `path`) that meeting there can still change (see
/// [`Met::meet`]), by name: replayed from its chain of records (oldest first); a tree on the
/// chain without a record (a whole tree the walk never met) is read and recorded whole.
/// Blobs and trees met already, under names that cannot make a credential file, are left
/// out: an orphan is often a version of a large directory (Spack's has 8,500 entries) that
/// shares nearly all of them with versions walked.
fn entries(
    odb: Option<&git2::Odb<'_>>,
    records: &mut Records,
    id: Key,
    met: &Met,
    path: &str,
    warnings: &mut Vec<Warning>,
) -> Vec<Added> {
    let mut chain = vec![id];
    let mut on_chain: FxHashSet<Key> = FxHashSet::default();
    on_chain.insert(id);
    let mut at = id;
    loop {
        if !records.contains(&at) && !read_whole(odb, at, "", records, None, warnings) {
            break;
        }
        let Some(prev) = records.get(&at).and_then(|r| r.prev) else {
            break;
        };
        if !on_chain.insert(prev) {
            break;
        }
        chain.push(prev);
        at = prev;
    }
    let mut entries: FxHashMap<u32, Added> = FxHashMap::default();
    for t in chain.iter().rev() {
        let Some(rec) = records.get(t) else {
            continue;
        };
        for n in rec.removed {
            entries.remove(n);
        }
        for a in rec.added {
            entries.insert(a.name, *a);
        }
    }
    let mut out: Vec<Added> = entries
        .into_values()
        .filter(|a| met.would_change(path, a, &records.names))
        .collect();
    out.sort_by(|a, b| records.names.name(a.name).cmp(records.names.name(b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::git::objects::Kind;

    fn key(n: u8) -> Key {
        Key([n; 20])
    }

    /// Records tree `id` as a change to `prev` adding one blob named `name`.
    fn record(r: &mut Records, id: u8, prev: Option<u8>, name: &str) {
        let added = [Added {
            kind: Kind::Blob,
            id: key(100 + id),
            name: r.names.number(name.as_bytes()),
        }];
        r.insert(key(id), prev.map(key), &[], &added);
    }

    /// The chain's answer is what following it record by record says: a flagged record any
    /// number of bases up, none, a loop of bases, and a base recorded only after it was asked
    /// about (a whole tree the walk reads late), whose answer must not have been kept.
    #[test]
    fn a_chain_holds_a_credential_name_wherever_on_it() {
        let mut r = Records::default();
        record(&mut r, 1, None, "credentials");
        record(&mut r, 2, Some(1), "notes.txt");
        record(&mut r, 3, Some(2), "README");
        record(&mut r, 4, None, "README");
        record(&mut r, 5, Some(4), "a.txt");
        // A loop: 6 → 7 → 6.
        record(&mut r, 6, Some(7), "b.txt");
        record(&mut r, 7, Some(6), "c.txt");
        // 9's base, 8, is not recorded yet.
        record(&mut r, 9, Some(8), "d.txt");
        let mut c = ChainCredential::default();
        for _ in 0..2 {
            assert!(c.holds(&r, key(3)), "two bases up");
            assert!(c.holds(&r, key(2)));
            assert!(c.holds(&r, key(1)), "its own record");
            assert!(!c.holds(&r, key(5)));
            assert!(!c.holds(&r, key(6)), "a loop ends");
            assert!(!c.holds(&r, key(7)));
            assert!(!c.holds(&r, key(9)), "nothing recorded says so yet");
        }
        record(&mut r, 8, None, ".env");
        assert!(c.holds(&r, key(9)), "the base recorded later is asked");
    }
}
