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
