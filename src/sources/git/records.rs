//! The change records of walked trees, and the names they use: what the tree walks write and
//! attribution reads. Records are many and small (Spack: 500,000 trees, 2.9 million entries
//! added), so they live in arenas behind a map to numbers, and names are stored once.

use super::objects::{Key, Kind};
use crate::credential_files::may_be_credential;
use rustc_hash::FxHashMap;

/// A walked tree, as a change to a tree walked before it (or to nothing), as [`Records`]
/// holds it.
#[derive(Debug, Clone, Copy)]
pub struct TreeRec<'a> {
    pub prev: Option<Key>,
    /// Names of `prev`'s entries that are gone or changed.
    pub removed: &'a [Name],
    /// Entries new or changed relative to `prev`.
    pub added: &'a [Added],
    /// Whether a blob in `added` has a name that may make it a credential file
    /// ([`Names::may_be_credential`]).
    pub credential: bool,
}

/// An entry new or changed in a tree, relative to the tree's previous version.
#[derive(Debug, Clone, Copy)]
pub struct Added {
    pub kind: Kind,
    pub id: Key,
    pub name: Name,
}

/// A tree entry's name, by its number in [`Names`].
pub type Name = u32;

/// The names of tree entries, each stored once. A history's change records hold millions of
/// names (git/git: 5.7 million entries added and as many removed) but only thousands of
/// distinct ones; one allocation per recorded name made the records most of the memory of a
/// history scan (900 MB on git/git).
#[derive(Debug, Default)]
pub struct Names {
    numbers: FxHashMap<Box<[u8]>, Name>,
    names: Vec<Box<[u8]>>,
    /// By number, whether the name can make a blob a credential file
    /// ([`may_be_credential`]): asked of every blob a walk meets (Spack: 2.9 million), it
    /// is worked out once per name.
    credential: Vec<bool>,
}

impl Names {
    /// The number of `name`, given one if it is new.
    pub fn number(&mut self, name: &[u8]) -> Name {
        if let Some(&n) = self.numbers.get(name) {
            return n;
        }
        let n = self.names.len() as Name;
        self.names.push(name.into());
        self.credential.push(may_be_credential(name));
        self.numbers.insert(name.into(), n);
        n
    }

    pub fn name(&self, n: Name) -> &[u8] {
        self.names.get(n as usize).map_or(&[][..], |b| &b[..])
    }

    /// Whether a blob named `n` may be a credential file by its name
    /// ([`may_be_credential`]).
    pub fn may_be_credential(&self, n: Name) -> bool {
        self.credential.get(n as usize).copied().unwrap_or(false)
    }
}

/// Lists stored back to back in chunks: no allocation per list, and no copy of everything
/// when the store grows (a history's records are millions of entries in 500,000 lists).
#[derive(Debug)]
struct Arena<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena { chunks: Vec::new() }
    }
}

/// Where a list is in an [`Arena`]: chunk, start, length.
#[derive(Debug, Clone, Copy, Default)]
struct Span(u32, u32, u32);

impl Span {
    /// This span once its arena's chunks come after `chunks` others.
    fn moved(self, chunks: u32) -> Span {
        if self.2 == 0 {
            return Span::default();
        }
        Span(self.0 + chunks, self.1, self.2)
    }
}

impl<T: Copy> Arena<T> {
    const CHUNK: usize = 1 << 16;

    fn push(&mut self, items: &[T]) -> Span {
        if items.is_empty() {
            return Span::default();
        }
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= items.len());
        if !fits {
            self.chunks
                .push(Vec::with_capacity(Self::CHUNK.max(items.len())));
        }
        let chunk = self.chunks.len() - 1;
        let c = &mut self.chunks[chunk];
        let start = c.len();
        c.extend_from_slice(items);
        // A list is a tree's entries: far below 4 billion (a tree of 4 GiB has 100 million).
        Span(chunk as u32, start as u32, items.len() as u32)
    }

    /// Moves `other`'s chunks after these; returns how many chunks came before them, which
    /// its spans are moved by.
    fn append(&mut self, mut other: Arena<T>) -> u32 {
        let from = self.chunks.len() as u32;
        self.chunks.append(&mut other.chunks);
        from
    }

    fn get(&self, Span(chunk, start, len): Span) -> &[T] {
        self.chunks
            .get(chunk as usize)
            .and_then(|c| c.get(start as usize..start as usize + len as usize))
            .unwrap_or(&[])
    }
}

/// A record's place in [`Records`].
#[derive(Debug, Clone, Copy)]
struct Slot {
    prev: Option<Key>,
    removed: Span,
    added: Span,
    credential: bool,
}

/// Every walked tree's change record, and the names they use. Records are small and many
/// (Spack: 500,000 trees, 2.9 million entries added): a map to a number, and the lists in
/// arenas, take half the memory of a map to boxed lists.
#[derive(Debug, Default)]
pub struct Records {
    index: FxHashMap<Key, u32>,
    slots: Vec<Slot>,
    added: Arena<Added>,
    removed: Arena<Name>,
    pub names: Names,
}

