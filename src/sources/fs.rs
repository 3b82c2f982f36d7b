//! Directory trees: a parallel walk with `ignore`, binary sniffing, and overlapping chunks for
//! large files.
//!
//! Defaults follow what is being committed: `.gitignore`d files are skipped (`--no-ignore`
//! reads them), hidden files are read (that is where `.env` and token stores live), `.git/` is
//! never read as files (history is a separate source), and symbolic links are not followed.
//! Nothing here panics on input: every unreadable file, loop or odd path becomes a
//! [`Warning`] and the walk goes on.

use super::text::{self, Sniff};
use super::{Stats, Warning};
use crate::engine::{Engine, FILE_SECRET_LIMIT, RawMatch};
use crate::finding::Location;
use ignore::{WalkBuilder, WalkState, overrides::OverrideBuilder};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The warning for a file deleted between the walk's listing and its reading.
pub const VANISHED: &str = "deleted during the scan (listed, then gone before it was read)";

/// The most of a UTF-16 file that is decoded and scanned. Decoding works on the whole text
/// (the chunked reader's offsets are of the bytes on disk), so it is bounded on its own.
pub const UTF16_LIMIT: u64 = 64 * 1024 * 1024;

/// Options for a directory scan.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// Read files that `.gitignore` and friends exclude.
    pub no_ignore: bool,
    /// Follow symbolic links (loops are then reported).
    pub follow_links: bool,
    /// Skip (with a warning) files larger than this.
    pub max_file_size: Option<u64>,
    /// Gitignore-style globs, relative to each root, whose matches are not scanned.
    pub excludes: Vec<String>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Files larger than this are scanned in chunks of this size.
    pub chunk_size: usize,
    /// Bytes by which consecutive chunks overlap (longer than any secret).
    pub overlap: usize,
    /// Live counters a caller may watch (for a progress display); the scan creates its own
    /// when none is given.
    pub counters: Option<Arc<ScanCounters>>,
    /// Shown every text file read whole, so checks that need a file's content (the hygiene
    /// command-line checks) ride on this walk instead of walking and reading again.
    pub file_hook: Option<Arc<dyn FileHook>>,
    /// Scan only this shard's part of one root: its top-level entries (several roots are
    /// split by root before the walk, see [`crate::scan`]).
    pub shard: Option<crate::shard::Shard>,
    /// Name files by root and path even when there is one root (a shard of a multi-root
    /// scan reports paths as the whole scan does).
    pub prefix_roots: bool,
}

/// A check that looks at each text file a directory scan reads whole.
pub trait FileHook: Send + Sync {
    /// `rel` is the path as reported; `content` the whole file; `matches` what the engine
    /// found in it (so a hook judges a value by the file's context, not by the value alone).
    fn file(&self, engine: &Engine, rel: &str, content: &[u8], matches: &[RawMatch]);

    /// Every regular file the walk visits, read or not (binary, too large): `abs` is the path
    /// as walked, `rel` as reported.
    fn path(&self, _abs: &Path, _rel: &str) {}
}

impl std::fmt::Debug for dyn FileHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileHook")
    }
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            no_ignore: false,
            follow_links: false,
            max_file_size: None,
            excludes: Vec::new(),
            threads: 0,
            chunk_size: 16 << 20,
            overlap: 64 << 10,
            counters: None,
            file_hook: None,
            shard: None,
            prefix_roots: false,
        }
    }
}

/// Errors that stop a directory scan before it starts.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// A root does not exist or cannot be inspected.
    #[error("cannot scan {path}: {source}")]
    Root {
        /// The root.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file the walk would read as ignore rules (`.gitignore`, `.ignore`, the git directory's
    /// `info/exclude` or config) is a FIFO, device or socket: reading it could hang the scan.
    #[error("cannot scan: {0}")]
    Unsafe(String),
    /// An exclude glob is malformed.
    #[error("bad exclude pattern `{glob}`: {message}")]
    Exclude {
        /// The glob.
        glob: String,
        /// What is wrong.
        message: String,
    },
}

