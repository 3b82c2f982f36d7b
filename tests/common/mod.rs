//! Shared helpers for the integration tests. Every token used in a test is minted here at run
//! time (templates from `tokenwarden::rules::template`); none is committed.
#![allow(dead_code)]

pub mod echo;
pub mod faultproxy;
pub mod oidc;
pub mod peers;
pub mod repo;
pub mod s3m;

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// The `tokenwarden` binary, with colour and fingerprint key taken out of the environment.
pub fn tw() -> Command {
    let mut c = Command::cargo_bin("tokenwarden").expect("binary builds");
    c.env_remove("NO_COLOR")
        .env_remove("TOKENWARDEN_FINGERPRINT_KEY")
        // The clients must not see the developer's own config or tokens.
        .env(
            "TOKENWARDEN_CONFIG",
            "/nonexistent/tokenwarden-test-config.toml",
        );
    // An installed tokenwarden on PATH would be pinned by `hook install` instead of the binary
    // under test: PATH without it.
    if let Some(path) = std::env::var_os("PATH") {
        let kept: Vec<_> = std::env::split_paths(&path)
            .filter(|d| !d.join("tokenwarden").exists())
            .collect();
        if let Ok(p) = std::env::join_paths(kept) {
            c.env("PATH", p);
        }
    }
    for var in [
        "SLURM_JWT",
        "PALMETTO_API_KEY",
        "S3M_TOKEN",
        "ALCF_IRI_TOKEN",
        "NERSC_IRI_TOKEN",
        "OLCF_IRI_TOKEN",
        "IRI_API_TOKEN",
    ] {
        c.env_remove(var);
    }
    c
}

/// Fails the test, showing the command's stderr, unless it exited 0.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The scan finished: exit 0 (nothing found) or 1 (findings), not 2 (could not scan).
pub fn assert_finished(out: &std::process::Output) {
    assert!(
        out.status.code().unwrap_or(2) < 2,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Expands a template such as `SLURM_JWT={{jwt {"sun":"a","exp":"@now+60"}}}`.
pub fn mint(template: &str) -> String {
    tokenwarden::rules::template::expand(template).expect("valid template")
}

/// Writes `content` to `dir/rel`, creating parent directories.
pub fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, content).unwrap();
}

/// Sets the mode of `dir/rel`. A credential file in no repository that others can read is a
/// finding of its own (`hygiene.credential_file_readable`); tests about something else make
/// theirs private, whatever the umask.
pub fn chmod(dir: &Path, rel: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join(rel), std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `tokenwarden scan <dir> --format json <extra…>` and returns (exit code, report).
pub fn scan_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let out = tw()
        .arg("scan")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}); exit {code}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

/// The findings array of a JSON report.
pub fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings array")
}

/// The rule ids of a report's findings, sorted.
pub fn rule_ids(report: &Value) -> Vec<String> {
    let mut ids: Vec<String> = findings(report)
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// The finding for `rule`, panicking with the report if absent.
pub fn finding<'a>(report: &'a Value, rule: &str) -> &'a Value {
    findings(report)
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {report:#}"))
}

/// Validates a SARIF document against the official 2.1.0 schema in fixtures/.
pub fn validate_sarif(doc: &Value) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sarif-schema-2.1.0.json"
    );
    let idx = compiler
        .compile(schema, &mut schemas)
        .expect("schema compiles");
    if let Err(e) = schemas.validate(doc, idx) {
        panic!("SARIF does not validate:\n{e:#}\n{doc:#}");
    }
}

/// `git` run in `dir` with a private `HOME` (so global config is the test's own), no system
/// config, a fixed identity and no commit signing.
pub fn git_command(dir: &Path, home: &Path) -> std::process::Command {
    let mut c = std::process::Command::new("git");
    c.current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Alice Example")
        .env("GIT_AUTHOR_EMAIL", "alice@example.org")
        .env("GIT_COMMITTER_NAME", "Alice Example")
        .env("GIT_COMMITTER_EMAIL", "alice@example.org")
        .args(["-c", "commit.gpgsign=false"]);
    c
}

/// Runs a git command, failing the test with git's stderr if it fails; returns its stdout.
pub fn run_git(mut cmd: std::process::Command, args: &[&str]) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An HS256 Slurm JWT for `user`, signed with `key` (a cluster's `jwt_hs256.key`, or another),
/// expiring `exp_offset` seconds from now.
pub fn slurm_jwt(key: &[u8], user: &str, exp_offset: i64) -> String {
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let head = b64(&serde_json::json!({"alg": "HS256", "typ": "JWT"}));
    let body = b64(&serde_json::json!({"exp": now + exp_offset, "iat": now - 60, "sun": user}));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{sig}")
}

/// The effective uid, read from /proc so that the tests need no `unsafe` libc call.
pub fn euid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2))
                .and_then(|u| u.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

/// `tokenwarden` as `nobody` (via `setpriv`) when the tests run as root, where permissions do
/// not bite; as is otherwise.
pub fn tw_unprivileged() -> std::process::Command {
    let bin = assert_cmd::cargo::cargo_bin("tokenwarden");
    if euid() == 0 {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    }
}

/// Makes a FIFO at `p` (with the `mkfifo` program: no `unsafe` libc call in the tests).
pub fn mkfifo(p: &Path) {
    assert!(
        std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap()
            .success(),
        "mkfifo {}",
        p.display()
    );
}
