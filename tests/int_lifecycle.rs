//! `tokenwarden audit PATH --verify / --revoke / --report` end to end.
//!
//! Peers: the S3M CONTRACT server (`tests/peers/s3m-contract/`; S3M itself cannot be reached
//! from here, so that server follows OLCF's public documentation as FACILITIES.md §1
//! summarises it, and records every request with credentials replaced by a fingerprint).
//! Tests that need other issuers live beside these, each naming its peer.
//!
//! Every test mints its own token, so tests running in parallel never see each other's
//! requests or faults, and each has its own audit log and user config.

mod common;

use common::peers::{PeerEnv, peer, var};
use common::s3m::control;
use common::{git_command, run_git, tw, write};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn s3m_peer() -> PeerEnv {
    peer("s3m-contract", &[])
}

/// A fresh S3M token for a leak: (token, the fingerprint the request log uses).
fn mint_s3m(env: &PeerEnv) -> (String, String) {
    common::s3m::mint(env, &["compute-ace"], "open")
}

/// The S3M request log lines sent with this token.
fn s3m_requests(env: &PeerEnv, fp: &str) -> Vec<Value> {
    common::s3m::requests(env, Some(fp))
}

/// An S3M token leaked in git history (added at `path` as `{prefix}{token}`, then removed),
/// with a user config pointing at the contract server: (peer, token, fingerprint, case).
fn s3m_leak(path: &str, prefix: &str) -> (PeerEnv, String, String, Case) {
    let env = s3m_peer();
    let (token, fp) = mint_s3m(&env);
    let case = Case::new(&s3m_config(&env, ""));
    case.leak_in_history(path, &format!("{prefix}{token}\n"));
    (env, token, fp, case)
}

/// How many revocations of this token reached S3M.
fn revocations(env: &PeerEnv, fp: &str) -> usize {
    count(&s3m_requests(env, fp), "DELETE", "/token/ctls/revoke")
}

fn count(reqs: &[Value], method: &str, path_end: &str) -> usize {
    reqs.iter()
        .filter(|r| r["method"] == method && r["path"].as_str().unwrap().ends_with(path_end))
        .count()
}

/// A scratch area: a repository, a user config, an audit log, a report directory.
struct Case {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    home: PathBuf,
    config: PathBuf,
    log: PathBuf,
    report: PathBuf,
}

impl Case {
    fn new(config: &str) -> Case {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let cfgp = tmp.path().join("config.toml");
        std::fs::write(&cfgp, config).unwrap();
        Case {
            repo,
            home,
            config: cfgp,
            log: tmp.path().join("state/audit.jsonl"),
            report: tmp.path().join("incident"),
            _tmp: tmp,
        }
    }

    fn git(&self, args: &[&str]) -> String {
        let mut c = git_command(&self.repo, &self.home);
        c.args(args);
        run_git(c, args)
    }

    /// A repository whose first commit leaks `content` in `path`, and whose second removes it:
    /// the secret is in history only.
    fn leak_in_history(&self, path: &str, content: &str) {
        self.git(&["init", "-q", "-b", "main"]);
        write(&self.repo, "README.md", "project\n");
        write(&self.repo, path, content);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", "add config"]);
        std::fs::remove_file(self.repo.join(path)).unwrap();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", "remove config"]);
    }

    /// Pushes `main` to a bare repository beside it, so `origin/main` holds the leak.
    fn push_to_origin(&self) {
        let bare = self.repo.with_file_name("origin.git");
        let mut c = git_command(self.repo.parent().unwrap(), &self.home);
        c.args(["init", "-q", "--bare", "origin.git"]);
        run_git(c, &["init", "--bare"]);
        self.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
        self.git(&["push", "-q", "origin", "main"]);
    }

