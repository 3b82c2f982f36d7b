//! `tokenwarden s3m …` end to end, against the S3M CONTRACT server
//! (`tests/peers/s3m-contract/server.py`). S3M itself cannot be reached from here: that server
//! is built from OLCF's public documentation, and enforces what it documents — the token
//! without `Bearer`, permissions per token, the enclave in the path, the resource/version table,
//! the slurmrestd `job_submit_req` shape — and records every request (credentials replaced by a
//! fingerprint) so the tests can check what the client actually sent.
//!
//! Every test mints its own token, so tests running in parallel never see each other's
//! requests or faults.

mod common;
use common::assert_success;

use common::peers::{PeerEnv, peer, var};
use common::s3m::{fault, mint, requests};
use common::tw;
use serde_json::{Value, json};
use std::path::Path;

fn contract() -> PeerEnv {
    peer("s3m-contract", &[])
}

fn legacy() -> PeerEnv {
    peer("s3m-contract", &["legacy"])
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `tokenwarden s3m --url <contract> <args>` with the token in `S3M_TOKEN` (the
/// documented variable), no user config, and checks the token shows in neither stream.
fn s3m(env: &PeerEnv, token: Option<&str>, args: &[&str]) -> Run {
    s3m_with(env, token, args, |_| {})
}

fn s3m_with(
    env: &PeerEnv,
    token: Option<&str>,
    args: &[&str],
    extra: impl FnOnce(&mut assert_cmd::Command),
) -> Run {
    let mut c = tw();
    c.env("TOKENWARDEN_CONFIG", "/nonexistent/tokenwarden.toml")
        .env_remove("S3M_TOKEN")
        .args(["s3m", "--url", var(env, "S3M_CONTRACT_URL")])
        .args(args);
    if let Some(t) = token {
        c.env("S3M_TOKEN", t);
    }
    extra(&mut c);
    let out = c.output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    if let Some(t) = token {
        // Neither whole nor a long piece of it (the signature part is its most secret bit).
        let sig = t.rsplit('.').next().unwrap();
        for s in [&run.stdout, &run.stderr] {
            assert!(!s.contains(t), "token printed:\n{s}");
            assert!(!s.contains(sig), "token signature printed:\n{s}");
        }
    }
    run
}

fn ok(r: &Run) -> &Run {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    r
}

fn json_out(r: &Run) -> Value {
    ok(r);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.stdout))
}

#[test]
fn status_and_downtimes_send_no_token_even_when_one_is_at_hand() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (tok, fp) = mint(&env, &["compute-ace"], "open");
    let r = s3m(&env, Some(&tok), &["status"]);
    ok(&r);
    for name in ["defiant", "odo", "wombat", "quokka"] {
        assert!(r.stdout.contains(name), "{}", r.stdout);
    }
    let v = json_out(&s3m(&env, Some(&tok), &["status", "odo", "--json"]));
    assert_eq!(v["name"], "odo");
    let r = s3m(&env, Some(&tok), &["downtimes"]);
    assert!(ok(&r).stdout.contains("quokka"), "{}", r.stdout);
    let r = s3m(&env, Some(&tok), &["downtimes", "--upcoming"]);
    assert!(
        ok(&r).stdout.contains("hardware maintenance"),
        "{}",
        r.stdout
    );
    // No token was needed: none was sent, on any status call, ever.
    assert!(requests(&env, Some(&fp)).is_empty());
    let status: Vec<Value> = requests(&env, None)
        .into_iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .starts_with("/olcf/v1alpha/status")
        })
        .collect();
    assert!(status.len() >= 4);
    for r in &status {
        assert!(r["headers"].get("authorization").is_none(), "{r}");
    }
    let r = s3m(&env, None, &["status", "frontier-x"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
}

#[test]
fn introspect_sends_the_bare_token_and_shows_what_it_is() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (tok, fp) = mint(&env, &["compute-ace", "data-streaming"], "open");
    let r = s3m(&env, Some(&tok), &["token", "introspect"]);
    ok(&r);
    for s in ["STF040", "stf040_auser", "plannedExpiration", "compute-ace"] {
        assert!(r.stdout.contains(s), "{}", r.stdout);
    }
    let v = json_out(&s3m(&env, Some(&tok), &["token", "introspect", "--json"]));
    assert_eq!(v["token"]["securityEnclave"], "open");
    let reqs = requests(&env, Some(&fp));
    assert_eq!(reqs.len(), 2);
    for r in reqs {
        assert_eq!(r["path"], "/olcf/v1/token/ctls/introspect");
        // Exactly the fingerprint: no scheme word before the token.
        assert_eq!(r["headers"]["authorization"], fp.as_str(), "{r}");
    }
}

