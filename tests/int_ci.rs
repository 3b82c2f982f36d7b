//! The GitHub Action (`action.yml`, `ci/github/*.sh`): its metadata has the shape GitHub reads,
//! and its scan step, run here exactly as the runner would run it (the step's `env:` with the
//! expressions filled in, then its `run:` under bash), scans the pull request's or the push's
//! commits, writes SARIF that validates, a job summary and the step outputs.

mod common;
use common::repo::Repo;
use common::*;
use std::collections::HashMap;
use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

fn action() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn s(y: &Yaml) -> &str {
    y.as_str().unwrap_or("")
}

/// Every `${{ … }}` expression in a string.
fn expressions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${{") {
        let Some(j) = rest[i..].find("}}") else { break };
        out.push(rest[i + 3..i + j].trim().to_string());
        rest = &rest[i + j + 2..];
    }
    out
}

#[test]
fn action_yml_is_a_composite_action_github_can_load() {
    let a = action();
    assert!(!s(&a["name"]).is_empty() && !s(&a["description"]).is_empty());
    assert_eq!(s(&a["runs"]["using"]), "composite");
    let inputs = a["inputs"].as_hash().expect("inputs");
    for (k, v) in inputs {
        assert!(
            !s(&v["description"]).is_empty(),
            "input {k:?} has a description"
        );
        assert!(!v["default"].is_badvalue(), "input {k:?} has a default");
    }
    for (k, v) in a["outputs"].as_hash().unwrap() {
        assert!(
            s(&v["value"]).contains("steps."),
            "output {k:?} comes from a step"
        );
    }
    let steps = a["runs"]["steps"].as_vec().unwrap();
    let ids: Vec<&str> = steps
        .iter()
        .map(|st| s(&st["id"]))
        .filter(|i| !i.is_empty())
        .collect();
    let names: Vec<String> = inputs.keys().map(|k| s(k).to_string()).collect();
    for st in steps {
        let run = !st["run"].is_badvalue();
        let uses = !st["uses"].is_badvalue();
        assert!(run ^ uses, "a step runs or uses: {st:?}");
        if run {
            assert_eq!(s(&st["shell"]), "bash", "composite run steps need a shell");
            // Inputs reach scripts through env only: no expression inside a script body,
            // where a crafted branch name or input could inject shell.
            assert!(
                expressions(s(&st["run"])).is_empty(),
                "expression in run: {st:?}"
            );
        }
        if uses {
            // A third-party action is pinned by its full commit id (a tag can be moved to other
            // code); the release it is goes in a comment beside it.
            let u = s(&st["uses"]);
            let rev = u.rsplit_once('@').map(|(_, r)| r).unwrap_or("");
            assert!(
                rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()),
                "pinned by commit: {u}"
            );
        }
        // Every expression names a known input, step or context.
        let mut texts = vec![s(&st["if"]).to_string()];
        for section in ["env", "with"] {
            if let Some(h) = st[section].as_hash() {
                texts.extend(h.values().map(|v| s(v).to_string()));
            }
        }
        for e in texts.iter().flat_map(|t| expressions(t)).chain(
            // `if:` may omit the ${{ }}.
            std::iter::once(s(&st["if"]).to_string())
                .filter(|t| !t.is_empty() && !t.contains("${{")),
        ) {
            for word in
                e.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_'))
            {
                if let Some(name) = word.strip_prefix("inputs.") {
                    assert!(names.iter().any(|n| n == name), "unknown input {name}");
                }
                if let Some(rest) = word.strip_prefix("steps.") {
                    let id = rest.split('.').next().unwrap();
                    assert!(ids.contains(&id), "unknown step {id}");
                }
            }
        }
    }
    for f in ["ci/github/scan.sh", "ci/github/install.sh"] {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(f).is_file(),
            "{f}"
        );
    }
}

