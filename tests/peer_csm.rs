//! `tokenwarden csm …` against real servers: Keycloak-like OIDC (`oidc-provider` with a real
//! password grant, realm `shasta`, public client `shasta`) and moto with SigV4 enforced behind
//! a CSM STS stand-in that introspects the bearer and returns real AssumeRole credentials.
//! The proof that the written profile works is a real, signed S3 request (boto3 from the
//! peer's own venv) that moto accepts — and rejects once the secret is tampered with.

mod common;
use common::assert_success;

use common::peers::{PeerEnv, peer, var};
use common::tw;
use std::path::{Path, PathBuf};

struct Peers {
    gateway: String,
    keycloak: String,
    oidc: PeerEnv,
    s3: PeerEnv,
}

fn peers() -> Peers {
    let oidc = peer("oidc", &["keycloak"]);
    let s3 = peer("s3", &["--with-csm-sts"]);
    let gateway = var(&s3, "CSM_STS_URL")
        .strip_suffix("/apis/sts/token")
        .expect("CSM_STS_URL ends in /apis/sts/token")
        .to_string();
    let keycloak = var(&oidc, "OIDC_ISSUER")
        .strip_suffix("/realms/shasta")
        .expect("issuer is <base>/realms/shasta")
        .to_string();
    Peers {
        gateway,
        keycloak,
        oidc,
        s3,
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `tokenwarden csm --url <gw> --keycloak <kc> -u alice <args>` with `stdin`, no user config.
/// Checks that none of `secrets` shows on either stream.
fn csm(p: &Peers, args: &[&str], stdin: &str, secrets: &[&str]) -> Run {
    let out = tw()
        .env("TOKENWARDEN_CONFIG", "/nonexistent/tokenwarden.toml")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .args([
            "csm",
            "--url",
            &p.gateway,
            "--keycloak",
            &p.keycloak,
            "-u",
            var(&p.oidc, "OIDC_USER"),
        ])
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for s in secrets {
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "a secret was printed:\nstdout:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

fn password(p: &Peers) -> String {
    format!("{}\n", var(&p.oidc, "OIDC_PASSWORD"))
}

fn ini_value(text: &str, profile: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with('[') {
            inside = t == format!("[{profile}]");
        } else if inside
            && let Some((k, v)) = t.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().to_string());
        }
    }
    None
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The peer's python (its venv has boto3).
fn peer_python() -> PathBuf {
    let cache =
        std::env::var("PEER_CACHE").unwrap_or_else(|_| "/var/cache/tokenwarden-peers".into());
    let py = PathBuf::from(cache).join("venv-s3/bin/python");
    assert!(py.exists(), "{} missing: s3-up.sh makes it", py.display());
    py
}

/// ListBuckets with boto3, credentials from `profile` in `creds_file` (never argv).
fn list_buckets(p: &Peers, creds_file: &Path, profile: &str) -> (bool, String) {
    let script = "import boto3, os, sys\n\
        s = boto3.Session(profile_name=os.environ['TW_PROFILE'])\n\
        c = s.client('s3', endpoint_url=os.environ['TW_ENDPOINT'], region_name=os.environ['TW_REGION'])\n\
        try:\n    print(' '.join(b['Name'] for b in c.list_buckets()['Buckets']))\n\
        except Exception as e:\n    print('ERROR', getattr(e, 'response', {}).get('Error', {}).get('Code', ''), e)\n    sys.exit(1)\n";
    let out = std::process::Command::new(peer_python())
        .arg("-c")
        .arg(script)
        .env("AWS_SHARED_CREDENTIALS_FILE", creds_file)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("TW_PROFILE", profile)
        .env("TW_ENDPOINT", var(&p.s3, "S3_ENDPOINT"))
        .env("TW_REGION", var(&p.s3, "S3_REGION"))
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn sts_writes_a_working_private_profile_and_keeps_the_others() {
    if !common::peers::ready(&[("oidc", &["keycloak"]), ("s3", &["--with-csm-sts"])]) {
        return;
    }
    let p = peers();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        "# my keys\n[default]\naws_access_key_id = AKIAKEEPME\naws_secret_access_key = keep-me-secret\n\n\
         [csm-test]\naws_access_key_id = STALE\naws_secret_access_key = stale-secret\n\n\
         [other]\naws_access_key_id = AKIAOTHER\n",
    )
    .unwrap();
    let pw = var(&p.oidc, "OIDC_PASSWORD");
    let r = csm(
        &p,
        &[
            "--password-from",
            "stdin",
            "sts",
            "--output",
            file.to_str().unwrap(),
            "--profile",
            "csm-test",
        ],
        &password(&p),
        &[pw],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    // The user's other profiles and comments survive; the stale one is replaced, once.
    assert!(text.starts_with("# my keys\n[default]\n"), "{text}");
    assert_eq!(
        ini_value(&text, "default", "aws_secret_access_key").as_deref(),
        Some("keep-me-secret")
    );
    assert_eq!(
        ini_value(&text, "other", "aws_access_key_id").as_deref(),
        Some("AKIAOTHER")
    );
    assert_eq!(text.matches("[csm-test]").count(), 1);
    assert!(!text.contains("stale-secret"));
    let secret = ini_value(&text, "csm-test", "aws_secret_access_key").unwrap();
    let session = ini_value(&text, "csm-test", "aws_session_token").unwrap();
    let key_id = ini_value(&text, "csm-test", "aws_access_key_id").unwrap();
    // The secrets are in the file only: not on screen.
    for s in [&secret, &session] {
        assert!(!r.stdout.contains(s.as_str()) && !r.stderr.contains(s.as_str()));
    }
    assert!(r.stdout.contains(&key_id), "{}", r.stdout);
    assert!(r.stdout.contains("expires"), "{}", r.stdout);
    assert!(r.stderr.contains("365 days"), "{}", r.stderr);

    // A real signed S3 request with the profile works...
    let (ok, said) = list_buckets(&p, &file, "csm-test");
    assert!(ok, "{said}");
    assert!(said.contains(var(&p.s3, "S3_BUCKET")), "{said}");
    // ...and with one character of the secret changed, it does not.
    let last = secret.chars().last().unwrap();
    let swapped = if last == 'A' { 'B' } else { 'A' };
    let tampered_secret = format!("{}{swapped}", &secret[..secret.len() - 1]);
    let tampered = dir.path().join("tampered");
    std::fs::write(
        &tampered,
        format!(
            "[csm-test]\naws_access_key_id = {key_id}\naws_secret_access_key = {tampered_secret}\naws_session_token = {session}\n"
        ),
    )
    .unwrap();
    let (ok, said) = list_buckets(&p, &tampered, "csm-test");
    assert!(!ok, "{said}");
    assert!(
        said.contains("SignatureDoesNotMatch") || said.contains("403"),
        "{said}"
    );
}

#[test]
fn env_and_json_forms_and_the_cray_token_store() {
    if !common::peers::ready(&[("oidc", &["keycloak"]), ("s3", &["--with-csm-sts"])]) {
        return;
    }
    let p = peers();
    let pw = var(&p.oidc, "OIDC_PASSWORD");
    let dir = tempfile::tempdir().unwrap();
    let envf = dir.path().join("sts.env");
    let r = csm(
        &p,
        &[
            "--password-from",
            "stdin",
            "sts",
            "--format",
            "env",
            "-o",
            envf.to_str().unwrap(),
        ],
        &password(&p),
        &[pw],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(mode(&envf), 0o600);
    let text = std::fs::read_to_string(&envf).unwrap();
    for k in [
        "AWS_ACCESS_KEY_ID=",
        "AWS_SECRET_ACCESS_KEY=",
        "AWS_SESSION_TOKEN=",
    ] {
        assert!(text.contains(k), "{text}");
    }
    assert!(
        text.contains(&format!("AWS_ENDPOINT_URL={}\n", var(&p.s3, "S3_ENDPOINT"))),
        "{text}"
    );
    let jsonf = dir.path().join("sub/sts.json");
    let r = csm(
        &p,
        &[
            "--password-from",
            "stdin",
            "sts",
            "--format",
            "json",
            "-o",
            jsonf.to_str().unwrap(),
            "--json",
        ],
        &password(&p),
        &[pw],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(mode(&jsonf), 0o600);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&jsonf).unwrap()).unwrap();
    assert_eq!(v["Version"], 1);
    let secret = v["SecretAccessKey"].as_str().unwrap();
    assert!(!r.stdout.contains(secret), "{}", r.stdout);
    let summary: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(summary["AccessKeyId"], v["AccessKeyId"]);
    // env and json refuse to guess a file.
    let r = csm(
        &p,
        &["--password-from", "stdin", "sts", "--format", "env"],
        &password(&p),
        &[pw],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);

    // `csm token`: the Cray CLI's token file, 0600 in a 0700 directory.
    let store = dir.path().join("cray/tokens");
    let r = csm(
        &p,
        &[
            "--password-from",
            "stdin",
            "token",
            "--store",
            store.to_str().unwrap(),
        ],
        &password(&p),
        &[pw],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = store.join("127_0_0_1.alice");
    assert_eq!(mode(&f), 0o600);
    assert_eq!(mode(&store), 0o700);
    let tok: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    let access = tok["access_token"].as_str().unwrap();
    assert!(!r.stdout.contains(access) && !r.stderr.contains(access));
}

#[test]
fn a_wrong_password_is_a_clear_401() {
    if !common::peers::ready(&[("oidc", &["keycloak"]), ("s3", &["--with-csm-sts"])]) {
        return;
    }
    let p = peers();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let r = csm(
        &p,
        &[
            "--password-from",
            "stdin",
            "sts",
            "-o",
            file.to_str().unwrap(),
        ],
        "not-alices-password\n",
        &["not-alices-password"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 401"), "{}", r.stderr);
    assert!(
        r.stderr.contains("wrong user name or password"),
        "{}",
        r.stderr
    );
    assert!(!file.exists());
}

#[test]
fn the_password_from_an_env_var_never_touches_argv() {
    if !common::peers::ready(&[("oidc", &["keycloak"]), ("s3", &["--with-csm-sts"])]) {
        return;
    }
    let p = peers();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let pw = var(&p.oidc, "OIDC_PASSWORD");
    let out = tw()
        .env("TOKENWARDEN_CONFIG", "/nonexistent/tokenwarden.toml")
        .env("TW_CSM_PW", pw)
        .args([
            "csm",
            "--url",
            &p.gateway,
            "--keycloak",
            &p.keycloak,
            "-u",
            "alice",
        ])
        .args([
            "--password-from",
            "env:TW_CSM_PW",
            "sts",
            "-o",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(pw));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(pw));
    assert_eq!(mode(&file), 0o600);
}

#[test]
fn a_bogus_or_revoked_bearer_gets_401_advice_from_the_sts() {
    if !common::peers::ready(&[("oidc", &["keycloak"]), ("s3", &["--with-csm-sts"])]) {
        return;
    }
    let p = peers();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let run_with = |token: &str| {
        let out = tw()
            .env("TOKENWARDEN_CONFIG", "/nonexistent/tokenwarden.toml")
            .env("TW_CSM_TOKEN", token)
            .args([
                "csm",
                "--url",
                &p.gateway,
                "--token-from",
                "env:TW_CSM_TOKEN",
                "sts",
            ])
            .args(["-o", file.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains(token) && !String::from_utf8_lossy(&out.stdout).contains(token));
        (out.status.code(), stderr)
    };
    let (code, stderr) = run_with("not-a-keycloak-token-at-all");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("HTTP 401") && stderr.contains("log in again"),
        "{stderr}"
    );

    // A real token, then revoked at Keycloak (RFC 7009): the STS refuses it.
    let http = reqwest::blocking::Client::new();
    let v: serde_json::Value = http
        .post(var(&p.oidc, "OIDC_TOKEN_ENDPOINT"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "shasta"),
            ("username", var(&p.oidc, "OIDC_USER")),
            ("password", var(&p.oidc, "OIDC_PASSWORD")),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let access = v["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let st = http
        .post(var(&p.oidc, "OIDC_REVOCATION_ENDPOINT"))
        .form(&[("token", access.as_str()), ("client_id", "shasta")])
        .send()
        .unwrap()
        .status();
    assert!(st.is_success(), "revoke: {st}");
    let (code, stderr) = run_with(&access);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(!file.exists());
}
