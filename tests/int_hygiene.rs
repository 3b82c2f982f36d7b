//! Hygiene checks on repositories built at test time with the git CLI: credential files that
//! are not ignored, tracked, or were ever committed; code that reads a `.env` the repository
//! does not ignore; `fix gitignore`. Ignore decisions are held against `git check-ignore`.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// A scratch repository with a private HOME (so `core.excludesFile` is the test's own).
struct Repo {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let r = Repo {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = git_command(self.path(), self.home.path());
        c.args(args);
        c
    }

    fn git(&self, args: &[&str]) -> String {
        run_git(self.cmd(args), args)
    }

    /// tokenwarden with the same HOME as git.
    fn tw(&self) -> assert_cmd::Command {
        let mut c = tw();
        c.env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1");
        c
    }

    fn scan(&self, extra: &[&str]) -> (i32, Value) {
        let out = self
            .tw()
            .arg("scan")
            .arg(self.path())
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap(), v)
    }

    /// `git check-ignore` as the oracle: is `rel` ignored?
    fn git_ignores(&self, rel: &str) -> bool {
        let st = self
            .cmd(&["check-ignore", "-q", "--no-index", "--", rel])
            .status()
            .unwrap();
        match st.code() {
            Some(0) => true,
            Some(1) => false,
            other => panic!("git check-ignore {rel}: {other:?}"),
        }
    }
}

