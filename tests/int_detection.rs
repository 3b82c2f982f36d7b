//! Detection per facility on realistic files, with tokens minted at test time, and the hard
//! negatives each rule must leave alone.

mod common;
use common::*;
use serde_json::Value;
use tokenwarden::engine::check_rules;
use tokenwarden::rules::RuleSet;

#[test]
fn every_builtin_rule_has_examples_and_passes_them() {
    let set = RuleSet::builtin().unwrap();
    for r in &set.rules {
        assert!(!r.examples.is_empty(), "{} has no examples", r.id);
        assert!(
            !r.negative_examples.is_empty(),
            "{} has no negative examples",
            r.id
        );
        assert!(!r.remediation.is_empty(), "{} has no remediation", r.id);
    }
    // Templates mint fresh random tokens each run; run a few rounds.
    for _ in 0..5 {
        let (failures, ran) = check_rules(&set).unwrap();
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(ran >= 2 * set.rules.len());
    }
}

#[test]
fn s3m_token_in_env_header_file_is_classified_by_claims() {
    let dir = tempfile::tempdir().unwrap();
    let tok = mint(
        r#"{{jwt RS256 {"description":"laptop","type":"opat","aud":["api.olcf.ornl.gov"],"nbf":"@now","iat":"@now","jti":"5b0e4a7c-0d2e-4f7e-9a51-3c2d1e0f9a8b"}}}"#,
    );
    write(dir.path(), ".env", format!("Authorization: {tok}\n"));
    write(
        dir.path(),
        "notes/run.sh",
        format!(
            "curl -H \"Authorization: {tok}\" https://s3m.olcf.ornl.gov/olcf/v1/token/ctls/introspect\n"
        ),
    );
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(rule_ids(&r), vec!["s3m.opat"], "one token, one finding");
    let f = finding(&r, "s3m.opat");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["token"]["class"], "s3m-opat");
    assert_eq!(f["token"]["token_type"], "opat");
    assert_eq!(f["token"]["audience"][0], "api.olcf.ornl.gov");
    assert_eq!(f["token"]["jti"], "5b0e4a7c-0d2e-4f7e-9a51-3c2d1e0f9a8b");
    assert!(f["token"].get("exp").is_none(), "S3M tokens carry no exp");
    assert_eq!(f["locations"].as_array().unwrap().len(), 2);
    assert_eq!(f["also_matched"][0], "s3m.authz_header");
    assert!(
        f["actions"]
            .as_array()
            .unwrap()
            .contains(&Value::from("revoke"))
    );
}

