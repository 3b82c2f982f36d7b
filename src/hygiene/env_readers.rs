//! Code that loads a `.env` file or reads an S3M token from the environment: found in a work
//! tree so that a repository which does not ignore `.env` is told who reads it.

use super::*;

/// Code that loads a `.env` file or reads an S3M token from the environment.
pub(super) const ENV_READERS: &str = r#"(?x)
    \bS3M_TOKEN\b
  | \bload_dotenv\s*\( | \bfrom\s+dotenv\s+import\b | \bimport\s+dotenv\b
  | \bdotenv\.config\s*\( | require\(\s*['"]dotenv['"]\s*\) | \bgodotenv\.Load\b
  | \bDotenv\.load\b | \bdotenvy?::
  | (?:-H|--header)\s*['"]?@\.env\b
  | (?:^|[;&|(]\s*|\s)(?:source|\.)\s+(?:\./)?\.env\b
  | --env-file[=\s]+(?:\./)?\.env\b | \benv_file\s*:\s*(?:\./)?\.env\b
"#;

/// Source files worth reading for [`ENV_READERS`]: scripts, code, build and CI files.
pub(super) fn is_source(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    const EXT: &[&str] = &[
        "py", "sh", "bash", "zsh", "ksh", "js", "mjs", "cjs", "ts", "go", "rb", "rs", "r", "jl",
        "mk", "yml", "yaml", "toml", "ipynb", "sbatch", "slurm", "pbs", "php", "java", "kt",
    ];
    matches!(
        lower.as_str(),
        "makefile"
            | "gnumakefile"
            | "dockerfile"
            | "justfile"
            | "procfile"
            | ".bashrc"
            | ".profile"
    ) || lower.starts_with("dockerfile.")
        || lower
            .rsplit_once('.')
            .is_some_and(|(_, ext)| EXT.contains(&ext))
}

/// The preventive check: if the repository would not ignore a `.env` at its root, each
/// (non-ignored) source file that reads one is a finding, so the file is ignored before it
/// exists.
pub(super) fn env_readers(
    ignores: &mut Ignores,
    root: &Path,
    workdir: &Path,
    seen: EnvReads,
    report: &mut HygieneReport,
) {
    if ignores.is_ignored(".env", false) {
        return;
    }
    // The walk may have read ignored files (`--no-ignore`): a vendored `dotenv` package
    // under `.venv/` is not this repository's code.
    let hits: EnvReads = seen
        .into_iter()
        .filter(|(rel, _)| {
            relative(workdir, &root.join(rel))
                .is_some_and(|in_repo| !ignores.is_ignored(&in_repo, false))
        })
        .take(50)
        .collect();
    for (rel, (line, what)) in hits {
        report.add(
            "hygiene.env_not_ignored",
            &rel,
            Some(line),
            format!(
                "{rel}:{line} uses `{what}`, but this repository does not ignore .env: a .env written for it would be committed"
            ),
            "`tokenwarden fix gitignore` adds .env and .env.* to .gitignore".to_string(),
        );
    }
}

/// The `.env` readers under `root`, by a walk of their own (when no directory scan saw them).
pub(super) fn walk_env_readers(root: &Path) -> EnvReads {
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .filter_entry(crate::sources::fs::enter)
        .build();
    let mut hits: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for entry in walk.flatten() {
        if hits.len() >= 50 {
            break;
        }
        if !entry.file_type().is_some_and(|t| t.is_file())
            || !is_source(&entry.file_name().to_string_lossy())
            || entry
                .metadata()
                .map(|m| m.len() > (1 << 20))
                .unwrap_or(true)
        {
            continue;
        }
        let Ok(text) = std::fs::read(entry.path()) else {
            continue;
        };
        let Some(hit) = env_read(&entry.file_name().to_string_lossy(), &text) else {
            continue;
        };
        if let Some(rel) = entry
            .path()
            .canonicalize()
            .ok()
            .and_then(|a| relative(root, &a))
        {
            hits.insert(rel, hit);
        }
    }
    hits
}
