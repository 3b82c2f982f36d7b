//! Scanning one blob: keyword prefilter, exact regex, entropy, JWT classification, context.
//!
//! One pass per blob: an Aho-Corasick automaton over every rule's keywords tells which rules can
//! match at all; only those rules' regexes run (a regex shared by several rules runs once). The
//! engine does not know where a blob came from; sources turn byte spans into locations.

mod check;
pub mod jwt;
mod keywords;
mod views;

pub use check::{CheckFailure, check_rules};
pub use keywords::{Copied, Occurrences};

use crate::rules::{Confidence, JwtClass, Rule, RuleError, RuleSet, Severity};
use crate::secret::Secret;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use jwt::TokenFacts;
use memchr::memmem;
use regex::bytes::{Regex, RegexSet};
use std::collections::HashMap;
use std::sync::Arc;

/// Names that say their value is about a secret, not the secret: its hash (`…_SHA256`, a
/// checksum to verify the key with), where it is (`…_FILE`, `…_PATH`, `…_URL`), what it is
/// called (`…_NAME`).
static NOT_A_SECRET_NAME: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(
        r"(?i-u)(?:sha(?:1|224|256|384|512)?|hash|digest|md5|checksum|fingerprint|[_.-](?:path|file|url|uri|name))$",
    )
    .expect("static regex")
});

/// How much of a file a file rule without `max_size` takes as its secret.
pub const FILE_SECRET_LIMIT: u64 = 1 << 20;

/// The marker that suppresses a finding on its line or the line below.
pub const ALLOW_MARKER: &str = "tokenwarden:allow";

/// One rule match in one blob.
#[derive(Debug, Clone)]
pub struct RawMatch {
    /// Index of the rule in [`Engine::rules`].
    pub rule: usize,
    /// The secret.
    pub secret: Secret,
    /// Byte offset of the secret in the blob.
    pub start: usize,
    /// Byte offset just past the secret.
    pub end: usize,
    /// Byte offset where the whole regex match began (before any context prefix). Chunked
    /// sources use it to decide which chunk owns a match.
    pub anchor: usize,
    /// Severity after adjustments (expired tokens and documentation examples are lowered).
    pub severity: Severity,
    /// Confidence after context.
    pub confidence: Confidence,
    /// Decoded JWT facts, when the secret is a JWT.
    pub token: Option<TokenFacts>,
    /// Set when the secret is a published documentation example (the source).
    pub doc_example: Option<String>,
    /// Set when an inline allow comment covers the match (the reason given, may be empty).
    pub allowed: Option<String>,
    /// True when the rule knows the credential only by the facility context around it (a
    /// shared generic pattern): a rule that knows the credential's own shape describes the
    /// same secret better.
    pub by_context: bool,
    /// How the secret was encoded where it was found (`base64 in a Kubernetes Secret`), when
    /// the engine decoded it to see it.
    pub decoded: Option<&'static str>,
}

/// A compiled pattern and the secret group a rule reads from it.
type PatternKey = (usize, Option<usize>);

struct Compiled {
    pattern: Option<usize>,
    path: Option<Regex>,
    allow: Option<RegexSet>,
    context: Option<(AhoCorasick, usize)>,
    shape: Option<Regex>,
    name: Option<Regex>,
    by_context: bool,
}

/// Options that change how matches are judged.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// "Now" for expiry, in Unix seconds.
    pub now: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            now: crate::rules::template::now_unix(),
        }
    }
}

/// A keyword automaton.
struct Prefilter {
    /// It runs on the lower-cased text.
    lowered: bool,
    ac: AhoCorasick,
    /// Keyword number → the rules it wakes.
    rules: Vec<Vec<usize>>,
    /// Keyword number → its length.
    lens: Vec<usize>,
}

