//! A tree stored in a pack as a delta of another tree, compared with that base from the
//! delta's instructions rather than from the bytes of both.
//!
//! The delta says which of the tree's bytes are copied from the base. A run of whole base
//! entries copied as they are is the same run of entries in this tree, so it is skipped without
//! parsing: only the entries built from inserted bytes, or from a copy that starts or ends
//! inside an entry, are parsed and matched with the base by name. On Spack's history, where git
//! often stores a version of the 8,500-entry packages directory against a version many commits
//! away, matching by shared start and end ([`compare`](super::treewalk::compare)) still parsed
//! most of the tree; the instructions name the few entries that differ.

use super::delta::{Segment, segments};
use super::objects::tree_entry;
use super::treewalk::{Added, Compared, Names, next_entry, tree_order};

/// Compares tree `data`, built by `delta` from `base` (whose entry starts, with its end last,
/// are `base_starts`), with that base: the same [`Compared`] as
/// [`compare`](super::treewalk::compare) gives, in other words the base's entries not in
/// `data` byte for byte, the entries of `data` not in the base byte for byte, and the entry
/// starts of `data`. `None` when it cannot tell from the delta (no base starts, a tree of
/// 4 GiB or more, a delta that does not build `data` from `base`): the caller compares bytes.
pub fn compare_delta(
    base: &[u8],
    base_starts: &[u32],
    delta: &[u8],
    data: &[u8],
    names: &mut Names,
) -> Option<Compared> {
    let (&base_end, entry_starts) = base_starts.split_last()?;
    u32::try_from(data.len()).ok()?;
    if base_end as usize > base.len() {
        return None;
    }
    let segments = segments(delta, base.len(), data.len())?;
    let mut starts: Vec<u32> = Vec::with_capacity(base_starts.len() + 8);
    // Ranges of base entries (by index) that are in `data` unchanged.
    let mut kept: Vec<(usize, usize)> = Vec::new();
    let mut added: Vec<Added> = Vec::new();
    let mut corrupt = false;
    let mut pos = 0usize;
    let mut seg = 0usize;
    // The base entry the next parsed entry most likely matches: the one after the last run
    // kept or entry found (an edit replaces entries where a copy stops).
    let mut hint = 0usize;
    while pos < data.len() {
        while segments.get(seg).is_some_and(|s| s.to <= pos) {
            seg += 1;
        }
        if let Some(&Segment {
            at,
            to,
            from: Some(from),
        }) = segments.get(seg)
        {
            // Where `pos` comes from in the base, and where the copy ends there.
            let b = from + (pos - at);
            let copy_end = from + (to - at);
            if let Ok(k) = entry_starts.binary_search(&(b as u32)) {
                let whole = base_starts[k + 1..].partition_point(|&s| s as usize <= copy_end);
                if whole > 0 {
                    let j = k + whole;
                    // Both below 4 GiB: the shift cannot wrap in a way that matters.
                    let shift = |s: u32| s.wrapping_sub(b as u32).wrapping_add(pos as u32);
                    starts.extend(base_starts[k..j].iter().map(|&s| shift(s)));
                    kept.push((k, j));
                    hint = j;
                    pos = shift(base_starts[j]) as usize;
                    continue;
                }
            }
        }
        let Some((entry, next)) = next_entry(data, pos, &mut corrupt) else {
            break;
        };
        starts.push(pos as u32);
        let found = find(base, entry_starts, base_end as usize, &entry, hint);
        if let Some(j) = found {
            hint = j + 1;
        }
        match found {
            Some(j)
                if base[base_starts[j] as usize..base_starts[j + 1] as usize]
                    == data[pos..next] =>
            {
                kept.push((j, j + 1));
            }
            _ => added.push(Added {
                kind: entry.kind,
                id: entry.id,
                name: names.number(entry.name),
            }),
        }
        pos = next;
    }
    starts.push(pos as u32);
    // The base's entries not kept are gone or changed.
    kept.sort_unstable();
    let mut removed = Vec::new();
    let mut next_kept = 0;
    let mut gone = |from: usize, to: usize, removed: &mut Vec<u32>| {
        for &s in &base_starts[from..to] {
            if let Some(Ok((e, _))) = tree_entry(&base[..base_end as usize], s as usize) {
                removed.push(names.number(e.name));
            }
        }
    };
    for (from, to) in kept {
        if from > next_kept {
            gone(next_kept, from, &mut removed);
        }
        next_kept = next_kept.max(to);
    }
    if next_kept < entry_starts.len() {
        gone(next_kept, entry_starts.len(), &mut removed);
    }
    Some(Compared {
        removed,
        added,
        starts,
        corrupt,
    })
}

