//! `facilities::s3::list_buckets` against a real S3 server: moto, with SigV4 enforced (every
//! request must be signed by a key its IAM knows), started by `tests/peers/s3-up.sh`. The peer
//! prints an IAM user's permanent keys and AssumeRole temporary keys; a bucket is created with
//! boto3 from the peer's own venv, so the listing has something of ours to find.

mod common;

use common::peers::{PeerEnv, peer, var};
use std::path::PathBuf;
use tokenwarden::facilities::s3::{
    DEFAULT_REGION, S3Credentials, credential_rejected, list_buckets, s3_error_code,
};
use tokenwarden::facilities::{ClientError, Endpoint, Http, HttpOptions, Token};

fn s3() -> PeerEnv {
    peer("s3", &[])
}

fn http() -> Http {
    Http::new(HttpOptions::default()).unwrap()
}

fn endpoint(env: &PeerEnv) -> Endpoint {
    Endpoint::parse(var(env, "S3_ENDPOINT")).unwrap()
}

fn region(env: &PeerEnv) -> String {
    env.get("S3_REGION")
        .cloned()
        .unwrap_or_else(|| DEFAULT_REGION.into())
}

fn permanent(env: &PeerEnv) -> S3Credentials {
    S3Credentials {
        access_key_id: var(env, "S3_ACCESS_KEY_ID").into(),
        secret_access_key: Token::new(var(env, "S3_SECRET_ACCESS_KEY")),
        session_token: None,
    }
}

fn temporary(env: &PeerEnv) -> S3Credentials {
    S3Credentials {
        access_key_id: var(env, "S3_TEMP_ACCESS_KEY_ID").into(),
        secret_access_key: Token::new(var(env, "S3_TEMP_SECRET_ACCESS_KEY")),
        session_token: Some(Token::new(var(env, "S3_TEMP_SESSION_TOKEN"))),
    }
}

/// `s` with its last character changed (same length, same alphabet).
fn tampered(s: &str) -> String {
    let (head, last) = s.split_at(s.len() - 1);
    let swap = if last == "A" { "B" } else { "A" };
    format!("{head}{swap}")
}

/// The peer's python (its venv has boto3).
fn peer_python() -> PathBuf {
    let cache =
        std::env::var("PEER_CACHE").unwrap_or_else(|_| "/var/cache/tokenwarden-peers".into());
    let py = PathBuf::from(cache).join("venv-s3/bin/python");
    assert!(py.exists(), "{} missing: s3-up.sh makes it", py.display());
    py
}

/// Creates `bucket` with boto3, the permanent keys passed in the environment (never argv).
fn create_bucket(env: &PeerEnv, bucket: &str) {
    let script = "import boto3, os\n\
        c = boto3.client('s3', endpoint_url=os.environ['TW_ENDPOINT'], \
        region_name=os.environ['TW_REGION'])\n\
        c.create_bucket(Bucket=os.environ['TW_BUCKET'])\n";
    let out = std::process::Command::new(peer_python())
        .arg("-c")
        .arg(script)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ACCESS_KEY_ID", var(env, "S3_ACCESS_KEY_ID"))
        .env("AWS_SECRET_ACCESS_KEY", var(env, "S3_SECRET_ACCESS_KEY"))
        .env("TW_ENDPOINT", var(env, "S3_ENDPOINT"))
        .env("TW_REGION", region(env))
        .env("TW_BUCKET", bucket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 create_bucket {bucket} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The error's text, checked to hold none of `secrets`.
fn text_without(err: &ClientError, secrets: &[&str]) -> String {
    let text = format!("{err} | {err:?}");
    for s in secrets {
        assert!(!text.contains(s), "a secret leaked into the error: {text}");
    }
    text
}

#[test]
fn permanent_keys_list_the_buckets_they_own() {
    if !common::peers::ready(&[("s3", &[])]) {
        return;
    }
    let env = s3();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let bucket = format!("tw-int-s3-{}-{nanos}", std::process::id());
    create_bucket(&env, &bucket);
    let names = list_buckets(&http(), &endpoint(&env), &region(&env), &permanent(&env))
        .unwrap_or_else(|e| panic!("the peer's own keys were refused: {e}"));
    assert!(names.contains(&bucket), "{bucket} not in {names:?}");
    assert!(
        names.iter().any(|n| n == var(&env, "S3_BUCKET")),
        "the bootstrap bucket is not in {names:?}"
    );
}

#[test]
fn a_tampered_secret_is_signature_does_not_match_and_never_shown() {
    if !common::peers::ready(&[("s3", &[])]) {
        return;
    }
    let env = s3();
    let real = var(&env, "S3_SECRET_ACCESS_KEY");
    let mut creds = permanent(&env);
    let wrong = tampered(real);
    creds.secret_access_key = Token::new(wrong.clone());
    let err = list_buckets(&http(), &endpoint(&env), &region(&env), &creds).unwrap_err();
    let text = text_without(&err, &[real, &wrong]);
    assert_eq!(err.status(), Some(403), "{text}");
    assert_eq!(
        s3_error_code(&err).as_deref(),
        Some("SignatureDoesNotMatch"),
        "{text}"
    );
    assert!(credential_rejected(&err), "{text}");
    assert!(text.contains("secret access key is wrong"), "{text}");
}

#[test]
fn an_unknown_key_id_is_invalid_access_key_id() {
    if !common::peers::ready(&[("s3", &[])]) {
        return;
    }
    let env = s3();
    let mut creds = permanent(&env);
    creds.access_key_id = "AKIAUNKNOWN000000000".into();
    let err = list_buckets(&http(), &endpoint(&env), &region(&env), &creds).unwrap_err();
    let text = text_without(&err, &[var(&env, "S3_SECRET_ACCESS_KEY")]);
    assert_eq!(
        s3_error_code(&err).as_deref(),
        Some("InvalidAccessKeyId"),
        "{text}"
    );
    assert!(credential_rejected(&err), "{text}");
    assert!(text.contains("does not exist"), "{text}");
}

#[test]
fn temporary_keys_work_with_their_session_token_and_not_with_another() {
    if !common::peers::ready(&[("s3", &[])]) {
        return;
    }
    let env = s3();
    let names = list_buckets(&http(), &endpoint(&env), &region(&env), &temporary(&env))
        .unwrap_or_else(|e| panic!("the peer's AssumeRole credentials were refused: {e}"));
    assert!(
        names.iter().any(|n| n == var(&env, "S3_BUCKET")),
        "the bootstrap bucket is not in {names:?}"
    );

    let token = var(&env, "S3_TEMP_SESSION_TOKEN");
    let altered = tampered(token);
    let mut creds = temporary(&env);
    creds.session_token = Some(Token::new(altered.clone()));
    let err = list_buckets(&http(), &endpoint(&env), &region(&env), &creds).unwrap_err();
    let text = text_without(
        &err,
        &[var(&env, "S3_TEMP_SECRET_ACCESS_KEY"), token, &altered],
    );
    assert!(matches!(err, ClientError::Status { .. }), "{text}");
    assert_eq!(
        s3_error_code(&err).as_deref(),
        Some("InvalidToken"),
        "{text}"
    );
    assert!(credential_rejected(&err), "{text}");

    // Without its token a temporary key id is unknown (moto, like AWS: InvalidAccessKeyId).
    let mut creds = temporary(&env);
    creds.session_token = None;
    let err = list_buckets(&http(), &endpoint(&env), &region(&env), &creds).unwrap_err();
    assert!(
        credential_rejected(&err),
        "temporary keys without their token: {err}"
    );
}
