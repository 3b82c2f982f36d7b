//! `--shard I/N`: N runs together report exactly what one run reports — each finding in
//! exactly one shard — for many targets (split by target), one directory (by top-level
//! entry) and one repository's history (by blob).

mod common;
use common::repo::Repo;
use common::*;
use std::collections::BTreeSet;
use std::path::Path;

/// (fingerprint, path) of every finding location, and hygiene (check, path) pairs.
fn places(report: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for f in findings(report) {
        for l in f["locations"].as_array().unwrap() {
            out.insert((
                f["fingerprint"].as_str().unwrap().to_string(),
                l["path"].as_str().unwrap().to_string(),
            ));
        }
    }
    for h in report["hygiene"].as_array().unwrap() {
        out.insert((
            h["check"].as_str().unwrap().to_string(),
            h["path"].as_str().unwrap().to_string(),
        ));
    }
    out
}

/// Runs the scan whole and as N shards; checks the shards partition the whole.
fn partitions(dir: &Path, args: &[&str], n: u32) {
    let (_, whole) = scan_json(dir, args);
    let whole = places(&whole);
    assert!(whole.len() >= 6, "a meaningful corpus: {whole:?}");
    let mut union = BTreeSet::new();
    let mut nonempty = 0;
    for i in 0..n {
        let shard = format!("{i}/{n}");
        let mut a = args.to_vec();
        a.extend(["--shard", &shard]);
        let (_, part) = scan_json(dir, &a);
        let part = places(&part);
        nonempty += usize::from(!part.is_empty());
        for p in part {
            assert!(union.insert(p.clone()), "{p:?} is in two shards");
        }
    }
    assert_eq!(union, whole, "the shards together are the whole scan");
    assert!(nonempty >= 2, "the work is actually spread");
}

fn token(user: &str) -> String {
    mint(&format!(
        r#"{{{{jwt {{"sun":"{user}","exp":"@now+900"}}}}}}"#
    ))
}

/// `n` directories under `root`, each holding one fresh token (user `{tag}{k}`) in `a.txt`,
/// and a targets file listing them.
fn make_targets(root: &Path, n: usize, tag: &str) -> std::path::PathBuf {
    let mut list = String::new();
    for k in 0..n {
        let d = root.join(format!("repo{k}"));
        write(
            &d,
            "a.txt",
            format!("token = {}\n", token(&format!("{tag}{k}"))),
        );
        list.push_str(&format!("{}\n", d.display()));
    }
    let targets = root.join("targets.txt");
    std::fs::write(&targets, list).unwrap();
    targets
}

/// What one process reports for a targets file (run from its directory, so the default `.`
/// is dropped): the places of every finding.
fn whole_scan(targets: &Path) -> BTreeSet<(String, String)> {
    let o = tw()
        .current_dir(targets.parent().unwrap())
        .args(["scan", "--format", "json", "--targets"])
        .arg(targets)
        .output()
        .unwrap();
    places(&serde_json::from_slice(&o.stdout).unwrap())
}

#[test]
fn one_directory_is_split_by_top_level_entry() {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..12 {
        write(
            dir.path(),
            &format!("proj{k}/job.txt"),
            format!("token = {}\n", token(&format!("u{k}"))),
        );
    }
    write(dir.path(), "top.txt", format!("token = {}\n", token("top")));
    partitions(dir.path(), &[], 4);
}

#[test]
fn a_targets_file_is_split_by_target() {
    let tmp = tempfile::tempdir().unwrap();
    let mut list = String::from("# the sweep\n");
    for k in 0..12 {
        let d = tmp.path().join(format!("repo{k}"));
        write(
            &d,
            "run.sh.txt",
            format!("token = {}\n", token(&format!("r{k}"))),
        );
        list.push_str(&format!("{}\n", d.display()));
    }
    let targets = tmp.path().join("targets.txt");
    std::fs::write(&targets, list).unwrap();
    let t = targets.to_str().unwrap().to_string();
    // The positional path is the default `.`, dropped when a targets file is given.
    partitions(&tmp.path().join("repo0"), &["--targets", &t], 3);
}

#[test]
fn one_history_is_split_by_blob() {
    let repo = Repo::new();
    for k in 0..10 {
        repo.commit(
            &format!("f{k}.txt"),
            &format!("token = {}\n", token(&format!("h{k}"))),
            "add",
        );
    }
    partitions(&repo.dir, &["--git"], 3);
}

