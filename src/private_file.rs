//! Files that can hold secrets, written the one safe way (rule 5 of the house), and without
//! ever damaging what is already at the destination.
//!
//! What happens depends on what the destination is:
//!
//! - **Nothing yet, or a regular file**: the bytes go to a temporary file created with mode
//!   0600 in the destination's own directory, flushed and fsynced, then renamed over the
//!   destination, and the directory is fsynced. A reader sees the old file or the new one,
//!   never half of one, and at no moment is the secret readable by anyone but the owner — not
//!   even when the destination already existed with looser permissions.
//! - **A character device or a FIFO** named itself (`-o /dev/null`, `-o /dev/tty`, a named
//!   pipe): written to directly. Renaming a file over it — what the atomic write does —
//!   replaced the machine's `/dev/null` with a regular file when run as root.
//! - **A standard stream's name** (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
//!   `/proc/self/fd/N`): standard output and error are written through this process's own
//!   handles, whatever is at the name; another descriptor is opened for writing, never
//!   replaced.
//! - **Any other symlink**: refused, even to a device. Replacing it would break the link;
//!   writing through it would aim a private file wherever the link points (a planted link in
//!   a shared directory, to someone's terminal or FIFO).
//! - **A directory, a block device or a socket**: refused.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// How a destination is written.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    /// A new or regular file: atomic replacement with a 0600 file.
    Replace,
    /// A device, FIFO or standard stream: opened for writing, nothing renamed or created.
    Direct,
}

fn refuse(path: &Path, why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: {why}", path.display()),
    )
}

/// The file descriptor a standard-stream name stands for (`/dev/stdout` is 1, `/dev/fd/3` is
/// 3): such a name is never a file to replace, whatever is at it on this machine.
pub fn standard_stream(path: &Path) -> Option<u32> {
    let s = path.to_string_lossy();
    match s.as_ref() {
        "/dev/stdin" => return Some(0),
        "/dev/stdout" => return Some(1),
        "/dev/stderr" => return Some(2),
        _ => {}
    }
    ["/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"]
        .iter()
        .find_map(|p| s.strip_prefix(p).and_then(|n| n.parse::<u32>().ok()))
}

fn is_standard_stream(path: &Path) -> bool {
    standard_stream(path).is_some()
}

fn destination(path: &Path) -> io::Result<Destination> {
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt;
    let meta = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Destination::Replace),
        Err(e) => return Err(e),
        Ok(m) => m,
    };
    let t = meta.file_type();
    if t.is_file() {
        return Ok(Destination::Replace);
    }
    if t.is_dir() {
        return Err(refuse(path, "is a directory".into()));
    }
    if t.is_symlink() {
        let target = fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "?".into());
        // Only the standard streams' names are followed (handled before this). A link
        // planted in a shared directory could aim the report at a terminal, a FIFO someone
        // else reads, or a device.
        if is_standard_stream(path) {
            return Ok(Destination::Direct);
        }
        return Err(refuse(
            path,
            format!(
                "is a symbolic link to {target}; tokenwarden neither replaces a link nor writes \
                 a private file through one — name the target itself, or remove the link"
            ),
        ));
    }
    #[cfg(unix)]
    if t.is_char_device() || t.is_fifo() {
        return Ok(Destination::Direct);
    }
    Err(refuse(
        path,
        format!(
            "is {}; not written",
            crate::untrusted::file_kind(&meta.file_type())
        ),
    ))
}

/// Writes `path` with mode 0600, atomically when it is (or will be) a regular file, directly
/// when it is a device, a FIFO or a standard stream (see the module's doc); `body` fills it.
pub fn write_with(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    // Standard output and error are this process's own handles: written through them, so
    // that even a machine whose `/dev/stdout` was replaced by a file gets nothing renamed.
    match standard_stream(path) {
        Some(1) => return buffered(io::stdout().lock(), body),
        Some(2) => return buffered(io::stderr().lock(), body),
        Some(_) => return buffered(fs::OpenOptions::new().write(true).open(path)?, body),
        None => {}
    }
    if destination(path)? == Destination::Direct {
        return buffered(fs::OpenOptions::new().write(true).open(path)?, body);
    }
    let dir = parent_dir(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tokenwarden-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    let mut tmp = builder.tempfile_in(&dir)?;
    buffered(tmp.as_file_mut(), body)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(&dir);
    Ok(())
}

/// `body` written into `out` through a buffer, flushed.
fn buffered(
    out: impl Write,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut w = io::BufWriter::new(out);
    body(&mut w)?;
    w.flush()
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Creates `dir` and its missing parents with mode 0700 (token store directories).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// When `path` exists and others than its owner may read it, a sentence saying so.
pub fn loose_permissions(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Some(format!(
                "{} holds a credential and is mode {mode:04o}: others on this machine can read \
                 it; run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(dir: &Path) {
    // The rename is durable once the directory entry is; failing to fsync a directory (some
    // filesystems refuse) does not make the write less atomic, so it is not an error.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_a_world_readable_file_with_a_private_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(loose_permissions(&path).is_some());
        write(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(loose_permissions(&path).is_none());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failing_body_leaves_the_old_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        fs::write(&path, "old").unwrap();
        let err = write_with(&path, |_| Err(io::Error::other("boom"))).unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn private_dirs_are_0700() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        create_private_dir(&d).unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}
