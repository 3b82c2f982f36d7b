//! `tokenwarden login alcf|nersc` and `tokenwarden logout alcf|nersc`: Globus native-app login
//! with PKCE, tokens kept where globus-sdk keeps them, revoked at logout.
//!
//! The authorization code never comes in on the command line (it is a credential for two
//! minutes): the user pastes it, or the redirect page, on the terminal or standard input; or,
//! with `--local-redirect`, a one-shot listener on 127.0.0.1 catches the redirect.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokenwarden::facilities::credential::Token;
use tokenwarden::facilities::globus::{self, GlobusApp, Pkce, TokenFile};
use tokenwarden::facilities::{ClientConfig, Endpoint, Http};

/// Who to log in to.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Provider {
    /// ALCF's IRI Facility API (client of `alcf-tokens`, ALCF session policy).
    Alcf,
    /// NERSC's IRI API (needs --client-id of a native app you registered).
    Nersc,
}

/// Flags shared by login and logout.
#[derive(Args, Debug)]
pub struct AppArgs {
    /// The facility.
    provider: Provider,
    /// A Globus native app client id other than the facility's.
    #[arg(long)]
    client_id: Option<String>,
    /// The globus-sdk app name (the token directory) [default: alcf_tokens for ALCF].
    #[arg(long)]
    app_name: Option<String>,
    /// Scopes to ask for, space-separated [default: the facility's IRI scope].
    #[arg(long)]
    scope: Option<String>,
    /// The resource server the token is for (the key in the token file).
    #[arg(long)]
    resource_server: Option<String>,
    /// Globus Auth base URL [default: https://auth.globus.org, or [globus] auth_url].
    #[arg(long, value_name = "URL")]
    auth_url: Option<String>,
    /// The token file [default: ~/.globus/app/<client_id>/<app_name>/tokens.json].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Timeout for each request.
    #[arg(long, value_name = "DURATION")]
    timeout: Option<humantime::Duration>,
}

/// `tokenwarden login`.
#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    app: AppArgs,
    /// Catch the redirect on a one-shot listener on 127.0.0.1 instead of pasting the code.
    #[arg(long)]
    local_redirect: bool,
    /// How long to wait for the redirect or the pasted code.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    wait: humantime::Duration,
    /// The redirect URI registered for the client, for pasting [default: Globus's auth-code
    /// page].
    #[arg(long, value_name = "URL")]
    redirect_uri: Option<String>,
    /// Do not open a browser: only refresh the stored tokens now.
    #[arg(long)]
    refresh: bool,
}

/// `tokenwarden logout`.
#[derive(Args, Debug)]
pub struct LogoutArgs {
    #[command(flatten)]
    app: AppArgs,
}

struct Setup {
    app: GlobusApp,
    http: Http,
    path: PathBuf,
}

fn setup(a: &AppArgs) -> Result<Setup> {
    let cfg = ClientConfig::load()?;
    let auth = Endpoint::parse(
        a.auth_url
            .as_deref()
            .or_else(|| cfg.str(&["globus", "auth_url"]))
            .unwrap_or(globus::DEFAULT_AUTH_URL),
    )?;
    let mut app = match a.provider {
        Provider::Alcf => GlobusApp::alcf(auth),
        Provider::Nersc => {
            let Some(id) = a.client_id.as_deref() else {
                bail!(
                    "NERSC publishes no public Globus client for its IRI API: register a native \
                     app at Globus and give its id with --client-id"
                );
            };
            GlobusApp::nersc(auth, id)
        }
    };
    if let Some(c) = &a.client_id {
        app.client_id = c.clone();
    }
    if let Some(n) = &a.app_name {
        app.app_name = n.clone();
    }
    if let Some(s) = &a.scope {
        app.scope = s.clone();
    }
    if let Some(r) = &a.resource_server {
        app.resource_server = r.clone();
    }
    let mut opts = cfg.http_options()?;
    if let Some(t) = a.timeout {
        opts.timeout = t.into();
    }
    let http = Http::new(opts)?;
    let path = match &a.token_file {
        Some(p) => p.clone(),
        None => app.token_path(&globus::home_dir().context("HOME is not set; give --token-file")?),
    };
    Ok(Setup { app, http, path })
}