/// What a directory scan produced.
#[derive(Debug, Default)]
pub struct FsOutput {
    /// Every match with its location.
    pub matches: Vec<(RawMatch, Location)>,
    /// Problems with single inputs.
    pub warnings: Vec<Warning>,
    /// Counters.
    pub stats: Stats,
}

/// Counters updated while a scan runs.
#[derive(Debug, Default)]
pub struct ScanCounters {
    /// Files whose content was scanned so far.
    pub files: AtomicU64,
    /// Bytes scanned so far.
    pub bytes: AtomicU64,
    /// Rule matches so far (before merging into findings).
    pub matches: AtomicU64,
    binary: AtomicU64,
    too_large: AtomicU64,
    symlinks: AtomicU64,
    chunked: AtomicU64,
    unreadable: AtomicU64,
}

impl ScanCounters {
    pub(crate) fn binary_inc(&self) {
        self.binary.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn too_large_inc(&self) {
        self.too_large.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as plain numbers.
    pub fn snapshot(&self) -> Stats {
        Stats {
            files_scanned: self.files.load(Ordering::Relaxed),
            bytes_scanned: self.bytes.load(Ordering::Relaxed),
            binary_skipped: self.binary.load(Ordering::Relaxed),
            too_large_skipped: self.too_large.load(Ordering::Relaxed),
            symlinks_skipped: self.symlinks.load(Ordering::Relaxed),
            chunked_files: self.chunked.load(Ordering::Relaxed),
            unreadable: self.unreadable.load(Ordering::Relaxed),
            ..Stats::default()
        }
    }
}

/// Turns a path into the `/`-separated display form used in reports.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    let s = s.strip_prefix("./").unwrap_or(&s);
    if std::path::MAIN_SEPARATOR == '\\' {
        s.replace('\\', "/")
    } else {
        s.to_string()
    }
}

fn relative(root: &Path, path: &Path, prefix_root: bool) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => display_path(path),
        Ok(rel) if prefix_root => display_path(&root.join(rel)),
        Ok(rel) => display_path(rel),
        Err(_) => display_path(path),
    }
}

