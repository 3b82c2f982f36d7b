//! The IRI client against the IRI contract server (tests/peers/iri-contract-up.sh): a server
//! built from the v1 spec that validates every request tokenwarden sends and every response it
//! answers with, and logs each request. The ALCF/NERSC/OLCF hosts cannot be reached from here,
//! so the spec is the contract; each test uses its own resource ids so that its log entries and
//! injected faults are its own.

mod common;
use common::assert_success;

use common::peers::{peer, var};
use common::tw;
use serde_json::{Value, json};
use std::process::Output;

struct Iri {
    url: String,
    control: String,
    token_file: String,
    token: String,
}

fn iri() -> Iri {
    let env = peer("iri-contract", &[]);
    let token_file = var(&env, "IRI_TOKEN_FILE").to_string();
    Iri {
        url: var(&env, "IRI_URL").to_string(),
        control: var(&env, "IRI_CONTROL_URL").to_string(),
        token: std::fs::read_to_string(&token_file)
            .unwrap()
            .trim()
            .to_string(),
        token_file,
    }
}

fn unique(tag: &str) -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    format!("{tag}-{}", hex::encode(b))
}

impl Iri {
    /// `tokenwarden iri --url <contract> --token-from file:<token> <args>`.
    fn run(&self, args: &[&str]) -> Output {
        let out = tw()
            .env("HOME", "/nonexistent-home-for-tests")
            .env("TOKENWARDEN_CONFIG", "/nonexistent/config.toml")
            .args(["iri", "--url", &self.url, "--token-from"])
            .arg(format!("file:{}", self.token_file))
            .args(["--retries", "3"])
            .args(args)
            .output()
            .unwrap();
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        // The token never appears in anything the CLI prints, whatever happened.
        assert!(!o.contains(&self.token), "token in stdout: {o}");
        assert!(!e.contains(&self.token), "token in stderr: {e}");
        out
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let text = self.ok(&a);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn fail(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Every logged request whose path contains `needle`, each checked to have followed the
    /// spec (and its response too, unless it was an injected fault).
    fn log(&self, needle: &str) -> Vec<Value> {
        let all: Value = reqwest::blocking::get(format!("{}/log", self.control))
            .unwrap()
            .json()
            .unwrap();
        let mine: Vec<Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["path"].as_str().unwrap_or("").contains(needle))
            .cloned()
            .collect();
        for e in &mine {
            if e["fault"] == true {
                continue;
            }
            assert_eq!(e["valid"], true, "request does not follow the spec: {e:#}");
            if e["status"].as_u64().is_some_and(|s| s < 300) {
                assert_eq!(e["response_valid"], true, "response invalid: {e:#}");
            }
            // Credential values are logged only as hashes; the token is never in the log.
            assert!(!e.to_string().contains(&self.token));
        }
        mine
    }

    fn fault(&self, spec: Value) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/fault", self.control))
            .json(&spec)
            .send()
            .unwrap();
        assert!(r.status().is_success());
    }
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

#[test]
fn int_public_operations_go_out_without_a_token() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    let s = iri();
    let f = s.json(&["facility"]);
    assert_eq!(f["short_name"], "CONTRACT");
    let sites = s.json(&["sites", "--limit", "5"]);
    let site_id = sites[0]["id"].as_str().unwrap().to_string();
    assert_eq!(s.json(&["sites", &site_id])["id"], site_id.as_str());
    let res = s.json(&["status", "resources", "--resource-type", "compute"]);
    assert_eq!(res.as_array().unwrap().len(), 1);
    let rid = res[0]["id"].as_str().unwrap().to_string();
    assert_eq!(s.json(&["status", "resources", &rid])["name"], "Polaris");
    let inc = s.json(&["status", "incidents"]);
    let iid = inc[0]["id"].as_str().unwrap().to_string();
    assert_eq!(s.json(&["status", "incidents", &iid])["type"], "planned");
    let ev = s.json(&["status", "events", "--incident-id", &iid]);
    let eid = ev[0]["id"].as_str().unwrap().to_string();
    assert_eq!(s.json(&["status", "events", &eid])["status"], "down");
    let caps = s.json(&["account", "capabilities"]);
    let cid = caps[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        s.json(&["account", "capabilities", &cid])["units"][0],
        "node_hours"
    );
    assert_eq!(
        s.json(&["compute", "resources"])[0]["resource_type"],
        "compute"
    );
    assert_eq!(s.json(&["fs", "resources"])[0]["resource_type"], "storage");
    // Tables, too.
    let table = s.ok(&["status", "resources"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains("Polaris") && table.contains("up"), "{table}");

    let public = [
        "getFacility",
        "getSites",
        "getSite",
        "getResources",
        "getResource",
        "getIncidents",
        "getIncident",
        "getEventsByIncident",
        "getEventByIncident",
        "getCapabilities",
        "getCapability",
        "getComputeResources",
        "getFilesystemResources",
    ];
    let entries: Vec<Value> = s
        .log("/api/v1/")
        .into_iter()
        .filter(|e| public.iter().any(|p| e["operation"] == *p))
        .collect();
    for p in public {
        assert!(entries.iter().any(|e| e["operation"] == p), "{p} not sent");
    }
    for e in entries {
        assert!(
            e["headers"].get("authorization").is_none(),
            "a public operation carried a credential: {e:#}"
        );
    }
}

#[test]
fn int_account_projects_and_allocations() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    let s = iri();
    let p = s.json(&["account", "projects"]);
    assert_eq!(p[0]["id"], "proj-1");
    assert_eq!(
        s.json(&["account", "projects", "proj-1"])["name"],
        "Climate"
    );
    let a = s.json(&["account", "allocations", "proj-1"]);
    assert_eq!(a[0]["id"], "alloc-1");
    assert_eq!(
        s.json(&["account", "allocations", "proj-1", "alloc-1"])["entries"][0]["unit"],
        "node_hours"
    );
    let u = s.json(&["account", "user-allocations", "proj-1", "alloc-1"]);
    assert_eq!(u[0]["user_id"], "alice");
    let one = s.json(&[
        "account",
        "user-allocations",
        "proj-1",
        "alloc-1",
        "ualloc-1",
    ]);
    assert_eq!(one["id"], "ualloc-1");
    let table = s.ok(&["account", "allocations", "proj-1"]);
    assert!(
        table.contains("node_hours") && table.contains("1000"),
        "{table}"
    );
    let log = s.log("/account/projects");
    assert!(log.len() >= 6);
    for e in log {
        assert_eq!(
            e["bearer_sha256"],
            sha256_hex(&s.token),
            "the projects calls carry the bearer token"
        );
    }
}

