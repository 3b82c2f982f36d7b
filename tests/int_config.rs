//! Project config, inline allow comments, .gitignore handling, user and imported rules.

mod common;
use common::*;

fn slurm_line() -> String {
    mint(r#"SLURM_JWT={{jwt {"exp":"@now+600","sun":"alice"}}}"#)
}

#[test]
fn project_config_excludes_paths_disables_rules_and_sets_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "fixtures/tok.env", slurm_line());
    write(
        dir.path(),
        "src/app.env",
        mint("PALMETTO_API_KEY={{alnum 40}}\n"),
    );
    chmod(dir.path(), "src/app.env", 0o600);
    write(dir.path(), "src/munge.log", mint("MUNGE:AwQ{{b64 80}}:\n"));
    write(
        dir.path(),
        ".tokenwarden.toml",
        "fail_on = \"high\"\n[scan]\nexclude = [\"fixtures/**\"]\n[rules]\ndisable = [\"palmetto.*\"]\n",
    );
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!(rule_ids(&r), vec!["munge.credential"]);
    assert_eq!(code, 0, "a low finding under fail_on = high");
    let notes = r["summary"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("excludes fixtures/**")),
        "{notes:?}"
    );
    // The command line overrides the file; --no-config ignores it.
    let (code, _) = scan_json(dir.path(), &["--fail-on", "low"]);
    assert_eq!(code, 1);
    let (_, r) = scan_json(dir.path(), &["--no-config"]);
    assert_eq!(
        rule_ids(&r),
        vec!["munge.credential", "palmetto.api_key", "slurm.jwt"]
    );
}

#[test]
fn a_config_cannot_carry_endpoints_or_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".tokenwarden.toml",
        "[endpoints]\ns3m = \"http://evil.example\"\n",
    );
    tw().arg("scan")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown field"));
}

#[test]
fn inline_allow_comments_suppress_one_place_not_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let tok = slurm_line();
    write(
        dir.path(),
        "test_data.sh",
        format!("{tok}  # tokenwarden:allow expired fixture token\n"),
    );
    write(
        dir.path(),
        "x.py",
        format!("# tokenwarden:allow sample for the docs\n{tok}\n"),
    );
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!((code, findings(&r).len()), (0, 0), "{r:#}");
    let sup = r["suppressed"].as_array().unwrap();
    assert_eq!(sup.len(), 2);
    assert_eq!(sup[0]["reason"], "expired fixture token");
    assert_eq!(sup[1]["reason"], "sample for the docs");
    assert!(sup[0]["fingerprint"].as_str().unwrap().starts_with("tw1:"));
    // The same secret elsewhere without a comment is still reported.
    write(dir.path(), "leak.env", &tok);
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        finding(&r, "slurm.jwt")["locations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn gitignored_files_are_skipped_unless_no_ignore_and_hidden_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), ".gitignore", "*.local\n");
    write(dir.path(), "secrets.local", slurm_line());
    write(
        dir.path(),
        ".hidden/.env",
        mint("PALMETTO_API_KEY={{alnum 40}}\n"),
    );
    write(dir.path(), ".git/config", slurm_line()); // never read as a file
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(rule_ids(&r), vec!["palmetto.api_key"]);
    let (_, r) = scan_json(dir.path(), &["--no-ignore"]);
    assert_eq!(rule_ids(&r), vec!["palmetto.api_key", "slurm.jwt"]);
    assert_eq!(
        finding(&r, "slurm.jwt")["locations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn exclude_flag_and_multiple_roots() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let tok = slurm_line();
    write(a.path(), "one.env", &tok);
    write(a.path(), "vendor/two.env", &tok);
    write(b.path(), "three.env", &tok);
    let out = tw()
        .arg("scan")
        .arg(a.path())
        .arg(b.path())
        .args(["--exclude", "vendor/**", "--format", "json"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let locs = finding(&r, "slurm.jwt")["locations"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(locs.len(), 2, "{locs:#?}");
    // With several roots, paths keep their root so they stay unambiguous.
    assert!(
        locs.iter()
            .all(|l| l["path"].as_str().unwrap().starts_with('/')),
        "{locs:#?}"
    );
}

#[test]
fn gitleaks_rules_can_be_imported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "gitleaks.toml",
        r#"
[[rules]]
id = "internal-api-key"
description = "Internal API key"
regex = '''(?i)internal[_-]?key\s*=\s*['"]?([a-z0-9]{32})'''
secretGroup = 1
keywords = ["internal"]
[rules.allowlist]
stopwords = ["deadbeef"]
"#,
    );
    write(
        dir.path(),
        "src/conf.ini",
        mint("INTERNAL_KEY={{lower 32}}\nINTERNAL_KEY=deadbeef{{lower 24}}\n"),
    );
    let (code, r) = scan_json(
        &dir.path().join("src"),
        &[
            "--rules-from",
            dir.path().join("gitleaks.toml").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(rule_ids(&r), vec!["gitleaks.internal-api-key"]);
    assert_eq!(
        finding(&r, "gitleaks.internal-api-key")["locations"][0]["line"],
        1
    );
}

#[test]
fn user_rules_from_file_and_config() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".tokenwarden.toml",
        r#"
[[rule]]
id = "site.portal_key"
name = "Site portal key"
facility = "site"
severity = "high"
keywords = ["PORTAL_KEY"]
pattern = 'PORTAL_KEY=(?P<secret>pk_[a-z0-9]{24})'
remediation = "Rotate it in the portal."
"#,
    );
    write(
        dir.path(),
        "deploy.env",
        mint("PORTAL_KEY=pk_{{lower 24}}\n"),
    );
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(finding(&r, "site.portal_key")["facility"], "site");
    // A user rule cannot take a built-in id.
    write(
        dir.path(),
        ".tokenwarden.toml",
        "[[rule]]\nid = \"slurm.jwt\"\nname = \"x\"\nfacility = \"x\"\nseverity = \"low\"\npattern = \"x\"\nremediation = \"x\"\n",
    );
    tw().arg("scan")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("duplicate rule id"));
}

/// The shapes found in gitleaks' own default config: a global allowlist, inline flags in the
/// middle of a pattern, `\x60`, `(?-i:…)`, and a rule whose alternatives each capture a group
/// (no `secretGroup`: the first group that took part is the secret, as in gitleaks).
#[test]
fn gitleaks_default_config_shapes_import_and_behave_like_gitleaks() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "gl.toml",
        r#"
title = "gitleaks config"
[allowlist]
description = "global allow lists"
paths = ['''(?:^|/)node_modules(?:/.*)?$''']
regexes = ['''^\$(?:[A-Z_]+|[a-z_]+)$''']
stopwords = ["abcdefghijklmnopqrstuvwxyz"]

[[rules]]
id = "demo-token"
description = "Demo service token"
regex = '''(?i)[\w.-]{0,50}?(?:(?-i:DEMO|[Dd]emo))(?:[ \t\w.-]{0,20})[\s'"]{0,3}(?:=|:)[\x60'"\s=]{0,5}([a-z0-9]{24})(?:[\x60'"\s;]|$)|\b(DMT3[A-Za-z0-9_\-=]{40})(?:[\x60'"\s;]|$)'''
entropy = 3
keywords = ["demo", "dmt3"]

[[rules]]
id = "mid-flag"
regex = '''\b(p9x-(?i)[a-z0-9]{32})(?:[\x60'"\s;]|$)'''
keywords = ["p9x-"]
"#,
    );
    let dmt = mint("DMT3{{alnum 40}}");
    write(
        dir.path(),
        "src/app.cfg",
        format!(
            "demo_key = \"{}\"\nother = {dmt}\nflag = p9x-{}\ndemo_key = \"$DEMO_KEY\"\n",
            mint("{{lower 24}}"),
            mint("{{alnum 32}}")
        ),
    );
    let rules = dir.path().join("gl.toml");
    let out = tw()
        .arg("scan")
        .arg(dir.path().join("src"))
        .args(["--format", "json", "--rules-from"])
        .arg(&rules)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("global allowlist `paths` are not imported"),
        "{stderr}"
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let demos: Vec<&serde_json::Value> = findings(&r)
        .iter()
        .filter(|f| f["rule_id"] == "gitleaks.demo-token")
        .collect();
    assert_eq!(demos.len(), 2, "{r:#}");
    // The second alternative's group is the secret, not the whole match with its delimiter.
    let dmt_finding = demos
        .iter()
        .find(|f| f["preview"].as_str().unwrap().starts_with("DMT3"))
        .unwrap();
    assert_eq!(dmt_finding["preview"].as_str().unwrap(), "DMT3…(44 chars)");
    assert_eq!(finding(&r, "gitleaks.mid-flag")["locations"][0]["line"], 3);
}

