//! Clients for the facility APIs — the client that practises the hygiene the scanner checks.
//!
//! - [`credential`] — where a credential comes from (env, header file, keyring, stdin, prompt;
//!   never argv) and [`credential::Token`], which does not print itself.
//! - [`http`] — the one transport: HTTPS only (loopback HTTP for tests), no redirects, retries
//!   for reads, errors that say what to do, secrets cut out of error text.
//! - [`client_config`] — the user's own config file (base URLs, enclaves, credential sources).
//! - one module per API: [`s3m`], [`iri`], [`globus`], [`slurm`], [`csm`]; [`s3`] checks S3
//!   credentials (SigV4-signed `ListBuckets`).

pub mod client_config;
pub mod credential;
pub mod csm;
pub mod globus;
pub mod http;
pub mod iri;
pub mod s3;
pub mod s3m;
pub mod slurm;

pub use client_config::ClientConfig;
pub use credential::{CredentialSource, Token};
pub use http::{ClientError, Endpoint, Http, HttpOptions};
