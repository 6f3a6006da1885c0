//! Starting, reloading and stopping the server, whatever the I/O model.
//!
//! ```no_run
//! let server = server::Server::start(server::Config::for_tests(None)).unwrap();
//! println!("listening on http://{}/", server.local_addr());
//! server.shutdown(); // graceful: stop accepting, finish what is in flight, join every thread
//! ```
use std::io::{self, ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::{Config, Level, Model};
use crate::connection::{Connection, Want};
use crate::event_loop::{admit, EventLoop};
use crate::shared::{Settings, Shared};
use crate::stats::Snapshot;

/// The listen backlog: deep enough that bursts of new connections are not refused or delayed.
pub const BACKLOG: i32 = 1024;
/// How often an idle connection thread of the `threads` model wakes to notice a graceful stop
/// (10,000 idle threads then cost 5,000 wake-ups a second, not one per read).
const STOP_CHECK: Duration = Duration::from_secs(2);
/// Stack size of connection threads in the `threads` model. gzip (flate2's compressor state)
/// needs more than 256 KiB of stack in an unoptimised build; a stack is reserved address space,
/// and only the pages a thread touches cost memory, so 1 MiB costs an idle connection nothing.
const THREAD_STACK: usize = 1024 * 1024;

/// A running server.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    wakers: Vec<Arc<Waker>>,
    model: Model,
}

/// Opens a listening socket with the options every model wants.
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    // Accepted sockets inherit TCP_NODELAY from the listener (Linux copies the option at
    // accept), which saves a setsockopt per connection.
    socket.set_nodelay(true)?;
    // Connections reach `accept` with their request already there (see `socket_options`).
    crate::socket_options::defer_accept(&socket, crate::socket_options::DEFER_ACCEPT_SECS)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

fn bind_error(addr: SocketAddr, e: io::Error) -> io::Error {
    let hint = match e.kind() {
        ErrorKind::AddrInUse => {
            " (another program is using that port: pick another with --port, or stop it)"
        }
        ErrorKind::PermissionDenied => " (ports below 1024 need privileges: try --port 8080)",
        ErrorKind::AddrNotAvailable => {
            " (that address is not on this machine: try --bind 127.0.0.1)"
        }
        _ => "",
    };
    io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}{hint}"))
}

impl Server {
    /// Opens the root and logs, binds, and starts the chosen model's threads.
    pub fn start(config: Config) -> io::Result<Server> {
        config
            .validate()
            .map_err(|m| io::Error::new(ErrorKind::InvalidInput, m))?;
        let model = config.model;
        let workers = config.worker_count();
        let queue = config.queue;
        let requested = SocketAddr::new(config.bind, config.port);
        if config.root.is_none() {
            // The demo site's large file is made now, not by the first request for it.
            crate::demo::large_file();
        }
        let shared = Arc::new(Shared::new(Settings::open(config)?));
        let mut threads = Vec::new();
        let mut wakers = Vec::new();
        let addr;
        match model {
            Model::Epoll => {
                // One listener per loop (SO_REUSEPORT): the kernel spreads new connections over
                // them. A plain bind first, so "port in use" is reported instead of shared.
                if requested.port() != 0 {
                    drop(listen(requested, false).map_err(|e| bind_error(requested, e))?);
                }
                let first = listen(requested, true).map_err(|e| bind_error(requested, e))?;
                addr = first.local_addr()?;
                let mut listeners = vec![first];
                for _ in 1..workers {
                    listeners.push(listen(addr, true).map_err(|e| bind_error(addr, e))?);
                }
                for (i, l) in listeners.into_iter().enumerate() {
                    let (lp, waker) = EventLoop::new(l, Arc::clone(&shared))?;
                    wakers.push(waker);
                    threads.push(
                        std::thread::Builder::new()
                            .name(format!("loop-{i}"))
                            .spawn(move || lp.run())?,
                    );
                }
            }
            Model::Pool => {
                let l = listen(requested, false).map_err(|e| bind_error(requested, e))?;
                addr = l.local_addr()?;
                let (lp, waker, workers) =
                    EventLoop::with_pool(l, Arc::clone(&shared), workers, queue)?;
                wakers.push(waker);
                threads.push(
                    std::thread::Builder::new()
                        .name("reactor".into())
                        .spawn(move || lp.run())?,
                );
                threads.extend(workers);
            }
            Model::Threads => {
                let l = listen(requested, false).map_err(|e| bind_error(requested, e))?;
                addr = l.local_addr()?;
                l.set_nonblocking(true)?;
                let poll = Poll::new()?;
                poll.registry().register(
                    &mut SourceFd(&l.as_raw_fd()),
                    Token(0),
                    Interest::READABLE,
                )?;
                let waker = Arc::new(Waker::new(poll.registry(), Token(1))?);
                wakers.push(waker);
                let sh = Arc::clone(&shared);
                threads.push(
                    std::thread::Builder::new()
                        .name("acceptor".into())
                        .spawn(move || accept_threads(l, poll, sh))?,
                );
            }
        }
        let settings = shared.settings();
        let recording = settings.config.clock != crate::config::Clock::System;
        if settings.source.is_demo() && settings.config.port != addr.port() && !recording {
            // The demo pages name the port in their examples: the one really listened on
            // (not under a fixed clock, whose recordings and replays want the same bytes
            // whatever port they got).
            let mut config = settings.config.clone();
            config.port = addr.port();
            shared.replace(Settings::open(config)?);
        }
        shared.log(
            Level::Info,
            &format!("listening on http://{addr}/ ({model} model)"),
        );
        Ok(Server {
            addr,
            shared,
            threads,
            wakers,
            model,
        })
    }

