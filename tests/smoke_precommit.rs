//! The real pre-commit framework (PyPI `pre-commit`) runs tokenwarden through this repository's
//! `.pre-commit-hooks.yaml`: `pre-commit try-repo` builds it with cargo (`language: rust`), then
//! blocks a commit that stages an S3M token and passes a clean one.
//!
//! CI installs pre-commit (`.ci/run`). Elsewhere, without it, the test says so and returns; with
//! `CI` set, a missing pre-commit is a failure, so this test cannot pass vacuously in CI.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn have_pre_commit() -> bool {
    Command::new("python3")
        .args(["-c", "import pre_commit"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn try_repo(dir: &Path) -> Output {
    let project = env!("CARGO_MANIFEST_DIR");
    Command::new("python3")
        .current_dir(dir)
        .args([
            "-m",
            "pre_commit",
            "try-repo",
            project,
            "tokenwarden",
            "--verbose",
        ])
        // Reused across runs: pre-commit builds tokenwarden once per project revision.
        .env(
            "PRE_COMMIT_HOME",
            Path::new(project).join("target/pre-commit-home"),
        )
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .unwrap()
}

#[test]
fn pre_commit_framework_blocks_a_planted_s3m_token_and_passes_a_clean_commit() {
    if !have_pre_commit() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install pre-commit (see .ci/run)"
        );
        // Past the harness's capture, so a plain `cargo test` shows it.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped smoke_precommit: pre-commit is not installed (`python3 -m pip install \
             pre-commit` runs it; with CI=true a missing pre-commit fails)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let token = mint(
        r#"{{jwt RS256 {"description":"laptop","type":"opat","aud":["api.olcf.ornl.gov"],"iat":"@now"}}}"#,
    );
    write(dir.path(), ".env", format!("Authorization: {token}\n"));
    git(dir.path(), &["add", ".env"]);
    let out = try_repo(dir.path());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the planted token was not blocked:\n{all}"
    );
    assert!(all.contains("s3m.opat"), "{all}");
    assert!(!all.contains(&token), "the hook printed the token:\n{all}");

    git(dir.path(), &["rm", "-q", "--cached", ".env"]);
    write(dir.path(), "README.md", "nothing secret here\n");
    git(dir.path(), &["add", "README.md"]);
    let out = try_repo(dir.path());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "a clean commit was blocked:\n{all}");
    assert!(all.contains("Passed"), "{all}");
}
