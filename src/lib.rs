//! tokenwarden: a secret-hygiene linter and token-lifecycle auditor for research-computing
//! facility credentials (OLCF S3M, ALCF/NERSC IRI via Globus, Clemson Palmetto, Slurm, MUNGE,
//! HPE/Cray CSM Keycloak and Ceph STS).
//!
//! The pipeline, as the modules name it:
//!
//! ```text
//! sources ──► engine ──► finding ──► report
//!   fs        rules        Collector    text · json · jsonl · sarif
//! ```
//!
//! - [`rules`] — the rule model, the built-in `rules/*.toml`, gitleaks import, `rules check`.
//! - [`engine`] — one blob at a time — keyword prefilter, regex, entropy, JWT classification.
//! - [`sources`] — where blobs come from (directory trees, git history, staged changes).
//! - [`finding`] — one secret → one finding with every location, keyed fingerprints.
//! - [`outcome`] — what a scan found, and the one merge of several outcomes.
//! - [`policy`] — the rule set a scan runs (built-ins, config, flags) and the config's allow list.
//! - [`report`] — the output formats; secrets are redacted unless asked for.
//! - [`repo_config`] — the scanned repository's `.tokenwarden.toml` (the user's own client
//!   config is [`facilities::ClientConfig`]).
//! - [`credential_files`] — files that hold credentials by their name (`.env`, `munge.key` …),
//!   which both the history walk and the hygiene checks look for.
//! - [`shard`] — one scan split into N runs that cover everything once (Slurm job arrays).
//! - [`secret`] — the type that holds a secret and never prints itself.
//! - [`facilities`] — clients for the facility APIs (S3M, IRI, Globus, slurmrestd/Palmetto, CSM).
//! - [`lifecycle`] — is a found secret alive, revoke it (after a plan and a confirmation),
//!   the write-ahead audit log, the incident report.
//! - [`text`] — outside text made safe for a terminal or a Markdown file; times as RFC 3339.
//! - [`private_file`] — files that may hold secrets: 0600, atomic.
//! - [`untrusted`] — reading what a scanned repository controls: contained, regular, bounded,
//!   and never echoed in an error.

#![deny(missing_docs)]

pub mod credential_files;
pub mod engine;
pub mod facilities;
pub mod finding;
pub mod hook;
pub mod hygiene;
pub mod lifecycle;
pub mod outcome;
pub mod policy;
pub mod private_file;
pub mod repo_config;
pub mod report;
pub mod rules;
pub mod scan;
pub mod secret;
pub mod shard;
pub mod sources;
#[cfg(test)]
mod testing;
pub mod text;
pub mod untrusted;

pub use engine::{Engine, EngineOptions};
pub use finding::{Finding, Location};
pub use outcome::ScanResult;
pub use rules::{Confidence, Rule, RuleSet, Severity};
pub use scan::{ScanError, ScanRequest, Target, scan};
pub use secret::{Fingerprinter, Secret};
