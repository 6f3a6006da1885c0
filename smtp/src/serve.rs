//! `smtp serve`: a local SMTP sink. Each connection gets a thread running a
//! [`wire::smtp::ServerSession`]; this shell reads and writes the socket, runs TLS when the
//! session asks (STARTTLS) or from the start (the `--smtps-port`), stores messages in a
//! Maildir and prints one summary line per message.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use wire::smtp::{
    CloseReason, Credentials, ReceivedMessage, ServerConfig, ServerEvent, ServerSession,
};

use crate::cli::ServeArgs;
use crate::connection::{Received, Stream};
use crate::maildir::Maildir;
use crate::style;
use crate::tls::{self, ServerIdentity};

/// Connections served at once; more are told 421 and closed.
pub const MAX_CONNECTIONS: usize = 64;

/// Where summary lines and (with `-v`) conversations go.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// A log that prints to standard output.
pub fn stdout_log() -> Log {
    Arc::new(|line: &str| {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        let _ = out.write_all(line.as_bytes());
        if !line.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    })
}

/// How the sink runs.
pub struct SinkConfig {
    pub bind: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Implicit TLS port (0 picks a free one).
    pub smtps_port: Option<u16>,
    pub maildir: Option<PathBuf>,
    /// TLS identity; `None` means no STARTTLS and no smtps port.
    pub tls: Option<ServerIdentity>,
    /// The protocol settings (hostname, accounts, limits). `starttls` is set from `tls`.
    pub session: ServerConfig,
    /// Print every conversation in trace syntax.
    pub verbose: bool,
    pub log: Log,
}

/// State every connection shares.
struct Shared {
    session: ServerConfig,
    tls: Option<Arc<rustls::ServerConfig>>,
    maildir: Option<Maildir>,
    verbose: bool,
    log: Log,
    connections: AtomicUsize,
    connection_ids: AtomicU64,
    message_ids: AtomicU64,
    log_lock: Mutex<()>,
}

/// A running sink.
pub struct Sink {
    addr: SocketAddr,
    smtps_addr: Option<SocketAddr>,
    certificate_pem: Option<String>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Sink {
    /// Binds the ports and starts accepting.
    pub fn start(config: SinkConfig) -> io::Result<Sink> {
        let listener = TcpListener::bind((config.bind, config.port))
            .map_err(|e| bind_error(config.bind, config.port, e))?;
        let addr = listener.local_addr()?;
        let smtps = match (config.smtps_port, &config.tls) {
            (Some(port), Some(_)) => Some(
                TcpListener::bind((config.bind, port))
                    .map_err(|e| bind_error(config.bind, port, e))?,
            ),
            _ => None,
        };
        let smtps_addr = smtps.as_ref().map(TcpListener::local_addr).transpose()?;
        let maildir = config.maildir.as_deref().map(Maildir::create).transpose()?;
        let mut session = config.session;
        session.starttls = config.tls.is_some();
        let certificate_pem = config.tls.as_ref().map(|t| t.certificate_pem.clone());
        let shared = Arc::new(Shared {
            session,
            tls: config.tls.map(|t| t.config),
            maildir,
            verbose: config.verbose,
            log: config.log,
            connections: AtomicUsize::new(0),
            connection_ids: AtomicU64::new(0),
            message_ids: AtomicU64::new(0),
            log_lock: Mutex::new(()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = vec![spawn_acceptor(
            listener,
            false,
            shared.clone(),
            stop.clone(),
        )?];
        if let Some(listener) = smtps {
            threads.push(spawn_acceptor(listener, true, shared, stop.clone())?);
        }
        Ok(Sink {
            addr,
            smtps_addr,
            certificate_pem,
            stop,
            threads,
        })
    }

    /// The SMTP address (STARTTLS when TLS is set up).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The implicit-TLS address, when there is one.
    pub fn smtps_addr(&self) -> Option<SocketAddr> {
        self.smtps_addr
    }

    /// The certificate clients should trust, in PEM.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// Waits until the sink stops (it does not on its own: `smtp serve` runs until killed).
    pub fn wait(mut self) {
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }

    /// Stops accepting connections and waits for the acceptors to end. Connections already
    /// open finish on their own (their clients hang up or the idle timeout ends them).
    pub fn shutdown(mut self) {
        self.stop_accepting();
    }

    fn stop_accepting(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for addr in [Some(self.addr), self.smtps_addr].into_iter().flatten() {
            // Wake the blocked accept() so it sees the flag.
            let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.stop_accepting();
        }
    }
}

fn bind_error(ip: IpAddr, port: u16, e: io::Error) -> io::Error {
    let hint = match e.kind() {
        io::ErrorKind::AddrInUse => "; another server uses it: pick another with --port",
        io::ErrorKind::PermissionDenied => "; ports below 1024 need root: use --port 2525",
        _ => "",
    };
    io::Error::new(e.kind(), format!("cannot listen on {ip}:{port}: {e}{hint}"))
}

fn spawn_acceptor(
    listener: TcpListener,
    implicit_tls: bool,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("smtp-accept".into())
        .spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(tcp) = conn else { continue };
                let shared = shared.clone();
                let _ = std::thread::Builder::new()
                    .name("smtp-conn".into())
                    .spawn(move || {
                        let peer = tcp
                            .peer_addr()
                            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
                        let id = shared.connection_ids.fetch_add(1, Ordering::Relaxed) + 1;
                        let open = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                        if open > MAX_CONNECTIONS {
                            let mut tcp = tcp;
                            let _ = tcp
                                .write_all(b"421 4.3.2 Too many connections, try again later\r\n");
                        } else {
                            serve_connection(tcp, peer, id, implicit_tls, &shared);
                        }
                        shared.connections.fetch_sub(1, Ordering::SeqCst);
                    });
            }
        })
}

/// One connection's trace, printed whole lines at a time.
struct ConnectionTrace<'a> {
    shared: &'a Shared,
    id: u64,
    pending: Vec<u8>,
}

