//! The rule engine over arbitrary bytes, as a directory scan feeds it: every built-in rule,
//! under a path chosen by the first input byte (so path-specific rules and file rules run).
//! The blob is sniffed and decoded as the sources do (binary skipped, UTF-16 decoded).
//! Checks more than "no panic": each match lies inside the blob and its secret is exactly the
//! bytes it points at, and line bounds always contain the offset they were asked about.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;
use common::ENGINE;
use tokenwarden::engine::line_bounds;
use tokenwarden::sources::text;

const PATHS: &[&str] = &[
    "src/main.rs",
    ".env",
    "deploy/.env.production",
    "home/u/.aws/credentials",
    "home/u/.s3cfg",
    "home/u/.globus/app/c/alcf_facility_api_app/tokens.json",
    "home/u/.local/share/s3m/auth.json",
    "etc/munge/munge.key",
    "var/spool/slurm/statesave/jwt_hs256.key",
    "job.sbatch",
    "notebook.ipynb",
    ".gitlab-ci.yml",
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, blob)) = data.split_first() else {
        return;
    };
    let path = PATHS[sel as usize % PATHS.len()];
    let engine = &*ENGINE;
    // What the sources do first: sniff, and decode UTF-16.
    let Some(blob) = text::scannable(blob) else {
        return;
    };
    let blob = &blob[..];
    for m in engine.scan(blob, Some(path)) {
        assert!(
            m.start <= m.end && m.end <= blob.len(),
            "match outside the blob"
        );
        assert_eq!(
            m.secret.expose(),
            &blob[m.start..m.end],
            "secret is not the matched bytes"
        );
        assert!(m.anchor <= blob.len());
        let (ls, le) = line_bounds(blob, m.start);
        assert!(ls <= m.start && m.start <= le && le <= blob.len());
    }
    for rule in engine.path_matches(path, blob.len() as u64) {
        let _ = engine.file_match(rule, blob);
    }
});