#[test]
fn int_compute_launch_update_list_get_cancel() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    let s = iri();
    let rid = unique("compute");
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("job.json");
    std::fs::write(
        &spec,
        r#"{"executable":"/bin/hostname","name":"hello","resources":{"node_count":2},
            "attributes":{"duration":600,"queue_name":"debug","account":"proj-1"}}"#,
    )
    .unwrap();
    let job = s.json(&[
        "compute",
        "launch",
        &rid,
        "--spec",
        spec.to_str().unwrap(),
        "--arg",
        "-f",
    ]);
    let jid = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["status"]["state"], "queued");
    assert_eq!(job["job_spec"]["arguments"], json!(["-f"]));
    // Flags alone make a JobSpec too.
    let j2 = s.json(&[
        "compute",
        "launch",
        &rid,
        "--executable",
        "/bin/true",
        "--nodes",
        "1",
        "--duration",
        "60",
        "--env",
        "OMP_NUM_THREADS=4",
        "--name",
        "second",
    ]);
    let updated = s.json(&[
        "compute",
        "update",
        &rid,
        &jid,
        "--spec",
        spec.to_str().unwrap(),
        "--name",
        "renamed",
    ]);
    assert_eq!(updated["job_spec"]["name"], "renamed");

    let list = s.json(&[
        "compute",
        "list",
        &rid,
        "--filter",
        r#"{"name":"second"}"#,
        "--limit",
        "10",
        "--include-spec",
    ]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], j2["id"]);
    let got = s.json(&[
        "compute",
        "get",
        &rid,
        &jid,
        "--include-spec",
        "--historical",
    ]);
    assert_eq!(got["job_spec"]["name"], "renamed");
    let table = s.ok(&["compute", "list", &rid]);
    assert!(table.contains("queued"), "{table}");
    s.ok(&["compute", "cancel", &rid, &jid]);
    assert_eq!(
        s.json(&["compute", "get", &rid, &jid])["status"]["state"],
        "canceled"
    );

    let log = s.log(&rid);
    let launches: Vec<&Value> = log
        .iter()
        .filter(|e| e["operation"] == "launchJob")
        .collect();
    let updates: Vec<&Value> = log
        .iter()
        .filter(|e| e["operation"] == "updateJob")
        .collect();
    assert_eq!(launches.len(), 2);
    assert_eq!(updates.len(), 1);
    let uuid4 =
        regex::Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    let mut keys = Vec::new();
    for e in launches.iter().chain(updates.iter()) {
        let k = e["headers"]["idempotency-key"]
            .as_str()
            .unwrap_or_else(|| panic!("no Idempotency-Key: {e:#}"));
        assert!(uuid4.is_match(k), "{k}");
        keys.push(k.to_string());
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "each mutation has its own key");
    // The job list is a POST with the filter as its JSON body and the paging in the query.
    let lists: Vec<&Value> = log.iter().filter(|e| e["operation"] == "getJobs").collect();
    assert_eq!(lists[0]["method"], "POST");
    assert_eq!(lists[0]["body"], json!({"name": "second"}));
    assert_eq!(lists[0]["query"]["limit"], "10");
    assert_eq!(lists[0]["query"]["include_spec"], "true");
    assert_eq!(lists[1]["body"], json!({}));
    // Reads carry no Idempotency-Key.
    assert!(lists[0]["headers"].get("idempotency-key").is_none());
    let cancel = log.iter().find(|e| e["operation"] == "cancelJob").unwrap();
    assert_eq!(cancel["method"], "DELETE");
    assert_eq!(cancel["status"], 204);
}

