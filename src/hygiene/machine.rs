//! `tokenwarden audit`: what is exposed right now on this machine. Live command lines
//! (`/proc/*/cmdline`, readable by every user) that hold a credential, and the user's token
//! stores: where they are, what they hold and until when, and whether anyone else can read
//! them (mode 0600 files in 0700 directories expected).

use super::{EngineJudge, HygieneFinding};
use crate::engine::Engine;
use crate::rules::Severity;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn finding(
    check: &str,
    severity: Severity,
    path: String,
    message: String,
    fix: String,
) -> HygieneFinding {
    HygieneFinding {
        check: check.into(),
        severity,
        path,
        line: None,
        message,
        fix,
        commit: None,
    }
}

/// User names by uid, from `/etc/passwd` (numeric when unknown).
fn user_names() -> std::collections::HashMap<u32, String> {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, f.first()?.to_string()))
        })
        .collect()
}

/// Processes whose command line holds a credential. `proc_root` is `/proc` (a directory of
/// the same shape in tests). The command is shown with the credential redacted.
pub fn processes(engine: &Engine, proc_root: &Path) -> Vec<HygieneFinding> {
    let judge = EngineJudge(engine);
    let users = user_names();
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return out;
    };
    let me = std::process::id().to_string();
    for entry in dir.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.is_empty() {
            continue;
        }
        // Each argument on its own; only the credential's bytes are redacted.
        let mut any = false;
        let shown: Vec<String> = args
            .iter()
            .map(|a| match judge.redacted(a) {
                Some(r) => {
                    any = true;
                    r
                }
                None => crate::text::printable(a),
            })
            .collect();
        // The environment of the user's own processes (others' are not readable): only
        // root and the user can read it, but every child inherits it.
        if let Ok(env) = std::fs::read(entry.path().join("environ")) {
            let names: Vec<String> = env
                .split(|&b| b == 0)
                .filter_map(|kv| {
                    let kv = String::from_utf8_lossy(kv);
                    let (k, _) = kv.split_once('=')?;
                    // Judged with its name, as a rule's context wants (`SLURM_JWT=…`).
                    (super::cmdline::token_variable(k) && judge.redacted(&kv).is_some())
                        .then(|| k.to_string())
                })
                .collect();
            if !names.is_empty() {
                out.push(finding(
                    "hygiene.token_in_process_environment",
                    Severity::Low,
                    format!("/proc/{pid}/environ"),
                    format!(
                        "process {pid} ({}) holds a credential in its environment ({}): every program it starts inherits it",
                        crate::text::printable(&args[0]),
                        names.join(", ")
                    ),
                    "export credentials only in the shell that needs them, and unset them after; prefer a 0600 file the program reads".into(),
                ));
            }
        }
        if !any {
            continue;
        }
        let uid = std::fs::metadata(entry.path()).map(|m| m.uid()).ok();
        let user = uid
            .map(|u| users.get(&u).cloned().unwrap_or_else(|| u.to_string()))
            .unwrap_or_else(|| "?".into());
        out.push(finding(
            "hygiene.token_in_process_args",
            Severity::High,
            format!("/proc/{pid}/cmdline"),
            format!(
                "process {pid} of user {user} has a credential on its command line, readable by every user of this machine: {}",
                shown.join(" ")
            ),
            "treat the credential as exposed (rotate it if others use this machine); pass it by file or stdin (curl -H @file, --config -) instead".into(),
        ));
    }
    out.sort();
    out
}

/// Token stores under a home directory, as the facilities' tools write them.
fn stores(home: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut walk = |dir: PathBuf, depth: usize, keep: &dyn Fn(&str) -> bool| {
        let mut stack = vec![(dir, 0usize)];
        while let Some((d, n)) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let Ok(ft) = e.file_type() else { continue };
                let p = e.path();
                if ft.is_dir() && n < depth {
                    stack.push((p, n + 1));
                } else if ft.is_file() && keep(&e.file_name().to_string_lossy()) {
                    out.push(p);
                }
            }
        }
    };
    walk(home.join(".globus"), 4, &|n| {
        (n.contains("tokens") && n.ends_with(".json")) || n == "storage.db"
    });
    walk(home.join(".globus_compute"), 1, &|n| n == "storage.db");
    walk(home.join(".config/cray/tokens"), 0, &|_| true);
    walk(home.join(".local/share/s3m"), 0, &|n| n == "auth.json");
    walk(home.to_path_buf(), 0, &|n| {
        (n.starts_with(".iri_token") && n.ends_with(".json"))
            || n == ".globus-native-apps.cfg"
            || n == ".s3cfg"
            || n == ".env"
    });
    walk(home.join(".aws"), 0, &|n| n == "credentials");
    walk(home.join(".ssh"), 0, &|n| {
        n.starts_with("id_") && !n.ends_with(".pub")
    });
    out.sort();
    out.dedup();
    out
}

