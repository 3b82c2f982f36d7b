//! Reading what a scanned repository controls: its `.tokenwarden.toml`, the rule and baseline
//! files that config names, and its git configuration.
//!
//! Both CI templates scan a pull request's checkout with the checkout's own config, so every
//! path and byte here is chosen by whoever opened the pull request. Three promises follow:
//!
//! - **Only files inside the repository.** A path a config names is resolved (symlinks too)
//!   and must stay at or below the config file's own directory: `/proc/self/environ` or
//!   `../../.aws/credentials` is refused before it is opened.
//! - **Only regular files, bounded in size.** A FIFO would hang the scan, `/dev/zero` would read
//!   until memory runs out: a file is opened without blocking, checked to be regular, and read up
//!   to a limit.
//! - **Parse errors never echo content.** `toml` and `serde_json` quote the offending line or
//!   value in their messages; here an error names the line and column and what was expected, and
//!   every quoted value is cut out (a key name of up to 24 identifier characters is kept, since
//!   "unknown field `endpoints`" is what the user needs to read).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest config, rule or baseline file read from a repository (rule files and baselines
/// of real projects are a few hundred kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Why a file named by untrusted configuration was not read.
#[derive(Debug, thiserror::Error)]
pub enum UntrustedError {
    /// The path leaves the config file's directory (absolute, `..`, or a symlink out).
    #[error(
        "{named}: a repository's config may only name files at or below its own directory \
         ({base}); name other files on the command line"
    )]
    Outside {
        /// The path as written.
        named: String,
        /// The directory it had to stay in.
        base: String,
    },
    /// A FIFO, device, socket or directory.
    #[error("{path}: not a regular file ({kind}); refused, as reading it could hang or never end")]
    NotRegular {
        /// The file.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// A repository's git directory that cannot be read the way git reads it: tokenwarden
    /// will not let libgit2 or git open it blind.
    #[error("{path}: {what}; refused, as git would read more than can be checked")]
    Unclear {
        /// The file.
        path: String,
        /// What could not be understood.
        what: &'static str,
    },
    /// Larger than the limit.
    #[error("{path}: larger than {limit} bytes; refused")]
    TooLarge {
        /// The file.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
}

/// Resolves `named` (as written in a config whose directory is `base`) and requires the result,
/// after following every symlink, to lie at or below `base`.
pub fn contained(base: &Path, named: &Path) -> Result<PathBuf, UntrustedError> {
    let outside = || UntrustedError::Outside {
        named: named.display().to_string(),
        base: base.display().to_string(),
    };
    let canon_base = base.canonicalize().map_err(|source| UntrustedError::Io {
        path: base.display().to_string(),
        source,
    })?;
    let joined = canon_base.join(named);
    let resolved = match joined.canonicalize() {
        Ok(p) => p,
        // A file that does not exist cannot leak; say it is missing, but only once its
        // lexical form stays inside (no `..`, not absolute), so the error names no outside path.
        Err(source) => {
            let lexical_inside = named.is_relative()
                && named
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            return Err(if lexical_inside {
                UntrustedError::Io {
                    path: joined.display().to_string(),
                    source,
                }
            } else {
                outside()
            });
        }
    };
    if resolved.starts_with(&canon_base) {
        Ok(resolved)
    } else {
        Err(outside())
    }
}

/// Reads a regular file of at most `limit` bytes. The file is opened without blocking (a FIFO
/// opens at once instead of waiting for a writer) and checked on the open descriptor, so what
/// is checked is what is read.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, UntrustedError> {
    let io_err = |source| UntrustedError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = open_nonblocking(path, true).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.file_type().is_file() {
        return Err(UntrustedError::NotRegular {
            path: path.display().to_string(),
            kind: file_kind(&meta.file_type()),
        });
    }
    if meta.len() > limit {
        return Err(UntrustedError::TooLarge {
            path: path.display().to_string(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The size can change between the check and the read (a file being appended to): the
    // limit holds on what is read, not only on what was announced.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > limit {
        return Err(UntrustedError::TooLarge {
            path: path.display().to_string(),
            limit,
        });
    }
    Ok(bytes)
}

/// The first `n` bytes of `path` if it is a regular file itself (not a symlink, not a FIFO or
/// a device: the git index can name any of those, and a blocking open of `/dev/tty` or a FIFO
/// would hang the scan); `None` otherwise.
pub fn read_head(path: &Path, n: u64) -> Option<Vec<u8>> {
    let file = open_nonblocking(path, false).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut buf = Vec::with_capacity(n as usize);
    file.take(n).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_text(path: &Path, limit: u64) -> Result<String, UntrustedError> {
    let bytes = read_regular(path, limit)?;
    String::from_utf8(bytes).map_err(|_| UntrustedError::Io {
        path: path.display().to_string(),
        source: io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

/// Opens `path` for reading without blocking (a FIFO opens at once) and without making a
/// terminal ours; through a final symlink only when `follow`.
fn open_nonblocking(path: &Path, follow: bool) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        o.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | nofollow);
    }
    o.open(path)
}

/// A word for a file type that is not a regular file.
pub fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The largest git config file read (each, includes too); git's own are a few kilobytes.
pub const MAX_GIT_CONFIG_BYTES: u64 = 1 << 20;

/// How deep `include.path` may nest (libgit2 stops at 10 as well).
const MAX_INCLUDE_DEPTH: usize = 10;

/// Checks, before libgit2 or git opens the repository holding `start`, that nothing it reads
/// first can hang or exhaust the process: its config files and every file they include
/// (`include.path`, `includeIf.*.path`), `HEAD`, `packed-refs`, the index and the other files
/// at the top of the git directory, and every loose ref, must be regular files (or absent), and
/// the config files bounded in size. A FIFO named by `include.path` made `audit` and
/// `scan --git` hang forever inside libgit2.
///
/// The git directory is found the way git finds it (`.git` directory, `.git` file with
/// `gitdir:`, or a bare repository), without libgit2, since opening with libgit2 is what reads
/// the config. `Ok(())` when there is no repository.
pub fn check_git_dir(start: &Path) -> Result<(), UntrustedError> {
    let Some(git_dir) = find_git_dir(start)? else {
        return Ok(());
    };
    let mut dirs = vec![git_dir.clone()];
    // A linked worktree shares the main repository's config and refs.
    if let Ok(bytes) = read_regular(&git_dir.join("commondir"), 4096)
        && let Ok(text) = String::from_utf8(bytes)
    {
        dirs.push(git_dir.join(text.trim()));
    }
    let mut seen = 0usize;
    for dir in &dirs {
        for name in [
            "config",
            "config.worktree",
            "HEAD",
            "packed-refs",
            "index",
            "shallow",
            "commondir",
            "FETCH_HEAD",
            "ORIG_HEAD",
            "MERGE_HEAD",
            "info/exclude",
            "info/attributes",
            "info/grafts",
            "objects/info/alternates",
        ] {
            must_be_regular_if_present(&dir.join(name))?;
        }
        check_config(&dir.join("config"), 0, &mut seen)?;
        check_config(&dir.join("config.worktree"), 0, &mut seen)?;
        check_refs(&dir.join("refs"))?;
        // Pack indexes and packs, the commit-graph and friends are opened before their type
        // is looked at.
        for sub in ["objects/pack", "objects/info", "objects/info/commit-graphs"] {
            if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
                for e in entries.flatten() {
                    must_be_regular_if_present(&e.path())?;
                }
            }
        }
    }
    Ok(())
}

/// The git directory for `start`, found as git finds it; an error when a `.git` is there but
/// cannot be read (failing closed: guessing "no repository" would let a later open go blind).
fn find_git_dir(start: &Path) -> Result<Option<PathBuf>, UntrustedError> {
    let Ok(start) = start.canonicalize() else {
        return Ok(None);
    };
    let mut dir = if start.is_dir() {
        start
    } else {
        match start.parent() {
            Some(p) => p.to_path_buf(),
            None => return Ok(None),
        }
    };
    loop {
        let dot = dir.join(".git");
        if std::fs::symlink_metadata(&dot).is_ok() {
            // Followed, as git follows it: a directory, or a `gitdir:` file.
            let unclear = |what| UntrustedError::Unclear {
                path: dot.display().to_string(),
                what,
            };
            if dot.is_dir() {
                return Ok(Some(dot));
            }
            let bytes = read_regular(&dot, 4096)?;
            let text = String::from_utf8(bytes).map_err(|_| unclear("not UTF-8"))?;
            let target = text
                .trim()
                .strip_prefix("gitdir:")
                .ok_or_else(|| unclear("neither a directory nor a `gitdir:` file"))?
                .trim();
            return Ok(Some(dir.join(target)));
        }
        // A bare repository, or a git directory given directly.
        if dir.join("HEAD").exists() && dir.join("objects").is_dir() {
            return Ok(Some(dir));
        }
        match dir.parent() {
            Some(p) => dir = p.to_path_buf(),
            None => return Ok(None),
        }
    }
}

fn must_be_regular_if_present(path: &Path) -> Result<(), UntrustedError> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => Err(UntrustedError::NotRegular {
            path: path.display().to_string(),
            kind: file_kind(&m.file_type()),
        }),
        _ => Ok(()),
    }
}

fn check_config(path: &Path, depth: usize, seen: &mut usize) -> Result<(), UntrustedError> {
    *seen += 1;
    if depth > MAX_INCLUDE_DEPTH || *seen > 100 {
        return Err(UntrustedError::TooLarge {
            path: path.display().to_string(),
            limit: MAX_INCLUDE_DEPTH as u64,
        });
    }
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(()), // git ignores an include that does not exist
    };
    if !meta.is_file() {
        return Err(UntrustedError::NotRegular {
            path: path.display().to_string(),
            kind: file_kind(&meta.file_type()),
        });
    }
    let bytes = read_regular(path, MAX_GIT_CONFIG_BYTES)?;
    let text = String::from_utf8_lossy(&bytes);
    let base = path.parent().unwrap_or(Path::new("."));
    let included = include_paths(&text).ok_or_else(|| UntrustedError::Unclear {
        path: path.display().to_string(),
        what: "an include path with inner quotes, escapes or a line continuation",
    })?;
    for included in included {
        let p = match included.strip_prefix("~/") {
            Some(rest) => match std::env::var_os("HOME") {
                Some(h) => PathBuf::from(h).join(rest),
                None => continue,
            },
            None => base.join(&included),
        };
        check_config(&p, depth + 1, seen)?;
    }
    Ok(())
}

