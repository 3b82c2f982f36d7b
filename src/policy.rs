//! What a scan runs with and what it lets through: the rule set, assembled from the built-in
//! rules, the scanned repository's `.tokenwarden.toml` and the command line, and the config's
//! allow entries applied to an outcome.
//!
//! Every command that scans (`scan`, `baseline`, `audit`, `merge`, `rules`) assembles its rules
//! here, so a rule file, an import or a `--disable-rule` means the same thing in each.

use crate::finding::Suppressed;
use crate::outcome::ScanResult;
use crate::repo_config::{AllowEntry, Config, ConfigError, id_matches};
use crate::rules::{RuleError, RuleSet, import_gitleaks};
use crate::untrusted::{MAX_CONFIG_BYTES, UntrustedError, read_regular_text};
use std::path::PathBuf;

/// The rules asked for on the command line (the config adds its own).
#[derive(Debug, Clone, Default)]
pub struct RuleChoice {
    /// tokenwarden rule files (TOML).
    pub files: Vec<PathBuf>,
    /// gitleaks/Betterleaks rule files to import.
    pub gitleaks: Vec<PathBuf>,
    /// Rules turned off (`id` or `family.*`).
    pub disable: Vec<String>,
    /// The only rules to run (`id` or `family.*`), when any are given.
    pub only: Vec<String>,
}

/// Why no rule set could be assembled.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The built-in rules did not load (a build defect).
    #[error("built-in rules")]
    Builtin(#[source] RuleError),
    /// A rule written in the config is malformed.
    #[error("rule in config")]
    ConfigRule(#[source] RuleError),
    /// A path in the config does not resolve.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A rule file is malformed, or an import failed.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// A gitleaks rule file could not be read.
    #[error("cannot read a gitleaks rule file")]
    Read(#[source] UntrustedError),
    /// Every rule was disabled or left out.
    #[error("no rules left to run")]
    NoRules,
}

/// The assembled rules, and what the imports could not carry over.
pub struct Assembled {
    /// The rules to run.
    pub set: RuleSet,
    /// Per imported file, its notes (what of a gitleaks rule was dropped), for the user.
    pub import_notes: Vec<(PathBuf, String)>,
}

/// Builds the rule set from the built-in rules, the config (its rule files, imports, inline
/// rules, `disable` and `only`) and the command line's choice. Notes for the report (imports,
/// disabled counts) are added to `notes`.
pub fn assemble_rules(
    choice: &RuleChoice,
    config: Option<&Config>,
    notes: &mut Vec<String>,
) -> Result<Assembled, PolicyError> {
    let mut set = RuleSet::builtin().map_err(PolicyError::Builtin)?;
    let mut files: Vec<PathBuf> = choice.files.clone();
    let mut gitleaks: Vec<PathBuf> = choice.gitleaks.clone();
    let mut disable = choice.disable.clone();
    let mut only = choice.only.clone();
    if let Some(cfg) = config {
        for p in &cfg.rules.files {
            files.push(cfg.resolve(p)?);
        }
        for p in &cfg.rules.gitleaks {
            gitleaks.push(cfg.resolve(p)?);
        }
        disable.extend(cfg.rules.disable.iter().cloned());
        only.extend(cfg.rules.only.iter().cloned());
        for r in &cfg.extra_rules {
            set.push(r.clone()).map_err(PolicyError::ConfigRule)?;
        }
    }
    for f in &files {
        set.add_file(f)?;
    }
    let mut import_notes = Vec::new();
    for f in &gitleaks {
        let text = read_regular_text(f, MAX_CONFIG_BYTES).map_err(PolicyError::Read)?;
        let before = set.rules.len();
        for note in import_gitleaks(&mut set, &f.display().to_string(), &text)? {
            import_notes.push((f.clone(), note));
        }
        notes.push(format!(
            "{} rule(s) imported from {}",
            set.rules.len() - before,
            f.display()
        ));
    }
    if !only.is_empty() {
        set.retain(|r| only.iter().any(|p| id_matches(p, &r.id)));
    }
    if !disable.is_empty() {
        let before = set.rules.len();
        set.retain(|r| !disable.iter().any(|p| id_matches(p, &r.id)));
        notes.push(format!("{} rule(s) disabled", before - set.rules.len()));
    }
    if set.rules.is_empty() {
        return Err(PolicyError::NoRules);
    }
    Ok(Assembled { set, import_notes })
}

/// Moves findings whose fingerprint the config allows to the suppressed list (they stay
/// visible, with the reason). An entry that matched nothing is reported: it may be stale.
pub fn apply_allowlist(result: &mut ScanResult, allow: &[AllowEntry], notes: &mut Vec<String>) {
    if allow.is_empty() {
        return;
    }
    let mut used = vec![false; allow.len()];
    let findings = std::mem::take(&mut result.findings);
    for f in findings {
        match allow.iter().position(|a| a.fingerprint == f.fingerprint) {
            Some(i) => {
                used[i] = true;
                for loc in &f.locations {
                    result.suppressed.push(Suppressed {
                        rule_id: f.rule_id.clone(),
                        fingerprint: f.fingerprint.clone(),
                        location: loc.clone(),
                        reason: format!("config allow: {}", allow[i].reason),
                    });
                }
            }
            None => result.findings.push(f),
        }
    }
    let stale: Vec<&str> = allow
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(a, _)| a.fingerprint.as_str())
        .collect();
    if !stale.is_empty() {
        notes.push(format!(
            "allow entries that matched nothing: {}",
            stale.join(", ")
        ));
    }
}
