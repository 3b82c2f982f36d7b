//! Hygiene: the checks that are not "a secret in a blob". Files that hold credentials must be
//! kept out of git (ignored, not tracked, never committed), and code that reads a `.env` file
//! must live in a repository that ignores `.env`.
//!
//! Ignore decisions honour `.gitignore` at every level, `.git/info/exclude`,
//! `core.excludesFile` and negations ([`ignores`]); the tests hold them against
//! `git check-ignore`.

pub mod audit;
pub mod cmdline;
pub mod docs;
pub mod gitignore;
mod ignores;

use crate::credential_files::{self as files, CredentialFile, classify};
use crate::rules::Severity;
use crate::sources::Warning;
use git2::Repository;
use ignores::Ignores;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A hygiene problem: no secret value, only where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct HygieneFinding {
    /// The check, e.g. `hygiene.credential_file_tracked`.
    pub check: String,
    /// How bad it is.
    pub severity: Severity,
    /// The file concerned, relative to the repository's work tree, `/`-separated.
    pub path: String,
    /// 1-based line, for findings about a line of code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
    /// The commit that first added the file, for findings from history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitRef>,
}

/// A commit named by a hygiene finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct CommitRef {
    /// Commit id.
    pub id: String,
    /// Author name.
    pub author: String,
    /// Commit time (Unix seconds).
    pub time: i64,
    /// First line of the message.
    pub summary: String,
}

/// Check ids, with the severity each is reported at.
pub const CHECKS: &[(&str, Severity, &str)] = &[
    (
        "hygiene.credential_file_tracked",
        Severity::High,
        "A file that holds credentials is tracked by git",
    ),
    (
        "hygiene.credential_file_staged",
        Severity::High,
        "A file that holds credentials is staged for commit",
    ),
    (
        "hygiene.credential_file_in_history",
        Severity::High,
        "A file that holds credentials was committed",
    ),
    (
        "hygiene.credential_file_not_ignored",
        Severity::Medium,
        "A file that holds credentials is not gitignored",
    ),
    (
        "hygiene.credential_file_readable",
        Severity::High,
        "A credential file outside any repository is readable by its group or by every user",
    ),
    (
        "hygiene.env_not_ignored",
        Severity::Medium,
        "Code reads a .env file that the repository does not ignore",
    ),
    (
        "hygiene.token_on_command_line",
        Severity::High,
        "A credential is passed on a command line, where ps shows it to every user",
    ),
    (
        "hygiene.token_exported",
        Severity::High,
        "A literal credential is exported in a script or shell history",
    ),
    (
        "hygiene.slurm_jwt_in_job_environment",
        Severity::Medium,
        "SLURM_JWT is handed to a batch job's environment",
    ),
    (
        "hygiene.slurmrestd_non_bearer_auth",
        Severity::Medium,
        "A non-Bearer Authorization header is sent to slurmrestd, which logs it",
    ),
    (
        "hygiene.docs_teach_token_on_command_line",
        Severity::Info,
        "Documentation shows a credential on a command line, which readers copy",
    ),
    (
        "hygiene.munge_without_ttl",
        Severity::Low,
        "A MUNGE credential is minted without a short TTL",
    ),
    (
        "hygiene.token_in_job_spec",
        Severity::High,
        "An IRI job specification passes a credential in its environment or arguments",
    ),
    (
        "hygiene.token_in_process_environment",
        Severity::Low,
        "One of your running processes holds a credential in its environment",
    ),
    (
        "hygiene.token_in_process_args",
        Severity::High,
        "A running process has a credential on its command line",
    ),
    (
        "hygiene.token_store_permissions",
        Severity::High,
        "A token store, or its directory, is readable by other users",
    ),
    (
        "hygiene.token_store",
        Severity::Info,
        "A token store (inventory)",
    ),
    (
        "hygiene.secret_in_image",
        Severity::High,
        "A Dockerfile bakes a credential into the image (ARG/ENV)",
    ),
];

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
static ENV_READERS_RE: std::sync::LazyLock<Option<regex::bytes::Regex>> =
    std::sync::LazyLock::new(|| regex::bytes::Regex::new(&format!("(?-u){ENV_READERS}")).ok());

