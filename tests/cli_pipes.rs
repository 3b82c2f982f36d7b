//! A closed standard output (the reader of a pipe went away: `| head -1`, `| true`) ends every
//! command quietly: no panic, no "Broken pipe" message, and the exit code the command would
//! have had anyway — 0, or 1 when a scan found something, so `scan | head` in CI still fails on
//! a finding (issue 16, item 2).
//!
//! The pipe's read end is closed before the command starts, so every write fails: no race with
//! how much output fits in the pipe's buffer.

mod common;
use common::*;

fn closed_stdout(cmd: &mut std::process::Command) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = cmd
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.wait_with_output().unwrap()
}

fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("tokenwarden"));
    c.env(
        "TOKENWARDEN_CONFIG",
        "/nonexistent/tokenwarden-test-config.toml",
    )
    .env_remove("SLURM_JWT");
    c
}

#[test]
fn every_command_ends_quietly_when_its_reader_goes_away() {
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "a.txt", "nothing here\n");
    let leak = tempfile::tempdir().unwrap();
    write(
        leak.path(),
        "job.env",
        format!(
            "SLURM_JWT={}\n",
            slurm_jwt(b"a-key-of-this-cluster-only-0123456789", "alice", 3600)
        ),
    );
    let t = tree.path().to_str().unwrap();
    let l = leak.path().to_str().unwrap();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["rules", "list"], 0),
        (vec!["rules", "list", "--format", "json"], 0),
        (vec!["rules", "check"], 0),
        (vec!["completions", "bash"], 0),
        (vec!["man"], 0),
        (vec!["--help"], 0),
        (vec!["scan", t], 0),
        (vec!["scan", t, "--format", "json"], 0),
        (vec!["scan", l], 1),
        (vec!["scan", l, "--format", "sarif"], 1),
        (vec!["scan", l, "--format", "jsonl"], 1),
        // `-o /dev/stdout` is standard output: the verdict stands when its reader is gone.
        (vec!["scan", l, "--format", "json", "-o", "/dev/stdout"], 1),
    ];
    for (args, code) in cases {
        let out = closed_stdout(bin().args(&args));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            !err.contains("Broken pipe") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_client_command_ends_quietly_when_its_reader_goes_away() {
    let tok = slurm_jwt(b"a-key-of-this-cluster-only-0123456789", "alice", 3600);
    for json in [true, false] {
        let server = common::echo::start(common::echo::Echo::JsonFields, 2);
        let mut cmd = bin();
        cmd.args(["slurm", "--url", &server.url, "--api-version", "v0.0.40"])
            .env("SLURM_JWT", &tok)
            .env("USER", "alice");
        if json {
            cmd.arg("--json");
        }
        cmd.arg("ping");
        let out = closed_stdout(&mut cmd);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "json={json}: {err}");
        assert!(
            !err.contains("Broken pipe") && !err.contains("panicked"),
            "{err}"
        );
        assert_eq!(*server.seen.lock().unwrap(), 1);
    }
}
