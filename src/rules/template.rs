//! Example templates: rule examples and tests mint their tokens at run time.
//!
//! No token-shaped blob is committed to this repository (the project scans itself, and push
//! protection elsewhere would flag them). Instead an example says what it needs:
//!
//! | template | expands to |
//! |---|---|
//! | `{{jwt {"sun":"alice","exp":"@now+600"}}}` | an HS256 JWT with those claims, signed with a throwaway key |
//! | `{{jwt RS256 {...}}}` | a JWT with an RS256 header and 256 random signature bytes |
//! | `{{jwtheader {"alg":"HS256","typ":"JWT"} {...}}}` | a JWT with exactly this header |
//! | `{{alnum N}}` `{{upper N}}` `{{lower N}}` `{{digits N}}` `{{hex N}}` `{{base32 N}}` `{{b64 N}}` `{{b64url N}}` | N random characters of that alphabet (`upper` is `[0-9A-Z]`) |
//! | `{{uuid}}` | a random lower-case UUID |
//!
//! Claim values `"@now"`, `"@now+N"` and `"@now-N"` become Unix times relative to now.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// A template that cannot be expanded.
#[derive(Debug, thiserror::Error)]
#[error("template error in `{text}`: {message}")]
pub struct TemplateError {
    /// The template text.
    pub text: String,
    /// What is wrong.
    pub message: String,
}

/// Random bytes from the operating system.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // getrandom fails only where the OS has no entropy source at all.
    if getrandom::fill(&mut buf).is_err() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(i as u128)
                >> 64) as u8;
        }
    }
    buf
}

/// `n` random characters drawn uniformly from `alphabet`.
pub fn random_string(alphabet: &[u8], n: usize) -> String {
    assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n * 2) {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// Named alphabets for templates.
pub fn alphabet(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "alnum" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "upper" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "lower" => b"abcdefghijklmnopqrstuvwxyz0123456789",
        "digits" => b"0123456789",
        "hex" => b"0123456789abcdef",
        "base32" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
        "b64" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        "b64url" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        _ => return None,
    })
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Replaces `"@now±N"` string values (anywhere in the JSON) by Unix times.
fn resolve_times(v: &mut Value, now: i64) {
    match v {
        Value::String(s) if s.starts_with("@now") => {
            let rest = &s[4..];
            let delta = if rest.is_empty() {
                Some(0)
            } else {
                rest.strip_prefix('+')
                    .and_then(|n| n.parse::<i64>().ok())
                    .or_else(|| {
                        rest.strip_prefix('-')
                            .and_then(|n| n.parse::<i64>().ok().map(|x| -x))
                    })
            };
            if let Some(d) = delta {
                *v = Value::from(now + d);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_times(x, now)),
        Value::Object(o) => o.values_mut().for_each(|x| resolve_times(x, now)),
        _ => {}
    }
}

/// Mints a JWT. For `HS256` the signature is a real HMAC under a random throwaway key; for any
/// other `alg` it is 256 random bytes (we never verify signatures of foreign tokens).
pub fn mint_jwt(header: &Value, claims: &Value) -> String {
    let mut claims = claims.clone();
    resolve_times(&mut claims, now_unix());
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{h}.{p}");
    let sig = if header.get("alg").and_then(Value::as_str) == Some("HS256") {
        let key = random_bytes(32);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(signing_input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        random_bytes(256)
    };
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A JWT with the usual header for `alg`.
pub fn mint_jwt_alg(alg: &str, claims: &Value) -> String {
    mint_jwt(&serde_json::json!({"alg": alg, "typ": "JWT"}), claims)
}

/// Expands every `{{…}}` template in `text`.
pub fn expand(text: &str) -> Result<String, TemplateError> {
    let err = |m: &str| TemplateError {
        text: text.to_string(),
        message: m.to_string(),
    };
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let body = &rest[start + 2..];
        let (word, after_word) = match body.find([' ', '}']) {
            Some(i) => (&body[..i], &body[i..]),
            None => return Err(err("unterminated template")),
        };
        let args = after_word.trim_start();
        let (value, tail) = match word {
            "jwt" | "jwtheader" => {
                let mut values = Vec::new();
                let mut alg = "HS256".to_string();
                let mut cursor = args;
                if word == "jwt" && !cursor.starts_with('{') {
                    let end = cursor.find(' ').ok_or_else(|| err("jwt: missing claims"))?;
                    alg = cursor[..end].to_string();
                    cursor = cursor[end..].trim_start();
                }
                let wanted = if word == "jwt" { 1 } else { 2 };
                while values.len() < wanted {
                    let mut stream =
                        serde_json::Deserializer::from_str(cursor).into_iter::<Value>();
                    let v = stream
                        .next()
                        .ok_or_else(|| err("jwt: missing JSON"))?
                        .map_err(|e| err(&format!("jwt JSON: {e}")))?;
                    cursor = cursor[stream.byte_offset()..].trim_start();
                    values.push(v);
                }
                let token = if word == "jwt" {
                    mint_jwt_alg(&alg, &values[0])
                } else {
                    mint_jwt(&values[0], &values[1])
                };
                (token, cursor)
            }
            "uuid" => {
                let h = hex::encode(random_bytes(16));
                (
                    format!(
                        "{}-{}-4{}-a{}-{}",
                        &h[0..8],
                        &h[8..12],
                        &h[13..16],
                        &h[17..20],
                        &h[20..32]
                    ),
                    args,
                )
            }
            name => {
                let alpha =
                    alphabet(name).ok_or_else(|| err(&format!("unknown template `{name}`")))?;
                let end = args.find('}').ok_or_else(|| err("unterminated template"))?;
                let n: usize = args[..end]
                    .trim()
                    .parse()
                    .map_err(|_| err("expected a length"))?;
                (random_string(alpha, n), &args[end..])
            }
        };
        let tail = tail
            .strip_prefix("}}")
            .ok_or_else(|| err("expected `}}`"))?;
        out.push_str(&value);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_random_and_jwt_templates() {
        let s = expand("k={{upper 39}};id={{alnum 20}}").unwrap();
        let (k, id) = s.split_once(';').unwrap();
        assert_eq!(k.len(), 2 + 39);
        assert!(
            k[2..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(id.len(), 3 + 20);
        let t =
            expand(r#"SLURM_JWT={{jwt {"exp":"@now+60","iat":"@now","sun":"a"}}} end"#).unwrap();
        assert!(t.starts_with("SLURM_JWT=eyJ"), "{t}");
        assert!(t.ends_with(" end"));
        assert_eq!(t.trim_end_matches(" end").matches('.').count(), 2);
        assert!(expand("{{nope 3}}").is_err());
        assert!(expand("{{jwt {bad json}}}").is_err());
        assert_eq!(expand("no templates").unwrap(), "no templates");
        assert_eq!(expand("{{uuid}}").unwrap().len(), 36);
    }
}
