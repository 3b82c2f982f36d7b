//! The rule loaders: a `.tokenwarden.toml`-style rule file and a gitleaks/Betterleaks config,
//! both taken from the repository being scanned in practice. Whatever loads must also compile
//! into an engine (or be refused with an error) and scan without panicking. The same text is
//! also read as a repository config (`.tokenwarden.toml`) and as a duration from the client
//! config's `[http]` section.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenwarden::rules::import_gitleaks;
use tokenwarden::{Engine, EngineOptions, RuleSet};

fn exercise(set: &RuleSet) {
    if let Ok(engine) = Engine::new(set, EngineOptions { now: 1_800_000_000 }) {
        let _ = engine.scan(
            b"token = \"abcdefghijklmnopqrstuvwxyz0123456789\"\n",
            Some(".env"),
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = toml::from_str::<tokenwarden::repo_config::Config>(text);
    let _ = tokenwarden::facilities::client_config::parse_duration(text);
    let mut set = RuleSet::default();
    if set.add_toml("fuzz.toml", text).is_ok() {
        exercise(&set);
    }
    let mut set = RuleSet::default();
    if import_gitleaks(&mut set, "gitleaks.toml", text).is_ok() {
        exercise(&set);
    }
});
