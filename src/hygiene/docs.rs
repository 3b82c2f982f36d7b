//! The shell examples in documentation: fenced and indented code blocks in Markdown,
//! reStructuredText `code-block`/`::` literal blocks, AsciiDoc listings and HTML `<pre>`.
//!
//! Readers paste these: a facility page that shows `curl -H "Authorization: Bearer $TOKEN"`
//! teaches every reader to put a token where `ps` shows it. The blocks are handed to the same
//! command checks as scripts; the caller reports one `info` finding per file.

/// One code block: the 1-based line its first line of code is on, and the code, with shell
/// prompts (`$ `, `user@host:~$ `) taken off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// 1-based line of the block's first line of code.
    pub line: u64,
    /// The commands, one per line as in the block.
    pub code: String,
    /// The prose just before the block says it shows what not to do ("Avoid command-line
    /// arguments", "never do this"): OLCF's S3M page shows the leak to warn against it.
    pub warned: bool,
}

/// Words of a warning in the prose before an example.
const WARNINGS: &[&str] = &[
    "avoid",
    "do not",
    "don't",
    "never ",
    "insecure",
    "unsafe",
    "not recommended",
    "bad example",
    "anti-pattern",
    "discouraged",
];

/// True when the few lines before `start` (0-based) warn against what follows.
fn warned(lines: &[&str], start: usize) -> bool {
    let from = start.saturating_sub(8);
    lines[from..start.min(lines.len())].iter().any(|l| {
        let l = l.to_ascii_lowercase();
        WARNINGS.iter().any(|w| l.contains(w))
    })
}

/// Which markup a documentation file is written in, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// `.md`, `.markdown`, `.mdx`.
    Markdown,
    /// `.rst`.
    Rst,
    /// `.adoc`, `.asciidoc`.
    AsciiDoc,
    /// `.html`, `.htm`, `.shtml` (Slurm's docs).
    Html,
}

/// The markup of the file named `name` (its last path component), if it is documentation.
pub fn markup(name: &str) -> Option<Markup> {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "md" | "markdown" | "mdx" => Markup::Markdown,
        "rst" => Markup::Rst,
        "adoc" | "asciidoc" => Markup::AsciiDoc,
        "html" | "htm" | "shtml" => Markup::Html,
        _ => return None,
    })
}

/// Languages of fenced blocks that are shell (an untagged block counts too).
fn shell_language(info: &str) -> bool {
    let lang = info
        .trim()
        .trim_start_matches('{')
        .split([' ', ',', '}'])
        .next()
        .unwrap_or("")
        .trim_start_matches('.')
        .to_ascii_lowercase();
    matches!(
        lang.as_str(),
        "" | "bash"
            | "sh"
            | "shell"
            | "console"
            | "zsh"
            | "shell-session"
            | "sh-session"
            | "shellsession"
            | "terminal"
            | "text"
            | "none"
    )
}

/// A line of a shell example without its prompt: `$ curl …`, `% curl …`,
/// `user@login1:~$ curl …`, `(venv) $ curl …`.
fn without_prompt(line: &str) -> &str {
    let t = line.trim_start();
    for p in ["$ ", "% ", "# "] {
        if let Some(rest) = t.strip_prefix(p) {
            return rest;
        }
    }
    if let Some(i) = t.find("$ ") {
        let prompt = &t[..i];
        let bare = prompt.trim_start_matches(|c: char| c == '(' || c.is_ascii_alphanumeric());
        let bare = bare.trim_start_matches([')', ' ']);
        if !prompt.is_empty()
            && !bare.contains(' ')
            && (prompt.contains('@') || prompt.contains(':') || prompt.ends_with(") "))
        {
            return &t[i + 2..];
        }
    }
    line
}

fn block(line: u64, lines: &[&str], warned: bool) -> Block {
    Block {
        line,
        warned,
        code: lines
            .iter()
            .map(|l| without_prompt(l))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The shell code blocks of a documentation file.
pub fn blocks(markup: Markup, text: &str) -> Vec<Block> {
    match markup {
        Markup::Markdown => markdown(text),
        Markup::Rst => rst(text),
        Markup::AsciiDoc => asciidoc(text),
        Markup::Html => html(text),
    }
}

/// Markdown fences (backticks or tildes) whose language is shell, or none.
fn markdown(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    delimited(
        &lines,
        |i| {
            let t = lines[i].trim_start();
            let fence = ["```", "~~~"].into_iter().find(|f| t.starts_with(f))?;
            let info = t.trim_start_matches(fence.as_bytes()[0] as char);
            Some((info.to_string(), fence))
        },
        |line, fence| line.trim_start().starts_with(fence),
    )
}

/// The blocks between an opening line and its closing line: `opens(i)` gives the language of
/// a block opening at line `i` and its delimiter, `closes(line, delimiter)` tells its end.
/// Blocks whose language is not shell are skipped whole.
fn delimited(
    lines: &[&str],
    opens: impl Fn(usize) -> Option<(String, &'static str)>,
    closes: impl Fn(&str, &str) -> bool,
) -> Vec<Block> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((lang, delimiter)) = opens(i) else {
            i += 1;
            continue;
        };
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&e| closes(lines[e], delimiter))
            .unwrap_or(lines.len());
        if shell_language(&lang) {
            out.push(block(
                start as u64 + 1,
                &lines[start..end],
                warned(lines, start),
            ));
        }
        i = end + 1;
    }
    out
}