#[test]
fn the_contract_refuses_bearer_and_the_header_file_form_still_works() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (tok, fp) = mint(&env, &["compute-ace"], "open");
    let url = format!(
        "{}/olcf/v1/token/ctls/introspect",
        var(&env, "S3M_CONTRACT_URL")
    );
    let c = reqwest::blocking::Client::new();
    let s = |r: reqwest::blocking::RequestBuilder| r.send().unwrap().status().as_u16();
    assert_eq!(
        s(c.get(&url).header("Authorization", format!("Bearer {tok}"))),
        401
    );
    assert_eq!(s(c.get(&url)), 401);
    assert_eq!(s(c.get(&url).header("Authorization", tok.as_str())), 200);
    // The OLCF-recommended `.env` header file, even one written with `Bearer`: the client
    // takes the token out and sends it bare. It is read only because the user named it.
    let dir = tempfile::tempdir().unwrap();
    let dotenv = dir.path().join(".env");
    std::fs::write(&dotenv, format!("Authorization: Bearer {tok}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dotenv, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let before = requests(&env, Some(&fp)).len();
    let r = s3m_with(&env, None, &["token", "introspect"], |c| {
        c.arg("--token-from")
            .arg(format!("file:{}", dotenv.display()));
    });
    ok(&r);
    assert!(!r.stdout.contains(&tok) && !r.stderr.contains(&tok));
    let reqs = requests(&env, Some(&fp));
    assert_eq!(reqs.len(), before + 1);
    assert_eq!(reqs[before]["headers"]["authorization"], fp.as_str());
    // A `.env` in the working directory is never read unasked.
    let r = s3m_with(&env, None, &["token", "introspect"], |c| {
        c.current_dir(dir.path());
    });
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(requests(&env, Some(&fp)).len(), before + 1);
}

#[test]
fn revoke_needs_confirmation_and_then_the_token_is_dead() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (tok, fp) = mint(&env, &["compute-ace"], "open");
    // No terminal, no --yes: refused before any request.
    let r = s3m(&env, Some(&tok), &["token", "revoke"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert!(requests(&env, Some(&fp)).is_empty());
    let r = s3m(&env, Some(&tok), &["token", "revoke", "--yes"]);
    ok(&r);
    assert!(r.stdout.contains("revoked"), "{}", r.stdout);
    let reqs = requests(&env, Some(&fp));
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0]["method"], "DELETE");
    assert_eq!(reqs[0]["path"], "/olcf/v1/token/ctls/revoke");
    // Dead now: introspection is refused, and the advice says where to get a new one.
    let r = s3m(&env, Some(&tok), &["token", "introspect"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 401"), "{}", r.stderr);
    assert!(r.stderr.contains("myOLCF"), "{}", r.stderr);
}

fn script(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("hello.sh");
    std::fs::write(
        &p,
        "#!/bin/bash\n#SBATCH -J hello\n#SBATCH --time=0:10:00 -p batch\n#SBATCH -A STF040\necho hello\n",
    )
    .unwrap();
    p
}

#[test]
fn slurm_reads_submit_get_and_cancel_through_s3m() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (tok, fp) = mint(&env, &["compute-ace"], "open");
    let base = ["slurm", "--resource", "defiant", "--api", "v0.0.43"];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        s3m(&env, Some(&tok), &args)
    };
    assert!(ok(&run(&["ping"])).stdout.contains("defiant-ctl1"));
    assert!(ok(&run(&["diag"])).stdout.contains("server_thread_count"));
    assert!(ok(&run(&["nodes"])).stdout.contains("defiant-n1"));
    assert!(ok(&run(&["partitions"])).stdout.contains("batch"));
    assert!(ok(&run(&["reservations"])).stdout.contains("maint"));
    let v = json_out(&run(&["ping", "--json"]));
    assert_eq!(v["pings"][0]["responding"], true);

    let dir = tempfile::tempdir().unwrap();
    let sh = script(dir.path());
    let sh = sh.to_str().unwrap();
    let v = json_out(&run(&["job", "submit", sh, "--json", "--env", "A=1"]));
    let id = v["job_id"].as_i64().expect("job_id").to_string();
    let submit = requests(&env, Some(&fp))
        .into_iter()
        .find(|r| r["path"] == "/slurm/open/v0.0.43/defiant/job/submit")
        .expect("submit recorded");
    assert_eq!(submit["status"], 200, "{submit}");
    let job = &submit["body"]["job"];
    assert!(submit["body"].get("jobs").is_none());
    assert!(job["script"].as_str().unwrap().starts_with("#!/bin/bash"));
    assert_eq!(job["name"], "hello");
    assert_eq!(job["partition"], "batch");
    assert_eq!(job["account"], "STF040");
    assert_eq!(
        job["time_limit"],
        json!({"set": true, "infinite": false, "number": 10})
    );
    assert!(
        job["environment"]
            .as_array()
            .unwrap()
            .contains(&json!("A=1"))
    );

    let r = run(&["jobs"]);
    assert!(ok(&r).stdout.contains(&id), "{}", r.stdout);
    let r = run(&["job", "get", &id]);
    assert!(ok(&r).stdout.contains("hello"), "{}", r.stdout);
    ok(&run(&["job", "cancel", &id, "--signal", "SIGUSR1"]));
    let r = run(&["job", "cancel", &id]);
    assert!(ok(&r).stdout.contains("cancelled"), "{}", r.stdout);
    let v = json_out(&run(&["job", "get", &id, "--json"]));
    assert_eq!(v["jobs"][0]["job_state"][0], "CANCELLED");
    let deletes: Vec<Value> = requests(&env, Some(&fp))
        .into_iter()
        .filter(|r| r["method"] == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 2);
    assert_eq!(deletes[0]["query"], "signal=SIGUSR1");
    assert_eq!(deletes[1]["query"], "");
    let r = run(&["job", "get", "999999"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
    // No request of this test carried a scheme word.
    for r in requests(&env, Some(&fp)) {
        assert_eq!(r["headers"]["authorization"], fp.as_str(), "{r}");
    }
}

#[test]
fn each_version_gets_its_payload_shape_and_wait_follows_the_job() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (tok, fp) = mint(&env, &["compute-ace"], "open");
    let dir = tempfile::tempdir().unwrap();
    let sh = script(dir.path());
    let sh = sh.to_str().unwrap();
    // v0.0.44 on odo, with the description in `jobs`, waiting for the end.
    let r = s3m(
        &env,
        Some(&tok),
        &[
            "slurm",
            "-r",
            "odo",
            "--api",
            "v0.0.44",
            "job",
            "submit",
            sh,
            "--jobs-array",
            "--wait",
            "--poll-interval",
            "200ms",
        ],
    );
    ok(&r);
    assert!(r.stdout.contains("COMPLETED"), "{}", r.stdout);
    // v0.0.42 on wombat, plain `job`.
    ok(&s3m(
        &env,
        Some(&tok),
        &[
            "slurm", "-r", "wombat", "--api", "v0.0.42", "job", "submit", sh,
        ],
    ));
    let submits: Vec<Value> = requests(&env, Some(&fp))
        .into_iter()
        .filter(|r| r["method"] == "POST")
        .collect();
    assert_eq!(submits.len(), 2);
    assert_eq!(submits[0]["path"], "/slurm/open/v0.0.44/odo/job/submit");
    assert!(submits[0]["body"]["jobs"][0]["script"].is_string());
    assert!(submits[0]["body"].get("job").is_none());
    assert_eq!(submits[1]["path"], "/slurm/open/v0.0.42/wombat/job/submit");
    assert!(submits[1]["body"]["job"]["script"].is_string());
    // --wait polled the job until it left PENDING/RUNNING.
    let polls = requests(&env, Some(&fp))
        .into_iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .unwrap()
                    .starts_with("/slurm/open/v0.0.44/odo/job/")
        })
        .count();
    assert!(polls >= 2, "{polls} polls");
    // `jobs` outside v0.0.44 is refused by the client before anything is sent.
    let r = s3m(
        &env,
        Some(&tok),
        &[
            "slurm",
            "-r",
            "defiant",
            "job",
            "submit",
            sh,
            "--jobs-array",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    // The contract validates the payload against the slurmrestd spec: a version the resource
    // does not offer is a 404 with advice.
    let r = s3m(
        &env,
        Some(&tok),
        &["slurm", "-r", "wombat", "--api", "v0.0.44", "ping"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("wombat and quokka v0.0.42"),
        "{}",
        r.stderr
    );
}

#[test]
fn permissions_and_enclaves_map_to_advice() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (ro, _) = mint(&env, &["compute-ace-readonly"], "open");
    let (stream, _) = mint(&env, &["data-streaming"], "open");
    let (moderate, mfp) = mint(&env, &["compute-ace"], "moderate");
    let dir = tempfile::tempdir().unwrap();
    let sh = script(dir.path());
    let sh = sh.to_str().unwrap();
    ok(&s3m(&env, Some(&ro), &["slurm", "-r", "defiant", "jobs"]));
    let r = s3m(
        &env,
        Some(&ro),
        &["slurm", "-r", "defiant", "job", "submit", sh],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("HTTP 403"), "{}", r.stderr);
    assert!(r.stderr.contains("`compute-ace`"), "{}", r.stderr);
    let r = s3m(&env, Some(&ro), &["stream", "backends"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("data-streaming"), "{}", r.stderr);
    let r = s3m(&env, Some(&stream), &["slurm", "-r", "odo", "ping"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("compute-ace-readonly"), "{}", r.stderr);
    // A moderate-enclave token in the default (open) enclave: 403; with --enclave: fine.
    let r = s3m(&env, Some(&moderate), &["slurm", "-r", "defiant", "ping"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("HTTP 403"), "{}", r.stderr);
    ok(&s3m(
        &env,
        Some(&moderate),
        &["--enclave", "moderate", "slurm", "-r", "defiant", "ping"],
    ));
    let paths: Vec<String> = requests(&env, Some(&mfp))
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "/slurm/open/v0.0.43/defiant/ping",
            "/slurm/moderate/v0.0.43/defiant/ping"
        ]
    );
}

#[test]
fn legacy_paths_by_flag_or_config() {
    if !common::peers::ready(&[("s3m-contract", &["legacy"])]) {
        return;
    }
    let env = legacy();
    let (tok, fp) = mint(&env, &["compute-ace", "data-streaming"], "open");
    // The current layout against a pre-2026 deployment: 404, and the advice names the flag.
    let r = s3m(&env, Some(&tok), &["slurm", "-r", "defiant", "ping"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--legacy-paths"), "{}", r.stderr);
    ok(&s3m(
        &env,
        Some(&tok),
        &["--legacy-paths", "slurm", "-r", "defiant", "ping"],
    ));
    ok(&s3m(
        &env,
        Some(&tok),
        &["--legacy-paths", "stream", "backends"],
    ));
    // The same from the user's config file, which also gives the URL and the token source.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[s3m]\nurl = \"{}\"\npaths = \"legacy\"\ntoken = \"env:TW_TEST_S3M\"\nresource = \"odo\"\napi = \"v0.0.44\"\n",
            var(&env, "S3M_CONTRACT_URL")
        ),
    )
    .unwrap();
    let mut c = tw();
    let out = c
        .env("TOKENWARDEN_CONFIG", &cfg)
        .env_remove("S3M_TOKEN")
        .env("TW_TEST_S3M", &tok)
        .args(["s3m", "slurm", "partitions"])
        .output()
        .unwrap();
    assert_success(&out);
    let paths: Vec<String> = requests(&env, Some(&fp))
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "/slurm/open/v0.0.43/defiant/ping",
            "/slurm/v0.0.43/defiant/ping",
            "/olcf/v1alpha/streaming/list_backends",
            "/slurm/v0.0.44/odo/partitions",
        ]
    );
}

