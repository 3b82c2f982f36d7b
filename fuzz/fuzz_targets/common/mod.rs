//! What several targets share.

use std::sync::LazyLock;
use tokenwarden::{Engine, EngineOptions, RuleSet};

/// The engine with every built-in rule, built once per process ("now" fixed, so expiry
/// decisions do not drift during a run).
pub static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let set = RuleSet::builtin().expect("built-in rules load");
    Engine::new(&set, EngineOptions { now: 1_800_000_000 }).expect("built-in rules compile")
});