/// Scans directory trees (or single files) with `engine`.
pub fn scan_paths(
    engine: &Engine,
    roots: &[PathBuf],
    opts: &WalkOptions,
) -> Result<FsOutput, FsError> {
    // A path the user named that cannot be read is an error, not a warning: a CI job must not
    // pass having read nothing. (What a walk meets is a warning, counted in the summary.)
    for root in roots {
        let root_err = |source| FsError::Root {
            path: root.display().to_string(),
            source,
        };
        let meta = std::fs::symlink_metadata(root).map_err(root_err)?;
        if meta.is_dir() {
            std::fs::read_dir(root).map_err(root_err)?;
        } else if meta.is_file() {
            File::open(root).map_err(root_err)?;
        }
    }
    let counters = opts.counters.clone().unwrap_or_default();
    let counters: &ScanCounters = &counters;
    let results: Mutex<FsOutput> = Mutex::new(FsOutput::default());
    let prefix_root = roots.len() > 1 || opts.prefix_roots;
    // Checked even with --no-ignore: the hygiene checks read ignore rules whatever the walk
    // does.
    for root in roots {
        check_ignore_sources(root)?;
    }
    let unsafe_found: Arc<Mutex<Option<String>>> = Arc::default();
    for root in roots {
        let mut overrides = OverrideBuilder::new(root);
        for glob in &opts.excludes {
            overrides
                .add(&format!("!{glob}"))
                .map_err(|e| FsError::Exclude {
                    glob: glob.clone(),
                    message: e.to_string(),
                })?;
        }
        let overrides = overrides.build().map_err(|e| FsError::Exclude {
            glob: opts.excludes.join(", "),
            message: e.to_string(),
        })?;
        let mut builder = WalkBuilder::new(root);
        let shard = opts.shard;
        let found = unsafe_found.clone();
        builder
            .hidden(false)
            .follow_links(opts.follow_links)
            .threads(opts.threads)
            .overrides(overrides)
            .filter_entry(move |e| {
                // The walk reads a directory's ignore files as it enters it, after this
                // filter: a FIFO there is caught here, before it is opened.
                if e.depth() > 0
                    && e.file_type().is_some_and(|t| t.is_dir())
                    && let Some(problem) = unsafe_ignore_file(e.path())
                {
                    let mut slot = found.lock().unwrap_or_else(|p| p.into_inner());
                    slot.get_or_insert(problem);
                    return false;
                }
                e.file_name() != ".git"
                    && match shard {
                        // The partition of one root: its top-level entries (or the root
                        // itself, when it is a file).
                        Some(sh) if e.depth() == 1 || (e.depth() == 0 && !e.path().is_dir()) => {
                            sh.owns(&e.file_name().to_string_lossy())
                        }
                        _ => true,
                    }
            });
        if opts.no_ignore {
            builder.standard_filters(false).hidden(false);
        }
        builder.build_parallel().run(|| {
            let mut buf: Vec<u8> = Vec::new();
            let results = &results;
            Box::new(move |entry| {
                let mut local = FsOutput::default();
                match entry {
                    Err(err) => {
                        if err.io_error().is_some() {
                            counters.unreadable.fetch_add(1, Ordering::Relaxed);
                        }
                        local.warnings.push(walk_warning(root, &err, prefix_root))
                    }
                    Ok(entry) => {
                        let ft = entry.file_type();
                        if ft.is_some_and(|t| t.is_symlink()) {
                            counters.symlinks.fetch_add(1, Ordering::Relaxed);
                        } else if ft.is_some_and(|t| t.is_file()) {
                            let rel = relative(root, entry.path(), prefix_root);
                            scan_file(
                                engine,
                                entry.path(),
                                &rel,
                                opts,
                                &mut buf,
                                counters,
                                &mut local,
                            );
                        }
                    }
                }
                if !local.matches.is_empty() || !local.warnings.is_empty() {
                    let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                    r.matches.append(&mut local.matches);
                    r.warnings.append(&mut local.warnings);
                }
                WalkState::Continue
            })
        });
    }
    if let Some(problem) = unsafe_found
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(FsError::Unsafe(problem));
    }
    let mut out = results.into_inner().unwrap_or_else(|p| p.into_inner());
    out.warnings.sort();
    out.stats = counters.snapshot();
    Ok(out)
}

/// The files the walk reads as ignore rules in each directory it enters.
const IGNORE_FILES: [&str; 2] = [".gitignore", ".ignore"];

/// A sentence when one of `dir`'s ignore files is not a regular file (followed, as the walk
/// follows it).
fn unsafe_ignore_file(dir: &Path) -> Option<String> {
    IGNORE_FILES.iter().find_map(|name| {
        let p = dir.join(name);
        match std::fs::metadata(&p) {
            Ok(m) if !m.is_file() => Some(format!(
                "{} is {}, not a file of ignore rules: reading it could hang; remove it",
                p.display(),
                crate::untrusted::file_kind(&m.file_type())
            )),
            _ => None,
        }
    })
}

/// The `filter_entry` of every other walk of a tree (the hygiene checks): never into `.git`,
/// and never into a directory whose ignore file would hang the walk (the directory scan,
/// which runs first, reports it as an error).
pub fn enter(e: &ignore::DirEntry) -> bool {
    e.file_name() != ".git"
        && !(e.depth() > 0
            && e.file_type().is_some_and(|t| t.is_dir())
            && unsafe_ignore_file(e.path()).is_some())
}

/// Checks what the walk reads before it yields anything: the ignore files of the root and of
/// its parents, and the git directory's `info/exclude` and config.
pub fn check_ignore_sources(root: &Path) -> Result<(), FsError> {
    let canon = root.canonicalize().map_err(|source| FsError::Root {
        path: root.display().to_string(),
        source,
    })?;
    let start = if canon.is_dir() {
        Some(canon.as_path())
    } else {
        canon.parent()
    };
    for dir in start.into_iter().flat_map(Path::ancestors) {
        if let Some(problem) = unsafe_ignore_file(dir) {
            return Err(FsError::Unsafe(problem));
        }
    }
    crate::untrusted::check_git_dir(root).map_err(|e| FsError::Unsafe(e.to_string()))
}

