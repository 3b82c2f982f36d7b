//! A hostile repository, a hostile issuer and a hostile terminal (SECURITY.md, "What a
//! hostile repository, issuer or terminal can and cannot do"). Each test reproduces one break
//! found by a red-team pass and fails on the code before its fix.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// A value that must never reach the output: put in the environment and in files outside the
/// scanned tree.
const CANARY: &str = "CANARY-3f9c1e7a-not-for-your-eyes";

fn scan_stderr(dir: &std::path::Path) -> (Option<i32>, String, String) {
    let out = tw()
        .arg("scan")
        .arg(dir)
        .env("TW_TEST_CANARY", CANARY)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_repository_config_cannot_read_files_outside_the_repository() {
    let outer = tempfile::tempdir().unwrap();
    let repo = outer.path().join("repo");
    write(&repo, "a.txt", "nothing here\n");
    // A file beside the repository, reached by `..`, by an absolute path and by a symlink.
    write(outer.path(), "creds", format!("{CANARY} = 1\nx\n"));
    std::os::unix::fs::symlink(outer.path().join("creds"), repo.join("link.toml")).unwrap();
    let creds = outer.path().join("creds");
    for named in [
        "/proc/self/environ".to_string(),
        creds.display().to_string(),
        "../creds".to_string(),
        "link.toml".to_string(),
    ] {
        for key in ["gitleaks", "files"] {
            write(
                &repo,
                ".tokenwarden.toml",
                format!("[rules]\n{key} = [{named:?}]\n"),
            );
            let (code, out, err) = scan_stderr(&repo);
            assert_eq!(code, Some(2), "{key} = {named}: {err}");
            assert!(!err.contains(CANARY) && !out.contains(CANARY), "{err}");
            assert!(err.contains("only name files at or below"), "{err}");
        }
        write(
            &repo,
            ".tokenwarden.toml",
            format!("baseline = {named:?}\n"),
        );
        let (code, out, err) = scan_stderr(&repo);
        assert_eq!(code, Some(2), "baseline = {named}: {err}");
        assert!(!err.contains(CANARY) && !out.contains(CANARY), "{err}");
    }
    // The config itself as a symlink out of the repository.
    std::fs::remove_file(repo.join(".tokenwarden.toml")).unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", repo.join(".tokenwarden.toml")).unwrap();
    let (code, out, err) = scan_stderr(&repo);
    assert_eq!(code, Some(2), "{err}");
    assert!(!err.contains(CANARY) && !out.contains(CANARY), "{err}");
}

#[test]
fn a_repository_config_cannot_hang_or_exhaust_the_scan() {
    let repo = tempfile::tempdir().unwrap();
    write(repo.path(), "a.txt", "nothing here\n");
    let fifo = repo.path().join("rules.fifo");
    mkfifo(&fifo);
    std::os::unix::fs::symlink("/dev/zero", repo.path().join("zero.toml")).unwrap();
    for named in ["rules.fifo", "zero.toml"] {
        write(
            repo.path(),
            ".tokenwarden.toml",
            format!("[rules]\nfiles = [{named:?}]\n"),
        );
        let started = Instant::now();
        let (code, _, err) = scan_stderr(repo.path());
        assert_eq!(code, Some(2), "{named}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{named} took {:?}",
            started.elapsed()
        );
    }
    // /dev/zero is outside the repository as well; a FIFO inside it is refused as a FIFO.
    write(
        repo.path(),
        ".tokenwarden.toml",
        "[rules]\nfiles = [\"rules.fifo\"]\n",
    );
    let (_, _, err) = scan_stderr(repo.path());
    assert!(err.contains("not a regular file (a FIFO)"), "{err}");
}

#[test]
fn parse_errors_in_repository_files_do_not_echo_their_content() {
    let repo = tempfile::tempdir().unwrap();
    write(repo.path(), "a.txt", "nothing here\n");
    // Files inside the repository, which the config may name, holding a secret on the line
    // that fails to parse: the error names the line, not the value.
    write(
        repo.path(),
        "rules/bad.toml",
        format!("[[rule]]\nid = \"x\"\nTOKEN={CANARY}\n"),
    );
    write(
        repo.path(),
        "base.json",
        format!("{{\"tokenwarden_baseline\": \"{CANARY}\"}}"),
    );
    for config in [
        "[rules]\nfiles = [\"rules/bad.toml\"]\n".to_string(),
        "[rules]\ngitleaks = [\"rules/bad.toml\"]\n".to_string(),
        "baseline = \"base.json\"\n".to_string(),
        format!("fail_on = \"{CANARY}\"\n"),
        format!("{CANARY}\n"),
    ] {
        write(repo.path(), ".tokenwarden.toml", &config);
        let (code, out, err) = scan_stderr(repo.path());
        assert_eq!(code, Some(2), "{config}: {err}");
        assert!(
            !err.contains(CANARY) && !out.contains(CANARY),
            "{config}: {err}"
        );
        assert!(err.contains("line "), "{config}: {err}");
    }
}

use common::echo::{Echo, assert_no_piece};

fn slurm_token() -> String {
    slurm_jwt(b"a-key-of-this-cluster-only-0123456789", "alice", 3600)
}

#[test]
fn an_issuer_that_echoes_the_token_never_gets_it_printed_by_a_client_command() {
    for mode in [
        Echo::Whole,
        Echo::Slice,
        Echo::Wrapped,
        Echo::JsonFields,
        Echo::JsonError,
    ] {
        let tok = slurm_token();
        let server = common::echo::start(mode, 4);
        for extra in [&[][..], &["--json"][..]] {
            let out = tw()
                .args(["slurm", "--url", &server.url, "--api-version", "v0.0.40"])
                .args(["--retries", "0"])
                .args(extra)
                .arg("ping")
                .env("SLURM_JWT", &tok)
                .env("USER", "alice")
                .timeout(Duration::from_secs(30))
                .output()
                .unwrap();
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_no_piece(&format!("slurm ping ({mode:?}, {extra:?})"), &all, &tok);
        }
        assert_eq!(
            *server.seen.lock().unwrap(),
            2,
            "{mode:?}: the token was sent"
        );
    }
}

#[test]
fn an_issuer_that_echoes_the_token_never_gets_it_into_reports_logs_or_incident_files() {
    for mode in [
        Echo::Whole,
        Echo::Slice,
        Echo::Wrapped,
        Echo::JsonFields,
        Echo::JsonError,
    ] {
        let tok = slurm_token();
        let server = common::echo::start(mode, 4);
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        write(&repo, "job.env", format!("SLURM_JWT={tok}\n"));
        let config = tmp.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[slurm]\nurl = \"{}\"\nversion = \"v0.0.40\"\n[http]\nretries = 0\n",
                server.url
            ),
        )
        .unwrap();
        let log = tmp.path().join("audit.jsonl");
        let report = tmp.path().join("incident");
        for format in ["json", "text"] {
            let out = tw()
                .env("TOKENWARDEN_CONFIG", &config)
                .env("HOME", tmp.path())
                .arg("audit")
                .arg(&repo)
                .args(["--verify", "--no-history", "--format", format])
                .arg("--audit-log")
                .arg(&log)
                .arg("--report")
                .arg(&report)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
            assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
            let what = format!("audit ({mode:?}, {format})");
            assert_no_piece(&what, &String::from_utf8_lossy(&out.stdout), &tok);
            assert_no_piece(&what, &String::from_utf8_lossy(&out.stderr), &tok);
        }
        for file in [
            log.clone(),
            report.join("incident.md"),
            report.join("incident.json"),
        ] {
            let text = std::fs::read_to_string(&file).unwrap();
            assert_no_piece(&format!("{} ({mode:?})", file.display()), &text, &tok);
        }
        assert!(*server.seen.lock().unwrap() >= 1, "{mode:?}: never asked");
    }
}

