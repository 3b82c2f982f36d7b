//! `--format gitlab`: GitLab's secret-detection report (schema 15.0.4) from a repository with
//! history and planted tokens. The report is checked against the requirements of that schema
//! (written out below from GitLab's published schema: required fields, patterns, enums and
//! limits), and for what GitLab needs to track findings: stable ids, commits, no secret.

mod common;
use common::*;
use serde_json::{Value, json};

/// What schema 15.0.4 of GitLab's secret-detection report requires, as a JSON Schema.
fn requirements() -> Value {
    let text = json!({"type": "string", "minLength": 1});
    let tool = json!({
        "type": "object",
        "required": ["id", "name", "version", "vendor"],
        "properties": {
            "id": text, "name": text, "version": text,
            "vendor": {"type": "object", "required": ["name"], "properties": {"name": text}},
        },
    });
    let time = json!({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}$"});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["scan", "version", "vulnerabilities"],
        "properties": {
            "version": {"type": "string", "pattern": "^15\\.[0-9]+\\.[0-9]+$"},
            "scan": {
                "type": "object",
                "required": ["analyzer", "end_time", "scanner", "start_time", "status", "type"],
                "properties": {
                    "analyzer": tool, "scanner": tool,
                    "start_time": time, "end_time": time,
                    "status": {"enum": ["success", "failure"]},
                    "type": {"enum": ["secret_detection"]},
                    "messages": {"type": "array", "items": {
                        "type": "object", "required": ["level", "value"],
                        "properties": {"level": {"enum": ["info", "warn", "fatal"]}, "value": text},
                    }},
                },
            },
            "vulnerabilities": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "identifiers", "location"],
                "properties": {
                    "id": text,
                    "category": {"const": "secret_detection"},
                    "name": {"type": "string", "maxLength": 255},
                    "description": {"type": "string", "maxLength": 1048576},
                    "solution": {"type": "string", "maxLength": 7000},
                    "severity": {"enum": ["Info", "Unknown", "Low", "Medium", "High", "Critical"]},
                    "identifiers": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "required": ["type", "name", "value"],
                        "properties": {"type": text, "name": text, "value": text,
                                       "url": {"type": "string", "pattern": "^https?://.+"}},
                    }},
                    "links": {"type": "array", "items": {
                        "type": "object", "required": ["url"],
                        "properties": {"url": {"type": "string", "pattern": "^https?://.+"}},
                    }},
                    "location": {
                        "type": "object", "required": ["commit"],
                        "properties": {
                            "file": {"type": "string"},
                            "start_line": {"type": "number"},
                            "end_line": {"type": "number"},
                            "commit": {"type": "object", "required": ["sha"],
                                       "properties": {"sha": text}},
                        },
                    },
                },
            }},
        },
    })
}

fn validate(doc: &Value) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("urn:gitlab-secret-detection-15", requirements())
        .unwrap();
    let idx = compiler
        .compile("urn:gitlab-secret-detection-15", &mut schemas)
        .unwrap();
    if let Err(e) = schemas.validate(doc, idx) {
        panic!("not a valid GitLab secret-detection report:\n{e:#}\n{doc:#}");
    }
}

fn gitlab_report(
    dir: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, Value, String) {
    let mut c = tw();
    c.arg("scan")
        .arg(dir)
        .args(["--format", "gitlab"])
        .args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), doc, stdout)
}