/// A compiled rule set, shared by all scanning threads.
pub struct Engine {
    rules: Arc<Vec<Rule>>,
    compiled: Vec<Compiled>,
    patterns: Vec<Regex>,
    /// Keyword automatons: which rules each keyword wakes.
    prefilters: Vec<Prefilter>,
    /// The longest keyword's length: how far a carried search looks back (`keywords.rs`).
    longest_keyword: usize,
    always_rules: Vec<usize>,
    path_rules: Vec<usize>,
    placeholders: RegexSet,
    /// Published values, by [`crate::secret::published_id`].
    doc_examples: HashMap<String, String>,
    allow_finder: memmem::Finder<'static>,
    opts: EngineOptions,
}

/// Compiles a rule's pattern with ASCII-only classes and case folding where the pattern allows
/// it (as in gitleaks' RE2, where `\w` and `(?i)` are ASCII too): secrets and the names
/// around them are ASCII, and Unicode case folding (`k` also matching the Kelvin sign) made
/// the shared `@assignment` pattern eleven times slower on the kernel tree. A pattern that
/// needs Unicode (a non-ASCII class) compiles as written.
fn compile_pattern(p: &str) -> Result<Regex, regex::Error> {
    let build = |unicode: bool| {
        regex::bytes::RegexBuilder::new(p)
            .unicode(unicode)
            .size_limit(64 << 20)
            .build()
    };
    build(false).or_else(|_| build(true))
}

fn ci_automaton<I, P>(words: I) -> Result<AhoCorasick, String>
where
    I: IntoIterator<Item = P>,
    P: AsRef<[u8]>,
{
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(words)
        .map_err(|e| e.to_string())
}

