//! `proxy`: a caching forward HTTP proxy, as a library the program and the tests share.
//!
//! ```text
//!  client ──► accept ──► the event loop (client_loop.rs, mio): every client connection waits
//!                          │  here between requests; wire::http1::Conn (server role) reads them
//!                          ├─ a fresh hit on an entry in memory ──► answered in the loop (HIT)
//!                          ▼  anything else: the connection goes to a thread of its own, and
//!                             comes back when it waits for its next request
//!                        request target (request_target.rs)
//!                          ├─ CONNECT host:port ─────────────► tunnel.rs (bytes both ways)
//!                          ├─ /, /proxy-status ──────────────► status_page.rs
//!                          └─ http://host:port/path, or the path form /http://host:port/path
//!                               │
//!                               ▼  forward.rs
//!                             cache lookup: wire::cache::lookup over store.rs's index
//!                               ├─ fresh ──────────► served from the store (HIT, or 304)
//!                               ├─ stale ──────────► conditional GET upstream ─► 304: freshen,
//!                               │                    serve stored (REVALIDATED) │ 200: as a miss
//!                               └─ miss ───────────► upstream.rs (pooled Conn, client role)
//!                                                    body streamed to the client and, when
//!                                                    storable, to a temporary file (MISS)
//! ```
//!
//! The rules of HTTP (message syntax, framing, connection reuse, RFC 9111's caching rules) are
//! all in `wire`; this crate is the shell that moves bytes between sockets, files and those
//! cores, reads the clock and keeps the statistics.
//!
//! # An event loop for waiting and hits, a thread for everything else
//!
//! A request's life here is a sequence of blocking steps that each depend on the last (read the
//! request, look up the cache, maybe wait for another request's fetch of the same URL, connect,
//! stream the body to the client and to disk at once). Written as straight-line code on a
//! thread, each step reads like the protocol it implements, timeouts are socket options, and a
//! slow disk or a slow origin stalls only its own connection; so every request that may wait on
//! something other than its client runs on a thread of its own (bounded by `--max-connections`).
//!
//! A fresh hit on a small object waits on nothing: its reply is prepared in the store
//! (`store::ReadyReply`) and fits the socket's buffer. Waking a thread for it, and putting the
//! thread back to sleep, cost more than the hit itself (one context switch or more per request
//! at 64 connections, see bench/proxy/README.md), so connections wait in one mio loop, which
//! answers those hits itself and hands a connection to a thread only for the rest. A reply the
//! socket cannot take at once also goes to a thread, which finishes writing it.
//!
//! # Using it from a test
//!
//! ```no_run
//! let dir = tempfile::tempdir().unwrap();
//! let proxy = proxy::Proxy::start(proxy::Options::for_tests(dir.path())).unwrap();
//! println!("curl -x http://{} http://example.com/", proxy.addr());
//! proxy.shutdown();
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

mod access_log;
mod client_loop;
mod client_side;
mod clock;
mod forward;
mod inflight;
mod request_body;
mod request_target;
mod status_page;
mod store;
mod tunnel;
pub mod upstream;

pub use clock::{Clock, ManualClock};
pub use store::{Rebuilt, Store};

/// How the proxy runs. [`Options::default`] is what the program uses without flags, except
/// that tests should use [`Options::for_tests`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on (`--bind`, 127.0.0.1).
    pub bind: IpAddr,
    /// Port to listen on (`-p`/`--port`, 8888; 0 picks a free one).
    pub port: u16,
    /// The cache: its folder and size, or `None` for `--no-cache`.
    pub cache: Option<CacheOptions>,
    /// How long to wait for an origin to connect or to send anything (`--upstream-timeout`).
    pub upstream_timeout: Duration,
    /// Ports CONNECT may open tunnels to (`--connect-ports`, 443).
    pub connect_ports: Vec<u16>,
    /// Most client connections open at once (`--max-connections`); more are answered 503.
    pub max_connections: usize,
    /// Where to write one line per request (`--access-log`; `-` is standard output).
    pub access_log: Option<PathBuf>,
    /// The name this proxy gives itself in `Via` (and recognises there to detect loops).
    /// `None` means its listening address.
    pub via_name: Option<String>,
    /// Fixed addresses for `host:port` names, like curl's `--resolve` (tests and traces).
    pub resolve: Vec<(String, SocketAddr)>,
    /// Where origins may be (`--only-loopback-upstreams` limits them to loopback, refusing
    /// everything else with 403 without resolving it).
    pub reach: upstream::Reach,
    /// How long a client may take to send a request head, from its first byte (or from the
    /// connection's start) to its blank line (`--header-timeout`, 10 s). A partial head is then
    /// answered 408; a connection that sent nothing is closed.
    pub header_timeout: Duration,
    /// How long a client connection may sit idle between requests (`--keep-alive-timeout`, 75 s).
    pub keep_alive_timeout: Duration,
    /// How long a client may go without sending any of a request body, or without taking any
    /// of a response, before the proxy gives up on it (`--body-timeout`, 60 s).
    pub body_timeout: Duration,
    /// The clock (the system's, or a manual one in tests).
    pub clock: Clock,
}

