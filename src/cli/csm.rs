//! `tokenwarden csm …`: log in to a Cray CSM system's Keycloak and get temporary S3 credentials
//! from its STS, written where the AWS tools find them — 0600, atomically, never on screen
//! unless asked. The password comes from a prompt, an environment variable, the keyring or
//! stdin; never from argv, where every user of the machine could read it.

use crate::cli::common::{ClientArgs, print_json};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use tokenwarden::facilities::credential::{self, CredentialSource, Token};
use tokenwarden::facilities::csm::{self, Csm, KeycloakToken};
use tokenwarden::facilities::{ClientConfig, Endpoint};
use tokenwarden::text::printable;
use zeroize::Zeroizing;

/// HPE/Cray CSM: Keycloak login and temporary S3 credentials from the STS.
#[derive(Args, Debug)]
pub struct CsmArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Keycloak base URL [default: [csm] keycloak in the config, else <gateway>/keycloak].
    #[arg(long, value_name = "URL", global = true)]
    keycloak: Option<String>,
    /// Keycloak realm [default: shasta].
    #[arg(long, value_name = "NAME", global = true)]
    realm: Option<String>,
    /// Keycloak client for the password grant [default: shasta].
    #[arg(long, value_name = "ID", global = true)]
    client_id: Option<String>,
    /// Keycloak user [default: [csm] username in the config].
    #[arg(long, short = 'u', value_name = "USER", global = true)]
    username: Option<String>,
    /// Where the password comes from: prompt (default on a terminal), env:NAME, keyring:NAME
    /// or stdin (first line). Never the password itself.
    #[arg(long, value_name = "SOURCE", global = true)]
    password_from: Option<CredentialSource>,
    /// Print secret keys and tokens in full.
    #[arg(long, global = true)]
    show_secrets: bool,
    #[command(subcommand)]
    command: CsmCommand,
}