impl Engine {
    /// Compiles a rule set.
    pub fn new(set: &RuleSet, opts: EngineOptions) -> Result<Engine, RuleError> {
        let mut patterns: Vec<Regex> = Vec::new();
        let mut pattern_ids: HashMap<String, usize> = HashMap::new();
        // Keywords in two automatons: case-insensitive ones (the default) and exact ones.
        let mut keywords: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        let mut keyword_ids: HashMap<(usize, String), usize> = HashMap::new();
        let mut keyword_rules: [Vec<Vec<usize>>; 2] = [Vec::new(), Vec::new()];
        let mut compiled = Vec::with_capacity(set.rules.len());
        let mut always_rules = Vec::new();
        let mut path_rules = Vec::new();
        let err = |rule: &Rule, m: String| RuleError::Invalid {
            id: rule.id.clone(),
            message: m,
        };
        for (idx, rule) in set.rules.iter().enumerate() {
            let pattern = match &rule.pattern {
                Some(p) => Some(match pattern_ids.get(p) {
                    Some(&i) => i,
                    None => {
                        let re = compile_pattern(p).map_err(|e| err(rule, e.to_string()))?;
                        patterns.push(re);
                        pattern_ids.insert(p.clone(), patterns.len() - 1);
                        patterns.len() - 1
                    }
                }),
                None => None,
            };
            let path = match &rule.path {
                Some(p) => Some(Regex::new(p).map_err(|e| err(rule, e.to_string()))?),
                None => None,
            };
            let allow = if rule.allow.is_empty() {
                None
            } else {
                Some(RegexSet::new(&rule.allow).map_err(|e| err(rule, e.to_string()))?)
            };
            let context = match &rule.context {
                Some(c) => Some((ci_automaton(&c.words).map_err(|e| err(rule, e))?, c.lines)),
                None => None,
            };
            // A rule that needs a context word can only report where one is: its context
            // words wake it (in the blob or in the path).
            let rule_keywords = match &rule.context {
                Some(c) if rule.keywords.is_empty() && c.required => &c.words,
                _ => &rule.keywords,
            };
            let always = pattern.is_some() && rule_keywords.is_empty();
            if pattern.is_some() {
                if always {
                    always_rules.push(idx);
                }
                let kind = usize::from(rule.case_sensitive_keywords);
                for k in rule_keywords {
                    let key = if kind == 1 {
                        k.clone()
                    } else {
                        k.to_ascii_lowercase()
                    };
                    let id = *keyword_ids.entry((kind, key.clone())).or_insert_with(|| {
                        keywords[kind].push(key);
                        keyword_rules[kind].push(Vec::new());
                        keywords[kind].len() - 1
                    });
                    if !keyword_rules[kind][id].contains(&idx) {
                        keyword_rules[kind][id].push(idx);
                    }
                }
            } else if path.is_some() {
                path_rules.push(idx);
            }
            let regex_of = |re: &Option<String>| -> Result<Option<Regex>, RuleError> {
                re.as_deref()
                    .map(|r| Regex::new(r).map_err(|e| err(rule, e.to_string())))
                    .transpose()
            };
            compiled.push(Compiled {
                pattern,
                path,
                allow,
                context,
                shape: regex_of(&rule.shape)?,
                name: regex_of(&rule.assigned_to)?,
                by_context: rule
                    .context
                    .as_ref()
                    .is_some_and(|c| c.required && c.file.is_some()),
            });
        }
        let mut prefilters = Vec::new();
        for (kind, words) in keywords.iter().enumerate() {
            if words.is_empty() {
                continue;
            }
            // Case-insensitive keywords are matched exactly against a lower-cased copy of the
            // blob, with leftmost-longest semantics: that lets aho-corasick use its SIMD
            // (Teddy) prefilter, which an ASCII-case-insensitive or overlapping search cannot.
            // On the kernel tree this is ~5x faster than the overlapping case-insensitive scan.
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(words)
                .map_err(|e| RuleError::Invalid {
                    id: "<keywords>".into(),
                    message: e.to_string(),
                })?;
            // A leftmost-longest search reports one keyword per start position: the longest.
            // Every other keyword matching there is a prefix of it, so each keyword also
            // carries the rules of its prefixes; searching on from start + 1 finds the rest.
            let mut rules_of = std::mem::take(&mut keyword_rules[kind]);
            for i in 0..words.len() {
                for j in 0..words.len() {
                    if i != j && words[i].starts_with(words[j].as_str()) {
                        let extra = rules_of[j].clone();
                        for r in extra {
                            if !rules_of[i].contains(&r) {
                                rules_of[i].push(r);
                            }
                        }
                    }
                }
            }
            let lens = words.iter().map(String::len).collect();
            prefilters.push(Prefilter {
                lowered: kind == 0,
                ac,
                rules: rules_of,
                lens,
            });
        }
        let placeholders =
            RegexSet::new(&set.placeholders.patterns).map_err(|e| RuleError::Invalid {
                id: "<placeholders>".into(),
                message: e.to_string(),
            })?;
        let doc_examples = set
            .published
            .iter()
            .map(|d| (d.id.clone(), d.source.clone()))
            .collect();
        let longest_keyword = prefilters
            .iter()
            .flat_map(|p| p.lens.iter().copied())
            .max()
            .unwrap_or(0);
        Ok(Engine {
            rules: Arc::new(set.rules.clone()),
            compiled,
            patterns,
            prefilters,
            longest_keyword,
            always_rules,
            path_rules,
            placeholders,
            doc_examples,
            allow_finder: memmem::Finder::new(ALLOW_MARKER.as_bytes()).into_owned(),
            opts,
        })
    }

    /// The rules, indexed as in [`RawMatch::rule`].
    pub fn rules(&self) -> &Arc<Vec<Rule>> {
        &self.rules
    }

    /// True if some rule is a file rule (so binary files must still be looked at by path).
    pub fn has_path_rules(&self) -> bool {
        !self.path_rules.is_empty()
    }

    /// The file rules that match a `/`-separated path and file size.
    pub fn path_matches(&self, path: &str, size: u64) -> Vec<usize> {
        self.path_rules
            .iter()
            .copied()
            .filter(|&i| {
                let r = &self.rules[i];
                self.compiled[i]
                    .path
                    .as_ref()
                    .is_some_and(|re| re.is_match(path.as_bytes()))
                    && r.min_size.is_none_or(|m| size >= m)
                    && r.max_size.is_none_or(|m| size <= m)
            })
            .collect()
    }