impl ConnectionTrace<'_> {
    fn print(&self, text: &str) {
        if self.shared.verbose && !text.is_empty() {
            let _guard = self.shared.log_lock.lock();
            (self.shared.log)(text.trim_end_matches('\n'));
        }
    }

    fn comment(&mut self, text: &str) {
        self.flush();
        self.print(&format!("# [{}] {text}", self.id));
    }

    fn client(&mut self, bytes: &[u8]) {
        if !self.shared.verbose {
            return;
        }
        self.pending.extend_from_slice(bytes);
        if let Some(last) = self.pending.iter().rposition(|&b| b == b'\n') {
            let complete: Vec<u8> = self.pending.drain(..=last).collect();
            self.print(&self.render("C: ", &complete));
        }
    }

    fn server(&mut self, bytes: &[u8]) {
        if self.shared.verbose {
            self.flush();
            self.print(&self.render("S: ", bytes));
        }
    }

    fn render(&self, prefix: &str, bytes: &[u8]) -> String {
        if bytes.len() > crate::send::ELIDE_OVER {
            return format!("{prefix}{}\n", wire::trace::ElidedBody::of(bytes));
        }
        wire::trace::render_payload(prefix, bytes)
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.print(&self.render("C: ", &rest));
        }
    }
}

/// One client's connection to the sink, once TLS (if implicit) is up: the session, its trace,
/// and the steps that move bytes and events between the session and the stream. The stream
/// itself is passed to the steps, because STARTTLS replaces it.
struct SinkConnection<'a> {
    shared: &'a Shared,
    peer: SocketAddr,
    session: ServerSession,
    trace: ConnectionTrace<'a>,
    buf: Vec<u8>,
    out: Vec<u8>,
}

/// Whether the connection goes on after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    id: u64,
    implicit_tls: bool,
    shared: &Shared,
) {
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(60)));
    let mut trace = ConnectionTrace {
        shared,
        id,
        pending: Vec::new(),
    };
    trace.comment(&format!("connection from {peer}"));
    let mut stream = Stream::Plain(tcp);
    if implicit_tls {
        let Some(tls) = handshake(stream, shared, &mut trace, |info| {
            format!("TLS from the first byte ({info})")
        }) else {
            return;
        };
        stream = tls;
    }
    let mut conn = SinkConnection {
        shared,
        peer,
        session: ServerSession::new(shared.session.clone(), implicit_tls, Instant::now()),
        trace,
        buf: vec![0u8; 64 * 1024],
        out: Vec::new(),
    };
    loop {
        if conn.send_replies(&mut stream) == Flow::Stop {
            return;
        }
        match conn.session.poll_event() {
            Some(ServerEvent::StartTls) => match conn.start_tls(stream) {
                Some(tls) => stream = tls,
                None => return,
            },
            Some(event) => {
                if conn.on_event(event, &mut stream) == Flow::Stop {
                    return;
                }
            }
            None => conn.wait_for_client(&mut stream),
        }
    }
}

