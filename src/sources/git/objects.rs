//! Reading raw git objects for the history walk, and parsing raw trees.
//!
//! A history scan reads every version of every tree. On a Spack-sized history (37k commits,
//! each rewriting an 8500-entry directory: 11 GB of tree data) libgit2 spent ~38 s reading the
//! trees and ~59 s reading the blobs, and gix was slower still, while `git cat-file --batch`
//! reads the same trees in 3.6 s: its delta-base cache suits reading whole delta chains, and
//! libgit2's is fixed at 16 MiB. So in a large repository objects come from a `git cat-file
//! --batch` child per worker when git is installed, and from libgit2's object database
//! otherwise or if the child fails (bench/commits.sh `LAYOUT=spack` has the figures).
//!
//! Since the pack files are read directly (`pack`, `packwalk`), these readers serve what the
//! packs do not: range walks' trees, loose objects, objects only in alternates, anything over
//! the size limit or damaged, and every object when `TOKENWARDEN_GIT_READER=git|libgit2`.
//!
//! The child can do nothing but read objects: replace refs are off (a replaced object would
//! hide the real content), lazy fetching of missing objects is off, and partial clones (whose
//! missing objects git would try to fetch) are read with libgit2 instead.

use git2::Oid;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;

/// The type of an object or tree entry, as far as the walk cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Blob,
    Tree,
    Commit,
    Other,
}

/// A raw object: its type, size and content (none when over the caller's size limit).
pub struct RawObject {
    pub kind: Kind,
    pub size: u64,
    pub data: Option<Vec<u8>>,
}

/// One `git cat-file --batch` child, asked ahead: requests go to its input from a writer
/// thread while the caller reads answers, so a walk that knows what it needs next never waits
/// for a round trip per object (on Spack's history, one write, flush and blocking read per
/// object spent a fifth of the time switching between the two processes). The thread also
/// means no pipe size can deadlock the pair: the writer may block on a full input pipe while
/// the caller drains the output.
struct CatFile {
    child: Child,
    requests: Option<mpsc::Sender<Oid>>,
    writer: Option<thread::JoinHandle<()>>,
    output: BufReader<ChildStdout>,
}

impl CatFile {
    fn spawn(git_dir: &Path) -> io::Result<CatFile> {
        let mut child = git_reader(git_dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("no pipes to git cat-file"));
        };
        let (requests, queue) = mpsc::channel::<Oid>();
        let writer = thread::Builder::new()
            .name("git-cat-file-requests".into())
            .spawn(move || write_requests(queue, input));
        let writer = match writer {
            Ok(w) => w,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(CatFile {
            child,
            requests: Some(requests),
            writer: Some(writer),
            output: BufReader::with_capacity(1 << 20, output),
        })
    }

    /// Asks for object `id`; its answer is read, in request order, by [`CatFile::answer`].
    fn request(&self, id: Oid) -> io::Result<()> {
        self.requests
            .as_ref()
            .ok_or_else(|| io::Error::other("closed"))?
            .send(id)
            .map_err(|_| io::Error::other("git cat-file stopped taking requests"))
    }

    /// Reads the answer to the oldest unanswered request, which was for `id`. `Ok(None)`: git
    /// says it is missing. `Err`: the child is unusable.
    fn answer(&mut self, id: Oid, limit: u64) -> io::Result<Option<RawObject>> {
        let mut header = Vec::with_capacity(64);
        self.output.read_until(b'\n', &mut header)?;
        let header = header
            .strip_suffix(b"\n")
            .ok_or_else(|| io::Error::other("git cat-file ended"))?;
        let mut fields = header.split(|&b| b == b' ');
        let (Some(oid), Some(kind)) = (fields.next(), fields.next()) else {
            return Err(io::Error::other("malformed git cat-file header"));
        };
        if oid != id.to_string().as_bytes() {
            return Err(io::Error::other("git cat-file answered for another object"));
        }
        if kind == b"missing" || kind == b"ambiguous" {
            return Ok(None);
        }
        let size: u64 = fields
            .next()
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other("malformed git cat-file size"))?;
        let kind = match kind {
            b"blob" => Kind::Blob,
            b"tree" => Kind::Tree,
            b"commit" => Kind::Commit,
            _ => Kind::Other,
        };
        let data = if size > limit {
            let skipped = io::copy(&mut (&mut self.output).take(size), &mut io::sink())?;
            if skipped != size {
                return Err(io::Error::other("git cat-file ended mid-object"));
            }
            None
        } else {
            let mut data = vec![0; size as usize];
            self.output.read_exact(&mut data)?;
            Some(data)
        };
        let mut newline = [0u8; 1];
        self.output.read_exact(&mut newline)?;
        Ok(Some(RawObject { kind, size, data }))
    }
}