/// One secret in many blobs of one history, on two branches: the blob shards each see part of
/// it, and their merge gives the history one scan gives (the earliest introducer, every
/// branch, still at HEAD or not).
#[test]
fn merged_shards_join_one_secret_s_history() {
    let repo = Repo::new();
    // A fixed token (assembled here, never written out whole): fixed blob ids, so which shard
    // reads which blob is the same on every run, and the check below that the shards' own
    // histories differ from the whole one cannot pass by luck.
    let b64 = |v: serde_json::Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let tok = format!(
        "{}.{}.{}",
        b64(serde_json::json!({"alg": "HS256", "typ": "JWT"})),
        b64(serde_json::json!({"exp": 4_102_444_800u64, "iat": 1_700_000_000u64, "sun": "shared"})),
        "c2hhcmQtdGVzdC1maXhlZC1zaWduYXR1cmUtYnl0ZXM"
    );
    let out = tempfile::tempdir().unwrap();
    // Sixteen edits of one file that keep the token, alternating between two branches, each
    // at its own committer time (so "earliest" has one answer).
    repo.git(&["commit", "-q", "--allow-empty", "-m", "root"]);
    for k in 0..16 {
        let branch = if k % 2 == 0 { "main" } else { "side" };
        if k == 1 {
            repo.git(&["checkout", "-q", "-b", branch]);
        } else {
            repo.git(&["checkout", "-q", branch]);
        }
        write(
            &repo.dir,
            "a.txt",
            format!("# version {k}\ntoken = {tok}\n"),
        );
        repo.git(&["add", "a.txt"]);
        let when = format!("@{} +0000", 1_700_000_000 + k * 60);
        let mut c = common::git_command(&repo.dir, &repo.home);
        c.env("GIT_COMMITTER_DATE", &when)
            .env("GIT_AUTHOR_DATE", &when)
            .args(["commit", "-qm", "edit"]);
        common::run_git(c, &["commit"]);
    }
    repo.git(&["checkout", "-q", "main"]);
    let (_, whole) = scan_json(&repo.dir, &["--git"]);
    let n = 2;
    let mut reports = Vec::new();
    let mut holders = 0;
    for i in 0..n {
        let report = out.path().join(format!("shard-{i}.json"));
        let shard = format!("{i}/{n}");
        let o = tw()
            .arg("scan")
            .arg(&repo.dir)
            .args(["--git", "--format", "json", "--shard", &shard, "--output"])
            .arg(&report)
            .output()
            .unwrap();
        assert_finished(&o);
        let part: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        holders += usize::from(!findings(&part).is_empty());
        reports.push(report);
    }
    assert_eq!(holders, 2, "both shards hold part of the secret's blobs");
    // The join is needed: the first shard's own history is not the whole one.
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&reports[0]).unwrap()).unwrap();
    let own = findings(&first)[0]["history"].clone();
    let whole_h = findings(&whole)[0]["history"].clone();
    assert!(
        own["introduced_by"]["commit"] != whole_h["introduced_by"]["commit"]
            || own["branches"] != whole_h["branches"],
        "shard 0 alone already has the whole history: {own:#}"
    );
    let o = tw()
        .args(["merge", "--format", "json"])
        .args(&reports)
        .output()
        .unwrap();
    let merged: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let history = |r: &serde_json::Value| findings(r)[0]["history"].clone();
    let (w, m) = (history(&whole), history(&merged));
    assert_eq!(findings(&merged).len(), 1);
    for key in ["at_head", "branches", "pushed"] {
        assert_eq!(m[key], w[key], "{key}: merged {m:#} whole {w:#}");
    }
    assert_eq!(
        m["introduced_by"]["commit"], w["introduced_by"]["commit"],
        "{m:#} {w:#}"
    );
    assert_eq!(
        w["branches"],
        serde_json::json!(["main", "side"]),
        "a meaningful history: {w:#}"
    );
}