/// The index of the base entry named as `entry` is: entry `hint` if it is, else by binary
/// search in git's order (the base is sorted unless corrupt, and a corrupt base only makes an
/// entry look new).
fn find(
    base: &[u8],
    entry_starts: &[u32],
    base_end: usize,
    entry: &super::objects::TreeEntry<'_>,
    hint: usize,
) -> Option<usize> {
    let base = &base[..base_end];
    if let Some(&s) = entry_starts.get(hint)
        && let Some(Ok((e, _))) = tree_entry(base, s as usize)
        && e.name == entry.name
    {
        return Some(hint);
    }
    let (mut lo, mut hi) = (0usize, entry_starts.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some(Ok((e, _))) = tree_entry(base, entry_starts[mid] as usize) else {
            return None;
        };
        match e.name.cmp(entry.name) {
            std::cmp::Ordering::Equal => return Some(mid),
            _ => match tree_order(&e, entry) {
                std::cmp::Ordering::Less => lo = mid + 1,
                _ => hi = mid,
            },
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::git::treewalk::compare;
    use crate::testing::{Rng, git_varint as varint};

    /// Raw tree bytes of `entries` (name, is a tree, id byte), in git's order.
    fn tree(entries: &std::collections::BTreeMap<Vec<u8>, (bool, u8)>) -> Vec<u8> {
        let mut sorted: Vec<(Vec<u8>, bool, u8)> = entries
            .iter()
            .map(|(n, &(t, id))| (n.clone(), t, id))
            .collect();
        sorted.sort_by(|a, b| {
            let key = |e: &(Vec<u8>, bool, u8)| {
                let mut k = e.0.clone();
                if e.1 {
                    k.push(b'/');
                }
                k
            };
            key(a).cmp(&key(b))
        });
        let mut out = Vec::new();
        for (name, is_tree, id) in sorted {
            out.extend_from_slice(if is_tree { b"40000 " } else { b"100644 " });
            out.extend_from_slice(&name);
            out.push(0);
            out.extend_from_slice(&[id; 20]);
        }
        out
    }

    /// Git delta data building `target` from `base` with `ops` ((from, len) copies or
    /// inserted bytes), long pieces split as git's encoding needs.
    fn encode(base: &[u8], target: &[u8], ops: &[Result<(usize, usize), Vec<u8>>]) -> Vec<u8> {
        let mut d = Vec::new();
        varint(base.len(), &mut d);
        varint(target.len(), &mut d);
        for op in ops {
            match op {
                Ok((from, len)) => {
                    let mut at = *from;
                    let mut left = *len;
                    while left > 0 {
                        let n = left.min(0xffff);
                        let mut flags = 0x80u8;
                        let mut bytes = Vec::new();
                        for k in 0..4 {
                            let b = (at >> (8 * k)) as u8;
                            if b != 0 {
                                flags |= 1 << k;
                                bytes.push(b);
                            }
                        }
                        for k in 0..2 {
                            let b = (n >> (8 * k)) as u8;
                            if b != 0 {
                                flags |= 0x10 << k;
                                bytes.push(b);
                            }
                        }
                        d.push(flags);
                        d.extend_from_slice(&bytes);
                        at += n;
                        left -= n;
                    }
                }
                Err(bytes) => {
                    for piece in bytes.chunks(127) {
                        d.push(piece.len() as u8);
                        d.extend_from_slice(piece);
                    }
                }
            }
        }
        d
    }

    /// Delta instructions for `target` from `base`, as a packer could choose them: the bytes
    /// of entries unchanged copied from where they are in the base (runs joined, then cut at
    /// random bytes, some pieces inserted instead), a changed entry's mode and name copied
    /// and its id inserted or copied from another entry with that id, new entries inserted.
    fn delta_for(base: &[u8], target: &[u8], rng: &mut Rng) -> Vec<u8> {
        let entries = |data: &[u8]| {
            let mut out = Vec::new();
            let mut pos = 0;
            while let Some(Ok((e, next))) = tree_entry(data, pos) {
                out.push((e.name.to_vec(), e.id, pos, next));
                pos = next;
            }
            out
        };
        let base_entries = entries(base);
        let mut pieces: Vec<Result<(usize, usize), Vec<u8>>> = Vec::new();
        let push_copy = |pieces: &mut Vec<Result<(usize, usize), Vec<u8>>>, from, len| {
            if let Some(Ok((f, l))) = pieces.last_mut()
                && *f + *l == from
            {
                *l += len;
                return;
            }
            pieces.push(Ok((from, len)));
        };
        let target_entries = entries(target);
        let parsed = target_entries.last().map_or(0, |e| e.3);
        for (name, id, pos, next) in target_entries {
            let raw = &target[pos..next];
            match base_entries.iter().find(|b| b.0 == name) {
                Some(b) if &base[b.2..b.3] == raw => push_copy(&mut pieces, b.2, b.3 - b.2),
                Some(b) if rng.below(2) == 0 && base[b.2..b.3 - 20] == raw[..raw.len() - 20] => {
                    push_copy(&mut pieces, b.2, b.3 - b.2 - 20);
                    match base_entries.iter().find(|o| o.1 == id) {
                        Some(o) => push_copy(&mut pieces, o.3 - 20, 20),
                        None => pieces.push(Err(id.0.to_vec())),
                    }
                }
                _ => pieces.push(Err(raw.to_vec())),
            }
        }
        // A corrupt tree's unreadable rest.
        if parsed < target.len() {
            pieces.push(Err(target[parsed..].to_vec()));
        }
        // Cut copies at random bytes; insert some pieces' bytes instead of copying them.
        let mut ops = Vec::new();
        for p in pieces {
            match p {
                Ok((mut from, mut len)) => {
                    while len > 0 {
                        let n = if rng.below(3) == 0 {
                            1 + rng.below(len)
                        } else {
                            len
                        };
                        if rng.below(8) == 0 {
                            ops.push(Err(base[from..from + n].to_vec()));
                        } else {
                            ops.push(Ok((from, n)));
                        }
                        from += n;
                        len -= n;
                    }
                }
                Err(bytes) => ops.push(Err(bytes)),
            }
        }
        encode(base, target, &ops)
    }

    /// What a comparison found, by name: removed names, added entries, starts, corrupt.
    type Seen = (Vec<Vec<u8>>, Vec<(Vec<u8>, Key)>, Vec<u32>, bool);

    fn seen(c: &Compared, names: &Names) -> Seen {
        let mut removed: Vec<Vec<u8>> = c.removed.iter().map(|&n| names.name(n).to_vec()).collect();
        removed.sort();
        let mut added: Vec<(Vec<u8>, Key)> = c
            .added
            .iter()
            .map(|a| (names.name(a.name).to_vec(), a.id))
            .collect();
        added.sort();
        (removed, added, c.starts.clone(), c.corrupt)
    }

    use crate::sources::git::objects::Key;

    /// Over many random versions of a directory, each stored as a delta of the one before
    /// with instructions cut at random bytes, comparing from the delta finds exactly what
    /// comparing the bytes finds: the same entries removed and added, the same starts.
    #[test]
    fn comparing_from_the_delta_finds_what_comparing_bytes_finds() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut entries: std::collections::BTreeMap<Vec<u8>, (bool, u8)> = (0..200)
            .map(|i| (format!("p{i:03}").into_bytes(), (i % 7 == 0, (i % 5) as u8)))
            .collect();
        let mut base = tree(&entries);
        let mut from_delta = 0;
        let mut corrupted = 0;
        for _ in 0..400 {
            for _ in 0..1 + rng.below(4) {
                let names: Vec<Vec<u8>> = entries.keys().cloned().collect();
                let at = names[rng.below(names.len())].clone();
                match rng.below(5) {
                    0 => {
                        entries.remove(&at);
                    }
                    1 => {
                        let mut n = at.clone();
                        n.extend_from_slice(if rng.below(2) == 0 { b"-" } else { b".d" });
                        entries.insert(n, (rng.below(2) == 0, rng.below(9) as u8));
                    }
                    _ => {
                        entries.insert(at, (rng.below(3) == 0, rng.below(9) as u8));
                    }
                }
            }
            let mut target = tree(&entries);
            // Some versions are corrupt from an entry on (a mode that is not octal), and are
            // then the base of the next.
            let corrupt = rng.below(10) == 0;
            if corrupt {
                let at = rng.below(target.len());
                let space = target[..at]
                    .iter()
                    .rposition(|&b| b == 0)
                    .map_or(0, |p| p + 21);
                if space < target.len() {
                    target[space] = b'9';
                }
            }
            let delta = delta_for(&base, &target, &mut rng);
            let mut names = Names::default();
            let whole = compare(None, &base, &mut names);
            let bytes = compare(Some((&base, &whole.starts)), &target, &mut names);
            let by_delta = compare_delta(&base, &whole.starts, &delta, &target, &mut names)
                .expect("a delta of a tree with starts is compared");
            assert_eq!(seen(&by_delta, &names), seen(&bytes, &names));
            corrupted += usize::from(by_delta.corrupt);
            from_delta += 1;
            base = target;
        }
        assert_eq!(from_delta, 400);
        assert!(corrupted > 20, "{corrupted} corrupt versions");
    }
}
