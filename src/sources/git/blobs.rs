//! Reading and scanning the blobs a walk found: in pack order, through the pipelined
//! readers, each blob once.

use super::*;
use crate::engine::{Copied, Occurrences};

/// Scans the listed blobs, each once: those in `packs` (the repository's, none when another
/// reader is asked for) straight from them, each delta chain resolved once (see
/// [`pack`](super::pack)), and the others (loose, damaged, over the size limit) through git
/// or libgit2, in pack order ([`scan_listed`]).
pub(super) fn scan_blobs(
    engine: &Engine,
    repo: &Repository,
    packs: &pack::Packs,
    list: Vec<(Key, String)>,
    opts: &GitOptions,
    counters: &ScanCounters,
) -> (Vec<(Oid, RawMatch, Location)>, Vec<Warning>) {
    let repo_dir = repo.path();
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    let mut served = vec![false; list.len()];
    if !list.is_empty() {
        let index: FxHashMap<Key, u32> = list
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (*k, i as u32))
            .collect();
        for pack in packs.get() {
            let want: Vec<u32> = pack
                .keys
                .iter()
                .map(|k| match index.get(k) {
                    Some(&i) if !served[i as usize] => i,
                    _ => pack::NONE,
                })
                .collect();
            let got = in_pool(opts, || {
                pack.read_blobs(&want, opts.max_blob_size, |blob: pack::Blob<'_, Known>| {
                    let known = keywords(engine, &blob, opts);
                    let result = blob.item.map(|item| {
                        let (key, path) = &list[item as usize];
                        scan_blob_content(
                            engine,
                            key.oid(),
                            path,
                            blob.data,
                            opts,
                            counters,
                            known.as_ref(),
                        )
                    });
                    (known, result)
                })
            });
            for (item, (mut f, mut w)) in got {
                served[item as usize] = true;
                found.append(&mut f);
                warnings.append(&mut w);
            }
            if served.iter().all(|&s| s) {
                break;
            }
        }
    }
    let from_packs = served.iter().filter(|&&s| s).count();
    phase_note(format_args!(
        "blobs from the packs: {from_packs} of {}",
        served.len()
    ));
    let mut rest: Vec<(Key, String)> = list
        .into_iter()
        .zip(served)
        .filter_map(|(item, served)| (!served).then_some(item))
        .collect();
    if !rest.is_empty() {
        let keys: FxHashSet<Key> = rest.iter().map(|(k, _)| *k).collect();
        if let Some(rank) = pack_order(repo, &keys) {
            rest.sort_by_key(|(b, _)| rank.get(b).copied().unwrap_or(u32::MAX));
        }
        let (mut f, mut w) = scan_listed(engine, repo_dir, &rest, opts, counters);
        found.append(&mut f);
        warnings.append(&mut w);
    }
    (found, warnings)
}

/// The keyword occurrences of a blob read from a pack, when it is text to scan as it is:
/// carried from its base's through the delta's copies when the base's are known (most
/// versions of a file are a few lines from their base, and searching 21 GB of Slurm's
/// versions for keywords was half of its history scan), else searched for, when it is
/// scanned or a base of blobs that are.
type Known = Option<Occurrences>;

fn keywords(engine: &Engine, blob: &pack::Blob<'_, Known>, opts: &GitOptions) -> Known {
    if blob.data.len() as u64 > opts.max_blob_size || text::sniff(blob.data) != text::Sniff::Text {
        return None;
    }
    let carried = blob.base.and_then(|(base, base_len, delta)| {
        let base = base.as_ref()?;
        let copied: Vec<Copied> = delta::segments(delta, base_len, blob.data.len())?
            .iter()
            .filter_map(|s| {
                s.from.map(|from| Copied {
                    at: s.at,
                    len: s.to - s.at,
                    from,
                })
            })
            .collect();
        engine.keyword_occurrences_after(base, &copied, blob.data)
    });
    match carried {
        Some(known) => Some(known),
        None if blob.item.is_some() || blob.has_deltas => {
            Some(engine.keyword_occurrences(blob.data))
        }
        None => None,
    }
}

/// Scans the listed blobs in parallel, in contiguous runs (the list is in the order that
/// reads fastest), each run with its own repository handle and object reader.
pub(super) fn scan_listed(
    engine: &Engine,
    repo_dir: &Path,
    list: &[(Key, String)],
    opts: &GitOptions,
    counters: &ScanCounters,
) -> (Vec<(Oid, RawMatch, Location)>, Vec<Warning>) {
    in_pool(opts, || {
        let runs = rayon::current_num_threads().max(1) * 2;
        let size = list.len().div_ceil(runs).max(1);
        list.par_chunks(size)
            .map(|run| {
                let mut found = Vec::new();
                let mut warnings = Vec::new();
                let repo = match Repository::open(repo_dir) {
                    Ok(r) => r,
                    Err(e) => {
                        warn(
                            &mut warnings,
                            "",
                            format!(
                                "cannot reopen the repository in a worker thread: {}",
                                e.message()
                            ),
                        );
                        return (found, warnings);
                    }
                };
                let mut objects = Objects::open(&repo);
                // Every blob of the run is asked for up front and taken in the same order.
                for (id, _) in run {
                    objects.request(id.oid());
                }
                for (id, path) in run {
                    let answer = match objects.next(opts.max_blob_size) {
                        Some((_, answer)) => answer,
                        None => Err("no answer from the object reader".into()),
                    };
                    let (mut f, mut w) =
                        scan_walked_blob(engine, &repo, answer, id.oid(), path, opts, counters);
                    found.append(&mut f);
                    warnings.append(&mut w);
                }
                if let Some(why) = objects.fallback.clone() {
                    warn(&mut warnings, "", why);
                }
                (found, warnings)
            })
            .reduce(
                || (Vec::new(), Vec::new()),
                |mut a, mut b| {
                    a.0.append(&mut b.0);
                    a.1.append(&mut b.1);
                    a
                },
            )
    })
}

