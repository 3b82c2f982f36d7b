//! What a blob's bytes are: text to scan, UTF-16 text to decode first, or binary, of which a
//! small blob's printable strings are scanned (see [`printable_strings`]).
//!
//! A NUL byte alone does not make a file binary here. Secrets sit in text that carries a few
//! NULs (a saved `/proc/<pid>/environ`, `find -print0` output, a log with a stray NUL), and in
//! UTF-16 text, which has a NUL in every other byte (PowerShell and Windows editors write it).
//! A file is binary when control bytes are a real share of its start, as in executables,
//! images, archives and data files, which make up most of the bytes of a research tree.

use memchr::memchr_iter;
use std::borrow::Cow;

/// How much of a blob's start is sniffed.
pub const SNIFF_LEN: usize = 8 * 1024;

/// Above these shares of a blob's start, a blob that holds a NUL is binary: control bytes
/// other than NUL (tab, newline, carriage return, form feed and escape are text) over 3%, or
/// NULs over 25%. Random or compressed data has about 10% such control bytes, executables and
/// sparse data files are mostly NUL; NUL-separated text (`environ`, `-print0`) has no other
/// control bytes and one NUL per entry.
const CONTROL_PERCENT: usize = 3;
const NUL_PERCENT: usize = 25;

/// What kind of content a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// Scan the bytes as they are.
    Text,
    /// UTF-16 text: decode it (see [`decode_utf16`]) and scan the result.
    Utf16 {
        /// Big-endian (`FE FF`), else little-endian.
        big_endian: bool,
    },
    /// Skip it (path rules still apply).
    Binary,
}

/// Sniffs the start of `content`.
pub fn sniff(content: &[u8]) -> Sniff {
    let head = &content[..content.len().min(SNIFF_LEN)];
    // A byte-order mark alone is not enough: Latin-1 or broken UTF-8 text may start with the
    // same two bytes. UTF-16 that holds anything a token is made of (ASCII letters, digits,
    // punctuation, a line break) has a NUL in the high byte of each such character.
    let high_nul = |odd: bool| memchr_iter(0, head).any(|i| i >= 2 && (i % 2 == 1) == odd);
    if head.starts_with(&[0xFF, 0xFE]) && !head.starts_with(&[0xFF, 0xFE, 0, 0]) && high_nul(true) {
        return Sniff::Utf16 { big_endian: false };
    }
    if head.starts_with(&[0xFE, 0xFF]) && high_nul(false) {
        return Sniff::Utf16 { big_endian: true };
    }
    // A pickle (PROTO opcode, protocol 2 to 5) is binary however few control bytes a small
    // one holds: its strings carry length bytes that would glue onto a token read as text.
    if let [0x80, 2..=5, ..] = head {
        return Sniff::Binary;
    }
    let mut nuls = memchr_iter(0, head).peekable();
    if nuls.peek().is_none() {
        return Sniff::Text;
    }
    // UTF-16 without a byte-order mark: text in the ASCII range has a NUL in every other
    // byte, always on the same side.
    let (mut even, mut odd) = (0usize, 0usize);
    for i in nuls {
        if i % 2 == 0 {
            even += 1;
        } else {
            odd += 1;
        }
    }
    let pairs = head.len() / 2;
    if pairs >= 8 {
        if even == 0 && odd * 10 >= pairs * 7 {
            return Sniff::Utf16 { big_endian: false };
        }
        if odd == 0 && even * 10 >= pairs * 7 {
            return Sniff::Utf16 { big_endian: true };
        }
    }
    let nul = even + odd;
    let control = head
        .iter()
        .filter(|&&b| {
            (b < 0x20 && !matches!(b, 0 | b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)) || b == 0x7f
        })
        .count();
    if control * 100 > head.len() * CONTROL_PERCENT || nul * 100 > head.len() * NUL_PERCENT {
        Sniff::Binary
    } else {
        Sniff::Text
    }
}