#[test]
fn reads_are_retried_on_503_and_a_submit_is_not_retried_on_500() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (tok, fp) = mint(&env, &["compute-ace"], "open");
    fault(
        &env,
        json!({"fingerprint": fp, "path_contains": "/jobs", "method": "GET", "status": 503, "times": 2}),
    );
    ok(&s3m(&env, Some(&tok), &["slurm", "-r", "defiant", "jobs"]));
    let statuses: Vec<i64> = requests(&env, Some(&fp))
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 503, 200]);

    fault(
        &env,
        json!({"fingerprint": fp, "path_contains": "/job/submit", "status": 500, "times": 1}),
    );
    let dir = tempfile::tempdir().unwrap();
    let sh = script(dir.path());
    let r = s3m(
        &env,
        Some(&tok),
        &[
            "slurm",
            "-r",
            "defiant",
            "job",
            "submit",
            sh.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 500"), "{}", r.stderr);
    let posts = requests(&env, Some(&fp))
        .into_iter()
        .filter(|r| r["method"] == "POST")
        .count();
    assert_eq!(
        posts, 1,
        "a submission that may have happened is never repeated"
    );
}

#[test]
fn retry_after_on_429_is_honoured() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (tok, fp) = mint(&env, &["compute-ace"], "open");
    fault(
        &env,
        json!({"fingerprint": fp, "path_contains": "/ping", "status": 429, "times": 1, "retry_after": 1}),
    );
    ok(&s3m(&env, Some(&tok), &["slurm", "-r", "odo", "ping"]));
    let reqs = requests(&env, Some(&fp));
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["status"], 429);
    assert_eq!(reqs[1]["status"], 200);
    let waited = reqs[1]["t"].as_f64().unwrap() - reqs[0]["t"].as_f64().unwrap();
    assert!(waited >= 0.9, "retried after {waited} s");
}