fn walk_warning(root: &Path, err: &ignore::Error, prefix_root: bool) -> Warning {
    fn path_of(err: &ignore::Error) -> Option<&Path> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            ignore::Error::Loop { child, .. } => Some(child),
            _ => None,
        }
    }
    fn message(err: &ignore::Error) -> String {
        match err {
            ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => {
                message(err)
            }
            ignore::Error::Loop { ancestor, .. } => {
                format!(
                    "symbolic link loop back to {}; not followed",
                    ancestor.display()
                )
            }
            other => other.to_string(),
        }
    }
    Warning {
        path: path_of(err)
            .map(|p| relative(root, p, prefix_root))
            .unwrap_or_default(),
        message: message(err),
    }
}

/// Reads until `buf` holds `want` bytes or the reader is exhausted. `read_to_end` grows the
/// buffer without zero-filling it again and again (a naive `resize` to the chunk size would
/// memset 16 MiB for every small file).
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<()> {
    if buf.len() < want {
        let missing = (want - buf.len()) as u64;
        reader.take(missing).read_to_end(buf)?;
    }
    Ok(())
}

/// Counts characters (not UTF-8 continuation bytes) in `b`.
fn chars(b: &[u8]) -> u64 {
    b.iter().filter(|&&x| (x & 0xC0) != 0x80).count() as u64
}

/// Tracks line and column across a file read in pieces.
struct Cursor {
    /// Newlines before `base`.
    lines: u64,
    /// Characters between the last newline before `base` and `base`.
    col_chars: u64,
}

impl Cursor {
    fn advance(&mut self, consumed: &[u8]) {
        self.lines += memchr::memchr_iter(b'\n', consumed).count() as u64;
        match memchr::memrchr(b'\n', consumed) {
            Some(i) => self.col_chars = chars(&consumed[i + 1..]),
            None => self.col_chars += chars(consumed),
        }
    }
}

/// Turns match offsets in one buffer into locations. Line and column are carried from one
/// offset to the next, forward or back, at the cost of the bytes between them: for matches in
/// order of their start, the whole buffer costs one pass plus the matches' own lengths, even when
/// several rules match the same span (a backward step from one match's end to the next one's
/// start) or every match sits on one 500 MB line.
pub(crate) struct Locator<'a> {
    path: &'a str,
    buf: &'a [u8],
    cursor: &'a Cursor,
    base: u64,
    /// The offset the counts below are for.
    pos: usize,
    /// Newlines in `buf[..pos]`.
    lines: u64,
    /// Characters from the start of `pos`'s line (the cursor's, on the first line) to `pos`.
    col: u64,
}

static START: Cursor = Cursor {
    lines: 0,
    col_chars: 0,
};

impl<'a> Locator<'a> {
    fn new(path: &'a str, buf: &'a [u8], cursor: &'a Cursor, base: u64) -> Locator<'a> {
        Locator {
            path,
            buf,
            cursor,
            base,
            pos: 0,
            lines: 0,
            col: cursor.col_chars,
        }
    }

    /// For a whole, in-memory blob.
    pub(crate) fn whole(path: &'a str, blob: &'a [u8]) -> Locator<'a> {
        Locator::new(path, blob, &START, 0)
    }

    /// Line and column (1-based) of `at`, where `buf[0]` follows the cursor.
    fn position(&mut self, at: usize) -> (u64, u64) {
        let at = at.min(self.buf.len());
        if at >= self.pos {
            let seg = &self.buf[self.pos..at];
            match memchr::memrchr(b'\n', seg) {
                Some(last) => {
                    self.lines += memchr::memchr_iter(b'\n', seg).count() as u64;
                    self.col = chars(&seg[last + 1..]);
                }
                None => self.col += chars(seg),
            }
        } else {
            let seg = &self.buf[at..self.pos];
            let crossed = memchr::memchr_iter(b'\n', seg).count() as u64;
            if crossed == 0 {
                self.col -= chars(seg);
            } else {
                self.lines -= crossed;
                // Back across a newline: `at`'s own line is measured, and only it.
                let before = &self.buf[..at];
                self.col = match memchr::memrchr(b'\n', before) {
                    Some(i) => chars(&before[i + 1..]),
                    None => self.cursor.col_chars + chars(before),
                };
            }
        }
        self.pos = at;
        (self.cursor.lines + self.lines + 1, self.col + 1)
    }