/// Runs the server side of a TLS handshake; the trace says how it went (`announce` words
/// success). `None` when it failed or TLS is not set up.
fn handshake(
    stream: Stream,
    shared: &Shared,
    trace: &mut ConnectionTrace<'_>,
    announce: impl FnOnce(&crate::connection::TlsInfo) -> String,
) -> Option<Stream> {
    let config = shared.tls.clone()?;
    match stream.into_server_tls(config, Duration::from_secs(30)) {
        Ok((tls, info)) => {
            trace.comment(&announce(&info));
            Some(tls)
        }
        Err(e) => {
            trace.comment(&format!("TLS handshake failed: {e}"));
            None
        }
    }
}

impl SinkConnection<'_> {
    /// Writes every reply the session has queued, in one write.
    fn send_replies(&mut self, stream: &mut Stream) -> Flow {
        self.out.clear();
        while let Some(bytes) = self.session.poll_transmit() {
            self.out.extend_from_slice(&bytes);
        }
        if self.out.is_empty() {
            return Flow::Continue;
        }
        self.trace.server(&self.out);
        if stream
            .write_all(&self.out)
            .and_then(|_| stream.flush())
            .is_err()
        {
            self.trace.comment("the client went away while we wrote");
            return Flow::Stop;
        }
        Flow::Continue
    }

    /// STARTTLS: the handshake on the replies' heels, then the session starts over encrypted.
    fn start_tls(&mut self, stream: Stream) -> Option<Stream> {
        let tls = handshake(stream, self.shared, &mut self.trace, |info| {
            format!("TLS established ({info}): everything below is encrypted")
        })?;
        self.session.handle_tls_established(Instant::now());
        Some(tls)
    }

    /// Every event but STARTTLS: store a message, note what the trace should show, or close.
    fn on_event(&mut self, event: ServerEvent, stream: &mut Stream) -> Flow {
        match event {
            ServerEvent::Message(message) => {
                let result = store(self.shared, &message, self.peer);
                self.session.handle_stored(result, Instant::now());
            }
            ServerEvent::Close(reason) => {
                self.trace
                    .comment(&format!("closing: {}", close_reason(&reason)));
                stream.close();
                return Flow::Stop;
            }
            other => {
                if let Some(note) = event_note(&other) {
                    self.trace.comment(&note);
                }
            }
        }
        Flow::Continue
    }

    /// Nothing to send or act on: wait for the client until the session's deadline.
    fn wait_for_client(&mut self, stream: &mut Stream) {
        let now = Instant::now();
        match stream.receive(&mut self.buf, self.session.poll_timeout(), now) {
            Received::Bytes(bytes) => {
                self.trace.client(bytes);
                self.session.handle_input(bytes, Instant::now());
            }
            Received::Closed => {
                self.trace.flush();
                self.session.handle_eof(Instant::now());
            }
            Received::TimedOut => self.session.handle_timeout(Instant::now()),
            Received::Failed(e) => {
                self.trace.comment(&format!("read error: {e}"));
                self.session.handle_eof(Instant::now());
            }
        }
    }
}

/// Why the sink closes, for the trace's `closing:` line.
fn close_reason(reason: &CloseReason) -> String {
    match reason {
        CloseReason::Quit => "QUIT".to_owned(),
        CloseReason::IdleTimeout => "idle timeout".to_owned(),
        CloseReason::TooManyErrors => "too many errors".to_owned(),
        CloseReason::ClientClosed(state) => {
            format!("the client closed the connection in state {state}")
        }
    }
}

/// The trace comment for an event that only needs telling (leniencies, discarded bytes, AUTH).
fn event_note(event: &ServerEvent) -> Option<String> {
    match event {
        ServerEvent::Leniency(leniency) => {
            Some(format!("accepted, though not RFC 5321: {leniency}"))
        }
        ServerEvent::DiscardedAfterStartTls(n) => Some(format!(
            "{n} bytes sent after STARTTLS before TLS were thrown away (RFC 3207 §6)"
        )),
        ServerEvent::Authenticated(user) => Some(format!("authenticated as {user}")),
        ServerEvent::StartTls | ServerEvent::Message(_) | ServerEvent::Close(_) => None,
    }
}

