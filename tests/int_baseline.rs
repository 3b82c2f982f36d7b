//! Baselines and `--no-inline-allow`: a team accepts what is there today and CI reports only
//! what is new; the baseline holds fingerprints only and changes by small, sorted diffs.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

fn baseline(dir: &Path, verb: &str, file: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = tw()
        .args(["baseline", verb, "--file"])
        .arg(file)
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fingerprints(report: &Value) -> Vec<String> {
    findings(report)
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_baseline_suppresses_old_findings_and_still_reports_a_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let old_jwt = mint(r#"{{jwt {"sun":"alice","exp":"@now+900"}}}"#);
    write(&dir, "old/job.sh", format!("export SLURM_JWT={old_jwt}\n"));
    write(
        &dir,
        "old/.env",
        "PALMETTO_API_KEY=".to_string() + &mint("{{alnum 48}}") + "\n",
    );
    chmod(&dir, "old/.env", 0o600);
    let file = tmp.path().join("baseline.json");

    let (code, out, err) = baseline(&dir, "create", &file, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 finding(s)"), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&old_jwt), "no plaintext in the baseline");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the baseline is private");
    assert!(!text.contains("\"line\""), "no line numbers: {text}");
    // Refuses to overwrite; update is the way.
    let (code, _, err) = baseline(&dir, "create", &file, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("baseline update"), "{err}");

    // Nothing new: exit 0, the old ones listed as suppressed with reason "baseline".
    let (code, rep) = scan_json(&dir, &["--baseline", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{rep:#}");
    assert!(findings(&rep).is_empty());
    let suppressed = rep["suppressed"].as_array().unwrap();
    assert!(suppressed.iter().any(|s| s["reason"] == "baseline"));
    // Moving the old secret down a few lines changes nothing (no line numbers).
    write(
        &dir,
        "old/job.sh",
        format!("#!/bin/sh\n\n# moved\nexport SLURM_JWT={old_jwt}\n"),
    );
    let (code, _) = scan_json(&dir, &["--baseline", file.to_str().unwrap()]);
    assert_eq!(code, 0);

    // A new secret is reported, and only it.
    let new_jwt = mint(r#"{{jwt {"sun":"bob","exp":"@now+900"}}}"#);
    write(&dir, "new/run.sh", format!("SLURM_JWT={new_jwt}\n"));
    let (code, rep) = scan_json(&dir, &["--baseline", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(findings(&rep).len(), 1, "{rep:#}");
    assert_eq!(findings(&rep)[0]["locations"][0]["path"], "new/run.sh");

    // update: adds the new one and drops a fixed one, by a small sorted diff.
    std::fs::remove_file(dir.join("old/.env")).unwrap();
    let before: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let (code, out, err) = baseline(&dir, "update", &file, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 added, 1 removed"), "{out}");
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let fps = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    let mut sorted = fps(&after);
    sorted.sort();
    assert_eq!(fps(&after), sorted, "entries are sorted");
    assert_ne!(fps(&before), fps(&after));
    let (code, _) = scan_json(&dir, &["--baseline", file.to_str().unwrap()]);
    assert_eq!(code, 0);

    // A baseline entry that matches nothing any more is named as stale.
    let (_, rep) = scan_json(
        &tmp.path().join("repo/new"),
        &["--baseline", file.to_str().unwrap()],
    );
    let notes = rep["summary"]["notes"].to_string();
    assert!(notes.contains("matched nothing"), "{notes}");

    // Another fingerprint key: refused, not silently ignored.
    let out = tw()
        .env("TOKENWARDEN_FINGERPRINT_KEY", "site-key")
        .arg("scan")
        .arg(&dir)
        .arg("--baseline")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another fingerprint key"));
}

#[test]
fn the_config_names_the_baseline_and_no_inline_allow_ignores_allow_comments() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let jwt = mint(r#"{{jwt {"sun":"alice","exp":"@now+900"}}}"#);
    write(dir, "a.sh", format!("export SLURM_JWT={jwt}\n"));
    let (code, _, err) = baseline(dir, "create", &dir.join("ci/baseline.json"), &[]);
    assert_eq!(code, 0, "{err}");
    write(
        dir,
        ".tokenwarden.toml",
        "baseline = \"ci/baseline.json\"\n",
    );
    let (code, rep) = scan_json(dir, &[]);
    assert_eq!(code, 0, "{rep:#}");

    let other = mint(r#"{{jwt {"sun":"carol","exp":"@now+900"}}}"#);
    write(
        dir,
        "b.txt",
        format!("token = {other}  # tokenwarden:allow test fixture\n"),
    );
    let (code, rep) = scan_json(dir, &[]);
    assert_eq!(code, 0, "the allow comment is honoured: {rep:#}");
    let (code, rep) = scan_json(dir, &["--no-inline-allow"]);
    assert_eq!(code, 1, "{rep:#}");
    assert_eq!(fingerprints(&rep).len(), 1);
}
