//! What a scan runs with and what it lets through: the rule set, assembled from the built-in
//! rules, the scanned repository's `.tokenwarden.toml` and the command line, and the config's
//! allow entries applied to an outcome.
//!
//! Every command that scans (`scan`, `baseline`, `audit`, `merge`, `rules`) assembles its rules
//! here, so a rule file, an import or a `--disable-rule` means the same thing in each.

use crate::finding::Suppressed;
use crate::outcome::ScanResult;
use crate::repo_config::{AllowEntry, Config, ConfigError, id_matches};
use crate::rules::{Action, RuleError, RuleSet, import_gitleaks};
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
    let files: Vec<PathBuf> = choice.files.clone();
    let mut gitleaks: Vec<PathBuf> = choice.gitleaks.clone();
    let mut disable = choice.disable.clone();
    let mut only = choice.only.clone();
    let mut config_files = Vec::new();
    // The scanned repository's rules never choose an issuer: a hostile `.tokenwarden.toml`
    // could otherwise have any string it matches sent, as a token, to S3M, Palmetto or
    // Globus. They report; they are not verified or revoked. (Loaded in the order they always
    // were: inline rules, then the command line's files, then the config's.)
    let mut from_repo = Vec::new();
    if let Some(cfg) = config {
        for p in &cfg.rules.files {
            config_files.push(cfg.resolve(p)?);
        }
        for p in &cfg.rules.gitleaks {
            gitleaks.push(cfg.resolve(p)?);
        }
        disable.extend(cfg.rules.disable.iter().cloned());
        only.extend(cfg.rules.only.iter().cloned());
        let start = set.rules.len();
        for r in &cfg.extra_rules {
            set.push(r.clone()).map_err(PolicyError::ConfigRule)?;
        }
        from_repo.push(start..set.rules.len());
    }
    for f in &files {
        set.add_file(f)?;
    }
    let start = set.rules.len();
    for f in &config_files {
        set.add_file(f)?;
    }
    from_repo.push(start..set.rules.len());
    let mut untrusted_issuers = Vec::new();
    for i in from_repo.into_iter().flatten() {
        let Some(r) = set.rules.get_mut(i) else {
            continue;
        };
        if r.issuer.is_some() || r.actions.iter().any(|a| !matches!(a, Action::Notify)) {
            untrusted_issuers.push(r.id.clone());
        }
        r.without_lifecycle();
    }
    if !untrusted_issuers.is_empty() {
        notes.push(format!(
            "rule(s) from the repository's config are never verified or revoked (a scanned \
             repository does not choose where its strings are sent): {}",
            untrusted_issuers.join(", ")
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository's `.tokenwarden.toml` rule that names an issuer is kept as a rule, but
    /// its strings are never sent anywhere: no issuer, no `verify`, no `revoke`.
    #[test]
    fn a_repository_config_rule_never_chooses_an_issuer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".tokenwarden.toml");
        std::fs::write(
            &path,
            "[[rule]]\nid = \"repo.anything\"\nname = \"x\"\nfacility = \"x\"\n\
             severity = \"high\"\nconfidence = \"high\"\npattern = \"[a-z]{20}\"\n\
             remediation = \"x\"\nactions = [\"verify\", \"notify\"]\n\
             issuer = \"palmetto\"\n",
        )
        .unwrap();
        let cfg = Config::load(&path).unwrap();
        let mut notes = Vec::new();
        let set = assemble_rules(&RuleChoice::default(), Some(&cfg), &mut notes)
            .unwrap()
            .set;
        let r = set.get("repo.anything").unwrap();
        assert_eq!(r.issuer, None);
        assert_eq!(r.actions, vec![Action::Notify]);
        assert!(
            notes.iter().any(|n| n.contains("repo.anything")),
            "{notes:?}"
        );
        // The built-in rules keep theirs.
        assert!(set.get("s3m.opat").unwrap().issuer.is_some());
    }
}
