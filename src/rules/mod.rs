//! The rule model: loading `rules/*.toml` (built into the binary), the user's own rule files and
//! imported gitleaks/Betterleaks rules. Checking every rule against its examples needs an
//! engine, so it lives with it ([`crate::engine::check_rules`]).
//!
//! A rule does not scan anything; [`crate::engine::Engine`] compiles a [`RuleSet`] into one
//! matcher.

mod gitleaks;
pub mod template;

pub use gitleaks::import_gitleaks;

use serde::{Deserialize, Serialize};
use std::path::Path;

/// How bad it is if the secret is real and live.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Not a secret by itself (a documentation example, a reference to a key file).
    Info,
    /// Short-lived or low-value credentials (MUNGE credentials, expired tokens).
    Low,
    /// A credential of unknown scope.
    #[default]
    Medium,
    /// A live, long-lived user or project credential.
    High,
    /// Key material that mints credentials for everyone (munge.key, jwt_hs256.key, rgw_sts_key).
    Critical,
}

/// How sure the rule is that the match is the secret it names.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Shape only; other things look the same. Hidden unless `--min-confidence low`.
    Low,
    /// Shape and a keyword.
    #[default]
    Medium,
    /// Decoded and classified, or anchored in an unmistakable context.
    High,
}

macro_rules! level_names {
    ($ty:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// All levels, lowest first.
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),*];
            /// The lower-case name used in files and flags.
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),* }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.to_ascii_lowercase().as_str() {
                    $($name => Ok(<$ty>::$variant),)*
                    other => Err(format!(
                        "unknown level `{other}`; expected one of: {}",
                        [$($name),*].join(", ")
                    )),
                }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
level_names!(Severity { Info => "info", Low => "low", Medium => "medium", High => "high", Critical => "critical" });
level_names!(Confidence { Low => "low", Medium => "medium", High => "high" });

/// What a decoded JWT turned out to be (see [`crate::engine::jwt::classify`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JwtClass {
    /// OLCF S3M project access token: `type: "opat"`, `aud` has `api.olcf.ornl.gov`.
    S3mOpat,
    /// Slurm `auth/jwt` token: HS256, claims only `exp`, `iat`, `sun`/`username` (+ ids).
    Slurm,
    /// Keycloak token from the HPE/Cray CSM realm `shasta`.
    KeycloakCsm,
    /// Keycloak token from any other realm.
    Keycloak,
    /// AmSC Keycard (IRI): has `amsc_project_context`.
    AmscKeycard,
    /// Decodes as a JWT but matches no facility.
    Other,
}

impl JwtClass {
    /// The kebab-case name used in rule files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            JwtClass::S3mOpat => "s3m-opat",
            JwtClass::Slurm => "slurm",
            JwtClass::KeycloakCsm => "keycloak-csm",
            JwtClass::Keycloak => "keycloak",
            JwtClass::AmscKeycard => "amsc-keycard",
            JwtClass::Other => "other",
        }
    }
}

/// A lifecycle action that applies to a rule's findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Liveness can be checked against the issuer.
    Verify,
    /// The issuer offers a revocation endpoint.
    Revoke,
    /// No revocation exists: the facility must be told.
    Notify,
}

/// Who issues a kind of credential, and so who can say whether one is alive and revoke it.
/// A rule names its issuer (`issuer = "s3m"`); a token's own claims can name another (an S3M
/// token in an `IRI_TOKEN` variable is S3M's). The lifecycle has one module per issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Issuer {
    /// OLCF S3M: introspection and revocation.
    S3m,
    /// Globus Auth (ALCF/NERSC IRI tokens): ALCF's IRI API as the probe, RFC 7009 revocation.
    Globus,
    /// A slurmrestd (Slurm JWTs): an authenticated read; no revocation.
    Slurm,
    /// Clemson's Palmetto API (bearer keys): an authenticated read; no public revocation.
    Palmetto,
    /// A Keycloak (CSM): `userinfo`, RFC 7009 revocation and logout.
    Keycloak,
    /// An S3 (Ceph RGW) endpoint (STS and RGW keys): `ListBuckets`; no revocation call.
    S3,
}