/// Runs the action's `scan` step as the runner would: its env with the expressions filled in
/// from `inputs` and `github`, then its script. Returns (exit code, outputs, summary, stdout).
fn run_scan_step(
    workspace: &Path,
    inputs: &HashMap<&str, String>,
    github: &HashMap<&str, String>,
) -> (i32, HashMap<String, String>, String, String) {
    let a = action();
    let steps = a["runs"]["steps"].as_vec().unwrap();
    let step = steps.iter().find(|st| s(&st["id"]) == "scan").unwrap();
    let mut defaults: HashMap<String, String> = HashMap::new();
    for (k, v) in a["inputs"].as_hash().unwrap() {
        defaults.insert(s(k).to_string(), s(&v["default"]).to_string());
    }
    for (k, v) in inputs {
        defaults.insert(k.to_string(), v.clone());
    }
    let eval = |expr: &str| -> String {
        if expr == "inputs.version == 'build' && 'tokenwarden' || inputs.version" {
            let v = &defaults["version"];
            return if v == "build" {
                "tokenwarden".into()
            } else {
                v.clone()
            };
        }
        if let Some(name) = expr.strip_prefix("inputs.") {
            return defaults.get(name).cloned().unwrap_or_default();
        }
        if expr == "github.action_path" {
            // The runner's checkout of the action: this repository.
            return env!("CARGO_MANIFEST_DIR").to_string();
        }
        if let Some(name) = expr.strip_prefix("github.") {
            return github.get(name).cloned().unwrap_or_default();
        }
        panic!("expression the test does not know: {expr}");
    };
    let out_file = workspace.join("../github_output");
    let summary = workspace.join("../step_summary");
    let _ = std::fs::remove_file(&out_file);
    let _ = std::fs::remove_file(&summary);
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c").arg(s(&step["run"])).current_dir(workspace);
    cmd.env("GITHUB_OUTPUT", &out_file)
        .env("GITHUB_STEP_SUMMARY", &summary);
    for (k, v) in step["env"].as_hash().unwrap() {
        let raw = s(v);
        let e = expressions(raw);
        let value = if e.len() == 1 {
            eval(&e[0])
        } else {
            raw.to_string()
        };
        cmd.env(s(k), value);
    }
    let out = cmd.output().unwrap();
    let outputs = std::fs::read_to_string(&out_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        outputs,
        std::fs::read_to_string(&summary).unwrap_or_default(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn binary() -> String {
    assert_cmd::cargo::cargo_bin!("tokenwarden")
        .display()
        .to_string()
}

#[test]
fn the_scan_step_covers_a_pull_request_and_writes_sarif_summary_and_outputs() {
    let repo = Repo::new();
    // An old leak on the base branch: a pull request scan must not blame the PR for it.
    let old = mint(r#"{{jwt {"sun":"old","exp":"@now+900"}}}"#);
    let base = repo.commit("legacy.txt", &format!("token = {old}\n"), "base");
    let jwt = mint(r#"{{jwt {"sun":"alice","exp":"@now+900"}}}"#);
    repo.commit("job.txt", &format!("token = {jwt}\n"), "pr");
    let inputs = HashMap::from([("version", binary())]);
    let github = HashMap::from([
        ("event_name", "pull_request".to_string()),
        ("event.pull_request.base.sha", base.clone()),
    ]);
    let (code, outputs, summary, log) = run_scan_step(&repo.dir, &inputs, &github);
    assert_eq!(code, 0, "the step leaves failing to a later step: {log}");
    assert_eq!(outputs["failed"], "true", "{log}");
    assert_eq!(outputs["findings"], "1", "only the PR's commit: {log}");
    let sarif_path = repo.dir.join(&outputs["sarif"]);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sarif_path).unwrap()).unwrap();
    validate_sarif(&doc);
    let sarif_text = std::fs::read_to_string(&sarif_path).unwrap();
    assert!(!sarif_text.contains(&jwt) && !summary.contains(&jwt) && !log.contains(&jwt));
    assert!(
        summary.contains("tokenwarden: 1 finding(s) in the commits since"),
        "{summary}"
    );
    assert!(summary.contains("job.txt"), "{summary}");

    // A push whose range is clean passes; a scheduled run scans everything.
    let head = repo.git(&["rev-parse", "HEAD"]);
    repo.commit("README.md", "docs\n", "docs");
    let push = HashMap::from([("event_name", "push".to_string()), ("event.before", head)]);
    let (code, outputs, summary, log) = run_scan_step(&repo.dir, &inputs, &push);
    assert_eq!(code, 0, "{log}");
    assert_eq!(outputs["failed"], "false", "{log}");
    assert_eq!(outputs["findings"], "0");
    assert!(summary.contains("0 finding(s)"), "{summary}");
    let sched = HashMap::from([("event_name", "schedule".to_string())]);
    let (_, outputs, summary, _) = run_scan_step(&repo.dir, &inputs, &sched);
    assert_eq!(outputs["findings"], "2", "{summary}");
    assert!(summary.contains("the whole git history"), "{summary}");

    // A threshold above the findings' severity: reported, not failed.
    let lenient = HashMap::from([("version", binary()), ("fail-on", "critical".to_string())]);
    let (_, outputs, _, _) = run_scan_step(&repo.dir, &lenient, &sched);
    assert_eq!(outputs["failed"], "false");

    // A baseline of today's findings: the same run reports nothing new.
    let out = tw()
        .current_dir(&repo.dir)
        .args([
            "baseline",
            "create",
            "--git",
            "--file",
            ".tokenwarden-baseline.json",
            ".",
        ])
        .output()
        .unwrap();
    assert_success(&out);
    let with_baseline = HashMap::from([
        ("version", binary()),
        ("baseline", ".tokenwarden-baseline.json".to_string()),
    ]);
    let (_, outputs, _, log) = run_scan_step(&repo.dir, &with_baseline, &sched);
    assert_eq!(outputs["findings"], "0", "{log}");
    assert_eq!(outputs["failed"], "false");
}

#[test]
fn a_scan_that_cannot_run_fails_the_step_with_an_error_annotation() {
    let repo = Repo::new();
    repo.commit("a.txt", "nothing\n", "a");
    let inputs = HashMap::from([("version", binary()), ("mode", "sideways".to_string())]);
    let (code, outputs, _, log) = run_scan_step(&repo.dir, &inputs, &HashMap::new());
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("::error::"), "{log}");
    assert!(outputs.is_empty());
}