/// The writer thread: sends each queued id to git, flushing whenever the queue runs dry, until
/// the queue is closed (then closing git's input ends it) or git stops reading.
fn write_requests(queue: mpsc::Receiver<Oid>, input: ChildStdin) {
    let mut input = BufWriter::with_capacity(64 << 10, input);
    while let Ok(first) = queue.recv() {
        let mut next = Some(first);
        while let Some(id) = next {
            if writeln!(input, "{id}").is_err() {
                return;
            }
            next = queue.try_recv().ok();
        }
        if input.flush().is_err() {
            return;
        }
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        // Closing the queue ends the writer, which closes git's input and so ends git; kill
        // it in case it is stuck writing an answer nobody reads, which also unblocks a writer
        // stuck on a full input pipe.
        drop(self.requests.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// Where a worker reads objects from: a `git cat-file` child while it works, else libgit2.
///
/// Reads are asked ahead with [`Objects::request`] and taken in the same order with
/// [`Objects::next`].
pub struct Objects<'r> {
    cat: Option<CatFile>,
    odb: Option<git2::Odb<'r>>,
    /// Requests not yet taken, oldest first, each with whether git was asked for it.
    pending: VecDeque<(Oid, bool)>,
    /// Why the child was given up, once, for a warning.
    pub fallback: Option<String>,
}

impl<'r> Objects<'r> {
    /// Objects of `repo`: through git for a large repository (when git can be used for
    /// it), through libgit2 for a small one, where starting the child costs more than
    /// libgit2's cache misses. `TOKENWARDEN_GIT_READER=git|libgit2` forces either.
    pub fn open(repo: &'r git2::Repository) -> Objects<'r> {
        let cat = if use_git(repo) {
            CatFile::spawn(repo.path()).ok()
        } else {
            None
        };
        Objects {
            cat,
            odb: repo.odb().ok(),
            pending: VecDeque::new(),
            fallback: None,
        }
    }

    /// Asks for object `id` ahead of taking it with [`Objects::next`].
    pub fn request(&mut self, id: Oid) {
        let asked = self.cat.as_ref().is_some_and(|c| c.request(id).is_ok());
        self.pending.push_back((id, asked));
    }

    /// Takes the oldest requested object: its id and the object, whose content is left out
    /// when it is larger than `limit`. `None` when nothing is pending.
    pub fn next(&mut self, limit: u64) -> Option<(Oid, Result<RawObject, String>)> {
        let (id, asked) = self.pending.pop_front()?;
        if asked && let Some(cat) = self.cat.as_mut() {
            match cat.answer(id, limit) {
                Ok(Some(o)) => return Some((id, Ok(o))),
                // git may not see what libgit2 sees (e.g. an object only in a pack git
                // rejects), so ask libgit2 too before calling it missing.
                Ok(None) => {}
                Err(e) => {
                    // The stream is out of step: every request still pending is read
                    // with libgit2.
                    self.fallback = Some(format!("git cat-file failed ({e}); read with libgit2"));
                    self.cat = None;
                }
            }
        }
        Some((id, self.read_odb(id, limit)))
    }

    fn read_odb(&self, id: Oid, limit: u64) -> Result<RawObject, String> {
        let odb = self.odb.as_ref().ok_or("no object database")?;
        let (size, kind) = odb.read_header(id).map_err(|e| e.message().to_string())?;
        let kind = match kind {
            git2::ObjectType::Blob => Kind::Blob,
            git2::ObjectType::Tree => Kind::Tree,
            git2::ObjectType::Commit => Kind::Commit,
            _ => Kind::Other,
        };
        let size = size as u64;
        let data = if size > limit {
            None
        } else {
            Some(
                odb.read(id)
                    .map_err(|e| e.message().to_string())?
                    .data()
                    .to_vec(),
            )
        };
        Ok(RawObject { kind, size, data })
    }
}

/// An object id as a plain value: hashing and comparing it is inlined, where `git2::Oid`'s
/// equality is a call into libgit2 (it showed in profiles of hash-set lookups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub [u8; 20]);

impl Key {
    /// The key of a libgit2 id (SHA-1; other lengths map to zeros and are never found).
    pub fn of(id: Oid) -> Key {
        Key(id.as_bytes().try_into().unwrap_or([0; 20]))
    }

    /// The libgit2 id.
    pub fn oid(self) -> Oid {
        Oid::from_bytes(&self.0).unwrap_or(Oid::ZERO_SHA1)
    }
}

/// A git command that can do nothing but read objects of the repository at `git_dir`, with a
/// bounded footprint: replace refs are off (a replaced object would hide the real content),
/// lazy fetching of missing objects is off, and so is fsmonitor. Git maps up to 8 GiB of pack
/// files by default, in 1 GiB windows, and the mapped pages count as its memory: listing
/// git/git's objects held 547 MB. Windows of 32 MiB, at most 128 MiB mapped, cost the listing
/// and the reads nothing measurable (bench/history.sh).
fn git_reader(git_dir: &Path) -> Command {
    let mut git = Command::new("git");
    git.env("GIT_DIR", git_dir)
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .env("GIT_NO_LAZY_FETCH", "1")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
        .args(["-c", "core.fsmonitor=false"])
        .args(["-c", "core.packedGitWindowSize=32m"])
        .args(["-c", "core.packedGitLimit=128m"]);
    git
}

/// Whether blobs are read straight from `repo`'s pack files (see `pack`): unless
/// `TOKENWARDEN_GIT_READER` asks for git or libgit2 alone, or the repository's ids are not
/// SHA-1 (the only pack index this reader knows).
pub fn read_packs(repo: &git2::Repository) -> bool {
    let sha1 = repo
        .config()
        .ok()
        .and_then(|c| c.get_string("extensions.objectformat").ok())
        .is_none_or(|f| f.eq_ignore_ascii_case("sha1"));
    sha1 && !matches!(
        std::env::var("TOKENWARDEN_GIT_READER").as_deref(),
        Ok("git" | "libgit2")
    )
}

/// Whether objects of `repo` are read through git (see [`Objects::open`]).
fn use_git(repo: &git2::Repository) -> bool {
    let partial = repo
        .config()
        .ok()
        .and_then(|c| c.get_string("extensions.partialclone").ok())
        .is_some_and(|v| !v.is_empty());
    !partial
        && match std::env::var("TOKENWARDEN_GIT_READER").as_deref() {
            Ok("git") => true,
            Ok("libgit2") => false,
            _ => pack_bytes(repo.path()) >= GIT_READER_THRESHOLD,
        }
}

/// The rank in pack order of each of the `wanted` objects, when objects are read through git
/// (`None` otherwise, or if git cannot list them): reading in that order resolves each delta
/// from a base just read. Git lists ids only, not types: telling a delta's type means
/// following its chain to the base, which tripled the listing's time on git/git; the walk
/// already knows which ids are blobs.
pub fn pack_order(repo: &git2::Repository, wanted: &FxHashSet<Key>) -> Option<FxHashMap<Key, u32>> {
    let mut rank = FxHashMap::default();
    rank.reserve(wanted.len());
    list_objects(repo, false, |_, id| {
        let key = Key::of(id);
        if wanted.contains(&key) {
            let next = rank.len() as u32;
            rank.entry(key).or_insert(next);
        }
    })?;
    Some(rank)
}

/// The blobs in the object database that are not in `known`, in pack order, listed by git
/// (`None` when objects are not read through git, or git cannot list them). This is
/// `--all-objects`' list: git's listing is one pass over the pack indexes, where libgit2 asks
/// each object's header in turn.
pub fn other_blobs(repo: &git2::Repository, known: &FxHashSet<Key>) -> Option<Vec<Key>> {
    let mut listed = FxHashSet::default();
    let mut blobs = Vec::new();
    list_objects(repo, true, |kind, id| {
        let key = Key::of(id);
        if kind == b"blob" && !known.contains(&key) && listed.insert(key) {
            blobs.push(key);
        }
    })?;
    Some(blobs)
}

/// Lists every object in the object database, in pack order, through git, calling `each` with
/// its type (when `typed`; empty otherwise) and id. `None` when objects are not read through
/// git, or git cannot list them. The listing is streamed: a repository with millions of
/// objects lists hundreds of MB.
fn list_objects(
    repo: &git2::Repository,
    typed: bool,
    mut each: impl FnMut(&[u8], Oid),
) -> Option<()> {
    if !use_git(repo) {
        return None;
    }
    let format = if typed {
        "--batch-check=%(objecttype) %(objectname)"
    } else {
        "--batch-check=%(objectname)"
    };
    let mut child = git_reader(repo.path())
        .args(["cat-file", "--batch-all-objects", "--unordered", format])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = Vec::with_capacity(64);
    if let Some(out) = child.stdout.take() {
        let mut out = BufReader::with_capacity(1 << 20, out);
        loop {
            line.clear();
            match out.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = line.trim_ascii_end();
            let (kind, hex) = match line.iter().position(|&b| b == b' ') {
                Some(space) if typed => (&line[..space], &line[space + 1..]),
                _ => (&line[..0], line),
            };
            if let Some(id) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| Oid::from_str(h).ok())
            {
                each(kind, id);
            }
        }
    }
    child.wait().is_ok_and(|s| s.success()).then_some(())
}

/// Pack bytes from which objects are read through git rather than libgit2.
const GIT_READER_THRESHOLD: u64 = 128 << 20;

/// The size of a repository's pack files.
fn pack_bytes(git_dir: &Path) -> u64 {
    std::fs::read_dir(git_dir.join("objects").join("pack"))
        .map(|dir| {
            dir.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// One entry of a raw tree object.
#[derive(Debug, PartialEq, Eq)]
pub struct TreeEntry<'a> {
    pub kind: Kind,
    pub name: &'a [u8],
    pub id: Key,
}

/// Parses the entry of raw tree `data` that starts at `pos`: `<octal mode> <name>\0<20-byte
/// id>`. Returns the entry and where the next one starts; `None` at the end; `Some(Err)` on
/// a malformed entry (the rest of the tree cannot be trusted).
pub fn tree_entry(data: &[u8], pos: usize) -> Option<Result<(TreeEntry<'_>, usize), ()>> {
    let rest = data.get(pos..)?;
    if rest.is_empty() {
        return None;
    }
    Some(parse_entry(rest).map(|(e, used)| (e, pos + used)))
}

fn parse_entry(rest: &[u8]) -> Result<(TreeEntry<'_>, usize), ()> {
    let space = memchr::memchr(b' ', rest).ok_or(())?;
    let mode_bytes = &rest[..space];
    if mode_bytes.is_empty() || mode_bytes.len() > 7 {
        return Err(());
    }
    let mut mode = 0u32;
    for &b in mode_bytes {
        if !(b'0'..=b'7').contains(&b) {
            return Err(());
        }
        mode = mode * 8 + u32::from(b - b'0');
    }
    let after = &rest[space + 1..];
    let nul = memchr::memchr(0, after).ok_or(())?;
    let name = &after[..nul];
    let id_bytes = after.get(nul + 1..nul + 21).ok_or(())?;
    let id = Key(id_bytes.try_into().map_err(|_| ())?);
    if name.is_empty() {
        return Err(());
    }
    let kind = match mode & 0o170000 {
        0o040000 => Kind::Tree,
        0o160000 => Kind::Commit,
        0o100000 | 0o120000 => Kind::Blob,
        _ => Kind::Other,
    };
    Ok((TreeEntry { kind, name, id }, space + 1 + nul + 21))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, fill) in entries {
            out.extend_from_slice(mode.as_bytes());
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(&[*fill; 20]);
        }
        out
    }

    fn all(data: &[u8]) -> Result<Vec<(Kind, String)>, ()> {
        let mut pos = 0;
        let mut out = Vec::new();
        while let Some(r) = tree_entry(data, pos) {
            let (e, next) = r?;
            out.push((e.kind, String::from_utf8_lossy(e.name).into_owned()));
            pos = next;
        }
        Ok(out)
    }

    #[test]
    fn parses_every_entry_kind() {
        let data = raw(&[
            ("100644", "a.txt", 1),
            ("100755", "run.sh", 2),
            ("120000", "link", 3),
            ("40000", "dir", 4),
            ("160000", "sub", 5),
            ("100664", "old-mode", 6),
        ]);
        assert_eq!(
            all(&data).unwrap(),
            vec![
                (Kind::Blob, "a.txt".into()),
                (Kind::Blob, "run.sh".into()),
                (Kind::Blob, "link".into()),
                (Kind::Tree, "dir".into()),
                (Kind::Commit, "sub".into()),
                (Kind::Blob, "old-mode".into()),
            ]
        );
        let (e, _) = tree_entry(&data, 0).unwrap().unwrap();
        assert_eq!(e.id.oid(), Oid::from_bytes(&[1; 20]).unwrap());
    }

    #[test]
    fn an_empty_tree_has_no_entries() {
        assert_eq!(all(b"").unwrap(), vec![]);
    }

    #[test]
    fn malformed_trees_are_errors_not_panics() {
        let good = raw(&[("100644", "a", 1)]);
        for bad in [
            &good[..good.len() - 1], // id cut short
            b"100644 name-without-nul".as_slice(),
            b"10a644 x\0aaaaaaaaaaaaaaaaaaaa",   // not octal
            b"12345678 x\0aaaaaaaaaaaaaaaaaaaa", // mode too long
            b" x\0aaaaaaaaaaaaaaaaaaaa",         // no mode
            b"100644 \0aaaaaaaaaaaaaaaaaaaa",    // no name
            b"no-space-at-all",
        ] {
            assert!(all(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn cat_file_and_libgit2_read_the_same_objects() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let blob = repo.blob(b"hello\n").unwrap();
        let big = repo.blob(&[b'x'; 5000]).unwrap();
        let mut b = repo.treebuilder(None).unwrap();
        b.insert("hello.txt", blob, 0o100644).unwrap();
        b.insert("big", big, 0o100644).unwrap();
        let tree = b.write().unwrap();
        let missing = Oid::from_bytes(&[7; 20]).unwrap();
        let mut objects = Objects {
            cat: Some(CatFile::spawn(repo.path()).expect("git must be installed for the tests")),
            odb: repo.odb().ok(),
            pending: VecDeque::new(),
            fallback: None,
        };
        let mut lib = Objects {
            cat: None,
            odb: repo.odb().ok(),
            pending: VecDeque::new(),
            fallback: None,
        };
        for o in [&mut objects, &mut lib] {
            // Asked all at once, taken in order, each with its own limit.
            for id in [tree, blob, big, missing, blob] {
                o.request(id);
            }
            let (id, t) = o.next(1 << 20).unwrap();
            let t = t.unwrap();
            assert_eq!((id, t.kind), (tree, Kind::Tree));
            assert_eq!(all(&t.data.unwrap()).unwrap().len(), 2);
            let (_, b) = o.next(1 << 20).unwrap();
            let b = b.unwrap();
            assert_eq!(
                (b.kind, b.data.as_deref()),
                (Kind::Blob, Some(&b"hello\n"[..]))
            );
            // Over the limit: size only, and the stream stays in step for the next answer.
            let (_, b) = o.next(100).unwrap();
            let b = b.unwrap();
            assert_eq!((b.size, b.data.is_none()), (5000, true));
            let (id, m) = o.next(100).unwrap();
            assert!(id == missing && m.is_err());
            assert_eq!(o.next(100).unwrap().1.unwrap().size, 6);
            assert!(o.next(100).is_none());
        }
        // Many more requests than a pipe holds: the writer thread keeps both sides moving.
        for _ in 0..20_000 {
            objects.request(big);
        }
        for _ in 0..20_000 {
            assert_eq!(objects.next(1 << 20).unwrap().1.unwrap().size, 5000);
        }
        assert!(objects.cat.is_some() && objects.fallback.is_none());
    }
}