impl Issuer {
    /// Whether it offers a revocation call tokenwarden can make.
    pub fn revocable(self) -> bool {
        matches!(self, Issuer::S3m | Issuer::Globus | Issuer::Keycloak)
    }

    /// The lifecycle actions its credentials get.
    pub fn actions(self) -> &'static [Action] {
        if self.revocable() {
            &[Action::Verify, Action::Revoke]
        } else {
            &[Action::Verify, Action::Notify]
        }
    }
}

/// Words that, found near a match, raise its confidence — or, when `required`, must be there.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Literal words, matched case-insensitively within `lines` lines either side, or in the
    /// file's path.
    pub words: Vec<String>,
    /// How many lines either side count as "near".
    #[serde(default = "default_context_lines")]
    pub lines: usize,
    /// The confidence a match gets when a word is near.
    #[serde(default = "high")]
    pub confidence: Confidence,
    /// If true, a match with no word near is dropped (unless `file` says otherwise).
    #[serde(default)]
    pub required: bool,
    /// The confidence a match gets when no word is near but one is elsewhere in the file (or
    /// its path): the facility is shown by the file, not the line. Without it such a match is
    /// treated as having no context.
    #[serde(default)]
    pub file: Option<Confidence>,
}

fn default_context_lines() -> usize {
    5
}
fn high() -> Confidence {
    Confidence::High
}

/// One detection rule, as written in `rules/*.toml`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `facility.kind`, unique.
    pub id: String,
    /// A short human name.
    pub name: String,
    /// The facility whose credential this is (`olcf-s3m`, `globus`, `slurm`, `csm`, …).
    pub facility: String,
    /// Default severity of a finding.
    pub severity: Severity,
    /// Confidence before context words are considered.
    #[serde(default)]
    pub confidence: Confidence,
    /// Literals of which at least one occurs in every match (case-insensitive). The prefilter
    /// runs a rule's regex only on blobs holding one. Empty means "always run" (imported rules).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Match the keywords exactly as written. For keywords whose case never varies (`eyJ` of a
    /// JWT, Globus's `Ag`, AWS's `AKIA`) this keeps common words ("page", "Asia") from waking
    /// the rule's regex on most files.
    #[serde(default)]
    pub case_sensitive_keywords: bool,
    /// Content regex (Rust `regex` syntax, run on bytes). The group named `secret` (or the first
    /// group that took part in the match, or the whole match) is the secret.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Which capture group is the secret (imported gitleaks rules). Without it: the group named
    /// `secret`, else group 1, else the whole match.
    #[serde(default)]
    pub secret_group: Option<usize>,
    /// Path regex (matched against the `/`-separated path). A rule with a path and no pattern
    /// is a file rule: the file itself is the secret.
    #[serde(default)]
    pub path: Option<String>,
    /// File rules: the smallest file that counts.
    #[serde(default)]
    pub min_size: Option<u64>,
    /// File rules: the largest file that counts.
    #[serde(default)]
    pub max_size: Option<u64>,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    #[serde(default)]
    pub entropy: Option<f64>,
    /// The secret must decode as a JWT of this class.
    #[serde(default)]
    pub jwt: Option<JwtClass>,
    /// Context words. A rule whose context is `required` and that lists no `keywords` takes
    /// its context words as keywords (it can only report where one is, in the file or path).
    #[serde(default)]
    pub context: Option<Context>,
    /// A regex the secret must match (a shape the facility's credential has, for rules that
    /// share a generic pattern such as `@assignment`).
    #[serde(default)]
    pub shape: Option<String>,
    /// A regex the pattern's `name` group (the variable or key the secret is assigned to)
    /// must match.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// The fewest character classes (lower case, upper case, digits, other) the secret must
    /// mix: what separates a generated credential from a word or an identifier.
    #[serde(default)]
    pub min_classes: Option<u8>,
    /// Regexes on the secret that mark it as not a finding (rule-specific placeholders).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Lifecycle actions that apply. `verify` needs an `issuer`; `revoke` needs one that
    /// offers revocation ([`lifecycle_problem`], reported by `rules check`).
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Who issues what this rule finds: the lifecycle asks that issuer, and only it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Issuer>,
    /// What to do about a finding.
    pub remediation: String,
    /// Where to read more.
    #[serde(default)]
    pub help_url: Option<String>,
    /// Texts the rule must find (templates allowed, see [`template`]).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Texts the rule must not find.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

