//! Globus native-app login, refresh and logout against a real OAuth2 server: the `oidc` peer
//! (npm oidc-provider with Globus Auth's routes, tests/peers/oidc-up.sh globus). The test plays
//! the user's browser (a cookie-keeping client that follows the login form) and feeds the
//! authorization code to `tokenwarden login` on standard input, as a user pastes it.

mod common;

use common::oidc::{Oidc, code_of, oidc};
use common::tw;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use tokenwarden::facilities::globus::{self, GlobusApp, Pkce, TokenFile};
use tokenwarden::facilities::{Http, Token};

const RS: &str = globus::ALCF_IRI_RESOURCE_SERVER;

/// `tokenwarden login alcf` aimed at the peer, with a private HOME.
fn login_cmd(o: &Oidc, home: &Path, extra: &[&str]) -> Command {
    let bin = tw().get_program().to_owned();
    let mut c = Command::new(bin);
    c.env("HOME", home)
        .env("TOKENWARDEN_CONFIG", home.join("none.toml"))
        .args(["login", "alcf", "--auth-url", &o.issuer])
        .args([
            "--client-id",
            "native-cli",
            "--scope",
            "openid offline_access",
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Reads the child's stderr until the authorize URL; returns it and the rest of stderr's lines.
fn authorize_url_from(child: &mut Child) -> (String, BufReader<std::process::ChildStderr>) {
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            panic!("login printed no URL:\n{seen}");
        }
        seen.push_str(&line);
        if line.starts_with("http") {
            return (line.trim().to_string(), err);
        }
    }
}

fn token_path(home: &Path) -> PathBuf {
    home.join(".globus/app/native-cli/alcf_tokens/tokens.json")
}

/// Logs in through the CLI (pasted code) and returns the stored record.
fn cli_login(o: &Oidc, home: &Path) -> globus::TokenRecord {
    let mut child = login_cmd(o, home, &["--redirect-uri", "http://127.0.0.1:9/callback"])
        .spawn()
        .unwrap();
    let (url, mut rest) = authorize_url_from(&mut child);
    let q: HashMap<String, String> = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["session_required_policies"], globus::ALCF_SESSION_POLICY);
    let cb = o.browser_login(&url, "alice-pw").unwrap();
    let code = code_of(&cb);
    // The code is pasted on stdin, never given as an argument.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{code}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(rest.get_mut(), &mut err).unwrap();
    assert!(out.status.success(), "login failed:\n{err}");
    assert!(err.contains("logged in"), "{err}");
    let file = TokenFile::load(&token_path(home)).unwrap().unwrap();
    let rec = file.get(RS).unwrap();
    assert!(!err.contains(rec.access_token.expose()), "{err}");
    assert!(
        !err.contains(rec.refresh_token.as_ref().unwrap().expose()),
        "{err}"
    );
    rec
}

#[test]
fn peer_login_stores_v2_tokens_0600_then_refresh_rotates_and_logout_revokes() {
    if !common::peers::ready(&[("oidc", &["globus"])]) {
        return;
    }
    let o = oidc();
    let home = tempfile::tempdir().unwrap();
    let rec = cli_login(&o, home.path());
    let path = token_path(home.path());

    // The file: mode 0600 in a 0700 directory, globus-sdk's v2 format.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["format_version"], "2.0");
    assert!(doc["globus-sdk.version"].is_string());
    let entry = &doc["data"]["DEFAULT"][RS];
    for k in [
        "resource_server",
        "identity_id",
        "scope",
        "access_token",
        "refresh_token",
        "expires_at_seconds",
        "token_type",
    ] {
        assert!(entry.get(k).is_some(), "{k} missing: {doc:#}");
    }
    assert_eq!(entry["identity_id"], "alice", "from the id_token's sub");
    assert_eq!(entry["token_type"], "Bearer");
    assert!(rec.seconds_left() > 60);
    assert!(o.active(rec.access_token.expose()));
    let first_refresh = rec.refresh_token.clone().unwrap();

    // Forced expiry: the library refreshes on read and saves the rotated refresh token.
    let mut f = TokenFile::load(&path).unwrap().unwrap();
    let mut expired = rec.clone();
    expired.expires_at_seconds = 1_000;
    f.set(&expired);
    f.save().unwrap();
    let app = GlobusApp {
        app_name: "alcf_tokens".into(),
        ..o.app()
    };
    let http = Http::new(Default::default()).unwrap();
    let (fresh, from) = globus::stored_access_token(&http, &app, std::slice::from_ref(&path))
        .unwrap()
        .unwrap();
    assert_eq!(from, path);
    assert_ne!(fresh.expose(), rec.access_token.expose());
    let after = TokenFile::load(&path).unwrap().unwrap().get(RS).unwrap();
    assert_eq!(after.access_token.expose(), fresh.expose());
    let second_refresh = after.refresh_token.clone().unwrap();
    assert_ne!(second_refresh.expose(), first_refresh.expose(), "rotated");
    assert!(after.seconds_left() > 60);
    assert!(o.active(fresh.expose()));
    assert!(
        !o.active(first_refresh.expose()),
        "the used refresh token is spent"
    );
    // A valid token is not refreshed again.
    let (same, _) = globus::stored_access_token(&http, &app, std::slice::from_ref(&path))
        .unwrap()
        .unwrap();
    assert_eq!(same.expose(), fresh.expose());

    // `login --refresh` does the same from the command line.
    let out = login_cmd(&o, home.path(), &["--refresh"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("refreshed"), "{err}");
    let now = TokenFile::load(&path).unwrap().unwrap().get(RS).unwrap();
    assert_ne!(
        now.refresh_token.as_ref().unwrap().expose(),
        second_refresh.expose()
    );
    assert!(!err.contains(now.access_token.expose()));

    // Logout revokes both tokens at the server, then forgets them.
    let out = tw()
        .env("HOME", home.path())
        .env("TOKENWARDEN_CONFIG", home.path().join("none.toml"))
        .args([
            "logout",
            "alcf",
            "--auth-url",
            &o.issuer,
            "--client-id",
            "native-cli",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("refresh token") && stdout.contains("access token"),
        "{stdout}"
    );
    assert_eq!(stdout.matches(": revoked").count(), 2, "{stdout}");
    assert!(!stdout.contains(now.access_token.expose()));
    assert!(!o.active(now.access_token.expose()), "access token revoked");
    assert!(
        !o.active(now.refresh_token.as_ref().unwrap().expose()),
        "refresh token revoked"
    );
    let gone = TokenFile::load(&path).unwrap().unwrap();
    assert!(gone.get(RS).is_none());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o600);
    }
}

