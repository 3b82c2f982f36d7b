//! Installing and removing the git pre-commit hook (`tokenwarden hook install|uninstall`).
//!
//! The hook runs `tokenwarden scan --staged`, which exits 1 when the commit would add a
//! credential. An existing hook that is not ours is never overwritten without `--force`, and
//! then it is kept beside ours as `pre-commit.tokenwarden-backup` (restored on uninstall).

use std::path::{Path, PathBuf};

/// The line that marks a hook as ours.
pub const MARKER: &str = "# tokenwarden pre-commit hook";
const BACKUP: &str = "pre-commit.tokenwarden-backup";

/// Why a hook could not be installed or removed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// Not in a repository.
    #[error("not a git repository ({0})")]
    NotRepo(String),
    /// Someone else's hook is in the way.
    #[error(
        "{0} already exists and was not written by tokenwarden; use --force to replace it (it is kept as {BACKUP})"
    )]
    Exists(String),
    /// File system trouble.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HookError + '_ {
    move |source| HookError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The hooks directory of the repository at (or above) `repo`: `core.hooksPath` if set,
/// else the common git directory's `hooks/` (shared by all worktrees).
pub fn hooks_dir(repo: &Path) -> Result<PathBuf, HookError> {
    let r = crate::sources::git::discover(repo).map_err(|e| HookError::NotRepo(e.to_string()))?;
    if let Ok(cfg) = r.config()
        && let Ok(p) = cfg.get_path("core.hooksPath")
    {
        return Ok(match (p.is_relative(), r.workdir()) {
            (true, Some(w)) => w.join(p),
            _ => p,
        });
    }
    Ok(r.commondir().join("hooks"))
}

/// The hook script for the binary at `exe`.
pub fn script(exe: &Path) -> String {
    let quoted = exe.display().to_string().replace('\'', r"'\''");
    format!(
        "#!/bin/sh\n{MARKER} (installed by `tokenwarden hook install`).\n\
         # Blocks commits that add research-facility credentials; bypass once with --no-verify.\n\
         exec '{quoted}' scan --staged --no-progress\n"
    )
}

/// Installs the hook; returns its path.
pub fn install(repo: &Path, exe: &Path, force: bool) -> Result<PathBuf, HookError> {
    let dir = hooks_dir(repo)?;
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let hook = dir.join("pre-commit");
    if let Ok(existing) = std::fs::read_to_string(&hook) {
        if !existing.contains(MARKER) {
            if !force {
                return Err(HookError::Exists(hook.display().to_string()));
            }
            let backup = dir.join(BACKUP);
            std::fs::rename(&hook, &backup).map_err(io(&backup))?;
        }
    } else if hook.exists() && !force {
        return Err(HookError::Exists(hook.display().to_string()));
    }
    // An unpredictable name, created with O_EXCL (which also refuses a symlink planted at the
    // name), mode 0755 from the start; then renamed over the hook, which replaces a symlink at
    // `pre-commit` itself rather than writing through it.
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pre-commit.tokenwarden-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o755));
    }
    let mut tmp = builder.tempfile_in(&dir).map_err(io(&dir))?;
    std::io::Write::write_all(tmp.as_file_mut(), script(exe).as_bytes()).map_err(io(&dir))?;
    tmp.as_file().sync_all().map_err(io(&dir))?;
    tmp.persist(&hook).map_err(|e| io(&hook)(e.error))?;
    Ok(hook)
}

/// Removes our hook (restoring a backed-up one); returns what was removed, if anything.
pub fn uninstall(repo: &Path) -> Result<Option<PathBuf>, HookError> {
    let dir = hooks_dir(repo)?;
    let hook = dir.join("pre-commit");
    match std::fs::read_to_string(&hook) {
        Ok(text) if text.contains(MARKER) => {
            std::fs::remove_file(&hook).map_err(io(&hook))?;
            let backup = dir.join(BACKUP);
            if backup.exists() {
                std::fs::rename(&backup, &hook).map_err(io(&hook))?;
            }
            Ok(Some(hook))
        }
        _ => Ok(None),
    }
}
