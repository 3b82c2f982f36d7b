//! The token lifecycle: is a found secret alive, revoke it, and write down what happened.
//!
//! ```text
//! findings ──► verify (each secret once, by fingerprint) ──► plan ──► confirm ──► revoke
//!                  │                                          │                   │
//!                  └────────────── audit log (intent, done; fsynced) ◄────────────┘
//!                                                             └──► incident report
//! ```
//!
//! - [`issuer`] — one module per issuer (S3M, Globus, slurmrestd, Palmetto, Keycloak, S3), each
//!   saying how its secrets are checked, revoked and rotated; which issuer a finding belongs to.
//! - [`issuers`] — the only endpoints a secret may be sent to (built-in, or the user's config).
//! - [`call_log`] — the write-ahead JSONL log of every call to an issuer (`--audit-log`), and
//!   what earlier runs did.
//! - [`verify`] — the cheapest side-effect-free call that proves liveness, per facility.
//! - [`revoke`] — the revocation calls, where the issuer has one.
//! - [`plan`] — what will be done to each secret, and why; rendered before anything is done.
//! - [`notify`] — rotation steps and a ready notice for the facility's contact.
//! - [`incident`] — `incident.md` and `incident.json`.
//!
//! The lifecycle never parses flags and never prompts; the command line asks for the
//! confirmation and passes it in.

pub mod call_log;
pub mod incident;
pub mod issuer;
pub mod issuers;
pub mod notify;
pub mod plan;
pub mod revoke;
pub mod verify;

pub use crate::rules::Issuer;
pub use call_log::{CallLog, CallLogError, History};
pub use issuers::Issuers;
pub use plan::{Item, Outcome, Plan, Planned};

use crate::facilities::http::Http;
use crate::finding::Location;
use std::path::Path;
use std::sync::Mutex;

/// Errors that stop the lifecycle. A facility that says no is not one of them: that is an
/// outcome, recorded per secret.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The audit log could not record a call, so the call was not made.
    #[error(transparent)]
    CallLog(#[from] CallLogError),
    /// The user's client config is wrong.
    #[error(transparent)]
    Config(#[from] crate::facilities::ClientError),
}

/// Reads the bytes a location points into (the file, or the git blob), for checks that need
/// the values beside a secret.
pub type SourceReader<'a> = &'a (dyn Fn(&Location) -> Option<Vec<u8>> + Sync);

/// The bytes a location points into: the file under `root`, or for a history finding the blob
/// in the repository that holds `root`. `None` when neither can be read.
pub fn read_source(root: &Path, loc: &Location) -> Option<Vec<u8>> {
    if let Some(g) = &loc.git
        && !g.blob.is_empty()
    {
        let repo = crate::sources::git::discover(root).ok()?;
        let oid = git2::Oid::from_str(&g.blob).ok()?;
        return repo.find_blob(oid).ok().map(|b| b.content().to_vec());
    }
    let p = Path::new(&loc.path);
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else if root.is_file() {
        root.to_path_buf()
    } else {
        root.join(p)
    };
    let meta = std::fs::metadata(&full).ok()?;
    // A credential file is small; do not read a huge file to find its companions.
    if !meta.is_file() || meta.len() > 16 << 20 {
        return None;
    }
    std::fs::read(full).ok()
}

/// Everything the lifecycle needs: the transport, the allowed issuers, the log and what it
/// remembers.
pub struct Lifecycle {
    http: Http,
    issuers: Issuers,
    log: Mutex<CallLog>,
    history: History,
    now: i64,
}

impl Lifecycle {
    /// Opens the audit log at `log_path` (reading back what earlier runs did first).
    pub fn new(
        http: Http,
        issuers: Issuers,
        log_path: &std::path::Path,
    ) -> Result<Lifecycle, LifecycleError> {
        let history = call_log::read(log_path)?;
        let log = CallLog::open(log_path)?;
        Ok(Lifecycle {
            http,
            issuers,
            log: Mutex::new(log),
            history,
            now: call_log::now_unix(),
        })
    }

    /// The issuers in use.
    pub fn issuers(&self) -> &Issuers {
        &self.issuers
    }

    /// What the log held when this run started.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The log's path.
    pub fn log_path(&self) -> std::path::PathBuf {
        self.lock_log().path().to_path_buf()
    }

    fn lock_log(&self) -> std::sync::MutexGuard<'_, CallLog> {
        // A panic while holding the lock cannot leave a half-written line (each line is one
        // write), so a poisoned lock is still usable.
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `call` between an `intent` line and a `done` line. `call` returns its result and
    /// the outcome and detail to log.
    pub(crate) fn logged<T>(
        &self,
        fingerprint: &str,
        facility: &str,
        action: &str,
        endpoint: &str,
        call: impl FnOnce() -> (T, String, String),
    ) -> Result<T, CallLogError> {
        let seq = self
            .lock_log()
            .intent(fingerprint, facility, action, endpoint)?;
        let (value, outcome, detail) = call();
        self.lock_log().done(
            seq,
            fingerprint,
            facility,
            action,
            endpoint,
            &outcome,
            &detail,
        )?;
        Ok(value)
    }
}
