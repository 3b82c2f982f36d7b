//! One test per bug the fuzz targets (`fuzz/`) found, each on its minimized input and through
//! the same entry point as the target that found it. The inputs are written out here rather
//! than kept as raw crash files, which may hold freshly minted tokens.

use tokenwarden::hygiene::EngineJudge;
use tokenwarden::hygiene::cmdline::{self, Context};
use tokenwarden::{Engine, EngineOptions, RuleSet};

fn engine() -> Engine {
    let set = RuleSet::builtin().expect("built-in rules");
    Engine::new(&set, EngineOptions { now: 1_800_000_000 }).expect("engine")
}

/// cmdline: `curl -` followed by a multi-byte character sliced a `&str` inside that
/// character while looking for a `-Hvalue` short option, and panicked.
#[test]
fn cmdline_short_option_followed_by_a_multibyte_character() {
    let engine = engine();
    let judge = EngineJudge(&engine);
    for src in [
        "curl -é https://x\n",
        "RUN curl -\u{FFFD}\u{FFFD}u user:pw https://x\n",
        "wget -日本 x",
    ] {
        let _ = cmdline::check_source(src, Context::Script, &judge);
        let kind = cmdline::file_kind("Dockerfile", b"FROM debian").expect("a Dockerfile");
        let _ = cmdline::check_file(kind, &format!("FROM debian\n{src}"), &judge);
    }
    // A `-Hvalue` short option is still understood beside one.
    let found = cmdline::check_source(
        "curl -H\"Authorization: $S3M_TOKEN\" -é https://x\n",
        Context::Script,
        &judge,
    );
    assert!(!found.is_empty(), "the -H header leak is still reported");
}

/// token_files: `sts_parts` added 2 KiB to the recorded offset of a secret key and overflowed
/// for an offset near `usize::MAX`. An offset past the end (a file that shrank between the
/// scan and the audit) now finds nothing instead.
#[test]
fn sts_parts_with_an_offset_past_the_end() {
    use tokenwarden::lifecycle::issuer::sts_parts;
    let text = b"[default]\naws_access_key_id = ABCDEFGHIJKLMNOPQRST\naws_secret_access_key = x\n";
    assert!(sts_parts(text, 60).is_some(), "the normal case still works");
    for offset in [
        text.len() + 1,
        text.len() + 5000,
        usize::MAX - 1,
        usize::MAX,
    ] {
        assert!(sts_parts(text, offset).is_none(), "{offset}");
    }
}

/// token_files: a batch script's `#SBATCH -t` with a huge minute count overflowed while
/// converting to seconds (a panic in debug builds, a wrapped, wrong time limit in release).
/// It is now refused with the usual message; `slurm submit --time` goes the same way.
#[test]
fn sbatch_time_limits_too_large_for_seconds_are_refused() {
    use tokenwarden::facilities::slurm::{JobRequest, parse_time_limit};
    for t in [
        "307445734561825861",
        "307445734561825861:59",
        "213503982334601-0",
        "1-213503982334601",
        "1-0:307445734561825861",
        "1-0:0:18446744073709551615",
    ] {
        let err = parse_time_limit(t).expect_err(t).to_string();
        assert!(err.contains("not a Slurm time limit"), "{t}: {err}");
        let script = format!("#!/bin/sh\n#SBATCH -t {t}\necho\n");
        assert!(JobRequest::from_script(&script).is_err(), "{t}");
    }
    assert_eq!(
        parse_time_limit("1-02:03:04").unwrap(),
        1564,
        "seconds round up, as in Slurm"
    );
    assert_eq!(parse_time_limit("90").unwrap(), 90);
}
