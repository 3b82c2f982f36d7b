//! `rules check`: every rule must find each of its examples and none of its negative examples,
//! and ask only its issuer for what that issuer offers.
//!
//! Examples are run through a full engine built from the whole rule set, so the keyword
//! prefilter, shared patterns, placeholders and JWT classification are exercised exactly as in
//! a scan.

use crate::engine::{Engine, EngineOptions};
use crate::rules::{RuleError, RuleSet, lifecycle_problem, template};

/// One way a rule failed its examples.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckFailure {
    /// The rule.
    pub rule: String,
    /// The example (as written, before templates are expanded).
    pub example: String,
    /// What went wrong.
    pub message: String,
}

/// Runs every rule's examples; returns the failures (empty means all good) and how many
/// examples ran.
pub fn check_rules(set: &RuleSet) -> Result<(Vec<CheckFailure>, usize), RuleError> {
    let engine = Engine::new(set, EngineOptions::default())?;
    let mut failures = Vec::new();
    let mut ran = 0;
    for (idx, rule) in set.rules.iter().enumerate() {
        let fail = |example: &str, message: String| CheckFailure {
            rule: rule.id.clone(),
            example: example.to_string(),
            message,
        };
        if let Some(why) = lifecycle_problem(rule) {
            failures.push(fail("(issuer and actions)", why));
        }
        let file_rule = rule.pattern.is_none();
        for (positive, list) in [(true, &rule.examples), (false, &rule.negative_examples)] {
            for example in list {
                ran += 1;
                let text = match template::expand(example) {
                    Ok(t) => t,
                    Err(e) => {
                        failures.push(fail(example, e.to_string()));
                        continue;
                    }
                };
                let found = if file_rule {
                    // File-rule examples are paths, checked at the smallest size that counts.
                    let size = rule.min_size.unwrap_or(32).max(32);
                    engine.path_matches(&text, size).contains(&idx)
                } else {
                    let lower = text.to_ascii_lowercase();
                    let has = |k: &String| {
                        if rule.case_sensitive_keywords {
                            text.contains(k.as_str())
                        } else {
                            lower.contains(&k.to_ascii_lowercase())
                        }
                    };
                    if positive && !rule.keywords.is_empty() && !rule.keywords.iter().any(has) {
                        failures.push(fail(
                            example,
                            "example holds none of the rule's keywords".into(),
                        ));
                        continue;
                    }
                    // Content rules with a path restriction cannot be checked on bare text.
                    if rule.path.is_some() {
                        failures.push(fail(
                            example,
                            "examples of path-restricted content rules are not supported".into(),
                        ));
                        continue;
                    }
                    engine
                        .scan(text.as_bytes(), None)
                        .iter()
                        .any(|m| m.rule == idx && m.allowed.is_none())
                };
                if positive && !found {
                    failures.push(fail(example, "example not found".into()));
                } else if !positive && found {
                    failures.push(fail(example, "negative example was found".into()));
                }
            }
        }
    }
    Ok((failures, ran))
}
