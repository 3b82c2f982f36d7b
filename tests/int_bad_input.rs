//! The bad-input matrix: every odd input gets a clear message (or a quiet, counted skip) and
//! the scan goes on; nothing panics; exit code 2 only when nothing could be scanned.

mod common;
use common::*;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

fn slurm_line() -> String {
    mint(r#"SLURM_JWT={{jwt {"exp":"@now+600","sun":"alice"}}}"#)
}

/// A small binary's printable strings are scanned (an executable or a data file built with
/// a token in it leaks it as surely as a script); a binary over 1 MiB (media, archives,
/// large executables) is skipped and counted.
#[test]
fn small_binaries_are_scanned_for_strings_and_large_ones_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    // An executable's start: a header and mostly NULs, then a token among the data.
    let mut bin = b"\x7fELF\x02\x01\x01".to_vec();
    bin.extend(std::iter::repeat_n(0u8, 2000));
    bin.extend_from_slice(slurm_line().as_bytes());
    write(dir.path(), "a.out", &bin);
    // Compressed or random data: every byte value, no text shape at all.
    let mut noise: Vec<u8> = (0..=255u8).cycle().take(8192).collect();
    noise.extend_from_slice(slurm_line().as_bytes());
    write(dir.path(), "data.gz", noise);
    // The same executable padded past the limit.
    let mut big = b"\x7fELF\x02\x01\x01".to_vec();
    big.extend(std::iter::repeat_n(0u8, 1 << 20));
    big.extend_from_slice(slurm_line().as_bytes());
    write(dir.path(), "big.out", big);
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(r["stats"]["binary_skipped"], 1);
    assert_eq!(r["stats"]["files_scanned"], 2);
    let mut paths: Vec<&str> = findings(&r)
        .iter()
        .map(|f| f["locations"][0]["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(paths, ["a.out", "data.gz"], "{r:#}");
}

/// NUL bytes do not hide a token in text: a saved `/proc/<pid>/environ`, `-print0` output
/// and a log with a stray NUL are scanned; so is UTF-16 text, with or without a byte-order
/// mark, in either byte order, at the line an editor shows.
#[test]
fn nul_separated_and_utf16_text_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let tok = slurm_line();
    write(
        dir.path(),
        "environ",
        format!("HOME=/home/u\0PATH=/usr/bin\0{tok}\0SHELL=/bin/bash\0"),
    );
    write(dir.path(), "files.lst", format!("a.txt\0b.txt\0{tok}\0"));
    write(dir.path(), "run.log", format!("start\n\0\n{tok}\nend\n"));
    let text = format!("# written by PowerShell\r\n{tok}\r\n");
    let utf16 = |big_endian: bool, bom: bool| -> Vec<u8> {
        let bom = bom.then_some(0xFEFFu16);
        bom.into_iter()
            .chain(text.encode_utf16())
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    };
    write(dir.path(), "le-bom.txt", utf16(false, true));
    write(dir.path(), "be-bom.txt", utf16(true, true));
    write(dir.path(), "le.txt", utf16(false, false));
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(r["stats"]["binary_skipped"], 0);
    let mut at: Vec<(String, u64, u64)> = finding(&r, "slurm.jwt")["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            )
        })
        .collect();
    at.sort();
    assert_eq!(
        at,
        vec![
            ("be-bom.txt".into(), 2, 11),
            ("environ".into(), 1, 38),
            ("files.lst".into(), 1, 23),
            ("le-bom.txt".into(), 2, 11),
            ("le.txt".into(), 2, 11),
            ("run.log".into(), 3, 11),
        ]
    );
}

#[test]
fn a_two_gigabyte_sparse_file_does_not_stall_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join("disk.img")).unwrap();
    f.set_len(2 << 30).unwrap();
    write(dir.path(), "job.sh", slurm_line());
    let out = tw()
        .arg("scan")
        .arg(dir.path())
        .args(["--format", "json"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["stats"]["binary_skipped"], 1);
    assert_eq!(rule_ids(&r), vec!["slurm.jwt"]);
}

