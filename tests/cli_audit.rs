//! `tokenwarden audit`: a real process with a token on its command line, and a home directory
//! with token stores of several kinds and permissions.

mod common;
use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn audit(args: &[&str]) -> (i32, Value) {
    let out = tw()
        .arg("audit")
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

/// Kills the child by PID when dropped, so a failing assertion leaves nothing running.
struct Reaped(std::process::Child);
impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_token_on_a_live_command_line_is_reported_redacted_with_its_pid() {
    let token = mint(r#"{{jwt {"exp":"@now+3600","iat":"@now","sun":"alice"}}}"#);
    let child = Command::new("sh")
        .args([
            "-c",
            "sleep 30",
            "tw-audit-test",
            &format!("X-SLURM-USER-TOKEN:{token}"),
        ])
        .env("SLURM_JWT", &token)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let child = Reaped(child);
    let pid = child.0.id();
    let (code, v) = audit(&["--processes"]);
    assert_eq!(code, 1);
    let hits: Vec<&Value> = v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["path"] == format!("/proc/{pid}/cmdline"))
        .collect();
    assert_eq!(hits.len(), 1, "{v:#}");
    let msg = hits[0]["message"].as_str().unwrap();
    assert!(msg.contains("X-SLURM-USER-TOKEN:<redacted>"), "{msg}");
    // Its environment (a process of ours) holds SLURM_JWT too: a finding, by name only.
    let env = v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["path"] == format!("/proc/{pid}/environ"))
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(env["message"].as_str().unwrap().contains("SLURM_JWT"));
    assert!(!serde_json::to_string(&v).unwrap().contains(&token));
    drop(child);
}

#[test]
fn token_stores_are_inventoried_and_loose_permissions_fail_the_audit_until_fixed() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let jwt = mint(r#"{{jwt {"exp":"@now+86400","iat":"@now","type":"opat","project":"abc123"}}}"#);
    write(
        h,
        ".local/share/s3m/auth.json",
        serde_json::json!({"default|abc123": {"token": jwt}}).to_string(),
    );
    let store = h.join(".local/share/s3m/auth.json");
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(
        h.join(".local/share/s3m"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let (code, v) = audit(&["--home", h.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    // `--home` alone, as the README writes it, is $HOME.
    let out = tw()
        .args(["audit", "--format", "json", "--home"])
        .env("HOME", h)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let alone: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(alone["hygiene"], v["hygiene"]);
    let checks: Vec<(String, String)> = v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["check"].as_str().unwrap().into(),
                x["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        checks,
        vec![
            ("hygiene.token_store".to_string(), "info".to_string()),
            (
                "hygiene.token_store_permissions".to_string(),
                "high".to_string()
            ),
        ]
    );
    assert!(
        v["hygiene"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1 access token(s)")
    );
    assert!(!serde_json::to_string(&v).unwrap().contains(&jwt));
    // The fix it names works.
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, v) = audit(&["--home", h.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    // SARIF too.
    let out = tw()
        .args(["audit", "--format", "sarif", "--home"])
        .arg(h)
        .output()
        .unwrap();
    validate_sarif(&serde_json::from_slice(&out.stdout).unwrap());
}

/// A repository whose only secret (a Slurm JWT) is in history, and a user config whose Slurm
/// endpoint is `url`.
fn history_leak(url: &str) -> (common::repo::Repo, tempfile::TempDir) {
    let r = common::repo::Repo::new();
    let tok = slurm_jwt(b"a-key-of-this-cluster-only-0123456789", "alice", 3600);
    r.commit("job.env", &format!("SLURM_JWT={tok}\n"), "add");
    r.git(&["rm", "-q", "job.env"]);
    r.git(&["commit", "-qm", "remove"]);
    let cfg = tempfile::tempdir().unwrap();
    std::fs::write(
        cfg.path().join("config.toml"),
        format!("[slurm]\nurl = \"{url}\"\nversion = \"v0.0.40\"\n[http]\nretries = 0\n"),
    )
    .unwrap();
    (r, cfg)
}

fn audit_in(
    r: &common::repo::Repo,
    cfg: &tempfile::TempDir,
    extra: &[&str],
) -> std::process::Output {
    tw().arg("audit")
        .arg(&r.dir)
        .args(extra)
        .arg("--audit-log")
        .arg(cfg.path().join("audit.jsonl"))
        .env("TOKENWARDEN_CONFIG", cfg.path().join("config.toml"))
        .env("HOME", &r.home)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

#[test]
fn a_dry_run_says_it_asks_the_issuers_and_offline_sends_nothing() {
    let server = common::echo::start(common::echo::Echo::JsonFields, 10);
    let (r, cfg) = history_leak(&server.url);
    let out = audit_in(&r, &cfg, &["--revoke", "--dry-run", "--offline"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");
    assert!(
        err.contains("offline: no secret was sent anywhere"),
        "{err}"
    );
    assert_eq!(*server.seen.lock().unwrap(), 0, "offline sent a token");
    let out = audit_in(&r, &cfg, &["--revoke", "--dry-run"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("asked of each secret's own issuer"), "{err}");
    assert!(*server.seen.lock().unwrap() >= 1);
    // Offline revoking is a contradiction, refused before anything is read.
    let out = audit_in(&r, &cfg, &["--revoke", "--offline", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let help = String::from_utf8_lossy(&tw().args(["audit", "--help"]).output().unwrap().stdout)
        .into_owned();
    assert!(help.contains("--offline"), "{help}");
    // The summary says the history was read, not "0 files".
    let out = audit_in(&r, &cfg, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("from 2 commits"), "{text}");
}

#[test]
fn the_notice_to_the_facility_holds_what_it_needs_only() {
    // An issuer that cannot be reached: liveness unknown, with a transport error chain.
    let (r, cfg) = history_leak(&common::faultproxy::refused_url());
    let report = cfg.path().join("incident");
    let out = audit_in(
        &r,
        &cfg,
        &["--verify", "--report", report.to_str().unwrap()],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    let md = std::fs::read_to_string(report.join("incident.md")).unwrap();
    let notice = md
        .split("```text")
        .nth(1)
        .and_then(|n| n.split("```").next())
        .expect("a notice");
    assert!(notice.contains("alice"), "{notice}");
    for noise in [
        "Please:",
        "connection failed",
        "error sending request",
        "127.0.0.1",
    ] {
        assert!(!notice.contains(noise), "{noise} in the notice:\n{notice}");
    }
}
