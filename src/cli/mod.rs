//! The subcommands, one file each. The scanning commands (`scan`, `baseline`, `merge`,
//! `rules`, `audit`, `sweep`, `hook`, `fix`) share [`output`]; the client commands (one file
//! per facility API) share the flags and helpers in [`common`]. Business logic lives in the
//! library; these files turn flags into calls and answers into reports, tables or JSON.

/// Prints to standard output like `println!`, except that a closed standard output (the reader
/// of a pipe went away: `| head -1`, `| true`) ends the program quietly with success, as
/// ripgrep does; `println!` panics there.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            $crate::cli::output::stdout_failed(e)
        }
    }};
}

/// Like [`outln!`], without the newline.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = write!(out, $($arg)*).and_then(|()| out.flush()) {
            $crate::cli::output::stdout_failed(e)
        }
    }};
}

pub mod audit;
pub mod baseline;
pub mod common;
pub mod csm;
pub mod fix;
pub mod hook;
pub mod iri;
pub mod jobs;
pub mod keyring;
pub mod login;
pub mod man;
pub mod merge;
pub mod output;
pub mod rules;
pub mod s3m;
pub mod scan;
pub mod slurm;
pub mod sweep;