/// The `path` values of `[include]` and `[includeIf "…"]` sections, unquoted; `None` when one
/// is written in a way this reader does not follow exactly as git does (quotes inside the
/// value, backslash escapes, a continuation onto the next line): that config is refused.
fn include_paths(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut in_include = false;
    for line in text.lines() {
        let mut l = line.trim();
        if l.starts_with('[') {
            let name: String = l[1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                .collect::<String>()
                .to_ascii_lowercase();
            in_include = name == "include" || name == "includeif";
            // `[include] path = x` on one line.
            match l.find(']') {
                Some(i) => l = l[i + 1..].trim(),
                None => continue,
            }
        }
        if !in_include {
            continue;
        }
        let Some((key, value)) = l.split_once('=') else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("path") {
            continue;
        }
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(rest) => {
                let (inner, after) = rest.split_once('"')?;
                let after = after.trim();
                if !(after.is_empty() || after.starts_with(['#', ';'])) {
                    return None;
                }
                inner
            }
            None => value.split(['#', ';']).next().unwrap_or("").trim(),
        };
        if value.contains(['"', '\\']) {
            return None;
        }
        if !value.is_empty() {
            out.push(value.to_string());
        }
    }
    Some(out)
}

fn check_refs(dir: &Path) -> Result<(), UntrustedError> {
    let mut stack = vec![dir.to_path_buf()];
    let mut visited = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            visited += 1;
            if visited > 1_000_000 {
                return Ok(()); // bounded; libgit2 reads refs lazily beyond this
            }
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
            } else if !t.is_file() {
                // A symlinked ref is followed by git: check what it points to.
                must_be_regular_if_present(&e.path())?;
            }
        }
    }
    Ok(())
}

