//! Reading blobs straight from the repository's pack files, each delta chain resolved once.
//!
//! A pack stores most versions of a file as deltas against another version, in chains up to
//! 50 deep (git's default). `git cat-file` resolves each object's chain on its own, through a
//! 96 MiB cache of bases: on SchedMD/slurm's history (21 GB of blob versions in a 358 MB pack)
//! it re-inflated bases so often that zlib was a fifth of the whole scan's CPU, and every
//! byte then crossed a pipe. Here a pack's deltas are read as the forest they are: each base
//! needed is inflated once, and each delta is applied once, to its base's bytes still in
//! memory, before the base is dropped. Chains that hold no wanted blob are not read at all.
//!
//! What this reader does not serve goes back to the caller, who reads it as before (through
//! `git cat-file` or libgit2), so that every kind of damage is reported by one reader in one
//! way: a blob that is loose or only in an alternate's pack, a delta whose base is not in its
//! pack, an object over the size limit (or under one over it), a wanted id that is not a
//! blob, anything that does not decode (a corrupt pack), and every pack this reader does not
//! know (an index that is not version 2 with SHA-1 ids, or that records another pack's
//! checksum).
//!
//! Memory stays bounded: the index is read once per pack (in memory, about 90 bytes an object
//! while the forest is built), its size is checked against its object count before anything is
//! allocated for it, a compressed span is read no longer than zlib can need, headers are
//! read in a forward pass through a 1 MiB window, and a chain holds at most [`HELD_BUDGET`]
//! bytes of bases at once; past it, the rest of that chain goes back to the caller.

use super::delta::apply_delta_into;
use super::objects::Key;
use flate2::{Decompress, FlushDecompress, Status};
use rayon::prelude::*;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The bytes of bases one chain may hold while its deltas are applied.
const HELD_BUDGET: u64 = 1 << 30;

/// No entry: no parent, or not wanted.
pub const NONE: u32 = u32::MAX;

/// Pack entry types, as the pack stores them.
const COMMIT: u8 = 1;
pub const TREE: u8 = 2;
const BLOB: u8 = 3;
const TAG: u8 = 4;
const OFS_DELTA: u8 = 6;
const REF_DELTA: u8 = 7;

/// One object of a pack.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Where its header starts.
    offset: u64,
    /// The object's size (a whole object) or the delta's (a delta).
    size: u64,
    /// The entry it is a delta of: [`NONE`] for a whole object, or a base not in the pack.
    parent: u32,
    /// Its pack type.
    kind: u8,
    /// The header's length: the compressed data starts this far past `offset`.
    header: u8,
}

/// The pack files of the object directory of `git_dir` that have an index, largest first (a
/// repository's one big pack holds nearly everything; later fetches add small ones).
pub fn pack_files(git_dir: &Path) -> Vec<PathBuf> {
    let dir = git_dir.join("objects").join("pack");
    let mut packs: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pack") && p.is_file())
                .filter(|p| p.with_extension("idx").is_file())
                .filter_map(|p| Some((std::fs::metadata(&p).ok()?.len(), p)))
                .collect()
        })
        .unwrap_or_default();
    packs.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    packs.into_iter().map(|(_, p)| p).collect()
}

/// The repository's packs that open ([`Pack::open`]), largest first, opened when first asked
/// for and then kept: opening one reads every entry's header (Spack's 879,000: 0.2 s on one
/// core), so a history scan opens them once, for its trees and its blobs.
pub struct Packs {
    git_dir: PathBuf,
    opened: std::sync::OnceLock<Vec<Pack>>,
}

impl Packs {
    pub fn new(git_dir: &Path) -> Packs {
        Packs {
            git_dir: git_dir.to_path_buf(),
            opened: std::sync::OnceLock::new(),
        }
    }

    /// None: for a repository whose objects are read through git's readers.
    pub fn none() -> Packs {
        let opened = std::sync::OnceLock::new();
        let _ = opened.set(Vec::new());
        Packs {
            git_dir: PathBuf::new(),
            opened,
        }
    }