impl Records {
    /// The record of tree `id`.
    pub fn get(&self, id: &Key) -> Option<TreeRec<'_>> {
        self.at(self.slot(id)?)
    }

    /// The number of tree `id`'s record: from 0, below the number of records made, and the
    /// same until the tree is recorded again.
    pub fn slot(&self, id: &Key) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// How many records were made (record numbers are below it).
    pub fn numbered(&self) -> usize {
        self.slots.len()
    }

    /// The record numbered `n` (see [`Records::slot`]).
    pub fn at(&self, n: u32) -> Option<TreeRec<'_>> {
        let slot = self.slots.get(n as usize)?;
        Some(TreeRec {
            prev: slot.prev,
            removed: self.removed.get(slot.removed),
            added: self.added.get(slot.added),
            credential: slot.credential,
        })
    }

    /// Whether tree `id` is recorded.
    pub fn contains(&self, id: &Key) -> bool {
        self.index.contains_key(id)
    }

    /// Records tree `id` (replacing a record it had).
    pub fn insert(&mut self, id: Key, prev: Option<Key>, removed: &[Name], added: &[Added]) {
        let credential = added
            .iter()
            .any(|a| a.kind == Kind::Blob && self.names.may_be_credential(a.name));
        let slot = Slot {
            prev,
            removed: self.removed.push(removed),
            added: self.added.push(added),
            credential,
        };
        // A replaced record gets a new slot (its old lists stay, unused).
        self.index.insert(id, self.slots.len() as u32);
        self.slots.push(slot);
    }

    /// Adds another walk's records; a tree both walked keeps the record it has here. The
    /// other's lists are moved, not copied: their names are renumbered in place and their
    /// chunks appended (merging the parts of a parallel walk copied every list once more).
    pub fn absorb(&mut self, other: Records) {
        if self.slots.is_empty() {
            *self = other;
            return;
        }
        let Records {
            index,
            slots,
            added: mut other_added,
            removed: mut other_removed,
            names,
        } = other;
        let renumber: Vec<Name> = names.names.iter().map(|n| self.names.number(n)).collect();
        let again = |n: Name| renumber.get(n as usize).copied().unwrap_or(n);
        for chunk in &mut other_added.chunks {
            for a in chunk.iter_mut() {
                a.name = again(a.name);
            }
        }
        for chunk in &mut other_removed.chunks {
            for n in chunk.iter_mut() {
                *n = again(*n);
            }
        }
        let added_from = self.added.append(other_added);
        let removed_from = self.removed.append(other_removed);
        let first_slot = self.slots.len() as u32;
        self.slots.extend(slots.into_iter().map(|s| Slot {
            prev: s.prev,
            removed: s.removed.moved(removed_from),
            added: s.added.moved(added_from),
            credential: s.credential,
        }));
        self.index.reserve(index.len());
        for (id, n) in index {
            self.index.entry(id).or_insert(first_slot + n);
        }
    }
}

#[cfg(test)]
impl Records {
    /// How many entries the records hold as added, in all.
    pub fn added_entries(&self) -> usize {
        self.added.chunks.iter().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        Key([n; 20])
    }

    /// A record as names: (prev, removed names, added (name, id)).
    type Named = (Option<Key>, Vec<Vec<u8>>, Vec<(Vec<u8>, Key)>);

    fn named(r: &Records, id: u8) -> Option<Named> {
        let rec = r.get(&key(id))?;
        Some((
            rec.prev,
            rec.removed
                .iter()
                .map(|&n| r.names.name(n).to_vec())
                .collect(),
            rec.added
                .iter()
                .map(|a| (r.names.name(a.name).to_vec(), a.id))
                .collect(),
        ))
    }

    fn record(r: &mut Records, id: u8, prev: Option<u8>, removed: &[&str], added: &[&str]) {
        let removed: Vec<Name> = removed
            .iter()
            .map(|n| r.names.number(n.as_bytes()))
            .collect();
        let added: Vec<Added> = added
            .iter()
            .map(|n| Added {
                kind: Kind::Blob,
                id: key(n.len() as u8),
                name: r.names.number(n.as_bytes()),
            })
            .collect();
        r.insert(key(id), prev.map(key), &removed, &added);
    }

    /// Merging a parallel walk's parts keeps every record as it was made, with the names the
    /// part numbered its own way, across chunks, and keeps this side's record of a tree both
    /// hold.
    #[test]
    fn absorbed_records_read_as_they_were_made() {
        let mut a = Records::default();
        record(&mut a, 1, None, &[], &["x", "shared"]);
        record(&mut a, 2, Some(1), &["x"], &["y"]);
        let mut b = Records::default();
        // Names numbered in another order, and more entries than one chunk holds.
        let many: Vec<String> = (0..Arena::<Added>::CHUNK + 10)
            .map(|i| format!("n{i}"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        record(&mut b, 3, None, &[], &["zz", "shared"]);
        record(&mut b, 4, Some(3), &["zz"], &many);
        record(&mut b, 5, Some(4), &["n7"], &["y"]);
        record(&mut b, 2, None, &[], &["other"]);
        let before: Vec<_> = [3, 4, 5].iter().map(|&i| named(&b, i)).collect();
        let mine = named(&a, 2);
        a.absorb(b);
        let after: Vec<_> = [3, 4, 5].iter().map(|&i| named(&a, i)).collect();
        assert_eq!(after, before);
        assert_eq!(named(&a, 2), mine, "this side's record is kept");
        assert!(named(&a, 1).is_some());
        assert!(named(&a, 6).is_none());
    }
}