/// A listener that counts the connections made to it and answers none of them usefully.
fn counting_listener() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap();
    let n = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = n.clone();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match l.accept() {
                Ok((mut s, _)) => {
                    counter.fetch_add(1, Ordering::SeqCst);
                    use std::io::Write;
                    let _ = s.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    (format!("http://{addr}"), n)
}

#[test]
fn a_proxy_in_the_environment_never_receives_a_plain_http_request() {
    let tok = slurm_token();
    let server = common::echo::start(Echo::JsonFields, 4);
    let (proxy, proxied) = counting_listener();
    let out = tw()
        .args(["slurm", "--url", &server.url, "--api-version", "v0.0.40"])
        .args(["--retries", "0", "ping"])
        .env("SLURM_JWT", &tok)
        .env("USER", "alice")
        .env("http_proxy", &proxy)
        .env("HTTP_PROXY", &proxy)
        .env("ALL_PROXY", &proxy)
        .env("all_proxy", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(
        proxied.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the proxy was sent the request: {out:?}"
    );
    assert_eq!(*server.seen.lock().unwrap(), 1, "{out:?}");
}

#[test]
fn a_token_pasted_after_file_or_keyring_is_refused_without_echo() {
    let tok = slurm_token();
    let s3_secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYa";
    for spec in [
        format!("file:{tok}"),
        format!("keyring:{tok}"),
        format!("keyring:{s3_secret}"),
        format!("file:{s3_secret}"),
    ] {
        let out = tw()
            .args([
                "slurm",
                "--url",
                "http://127.0.0.1:9",
                "--token-from",
                &spec,
            ])
            .arg("ping")
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{spec}");
        let err = String::from_utf8_lossy(&out.stderr);
        let value = spec.split_once(':').unwrap().1;
        assert_no_piece(&spec, &err, value);
        assert!(err.contains("looks like a credential"), "{err}");
    }
    // A name or a path is still a name or a path, and its error says what it is once.
    let out = tw()
        .args(["slurm", "--url", "http://127.0.0.1:9"])
        .args(["--token-from", "file:/nonexistent/s3m-token.hdr", "ping"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read /nonexistent/s3m-token.hdr"),
        "{err}"
    );
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn hook_install_never_writes_through_a_planted_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut init = git_command(&repo, &home);
    init.args(["init", "-q"]);
    run_git(init, &["init", "-q"]);
    let hooks = repo.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    // The old fixed temporary name, and a few guesses of a new one.
    for name in [".pre-commit.tokenwarden.tmp", ".pre-commit.tokenwarden-"] {
        std::os::unix::fs::symlink(&victim, hooks.join(name)).unwrap();
    }
    let out = tw()
        .args(["hook", "install"])
        .current_dir(&repo)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
    assert_ne!(mode & 0o111, 0o111, "the victim was made executable");
    let hook = std::fs::read_to_string(hooks.join("pre-commit")).unwrap();
    assert!(hook.contains("tokenwarden pre-commit hook"), "{hook}");
    assert!(
        !std::fs::symlink_metadata(hooks.join("pre-commit"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn fix_gitignore_never_copies_a_symlinked_gitignore_target() {
    let r = common::repo::Repo::new();
    let secret_file = r.home.join("credentials");
    std::fs::write(
        &secret_file,
        format!("[default]\naws_secret_access_key = {CANARY}\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&secret_file, r.dir.join(".gitignore")).unwrap();
    write(&r.dir, ".env", "S3M_TOKEN=placeholder\n");
    let out = tw()
        .args(["fix", "gitignore"])
        .arg(&r.dir)
        .env("HOME", &r.home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("symbolic link"), "{err}");
    let meta = std::fs::symlink_metadata(r.dir.join(".gitignore")).unwrap();
    assert!(meta.file_type().is_symlink(), "the symlink was replaced");
    assert_eq!(
        std::fs::read_to_string(&secret_file).unwrap(),
        format!("[default]\naws_secret_access_key = {CANARY}\n")
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(CANARY));
}

#[test]
fn audit_reads_what_the_repository_ignores() {
    let r = common::repo::Repo::new();
    let tok = slurm_token();
    // A tracked file listed in .gitignore, an untracked ignored .env, and a .ignore hiding all.
    r.commit("deploy/job.env", &format!("SLURM_JWT={tok}\n"), "job");
    write(&r.dir, ".gitignore", "deploy/\n.env\n");
    write(
        &r.dir,
        ".env",
        format!("SLURM_JWT={}\n", slurm_token_for("bob")),
    );
    write(&r.dir, "sub/.ignore", "*\n");
    write(
        &r.dir,
        "sub/run.sh",
        format!("export SLURM_JWT={}\n", slurm_token_for("carol")),
    );
    let out = tw()
        .arg("audit")
        .arg(&r.dir)
        .args(["--no-history", "--format", "json"])
        .env("HOME", &r.home)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut paths: Vec<String> = findings(&v)
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap().iter())
        .map(|l| l["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, vec![".env", "deploy/job.env", "sub/run.sh"], "{v:#}");
}

fn slurm_token_for(user: &str) -> String {
    slurm_jwt(b"a-key-of-this-cluster-only-0123456789", user, 3600)
}

#[test]
fn a_history_that_cannot_be_read_is_an_error_not_a_clean_report() {
    for damage in ["idx", "pack"] {
        let r = common::repo::Repo::new();
        r.commit("a.env", &format!("SLURM_JWT={}\n", slurm_token()), "leak");
        r.git(&["gc", "-q"]);
        let pack_dir = r.dir.join(".git/objects/pack");
        let file = std::fs::read_dir(&pack_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == damage))
            .unwrap();
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[..8].copy_from_slice(b"XXXXXXXX");
        let mut perm = std::fs::metadata(&file).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o644);
        std::fs::set_permissions(&file, perm).unwrap();
        std::fs::write(&file, &bytes).unwrap();
        for args in [&["scan", "--git"][..], &["audit"][..]] {
            let out = tw()
                .args(args)
                .arg(&r.dir)
                .env("HOME", &r.home)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{damage} {args:?}: {err}");
            assert!(err.contains("cannot be read"), "{damage} {args:?}: {err}");
        }
    }
}

#[test]
fn a_fifo_in_a_repository_configuration_never_hangs_a_command() {
    // (where the FIFO goes, how the repository refers to it)
    let cases: [(&str, Option<&str>); 7] = [
        (".git/inc", Some("[include]\n\tpath = inc\n")),
        // Quotes inside the value: git reads `inc`; a reader that does not must refuse.
        (".git/inc", Some("[include]\n\tpath = i\"nc\"\n")),
        (".git/objects/pack/pack-0.idx", None),
        (
            ".git/cond",
            Some("[includeIf \"gitdir:/\"]\n\tpath = \"cond\"\n"),
        ),
        (".git/info/exclude", None),
        ("sub/.gitignore", None),
        (".ignore", None),
    ];
    for (fifo, config) in cases {
        let r = common::repo::Repo::new();
        r.commit("sub/a.txt", "nothing\n", "init");
        std::fs::create_dir_all(r.dir.join(".git/info")).unwrap();
        std::fs::create_dir_all(r.dir.join(".git/objects/pack")).unwrap();
        let _ = std::fs::remove_file(r.dir.join(fifo));
        mkfifo(&r.dir.join(fifo));
        if let Some(c) = config {
            let cfg = r.dir.join(".git/config");
            let mut text = std::fs::read_to_string(&cfg).unwrap();
            text.push_str(c);
            std::fs::write(&cfg, text).unwrap();
        }
        for args in [
            &["scan", "--git"][..],
            &["audit"][..],
            &["scan"][..],
            &["scan", "--no-ignore"][..],
        ] {
            let out = tw()
                .args(args)
                .arg(&r.dir)
                .env("HOME", &r.home)
                .timeout(Duration::from_secs(20))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.code().is_some(),
                "{fifo}: {args:?} hung (killed after 20 s)"
            );
            // A history scan does not read the work tree's ignore files: it may go on.
            if args == ["scan", "--git"] && !fifo.starts_with(".git/") {
                continue;
            }
            assert_eq!(out.status.code(), Some(2), "{fifo}: {args:?}: {err}");
            assert!(
                err.contains("FIFO") || err.contains("inner quotes"),
                "{fifo}: {args:?}: {err}"
            );
        }
        let out = tw()
            .args(["fix", "gitignore"])
            .arg(&r.dir)
            .env("HOME", &r.home)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        assert!(out.status.code().is_some(), "{fifo}: fix gitignore hung");
    }
}

/// Raw bytes that must never reach a terminal or a Markdown file from outside text.
fn assert_inert(what: &str, text: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{202e}', '\u{2066}', '\u{9b}', '\r'] {
        assert!(!text.contains(bad), "{what}: raw {bad:?} in:\n{text}");
    }
    assert!(
        !text.lines().any(|l| l.starts_with("CRITICAL forged")),
        "{what}: a forged line:\n{text}"
    );
}

#[test]
fn outside_text_reaches_the_terminal_and_markdown_escaped() {
    let r = common::repo::Repo::new();
    // A claim, a path, a commit author, a branch (packed-refs) and a repository rule name, each
    // carrying a newline with a forged report line, a terminal escape and a bidi override.
    let evil = "alice\nCRITICAL forged\u{1b}]0;pwned\u{7}\u{202e}<img src=x onerror=alert(1)>";
    let tok = slurm_jwt(b"a-key-of-this-cluster-only-0123456789", evil, 3600);
    let mut git = git_command(&r.dir, &r.home);
    write(&r.dir, "job\u{2066}.env", format!("SLURM_JWT={tok}\n"));
    write(
        &r.dir,
        ".tokenwarden.toml",
        "[[rule]]\nid = \"x.evil\"\nname = \"evil\\u001b[31m\\nCRITICAL forged\"\nfacility = \"x\u{202e}\"\n\
         severity = \"high\"\nconfidence = \"high\"\nkeywords = [\"ZZQQ\"]\n\
         pattern = 'ZZQQ[0-9]{8}'\nremediation = \"fix\\u001b]8;;http://e\\u0007\"\n",
    );
    write(&r.dir, "other.txt", "ZZQQ12345678\n");
    git.args(["add", "-A"]);
    run_git(git, &["add"]);
    let mut git = git_command(&r.dir, &r.home);
    git.env("GIT_AUTHOR_NAME", "Mallory\u{202e} <x>")
        .args(["commit", "-qm", "add\u{1b}[2J"]);
    run_git(git, &["commit"]);
    let head = r.git(&["rev-parse", "HEAD"]);
    r.git(&["pack-refs", "--all"]);
    let packed = r.dir.join(".git/packed-refs");
    let mut refs = std::fs::read_to_string(&packed).unwrap();
    refs.push_str(&format!("{head} refs/heads/evil\u{1b}[31m\u{202e}\n"));
    std::fs::write(&packed, refs).unwrap();

    for args in [&["scan"][..], &["scan", "--git"][..]] {
        let out = tw()
            .args(args)
            .arg(&r.dir)
            .args(["--color", "never"])
            .env("HOME", &r.home)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert_inert(
            &format!("{args:?} stdout"),
            &String::from_utf8_lossy(&out.stdout),
        );
        assert_inert(
            &format!("{args:?} stderr"),
            &String::from_utf8_lossy(&out.stderr),
        );
    }

    // The revocation plan (shown right before the confirmation) and the incident report.
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("incident");
    let out = tw()
        .arg("audit")
        .arg(&r.dir)
        .args(["--revoke", "--dry-run", "--report"])
        .arg(&report)
        .arg("--audit-log")
        .arg(tmp.path().join("audit.jsonl"))
        .env("HOME", &r.home)
        .env("TOKENWARDEN_CONFIG", tmp.path().join("none.toml"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    assert_inert("plan stdout", &String::from_utf8_lossy(&out.stdout));
    assert_inert("plan stderr", &String::from_utf8_lossy(&out.stderr));
    let md = std::fs::read_to_string(report.join("incident.md")).unwrap();
    assert_inert("incident.md", &md);
    // Outside the fenced notice (where Markdown renders nothing), no HTML.
    let rendered: String = md.split("```").step_by(2).collect::<Vec<_>>().join("");
    assert!(!rendered.contains("<img"), "HTML in incident.md:\n{md}");
    assert!(md.contains("alice"), "{md}");
}
