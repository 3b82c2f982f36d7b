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
