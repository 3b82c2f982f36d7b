//! Where command output goes, shared by every command: standard output with its closed-pipe
//! rule, report files (0600, atomic), colour, and the fingerprint key.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use tokenwarden::Fingerprinter;
use tokenwarden::report::{self, Format, ReportContext};

/// Set once standard output's reader has gone away: later output is dropped, and the command
/// goes on to finish what it was doing (a revocation half printed is still recorded) and exits
/// with the code it would have had.
pub(crate) static STDOUT_CLOSED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// After a failed write to standard output: a closed pipe is remembered and otherwise
/// ignored; any other failure ends the program (exit 2), since output is being lost.
pub(crate) fn stdout_failed(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
        return;
    }
    eprintln!("tokenwarden: error: cannot write to standard output: {e}");
    std::process::exit(2);
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub(crate) fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

pub(crate) fn fingerprinter() -> Fingerprinter {
    match std::env::var("TOKENWARDEN_FINGERPRINT_KEY") {
        Ok(k) if !k.is_empty() => Fingerprinter::new(k.as_bytes()),
        _ => Fingerprinter::default(),
    }
}

/// Writes generated text to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn print_generated(buf: &[u8]) -> Result<ExitCode> {
    if let Err(e) = std::io::stdout().lock().write_all(buf) {
        stdout_failed(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a file atomically with mode 0600 (rule 5 of the house).
pub(crate) fn write_private(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    tokenwarden::private_file::write_with(path, body)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes the report to `output` (0600, atomically) or to stdout (a closed pipe is fine).
pub(crate) fn emit(
    format: Format,
    result: &tokenwarden::ScanResult,
    ctx: &ReportContext,
    output: Option<&Path>,
) -> Result<()> {
    // `-o /dev/stdout` is standard output, with its closed-pipe rule.
    let output = output.filter(|p| tokenwarden::private_file::standard_stream(p) != Some(1));
    match output {
        Some(path) => write_private(path, |w| report::write(format, result, ctx, w))?,
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            match report::write(format, result, ctx, &mut lock).and_then(|()| lock.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => stdout_failed(e),
                other => other.context("writing the report")?,
            }
        }
    }
    Ok(())
}
