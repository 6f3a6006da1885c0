//! A small origin server that labs runs behind a learner's proxy: fixed routes, a hit counter
//! per path, and every request it receives kept for the checks.
//!
//! It keeps a connection open for the next request as HTTP/1.1 does, and closes it after the
//! answer when the request says so (`Connection: close`, or HTTP/1.0 without `keep-alive`,
//! RFC 9112 §9.3), answering with `Connection: close`: a proxy that reads the origin's answer
//! to the end of the stream, as the lab skeleton does, gets its end at once.

use crate::exchange::{ExchangeLog, Hop, Peer};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use wire::http1::Headers;

/// Where the proxy track's origin listens, and whether labs also looks at port 80.
///
/// The lab skeleton's proxy connects to port 80 whatever the URL says. labs' origin is on a
/// port of its own, so such a proxy never reaches it; to name that rather than guess, labs
/// listens on 127.0.0.1:80 during a proxy step when it may (root or CAP_NET_BIND_SERVICE) and
/// the port is free, and a connection there is the proof.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Port80 {
    /// The origin on a free port, and a watch on 127.0.0.1:80 when labs may listen there.
    #[default]
    Watch,
    /// The origin on 127.0.0.1:80, with URLs that carry no port (`--origin-on-80`), so a
    /// proxy that always connects to port 80 can be graded.
    Origin,
    /// The origin on a free port, port 80 left alone.
    Never,
}

/// Something labs listens on to see a proxy that connects to port 80: every connection that
/// arrives is read for its request (recorded as `P>O:`) and closed unanswered.
pub struct Port80Watch {
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Port80Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port80Watch").finish()
    }
}

/// The address a proxy hard-wired to port 80 reaches on loopback.
pub const PORT_80: &str = "127.0.0.1:80";

impl Port80Watch {
    /// Listens on 127.0.0.1:80, or says why it cannot (permission, or the port is taken).
    pub fn start(log: &ExchangeLog, timeout: Duration) -> std::io::Result<Port80Watch> {
        let listener = TcpListener::bind(PORT_80)?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (requests, stop, log) = (Arc::clone(&requests), Arc::clone(&stop), log.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let mut peer = Peer::from_stream(stream, false, timeout)
                        .with_hop(Hop::ProxyToOrigin)
                        .with_log(&log);
                    let line = match crate::http::read_request(&mut peer) {
                        Ok(seen) => format!("`{} {}`", seen.method, seen.target),
                        Err(_) => "a connection".to_string(),
                    };
                    if let Ok(mut r) = requests.lock() {
                        r.push(line);
                    }
                }
            })
        };
        Ok(Port80Watch {
            requests,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// What arrived on port 80 so far: the request line of each connection, in backquotes, or
    /// "a connection" for one that sent no request that parsed.
    pub fn arrivals(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for Port80Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], 80)),
            Duration::from_millis(200),
        );
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// One request as the origin received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The request target exactly as sent.
    pub target: String,
    /// The header fields in order, names as sent.
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
    /// The request asked for the connection to close after its answer (RFC 9112 §9.3).
    pub closes: bool,
}

impl Seen {
    /// The first value of a field.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
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
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Origin").field("addr", &self.addr).finish()
    }
}

impl Origin {
    /// Starts an origin on 127.0.0.1 (a free port) with a route function; exchanges go to `log`.
    pub fn start(
        routes: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
        log: &ExchangeLog,
        timeout: Duration,
    ) -> std::io::Result<Origin> {
        Origin::start_on(TcpListener::bind("127.0.0.1:0")?, routes, log, timeout)
    }

    /// Starts an origin on a listener the caller bound (127.0.0.1:80 for `--origin-on-80`).
    pub fn start_on(
        listener: TcpListener,
        routes: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
        log: &ExchangeLog,
        timeout: Duration,
    ) -> std::io::Result<Origin> {
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let routes: Routes = Arc::new(routes);
        let acceptor = {
            let (seen, stop, log) = (Arc::clone(&seen), Arc::clone(&stop), log.clone());
            let connections = Arc::clone(&connections);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (seen, routes, log) = (Arc::clone(&seen), Arc::clone(&routes), log.clone());
                    std::thread::spawn(move || serve(stream, &seen, &routes, &log, timeout));
                }
            })
        };
        Ok(Origin {
            addr,
            seen,
            connections,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The authority URLs name it by: `127.0.0.1:PORT`, or `127.0.0.1` on port 80 (the
    /// default port of `http`, RFC 9110 §4.2.1).
    pub fn authority(&self) -> String {
        match self.addr.port() {
            80 => self.addr.ip().to_string(),
            _ => self.addr.to_string(),
        }
    }

    /// How many connections reached it so far (with or without a request that parsed).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
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
        if request.closes {
            bytes.extend_from_slice(b"Connection: close\r\n");
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
        if peer.send(&bytes).is_err() || request.closes {
            break;
        }
    }
}
