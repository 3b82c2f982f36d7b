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
