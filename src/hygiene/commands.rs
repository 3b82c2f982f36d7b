//! The command-line checks as a file hook of the tree walk: every file the scan reads is also
//! looked at for commands that put a credential in argv, judged by the engine, and for code
//! that reads a `.env`.

use super::*;

/// The engine judges literal values in commands: a value is a credential if a rule matches it.
pub struct EngineJudge<'a>(pub &'a crate::engine::Engine);

impl EngineJudge<'_> {
    /// Byte spans of the credentials in `text`. Expired tokens, documentation examples and
    /// low-confidence matches do not count: the secret findings report those at their own
    /// (low) level.
    fn spans(&self, text: &str) -> Vec<(usize, usize)> {
        let mut spans: Vec<(usize, usize)> = self
            .0
            .scan(text.as_bytes(), None)
            .iter()
            .filter(|m| {
                m.severity >= Severity::Medium
                    && m.confidence >= crate::rules::Confidence::Medium
                    && m.allowed.is_none()
            })
            .map(|m| (m.start, m.end))
            .collect();
        spans.sort();
        spans
    }

    /// `text` with each credential replaced by `<redacted>` (and control characters escaped),
    /// or `None` if it holds none.
    pub fn redacted(&self, text: &str) -> Option<String> {
        let spans = self.spans(text);
        if spans.is_empty() {
            return None;
        }
        let mut out = String::new();
        let mut at = 0;
        for (s, e) in spans {
            if s < at {
                at = at.max(e);
                continue;
            }
            out.push_str(&crate::text::printable(text.get(at..s).unwrap_or("")));
            out.push_str("<redacted>");
            at = e;
        }
        out.push_str(&crate::text::printable(text.get(at..).unwrap_or("")));
        Some(out)
    }
}

impl cmdline::SecretJudge for EngineJudge<'_> {
    fn is_secret(&self, value: &str) -> bool {
        value.len() >= 8 && !self.spans(value).is_empty()
    }

    fn redact(&self, text: &str) -> String {
        self.redacted(text).unwrap_or_else(|| text.to_string())
    }
}

/// Collects command-line findings from the files a directory scan reads (scripts, batch
/// scripts, shell history, Makefiles, Dockerfiles, notebooks): no second walk, no second read.
///
/// It also notes the source files that read a `.env` ([`ENV_READERS`]), for the work tree's
/// `.env` check, so that check needs no walk of its own either.
#[derive(Default)]
pub struct CommandChecks {
    found: std::sync::Mutex<Vec<HygieneFinding>>,
    env_reads: std::sync::Mutex<EnvReads>,
    /// Credential files the walk passed (canonical paths), for the work tree's inventory.
    credential_paths: std::sync::Mutex<Vec<PathBuf>>,
}

/// Source files that read a `.env`: path as reported → (line, what reads it).
pub type EnvReads = BTreeMap<String, (u64, String)>;

/// What a directory walk saw that the work tree's checks need, so they walk nothing again.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Source files that read a `.env`.
    pub env_reads: EnvReads,
    /// Credential files, canonical paths.
    pub credential_paths: Vec<PathBuf>,
}

/// [`ENV_READERS`], compiled once, ASCII-only (a Unicode `\b` kept the regex crate on its
/// slowest engine: a quarter of a git/git scan's time).
pub(super) static ENV_READERS_RE: std::sync::LazyLock<Option<regex::bytes::Regex>> =
    std::sync::LazyLock::new(|| regex::bytes::Regex::new(&format!("(?-u){ENV_READERS}")).ok());

/// Where `content` reads a `.env`, if it is a source file that does: (line, what).
pub(super) fn env_read(rel: &str, content: &[u8]) -> Option<(u64, String)> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if content.len() > (1 << 20) || !is_source(name) {
        return None;
    }
    // Every reader names `.env`, `dotenv` or `S3M_TOKEN`: three substring searches spare the
    // regex (whose `source .env` branch has no literal to start from) most files.
    if ![&b".env"[..], b"otenv", b"S3M_TOKEN"]
        .iter()
        .any(|w| memchr::memmem::find(content, w).is_some())
    {
        return None;
    }
    let m = ENV_READERS_RE.as_ref()?.find(content)?;
    let line = memchr::memchr_iter(b'\n', &content[..m.start()]).count() as u64 + 1;
    Some((
        line,
        String::from_utf8_lossy(m.as_bytes()).trim().to_string(),
    ))
}

/// A judge for one file: a value is a credential when it holds a secret the engine found in
/// that file, where the file's context counted (a Globus `Ag…` token in `curl -H`, with
/// `import globus_sdk` at the top; a Palmetto bearer beside the API host), or when the
/// engine finds one in the value alone.
pub(super) struct FileJudge<'a> {
    pub(super) engine: EngineJudge<'a>,
    /// The file's secrets, longest first (a secret inside another is redacted with it).
    pub(super) secrets: Vec<String>,
    /// Those of them that are expired tokens.
    pub(super) expired: Vec<String>,
    /// Shell variables the file assigns a credential header to.
    pub(super) header_vars: Vec<String>,
}

