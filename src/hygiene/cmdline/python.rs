//! Commands that Python code runs (`subprocess`, `os.system`, IPython `!`), read well enough
//! to find the words of a `curl` call and where they come from.

use super::*;

/// Python: commands run through `subprocess` (`run`, `call`, `check_call`, `check_output`,
/// `Popen`) and `os.system` / `os.popen`. An argument list becomes the command's words as
/// they are (no shell); a string (`os.system`, `shell=True`) is lexed as shell. String
/// literals, f-strings and `+` concatenations are followed; a name or `os.environ["X"]` /
/// `os.getenv("X")` is a variable of that name.
pub fn python_commands(text: &str) -> Vec<(usize, Command)> {
    let mut out = Vec::new();
    for call in [
        "subprocess.run(",
        "subprocess.call(",
        "subprocess.check_call(",
        "subprocess.check_output(",
        "subprocess.Popen(",
        "os.system(",
        "os.popen(",
    ] {
        let mut from = 0;
        while let Some(i) = text[from..].find(call) {
            let start = from + i;
            let open = start + call.len();
            from = open;
            let Some(args) = balanced(text, open) else {
                continue;
            };
            let mut first = split_top(args, b',')
                .into_iter()
                .next()
                .unwrap_or("")
                .trim();
            // `cmd = f"curl … {token}"` a few lines up, then `os.system(cmd)`.
            if is_py_identifier(first)
                && let Some(expr) = py_assignment(text, first, start)
            {
                first = expr;
            }
            let words =
                if let Some(list) = first.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    split_top(list, b',')
                        .into_iter()
                        .filter(|e| !e.trim().is_empty())
                        .map(|e| py_word(e.trim(), start))
                        .collect()
                } else {
                    // A shell string. Python pastes values in before the shell sees the text, so
                    // a value stays a value even inside shell quotes: it travels as a marker
                    // through the shell lexer and becomes a variable part again afterwards.
                    let shell: String = py_word(first, start)
                        .parts
                        .iter()
                        .map(|p| match p {
                            Part::Lit(t) => t.clone(),
                            Part::Var(v) | Part::Subst(v) => format!("\u{1}{v}\u{2}"),
                        })
                        .collect();
                    let mut cmds = commands(&shell);
                    for c in &mut cmds {
                        for w in &mut c.words {
                            w.offset = start;
                            w.parts = unmark(std::mem::take(&mut w.parts));
                        }
                    }
                    out.extend(cmds.into_iter().map(|c| (start, c)));
                    continue;
                };
            out.push((
                start,
                Command {
                    words,
                    piped: false,
                },
            ));
        }
    }
    out.sort_by_key(|(o, _)| *o);
    out
}

pub(super) fn is_py_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The expression last assigned to `name` at the start of a line before `before`
/// (`cmd = [...]` over several lines, or `cmd = f"…"` on one).
pub(super) fn py_assignment<'a>(text: &'a str, name: &str, before: usize) -> Option<&'a str> {
    let head = text.get(..before)?;
    let mut found = None;
    for (i, _) in head.match_indices(name) {
        let line_start = head[..i].rfind('\n').map_or(0, |p| p + 1);
        if !head[line_start..i].trim().is_empty() {
            continue;
        }
        let after = &text[i + name.len()..];
        let Some(expr) = after.trim_start_matches([' ', '\t']).strip_prefix('=') else {
            continue;
        };
        if expr.starts_with('=') {
            continue;
        }
        let expr = expr.trim_start_matches([' ', '\t']);
        let at = text.len() - expr.len();
        found = if expr.starts_with(['[', '(']) {
            balanced(text, at + 1).map(|inner| &text[at..at + inner.len() + 2])
        } else {
            expr.lines().next().map(str::trim)
        };
    }
    found
}

