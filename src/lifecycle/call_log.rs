//! The write-ahead audit log: one JSON line before and one after every call that sends a found
//! secret anywhere, each fsynced before the program goes on.
//!
//! Why write-ahead: a revocation is irreversible and may be cut off half way (a crash, a kill,
//! a lost connection). The `intent` line is on disk before the request leaves, so a later run
//! knows that a call may have happened even if no `done` line follows; the `done` line records
//! what the issuer answered. The log never holds a secret: a fingerprint (keyed hash), the
//! facility, the endpoint (scheme, host and path only) and the outcome.
//!
//! The file is created 0600 in a 0700 directory, opened for appending, and every line is
//! written with one `write` call and then `fsync`ed. A line torn by a crash is skipped, with a
//! note, when the log is read back.

use crate::private_file;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Errors of the audit log. Any of them stops the lifecycle: no call is made that the log
/// could not record.
#[derive(Debug, thiserror::Error)]
pub enum CallLogError {
    /// The log could not be opened, written or synced.
    #[error("audit log {path}: {source}")]
    Io {
        /// The log's path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The log is a symbolic link, or others may read or write it.
    #[error("audit log {path}: {reason}")]
    Unsafe {
        /// The log's path.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// The phase of a logged call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Written before the request leaves.
    Intent,
    /// Written after the answer (or the failure) came back.
    Done,
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339 UTC time.
    pub time: String,
    /// The run that wrote it (random, per process).
    pub run: String,
    /// Sequence number within the run; an intent and its done line share it.
    pub seq: u64,
    /// `intent` or `done`.
    pub phase: Phase,
    /// The secret's fingerprint.
    pub fingerprint: String,
    /// The facility that issued it.
    pub facility: String,
    /// `verify`, `revoke` or `logout`.
    pub action: String,
    /// Where the request goes: scheme, host, port and path only.
    pub endpoint: String,
    /// For `done`: `ok`, `already` (the issuer said it was dead or gone already), `refused`,
    /// `failed`, `live`, `dead`, `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// For `done`: the issuer's answer in brief (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The default place of the log: `$XDG_STATE_HOME/tokenwarden/audit.jsonl`, else
/// `~/.local/state/tokenwarden/audit.jsonl`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("tokenwarden").join("audit.jsonl"))
}

/// An open audit log.
pub struct CallLog {
    path: PathBuf,
    file: File,
    run: String,
    seq: u64,
}

impl CallLog {
    /// Opens (creating 0600, in a 0700 directory if it must create that) the log for appending.
    /// Refuses a symbolic link and a log others can read or write.
    pub fn open(path: &Path) -> Result<CallLog, CallLogError> {
        let io = |source| CallLogError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            private_file::create_private_dir(dir).map_err(io)?;
        }
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.file_type().is_symlink() {
                return Err(CallLogError::Unsafe {
                    path: path.display().to_string(),
                    reason: "is a symbolic link; give the real file".into(),
                });
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(CallLogError::Unsafe {
                        path: path.display().to_string(),
                        reason: format!(
                            "mode {mode:04o} lets others read or write it; run chmod 600 on it"
                        ),
                    });
                }
            }
        }
        let mut opts = OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600).custom_flags(libc_nofollow());
        }
        let file = opts.open(path).map_err(io)?;
        let mut run = [0u8; 8];
        // A run id only has to tell runs apart in one log; the clock serves if randomness fails.
        if getrandom::fill(&mut run).is_err() {
            run = (now_unix() as u64).to_be_bytes();
        }
        Ok(CallLog {
            path: path.to_path_buf(),
            file,
            run: hex::encode(run),
            seq: 0,
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This run's id.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// Writes and syncs the `intent` line of a call; returns its sequence number, which the
    /// matching [`CallLog::done`] takes.
    pub fn intent(
        &mut self,
        fingerprint: &str,
        facility: &str,
        action: &str,
        endpoint: &str,
    ) -> Result<u64, CallLogError> {
        self.seq += 1;
        let e = Entry {
            time: now_rfc3339(),
            run: self.run.clone(),
            seq: self.seq,
            phase: Phase::Intent,
            fingerprint: fingerprint.into(),
            facility: facility.into(),
            action: action.into(),
            endpoint: endpoint.into(),
            outcome: None,
            detail: None,
        };
        self.append(&e)?;
        Ok(self.seq)
    }

    /// Writes and syncs the `done` line of call `seq`.
    #[allow(clippy::too_many_arguments)]
    pub fn done(
        &mut self,
        seq: u64,
        fingerprint: &str,
        facility: &str,
        action: &str,
        endpoint: &str,
        outcome: &str,
        detail: &str,
    ) -> Result<(), CallLogError> {
        let e = Entry {
            time: now_rfc3339(),
            run: self.run.clone(),
            seq,
            phase: Phase::Done,
            fingerprint: fingerprint.into(),
            facility: facility.into(),
            action: action.into(),
            endpoint: endpoint.into(),
            outcome: Some(outcome.into()),
            detail: (!detail.is_empty()).then(|| detail.to_string()),
        };
        self.append(&e)
    }

    fn append(&mut self, e: &Entry) -> Result<(), CallLogError> {
        let io = |source| CallLogError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let mut line = serde_json::to_vec(e).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        // One write of the whole line: with O_APPEND, concurrent runs do not interleave lines.
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

#[cfg(target_os = "linux")]
fn libc_nofollow() -> i32 {
    0o400000 // O_NOFOLLOW
}

#[cfg(all(unix, not(target_os = "linux")))]
fn libc_nofollow() -> i32 {
    0x0100 // O_NOFOLLOW on the BSDs and macOS
}

/// What earlier runs did to one secret, read back from the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Past {
    /// When a revocation (or logout) was confirmed by the issuer (`ok` or `already`).
    pub revoked_at: Option<String>,
    /// A revocation whose intent was logged but no answer: it may or may not have happened.
    pub interrupted_at: Option<String>,
    /// The last logged failure of a revocation, if it was the last word.
    pub failed: Option<String>,
}

/// The log read back: per fingerprint, what earlier runs did; and how many lines were torn.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Per fingerprint.
    pub by_fingerprint: HashMap<String, Past>,
    /// Lines that could not be read (a crash mid-write leaves at most one).
    pub unreadable_lines: usize,
}

impl History {
    /// What earlier runs did to this fingerprint.
    pub fn get(&self, fingerprint: &str) -> Option<&Past> {
        self.by_fingerprint.get(fingerprint)
    }
}

/// Reads a log back. A missing file is an empty history.
pub fn read(path: &Path) -> Result<History, CallLogError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(History::default()),
        Err(source) => {
            return Err(CallLogError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let mut h = History::default();
    // Intents waiting for their done line, by (run, seq).
    let mut open: HashMap<(String, u64), Entry> = HashMap::new();
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(|source| CallLogError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(e) = serde_json::from_slice::<Entry>(&line) else {
            h.unreadable_lines += 1;
            continue;
        };
        if e.action != "revoke" && e.action != "logout" {
            continue;
        }
        match e.phase {
            Phase::Intent => {
                open.insert((e.run.clone(), e.seq), e);
            }
            Phase::Done => {
                open.remove(&(e.run.clone(), e.seq));
                let past = h.by_fingerprint.entry(e.fingerprint.clone()).or_default();
                match e.outcome.as_deref() {
                    Some("ok") | Some("already") => {
                        past.revoked_at = Some(e.time.clone());
                        past.interrupted_at = None;
                        past.failed = None;
                    }
                    _ => {
                        if past.revoked_at.is_none() {
                            past.failed = Some(format!(
                                "{} at {}: {}",
                                e.outcome.as_deref().unwrap_or("failed"),
                                e.time,
                                e.detail.as_deref().unwrap_or("")
                            ));
                        }
                    }
                }
            }
        }
    }
    for (_, e) in open {
        let past = h.by_fingerprint.entry(e.fingerprint.clone()).or_default();
        if past.revoked_at.is_none() {
            past.interrupted_at = Some(e.time);
        }
    }
    Ok(h)
}

/// Seconds since the epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Now, as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_intent_then_done_0600_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state/tw/audit.jsonl");
        let mut log = CallLog::open(&p).unwrap();
        let s = log
            .intent("tw1:aa", "olcf-s3m", "revoke", "https://s3m/x")
            .unwrap();
        log.done(
            s,
            "tw1:aa",
            "olcf-s3m",
            "revoke",
            "https://s3m/x",
            "ok",
            "200",
        )
        .unwrap();
        let s2 = log
            .intent("tw1:bb", "globus", "revoke", "https://g/revoke")
            .unwrap();
        assert_eq!(s2, 2);
        // bb's done line never comes: a crash between the two writes.
        drop(log);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(p.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 3);
        let h = read(&p).unwrap();
        assert!(h.get("tw1:aa").unwrap().revoked_at.is_some());
        let bb = h.get("tw1:bb").unwrap();
        assert!(bb.revoked_at.is_none());
        assert!(bb.interrupted_at.is_some());
    }

    #[test]
    fn torn_line_is_counted_not_fatal_and_failures_are_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        let mut log = CallLog::open(&p).unwrap();
        let s = log
            .intent("tw1:cc", "keycloak", "revoke", "https://k")
            .unwrap();
        log.done(
            s,
            "tw1:cc",
            "keycloak",
            "revoke",
            "https://k",
            "failed",
            "HTTP 503",
        )
        .unwrap();
        drop(log);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"time\":\"2026-").unwrap();
        let h = read(&p).unwrap();
        assert_eq!(h.unreadable_lines, 1);
        let cc = h.get("tw1:cc").unwrap();
        assert!(cc.failed.as_deref().unwrap().contains("HTTP 503"));
        assert!(cc.revoked_at.is_none() && cc.interrupted_at.is_none());
        // A later success wins.
        let mut log = CallLog::open(&p).unwrap();
        let s = log
            .intent("tw1:cc", "keycloak", "revoke", "https://k")
            .unwrap();
        log.done(
            s,
            "tw1:cc",
            "keycloak",
            "revoke",
            "https://k",
            "already",
            "",
        )
        .unwrap();
        let h = read(&p).unwrap();
        let cc = h.get("tw1:cc").unwrap();
        assert!(cc.revoked_at.is_some() && cc.failed.is_none());
    }

    #[test]
    fn refuses_symlink_and_loose_modes() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.jsonl");
        std::fs::write(&real, "").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = CallLog::open(&real).err().unwrap().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = CallLog::open(&link).err().unwrap().to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }
}