    fn audit(&self, extra: &[&str]) -> Run {
        let out = tw()
            .env("TOKENWARDEN_CONFIG", &self.config)
            .env("HOME", &self.home)
            .arg("audit")
            .arg(&self.repo)
            .arg("--audit-log")
            .arg(&self.log)
            .args(["--format", "json"])
            .args(extra)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn log_entries(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every audit log line is JSON"))
            .collect()
    }

    fn incident(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.report.join("incident.json")).unwrap()).unwrap()
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn report(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("report is JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }

    /// Neither stream holds the secret (rule 1 of the house).
    fn holds_no(&self, secret: &str) -> &Self {
        assert!(!self.stdout.contains(secret), "secret on stdout");
        assert!(!self.stderr.contains(secret), "secret on stderr");
        self
    }
}

fn s3m_config(env: &PeerEnv, extra: &str) -> String {
    format!(
        "[s3m]\nurl = \"{}\"\n[http]\nretries = 1\ntimeout = \"10s\"\n{extra}",
        var(env, "S3M_CONTRACT_URL")
    )
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The whole incident: a token leaked in history is found, proven alive, planned, refused
/// without a confirmation, revoked with `--yes`, proven dead, written down; a second run
/// changes nothing at S3M.
#[test]
fn peer_s3m_token_in_history_is_verified_revoked_and_reported() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let (env, token, fp, case) = s3m_leak("deploy/.env", "S3M_TOKEN=");
    case.push_to_origin();

    // Verify only: live, with what introspection says; nothing mutated.
    let run = case.audit(&["--verify"]);
    run.holds_no(&token);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let rep = run.report();
    let f = &rep["findings"][0];
    assert_eq!(f["liveness"], "live", "{f:#}");
    assert_eq!(f["verification"]["facts"]["project"], "STF040");
    assert_eq!(f["verification"]["facts"]["description"], "contract-test");
    assert!(
        f["verification"]["endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/olcf/v1/token/ctls/introspect")
    );
    let reqs = s3m_requests(&env, &fp);
    assert_eq!(count(&reqs, "GET", "/token/ctls/introspect"), 1);
    assert_eq!(count(&reqs, "DELETE", "/token/ctls/revoke"), 0);
    // The documented header: the bare token, no `Bearer`.
    assert_eq!(reqs[0]["headers"]["authorization"], fp.as_str());

    // A dry run prints the plan and revokes nothing.
    let run = case.audit(&["--revoke", "--dry-run"]);
    run.holds_no(&token);
    assert!(run.stderr.contains("REVOKE at"), "{}", run.stderr);
    assert!(run.stderr.contains("irreversible"), "{}", run.stderr);
    assert!(
        run.stderr.contains("dry run: nothing was revoked"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 1);
    // Without a terminal and without --yes: refused, still nothing revoked.
    let run = case.audit(&["--revoke"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("refusing to revoke without a confirmation"),
        "{}",
        run.stderr
    );
    assert_eq!(revocations(&env, &fp), 0);

    // Confirmed: revoked, checked again, reported.
    let report = case.report.to_str().unwrap().to_string();
    let run = case.audit(&["--revoke", "--yes", "--report", &report]);
    run.holds_no(&token);
    assert_eq!(run.code, 0, "nothing left to do:\n{}", run.stderr);
    assert!(run.stderr.contains("revoked at"), "{}", run.stderr);
    let reqs = s3m_requests(&env, &fp);
    assert_eq!(count(&reqs, "DELETE", "/token/ctls/revoke"), 1, "{reqs:#?}");
    let after: Vec<&Value> = reqs
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/introspect"))
        .collect();
    assert_eq!(
        after.last().unwrap()["status"],
        401,
        "introspected again, refused"
    );

    // The audit log: an intent and a done line for every call, 0600, no secret.
    assert_eq!(mode(&case.log), 0o600);
    assert_eq!(mode(case.log.parent().unwrap()), 0o700);
    let log_text = std::fs::read_to_string(&case.log).unwrap();
    assert!(!log_text.contains(&token));
    let entries = case.log_entries();
    let revokes: Vec<&Value> = entries.iter().filter(|e| e["action"] == "revoke").collect();
    assert_eq!(revokes.len(), 2, "{entries:#?}");
    assert_eq!(revokes[0]["phase"], "intent");
    assert_eq!(revokes[1]["phase"], "done");
    assert_eq!(revokes[1]["outcome"], "ok");
    assert_eq!(revokes[0]["seq"], revokes[1]["seq"]);
    assert!(
        revokes[0]["endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/olcf/v1/token/ctls/revoke")
    );
    let intents = entries.iter().filter(|e| e["phase"] == "intent").count();
    let dones = entries.iter().filter(|e| e["phase"] == "done").count();
    assert_eq!(intents, dones);

    // The incident report: 0600 files in a 0700 directory, no secret, the whole story.
    assert_eq!(mode(&case.report), 0o700);
    for f in ["incident.json", "incident.md"] {
        let p = case.report.join(f);
        assert_eq!(mode(&p), 0o600, "{f}");
        assert!(
            !std::fs::read_to_string(&p).unwrap().contains(&token),
            "{f}"
        );
    }
    let inc = case.incident();
    let s = &inc["secrets"][0];
    assert_eq!(s["kind"], "s3m");
    assert_eq!(s["before"]["liveness"], "live");
    assert_eq!(s["outcomes"][0]["outcome"], "revoked");
    assert_eq!(s["after"]["liveness"], "dead");
    assert_eq!(s["history"]["introduced_by"]["author"], "Alice Example");
    assert_eq!(s["history"]["at_head"], false);
    assert_eq!(s["history"]["pushed"], true, "origin/main holds it");
    assert_eq!(inc["summary"]["pushed"], 1);
    assert!(
        s["notice"]["contact"]
            .as_str()
            .unwrap()
            .contains("help@olcf.ornl.gov")
    );
    assert_eq!(inc["summary"]["revoked"], 1);
    assert_eq!(inc["summary"]["open"], 0);
    let cmds = inc["rewrite"]["commands"].to_string();
    assert!(
        cmds.contains("git filter-repo --invert-paths --path 'deploy/.env'"),
        "{cmds}"
    );
    let md = std::fs::read_to_string(case.report.join("incident.md")).unwrap();
    assert!(md.contains("does not un-leak"), "{md}");
    assert!(
        md.contains("To: OLCF User Assistance, help@olcf.ornl.gov"),
        "{md}"
    );

    // Idempotent: a second run sends no revocation and says why.
    let run = case.audit(&["--revoke", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("already revoked at") || run.stderr.contains("dead already"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing to revoke"), "{}", run.stderr);
    assert_eq!(revocations(&env, &fp), 1);
}

/// A 500 on the revocation: reported per token, not retried (a mutation), exit 1; the next run
/// finishes the job.
#[test]
fn peer_s3m_revoke_500_is_reported_not_retried_and_a_rerun_finishes() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let (env, token, fp, case) = s3m_leak("run.sh", "export S3M_TOKEN=");
    control(
        &env,
        "faults",
        json!({"status": 500, "times": 1, "path_contains": "/token/ctls/revoke", "fingerprint": fp}),
    );
    let run = case.audit(&["--revoke", "--yes"]);
    run.holds_no(&token);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("FAILED at"), "{}", run.stderr);
    assert_eq!(revocations(&env, &fp), 1);
    let done: Vec<Value> = case
        .log_entries()
        .into_iter()
        .filter(|e| e["action"] == "revoke" && e["phase"] == "done")
        .collect();
    assert_eq!(done[0]["outcome"], "failed");
    assert_eq!(
        run.report()["findings"][0]["history"]["pushed"],
        false,
        "never pushed"
    );
    assert!(
        done[0]["detail"].as_str().unwrap().contains("500"),
        "{done:#?}"
    );

    let run = case.audit(&["--revoke", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("an earlier revocation failed"),
        "{}",
        run.stderr
    );
    assert_eq!(revocations(&env, &fp), 2);
}

/// 429 with Retry-After on the revocation: the server did not act, so waiting and sending
/// again is safe; the token ends up revoked in one run.
#[test]
fn peer_s3m_revoke_429_waits_for_retry_after() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let (env, token, fp, case) = s3m_leak("notes.txt", "token: S3M_TOKEN=");
    control(
        &env,
        "faults",
        json!({"status": 429, "times": 1, "retry_after": 1, "path_contains": "/token/ctls/revoke", "fingerprint": fp}),
    );
    let run = case.audit(&["--revoke", "--yes"]);
    run.holds_no(&token);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reqs = s3m_requests(&env, &fp);
    let deletes: Vec<&Value> = reqs.iter().filter(|r| r["method"] == "DELETE").collect();
    assert_eq!(deletes.len(), 2, "{reqs:#?}");
    assert_eq!(deletes[0]["status"], 429);
    assert_eq!(deletes[1]["status"], 200);
    let gap = deletes[1]["t"].as_f64().unwrap() - deletes[0]["t"].as_f64().unwrap();
    assert!(gap >= 0.9, "Retry-After honoured ({gap:.2}s)");
}

/// No answer at all (nothing listens): liveness unknown, the revocation fails, every call is
/// still in the audit log, exit 1.
#[test]
fn connection_refused_leaves_a_consistent_log_and_exit_1() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let token = common::mint(
        r#"{{jwt RS256 {"type":"opat","aud":["api.olcf.ornl.gov"],"description":"x","jti":"@uuid","iat":"@now","nbf":"@now"}}}"#,
    );
    let case = Case::new(&format!(
        "[s3m]\nurl = \"http://127.0.0.1:{port}\"\n[http]\nretries = 1\ntimeout = \"3s\"\n"
    ));
    case.leak_in_history("x.env", &format!("S3M_TOKEN={token}\n"));
    let run = case.audit(&["--revoke", "--yes"]);
    run.holds_no(&token);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let rep = run.report();
    assert_eq!(rep["findings"][0]["liveness"], "unknown");
    let entries = case.log_entries();
    let by = |a: &str, p: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == a && e["phase"] == p)
            .count()
    };
    assert_eq!((by("verify", "intent"), by("verify", "done")), (1, 1));
    assert_eq!((by("revoke", "intent"), by("revoke", "done")), (1, 1));
    let done = entries
        .iter()
        .find(|e| e["action"] == "revoke" && e["phase"] == "done")
        .unwrap();
    assert_eq!(done["outcome"], "failed");
}

/// A slow S3M and a short timeout: the check gives up and says so (unknown), it does not hang.
#[test]
fn peer_s3m_timeout_is_unknown_not_a_hang() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = s3m_peer();
    let (token, fp) = mint_s3m(&env);
    let case = Case::new(&format!(
        "[s3m]\nurl = \"{}\"\n[http]\nretries = 0\ntimeout = \"1s\"\n",
        var(&env, "S3M_CONTRACT_URL")
    ));
    case.leak_in_history("a.env", &format!("S3M_TOKEN={token}\n"));
    control(
        &env,
        "faults",
        json!({"status": 0, "delay": 4, "times": 1, "path_contains": "/introspect", "fingerprint": fp}),
    );
    let run = case.audit(&["--verify"]);
    run.holds_no(&token);
    let rep = run.report();
    let v = &rep["findings"][0]["verification"];
    assert_eq!(v["liveness"], "unknown", "{v:#}");
    assert!(
        v["reason"].as_str().unwrap().contains("did not answer"),
        "{v:#}"
    );
}

/// Killed between the two audit-log writes of a revocation (the server is slow, and acts
/// anyway): the log keeps the intent, the next run says the earlier revocation was cut off,
/// finds the token dead and finishes without sending another revocation.
#[test]
fn peer_killed_between_the_two_log_writes_is_recovered_by_a_rerun() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let (env, token, fp, case) = s3m_leak("job.sh", "S3M_TOKEN=");
    control(
        &env,
        "faults",
        json!({"status": 0, "delay": 4, "times": 1, "path_contains": "/token/ctls/revoke", "fingerprint": fp}),
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tokenwarden"))
        .env("TOKENWARDEN_CONFIG", &case.config)
        .env("HOME", &case.home)
        .env_remove("S3M_TOKEN")
        .arg("audit")
        .arg(&case.repo)
        .arg("--audit-log")
        .arg(&case.log)
        .args(["--revoke", "--yes", "--format", "json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until the revocation's intent is on disk and its request has reached
    // the server (which holds the answer back for 4 s), then kill -9: killed any sooner, the
    // request might never leave the process.
    let deadline = Instant::now() + Duration::from_secs(60);
    let arrived = || {
        common::s3m::faults(&env).iter().any(|f| {
            f["fingerprint"] == fp.as_str()
                && f["path_contains"] == "/token/ctls/revoke"
                && f["times"] == 0
        })
    };
    loop {
        let intent = case
            .log_entries()
            .iter()
            .any(|e| e["action"] == "revoke" && e["phase"] == "intent");
        if intent && arrived() {
            break;
        }
        assert!(Instant::now() < deadline, "no revoke intent logged");
        assert!(
            child.try_wait().unwrap().is_none(),
            "exited before revoking"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let entries = case.log_entries();
    assert!(
        !entries
            .iter()
            .any(|e| e["action"] == "revoke" && e["phase"] == "done"),
        "killed before the answer: {entries:#?}"
    );
    // The server finishes the revocation on its own (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(30);
    while revocations(&env, &fp) == 0 {
        assert!(Instant::now() < deadline, "server never logged the DELETE");
        std::thread::sleep(Duration::from_millis(100));
    }
    let run = case.audit(&["--revoke", "--yes"]);
    run.holds_no(&token);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("was cut off"), "{}", run.stderr);
    assert!(run.stderr.contains("dead already"), "{}", run.stderr);
    assert_eq!(revocations(&env, &fp), 1);
}

/// The IRI contract server as ALCF's resource server: `/task/` requests accept a bearer only
/// if the Globus-like OAuth2 peer's introspection says it is active (as a real IRI deployment
/// asks Globus Auth). Returns (IRI base URL, request log path).
fn iri_resource_server(o: &common::oidc::Oidc) -> (String, String) {
    let env = peer("iri-contract", &[]);
    let url = format!("{}/accept", var(&env, "IRI_CONTROL_URL"));
    let r = reqwest::blocking::Client::new()
        .post(url)
        .json(&json!({"match": "/task/", "introspect": o.introspect,
                      "client_id": o.conf_client, "client_secret": o.conf_secret}))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    (
        var(&env, "IRI_URL").to_string(),
        var(&env, "IRI_REQUEST_LOG").to_string(),
    )
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

fn globus_config(o: &common::oidc::Oidc, iri: &str, client: &str) -> String {
    format!(
        "[globus]\nauth_url = \"{}\"\nclient_id = \"{client}\"\n[iri.alcf]\nurl = \"{iri}\"\n\
         [http]\nretries = 1\n",
        o.issuer
    )
}

/// Globus tokens leaked in an env file: ALCF's IRI API (backed by the real OAuth2 server's
/// introspection) says the access token is alive; both tokens are revoked with RFC 7009 as the
/// native client; the OAuth2 server then reports both inactive and the probe says 401.
#[test]
fn peer_globus_tokens_are_verified_at_alcf_and_revoked_rfc7009() {
    if !common::peers::ready(&[("iri-contract", &[]), ("oidc", &["globus"])]) {
        return;
    }
    let o = common::oidc::oidc();
    let (iri, iri_log) = iri_resource_server(&o);
    let rec = o.login();
    let access = rec.access_token.expose().to_string();
    let refresh = rec.refresh_token.as_ref().unwrap().expose().to_string();
    assert!(o.active(&access) && o.active(&refresh));
    let case = Case::new(&globus_config(&o, &iri, "native-cli"));
    case.leak_in_history(
        "alcf.env",
        &format!("ALCF_IRI_TOKEN={access}\nGLOBUS_REFRESH_TOKEN={refresh}\n"),
    );

    let run = case.audit(&["--verify"]);
    run.holds_no(&access).holds_no(&refresh);
    let rep = run.report();
    let live: Vec<&Value> = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["liveness"] == "live")
        .collect();
    assert!(!live.is_empty(), "{rep:#}");
    // The probe went to ALCF's task route with the access token, nowhere else.
    let probes: Vec<Value> = std::fs::read_to_string(&iri_log)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["bearer_sha256"] == sha256_hex(&access))
        .collect();
    assert_eq!(probes.len(), 1, "{probes:#?}");
    assert_eq!(probes[0]["path"], "/api/v1/task/not-a-real-task");
    assert_eq!(probes[0]["status"], 404);

    let report = case.report.to_str().unwrap().to_string();
    let run = case.audit(&["--revoke", "--yes", "--report", &report]);
    run.holds_no(&access).holds_no(&refresh);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !o.active(&access),
        "access token revoked at the OAuth2 server"
    );
    assert!(
        !o.active(&refresh),
        "refresh token revoked at the OAuth2 server"
    );
    let inc = case.incident();
    let secrets = inc["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    for s in secrets {
        assert_eq!(s["kind"], "globus");
        assert_eq!(s["outcomes"][0]["outcome"], "revoked", "{s:#}");
        assert!(
            s["outcomes"][0]["endpoint"]
                .as_str()
                .unwrap()
                .ends_with("/v2/oauth2/token/revoke")
        );
        assert_ne!(s["after"]["liveness"], "live", "{s:#}");
    }
    for f in ["incident.json", "incident.md"] {
        let text = std::fs::read_to_string(case.report.join(f)).unwrap();
        assert!(!text.contains(&access) && !text.contains(&refresh), "{f}");
    }
    let log = std::fs::read_to_string(&case.log).unwrap();
    assert!(!log.contains(&access) && !log.contains(&refresh));
}

/// A client id that did not issue the tokens: the server refuses, every known client is tried,
/// the run says it could not revoke them (exit 1) and does not pretend otherwise.
#[test]
fn peer_globus_revocation_by_a_stranger_client_fails_loudly() {
    if !common::peers::ready(&[("iri-contract", &[]), ("oidc", &["globus"])]) {
        return;
    }
    let o = common::oidc::oidc();
    let (iri, _) = iri_resource_server(&o);
    let rec = o.login();
    let access = rec.access_token.expose().to_string();
    let case = Case::new(&globus_config(&o, &iri, "not-the-issuer"));
    case.leak_in_history("x.env", &format!("ALCF_IRI_TOKEN={access}\n"));
    let run = case.audit(&["--revoke", "--yes"]);
    run.holds_no(&access);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no known client could revoke it"),
        "{}",
        run.stderr
    );
    assert!(o.active(&access), "still alive: nothing was revoked");
    // One refusal per client tried (the configured one and ALCF's two), each logged.
    let refused = case
        .log_entries()
        .into_iter()
        .filter(|e| e["action"] == "revoke" && e["outcome"] == "refused")
        .count();
    assert_eq!(refused, 3);
}

/// Revocation faults at a real server: the real OAuth2 server (Globus profile) behind a
/// fault-injecting proxy (`tests/common/faultproxy.rs`), and a port where nothing listens.
/// For each fault: the run ends with exit 1, every intent in the audit log has its answer,
/// a mutation that may have reached the server is never sent twice, whether the token is
/// still active is exactly whether the request reached the server, and a re-run once the
/// server is reachable again revokes it (exit 0).
#[test]
fn peer_globus_revocation_faults_at_the_real_oauth2_server() {
    if !common::peers::ready(&[("iri-contract", &[]), ("oidc", &["globus"])]) {
        return;
    }
    use common::faultproxy::{Fault, FaultProxy, refused_url};
    let o = common::oidc::oidc();
    let (iri, _) = iri_resource_server(&o);
    // (name, fault or None for a refused port, connections the run makes, reached the server,
    // words in the failure)
    let cases: [(&str, Option<Fault>, usize, bool, &str); 7] = [
        // Refused twice: a connection that never opened is safe to retry (retries = 1).
        ("refused", None, 0, false, "connection failed"),
        ("closed", Some(Fault::Close), 1, false, "request failed"),
        ("no answer", Some(Fault::Stall), 1, false, "timed out"),
        (
            "answer cut",
            Some(Fault::CutAnswer),
            1,
            true,
            "may have reached the server",
        ),
        ("500", Some(Fault::Status(500, None)), 1, false, "HTTP 500"),
        ("503", Some(Fault::Status(503, None)), 1, false, "HTTP 503"),
        // A 429 says the server did not act: retried once after its Retry-After.
        (
            "429",
            Some(Fault::Status(429, Some(1))),
            2,
            false,
            "HTTP 429",
        ),
    ];
    for (name, fault, connections, reached, words) in cases {
        let proxy = FaultProxy::start(&o.issuer);
        let auth = match fault {
            Some(f) => {
                proxy.set(f);
                proxy.url()
            }
            None => refused_url(),
        };
        let rec = o.login();
        let access = rec.access_token.expose().to_string();
        let config = |auth: &str| {
            format!(
                "[globus]\nauth_url = \"{auth}\"\nclient_id = \"native-cli\"\n\
                 [iri.alcf]\nurl = \"{iri}\"\n[http]\nretries = 1\ntimeout = \"2s\"\n"
            )
        };
        let case = Case::new(&config(&auth));
        case.leak_in_history("x.env", &format!("ALCF_IRI_TOKEN={access}\n"));
        let run = case.audit(&["--revoke", "--yes"]);
        run.holds_no(&access);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(words), "{name}: {}", run.stderr);
        assert_eq!(proxy.accepted(), connections, "{name}");
        assert_eq!(o.active(&access), !reached, "{name}: reached the server");
        let entries = case.log_entries();
        let revokes: Vec<&Value> = entries.iter().filter(|e| e["action"] == "revoke").collect();
        let phase = |p: &str| revokes.iter().filter(|e| e["phase"] == p).count();
        assert_eq!(
            (phase("intent"), phase("done")),
            (1, 1),
            "{name}: {entries:#?}"
        );
        assert!(
            revokes.iter().any(|e| e["outcome"] == "failed"),
            "{name}: {entries:#?}"
        );
        let log = std::fs::read_to_string(&case.log).unwrap();
        assert!(
            !log.contains(&access),
            "{name}: the audit log holds the token"
        );

        // The server is reachable again: the re-run finishes the job.
        proxy.set(Fault::Pass);
        std::fs::write(&case.config, config(&proxy.url())).unwrap();
        let again = case.audit(&["--revoke", "--yes"]);
        again.holds_no(&access);
        assert_eq!(again.code, 0, "{name}: {}", again.stderr);
        assert!(!o.active(&access), "{name}: revoked by the re-run");
    }
}

