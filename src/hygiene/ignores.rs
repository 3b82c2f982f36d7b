//! Whether git ignores a path, decided as git does.
//!
//! libgit2's `git_ignore_path_is_ignored` disagreed with `git check-ignore` on a negation in a
//! nested `.gitignore` (`*.env` at the root, `!.env` in `sub/`: git does not ignore
//! `sub/.env`, libgit2 said it did), so the decision is made here from the pattern files, with
//! the `ignore` crate matching each file's patterns:
//!
//! - sources, lowest precedence first: `core.excludesFile` (default
//!   `$XDG_CONFIG_HOME/git/ignore`), `.git/info/exclude`, then the `.gitignore` of every
//!   directory from the work tree's root down to the path's own; the last match wins, and a
//!   negation (`!pattern`) is a match that un-ignores;
//! - a path whose parent directory is ignored is ignored, whatever a deeper negation says
//!   (git does not descend into ignored directories).

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Ignore decisions for one work tree, with each pattern file parsed once.
pub struct Ignores {
    workdir: PathBuf,
    /// `core.excludesFile` and `info/exclude`, lowest precedence first.
    base: Vec<Gitignore>,
    /// Per directory (relative to the work tree), its `.gitignore`, if any.
    dirs: HashMap<PathBuf, Option<Gitignore>>,
}

/// A later, more specific source overrides what came before it.
fn update<T>(ignored: &mut bool, m: Match<T>) {
    match m {
        Match::Ignore(_) => *ignored = true,
        Match::Whitelist(_) => *ignored = false,
        Match::None => {}
    }
}

fn matcher(root: &Path, file: &Path) -> Option<Gitignore> {
    if !file.is_file() {
        return None;
    }
    let mut b = GitignoreBuilder::new(root);
    // A line git cannot parse is skipped by git too; the rest of the file still counts.
    let _ = b.add(file);
    b.build().ok()
}

/// The user's global excludes file, as git finds it.
fn global_excludes(repo: &git2::Repository) -> Option<PathBuf> {
    if let Ok(cfg) = repo.config()
        && let Ok(p) = cfg.get_path("core.excludesFile")
    {
        return Some(p);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("git").join("ignore"))
}

impl Ignores {
    /// The ignore rules of `repo`'s work tree (`workdir`, canonical).
    pub fn new(repo: &git2::Repository, workdir: &Path) -> Ignores {
        let mut base = Vec::new();
        if let Some(g) = global_excludes(repo).and_then(|f| matcher(workdir, &f)) {
            base.push(g);
        }
        if let Some(g) = matcher(workdir, &repo.path().join("info").join("exclude")) {
            base.push(g);
        }
        Ignores {
            workdir: workdir.to_path_buf(),
            base,
            dirs: HashMap::new(),
        }
    }

    fn dir_matcher(&mut self, dir: &Path) -> Option<&Gitignore> {
        let workdir = &self.workdir;
        self.dirs
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                let abs = workdir.join(dir);
                matcher(&abs, &abs.join(".gitignore"))
            })
            .as_ref()
    }

    /// The decision for one path on its own (parents not considered).
    fn decide(&mut self, rel: &Path, is_dir: bool) -> bool {
        let abs = self.workdir.join(rel);
        let mut ignored = false;
        for g in &self.base {
            update(&mut ignored, g.matched(&abs, is_dir));
        }
        let mut dirs = vec![PathBuf::new()];
        if let Some(parent) = rel.parent() {
            let mut acc = PathBuf::new();
            for c in parent.components() {
                acc.push(c);
                dirs.push(acc.clone());
            }
        }
        for d in dirs {
            if let Some(g) = self.dir_matcher(&d) {
                update(&mut ignored, g.matched(&abs, is_dir));
            }
        }
        ignored
    }

    /// Whether git ignores `rel` (`/`-separated, relative to the work tree).
    pub fn is_ignored(&mut self, rel: &str, is_dir: bool) -> bool {
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        let mut acc = PathBuf::new();
        for (i, part) in parts.iter().enumerate() {
            acc.push(part);
            let last = i + 1 == parts.len();
            if self.decide(&acc, if last { is_dir } else { true }) {
                return true;
            }
        }
        false
    }
}