#[test]
fn streaming_clusters_keep_their_passwords_off_the_screen() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let (tok, fp) = mint(&env, &["data-streaming"], "open");
    let r = s3m(&env, Some(&tok), &["stream", "backends"]);
    assert!(ok(&r).stdout.contains("rabbitmq"), "{}", r.stdout);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("redis-creds.json");
    let name = format!("c{}", &fp[3..11]);
    let r = s3m(
        &env,
        Some(&tok),
        &[
            "stream",
            "redis",
            "provision",
            &name,
            "--cpus",
            "1",
            "--ram-gbs",
            "2",
            "--nodes",
            "1",
            "--save",
            saved.to_str().unwrap(),
        ],
    );
    ok(&r);
    // The file has the secrets, and only its owner can read it.
    let creds: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let password = creds["password"].as_str().unwrap().to_string();
    assert_eq!(password.len(), 16);
    assert!(creds["url"].as_str().unwrap().contains(&password));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The screen does not, in tables or JSON, unless asked.
    assert!(!r.stdout.contains(&password) && !r.stderr.contains(&password));
    assert!(r.stdout.contains("redis://"), "{}", r.stdout);
    for args in [
        vec!["stream", "redis", "list"],
        vec!["stream", "redis", "get", &name],
        vec!["stream", "redis", "get", &name, "--json"],
    ] {
        let r = s3m(&env, Some(&tok), &args);
        ok(&r);
        assert!(r.stdout.contains(&name), "{}", r.stdout);
        assert!(!r.stdout.contains(&password), "{}", r.stdout);
        assert!(!r.stderr.contains(&password), "{}", r.stderr);
    }
    let r = s3m(
        &env,
        Some(&tok),
        &["stream", "redis", "get", &name, "--show-secrets"],
    );
    assert!(ok(&r).stdout.contains(&password));
    let body = requests(&env, Some(&fp))
        .into_iter()
        .find(|r| r["path"] == "/olcf/open/v1alpha/streaming/redis/provision_cluster")
        .unwrap()["body"]
        .clone();
    assert_eq!(
        body,
        json!({"kind": "general", "name": name, "resourceSettings": {"cpus": 1, "ram-gbs": 2, "nodes": 1}})
    );
    // RabbitMQ too: amqps URL with its password redacted.
    let r = s3m(
        &env,
        Some(&tok),
        &["stream", "rabbitmq", "provision", &name],
    );
    ok(&r);
    assert!(
        r.stdout.contains("amqps://stf040-api:<redacted>@"),
        "{}",
        r.stdout
    );
    ok(&s3m(
        &env,
        Some(&tok),
        &["stream", "redis", "extend", &name],
    ));
    let r = s3m(&env, Some(&tok), &["stream", "redis", "delete", &name]);
    assert_eq!(r.code, 2, "no terminal, no --yes: {}", r.stderr);
    ok(&s3m(
        &env,
        Some(&tok),
        &["stream", "redis", "delete", &name, "--yes"],
    ));
    let r = s3m(&env, Some(&tok), &["stream", "redis", "get", &name]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
    ok(&s3m(
        &env,
        Some(&tok),
        &["stream", "rabbitmq", "delete", &name, "--yes"],
    ));
}

