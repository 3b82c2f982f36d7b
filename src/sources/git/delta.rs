//! Git's delta format: a base's size and the result's, then instructions that copy runs of
//! the base or insert bytes. Pack reading applies them; the tree comparison and the keyword
//! carry read them as runs of the result ([`segments`]).

/// A size at the start of delta data: little-endian groups of 7 bits.
fn delta_size(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Applies git delta data to `base`: copies from the base and inserted bytes, checked against
/// the sizes the delta states. `None` for a delta that does not fit its base, names a result
/// over `limit` bytes, or is malformed.
#[cfg(test)]
pub fn apply_delta(base: &[u8], delta: &[u8], limit: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    apply_delta_into(base, delta, limit, &mut out).map(|()| out)
}

/// [`apply_delta`] into a buffer the caller reuses.
pub(super) fn apply_delta_into(
    base: &[u8],
    delta: &[u8],
    limit: u64,
    out: &mut Vec<u8>,
) -> Option<()> {
    let (source, target, ops) = delta_ops(delta)?;
    if source != base.len() as u64 || target > limit {
        return None;
    }
    let target = usize::try_from(target).ok()?;
    out.clear();
    out.reserve(target);
    for op in ops {
        let piece = match op? {
            Op::Copy { from, len } => base.get(from..from.checked_add(len)?)?,
            Op::Insert(bytes) => bytes,
        };
        if out.len() + piece.len() > target {
            return None;
        }
        out.extend_from_slice(piece);
    }
    (out.len() == target).then_some(())
}

/// A run of the result's bytes, `at..to`, copied from the base at `from`, or inserted.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub at: usize,
    pub to: usize,
    pub from: Option<usize>,
}

/// The delta's instructions as runs of the result; `None` unless they build exactly
/// `target` bytes from a base of `source` bytes.
pub fn segments(delta: &[u8], source: usize, target: usize) -> Option<Vec<Segment>> {
    let (s, t, ops) = delta_ops(delta)?;
    if s != source as u64 || t != target as u64 {
        return None;
    }
    let mut out: Vec<Segment> = Vec::new();
    let mut at = 0usize;
    for op in ops {
        let (len, from) = match op? {
            Op::Copy { from, len } => {
                if from.checked_add(len)? > source {
                    return None;
                }
                (len, Some(from))
            }
            Op::Insert(bytes) => (bytes.len(), None),
        };
        let to = at.checked_add(len)?;
        out.push(Segment { at, to, from });
        at = to;
    }
    (at == target).then_some(out)
}

/// One instruction of git delta data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'d> {
    /// `len` bytes of the base, from offset `from`.
    Copy { from: usize, len: usize },
    /// Bytes carried in the delta.
    Insert(&'d [u8]),
}

/// The base size, the result size and the instructions of git delta data; a malformed
/// instruction ends the instructions with `None`.
pub fn delta_ops(delta: &[u8]) -> Option<(u64, u64, DeltaOps<'_>)> {
    let (source, mut at) = delta_size(delta)?;
    let (target, used) = delta_size(delta.get(at..)?)?;
    at += used;
    Some((source, target, DeltaOps { delta, at }))
}

/// The instructions of git delta data, in order (see [`delta_ops`]).
pub struct DeltaOps<'d> {
    delta: &'d [u8],
    at: usize,
}

impl<'d> Iterator for DeltaOps<'d> {
    type Item = Option<Op<'d>>;

    fn next(&mut self) -> Option<Option<Op<'d>>> {
        let op = *self.delta.get(self.at)?;
        self.at += 1;
        let decoded = if op & 0x80 != 0 {
            let mut from = 0usize;
            let mut len = 0usize;
            let mut ok = true;
            for k in 0..7 {
                if op & (1 << k) != 0 {
                    let Some(&b) = self.delta.get(self.at) else {
                        ok = false;
                        break;
                    };
                    self.at += 1;
                    if k < 4 {
                        from |= usize::from(b) << (8 * k);
                    } else {
                        len |= usize::from(b) << (8 * (k - 4));
                    }
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            ok.then_some(Op::Copy { from, len })
        } else if op != 0 {
            let end = self.at + usize::from(op);
            let bytes = self.delta.get(self.at..end);
            self.at = end;
            bytes.map(Op::Insert)
        } else {
            None
        };
        if decoded.is_none() {
            // Nothing after a malformed instruction is read.
            self.at = self.delta.len();
        }
        Some(decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delta data: the two sizes, then the operations.
    fn delta(source: usize, target: usize, ops: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        crate::testing::git_varint(source, &mut d);
        crate::testing::git_varint(target, &mut d);
        d.extend_from_slice(ops);
        d
    }

    #[test]
    fn a_delta_copies_and_inserts() {
        let base = b"0123456789abcdef";
        // copy 4 bytes from offset 10, insert "XY", copy 3 bytes from offset 0
        let d = delta(16, 9, &[0x91, 10, 4, 2, b'X', b'Y', 0x90, 3]);
        assert_eq!(
            apply_delta(base, &d, 1 << 20).as_deref(),
            Some(&b"abcdXY012"[..])
        );
    }

    #[test]
    fn a_copy_of_size_zero_means_64_kib() {
        let base = vec![7u8; 0x10000];
        let d = delta(0x10000, 0x10000, &[0x80]);
        assert_eq!(apply_delta(&base, &d, 1 << 20), Some(base));
    }

    #[test]
    fn malformed_deltas_are_refused_not_panics() {
        let base = b"0123456789";
        for (why, d) in [
            ("source size differs", delta(9, 2, &[0x90, 2])),
            ("copy past the base", delta(10, 4, &[0x91, 8, 4])),
            ("result longer than stated", delta(10, 2, &[0x90, 3])),
            ("result shorter than stated", delta(10, 5, &[0x90, 3])),
            ("insert past the end", delta(10, 5, &[5, b'a'])),
            ("reserved op 0", delta(10, 0, &[0])),
            ("truncated copy", delta(10, 4, &[0x91])),
            ("over the limit", delta(10, 1 << 21, &[])),
            ("no sizes", Vec::new()),
            ("endless size", vec![0xff; 12]),
        ] {
            assert_eq!(apply_delta(base, &d, 1 << 20), None, "{why}");
        }
    }
}