#[test]
fn s3m_cli_auth_json_and_streaming_urls() {
    let dir = tempfile::tempdir().unwrap();
    let tok = mint(r#"{{jwt RS256 {"type":"opat","aud":["api.olcf.ornl.gov"],"iat":"@now"}}}"#);
    write(
        dir.path(),
        "share/s3m/auth.json",
        format!("{{\"open|stf040\": {{\"token\": \"{tok}\"}}}}\n"),
    );
    write(
        dir.path(),
        "cluster.yaml",
        mint(
            "amqpsUrl: amqps://stf040-api:{{alnum 16}}@rmq-stf040-api-c1.io.s3m-streams.apps.olivine.ccs.ornl.gov:443\n",
        ),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(rule_ids(&r), vec!["s3m.opat", "s3m.stream_url"]);
}

#[test]
fn globus_token_store_v2_finds_access_and_refresh_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let store = mint(
        r#"{"data": {"DEFAULT": {"6be511f6-a071-471f-9bc0-02a0d0836723": {"resource_server": "6be511f6-a071-471f-9bc0-02a0d0836723", "identity_id": "x", "scope": "https://auth.globus.org/scopes/6be511f6-a071-471f-9bc0-02a0d0836723/filesystem", "access_token": "Ag{{alnum 89}}", "refresh_token": "Ag{{alnum 101}}", "expires_at_seconds": 1700000000, "token_type": "Bearer"}}}, "format_version": "2.0", "globus-sdk.version": "3.50.0"}"#,
    );
    write(
        dir.path(),
        ".globus/app/7f3e61f5-e0de-4e8f-9150-0a62c65dda63/alcf_tokens/tokens.json",
        store,
    );
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(rule_ids(&r), vec!["globus.token_json", "globus.token_json"]);
    for f in findings(&r) {
        assert_eq!(f["confidence"], "high");
        assert!(
            f["actions"]
                .as_array()
                .unwrap()
                .contains(&Value::from("revoke"))
        );
    }
}

#[test]
fn lone_globus_shaped_string_needs_context() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", mint("value = Ag{{alnum 90}}\n"));
    // A context word spelled inside the token itself is not context ("iri", as a random
    // token spelled it once in about fifty runs).
    write(
        dir.path(),
        "c.txt",
        mint("value = Ag{{alnum 40}}YiRIw{{alnum 45}}\n"),
    );
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!(
        (code, findings(&r).len()),
        (0, 0),
        "low confidence is hidden by default"
    );
    let (_, r) = scan_json(dir.path(), &["--min-confidence", "low"]);
    assert_eq!(finding(&r, "globus.token")["confidence"], "low");
    write(
        dir.path(),
        "b.py",
        mint("# token for transfer.api.globus.org\nTOKEN = 'Ag{{alnum 90}}'\n"),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(rule_ids(&r), vec!["globus.token"]);
    assert_eq!(finding(&r, "globus.token")["confidence"], "high");
}

#[test]
fn slurm_jwts_report_user_and_expiry_and_expired_ones_drop_to_low() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "live.sh",
        mint(r#"export SLURM_JWT={{jwt {"exp":"@now+1800","iat":"@now","sun":"alice"}}}"#),
    );
    write(
        dir.path(),
        "old.sh",
        mint(r#"export SLURM_JWT={{jwt {"exp":"@now-60","iat":"@now-1860","sun":"bob"}}}"#),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let by_user = |u: &str| {
        findings(&r)
            .iter()
            .find(|f| f["token"]["user"] == u)
            .unwrap_or_else(|| panic!("no finding for {u}: {r:#}"))
            .clone()
    };
    let live = by_user("alice");
    assert_eq!(
        (live["rule_id"].as_str(), live["severity"].as_str()),
        (Some("slurm.jwt"), Some("high"))
    );
    assert_eq!(live["token"]["expired"], false);
    let old = by_user("bob");
    assert_eq!(
        (old["severity"].as_str(), old["token"]["expired"].as_bool()),
        (Some("low"), Some(true))
    );
    // Expired tokens alone do not fail a `--fail-on medium` gate.
    std::fs::remove_file(dir.path().join("live.sh")).unwrap();
    tw().arg("scan")
        .arg(dir.path())
        .args(["--fail-on", "medium"])
        .assert()
        .code(0);
}

#[test]
fn key_files_are_found_by_path_even_when_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut key = tokenwarden::rules::template::random_bytes(1024);
    key[10] = 0; // binary for sure
    write(dir.path(), "backup/etc/munge/munge.key", &key);
    write(dir.path(), "state/jwt_hs256.key", &key[..32]);
    write(dir.path(), "docs/munge.key", b"tiny"); // below the minimum key size: not a key
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(rule_ids(&r), vec!["munge.key_file", "slurm.jwt_key_file"]);
    for f in findings(&r) {
        assert_eq!(f["severity"], "critical");
        // Key material is never previewed, not even a few bytes.
        assert!(
            f["preview"].as_str().unwrap().starts_with("(key file, "),
            "{f}"
        );
    }
    // The same key copied twice is one finding with two locations.
    write(dir.path(), "other/munge.key", &key);
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(
        finding(&r, "munge.key_file")["locations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn csm_sts_output_keycloak_token_and_doc_example() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "creds.json",
        mint(
            r#"{"Credentials": {"AccessKeyId": "{{alnum 20}}", "EndpointURL": "http://rgw.local:8080", "Expiration": "2026-10-14T15:15:43+00:00", "SecretAccessKey": "{{upper 40}}", "SessionToken": "{{b64 256}}"}}"#,
        ),
    );
    write(
        dir.path(),
        "token.json",
        mint(
            r#"{"access_token": "{{jwt RS256 {"iss":"https://api.cmn.hpc.example.org/keycloak/realms/shasta","typ":"Bearer","azp":"shasta","preferred_username":"vers","exp":"@now+31536000"}}}"}"#,
        ),
    );
    // The CSM documentation's own example output.
    write(
        dir.path(),
        "docs/sts.md",
        "\"SecretAccessKey\": \"6CD15EIY6DQOD3DMN0VZPV1XP3W9N4FFPRI0300\",\n",
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let ids = rule_ids(&r);
    assert!(ids.contains(&"csm.keycloak_jwt".to_string()), "{ids:?}");
    let kc = finding(&r, "csm.keycloak_jwt");
    assert_eq!(kc["token"]["realm"], "shasta");
    assert_eq!(kc["token"]["client"], "shasta");
    assert_eq!(kc["token"]["user"], "vers");
    let sts: Vec<&Value> = findings(&r)
        .iter()
        .filter(|f| f["rule_id"] == "csm.sts_secret_key")
        .collect();
    assert_eq!(sts.len(), 2, "{r:#}");
    let doc = sts
        .iter()
        .find(|f| f["documentation_example"].is_string())
        .expect("doc example flagged");
    assert_eq!(doc["severity"], "info");
    let real = sts
        .iter()
        .find(|f| f["documentation_example"].is_null())
        .unwrap();
    assert_eq!(real["severity"], "medium");
    assert!(ids.contains(&"s3.session_token".to_string()), "{ids:?}");
}

#[test]
fn aws_credentials_file_and_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "home/.aws/credentials",
        mint(
            "[default]\naws_access_key_id = AKIA{{base32 16}}\naws_secret_access_key = {{b64 40}}\n",
        ),
    );
    write(
        dir.path(),
        "README.md",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(
        rule_ids(&r),
        vec!["aws.access_key_id", "aws.secret_access_key"]
    );
    for f in findings(&r) {
        assert_eq!(f["locations"][0]["path"], "home/.aws/credentials");
    }
}

#[test]
fn palmetto_munge_keycloak_secrets_and_rgw_key() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "palmetto.sh",
        mint(
            "curl -H \"Authorization: Bearer {{alnum 40}}\" \\\n  https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs\n",
        ),
    );
    write(
        dir.path(),
        "munge.log",
        mint("Authorization: MUNGE MUNGE:AwQFAAA{{b64 120}}:\n"),
    );
    write(
        dir.path(),
        "get-token.sh",
        mint(
            "curl -s -d grant_type=client_credentials -d client_id=admin-client -d client_secret={{uuid}} \\\n https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token\n",
        ),
    );
    write(
        dir.path(),
        "ceph.conf",
        mint("[client.rgw]\nrgw_sts_key = {{alnum 16}}\n"),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(
        rule_ids(&r),
        vec![
            "ceph.rgw_sts_key",
            "keycloak.client_secret",
            "munge.credential",
            "palmetto.bearer"
        ]
    );
    assert_eq!(finding(&r, "munge.credential")["severity"], "low");
    assert_eq!(finding(&r, "ceph.rgw_sts_key")["severity"], "critical");
    // A 16-character key shows two characters at most.
    let preview = finding(&r, "ceph.rgw_sts_key")["preview"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        preview.ends_with("…(16 chars)")
            && preview.chars().count() <= 2 + "…(16 chars)".chars().count(),
        "{preview}"
    );
}