/// A TOML parse error as "line L, column C: what", with no quoted content.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let what = scrub_message(e.message());
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: {what}")
        }
        None => what,
    }
}

/// A JSON parse error as "line L, column C: what", with no quoted content.
pub fn json_error(e: &serde_json::Error) -> String {
    // serde_json's Display appends " at line L column C" itself.
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg.as_str(),
    };
    format!(
        "line {}, column {}: {}",
        e.line(),
        e.column(),
        scrub_message(msg)
    )
}

fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text.as_bytes()[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = at
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    (line, col)
}

/// Cuts every quoted value out of a parser's message: text in double or single quotes becomes
/// `"…"`, text in backticks is kept only when it is a short identifier (a key name), and the
/// message keeps its first line, at most 200 characters.
pub fn scrub_message(msg: &str) -> String {
    let first = msg.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out = String::new();
    let mut chars = first.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let mut inner = String::new();
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == c {
                        closed = true;
                        break;
                    }
                    inner.push(d);
                }
                let keep = c == '`'
                    && inner.chars().count() <= 24
                    && inner
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "_-.".contains(ch));
                out.push(c);
                out.push_str(if keep { &inner } else { "…" });
                if closed {
                    out.push(c);
                }
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.chars().take(200).collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn contained_refuses_absolute_dotdot_and_symlinks_out() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("rules")).unwrap();
        std::fs::write(repo.join("rules/a.toml"), "x").unwrap();
        std::fs::write(dir.path().join("outside.toml"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.toml"), repo.join("link.toml"))
            .unwrap();
        assert!(contained(&repo, Path::new("rules/a.toml")).is_ok());
        assert!(contained(&repo, Path::new("./rules/../rules/a.toml")).is_ok());
        for bad in [
            "/proc/self/environ",
            "../outside.toml",
            "link.toml",
            "../nope",
        ] {
            let e = contained(&repo, Path::new(bad)).unwrap_err();
            assert!(matches!(e, UntrustedError::Outside { .. }), "{bad}: {e}");
        }
        let e = contained(&repo, Path::new("missing.toml")).unwrap_err();
        assert!(matches!(e, UntrustedError::Io { .. }), "{e}");
    }

    #[test]
    fn read_regular_refuses_devices_and_large_files() {
        // (A FIFO, which would block an ordinary open, is in tests/int_hostile.rs: making one
        // here would start a program from src/, which tests/int_child_argv.rs forbids.)
        let dir = tempfile::tempdir().unwrap();
        let e = read_regular(Path::new("/dev/zero"), 100).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 101]).unwrap();
        assert!(matches!(
            read_regular(&big, 100),
            Err(UntrustedError::TooLarge { .. })
        ));
        assert_eq!(read_regular(&big, 101).unwrap().len(), 101);
    }

    #[test]
    fn include_paths_are_read_as_git_reads_them_or_refused() {
        let cfg = "[core]\n\tpath = notthis\n[include]\n\tpath = a.inc ; note\n\
                   [includeIf \"gitdir:/x/\"]\n\tpath = \"b c.inc\"\n[include] path = d\n";
        assert_eq!(
            include_paths(cfg),
            Some(vec!["a.inc".into(), "b c.inc".into(), "d".into()])
        );
        for unclear in [
            "[include]\n\tpath = i\"nc\"\n",
            "[include]\n\tpath = \"a\"b\n",
            "[include]\n\tpath = a\\\n",
            "[include]\n\tpath = a\\tb\n",
        ] {
            assert_eq!(include_paths(unclear), None, "{unclear:?}");
        }
    }

    #[test]
    fn parse_errors_never_quote_values() {
        let text = "a = 1\nGITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n";
        let e = toml::from_str::<toml::Table>(text).unwrap_err();
        let m = toml_error(text, &e);
        assert!(m.starts_with("line 2, column "), "{m}");
        assert!(!m.contains("ghp_"), "{m}");
        let e = serde_json::from_str::<Vec<u32>>("[\"s3cr3t-value-here\"]").unwrap_err();
        let m = json_error(&e);
        assert!(!m.contains("s3cr3t"), "{m}");
        assert!(m.starts_with("line 1, column"), "{m}");
        assert_eq!(
            scrub_message("unknown field `endpoints`, expected `scan`"),
            "unknown field `endpoints`, expected `scan`"
        );
        assert_eq!(
            scrub_message("unknown field `ghp_abcdefghijklmnopqrstuvwxyz0123`"),
            "unknown field `…`"
        );
    }
}