#[test]
fn a_bad_shard_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["3/3", "x/2", "1/0"] {
        let out = tw()
            .arg("scan")
            .arg(dir.path())
            .args(["--shard", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

/// Shard reports merge into what one scan reports; a missing shard is named (exit 1) and a
/// re-run of it completes the merge; SARIF from a merge is valid.
#[test]
fn merge_equals_the_whole_scan_and_names_a_missing_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let mut list = String::new();
    let shared = token("shared");
    for k in 0..12 {
        let d = tmp.path().join(format!("repo{k}"));
        write(
            &d,
            "a.txt",
            format!("token = {}\n", token(&format!("m{k}"))),
        );
        // One secret in every target: one finding with twelve locations after the merge.
        write(&d, "b.txt", format!("token = {shared}\n"));
        list.push_str(&format!("{}\n", d.display()));
    }
    let targets = tmp.path().join("targets.txt");
    std::fs::write(&targets, list).unwrap();
    let t = targets.to_str().unwrap();
    let (_, whole) = scan_json(tmp.path(), &["--targets", t]);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let run_shard = |i: u32| {
        let o = tw()
            .arg("scan")
            .args([
                "--targets",
                t,
                "--shard",
                &format!("{i}/3"),
                "--format",
                "json",
                "-o",
            ])
            .arg(out.join(format!("shard-{i}.json")))
            .output()
            .unwrap();
        assert_finished(&o);
    };
    for i in 0..3 {
        run_shard(i);
    }
    let merge = |format: &str| {
        let mut c = tw();
        c.args(["merge", "--format", format]);
        for i in 0..3 {
            let p = out.join(format!("shard-{i}.json"));
            if p.exists() {
                c.arg(p);
            }
        }
        let o = c.output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, text, err) = merge("json");
    assert_eq!(code, 1, "findings: {err}");
    let merged: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(places(&merged), places(&whole));
    assert_eq!(findings(&merged).len(), findings(&whole).len());
    let shared_finding = findings(&merged)
        .iter()
        .find(|f| f["locations"].as_array().unwrap().len() == 12)
        .expect("the shared secret is one finding with all its locations");
    assert!(
        shared_finding["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("tw1:")
    );
    assert!(
        merged["summary"]["notes"]
            .to_string()
            .contains("all 3 shards merged")
    );
    let (_, sarif, _) = merge("sarif");
    validate_sarif(&serde_json::from_str(&sarif).unwrap());
    // Shard reports and a merged report file are private (they name every secret's place).
    let merged_file = out.join("merged.sarif");
    let o = tw()
        .args(["merge", "--format", "sarif", "--output"])
        .arg(&merged_file)
        .arg(out.join("shard-0.json"))
        .output()
        .unwrap();
    assert_finished(&o);
    use std::os::unix::fs::PermissionsExt;
    for f in [out.join("shard-0.json"), merged_file] {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }

    // A shard whose task died: no report. The merge says so and fails.
    std::fs::remove_file(out.join("shard-1.json")).unwrap();
    let (code, text, err) = merge("json");
    assert_eq!(code, 1);
    assert!(err.contains("INCOMPLETE") && err.contains("1/3"), "{err}");
    let partial: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(places(&partial).len() < places(&whole).len());
    // Re-running only that shard completes it.
    run_shard(1);
    let (_, text, err) = merge("json");
    assert!(!err.contains("INCOMPLETE"), "{err}");
    let again: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(places(&again), places(&whole));
}

/// `sweep plan` writes a job-array script whose tasks, run as Slurm would run them (each with
/// its SLURM_ARRAY_TASK_ID), cover the targets; `sweep status` names a shard with no report
/// and the `sbatch --array=` that re-runs only it; the merge script gives the whole scan.
#[test]
fn a_planned_sweep_runs_task_by_task_and_resumes_a_lost_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let targets = make_targets(tmp.path(), 12, "s");
    let dir = tmp.path().join("sweep");
    let out = tw()
        .args(["sweep", "plan", "--shards", "4", "--targets"])
        .arg(&targets)
        .arg("--out")
        .arg(&dir)
        .args(["--partition", "debug", "--time", "00:10:00"])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--dependency=afterany:$jid"));
    let script = std::fs::read_to_string(dir.join("sweep.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=0-3",
        "#SBATCH --partition=debug",
        "#SBATCH --time=00:10:00",
    ] {
        assert!(script.contains(line), "{line}: {script}");
    }
    let task = |id: u32| {
        let o = std::process::Command::new("bash")
            .arg(dir.join("sweep.sbatch"))
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "task {id}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    for id in [0, 1, 3] {
        task(id);
    }
    // Task 2 was lost with its node.
    let st = tw().args(["sweep", "status"]).arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&st.stdout);
    assert_eq!(st.status.code(), Some(1));
    assert!(text.contains("sbatch --array=2 "), "{text}");
    task(2);
    let st = tw().args(["sweep", "status"]).arg(&dir).output().unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stdout)
    );
    let merge = std::process::Command::new("bash")
        .arg(dir.join("merge.sbatch"))
        .output()
        .unwrap();
    assert_eq!(
        merge.status.code(),
        Some(1),
        "findings: {}",
        String::from_utf8_lossy(&merge.stderr)
    );
    let merged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("merged.json")).unwrap()).unwrap();
    assert_eq!(places(&merged), whole_scan(&targets));
    validate_sarif(
        &serde_json::from_slice(&std::fs::read(dir.join("merged.sarif")).unwrap()).unwrap(),
    );
}