/// UTF-16 text as UTF-8, its byte-order mark dropped. Unpaired surrogates and a trailing odd
/// byte become U+FFFD, so a damaged file still yields everything around the damage.
pub fn decode_utf16(content: &[u8], big_endian: bool) -> Vec<u8> {
    let units = content.chunks(2).map(|p| match (p, big_endian) {
        ([a, b], false) => u16::from_le_bytes([*a, *b]),
        ([a, b], true) => u16::from_be_bytes([*a, *b]),
        _ => 0xFFFD,
    });
    let mut out = String::with_capacity(content.len() / 2);
    for c in char::decode_utf16(units) {
        out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    let text = out.strip_prefix('\u{FEFF}').unwrap_or(&out);
    text.as_bytes().to_vec()
}

/// Binary blobs up to this size have their printable strings scanned: a pickled session, a
/// SQLite token store, a compiled Python module, a protobuf cache. A larger binary is media,
/// an archive or an executable, where credentials do not sit as plain strings.
pub const BINARY_STRINGS_LIMIT: usize = 1 << 20;

/// The text to scan in a whole blob: its bytes, its UTF-16 decoded, or a small binary's
/// printable strings; `None` for a larger binary.
pub fn scannable(content: &[u8]) -> Option<Cow<'_, [u8]>> {
    match sniff(content) {
        Sniff::Text => Some(Cow::Borrowed(content)),
        Sniff::Utf16 { big_endian } => Some(Cow::Owned(decode_utf16(content, big_endian))),
        Sniff::Binary if content.len() <= BINARY_STRINGS_LIMIT => {
            Some(Cow::Owned(printable_strings(content)))
        }
        Sniff::Binary => None,
    }
}