    /// The match of file rule `rule` on a file: the content, up to the rule's size limit
    /// (1 MiB by default), is the secret, so copies of one key are one finding.
    pub fn file_match(&self, rule: usize, content: &[u8]) -> RawMatch {
        let r = &self.rules[rule];
        let limit = r
            .max_size
            .unwrap_or(FILE_SECRET_LIMIT)
            .min(content.len() as u64) as usize;
        RawMatch {
            rule,
            secret: Secret::new(&content[..limit]),
            start: 0,
            end: 0,
            anchor: 0,
            severity: r.severity,
            confidence: r.confidence,
            token: None,
            doc_example: None,
            allowed: None,
            by_context: false,
            decoded: None,
        }
    }

    /// True if a content rule with a `path` restriction applies to this path (or has none).
    fn path_allows(&self, rule: usize, path: Option<&str>) -> bool {
        match (&self.compiled[rule].path, path) {
            (Some(re), Some(p)) => re.is_match(p.as_bytes()),
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    /// Scans one blob. `path` (if known) feeds path-restricted rules and context words.
    ///
    /// Then the views the blob announces (a Kubernetes Secret's base64 values decoded, a CSV
    /// export's cells named by their column: see [`views`]) are scanned too, and their matches
    /// reported at the blob's bytes they stand for.
    pub fn scan(&self, blob: &[u8], path: Option<&str>) -> Vec<RawMatch> {
        self.scan_known(blob, path, &self.keyword_occurrences(blob))
    }

    /// [`Engine::scan`] of a blob whose keywords are known (see [`Occurrences`]): a version
    /// stored as a delta of another has them from its base's and the delta's few new bytes.
    pub fn scan_known(
        &self,
        blob: &[u8],
        path: Option<&str>,
        known: &Occurrences,
    ) -> Vec<RawMatch> {
        let mut out = self.scan_text(blob, path, known);
        let views = views::views(blob, path);
        if views.is_empty() {
            return out;
        }
        // What is already reported: rule, span and secret (a decoded value can hold two
        // secrets that both map to its whole encoded span).
        let mut seen: std::collections::HashSet<(usize, usize, usize, Vec<u8>)> = out
            .iter()
            .map(|m| (m.rule, m.start, m.end, m.secret.expose().to_vec()))
            .collect();
        for view in views {
            for (name, content, span) in &view.files {
                for rule in self.path_matches(name, content.len() as u64) {
                    let mut m = self.file_match(rule, content);
                    (m.start, m.end, m.anchor) = (span.start, span.end, span.start);
                    m.decoded = Some(view.what);
                    out.push(m);
                }
            }
            let known = self.keyword_occurrences(&view.text);
            for mut m in self.scan_text(&view.text, path, &known) {
                let Some(span) = view.blob_span(m.start, m.end) else {
                    continue;
                };
                if !seen.insert((m.rule, span.start, span.end, m.secret.expose().to_vec())) {
                    continue;
                }
                // The anchor (where the whole match began) maps like the secret, so a chunk
                // keeps a match whose name sits before its boundary.
                let anchor = view
                    .blob_span(m.anchor.min(m.start), m.end)
                    .map_or(span.start, |a| a.start);
                (m.start, m.end, m.anchor) = (span.start, span.end, anchor);
                m.decoded = Some(view.what);
                out.push(m);
            }
        }
        out
    }

    /// One pass of the rules over a text (a blob or one of its views), whose keyword
    /// occurrences are `known`.
    fn scan_text(&self, blob: &[u8], path: Option<&str>, known: &Occurrences) -> Vec<RawMatch> {
        let mut hit = vec![false; self.rules.len()];
        let mut any = false;
        for &i in &self.always_rules {
            hit[i] = true;
            any = true;
        }
        any |= self.wake(known, path, &mut hit);
        if !any {
            return Vec::new();
        }
        // Group the hit rules by compiled pattern so a shared regex runs once.
        // Rules with an explicit secret group get a pattern group of their own.
        let mut by_pattern: Vec<(PatternKey, Vec<usize>)> = Vec::new();
        for (rule, _) in hit.iter().enumerate().filter(|(_, h)| **h) {
            let Some(p) = self.compiled[rule].pattern else {
                continue;
            };
            if !self.path_allows(rule, path) {
                continue;
            }
            let key = (p, self.rules[rule].secret_group);
            match by_pattern.iter_mut().find(|(q, _)| *q == key) {
                Some((_, rs)) => rs.push(rule),
                None => by_pattern.push((key, vec![rule])),
            }
        }
        let mut out = Vec::new();
        // Whether each rule's context words are anywhere in the blob: asked at most once.
        let mut file_context: Vec<Option<bool>> = vec![None; self.rules.len()];
        for ((p, explicit_group), rules) in by_pattern {
            let re = &self.patterns[p];
            let secret_group =
                explicit_group.or_else(|| re.capture_names().position(|n| n == Some("secret")));
            for caps in re.captures_iter(blob) {
                // The named or numbered secret group; else, as gitleaks does, the first group
                // that took part in the match; else the whole match.
                let m = match secret_group {
                    Some(g) => caps.get(g),
                    None => caps.iter().skip(1).flatten().next().or_else(|| caps.get(0)),
                };
                let Some(m) = m else { continue };
                if m.is_empty() {
                    continue;
                }
                let anchor = caps.get(0).map_or(m.start(), |whole| whole.start());
                let name = caps.name("name").map(|n| n.as_bytes());
                let mut decoded: Option<Option<jwt::Jwt>> = None;
                for &rule in &rules {
                    let cand = Candidate {
                        start: m.start(),
                        end: m.end(),
                        name,
                    };
                    if let Some(mut rm) =
                        self.judge(rule, blob, cand, path, &mut decoded, &mut file_context)
                    {
                        rm.anchor = anchor;
                        out.push(rm);
                    }
                }
            }
        }
        out
    }

    /// Applies a rule's filters to one candidate secret.
    fn judge(
        &self,
        rule_idx: usize,
        blob: &[u8],
        cand: Candidate<'_>,
        path: Option<&str>,
        decoded: &mut Option<Option<jwt::Jwt>>,
        file_context: &mut [Option<bool>],
    ) -> Option<RawMatch> {
        let rule = &self.rules[rule_idx];
        let compiled = &self.compiled[rule_idx];
        let (start, end) = (cand.start, cand.end);
        let value = &blob[start..end];
        if cand.name.is_some_and(|n| NOT_A_SECRET_NAME.is_match(n))
            || compiled.shape.as_ref().is_some_and(|s| !s.is_match(value))
            || compiled
                .name
                .as_ref()
                .is_some_and(|n| !cand.name.is_some_and(|name| n.is_match(name)))
            || rule
                .min_classes
                .is_some_and(|min| char_classes(value) < min)
            || (compiled.by_context && looks_like_path(value))
        {
            return None;
        }
        if let Some(min) = rule.entropy
            && shannon_entropy(value) < min
        {
            return None;
        }
        let jwt = decoded.get_or_insert_with(|| {
            if value.starts_with(b"eyJ") || value.starts_with(b"ewo") {
                jwt::decode(value)
            } else {
                None
            }
        });
        // A value that decodes as a JWT is judged by its claims: words that happen to sit in
        // its base64 ("DUMMY" turns up in about one random token of 100 000) say nothing.
        if (jwt.is_none() && self.placeholders.is_match(value))
            || compiled.allow.as_ref().is_some_and(|a| a.is_match(value))
            || is_code_expression(blob, start, end, path)
        {
            return None;
        }
        // A JWT whose signature is a placeholder (`eyJ….eyJ….<signature>`, `….***`, `….…`) is
        // a documentation example of the shape, not a token anyone was issued.
        if jwt.is_some()
            && value.ends_with(b".")
            && blob.get(end..).is_some_and(|rest| {
                rest.starts_with(b"<") || rest.starts_with(b"*") || rest.starts_with("…".as_bytes())
            })
        {
            return None;
        }
        let token = jwt.as_ref().map(|j| jwt::facts(j, self.opts.now));
        if let Some(class) = rule.jwt {
            let got = token.as_ref().and_then(|t| t.class)?;
            if got != class {
                return None;
            }
        }
        let mut confidence = rule.confidence;
        if let (Some((ac, lines)), Some(ctx)) = (&compiled.context, &rule.context) {
            // Context is what surrounds the credential, never the credential itself: a random
            // token spells a short context word ("iri" in `…YiRIw…`) often enough to matter.
            let outside = |m: aho_corasick::Match| m.end() <= start || m.start() >= end;
            let (ws, we) = line_window(blob, start, end, *lines);
            let near = ac.find_iter(&blob[ws..we]).any(|m| outside(m.offset(ws)))
                || path.is_some_and(|p| ac.is_match(p));
            let mut in_file = || {
                ctx.file.is_some()
                    && *file_context[rule_idx].get_or_insert_with(|| ac.is_match(blob))
                    && ac.find_iter(blob).any(outside)
            };
            if near {
                confidence = confidence.max(ctx.confidence);
            } else if let Some(file_confidence) = ctx.file.filter(|_| in_file()) {
                confidence = file_confidence;
            } else if ctx.required {
                return None;
            }
        }
        let mut severity = rule.severity;
        if token.as_ref().and_then(|t| t.expired) == Some(true) {
            severity = severity.min(Severity::Low);
        }
        let doc_example = self
            .doc_examples
            .get(&crate::secret::published_id(value))
            .cloned()
            .or_else(|| {
                jwt.as_ref()
                    .and_then(jwt::published_demo)
                    .map(|s| s.to_string())
            });
        if doc_example.is_some() {
            severity = Severity::Info;
        }
        Some(RawMatch {
            rule: rule_idx,
            secret: Secret::new(value),
            start,
            end,
            anchor: start,
            severity,
            confidence,
            token,
            doc_example,
            allowed: self.allow_comment(blob, start),
            by_context: compiled.by_context,
            decoded: None,
        })
    }

    /// Looks for `tokenwarden:allow` on the match's line or the line above it.
    fn allow_comment(&self, blob: &[u8], at: usize) -> Option<String> {
        let (ls, le) = line_bounds(blob, at);
        let mut candidates = vec![(ls, le)];
        if ls > 0 {
            candidates.push(line_bounds(blob, ls - 1));
        }
        for (s, e) in candidates {
            let line = &blob[s..e];
            if let Some(pos) = self.allow_finder.find(line) {
                let rest = &line[pos + ALLOW_MARKER.len()..];
                let reason = String::from_utf8_lossy(rest)
                    .trim()
                    .trim_end_matches("-->")
                    .trim_end_matches("*/")
                    .trim()
                    .to_string();
                return Some(reason);
            }
        }
        None
    }

    /// True if `class` is a facility class (used to prefer classified JWT rules).
    pub fn is_specific_jwt(class: Option<JwtClass>) -> bool {
        matches!(class, Some(c) if c != JwtClass::Other)
    }
}

/// A candidate secret: its span, and the span of the name it is assigned to (the pattern's
/// `name` group), if any.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    start: usize,
    end: usize,
    name: Option<&'a [u8]>,
}

/// `/var/cache/x/bin/tool`, `~/.config/app`, `./run`: a path, which a rule that knows a
/// credential only by its context would otherwise take (`ripsecrets: /var/…/ripsecrets`). A
/// base64 secret that starts with `/` has mixed-case segments; a path may have one
/// (`/global/cfs/cdirs/m1234/run42/Output`) when most of the others are plain words.
fn looks_like_path(v: &[u8]) -> bool {
    let rest = v
        .strip_prefix(b"~/")
        .or_else(|| v.strip_prefix(b"./"))
        .or_else(|| v.strip_prefix(b"../"))
        .or_else(|| v.strip_prefix(b"/"));
    let plain = |seg: &[u8]| {
        seg.iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
    };
    rest.is_some_and(|r| {
        let segments: Vec<&[u8]> = r.split(|&b| b == b'/').collect();
        segments.iter().all(|seg| plain(seg))
            || (segments.len() >= 3
                && !segments.iter().any(|s| s.is_empty())
                && segments.iter().filter(|s| s.len() >= 2 && plain(s)).count() >= 2)
    })
}

/// How many of lower case, upper case, digits and symbols a value mixes. The separators of
/// identifiers and UUIDs (`_`, `-`, `.`) are no class: `transfer_client_secret_name` mixes one.
fn char_classes(v: &[u8]) -> u8 {
    let mut seen = [false; 4];
    for b in v {
        match b {
            b'a'..=b'z' => seen[0] = true,
            b'A'..=b'Z' => seen[1] = true,
            b'0'..=b'9' => seen[2] = true,
            b'_' | b'-' | b'.' => {}
            _ => seen[3] = true,
        }
    }
    seen.iter().filter(|s| **s).count() as u8
}

/// True when an unquoted value is code, not a literal: the start of an expression
/// (`data["access_token"]`, `read_token()`) anywhere, or, in a source file, a plain
/// identifier (`globus_transfer_data`, `transferToken`). In a shell script or a form body an
/// unquoted word is a literal (`password=correct_horse`), so identifiers count only in code.
fn is_code_expression(blob: &[u8], start: usize, end: usize, path: Option<&str>) -> bool {
    let quoted = start > 0 && matches!(blob[start - 1], b'"' | b'\'' | b'`');
    if quoted {
        return false;
    }
    if matches!(blob.get(end), Some(b'[' | b'(')) {
        return true;
    }
    const CODE: &[&str] = &[
        ".py", ".ipynb", ".js", ".mjs", ".ts", ".go", ".rb", ".java", ".kt", ".rs", ".c", ".cc",
        ".cpp", ".h", ".cs", ".php", ".jl", ".r", ".R", ".scala", ".swift", ".lua",
    ];
    let in_code = path.is_some_and(|p| CODE.iter().any(|ext| p.ends_with(ext)));
    in_code && (is_identifier(&blob[start..end]) || is_attribute_path(&blob[start..end]))
}

/// `settings.GLOBUS_CLIENT_SECRET`, `self._session_token`: an object (letters and `_` only)
/// and its attributes. A token with dots in it has digits or symbols in its first part.
fn is_attribute_path(v: &[u8]) -> bool {
    let mut parts = v.split(|&b| b == b'.');
    let Some(head) = parts.next() else {
        return false;
    };
    let ident = |p: &[u8]| {
        p.first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && p.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    !head.is_empty()
        && head.iter().all(|b| b.is_ascii_alphabetic() || *b == b'_')
        && v.contains(&b'.')
        && parts.all(ident)
}

/// `snake_case` or `camelCase` letters only: how variables are named, and what a random
/// credential of 16 or more characters almost never is.
fn is_identifier(v: &[u8]) -> bool {
    let Some(&first) = v.first() else {
        return false;
    };
    let parts = v.split(|&b| b == b'_').count();
    let humps = v.iter().filter(|b| b.is_ascii_uppercase()).count();
    first.is_ascii_lowercase()
        && v.iter().all(|b| b.is_ascii_alphabetic() || *b == b'_')
        && (parts > 1 || humps > 0)
        && !v
            .windows(2)
            .any(|w| w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase())
}

/// The `[start, end)` of the line holding byte `at` (without its newline).
pub fn line_bounds(blob: &[u8], at: usize) -> (usize, usize) {
    let at = at.min(blob.len());
    let s = memchr::memrchr(b'\n', &blob[..at]).map_or(0, |i| i + 1);
    let e = memchr::memchr(b'\n', &blob[at..]).map_or(blob.len(), |i| at + i);
    (s, e)
}

/// The byte range covering `lines` lines before `start` and after `end`.
fn line_window(blob: &[u8], start: usize, end: usize, lines: usize) -> (usize, usize) {
    let mut s = start;
    for _ in 0..=lines {
        match memchr::memrchr(b'\n', &blob[..s]) {
            Some(i) => s = i,
            None => {
                s = 0;
                break;
            }
        }
    }
    let mut e = end;
    for _ in 0..=lines {
        match memchr::memchr(b'\n', &blob[e..]) {
            Some(i) => e = e + i + 1,
            None => {
                e = blob.len();
                break;
            }
        }
    }
    (s, e.min(blob.len()))
}

/// Shannon entropy of a byte string, in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_rule(case_sensitive: bool) -> Engine {
        let mut set = RuleSet::default();
        set.add_toml(
            "t.toml",
            &format!(
                "[[rule]]\nid = \"t.r\"\nname = \"t\"\nfacility = \"t\"\nseverity = \"low\"\n\
                 keywords = [\"Tok\"]\ncase_sensitive_keywords = {case_sensitive}\n\
                 pattern = '(?i)tok=(?P<secret>[a-z]{{8}})'\nremediation = \"x\"\n"
            ),
        )
        .unwrap();
        Engine::new(&set, EngineOptions::default()).unwrap()
    }