    /// Where a match is.
    pub(crate) fn locate(&mut self, m: &RawMatch) -> Location {
        let (line, column) = self.position(m.start);
        let (end_line, end_column) = self.position(m.end);
        Location {
            path: self.path.to_string(),
            line,
            column,
            end_line,
            end_column,
            byte_offset: self.base + m.start as u64,
            git: None,
        }
    }
}

/// The location of a match in a whole, in-memory blob (one match; for many, a [`Locator`]).
pub(crate) fn locate_in(path: &str, blob: &[u8], m: &RawMatch) -> Location {
    Locator::whole(path, blob).locate(m)
}

/// Counts a text's matches and adds each, in order, with its location.
fn record(
    mut matches: Vec<RawMatch>,
    mut at: Locator<'_>,
    counters: &ScanCounters,
    out: &mut FsOutput,
) {
    matches.sort_by_key(|m| m.start);
    counters
        .matches
        .fetch_add(matches.len() as u64, Ordering::Relaxed);
    for m in matches {
        let loc = at.locate(&m);
        out.matches.push((m, loc));
    }
}

fn scan_file(
    engine: &Engine,
    path: &Path,
    rel: &str,
    opts: &WalkOptions,
    buf: &mut Vec<u8>,
    counters: &ScanCounters,
    out: &mut FsOutput,
) {
    let warn = |out: &mut FsOutput, message: String| {
        out.warnings.push(Warning {
            path: rel.to_string(),
            message,
        })
    };
    // A file listed by the walk may be gone (or replaced) when it is read: a build or a job
    // writing to the tree. That is said plainly, and the scan goes on.
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if gone(&e) => return warn(out, VANISHED.into()),
        Err(e) => return warn(out, format!("cannot read metadata: {e}")),
    };
    let size = meta.len();
    if let Some(hook) = &opts.file_hook {
        hook.path(path, rel);
    }
    if engine.has_path_rules() {
        for rule in engine.path_matches(rel, size) {
            let limit = engine.rules()[rule].max_size.unwrap_or(FILE_SECRET_LIMIT);
            match read_key_file(path, limit) {
                Ok(content) => {
                    let m = engine.file_match(rule, &content);
                    let loc = locate_in(rel, &[], &m);
                    out.matches.push((m, loc));
                }
                Err(e) => warn(out, format!("cannot read key file: {e}")),
            }
        }
    }
    if let Some(max) = opts.max_file_size
        && size > max
    {
        counters.too_large.fetch_add(1, Ordering::Relaxed);
        return warn(
            out,
            format!("not scanned: {size} bytes is over --max-file-size {max}"),
        );
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if gone(&e) => return warn(out, VANISHED.into()),
        Err(e) => {
            counters.unreadable.fetch_add(1, Ordering::Relaxed);
            return warn(out, format!("cannot open: {e}"));
        }
    };
    let chunk = opts.chunk_size.max(1);
    let overlap = opts.overlap;
    buf.clear();
    buf.reserve((size as usize).min(chunk + overlap));
    let mut base: u64 = 0;
    let mut cursor = Cursor {
        lines: 0,
        col_chars: 0,
    };
    let mut first = true;
    loop {
        if let Err(e) = fill(&mut file, buf, chunk + overlap) {
            counters.unreadable.fetch_add(1, Ordering::Relaxed);
            return warn(
                out,
                format!("read error at byte {}: {e}", base + buf.len() as u64),
            );
        }
        if first {
            match text::sniff(buf) {
                // A small binary read whole: its printable strings (text::printable_strings).
                Sniff::Binary
                    if buf.len() < chunk + overlap && buf.len() <= text::BINARY_STRINGS_LIMIT =>
                {
                    counters.files.fetch_add(1, Ordering::Relaxed);
                    counters
                        .bytes
                        .fetch_add(buf.len() as u64, Ordering::Relaxed);
                    let strings = text::printable_strings(buf);
                    let matches = engine.scan(&strings, Some(rel));
                    record(
                        matches,
                        Locator::new(rel, buf, &cursor, base),
                        counters,
                        out,
                    );
                    return;
                }
                Sniff::Binary => {
                    counters.binary.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Sniff::Utf16 { big_endian } => {
                    counters.files.fetch_add(1, Ordering::Relaxed);
                    return scan_utf16(engine, rel, file, big_endian, opts, buf, counters, out);
                }
                Sniff::Text => {}
            }
            counters.files.fetch_add(1, Ordering::Relaxed);
            first = false;
        }
        let eof = buf.len() < chunk + overlap;
        if !eof && base == 0 {
            counters.chunked.fetch_add(1, Ordering::Relaxed);
        }
        let scanned = if eof { buf.len() } else { chunk };
        counters.bytes.fetch_add(scanned as u64, Ordering::Relaxed);
        let mut matches = engine.scan(buf, Some(rel));
        if eof
            && base == 0
            && let Some(hook) = &opts.file_hook
        {
            hook.file(engine, rel, buf, &matches);
        }
        if !eof {
            // A match that begins in the overlap belongs to the next chunk, which sees it whole.
            matches.retain(|m| m.anchor < chunk);
        }
        record(
            matches,
            Locator::new(rel, buf, &cursor, base),
            counters,
            out,
        );
        if eof {
            return;
        }
        cursor.advance(&buf[..chunk]);
        buf.drain(..chunk);
        base += chunk as u64;
    }
}

