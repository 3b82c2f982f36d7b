//! Rule 2 of the house for the programs tokenwarden starts: no secret in any child process's
//! argv (anyone on a shared login node can read argv in `ps`).
//!
//! tokenwarden starts exactly two programs: `git` (staged paths, pack order and object reads
//! through `git cat-file --batch`) and `munge` (a Palmetto credential per request). Here each
//! is replaced on PATH by a wrapper that records its argv (and, for munge, the credential it
//! printed) and then runs the real program. The scans and calls below hand tokens to
//! tokenwarden through files, history and the environment; none may show up in a recorded
//! argv. `only_git_and_munge_are_ever_started` keeps the list of programs honest.

mod common;
use common::peers::{peer, var};
use common::repo::Repo;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A directory of wrappers to put first on PATH, and the files they record into.
struct Wrappers {
    _tmp: tempfile::TempDir,
    bin: PathBuf,
    argv_log: PathBuf,
    cred_log: PathBuf,
}

/// The real program `name`, from PATH.
fn real(name: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .unwrap();
    let path = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(!path.is_empty(), "{name} is not installed");
    path
}

impl Wrappers {
    /// Wrappers for `programs` (of `git` and `munge`). Only what the test uses is looked up:
    /// `munge` exists once the Palmetto peer has been brought up, and a test that does not
    /// start that peer must not depend on it (on a fresh machine it is not installed yet).
    fn new(programs: &[&str]) -> Wrappers {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let argv_log = tmp.path().join("argv.log");
        let cred_log = tmp.path().join("credentials.log");
        // One line per start: the program, then each argument quoted by printf %q.
        let record = format!(
            "{{ printf '%s' \"$(basename \"$0\")\"; for a in \"$@\"; do printf ' %q' \"$a\"; done; \
             printf '\\n'; }} >> '{}'\n",
            argv_log.display()
        );
        let script = |name: &str| match name {
            "git" => format!("#!/bin/bash\n{record}exec '{}' \"$@\"\n", real("git")),
            "munge" => format!(
                "#!/bin/bash\n{record}cred=$('{}' \"$@\") || exit $?\nprintf '%s\\n' \"$cred\" \
                 >> '{}'\nprintf '%s\\n' \"$cred\"\n",
                real("munge"),
                cred_log.display()
            ),
            other => panic!("no wrapper for {other}"),
        };
        for name in programs {
            let text = script(name);
            let p = bin.join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Wrappers {
            _tmp: tmp,
            bin,
            argv_log,
            cred_log,
        }
    }

    /// PATH with the wrappers first.
    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn argvs(&self) -> String {
        std::fs::read_to_string(&self.argv_log).unwrap_or_default()
    }
}

/// `secret` appears in no recorded argv, whole or as any of its dot-separated parts.
fn assert_absent(argvs: &str, secret: &str, what: &str) {
    assert!(
        !argvs.contains(secret),
        "{what} in a child's argv:\n{argvs}"
    );
    for part in secret.split('.').filter(|p| p.len() >= 12) {
        assert!(
            !argvs.contains(part),
            "part of {what} in a child's argv:\n{argvs}"
        );
    }
}

#[test]
fn git_children_never_see_a_secret() {
    let w = Wrappers::new(&["git"]);
    let r = Repo::new();
    let old = mint(r#"{{jwt {"exp":"@now+3600","iat":"@now","sun":"alice"}}}"#);
    let staged = mint("PALMETTO_API_KEY={{alnum 40}}");
    let in_env = mint("S3M_TOKEN={{b64url 60}}");
    r.commit("README.md", "hello\n", "initial");
    r.commit("job.sh", &format!("export SLURM_JWT={old}\n"), "job");
    r.git(&["rm", "-q", "job.sh"]);
    r.git(&["commit", "-qm", "remove the token"]);
    write(&r.dir, "deploy.env", format!("{staged}\n"));
    r.git(&["add", "deploy.env"]);
    let run = |args: &[&str]| {
        let out = tw()
            .current_dir(&r.dir)
            .env("PATH", w.path())
            .env("HOME", &r.home)
            // Every object read goes through `git cat-file --batch`, not libgit2.
            .env("TOKENWARDEN_GIT_READER", "git")
            .env("S3M_TOKEN", in_env.trim_start_matches("S3M_TOKEN="))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} finds its secret: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["scan", "--git", ".", "--format", "json"]);
    run(&["scan", "--staged", "--format", "json"]);
    run(&[
        "audit",
        ".",
        "--format",
        "json",
        "--audit-log",
        "../audit.jsonl",
    ]);
    let argvs = w.argvs();
    for expected in [
        "cat-file --batch\n",
        "cat-file --batch-all-objects",
        "diff --cached",
    ] {
        assert!(
            argvs.contains(expected),
            "no `{expected}` was run:\n{argvs}"
        );
    }
    assert_absent(&argvs, &old, "a token from history");
    assert_absent(
        &argvs,
        staged.trim_start_matches("PALMETTO_API_KEY="),
        "a staged key",
    );
    assert_absent(
        &argvs,
        in_env.trim_start_matches("S3M_TOKEN="),
        "a token from the environment",
    );
}

/// Palmetto with MUNGE: munge is started once per request with only `-n -t 5 -S <socket>`,
/// and the credential it prints goes into a header, never into another program's argv.
#[test]
fn peer_munge_credentials_stay_out_of_argv() {
    if !common::peers::ready(&[("palmetto", &["trixie"])]) {
        return;
    }
    let env = peer("palmetto", &["trixie"]);
    let w = Wrappers::new(&["git", "munge"]);
    for _ in 0..2 {
        let out = tw()
            .env("PATH", w.path())
            .args(["palmetto", "--url", var(&env, "PALMETTO_URL")])
            .args(["--auth", "munge", "--munge-socket"])
            .arg(var(&env, "PALMETTO_MUNGE_SOCKET"))
            .arg("ping")
            .output()
            .unwrap();
        assert_success(&out);
    }
    let argvs = w.argvs();
    let munges: Vec<&str> = argvs.lines().filter(|l| l.starts_with("munge ")).collect();
    assert!(munges.len() >= 2, "one munge per request:\n{argvs}");
    let socket = var(&env, "PALMETTO_MUNGE_SOCKET");
    for m in &munges {
        assert_eq!(*m, format!("munge -n -t 5 -S {socket}"), "{argvs}");
    }
    let creds = std::fs::read_to_string(&w.cred_log).unwrap();
    let creds: Vec<&str> = creds.lines().filter(|c| c.starts_with("MUNGE:")).collect();
    assert_eq!(
        creds.len(),
        munges.len(),
        "every munge printed a credential"
    );
    for c in creds {
        assert_absent(&argvs, c, "a MUNGE credential");
    }
}

/// The programs started anywhere in `src/`: `git` and the configured `munge` program, each
/// covered above. A new `Command::new` fails this test until it gets an argv test of its own.
#[test]
fn only_git_and_munge_are_ever_started() {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                collect_spawns(&p, &mut found);
            }
        }
    }
    found.sort();
    found.dedup();
    assert_eq!(
        found,
        vec!["\"git\"", "&self.program"],
        "programs started by src/"
    );
}

/// The argument of each `Command::new(` outside `#[cfg(test)]` modules in `file`.
fn collect_spawns(file: &Path, out: &mut Vec<String>) {
    let text = std::fs::read_to_string(file).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    for (i, _) in code.match_indices("Command::new(") {
        let rest = &code[i + "Command::new(".len()..];
        let end = rest.find(')').unwrap_or(rest.len());
        out.push(rest[..end].trim().to_string());
    }
}