    /// The address the server is bound to (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn model(&self) -> Model {
        self.model
    }

    /// The counters `/server-status` shows.
    pub fn status(&self) -> Snapshot {
        self.shared.stats.snapshot()
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Applies new settings to connections from their next request on. The address, port, model
    /// and worker count need a restart; a change to them is reported, not applied.
    pub fn reload(&self, mut config: Config) -> io::Result<()> {
        if config.port == 0 {
            // Asked for any free port: the one found is kept (and named by the demo pages).
            config.port = self.addr.port();
        }
        config
            .validate()
            .map_err(|m| io::Error::new(ErrorKind::InvalidInput, m))?;
        let old = self.shared.settings();
        let c = &old.config;
        if (config.bind, config.port, config.model, config.workers)
            != (c.bind, c.port, c.model, c.workers)
        {
            self.shared.log(
                Level::Warn,
                "reload: bind, port, model and workers only change on a restart",
            );
        }
        self.shared.replace(Settings::open(config)?);
        self.shared.log(Level::Info, "configuration reloaded");
        Ok(())
    }

    /// Begins a graceful stop: no new connections; requests in flight finish within the grace
    /// period; idle keep-alive connections close.
    pub fn stop(&self) {
        self.shared.stopping.store(true, SeqCst);
        for w in &self.wakers {
            let _ = w.wake();
        }
    }

    /// Waits for every thread of the server to finish (after [`Server::stop`]).
    pub fn join(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Connection threads of the `threads` model are detached: wait for them to finish,
        // within the grace period.
        let began = Instant::now();
        let grace = self.shared.settings().config.grace + Duration::from_secs(1);
        let until = began + grace;
        while self.shared.open.load(SeqCst) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        let open = self.shared.open.load(SeqCst);
        if open > 0 {
            self.shared
                .log(Level::Warn, &cut_at_stop(open, began.elapsed()));
            // Uploads cut short leave no temporary file, even if their thread never ends.
            if let Some(root) = &self.shared.settings().config.root {
                crate::upload::remove_unfinished_under(root);
            }
        }
    }

    /// [`Server::stop`] then [`Server::join`].
    pub fn shutdown(self) {
        self.stop();
        self.join();
    }
}

/// What the error log says when a graceful stop ends with connections still busy (a download
/// or an upload in progress): how many, and how long the stop waited for them.
pub fn cut_at_stop(open: usize, waited: Duration) -> String {
    let (n, them) = if open == 1 {
        ("1 connection was".to_string(), "it")
    } else {
        (format!("{open} connections were"), "them")
    };
    format!(
        "graceful stop: waited {:.1}s (the grace period, [timeouts] grace) and {n} still \
         busy (a download or upload in progress): cutting {them} short",
        waited.as_secs_f64()
    )
}

