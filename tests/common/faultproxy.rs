//! A fault-injecting TCP proxy in front of a real server, for the fault tests that cannot be
//! written into the server itself (the OAuth2 peer is npm's oidc-provider, which has no fault
//! hooks). It listens on 127.0.0.1 only; each connection gets the fault set when it was
//! accepted. Every wait is bounded, and the proxy stops when dropped.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What the proxy does with the next connections.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// Forwards both ways, unchanged.
    Pass,
    /// Accepts, then closes without reading or answering.
    Close,
    /// Reads the request and never answers (until the client gives up; at most 60 s).
    Stall,
    /// Forwards the request, so the server acts on it, and cuts the answer after its first
    /// bytes: the client cannot know what the server did.
    CutAnswer,
    /// Answers this status itself (with `Retry-After` when given); the server sees nothing.
    Status(u16, Option<u64>),
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// Starts a proxy in front of the server at `base_url` (`http://127.0.0.1:PORT/…`).
    pub fn start(base_url: &str) -> FaultProxy {
        let u = url::Url::parse(base_url).expect("a base URL");
        let upstream: SocketAddr = format!(
            "{}:{}",
            u.host_str().expect("a host"),
            u.port_or_known_default().expect("a port")
        )
        .parse()
        .expect("an IP address and port");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let p = FaultProxy {
            addr,
            fault: Arc::new(Mutex::new(Fault::Pass)),
            stop: Arc::new(AtomicBool::new(false)),
            accepted: Arc::new(AtomicUsize::new(0)),
            forwarded: Arc::new(AtomicUsize::new(0)),
        };
        let (fault, stop, accepted, forwarded) = (
            p.fault.clone(),
            p.stop.clone(),
            p.accepted.clone(),
            p.forwarded.clone(),
        );
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                accepted.fetch_add(1, Ordering::SeqCst);
                let f = *fault.lock().unwrap();
                let (stop, forwarded) = (stop.clone(), forwarded.clone());
                thread::spawn(move || serve(conn, upstream, f, &stop, &forwarded));
            }
        });
        p
    }

    /// The proxy's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, f: Fault) {
        *self.fault.lock().unwrap() = f;
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections whose request went on to the server.
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// A base URL on 127.0.0.1 where nothing listens: connections are refused.
pub fn refused_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Fault,
    stop: &AtomicBool,
    forwarded: &AtomicUsize,
) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    match fault {
        Fault::Close => {
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::Stall => {
            let _ = read_request(&mut client);
            let end = Instant::now() + Duration::from_secs(60);
            let _ = client.set_read_timeout(Some(Duration::from_millis(200)));
            let mut b = [0u8; 1024];
            // Holds the connection until the client hangs up, the proxy stops, or 60 s pass.
            while Instant::now() < end && !stop.load(Ordering::SeqCst) {
                match client.read(&mut b) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
        }
        Fault::Status(code, retry_after) => {
            let _ = read_request(&mut client);
            let body = format!("{{\"error\":\"injected\",\"status\":{code}}}");
            let extra = retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            let answer = format!(
                "HTTP/1.1 {code} Injected\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
                body.len()
            );
            let _ = client.write_all(answer.as_bytes());
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::Pass | Fault::CutAnswer => {
            let Ok(mut server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))
            else {
                return;
            };
            forwarded.fetch_add(1, Ordering::SeqCst);
            let _ = server.set_read_timeout(Some(Duration::from_secs(30)));
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let up = thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(Shutdown::Write);
            });
            if fault == Fault::Pass {
                let _ = std::io::copy(&mut server, &mut client);
            } else {
                // The server has the whole request once it answers; pass on 12 bytes of the
                // answer ("HTTP/1.1 200") and hang up.
                let mut got = Vec::new();
                let mut b = [0u8; 4096];
                while got.len() < 12 {
                    match server.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&b[..n]),
                    }
                }
                let _ = client.write_all(&got[..got.len().min(12)]);
            }
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
            let _ = up.join();
        }
    }
}

/// Reads one HTTP request (headers, then `Content-Length` bytes of body); bounded by the
/// socket's read timeout and 1 MiB.
fn read_request(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                return Ok(got);
            }
        }
        if got.len() > 1 << 20 {
            return Ok(got);
        }
        let n = s.read(&mut b)?;
        if n == 0 {
            return Ok(got);
        }
        got.extend_from_slice(&b[..n]);
    }
}