#[test]
fn peer_local_redirect_catches_the_code() {
    if !common::peers::ready(&[("oidc", &["globus"])]) {
        return;
    }
    let o = oidc();
    let home = tempfile::tempdir().unwrap();
    let mut child = login_cmd(&o, home.path(), &["--local-redirect", "--wait", "60s"])
        .spawn()
        .unwrap();
    let (url, mut rest) = authorize_url_from(&mut child);
    let cb = o.browser_login(&url, "alice-pw").unwrap();
    assert_eq!(cb.host_str(), Some("127.0.0.1"));
    assert_eq!(cb.path(), "/callback");
    // The browser follows the redirect to the one-shot listener.
    let r = reqwest::blocking::get(cb.as_str()).unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let out = child.wait_with_output().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(rest.get_mut(), &mut err).unwrap();
    assert!(out.status.success(), "{err}");
    let rec = TokenFile::load(&token_path(home.path()))
        .unwrap()
        .unwrap()
        .get(RS)
        .unwrap();
    assert!(o.active(rec.access_token.expose()));
}

#[test]
fn peer_wrong_verifier_or_code_is_a_clear_error() {
    if !common::peers::ready(&[("oidc", &["globus"])]) {
        return;
    }
    let o = oidc();
    let app = o.app();
    let http = Http::new(Default::default()).unwrap();
    let redirect = "http://127.0.0.1:9/callback";
    let pkce = Pkce::new().unwrap();
    let cb = o
        .browser_login(
            globus::authorize_url(&app, redirect, &pkce).as_str(),
            "alice-pw",
        )
        .unwrap();
    let code = Token::new(code_of(&cb));
    let wrong = Pkce::new().unwrap().verifier;
    let err = globus::exchange_code(&http, &app, &code, &wrong, redirect)
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 400"), "{err}");
    assert!(err.contains("PKCE verifier"), "{err}");
    assert!(
        !err.contains(code.expose()) && !err.contains(wrong.expose()),
        "{err}"
    );

    // A wrong password never yields a code.
    let pkce = Pkce::new().unwrap();
    assert_eq!(
        o.browser_login(
            globus::authorize_url(&app, redirect, &pkce).as_str(),
            "wrong"
        )
        .unwrap_err(),
        401
    );

    // A bogus pasted code through the CLI: exit non-zero with advice, nothing stored.
    let home = tempfile::tempdir().unwrap();
    let out = login_cmd(&o, home.path(), &["--redirect-uri", redirect])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(b"not-a-real-code-123\n")
                .unwrap();
            c.wait_with_output()
        })
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("could not be exchanged") && err.contains("HTTP 400"),
        "{err}"
    );
    assert!(!token_path(home.path()).exists());
}

#[test]
fn int_logout_without_tokens_is_a_no_op_and_reads_alcf_files() {
    let home = tempfile::tempdir().unwrap();
    let out = tw()
        .env("HOME", home.path())
        .env("TOKENWARDEN_CONFIG", home.path().join("none.toml"))
        .args(["logout", "alcf", "--auth-url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // The three ALCF token file shapes are found where the ALCF tools put them.
    let files = globus::alcf_token_files(home.path());
    assert_eq!(files.len(), 3);
    assert!(
        files[0]
            .1
            .ends_with(".globus/app/7f3e61f5-e0de-4e8f-9150-0a62c65dda63/alcf_tokens/tokens.json")
    );
    assert!(files[1].1.ends_with("alcf_tokens/tokens-bash.json"));
    assert!(files[2].1.ends_with(
        ".globus/app/8b84fc2d-49e9-49ea-b54d-b3a29a70cf31/alcf_facility_api_app/tokens.json"
    ));
}
