//! What tokenwarden writes, and where: a report, a baseline or an incident file never replaces
//! a device, never follows or replaces a symlink, and `-o /dev/null` or `-o /dev/stdout` means
//! what a user means by it — as root and as an unprivileged user (issue 16, item 1).
//!
//! The root case uses a character device made with `mknod` in a temporary directory (the same
//! device as `/dev/null`): a regression then damages a scratch node, not the machine.

mod common;
use common::*;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::time::Duration;

/// A world-readable tree holding one finding.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("job.env"),
        format!(
            "SLURM_JWT={}\n",
            slurm_jwt(b"a-key-of-this-cluster-only-0123456789", "alice", 3600)
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path(), &dir.path().join("job.env")] {
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    dir
}

fn scan_to(tree: &Path, out: &Path, as_nobody: bool) -> std::process::Output {
    let mut cmd = if as_nobody {
        tw_unprivileged()
    } else {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("tokenwarden"))
    };
    cmd.arg("scan")
        .arg(tree)
        .args(["--no-progress", "--format", "sarif", "-o"])
        .arg(out)
        .env("HOME", tree)
        .output()
        .unwrap()
}

#[test]
fn a_character_device_at_the_output_path_is_written_to_not_replaced() {
    let t = tree();
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("null");
    let made = std::process::Command::new("mknod")
        .arg(&node)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        // Not root, or no CAP_MKNOD: the unprivileged test below covers /dev/null itself.
        eprintln!("skipped: mknod is not allowed here");
        return;
    }
    let out = scan_to(t.path(), &node, false);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let meta = std::fs::symlink_metadata(&node).unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "the device was replaced by {:?}",
        meta.file_type()
    );
    // No temporary file left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn dev_null_works_for_an_unprivileged_user() {
    if euid() != 0 {
        let t = tree();
        let out = scan_to(t.path(), Path::new("/dev/null"), false);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        return;
    }
    let t = tree();
    let out = scan_to(t.path(), Path::new("/dev/null"), true);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("/dev/.tokenwarden"), "{err}");
    assert!(
        std::fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn a_symlink_at_the_output_path_is_refused_and_left_alone() {
    let t = tree();
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let link = dir.path().join("report.sarif");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = scan_to(t.path(), &link, false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is a symbolic link"), "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    // A dangling link is refused too, and nothing is created at its target.
    let dangling = dir.path().join("dangling.sarif");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let out = scan_to(t.path(), &dangling, false);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!dir.path().join("nowhere").exists());
}

#[test]
fn dev_stdout_and_a_fifo_get_the_report() {
    let t = tree();
    let out = tw()
        .arg("scan")
        .arg(t.path())
        .args(["--no-progress", "--format", "json", "-o", "/dev/stdout"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rule_ids(&v), vec!["slurm.jwt"]);

    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).unwrap())
    };
    let out = tw()
        .arg("scan")
        .arg(t.path())
        .args(["--no-progress", "--format", "json", "-o"])
        .arg(&fifo)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let got = reader.join().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
    assert_eq!(rule_ids(&v), vec!["slurm.jwt"]);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn baselines_and_incident_reports_follow_the_same_rule() {
    let t = tree();
    let dir = tempfile::tempdir().unwrap();
    // A baseline written to a symlink: the target is a valid, empty baseline, so that only the
    // refusal to write through the link can stop the update.
    let victim = dir.path().join("victim");
    let empty = tempfile::tempdir().unwrap();
    let out = tw()
        .args(["baseline", "create"])
        .arg(empty.path())
        .arg("--file")
        .arg(&victim)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let before = std::fs::read_to_string(&victim).unwrap();
    let link = dir.path().join("baseline.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = tw()
        .args(["baseline", "update"])
        .arg(t.path())
        .arg("--file")
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is a symbolic link"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), before);
    std::fs::write(&victim, "precious\n").unwrap();
    // An incident report whose incident.md is a planted symlink.
    let report = dir.path().join("incident");
    std::fs::create_dir(&report).unwrap();
    std::os::unix::fs::symlink(&victim, report.join("incident.md")).unwrap();
    let out = tw()
        .arg("audit")
        .arg(t.path())
        .arg("--report")
        .arg(&report)
        .arg("--audit-log")
        .arg(dir.path().join("audit.jsonl"))
        .env("TOKENWARDEN_CONFIG", dir.path().join("none.toml"))
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is a symbolic link"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(
        std::fs::symlink_metadata(report.join("incident.md"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
