//! The captured secret and the ways it may be shown.
//!
//! Rule 1 of the house: a secret is never printed in full unless the user asks. `Secret` therefore
//! has no `Display`, its `Debug` is redacted, and its bytes are wiped from memory on drop. The only
//! ways out are [`Secret::preview`] (a short redacted form), [`Fingerprinter::fingerprint`] (a
//! keyed hash), and [`Secret::expose`], which callers use for decoding and `--show-secrets`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// A secret value captured by a rule.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

/// The empty secret: what a finding read back from a report holds (reports never carry one).
impl Default for Secret {
    fn default() -> Self {
        Secret::new(b"")
    }
}

impl Secret {
    /// Wraps captured bytes.
    pub fn new(bytes: &[u8]) -> Self {
        Secret(Zeroizing::new(bytes.to_vec()))
    }

    /// The raw bytes. Callers must not print them unless the user asked for `--show-secrets`.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty capture (rules never report one).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A redacted preview: at most four leading characters, and never more than an eighth of
    /// the secret, then its length, e.g. `eyJh…(312 chars)`. Four characters of a long token
    /// say which kind it is (`eyJ`, `Ag`, `AKIA`) without helping anyone guess the rest; a
    /// short secret (a 16-character `rgw_sts_key`, a password) shows two characters or none.
    pub fn preview(&self) -> String {
        let text = String::from_utf8_lossy(&self.0);
        let n = text.chars().count();
        let shown = (n / 8).min(4);
        let head: String = text
            .chars()
            .take(shown)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        format!("{head}…({n} chars)")
    }

    /// The secret as lossy UTF-8, for `--show-secrets` only.
    pub fn reveal(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", self.preview())
    }
}

/// Computes stable, keyed fingerprints of secrets.
///
/// The fingerprint is HMAC-SHA-256 over `rule id || 0x00 || secret`, so it is stable across
/// scans, line moves and machines (a baseline keeps working when code moves), yet holds no
/// plaintext. The default key is public, which makes it a salted hash: enough for tokens, which
/// are high-entropy. Organisations that share reports widely set their own key
/// (`TOKENWARDEN_FINGERPRINT_KEY`) so that nobody can test a guessed secret against a report.
#[derive(Clone)]
pub struct Fingerprinter {
    key: Zeroizing<Vec<u8>>,
}

/// The built-in fingerprint key (domain separation, not secrecy).
pub const DEFAULT_FINGERPRINT_KEY: &[u8] = b"tokenwarden fingerprint v1";

/// The key of the published-values list (`rules/published.toml`). Public and fixed, so that
/// `rules/published/generate.py` and the scanner agree; it exists so that the list carries
/// keyed hashes, never the values, and a value cannot be looked up in it by plain SHA-256.
pub const PUBLISHED_KEY: &[u8] = b"tokenwarden published value v1";

/// The identity of a value in the published-values list: `pv1:` and 32 hex digits
/// (HMAC-SHA256 under [`PUBLISHED_KEY`], first 128 bits).
pub fn published_id(value: &[u8]) -> String {
    let digest = Fingerprinter::new(PUBLISHED_KEY).mac(&[value]);
    format!("pv1:{}", hex::encode(&digest[..16]))
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Fingerprinter::new(DEFAULT_FINGERPRINT_KEY)
    }
}

impl Fingerprinter {
    /// A fingerprinter with the given key.
    pub fn new(key: &[u8]) -> Self {
        Fingerprinter {
            key: Zeroizing::new(key.to_vec()),
        }
    }

    /// The fingerprint of `secret` under `rule_id`: `tw1:` and 32 hex digits (128 bits).
    pub fn fingerprint(&self, rule_id: &str, secret: &Secret) -> String {
        let digest = self.mac(&[rule_id.as_bytes(), &[0], secret.expose()]);
        format!("tw1:{}", hex::encode(&digest[..16]))
    }

    /// A keyed identity for the secret alone, used to merge one secret found by several rules
    /// into one finding. Never leaves the process.
    pub fn secret_id(&self, secret: &Secret) -> [u8; 32] {
        self.mac(&[b"secret-id", &[0], secret.expose()])
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_preview_never_show_the_secret() {
        let s = Secret::new(b"AgVeryLongGlobusTokenValue0123456789abcdefghijklmnop");
        let shown = format!("{s:?} {}", s.preview());
        assert!(!shown.contains("GlobusTokenValue"), "{shown}");
        assert!(s.preview().starts_with("AgVe…("), "{}", s.preview());
        assert_eq!(Secret::new(b"0123456789abcdef").preview(), "01…(16 chars)");
        assert_eq!(Secret::new(b"hunter22").preview(), "h…(8 chars)");
        assert_eq!(Secret::new(b"short").preview(), "…(5 chars)");
    }

    /// The generator script computes the same HMAC in Python; this vector ties the two.
    #[test]
    fn published_ids_match_the_generator() {
        assert_eq!(
            published_id(b"6CD15EIY6DQOD3DMN0VZPV1XP3W9N4FFPRI0300"),
            PUBLISHED_VECTOR
        );
        assert_ne!(published_id(b"a"), published_id(b"b"));
    }
    const PUBLISHED_VECTOR: &str = "pv1:167b9ce5ac29e98b49cfb247d0044859";

    #[test]
    fn fingerprints_are_keyed_and_rule_scoped() {
        let s = Secret::new(b"secret-value-1234567890");
        let a = Fingerprinter::default();
        let b = Fingerprinter::new(b"other key");
        assert_eq!(a.fingerprint("r.one", &s), a.fingerprint("r.one", &s));
        assert_ne!(a.fingerprint("r.one", &s), a.fingerprint("r.two", &s));
        assert_ne!(a.fingerprint("r.one", &s), b.fingerprint("r.one", &s));
        assert!(a.fingerprint("r.one", &s).starts_with("tw1:"));
        assert_eq!(a.fingerprint("r.one", &s).len(), 4 + 32);
        assert!(!a.fingerprint("r.one", &s).contains("secret"));
    }
}