#[test]
fn large_files_are_scanned_in_chunks_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let token_line = slurm_line();
    let path = dir.path().join("big.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let filler = "2026-11-22T10:00:00Z INFO nothing interesting happened here at all\n"; // 68 bytes
    let mut written = 0usize;
    let mut line = 0u64;
    let mut secret_lines = Vec::new();
    // One secret straddling the 16 MiB chunk boundary, one near the end (~33 MB in total).
    let boundary = 16usize << 20;
    while written < 33_000_000 {
        if secret_lines.is_empty() && written + 68 > boundary - 20
            || secret_lines.len() == 1 && written > 32_900_000
        {
            let l = format!("{token_line}\n");
            f.write_all(l.as_bytes()).unwrap();
            written += l.len();
            line += 1;
            secret_lines.push(line);
        }
        f.write_all(filler.as_bytes()).unwrap();
        written += filler.len();
        line += 1;
    }
    f.flush().unwrap();
    drop(f);
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(r["stats"]["chunked_files"], 1);
    let f = finding(&r, "slurm.jwt");
    let lines: Vec<u64> = f["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, secret_lines);
    // With a size limit the file is skipped, and the report says so.
    let out = tw()
        .arg("scan")
        .arg(dir.path())
        .args(["--max-file-size", "1M"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("big.log: not scanned"));
}

#[test]
fn invalid_utf8_crlf_and_very_long_lines() {
    let dir = tempfile::tempdir().unwrap();
    let tok = slurm_line();
    let mut bad = vec![0xff, 0xfe, b'\n', 0xc3];
    bad.extend_from_slice(tok.as_bytes());
    bad.extend_from_slice(&[0x80, 0xff, b'\n']);
    write(dir.path(), "latin1.txt", bad);
    write(
        dir.path(),
        "crlf.env",
        format!(
            "A=1\r\nB=2\r\n{}\r\n",
            mint("PALMETTO_API_KEY={{alnum 40}}")
        ),
    );
    let mut long = "x".repeat(5_000_000);
    long.push(' ');
    long.push_str(&mint("S3M_TOKEN={{b64url 60}}"));
    write(dir.path(), "long.txt", long);
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(
        rule_ids(&r),
        vec!["palmetto.api_key", "s3m.token_env", "slurm.jwt"]
    );
    let loc = |rule: &str| finding(&r, rule)["locations"][0].clone();
    assert_eq!(
        (
            loc("slurm.jwt")["line"].as_u64(),
            loc("slurm.jwt")["column"].as_u64()
        ),
        (Some(2), Some(12))
    );
    let crlf = loc("palmetto.api_key");
    assert_eq!(
        (crlf["line"].as_u64(), crlf["column"].as_u64()),
        (Some(3), Some(18))
    );
    assert_eq!(
        crlf["end_column"].as_u64(),
        Some(58),
        "the secret stops before \\r"
    );
    assert_eq!(loc("s3m.token_env")["column"].as_u64(), Some(5_000_012));
}

/// A tree with a readable `readable.env` (a Slurm JWT), a mode-000 `secret.env` (a Palmetto
/// key) and a mode-000 directory `locked/`. Give `locked` back 0755 before the tree is dropped.
fn tree_with_unreadable_parts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    write(
        dir.path(),
        "secret.env",
        mint("PALMETTO_API_KEY={{alnum 40}}\n"),
    );
    write(dir.path(), "readable.env", slurm_line());
    write(dir.path(), "locked/inner.env", slurm_line());
    for (name, mode) in [
        ("readable.env", 0o644),
        ("secret.env", 0o000),
        ("locked", 0o000),
    ] {
        std::fs::set_permissions(dir.path().join(name), std::fs::Permissions::from_mode(mode))
            .unwrap();
    }
    dir
}

#[test]
fn unreadable_files_and_directories_warn_and_the_scan_goes_on() {
    let dir = tree_with_unreadable_parts();
    // Root reads everything, so drop to `nobody` to make the permissions bite.
    let out = tw_unprivileged()
        .arg("scan")
        .arg(dir.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rule_ids(&r),
        vec!["slurm.jwt"],
        "the readable file is still scanned"
    );
    assert!(stderr.contains("secret.env: cannot open"), "{stderr}");
    assert!(stderr.contains("locked"), "{stderr}");
    assert_eq!(r["warnings"].as_array().unwrap().len(), 2, "{r:#}");
    std::fs::set_permissions(
        dir.path().join("locked"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

#[test]
fn an_unreadable_path_named_on_the_command_line_fails_and_walk_failures_are_counted() {
    let dir = tree_with_unreadable_parts();
    // A file or a directory named on the command line that cannot be read: exit 2, said once.
    for named in ["secret.env", "locked"] {
        let out = tw_unprivileged()
            .arg("scan")
            .arg(dir.path().join(named))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{named}: {err}");
        assert!(err.contains("Permission denied"), "{named}: {err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("no findings"));
    }
    // Met during a walk: warnings, counted in the summary; the flag makes them fail the run.
    let out = tw_unprivileged()
        .arg("scan")
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("2 file(s) or director(ies) could not be read"),
        "{text}"
    );
    let out = tw_unprivileged()
        .arg("scan")
        .arg(dir.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"]["unreadable"], 2, "{v:#}");
    let out = tw_unprivileged()
        .arg("scan")
        .arg(dir.path())
        .arg("--fail-on-unreadable")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    std::fs::set_permissions(
        dir.path().join("locked"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

#[test]
fn symlinks_are_not_followed_by_default_and_loops_are_reported() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "real.env", slurm_line());
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/clean.txt", "ok\n");
    std::os::unix::fs::symlink(outside.path().join("real.env"), dir.path().join("link.env"))
        .unwrap();
    std::os::unix::fs::symlink(dir.path().join("a"), dir.path().join("a/back")).unwrap();
    let (code, r) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(r["stats"]["symlinks_skipped"], 2);
    assert!(r["warnings"].as_array().unwrap().is_empty());
    let (code, r) = scan_json(dir.path(), &["--follow"]);
    assert_eq!(code, 1);
    assert_eq!(rule_ids(&r), vec!["slurm.jwt"]);
    let warnings = r["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0]["message"].as_str().unwrap().contains("loop"));
}

#[test]
fn odd_file_names_fifos_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let tok = slurm_line();
    write(dir.path(), "-rf", &tok);
    write(dir.path(), "new\nline.env", &tok);
    write(dir.path(), "ünï cödé 🔑.env", &tok);
    let raw = std::ffi::OsStr::from_bytes(b"bad-\xff\xfe.env");
    std::fs::write(dir.path().join(raw), &tok).unwrap();
    write(dir.path(), "empty", "");
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let out = tw()
        .arg("scan")
        .arg(dir.path())
        .args(["--format", "json"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut paths: Vec<String> = finding(&r, "slurm.jwt")["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "-rf",
            "bad-\u{fffd}\u{fffd}.env",
            "new\nline.env",
            "ünï cödé 🔑.env"
        ]
    );
    // The text report must not let a newline in a file name forge a line.
    let out = tw().arg("scan").arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.lines().any(|l| l.starts_with("line.env")), "{text}");
}

/// 100,000 tiny files: every one is read, the token among them is found, nothing is lost.
#[test]
fn a_hundred_thousand_tiny_files() {
    let dir = tempfile::tempdir().unwrap();
    for d in 0..100 {
        let sub = dir.path().join(format!("d{d:03}"));
        std::fs::create_dir(&sub).unwrap();
        for f in 0..1000 {
            std::fs::write(sub.join(format!("f{f:04}.txt")), b"x\n").unwrap();
        }
    }
    write(dir.path(), "d050/secret.txt", slurm_line());
    let (code, rep) = scan_json(dir.path(), &["--no-hygiene"]);
    assert_eq!(code, 1);
    assert_eq!(rep["stats"]["files_scanned"], 100_001, "{:#}", rep["stats"]);
    assert_eq!(findings(&rep).len(), 1);
    assert_eq!(findings(&rep)[0]["locations"][0]["path"], "d050/secret.txt");
}