/// Where and how much the proxy caches.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// The folder holding one file per stored response (`--cache-dir`).
    pub dir: PathBuf,
    /// The most bytes the files may take together (`--cache-size`).
    pub size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8888,
            cache: Some(CacheOptions {
                dir: std::env::temp_dir().join("protolab-proxy-cache"),
                size: 256 * 1024 * 1024,
            }),
            upstream_timeout: Duration::from_secs(30),
            connect_ports: vec![443],
            max_connections: 1024,
            access_log: None,
            via_name: None,
            resolve: Vec::new(),
            reach: upstream::Reach::Anywhere,
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(75),
            body_timeout: Duration::from_secs(60),
            clock: Clock::System,
        }
    }
}

impl Options {
    /// 127.0.0.1 on a free port, caching in `cache_dir` (64 MiB), a 10 s upstream timeout, and
    /// origins on loopback only ([`upstream::Reach::LoopbackOnly`]): no test reaches the network.
    pub fn for_tests(cache_dir: &Path) -> Options {
        Options {
            port: 0,
            cache: Some(CacheOptions {
                dir: cache_dir.to_path_buf(),
                size: 64 * 1024 * 1024,
            }),
            upstream_timeout: Duration::from_secs(10),
            reach: upstream::Reach::LoopbackOnly,
            ..Options::default()
        }
    }
}

/// Counters shown on `/proxy-status`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests read from clients.
    pub requests: AtomicU64,
    /// Answered from the cache without contacting the origin.
    pub hits: AtomicU64,
    /// Fetched from the origin (nothing usable stored).
    pub misses: AtomicU64,
    /// Stored response validated with the origin (304) and served.
    pub revalidations: AtomicU64,
    /// Stored response served stale (allowed by the client, or the origin failed).
    pub stale: AtomicU64,
    /// Not cacheable by method, or the cache is off.
    pub bypasses: AtomicU64,
    /// CONNECT tunnels opened.
    pub tunnels: AtomicU64,
    /// Error responses the proxy made itself (4xx, 5xx).
    pub errors: AtomicU64,
    /// Body bytes sent to clients.
    pub bytes_to_clients: AtomicU64,
    /// Body bytes received from origins.
    pub bytes_from_origins: AtomicU64,
}

/// What every connection thread shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub options: Options,
    pub via_name: String,
    pub store: Option<Store>,
    pub inflight: inflight::InFlight,
    pub pool: upstream::Pool,
    pub stats: Stats,
    pub log: Option<access_log::AccessLog>,
    pub stopping: AtomicBool,
    pub sockets: SocketRegistry,
    pub connections: AtomicUsize,
    pub local_addr: SocketAddr,
    pub inbox: client_loop::Inbox,
}

/// Sockets that a thread may be blocked on, so shutdown can wake every thread.
#[derive(Debug, Default)]
pub(crate) struct SocketRegistry {
    next: AtomicU64,
    open: Mutex<HashMap<u64, TcpStream>>,
    idle: Condvar,
}

impl SocketRegistry {
    pub fn register(&self, stream: &TcpStream) -> SocketGuard<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(clone) = stream.try_clone() {
            self.open
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, clone);
        }
        SocketGuard { registry: self, id }
    }

    fn shutdown_all(&self) {
        for stream in self.open.lock().unwrap_or_else(|e| e.into_inner()).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Waits until every registered socket is gone, or `limit` passes.
    fn wait_empty(&self, limit: Duration) {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self
            .idle
            .wait_timeout_while(open, limit, |open| !open.is_empty());
    }
}

/// Unregisters its socket when dropped.
#[derive(Debug)]
pub(crate) struct SocketGuard<'a> {
    registry: &'a SocketRegistry,
    id: u64,
}

impl Drop for SocketGuard<'_> {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&self.id);
        if open.is_empty() {
            self.registry.idle.notify_all();
        }
    }
}

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    event_loop: Option<JoinHandle<()>>,
    rebuilt: Rebuilt,
}

