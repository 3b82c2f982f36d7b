//! The change records of walked trees, and the names they use: what the tree walks write and
//! attribution reads. Records are many and small (Spack: 500,000 trees, 2.9 million entries
//! added), so they live in arenas behind a map to numbers, and names are stored once.

use super::objects::{Key, Kind};
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
}

impl Names {
    /// The number of `name`, given one if it is new.
    pub fn number(&mut self, name: &[u8]) -> Name {
        if let Some(&n) = self.numbers.get(name) {
            return n;
        }
        let n = self.names.len() as Name;
        self.names.push(name.into());
        self.numbers.insert(name.into(), n);
        n
    }

    pub fn name(&self, n: Name) -> &[u8] {
        self.names.get(n as usize).map_or(&[][..], |b| &b[..])
    }
}

/// Lists stored back to back in chunks: no allocation per list, and no copy of everything
/// when the store grows (a history's records are millions of entries in 500,000 lists).
#[derive(Debug)]
struct Arena<T> {
    chunks: Vec<Vec<T>>,
    /// Chunks before this one are freed (see [`Arena::free_before`]).
    freed: usize,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena {
            chunks: Vec::new(),
            freed: 0,
        }
    }
}

/// Where a list is in an [`Arena`]: chunk, start, length.
#[derive(Debug, Clone, Copy, Default)]
struct Span(u32, u32, u32);

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

    /// Frees the chunks before the one `span` is in (none for an empty span).
    fn free_before(&mut self, span: Span) {
        if span.2 == 0 {
            return;
        }
        while self.freed < (span.0 as usize).min(self.chunks.len()) {
            self.chunks[self.freed] = Vec::new();
            self.freed += 1;
        }
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
        let slot = self.slots.get(*self.index.get(id)? as usize)?;
        Some(TreeRec {
            prev: slot.prev,
            removed: self.removed.get(slot.removed),
            added: self.added.get(slot.added),
        })
    }

    /// Whether tree `id` is recorded.
    pub fn contains(&self, id: &Key) -> bool {
        self.index.contains_key(id)
    }

    /// Records tree `id` (replacing a record it had).
    pub fn insert(&mut self, id: Key, prev: Option<Key>, removed: &[Name], added: &[Added]) {
        let slot = Slot {
            prev,
            removed: self.removed.push(removed),
            added: self.added.push(added),
        };
        // A replaced record gets a new slot: slots stay in the order of their lists, which
        // `absorb` relies on to free the lists it has copied.
        self.index.insert(id, self.slots.len() as u32);
        self.slots.push(slot);
    }

    /// Adds another walk's records; a tree both walked keeps the record it has here. The
    /// other's lists are freed chunk by chunk as they are copied, so that merging two large
    /// walks never holds both whole and a copy.
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
        let mut ids: Vec<Option<Key>> = vec![None; slots.len()];
        for (id, n) in index {
            if let Some(slot) = ids.get_mut(n as usize) {
                *slot = Some(id);
            }
        }
        let renumber: Vec<Name> = names.names.iter().map(|n| self.names.number(n)).collect();
        let again = |n: Name| renumber.get(n as usize).copied().unwrap_or(n);
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for (slot, id) in slots.iter().zip(ids) {
            // Lists are stored in the order their records were made: every chunk before this
            // record's is done with.
            other_added.free_before(slot.added);
            other_removed.free_before(slot.removed);
            let Some(id) = id else { continue };
            if self.index.contains_key(&id) {
                continue;
            }
            removed.clear();
            removed.extend(other_removed.get(slot.removed).iter().map(|&n| again(n)));
            added.clear();
            added.extend(other_added.get(slot.added).iter().map(|a| Added {
                name: again(a.name),
                ..*a
            }));
            self.insert(id, slot.prev, &removed, &added);
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