/// A binary blob's printable strings, in place: every byte that cannot be part of a token (a
/// control byte, a byte above ASCII) becomes a newline, so offsets stay the blob's and each
/// string is a line of its own for the rules' context windows.
///
/// Serialisers put a string's length right before it, and a length byte can be printable: a
/// pickle writes `\x8c`, one length byte, the string (`\x8c` `c` `Ag…` for a 99-byte Globus
/// token), protobuf and msgpack the same; a pickle's older `X` opcode writes a four-byte length
/// and follows the string with a printable opcode (`q`). Where a run of printable bytes starts
/// with a byte equal to the length of the rest of the run, or is preceded by a four-byte
/// little-endian length that ends inside it, that length byte and that trailing opcode become
/// newlines too, so the token stands alone.
pub fn printable_strings(content: &[u8]) -> Vec<u8> {
    let printable = |b: u8| (0x20..=0x7e).contains(&b) || b == b'\t';
    let mut out: Vec<u8> = content
        .iter()
        .map(|&b| if printable(b) { b } else { b'\n' })
        .collect();
    let mut i = 0;
    while i < content.len() {
        if !printable(content[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < content.len() && printable(content[i]) {
            i += 1;
        }
        let len = i - start;
        if len >= 2 && usize::from(content[start]) == len - 1 {
            out[start] = b'\n';
        } else if start >= 4 {
            let prefix: [u8; 4] = content[start - 4..start].try_into().unwrap_or_default();
            let declared = u32::from_le_bytes(prefix) as usize;
            if declared > 0 && declared < len {
                out[start + declared] = b'\n';
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_s_strings_stand_alone_without_their_length_prefixes() {
        let token = "Ag".to_string() + &"x".repeat(97);
        // pickle protocol 4: \x8c, one length byte ('c' = 99), the string, \x94 (memoize).
        let mut p4 = b"\x80\x04\x95\x10\0\0\0\0\0\0\0}\x94(\x8c\x0drefresh_token\x94\x8c".to_vec();
        p4.push(token.len() as u8);
        p4.extend_from_slice(token.as_bytes());
        p4.extend_from_slice(b"\x94u.");
        let view = printable_strings(&p4);
        assert_eq!(view.len(), p4.len(), "offsets are kept");
        let lines: Vec<&[u8]> = view.split(|&b| b == b'\n').collect();
        assert!(
            lines.contains(&token.as_bytes()),
            "{:?}",
            String::from_utf8_lossy(&view)
        );
        assert!(lines.contains(&&b"refresh_token"[..]));
        // pickle protocol 2: X, a four-byte length, the string, then q (BINPUT) and its index.
        let mut p2 = b"\x80\x02}q\x00X\x0d\0\0\0refresh_tokenq\x01X".to_vec();
        p2.extend_from_slice(&(token.len() as u32).to_le_bytes());
        p2.extend_from_slice(token.as_bytes());
        p2.extend_from_slice(b"q\x02s.");
        let view = printable_strings(&p2);
        let lines: Vec<&[u8]> = view.split(|&b| b == b'\n').collect();
        assert!(
            lines.contains(&token.as_bytes()),
            "{:?}",
            String::from_utf8_lossy(&view)
        );
        assert!(lines.contains(&&b"refresh_token"[..]));
        // Small binaries are scanned as strings, larger ones not at all.
        assert!(scannable(&p4).is_some());
        let mut big = vec![1u8; BINARY_STRINGS_LIMIT + 1];
        big[0] = 0;
        assert!(scannable(&big).is_none());
    }

    fn utf16(s: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom.then_some(0xFEFF).into_iter().chain(s.encode_utf16());
        for u in units {
            out.extend(if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn utf16_with_and_without_a_bom_in_both_byte_orders() {
        let s = "S3M_TOKEN=abc\r\nsecond line é 🔑\n";
        for (be, bom) in [(false, true), (true, true), (false, false), (true, false)] {
            let bytes = utf16(s, be, bom);
            assert_eq!(
                sniff(&bytes),
                Sniff::Utf16 { big_endian: be },
                "be={be} bom={bom}"
            );
            assert_eq!(decode_utf16(&bytes, be), s.as_bytes(), "be={be} bom={bom}");
        }
    }

    /// Latin-1 or broken UTF-8 text that happens to start with `FF FE` or `FE FF` stays
    /// text: nothing in it has the NUL high bytes of UTF-16.
    #[test]
    fn a_bom_without_utf16_behind_it_is_text() {
        let mut latin = vec![0xFF, 0xFE, b'\n', 0xC3];
        latin.extend_from_slice(b"caf\xE9 cr\xE8me, then some ASCII text\n");
        assert_eq!(sniff(&latin), Sniff::Text);
        latin[..2].copy_from_slice(&[0xFE, 0xFF]);
        assert_eq!(sniff(&latin), Sniff::Text);
    }

    #[test]
    fn damaged_utf16_keeps_what_surrounds_the_damage() {
        let mut bytes = utf16("ab", false, true);
        bytes.extend([0x00, 0xD8]); // an unpaired high surrogate
        bytes.extend(utf16("cd", false, false));
        bytes.push(b'x'); // an odd trailing byte
        assert_eq!(
            String::from_utf8(decode_utf16(&bytes, false)).unwrap(),
            "ab\u{FFFD}cd\u{FFFD}"
        );
    }

    #[test]
    fn stray_nuls_in_text_are_text_and_control_heavy_data_is_binary() {
        assert_eq!(sniff(b"plain text\n"), Sniff::Text);
        let environ = b"A=1\0HOME=/home/u\0PATH=/usr/bin:/bin\0SLURM_JWT=xyz\0SHELL=/bin/bash\0";
        assert_eq!(sniff(environ), Sniff::Text);
        let mut log = b"line one\n".repeat(50);
        log.push(0);
        log.extend(b"line after a NUL\n");
        assert_eq!(sniff(&log), Sniff::Text);
        let elf: Vec<u8> = [&b"\x7fELF\x02\x01\x01"[..], &[0u8; 64]].concat();
        assert_eq!(sniff(&elf), Sniff::Binary);
        let all: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        assert_eq!(sniff(&all), Sniff::Binary);
        assert_eq!(sniff(b"\xFF\xFE\0\0U\0\0\0"), Sniff::Binary);
        assert_eq!(sniff(&[0u8; 4096]), Sniff::Binary, "a sparse file's zeros");
    }
}