/// Scans a UTF-16 file whole: the rest of it is read (up to [`UTF16_LIMIT`]), decoded to
/// UTF-8, and scanned as one blob. Lines and columns are those of the text, as an editor shows
/// them.
#[allow(clippy::too_many_arguments)]
fn scan_utf16(
    engine: &Engine,
    rel: &str,
    file: File,
    big_endian: bool,
    opts: &WalkOptions,
    buf: &mut Vec<u8>,
    counters: &ScanCounters,
    out: &mut FsOutput,
) {
    let have = buf.len() as u64;
    let mut rest = file.take(UTF16_LIMIT.saturating_sub(have) + 1);
    if let Err(e) = rest.read_to_end(buf) {
        return out.warnings.push(Warning {
            path: rel.to_string(),
            message: format!("read error at byte {}: {e}", buf.len()),
        });
    }
    if buf.len() as u64 > UTF16_LIMIT {
        buf.truncate(UTF16_LIMIT as usize);
        out.warnings.push(Warning {
            path: rel.to_string(),
            message: format!(
                "UTF-16 text: only its first {} MiB were decoded and scanned",
                UTF16_LIMIT >> 20
            ),
        });
    }
    counters
        .bytes
        .fetch_add(buf.len() as u64, Ordering::Relaxed);
    let decoded = text::decode_utf16(buf, big_endian);
    let matches = engine.scan(&decoded, Some(rel));
    if let Some(hook) = &opts.file_hook {
        hook.file(engine, rel, &decoded, &matches);
    }
    record(matches, Locator::whole(rel, &decoded), counters, out);
}