/// The sweep on the REAL Slurm 22.05 cluster (`tests/peers/slurm-up.sh bookworm`): planned,
/// submitted as a job array through the project's own slurmrestd client with its merge job
/// after it, waited on through the REST client; the merged report equals a single-process
/// scan. A sweep whose task 2 never ran (submitted with --array 0,1,3, as a lost node leaves
/// it) merges INCOMPLETE, naming the shard; submitting only that shard completes it.
/// `sweep plan` refuses a time, memory or CPU count that sbatch would reject, before it writes
/// anything: the mistake shows at the desk, not hours later when the array leaves the queue.
#[test]
fn a_sweep_plan_refuses_what_sbatch_would_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let targets = make_targets(tmp.path(), 2, "v");
    for (flags, says) in [
        (&["--time", "2h"][..], "--time \"2h\""),
        (&["--time", "1:2:3:4"], "not a Slurm time limit"),
        (&["--time", "99999999999"], "not a Slurm time limit"),
        (&["--mem", "4Q"], "not a size"),
        (&["--mem", "99999999999999999T"], "not a size"),
        (&["--mem", "4G;rm"], "letters, digits"),
        (&["--cpus", "0"], "--cpus must be at least 1"),
    ] {
        let dir = tmp.path().join("sweep");
        let out = tw()
            .args(["sweep", "plan", "--shards", "2", "--targets"])
            .arg(&targets)
            .arg("--out")
            .arg(&dir)
            .args(flags)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(says), "{flags:?}: {err}");
        assert!(!dir.exists(), "{flags:?} wrote a plan");
    }
    // What Slurm takes passes: days, seconds, units, `infinite`.
    for (time, mem) in [("1-12:00:00", "4096"), ("infinite", "1T"), ("90", "512M")] {
        let dir = tmp.path().join(format!("ok-{time}"));
        let out = tw()
            .args(["sweep", "plan", "--shards", "2", "--targets"])
            .arg(&targets)
            .arg("--out")
            .arg(&dir)
            .args(["--time", time, "--mem", mem])
            .output()
            .unwrap();
        assert_success(&out);
        let script = std::fs::read_to_string(dir.join("sweep.sbatch")).unwrap();
        assert!(
            script.contains(&format!("#SBATCH --time={time}\n")),
            "{script}"
        );
        assert!(
            script.contains(&format!("#SBATCH --mem={mem}\n")),
            "{script}"
        );
    }
}

