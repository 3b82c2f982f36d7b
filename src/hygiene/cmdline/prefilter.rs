//! Which files may hold commands at all, and which variables they fill from credential
//! headers: cheap looks before any parse.

/// Commands the checks know.
pub(super) const KNOWN: &[&str] = &[
    "curl",
    "wget",
    "http",
    "https",
    "xh",
    "grpcurl",
    "export",
    "declare",
    "typeset",
    "setenv",
    "sbatch",
    "salloc",
    "munge",
    "aws",
    "s3cmd",
    "rclone",
    "mc",
    "redis-cli",
];

/// Shell variables a file assigns a credential header to (`hdr="Authorization: Bearer $T"`,
/// `AUTH='X-SLURM-USER-TOKEN: …'`), found with one pattern over the whole file.
pub fn credential_header_variables(text: &[u8]) -> Vec<String> {
    static RE: std::sync::LazyLock<Option<regex::bytes::Regex>> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(
            r#"(?m)^[ \t]*(?:export[ \t]+|local[ \t]+|readonly[ \t]+|declare[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=["']?((?i:authorization|cookie|private-token|x-[a-z-]*token|[a-z-]*api-key))[ \t]*:"#,
        )
        .ok()
    });
    // Only a file that passes a header from a variable can need them: one substring search
    // per form spares the pattern (no literal to start from) every other file.
    if ![
        &b"-H \"$"[..],
        b"-H $",
        b"-H\"$",
        b"--header \"$",
        b"--header $",
        b"--header=\"$",
        b"--header=$",
    ]
    .iter()
    .any(|w| memchr::memmem::find(text, w).is_some())
    {
        return Vec::new();
    }
    let Some(re) = RE.as_ref() else {
        return Vec::new();
    };
    let mut names: Vec<String> = re
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Bytes that every command the checks report contains (HTTPie's words count only where
/// [`httpie_at`] says they start a command), apart from an `export` of a literal credential
/// (which the engine has then found in the file). A file without any of them holds nothing to report, so it is not lexed: of
/// git/git's 1,345 shell scripts and 960 documents, 80 are.
pub(super) const COMMAND_WORDS: &[&str] = &[
    "curl",
    "wget",
    "munge -",
    "SLURM_JWT",
    "configure set",
    "s3cmd",
    "rclone",
    "alias set",
    "config host add",
    "redis-cli",
    // HTTPie and xh: a hit is kept only when it is a command (see `httpie_at`).
    "http ",
    "http\t",
    "https ",
    "https\t",
    "xh ",
    "xh\t",
];

/// How many of [`COMMAND_WORDS`], from the end, are HTTPie's and need [`httpie_at`].
pub(super) const HTTPIE_WORDS: usize = 6;

/// Leftmost-first, not the default standard semantics: only leftmost searches get the packed
/// (SIMD) searcher; the standard automaton ran at a tenth of its speed and cost more than
/// the lexing it spared.
pub(super) static COMMAND_WORDS_AC: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(COMMAND_WORDS)
            .ok()
    });

/// True when the HTTPie/xh word found at `at` (`http `, `xh\t`, …) starts a command, not the
/// word `http` in prose: a word boundary before it, and after the blanks a method, a flag, a
/// `:port` or a URL. Checked by hand on the one automaton's hits: a separate regex pass over
/// every document cost a thirtieth of a git/git scan.
pub(super) fn httpie_at(content: &[u8], at: usize, len: usize) -> bool {
    if at > 0 && !b" \t\n;&|(!".contains(&content[at - 1]) {
        return false;
    }
    let rest = &content[at + len..];
    let rest = &rest[rest
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(rest.len())..];
    let method = rest.iter().take_while(|b| b.is_ascii_uppercase()).count();
    rest.starts_with(b"-")
        || rest.starts_with(b":")
        || rest.starts_with(b"http://")
        || rest.starts_with(b"https://")
        || (method > 0 && matches!(rest.get(method), Some(b' ' | b'\t')))
}

/// The offsets of the command words in `content` (HTTPie's only where they are commands).
pub(super) fn command_word_hits(content: &[u8]) -> Option<impl Iterator<Item = usize> + '_> {
    let ac = COMMAND_WORDS_AC.as_ref()?;
    let strong = COMMAND_WORDS.len() - HTTPIE_WORDS;
    Some(ac.find_iter(content).filter_map(move |m| {
        let id = m.pattern().as_usize();
        (id < strong || httpie_at(content, m.start(), m.len())).then_some(m.start())
    }))
}

/// The parts of a shell script worth lexing when it holds no credential the engine found:
/// each line with a command word (see [`may_hold_commands`]), widened to the whole command —
/// the lines a backslash continues, and the lines a quote left open runs on to (at most
/// [`REGION_LINES`]). Byte ranges, in order, merged where they touch. gitk (400 kB of Tcl
/// behind a `#!/bin/sh`) was lexed whole for one `http` in a comment.
pub(super) fn command_regions(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let hits: Vec<usize> = match command_word_hits(b) {
        Some(h) => h.collect(),
        None => return vec![(0, b.len())],
    };
    let line_start = |i: usize| {
        b[..i]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1)
    };
    let line_end = |i: usize| memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p);
    let continued = |end: usize| {
        let line = &b[line_start(end)..end];
        line.strip_suffix(b"\r").unwrap_or(line).ends_with(b"\\")
    };
    let mut out: Vec<(usize, usize)> = Vec::new();
    for hit in hits {
        if out.last().is_some_and(|&(_, e)| hit < e) {
            continue;
        }
        let mut start = line_start(hit);
        // Up over the lines a backslash continues into this one.
        while start > 0 && continued(start - 1) {
            start = line_start(start - 1);
        }
        let mut end = line_end(hit);
        let mut lines = 0;
        while end < b.len()
            && lines < REGION_LINES
            && (continued(end) || open_quote(&b[start..end]))
        {
            end = line_end(end + 1);
            lines += 1;
        }
        match out.last_mut() {
            Some((_, e)) if start <= *e + 1 => *e = end.max(*e),
            _ => out.push((start, end)),
        }
    }
    out
}

/// How far a region follows a command past its line.
pub(super) const REGION_LINES: usize = 100;

/// True when `s` ends inside a quoted string.
pub(super) fn open_quote(s: &[u8]) -> bool {
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' if !single => i += 1,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single && !double && (i == 0 || b" \t\n;".contains(&s[i - 1])) => {
                // A comment runs to the end of its line; its quotes do not count.
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    single || double
}

/// True when `content` may hold a command the checks know (see [`COMMAND_WORDS`]); when a
/// searcher cannot be built, every file may.
pub fn may_hold_commands(content: &[u8]) -> bool {
    command_word_hits(content).is_none_or(|mut hits| hits.next().is_some())
}