#[test]
fn int_filesystem_operations_wait_for_their_tasks() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    let s = iri();
    let rid = unique("fs");
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("data.txt");
    std::fs::write(&local, "alpha\nbeta\ngamma\ndelta\n").unwrap();
    let remote = format!("/home/alice/{rid}.txt");
    s.ok(&["fs", "upload", &rid, local.to_str().unwrap(), &remote]);
    let down = dir.path().join("back.txt");
    s.ok(&[
        "fs",
        "download",
        &rid,
        &remote,
        "--output",
        down.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&down).unwrap(),
        "alpha\nbeta\ngamma\ndelta\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&down).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(
        s.ok(&["fs", "head", &rid, &remote, "--lines", "2"]),
        "alpha\nbeta\n"
    );
    assert_eq!(
        s.ok(&["fs", "tail", &rid, &remote, "--lines", "1"]),
        "delta\n"
    );
    assert!(
        s.ok(&[
            "fs", "view", &rid, &remote, "--size", "100", "--offset", "0"
        ])
        .contains("gamma")
    );
    let ls = s.ok(&["fs", "ls", &rid, "/home/alice", "--hidden"]);
    assert!(ls.contains(&format!("{rid}.txt")), "{ls}");
    let sum = s.json(&["fs", "checksum", &rid, &remote]);
    assert_eq!(sum["status"], "completed");
    assert_eq!(
        sum["result"]["output"]["checksum"],
        sha256_hex("alpha\nbeta\ngamma\ndelta\n")
    );
    s.ok(&["fs", "stat", &rid, &remote, "--dereference"]);
    s.ok(&["fs", "file", &rid, &remote]);
    s.ok(&["fs", "mkdir", &rid, "/home/alice/newdir", "--parents"]);
    s.ok(&["fs", "symlink", &rid, &remote, "/home/alice/link"]);
    let copy = format!("{remote}.copy");
    s.ok(&["fs", "cp", &rid, &remote, &copy, "--dereference"]);
    let moved = format!("{remote}.moved");
    s.ok(&["fs", "mv", &rid, &copy, &moved]);
    s.ok(&["fs", "chmod", &rid, &moved, "640"]);
    s.ok(&[
        "fs", "chown", &rid, &moved, "--owner", "alice", "--group", "users",
    ]);
    s.ok(&[
        "fs",
        "compress",
        &rid,
        "/home/alice",
        "/home/alice/a.tar.gz",
        "--match",
        ".*\\.txt$",
    ]);
    s.ok(&[
        "fs",
        "extract",
        &rid,
        "/home/alice/a.tar.gz",
        "/home/alice/x",
        "--compression",
        "gzip",
    ]);
    s.ok(&["fs", "rm", &rid, &moved]);
    // A failed task (the file is gone) is exit 1, with the reason.
    let err = s.fail(&["fs", "rm", &rid, &moved]);
    assert!(err.contains("no such file"), "{err}");

    let log = s.log(&rid);
    let ops: Vec<&str> = log.iter().filter_map(|e| e["operation"].as_str()).collect();
    for op in [
        "upload", "download", "head", "tail", "view", "ls", "checksum", "stat", "file", "mkdir",
        "symlink", "cp", "mv", "chmod", "chown", "compress", "extract", "rm",
    ] {
        assert!(ops.contains(&op), "{op} not sent: {ops:?}");
    }
    let up = log.iter().find(|e| e["operation"] == "upload").unwrap();
    assert!(
        up["headers"]["content-type"]
            .as_str()
            .unwrap()
            .starts_with("multipart/form-data"),
        "{up:#}"
    );
    assert_eq!(up["body"]["multipart_fields"], json!(["file"]));
    assert_eq!(up["query"]["path"], remote.as_str());
    let chmod = log.iter().find(|e| e["operation"] == "chmod").unwrap();
    assert_eq!(chmod["method"], "PUT");
    assert_eq!(chmod["body"]["mode"], "640");
    let rm = log.iter().find(|e| e["operation"] == "rm").unwrap();
    assert_eq!(rm["method"], "DELETE");
}

