//! The Globus-like OAuth2 peer (npm oidc-provider, `tests/peers/oidc-up.sh globus`), driven
//! as a user's browser would: log in through the form, take the code from the redirect.
#![allow(dead_code)]

use super::peers::{peer, var};
use serde_json::Value;
use std::collections::HashMap;
use tokenwarden::facilities::globus::{self, GlobusApp, Pkce, TokenRecord};
use tokenwarden::facilities::{Endpoint, Http, Token};

pub struct Oidc {
    pub issuer: String,
    pub introspect: String,
    pub conf_client: String,
    pub conf_secret: String,
}

pub fn oidc() -> Oidc {
    let env = peer("oidc", &["globus"]);
    Oidc {
        issuer: var(&env, "OIDC_ISSUER").to_string(),
        introspect: var(&env, "OIDC_INTROSPECTION_ENDPOINT").to_string(),
        conf_client: var(&env, "OIDC_CONF_CLIENT").to_string(),
        conf_secret: var(&env, "OIDC_CONF_SECRET").to_string(),
    }
}

impl Oidc {
    /// Introspects a token as the resource server (the confidential client may).
    pub fn active(&self, token: &str) -> bool {
        let v: Value = reqwest::blocking::Client::new()
            .post(&self.introspect)
            .basic_auth(&self.conf_client, Some(&self.conf_secret))
            .form(&[("token", token)])
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["active"] == true
    }

    /// Plays the browser: opens the authorize URL, logs in as alice, and returns where the
    /// server finally redirects (the callback URL with the code).
    pub fn browser_login(&self, authorize: &str, password: &str) -> Result<url::Url, u16> {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut cookies: HashMap<String, String> = HashMap::new();
        let keep = |cookies: &mut HashMap<String, String>, resp: &reqwest::blocking::Response| {
            for c in resp.headers().get_all("set-cookie") {
                let c = c.to_str().unwrap();
                let pair = c.split(';').next().unwrap();
                if let Some((k, v)) = pair.split_once('=') {
                    cookies.insert(k.trim().to_string(), v.to_string());
                }
            }
        };
        let base = url::Url::parse(&self.issuer).unwrap();
        let r = client.get(authorize).send().unwrap();
        assert_eq!(r.status().as_u16(), 303, "authorize: {}", r.text().unwrap());
        keep(&mut cookies, &r);
        let interaction = base
            .join(r.headers()["location"].to_str().unwrap())
            .unwrap();
        let cookie = |c: &HashMap<String, String>| {
            c.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let r = client
            .post(format!("{interaction}/login"))
            .header("cookie", cookie(&cookies))
            .form(&[("username", "alice"), ("password", password)])
            .send()
            .unwrap();
        if r.status().as_u16() != 303 {
            return Err(r.status().as_u16());
        }
        keep(&mut cookies, &r);
        let next = base
            .join(r.headers()["location"].to_str().unwrap())
            .unwrap();
        let r = client
            .get(next)
            .header("cookie", cookie(&cookies))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 303);
        Ok(url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap())
    }
}

pub fn code_of(u: &url::Url) -> String {
    u.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {u}"))
}

impl Oidc {
    /// The native app the peer knows (`native-cli`), for the peer's issuer.
    pub fn app(&self) -> GlobusApp {
        GlobusApp {
            client_id: "native-cli".into(),
            scope: "openid offline_access".into(),
            ..GlobusApp::alcf(Endpoint::parse(&self.issuer).unwrap())
        }
    }

    /// A full PKCE login as alice, in process: the access and refresh tokens.
    pub fn login(&self) -> TokenRecord {
        let app = self.app();
        let http = Http::new(Default::default()).unwrap();
        let redirect = "http://127.0.0.1:9/callback";
        let pkce = Pkce::new().unwrap();
        let cb = self
            .browser_login(
                globus::authorize_url(&app, redirect, &pkce).as_str(),
                "alice-pw",
            )
            .unwrap();
        let code = Token::new(code_of(&cb));
        globus::exchange_code(&http, &app, &code, &pkce.verifier, redirect)
            .unwrap()
            .remove(0)
    }
}