/// Where `content` reads a `.env`, if it is a source file that does: (line, what).
fn env_read(rel: &str, content: &[u8]) -> Option<(u64, String)> {
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
struct FileJudge<'a> {
    engine: EngineJudge<'a>,
    /// The file's secrets, longest first (a secret inside another is redacted with it).
    secrets: Vec<String>,
    /// Those of them that are expired tokens.
    expired: Vec<String>,
    /// Shell variables the file assigns a credential header to.
    header_vars: Vec<String>,
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

fn severity_of(check: &str) -> Severity {
    CHECKS
        .iter()
        .find(|(id, _, _)| *id == check)
        .map(|(_, s, _)| *s)
        .unwrap_or(Severity::Medium)
}

/// What the checks found, and what they could not look at.
#[derive(Debug, Default)]
pub struct HygieneReport {
    /// Findings, sorted.
    pub findings: Vec<HygieneFinding>,
    /// Problems that left something unchecked.
    pub warnings: Vec<Warning>,
}

impl HygieneReport {
    fn add(&mut self, check: &str, path: &str, line: Option<u64>, message: String, fix: String) {
        self.findings.push(HygieneFinding {
            check: check.to_string(),
            severity: severity_of(check),
            path: path.to_string(),
            line,
            message,
            fix,
            commit: None,
        });
    }
}

/// The repository whose work tree holds `root`, if any (bare repositories have none).
fn work_tree_repo(root: &Path) -> Option<(Repository, PathBuf)> {
    let repo = crate::sources::git::discover(root).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    Some((repo, workdir))
}

/// `/`-separated path of `path` relative to `base`, if inside it.
fn relative(base: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(base).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The kind of credential file at `abs`, classified by `path` (the whole path, or one
/// relative to a work tree); the file's first bytes are read only for names that need them
/// (a `.pem` or `.key` holding a private key or a certificate).
fn classify_file(path: &str, abs: &Path) -> Option<CredentialFile> {
    let first = files::needs_head(path)
        .then(|| crate::untrusted::read_head(abs, 4096))
        .flatten();
    classify(path, first.as_deref())
}

/// A credential file found in a work tree.
struct Found {
    /// Relative to the work tree (what git is asked about).
    in_repo: String,
    /// Relative to the scan root (what reports show, like every other finding).
    shown: String,
    kind: CredentialFile,
}

/// Credential files under `root` in one work tree: every tracked one (from the index,
/// wherever it is) and the ones the walk reached that belong to this work tree.
fn credential_files(
    root: &Path,
    workdir: &Path,
    index: Option<&git2::Index>,
    walked: &[PathBuf],
) -> Vec<Found> {
    let mut out: BTreeMap<String, Found> = BTreeMap::new();
    let mut consider = |abs: &Path| {
        let Some(rel) = relative(workdir, abs) else {
            return;
        };
        let Some(shown) = relative(root, abs) else {
            return;
        };
        if out.contains_key(&rel) {
            return;
        }
        if let Some(kind) = classify_file(&rel, abs) {
            out.insert(
                rel.clone(),
                Found {
                    in_repo: rel,
                    shown,
                    kind,
                },
            );
        }
    };
    if let Some(index) = index {
        for e in index.iter() {
            let rel = String::from_utf8_lossy(&e.path);
            // Most tracked files are no credential file by name: tell that from the index's
            // own path, before building paths for it (git/git tracks 4,800 files).
            if classify(&rel, None).is_none() && !files::needs_head(&rel) {
                continue;
            }
            consider(&workdir.join(rel.as_ref()));
        }
    }
    for p in walked {
        consider(p);
    }
    out.into_values().collect()
}

/// Credential files under `root`, by a walk of their own (when no directory scan saw them).
/// The walk skips ignored directories (their files are ignored too: nothing to report there)
/// — a full walk into `target/` or `node_modules/` made the check cost more than the scan.
fn walk_credential_files(root: &Path) -> Vec<PathBuf> {
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .parents(true)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .follow_links(false)
        .filter_entry(crate::sources::fs::enter)
        .build();
    // `root` is canonical and the walk follows no symlink, so every path it yields is
    // canonical already: canonicalizing each again cost a `readlink` per path component per
    // file (101k failed calls on spack-packages).
    walk.flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter(|e| classify_file(&e.path().to_string_lossy(), e.path()).is_some())
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// The work tree each path belongs to: the nearest directory above it that holds a `.git`
/// (a directory, or a file for worktrees and submodules). Answers are cached per directory,
/// so a tree of many repositories costs one `stat` per directory.
#[derive(Default)]
struct Owners {
    cache: BTreeMap<PathBuf, Option<PathBuf>>,
}

impl Owners {
    fn owner(&mut self, path: &Path) -> Option<PathBuf> {
        let mut visited = Vec::new();
        let mut found = None;
        for dir in path.ancestors().skip(1) {
            if let Some(known) = self.cache.get(dir) {
                found = known.clone();
                break;
            }
            visited.push(dir.to_path_buf());
            if std::fs::symlink_metadata(dir.join(".git")).is_ok() {
                found = Some(dir.to_path_buf());
                break;
            }
        }
        for d in visited {
            self.cache.insert(d, found.clone());
        }
        found
    }
}

/// Checks the credential files under `root` against the work tree each belongs to — the one
/// holding `root`, and every repository nested under it (`scan ~/projects`, a sweep of
/// `/home`) — tracked, or not ignored by *that* repository's rules; and code that reads a
/// `.env` its repository would not ignore. Credential files in no repository are findings
/// when their group or other users can read them.
///
/// `seen`: what the directory walk already saw under `root` (its file hook,
/// [`CommandChecks`]); without it the checks walk the tree themselves.
pub fn check_work_tree(root: &Path, seen: Option<Seen>) -> Option<HygieneReport> {
    let root = root.canonicalize().ok()?;
    let (env_reads, walked) = match seen {
        Some(s) => (s.env_reads, s.credential_paths),
        None => (walk_env_readers(&root), walk_credential_files(&root)),
    };
    let mut owners = Owners::default();
    let mut groups: BTreeMap<Option<PathBuf>, Vec<PathBuf>> = BTreeMap::new();
    // The work tree holding the root is checked even when the walk saw no credential file
    // in it: its index may track one under an ignored directory.
    if let Some((_, workdir)) = work_tree_repo(&root) {
        groups.entry(Some(workdir)).or_default();
    }
    for p in walked {
        // Only what lies under the root is this scan's (`path()` also sees the root's
        // own name when a single file is scanned).
        if !p.starts_with(&root) {
            continue;
        }
        groups.entry(owners.owner(&p)).or_default().push(p);
    }
    let mut reads: BTreeMap<Option<PathBuf>, EnvReads> = BTreeMap::new();
    for (rel, hit) in env_reads {
        let owner = owners.owner(&root.join(&rel));
        if let Some(owner) = &owner {
            groups.entry(Some(owner.clone())).or_default();
        }
        reads.entry(owner).or_default().insert(rel, hit);
    }
    let mut report = HygieneReport::default();
    for (owner, files) in groups {
        match owner {
            Some(workdir) => {
                let env = reads.remove(&Some(workdir.clone())).unwrap_or_default();
                check_repository(&root, &workdir, &files, env, &mut report);
            }
            None => loose_files(&root, &files, &mut report),
        }
    }
    report.findings.sort();
    report.findings.dedup();
    Some(report)
}

/// One work tree's checks: credential files tracked or not ignored, and `.env` readers.
fn check_repository(
    root: &Path,
    workdir: &Path,
    walked: &[PathBuf],
    env_reads: EnvReads,
    report: &mut HygieneReport,
) {
    let repo = match Repository::open(workdir) {
        Ok(r) => r,
        Err(e) => {
            report.warnings.push(Warning {
                path: relative(root, workdir).unwrap_or_default(),
                message: format!(
                    "git repository unreadable, its credential files not checked against it: {}",
                    e.message()
                ),
            });
            return;
        }
    };
    let index = match repo.index() {
        Ok(i) => Some(i),
        Err(e) => {
            report.warnings.push(Warning {
                path: relative(root, workdir).unwrap_or_default(),
                message: format!(
                    "git index unreadable, tracked files not checked: {}",
                    e.message()
                ),
            });
            None
        }
    };
    let mut ignores = Ignores::new(&repo, workdir);
    for Found {
        in_repo,
        shown,
        kind,
    } in credential_files(root, workdir, index.as_ref(), walked)
    {
        let rel = &shown;
        let tracked = index
            .as_ref()
            .is_some_and(|i| i.get_path(Path::new(&in_repo), 0).is_some());
        if tracked {
            report.add(
                "hygiene.credential_file_tracked",
                rel,
                None,
                format!(
                    "{rel} holds {} and is tracked by git: everyone with a clone has it",
                    kind.holds
                ),
                format!(
                    "git rm --cached -- '{rel}', then `tokenwarden fix gitignore`; treat its credentials as leaked and rotate them"
                ),
            );
            continue;
        }
        if !ignores.is_ignored(&in_repo, false) {
            report.add(
                "hygiene.credential_file_not_ignored",
                rel,
                None,
                format!(
                    "{rel} holds {} and is not gitignored: `git add -A` or `git commit -a` would commit it",
                    kind.holds
                ),
                "`tokenwarden fix gitignore` adds it to .gitignore".to_string(),
            );
        }
    }
    env_readers(&mut ignores, root, workdir, env_reads, report);
}

/// Credential files in no repository: nothing can commit them, but on a shared machine
/// (a login node's `/home`, a project directory) their mode decides who reads them.
fn loose_files(root: &Path, files: &[PathBuf], report: &mut HygieneReport) {
    use std::os::unix::fs::PermissionsExt;
    for p in files {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o044 == 0 {
            continue;
        }
        let name = p.to_string_lossy();
        let Some(kind) = classify_file(&name, p) else {
            continue;
        };
        let shown = relative(root, p).unwrap_or_else(|| name.to_string());
        let world = mode & 0o004 != 0;
        report.findings.push(HygieneFinding {
            check: "hygiene.credential_file_readable".into(),
            severity: if world {
                Severity::High
            } else {
                Severity::Medium
            },
            path: shown.clone(),
            line: None,
            message: format!(
                "{shown} holds {} and is mode {mode:03o}: {} can read it",
                kind.holds,
                if world {
                    "every user of the machine"
                } else {
                    "the file's group"
                }
            ),
            fix: format!("chmod 600 '{shown}'"),
            commit: None,
        });
    }
}

/// Code that loads a `.env` file or reads an S3M token from the environment.
const ENV_READERS: &str = r#"(?x)
    \bS3M_TOKEN\b
  | \bload_dotenv\s*\( | \bfrom\s+dotenv\s+import\b | \bimport\s+dotenv\b
  | \bdotenv\.config\s*\( | require\(\s*['"]dotenv['"]\s*\) | \bgodotenv\.Load\b
  | \bDotenv\.load\b | \bdotenvy?::
  | (?:-H|--header)\s*['"]?@\.env\b
  | (?:^|[;&|(]\s*|\s)(?:source|\.)\s+(?:\./)?\.env\b
  | --env-file[=\s]+(?:\./)?\.env\b | \benv_file\s*:\s*(?:\./)?\.env\b
"#;

/// Source files worth reading for [`ENV_READERS`]: scripts, code, build and CI files.
fn is_source(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    const EXT: &[&str] = &[
        "py", "sh", "bash", "zsh", "ksh", "js", "mjs", "cjs", "ts", "go", "rb", "rs", "r", "jl",
        "mk", "yml", "yaml", "toml", "ipynb", "sbatch", "slurm", "pbs", "php", "java", "kt",
    ];
    matches!(
        lower.as_str(),
        "makefile"
            | "gnumakefile"
            | "dockerfile"
            | "justfile"
            | "procfile"
            | ".bashrc"
            | ".profile"
    ) || lower.starts_with("dockerfile.")
        || lower
            .rsplit_once('.')
            .is_some_and(|(_, ext)| EXT.contains(&ext))
}

/// The preventive check: if the repository would not ignore a `.env` at its root, each
/// (non-ignored) source file that reads one is a finding, so the file is ignored before it
/// exists.
fn env_readers(
    ignores: &mut Ignores,
    root: &Path,
    workdir: &Path,
    seen: EnvReads,
    report: &mut HygieneReport,
) {
    if ignores.is_ignored(".env", false) {
        return;
    }
    // The walk may have read ignored files (`--no-ignore`): a vendored `dotenv` package
    // under `.venv/` is not this repository's code.
    let hits: EnvReads = seen
        .into_iter()
        .filter(|(rel, _)| {
            relative(workdir, &root.join(rel))
                .is_some_and(|in_repo| !ignores.is_ignored(&in_repo, false))
        })
        .take(50)
        .collect();
    for (rel, (line, what)) in hits {
        report.add(
            "hygiene.env_not_ignored",
            &rel,
            Some(line),
            format!(
                "{rel}:{line} uses `{what}`, but this repository does not ignore .env: a .env written for it would be committed"
            ),
            "`tokenwarden fix gitignore` adds .env and .env.* to .gitignore".to_string(),
        );
    }
}

/// The `.env` readers under `root`, by a walk of their own (when no directory scan saw them).
fn walk_env_readers(root: &Path) -> EnvReads {
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .filter_entry(crate::sources::fs::enter)
        .build();
    let mut hits: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for entry in walk.flatten() {
        if hits.len() >= 50 {
            break;
        }
        if !entry.file_type().is_some_and(|t| t.is_file())
            || !is_source(&entry.file_name().to_string_lossy())
            || entry
                .metadata()
                .map(|m| m.len() > (1 << 20))
                .unwrap_or(true)
        {
            continue;
        }
        let Ok(text) = std::fs::read(entry.path()) else {
            continue;
        };
        let Some(hit) = env_read(&entry.file_name().to_string_lossy(), &text) else {
            continue;
        };
        if let Some(rel) = entry
            .path()
            .canonicalize()
            .ok()
            .and_then(|a| relative(root, &a))
        {
            hits.insert(rel, hit);
        }
    }
    hits
}

/// Credential files staged for the next commit: in the index and new or changed relative to
/// HEAD (the pre-commit hook's check; key files named `.pem`/`.key` judged by their staged
/// content). `None` outside a repository.
pub fn check_staged(root: &Path) -> Option<HygieneReport> {
    let repo = crate::sources::git::discover(root).ok()?;
    let index = repo.index().ok()?;
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let mut report = HygieneReport::default();
    for e in index.iter() {
        let rel = String::from_utf8_lossy(&e.path).into_owned();
        let first = if files::needs_head(&rel) {
            repo.find_blob(e.id)
                .ok()
                .map(|b| b.content()[..b.content().len().min(4096)].to_vec())
        } else {
            None
        };
        let Some(kind) = classify(&rel, first.as_deref()) else {
            continue;
        };
        let unchanged = head
            .as_ref()
            .and_then(|t| t.get_path(Path::new(&rel)).ok())
            .is_some_and(|te| te.id() == e.id);
        if !unchanged {
            report.add(
                "hygiene.credential_file_staged",
                &rel,
                None,
                format!(
                    "{rel} holds {} and is staged for commit",
                    kind.holds
                ),
                format!(
                    "git restore --staged -- '{rel}' (git rm --cached -- '{rel}' if it was tracked), then `tokenwarden fix gitignore`"
                ),
            );
        }
    }
    report.findings.sort();
    Some(report)
}

/// The finding for a credential file found in history, with the commit that first added it
/// (the history walk finds them: a `git log` with pathspecs took minutes on a Spack-sized
/// history, the walk already reads every tree).
pub fn history_finding(path: &str, commit: CommitRef) -> Option<HygieneFinding> {
    let kind = classify(path, None)?;
    let short = commit.id[..commit.id.len().min(12)].to_string();
    Some(HygieneFinding {
        check: "hygiene.credential_file_in_history".into(),
        severity: severity_of("hygiene.credential_file_in_history"),
        message: format!(
            "{path} holds {} and was committed in {short} by {}: it stays in every clone's history",
            kind.holds, commit.author
        ),
        fix: "treat its credentials as leaked and rotate them; remove the file from history (git filter-repo --invert-paths --path <file>) and have every clone re-fetched".into(),
        path: path.to_string(),
        line: None,
        commit: Some(commit),
    })
}