#[test]
fn allow_entries_suppress_a_secret_by_fingerprint_and_stale_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.env", slurm_line());
    write(dir.path(), "b.env", mint("MUNGE:AwQ{{b64 80}}:\n"));
    let (_, r) = scan_json(dir.path(), &[]);
    let fp = finding(&r, "slurm.jwt")["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    write(
        dir.path(),
        ".tokenwarden.toml",
        format!(
            "[[allow]]\nfingerprint = \"{fp}\"\nreason = \"synthetic\"\n\
             [[allow]]\nfingerprint = \"tw1:00000000000000000000000000000000\"\nreason = \"gone\"\n"
        ),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(rule_ids(&r), vec!["munge.credential"]);
    let notes = r["summary"]["notes"].to_string();
    assert!(notes.contains("matched nothing: tw1:0000"), "{notes}");
    assert!(!notes.contains(&fp), "{notes}");
    // An entry without a reason is refused: an allowlist must be reviewable.
    write(
        dir.path(),
        ".tokenwarden.toml",
        format!("[[allow]]\nfingerprint = \"{fp}\"\n"),
    );
    let out = tw().arg("scan").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A repository's `.tokenwarden.toml` can narrow what is scanned and reported, never send a
/// token anywhere: endpoint sections, network or revocation switches are not part of its schema,
/// so a hostile one is refused (exit 2, naming the key) and nothing is sent — not even with
/// `scan --verify`, whose endpoints come only from the user's own config.
#[test]
fn a_hostile_repository_config_cannot_redirect_or_enable_anything() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = mint(
        r#"S3M_TOKEN={{jwt RS256 {"type":"opat","aud":["api.olcf.ornl.gov"],"description":"x","jti":"@uuid","iat":"@now","nbf":"@now"}}}"#,
    );
    write(dir.path(), "deploy.env", format!("{token}\n"));
    for hostile in [
        format!("[s3m]\nurl = \"http://127.0.0.1:{port}\"\n"),
        "verify = true\n".to_string(),
        "[lifecycle]\nrevoke = true\n".to_string(),
        format!("[globus]\nauth_url = \"http://127.0.0.1:{port}\"\n"),
    ] {
        write(dir.path(), ".tokenwarden.toml", &hostile);
        let out = tw()
            .arg("scan")
            .arg(dir.path())
            .args(["--verify", "--audit-log"])
            .arg(dir.path().join("audit.jsonl"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{hostile}: {err}");
        assert!(err.contains("unknown field"), "{hostile}: {err}");
        assert!(!err.contains(&token[10..]), "{err}");
    }
    assert!(
        listener.accept().is_err(),
        "nothing may connect to the address a repository names"
    );
}
