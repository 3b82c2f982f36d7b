//! Text from a server or a request made safe to show: secrets cut out of bodies, headers and
//! JSON, and excerpts cut on character boundaries.

/// At most 300 characters of a body, on one line, with every secret of the request cut out
/// (a server may echo the header it rejected, as slurmrestd logs it).
pub fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    // Only the start is shown; redacting a few kilobytes more than is shown keeps a secret that
    // straddles the cut from being half-kept.
    let head = &body[..body.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    let text = redact(&text, secrets);
    let one_line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect();
    one_line
}

/// The shortest piece of a secret that is cut out wherever it appears. Shorter pieces are too
/// common to mean anything (eight base64url characters are 48 bits).
pub const MIN_SECRET_RUN: usize = 8;

/// Replaces, with `<redacted>`, every run of [`MIN_SECRET_RUN`] or more characters that is a
/// piece of one of `secrets`, wherever it starts; whitespace inside the text is ignored while
/// matching, so a token an answer wraps over several lines is cut out whole. A secret shorter
/// than the minimum run (but at least 4 bytes) is cut out where it appears whole.
///
/// Every window of [`MIN_SECRET_RUN`] bytes of each secret goes into a set, and each window of
/// the text is looked up: linear in the text, whatever the secrets.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets
        .iter()
        .filter(|s| (4..MIN_SECRET_RUN).contains(&s.len()))
    {
        out = out.replace(s, "<redacted>");
    }
    // Whitespace (any Unicode whitespace, a no-break space too) is taken out of the secrets and
    // of the text alike, so that neither a secret with spaces nor an echo wrapped or spaced
    // out escapes.
    let squeezed_secrets: Vec<Vec<u8>> = secrets
        .iter()
        .map(|s| {
            s.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .into_bytes()
        })
        .filter(|s| s.len() >= MIN_SECRET_RUN)
        .collect();
    let windows: rustc_hash::FxHashSet<&[u8]> = squeezed_secrets
        .iter()
        .flat_map(|s| s.windows(MIN_SECRET_RUN))
        .collect();
    if windows.is_empty() {
        return out;
    }
    // The text without whitespace, and where each kept byte came from.
    let mut squeezed: Vec<u8> = Vec::with_capacity(out.len());
    let mut origin: Vec<usize> = Vec::with_capacity(out.len());
    for (i, c) in out.char_indices() {
        if !c.is_whitespace() {
            let mut buf = [0u8; 4];
            for (k, b) in c.encode_utf8(&mut buf).bytes().enumerate() {
                squeezed.push(b);
                origin.push(i + k);
            }
        }
    }
    let only_whitespace = |a: usize, b: usize| {
        // `get` is None off a character boundary (a match may end inside a character).
        out.get(a..b)
            .is_some_and(|g| g.chars().all(char::is_whitespace))
    };
    // Covered ranges in `out`'s byte offsets, merged as they are found (they come in order).
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (i, w) in squeezed.windows(MIN_SECRET_RUN).enumerate() {
        if !windows.contains(w) {
            continue;
        }
        let (start, end) = (origin[i], origin[i + MIN_SECRET_RUN - 1] + 1);
        match ranges.last_mut() {
            // Overlapping or touching through skipped whitespace only.
            Some(last) if start <= last.1 || only_whitespace(last.1, start) => {
                last.1 = last.1.max(end)
            }
            _ => ranges.push((start, end)),
        }
    }
    for (start, end) in ranges.into_iter().rev() {
        let start = floor_char_boundary(&out, start);
        let end = ceil_char_boundary(&out, end);
        out.replace_range(start..end, "<redacted>");
    }
    out
}

/// [`redact`] applied to every string (and object key) inside a JSON value.
pub fn redact_json(v: &mut serde_json::Value, secrets: &[&str]) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            let r = redact(s, secrets);
            if r != *s {
                *s = r;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact_json(x, secrets)),
        Value::Object(o) => {
            let taken = std::mem::take(o);
            for (k, mut x) in taken {
                redact_json(&mut x, secrets);
                o.insert(redact(&k, secrets), x);
            }
        }
        _ => {}
    }
}

pub(super) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub(super) fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}