    pub fn get(&self) -> &[Pack] {
        self.opened.get_or_init(|| {
            pack_files(&self.git_dir)
                .iter()
                .filter_map(|f| Pack::open(f))
                .collect()
        })
    }
}

/// One pack: its entries in offset order, each with its id and the base it is a delta of.
pub struct Pack {
    file: File,
    entries: Vec<Entry>,
    /// The id of each entry.
    pub keys: Vec<Key>,
    /// Where the last entry's data ends: the trailer's start.
    end: u64,
}

impl Pack {
    /// Opens the pack at `path` with its index. `None` for a pack this reader does not know or
    /// cannot read (a damaged header included); the caller reads its objects another way.
    pub fn open(path: &Path) -> Option<Pack> {
        let (ids, offsets, sum) = read_index(&path.with_extension("idx"))?;
        let file = File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut head = [0u8; 12];
        file.read_exact_at(&mut head, 0).ok()?;
        // The index names its pack by the pack's checksum, the pack's last 20 bytes (git
        // refuses a pair that differ): an index of another pack would give every id another
        // object's bytes.
        let mut trailer = [0u8; 20];
        file.read_exact_at(&mut trailer, len.checked_sub(20)?)
            .ok()?;
        if trailer != sum {
            return None;
        }
        let version = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let count = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as usize;
        if &head[..4] != b"PACK" || !(version == 2 || version == 3) || count != ids.len() {
            return None;
        }
        let end = len.checked_sub(20)?;
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        order.sort_unstable_by_key(|&i| offsets[i as usize]);
        let by_offset: Vec<u64> = order.iter().map(|&i| offsets[i as usize]).collect();
        if by_offset.first().is_some_and(|&o| o < 12)
            || by_offset.last().is_some_and(|&o| o >= end)
            || by_offset.windows(2).any(|w| w[0] == w[1])
        {
            return None;
        }
        let mut window = Window::new(&file);
        let mut entries = Vec::with_capacity(by_offset.len());
        let mut named_bases: Vec<(usize, Key)> = Vec::new();
        for (i, &offset) in by_offset.iter().enumerate() {
            let next = by_offset.get(i + 1).copied().unwrap_or(end);
            let bytes = window.at(offset, (next - offset).min(32) as usize)?;
            let (kind, size, mut at) = object_header(bytes)?;
            let mut parent = NONE;
            match kind {
                OFS_DELTA => {
                    let (back, used) = ofs_distance(bytes.get(at..)?)?;
                    at += used;
                    // A base lies strictly before its delta, so chains cannot loop.
                    let base = offset.checked_sub(back).filter(|_| back > 0)?;
                    parent = by_offset.binary_search(&base).map_or(NONE, |p| p as u32);
                }
                REF_DELTA => {
                    let id: [u8; 20] = bytes.get(at..at + 20)?.try_into().ok()?;
                    at += 20;
                    named_bases.push((i, Key(id)));
                }
                COMMIT..=TAG => {}
                _ => return None,
            }
            entries.push(Entry {
                offset,
                size,
                parent,
                kind,
                header: u8::try_from(at).ok()?,
            });
        }
        // A base named by id is used only when it is in this pack (a thin pack's is not).
        for (i, base) in named_bases {
            if let Ok(s) = ids.binary_search(&base)
                && let Ok(p) = by_offset.binary_search(&offsets[s])
                && p != i
            {
                entries[i].parent = p as u32;
            }
        }
        let keys = order.iter().map(|&i| ids[i as usize]).collect();
        Some(Pack {
            file,
            entries,
            keys,
            end,
        })
    }