/// The Keycloak-like OAuth2 peer (`tests/peers/oidc-up.sh keycloak`) and a password grant as
/// alice through CSM's public `shasta` client: the token response.
fn keycloak_login() -> (PeerEnv, Value) {
    let env = peer("oidc", &["keycloak"]);
    let v: Value = reqwest::blocking::Client::new()
        .post(var(&env, "OIDC_TOKEN_ENDPOINT"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "shasta"),
            ("username", "alice"),
            ("password", "alice-pw"),
            ("scope", "openid offline_access"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    (env, v)
}

/// A Keycloak access JWT (RS256, from the Keycloak-like OAuth2 peer's password grant, as CSM's
/// `shasta` client gets one) leaked in a script: userinfo says alive, RFC 7009 revokes it,
/// userinfo then refuses it; the plan warns that an offline-checking gateway may still accept
/// it until `exp`.
#[test]
fn peer_keycloak_access_jwt_is_verified_and_revoked() {
    if !common::peers::ready(&[("oidc", &["keycloak"])]) {
        return;
    }
    let (env, v) = keycloak_login();
    let base = var(&env, "OIDC_ISSUER").trim_end_matches("/realms/shasta");
    let jwt = v["access_token"].as_str().unwrap().to_string();
    let case = Case::new(&format!(
        "[csm]\nkeycloak = \"{base}\"\n[http]\nretries = 1\n"
    ));
    case.leak_in_history(
        "ops/cray.sh",
        &format!("curl -H \"Authorization: Bearer {jwt}\" https://api-gw-service-nmn.local/apis/sts/token\n"),
    );
    let run = case.audit(&["--verify"]);
    run.holds_no(&jwt);
    let rep = run.report();
    let f = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["facility"] == "keycloak" || f["facility"] == "csm")
        .unwrap_or_else(|| panic!("the JWT is found: {rep:#}"));
    assert_eq!(f["liveness"], "live", "{f:#}");
    assert_eq!(f["verification"]["facts"]["user"], "alice");

    let report = case.report.to_str().unwrap().to_string();
    let run = case.audit(&["--revoke", "--yes", "--report", &report]);
    run.holds_no(&jwt);
    assert!(run.stderr.contains("until its `exp`"), "{}", run.stderr);
    // Revoked at Keycloak, but a gateway that checks JWTs offline still takes it until `exp`:
    // the admin steps are left to do.
    assert_eq!(run.code, 1, "{}", run.stderr);
    let inc = case.incident();
    let s = inc["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "keycloak")
        .unwrap()
        .clone();
    assert_eq!(s["outcomes"][0]["outcome"], "revoked", "{s:#}");
    assert!(
        s["outcomes"][0]["endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/realms/shasta/protocol/openid-connect/revoke")
    );
    assert_eq!(s["after"]["liveness"], "dead", "{s:#}");
    let userinfo = reqwest::blocking::Client::new()
        .get(var(&env, "OIDC_USERINFO_ENDPOINT"))
        .bearer_auth(&jwt)
        .send()
        .unwrap();
    assert_eq!(userinfo.status().as_u16(), 401);
    assert!(
        s["notice"]["rotate"]
            .to_string()
            .contains("push-revocation")
    );
}

/// A listener that counts connections: a stranger no token may reach.
struct Stranger {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn stranger() -> Stranger {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    Stranger { port, hits }
}

/// Rule 3 of the house against a hostile repository: its `.tokenwarden.toml` tries to hide the
/// token (an allow entry) and to point S3M at a stranger; a Keycloak JWT in it names the
/// stranger as its issuer. The audit ignores the repository's config, reports the token, sends
/// the S3M token only to the configured S3M and the JWT nowhere.
#[test]
fn peer_a_hostile_repository_cannot_hide_or_redirect_a_token() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = s3m_peer();
    let (token, fp) = mint_s3m(&env);
    let evil = stranger();
    let case = Case::new(&s3m_config(
        &env,
        "[csm]\nkeycloak = \"https://keycloak.example\"\n",
    ));
    let evil_jwt = common::mint(&format!(
        r#"{{{{jwt RS256 {{"iss":"http://127.0.0.1:{}/realms/shasta","typ":"Bearer","azp":"shasta","preferred_username":"eve","exp":"@now+3600"}}}}}}"#,
        evil.port
    ));
    // The fingerprint the hostile config tries to allow.
    let probe = Case::new(&s3m_config(&env, ""));
    probe.leak_in_history("a.env", &format!("S3M_TOKEN={token}\n"));
    let fp_tw = probe.audit(&[]).report()["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    case.git(&["init", "-q", "-b", "main"]);
    write(
        &case.repo,
        ".tokenwarden.toml",
        format!(
            "[[allow]]\nfingerprint = \"{fp_tw}\"\nreason = \"nothing to see\"\n\
             [s3m]\nurl = \"http://127.0.0.1:{}\"\n",
            evil.port
        ),
    );
    write(&case.repo, "deploy.env", format!("S3M_TOKEN={token}\n"));
    write(
        &case.repo,
        "kc.txt",
        format!("Authorization: Bearer {evil_jwt}\n"),
    );
    case.git(&["add", "-A"]);
    case.git(&["commit", "-qm", "hostile"]);
    let run = case.audit(&["--revoke", "--yes"]);
    run.holds_no(&token).holds_no(&evil_jwt);
    let rep = run.report();
    let fps: Vec<&str> = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert!(fps.contains(&fp_tw.as_str()), "not hidden: {rep:#}");
    assert_eq!(
        evil.hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no request to the stranger"
    );
    let reqs = s3m_requests(&env, &fp);
    assert_eq!(
        count(&reqs, "DELETE", "/token/ctls/revoke"),
        1,
        "revoked at the real S3M"
    );
    assert!(
        run.stderr.contains("not by the Keycloak in your config"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 1, "the JWT is left to deal with: {}", run.stderr);
}

use common::slurm_jwt;

/// Slurm JWTs against the REAL Slurm 22.05 cluster (`tests/peers/slurm-up.sh bookworm`): one
/// signed with the cluster's key is alive (slurmrestd answers diag), one past `exp` is dead
/// without a request, one signed with another key is refused (22.05: 500, reported as dead but
/// not proven; 24.11: 511, dead). No revocation exists, so
/// the plan says what the administrators must do, and the exit code says work is left.
#[test]
fn peer_slurm_jwts_live_expired_and_forged_on_slurm_22_05() {
    if !common::peers::ready(&[("slurm", &["bookworm"])]) {
        return;
    }
    slurm_jwts_live_expired_and_forged("bookworm", "answered 500");
}

/// The same on Slurm 24.11 (Debian 13), where slurmctld refuses the token: 511.
#[test]
fn peer_slurm_jwts_live_expired_and_forged_on_slurm_24_11() {
    if !common::peers::ready(&[("slurm", &["trixie"])]) {
        return;
    }
    slurm_jwts_live_expired_and_forged("trixie", "refused the authentication (HTTP 511)");
}

fn slurm_jwts_live_expired_and_forged(flavor: &str, refused: &str) {
    let env = peer("slurm", &[flavor]);
    let key = std::fs::read(var(&env, "SLURM_JWT_KEY")).unwrap();
    let user = var(&env, "SLURM_USER");
    let live = slurm_jwt(&key, user, 900);
    let expired = slurm_jwt(&key, user, -600);
    let forged = slurm_jwt(b"not the cluster key, but 32 byte", user, 900);
    let case = Case::new(&format!(
        "[slurm]\nurl = \"{}\"\n[http]\nretries = 1\n",
        var(&env, "SLURM_REST_URL")
    ));
    case.leak_in_history(
        "jobs/env.sh",
        &format!(
            "export SLURM_JWT={live}\n# old: SLURM_JWT={expired}\n# test: SLURM_JWT={forged}\n"
        ),
    );
    let report = case.report.to_str().unwrap().to_string();
    let run = case.audit(&["--revoke", "--yes", "--report", &report]);
    for t in [&live, &expired, &forged] {
        run.holds_no(t);
    }
    assert_eq!(
        run.code, 1,
        "a live Slurm JWT cannot be revoked: {}",
        run.stderr
    );
    let inc = case.incident();
    let secrets = inc["secrets"].as_array().unwrap();
    let by_reason = |needle: &str| {
        secrets
            .iter()
            .find(|s| {
                s["before"]["reason"]
                    .as_str()
                    .unwrap_or("")
                    .contains(needle)
            })
            .unwrap_or_else(|| panic!("no secret with {needle:?}: {secrets:#?}"))
    };
    let l = by_reason("accepted it");
    assert_eq!(l["before"]["liveness"], "live");
    assert_eq!(l["planned"]["action"], "manual");
    assert!(l["notice"]["rotate"].to_string().contains("jwt_hs256.key"));
    let e = by_reason("its own `exp`");
    assert_eq!(e["before"]["liveness"], "dead");
    assert!(
        e["before"].get("endpoint").is_none(),
        "no request for an expired token"
    );
    let f = by_reason(refused);
    assert_eq!(f["before"]["liveness"], "dead");
    // Two calls were made (live, forged), each logged twice; none for the expired one.
    let verifies = case
        .log_entries()
        .into_iter()
        .filter(|e| e["action"] == "verify")
        .count();
    assert_eq!(verifies, 4);
}

/// S3 keys beside each other in a committed credentials file, checked with a SigV4 ListBuckets
/// at the REAL S3 server (moto, which checks signatures) the user configured: the real pair is
/// alive, a tampered copy is dead. The endpoint written in the file (a stranger) is never used.
#[test]
fn peer_s3_keys_are_checked_at_the_configured_endpoint_only() {
    if !common::peers::ready(&[("s3", &[])]) {
        return;
    }
    let env = peer("s3", &[]);
    let evil = stranger();
    let id = var(&env, "S3_TEMP_ACCESS_KEY_ID");
    let secret = var(&env, "S3_TEMP_SECRET_ACCESS_KEY");
    let session = var(&env, "S3_TEMP_SESSION_TOKEN");
    let mut tampered: Vec<char> = secret.chars().collect();
    tampered[5] = if tampered[5] == 'x' { 'y' } else { 'x' };
    let tampered: String = tampered.into_iter().collect();
    let case = Case::new(&format!(
        "[csm]\ns3_url = \"{}\"\n[http]\nretries = 1\n",
        var(&env, "S3_ENDPOINT")
    ));
    case.leak_in_history(
        "creds/sts.json",
        &format!(
            "{{\"Credentials\": {{\"AccessKeyId\": \"{id}\", \"EndpointURL\": \"http://127.0.0.1:{}\", \
             \"aws_secret_access_key\": \"{secret}\", \"SessionToken\": \"{session}\"}}}}\n",
            evil.port
        ),
    );
    std::fs::write(
        case.repo.join("old.ini"),
        format!("[old]\naws_access_key_id = {id}\naws_secret_access_key = {tampered}\naws_session_token = {session}\n"),
    )
    .unwrap();
    let run = case.audit(&["--verify"]);
    run.holds_no(secret).holds_no(&tampered);
    let rep = run.report();
    let live = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "aws.secret_access_key")
        .map(|f| {
            (
                f["liveness"].as_str().unwrap().to_string(),
                f["verification"]["reason"].to_string(),
            )
        })
        .collect::<Vec<_>>();
    assert!(live.iter().any(|(l, _)| l == "live"), "{live:#?}");
    assert!(
        live.iter()
            .any(|(l, r)| l == "dead" && r.contains("SignatureDoesNotMatch")),
        "{live:#?}"
    );
    assert_eq!(evil.hits.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// `scan --verify`: the liveness reaches every report format (text, JSON, SARIF); a secret in
/// the work tree and in history is one finding, checked once.
#[test]
fn peer_scan_verify_reports_liveness_in_every_format() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = s3m_peer();
    let (token, fp) = mint_s3m(&env);
    let case = Case::new(&s3m_config(&env, ""));
    case.git(&["init", "-q", "-b", "main"]);
    write(&case.repo, "job.env", format!("S3M_TOKEN={token}\n"));
    case.git(&["add", "-A"]);
    case.git(&["commit", "-qm", "job"]);
    let scan = |format: &str, git: bool| {
        let mut c = tw();
        c.env("TOKENWARDEN_CONFIG", &case.config)
            .env("HOME", &case.home)
            .arg("scan")
            .arg(&case.repo)
            .args(["--verify", "--audit-log"])
            .arg(&case.log)
            .args(["--format", format, "--no-progress"]);
        if git {
            c.arg("--git");
        }
        let out = c.timeout(Duration::from_secs(120)).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!stdout.contains(&token));
        assert!(!String::from_utf8_lossy(&out.stderr).contains(&token));
        stdout
    };
    let text = scan("text", false);
    assert!(
        text.contains("liveness  LIVE: S3M introspection accepted it"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&scan("json", true)).unwrap();
    assert_eq!(json["findings"][0]["liveness"], "live");
    assert_eq!(
        json["findings"][0]["verification"]["facts"]["project"],
        "STF040"
    );
    let sarif: Value = serde_json::from_str(&scan("sarif", false)).unwrap();
    let props = &sarif["runs"][0]["results"][0]["properties"];
    assert_eq!(props["liveness"], "live", "{props:#}");
    assert_eq!(props["verification"]["liveness"], "live");
    // Three scans, one introspection each: the copy in history and in the tree is one secret.
    let reqs = s3m_requests(&env, &fp);
    assert_eq!(
        count(&reqs, "GET", "/token/ctls/introspect"),
        3,
        "{reqs:#?}"
    );
    let audit = case.audit(&["--verify"]);
    assert_eq!(audit.report()["findings"].as_array().unwrap().len(), 1);
    assert_eq!(
        count(&s3m_requests(&env, &fp), "GET", "/token/ctls/introspect"),
        4
    );
}

/// The confirmation at a terminal (a pseudo-terminal from util-linux `script`): anything but
/// `yes` revokes nothing; `yes` revokes.
#[test]
fn peer_the_terminal_confirmation_must_say_yes() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let (env, token, fp, case) = s3m_leak("t.env", "S3M_TOKEN=");
    let bin = assert_cmd::cargo::cargo_bin!("tokenwarden");
    let run = |answer: &str| {
        let cmd = format!(
            "{} audit {} --audit-log {} --revoke --format json",
            bin.display(),
            case.repo.display(),
            case.log.display()
        );
        let mut child = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("TOKENWARDEN_CONFIG", &case.config)
            .env("HOME", &case.home)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Answer once the question is asked (bounded by the child's own end).
        std::thread::sleep(Duration::from_secs(3));
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(&token), "the token was shown");
        all
    };
    let out = run("no");
    assert!(out.contains("Type `yes` to go on"), "{out}");
    assert!(out.contains("not confirmed: nothing was revoked"), "{out}");
    assert_eq!(revocations(&env, &fp), 0);
    let out = run("yes");
    assert!(out.contains("revoked at"), "{out}");
    assert_eq!(revocations(&env, &fp), 1);
}

/// Keycloak's refresh-token logout, through the library (the Keycloak-like peer issues opaque
/// refresh tokens, which no rule detects, so the finding is built here as a scan of a real
/// Keycloak's `typ: Refresh` JWT would produce it): RFC 7009 revoke, then logout, which ends
/// the session — the access token of the same login stops working too. A second logout finds
/// nothing left to end.
#[test]
fn peer_keycloak_refresh_token_revoke_and_logout_end_the_session() {
    if !common::peers::ready(&[("oidc", &["keycloak"])]) {
        return;
    }
    use tokenwarden::facilities::{ClientConfig, Http};
    use tokenwarden::finding::{Finding, Liveness};
    use tokenwarden::lifecycle::{Issuers, Lifecycle, Outcome};
    let (env, v) = keycloak_login();
    let issuer = var(&env, "OIDC_ISSUER");
    let base = issuer.trim_end_matches("/realms/shasta");
    let access = v["access_token"].as_str().unwrap().to_string();
    let refresh = v["refresh_token"].as_str().unwrap().to_string();
    let introspect = |t: &str| -> bool {
        let r: Value = reqwest::blocking::Client::new()
            .post(var(&env, "OIDC_INTROSPECTION_ENDPOINT"))
            .basic_auth(
                var(&env, "OIDC_CONF_CLIENT"),
                Some(var(&env, "OIDC_CONF_SECRET")),
            )
            .form(&[("token", t)])
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["active"] == true
    };
    assert!(introspect(&access) && introspect(&refresh));

    let case = Case::new(&format!("[csm]\nkeycloak = \"{base}\"\n"));
    let cfg = ClientConfig::load_from(&case.config).unwrap();
    let lc = Lifecycle::new(
        Http::new(cfg.http_options().unwrap()).unwrap(),
        Issuers::from_config(&cfg).unwrap(),
        &case.log,
    )
    .unwrap();
    let secret = tokenwarden::Secret::new(refresh.as_bytes());
    let finding = Finding {
        rule_id: "csm.keycloak_jwt".into(),
        rule_name: "CSM Keycloak token".into(),
        facility: "csm".into(),
        severity: tokenwarden::Severity::High,
        confidence: tokenwarden::Confidence::High,
        fingerprint: tokenwarden::Fingerprinter::default().fingerprint("csm.keycloak_jwt", &secret),
        preview: secret.preview(),
        secret,
        token: Some(tokenwarden::engine::jwt::TokenFacts {
            class: Some(tokenwarden::rules::JwtClass::KeycloakCsm),
            issuer: Some(issuer.to_string()),
            client: Some("shasta".into()),
            token_type: Some("Refresh".into()),
            ..Default::default()
        }),
        documentation_example: None,
        decoded_from: None,
        liveness: Liveness::Unknown,
        verification: None,
        history: None,
        locations: Vec::new(),
        also_matched: Vec::new(),
        actions: Vec::new(),
        issuer: None,
        remediation: String::new(),
        help_url: None,
    };
    // A refresh token is not tested by using it (that would rotate it).
    let v = lc.verify(&finding, &|_| None).unwrap();
    assert_eq!(v.liveness, Liveness::Unknown);
    assert!(v.reason.contains("would rotate it"), "{}", v.reason);
    let outcomes = lc.revoke(&finding).unwrap();
    assert_eq!(outcomes.len(), 2, "{outcomes:#?}");
    assert!(
        matches!(outcomes[0], Outcome::Revoked { .. }),
        "{outcomes:#?}"
    );
    assert!(
        matches!(
            outcomes[1],
            Outcome::Revoked { .. } | Outcome::Already { .. }
        ),
        "{outcomes:#?}"
    );
    assert!(!introspect(&refresh), "refresh token ended");
    assert!(
        !introspect(&access),
        "the session's access token ended with it"
    );
    // Again: nothing left to end, and that is not an error.
    let again = lc.revoke(&finding).unwrap();
    assert!(again.iter().all(|o| o.ended()), "{again:#?}");
    let log = std::fs::read_to_string(&case.log).unwrap();
    assert!(!log.contains(&refresh) && !log.contains(&access));
    assert_eq!(
        log.matches("\"logout\"").count(),
        4,
        "two logouts, intent and done each"
    );
}

/// Palmetto API keys through the Palmetto gateway stand-in (`tests/peers/palmetto/`, in front
/// of the REAL Slurm 24.11 slurmrestd): the read-only key authenticates (alive), an unknown key
/// is refused (401, dead). No public revocation: the plan names Clemson RCD.
#[test]
fn peer_palmetto_keys_live_and_unknown() {
    if !common::peers::ready(&[("palmetto", &["trixie"])]) {
        return;
    }
    let env = peer("palmetto", &["trixie"]);
    let ro = var(&env, "PALMETTO_TOKEN_RO");
    let bogus = common::mint("{{alnum 42}}");
    let case = Case::new(&format!(
        "[palmetto]\nurl = \"{}\"\n[http]\nretries = 1\n",
        var(&env, "PALMETTO_URL")
    ));
    case.leak_in_history(
        "palmetto.env",
        &format!("PALMETTO_API_KEY={ro}\n# old\nPALMETTO_API_KEY={bogus}\n"),
    );
    let report = case.report.to_str().unwrap().to_string();
    let run = case.audit(&["--revoke", "--yes", "--report", &report]);
    run.holds_no(ro).holds_no(&bogus);
    assert_eq!(run.code, 1, "a live key is left to Clemson: {}", run.stderr);
    let inc = case.incident();
    let secrets = inc["secrets"].as_array().unwrap();
    let live = secrets
        .iter()
        .find(|s| s["before"]["liveness"] == "live")
        .unwrap_or_else(|| panic!("{secrets:#?}"));
    assert_eq!(live["kind"], "palmetto");
    assert_eq!(live["planned"]["action"], "manual");
    assert!(
        live["notice"]["contact"]
            .as_str()
            .unwrap()
            .contains("Clemson RCD")
    );
    let dead = secrets
        .iter()
        .find(|s| s["before"]["liveness"] == "dead")
        .unwrap_or_else(|| panic!("{secrets:#?}"));
    assert!(
        dead["before"]["reason"].as_str().unwrap().contains("401"),
        "{dead:#}"
    );
    assert!(run.stderr.contains("tell: Clemson RCD"), "{}", run.stderr);
}

/// The verification fault matrix against S3M: a name that does not resolve, a TLS handshake
/// with a server that speaks plain HTTP, an answer cut short, JSON cut short, a body that
/// never ends, and 401/403/404/429 (with and without Retry-After)/500/502/503. Each gives a
/// verdict that says what happened (only a refusal proves a token dead), the run ends, every
/// intent in the audit log has its answer, and the token appears in no output and no log
/// line.
#[test]
fn peer_verification_fault_matrix() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = s3m_peer();
    let plain = var(&env, "S3M_CONTRACT_URL").to_string();
    let tls_to_plain = plain.replace("http://", "https://");
    // (name, S3M URL, fault on /introspect or null, liveness, words the reason must hold)
    let cases: Vec<(&str, String, Value, &str, &str)> = vec![
        (
            "dns",
            "https://s3m.invalid".into(),
            Value::Null,
            "unknown",
            "connection failed",
        ),
        (
            "tls",
            tls_to_plain,
            Value::Null,
            "unknown",
            "connection failed",
        ),
        (
            "truncated",
            plain.clone(),
            json!({"status": 200, "body": "truncate"}),
            "unknown",
            "did not answer",
        ),
        (
            "bad json",
            plain.clone(),
            json!({"status": 200, "body": "garbage"}),
            "unknown",
            "did not answer",
        ),
        (
            "endless body",
            plain.clone(),
            json!({"status": 200, "body": "trickle"}),
            "unknown",
            "timed out",
        ),
        (
            "401",
            plain.clone(),
            json!({"status": 401}),
            "dead",
            "HTTP 401",
        ),
        (
            "403",
            plain.clone(),
            json!({"status": 403}),
            "dead",
            "HTTP 403",
        ),
        (
            "429",
            plain.clone(),
            json!({"status": 429}),
            "unknown",
            "429",
        ),
        (
            "429 + Retry-After",
            plain.clone(),
            json!({"status": 429, "retry_after": 1}),
            "unknown",
            "retry after 1 s",
        ),
        (
            "404",
            plain.clone(),
            json!({"status": 404}),
            "unknown",
            "404",
        ),
        (
            "500",
            plain.clone(),
            json!({"status": 500}),
            "unknown",
            "500",
        ),
        (
            "502",
            plain.clone(),
            json!({"status": 502}),
            "unknown",
            "502",
        ),
        (
            "503",
            plain.clone(),
            json!({"status": 503}),
            "unknown",
            "503",
        ),
    ];
    for (name, url, fault, liveness, words) in cases {
        let (token, fp) = mint_s3m(&env);
        let case = Case::new(&format!(
            "[s3m]\nurl = \"{url}\"\n[http]\nretries = 1\ntimeout = \"2s\"\n"
        ));
        case.leak_in_history("a.env", &format!("S3M_TOKEN={token}\n"));
        if let Value::Object(mut f) = fault {
            f.insert("times".into(), json!(5));
            f.insert("path_contains".into(), json!("/introspect"));
            f.insert("fingerprint".into(), json!(fp));
            control(&env, "faults", Value::Object(f));
        }
        let run = case.audit(&["--verify"]);
        run.holds_no(&token);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        let rep = run.report();
        let v = &rep["findings"][0]["verification"];
        assert_eq!(v["liveness"], liveness, "{name}: {v:#}");
        let reason = v["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(words), "{name}: {reason}");
        let log = std::fs::read_to_string(&case.log).unwrap();
        assert!(
            !log.contains(&token),
            "{name}: the audit log holds the token"
        );
        let entries = case.log_entries();
        let phase = |p: &str| entries.iter().filter(|e| e["phase"] == p).count();
        assert_eq!((phase("intent"), phase("done")), (1, 1), "{name}: {log}");
    }
}

/// Revocation under faults: an endless answer and a 502 leave the job open (exit 1, the log
/// says failed); a re-run with the server healthy again finishes it (exit 0, revoked, and
/// S3M's own introspection then refuses the token).
#[test]
fn peer_revocation_faults_are_finished_by_a_rerun() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    for (name, fault) in [
        ("endless body", json!({"status": 200, "body": "trickle"})),
        ("502", json!({"status": 502})),
    ] {
        let env = s3m_peer();
        let (token, fp) = mint_s3m(&env);
        let case = Case::new(&format!(
            "[s3m]\nurl = \"{}\"\n[http]\nretries = 1\ntimeout = \"2s\"\n",
            var(&env, "S3M_CONTRACT_URL")
        ));
        case.leak_in_history("a.env", &format!("S3M_TOKEN={token}\n"));
        let mut f = fault.as_object().unwrap().clone();
        // One failed DELETE: a mutation is not retried after it may have reached the server.
        f.insert("times".into(), json!(1));
        f.insert("path_contains".into(), json!("/token/ctls/revoke"));
        f.insert("fingerprint".into(), json!(fp));
        control(&env, "faults", Value::Object(f));
        let run = case.audit(&["--revoke", "--yes"]);
        run.holds_no(&token);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        let failed = case
            .log_entries()
            .iter()
            .filter(|e| e["action"] == "revoke" && e["phase"] == "done" && e["outcome"] == "failed")
            .count();
        assert!(failed >= 1, "{name}: {:#?}", case.log_entries());
        assert_eq!(
            revocations(&env, &fp),
            1,
            "{name}: a revocation that may have reached the server is not sent again"
        );
        // The fault is used up; the re-run finishes the job with one more revocation.
        let report = case.report.display().to_string();
        let again = case.audit(&["--revoke", "--yes", "--report", &report]);
        again.holds_no(&token);
        assert_eq!(again.code, 0, "{name}: {}", again.stderr);
        let s = &case.incident()["secrets"][0];
        assert_eq!(s["after"]["liveness"], "dead", "{name}: {s:#}");
        assert_eq!(s["outcomes"][0]["outcome"], "revoked", "{name}: {s:#}");
        assert_eq!(revocations(&env, &fp), 2, "{name}");
        let log = std::fs::read_to_string(&case.log).unwrap();
        assert!(!log.contains(&token), "{name}");
    }
}
