//! Real servers for the client tests, started by the project's own scripts in `tests/peers/`.
//!
//! A test that needs a peer calls [`peer`]: the `*-up.sh` script is idempotent (a warm start
//! takes about a second; a first start installs what it needs), and its `KEY=value` output is
//! the peer's address and test credentials. A peer that cannot start fails the test — it is
//! never skipped, because a skipped test cannot fail. Peers stay up after the tests (the next
//! test binary reuses them); `tests/peers/down.sh` stops every one by PID.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// A started peer's environment (`SLURM_REST_URL`, `OIDC_ISSUER`, …).
pub type PeerEnv = HashMap<String, String>;

fn started() -> &'static Mutex<HashMap<String, PeerEnv>> {
    static STARTED: OnceLock<Mutex<HashMap<String, PeerEnv>>> = OnceLock::new();
    STARTED.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The project's peer scripts.
pub fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// Starts `tests/peers/<name>-up.sh <args>` once per test binary and returns its environment.
pub fn peer(name: &str, args: &[&str]) -> PeerEnv {
    let key = format!("{name} {}", args.join(" "));
    // Held across the start: two tests must not run the same up-script at once.
    let mut map = started().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = map.get(&key) {
        return env.clone();
    }
    let script = peers_dir().join(format!("{name}-up.sh"));
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} {} failed ({}):\n{}",
        script.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let env: PeerEnv = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(v);
            (!k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then(|| (k.to_string(), v.to_string()))
        })
        .collect();
    map.insert(key, env.clone());
    env
}

/// One variable of a peer's environment, or a clear failure.
pub fn var<'a>(env: &'a PeerEnv, name: &str) -> &'a str {
    env.get(name)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("the peer did not export {name}: {:?}", env.keys()))
}
