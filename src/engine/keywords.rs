//! Where the rules' keywords occur in a text, and how a new version of a text gets them from
//! an older one.
//!
//! The keyword automatons decide which rules' patterns run on a blob, and reading every byte
//! of every version through them was half of a history scan's time on Slurm (21 GB of
//! versions, most a few lines apart). A version stored as a delta of another is most of its
//! base's bytes copied: an occurrence inside one copied run is an occurrence in the new
//! version too, at the shifted place. Only bytes near what the delta inserts, or near where
//! one copied run meets the next, are searched again.
//!
//! Why that finds the same rules as a search of the whole text: the search reports, at each
//! position, the longest keyword starting there (a shorter one there is its prefix, whose
//! rules it carries), and what is longest at a position depends only on the bytes from there
//! on. Take the longest keyword `k` at position `p` of the new text. If it lies inside one
//! copied run and the base's longest at the copied place is `k` too, it is carried over.
//! Otherwise `k` reaches an inserted byte or past the run's end, or the base's longest there
//! ran past the run's end: either way `p` is inside an insert or less than the longest
//! keyword's length before the end of a run, and `p..p + len(k)` lies in a window searched
//! again. Every occurrence kept is a true one, and the longest at each position is among
//! them, which is what carrying them on to the next delta needs in turn.

use super::Engine;

thread_local! {
    /// Per-thread scratch for the lower-cased copy of a text.
    static LOWERED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The keyword occurrences of a text: (position, automaton, keyword), sorted by position.
/// A text with very many keeps one per keyword, without positions: enough to wake the rules,
/// not to carry them to a delta, and memory stays bounded whatever a blob repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Occurrences {
    at: Vec<(u32, u8, u32)>,
    /// Positions were dropped.
    partial: bool,
}

/// A run of a new version copied from its base: `len` bytes at `at`, from the base's `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Where the run starts in the new version.
    pub at: usize,
    /// Its length.
    pub len: usize,
    /// Where it starts in the base.
    pub from: usize,
}

impl Occurrences {
    /// Past this many occurrences a text keeps one per keyword (its deltas are then searched
    /// whole): 768 KiB at most, for each version a chain holds.
    const MOST: usize = 1 << 16;

    /// (position, automaton, keyword), by position; positions are 0 when [`partial`].
    ///
    /// [`partial`]: Occurrences::is_partial
    pub fn iter(&self) -> impl Iterator<Item = &(u32, u8, u32)> {
        self.at.iter()
    }

    /// Whether positions were dropped (see [`Occurrences`]).
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Keeps one occurrence per keyword, without its position, once there are too many.
    fn bound(at: &mut Vec<(u32, u8, u32)>, partial: &mut bool) {
        if at.len() >= Self::MOST {
            for o in at.iter_mut() {
                o.0 = 0;
            }
            at.sort_unstable();
            at.dedup();
            *partial = true;
        }
    }
}

impl Engine {
    /// Every keyword occurrence the rules' automatons report in `text`.
    pub fn keyword_occurrences(&self, text: &[u8]) -> Occurrences {
        let mut at = Vec::new();
        let mut partial = false;
        self.find_keywords(text, 0, text.len(), &mut at, &mut partial);
        at.sort_unstable();
        Occurrences { at, partial }
    }

