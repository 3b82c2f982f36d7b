//! A small shell lexer: enough of POSIX sh to split a script into simple commands and each
//! command into words, keeping apart what is literal, what is a variable expansion and what
//! is a command substitution. That is what tells `curl -H "Authorization: $S3M_TOKEN"` (the
//! token ends up in argv, visible in `ps`) from `curl -H @.env` (it does not).
//!
//! Not a full parser: here-document bodies are lexed like commands (harmless: their lines are
//! not known commands), arithmetic and brace expansion are taken literally, and malformed
//! input (an unclosed quote) ends the word at the end of the input. It never fails.

/// A piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (after quote removal).
    Lit(String),
    /// `$NAME` or `${NAME…}`: the variable's name.
    Var(String),
    /// `$(…)` or `` `…` ``: the command inside.
    Subst(String),
}

/// A word: its parts, and the byte offset where it starts in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Its pieces, in order.
    pub parts: Vec<Part>,
    /// Where it starts in the source, in bytes.
    pub offset: usize,
}

impl Word {
    /// The word's value if it has no expansions.
    pub fn literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(t) => s.push_str(t),
                _ => return None,
            }
        }
        Some(s)
    }

    /// The literal prefix (up to the first expansion).
    pub fn literal_prefix(&self) -> String {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(t) => s.push_str(t),
                _ => break,
            }
        }
        s
    }

    /// The word as a shell would show it, expansions written `$NAME` and `$(…)`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(t) => s.push_str(t),
                Part::Var(v) => {
                    s.push_str("${");
                    s.push_str(v);
                    s.push('}');
                }
                Part::Subst(c) => {
                    s.push_str("$(");
                    s.push_str(c);
                    s.push(')');
                }
            }
        }
        s
    }

    /// The word without its first `n` literal bytes (for `-Hvalue` and `--opt=value`).
    pub fn strip_literal(&self, n: usize) -> Word {
        let mut left = n;
        let mut parts = Vec::new();
        for p in &self.parts {
            match p {
                Part::Lit(t) if left > 0 => {
                    if t.len() <= left {
                        left -= t.len();
                    } else {
                        let rest = t.get(left..).unwrap_or("").to_string();
                        left = 0;
                        parts.push(Part::Lit(rest));
                    }
                }
                other => parts.push(other.clone()),
            }
        }
        Word {
            parts,
            offset: self.offset + n,
        }
    }
}

/// A simple command: its words, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Its words in order (an assignment prefix such as `A=b` is a word too).
    pub words: Vec<Word>,
    /// Its output goes into a pipe (`munge -n | unmunge`): the next command reads it.
    pub piped: bool,
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn text(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(&self.s[from.min(self.s.len())..to.min(self.s.len())]).into_owned()
    }

    /// After `$(` (or a backtick when `tick`): the command up to the matching close.
    fn subst(&mut self, tick: bool) -> String {
        let start = self.i;
        let mut depth = 1usize;
        while let Some(c) = self.peek() {
            match c {
                b'`' if tick => {
                    let body = self.text(start, self.i);
                    self.i += 1;
                    return body;
                }
                b'\\' => self.i += 1,
                b'\'' if !tick => {
                    self.i += 1;
                    while self.peek().is_some_and(|c| c != b'\'') {
                        self.i += 1;
                    }
                }
                b'(' if !tick => depth += 1,
                b')' if !tick => {
                    depth -= 1;
                    if depth == 0 {
                        let body = self.text(start, self.i);
                        self.i += 1;
                        return body;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        self.text(start, self.i)
    }

    /// After `$`: a variable, `${…}`, `$(…)`, or a lone `$`.
    fn dollar(&mut self) -> Part {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                if self.peek() == Some(b'(') {
                    // $(( arithmetic )): literal enough for our purposes.
                    let body = self.subst(false);
                    return Part::Lit(format!("$({body})"));
                }
                Part::Subst(self.subst(false))
            }
            Some(b'{') => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c != b'}') {
                    self.i += 1;
                }
                let inner = self.text(start, self.i);
                self.i += 1;
                let name: String = inner
                    .trim_start_matches(['!', '#'])
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                Part::Var(name)
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                Part::Var(self.text(start, self.i))
            }
            Some(c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => {
                self.i += 1;
                Part::Var((c as char).to_string())
            }
            _ => Part::Lit("$".into()),
        }
    }
}

fn push_lit(parts: &mut Vec<Part>, c: &str) {
    if let Some(Part::Lit(t)) = parts.last_mut() {
        t.push_str(c);
    } else {
        parts.push(Part::Lit(c.to_string()));
    }
}