/// Stores a message (when there is a Maildir) and prints its summary line.
fn store(shared: &Shared, message: &ReceivedMessage, peer: SocketAddr) -> Result<String, String> {
    let now = SystemTime::now();
    let (id, place) = match &shared.maildir {
        Some(maildir) => match maildir.deliver(message, peer, now) {
            Ok(path) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, path.display().to_string())
            }
            Err(e) => {
                let _guard = shared.log_lock.lock();
                (shared.log)(&format!(
                    "{} cannot store a message from {peer}: {e}",
                    style::error("error:")
                ));
                return Err(e.to_string());
            }
        },
        None => {
            let n = shared.message_ids.fetch_add(1, Ordering::Relaxed) + 1;
            (format!("M{n}"), "(not stored: --no-store)".to_owned())
        }
    };
    let line = summary_line(message, peer, &place);
    let _guard = shared.log_lock.lock();
    (shared.log)(&line);
    Ok(id)
}

/// One line of the sink's message list, as MailHog lists messages: who from, who to, the
/// subject, the size and where it was stored, then the connection it came on.
///
/// `Mon, 07 Dec 2026 12:00:00 +0000  From: <a@x>  To: <b@y>, <c@z>  Subject: "Hi"  1234 bytes
/// maildir/new/NAME  (127.0.0.1:5555, TLS, user alice)` (on one line).
pub fn summary_line(message: &ReceivedMessage, peer: SocketAddr, place: &str) -> String {
    let head_end = message
        .data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message.data.len(), |i| i + 4);
    let head = wire::smtp::mime::Part::parse(&message.data[..head_end]).ok();
    let subject = head
        .and_then(|h| h.header_text("Subject"))
        .unwrap_or_default();
    let recipients: Vec<String> = message.recipients.iter().map(ToString::to_string).collect();
    let mut connection = peer.to_string();
    if message.encrypted {
        connection.push_str(", TLS");
    }
    if let Some(user) = &message.authenticated {
        connection.push_str(&format!(", user {user}"));
    }
    format!(
        "{}  From: {}  To: {}  Subject: {subject:?}  {} bytes  {place}  ({connection})",
        wire::smtp::message::rfc5322_date(SystemTime::now()),
        message.from,
        recipients.join(", "),
        message.data.len(),
    )
}

/// Where `smtp serve` keeps messages when no `--maildir` is given: `maildir` in protolab's data
/// folder (`$PROTOLAB_DATA_DIR`, else `$XDG_DATA_HOME/protolab`, else `~/.local/share/protolab`,
/// the folder `labs` keeps its progress in).
pub fn default_maildir() -> Option<PathBuf> {
    Some(cmdline::data_dir()?.join("maildir"))
}

/// Turns `--auth USER:PASS` into credentials.
pub fn parse_account(text: &str) -> Result<Credentials, String> {
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        }),
        _ => Err(format!(
            "--auth {text:?} is not USER:PASS (e.g. --auth alice:secret)"
        )),
    }
}

