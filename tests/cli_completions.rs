//! Shell completions and the manual page, generated from the clap definitions.

mod common;
use common::assert_success;
use common::tw;

#[test]
fn bash_completions_parse_and_know_the_commands() {
    let out = tw().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    for word in ["scan", "audit", "baseline", "--no-inline-allow", "--revoke"] {
        assert!(script.contains(word), "{word} missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tw.bash");
    std::fs::write(&p, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&p)
        .output()
        .unwrap();
    assert_success(&check);
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(
            tw().args(["completions", shell])
                .output()
                .unwrap()
                .status
                .success()
        );
    }
}

#[test]
fn the_manual_page_is_roff_and_names_the_subcommands() {
    let out = tw().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH tokenwarden 1"), "{page}");
    for word in ["audit", "baseline", "completions"] {
        assert!(page.contains(word), "{word} missing");
    }
}

#[test]
fn every_manual_page_the_pages_refer_to_is_generated() {
    let dir = tempfile::tempdir().unwrap();
    let out = tw()
        .args(["man", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let re = regex::Regex::new(r"tokenwarden\\-[a-z0-9\\-]+\(1\)").unwrap();
    let mut refs = std::collections::BTreeSet::new();
    let mut pages = vec![String::from_utf8(tw().arg("man").output().unwrap().stdout).unwrap()];
    for e in std::fs::read_dir(dir.path()).unwrap() {
        pages.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    for page in &pages {
        for m in re.find_iter(page) {
            refs.insert(m.as_str().replace('\\', "").replace("(1)", ".1"));
        }
    }
    assert!(refs.len() > 20, "{refs:?}");
    for r in &refs {
        assert!(
            dir.path().join(r).is_file(),
            "{r} is referred to but not generated"
        );
    }
}

#[test]
fn errors_say_each_cause_once() {
    let out = tw().args(["scan", "/nonexistent/tree"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    let out = tw()
        .args(["slurm", "--url", "http://127.0.0.1:9", "ping"])
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("no Slurm JWT").count(), 1, "{err}");
}

#[test]
fn slurm_help_says_where_the_token_comes_from_and_sets_shared_flags_apart() {
    let out = tw().args(["slurm", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for words in ["$SLURM_JWT", "--token-from", "scontrol token"] {
        assert!(help.contains(words), "{words}: {help}");
    }
    let out = tw().args(["slurm", "jobs", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let own = help.split("Connection and credential").next().unwrap();
    assert!(!own.contains("--token-from"), "{help}");
    assert!(help.contains("Slurm API (any subcommand)"), "{help}");
}