/// Splits shell source into simple commands.
pub fn commands(src: &str) -> Vec<Command> {
    let mut lx = Lexer {
        s: src.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    let end_command = |words: &mut Vec<Word>, out: &mut Vec<Command>, piped: bool| {
        if !words.is_empty() {
            out.push(Command {
                words: std::mem::take(words),
                piped,
            });
        }
    };
    while let Some(c) = lx.peek() {
        match c {
            b' ' | b'\t' | b'\r' => lx.i += 1,
            b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'{' | b'}' => {
                // `|` but not `||`, and not the second bar of one.
                let piped = c == b'|'
                    && lx.s.get(lx.i + 1) != Some(&b'|')
                    && (lx.i == 0 || lx.s[lx.i - 1] != b'|');
                lx.i += 1;
                end_command(&mut words, &mut out, piped);
            }
            b'#' => {
                while lx.peek().is_some_and(|c| c != b'\n') {
                    lx.i += 1;
                }
            }
            b'\\' if lx.s.get(lx.i + 1) == Some(&b'\n') => lx.i += 2,
            _ => {
                let w = word(&mut lx);
                words.push(w);
            }
        }
    }
    end_command(&mut words, &mut out, false);
    out
}

/// At `$` or a backtick: the expansion (or a literal `$`) added to `parts`.
fn expansion(lx: &mut Lexer<'_>, parts: &mut Vec<Part>) {
    let tick = lx.peek() == Some(b'`');
    lx.i += 1;
    let part = if tick {
        Part::Subst(lx.subst(true))
    } else {
        lx.dollar()
    };
    match part {
        Part::Lit(t) => push_lit(parts, &t),
        p => parts.push(p),
    }
}

/// One word, starting at a non-separator.
fn word(lx: &mut Lexer<'_>) -> Word {
    let offset = lx.i;
    let mut parts: Vec<Part> = Vec::new();
    let mut buf = [0u8; 4];
    while let Some(c) = lx.peek() {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' => break,
            b'\\' => {
                lx.i += 1;
                match lx.peek() {
                    Some(b'\n') => lx.i += 1,
                    Some(n) => {
                        lx.i += 1;
                        push_lit(&mut parts, (n as char).encode_utf8(&mut buf));
                    }
                    None => {}
                }
            }
            b'\'' => {
                lx.i += 1;
                let start = lx.i;
                while lx.peek().is_some_and(|c| c != b'\'') {
                    lx.i += 1;
                }
                let t = lx.text(start, lx.i);
                lx.i += 1;
                push_lit(&mut parts, &t);
                if parts.is_empty() {
                    parts.push(Part::Lit(String::new()));
                }
            }
            b'"' => {
                lx.i += 1;
                let mut any = false;
                while let Some(c) = lx.peek() {
                    match c {
                        b'"' => {
                            lx.i += 1;
                            break;
                        }
                        b'\\' => {
                            lx.i += 1;
                            if let Some(n) = lx.peek() {
                                lx.i += 1;
                                if !b"\"\\$`\n".contains(&n) {
                                    push_lit(&mut parts, "\\");
                                }
                                if n != b'\n' {
                                    push_lit(&mut parts, (n as char).encode_utf8(&mut buf));
                                }
                            }
                        }
                        b'$' | b'`' => expansion(lx, &mut parts),
                        _ => {
                            let start = lx.i;
                            while lx.peek().is_some_and(|c| !b"\"\\$`".contains(&c)) {
                                lx.i += 1;
                            }
                            let t = lx.text(start, lx.i);
                            push_lit(&mut parts, &t);
                        }
                    }
                    any = true;
                }
                if !any && parts.is_empty() {
                    parts.push(Part::Lit(String::new()));
                }
            }
            b'$' | b'`' => expansion(lx, &mut parts),
            _ => {
                let start = lx.i;
                while lx
                    .peek()
                    .is_some_and(|c| !b" \t\r\n;&|()\\'\"$`".contains(&c))
                {
                    lx.i += 1;
                }
                let t = lx.text(start, lx.i);
                push_lit(&mut parts, &t);
            }
        }
    }
    Word { parts, offset }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(c: &Command) -> Vec<String> {
        c.words.iter().map(|w| w.render()).collect()
    }

    #[test]
    fn splits_commands_and_words_with_quotes_and_expansions() {
        let src = "export A=1; curl -s -H \"Authorization: $S3M_TOKEN\" 'https://x/y?a=b' | jq .\n# comment $X\nwget --header=\"X-Token: ${TOK:-none}\" \\\n  https://h/$(cat ~/.tok)";
        let cmds = commands(src);
        assert_eq!(cmds.len(), 4, "{cmds:#?}");
        assert_eq!(lits(&cmds[0]), vec!["export", "A=1"]);
        assert_eq!(
            lits(&cmds[1]),
            vec![
                "curl",
                "-s",
                "-H",
                "Authorization: ${S3M_TOKEN}",
                "https://x/y?a=b"
            ]
        );
        assert_eq!(cmds[1].words[3].parts[1], Part::Var("S3M_TOKEN".into()));
        assert_eq!(lits(&cmds[2]), vec!["jq", "."]);
        assert_eq!(
            lits(&cmds[3]),
            vec![
                "wget",
                "--header=X-Token: ${TOK}",
                "https://h/$(cat ~/.tok)"
            ]
        );
        assert_eq!(&src[cmds[1].words[0].offset..][..4], "curl");
    }

    #[test]
    fn literal_and_stripped_words() {
        let c = &commands("curl -HAuthorization:x --user=$U")[0];
        assert_eq!(
            c.words[1].strip_literal(2).literal().unwrap(),
            "Authorization:x"
        );
        let v = c.words[2].strip_literal("--user=".len());
        assert_eq!(v.parts, vec![Part::Var("U".into())]);
        assert_eq!(c.words[2].literal(), None);
        assert_eq!(c.words[2].literal_prefix(), "--user=");
    }

    #[test]
    fn malformed_input_never_panics() {
        for src in [
            "\"unclosed $(",
            "'unclosed",
            "${",
            "$(",
            "`",
            "\\",
            "a\\",
            "$((1+2))",
            "é ü $é",
            "\"\\",
        ] {
            let _ = commands(src);
        }
    }
}
