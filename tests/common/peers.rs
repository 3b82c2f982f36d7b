//! Real servers for the client tests, started by the project's own scripts in `tests/peers/`.
//!
//! A test that needs a peer is named `peer_*` (or lives in a `peer_*.rs` file) and starts with
//! [`ready`], naming the peers it needs; helpers then call [`peer`]: the `*-up.sh` script is
//! idempotent (a warm start takes about a second; a first start installs what it needs), and
//! its `KEY=value` output is the peer's address and test credentials. Peers stay up after the
//! tests (the next test binary reuses them); `tests/peers/down.sh` stops every one by PID.
//!
//! In CI (`CI` set; `.ci/run` sets it) a peer that cannot start fails the test: CI never skips,
//! because a skipped test cannot fail. Elsewhere — a contributor's laptop, without root or
//! without the peers' packages — `cargo test` means "everything that can run here": the test
//! says in one line that it skipped and how to run it, and returns.

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

/// Whether this run is CI's, where nothing is skipped.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Says, past the test harness's output capture (so a plain `cargo test` shows it), that the
/// running test skipped and why.
pub fn say_skipped(why: &str) {
    use std::io::Write as _;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: {why}; it runs as root on Debian 12 with the peers' packages \
         (tests/peers/README.md), and never skips with CI=true"
    );
}

/// Starts the peers a test needs, each `(name, args)` as [`peer`] takes them. True when they
/// run. Outside CI, false after [`say_skipped`] when this machine cannot run them (not root,
/// or an up-script failed, say for want of its packages); in CI a peer that cannot start fails
/// the test.
pub fn ready(peers: &[(&str, &[&str])]) -> bool {
    if in_ci() {
        for (name, args) in peers {
            peer(name, args);
        }
        return true;
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let names: Vec<String> = peers
        .iter()
        .map(|(n, a)| format!("{n} {}", a.join(" ")).trim().to_string())
        .collect();
    if !root {
        say_skipped(&format!(
            "needs the {} peer(s), which need root",
            names.join(", ")
        ));
        return false;
    }
    for (name, args) in peers {
        if let Err(why) = try_peer(name, args) {
            let last = why
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            say_skipped(&format!("the {name} peer did not start ({})", last.trim()));
            return false;
        }
    }
    true
}

/// Starts `tests/peers/<name>-up.sh <args>` once per test binary and returns its environment;
/// a peer that cannot start fails the test.
pub fn peer(name: &str, args: &[&str]) -> PeerEnv {
    try_peer(name, args).unwrap_or_else(|why| panic!("{why}"))
}

/// [`peer`], with the reason it could not start as an error.
pub fn try_peer(name: &str, args: &[&str]) -> Result<PeerEnv, String> {
    let key = format!("{name} {}", args.join(" "));
    // Held across the start: two tests must not run the same up-script at once.
    let mut map = started().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = map.get(&key) {
        return Ok(env.clone());
    }
    let script = peers_dir().join(format!("{name}-up.sh"));
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} failed ({}):\n{}",
            script.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
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
    Ok(env)
}

/// One variable of a peer's environment, or a clear failure.
pub fn var<'a>(env: &'a PeerEnv, name: &str) -> &'a str {
    env.get(name)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("the peer did not export {name}: {:?}", env.keys()))
}