/// IPython's `!` lines expand Python names as `$name` and `{expr}`: the second becomes a
/// shell variable here, so `!curl -H "Authorization: Bearer {token}"` is seen as what it is.
pub(super) fn ipython_expand(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j)
                if !after[..j].is_empty()
                    && after[..j]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') =>
            {
                let name = after[..j].rsplit('.').next().unwrap_or("");
                out.push_str(&format!("${{{name}}}"));
                rest = &after[j + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Literal parts with `\u{1}NAME\u{2}` markers split back into variables.
pub(super) fn unmark(parts: Vec<Part>) -> Vec<Part> {
    let mut out = Vec::new();
    for p in parts {
        let Part::Lit(t) = p else {
            out.push(p);
            continue;
        };
        let mut rest = t.as_str();
        while let Some(i) = rest.find('\u{1}') {
            if i > 0 {
                out.push(Part::Lit(rest[..i].to_string()));
            }
            let after = &rest[i + 1..];
            let end = after.find('\u{2}').unwrap_or(after.len());
            out.push(Part::Var(after[..end].to_string()));
            rest = after.get(end + 1..).unwrap_or("");
        }
        if !rest.is_empty() {
            out.push(Part::Lit(rest.to_string()));
        }
    }
    out
}

/// Index of the closing quote of the string literal opening at `i` (or the end).
pub(super) fn string_end(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() && b[j] != q {
        if b[j] == b'\\' {
            j += 1;
        }
        j += 1;
    }
    j
}

/// The text between `(` (just before `open`) and its matching `)`, strings respected.
pub(super) fn balanced(text: &str, open: usize) -> Option<&str> {
    let b = text.as_bytes();
    let mut depth = 1usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => i = string_end(b, i),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return text.get(open..i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `s` split at top-level `sep` (outside strings and brackets).
pub(super) fn split_top(s: &str, sep: u8) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => i = string_end(b, i),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(s.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

/// The variable a Python expression reads: `os.environ["X"]`, `os.getenv("X")`,
/// `os.environ.get("X")` give `X`; otherwise the last identifier (`self.token` → `token`).
pub(super) fn py_name(expr: &str) -> String {
    let e = expr.trim();
    for p in [
        "os.environ[",
        "os.getenv(",
        "os.environ.get(",
        "environ.get(",
        "getenv(",
    ] {
        if let Some(rest) = e.strip_prefix(p) {
            return rest
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
        }
    }
    e.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string()
}

/// One Python expression as a word: literals, f-string fields and names, joined by `+`.
pub(super) fn py_word(expr: &str, offset: usize) -> Word {
    let mut parts = Vec::new();
    for operand in split_top(expr, b'+') {
        let o = operand.trim();
        let prefix_len = o
            .find(['"', '\''])
            .filter(|&q| o[..q].chars().all(|c| "rRbBfFuU".contains(c)))
            .unwrap_or(usize::MAX);
        if prefix_len == usize::MAX {
            parts.push(Part::Var(py_name(o)));
            continue;
        }
        let fstring = o[..prefix_len].to_ascii_lowercase().contains('f');
        let q = &o[prefix_len..];
        let quote = if q.starts_with("\"\"\"") || q.starts_with("'''") {
            &q[..3]
        } else {
            &q[..1]
        };
        let body = q
            .strip_prefix(quote)
            .and_then(|b| b.strip_suffix(quote))
            .unwrap_or("");
        if !fstring {
            parts.push(Part::Lit(body.to_string()));
            continue;
        }
        let mut rest = body;
        while let Some(i) = rest.find('{') {
            if rest[i..].starts_with("{{") {
                parts.push(Part::Lit(rest[..i + 1].to_string()));
                rest = &rest[i + 2..];
                continue;
            }
            parts.push(Part::Lit(rest[..i].to_string()));
            let Some(j) = rest[i..].find('}') else {
                rest = "";
                break;
            };
            let field = rest[i + 1..i + j].split(['!', ':']).next().unwrap_or("");
            parts.push(Part::Var(py_name(field)));
            rest = &rest[i + j + 1..];
        }
        parts.push(Part::Lit(rest.to_string()));
    }
    // Adjacent literals merge, as the shell lexer's words do.
    let mut merged: Vec<Part> = Vec::new();
    for p in parts {
        match (merged.last_mut(), p) {
            (Some(Part::Lit(a)), Part::Lit(b)) => a.push_str(&b),
            (_, Part::Lit(b)) if b.is_empty() => {}
            (_, p) => merged.push(p),
        }
    }
    Word {
        parts: merged,
        offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl SecretJudge for Fake {
        fn is_secret(&self, v: &str) -> bool {
            v.starts_with("eyJ")
        }
    }

    fn checks(src: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (_, c) in python_commands(src) {
            check_command(&c, Context::Script, &Fake, &mut out);
        }
        out.into_iter().map(|f| f.check).collect()
    }

    #[test]
    fn subprocess_lists_and_os_system_strings() {
        for src in [
            r#"subprocess.run(["curl", "-H", f"Authorization: {token}", url], check=True)"#,
            r#"subprocess.check_output(['curl', '-H', 'Authorization: ' + os.environ["S3M_TOKEN"], URL])"#,
            r#"os.system("curl -H 'Authorization: " + os.getenv('IRI_TOKEN') + "' https://h/")"#,
            r#"os.system(f"curl --oauth2-bearer {self.access_token} https://h/")"#,
            "subprocess.Popen(\n    [\"curl\", \"-u\", f\"admin:{password}\", url],\n)",
        ] {
            assert_eq!(checks(src), vec!["hygiene.token_on_command_line"], "{src}");
        }
        // A command built in a name first, then run.
        for src in [
            "TOKEN = read_token()\ncmd = f\"curl -H 'Authorization: Bearer {TOKEN}' {url}\"\nos.system(cmd)\n",
            "def go(token):\n    args = [\n        \"curl\",\n        \"--oauth2-bearer\",\n        token,\n        url,\n    ]\n    subprocess.run(args, check=True)\n",
        ] {
            assert_eq!(checks(src), vec!["hygiene.token_on_command_line"], "{src}");
        }
        for src in [
            "cmd = f\"curl -H @{header_file} {url}\"\nos.system(cmd)\n",
            "os.system(cmd)\n",
            "cmd == 'x'\nos.system(cmd)\n",
            r#"subprocess.run(["curl", "-H", "@.env", url])"#,
            r#"subprocess.run(["curl", "-H", f"Accept: {mime}", url])"#,
            r#"requests.get(url, headers={"Authorization": token})"#,
            r#"subprocess.run(["sbatch", script])"#,
            r#"os.system("ls"#,
        ] {
            assert_eq!(checks(src), Vec::<&str>::new(), "{src}");
        }
    }
}