    /// Each entry's type, a delta's being its chain's (0 when its base is not in the pack or
    /// its chain loops).
    pub fn kinds(&self) -> Vec<u8> {
        const UNKNOWN: u8 = 0;
        const VISITING: u8 = 0xff;
        const BROKEN: u8 = 0xfe;
        let mut kinds = vec![UNKNOWN; self.entries.len()];
        let mut chain = Vec::new();
        for i in 0..self.entries.len() {
            if kinds[i] != UNKNOWN {
                continue;
            }
            // Up the chain to a known type or a whole object, then every delta on the way
            // takes its type; each entry is climbed once.
            chain.clear();
            let mut j = i as u32;
            let kind = loop {
                if j == NONE {
                    break BROKEN;
                }
                match kinds[j as usize] {
                    VISITING => break BROKEN,
                    UNKNOWN => {}
                    known => break known,
                }
                let e = &self.entries[j as usize];
                if (COMMIT..=TAG).contains(&e.kind) {
                    kinds[j as usize] = e.kind;
                    break e.kind;
                }
                kinds[j as usize] = VISITING;
                chain.push(j);
                j = e.parent;
            };
            for &c in &chain {
                kinds[c as usize] = kind;
            }
        }
        for k in &mut kinds {
            if *k == BROKEN {
                *k = 0;
            }
        }
        kinds
    }