/// The `threads` model's acceptor: one thread per admitted connection.
fn accept_threads(listener: std::net::TcpListener, mut poll: Poll, shared: Arc<Shared>) {
    let mut events = Events::with_capacity(64);
    while !shared.is_stopping() {
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(500))) {
            if e.kind() != ErrorKind::Interrupted {
                shared.log(Level::Error, &format!("acceptor stopped: {e}"));
                return;
            }
        }
        loop {
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    let max = shared.settings().config.max_connections;
                    // Blocking already: on Linux an accepted socket does not inherit the
                    // listener's O_NONBLOCK (accept(2)), so no fcntl is needed here.
                    let admitted = admit(&shared, max, |busy| {
                        use std::io::Write;
                        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                        let _ = stream.write_all(busy);
                    });
                    if !admitted {
                        continue;
                    }
                    let sh = Arc::clone(&shared);
                    let spawned = std::thread::Builder::new()
                        .name("conn".into())
                        .stack_size(THREAD_STACK)
                        .spawn(move || serve_blocking(stream, peer, &sh));
                    if let Err(e) = spawned {
                        shared.open.fetch_sub(1, SeqCst);
                        shared.log(
                            Level::Error,
                            &format!("cannot start a connection thread: {e}"),
                        );
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    shared.log(Level::Error, &format!("accept failed: {e}"));
                    break;
                }
            }
        }
    }
}

/// One connection on a blocking socket: the simplest model to read.
///
/// The socket comes from the listener with `TCP_NODELAY` already on (see `listen`); each
/// socket option is set once, not per request.
pub fn serve_blocking(mut stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    let mut conn = Connection::new(peer, shared, Instant::now());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut read_timeout: Option<Duration> = None;
        let mut write_timeout_set = false;
        loop {
            let now = Instant::now();
            match conn.want() {
                Want::Close => return,
                Want::WaitUntil(at) => {
                    std::thread::sleep(at.saturating_duration_since(now));
                    conn.handle_timeout(shared, Instant::now());
                }
                Want::Write => {
                    if !write_timeout_set {
                        let _ = stream.set_write_timeout(Some(Duration::from_secs(60)));
                        write_timeout_set = true;
                    }
                    match conn.write_to(&mut stream, shared, now) {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => return,
                    }
                }
                Want::Read => {
                    if shared.is_stopping() {
                        conn.close_when_done();
                        if conn.want() == Want::Close {
                            return;
                        }
                    }
                    let deadline = conn.deadline();
                    if now >= deadline {
                        conn.handle_timeout(shared, now);
                        continue;
                    }
                    // Sleep in the read until the deadline, but wake at least every
                    // STOP_CHECK to notice a graceful stop. The timeout is only reset when it
                    // must shrink or has grown stale, so a busy connection makes no extra
                    // system call per read.
                    let wait = (deadline - now).clamp(Duration::from_millis(1), STOP_CHECK);
                    let stale = |t: Duration| t > wait || wait - t > Duration::from_millis(500);
                    if read_timeout.is_none_or(stale) {
                        let _ = stream.set_read_timeout(Some(wait));
                        read_timeout = Some(wait);
                    }
                    match conn.read_from(&mut stream, shared, now) {
                        Ok(_) => {}
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                        {
                            conn.release_buffers();
                            conn.handle_timeout(shared, Instant::now());
                        }
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => return,
                    }
                }
            }
        }
    }));
    if outcome.is_err() {
        shared.log(
            Level::Error,
            &format!("{peer}: a request handler panicked; the connection was closed"),
        );
    }
    // With bytes of the client's left unread, end our side first and take them without
    // waiting: closing over unread bytes answers them with a reset that can destroy the last
    // response before the client reads it.
    if conn.has_unread_input() {
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let _ = stream.set_nonblocking(true);
        let mut sink = [0u8; 4096];
        for _ in 0..16 {
            match stream.read(&mut sink) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
    conn.finish(shared);
    shared.open.fetch_sub(1, SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_sockets_inherit_nodelay_from_the_listener() {
        // The event loop relies on it instead of a setsockopt per connection.
        let listener = listen("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(accepted.nodelay().unwrap());
    }

    #[test]
    fn accepted_sockets_are_blocking_though_the_listener_is_not() {
        // The `threads` acceptor relies on it instead of an fcntl per connection.
        let listener = listen("127.0.0.1:0".parse().unwrap(), false).unwrap();
        listener.set_nonblocking(true).unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        std::io::Write::write_all(&mut client, b"G").unwrap();
        let (accepted, _) = loop {
            match listener.accept() {
                Ok(pair) => break pair,
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        };
        assert!(socket2::SockRef::from(&listener).nonblocking().unwrap());
        assert!(!socket2::SockRef::from(&accepted).nonblocking().unwrap());
    }
}
