//! A hostile issuer on 127.0.0.1: it answers every request with the credential it was sent,
//! echoed in a chosen way. No real issuer can be made to do this on purpose, so this small
//! server stands in for a compromised or buggy one (SECURITY.md, "a hostile issuer").
//!
//! It serves at most `max_requests` connections and stops accepting after 60 s, so a test that
//! fails never leaves it running.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the credential comes back.
#[derive(Clone, Copy, Debug)]
pub enum Echo {
    /// `200 text/plain`: `you sent <token>`.
    Whole,
    /// `200 text/plain`: characters 13..35 of the token (not on any fixed boundary).
    Slice,
    /// `200 text/plain`: the token wrapped every 10 characters.
    Wrapped,
    /// `200 application/json`: a JSON document whose strings (and a key) hold the token.
    JsonFields,
    /// `500 application/json`: an error message that quotes the token.
    JsonError,
}

/// A running echo server.
pub struct EchoIssuer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// How many requests carried a credential.
    pub seen: Arc<Mutex<usize>>,
}

/// Starts an echo server answering up to `max_requests` requests.
pub fn start(mode: Echo, max_requests: usize) -> EchoIssuer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(0usize));
    let counter = seen.clone();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        while served < max_requests && Instant::now() < deadline {
            let (stream, _) = match listener.accept() {
                Ok(s) => s,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            served += 1;
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut token = String::new();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let l = line.trim_end().to_string();
                line.clear();
                if l.is_empty() {
                    break;
                }
                if let Some((name, value)) = l.split_once(':') {
                    let value = value.trim();
                    match name.to_ascii_lowercase().as_str() {
                        "authorization" => {
                            token = value.rsplit(' ').next().unwrap_or("").to_string()
                        }
                        "x-slurm-user-token" => token = value.to_string(),
                        _ => {}
                    }
                }
            }
            if !token.is_empty() {
                *counter.lock().unwrap() += 1;
            }
            let (status, ctype, body) = answer(mode, &token);
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    EchoIssuer { url, seen }
}

fn answer(mode: Echo, token: &str) -> (&'static str, &'static str, String) {
    let slice = token.get(13..35).unwrap_or(token);
    match mode {
        Echo::Whole => ("200 OK", "text/plain", format!("you sent {token}\n")),
        Echo::Slice => (
            "200 OK",
            "text/plain",
            format!("token fragment [{slice}]\n"),
        ),
        Echo::Wrapped => {
            let wrapped: Vec<String> = token
                .as_bytes()
                .chunks(10)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            ("200 OK", "text/plain", wrapped.join("\n"))
        }
        Echo::JsonFields => (
            "200 OK",
            "application/json",
            serde_json::json!({
                "pings": [{"hostname": token, "pinged": "UP", "latency": 1}],
                "token": {"username": "alice", "description": format!("made from {token}"),
                          "project": slice},
                "meta": {token: "key"},
                "errors": [],
                "warnings": [],
                "statistics": {"parts_packed": 1},
            })
            .to_string(),
        ),
        Echo::JsonError => (
            "500 Internal Server Error",
            "application/json",
            serde_json::json!({"errors": [{"error": format!("bad token {token}")}]}).to_string(),
        ),
    }
}

/// Panics when `text` holds any piece of 12 or more characters of `token`.
pub fn assert_no_piece(what: &str, text: &str, token: &str) {
    for w in token.as_bytes().windows(12) {
        let w = std::str::from_utf8(w).unwrap();
        assert!(
            !text.contains(w),
            "{what} holds a piece of the token ({w}):\n{text}"
        );
    }
}