    /// The part of this pack's delta forest that leads to the entries `want` names (per entry,
    /// in the order of [`Pack::keys`]: the caller's number for it, or [`NONE`]).
    pub fn forest(&self, want: &[u32]) -> Forest {
        let n = self.entries.len();
        let mut needed = vec![false; n];
        for (i, &w) in want.iter().enumerate() {
            if w == NONE {
                continue;
            }
            let mut j = i as u32;
            // Named bases can loop in a damaged pack; each entry is marked once.
            while j != NONE && !needed[j as usize] {
                needed[j as usize] = true;
                j = self.entries[j as usize].parent;
            }
        }
        // The needed entries' children, grouped by base.
        let mut start = vec![0u32; n + 1];
        for (i, e) in self.entries.iter().enumerate() {
            if needed[i] && e.parent != NONE {
                start[e.parent as usize + 1] += 1;
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut children = vec![0u32; start[n] as usize];
        for (i, e) in self.entries.iter().enumerate() {
            if needed[i] && e.parent != NONE {
                let slot = &mut fill[e.parent as usize];
                children[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        let roots = (0..n as u32)
            .filter(|&i| {
                let e = &self.entries[i as usize];
                needed[i as usize] && e.parent == NONE && (COMMIT..=TAG).contains(&e.kind)
            })
            .collect();
        Forest {
            start,
            children,
            roots,
        }
    }

    /// Decodes the blobs of this pack that `want` names (see [`Pack::forest`]), each delta
    /// chain once, chains in parallel, and hands each to `each` ([`Blob`]), with the bases on
    /// the way to them. `each` answers with its state for the blob (handed to the blobs stored
    /// as deltas of it) and, for a wanted blob, its result. Returns the results with the
    /// caller's numbers, by entry in pack order, for the blobs served; the others are the
    /// caller's to read.
    pub fn read_blobs<T: Send, S: Default>(
        &self,
        want: &[u32],
        limit: u64,
        each: impl Fn(Blob<'_, S>) -> (S, Option<T>) + Sync,
    ) -> Vec<(u32, T)> {
        let forest = self.forest(want);
        let mut out: Vec<(u32, u32, T)> = forest
            .roots
            .par_iter()
            .with_max_len(1)
            .flat_map_iter(|&root| {
                let mut out = Vec::new();
                self.chain(
                    root,
                    &forest,
                    want,
                    limit,
                    &mut out,
                    &|out, node: Node<S>| {
                        if node.kind != BLOB {
                            return S::default();
                        }
                        let item = (node.item != NONE).then_some(node.item);
                        let (state, result) = each(Blob {
                            item,
                            data: node.data,
                            base: node
                                .base
                                .map(|(_, bytes, state)| (state, bytes.len(), node.delta)),
                            has_deltas: node.has_deltas,
                        });
                        if let (Some(item), Some(result)) = (item, result) {
                            out.push((node.entry, item, result));
                        }
                        state
                    },
                );
                out
            })
            .collect();
        out.sort_by_key(|(entry, _, _)| *entry);
        out.into_iter().map(|(_, item, t)| (item, t)).collect()
    }

    /// One chain, depth first from its root: each object decoded from its base's bytes and
    /// handed to `visit`, whose answer (its state for the object) is kept, with the bytes,
    /// only while the object's own deltas are applied.
    pub fn chain<S, C>(
        &self,
        root: u32,
        forest: &Forest,
        want: &[u32],
        limit: u64,
        ctx: &mut C,
        visit: &impl Fn(&mut C, Node<'_, S>) -> S,
    ) {
        let mut lent = Lent::take();
        let scratch = lent.get();
        let kind = self.entries[root as usize].kind;
        let size = self.entries[root as usize].size;
        if size > limit {
            return;
        }
        let first = scratch.spare.pop().unwrap_or_default();
        let Some(data) = self.inflate(root, size, scratch, first) else {
            return;
        };
        let children = |e: u32| forest.start[e as usize]..forest.start[e as usize + 1];
        let state = visit(
            ctx,
            Node {
                entry: root,
                item: want[root as usize],
                kind,
                data: &data,
                base: None,
                delta: &[],
                has_deltas: !children(root).is_empty(),
            },
        );
        let mut held = data.len() as u64;
        // (entry, its bytes, the visitor's state, the next of its children to decode)
        let mut stack: Vec<(u32, Vec<u8>, S, u32)> =
            vec![(root, data, state, children(root).start)];
        while let Some(top) = stack.last_mut() {
            let (node, next) = (top.0, top.3);
            if next == children(node).end {
                held -= top.1.len() as u64;
                if let Some((_, bytes, _, _)) = stack.pop() {
                    scratch.spare.push(bytes);
                }
                continue;
            }
            top.3 += 1;
            let child = forest.children[next as usize];
            let delta_size = self.entries[child as usize].size;
            // A delta is never much larger than what it builds; a larger one is not decoded.
            if delta_size > limit.saturating_mul(2).saturating_add(1 << 16) {
                continue;
            }
            let into = std::mem::take(&mut scratch.delta);
            let Some(delta) = self.inflate(child, delta_size, scratch, into) else {
                continue;
            };
            let mut bytes = scratch.spare.pop().unwrap_or_default();
            if apply_delta_into(&top.1, &delta, limit, &mut bytes).is_none() {
                scratch.spare.push(bytes);
                scratch.delta = delta;
                continue;
            }
            let state = visit(
                ctx,
                Node {
                    entry: child,
                    item: want[child as usize],
                    kind,
                    data: &bytes,
                    base: Some((node, &top.1, &top.2)),
                    delta: &delta,
                    has_deltas: !children(child).is_empty(),
                },
            );
            scratch.delta = delta;
            if !children(child).is_empty() && held + bytes.len() as u64 <= HELD_BUDGET {
                held += bytes.len() as u64;
                stack.push((child, bytes, state, children(child).start));
            } else {
                scratch.spare.push(bytes);
            }
        }
    }

    /// The inflated data of `entry`, which must be exactly `size` bytes, into `data`.
    fn inflate(
        &self,
        entry: u32,
        size: u64,
        scratch: &mut Scratch,
        mut data: Vec<u8>,
    ) -> Option<Vec<u8>> {
        let e = self.entries[entry as usize];
        let from = e.offset + u64::from(e.header);
        let to = self
            .entries
            .get(entry as usize + 1)
            .map_or(self.end, |n| n.offset);
        // zlib never needs more than 5 bytes per stored block of 16 KiB, plus its header and
        // checksum: a gap padded past that (a hostile pack) is not read.
        let bound = size.saturating_add(size / 16_384 * 5).saturating_add(64);
        let compressed = &mut scratch.compressed;
        compressed.clear();
        compressed.resize(usize::try_from(to.checked_sub(from)?.min(bound)).ok()?, 0);
        self.file.read_exact_at(compressed, from).ok()?;
        // One byte of room past the size tells a stream that is too long.
        data.clear();
        data.reserve(usize::try_from(size).ok()?.checked_add(1)?);
        let z = &mut scratch.z;
        z.reset(true);
        match z.decompress_vec(compressed, &mut data, FlushDecompress::Finish) {
            Ok(Status::StreamEnd) if data.len() as u64 == size => Some(data),
            _ => None,
        }
    }
}

/// What a thread's chains reuse: the inflater and the buffers of objects done with (fresh
/// pages for every version of a big tree cost more than copying into old ones, and Spack's
/// history is 470,000 chains).
struct Scratch {
    z: Decompress,
    compressed: Vec<u8>,
    delta: Vec<u8>,
    spare: Vec<Vec<u8>>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Option<Scratch>> = const { std::cell::RefCell::new(None) };
}

/// A thread's [`Scratch`], lent to one chain and given back, trimmed, however it ends.
struct Lent(Option<Scratch>);

impl Lent {
    fn take() -> Lent {
        Lent(SCRATCH.with(|s| s.borrow_mut().take()))
    }

    fn get(&mut self) -> &mut Scratch {
        self.0.get_or_insert_with(Scratch::new)
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(mut scratch) = self.0.take() {
            scratch.trim();
            SCRATCH.with(|s| *s.borrow_mut() = Some(scratch));
        }
    }
}

impl Scratch {
    /// Buffers kept between chains, at most, and the largest kept.
    const KEEP: usize = 4;
    const KEEP_SIZE: usize = 4 << 20;

    fn new() -> Scratch {
        Scratch {
            z: Decompress::new(true),
            compressed: Vec::new(),
            delta: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Lets go of what is more than a thread should hold between chains.
    fn trim(&mut self) {
        self.spare.retain(|b| b.capacity() <= Self::KEEP_SIZE);
        self.spare.truncate(Self::KEEP);
        for b in [&mut self.compressed, &mut self.delta] {
            if b.capacity() > Self::KEEP_SIZE {
                *b = Vec::new();
            }
        }
    }
}

/// The part of a pack's delta forest that leads to wanted entries.
pub struct Forest {
    /// `children[start[i]..start[i + 1]]` are entry `i`'s needed deltas.
    start: Vec<u32>,
    children: Vec<u32>,
    /// The whole objects the needed chains start from.
    pub roots: Vec<u32>,
}

/// An object decoded from a pack, with what it was built from.
pub struct Node<'a, S> {
    /// Its entry (an index into [`Pack::keys`]).
    pub entry: u32,
    /// The caller's number for it, or [`NONE`] for a base only on the way to one.
    pub item: u32,
    /// Its type (a delta's is its chain's).
    pub kind: u8,
    /// Its bytes.
    pub data: &'a [u8],
    /// The entry it is a delta of, that entry's bytes and the visitor's state for it.
    pub base: Option<(u32, &'a [u8], &'a S)>,
    /// The delta data that built it from its base (empty for a whole object).
    pub delta: &'a [u8],
    /// Whether objects needed are stored as deltas of it (its state is then kept for them).
    pub has_deltas: bool,
}

/// A blob decoded by [`Pack::read_blobs`].
pub struct Blob<'a, S> {
    /// The caller's number for it; `None` for a base only on the way to wanted blobs.
    pub item: Option<u32>,
    /// Its bytes.
    pub data: &'a [u8],
    /// For a delta: the state answered for its base, the base's length, and the delta data.
    pub base: Option<(&'a S, usize, &'a [u8])>,
    /// Whether blobs needed are stored as deltas of it.
    pub has_deltas: bool,
}

/// Reads a version 2 pack index with SHA-1 ids: the ids (sorted), each one's offset, and the
/// checksum of the pack it indexes.
fn read_index(path: &Path) -> Option<(Vec<Key>, Vec<u64>, [u8; 20])> {
    // The object count is in the header: the file's size must fit it (each object 28 bytes,
    // at most 8 more for a large offset) before the file is read or anything is allocated.
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut head = [0u8; 8 + 1024];
    std::io::Read::read_exact(&mut file, &mut head).ok()?;
    let count = u64::from(u32::from_be_bytes(
        head[8 + 255 * 4..8 + 256 * 4].try_into().ok()?,
    ));
    let least = 8 + 1024 + 40 + count * 28;
    if !(least..=least + count * 8).contains(&len) {
        return None;
    }
    let data = std::fs::read(path).ok()?;
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    if data.get(..4)? != b"\xfftOc" || be32(4)? != 2 {
        return None;
    }
    let n = be32(8 + 255 * 4)? as usize;
    let ids_at: usize = 8 + 1024;
    let offsets_at = ids_at.checked_add(n.checked_mul(24)?)?;
    let large_at = offsets_at.checked_add(n.checked_mul(4)?)?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let at = ids_at + i * 20;
        ids.push(Key(data.get(at..at + 20)?.try_into().ok()?));
    }
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        return None;
    }
    let mut offsets = Vec::with_capacity(n);
    let mut large = 0usize;
    for i in 0..n {
        let v = be32(offsets_at + i * 4)?;
        if v & 0x8000_0000 == 0 {
            offsets.push(u64::from(v));
        } else {
            let at = large_at.checked_add(8 * (v & 0x7fff_ffff) as usize)?;
            offsets.push(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?));
            large += 1;
        }
    }
    // The layout must account for every byte: an index with longer ids (SHA-256) does not.
    let expected = large_at
        .checked_add(large.checked_mul(8)?)?
        .checked_add(40)?;
    if data.len() != expected {
        return None;
    }
    let sum: [u8; 20] = data.get(expected - 40..expected - 20)?.try_into().ok()?;
    Some((ids, offsets, sum))
}

/// A pack object's header: its type, its size and the header's length.
fn object_header(bytes: &[u8]) -> Option<(u8, u64, usize)> {
    let first = *bytes.first()?;
    let kind = (first >> 4) & 7;
    let mut size = u64::from(first & 15);
    let mut shift = 4;
    let mut at = 1;
    let mut byte = first;
    while byte & 0x80 != 0 {
        byte = *bytes.get(at)?;
        at += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    Some((kind, size, at))
}

/// How far before a delta its base starts (the offset encoding of `OFS_DELTA`), and the
/// encoding's length.
fn ofs_distance(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut byte = *bytes.first()?;
    let mut value = u64::from(byte & 0x7f);
    let mut at = 1;
    while byte & 0x80 != 0 {
        byte = *bytes.get(at)?;
        at += 1;
        if at > 9 {
            return None;
        }
        value = value
            .checked_add(1)?
            .checked_mul(128)?
            .checked_add(u64::from(byte & 0x7f))?;
    }
    Some((value, at))
}

/// A forward-moving window over a file: headers are read in one pass, not one read each.
struct Window<'f> {
    file: &'f File,
    buf: Vec<u8>,
    start: u64,
    len: usize,
}

impl<'f> Window<'f> {
    const SIZE: usize = 1 << 20;

    fn new(file: &'f File) -> Window<'f> {
        Window {
            file,
            buf: vec![0; Self::SIZE],
            start: 0,
            len: 0,
        }
    }

    /// `want` bytes at `offset` (at most the window's size); `None` past the end of the file.
    fn at(&mut self, offset: u64, want: usize) -> Option<&[u8]> {
        let want = want.min(Self::SIZE);
        let inside = offset >= self.start && offset + want as u64 <= self.start + self.len as u64;
        if !inside {
            self.start = offset;
            self.len = 0;
            while self.len < Self::SIZE {
                match self
                    .file
                    .read_at(&mut self.buf[self.len..], offset + self.len as u64)
                {
                    Ok(0) => break,
                    Ok(n) => self.len += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return None,
                }
            }
        }
        let from = usize::try_from(offset - self.start).ok()?;
        self.buf
            .get(from..from + want)
            .filter(|_| from + want <= self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_offsets_decode_and_refuse_overflow() {
        // blob (3) of 300 bytes: 0b1011_1100 = 0xbc (size low 4 bits 12), then 300 >> 4 = 18
        assert_eq!(object_header(&[0xbc, 18]), Some((3, 300, 2)));
        assert_eq!(object_header(&[0xbc]), None);
        assert_eq!(object_header(&[0xff; 12]), None);
        // the offset encoding adds one per continuation: [0x80, 0x00] is 128
        assert_eq!(ofs_distance(&[0x05]), Some((5, 1)));
        assert_eq!(ofs_distance(&[0x80, 0x00]), Some((128, 2)));
        assert_eq!(ofs_distance(&[0xff; 12]), None);
    }
}