#[test]
fn int_no_wait_then_task_wait_polls_until_done() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    let s = iri();
    let rid = unique("nowait");
    let id = s.ok(&["fs", "ls", &rid, "/home/alice", "--no-wait"]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 36, "{id}");
    let t = s.json(&["task", "get", &id]);
    assert_ne!(
        t["status"], "completed",
        "the task finishes only after a delay"
    );
    let done = s.json(&["task", "wait", &id]);
    assert_eq!(done["status"], "completed");
    let polls: Vec<Value> = s
        .log(&format!("/task/{id}"))
        .into_iter()
        .filter(|e| e["operation"] == "getTask")
        .collect();
    assert!(polls.len() >= 3, "the client polled: {}", polls.len());
    let listed = s.json(&["task", "list"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str())
    );
    // Cancel a fresh one.
    let id2 = s.ok(&["fs", "ls", &rid, "/home/alice", "--no-wait"]);
    s.ok(&["task", "cancel", id2.trim()]);
    assert_eq!(s.json(&["task", "get", id2.trim()])["status"], "canceled");
}

#[test]
fn int_library_lists_jobs_and_waits_for_tasks() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    use tokenwarden::facilities::iri::{Facility, FsOp, IriClient, JobListOptions, PollOptions};
    use tokenwarden::facilities::{Endpoint, Http, Token};
    let s = iri();
    let rid = unique("lib");
    let c = IriClient::new(
        Http::new(Default::default()).unwrap(),
        Endpoint::parse(&s.url).unwrap(),
        Some(Token::new(s.token.clone())),
        Some(Facility::Alcf),
        false,
    );
    let j = c.launch(&rid, &json!({"executable": "/bin/true"})).unwrap();
    let jobs = c
        .jobs(
            &rid,
            &json!({"state": "queued"}),
            &JobListOptions::default(),
        )
        .unwrap();
    assert_eq!(jobs[0]["id"], j["id"]);
    let sub = c
        .filesystem(&FsOp::Checksum {
            resource: rid.clone(),
            path: "/home/alice/hello.txt".into(),
        })
        .unwrap();
    let mut ticks = 0;
    let task = c
        .wait_task(
            sub["task_id"].as_str().unwrap(),
            &PollOptions::default(),
            |_| ticks += 1,
        )
        .unwrap();
    assert_eq!(task["status"], "completed");
    assert!(ticks >= 2);
    s.log(&rid);
}