/// What a token store holds, in a line: token count, earliest expiry.
fn contents(path: &Path, now: i64) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let mut expiries: Vec<i64> = Vec::new();
    let mut refresh = 0;
    let mut tokens = 0;
    // globus-sdk v1/v2 (`expires_at_seconds`, `refresh_token`), s3m-cli and cray (`token`,
    // `access_token` JWTs): walk every object.
    let mut stack = vec![&v];
    while let Some(x) = stack.pop() {
        match x {
            serde_json::Value::Object(m) => {
                if let Some(e) = m.get("expires_at_seconds").and_then(|e| e.as_i64()) {
                    expiries.push(e);
                }
                for k in ["access_token", "token", "id_token"] {
                    if let Some(t) = m.get(k).and_then(|t| t.as_str()) {
                        tokens += 1;
                        if let Some(exp) = crate::engine::jwt::decode(t.as_bytes())
                            .and_then(|j| j.claims.get("exp").and_then(|e| e.as_i64()))
                        {
                            expiries.push(exp);
                        }
                    }
                }
                if m.get("refresh_token").is_some_and(|r| r.is_string()) {
                    refresh += 1;
                }
                stack.extend(m.values());
            }
            serde_json::Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    if tokens == 0 && refresh == 0 {
        return None;
    }
    let mut s = format!("{tokens} access token(s), {refresh} refresh token(s)");
    if let Some(min) = expiries.iter().min() {
        let when = crate::text::format_time(*min);
        if *min <= now {
            s.push_str(&format!("; expired {when}"));
        } else {
            s.push_str(&format!("; the first expires {when}"));
        }
    }
    Some(s)
}

/// The user's token stores: each one listed (`info`), with its expiry and age, and any that
/// other users can read, or whose directory they can enter, as a finding with the fix.
pub fn home(home: &Path) -> Vec<HygieneFinding> {
    let now = crate::rules::template::now_unix();
    let mut out = Vec::new();
    let mut dirs_done = std::collections::BTreeSet::new();
    for p in stores(home) {
        let shown = p.display().to_string();
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        let age_days = (now - meta.mtime()).max(0) / 86400;
        let held = contents(&p, now).unwrap_or_else(|| "credentials".into());
        out.push(finding(
            "hygiene.token_store",
            Severity::Info,
            shown.clone(),
            format!("token store: {held}; mode {mode:03o}; last written {age_days} day(s) ago"),
            "nothing to do if you use it; delete it (and revoke its tokens) if you do not".into(),
        ));
        if mode & 0o077 != 0 {
            let world = mode & 0o007 != 0;
            out.push(finding(
                "hygiene.token_store_permissions",
                if world {
                    Severity::High
                } else {
                    Severity::Medium
                },
                shown.clone(),
                format!(
                    "{shown} is mode {mode:03o}: {} can read the credentials in it",
                    if world {
                        "every user"
                    } else {
                        "the file's group"
                    }
                ),
                format!("chmod 600 '{shown}'"),
            ));
        }
        let Some(dir) = p.parent() else { continue };
        if dir == home || !dirs_done.insert(dir.to_path_buf()) {
            continue;
        }
        if let Ok(dm) = std::fs::metadata(dir) {
            let dmode = dm.permissions().mode() & 0o777;
            if dmode & 0o077 != 0 {
                let d = dir.display().to_string();
                out.push(finding(
                    "hygiene.token_store_permissions",
                    if dmode & 0o007 != 0 {
                        Severity::Medium
                    } else {
                        Severity::Low
                    },
                    d.clone(),
                    format!("{d}, which holds token stores, is mode {dmode:03o}: others can list it and see which stores exist"),
                    format!("chmod 700 '{d}'"),
                ));
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(p: &Path, content: &str, mode: u32) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn token_stores_are_listed_and_loose_permissions_are_findings() {
        let h = tempfile::tempdir().unwrap();
        let home = h.path();
        let globus = home.join(".globus/app/c1/alcf_facility_api_app/tokens.json");
        write(
            &globus,
            &serde_json::json!({"data": {"DEFAULT": {"auth.globus.org": {
                "access_token": "AgAAAAAAAAAAAAAA", "refresh_token": "AgBBBBBBBB",
                "expires_at_seconds": 1_000}}}, "format_version": "2.0"})
            .to_string(),
            0o644,
        );
        std::fs::set_permissions(
            globus.parent().unwrap(),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        write(&home.join(".local/share/s3m/auth.json"), "{}", 0o600);
        std::fs::set_permissions(
            home.join(".local/share/s3m"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        write(&home.join(".ssh/id_ed25519.pub"), "ssh-ed25519 AAAA", 0o644);
        let f = super::home(home);
        let by = |check: &str| -> Vec<&HygieneFinding> {
            f.iter().filter(|x| x.check == check).collect()
        };
        assert_eq!(by("hygiene.token_store").len(), 2, "{f:#?}");
        let g = by("hygiene.token_store")
            .into_iter()
            .find(|x| x.path.ends_with("tokens.json"))
            .unwrap();
        assert!(
            g.message
                .contains("1 access token(s), 1 refresh token(s); expired 1970-01-01T00:16:40Z"),
            "{}",
            g.message
        );
        let perms = by("hygiene.token_store_permissions");
        assert_eq!(perms.len(), 2, "{perms:#?}");
        assert!(
            perms
                .iter()
                .any(|x| x.severity == Severity::High && x.fix.starts_with("chmod 600"))
        );
        assert!(perms.iter().any(|x| x.fix.starts_with("chmod 700")));
        // The token values are never in a finding.
        assert!(!format!("{f:?}").contains("AgAAAAAAAAAAAAAA"));
    }
}