/// A value published in a facility's documentation (or another widely copied example): real
/// looking, known to everyone, so reported as `info` "documentation example", never as a leak.
/// The list holds keyed hashes ([`crate::secret::published_id`]), never the values; it is
/// generated by `rules/published/generate.py` from the public documentation repositories.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// `pv1:` and 32 hex digits.
    pub id: String,
    /// Where it is published (repository and path).
    pub source: String,
    /// The rule that found it there (for the reader; any rule's match counts).
    #[serde(default)]
    pub rule: Option<String>,
}

/// The global placeholder list (`rules/placeholders.toml`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Placeholders {
    /// Regexes on the secret: a secret matching one is a placeholder, not a finding.
    #[serde(default)]
    pub patterns: Vec<String>,
}

/// One rule file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// Placeholders (only `placeholders.toml` uses this).
    #[serde(default)]
    pub placeholders: Option<Placeholders>,
    /// Published values (only `published.toml` uses this).
    #[serde(default)]
    pub published: Vec<Published>,
    /// Patterns shared by several rules, which name one as `pattern = "@name"` (only
    /// `patterns.toml` uses this; it is loaded first).
    #[serde(default)]
    pub patterns: std::collections::BTreeMap<String, String>,
}

/// Errors from loading rules.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A rule file is not valid TOML or does not fit the schema.
    #[error("rule file {file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A rule is inconsistent (bad regex, duplicate id, no pattern and no path …).
    #[error("rule `{id}`: {message}")]
    Invalid {
        /// The rule id.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// A rule file could not be read, or may not be (see [`crate::untrusted`]).
    #[error("cannot read a rule file")]
    Unreadable(#[from] crate::untrusted::UntrustedError),
}

/// The built-in rule files, compiled into the binary.
pub const BUILTIN_RULE_FILES: &[(&str, &str)] = &[
    ("patterns.toml", include_str!("../../rules/patterns.toml")),
    ("s3m.toml", include_str!("../../rules/s3m.toml")),
    ("iri.toml", include_str!("../../rules/iri.toml")),
    ("palmetto.toml", include_str!("../../rules/palmetto.toml")),
    ("globus.toml", include_str!("../../rules/globus.toml")),
    ("slurm.toml", include_str!("../../rules/slurm.toml")),
    ("munge.toml", include_str!("../../rules/munge.toml")),
    ("csm.toml", include_str!("../../rules/csm.toml")),
    ("s3.toml", include_str!("../../rules/s3.toml")),
    ("generic.toml", include_str!("../../rules/generic.toml")),
    (
        "placeholders.toml",
        include_str!("../../rules/placeholders.toml"),
    ),
    ("published.toml", include_str!("../../rules/published.toml")),
];

/// A complete, validated set of rules plus the placeholder list.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// The rules, in load order.
    pub rules: Vec<Rule>,
    /// Global placeholders.
    pub placeholders: Placeholders,
    /// Published documentation values.
    pub published: Vec<Published>,
    /// Shared patterns, by name (see [`RuleFile::patterns`]).
    pub patterns: std::collections::BTreeMap<String, String>,
}

