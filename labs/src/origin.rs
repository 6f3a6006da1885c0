//! A small origin server that labs runs behind a learner's proxy: fixed routes, a hit counter
//! per path, and every request it receives kept for the checks.

use crate::exchange::{ExchangeLog, Hop, Peer};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the origin received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The request target exactly as sent.
    pub target: String,
    /// The header fields, names as sent.
    pub fields: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Seen {
    /// The first value of a field.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// A route's answer: status, extra fields, body, and a delay before answering.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code and reason.
    pub status: (u16, &'static str),
    /// Extra header fields.
    pub fields: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How long to wait before answering.
    pub delay: Duration,
}

type Routes = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

/// The running origin. Dropping it stops it.
pub struct Origin {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Origin").field("addr", &self.addr).finish()
    }
}

impl Origin {
    /// Starts an origin on 127.0.0.1 with a route function; exchanges go to `log`.
    pub fn start(
        routes: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
        log: &ExchangeLog,
        timeout: Duration,
    ) -> std::io::Result<Origin> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let routes: Routes = Arc::new(routes);
        let acceptor = {
            let (seen, stop, log) = (Arc::clone(&seen), Arc::clone(&stop), log.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (seen, routes, log) = (Arc::clone(&seen), Arc::clone(&routes), log.clone());
                    std::thread::spawn(move || serve(stream, &seen, &routes, &log, timeout));
                }
            })
        };
        Ok(Origin {
            addr,
            seen,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// How many requests reached each path.
    pub fn hits(&self) -> HashMap<String, usize> {
        let mut hits = HashMap::new();
        for s in self.seen() {
            *hits.entry(s.target.clone()).or_insert(0) += 1;
        }
        hits
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn serve(
    stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    routes: &Routes,
    log: &ExchangeLog,
    timeout: Duration,
) {
    let mut peer = Peer::from_stream(stream, false, timeout)
        .with_hop(Hop::ProxyToOrigin)
        .with_log(log);
    while let Ok(request) = crate::http::read_request(&mut peer) {
        if let Ok(mut s) = seen.lock() {
            s.push(request.clone());
        }
        let answer = routes(&request);
        if !answer.delay.is_zero() {
            std::thread::sleep(answer.delay);
        }
        let mut bytes =
            format!("HTTP/1.1 {} {}\r\n", answer.status.0, answer.status.1).into_bytes();
        for (name, value) in &answer.fields {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        let bodiless = request.method == "HEAD" || answer.status.0 == 304;
        if answer.status.0 != 304 {
            bytes
                .extend_from_slice(format!("Content-Length: {}\r\n", answer.body.len()).as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        if !bodiless {
            bytes.extend_from_slice(&answer.body);
        }
        if peer.send(&bytes).is_err() {
            break;
        }
    }
}
