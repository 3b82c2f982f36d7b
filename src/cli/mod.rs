//! The client subcommands: one file per facility API, sharing the flags and output helpers in
//! [`common`]. Business logic lives in the library's `facilities` module; these files turn
//! flags into calls and answers into tables or JSON.

pub mod audit;
pub mod common;
pub mod csm;
pub mod iri;
pub mod keyring;
pub mod login;
pub mod s3m;
pub mod slurm;
pub mod sweep;
