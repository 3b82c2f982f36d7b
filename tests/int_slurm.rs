//! The Slurm client against REAL clusters: slurmctld + slurmd + slurmrestd + munged on
//! 127.0.0.1, started by `tests/peers/slurm-up.sh` — Debian 12's Slurm 22.05 (API v0.0.36–38)
//! and Debian 13's Slurm 24.11 in a chroot (v0.0.40–42) — and the Palmetto API contract
//! gateway (`tests/peers/palmetto/gateway.py`: our stand-in for RCD's gateway, built from the
//! Palmetto docs, which checks MUNGE credentials with the real `unmunge` and forwards to the
//! real slurmrestd).
//!
//! Jobs are submitted, read, waited on and cancelled for real. Credentials reach the binary
//! through the environment or a header file, never argv, and every test checks that the token
//! is not echoed.
//!
//! Never cancel another user's job here: on 24.11 that deadlocks slurmctld (tests/peers/README).

mod common;
use common::assert_success;

use common::peers::{PeerEnv, peer, var};
use common::tw;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn cluster(flavor: &str) -> PeerEnv {
    peer("slurm", &[flavor])
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An HS256 Slurm token signed with `key` (the cluster's own key, or another).
fn mint_jwt(key: &[u8], user: &str, exp: i64) -> String {
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let head = b64(&json!({"alg": "HS256", "typ": "JWT"}));
    let body = b64(&json!({"exp": exp, "iat": now(), "sun": user}));
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{sig}")
}

fn cluster_key(env: &PeerEnv) -> Vec<u8> {
    std::fs::read(var(env, "SLURM_JWT_KEY")).expect("the peer's jwt key")
}

/// A fresh token for the test user, signed with the cluster's key (10 minutes).
fn token(env: &PeerEnv) -> String {
    mint_jwt(&cluster_key(env), var(env, "SLURM_USER"), now() + 600)
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `tokenwarden slurm --url <rest> <args>` with the JWT in SLURM_JWT.
fn slurm(env: &PeerEnv, jwt: &str, args: &[&str]) -> Out {
    let out = tw()
        .args(["slurm", "--url", var(env, "SLURM_REST_URL")])
        .args(args)
        .env("SLURM_JWT", jwt)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !o.stdout.contains(jwt) && !o.stderr.contains(jwt),
        "the token was echoed: {} {}",
        o.stdout,
        o.stderr
    );
    o
}

fn json_of(o: &Out) -> Value {
    assert_eq!(o.code, 0, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.stdout))
}

fn state_of(job: &Value) -> String {
    match &job["job_state"] {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => panic!("no job_state in {other}"),
    }
}

fn script(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let p = dir.join("job.sh");
    std::fs::write(
        &p,
        format!(
            "#!/bin/bash\n#SBATCH -J tw-int -p debug -t 5 -D /tmp\n#SBATCH -o /dev/null\n{body}\n"
        ),
    )
    .unwrap();
    p
}

/// Submit a long job, see it in the list and by id, cancel it, see it CANCELLED.
fn full_cycle(flavor: &str) {
    let env = cluster(flavor);
    let jwt = token(&env);
    let dir = tempfile::tempdir().unwrap();
    let job_sh = script(dir.path(), "sleep 300");

    let ping = json_of(&slurm(&env, &jwt, &["--json", "ping"]));
    assert!(ping["pings"][0].is_object(), "{ping}");

    let served = json_of(&slurm(&env, &jwt, &["--json", "versions"]));
    let expected: Vec<Value> = var(&env, "SLURM_API_VERSIONS")
        .split_whitespace()
        .map(|v| json!(v))
        .collect();
    assert_eq!(served, Value::from(expected), "versions served by {flavor}");

    let submitted = json_of(&slurm(
        &env,
        &jwt,
        &["--json", "submit", job_sh.to_str().unwrap()],
    ));
    let id = submitted["job_id"].as_u64().expect("job_id");
    let ids = id.to_string();

    let listed = json_of(&slurm(&env, &jwt, &["--json", "jobs"]));
    assert!(
        listed["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["job_id"] == json!(id)),
        "job {id} not listed"
    );
    let table = slurm(&env, &jwt, &["jobs"]);
    assert!(table.stdout.contains("tw-int"), "{}", table.stdout);

    let job = json_of(&slurm(&env, &jwt, &["--json", "job", &ids]));
    assert_eq!(job["name"], json!("tw-int"));
    assert_eq!(job["user_name"], json!(var(&env, "SLURM_USER")));
    assert!(
        ["PENDING", "RUNNING", "CONFIGURING"]
            .iter()
            .any(|s| state_of(&job).contains(s)),
        "{}",
        state_of(&job)
    );

    let cancel = slurm(&env, &jwt, &["cancel", &ids]);
    assert_eq!(cancel.code, 0, "{}", cancel.stderr);
    assert!(cancel.stdout.contains(&format!("cancelled job {id}")));

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = json_of(&slurm(&env, &jwt, &["--json", "job", &ids]));
        if state_of(&job).contains("CANCELLED") {
            break;
        }
        assert!(Instant::now() < deadline, "job {id} never CANCELLED");
        std::thread::sleep(Duration::from_millis(300));
    }

    // An unknown job is an error, said in Slurm's words, exit 1.
    let missing = slurm(&env, &jwt, &["job", "987654"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("987654"), "{}", missing.stderr);
    let missing = slurm(&env, &jwt, &["cancel", "987654"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("Invalid job id"),
        "{}",
        missing.stderr
    );
    // The server said what was wrong: the token is not blamed for it (Slurm 22.05 answers an
    // unknown job with 500, as it answers a refused token).
    for m in [
        slurm(&env, &jwt, &["job", "987654"]),
        slurm(&env, &jwt, &["cancel", "987654"]),
    ] {
        assert!(
            !m.stderr.contains("expired or invalid token"),
            "{}",
            m.stderr
        );
    }
}

#[test]
fn peer_slurm_22_05_submit_list_get_cancel_with_a_jwt() {
    if !common::peers::ready(&[("slurm", &["bookworm"])]) {
        return;
    }
    full_cycle("bookworm");
}

#[test]
fn peer_slurm_24_11_submit_list_get_cancel_with_a_jwt() {
    if !common::peers::ready(&[("slurm", &["trixie"])]) {
        return;
    }
    full_cycle("trixie");
}

/// Every API version each cluster serves gets a payload of its own shape: a short job is
/// submitted with each and waited on until it COMPLETED.
#[test]
fn peer_slurm_every_served_version_runs_a_job_to_completion() {
    if !common::peers::ready(&[("slurm", &["bookworm"]), ("slurm", &["trixie"])]) {
        return;
    }
    for flavor in ["bookworm", "trixie"] {
        let env = cluster(flavor);
        let jwt = token(&env);
        let dir = tempfile::tempdir().unwrap();
        let job_sh = script(dir.path(), "echo ok");
        for version in var(&env, "SLURM_API_VERSIONS").split_whitespace() {
            let o = slurm(
                &env,
                &jwt,
                &[
                    "--api-version",
                    version,
                    "submit",
                    job_sh.to_str().unwrap(),
                    "--wait",
                    "--wait-timeout",
                    "90s",
                ],
            );
            assert_eq!(o.code, 0, "{flavor} {version}: {}{}", o.stdout, o.stderr);
            assert!(
                o.stdout.contains("ended: COMPLETED"),
                "{flavor} {version}: {}",
                o.stdout
            );
            // The read paths of each version parse too.
            for cmd in ["partitions", "nodes", "jobs"] {
                let o = slurm(&env, &jwt, &["--api-version", version, cmd]);
                assert_eq!(o.code, 0, "{flavor} {version} {cmd}: {}", o.stderr);
            }
            let parts = slurm(&env, &jwt, &["--api-version", version, "partitions"]);
            assert!(parts.stdout.contains("debug"), "{}", parts.stdout);
        }
    }
}

/// `--wait` reports a failed job and exits 1.
#[test]
fn peer_slurm_wait_reports_a_failed_job() {
    if !common::peers::ready(&[("slurm", &["bookworm"])]) {
        return;
    }
    let env = cluster("bookworm");
    let jwt = token(&env);
    let dir = tempfile::tempdir().unwrap();
    let job_sh = script(dir.path(), "exit 3");
    let o = slurm(&env, &jwt, &["submit", job_sh.to_str().unwrap(), "--wait"]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("FAILED"), "{}", o.stdout);
}

/// A submission whose answer is lost (a fault proxy in front of the real slurmrestd forwards
/// the request and cuts the answer): the client says the job may have been submitted instead
/// of sending it again, and the cluster holds exactly one such job.
#[test]
fn peer_slurm_a_submission_with_a_lost_answer_is_not_sent_again() {
    if !common::peers::ready(&[("slurm", &["bookworm"])]) {
        return;
    }
    use common::faultproxy::{Fault, FaultProxy};
    let env = cluster("bookworm");
    let jwt = token(&env);
    let proxy = FaultProxy::start(var(&env, "SLURM_REST_URL"));
    let name = format!("tw-cut-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let job_sh = dir.path().join("job.sh");
    std::fs::write(
        &job_sh,
        format!("#!/bin/bash\n#SBATCH -J {name} -p debug -t 5 -D /tmp\n#SBATCH -o /dev/null\nsleep 300\n"),
    )
    .unwrap();
    proxy.set(Fault::CutAnswer);
    let o = tw()
        .args(["slurm", "--url", &proxy.url(), "--api-version", "v0.0.38"])
        .args(["--retries", "3", "submit", job_sh.to_str().unwrap()])
        .env("SLURM_JWT", &jwt)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    // No answer at all is exit 2 (1 is for an answer that says no).
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("may have reached the server"), "{stderr}");
    assert!(!stderr.contains(&jwt));
    assert_eq!(proxy.accepted(), 1, "sent once, retries or not");
    // The cluster itself (not through the proxy) holds exactly one job of that name.
    let listed = json_of(&slurm(&env, &jwt, &["--json", "jobs"]));
    let ids: Vec<u64> = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["name"] == json!(name))
        .filter_map(|j| j["job_id"].as_u64())
        .collect();
    assert_eq!(ids.len(), 1, "{listed}");
    let cancel = slurm(&env, &jwt, &["cancel", &ids[0].to_string()]);
    assert_eq!(cancel.code, 0, "{}", cancel.stderr);
}

/// The header pair, with the token read from a `curl -H @file` header file.
#[test]
fn peer_slurm_header_pair_from_a_header_file() {
    if !common::peers::ready(&[("slurm", &["bookworm"]), ("slurm", &["trixie"])]) {
        return;
    }
    for flavor in ["bookworm", "trixie"] {
        let env = cluster(flavor);
        let jwt = token(&env);
        let dir = tempfile::tempdir().unwrap();
        let headers = dir.path().join("slurm.headers");
        std::fs::write(
            &headers,
            format!(
                "X-SLURM-USER-NAME: {}\nX-SLURM-USER-TOKEN: {jwt}\n",
                var(&env, "SLURM_USER")
            ),
        )
        .unwrap();
        let o = tw()
            .args(["slurm", "--url", var(&env, "SLURM_REST_URL")])
            .args(["--auth", "user-token", "--user", var(&env, "SLURM_USER")])
            .arg("--token-from")
            .arg(format!("file:{}", headers.display()))
            .args(["--json", "jobs"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{flavor}: {stderr}");
        // The file is world-readable (default umask): the client says so.
        assert!(stderr.contains("chmod 600"), "{stderr}");
        assert!(!stderr.contains(&jwt));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v["jobs"].is_array());
    }
}

/// A token the cluster did not sign is refused by the cluster, with advice that fits the
/// version's way of saying so (22.05: 500; 24.11: 511, or a DOWN ping).
#[test]
fn peer_slurm_a_forged_token_is_refused_with_advice() {
    if !common::peers::ready(&[("slurm", &["bookworm"]), ("slurm", &["trixie"])]) {
        return;
    }
    for flavor in ["bookworm", "trixie"] {
        let env = cluster(flavor);
        let forged = mint_jwt(
            b"not-the-cluster-key-not-the-cluster-key",
            var(&env, "SLURM_USER"),
            now() + 600,
        );
        let o = slurm(&env, &forged, &["jobs"]);
        assert_eq!(o.code, 1, "{flavor}: {}{}", o.stdout, o.stderr);
        assert!(
            o.stderr.contains("scontrol token"),
            "{flavor}: the advice should say how to get a new token: {}",
            o.stderr
        );
    }
}

/// An expired token never leaves the machine: the client refuses it before any request.
#[test]
fn peer_slurm_an_expired_token_is_refused_locally() {
    if !common::peers::ready(&[("slurm", &["bookworm"])]) {
        return;
    }
    let env = cluster("bookworm");
    let expired = mint_jwt(&cluster_key(&env), var(&env, "SLURM_USER"), now() - 60);
    // A URL nothing listens on: a request would fail differently.
    let o = tw()
        .args(["slurm", "--url", "http://127.0.0.1:9", "jobs"])
        .env("SLURM_JWT", &expired)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("expired") && stderr.contains("not sent"),
        "{stderr}"
    );
    assert!(!stderr.contains(&expired));
}

/// Hygiene the client practises: no token as a command-line value, no MUNGE header to a
/// stock slurmrestd, no credential in a job's environment, `SLURM_JWT=daemon` is not a token.
#[test]
fn cli_slurm_refuses_unsafe_uses() {
    let jwt = mint_jwt(b"k", "alice", now() + 600);
    let o = tw()
        .args([
            "slurm",
            "--url",
            "http://127.0.0.1:9",
            "--token-from",
            &jwt,
            "jobs",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr.contains("never accepted on the command line"),
        "{stderr}"
    );
    assert!(!stderr.contains(&jwt), "{stderr}");

    let o = tw()
        .args([
            "slurm",
            "--url",
            "http://127.0.0.1:9",
            "--auth",
            "munge",
            "ping",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr.contains("logs"), "{stderr}");

    let o = tw()
        .args(["slurm", "--url", "http://example.org", "ping"])
        .env("SLURM_JWT", &jwt)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("only https://"), "{stderr}");

    let o = tw()
        .args(["slurm", "--url", "http://127.0.0.1:9", "ping"])
        .env("SLURM_JWT", "daemon")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("scontrol token"));

    let dir = tempfile::tempdir().unwrap();
    let job_sh = script(dir.path(), "true");
    let o = tw()
        .args(["slurm", "--url", "http://127.0.0.1:9", "submit"])
        .arg(&job_sh)
        .args(["--env", "MY_API_TOKEN=abc"])
        .env("SLURM_JWT", &jwt)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr.contains("job records"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Palmetto: the contract gateway in front of the real 24.11 cluster.

fn palmetto() -> PeerEnv {
    peer("palmetto", &["trixie"])
}

fn palmetto_cmd(env: &PeerEnv) -> assert_cmd::Command {
    let mut c = tw();
    c.args(["palmetto", "--url", var(env, "PALMETTO_URL")])
        .timeout(Duration::from_secs(120));
    c
}

fn request_log(env: &PeerEnv) -> Vec<Value> {
    std::fs::read_to_string(var(env, "PALMETTO_REQUEST_LOG"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// MUNGE authentication: a fresh `munge -n -t 5` credential per request (the gateway rejects
/// replays, so a reused one would fail the second request), submit + get + cancel for real.
#[test]
fn peer_palmetto_munge_submit_get_cancel() {
    if !common::peers::ready(&[("palmetto", &["trixie"])]) {
        return;
    }
    let env = palmetto();
    let socket = var(&env, "PALMETTO_MUNGE_SOCKET");
    let dir = tempfile::tempdir().unwrap();
    let job_sh = script(dir.path(), "sleep 300");
    let before = request_log(&env).len();

    let run = |args: &[&str]| {
        let o = palmetto_cmd(&env)
            .args(["--munge-socket", socket])
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["--json", "submit", job_sh.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let id = serde_json::from_str::<Value>(&out).unwrap()["job_id"]
        .as_u64()
        .unwrap()
        .to_string();
    let (code, out, err) = run(&["--json", "job", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["name"],
        json!("tw-int")
    );
    let (code, _, err) = run(&["cancel", &id]);
    assert_eq!(code, 0, "{err}");

    // Other tests share the gateway: look only at the MUNGE requests since this one began.
    let log = request_log(&env);
    let mine: Vec<&Value> = log[before..]
        .iter()
        .filter(|r| r["auth"] == json!("munge"))
        .collect();
    assert!(mine.len() >= 3, "{mine:?}");
    assert!(
        mine.iter()
            .all(|r| r["outcome"] == json!("forwarded") && r["munge_ttl"] == json!(5)),
        "{mine:?}"
    );
}

/// Versions need no credential; `latest` is the gateway's alias.
#[test]
fn peer_palmetto_versions_and_latest() {
    if !common::peers::ready(&[("palmetto", &["trixie"])]) {
        return;
    }
    let env = palmetto();
    let o = palmetto_cmd(&env)
        .args(["--json", "versions"])
        .output()
        .unwrap();
    assert_success(&o);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let expected: Vec<Value> = var(&env, "PALMETTO_API_VERSIONS")
        .split_whitespace()
        .map(|s| json!(s))
        .collect();
    assert_eq!(v, Value::from(expected));

    let o = palmetto_cmd(&env)
        .args(["--api-version", "latest", "--json", "ping"])
        .env("PALMETTO_API_KEY", var(&env, "PALMETTO_TOKEN_RO"))
        .output()
        .unwrap();
    assert_success(&o);
}

/// Bearer keys and their scopes: read-only may read but not submit (403 with the scope named),
/// read-write may submit and cancel, an unknown key gets 401 advice. Keys never echoed.
#[test]
fn peer_palmetto_bearer_scopes() {
    if !common::peers::ready(&[("palmetto", &["trixie"])]) {
        return;
    }
    let env = palmetto();
    let ro = var(&env, "PALMETTO_TOKEN_RO");
    let rw = var(&env, "PALMETTO_TOKEN_RW");
    let dir = tempfile::tempdir().unwrap();
    let job_sh = script(dir.path(), "sleep 300");

    let run = |key: &str, args: &[&str]| {
        let o = palmetto_cmd(&env)
            .args(args)
            .env("PALMETTO_API_KEY", key)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(
            !out.contains(key) && !err.contains(key),
            "key echoed: {out}{err}"
        );
        (o.status.code().unwrap_or(-1), out, err)
    };

    let (code, _, err) = run(ro, &["jobs"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(ro, &["submit", job_sh.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("HTTP 403") && err.contains("slurm:jobs:manage"),
        "{err}"
    );

    let (code, out, err) = run(rw, &["--json", "submit", job_sh.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let id = serde_json::from_str::<Value>(&out).unwrap()["job_id"]
        .as_u64()
        .unwrap()
        .to_string();
    let (code, _, err) = run(rw, &["cancel", &id]);
    assert_eq!(code, 0, "{err}");

    let (code, _, err) = run("not-a-key-0123456789abcdef", &["jobs"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("HTTP 401"), "{err}");

    // An unsupported version: the gateway says 400, the client says where to look.
    let (code, _, err) = run(ro, &["--api-version", "v0.0.36", "jobs"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("palmetto versions"), "{err}");
}