impl Proxy {
    /// Binds, opens (and rebuilds) the cache, and starts accepting connections on a thread.
    pub fn start(options: Options) -> Result<Proxy, StartError> {
        let listen = SocketAddr::new(options.bind, options.port);
        let listener = TcpListener::bind(listen).map_err(|source| StartError::Listen {
            addr: listen,
            source,
        })?;
        let local_addr = listener.local_addr()?;
        let (store, rebuilt) = match &options.cache {
            Some(cache) => {
                let cache_dir = |problem| StartError::CacheDir {
                    dir: cache.dir.clone(),
                    problem,
                };
                check_cache_dir(&cache.dir).map_err(cache_dir)?;
                let (store, rebuilt) = Store::open(&cache.dir, cache.size)
                    .map_err(|e| cache_dir(CacheDirProblem::Unreadable(e)))?;
                (Some(store), rebuilt)
            }
            None => (None, Rebuilt::default()),
        };
        let log =
            match &options.access_log {
                Some(path) => Some(access_log::AccessLog::open(path).map_err(|source| {
                    StartError::AccessLog {
                        path: path.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        let via_name = options
            .via_name
            .clone()
            .unwrap_or_else(|| local_addr.to_string());
        let poll = mio::Poll::new()?;
        let inbox = client_loop::Inbox::new(&poll)?;
        let shared = Arc::new(Shared {
            pool: upstream::Pool::new(options.resolve.clone(), options.reach),
            options,
            via_name,
            store,
            inflight: inflight::InFlight::default(),
            stats: Stats::default(),
            log,
            stopping: AtomicBool::new(false),
            sockets: SocketRegistry::default(),
            connections: AtomicUsize::new(0),
            local_addr,
            inbox,
        });
        let looping = shared.clone();
        let event_loop = std::thread::Builder::new()
            .name("proxy-clients".into())
            .spawn(move || client_loop::run(&looping, poll))?;
        let accepting = shared.clone();
        let accept = std::thread::Builder::new()
            .name("proxy-accept".into())
            .spawn(move || accept_loop(listener, accepting))?;
        Ok(Proxy {
            shared,
            accept: Some(accept),
            event_loop: Some(event_loop),
            rebuilt,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// What opening the cache folder found.
    pub fn rebuilt(&self) -> Rebuilt {
        self.rebuilt
    }

    /// The counters shown on `/proxy-status`.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Bytes and entries in the cache.
    pub fn cache_usage(&self) -> (u64, usize) {
        self.shared.store.as_ref().map_or((0, 0), Store::usage)
    }

    /// Stops accepting, closes every connection and waits (up to 5 s) for their threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    /// Blocks until the accept thread ends (after [`Proxy::shutdown`] from another thread,
    /// or a fatal listener error).
    pub fn wait(mut self) {
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }

    fn stop(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept call with a connection of our own.
        let _ =
            TcpStream::connect_timeout(&wake_addr(self.shared.local_addr), Duration::from_secs(1));
        let _ = accept.join();
        self.shared.inbox.wake();
        self.shared.sockets.shutdown_all();
        self.shared.sockets.wait_empty(Duration::from_secs(5));
        if let Some(event_loop) = self.event_loop.take() {
            let _ = event_loop.join();
        }
        self.shared.pool.clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why [`Proxy::start`] failed; [`StartError::what_to_do`] is the advice for a person.
#[derive(Debug)]
pub enum StartError {
    /// The listening socket could not be bound.
    Listen {
        /// Where it was to listen.
        addr: SocketAddr,
        /// What the system said.
        source: io::Error,
    },
    /// The cache folder cannot be used.
    CacheDir {
        /// The folder (`--cache-dir`).
        dir: PathBuf,
        /// What is wrong with it.
        problem: CacheDirProblem,
    },
    /// The access log could not be opened.
    AccessLog {
        /// The file (`--access-log`).
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Anything else (threads, the event loop).
    Io(io::Error),
}

/// What is wrong with a cache folder.
#[derive(Debug)]
pub enum CacheDirProblem {
    /// The path names a file.
    IsAFile,
    /// It could not be created (a part of the path is a file, no permission, read-only, ...).
    CannotCreate(io::Error),
    /// It exists, but a file cannot be written in it.
    NotWritable(io::Error),
    /// Its entries could not be read.
    Unreadable(io::Error),
}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> StartError {
        StartError::Io(e)
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            StartError::CacheDir { dir, problem } => {
                write!(f, "cannot use the cache folder {}: ", dir.display())?;
                match problem {
                    CacheDirProblem::IsAFile => f.write_str("it is a file, not a folder"),
                    CacheDirProblem::CannotCreate(e) => match e.kind() {
                        io::ErrorKind::NotADirectory | io::ErrorKind::AlreadyExists => write!(
                            f,
                            "it cannot be created because a part of its path is a file ({e})"
                        ),
                        io::ErrorKind::PermissionDenied => write!(
                            f,
                            "it cannot be created: this user may not write in its parent ({e})"
                        ),
                        io::ErrorKind::ReadOnlyFilesystem => {
                            write!(f, "it is on a read-only file system ({e})")
                        }
                        _ => write!(f, "it cannot be created ({e})"),
                    },
                    CacheDirProblem::NotWritable(e) => match e.kind() {
                        io::ErrorKind::ReadOnlyFilesystem => {
                            write!(f, "it is on a read-only file system ({e})")
                        }
                        _ => write!(f, "this user cannot write files in it ({e})"),
                    },
                    CacheDirProblem::Unreadable(e) => {
                        write!(f, "its entries cannot be read ({e})")
                    }
                }
            }
            StartError::AccessLog { path, source } => {
                write!(f, "cannot open the access log {}: {source}", path.display())
            }
            StartError::Io(e) => write!(f, "cannot start: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Listen { source, .. } | StartError::AccessLog { source, .. } => {
                Some(source)
            }
            StartError::CacheDir {
                problem:
                    CacheDirProblem::CannotCreate(e)
                    | CacheDirProblem::NotWritable(e)
                    | CacheDirProblem::Unreadable(e),
                ..
            } => Some(e),
            StartError::CacheDir { .. } => None,
            StartError::Io(e) => Some(e),
        }
    }
}

impl StartError {
    /// One line of advice: what a person can change to get the proxy started.
    pub fn what_to_do(&self) -> String {
        match self {
            StartError::Listen { addr, source } => match source.kind() {
                io::ErrorKind::AddrInUse => format!(
                    "another program listens on port {}: stop it, or choose another port \
                     (-p 9000; -p 0 picks a free one)",
                    addr.port()
                ),
                io::ErrorKind::PermissionDenied => format!(
                    "ports below 1024 need extra privileges: choose another port (-p 8888; \
                     -p 0 picks a free one), not {}",
                    addr.port()
                ),
                io::ErrorKind::AddrNotAvailable => format!(
                    "{} is not an address of this machine: use --bind 127.0.0.1 or one that \
                     `ip addr` lists",
                    addr.ip()
                ),
                _ => "check --bind and -p".to_string(),
            },
            StartError::CacheDir { problem, .. } => match problem {
                CacheDirProblem::IsAFile => {
                    "give --cache-dir a folder (it is created if missing), \
                     or run without a cache with --no-cache"
                        .to_string()
                }
                _ => "give --cache-dir a folder this user can create and write in \
                     (e.g. --cache-dir ./cache), or run without a cache with --no-cache"
                    .to_string(),
            },
            StartError::AccessLog { .. } => {
                "give --access-log a file this user can write, or - for standard output".to_string()
            }
            StartError::Io(_) => "the system is short of threads or file descriptors; \
                 try again, or lower --max-connections"
                .to_string(),
        }
    }
}

/// Creates the cache folder if needed and checks that a file can be written in it, so a folder
/// the proxy cannot use is refused at start and not at the first response it tries to store.
fn check_cache_dir(dir: &Path) -> Result<(), CacheDirProblem> {
    if dir.exists() && !dir.is_dir() {
        return Err(CacheDirProblem::IsAFile);
    }
    std::fs::create_dir_all(dir).map_err(CacheDirProblem::CannotCreate)?;
    // `tmp-` files are the store's own temporaries: one left behind is removed at the next start.
    let probe = dir.join(format!("tmp-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .map_err(CacheDirProblem::NotWritable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The address to connect to to reach a listener bound to `addr` (0.0.0.0 is not connectable).
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                // Out of file descriptors and the like: back off a little rather than spin.
                eprintln!("proxy: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let open = shared.connections.fetch_add(1, Ordering::SeqCst);
        if open < shared.options.max_connections {
            // The event loop watches it from now on (and hands it to a thread when needed).
            shared
                .inbox
                .park(client_side::Parked::accepted(&shared, stream, peer));
            continue;
        }
        let thread_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("proxy-conn".into())
            .stack_size(256 * 1024)
            .spawn(move || client_side::refuse(&thread_shared, stream, peer));
        if spawned.is_err() {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
