//! Importing gitleaks / Betterleaks TOML rules (`--rules-from gitleaks.toml`).
//!
//! Users bring the rules they already have. The fields that map are imported (`id`,
//! `description`, `regex`, `secretGroup`, `entropy`, `keywords`, `path`, allowlist `regexes` and
//! `stopwords`); anything that does not map is reported as a note rather than silently dropped,
//! and a rule whose regex Rust cannot compile is skipped with a note.

use super::{Confidence, Rule, RuleError, RuleSet, Severity};
use serde::Deserialize;

#[derive(Deserialize, Default)]
struct GlConfig {
    #[serde(default)]
    rules: Vec<GlRule>,
    #[serde(default)]
    allowlist: Option<GlAllowlist>,
    #[serde(default)]
    allowlists: Vec<GlAllowlist>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct GlAllowlist {
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    regex_target: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GlRule {
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    allowlist: Option<GlAllowlist>,
    #[serde(default)]
    allowlists: Vec<GlAllowlist>,
    #[serde(default)]
    required: Vec<toml::Value>,
    #[serde(default)]
    skip_report: bool,
}

/// Imports the rules of a gitleaks/Betterleaks TOML file into `set`. Returns notes about
/// what could not be carried over.
pub fn import_gitleaks(
    set: &mut RuleSet,
    file: &str,
    text: &str,
) -> Result<Vec<String>, RuleError> {
    let cfg: GlConfig = toml::from_str(text).map_err(|e| RuleError::Parse {
        file: file.to_string(),
        message: crate::untrusted::toml_error(text, &e),
    })?;
    let mut notes = Vec::new();
    let global: Vec<GlAllowlist> = cfg.allowlist.into_iter().chain(cfg.allowlists).collect();
    if global.iter().any(|a| !a.paths.is_empty()) {
        notes.push(
            "global allowlist `paths` are not imported: use `[scan] exclude` in .tokenwarden.toml"
                .into(),
        );
    }
    for r in cfg.rules {
        if r.skip_report {
            notes.push(format!(
                "{}: component rule (skipReport) not imported",
                r.id
            ));
            continue;
        }
        if !r.required.is_empty() {
            notes.push(format!(
                "{}: composite `required` components are ignored; imported as a single rule",
                r.id
            ));
        }
        let mut allow = Vec::new();
        for a in global
            .iter()
            .chain(r.allowlist.iter())
            .chain(r.allowlists.iter())
        {
            if a.regex_target.as_deref().is_some_and(|t| t != "secret") {
                notes.push(format!(
                    "{}: allowlist regexTarget `{}` not supported; applied to the secret",
                    r.id,
                    a.regex_target.as_deref().unwrap_or("")
                ));
            }
            allow.extend(a.regexes.iter().cloned());
            allow.extend(
                a.stopwords
                    .iter()
                    .map(|w| format!("(?i){}", regex::escape(w))),
            );
            if !a.commits.is_empty() {
                notes.push(format!("{}: allowlist `commits` not imported", r.id));
            }
        }
        let rule = Rule {
            id: format!("gitleaks.{}", r.id),
            name: r.description.clone().unwrap_or_else(|| r.id.clone()),
            facility: "imported".into(),
            severity: Severity::Medium,
            confidence: Confidence::Medium,
            keywords: r.keywords,
            case_sensitive_keywords: false,
            pattern: r.regex,
            secret_group: r.secret_group.filter(|&g| g > 0),
            path: r.path,
            min_size: None,
            max_size: None,
            entropy: r.entropy.filter(|&e| e > 0.0),
            jwt: None,
            context: None,
            shape: None,
            assigned_to: None,
            min_classes: None,
            allow,
            actions: Vec::new(),
            issuer: None,
            remediation: format!(
                "Imported gitleaks rule `{}`: rotate the secret and remove it from the repository.",
                r.id
            ),
            help_url: None,
            examples: Vec::new(),
            negative_examples: Vec::new(),
        };
        match super::compile_check(&rule).and_then(|()| set.push(rule)) {
            Ok(()) => {}
            Err(e) => notes.push(format!("{}: skipped: {e}", r.id)),
        }
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_fields_and_reports_what_it_drops() {
        let mut set = RuleSet::default();
        let notes = import_gitleaks(
            &mut set,
            "g.toml",
            r#"
title = "x"
[[rules]]
id = "demo-key"
description = "Demo key"
regex = '''demo_(?:key)=([a-z0-9]{20})'''
secretGroup = 1
entropy = 3.0
keywords = ["demo_key"]
[[rules.allowlists]]
stopwords = ["example"]
[[rules]]
id = "bad"
regex = '''(?<!x)y'''
[[rules]]
id = "p12"
path = '''(?i)\.p12$'''
[[rules]]
id = "part"
regex = "abc"
skipReport = true
"#,
        )
        .unwrap();
        assert_eq!(set.rules.len(), 2, "{notes:?}");
        let r = set.get("gitleaks.demo-key").unwrap();
        assert_eq!(r.secret_group, Some(1));
        assert_eq!(r.keywords, vec!["demo_key"]);
        assert_eq!(r.allow.len(), 1);
        assert!(set.get("gitleaks.p12").unwrap().path.is_some());
        assert!(
            notes.iter().any(|n| n.starts_with("bad: skipped")),
            "{notes:?}"
        );
        assert!(notes.iter().any(|n| n.contains("skipReport")), "{notes:?}");
    }
}