#[test]
fn hard_negatives_are_not_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "docs.md",
        concat!(
            "Authorization: eyJhbGc...\n",
            "export S3M_TOKEN=your-token-here\n",
            "export S3M_TOKEN=abc123-your-token-here\n",
            "curl -H \"Authorization: $S3M_TOKEN\" https://s3m.olcf.ornl.gov/olcf/v1alpha/status\n",
            "curl -H \"X-SLURM-USER-TOKEN: $SLURM_JWT\" http://localhost:6820/slurm/v0.0.40/ping\n",
            "SLURM_JWT=daemon slurmrestd 127.0.0.1:6820\n",
            "PALMETTO_API_KEY=<token>\n",
            "GLOBUS_CLIENT_SECRET=${GLOBUS_CLIENT_SECRET}\n",
            "eyJhbGciOiJIUzI1NiJ9.eyJub3QgSlNPTiBhdCBhbGw.c2lnbmF0dXJl\n",
            "rgw_sts_key = <16 alphanumerics>\n",
            "MUNGE:<credential>:\n",
        ),
    );
    // Base64 blobs that happen to contain an `Ag…` run are not Globus tokens.
    write(
        dir.path(),
        "blob.txt",
        mint("data:image/png;base64,{{b64 40}}+Ag{{alnum 80}}/{{b64 60}}\n"),
    );
    let (code, r) = scan_json(dir.path(), &["--min-confidence", "low"]);
    assert_eq!(findings(&r).len(), 0, "{r:#}");
    assert_eq!(code, 0);
}

#[test]
fn same_secret_in_many_places_is_one_finding_with_stable_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let line = mint("PALMETTO_API_KEY={{alnum 40}}\n");
    write(dir.path(), "a.env", &line);
    write(dir.path(), "b/c.env", format!("# moved down\n\n{line}"));
    write(dir.path(), "d.sh", format!("export {line}"));
    let (_, r1) = scan_json(dir.path(), &[]);
    assert_eq!(findings(&r1).len(), 1);
    let f = finding(&r1, "palmetto.api_key");
    let paths: Vec<&str> = f["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["a.env", "b/c.env", "d.sh"]);
    assert_eq!(f["locations"][1]["line"], 3);
    // Moving the secret does not change its fingerprint; a custom key does.
    write(dir.path(), "a.env", format!("\n\n\n{line}"));
    let (_, r2) = scan_json(dir.path(), &[]);
    assert_eq!(
        r1["findings"][0]["fingerprint"],
        r2["findings"][0]["fingerprint"]
    );
    let out = tw()
        .env("TOKENWARDEN_FINGERPRINT_KEY", "site key")
        .arg("scan")
        .arg(dir.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    let r3: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(
        r1["findings"][0]["fingerprint"],
        r3["findings"][0]["fingerprint"]
    );
}