/// Runs `login`.
pub fn run_login(args: LoginArgs) -> Result<ExitCode> {
    let s = setup(&args.app)?;
    if args.refresh {
        let mut file = TokenFile::load(&s.path)?
            .with_context(|| format!("no token file at {}: log in first", s.path.display()))?;
        let rec = file.get(&s.app.resource_server).with_context(|| {
            format!(
                "{} holds no token for {}",
                s.path.display(),
                s.app.resource_server
            )
        })?;
        let new = globus::refresh(&s.http, &s.app, &rec)?;
        file.set(&new);
        file.save()?;
        eprintln!(
            "refreshed: access token {} valid for {} s; saved to {}",
            new.access_token.preview(),
            new.seconds_left(),
            s.path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let pkce = Pkce::new()?;
    let wait: Duration = args.wait.into();
    let (code, redirect_uri) = if args.local_redirect {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
        let port = listener.local_addr()?.port();
        let redirect = format!("http://127.0.0.1:{port}/callback");
        let url = globus::authorize_url(&s.app, &redirect, &pkce);
        eprintln!("Open this URL in a browser on this machine and log in:\n");
        eprintln!("{url}\n");
        eprintln!(
            "Waiting up to {} for the redirect to {redirect} …",
            humantime::format_duration(wait)
        );
        let code = catch_redirect(&listener, &pkce.state, wait)?;
        (code, redirect)
    } else {
        let redirect = args
            .redirect_uri
            .clone()
            .unwrap_or_else(|| globus::AUTH_CODE_PAGE.to_string());
        let url = globus::authorize_url(&s.app, &redirect, &pkce);
        eprintln!("Open this URL in a browser and log in:\n");
        eprintln!("{url}\n");
        let code = read_code(&pkce.state, wait)?;
        (code, redirect)
    };
    let records = globus::exchange_code(&s.http, &s.app, &code, &pkce.verifier, &redirect_uri)
        .context("the code could not be exchanged for tokens")?;
    let mut file = match TokenFile::load(&s.path)? {
        Some(f) => f,
        None => TokenFile::new_v2(s.path.clone()),
    };
    for r in &records {
        file.set(r);
    }
    file.save()?;
    for r in &records {
        eprintln!(
            "logged in: {} access token {} (valid {} s){}",
            r.resource_server,
            r.access_token.preview(),
            r.seconds_left(),
            if r.refresh_token.is_some() {
                ", with a refresh token"
            } else {
                ""
            }
        );
    }
    eprintln!("saved to {} (mode 0600)", s.path.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads the pasted code (or redirect URL) from the terminal or standard input, within `wait`.
fn read_code(state: &str, wait: Duration) -> Result<Token> {
    if std::io::stdin().is_terminal() {
        let v = rpassword::prompt_password("Paste the authorization code: ")
            .context("cannot read the code from the terminal")?;
        return Ok(globus::code_from_paste(&v, state)?);
    }
    eprintln!("Reading the authorization code from standard input …");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let r = std::io::stdin().lock().read_line(&mut line).map(|_| line);
        let _ = tx.send(r);
    });
    let line = match rx.recv_timeout(wait) {
        Ok(Ok(l)) => zeroize::Zeroizing::new(l),
        Ok(Err(e)) => bail!("cannot read the code from standard input: {e}"),
        Err(_) => bail!(
            "no authorization code within {}",
            humantime::format_duration(wait)
        ),
    };
    Ok(globus::code_from_paste(&line, state)?)
}

/// Accepts connections on `listener` until one brings `/callback?code=…&state=<state>` or
/// `wait` runs out; answers each with a short page.
fn catch_redirect(listener: &TcpListener, state: &str, wait: Duration) -> Result<Token> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + wait;
    loop {
        if Instant::now() >= deadline {
            bail!(
                "no redirect arrived within {}",
                humantime::format_duration(wait)
            );
        }
        let (mut stream, _) = match listener.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut buf = [0u8; 8192];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < buf.len() {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&got);
        let target = text
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("/");
        let outcome = if target.starts_with("/callback") {
            Some(globus::code_from_paste(
                &format!("http://127.0.0.1{target}"),
                state,
            ))
        } else {
            None
        };
        let (status, body) = match &outcome {
            Some(Ok(_)) => (
                "200 OK",
                "Logged in. You can close this tab and return to the terminal.",
            ),
            Some(Err(_)) => (
                "400 Bad Request",
                "The login did not succeed; see the terminal.",
            ),
            None => ("404 Not Found", "Not the login callback."),
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        match outcome {
            Some(Ok(code)) => return Ok(code),
            Some(Err(e)) => return Err(e.into()),
            None => continue,
        }
    }
}

/// Runs `logout`: revokes the refresh and access tokens, then forgets them.
pub fn run_logout(args: LogoutArgs) -> Result<ExitCode> {
    let s = setup(&args.app)?;
    let Some(mut file) = TokenFile::load(&s.path)? else {
        eprintln!("no token file at {}: nothing to do", s.path.display());
        return Ok(ExitCode::SUCCESS);
    };
    let Some(rec) = file.get(&s.app.resource_server) else {
        eprintln!(
            "{} holds no token for {}: nothing to do",
            s.path.display(),
            s.app.resource_server
        );
        return Ok(ExitCode::SUCCESS);
    };
    let outcomes = globus::revoke_record(&s.http, &s.app, &rec);
    let mut all_ok = true;
    for o in &outcomes {
        match &o.result {
            Ok(()) => outln!("{} {}: revoked", o.which, o.preview),
            Err(e) => {
                all_ok = false;
                outln!("{} {}: NOT revoked: {e}", o.which, o.preview);
            }
        }
    }
    if all_ok {
        file.remove(&s.app.resource_server);
        file.save()?;
        outln!(
            "removed the {} tokens from {}",
            s.app.resource_server,
            s.path.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        outln!(
            "kept the tokens in {} so that `tokenwarden logout` can be retried",
            s.path.display()
        );
        Ok(ExitCode::from(1))
    }
}
