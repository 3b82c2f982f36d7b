//! The command line: exit codes, formats, output files, colour, redaction.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

fn leaky_dir() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let token = mint(r#"{{jwt {"exp":"@now+3600","iat":"@now","sun":"alice"}}}"#);
    write(
        dir.path(),
        "job.sh",
        format!("#!/bin/bash\nexport SLURM_JWT={token}\nsrun hostname\n"),
    );
    (dir, token)
}

#[test]
fn exit_codes_are_0_clean_1_findings_2_errors() {
    let clean = tempfile::tempdir().unwrap();
    write(clean.path(), "a.txt", "nothing to see\n");
    tw().arg("scan").arg(clean.path()).assert().code(0);

    let (dir, _) = leaky_dir();
    tw().arg("scan").arg(dir.path()).assert().code(1);

    tw().arg("scan")
        .arg(clean.path().join("does-not-exist"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot scan"));
    tw().args(["scan", "--no-such-flag"]).assert().code(2);
    tw().args(["scan", "--fail-on", "severe"]).assert().code(2);
}

#[test]
fn fail_on_threshold_decides_the_exit_code() {
    let (dir, _) = leaky_dir(); // a live Slurm JWT: high
    tw().arg("scan")
        .arg(dir.path())
        .args(["--fail-on", "critical"])
        .assert()
        .code(0);
    tw().arg("scan")
        .arg(dir.path())
        .args(["--fail-on", "high"])
        .assert()
        .code(1);
}

#[test]
fn secrets_are_redacted_in_every_format_unless_asked() {
    let (dir, token) = leaky_dir();
    for (format, color) in [
        ("text", "never"),
        ("text", "always"),
        ("json", "never"),
        ("jsonl", "never"),
        ("sarif", "never"),
        ("gitlab", "never"),
    ] {
        let out = tw()
            .arg("scan")
            .arg(dir.path())
            .args(["--format", format, "--color", color])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        let text = String::from_utf8_lossy(&all);
        assert!(!text.contains(&token), "{format} leaked the token");
        // Not even the signature or payload parts on their own.
        for part in token.split('.').skip(1) {
            assert!(!text.contains(part), "{format} leaked a token part");
        }
        assert!(
            text.contains("eyJh…("),
            "{format} shows no preview:\n{text}"
        );
    }
    let out = tw()
        .arg("scan")
        .arg(dir.path())
        .args(["--format", "json", "--show-secrets"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["secret"], token.as_str());
}

#[test]
fn text_report_names_rule_location_token_facts_and_fix() {
    let (dir, _) = leaky_dir();
    let out = tw().arg("scan").arg(dir.path()).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("slurm.jwt"), "{text}");
    assert!(text.contains("job.sh:2:18"), "{text}");
    assert!(text.contains("user alice"), "{text}");
    assert!(text.contains("expires"), "{text}");
    assert!(
        text.contains("jwt_hs256.key"),
        "remediation missing: {text}"
    );
    assert!(text.contains("1 finding (1 high)"), "{text}");
    assert!(!text.contains("\x1b["), "colour on a pipe: {text}");
}

#[test]
fn colour_is_forced_by_always_and_off_by_default_on_pipes() {
    let (dir, _) = leaky_dir();
    let out = tw()
        .arg("scan")
        .arg(dir.path())
        .args(["--color", "always"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b["));
    let out = tw()
        .arg("scan")
        .arg(dir.path())
        .args(["--color", "never"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\x1b["));
}

#[test]
fn output_file_is_private_and_complete() {
    let (dir, _) = leaky_dir();
    let out_dir = tempfile::tempdir().unwrap();
    let report = out_dir.path().join("report.json");
    tw().arg("scan")
        .arg(dir.path())
        .args(["--format", "json", "--output"])
        .arg(&report)
        .assert()
        .code(1)
        .stdout("");
    let mode = std::fs::metadata(&report).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(v["summary"]["findings"], 1);
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(out_dir.path()).unwrap().count(), 1);
}

#[test]
fn jsonl_is_one_finding_per_line() {
    let (dir, _) = leaky_dir();
    write(dir.path(), "b.env", mint("PALMETTO_API_KEY={{alnum 40}}\n"));
    chmod(dir.path(), "b.env", 0o644);
    let out = tw()
        .arg("scan")
        .arg(dir.path())
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Two secrets, then the hygiene findings: b.env is in no repository and every user can
    // read it (written with the test's umask), and job.sh exports a literal.
    assert_eq!(lines.len(), 4, "{text}");
    for v in &lines[..2] {
        assert!(v["fingerprint"].as_str().unwrap().starts_with("tw1:"));
    }
    assert_eq!(lines[2]["check"], "hygiene.credential_file_readable");
    assert_eq!(lines[2]["path"], "b.env");
    assert_eq!(lines[3]["check"], "hygiene.token_exported");
    assert_eq!(lines[3]["path"], "job.sh");
}

#[test]
fn rules_list_and_check() {
    tw().args(["rules", "list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("s3m.opat"))
        .stdout(predicates::str::contains("munge.key_file"));
    let out = tw()
        .args(["rules", "list", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 30);
    tw().args(["rules", "check"])
        .assert()
        .success()
        .stdout(predicates::str::contains(" 0 failed"));
}

#[test]
fn rules_check_fails_on_a_broken_user_rule() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mine.toml",
        r#"
[[rule]]
id = "mine.key"
name = "My key"
facility = "mine"
severity = "high"
keywords = ["MYKEY"]
pattern = 'MYKEY=(?P<secret>[a-z]{10})'
remediation = "rotate"
examples = ["MYKEY=ABCDEFGHIJ"]
negative_examples = ["MYKEY=qzmvkrtwpl"]
"#,
    );
    tw().args(["rules", "check", "--rules"])
        .arg(dir.path().join("mine.toml"))
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "FAIL mine.key: example not found",
        ))
        .stdout(predicates::str::contains(
            "FAIL mine.key: negative example was found",
        ));
}

#[test]
fn a_user_rule_with_a_broken_regex_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.toml",
        "[[rule]]\nid = \"mine.bad\"\nname = \"x\"\nfacility = \"x\"\nseverity = \"low\"\nkeywords = [\"k\"]\npattern = 'k=(unclosed'\nremediation = \"x\"\n",
    );
    for sub in [&["scan"][..], &["rules", "check"][..]] {
        tw().args(sub)
            .arg("--rules")
            .arg(dir.path().join("bad.toml"))
            .arg(if sub[0] == "scan" {
                dir.path().to_str().unwrap()
            } else {
                "--disable-rule=none"
            })
            .assert()
            .code(2)
            .stderr(predicates::str::contains("rule `mine.bad`"));
    }
}

/// On a terminal (progress line, colours, the hygiene and history sections) nothing shows a
/// secret either: the terminal is a pseudo-terminal from `script`, which records every byte
/// the scan wrote to it.
#[test]
fn a_terminal_sees_no_secret() {
    let (dir, token) = leaky_dir();
    write(dir.path(), ".env", format!("SLURM_JWT={token}\n"));
    let bin = assert_cmd::cargo::cargo_bin!("tokenwarden");
    for args in ["", "--color always", "--format json", "--show-secrets"] {
        let cmd = format!("{} scan {} {args}", bin.display(), dir.path().display());
        let out = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env_remove("NO_COLOR")
            .env(
                "TOKENWARDEN_CONFIG",
                "/nonexistent/tokenwarden-test-config.toml",
            )
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let all = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        if args == "--show-secrets" {
            // The control: asked for, the secret does reach the terminal.
            assert!(all.contains(&token), "{all}");
        } else {
            assert!(
                !all.contains(&token),
                "{args}: the token reached the terminal"
            );
            assert!(all.contains("eyJh…("), "{args}: no finding shown:\n{all}");
        }
    }
}