impl RuleSet {
    /// The built-in rules.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN_RULE_FILES {
            set.add_toml(name, text)?;
        }
        for r in &set.rules {
            if let Some(why) = lifecycle_problem(r) {
                return Err(invalid(r, why));
            }
        }
        Ok(set)
    }

    /// Adds the rules of one tokenwarden rule file (TOML text).
    pub fn add_toml(&mut self, file: &str, text: &str) -> Result<(), RuleError> {
        let parsed: RuleFile = toml::from_str(text).map_err(|e| RuleError::Parse {
            file: file.to_string(),
            message: crate::untrusted::toml_error(text, &e),
        })?;
        if let Some(p) = parsed.placeholders {
            self.placeholders.patterns.extend(p.patterns);
        }
        for p in parsed.published {
            let ok = p.id.strip_prefix("pv1:").is_some_and(|h| {
                h.len() == 32
                    && h.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
            if !ok {
                return Err(RuleError::Parse {
                    file: file.to_string(),
                    message: format!(
                        "published id `{}` is not `pv1:` and 32 lower-case hex digits",
                        crate::text::printable(&p.id)
                    ),
                });
            }
            self.published.push(p);
        }
        self.patterns.extend(parsed.patterns);
        for mut rule in parsed.rules {
            if let Some(name) = rule.pattern.as_deref().and_then(|p| p.strip_prefix('@')) {
                let shared = self.patterns.get(name).cloned().ok_or_else(|| {
                    invalid(
                        &rule,
                        format!("no shared pattern `@{name}` (see patterns.toml)"),
                    )
                })?;
                rule.pattern = Some(shared);
            }
            self.push(rule)?;
        }
        Ok(())
    }

    /// Adds the rules of a tokenwarden rule file on disk.
    pub fn add_file(&mut self, path: &Path) -> Result<(), RuleError> {
        let text = crate::untrusted::read_regular_text(path, crate::untrusted::MAX_CONFIG_BYTES)?;
        self.add_toml(&path.display().to_string(), &text)
    }

    /// Adds one rule after checking it is well formed; a duplicate id replaces nothing and is
    /// an error, so a user file cannot silently shadow a built-in rule.
    pub fn push(&mut self, rule: Rule) -> Result<(), RuleError> {
        validate(&rule)?;
        if self.rules.iter().any(|r| r.id == rule.id) {
            return Err(RuleError::Invalid {
                id: rule.id,
                message: "duplicate rule id".into(),
            });
        }
        self.rules.push(rule);
        Ok(())
    }

    /// Keeps only the rules `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&Rule) -> bool) {
        self.rules.retain(|r| keep(r));
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// Compiles a rule's regexes to check them (for rules from untrusted formats, at import).
pub fn compile_check(rule: &Rule) -> Result<(), RuleError> {
    for (what, re) in [("pattern", &rule.pattern), ("path", &rule.path)] {
        if let Some(re) = re {
            regex::bytes::Regex::new(re).map_err(|e| invalid(rule, format!("{what}: {e}")))?;
        }
    }
    for re in &rule.allow {
        regex::bytes::Regex::new(re).map_err(|e| invalid(rule, format!("allow: {e}")))?;
    }
    for (what, re) in [("shape", &rule.shape), ("assigned_to", &rule.assigned_to)] {
        if let Some(re) = re {
            regex::bytes::Regex::new(re).map_err(|e| invalid(rule, format!("{what}: {e}")))?;
        }
    }
    Ok(())
}

/// What is wrong with a rule's lifecycle fields, if anything: `verify` needs an `issuer` to
/// ask, an `issuer` is asked only by `verify`, and `revoke` is asked for exactly when the
/// issuer offers it. Built-in rules must have none of these ([`RuleSet::builtin`] refuses them,
/// `rules check` reports them); other rules lose their lifecycle fields instead
/// ([`Rule::without_lifecycle`]), so an older rule file keeps working.
pub fn lifecycle_problem(rule: &Rule) -> Option<String> {
    let verify = rule.actions.contains(&Action::Verify);
    let revoke = rule.actions.contains(&Action::Revoke);
    match rule.issuer {
        None if verify || revoke => Some(
            "`verify` and `revoke` need an `issuer` to ask (s3m, globus, slurm, palmetto, \
             keycloak, s3)"
                .into(),
        ),
        None => None,
        Some(i) if !verify => Some(format!(
            "names issuer `{i:?}` but not the `verify` action its issuer offers"
        )),
        Some(i) if revoke && !i.revocable() => {
            Some("asks for `revoke`, which its issuer does not offer".into())
        }
        Some(i) if !revoke && i.revocable() => {
            Some("does not ask for `revoke`, which its issuer offers".into())
        }
        Some(_) => None,
    }
}

impl Rule {
    /// The rule with no issuer to ask and no `verify` or `revoke`: what the lifecycle does with
    /// a rule whose issuer cannot be trusted or does not fit.
    pub fn without_lifecycle(&mut self) {
        self.issuer = None;
        self.actions
            .retain(|a| !matches!(a, Action::Verify | Action::Revoke));
    }
}

fn invalid(rule: &Rule, message: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        id: rule.id.clone(),
        message: message.into(),
    }
}

/// Checks one rule's structure (an id, a pattern or a path, keywords, context). Its regexes
/// are compiled once, by [`crate::engine::Engine::new`], which names the rule on error; use
/// [`compile_check`] where a bad regex must be caught at load time.
pub fn validate(rule: &Rule) -> Result<(), RuleError> {
    if rule.id.is_empty() || rule.id.chars().any(|c| c.is_whitespace()) {
        return Err(invalid(rule, "id must be non-empty and have no spaces"));
    }
    if rule.pattern.is_none() && rule.path.is_none() {
        return Err(invalid(rule, "needs a `pattern` or a `path`"));
    }

    if rule.keywords.iter().any(|k| k.is_empty()) {
        return Err(invalid(rule, "empty keyword"));
    }
    if let Some(ctx) = &rule.context
        && ctx.words.is_empty()
    {
        return Err(invalid(rule, "context needs at least one word"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal rule file with one rule whose lifecycle fields are `fields`; its lifecycle
    /// problem as an error.
    fn one_rule(fields: &str) -> Result<RuleSet, RuleError> {
        let text = format!(
            "[[rule]]\nid = \"t.one\"\nname = \"t\"\nfacility = \"t\"\nseverity = \"high\"\n\
             confidence = \"high\"\npattern = \"tok_[a-z]{{8}}\"\nremediation = \"r\"\n{fields}\n"
        );
        let mut set = RuleSet::default();
        set.add_toml("t.toml", &text)?;
        match lifecycle_problem(&set.rules[0]) {
            Some(why) => Err(invalid(&set.rules[0], why)),
            None => Ok(set),
        }
    }

    #[test]
    fn a_rule_asks_only_its_issuer_for_what_that_issuer_offers() {
        assert!(one_rule("actions = [\"notify\"]").is_ok());
        assert!(one_rule("actions = [\"verify\", \"revoke\"]\nissuer = \"s3m\"").is_ok());
        assert!(one_rule("actions = [\"verify\", \"notify\"]\nissuer = \"slurm\"").is_ok());
        for (fields, says) in [
            ("actions = [\"verify\"]", "need an `issuer`"),
            (
                "actions = [\"notify\"]\nissuer = \"palmetto\"",
                "not the `verify` action",
            ),
            (
                "actions = [\"verify\", \"revoke\"]\nissuer = \"slurm\"",
                "which its issuer does not offer",
            ),
            (
                "actions = [\"verify\"]\nissuer = \"globus\"",
                "which its issuer offers",
            ),
        ] {
            let e = one_rule(fields)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(says), "{fields}: {e}");
        }
        // An issuer that does not exist is a parse error, not a silent manual finding.
        assert!(one_rule("actions = [\"verify\"]\nissuer = \"nobody\"").is_err());
        // A rule that does not fit loses its lifecycle fields, and then has no problem.
        let mut r = RuleSet::builtin().unwrap().rules.remove(0);
        r.actions = vec![Action::Verify, Action::Revoke];
        r.issuer = Some(Issuer::Slurm);
        assert!(lifecycle_problem(&r).is_some());
        r.without_lifecycle();
        assert_eq!((r.issuer, lifecycle_problem(&r)), (None, None));
    }

    #[test]
    fn built_in_rules_that_verify_name_their_issuer() {
        let set = RuleSet::builtin().unwrap();
        let named: Vec<&str> = set
            .rules
            .iter()
            .filter(|r| r.issuer.is_some())
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(named.len(), 16, "{named:?}");
        for r in &set.rules {
            assert_eq!(
                r.issuer.is_some(),
                r.actions.contains(&Action::Verify),
                "{}",
                r.id
            );
        }
    }
}
