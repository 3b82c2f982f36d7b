//! The command-line exposure checks, as the directory scan runs them: the input is a file of
//! each kind the checks read (shell and batch scripts, shell history, Makefile, Dockerfile,
//! notebook, GitHub and GitLab CI YAML, Python, IRI job JSON), judged by the real engine.
//! The shell word splitter also runs on its own, since every kind ends up there.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;
use common::ENGINE;
use tokenwarden::hygiene::cmdline::{self, Context};
use tokenwarden::hygiene::EngineJudge;
use tokenwarden::hygiene::cmdline::shell;

const PATHS: &[&str] = &[
    "run.sh",
    "job.sbatch",
    "home/u/.bash_history",
    "Makefile",
    "Dockerfile",
    "analysis.ipynb",
    ".github/workflows/ci.yml",
    ".gitlab-ci.yml",
    "submit.py",
    "iri/job.json",
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let path = PATHS[sel as usize % PATHS.len()];
    let text = String::from_utf8_lossy(rest);
    let judge = EngineJudge(&ENGINE);
    if let Some(kind) = cmdline::file_kind(path, &rest[..rest.len().min(128)]) {
        for placed in cmdline::check_file(kind, &text, &judge) {
            let _ = placed;
        }
    }
    for c in shell::commands(&text) {
        for w in &c.words {
            let _ = w.literal();
            let _ = w.render();
            let _ = w.strip_literal(sel as usize % 8);
        }
    }
    let _ = cmdline::check_source(&text, Context::History, &judge);
    let _ = cmdline::ci_scripts(&text);
    let _ = cmdline::python_commands(&text);
});
