//! `tokenwarden fix gitignore`: append to the work tree's root `.gitignore` what it needs so
//! that `.env` files and the credential files present are ignored. Idempotent (a second run
//! adds nothing), keeps the file's line endings, and checks afterwards that every entry took.

use super::ignores::Ignores;
use super::{credential_files, walk_credential_files, work_tree_repo};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The header of the block tokenwarden appends.
pub const BLOCK_HEADER: &str = "# Files that hold credentials (added by tokenwarden fix gitignore)";

/// What `fix gitignore` did or would do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FixOutcome {
    /// The `.gitignore` written (or that would be).
    pub gitignore: PathBuf,
    /// Entries appended, in order (empty: already fine).
    pub added: Vec<String>,
    /// Credential files that are tracked: ignoring them does not untrack them.
    pub still_tracked: Vec<String>,
    /// Paths the new entries still do not ignore (a nested `.gitignore` re-includes them).
    pub not_ignored_after: Vec<String>,
}

/// Why `fix gitignore` could not run.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    /// No work tree at or above the path.
    #[error("{0} is not inside a git work tree")]
    NotARepository(String),
    /// `.gitignore` is a symlink or not a regular file: its target is never read into, or
    /// written through, a file the user will commit.
    #[error(
        "{path} is {kind}; tokenwarden does not write through it or copy its target into the \
         repository — replace it with a regular file and run this again"
    )]
    NotRegular {
        /// The file.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// An ignore file the walk would read is a FIFO or device.
    #[error("{0}")]
    Unsafe(String),
    /// `.gitignore` could not be read (or is too large to be one).
    #[error(transparent)]
    Unreadable(crate::untrusted::UntrustedError),
    /// Reading or writing `.gitignore` failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
}

/// Escapes a path for use as a literal, root-anchored gitignore pattern.
pub fn literal_pattern(rel: &str) -> String {
    let mut out = String::from("/");
    for c in rel.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '!' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
        out.push_str("\\ ");
    }
    out
}

/// Adds what is missing to the root `.gitignore` of the work tree holding `root` (only
/// computes it with `dry_run`).
pub fn fix_gitignore(root: &Path, dry_run: bool) -> Result<FixOutcome, FixError> {
    let abs = root
        .canonicalize()
        .map_err(|_| FixError::NotARepository(root.display().to_string()))?;
    let (repo, workdir) =
        work_tree_repo(&abs).ok_or_else(|| FixError::NotARepository(root.display().to_string()))?;
    let gitignore = workdir.join(".gitignore");
    crate::sources::fs::check_ignore_sources(&workdir)
        .map_err(|e| FixError::Unsafe(e.to_string()))?;
    let index = repo.index().ok();
    let found = credential_files(
        &workdir,
        &workdir,
        index.as_ref(),
        &walk_credential_files(&workdir),
    );
    let tracked = |rel: &str| {
        index
            .as_ref()
            .is_some_and(|i| i.get_path(Path::new(rel), 0).is_some())
    };
    let mut outcome = FixOutcome {
        gitignore: gitignore.clone(),
        ..FixOutcome::default()
    };
    let mut targets: Vec<String> = Vec::new();
    let mut ignores = Ignores::new(&repo, &workdir);
    if !ignores.is_ignored(".env", false) {
        outcome.added.push(".env".into());
        outcome.added.push(".env.*".into());
        targets.push(".env".into());
        // Templates (.env.example …) stay as they are: re-include each one not ignored today.
        let walk = ignore::WalkBuilder::new(&workdir)
            .hidden(false)
            .filter_entry(crate::sources::fs::enter)
            .build();
        for entry in walk.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(suffix) = name.strip_prefix(".env.")
                && !suffix.is_empty()
                && crate::credential_files::classify(&name, None).is_none()
                && let rel = relative_to(&workdir, entry.path())
                && !rel.is_empty()
                && !ignores.is_ignored(&rel, false)
            {
                let pattern = format!("!{}", literal_pattern(&rel));
                if !outcome.added.contains(&pattern) {
                    outcome.added.push(pattern);
                }
            }
        }
    }
    for f in &found {
        let rel = &f.in_repo;
        if tracked(rel) {
            outcome.still_tracked.push(rel.clone());
        }
        // `.env` and `.env.*` (no slash) match those names in every directory.
        let base = rel.rsplit('/').next().unwrap_or(rel);
        let covered_by_env = (base == ".env" || base.starts_with(".env."))
            && outcome.added.iter().any(|a| a == ".env");
        if !ignores.is_ignored(rel, false) && !covered_by_env {
            outcome.added.push(literal_pattern(rel));
        }
        targets.push(rel.clone());
    }
    if outcome.added.is_empty() || dry_run {
        return Ok(outcome);
    }
    let io = |source| FixError::Io {
        path: gitignore.display().to_string(),
        source,
    };
    // git checks out a symlinked `.gitignore` as a symlink: following it would copy its target
    // (say `~/.aws/credentials`) into a regular `.gitignore` the user then commits.
    let old = match std::fs::symlink_metadata(&gitignore) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(e)),
        Ok(m) if !m.file_type().is_file() => {
            return Err(FixError::NotRegular {
                path: gitignore.display().to_string(),
                kind: match m.file_type().is_symlink() {
                    true => "a symbolic link",
                    false => crate::untrusted::file_kind(&m.file_type()),
                },
            });
        }
        Ok(_) => {
            match crate::untrusted::read_regular(&gitignore, crate::untrusted::MAX_CONFIG_BYTES) {
                Ok(b) => b,
                Err(e) => return Err(FixError::Unreadable(e)),
            }
        }
    };
    let eol: &[u8] = if old.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let mut new = old.clone();
    if !new.is_empty() && !new.ends_with(b"\n") {
        new.extend_from_slice(eol);
    }
    if !new.is_empty() {
        new.extend_from_slice(eol);
    }
    new.extend_from_slice(BLOCK_HEADER.as_bytes());
    new.extend_from_slice(eol);
    for entry in &outcome.added {
        new.extend_from_slice(entry.as_bytes());
        new.extend_from_slice(eol);
    }
    write_atomically(&gitignore, &new).map_err(io)?;
    // Check with the rules re-read that every entry took.
    let mut fresh = Ignores::new(&repo, &workdir);
    outcome.not_ignored_after = targets
        .into_iter()
        .filter(|t| !tracked(t) && !fresh.is_ignored(t, false))
        .collect();
    Ok(outcome)
}

fn relative_to(base: &Path, path: &Path) -> String {
    path.canonicalize()
        .ok()
        .and_then(|a| super::relative(base, &a))
        .unwrap_or_default()
}

/// Replaces `path` with `data` atomically, keeping the old file's permissions (0644 for a
/// new one: `.gitignore` is not secret).
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    let perms = match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        }
    };
    std::fs::set_permissions(tmp.path(), perms)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_patterns_escape_glob_and_comment_characters() {
        assert_eq!(literal_pattern("a/.env"), "/a/.env");
        assert_eq!(literal_pattern("#x/[y]*.env"), "/\\#x/\\[y\\]\\*.env");
        assert_eq!(literal_pattern("!odd "), "/\\!odd\\ ");
    }
}