    #[test]
    fn keywords_are_case_insensitive_unless_declared_exact() {
        let lower = b"tok=abcdefgh";
        let exact = b"Tok=abcdefgh";
        assert_eq!(one_rule(false).scan(lower, None).len(), 1);
        assert_eq!(
            one_rule(true).scan(lower, None).len(),
            0,
            "exact keyword must gate the regex"
        );
        assert_eq!(one_rule(true).scan(exact, None).len(), 1);
    }

    /// Leftmost-longest search plus restarts must still see every keyword: one that is a
    /// prefix of another, one that overlaps another's end, one inside another.
    #[test]
    fn every_keyword_occurrence_is_seen_despite_overlaps() {
        let mut set = RuleSet::default();
        for (id, kw, case) in [
            ("t.a", "password", false),
            ("t.b", "password=", false),
            ("t.c", "aws_secret", false),
            ("t.d", "secret_access_key", false),
            ("t.e", "cess", false),
            ("t.f", "Ag", true),
            ("t.g", "gX", true),
        ] {
            set.add_toml(
                "t.toml",
                &format!(
                    "[[rule]]\nid = \"{id}\"\nname = \"t\"\nfacility = \"t\"\nseverity = \"low\"\n\
                     keywords = [\"{kw}\"]\ncase_sensitive_keywords = {case}\npattern = '(?s).+'\nremediation = \"x\"\n"
                ),
            )
            .unwrap();
        }
        let e = Engine::new(&set, EngineOptions::default()).unwrap();
        let ids = |text: &[u8]| {
            let mut v: Vec<String> = e
                .scan(text, None)
                .iter()
                .map(|m| e.rules()[m.rule].id.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids(b"PASSWORD=x"), vec!["t.a", "t.b"]);
        assert_eq!(ids(b"AWS_SECRET_ACCESS_KEY=1"), vec!["t.c", "t.d", "t.e"]);
        assert_eq!(ids(b"..AgX.."), vec!["t.f", "t.g"]);
        assert_eq!(ids(b"agx"), Vec::<String>::new());
    }

    #[test]
    fn entropy_and_windows() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        let blob = b"l0\nl1\nl2\nl3\nl4\n";
        assert_eq!(line_bounds(blob, 4), (3, 5));
        let (s, e) = line_window(blob, 6, 8, 1);
        assert_eq!(&blob[s..e], b"\nl1\nl2\nl3\n");
    }
}