#[test]
fn int_olcf_refuses_what_it_does_not_implement() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    // No --url: the named site's compliance report decides, and nothing is sent.
    for args in [
        vec!["fs", "ls", "r", "/"],
        vec!["task", "list"],
        vec!["account", "projects"],
        vec!["fs", "upload", "r", "/etc/hostname", "/x"],
    ] {
        let out = tw()
            .env("TOKENWARDEN_CONFIG", "/nonexistent/config.toml")
            .env("OLCF_IRI_TOKEN", "not-a-real-token-but-never-sent")
            .args(["iri", "--facility", "olcf-open"])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("olcf-open does not implement"),
            "{args:?}: {err}"
        );
        assert!(err.contains("nothing was sent"), "{err}");
        assert!(err.contains("--url"), "{err}");
    }
    // With --url the user takes responsibility: the same operation goes out.
    let s = iri();
    let rid = unique("olcf");
    let out = tw()
        .env("TOKENWARDEN_CONFIG", "/nonexistent/config.toml")
        .args([
            "iri",
            "--facility",
            "olcf-moderate",
            "--url",
            &s.url,
            "--token-from",
        ])
        .arg(format!("file:{}", s.token_file))
        .args(["fs", "ls", &rid, "/home/alice"])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(!s.log(&rid).is_empty());
}