#[test]
fn peer_a_sweep_runs_as_a_job_array_on_a_real_cluster_and_resumes_a_lost_shard() {
    if !common::peers::ready(&[("slurm", &["bookworm"])]) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let env = common::peers::peer("slurm", &["bookworm"]);
    let user = common::peers::var(&env, "SLURM_USER").to_string();
    let key = std::fs::read(common::peers::var(&env, "SLURM_JWT_KEY")).unwrap();
    let jwt = slurm_jwt(&key, &user, 1800);
    let tmp = tempfile::tempdir().unwrap();
    // The jobs run as the cluster's test user: it must read the targets and write the reports.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let targets = make_targets(tmp.path(), 12, "c");
    let chmod_r = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(chmod_r.success());
    let whole = whole_scan(&targets);
    let plan = |name: &str| -> std::path::PathBuf {
        let dir = tmp.path().join(name);
        let o = tw()
            .args([
                "sweep", "plan", "--shards", "4", "--time", "00:05:00", "--mem", "200M",
            ])
            .args(["--cpus", "2", "--targets"])
            .arg(&targets)
            .arg("--out")
            .arg(&dir)
            .output()
            .unwrap();
        assert_success(&o);
        let chown = std::process::Command::new("chown")
            .arg("-R")
            .arg(&user)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(chown.success());
        dir
    };
    let submit = |dir: &Path, extra: &[&str]| {
        let o = tw()
            .args(["slurm", "--url", common::peers::var(&env, "SLURM_REST_URL")])
            .args(["submit-sweep"])
            .arg(dir)
            .args(["--wait", "--wait-timeout", "5m"])
            .args(extra)
            .env("SLURM_JWT", &jwt)
            .timeout(std::time::Duration::from_secs(400))
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!all.contains(&jwt), "the token was echoed");
        assert!(all.contains("merge job"), "{all}");
        all
    };
    let merged = |dir: &Path| -> (BTreeSet<(String, String)>, String) {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("merged.json")).unwrap())
                .unwrap_or_else(|e| {
                    panic!(
                        "{e}: {:?}",
                        std::fs::read_to_string(dir.join("logs/merge.log"))
                    )
                });
        (places(&v), v["summary"]["notes"].to_string())
    };

    let full = plan("full");
    let out = submit(&full, &[]);
    let (got, notes) = merged(&full);
    assert_eq!(got, whole, "{notes}");
    assert!(notes.contains("all 4 shards merged"), "{notes}");
    // The plan's --mem and --cpus reached Slurm (slurmrestd reads no #SBATCH line).
    let array_id = out
        .split("array job ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("the array job id is printed");
    let o = tw()
        .args(["slurm", "--url", common::peers::var(&env, "SLURM_REST_URL")])
        .args(["--json", "job", array_id])
        .env("SLURM_JWT", &jwt)
        .output()
        .unwrap();
    assert_success(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    let job: serde_json::Value = serde_json::from_str(&text).unwrap();
    let job = job.get("jobs").and_then(|j| j.get(0)).unwrap_or(&job);
    // What Slurm was asked for (22.05 shows `cpus_per_task` as null even when set; 2 CPUs
    // because 1 is also the default).
    let req = job["tres_req_str"].as_str().unwrap_or_default();
    assert!(req.contains("cpu=2") && req.contains("mem=200M"), "{text}");

    let lossy = plan("lossy");
    submit(&lossy, &["--array", "0,1,3"]);
    let (got, notes) = merged(&lossy);
    assert!(
        notes.contains("INCOMPLETE") && notes.contains("2/4"),
        "{notes}"
    );
    assert!(got.len() < whole.len());
    let st = tw().args(["sweep", "status"]).arg(&lossy).output().unwrap();
    assert!(String::from_utf8_lossy(&st.stdout).contains("--array=2 "));
    submit(&lossy, &["--array", "2"]);
    let (got, notes) = merged(&lossy);
    assert_eq!(got, whole, "{notes}");
    assert!(notes.contains("all 4 shards merged"), "{notes}");
}

/// Several repositories' histories (`--git --targets`): each repository scanned on its own,
/// paths named by repository, and shards split by repository.
#[test]
fn many_histories_are_split_by_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let mut list = String::new();
    let mut first = None;
    for k in 0..6 {
        let r = Repo::new();
        r.commit(
            "a.txt",
            &format!("token = {}\n", token(&format!("g{k}"))),
            "leak",
        );
        r.commit("a.txt", "gone\n", "fix");
        let dest = tmp.path().join(format!("repo{k}"));
        std::fs::rename(&r.dir, &dest).unwrap();
        list.push_str(&format!("{}\n", dest.display()));
        first.get_or_insert(dest);
        drop(r);
    }
    let targets = tmp.path().join("targets.txt");
    std::fs::write(&targets, list).unwrap();
    let t = targets.to_str().unwrap().to_string();
    let (_, whole) = scan_json(first.as_ref().unwrap(), &["--git", "--targets", &t]);
    let paths: Vec<String> = findings(&whole)
        .iter()
        .map(|f| f["locations"][0]["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths.len(), 6, "{whole:#}");
    assert!(
        paths
            .iter()
            .all(|p| p.ends_with("/a.txt") && p.contains("/repo")),
        "{paths:?}"
    );
    partitions(first.as_ref().unwrap(), &["--git", "--targets", &t], 3);
}
