//! Files that hold credentials by their name (or, for key files, their first bytes).
//!
//! The names come from the facilities' tools and docs (`../shared/FACILITIES.md` §7): the
//! `.env` header file OLCF recommends for `curl -H @.env`, globus-sdk token stores, s3m-cli's
//! `auth.json`, the Cray CLI's token directory, AWS and s3cmd credentials for Ceph RGW, the
//! MUNGE and Slurm JWT keys, and SSH/TLS private keys.

/// A kind of credential file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialFile {
    /// Short id (`dotenv`, `globus_tokens`, …), used in check ids and messages.
    pub kind: &'static str,
    /// What it holds, in plain words.
    pub holds: &'static str,
}

const DOTENV: CredentialFile = CredentialFile {
    kind: "dotenv",
    holds: "environment or header file (OLCF's `curl -H @.env` token file, S3M_TOKEN, API keys)",
};
const GLOBUS: CredentialFile = CredentialFile {
    kind: "globus_tokens",
    holds: "Globus access and refresh tokens (ALCF/NERSC IRI)",
};
const IRI: CredentialFile = CredentialFile {
    kind: "iri_token_cache",
    holds: "cached IRI API tokens",
};
const S3M: CredentialFile = CredentialFile {
    kind: "s3m_auth",
    holds: "OLCF S3M project access tokens (s3m-cli token store)",
};
const CRAY: CredentialFile = CredentialFile {
    kind: "cray_tokens",
    holds: "HPE/Cray CSM Keycloak tokens (cray CLI token store)",
};
const AWS: CredentialFile = CredentialFile {
    kind: "aws_credentials",
    holds: "S3 access keys (Ceph RGW / STS)",
};
const S3CFG: CredentialFile = CredentialFile {
    kind: "s3cfg",
    holds: "s3cmd access keys (Ceph RGW)",
};
const RCLONE: CredentialFile = CredentialFile {
    kind: "rclone_config",
    holds: "rclone remotes' S3 access keys (Ceph RGW)",
};
const MUNGE: CredentialFile = CredentialFile {
    kind: "munge_key",
    holds: "the MUNGE shared key (anyone with it can forge credentials for any user)",
};
const SLURM_JWT_KEY: CredentialFile = CredentialFile {
    kind: "slurm_jwt_key",
    holds: "Slurm's JWT signing key (anyone with it can mint tokens for any user)",
};
const PRIVATE_KEY: CredentialFile = CredentialFile {
    kind: "private_key",
    holds: "a private key",
};

/// Templates committed on purpose: `.env.example` and the like.
const TEMPLATE_SUFFIXES: &[&str] = &[
    "example", "sample", "template", "tmpl", "dist", "defaults", "default", "in", "skel",
];

/// The kind of credential file at `path` (`/`-separated; relative or absolute), judged by its
/// name, or `None`. `head` is the file's first bytes, if read: it tells a private key in a
/// `.pem` or `.key` file from a certificate.
pub fn classify(path: &str, head: Option<&[u8]>) -> Option<CredentialFile> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let name = *parts.last()?;
    // The n-th directory above the file (0: the one holding it).
    let parent = |n: usize| parts.len().checked_sub(n + 2).map(|i| parts[i]);
    let lower = name.to_ascii_lowercase();
    if lower == ".env" {
        return Some(DOTENV);
    }
    if let Some(rest) = lower.strip_prefix(".env.") {
        return (!TEMPLATE_SUFFIXES.contains(&rest)).then_some(DOTENV);
    }
    if let Some(stem) = lower.strip_suffix(".env")
        && !stem.is_empty()
        && !TEMPLATE_SUFFIXES
            .iter()
            .any(|t| stem.ends_with(&format!(".{t}")))
    {
        return Some(DOTENV);
    }
    let in_globus = parts.contains(&".globus");
    if in_globus
        && ((lower.contains("tokens") && lower.ends_with(".json")) || lower == "storage.db")
    {
        return Some(GLOBUS);
    }
    if lower == ".globus-native-apps.cfg"
        || (parent(0) == Some(".globus_compute") && lower == "storage.db")
    {
        return Some(GLOBUS);
    }
    if lower.starts_with(".iri_token") && lower.ends_with(".json") {
        return Some(IRI);
    }
    if lower == "auth.json" && parent(0).is_some_and(|p| p.eq_ignore_ascii_case("s3m")) {
        return Some(S3M);
    }
    if parent(0) == Some("tokens") && parent(1) == Some("cray") {
        return Some(CRAY);
    }
    if lower == "credentials" && parent(0) == Some(".aws") {
        return Some(AWS);
    }
    if lower == ".s3cfg" {
        return Some(S3CFG);
    }
    if lower == "rclone.conf" {
        return Some(RCLONE);
    }
    if lower == "munge.key" {
        return Some(MUNGE);
    }
    if lower == "jwt_hs256.key" {
        return Some(SLURM_JWT_KEY);
    }
    if matches!(
        lower.as_str(),
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | "id_ecdsa_sk" | "id_ed25519_sk"
    ) || lower.ends_with(".p12")
        || lower.ends_with(".pfx")
    {
        return Some(PRIVATE_KEY);
    }
    if (lower.ends_with(".pem") || lower.ends_with(".key"))
        && head.is_some_and(|h| {
            memchr::memmem::find(h, b"PRIVATE KEY-----").is_some()
                && memchr::memmem::find(h, b"-----BEGIN").is_some()
        })
    {
        return Some(PRIVATE_KEY);
    }
    None
}