/// `smtp serve` from the command line: runs until killed; returns an exit code on failure.
pub fn run(args: &ServeArgs) -> i32 {
    let fail = |message: String| {
        eprintln!("{} {message}", style::error("smtp serve:"));
        1
    };
    let mut session = ServerConfig::new(&args.hostname);
    for account in &args.auth {
        match parse_account(account) {
            Ok(credentials) => session.credentials.push(credentials),
            Err(e) => return fail(e),
        }
    }
    session.require_tls = args.require_tls;
    session.require_auth = args.require_auth;
    session.max_size = args.max_size;
    session.idle_timeout = args.idle_timeout;
    let maildir = match (&args.maildir, args.no_store) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => match default_maildir() {
            Some(dir) => Some(dir),
            None => {
                return fail(
                    "there is no data folder to keep messages in (HOME is not set): \
                     give one with --maildir DIR, or --no-store"
                        .to_owned(),
                )
            }
        },
    };
    let identity = if args.no_tls {
        None
    } else {
        let made = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => tls::server_identity_from_files(cert, key),
            _ => tls::generated_server_identity(&args.hostname),
        };
        match made {
            Ok(identity) => Some(identity),
            Err(e) => return fail(e.to_string()),
        }
    };
    let generated = identity.as_ref().is_some_and(|i| i.generated);
    let pem = identity.as_ref().map(|i| i.certificate_pem.clone());
    let config = SinkConfig {
        bind: args.bind,
        port: args.port,
        smtps_port: args.smtps_port,
        maildir: maildir.clone(),
        tls: identity,
        session,
        verbose: args.verbose,
        log: stdout_log(),
    };
    let sink = match Sink::start(config) {
        Ok(sink) => sink,
        Err(e) => return fail(e.to_string()),
    };
    let mut lines = vec![format!("smtp sink listening on {}", sink.addr())];
    if let Some(pem) = pem {
        let cert_path = match &maildir {
            Some(dir) => dir.join("sink-cert.pem"),
            None => {
                std::env::temp_dir().join(format!("protolab-smtp-sink-{}.pem", sink.addr().port()))
            }
        };
        let written = generated && std::fs::write(&cert_path, pem).is_ok();
        let mut tls_line = String::from("  STARTTLS offered");
        if let Some(addr) = sink.smtps_addr() {
            tls_line.push_str(&format!("; implicit TLS on {addr}"));
        }
        if written {
            tls_line.push_str(&format!(
                "; self-signed certificate in {} (clients: --ca {} or --insecure)",
                cert_path.display(),
                cert_path.display()
            ));
        }
        lines.push(tls_line);
    }
    match &maildir {
        Some(dir) => lines.push(format!(
            "  storing messages in {}/new, envelopes in {}/envelope (read one: smtp show FILE)",
            dir.display(),
            dir.display()
        )),
        None => lines.push("  not storing messages (--no-store)".to_owned()),
    }
    if !args.auth.is_empty() {
        let users: Vec<&str> = args
            .auth
            .iter()
            .filter_map(|a| a.split_once(':').map(|(u, _)| u))
            .collect();
        lines.push(format!("  AUTH PLAIN and LOGIN for {}", users.join(", ")));
    }
    lines.push(format!(
        "  try: smtp send --server {} --from alice@example.org --to bob@example.org --body hello",
        sink.addr()
    ));
    println!("{}", lines.join("\n"));
    let _ = io::stdout().flush();
    sink.wait();
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::smtp::ServerState;

    #[test]
    fn why_the_sink_closes() {
        assert_eq!(close_reason(&CloseReason::Quit), "QUIT");
        assert_eq!(close_reason(&CloseReason::IdleTimeout), "idle timeout");
        assert_eq!(close_reason(&CloseReason::TooManyErrors), "too many errors");
        let closed = close_reason(&CloseReason::ClientClosed(ServerState::Data));
        assert!(
            closed.starts_with("the client closed the connection in state "),
            "{closed}"
        );
    }

    #[test]
    fn events_that_only_need_telling() {
        assert_eq!(
            event_note(&ServerEvent::Authenticated("alice".into())).as_deref(),
            Some("authenticated as alice")
        );
        assert!(event_note(&ServerEvent::DiscardedAfterStartTls(7))
            .unwrap()
            .starts_with("7 bytes sent after STARTTLS"));
        assert_eq!(event_note(&ServerEvent::StartTls), None);
        assert_eq!(event_note(&ServerEvent::Close(CloseReason::Quit)), None);
    }

    #[test]
    fn the_list_line_names_from_to_subject_size_and_file() {
        let message = ReceivedMessage {
            hello: "client.test".into(),
            from: wire::smtp::Path::new("a@x.test").unwrap(),
            parameters: Vec::new(),
            recipients: vec![wire::smtp::Path::new("b@x.test").unwrap()],
            data: b"Subject: hi\r\n\r\nbody\r\n".to_vec(),
            encrypted: true,
            authenticated: None,
        };
        let line = summary_line(&message, "127.0.0.1:5555".parse().unwrap(), "md/new/N");
        assert!(
            line.ends_with("  From: <a@x.test>  To: <b@x.test>  Subject: \"hi\"  21 bytes  md/new/N  (127.0.0.1:5555, TLS)"),
            "{line}"
        );
    }
}