#[test]
fn no_token_anywhere_is_a_clear_error_without_a_request() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    let env = contract();
    let r = s3m_with(&env, None, &["token", "introspect"], |c| {
        c.arg("--token-from").arg("env:TW_SURELY_UNSET_VAR");
    });
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("TW_SURELY_UNSET_VAR"), "{}", r.stderr);
}

#[test]
fn the_contract_checks_submissions_against_the_slurmrestd_spec() {
    if !common::peers::ready(&[("s3m-contract", &[])]) {
        return;
    }
    // Guards the guard: a payload the spec does not allow must fail here, or the submit tests
    // above would prove nothing.
    let env = contract();
    let (tok, _) = mint(&env, &["compute-ace"], "open");
    let url = format!(
        "{}/slurm/open/v0.0.43/defiant/job/submit",
        var(&env, "S3M_CONTRACT_URL")
    );
    let post = |body: Value| {
        reqwest::blocking::Client::new()
            .post(&url)
            .header("Authorization", tok.as_str())
            .json(&body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let job = json!({"script": "#!/bin/sh\ntrue\n", "environment": ["PATH=/bin"], "current_working_directory": "/tmp"});
    assert_eq!(post(json!({"job": job})), 200);
    assert_eq!(post(json!({"job": job, "jobs": [job]})), 400);
    assert_eq!(post(json!({"jobs": [job]})), 400, "jobs is for v0.0.44");
    assert_eq!(
        post(json!({"job": {"script": "#!/bin/sh\n", "current_directory": "/tmp"}})),
        400
    );
    assert_eq!(
        post(json!({"job": {"script": "#!/bin/sh\n", "environment": {"PATH": "/bin"}}})),
        400
    );
    assert_eq!(
        post(json!({"job": {"script": "#!/bin/sh\n", "time_limit": "5"}})),
        400
    );
}