/// True when [`classify`] needs the file's first bytes to decide: a `.pem` or `.key` may hold
/// a private key or only a certificate.
pub fn needs_head(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".pem") || lower.ends_with(".key")
}

/// A cheap test on a file name alone: false means [`classify`] cannot say yes for any
/// path ending in it (except files in a `cray/tokens` directory, which have any name).
pub fn may_be_credential(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    let n = lower.as_slice();
    n == b".env"
        || n.starts_with(b".env.")
        || n.ends_with(b".env")
        || (n.ends_with(b".json")
            && (memchr::memmem::find(n, b"tokens").is_some()
                || n.starts_with(b".iri_token")
                || n == b"auth.json"))
        || matches!(
            n,
            b"storage.db"
                | b".globus-native-apps.cfg"
                | b"credentials"
                | b".s3cfg"
                | b"rclone.conf"
                | b"munge.key"
                | b"jwt_hs256.key"
        )
        || n.starts_with(b"id_")
        || n.ends_with(b".p12")
        || n.ends_with(b".pfx")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(path: &str) -> Option<&'static str> {
        classify(path, None).map(|c| c.kind)
    }

    #[test]
    fn names_from_the_facilities_docs_are_credential_files() {
        for (path, want) in [
            (".env", "dotenv"),
            ("deploy/.env", "dotenv"),
            (".env.production", "dotenv"),
            (".ENV", "dotenv"),
            ("config/prod.env", "dotenv"),
            (
                "home/u/.globus/app/8b84fc2d-49e9-49ea-b54d-b3a29a70cf31/alcf_facility_api_app/tokens.json",
                "globus_tokens",
            ),
            (
                ".globus/app/c/alcf_tokens/tokens-bash.json",
                "globus_tokens",
            ),
            (".globus/auth_tokens.json", "globus_tokens"),
            (".config/rclone/rclone.conf", "rclone_config"),
            (".globus/cli/storage.db", "globus_tokens"),
            (".globus-native-apps.cfg", "globus_tokens"),
            (".iri_token_east.json", "iri_token_cache"),
            (".local/share/s3m/auth.json", "s3m_auth"),
            (
                ".config/cray/tokens/api_gw_service_nmn_local.vers",
                "cray_tokens",
            ),
            ("home/.aws/credentials", "aws_credentials"),
            (".s3cfg", "s3cfg"),
            ("etc/munge/munge.key", "munge_key"),
            ("slurm/jwt_hs256.key", "slurm_jwt_key"),
            (".ssh/id_ed25519", "private_key"),
            ("certs/client.p12", "private_key"),
        ] {
            assert_eq!(kind(path), Some(want), "{path}");
        }
    }

    #[test]
    fn templates_and_look_alikes_are_not() {
        for path in [
            ".env.example",
            ".env.sample",
            "config/.env.template",
            "prod.env.example",
            "environment.yml",
            "src/env.rs",
            "auth.json",
            "tokens.json",
            "docs/credentials",
            ".ssh/id_ed25519.pub",
            "tokens/cray.txt",
            "s3m/auth.json.bak",
        ] {
            assert_eq!(kind(path), None, "{path}");
        }
    }

    #[test]
    fn pem_and_key_files_count_only_with_a_private_key_inside() {
        let key = b"-----BEGIN EC PRIVATE KEY-----\nMHcC\n";
        let cert = b"-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert_eq!(
            classify("tls/server.key", Some(key)).map(|c| c.kind),
            Some("private_key")
        );
        assert_eq!(classify("tls/server.pem", Some(cert)), None);
        assert_eq!(classify("tls/server.pem", None), None);
    }
}