/// `(check, path)` of every hygiene finding.
fn checks(v: &Value) -> BTreeSet<(String, String)> {
    v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["check"].as_str().unwrap().to_string(),
                h["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn of_check(v: &Value, check: &str) -> BTreeSet<String> {
    checks(v)
        .into_iter()
        .filter(|(c, _)| c == check)
        .map(|(_, p)| p)
        .collect()
}

#[test]
fn ignore_decisions_agree_with_git_check_ignore() {
    let r = Repo::new();
    let p = r.path();
    write(
        p,
        ".gitignore",
        "*.env\n!keep.env\n/build/\nsecrets/**\n!secrets/README\n# a comment\n",
    );
    write(p, "sub/.gitignore", "!.env\n.env.local\n");
    write(p, ".git/info/exclude", ".s3cfg\n");
    let excludes = r.home.path().join("global-excludes");
    std::fs::write(&excludes, "id_rsa\n").unwrap();
    r.git(&[
        "config",
        "--global",
        "core.excludesFile",
        excludes.to_str().unwrap(),
    ]);
    let files = [
        ".env",
        "sub/.env",
        "sub/.env.local",
        "keep.env",
        "prod.env",
        "build/.env",
        "secrets/munge.key",
        ".s3cfg",
        "home/.ssh/id_rsa",
        "x/.aws/credentials",
        ".globus/app/c/a/tokens.json",
        "deploy/.env.production",
        "tls/server.key",
        "jwt_hs256.key",
    ];
    for f in files {
        let content = if f.ends_with(".key") && f.starts_with("tls") {
            "-----BEGIN PRIVATE KEY-----\nMII\n".to_string()
        } else {
            format!("placeholder for {f}\n")
        };
        write(p, f, content);
    }
    // Tracked despite the rules: reported as tracked, not as not-ignored.
    write(p, "tracked.env", "X=1\n");
    r.git(&["add", "-f", "tracked.env"]);
    r.git(&["add", ".gitignore", "sub/.gitignore"]);
    r.git(&["commit", "-q", "-m", "init"]);

    let (code, v) = r.scan(&[]);
    assert_eq!(code, 1, "{v:#}");
    let expected: BTreeSet<String> = files
        .iter()
        .filter(|f| !r.git_ignores(f))
        .map(|f| f.to_string())
        .collect();
    // The oracle must have something on both sides, or the comparison proves little.
    assert!(
        expected.len() >= 4 && expected.len() <= files.len() - 4,
        "{expected:?}"
    );
    assert_eq!(
        of_check(&v, "hygiene.credential_file_not_ignored"),
        expected
    );
    assert_eq!(
        of_check(&v, "hygiene.credential_file_tracked"),
        ["tracked.env".to_string()].into_iter().collect()
    );
    // Nothing in a report names a secret value: hygiene findings carry none.
    let h = &v["hygiene"][0];
    assert!(h["fix"].as_str().unwrap().len() > 10 && h.get("secret").is_none());
    // --no-hygiene turns them off (the key files still are secret findings).
    let (_, v) = r.scan(&["--no-hygiene"]);
    assert_eq!(checks(&v).len(), 0);
    assert!(!findings(&v).is_empty());
}

#[test]
fn code_that_reads_a_dotenv_needs_dotenv_ignored_and_fix_gitignore_does_it_once() {
    let r = Repo::new();
    let p = r.path();
    write(
        p,
        "scripts/status.sh",
        "#!/bin/sh\nset -e\ncurl -s -H @.env https://s3m.olcf.ornl.gov/olcf/v1/status\n",
    );
    write(
        p,
        "app/settings.py",
        "import os\nfrom dotenv import load_dotenv\n",
    );
    write(p, "docs/readme.md", "Put S3M_TOKEN in .env\n");
    write(p, ".env.example", "S3M_TOKEN=\n");
    write(p, ".gitignore", "target/\r\n*.log\r\n");
    let (code, v) = r.scan(&[]);
    assert_eq!(code, 1);
    let hits: Vec<(String, u64)> = v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["check"] == "hygiene.env_not_ignored")
        .map(|h| {
            (
                h["path"].as_str().unwrap().into(),
                h["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hits,
        vec![
            ("app/settings.py".into(), 2),
            ("scripts/status.sh".into(), 3)
        ]
    );

    // Dry run: says what it would add, changes nothing.
    let before = std::fs::read(p.join(".gitignore")).unwrap();
    let out = r
        .tw()
        .args(["fix", "gitignore", "--dry-run"])
        .arg(p)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("would add"));
    assert_eq!(std::fs::read(p.join(".gitignore")).unwrap(), before);

    r.tw().args(["fix", "gitignore"]).arg(p).assert().success();
    let after = std::fs::read_to_string(p.join(".gitignore")).unwrap();
    assert!(after.starts_with("target/\r\n*.log\r\n"), "{after:?}");
    assert!(
        after.contains("\r\n.env\r\n.env.*\r\n!/.env.example\r\n"),
        "{after:?}"
    );
    assert!(
        !after.replace("\r\n", "").contains('\n'),
        "line endings kept: {after:?}"
    );
    // git agrees: .env is ignored now, the template is not.
    assert!(r.git_ignores(".env") && r.git_ignores("deploy/.env.prod"));
    assert!(!r.git_ignores(".env.example"));
    let (code, v) = r.scan(&[]);
    assert_eq!((code, checks(&v).len()), (0, 0), "{v:#}");
    // Idempotent: a second run adds nothing and leaves the file as it was.
    let out = r.tw().args(["fix", "gitignore"]).arg(p).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to add"));
    assert_eq!(
        std::fs::read_to_string(p.join(".gitignore")).unwrap(),
        after
    );
}

#[test]
fn fix_gitignore_covers_credential_files_the_dotenv_patterns_miss() {
    let r = Repo::new();
    let p = r.path();
    write(p, ".gitignore", ".env\n");
    write(p, "config/prod.env", "A=1\n");
    write(p, "ops/munge.key", "k");
    write(p, "weird [name]/.s3cfg", "x");
    let (_, v) = r.scan(&[]);
    assert_eq!(
        of_check(&v, "hygiene.credential_file_not_ignored"),
        ["config/prod.env", "ops/munge.key", "weird [name]/.s3cfg"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    r.tw().args(["fix", "gitignore"]).arg(p).assert().success();
    for f in ["config/prod.env", "ops/munge.key", "weird [name]/.s3cfg"] {
        assert!(r.git_ignores(f), "{f} not ignored after fix");
    }
    let (code, v) = r.scan(&[]);
    assert_eq!((code, checks(&v).len()), (0, 0), "{v:#}");
}

#[test]
fn credential_files_ever_committed_are_found_in_history_with_the_adding_commit() {
    let r = Repo::new();
    let p = r.path();
    write(p, "README.md", "hi\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "initial"]);
    write(p, ".env", "PLACEHOLDER=1\n");
    write(p, ".env.example", "PLACEHOLDER=\n");
    write(p, "deploy/.aws/credentials", "[default]\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add config"]);
    let adder = r.git(&["rev-parse", "HEAD"]);
    r.git(&["rm", "-q", "--cached", ".env", "deploy/.aws/credentials"]);
    write(p, ".gitignore", ".env\n.aws/\n");
    r.git(&["add", ".gitignore"]);
    r.git(&["commit", "-q", "-m", "stop tracking"]);
    // The work tree is clean now…
    let (_, v) = r.scan(&[]);
    assert_eq!(checks(&v).len(), 0, "{v:#}");
    // Both files, each with the commit that added them.
    let both_added = |args: &[&str]| {
        let (code, v) = r.scan(args);
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(
            of_check(&v, "hygiene.credential_file_in_history"),
            [".env", "deploy/.aws/credentials"]
                .map(String::from)
                .into_iter()
                .collect(),
            "{args:?}"
        );
        for h in v["hygiene"].as_array().unwrap() {
            assert_eq!(h["commit"]["id"], adder.as_str());
            assert_eq!(h["commit"]["summary"], "add config");
        }
    };
    // …but history is not.
    both_added(&["--git"]);
    // A ranged scan (CI on a push) reports the credential files its commits add, and only
    // those: the last commit adds none…
    let (_, v) = r.scan(&["--git", "--since", "HEAD~1"]);
    assert_eq!(checks(&v).len(), 0);
    // …the last two add both.
    both_added(&["--git", "--since", "HEAD~2"]);
    // A range that starts after they were added does not report them again.
    let (_, v) = r.scan(&["--git", "--range", "HEAD~1..HEAD"]);
    assert_eq!(checks(&v).len(), 0, "{v:#}");
}

#[test]
fn hygiene_findings_appear_in_sarif_jsonl_and_text() {
    let r = Repo::new();
    write(r.path(), "job/.env", "X=1\n");
    let out = r
        .tw()
        .arg("scan")
        .arg(r.path())
        .args(["--format", "sarif"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    validate_sarif(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let res = results
        .iter()
        .find(|x| x["ruleId"] == "hygiene.credential_file_not_ignored")
        .expect("hygiene result");
    assert_eq!(
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "job/.env"
    );
    let idx = res["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(
        doc["runs"][0]["tool"]["driver"]["rules"][idx]["id"],
        "hygiene.credential_file_not_ignored"
    );
    let out = r
        .tw()
        .arg("scan")
        .arg(r.path())
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    let line: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(line["check"], "hygiene.credential_file_not_ignored");
    let out = r.tw().arg("scan").arg(r.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("job/.env") && text.contains("tokenwarden fix gitignore"),
        "{text}"
    );
    assert!(text.contains("1 hygiene finding"), "{text}");
}

#[test]
fn a_credential_file_about_to_be_committed_blocks_the_staged_scan() {
    let r = Repo::new();
    let p = r.path();
    write(p, "README.md", "hi\n");
    write(p, ".env.example", "PLACEHOLDER=\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "initial"]);
    // An unchanged template and a staged template edit are fine.
    write(p, ".env.example", "PLACEHOLDER=2\n");
    r.git(&["add", "-A"]);
    let (code, v) = r.scan(&["--staged"]);
    assert_eq!((code, checks(&v).len()), (0, 0), "{v:#}");
    // A .env and a private key staged: both reported, the commit is blocked.
    write(p, "svc/.env", "PLACEHOLDER=1\n");
    write(p, "tls/site.pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n");
    r.git(&["add", "-f", "svc/.env", "tls/site.pem"]);
    let (code, v) = r.scan(&["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(
        of_check(&v, "hygiene.credential_file_staged"),
        ["svc/.env", "tls/site.pem"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    // Once committed, it is no longer "staged": the tree scan reports it as tracked instead.
    r.git(&["commit", "-q", "-m", "oops"]);
    let (_, v) = r.scan(&["--staged"]);
    assert_eq!(checks(&v).len(), 0);
    let (_, v) = r.scan(&[]);
    assert!(of_check(&v, "hygiene.credential_file_tracked").contains("svc/.env"));
}

/// Command-line checks ride on the directory scan, in a repository or not: each finding names
/// the file and line and shows the command rewritten; a literal token is never echoed.
#[test]
fn tokens_on_command_lines_in_scripts_histories_makefiles_dockerfiles_notebooks_and_ci() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let jwt = mint(r#"{{jwt {"exp":"@now+3600","iat":"@now","sun":"alice"}}}"#);
    write(
        p,
        "bin/status.sh",
        "#!/bin/bash\nset -e\ncurl -s -H \"Authorization: $S3M_TOKEN\" https://s3m.olcf.ornl.gov/olcf/v1/status\ncurl -s -H @.env https://s3m.olcf.ornl.gov/olcf/v1/status\n",
    );
    write(
        p,
        "jobs/run.sbatch",
        "#!/bin/bash\n#SBATCH -N 1\nexport SLURM_JWT=$(scontrol token | cut -d= -f2)\nsrun hostname\n",
    );
    write(
        p,
        "home/.bash_history",
        format!("ls\ncurl -H 'X-SLURM-USER-TOKEN: {jwt}' http://c:6820/slurm/v0.0.41/ping\n"),
    );
    write(
        p,
        "Makefile",
        "ping:\n\t@munge -n | curl -s -H @- https://h/\n",
    );
    write(
        p,
        "docker/Dockerfile",
        "FROM debian\nARG GLOBUS_CLIENT_SECRET\n",
    );
    write(
        p,
        "nb/demo.ipynb",
        serde_json::json!({"cells": [{"cell_type": "code", "source": ["!curl --oauth2-bearer $IRI_TOKEN https://h/\n"]}]}).to_string(),
    );
    write(
        p,
        "tools/submit.py",
        "import os, subprocess\n\nsubprocess.run([\"curl\", \"-H\", f\"Authorization: {os.environ['S3M_TOKEN']}\", URL], check=True)\nsubprocess.run([\"curl\", \"-H\", \"@.env\", URL])\n",
    );
    write(
        p,
        ".github/workflows/status.yml",
        "on: push\njobs:\n  s:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          curl -H \"Authorization: ${{ secrets.S3M_TOKEN }}\" https://s3m.olcf.ornl.gov/olcf/v1/status\n",
    );
    write(
        p,
        "quiet.sh",
        "#!/bin/sh\ncurl -H @\"$HOME/.s3m-header\" https://h/\n",
    );
    let (code, v) = scan_json(p, &[]);
    assert_eq!(code, 1);
    let got: BTreeSet<(String, String, Option<u64>)> = v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["check"].as_str().unwrap().to_string(),
                h["path"].as_str().unwrap().to_string(),
                h["line"].as_u64(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, Option<u64>)> = [
        ("hygiene.token_on_command_line", "bin/status.sh", Some(3)),
        (
            "hygiene.slurm_jwt_in_job_environment",
            "jobs/run.sbatch",
            Some(3),
        ),
        (
            "hygiene.token_on_command_line",
            "home/.bash_history",
            Some(2),
        ),
        ("hygiene.munge_without_ttl", "Makefile", Some(2)),
        ("hygiene.secret_in_image", "docker/Dockerfile", Some(2)),
        // A notebook finding is placed on the file's line too (this one is written on one).
        ("hygiene.token_on_command_line", "nb/demo.ipynb", Some(1)),
        (
            "hygiene.token_on_command_line",
            ".github/workflows/status.yml",
            Some(7),
        ),
        ("hygiene.token_on_command_line", "tools/submit.py", Some(3)),
    ]
    .into_iter()
    .map(|(c, p, l)| (c.to_string(), p.to_string(), l))
    .collect();
    assert_eq!(got, want);
    let text = serde_json::to_string(&v["hygiene"]).unwrap();
    assert!(!text.contains(&jwt), "a literal token was echoed");
    let status = v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["path"] == "bin/status.sh")
        .unwrap();
    assert!(
        status["fix"]
            .as_str()
            .unwrap()
            .contains("curl -H @- -s https://s3m.olcf.ornl.gov/olcf/v1/status <<< \"Authorization: ${S3M_TOKEN}\""),
        "{status:#}"
    );
}

/// A literal credential whose rule needs the file's context is a command-line exposure too:
/// the check uses what the engine found in the file, not a second look at the value alone.
/// A Globus `Ag…` token in `curl -H` (Globus named elsewhere in the script), a Palmetto bearer
/// beside the API host, an expired Slurm JWT typed into shell history; never echoed. A header
/// whose value is no credential stays quiet.
#[test]
fn literal_credentials_known_by_the_file_s_context_are_command_line_exposures() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let ag = mint("Ag{{alnum 91}}");
    let palmetto = mint("{{alnum 44}}");
    let expired = mint(r#"{{jwt {"exp":"@now-3600","iat":"@now-7200","sun":"alice"}}}"#);
    write(
        p,
        "bin/transfer.sh",
        format!(
            "#!/bin/bash\n# list our Globus collections\n\ncurl -s -H \"Authorization: Bearer {ag}\" \"$ENDPOINT/v0.10/endpoint_search?filter_scope=my-endpoints\"\n"
        ),
    );
    write(
        p,
        "bin/jobs.sh",
        format!(
            "#!/bin/bash\nAPI=https://api.palmetto.clemson.edu/slurm/v0.0.44\ncurl -H \"Authorization: Bearer {palmetto}\" \"$API/jobs\"\ncurl -H \"Accept: application/json\" \"$API/ping\"\n"
        ),
    );
    write(
        p,
        "home/.bash_history",
        format!("curl -H 'X-SLURM-USER-TOKEN: {expired}' http://c:6820/slurm/v0.0.41/ping\n"),
    );
    let (_, v) = scan_json(p, &[]);
    let got: BTreeSet<(String, u64)> = v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["check"] == "hygiene.token_on_command_line")
        .map(|h| {
            (
                h["path"].as_str().unwrap().to_string(),
                h["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeSet<(String, u64)> = [
        ("bin/transfer.sh", 4),
        ("bin/jobs.sh", 3),
        ("home/.bash_history", 1),
    ]
    .into_iter()
    .map(|(p, l)| (p.to_string(), l))
    .collect();
    assert_eq!(got, want, "{:#}", v["hygiene"]);
    // The expired token is told, at low severity (it does not fail a `--fail-on medium` gate).
    let severity_at = |path: &str| {
        v["hygiene"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["path"] == path)
            .map(|h| h["severity"].as_str().unwrap().to_string())
    };
    assert_eq!(severity_at("home/.bash_history").as_deref(), Some("low"));
    assert_eq!(severity_at("bin/transfer.sh").as_deref(), Some("high"));
    let text = serde_json::to_string(&v["hygiene"]).unwrap();
    for s in [&ag, &palmetto, &expired] {
        assert!(
            !text.contains(s.as_str()),
            "a literal token was echoed: {text}"
        );
    }
}

/// `scan ~` on a home directory that is no repository, with three repositories under
/// `projects/`: each credential file is judged by the repository that holds it (its index,
/// its ignore rules), and the ones in no repository by who can read them.
#[test]
fn a_home_directory_with_three_nested_repositories_is_checked_repository_by_repository() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let git_home = tempfile::tempdir().unwrap();
    let h = home.path();
    let git = |dir: &Path, args: &[&str]| {
        let mut c = git_command(dir, git_home.path());
        c.args(args);
        run_git(c, args)
    };
    let chmod = |rel: &str, mode: u32| {
        std::fs::set_permissions(h.join(rel), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let env = format!("S3M_TOKEN={}\n", mint("{{alnum 40}}"));
    // In no repository: a world-readable .s3cfg, a group-readable AWS file, a private store.
    write(h, ".s3cfg", "[default]\naccess_key = AK\nsecret_key = x\n");
    chmod(".s3cfg", 0o644);
    write(h, ".aws/credentials", "[default]\naws_access_key_id = AK\n");
    chmod(".aws/credentials", 0o640);
    write(h, ".globus/tokens.json", "{}");
    chmod(".globus/tokens.json", 0o600);
    // alpha ignores .env; it tracks an .s3cfg.
    for (name, gitignore) in [
        ("alpha", Some(".env\n")),
        ("beta", None),
        ("gamma", Some("*.env\n.env\n")),
    ] {
        let dir = h.join("projects").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        if let Some(g) = gitignore {
            write(&dir, ".gitignore", g);
        }
        write(&dir, ".env", &env);
    }
    let alpha = h.join("projects/alpha");
    write(&alpha, "deploy/.s3cfg", "[default]\nsecret_key = x\n");
    git(&alpha, &["add", "deploy/.s3cfg", ".gitignore"]);
    git(&alpha, &["commit", "-q", "-m", "init"]);
    // beta ignores nothing: its .env is a finding, and so is the code that reads it.
    write(
        &h.join("projects/beta"),
        "app.py",
        "from dotenv import load_dotenv\nload_dotenv()\n",
    );
    // gamma ignores .env, but a munge.key under deploy/ is not ignored. Its rules do not
    // reach beta: beta's .env stays a finding.
    write(
        &h.join("projects/gamma"),
        "deploy/munge.key",
        vec![7u8; 1024],
    );

    let out = tw()
        .env("HOME", git_home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .arg("scan")
        .arg(h)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let got: BTreeSet<(String, String, String)> = v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] != "hygiene.token_store")
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = [
        ("hygiene.credential_file_readable", ".s3cfg", "high"),
        (
            "hygiene.credential_file_readable",
            ".aws/credentials",
            "medium",
        ),
        (
            "hygiene.credential_file_tracked",
            "projects/alpha/deploy/.s3cfg",
            "high",
        ),
        (
            "hygiene.credential_file_not_ignored",
            "projects/beta/.env",
            "medium",
        ),
        ("hygiene.env_not_ignored", "projects/beta/app.py", "medium"),
        (
            "hygiene.credential_file_not_ignored",
            "projects/gamma/deploy/munge.key",
            "medium",
        ),
    ]
    .into_iter()
    .map(|(c, p, s)| (c.to_string(), p.to_string(), s.to_string()))
    .collect();
    assert_eq!(got, want, "{:#}", v["hygiene"]);
    // The same repository scanned on its own gives the same answer for its files.
    let out = tw()
        .env("HOME", git_home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .arg("scan")
        .arg(h.join("projects/beta"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        of_check(&v, "hygiene.credential_file_not_ignored"),
        BTreeSet::from([".env".to_string()])
    );
}

/// The command forms and file kinds added for real material, each with tokens minted at run
/// time and a safe twin beside it that must stay quiet: Kubernetes/Argo manifests, IPython
/// `{name}` lines, a Python command built in a name, S3 clients' secrets, request data under a
/// credential key, `#SBATCH --export`, a Windows batch file, documentation that teaches a leak,
/// and `munge -n | unmunge`.
#[test]
fn manifests_notebooks_s3_clients_batch_files_and_docs_are_checked_on_minted_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let secret = mint("{{b64 40}}");
    let jwt = mint(r#"{{jwt {"exp":"@now+3600","iat":"@now","sun":"alice"}}}"#);
    write(
        p,
        "k8s/job.yaml",
        "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - name: ping\n          command: [\"curl\", \"-H\", \"Authorization: $(S3M_TOKEN)\", \"https://s3m.olcf.ornl.gov/olcf/v1/status\"]\n        - name: safe\n          command: [\"curl\", \"-H\", \"@/run/secrets/s3m-header\", \"https://s3m.olcf.ornl.gov/olcf/v1/status\"]\n",
    );
    let nb = serde_json::json!({"cells": [
        {"cell_type": "code", "source": ["tok = open('t').read()\n", "!curl -s -H \"Authorization: Bearer {tok}\" https://api.alcf.anl.gov/api/v1/status\n"]},
        {"cell_type": "code", "source": ["!curl -s -H \"Accept: {mime}\" https://api.alcf.anl.gov/api/v1/status\n"]}
    ]});
    write(p, "nb/status.ipynb", nb.to_string());
    write(
        p,
        "py/run.py",
        "import os\ncmd = f\"curl -H 'Authorization: Bearer {token}' {url}\"\nos.system(cmd)\nsafe = f\"curl -H @{hdr} {url}\"\nos.system(safe)\n",
    );
    write(
        p,
        "home/.bash_history",
        format!(
            "aws configure set aws_secret_access_key {secret} --profile ceph\naws configure set region us-east-1\nmunge -n | unmunge\n"
        ),
    );
    write(
        p,
        "ops/token.sh",
        "#!/bin/bash\nTOKEN=$(curl -s -d grant_type=client_credentials -d client_id=admin-client \\\n  -d client_secret=$(kubectl get secrets admin-client-auth -o jsonpath='{.data.client-secret}' | base64 -d) \\\n  https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token)\ncurl -s -d grant_type=client_credentials https://h/token\n",
    );
    write(
        p,
        "jobs/array.sbatch",
        format!(
            "#!/bin/bash\n#SBATCH --array=1-10\n#SBATCH --export=ALL,SLURM_JWT={jwt}\nsrun ./task\n"
        ),
    );
    write(
        p,
        "win/deploy.bat",
        "@echo off\r\ncurl -H \"Authorization: Bearer %PALMETTO_API_KEY%\" https://api.palmetto.clemson.edu/ping\r\ncurl https://api.palmetto.clemson.edu/meta/versions/supported\r\n",
    );
    write(
        p,
        "docs/s3m.md",
        "# S3M\n\n```bash\n$ curl -H \"Authorization: $S3M_TOKEN\" https://s3m.olcf.ornl.gov/olcf/v1/status\n```\n",
    );
    write(
        p,
        "docs/safe.md",
        "# S3M\n\nAvoid this:\n\n```bash\n$ curl -H \"Authorization: $S3M_TOKEN\" https://s3m.olcf.ornl.gov/olcf/v1/status\n```\n\nDo this:\n\n```bash\ncurl -H @~/.s3m-header https://s3m.olcf.ornl.gov/olcf/v1/status\n```\n",
    );
    let (_, v) = scan_json(p, &[]);
    let got: BTreeSet<(String, String, u64)> = v["hygiene"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["check"].as_str().unwrap().to_string(),
                h["path"].as_str().unwrap().to_string(),
                h["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, u64)> = [
        ("hygiene.token_on_command_line", "k8s/job.yaml", 8),
        // The notebook is written on one line (serde_json): the finding is on it.
        ("hygiene.token_on_command_line", "nb/status.ipynb", 1),
        ("hygiene.token_on_command_line", "py/run.py", 3),
        ("hygiene.token_on_command_line", "home/.bash_history", 1),
        ("hygiene.token_on_command_line", "ops/token.sh", 2),
        (
            "hygiene.slurm_jwt_in_job_environment",
            "jobs/array.sbatch",
            3,
        ),
        ("hygiene.token_on_command_line", "win/deploy.bat", 2),
        ("hygiene.docs_teach_token_on_command_line", "docs/s3m.md", 4),
    ]
    .into_iter()
    .map(|(c, p, l)| (c.to_string(), p.to_string(), l))
    .collect();
    assert_eq!(got, want, "{:#}", v["hygiene"]);
    let text = serde_json::to_string(&v["hygiene"]).unwrap();
    for s in [&secret, &jwt] {
        assert!(
            !text.contains(s.as_str()),
            "a minted credential was echoed: {text}"
        );
    }
}
