//! Git history, staged scans and the pre-commit hook, on repositories built at test time with
//! the git CLI. Tokens are minted per test; authors and dates are fixed so attribution is exact.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch repository driven through the git CLI with a private HOME and fixed identities.
struct Repo {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
    tick: std::cell::Cell<i64>,
}

impl Repo {
    fn new() -> Repo {
        let r = Repo {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
            tick: std::cell::Cell::new(1_700_000_000),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let t = self.tick.get() + 60;
        self.tick.set(t);
        let mut c = git_command(self.path(), self.home.path());
        c.env("GIT_AUTHOR_DATE", format!("@{t} +0000"))
            .env("GIT_COMMITTER_DATE", format!("@{t} +0000"))
            .args(["-c", "protocol.file.allow=always"])
            .args(args);
        c
    }

    fn git(&self, args: &[&str]) -> String {
        run_git(self.cmd(args), args)
    }

    fn commit_file(&self, rel: &str, content: &str, msg: &str) -> String {
        write(self.path(), rel, content);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }
}

fn token() -> String {
    mint(r#"{{jwt {"exp":"@now+3600","iat":"@now","sun":"alice"}}}"#)
}

fn history(dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let out = tw()
        .arg("scan")
        .arg(dir)
        .args(["--git", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (out.status.code().unwrap(), v, stderr)
}

/// `git verify-pack -v` of the repository's one pack: how each object is stored.
fn pack_listing(r: &Repo) -> String {
    let idx = pack_file(r, "idx");
    r.git(&["verify-pack", "-v", idx.to_str().unwrap()])
}

/// The repository's (first) pack file or index, by extension.
fn pack_file(r: &Repo, ext: &str) -> PathBuf {
    std::fs::read_dir(r.path().join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == ext))
        .unwrap_or_else(|| panic!("a .{ext} file"))
}

/// Replaces a file git made read-only.
fn overwrite(path: &Path, bytes: &[u8]) {
    let mut perm = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o644);
    std::fs::set_permissions(path, perm).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A history scan as JSON through one object reader, with the phase lines on stderr.
fn history_with_reader(r: &Repo, reader: &str) -> (std::process::Output, String) {
    let out = tw()
        .arg("scan")
        .arg(r.path())
        .args(["--git", "--format", "json"])
        .env("TOKENWARDEN_GIT_READER", reader)
        .env("TOKENWARDEN_PHASES", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

fn intro(f: &Value) -> &Value {
    &f["history"]["introduced_by"]
}

#[test]
fn a_secret_added_then_removed_is_found_with_its_introducing_commit() {
    let r = Repo::new();
    r.commit_file("README.md", "hello\n", "initial");
    let tok = token();
    let c2 = r.commit_file(
        "deploy/job.sh",
        &format!("#!/bin/sh\nexport SLURM_JWT={tok}\n"),
        "add job script",
    );
    r.git(&["rm", "-q", "deploy/job.sh"]);
    r.git(&["commit", "-q", "-m", "remove the token"]);
    // The working tree is clean: only history has it.
    tw().arg("scan").arg(r.path()).assert().code(0);
    let (code, v, _) = history(r.path(), &[]);
    assert_eq!(code, 1);
    let f = finding(&v, "slurm.jwt");
    assert_eq!(intro(f)["commit"], c2.as_str());
    assert_eq!(intro(f)["summary"], "add job script");
    assert_eq!(intro(f)["author"], "Alice Example");
    assert_eq!(f["history"]["at_head"], false);
    assert_eq!(f["history"]["branches"], serde_json::json!(["main"]));
    let loc = &f["locations"][0];
    assert_eq!(
        (
            loc["path"].as_str(),
            loc["line"].as_u64(),
            loc["column"].as_u64()
        ),
        (Some("deploy/job.sh"), Some(2), Some(18))
    );
    assert_eq!(v["stats"]["commits"], 3);
    // The text report says where and who.
    let out = tw()
        .arg("scan")
        .arg(r.path())
        .arg("--git")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&c2[..12]) && text.contains("no longer in HEAD"),
        "{text}"
    );
}

#[test]
fn env_file_committed_then_gitignored_is_still_found() {
    let r = Repo::new();
    let c1 = r.commit_file(".env", &mint("PALMETTO_API_KEY={{alnum 40}}\n"), "config");
    r.git(&["rm", "-q", "--cached", ".env"]);
    r.commit_file(".gitignore", ".env\n", "ignore .env");
    // Still on disk, but ignored: a tree scan skips it, history does not.
    tw().arg("scan").arg(r.path()).assert().code(0);
    let (_, v, _) = history(r.path(), &[]);
    assert_eq!(
        intro(finding(&v, "palmetto.api_key"))["commit"],
        c1.as_str()
    );
}

#[test]
fn unmerged_branches_tags_stash_and_notes_are_all_walked() {
    let r = Repo::new();
    r.commit_file("a.txt", "a\n", "initial");
    // Only on an unmerged branch.
    r.git(&["checkout", "-q", "-b", "feature"]);
    let on_branch = r.commit_file(
        "f.env",
        &mint("PALMETTO_API_KEY={{alnum 40}}\n"),
        "feature work",
    );
    r.git(&["checkout", "-q", "main"]);
    // Only in a tag whose branch is gone.
    r.git(&["checkout", "-q", "-b", "tmp"]);
    let tagged = r.commit_file("t.env", &mint("S3M_TOKEN={{b64url 60}}\n"), "release prep");
    r.git(&["tag", "-a", "v1", "-m", "v1"]);
    r.git(&["checkout", "-q", "main"]);
    r.git(&["branch", "-q", "-D", "tmp"]);
    // Only in a stash.
    write(
        r.path(),
        "a.txt",
        mint("a\nGLOBUS_CLIENT_SECRET={{b64 44}}\n"),
    );
    r.git(&["stash", "-q"]);
    // Only in a note.
    r.git(&["notes", "add", "-m", &mint("IRI_API_TOKEN={{alnum 48}}")]);
    let (_, v, _) = history(r.path(), &[]);
    assert_eq!(
        rule_ids(&v),
        vec![
            "globus.client_secret",
            "iri.token_env",
            "palmetto.api_key",
            "s3m.token_env"
        ]
    );
    let f = finding(&v, "palmetto.api_key");
    assert_eq!(intro(f)["commit"], on_branch.as_str());
    assert_eq!(f["history"]["branches"], serde_json::json!(["feature"]));
    let t = finding(&v, "s3m.token_env");
    assert_eq!(intro(t)["commit"], tagged.as_str());
    assert_eq!(t["history"]["branches"], serde_json::json!([]));
}

/// Branches are told from the commit graph: through a merge, from a branch that forked after
/// the introducing commit, and not from one that forked before it; in a date-limited scan
/// (where the walk drops commits) the same answer comes from git's own ancestry check.
#[test]
fn branches_holding_a_secret_are_found_through_merges_and_forks() {
    let r = Repo::new();
    r.commit_file("a.txt", "a\n", "initial");
    r.git(&["branch", "old"]);
    r.git(&["checkout", "-q", "-b", "feature"]);
    let intro_commit = r.commit_file(
        "f.env",
        &mint("PALMETTO_API_KEY={{alnum 40}}\n"),
        "feature work",
    );
    r.git(&["branch", "fork"]);
    r.commit_file("b.txt", "b\n", "more feature work");
    r.git(&["checkout", "-q", "main"]);
    r.commit_file("c.txt", "c\n", "main work");
    r.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    r.commit_file("d.txt", "d\n", "after the merge");
    for extra in [&[][..], &["--since-date", "2000-01-01"][..]] {
        let (_, v, _) = history(r.path(), extra);
        let f = finding(&v, "palmetto.api_key");
        assert_eq!(intro(f)["commit"], intro_commit.as_str());
        assert_eq!(
            f["history"]["branches"],
            serde_json::json!(["feature", "fork", "main"]),
            "{extra:?}"
        );
    }
}

#[test]
fn a_merge_commit_that_adds_a_secret_is_the_introducer() {
    let r = Repo::new();
    r.commit_file("conf.ini", "a = 1\n", "initial");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.commit_file("conf.ini", "a = 2\n", "side change");
    r.git(&["checkout", "-q", "main"]);
    r.commit_file("conf.ini", "a = 3\n", "main change");
    let merge = r.cmd(&["merge", "-q", "side"]).output().unwrap();
    assert!(!merge.status.success(), "expected a conflict");
    write(
        r.path(),
        "conf.ini",
        mint("a = 4\nPALMETTO_API_KEY={{alnum 40}}\n"),
    );
    r.git(&["add", "conf.ini"]);
    r.git(&["commit", "-q", "-m", "merge side"]);
    let merge_id = r.git(&["rev-parse", "HEAD"]);
    let (_, v, _) = history(r.path(), &[]);
    let f = finding(&v, "palmetto.api_key");
    assert_eq!(intro(f)["commit"], merge_id.as_str());
    assert_eq!(f["history"]["at_head"], true);
    assert_eq!(f["locations"][0]["line"], 2);
}

#[test]
fn a_renamed_file_keeps_its_introducer_and_lists_the_new_path() {
    let r = Repo::new();
    let c1 = r.commit_file("old.env", &mint("PALMETTO_API_KEY={{alnum 40}}\n"), "add");
    r.git(&["mv", "old.env", "new.env"]);
    r.git(&["commit", "-q", "-m", "rename"]);
    let c2 = r.git(&["rev-parse", "HEAD"]);
    let (_, v, _) = history(r.path(), &[]);
    let f = finding(&v, "palmetto.api_key");
    assert_eq!(intro(f)["commit"], c1.as_str());
    assert_eq!(f["history"]["introductions"], 1);
    let locs: Vec<(String, String, bool)> = f["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["git"]["commit"].as_str().unwrap().to_string(),
                l["git"]["introduced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        locs.contains(&("old.env".into(), c1.clone(), true)),
        "{locs:?}"
    );
    assert!(
        locs.contains(&("new.env".into(), c2.clone(), false)),
        "{locs:?}"
    );
    // The blob was scanned once although two commits hold it.
    assert_eq!(v["stats"]["blobs"], 1);
}

/// Blobs no ref reaches are scanned only with `--all-objects`, loose or packed, through
/// libgit2 (small repositories) and through git's listing and `git cat-file` (large ones);
/// a dangling tree or commit is not mistaken for a blob.
#[test]
fn unreachable_objects_need_all_objects() {
    let r = Repo::new();
    r.commit_file("a.txt", "a\n", "initial");
    r.commit_file("b.env", &mint("PALMETTO_API_KEY={{alnum 40}}\n"), "oops");
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    // A second dangling secret, packed: gc keeps unreachable objects in the pack with
    // --keep-unreachable.
    r.commit_file("c.env", &mint("S3M_TOKEN={{b64url 60}}\n"), "oops again");
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    r.git(&["reflog", "expire", "--expire=now", "--all"]);
    r.git(&["repack", "-a", "-d", "-q", "--keep-unreachable"]);
    r.commit_file(
        "d.env",
        &mint("PALMETTO_API_KEY={{alnum 40}}\n"),
        "loose oops",
    );
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    r.git(&["reflog", "expire", "--expire=now", "--all"]);
    let (code, v, _) = history(r.path(), &[]);
    assert_eq!((code, findings(&v).len()), (0, 0));
    for reader in ["libgit2", "git", "packs"] {
        let out = tw()
            .arg("scan")
            .arg(r.path())
            .args(["--git", "--format", "json", "--all-objects"])
            .env("TOKENWARDEN_GIT_READER", reader)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{reader}: {stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            rule_ids(&v),
            vec!["palmetto.api_key", "palmetto.api_key", "s3m.token_env"],
            "{reader}"
        );
        for f in findings(&v) {
            assert!(
                f["locations"][0]["path"]
                    .as_str()
                    .unwrap()
                    .starts_with("(unreachable)/"),
                "{reader}: {f}"
            );
            assert_eq!(f["locations"][0]["git"]["commit"], "", "{reader}");
        }
        assert!(!stderr.contains("not a blob"), "{reader}: {stderr}");
        assert_eq!(
            v["stats"]["blobs"], 4,
            "{reader}: a.txt and the three dangling blobs"
        );
    }
}

#[test]
fn range_since_and_since_date_scan_only_what_is_new() {
    let r = Repo::new();
    let c1 = r.commit_file("one.env", &mint("PALMETTO_API_KEY={{alnum 40}}\n"), "one");
    let c2 = r.commit_file("two.env", &mint("S3M_TOKEN={{b64url 60}}\n"), "two");
    let (_, v, _) = history(r.path(), &["--since", &c1]);
    assert_eq!(rule_ids(&v), vec!["s3m.token_env"]);
    assert_eq!(intro(finding(&v, "s3m.token_env"))["commit"], c2.as_str());
    let (_, v, _) = history(r.path(), &["--range", &format!("{c1}..{c2}")]);
    assert_eq!(rule_ids(&v), vec!["s3m.token_env"]);
    let (_, v, _) = history(r.path(), &["--since-date", "2100-01-01"]);
    assert_eq!(findings(&v).len(), 0);
    let (_, v, _) = history(r.path(), &["--since-date", "2000-01-01"]);
    assert_eq!(findings(&v).len(), 2);
    tw().arg("scan")
        .arg(r.path())
        .args(["--git", "--since", "no-such-rev"])
        .assert()
        .code(2);
}

/// A range scans what the range adds to the commits it grew from: a secret that was already
/// there is not reported again when the range moves it, one the range adds in a subdirectory
/// is, and so is one that came back after the base had dropped it. Through both readers.
#[test]
fn a_range_reports_what_it_adds_not_what_it_moves() {
    let r = Repo::new();
    let old = mint("PALMETTO_API_KEY={{alnum 40}}\n");
    let back = mint("S3M_TOKEN={{b64url 60}}\n");
    r.commit_file("old.env", &old, "an old secret");
    r.commit_file("gone.env", &back, "a secret");
    r.git(&["rm", "-q", "gone.env"]);
    r.git(&["commit", "-q", "-m", "drop it"]);
    let base = r.git(&["rev-parse", "HEAD"]);
    r.git(&["mv", "old.env", "moved.env"]);
    r.git(&["commit", "-q", "-m", "move"]);
    let added = r.commit_file(
        "deep/dir/new.env",
        &mint("IRI_API_TOKEN={{alnum 48}}\n"),
        "a new secret",
    );
    let returned = r.commit_file("again.env", &back, "it came back");
    for reader in ["libgit2", "git", "packs"] {
        let out = tw()
            .arg("scan")
            .arg(r.path())
            .args(["--git", "--format", "json", "--since", &base])
            .env("TOKENWARDEN_GIT_READER", reader)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            rule_ids(&v),
            vec!["iri.token_env", "s3m.token_env"],
            "{reader}"
        );
        assert_eq!(
            intro(finding(&v, "iri.token_env"))["commit"],
            added.as_str()
        );
        assert_eq!(
            intro(finding(&v, "s3m.token_env"))["commit"],
            returned.as_str()
        );
    }
}

#[test]
fn bare_shallow_submodule_and_corrupt_repositories() {
    let r = Repo::new();
    r.commit_file("a.txt", "a\n", "initial");
    r.commit_file("s.env", &mint("PALMETTO_API_KEY={{alnum 40}}\n"), "secret");
    r.commit_file("b.txt", "b\n", "later");
    let holder = tempfile::tempdir().unwrap();
    let url = format!("file://{}", r.path().display());
    // Bare.
    let bare = holder.path().join("bare.git");
    r.git(&[
        "clone",
        "-q",
        "--bare",
        r.path().to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    let (_, v, _) = history(&bare, &[]);
    assert_eq!(rule_ids(&v), vec!["palmetto.api_key"]);
    // Shallow: the boundary is said out loud.
    let shallow = holder.path().join("shallow");
    r.git(&[
        "clone",
        "-q",
        "--depth",
        "1",
        &url,
        shallow.to_str().unwrap(),
    ]);
    let (_, v, stderr) = history(&shallow, &[]);
    assert!(stderr.contains("shallow clone"), "{stderr}");
    assert_eq!(
        rule_ids(&v),
        vec!["palmetto.api_key"],
        "HEAD's tree still holds it"
    );
    // A submodule is reported, not followed, and does not break the scan.
    let outer = Repo::new();
    outer.commit_file("x.txt", "x\n", "initial");
    outer.git(&["submodule", "add", "-q", &url, "vendor/inner"]);
    outer.git(&["commit", "-q", "-m", "add submodule"]);
    let (code, _, stderr) = history(outer.path(), &[]);
    assert_eq!(code, 0);
    assert!(stderr.contains("vendor/inner: submodule"), "{stderr}");
    // A missing blob is a warning; the other secrets are still found.
    let c = Repo::new();
    let b1 = mint("PALMETTO_API_KEY={{alnum 40}}\n");
    c.commit_file("keep.env", &b1, "keep");
    c.commit_file("lost.env", &mint("S3M_TOKEN={{b64url 60}}\n"), "lost");
    let blob = c.git(&["rev-parse", "HEAD:lost.env"]);
    std::fs::remove_file(
        c.path()
            .join(".git/objects")
            .join(&blob[..2])
            .join(&blob[2..]),
    )
    .unwrap();
    let (code, v, stderr) = history(c.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(rule_ids(&v), vec!["palmetto.api_key"]);
    assert!(stderr.contains("missing or corrupt"), "{stderr}");
    // Not a repository at all: exit 2.
    let plain = tempfile::tempdir().unwrap();
    tw().arg("scan")
        .arg(plain.path())
        .arg("--git")
        .assert()
        .code(2);
}

#[test]
fn staged_scans_see_only_what_the_commit_adds() {
    let r = Repo::new();
    // An empty repository (unborn HEAD): everything staged is new.
    write(
        r.path(),
        "job.sh",
        format!("echo hi\nexport SLURM_JWT={}\n", token()),
    );
    r.git(&["add", "job.sh"]);
    let (code, v) = scan_json(r.path(), &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(finding(&v, "slurm.jwt")["locations"][0]["line"], 2);
    r.git(&["commit", "-q", "-m", "old secret"]);
    // A change next to an old secret is not blocked: only added lines count.
    let old_secret_line = std::fs::read_to_string(r.path().join("job.sh"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    write(
        r.path(),
        "job.sh",
        format!("echo hello\n{old_secret_line}\n"),
    );
    r.git(&["add", "job.sh"]);
    tw().current_dir(r.path())
        .args(["scan", "--staged"])
        .assert()
        .code(0);
    // Unstaged edits are not what will be committed.
    write(
        r.path(),
        "other.env",
        mint("PALMETTO_API_KEY={{alnum 40}}\n"),
    );
    tw().current_dir(r.path())
        .args(["scan", "--staged"])
        .assert()
        .code(0);
    // A new secret line in a modified file is reported at its staged line.
    write(
        r.path(),
        "job.sh",
        mint("echo hello\nX=1\nPALMETTO_API_KEY={{alnum 40}}\n"),
    );
    r.git(&["add", "job.sh"]);
    let (_, v) = scan_json(r.path(), &["--staged"]);
    assert_eq!(rule_ids(&v), vec!["palmetto.api_key"]);
    assert_eq!(finding(&v, "palmetto.api_key")["locations"][0]["line"], 3);
    // A staged key file is caught by name even though it is binary.
    let mut key = tokenwarden::rules::template::random_bytes(128);
    key[0] = 0;
    write(r.path(), "etc/munge.key", key);
    r.git(&["add", "etc/munge.key"]);
    let (_, v) = scan_json(r.path(), &["--staged"]);
    assert!(
        rule_ids(&v).contains(&"munge.key_file".to_string()),
        "{v:#}"
    );
}

fn hook_path(r: &Repo) -> PathBuf {
    r.path().join(".git/hooks/pre-commit")
}

#[test]
fn the_installed_hook_blocks_a_commit_with_a_token_and_passes_a_clean_one() {
    let r = Repo::new();
    r.commit_file("a.txt", "a\n", "initial");
    tw().args(["hook", "install"])
        .arg(r.path())
        .assert()
        .success();
    let hook = std::fs::read_to_string(hook_path(&r)).unwrap();
    assert!(
        hook.contains(tokenwarden::hook::MARKER) && hook.contains("scan --staged"),
        "{hook}"
    );
    write(
        r.path(),
        ".env",
        format!(
            "Authorization: {}\n",
            mint(r#"{{jwt RS256 {"type":"opat","aud":["api.olcf.ornl.gov"],"iat":"@now"}}}"#)
        ),
    );
    r.git(&["add", ".env"]);
    let blocked = r.cmd(&["commit", "-q", "-m", "add env"]).output().unwrap();
    assert!(
        !blocked.status.success(),
        "commit with a token went through"
    );
    // git hands a hook's output to stderr.
    let said = String::from_utf8_lossy(&blocked.stderr);
    assert!(said.contains("s3m.opat"), "{blocked:?}");
    // It says the commit was blocked, and what to do about it.
    for words in [
        "COMMIT BLOCKED",
        "git restore --staged -- <file>",
        "tokenwarden:allow",
        "--no-verify",
    ] {
        assert!(said.contains(words), "{words}: {said}");
    }
    r.git(&["rm", "-q", "--cached", ".env"]);
    write(r.path(), "b.txt", "clean\n");
    r.git(&["add", "b.txt"]);
    r.git(&["commit", "-q", "-m", "clean change"]);
}

#[test]
fn before_the_first_commit_the_block_message_unstages_with_git_rm_cached() {
    let r = Repo::new();
    write(
        r.path(),
        "job.env",
        format!(
            "SLURM_JWT={}\n",
            slurm_jwt(b"a-key-of-this-cluster-only-0123456789", "alice", 3600)
        ),
    );
    r.git(&["add", "job.env"]);
    let out = tw()
        .args(["scan", "--staged"])
        .arg(r.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("git rm --cached -- <file>"), "{said}");
    assert!(!said.contains("git restore"), "{said}");
}

#[test]
fn hook_install_pins_the_installed_binary_and_says_which() {
    let r = Repo::new();
    r.commit_file("a.txt", "a\n", "initial");
    // Not on PATH: the build's binary, with a warning that `cargo clean` removes it.
    let out = tw()
        .args(["hook", "install"])
        .arg(r.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not on PATH"),
        "{out:?}"
    );
    // Installed (on PATH): that binary, named in the hook and in the message.
    let bin = tempfile::tempdir().unwrap();
    let installed = bin.path().join("tokenwarden");
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("tokenwarden"), &installed).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let out = tw()
        .env("PATH", &path)
        .args(["hook", "install"])
        .arg(r.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&installed.display().to_string()), "{said}");
    let hook = std::fs::read_to_string(hook_path(&r)).unwrap();
    assert!(
        hook.contains(&format!("exec '{}'", installed.display())),
        "{hook}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).is_empty(), "{out:?}");
}

#[test]
fn hook_install_does_not_clobber_a_foreign_hook_and_uninstall_restores_it() {
    let r = Repo::new();
    std::fs::create_dir_all(r.path().join(".git/hooks")).unwrap();
    std::fs::write(hook_path(&r), "#!/bin/sh\necho mine\n").unwrap();
    tw().args(["hook", "install"])
        .arg(r.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--force"));
    tw().args(["hook", "install", "--force"])
        .arg(r.path())
        .assert()
        .success();
    assert!(
        r.path()
            .join(".git/hooks/pre-commit.tokenwarden-backup")
            .exists()
    );
    tw().args(["hook", "install"])
        .arg(r.path())
        .assert()
        .success(); // ours: replaced quietly
    tw().args(["hook", "uninstall"])
        .arg(r.path())
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(hook_path(&r)).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    tw().args(["hook", "uninstall"])
        .arg(r.path())
        .assert()
        .success()
        .stdout(predicates::str::contains("no tokenwarden pre-commit hook"));
}

#[test]
fn history_sarif_validates_and_names_the_repository_and_commits() {
    let r = Repo::new();
    let c1 = r.commit_file("a.env", &mint("PALMETTO_API_KEY={{alnum 40}}\n"), "add key");
    r.git(&[
        "remote",
        "add",
        "origin",
        "https://git.example.org/lab/project.git",
    ]);
    let out = tw()
        .arg("scan")
        .arg(r.path())
        .args(["--git", "--format", "sarif"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    validate_sarif(&doc);
    let run = &doc["runs"][0];
    let vcs = &run["versionControlProvenance"][0];
    assert_eq!(
        vcs["repositoryUri"],
        "https://git.example.org/lab/project.git"
    );
    assert_eq!(vcs["revisionId"], c1.as_str());
    assert_eq!(vcs["branch"], "main");
    let git = &run["results"][0]["properties"]["git"];
    assert_eq!(git["commit"], c1.as_str());
    assert_eq!(git["introduced"], true);
}

#[test]
fn worktrees_and_lfs_pointers() {
    let r = Repo::new();
    r.commit_file(
        "big.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
        "lfs pointer",
    );
    let c2 = r.commit_file("k.env", &mint("PALMETTO_API_KEY={{alnum 40}}\n"), "key");
    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    r.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "other",
        wt_path.to_str().unwrap(),
    ]);
    // From inside the worktree the same history is seen, and the hook goes where git looks.
    let (_, v, _) = history(&wt_path, &[]);
    assert_eq!(
        intro(finding(&v, "palmetto.api_key"))["commit"],
        c2.as_str()
    );
    tw().args(["hook", "install"])
        .arg(&wt_path)
        .assert()
        .success();
    assert!(
        hook_path(&r).exists(),
        "worktrees share the main repository's hooks"
    );
}

#[test]
fn config_excludes_apply_to_history_per_location_and_blob_size_limits_warn() {
    let r = Repo::new();
    let key = mint("PALMETTO_API_KEY={{alnum 40}}\n");
    r.commit_file("fixtures/sample.env", &key, "fixture");
    r.commit_file(
        ".tokenwarden.toml",
        "[scan]\nexclude = [\"fixtures/**\"]\n",
        "config",
    );
    let (code, v, _) = history(r.path(), &[]);
    assert_eq!((code, findings(&v).len()), (0, 0), "{v:#}");
    // The same secret at a path that is not excluded is still reported, there only.
    r.commit_file("deploy/app.env", &key, "leak");
    let (_, v, _) = history(r.path(), &[]);
    let locs = finding(&v, "palmetto.api_key")["locations"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(locs.len(), 1, "{locs:#?}");
    assert_eq!(locs[0]["path"], "deploy/app.env");
    // A blob over the size limit is skipped with a warning, not silently.
    r.commit_file("big.log", &"x".repeat(4096), "big");
    let (_, _, stderr) = history(r.path(), &["--max-blob-size", "1K"]);
    assert!(
        stderr.contains("big.log") && stderr.contains("over the blob size limit"),
        "{stderr}"
    );
}

/// The history is walked in parallel shares of contiguous commits that meet at their
/// boundaries; whatever the number of threads, every secret is reported once, with the same
/// introducer, holders and paths.
#[test]
fn thread_count_does_not_change_history_findings() {
    let r = Repo::new();
    let tok = token();
    r.commit_file("README.md", "hello\n", "initial");
    let intro_commit = r.commit_file("etc/slurm.env", &format!("SLURM_JWT={tok}\n"), "add env");
    for i in 0..12 {
        r.commit_file(&format!("src/f{}.txt", i % 3), &format!("v{i}\n"), "work");
    }
    r.git(&["mv", "etc/slurm.env", "etc/moved.env"]);
    r.git(&["commit", "-q", "-m", "move"]);
    for i in 0..5 {
        r.commit_file("src/g.txt", &format!("w{i}\n"), "more work");
    }
    let strip = |mut v: Value| {
        v["stats"] = Value::Null;
        v["summary"]["elapsed_ms"] = Value::Null;
        v
    };
    let (code, one, _) = history(r.path(), &["--threads", "1"]);
    assert_eq!(code, 1);
    let f = finding(&one, "slurm.jwt");
    assert_eq!(intro(f)["commit"], intro_commit.as_str());
    assert_eq!(intro(f)["commits_holding"], 19, "{f:#}");
    for threads in ["2", "3", "4"] {
        // Objects read through libgit2 (what a small repository gets) and through a
        // `git cat-file` child (a large one) must give the same answers.
        for reader in ["libgit2", "git", "packs"] {
            let out = tw()
                .arg("scan")
                .arg(r.path())
                .args(["--git", "--format", "json", "--threads", threads])
                .env("TOKENWARDEN_GIT_READER", reader)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1));
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                strip(v),
                strip(one.clone()),
                "--threads {threads} with the {reader} reader changed the findings"
            );
        }
    }
}

/// A file's long history packed as deltas of one another, as `git gc` leaves every real
/// repository: the pack reader applies the deltas itself, so a secret that lives in copied
/// bytes (present from the first version on) and one that lives in inserted bytes (added in
/// one version, removed in a later one) must both be found in every version, with the same
/// findings, introducers and holders as git's and libgit2's readers give.
#[test]
fn secrets_in_delta_chains_are_found_as_every_reader_finds_them() {
    let r = Repo::new();
    let kept = mint("PALMETTO_API_KEY={{alnum 40}}\n");
    let passing = token();
    let mut lines: Vec<String> = (0..300)
        .map(|i| format!("setting_{i} = value {i} of a config file that changes a little\n"))
        .collect();
    lines.insert(150, kept.clone());
    let mut passing_commit = String::new();
    for v in 0..40 {
        lines[(v * 7) % 300] = format!("setting_{v} = changed in version {v}\n");
        let mut body: String = lines.concat();
        if (12..25).contains(&v) {
            body.push_str(&format!("SLURM_JWT={passing}\n"));
        }
        let c = r.commit_file("etc/site.env", &body, &format!("version {v}"));
        if v == 12 {
            passing_commit = c;
        }
    }
    r.git(&[
        "repack",
        "-a",
        "-d",
        "-f",
        "-q",
        "--depth=50",
        "--window=50",
    ]);
    r.git(&["prune-packed"]);
    // The pack must hold deltas of the file, or this test proves nothing about them.
    let verify = pack_listing(&r);
    let deltas = verify
        .lines()
        .filter(|l| l.contains(" blob ") && l.split_whitespace().count() == 7)
        .count();
    assert!(
        deltas >= 30,
        "expected the file's versions as deltas:\n{verify}"
    );
    let strip = |mut v: Value| {
        v["stats"] = Value::Null;
        v["summary"]["elapsed_ms"] = Value::Null;
        v
    };
    let mut reports = Vec::new();
    for reader in ["libgit2", "git", "packs"] {
        let (out, stderr) = history_with_reader(&r, reader);
        assert_eq!(out.status.code(), Some(1), "{reader}: {stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            rule_ids(&v),
            vec!["palmetto.api_key", "slurm.jwt"],
            "{reader}: {stderr}"
        );
        if reader == "packs" {
            assert!(
                stderr.contains("blobs from the packs: 40 of 40"),
                "every version is served by the pack reader: {stderr}"
            );
        }
        let jwt = finding(&v, "slurm.jwt");
        assert_eq!(intro(jwt)["commit"], passing_commit.as_str(), "{reader}");
        assert_eq!(jwt["history"]["introductions"], 13, "{reader}: {jwt:#}");
        let key = finding(&v, "palmetto.api_key");
        assert_eq!(key["history"]["introductions"], 40, "{reader}: {key:#}");
        reports.push((reader, strip(v)));
    }
    for (reader, v) in &reports[1..] {
        assert_eq!(v, &reports[0].1, "the {reader} reader differs from libgit2");
    }
}

/// A rewritten commit leaves its tree in the pack, and git may store the surviving tree as a
/// delta of it. The pack walk records trees as changes to their delta bases, so it must meet
/// what the surviving tree shares with a base no ref reaches, and nothing the base alone holds:
/// a secret only in the rewritten-away file is not history without `--all-objects`.
#[test]
fn a_tree_stored_as_a_delta_of_an_unreachable_tree_is_walked_whole() {
    let r = Repo::new();
    for i in 0..40 {
        write(
            r.path(),
            &format!("f{i}.txt"),
            format!("file {i} content line\n"),
        );
    }
    write(
        r.path(),
        "zz-extra.env",
        mint("S3M_TOKEN={{b64url 60}}\n# padding so this tree is the larger one\n"),
    );
    write(
        r.path(),
        "secret.env",
        mint("PALMETTO_API_KEY={{alnum 40}}\n"),
    );
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "first"]);
    r.git(&["repack", "-a", "-d", "-q"]);
    r.git(&["rm", "-q", "zz-extra.env"]);
    write(r.path(), "f3.txt", "changed\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "--amend", "-m", "first, amended"]);
    r.git(&["reflog", "expire", "--expire=now", "--all"]);
    r.git(&["repack", "-a", "-d", "-f", "-q", "--keep-unreachable"]);
    // The precondition: HEAD's tree is a delta of another tree, which no ref reaches.
    let head_tree = r.git(&["rev-parse", "HEAD^{tree}"]);
    let verify = pack_listing(&r);
    let line = verify
        .lines()
        .find(|l| l.starts_with(&head_tree))
        .unwrap_or_else(|| panic!("HEAD's tree is packed:\n{verify}"));
    assert_eq!(
        line.split_whitespace().count(),
        7,
        "HEAD's tree is stored as a delta:\n{verify}"
    );
    let strip = |mut v: Value| {
        v["summary"]["elapsed_ms"] = Value::Null;
        v
    };
    let mut reports = Vec::new();
    for reader in ["libgit2", "git", "packs"] {
        let (out, stderr) = history_with_reader(&r, reader);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(rule_ids(&v), vec!["palmetto.api_key"], "{reader}: {stderr}");
        // 40 files (f3 in its new version) and secret.env; not the rewritten-away file.
        assert_eq!(v["stats"]["blobs"], 41, "{reader}: {stderr}");
        if reader == "packs" {
            assert!(
                stderr.contains("blobs from the packs: 41 of 41"),
                "{stderr}"
            );
        }
        reports.push((reader, strip(v)));
    }
    for (reader, v) in &reports[1..] {
        assert_eq!(v, &reports[0].1, "the {reader} reader differs from libgit2");
    }
}

/// Git stores a tree as a delta of whichever tree it resembles: here `.aws/` as a delta of a
/// backup copy in `backup/aws/`. The pack walk meets the blobs they share where the backup was
/// walked, so it must still tell that one of them is `.aws/credentials`, a credential file,
/// which `backup/aws/credentials` is not by its path.
#[test]
fn a_credential_file_in_a_tree_stored_as_a_delta_of_a_copy_elsewhere_is_found() {
    let r = Repo::new();
    let creds = "[default]\naws_access_key_id = AKIAEXAMPLE\n";
    let config = "[default]\nregion = us-east-1\n";
    write(r.path(), ".aws/credentials", creds);
    write(r.path(), ".aws/config", config);
    write(r.path(), "backup/aws/credentials", creds);
    write(r.path(), "backup/aws/config", config);
    for i in 0..3 {
        write(
            r.path(),
            &format!("backup/aws/notes{i}.txt"),
            format!("note {i} about the backup\n"),
        );
    }
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "keys and a backup"]);
    r.git(&["repack", "-a", "-d", "-f", "-q"]);
    // The precondition: `.aws/` is stored as a delta of `backup/aws/`.
    let aws = r.git(&["rev-parse", "HEAD:.aws"]);
    let backup = r.git(&["rev-parse", "HEAD:backup/aws"]);
    let verify = pack_listing(&r);
    assert!(
        verify
            .lines()
            .any(|l| l.starts_with(&aws) && l.ends_with(&backup)),
        ".aws/ is a delta of backup/aws/:\n{verify}"
    );
    for reader in ["libgit2", "packs"] {
        let out = tw()
            .arg("scan")
            .arg(r.path())
            .args(["--git", "--format", "json"])
            .env("TOKENWARDEN_GIT_READER", reader)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let files: Vec<(&str, &str)> = v["hygiene"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["check"].as_str().unwrap(), h["path"].as_str().unwrap()))
            .collect();
        assert_eq!(
            files,
            vec![("hygiene.credential_file_in_history", ".aws/credentials")],
            "{reader}"
        );
    }
}

/// A repository with 10,000 refs (branches and tags on many commits): every ref is walked,
/// a secret reachable from one tag only is found, each blob once.
#[test]
fn ten_thousand_refs() {
    let r = Repo::new();
    let t = token();
    r.commit_file("a.txt", "one\n", "first");
    r.commit_file("hidden.txt", &format!("SLURM_JWT={t}\n"), "secret");
    let secret_commit = r.git(&["rev-parse", "HEAD"]);
    r.git(&["tag", "only-here"]);
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let head = r.git(&["rev-parse", "HEAD"]);
    let mut refs = String::new();
    for k in 0..10_000 {
        refs.push_str(&format!("create refs/heads/b{k:05} {head}\n"));
    }
    let mut c = r.cmd(&["update-ref", "--stdin"]);
    c.stdin(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(refs.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let (code, v, stderr) = history(r.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let f = &findings(&v)[0];
    assert_eq!(f["locations"].as_array().unwrap().len(), 1, "{f:#}");
    assert_eq!(intro(f)["commit"], secret_commit.as_str());
}

/// A UTF-16 file (PowerShell's default) is decoded in history and in staged scans alike, and
/// reported at the line an editor shows; a binary blob over 1 MiB stays skipped.
#[test]
fn utf16_blobs_are_decoded_in_history_and_staged_scans() {
    let r = Repo::new();
    let utf16: Vec<u8> = std::iter::once(0xFEFFu16)
        .chain(format!("# token\r\n$env:SLURM_JWT = \"{}\"\r\n", token()).encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    write(r.path(), "setup.ps1", &utf16);
    let mut bin = b"\x7fELF\x02\x01\x01".to_vec();
    bin.extend(std::iter::repeat_n(0u8, 1 << 20));
    bin.extend(format!("SLURM_JWT={}", token()).bytes());
    write(r.path(), "tool.bin", &bin);
    r.git(&["add", "-A"]);
    let (code, v) = scan_json(r.path(), &["--staged"]);
    assert_eq!(code, 1);
    let loc = &finding(&v, "slurm.jwt")["locations"][0];
    assert_eq!(
        (loc["path"].as_str(), loc["line"].as_u64()),
        (Some("setup.ps1"), Some(2))
    );
    r.git(&["commit", "-q", "-m", "setup"]);
    r.git(&["rm", "-q", "setup.ps1"]);
    r.git(&["commit", "-q", "-m", "remove"]);
    let (code, v, _) = history(r.path(), &[]);
    assert_eq!(code, 1);
    let f = finding(&v, "slurm.jwt");
    assert_eq!(f["locations"].as_array().map(Vec::len), Some(1), "{f}");
    assert_eq!(f["locations"][0]["path"], "setup.ps1");
    assert_eq!(f["locations"][0]["line"], 2);
    assert_eq!(v["stats"]["binary_skipped"], 1);
}

/// A packfile with damaged bytes: the objects that cannot be read are warned about, those
/// that can are scanned, nothing panics, and the exit code still says a secret was found.
/// Both object readers are tried (libgit2, and `git cat-file` as big repositories use).
#[test]
fn a_corrupt_packfile_is_warned_about_and_the_rest_is_scanned() {
    let r = Repo::new();
    let kept = mint("PALMETTO_API_KEY={{alnum 40}}\n");
    // Incompressible filler makes the damage land inside one blob's data.
    let filler = mint(&"{{b64 76}}\n".repeat(400));
    r.commit_file("big.txt", &filler, "filler");
    r.commit_file("keep.env", &kept, "keep");
    r.git(&["gc", "-q", "--aggressive"]);
    r.git(&["prune-packed"]);
    let pack = pack_file(&r, "pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    // The middle of the file lies inside the big blob's data (it is most of the pack).
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xA5;
    }
    overwrite(&pack, &bytes);
    for reader in ["libgit2", "git", "packs"] {
        let out = tw()
            .env("TOKENWARDEN_GIT_READER", reader)
            .arg("scan")
            .arg(r.path())
            .args(["--git", "--format", "json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{reader}: {stderr}");
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{reader}: {e}: {stderr}"));
        assert_eq!(out.status.code(), Some(1), "{reader}: {stderr}");
        assert_eq!(rule_ids(&v), vec!["palmetto.api_key"], "{reader}: {stderr}");
        assert!(
            stderr.contains("missing or corrupt") || stderr.contains("corrupt"),
            "{reader}: the damage is reported: {stderr}"
        );
    }
}

/// An index names its pack by the pack's checksum; git and libgit2 refuse a pair that
/// differ, and so does the pack reader: an index of another pack would give ids other
/// objects' bytes. The objects are loose too here, so the other readers still find them,
/// and the pack reader leaves every one to them.
#[test]
fn a_pack_whose_index_names_another_pack_is_left_to_git() {
    let r = Repo::new();
    let key = mint("PALMETTO_API_KEY={{alnum 40}}\n");
    r.commit_file("a.txt", "one\n", "first");
    r.commit_file("keep.env", &key, "second");
    // Packed, with the loose objects kept (no -d).
    r.git(&["repack", "-a", "-q"]);
    let idx = pack_file(&r, "idx");
    let mut bytes = std::fs::read(&idx).unwrap();
    // The pack's checksum as the index records it: the 20 bytes before the index's own.
    let at = bytes.len() - 40;
    bytes[at] ^= 0xff;
    overwrite(&idx, &bytes);
    let mut reports = Vec::new();
    for reader in ["libgit2", "packs"] {
        let (out, stderr) = history_with_reader(&r, reader);
        assert!(!stderr.contains("panicked"), "{reader}: {stderr}");
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(rule_ids(&v), vec!["palmetto.api_key"], "{reader}: {stderr}");
        if reader == "packs" {
            assert!(
                stderr.contains("blobs from the packs: 0 of 2"),
                "the pack is not read: {stderr}"
            );
        }
        v["summary"]["elapsed_ms"] = Value::Null;
        reports.push(v);
    }
    assert_eq!(reports[0], reports[1]);
}
