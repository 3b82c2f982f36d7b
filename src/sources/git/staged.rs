//! What is staged for the next commit: the index entries that differ from HEAD, and within
//! modified files only the added lines.

use super::*;

/// The paths staged relative to HEAD (added, modified, type-changed), from
/// `git diff --cached`, which skips unchanged directories through the index's cache-tree
/// (libgit2's tree-to-index diff walks every entry: ~40 ms on a 17k-file tree). `None` when
/// git cannot be run, and the caller falls back to libgit2. Nothing from the repository can
/// make this run other programs: external diff, textconv and fsmonitor are off.
pub(super) fn staged_paths_from_git(repo: &Repository) -> Option<Vec<PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let dir = repo.workdir()?;
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .env("GIT_DIR", repo.path())
        .args(["-c", "core.fsmonitor=false", "-c", "core.quotepath=off"])
        .args([
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            "--no-textconv",
        ])
        .arg("--diff-filter=AMT")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        out.stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(p)))
            .collect(),
    )
}

/// For each staged path: its staged blob, and the lines it adds (all of them for a new file).
pub(super) fn staged_files_for(
    repo: &Repository,
    index: &git2::Index,
    head: Option<&git2::Tree<'_>>,
    paths: &[PathBuf],
) -> HashMap<String, StagedFile> {
    let mut files = HashMap::new();
    for p in paths {
        let Some(entry) = index.get_path(p, 0) else {
            continue;
        };
        if entry.mode == 0o160000 {
            continue; // a submodule's commit, not content
        }
        let name = p.to_string_lossy().into_owned();
        let old = head
            .and_then(|t| t.get_path(p).ok())
            .filter(|e| e.kind() == Some(ObjectType::Blob))
            .map(|e| e.id());
        let mut added = HashSet::new();
        let whole = match old.and_then(|o| repo.find_blob(o).ok()) {
            None => true,
            Some(old_blob) => match repo.find_blob(entry.id) {
                Ok(new_blob) => {
                    let mut opts = DiffOptions::new();
                    opts.context_lines(0);
                    let diffed = repo.diff_blobs(
                        Some(&old_blob),
                        None,
                        Some(&new_blob),
                        None,
                        Some(&mut opts),
                        None,
                        None,
                        None,
                        Some(&mut |_, _, line| {
                            if line.origin() == '+'
                                && let Some(n) = line.new_lineno()
                            {
                                added.insert(n);
                            }
                            true
                        }),
                    );
                    diffed.is_err() // if the diff fails, treat the whole file as new
                }
                Err(_) => true,
            },
        };
        files.insert(name, (entry.id, whole, added));
    }
    files
}

/// The same as [`staged_files_for`] over libgit2's own tree-to-index diff (no git binary).
pub(super) fn staged_files_libgit2(
    repo: &Repository,
    index: &git2::Index,
    head_tree: Option<&git2::Tree<'_>>,
) -> Result<HashMap<String, StagedFile>, GitError> {
    let mut dopts = DiffOptions::new();
    dopts.context_lines(0);
    let diff = repo.diff_tree_to_index(head_tree, Some(index), Some(&mut dopts))?;
    // path → (blob, whole file?, added lines)
    // Both diff callbacks fill it, so it lives in a RefCell.
    let files: std::cell::RefCell<HashMap<String, StagedFile>> = Default::default();
    let path_of = |d: &git2::DiffDelta<'_>| {
        d.new_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    diff.foreach(
        &mut |d, _| {
            let whole = matches!(d.status(), Delta::Added | Delta::Copied | Delta::Typechange);
            if whole || matches!(d.status(), Delta::Modified | Delta::Renamed) {
                files
                    .borrow_mut()
                    .insert(path_of(&d), (d.new_file().id(), whole, HashSet::new()));
            }
            true
        },
        None,
        None,
        Some(&mut |d, _, line| {
            if line.origin() == '+'
                && let (Some(n), Some(f)) =
                    (line.new_lineno(), files.borrow_mut().get_mut(&path_of(&d)))
            {
                f.2.insert(n);
            }
            true
        }),
    )?;
    Ok(files.into_inner())
}

/// A staged file: its blob, whether all of it is new, and the line numbers it adds.
pub(super) type StagedFile = (Oid, bool, HashSet<u32>);

/// Scans what is staged for the next commit in the repository at (or above) `path`: files
/// added to the index whole, and only the added lines of modified files.
pub fn scan_staged(engine: &Engine, path: &Path) -> Result<GitOutput, GitError> {
    let repo = open(path)?;
    let index = repo.index()?;
    let head_tree = match repo.head() {
        Ok(h) => Some(h.peel_to_tree()?),
        Err(_) => None, // unborn branch: everything in the index is new
    };
    let files = match staged_paths_from_git(&repo) {
        Some(paths) => staged_files_for(&repo, &index, head_tree.as_ref(), &paths),
        None => staged_files_libgit2(&repo, &index, head_tree.as_ref())?,
    };
    let mut out = GitOutput::default();
    let counters = ScanCounters::default();
    let mut paths: Vec<_> = files.into_iter().collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, (oid, whole, added)) in paths {
        let blob = match repo.find_blob(oid) {
            Ok(b) => b,
            Err(e) => {
                warn(
                    &mut out.warnings,
                    p,
                    format!("staged blob unreadable: {}", e.message()),
                );
                continue;
            }
        };
        let content = blob.content();
        for rule in engine.path_matches(&p, content.len() as u64) {
            let m = engine.file_match(rule, content);
            let loc = locate_in(&p, &[], &m);
            out.matches.push((m, loc));
        }
        let Some(content) = text::scannable(content) else {
            counters.binary_inc();
            continue;
        };
        let content = &content[..];
        counters.files.fetch_add(1, Ordering::Relaxed);
        counters
            .bytes
            .fetch_add(content.len() as u64, Ordering::Relaxed);
        let mut matches = engine.scan(content, Some(&p));
        matches.sort_by_key(|m| m.start);
        let mut at = Locator::whole(&p, content);
        for m in matches {
            let loc = at.locate(&m);
            if whole || added.contains(&(loc.line as u32)) {
                out.matches.push((m, loc));
            }
        }
    }
    out.stats = counters.snapshot();
    Ok(out)
}