#[derive(Subcommand, Debug)]
enum CsmCommand {
    /// Get temporary S3 credentials from the STS and write them (AWS profile, env or JSON).
    /// With --token-from, an existing Keycloak access token is used instead of a login.
    Sts(StsArgs),
    /// Log in to Keycloak and save the token where the Cray CLI looks for it
    /// (~/.config/cray/tokens/<gateway host>.<user>, 0600).
    Token {
        /// The token directory [default: ~/.config/cray/tokens].
        #[arg(long, value_name = "DIR")]
        store: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct StsArgs {
    /// What to write.
    #[arg(long, value_enum, default_value = "aws")]
    format: OutFormat,
    /// The file to write. aws: [default: $AWS_SHARED_CREDENTIALS_FILE, else
    /// ~/.aws/credentials]; env and json need it (a credentials file in the working directory
    /// is how secrets end up in git).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// The AWS profile to write (other profiles in the file are kept).
    #[arg(long, default_value = "csm")]
    profile: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OutFormat {
    /// A profile in an AWS shared credentials file.
    Aws,
    /// `AWS_*=…` lines (with AWS_ENDPOINT_URL).
    Env,
    /// JSON in the AWS credential_process shape.
    Json,
}

/// Runs `tokenwarden csm …`.
pub fn run(args: CsmArgs) -> Result<ExitCode> {
    let cfg = args.client.config()?;
    let http = args.client.http(&cfg)?;
    let gateway =
        args.client
            .endpoint(&cfg, &["csm", "url"], "https://api-gw-service-nmn.local")?;
    let keycloak = match args
        .keycloak
        .as_deref()
        .or_else(|| cfg.str(&["csm", "keycloak"]))
    {
        Some(k) => Some(Endpoint::parse(k)?),
        None => None,
    };
    let realm = args
        .realm
        .clone()
        .or_else(|| cfg.str(&["csm", "realm"]).map(str::to_string))
        .unwrap_or_else(|| csm::DEFAULT_REALM.to_string());
    let client = Csm::new(http, gateway, keycloak, &realm)?;
    match &args.command {
        CsmCommand::Sts(sts) => run_sts(&args, &cfg, &client, sts),
        CsmCommand::Token { store } => {
            let (user, kc) = login(&args, &cfg, &client)?;
            let dir = match store {
                Some(d) => d.clone(),
                None => home()?.join(".config/cray/tokens"),
            };
            tokenwarden::private_file::create_private_dir(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let path = dir.join(csm::cray_token_file_name(client.gateway().host(), &user));
            tokenwarden::private_file::write(&path, kc.raw.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            outln!(
                "saved the Keycloak token for {user} to {} (mode 0600)",
                path.display()
            );
            say_token_lifetime(&kc);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_sts(args: &CsmArgs, cfg: &ClientConfig, client: &Csm, sts: &StsArgs) -> Result<ExitCode> {
    // Check where the credentials go before asking anyone for a password.
    let path = match (&sts.output, sts.format) {
        (Some(p), _) => p.clone(),
        (None, OutFormat::Aws) => match std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => home()?.join(".aws/credentials"),
        },
        (None, _) => bail!("--format env|json needs --output FILE"),
    };
    if !sts
        .profile
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || sts.profile.is_empty()
    {
        bail!("profile name {:?}: letters, digits, - _ .", sts.profile);
    }
    let access = match &args.client.token_from {
        Some(src) => {
            let loaded = src.load("Keycloak access token")?;
            for w in &loaded.warnings {
                eprintln!("tokenwarden: warning: {w}");
            }
            loaded.token
        }
        None => {
            let (_, kc) = login(args, cfg, client)?;
            say_token_lifetime(&kc);
            kc.access
        }
    };
    let creds = client.sts_token(&access)?;
    let text: Zeroizing<String> = match sts.format {
        OutFormat::Aws => {
            let existing = match std::fs::read_to_string(&path) {
                Ok(t) => Zeroizing::new(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Zeroizing::new(String::new()),
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            csm::merge_aws_credentials(&existing, &sts.profile, &creds)
        }
        OutFormat::Env => csm::env_file(&creds),
        OutFormat::Json => csm::json_file(&creds),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        tokenwarden::private_file::create_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    tokenwarden::private_file::write(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let shown = |t: &Token| {
        if args.show_secrets {
            t.expose().to_string()
        } else {
            t.preview()
        }
    };
    if args.client.json {
        print_json(&serde_json::json!({
            "file": path.display().to_string(),
            "format": format!("{:?}", sts.format).to_lowercase(),
            "profile": matches!(sts.format, OutFormat::Aws).then_some(&sts.profile),
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": shown(&creds.secret_access_key),
            "SessionToken": shown(&creds.session_token),
            "EndpointURL": creds.endpoint_url,
            "Expiration": creds.expiration,
        }))?;
    } else {
        match sts.format {
            OutFormat::Aws => outln!(
                "wrote profile [{}] to {} (mode 0600)",
                sts.profile,
                path.display()
            ),
            _ => outln!("wrote {} (mode 0600)", path.display()),
        }
        outln!("  AccessKeyId      {}", printable(&creds.access_key_id));
        outln!("  SecretAccessKey  {}", shown(&creds.secret_access_key));
        outln!("  SessionToken     {}", shown(&creds.session_token));
        outln!("  EndpointURL      {}", printable(&creds.endpoint_url));
        outln!("  expires          {}", printable(&creds.expiration));
        if let OutFormat::Aws = sts.format {
            outln!(
                "use: AWS_PROFILE={} aws --endpoint-url {} s3 ls",
                sts.profile,
                creds.endpoint_url
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The Keycloak password grant: user from the flag or config, password from its source.
fn login(args: &CsmArgs, cfg: &ClientConfig, client: &Csm) -> Result<(String, KeycloakToken)> {
    let user = args
        .username
        .clone()
        .or_else(|| cfg.str(&["csm", "username"]).map(str::to_string))
        .context("which Keycloak user? give --username (or [csm] username in the config)")?;
    let what = format!("Keycloak password for {user}");
    let configured = cfg.credential(&["csm", "password"])?;
    let password = match args.password_from.as_ref().or(configured.as_ref()) {
        // A password is a line, spaces and all: not a header file to parse.
        Some(CredentialSource::Stdin) => {
            let mut text = Zeroizing::new(String::new());
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the password from stdin")?;
            let line = text.lines().next().unwrap_or("");
            if line.is_empty() {
                bail!("standard input held no password");
            }
            // Surrounding spaces are trimmed (as for every credential); inner ones are kept.
            Token::new(line)
        }
        Some(CredentialSource::Env(name)) => match std::env::var(name) {
            Ok(v) if !v.is_empty() => Token::new(v),
            _ => bail!("environment variable {name} is not set"),
        },
        Some(src) => src.load(&what)?.token,
        None => {
            if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
                bail!(
                    "{what} is needed and there is no terminal to ask on; give --password-from \
                     env:NAME, keyring:NAME or stdin"
                );
            }
            credential::prompt(&what)?
        }
    };
    let client_id = args
        .client_id
        .clone()
        .or_else(|| cfg.str(&["csm", "client_id"]).map(str::to_string))
        .unwrap_or_else(|| csm::DEFAULT_CLIENT.to_string());
    let kc = client.password_grant(&client_id, &user, &password)?;
    Ok((user, kc))
}

fn say_token_lifetime(kc: &KeycloakToken) {
    let until = kc.exp().map(|exp| {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(exp.max(0) as u64);
        humantime::format_rfc3339_seconds(t).to_string()
    });
    eprintln!(
        "note: the Keycloak access token itself stays valid until {} (CSM's default lifetime is \
         365 days) and signing out does not revoke it: keep it as secret as a password",
        until.unwrap_or_else(|| match kc.expires_in {
            Some(s) => format!("{s} s from now"),
            None => "its exp claim".into(),
        })
    );
}

fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set; give --output")
}
