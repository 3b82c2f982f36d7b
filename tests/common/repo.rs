//! A git repository built at test time with the git CLI (a private HOME, a fixed identity).
#![allow(dead_code)]

use super::{git_command, run_git, write};
use std::path::PathBuf;

/// A scratch repository on branch `main`.
pub struct Repo {
    _tmp: tempfile::TempDir,
    /// The work tree.
    pub dir: PathBuf,
    /// The HOME git runs with.
    pub home: PathBuf,
}

impl Repo {
    /// `git init` in a fresh temporary directory.
    pub fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("work");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let r = Repo {
            _tmp: tmp,
            dir,
            home,
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    /// Runs git in the work tree; its stdout, trimmed.
    pub fn git(&self, args: &[&str]) -> String {
        let mut c = git_command(&self.dir, &self.home);
        c.args(args);
        run_git(c, args)
    }

    /// Writes `path` and commits everything; the new commit's id.
    pub fn commit(&self, path: &str, content: &str, msg: &str) -> String {
        write(&self.dir, path, content);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", msg]);
        self.git(&["rev-parse", "HEAD"])
    }
}