    /// The keyword occurrences of `text`, made by copying the runs `copied` (in order) from a
    /// base whose occurrences are `base`, and inserting the rest. `None` when the text is
    /// over 4 GiB or the occurrences are too many to carry (then search it whole).
    pub fn keyword_occurrences_after(
        &self,
        base: &Occurrences,
        copied: &[Copied],
        text: &[u8],
    ) -> Option<Occurrences> {
        u32::try_from(text.len()).ok()?;
        if base.partial {
            return None;
        }
        let reach = self.longest_keyword.saturating_sub(1);
        let len_of = |a: u8, k: u32| {
            self.prefilters
                .get(a as usize)
                .and_then(|p| p.lens.get(k as usize))
                .copied()
                .unwrap_or(usize::MAX)
        };
        let mut out: Vec<(u32, u8, u32)> = Vec::new();
        // Windows to search again: around the end of every copied run, and over every
        // inserted byte (a keyword's longest match at a place depends only on what follows).
        let mut windows: Vec<(usize, usize)> = Vec::new();
        let mut covered = 0usize;
        for c in copied {
            let end = c.at.checked_add(c.len)?;
            if c.at < covered || end > text.len() {
                return None;
            }
            if c.at > covered {
                // Inserted bytes (what comes before them is the window at the run's end).
                windows.push((covered, c.at + reach));
            }
            // Where the run ends, the base may have gone on otherwise (a longer keyword there
            // is cut short here), even at the text's end.
            windows.push((end.saturating_sub(reach), end + reach));
            covered = end;
            // The base's occurrences that lie inside the run.
            let from_end = c.from.checked_add(c.len)?;
            let first = base.at.partition_point(|o| (o.0 as usize) < c.from);
            for &(pos, a, k) in &base.at[first..] {
                let pos = pos as usize;
                if pos >= from_end {
                    break;
                }
                if pos.saturating_add(len_of(a, k)) <= from_end {
                    out.push(((pos - c.from + c.at) as u32, a, k));
                    if out.len() >= Occurrences::MOST {
                        // A delta copying the same keywords over and over: search it whole.
                        return None;
                    }
                }
            }
        }
        if covered < text.len() {
            windows.push((covered, text.len()));
        }
        windows.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (s, e) in windows {
            let e = e.min(text.len());
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let mut partial = false;
        for (s, e) in merged {
            if s < e {
                self.find_keywords(text, s, e, &mut out, &mut partial);
            }
        }
        out.sort_unstable();
        out.dedup();
        (out.len() < Occurrences::MOST && !partial).then_some(Occurrences { at: out, partial })
    }

    /// Marks in `hit` the rules that the keywords `known` of a text wake, and those that
    /// context words in its `path` wake (`config/globus/app.yaml`); whether any was.
    pub(super) fn wake(&self, known: &Occurrences, path: Option<&str>, hit: &mut [bool]) -> bool {
        let mut any = false;
        let mut mark = |rules: &[usize]| {
            for &r in rules {
                hit[r] = true;
                any = true;
            }
        };
        for &(_, a, k) in known.iter() {
            if let Some(rules) = self
                .prefilters
                .get(a as usize)
                .and_then(|p| p.rules.get(k as usize))
            {
                mark(rules);
            }
        }
        if let Some(path) = path {
            let hay = path.to_ascii_lowercase();
            for p in self.prefilters.iter().filter(|p| p.lowered) {
                let mut at = 0;
                while let Some(m) =
                    p.ac.find(aho_corasick::Input::new(&hay).span(at..hay.len()))
                {
                    mark(&p.rules[m.pattern().as_usize()]);
                    at = m.start() + 1;
                }
            }
        }
        any
    }

    /// Adds the occurrences the automatons report in `text[from..to]`, at their places in
    /// `text`: at each position, the longest keyword starting there.
    fn find_keywords(
        &self,
        text: &[u8],
        from: usize,
        to: usize,
        out: &mut Vec<(u32, u8, u32)>,
        partial: &mut bool,
    ) {
        let hay = &text[from..to];
        for (a, p) in self.prefilters.iter().enumerate() {
            let ac = &p.ac;
            let mut search = |hay: &[u8]| {
                let mut at = 0;
                while let Some(m) = ac.find(aho_corasick::Input::new(hay).span(at..hay.len())) {
                    out.push(((from + m.start()) as u32, a as u8, m.pattern().as_u32()));
                    Occurrences::bound(out, partial);
                    at = m.start() + 1;
                }
            };
            if p.lowered {
                LOWERED.with(|buf| {
                    let mut buf = buf.borrow_mut();
                    buf.clear();
                    buf.extend(hay.iter().map(u8::to_ascii_lowercase));
                    search(&buf);
                });
            } else {
                search(hay);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::rules::RuleSet;
    use crate::testing::Rng;

    /// The rules the occurrences wake.
    fn woken(e: &Engine, o: &Occurrences) -> Vec<usize> {
        let mut r: Vec<usize> = o
            .iter()
            .flat_map(|&(_, a, k)| e.prefilters[a as usize].rules[k as usize].iter().copied())
            .collect();
        r.sort_unstable();
        r.dedup();
        r
    }

    /// Over generations of a text dense in the built-in rules' keywords (in both cases, run
    /// together, cut by edits), each stored as copied runs of the one before, cut at random
    /// bytes and taken from anywhere: the occurrences carried over wake exactly the rules a
    /// search of the whole text wakes, and hold every occurrence that search reports.
    #[test]
    fn occurrences_carried_through_copies_wake_the_rules_a_whole_search_wakes() {
        let set = RuleSet::builtin().unwrap();
        let e = Engine::new(&set, EngineOptions::default()).unwrap();
        // Every keyword and context word of the built-in rules (the longest among them, which
        // sets how far around an edge is searched again), and bytes between.
        let mut words: Vec<String> = vec!["x".into(), " ".into(), "\n".into(), "=".into()];
        for r in &set.rules {
            words.extend(r.keywords.iter().cloned());
            words.extend(r.context.iter().flat_map(|c| c.words.iter().cloned()));
        }
        let longest = e
            .prefilters
            .iter()
            .flat_map(|p| p.lens.iter())
            .max()
            .unwrap();
        assert!(words.iter().any(|w| w.len() == *longest));
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let piece = |rng: &mut Rng| -> Vec<u8> {
            let w = &words[rng.below(words.len())];
            match rng.below(3) {
                0 => w.to_ascii_uppercase().into_bytes(),
                1 => w.to_ascii_lowercase().into_bytes(),
                _ => w.as_bytes().to_vec(),
            }
        };
        let mut base: Vec<u8> = (0..600).flat_map(|_| piece(&mut rng)).collect();
        let mut known = e.keyword_occurrences(&base);
        let mut carried_any = 0;
        for _ in 0..300 {
            // The new version, as runs: copies of the base (anywhere in it) and inserts.
            let mut copied = Vec::new();
            let mut text = Vec::new();
            let mut at = 0;
            while at < base.len() {
                let n = (1 + rng.below(60)).min(base.len() - at);
                match rng.below(6) {
                    0 => {
                        text.extend(piece(&mut rng));
                        at += rng.below(3).min(base.len() - at);
                    }
                    // Held near 4 KB: longer versions lose more.
                    1 => at += if base.len() > 4096 { n } else { n.min(4) },
                    2 => {
                        let from = rng.below(base.len());
                        let len = (1 + rng.below(20)).min(base.len() - from);
                        copied.push(Copied {
                            at: text.len(),
                            len,
                            from,
                        });
                        text.extend_from_slice(&base[from..from + len]);
                        // In place of as many bytes here.
                        at += len.min(base.len() - at);
                    }
                    _ => {
                        copied.push(Copied {
                            at: text.len(),
                            len: n,
                            from: at,
                        });
                        text.extend_from_slice(&base[at..at + n]);
                        at += n;
                    }
                }
            }
            if rng.below(3) == 0 {
                // Bytes inserted after the last run.
                text.extend(piece(&mut rng));
            }
            let whole = e.keyword_occurrences(&text);
            let carried = e
                .keyword_occurrences_after(&known, &copied, &text)
                .expect("carried");
            assert_eq!(woken(&e, &carried), woken(&e, &whole));
            for o in whole.iter() {
                assert!(carried.at.binary_search(o).is_ok(), "{o:?} lost");
            }
            carried_any += usize::from(!copied.is_empty());
            base = text;
            known = carried;
        }
        assert!(carried_any > 250, "{carried_any} versions had copies");
        assert!(
            (300..200_000).contains(&base.len()),
            "the text stays long, not huge: {}",
            base.len()
        );
    }

    /// A blob that repeats a keyword past the bound keeps one occurrence per keyword: it
    /// still wakes the rules, holds little, and is not carried (its deltas are searched).
    #[test]
    fn a_text_of_endless_keywords_is_held_in_bounded_memory() {
        let e = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
        let text = "eyJ password ".repeat(Occurrences::MOST);
        let found = e.keyword_occurrences(text.as_bytes());
        assert!(found.is_partial());
        assert!(found.at.len() < 16, "{} held", found.at.len());
        let few = e.keyword_occurrences(b"eyJ password ");
        assert!(!few.is_partial());
        assert_eq!(woken(&e, &found), woken(&e, &few));
        let copied = [Copied {
            at: 0,
            len: text.len(),
            from: 0,
        }];
        assert!(
            e.keyword_occurrences_after(&found, &copied, text.as_bytes())
                .is_none()
        );
        // A base under the bound, copied by a delta many times over, is not carried either.
        let base = "eyJ ".repeat(Occurrences::MOST / 2);
        let under = e.keyword_occurrences(base.as_bytes());
        assert!(!under.is_partial());
        let copied: Vec<Copied> = (0..4)
            .map(|i| Copied {
                at: i * base.len(),
                len: base.len(),
                from: 0,
            })
            .collect();
        let text = base.repeat(4);
        assert!(
            e.keyword_occurrences_after(&under, &copied, text.as_bytes())
                .is_none()
        );
    }
}