#[test]
fn int_error_statuses_become_advice() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    let s = iri();
    let rid = unique("errors");
    // 401: a token the server does not accept.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(
        &bad,
        "Authorization: Bearer not-the-right-token-0123456789\n",
    )
    .unwrap();
    let out = tw()
        .env("TOKENWARDEN_CONFIG", "/nonexistent/config.toml")
        .args(["iri", "--url", &s.url, "--token-from"])
        .arg(format!("file:{}", bad.display()))
        .args(["compute", "get", &rid, "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("HTTP 401") && err.contains("tokenwarden login alcf"),
        "{err}"
    );
    assert!(!err.contains("not-the-right-token-0123456789"), "{err}");
    // OLCF's 401 advice names its token.
    let out = tw()
        .env("TOKENWARDEN_CONFIG", "/nonexistent/config.toml")
        .args([
            "iri",
            "--facility",
            "olcf-open",
            "--url",
            &s.url,
            "--token-from",
        ])
        .arg(format!("file:{}", bad.display()))
        .args(["compute", "get", &rid, "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("myOLCF"), "{err}");
    // 403.
    s.fault(json!({"match": format!("{rid}/403"), "status": 403, "times": 1}));
    let err = s.fail(&["compute", "get", &rid, "403"]);
    assert!(
        err.contains("HTTP 403") && err.contains("project or allocation"),
        "{err}"
    );
    // 404: a job that does not exist (a real 404 from the server, not a fault).
    let err = s.fail(&["compute", "get", &rid, "no-such-job"]);
    assert!(
        err.contains("HTTP 404") && err.contains("iri compute list"),
        "{err}"
    );
    // 429 with a Retry-After on a read: waited for, retried, succeeded.
    s.fault(json!({"match": format!("{rid}-429"), "method": "GET", "status": 429, "times": 1, "retry_after": 1}));
    let out = s.run(&["fs", "head", &format!("{rid}-429"), "/home/alice/hello.txt"]);
    assert_success(&out);
    let heads: Vec<Value> = s.log(&format!("{rid}-429"));
    assert_eq!(heads.len(), 2, "one 429 then one success: {heads:#?}");
    assert_eq!(heads[0]["status"], 429);
    let gap = heads[1]["time"].as_f64().unwrap() - heads[0]["time"].as_f64().unwrap();
    assert!(gap >= 0.9, "Retry-After was honoured ({gap} s)");
    // A long Retry-After is not waited out silently.
    s.fault(
        json!({"match": format!("{rid}-slow"), "status": 429, "times": 5, "retry_after": 3600}),
    );
    let err = s.fail(&["compute", "list", &format!("{rid}-slow")]);
    assert!(
        err.contains("HTTP 429") && err.contains("retry after 3600"),
        "{err}"
    );
}

#[test]
fn int_reads_retry_on_503_but_a_launch_is_not_retried_on_500() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    let s = iri();
    let rid = unique("retry");
    // A GET read: two 503s, then success.
    s.fault(json!({"match": format!("compute/status/{rid}/"), "method": "GET", "status": 503, "times": 2}));
    let job = s.json(&["compute", "launch", &rid, "--executable", "/bin/true"]);
    let jid = job["id"].as_str().unwrap();
    let got = s.json(&["compute", "get", &rid, jid]);
    assert_eq!(got["id"], jid);
    let gets: Vec<Value> = s
        .log(&rid)
        .into_iter()
        .filter(|e| e["operation"] == "getJob")
        .collect();
    assert_eq!(gets.len(), 3, "two 503s then a 200: {gets:#?}");
    // The job list is a POST that changes nothing: retried as a read.
    s.fault(json!({"match": format!("compute/status/{rid}"), "method": "POST", "status": 503, "times": 1}));
    s.json(&["compute", "list", &rid]);
    let lists = s
        .log(&rid)
        .into_iter()
        .filter(|e| e["operation"] == "getJobs")
        .count();
    assert_eq!(lists, 2);
    // A launch that fails with 500 may have started a job: it is sent exactly once.
    let rid2 = unique("noretry");
    s.fault(json!({"match": format!("compute/job/{rid2}"), "method": "POST", "status": 500, "times": 5}));
    let err = s.fail(&["compute", "launch", &rid2, "--executable", "/bin/true"]);
    assert!(
        err.contains("HTTP 500") && err.contains("server failed"),
        "{err}"
    );
    let launches = s
        .log(&rid2)
        .into_iter()
        .filter(|e| e["operation"] == "launchJob")
        .count();
    assert_eq!(launches, 1, "a launch is never resent after a 500");
    // …but a 429 (the server did nothing) is retried, keeping its Idempotency-Key.
    let rid3 = unique("launch429");
    s.fault(json!({"match": format!("compute/job/{rid3}"), "method": "POST", "status": 429, "times": 1, "retry_after": 0}));
    s.json(&["compute", "launch", &rid3, "--executable", "/bin/true"]);
    let l: Vec<Value> = s.log(&rid3);
    assert_eq!(l.len(), 2);
    assert_eq!(
        l[0]["headers"]["idempotency-key"], l[1]["headers"]["idempotency-key"],
        "a retried launch keeps its key"
    );
}

#[test]
fn cli_token_from_refuses_a_literal_token_and_env_is_used() {
    if !common::peers::ready(&[("iri-contract", &[])]) {
        return;
    }
    let s = iri();
    let literal = "AgXyZ0123456789abcdefghijklmnopqrstuvwxyzABCD";
    let out = tw()
        .args([
            "iri",
            "--url",
            &s.url,
            "--token-from",
            literal,
            "task",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("never accepted on the command line"), "{err}");
    assert!(!err.contains(literal), "{err}");
    // The facility's environment variable is a source.
    let out = tw()
        .env("TOKENWARDEN_CONFIG", "/nonexistent/config.toml")
        .env("HOME", "/nonexistent-home-for-tests")
        .env("ALCF_IRI_TOKEN", &s.token)
        .args(["iri", "--url", &s.url, "--json", "task", "list"])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&s.token));
    // No token anywhere and no terminal: a clear error, not a hang.
    let out = tw()
        .env("TOKENWARDEN_CONFIG", "/nonexistent/config.toml")
        .env("HOME", "/nonexistent-home-for-tests")
        .env_remove("ALCF_IRI_TOKEN")
        .env_remove("IRI_API_TOKEN")
        .args(["iri", "--url", &s.url, "task", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ALCF_IRI_TOKEN") && err.contains("tokenwarden login alcf"),
        "{err}"
    );
}