/// Blobs in the object database that no walked tree holds.
pub(super) fn unreachable_blobs(
    repo: &Repository,
    known: impl Fn(&Oid) -> bool,
    warnings: &mut Vec<Warning>,
) -> Vec<Oid> {
    let mut all = Vec::new();
    let odb = match repo.odb() {
        Ok(o) => o,
        Err(e) => {
            warn(warnings, "", format!("object database: {}", e.message()));
            return all;
        }
    };
    let mut ids = Vec::new();
    if let Err(e) = odb.foreach(|oid| {
        ids.push(*oid);
        true
    }) {
        warn(warnings, "", format!("listing objects: {}", e.message()));
    }
    for oid in ids {
        if known(&oid) {
            continue;
        }
        if let Ok((_, ObjectType::Blob)) = odb.read_header(oid) {
            all.push(oid);
        }
    }
    all.sort();
    all.dedup();
    all
}

/// Scans one blob met by the history walk, given as the object reader answered for it. A blob over
/// the size limit is not read unless a key-file rule wants its head.
pub(super) fn scan_walked_blob(
    engine: &Engine,
    repo: &Repository,
    answer: Result<RawObject, String>,
    oid: Oid,
    path: &str,
    opts: &GitOptions,
    counters: &ScanCounters,
) -> (Vec<(Oid, RawMatch, Location)>, Vec<Warning>) {
    // An answer that is not scanned: no findings and the one warning saying why.
    let skipped = |message: String| {
        let mut warnings = Vec::new();
        warn(&mut warnings, path, message);
        (Vec::new(), warnings)
    };
    match answer {
        Ok(RawObject { kind, .. }) if kind != Kind::Blob => {
            skipped(format!("object {} is not a blob; not scanned", short(oid)))
        }
        Ok(RawObject {
            data: Some(data), ..
        }) => scan_blob_content(engine, oid, path, &data, opts, counters, None),
        Ok(RawObject { size, .. }) if engine.path_matches(path, size).is_empty() => {
            counters.too_large_inc();
            skipped(format!(
                "blob {}: {size} bytes is over the blob size limit; not scanned",
                short(oid)
            ))
        }
        Ok(_) => scan_one_blob(engine, Some(repo), oid, path, opts, counters),
        Err(e) => skipped(format!("blob {} missing or corrupt: {e}", short(oid))),
    }
}

/// Scans one blob: file rules by path and size, then content unless binary or too large.
pub(super) fn scan_one_blob(
    engine: &Engine,
    repo: Option<&Repository>,
    oid: Oid,
    path: &str,
    opts: &GitOptions,
    counters: &ScanCounters,
) -> (Vec<(Oid, RawMatch, Location)>, Vec<Warning>) {
    let mut warnings = Vec::new();
    let Some(repo) = repo else {
        warn(
            &mut warnings,
            path,
            "cannot reopen the repository in a worker thread",
        );
        return (Vec::new(), warnings);
    };
    match repo.find_blob(oid) {
        Ok(blob) => scan_blob_content(engine, oid, path, blob.content(), opts, counters, None),
        Err(e) => {
            warn(
                &mut warnings,
                path,
                format!("blob {} missing or corrupt: {}", short(oid), e.message()),
            );
            (Vec::new(), warnings)
        }
    }
}

/// Scans one blob's content: file rules by path and size, then the content unless it is
/// binary or over the size limit.
pub(super) fn scan_blob_content(
    engine: &Engine,
    oid: Oid,
    path: &str,
    content: &[u8],
    opts: &GitOptions,
    counters: &ScanCounters,
    known: Option<&Occurrences>,
) -> (Vec<(Oid, RawMatch, Location)>, Vec<Warning>) {
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    let size = content.len() as u64;
    for rule in engine.path_matches(path, size) {
        let m = engine.file_match(rule, content);
        let loc = locate_in(path, &[], &m);
        found.push((oid, m, loc));
    }
    if size > opts.max_blob_size {
        counters.too_large_inc();
        warn(
            &mut warnings,
            path,
            format!(
                "blob {}: {size} bytes is over the blob size limit; not scanned",
                short(oid)
            ),
        );
        return (found, warnings);
    }
    let Some(content) = text::scannable(content) else {
        counters.binary_inc();
        return (found, warnings);
    };
    // Keywords known are those of the bytes as they are, which only plain text is scanned as.
    let known = known.filter(|_| matches!(content, std::borrow::Cow::Borrowed(_)));
    let content = &content[..];
    counters.files.fetch_add(1, Ordering::Relaxed);
    counters.bytes.fetch_add(size, Ordering::Relaxed);
    let mut matches = match known {
        Some(known) => engine.scan_known(content, Some(path), known),
        None => engine.scan(content, Some(path)),
    };
    matches.sort_by_key(|m| m.start);
    let mut at = Locator::whole(path, content);
    for m in matches {
        let loc = at.locate(&m);
        found.push((oid, m, loc));
    }
    counters
        .matches
        .fetch_add(found.len() as u64, Ordering::Relaxed);
    (found, warnings)
}