fn read_key_file(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut content = Vec::new();
    File::open(path)?.take(limit).read_to_end(&mut content)?;
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::rules::RuleSet;

    /// Line and column counted from scratch, the slow and obvious way.
    fn naive(buf: &[u8], cursor: &Cursor, at: usize) -> (u64, u64) {
        let before = &buf[..at];
        let lines = before.iter().filter(|&&b| b == b'\n').count() as u64;
        let col = match before.iter().rposition(|&b| b == b'\n') {
            Some(i) => chars(&before[i + 1..]),
            None => cursor.col_chars + chars(before),
        };
        (cursor.lines + lines + 1, col + 1)
    }

    #[test]
    fn locator_agrees_with_counting_from_scratch_in_any_order() {
        let text = "héllo wörld\nsecond line é\n\n\nlast — line without end".as_bytes();
        let cursor = Cursor {
            lines: 7,
            col_chars: 3,
        };
        // Offsets on character boundaries, visited forward, backward, repeated and jumping.
        let offsets: Vec<usize> = (0..=text.len())
            .filter(|&i| i == text.len() || (text[i] & 0xC0) != 0x80)
            .collect();
        let mut order: Vec<usize> = offsets.clone();
        order.extend(offsets.iter().rev());
        let mut x = 17usize;
        for _ in 0..500 {
            x = x.wrapping_mul(1103515245).wrapping_add(12345) % 65536;
            order.push(offsets[x % offsets.len()]);
        }
        let mut loc = Locator::new("f", text, &cursor, 0);
        for at in order {
            assert_eq!(loc.position(at), naive(text, &cursor, at), "at {at}");
        }
    }

    fn engine() -> Engine {
        let mut set = RuleSet::default();
        set.add_toml(
            "t.toml",
            r#"
[[rule]]
id = "t.key"
name = "test key"
facility = "test"
severity = "high"
keywords = ["TESTKEY="]
pattern = 'TESTKEY=(?P<secret>[A-Z]{20})'
remediation = "none"
"#,
        )
        .unwrap();
        Engine::new(&set, EngineOptions::default()).unwrap()
    }

    /// Secrets placed across chunk boundaries are found exactly once, at the right line.
    #[test]
    fn chunked_reading_finds_each_secret_once_with_correct_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        let mut expected = Vec::new();
        for i in 0..400u64 {
            if i % 37 == 5 {
                text.push_str("pad pad TESTKEY=ABCDEFGHIJKLMNOPQRS");
                text.push((b'A' + (i % 26) as u8) as char);
                text.push('\n');
                expected.push(i + 1);
            } else {
                text.push_str(&format!("line {i} é filler filler filler\n"));
            }
        }
        std::fs::write(dir.path().join("f.txt"), &text).unwrap();
        let e = engine();
        for chunk in [64usize, 100, 257, 1 << 20] {
            let opts = WalkOptions {
                chunk_size: chunk,
                overlap: 48,
                threads: 1,
                ..WalkOptions::default()
            };
            let out = scan_paths(&e, &[dir.path().to_path_buf()], &opts).unwrap();
            let mut lines: Vec<u64> = out.matches.iter().map(|(_, l)| l.line).collect();
            lines.sort();
            assert_eq!(lines, expected, "chunk {chunk}");
            assert!(
                out.matches.iter().all(|(_, l)| l.column == 17),
                "chunk {chunk}"
            );
        }
    }

    /// Files deleted after the walk listed them (a job writing to the tree) are each reported
    /// once as such, and the scan goes on. The first file read deletes the others.
    #[test]
    fn files_deleted_during_the_walk_are_reported_and_the_scan_goes_on() {
        struct DeleteOthers(PathBuf, std::sync::atomic::AtomicBool);
        impl FileHook for DeleteOthers {
            fn file(&self, _: &Engine, rel: &str, _: &[u8], _: &[RawMatch]) {
                if !self.1.swap(true, Ordering::SeqCst) {
                    for n in ["a.txt", "b.txt", "c.txt"] {
                        if !rel.ends_with(n) {
                            std::fs::remove_file(self.0.join(n)).unwrap();
                        }
                    }
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        for n in ["a.txt", "b.txt", "c.txt"] {
            std::fs::write(dir.path().join(n), "TESTKEY=ABCDEFGHIJKLMNOPQRST\n").unwrap();
        }
        let opts = WalkOptions {
            threads: 1,
            file_hook: Some(Arc::new(DeleteOthers(
                dir.path().to_path_buf(),
                Default::default(),
            ))),
            ..WalkOptions::default()
        };
        let out = scan_paths(&engine(), &[dir.path().to_path_buf()], &opts).unwrap();
        assert_eq!(out.matches.len(), 1, "the file read first");
        let vanished: Vec<_> = out
            .warnings
            .iter()
            .filter(|w| w.message == VANISHED)
            .collect();
        assert_eq!(vanished.len(), 2, "{:?}", out.warnings);
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    }
}
