//! Text for people: outside text made safe, and times written one way.
//!
//! Text that came from outside (a scanned file's path, a JWT's claims, a branch name, a
//! repository's rule names, an issuer's answer) made safe for the place it is shown.
//!
//! A terminal obeys escape sequences and starts a new line at a newline, so a `sun` claim
//! holding `\n` forges a report line and one holding `ESC ]` drives the terminal; a right-to-left
//! override (U+202E) makes a line read backwards. Markdown renders `<img>`, links and emphasis.
//! Every attacker-influenced string goes through [`printable`] before a terminal, and through
//! [`markdown`] before a Markdown file (the incident report, a CI job summary).

/// Characters that change how text is displayed without being visible themselves: bidi
/// embeddings, overrides and isolates, zero-width characters, line and paragraph separators,
/// the byte-order mark and interlinear annotation marks.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// `s` safe for a terminal: control characters (C0, DEL, C1) and invisible formatting
/// characters are shown escaped (`\n`, `\u{1b}`, `\u{202e}`); everything else is kept.
pub fn printable(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() || is_invisible_format(c)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() || is_invisible_format(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` safe for Markdown (and the HTML a Markdown renderer lets through), on one line: first
/// [`printable`], then every character Markdown gives a meaning is backslash-escaped, and `<`,
/// `>` and `&` become entities. Not for use inside a code span, where escapes do not work.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in printable(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // Emphasis, code, links and images, headings, tables, strikethrough. (A bare URL
            // may still be shown as a link: it reads as itself, so it misleads no one.)
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Formats a Unix time as RFC 3339 UTC.
pub fn format_time(unix: i64) -> String {
    if unix < 0 {
        return unix.to_string();
    }
    humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64),
    )
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_and_bidi_overrides_are_escaped() {
        assert_eq!(printable("alice"), "alice");
        assert_eq!(printable("a\nHIGH forged"), "a\\nHIGH forged");
        assert_eq!(printable("\u{1b}]0;pwned\u{7}"), "\\u{1b}]0;pwned\\u{7}");
        assert_eq!(printable("evil\u{202E}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(printable("a\u{200B}b\u{2066}c"), "a\\u{200b}b\\u{2066}c");
        assert_eq!(printable("\u{85}"), "\\u{85}");
        assert_eq!(printable("naïve — ok"), "naïve — ok");
    }

    #[test]
    fn markdown_renders_nothing_of_its_input() {
        assert_eq!(
            markdown("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert\\(1\\)&gt;"
        );
        assert_eq!(markdown("[click](http://e)"), "\\[click\\]\\(http://e\\)");
        assert_eq!(markdown("a\n# b"), "a\\\\n\\# b");
        assert_eq!(markdown("*x* `y` _z_ | w"), "\\*x\\* \\`y\\` \\_z\\_ \\| w");
    }
}
