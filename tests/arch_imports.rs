//! The import graph of the library has no cycle and no upward import, and the binary's
//! commands never reach back into `main.rs`.
//!
//! The library's modules are listed in [`LAYERS`], lowest first; a module may use only modules
//! listed before it. The test reads the `crate::` paths of every source file (comments, doc
//! comments and `#[cfg(test)]` modules left out: a doc link or a test may point anywhere), so
//! anyone can run it — `cargo test --test arch_imports` — and a new upward import fails it
//! with the file and the line.
//!
//! Run it with `-- --nocapture` to print the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library's top-level modules, lowest first. Data flows rules → engine → sources →
/// hygiene → outcome → report; the facility clients sit beside it and the lifecycle uses both.
const LAYERS: &[&str] = &[
    "testing",
    "untrusted",
    "private_file",
    "text",
    "secret",
    "facilities",
    "rules",
    "repo_config",
    "engine",
    "finding",
    "shard",
    "credential_files",
    "sources",
    "hook",
    "hygiene",
    "outcome",
    "policy",
    "scan",
    "report",
    "lifecycle",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The file's code lines (1-based numbers): comments dropped, test-only items (`#[cfg(test)]`
/// on a `mod x;` line, or on a `mod x { … }` block up to its closing brace at the same
/// indentation, as rustfmt writes it) dropped, and a `use` that spans lines joined into one.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    let mut open_use: Option<(usize, String)> = None;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            // The item the attribute applies to: skip past further attributes to it.
            let mut j = i + 1;
            while j < lines.len() && lines[j].trim_start().starts_with("#[") {
                j += 1;
            }
            let item = lines.get(j).copied().unwrap_or("");
            if item.trim_end().ends_with('{') {
                let indent = &item[..item.len() - item.trim_start().len()];
                let close = format!("{indent}}}");
                j += 1;
                while j < lines.len() && lines[j].trim_end() != close {
                    j += 1;
                }
            }
            i = j + 1;
            continue;
        }
        i += 1;
        if t.starts_with("//") {
            continue;
        }
        // A trailing comment; good enough for code that is rustfmt-formatted.
        let code = match line.find(" // ") {
            Some(at) => &line[..at],
            None => line,
        };
        if let Some((n, mut joined)) = open_use.take() {
            joined.push_str(code.trim());
            if code.trim_end().ends_with(';') {
                out.push((n, joined));
            } else {
                open_use = Some((n, joined));
            }
            continue;
        }
        if (t.starts_with("use ") || t.starts_with("pub use ") || t.starts_with("pub(crate) use "))
            && !code.trim_end().ends_with(';')
        {
            open_use = Some((i, code.trim().to_string()));
            continue;
        }
        out.push((i, code.to_string()));
    }
    out
}

/// The items of a `{…}` group, split at its top level (`a::{b, c}, d` → `a::{b, c}`, `d`).
fn group_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..at]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

/// `crate::name` paths in `line`, by `name`, including `use crate::{a, b::c}` groups.
fn crate_refs(line: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            for item in group_items(group) {
                let name = ident(item);
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name = ident(after);
            if !name.is_empty() {
                out.push(name);
            }
        }
        rest = after;
    }
    out
}

/// The top-level module a library file belongs to.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

#[test]
fn library_modules_import_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut seen_modules = BTreeSet::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        // The binary: main.rs and its commands.
        if module == "main" || module == "cli" || module == "lib" {
            continue;
        }
        seen_modules.insert(module.clone());
        let Some(&own) = rank.get(module.as_str()) else {
            wrong.push(format!(
                "{}: module `{module}` is not in LAYERS (add it where it belongs)",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("source file");
        for (line_no, line) in code_lines(&text) {
            for target in crate_refs(&line) {
                if target == module {
                    continue;
                }
                graph
                    .entry(module.clone())
                    .or_default()
                    .insert(target.clone());
                match rank.get(target.as_str()) {
                    Some(&r) if r < own => {}
                    Some(_) => wrong.push(format!(
                        "{}:{line_no}: `{module}` uses `{target}`, which is not below it",
                        file.display()
                    )),
                    None => wrong.push(format!(
                        "{}:{line_no}: `{module}` uses `crate::{target}`, not a module in LAYERS",
                        file.display()
                    )),
                }
            }
        }
    }
    for (m, targets) in &graph {
        println!(
            "{m} -> {}",
            targets.iter().cloned().collect::<Vec<_>>().join(" ")
        );
    }
    for m in LAYERS {
        assert!(
            seen_modules.contains(*m),
            "LAYERS names `{m}`, which has no file in src/"
        );
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn commands_do_not_reach_back_into_main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("cli"), &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source file");
        for (line_no, line) in code_lines(&text) {
            for target in crate_refs(&line) {
                if target != "cli" {
                    wrong.push(format!(
                        "{}:{line_no}: uses `crate::{target}` from main.rs; move it into the \
                         library or under cli/",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_reader_of_crate_paths_sees_groups_and_skips_comments() {
    assert_eq!(
        crate_refs("use crate::{hygiene::X, rules::Severity};"),
        ["hygiene", "rules"]
    );
    assert_eq!(
        crate_refs("let x = crate::text::printable(a) + crate::report::f();"),
        ["text", "report"]
    );
    let lines = code_lines(
        "//! see crate::report\nuse crate::rules::Rule; // crate::scan\n#[cfg(test)]\nuse crate::scan;",
    );
    let refs: Vec<String> = lines.iter().flat_map(|(_, l)| crate_refs(l)).collect();
    assert_eq!(refs, ["rules"]);
}

/// A file over this many lines has more than one reason to change: split it by what its parts
/// own (as `hygiene/cmdline/` and `sources/git/` are).
const MAX_LINES: usize = 900;

#[test]
fn no_source_file_is_over_the_line_limit() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > MAX_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}