impl<'a> FileJudge<'a> {
    fn new(engine: &'a crate::engine::Engine, matches: &[crate::engine::RawMatch]) -> Self {
        let mut secrets: Vec<String> = matches
            .iter()
            .filter(|m| {
                m.confidence >= crate::rules::Confidence::Medium
                    && m.allowed.is_none()
                    && m.doc_example.is_none()
                    && m.secret.len() >= 8
                    && m.end > m.start
            })
            .filter_map(|m| {
                std::str::from_utf8(m.secret.expose())
                    .ok()
                    .map(str::to_string)
            })
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        let expired = matches
            .iter()
            .filter(|m| m.token.as_ref().and_then(|t| t.expired) == Some(true))
            .filter_map(|m| {
                std::str::from_utf8(m.secret.expose())
                    .ok()
                    .map(str::to_string)
            })
            .collect();
        FileJudge {
            engine: EngineJudge(engine),
            secrets,
            expired,
            header_vars: Vec::new(),
        }
    }
}

impl cmdline::SecretJudge for FileJudge<'_> {
    fn is_secret(&self, value: &str) -> bool {
        self.secrets.iter().any(|s| value.contains(s.as_str())) || self.engine.is_secret(value)
    }

    fn knows_secrets(&self) -> bool {
        !self.secrets.is_empty()
    }

    fn holds_credential_header(&self, var: &str) -> bool {
        self.header_vars.iter().any(|v| v == var)
    }

    fn expired(&self, value: &str) -> bool {
        let holds = |s: &String| value.contains(s.as_str());
        self.expired.iter().any(holds)
            && !self
                .secrets
                .iter()
                .filter(|s| !self.expired.contains(s))
                .any(holds)
            && !self.engine.is_secret(value)
    }

    fn redact(&self, text: &str) -> String {
        // Every occurrence of every secret, overlaps merged, then one pass: replacing one
        // secret after another could break a second one that overlaps it and leave its tail.
        let mut spans: Vec<(usize, usize)> = self
            .secrets
            .iter()
            .flat_map(|s| {
                text.match_indices(s.as_str())
                    .map(|(i, m)| (i, i + m.len()))
            })
            .collect();
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in spans {
            if end <= at {
                continue;
            }
            if start < at {
                // Overlaps the span just redacted: extend it.
                at = end;
                continue;
            }
            out.push_str(text.get(at..start).unwrap_or(""));
            out.push_str("<redacted>");
            at = end;
        }
        out.push_str(text.get(at..).unwrap_or(""));
        self.engine.redact(&out)
    }
}

impl crate::sources::fs::FileHook for CommandChecks {
    fn path(&self, abs: &Path, _rel: &str) {
        // Classified on the whole path, so the directories above the scan root count too
        // (`.aws/credentials` scanned from inside `.aws`); the inventory classifies again
        // relative to the work tree.
        if classify_file(&abs.to_string_lossy(), abs).is_some()
            && let Ok(canonical) = abs.canonicalize()
            && let Ok(mut paths) = self.credential_paths.lock()
        {
            paths.push(canonical);
        }
    }

    fn file(
        &self,
        engine: &crate::engine::Engine,
        rel: &str,
        content: &[u8],
        matches: &[crate::engine::RawMatch],
    ) {
        if let Some(hit) = env_read(rel, content)
            && let Ok(mut reads) = self.env_reads.lock()
        {
            reads.insert(rel.to_string(), hit);
        }
        let Some(kind) = cmdline::file_kind(rel, content) else {
            return;
        };
        // Dockerfiles are judged by names too (`ARG GLOBUS_CLIENT_SECRET`) and JSON job specs
        // have their own test; every other kind needs a known command, or a credential that
        // the engine has found in the file (not any match: git's test scripts are full of
        // low-confidence `password=` lines, and lexing them was a fifth of the scan).
        let judge = FileJudge::new(engine, matches);
        let by_name = matches!(
            kind,
            cmdline::FileKind::Dockerfile | cmdline::FileKind::Json
        );
        if !by_name && judge.secrets.is_empty() && !cmdline::may_hold_commands(content) {
            return;
        }
        let mut judge = judge;
        judge.header_vars = cmdline::credential_header_variables(content);
        let text = String::from_utf8_lossy(content);
        let placed = cmdline::check_file(kind, &text, &judge);
        if placed.is_empty() {
            return;
        }
        let Ok(mut found) = self.found.lock() else {
            return;
        };
        for p in placed {
            let message = match &p.place {
                Some(place) => format!("{place}: {}", p.finding.message),
                None => p.finding.message,
            };
            found.push(HygieneFinding {
                check: p.finding.check.to_string(),
                severity: p.finding.severity,
                path: rel.to_string(),
                line: p.line,
                message,
                fix: p.finding.fix,
                commit: None,
            });
        }
    }
}

impl CommandChecks {
    /// What the walk saw for the work tree's checks: the `.env` readers and the credential
    /// files.
    pub fn seen(&self) -> Seen {
        Seen {
            env_reads: self.env_reads(),
            credential_paths: self
                .credential_paths
                .lock()
                .map(|p| p.clone())
                .unwrap_or_default(),
        }
    }

    /// The source files seen so far that read a `.env`.
    pub fn env_reads(&self) -> EnvReads {
        self.env_reads.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The findings collected so far.
    pub fn take(&self) -> Vec<HygieneFinding> {
        self.found
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }
}
