//! Hygiene: the checks that are not "a secret in a blob". Files that hold credentials must be
//! kept out of git (ignored, not tracked, never committed), and code that reads a `.env` file
//! must live in a repository that ignores `.env`.
//!
//! Ignore decisions honour `.gitignore` at every level, `.git/info/exclude`,
//! `core.excludesFile` and negations ([`ignores`]); the tests hold them against
//! `git check-ignore`.

pub mod cmdline;
pub mod docs;
pub mod gitignore;
mod ignores;
pub mod machine;

mod commands;
mod env_readers;

pub use commands::*;
use env_readers::*;

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
    pub(super) in_repo: String,
    /// Relative to the scan root (what reports show, like every other finding).
    pub(super) shown: String,
    pub(super) kind: CredentialFile,
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
    pub(super) cache: BTreeMap<PathBuf, Option<PathBuf>>,
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
