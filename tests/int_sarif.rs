//! SARIF 2.1.0 output: valid against the official schema (copied to fixtures/), shaped for
//! GitHub code scanning (security-severity, partialFingerprints, relative URIs, exact regions).

mod common;
use common::*;
use serde_json::Value;

fn sarif_of(dir: &std::path::Path, extra: &[&str]) -> Value {
    let out = tw()
        .arg("scan")
        .arg(dir)
        .args(["--format", "sarif"])
        .args(extra)
        .output()
        .unwrap();
    assert_finished(&out);
    serde_json::from_slice(&out.stdout).expect("SARIF is JSON")
}

#[test]
fn sarif_validates_and_carries_what_code_scanning_needs() {
    let dir = tempfile::tempdir().unwrap();
    // "é" is two bytes but one column: the token starts at code point 22.
    write(
        dir.path(),
        "odd dir/tést #1.env",
        mint("# é\nexport é=1 SLURM_JWT={{jwt {\"exp\":\"@now+600\",\"sun\":\"a\"}}}\n"),
    );
    write(
        dir.path(),
        "keys/munge.key",
        tokenwarden::rules::template::random_bytes(128),
    );
    chmod(dir.path(), "odd dir/tést #1.env", 0o600);
    chmod(dir.path(), "keys/munge.key", 0o600);
    write(dir.path(), "unreadable-later.txt", "x");
    let doc = sarif_of(dir.path(), &[]);
    validate_sarif(&doc);

    let run = &doc["runs"][0];
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("file:///")
    );
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() >= 30);
    for r in rules {
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&sev));
        assert!(r["help"]["text"].as_str().unwrap().len() > 20, "{r}");
        assert!(r["shortDescription"]["text"].is_string());
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{results:#?}");
    let jwt = results.iter().find(|r| r["ruleId"] == "slurm.jwt").unwrap();
    let rule_index = jwt["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[rule_index]["id"], "slurm.jwt");
    assert_eq!(jwt["level"], "error");
    let loc = &jwt["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "odd%20dir/t%C3%A9st%20%231.env"
    );
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(loc["region"]["startLine"], 2);
    assert_eq!(loc["region"]["startColumn"], 22);
    assert!(
        jwt["partialFingerprints"]["tokenwarden/v1"]
            .as_str()
            .unwrap()
            .starts_with("tw1:")
    );
    let munge = results
        .iter()
        .find(|r| r["ruleId"] == "munge.key_file")
        .unwrap();
    assert_eq!(munge["properties"]["severity"], "critical");
}

#[test]
fn empty_scan_and_warnings_are_valid_sarif_too() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "clean\n");
    std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
    let doc = sarif_of(dir.path(), &["--follow"]);
    validate_sarif(&doc);
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 0);
    let notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 1, "{notes:#?}");
}

/// GitHub code scanning takes at most 25,000 results per run: a larger report is cut to that
/// (most severe first) and says so in a notification, instead of being refused whole.
#[test]
fn sarif_stays_within_the_code_scanning_result_limit() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = mint(r#"{{jwt {"sun":"a","exp":"@now+600"}}}"#);
    let line = format!("token = {jwt}\n");
    write(dir.path(), "many.txt", line.repeat(25_003));
    let doc = sarif_of(dir.path(), &["--no-hygiene"]);
    let run = &doc["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), 25_000);
    let notes = run["invocations"][0]["toolExecutionNotifications"].to_string();
    assert!(notes.contains("3 more results"), "{notes}");
}