#[test]
fn history_scan_writes_a_valid_report_with_commits_and_no_secret() {
    let r = common::repo::Repo::new();
    let repo = r.dir.clone();
    let git = |args: &[&str]| r.git(args);
    let jwt = mint(r#"{{jwt {"sun":"alice","exp":"@now+900","iat":"@now"}}}"#);
    let s3m = mint(
        r#"{{jwt RS256 {"type":"opat","aud":["api.olcf.ornl.gov"],"description":"d","jti":"@uuid","iat":"@now","nbf":"@now"}}}"#,
    );
    write(&repo, "job.sh", format!("export SLURM_JWT={jwt}\n"));
    git(&["add", "-A"]);
    git(&["commit", "-qm", "add job"]);
    write(&repo, ".env", format!("S3M_TOKEN={s3m}\n"));
    git(&["add", "-A"]);
    git(&["commit", "-qm", "add env"]);
    let head = git(&["rev-parse", "HEAD"]);

    let (code, doc, raw) = gitlab_report(&repo, &["--git"], &[]);
    assert_eq!(code, 1);
    validate(&doc);
    assert!(
        !raw.contains(&jwt) && !raw.contains(&s3m),
        "no secret in the report"
    );
    assert_eq!(doc["version"], "15.0.4");
    assert_eq!(doc["scan"]["type"], "secret_detection");
    assert_eq!(doc["scan"]["analyzer"]["id"], "tokenwarden");
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    let env = vulns
        .iter()
        .find(|v| v["identifiers"][0]["value"] == "s3m.opat")
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(env["category"], "secret_detection");
    assert_eq!(env["severity"], "High");
    assert_eq!(env["location"]["file"], ".env");
    assert_eq!(env["location"]["start_line"], 1);
    assert_eq!(env["location"]["commit"]["sha"], head.as_str());
    assert!(
        env["location"]["commit"]["author"]
            .as_str()
            .unwrap()
            .contains("Alice Example")
    );
    assert!(
        env["details"]["fingerprint"]["value"]
            .as_str()
            .unwrap()
            .starts_with("tw1:")
    );
    let job = vulns
        .iter()
        .find(|v| v["location"]["file"] == "job.sh")
        .unwrap();
    assert_ne!(
        job["location"]["commit"]["sha"],
        head.as_str(),
        "the first commit"
    );

    // Stable: the same scan gives the same ids (GitLab tracks vulnerabilities by them).
    let (_, again, _) = gitlab_report(&repo, &["--git"], &[]);
    let ids = |d: &Value| {
        let mut v: Vec<String> = d["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&doc), ids(&again));

    // A tree scan in a pipeline takes the commit from CI_COMMIT_SHA; hygiene findings (the
    // tracked .env) are reported too, under their own identifier type.
    let (_, tree, _) = gitlab_report(&repo, &[], &[("CI_COMMIT_SHA", "feedc0de")]);
    validate(&tree);
    let tv = tree["vulnerabilities"].as_array().unwrap();
    assert!(
        tv.iter()
            .any(|v| v["location"]["commit"]["sha"] == "feedc0de")
    );
    assert!(
        tv.iter()
            .any(|v| v["identifiers"][0]["type"] == "tokenwarden_check"),
        "{tree:#}"
    );
}

#[test]
fn an_empty_scan_is_a_valid_report() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "README", "nothing here\n");
    let (code, doc, _) = gitlab_report(dir.path(), &[], &[]);
    assert_eq!(code, 0);
    validate(&doc);
    assert_eq!(doc["vulnerabilities"].as_array().unwrap().len(), 0);
}

/// The checker itself catches what GitLab would refuse.
#[test]
#[should_panic(expected = "not a valid GitLab secret-detection report")]
fn the_requirements_reject_a_report_with_a_zoned_time() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut doc, _) = gitlab_report(dir.path(), &[], &[]);
    doc["scan"]["end_time"] = json!("2026-01-01T00:00:00Z");
    validate(&doc);
}

/// The CI template (`ci/gitlab/tokenwarden.gitlab-ci.yml`): its job publishes the report where
/// GitLab looks for it, and its script, run here as the runner would (the template's variables
/// and GitLab's predefined ones in the environment, the binary already in the image), scans a
/// merge request's commits and writes a valid report.
#[test]
fn the_gitlab_template_job_runs_and_publishes_a_valid_report() {
    use yaml_rust2::YamlLoader;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ci/gitlab/tokenwarden.gitlab-ci.yml"
    ))
    .unwrap();
    let doc = YamlLoader::load_from_str(&text).unwrap().remove(0);
    let job = &doc["tokenwarden_secret_detection"];
    assert_eq!(
        job["artifacts"]["reports"]["secret_detection"].as_str(),
        Some("gl-secret-detection-report.json")
    );
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"));
    assert_eq!(
        job["variables"]["GIT_DEPTH"].as_str(),
        Some("0"),
        "history needs a full clone"
    );
    let script: Vec<&str> = job["script"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();

    let r = common::repo::Repo::new();
    let repo = r.dir.clone();
    let git = |args: &[&str]| r.git(args);
    let old = mint(r#"{{jwt {"sun":"old","exp":"@now+900"}}}"#);
    write(&repo, "legacy.txt", format!("token = {old}\n"));
    git(&["add", "-A"]);
    git(&["commit", "-qm", "base"]);
    let base = git(&["rev-parse", "HEAD"]);
    let jwt = mint(r#"{{jwt {"sun":"alice","exp":"@now+900"}}}"#);
    write(&repo, "job.txt", format!("token = {jwt}\n"));
    git(&["add", "-A"]);
    git(&["commit", "-qm", "mr"]);

    let run = |extra: &[(&str, &str)]| {
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(script.join("\n")).current_dir(&repo);
        for (k, v) in doc["variables"].as_hash().unwrap() {
            c.env(k.as_str().unwrap(), v.as_str().unwrap_or(""));
        }
        c.env(
            "TOKENWARDEN_BIN",
            assert_cmd::cargo::cargo_bin!("tokenwarden"),
        );
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let report = std::fs::read_to_string(repo.join("gl-secret-detection-report.json"))
            .unwrap_or_default();
        (out.status.code().unwrap_or(-1), report)
    };
    // A merge request: only its own commit is blamed; the job fails on it.
    let (code, report) = run(&[
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", &base),
    ]);
    assert_eq!(code, 1);
    assert!(!report.contains(&jwt));
    let doc: Value = serde_json::from_str(&report).unwrap();
    validate(&doc);
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 1, "{doc:#}");
    assert_eq!(vulns[0]["location"]["file"], "job.txt");
    // A scheduled pipeline scans the whole history.
    let (_, report) = run(&[("CI_PIPELINE_SOURCE", "schedule")]);
    let doc: Value = serde_json::from_str(&report).unwrap();
    validate(&doc);
    assert_eq!(doc["vulnerabilities"].as_array().unwrap().len(), 2);
    // A threshold above the findings: the report is written, the job passes.
    let (code, _) = run(&[
        ("CI_PIPELINE_SOURCE", "schedule"),
        ("TOKENWARDEN_FAIL_ON", "critical"),
    ]);
    assert_eq!(code, 0);
}