/// reStructuredText: `.. code-block:: bash` (and `code`, `sourcecode`, `prompt`) and the
/// literal block after a paragraph ending in `::`.
fn rst(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        let directive = ["code-block::", "code::", "sourcecode::", "prompt::"]
            .iter()
            .find_map(|d| t.strip_prefix(".. ").and_then(|r| r.strip_prefix(d)));
        let opens = match directive {
            Some(lang) => shell_language(lang),
            None => t.ends_with("::") && !t.starts_with(".. "),
        };
        if !opens {
            i += 1;
            continue;
        }
        let indent = lines[i].len() - lines[i].trim_start().len();
        let mut j = i + 1;
        // Directive options (`:linenos:`) and blank lines before the code.
        while j < lines.len()
            && (lines[j].trim().is_empty() || lines[j].trim_start().starts_with(':'))
        {
            j += 1;
        }
        let start = j;
        while j < lines.len() {
            let l = lines[j];
            let deeper = l.len() - l.trim_start().len() > indent;
            if !l.trim().is_empty() && !deeper {
                break;
            }
            j += 1;
        }
        if j > start {
            out.push(block(
                start as u64 + 1,
                &lines[start..j],
                warned(&lines, i + 1),
            ));
        }
        i = j.max(i + 1);
    }
    out
}

/// AsciiDoc listing blocks: between `----` lines (a `[source,bash]` before them, or none).
fn asciidoc(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    delimited(
        &lines,
        |i| {
            if lines[i].trim_end() != "----" {
                return None;
            }
            let lang = i
                .checked_sub(1)
                .map(|p| lines[p].trim())
                .filter(|l| l.starts_with("[source"))
                .and_then(|l| l.trim_matches(['[', ']']).split(',').nth(1))
                .unwrap_or("");
            Some((lang.to_string(), "----"))
        },
        |line, delimiter| line.trim_end() == delimiter,
    )
}

/// HTML `<pre>` blocks, tags stripped and the common entities decoded.
fn html(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<pre") {
        let open = from + i;
        let Some(gt) = lower[open..].find('>') else {
            break;
        };
        let start = open + gt + 1;
        let end = lower[start..]
            .find("</pre")
            .map_or(text.len(), |e| start + e);
        let line = text[..start].bytes().filter(|&b| b == b'\n').count() as u64 + 1;
        let code = decode_entities(&strip_tags(&text[start..end]));
        let lines: Vec<&str> = code.lines().collect();
        let before = strip_tags(&text[from..open]);
        let before: Vec<&str> = before.lines().collect();
        out.push(block(line, &lines, warned(&before, before.len())));
        from = end;
    }
    out
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_under_a_warning_are_marked() {
        let rst = "Avoid Command-Line Arguments\n----------------------------\n\n.. code-block:: shell\n\n   $ curl -H \"Authorization: $TOKEN\" https://...\n\nDo it like this instead.\n\n.. code-block:: shell\n\n   $ curl -H @.env https://...\n";
        let b = blocks(Markup::Rst, rst);
        assert_eq!(
            b.iter().map(|b| b.warned).collect::<Vec<_>>(),
            [true, false]
        );
        let md = "Never do this:\n\n```\ncurl -u me:$PW https://h/\n```\n\n## Usage\n\nRun:\n\n```\ncurl -u me:$PW https://h/\n```\n";
        assert_eq!(
            blocks(Markup::Markdown, md)
                .iter()
                .map(|b| b.warned)
                .collect::<Vec<_>>(),
            [true, false]
        );
    }

    fn codes(m: Markup, text: &str) -> Vec<(u64, String)> {
        blocks(m, text)
            .into_iter()
            .map(|b| (b.line, b.code))
            .collect()
    }

    #[test]
    fn markdown_fences_of_shell_only() {
        let md = "# Use\n\n```bash\n$ curl -H \"Authorization: $TOKEN\" https://h/\n```\n\n```python\nos.system('curl')\n```\n~~~\nuser@login1:~$ ls\n~~~\n";
        assert_eq!(
            codes(Markup::Markdown, md),
            vec![
                (
                    4,
                    "curl -H \"Authorization: $TOKEN\" https://h/".to_string()
                ),
                (11, "ls".to_string()),
            ]
        );
    }

    #[test]
    fn rst_directives_and_literal_blocks() {
        let rst = "Title\n=====\n\nRun this::\n\n    curl -s https://h/\n    echo done\n\nText.\n\n.. code-block:: python\n\n   print(1)\n\n.. code-block:: console\n   :linenos:\n\n   $ munge -n\n";
        assert_eq!(
            codes(Markup::Rst, rst),
            vec![
                (6, "    curl -s https://h/\n    echo done\n".to_string()),
                (18, "munge -n".to_string()),
            ]
        );
    }

    #[test]
    fn asciidoc_listings_and_html_pre() {
        let adoc = "[source,bash]\n----\ncurl -u me:$PW https://h/\n----\n[source,python]\n----\nx = 1\n----\n";
        assert_eq!(
            codes(Markup::AsciiDoc, adoc),
            vec![(3, "curl -u me:$PW https://h/".to_string())]
        );
        let html = "<p>x</p>\n<pre>\n$ curl -H &quot;X-SLURM-USER-TOKEN: $SLURM_JWT&quot; <b>http://c:6820/</b>\n</pre>";
        assert_eq!(
            codes(Markup::Html, html),
            vec![(
                2,
                "\ncurl -H \"X-SLURM-USER-TOKEN: $SLURM_JWT\" http://c:6820/".to_string()
            )]
        );
    }

    #[test]
    fn prompts_come_off_but_not_words() {
        assert_eq!(without_prompt("$ curl x"), "curl x");
        assert_eq!(without_prompt("user@host:~$ curl x"), "curl x");
        assert_eq!(without_prompt("(venv) $ curl x"), "curl x");
        assert_eq!(without_prompt("echo cost is 5$ now"), "echo cost is 5$ now");
        assert_eq!(markup("docs/STS.MD"), Some(Markup::Markdown));
        assert_eq!(markup("run.sh"), None);
    }
}
