//! `smtp send`: turns the command line into an envelope, a message and a client session
//! ([`wire::smtp::ClientSession`]), then moves bytes between the session and a socket, running
//! TLS when the session asks for it. With `-v` it prints the conversation in trace syntax.

use std::io::{self, IsTerminal, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use wire::smtp::message::{Attachment, Mailbox, MessageBuilder, LAB_MESSAGE};
use wire::smtp::{
    AuthChoice, ClientConfig, ClientError, ClientEvent, ClientSession, ClientState, Credentials,
    Delivery, Envelope, HelloVerb, QuitAfter, TlsMode, Transmit, TransmitKind,
};

use crate::cli::{AuthArg, QuitAfterArg, SendArgs, TlsArg};
use crate::connection::{Received, Stream};
use crate::style;
use crate::tls;

/// Exit code for bad arguments and unreadable files.
pub const EXIT_USAGE: i32 = 1;
/// Exit code when the connection cannot be made.
pub const EXIT_CONNECT: i32 = 2;

/// Messages larger than this are shown as `<body N bytes sha256=...>` with `-v` (`-vv` shows all).
pub const ELIDE_OVER: usize = 16 * 1024;

/// Everything `smtp send` needs, resolved from the command line.
#[derive(Debug, Clone)]
pub struct SendOptions {
    pub host: String,
    pub port: u16,
    pub config: ClientConfig,
    pub envelope: Envelope,
    pub message: Vec<u8>,
    pub ca: Option<PathBuf>,
    pub insecure: bool,
    /// 0 quiet, 1 trace with long messages elided, 2 everything.
    pub verbose: u8,
}

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct SendFailure {
    pub exit_code: i32,
    pub message: String,
}

impl SendFailure {
    fn usage(message: impl Into<String>) -> SendFailure {
        SendFailure {
            exit_code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Splits `host`, `host:port`, `[v6]:port` (a bare host means port 25).
pub fn split_server(server: &str) -> Result<(String, u16), SendFailure> {
    let bad = || {
        SendFailure::usage(format!(
            "--server {server:?} is not HOST or HOST:PORT (e.g. smtp.gmail.com:587)"
        ))
    };
    if let Some(rest) = server.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => 25,
            None => return Err(bad()),
        };
        return Ok((host.to_owned(), port));
    }
    match server.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            if host.is_empty() {
                return Err(bad());
            }
            Ok((host.to_owned(), port.parse().map_err(|_| bad())?))
        }
        Some(_) => Ok((server.to_owned(), 25)), // a bare IPv6 address
        None if server.is_empty() => Err(bad()),
        None => Ok((server.to_owned(), 25)),
    }
}

/// The TLS mode a port implies: 587 STARTTLS (submission), 465 implicit (submissions), else none.
pub fn default_tls(port: u16) -> TlsMode {
    match port {
        587 => TlsMode::StartTls,
        465 => TlsMode::Implicit,
        _ => TlsMode::None,
    }
}

/// `USER@host`, the sender when --from is not given (swaks does the same).
pub fn default_sender() -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| {
            !u.is_empty()
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
        .unwrap_or_else(|| "smtp".to_owned());
    format!("{user}@{}", local_hostname())
}

/// This machine's name for EHLO.
pub fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty() && !s.contains(' '))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// A random 64-bit number from the standard library's per-process hash keys (no RNG crate
/// needed for boundaries and Message-IDs).
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

fn read_file(path: &FsPath, what: &str) -> Result<Vec<u8>, SendFailure> {
    std::fs::read(path)
        .map_err(|e| SendFailure::usage(format!("cannot read {what} {}: {e}", path.display())))
}

fn read_text(path: &FsPath, what: &str) -> Result<String, SendFailure> {
    String::from_utf8(read_file(path, what)?)
        .map_err(|_| SendFailure::usage(format!("{what} {} is not UTF-8 text", path.display())))
}

/// Where the password comes from: never a plain flag (it would show in `ps` and shell history).
fn read_password(args: &SendArgs) -> Result<String, SendFailure> {
    if let Some(var) = &args.password_env {
        return std::env::var(var).map_err(|_| {
            SendFailure::usage(format!(
                "--password-env {var}: the environment variable {var} is not set"
            ))
        });
    }
    if let Some(path) = &args.password_file {
        let text = read_text(path, "password file")?;
        return Ok(text.lines().next().unwrap_or_default().to_owned());
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        prompt_password()
    } else {
        // Piped: the first line of standard input.
        let mut line = String::new();
        stdin.read_line(&mut line).map_err(|e| {
            SendFailure::usage(format!("cannot read the password from standard input: {e}"))
        })?;
        if line.is_empty() {
            return Err(SendFailure::usage(
                "no password: give --password-env VAR or --password-file FILE (there is no terminal to prompt on)",
            ));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// Asks on the terminal with echo off (through `stty`, so no terminal code here).
fn prompt_password() -> Result<String, SendFailure> {
    let stty = |arg: &str| {
        std::fs::File::open("/dev/tty")
            .and_then(|tty| {
                std::process::Command::new("stty")
                    .arg(arg)
                    .stdin(tty)
                    .status()
            })
            .map(|s| s.success())
            .unwrap_or(false)
    };
    eprint!("Password: ");
    let _ = io::stderr().flush();
    let hidden = stty("-echo");
    let mut line = String::new();
    let result = io::stdin().read_line(&mut line);
    if hidden {
        stty("echo");
    }
    eprintln!();
    result.map_err(|e| SendFailure::usage(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn mailboxes(list: &[String], flag: &str) -> Result<Vec<Mailbox>, SendFailure> {
    list.iter()
        .map(|text| {
            Mailbox::parse(text).map_err(|e| SendFailure::usage(format!("{flag} {text:?}: {e}")))
        })
        .collect()
}

/// Resolves the command line: reads files, builds the message, picks defaults. Each step is
/// its own function below, in the order a reader meets the flags in `--help`.
pub fn options_from_args(args: &SendArgs) -> Result<SendOptions, SendFailure> {
    let (host, port, tls) = server_from_args(args)?;
    let addresses = addresses_from_args(args)?;
    let envelope = addresses.envelope();
    let message = message_from_args(args, addresses.clone())?;
    let auth = match auth_user(args, &addresses.from) {
        Some(user) => Some((
            auth_choice(args),
            Credentials {
                user,
                password: read_password(args)?,
            },
        )),
        None => None,
    };
    Ok(SendOptions {
        host,
        port,
        config: client_config(args, tls, auth),
        envelope,
        message,
        ca: args.ca.clone(),
        insecure: args.insecure,
        verbose: args.verbose,
    })
}

/// `--server` (or the preset's, or the local sink's) and the TLS mode it implies.
fn server_from_args(args: &SendArgs) -> Result<(String, u16, TlsMode), SendFailure> {
    let server = match (&args.server, args.gmail) {
        (Some(server), _) => server.clone(),
        (None, true) => "smtp.gmail.com:587".to_owned(),
        (None, false) => "localhost:2525".to_owned(),
    };
    let (host, port) = split_server(&server)?;
    let tls = match (args.tls, args.gmail) {
        (Some(TlsArg::Starttls), _) | (None, true) => TlsMode::StartTls,
        (Some(TlsArg::Implicit), _) => TlsMode::Implicit,
        (Some(TlsArg::None), _) => TlsMode::None,
        (None, false) => default_tls(port),
    };
    Ok((host, port, tls))
}

/// Who the message is from and to, parsed.
#[derive(Debug, Clone)]
struct Addresses {
    from: Mailbox,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    bcc: Vec<Mailbox>,
}

impl Addresses {
    /// MAIL FROM and every RCPT TO: the To, Cc and Bcc recipients alike.
    fn envelope(&self) -> Envelope {
        Envelope {
            from: self.from.address.clone(),
            recipients: self
                .to
                .iter()
                .chain(&self.cc)
                .chain(&self.bcc)
                .map(|m| m.address.clone())
                .collect(),
        }
    }
}

/// `--from`, `--to`, `--cc`, `--bcc`, with the defaults of `--kr` (the lab's Alice and Bob)
/// and of swaks (USER@this-host as the sender).
fn addresses_from_args(args: &SendArgs) -> Result<Addresses, SendFailure> {
    let (default_from, default_to) = if args.kr {
        (
            Some("alice@crepes.fr".to_owned()),
            vec!["bob@hamburger.edu".to_owned()],
        )
    } else {
        (None, Vec::new())
    };
    if args.gmail && args.from.is_none() {
        return Err(SendFailure::usage(
            "--gmail needs --from you@gmail.com (it is also the AUTH user unless --user says otherwise)",
        ));
    }
    let from_text = args
        .from
        .clone()
        .or(default_from)
        .unwrap_or_else(default_sender);
    let from = Mailbox::parse(&from_text)
        .map_err(|e| SendFailure::usage(format!("--from {from_text:?}: {e}")))?;
    let to_texts = if args.to.is_empty() {
        default_to
    } else {
        args.to.clone()
    };
    let addresses = Addresses {
        from,
        to: mailboxes(&to_texts, "--to")?,
        cc: mailboxes(&args.cc, "--cc")?,
        bcc: mailboxes(&args.bcc, "--bcc")?,
    };
    if addresses.to.is_empty() && addresses.cc.is_empty() && addresses.bcc.is_empty() {
        return Err(SendFailure::usage(
            "at least one recipient is needed: --to ADDRESS (or --cc / --bcc)",
        ));
    }
    Ok(addresses)
}

/// The bytes after DATA: the lab's one line (`--kr`), a file as it is (`--raw`), or a message
/// built from the flags.
fn message_from_args(args: &SendArgs, addresses: Addresses) -> Result<Vec<u8>, SendFailure> {
    if args.kr {
        return Ok(LAB_MESSAGE.to_vec());
    }
    let Some(path) = &args.raw else {
        return build_message(args, addresses.from, addresses.to, addresses.cc);
    };
    let raw = read_file(path, "raw message")?;
    if has_bare_line_break(&raw) {
        eprintln!(
            "{} {} has line breaks that are not CRLF; they are sent as they are (RFC 5321 §2.3.8 wants CRLF)",
            style::warning("warning:"),
            path.display()
        );
    }
    Ok(raw)
}

/// The AUTH user: `--user`, or with `--gmail` the sender's address; `None` means no AUTH.
fn auth_user(args: &SendArgs, from: &Mailbox) -> Option<String> {
    match (&args.user, args.gmail) {
        (Some(user), _) => Some(user.clone()),
        (None, true) => Some(from.address.as_str().to_owned()),
        (None, false) => None,
    }
}

/// `--auth`, where `auto` means LOGIN for Gmail (what it expects) and the server's pick elsewhere.
fn auth_choice(args: &SendArgs) -> AuthChoice {
    match (args.auth, args.gmail) {
        (AuthArg::Plain, _) => AuthChoice::Plain,
        (AuthArg::Login, _) | (AuthArg::Auto, true) => AuthChoice::Login,
        (AuthArg::Auto, false) => AuthChoice::Auto,
    }
}

/// The session's settings: the greeting verb and name (`--kr`: HELO Alice), TLS, AUTH,
/// `--quit-after` and the timeout.
fn client_config(
    args: &SendArgs,
    tls: TlsMode,
    auth: Option<(AuthChoice, Credentials)>,
) -> ClientConfig {
    ClientConfig {
        hello_name: if args.kr {
            "Alice".to_owned()
        } else {
            args.helo.clone().unwrap_or_else(local_hostname)
        },
        hello: if args.kr {
            HelloVerb::Helo
        } else {
            HelloVerb::Ehlo
        },
        tls,
        auth,
        allow_plaintext_auth: args.allow_plaintext_auth,
        quit_after: args.quit_after.map(|q| match q {
            QuitAfterArg::Banner => QuitAfter::Banner,
            QuitAfterArg::Ehlo => QuitAfter::Ehlo,
            QuitAfterArg::Tls => QuitAfter::Tls,
            QuitAfterArg::Auth => QuitAfter::Auth,
            QuitAfterArg::Mail => QuitAfter::Mail,
            QuitAfterArg::Rcpt => QuitAfter::Rcpt,
        }),
        timeout: args.timeout,
    }
}

fn has_bare_line_break(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\n' => i == 0 || bytes[i - 1] != b'\r',
        b'\r' => bytes.get(i + 1) != Some(&b'\n'),
        _ => false,
    })
}

fn build_message(
    args: &SendArgs,
    from: Mailbox,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
) -> Result<Vec<u8>, SendFailure> {
    let text = match (&args.body, &args.body_file) {
        (Some(body), _) => Some(body.clone()),
        (None, Some(path)) => Some(read_text(path, "body file")?),
        (None, None) if args.html_file.is_none() => {
            Some("This is a test message sent by smtp send.\n".to_owned())
        }
        (None, None) => None,
    };
    let html = args
        .html_file
        .as_deref()
        .map(|p| read_text(p, "HTML file"))
        .transpose()?;
    let mut attachments = Vec::new();
    for path in &args.attach {
        let data = read_file(path, "attachment")?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                SendFailure::usage(format!("--attach {}: not a file name", path.display()))
            })?;
        let content_type = mime_guess::from_path(path)
            .first_or_octet_stream()
            .essence_str()
            .to_owned();
        attachments.push(Attachment {
            file_name,
            content_type,
            data,
        });
    }
    let mut headers = Vec::new();
    for header in &args.header {
        let (name, value) = header.split_once(':').ok_or_else(|| {
            SendFailure::usage(format!(
                "--header {header:?} is not 'Name: value' (e.g. --header 'X-Lab: 1')"
            ))
        })?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let now = SystemTime::now();
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let domain = from
        .address
        .as_str()
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .unwrap_or_else(local_hostname);
    let message_id = format!("{secs}.{:016x}@{domain}", random_u64());
    let boundary = format!("=_protolab_{:016x}", random_u64());
    let mut builder = MessageBuilder::new(from, now, &message_id, &boundary);
    builder.to = to;
    builder.cc = cc;
    builder.subject = Some(
        args.subject
            .clone()
            .unwrap_or_else(|| "Test message from smtp send".to_owned()),
    );
    builder.text = text;
    builder.html = html;
    builder.attachments = attachments;
    builder.headers = headers;
    builder
        .build()
        .map_err(|e| SendFailure::usage(e.to_string()))
}

/// Shows the conversation in trace syntax: `C:` lines as sent (credentials hidden), `S:`
/// lines as received, whole lines only, and `#` comments for what is not bytes.
pub struct TraceWriter<'a> {
    out: &'a mut dyn Write,
    enabled: bool,
    full_message: bool,
    pending: Vec<u8>,
}

impl<'a> TraceWriter<'a> {
    pub fn new(out: &'a mut dyn Write, verbose: u8) -> TraceWriter<'a> {
        TraceWriter {
            out,
            enabled: verbose > 0,
            full_message: verbose > 1,
            pending: Vec::new(),
        }
    }

    fn line(&mut self, text: &str) {
        if self.enabled {
            let _ = self.out.write_all(text.as_bytes());
        }
    }

    /// A metadata or comment line.
    pub fn comment(&mut self, text: &str) {
        self.flush_server();
        self.line(&format!("# {text}\n"));
    }

    pub fn client(&mut self, transmit: &Transmit) {
        self.flush_server();
        if !self.enabled {
            return;
        }
        let text = match transmit.kind {
            TransmitKind::Message if !self.full_message && transmit.bytes.len() > ELIDE_OVER => {
                let data = &transmit.bytes
                    [..transmit.bytes.len() - wire::smtp::dot_stuffing::END_OF_DATA.len()];
                let head_end = data
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(0, |i| i + 4);
                let (head, body) = data.split_at(head_end);
                let mut text = wire::trace::render_message("C: ", head, body, ELIDE_OVER);
                text.push_str(&wire::trace::render_payload(
                    "C: ",
                    wire::smtp::dot_stuffing::END_OF_DATA,
                ));
                text
            }
            _ => wire::trace::render_payload("C: ", transmit.shown()),
        };
        self.line(&text);
    }

    pub fn server(&mut self, bytes: &[u8]) {
        if !self.enabled {
            return;
        }
        self.pending.extend_from_slice(bytes);
        if let Some(last_lf) = self.pending.iter().rposition(|&b| b == b'\n') {
            let complete: Vec<u8> = self.pending.drain(..=last_lf).collect();
            let text = wire::trace::render_payload("S: ", &complete);
            self.line(&text);
        }
    }

    pub fn close(&mut self, tag: &str) {
        self.flush_server();
        self.line(&format!("{tag}: <close>\n"));
    }

    fn flush_server(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            let text = wire::trace::render_payload("S: ", &rest);
            self.line(&text);
        }
    }

    pub fn finish(&mut self) {
        self.flush_server();
        let _ = self.out.flush();
    }
}

/// A failed TLS handshake: exit 29, with what to do about the usual certificate problems.
fn tls_failure(options: &SendOptions, what: &str, error: &io::Error) -> SendFailure {
    let text = error.to_string();
    let unknown = text.contains("CaUsedAsEndEntity") || text.contains("UnknownIssuer");
    let hint = if unknown && options.ca.is_some() {
        "; the server's certificate is not the one in --ca, nor signed by a CA in it: \
         pass the server's own certificate file (or its CA's), or --insecure for a local test"
    } else if unknown && !options.insecure {
        "; for a self-signed server pass --ca CERT.pem (the server's certificate file), \
         or --insecure for a local test"
    } else if text.contains("NotValidForName") {
        "; the certificate is for another name: connect by the name it names, or use --insecure for a local test"
    } else {
        ""
    };
    SendFailure {
        exit_code: ClientState::TlsHandshake.exit_code(),
        message: format!(
            "{what} with {}:{} failed: {text}{hint}",
            options.host, options.port
        ),
    }
}

/// Connects to the first address that answers within the timeout.
fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), SendFailure> {
    let cannot = |why: String| {
        SendFailure {
        exit_code: EXIT_CONNECT,
        message: format!(
            "cannot connect to {host}:{port}: {why}; is the server running? (for a local sink run `smtp serve`)"
        ),
    }
    };
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| cannot(format!("the name does not resolve ({e})")))?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok((tcp, *addr));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(cannot(
        last.map_or_else(|| "no address".to_owned(), |e| e.to_string()),
    ))
}

/// Sends the message; the trace (with `-v`) and the outcome line go to `out`.
pub fn send(options: &SendOptions, out: &mut dyn Write) -> Result<Delivery, SendFailure> {
    let mut trace = TraceWriter::new(out, options.verbose);
    trace.comment(&format!(
        "title: smtp send to {}:{}",
        options.host, options.port
    ));
    let timeout = options.config.timeout;
    let (tcp, addr) = connect(&options.host, options.port, timeout)?;
    let tls_needed = options.config.tls != TlsMode::None;
    let tls_config = if tls_needed {
        let (config, roots) = tls::client_config(options.ca.as_deref(), options.insecure)
            .map_err(|e| SendFailure::usage(e.to_string()))?;
        if let Some(roots) = roots {
            trace.comment(&roots.describe());
        }
        Some(config)
    } else {
        None
    };
    let tls_failure = |e: io::Error| tls_failure(options, "TLS", &e);
    let mut stream = Stream::Plain(tcp);
    trace.comment(&format!("connected to {addr}"));
    if options.config.tls == TlsMode::Implicit {
        let name =
            tls::server_name(&options.host).map_err(|e| SendFailure::usage(e.to_string()))?;
        let config = tls_config.clone().expect("made above for implicit TLS");
        let (tls_stream, info) = stream
            .into_client_tls(config, name, timeout)
            .map_err(tls_failure)?;
        stream = tls_stream;
        trace.comment(&format!(
            "TLS from the first byte ({info}): everything below is encrypted"
        ));
    }
    let result = run_session(options, stream, tls_config, &mut trace);
    match &result {
        Ok(delivery) => trace.comment(&outcome_line(delivery)),
        Err(failure) => trace.comment(&format!(
            "failed (exit {}): {}",
            failure.exit_code, failure.message
        )),
    }
    trace.finish();
    result
}

fn run_session(
    options: &SendOptions,
    mut stream: Stream,
    tls_config: Option<Arc<rustls::ClientConfig>>,
    trace: &mut TraceWriter<'_>,
) -> Result<Delivery, SendFailure> {
    let timeout = options.config.timeout;
    let mut session = ClientSession::new(
        options.config.clone(),
        options.envelope.clone(),
        options.message.clone(),
        Instant::now(),
    );
    let _ = stream
        .tcp()
        .set_write_timeout(Some(timeout.max(Duration::from_secs(10))));
    let mut buf = vec![0u8; 64 * 1024];
    let fail = |session: &ClientSession, what: String| SendFailure {
        exit_code: session.state().exit_code().max(1),
        message: what,
    };
    loop {
        let mut wrote = false;
        while let Some(transmit) = session.poll_transmit() {
            wrote = true;
            trace.client(&transmit);
            if let Err(e) = stream
                .write_all(&transmit.bytes)
                .and_then(|_| stream.flush())
            {
                let message = format!(
                    "the connection broke while sending {}: {e}",
                    session.state()
                );
                return Err(fail(&session, message));
            }
        }
        if wrote {
            session.handle_flushed(Instant::now());
        }
        match session.poll_event() {
            Some(ClientEvent::StartTls) => {
                let config = tls_config
                    .clone()
                    .expect("STARTTLS only happens with a TLS mode");
                let name = tls::server_name(&options.host)
                    .map_err(|e| SendFailure::usage(e.to_string()))?;
                let (tls_stream, info) = stream
                    .into_client_tls(config, name, timeout)
                    .map_err(|e| tls_failure(options, "the TLS handshake after STARTTLS", &e))?;
                stream = tls_stream;
                trace.comment(&format!(
                    "TLS established ({info}): everything below is encrypted"
                ));
                session.handle_tls_established(Instant::now());
            }
            Some(ClientEvent::Done(result)) => {
                stream.close();
                trace.close("C");
                return result.map_err(|error| failure_of(&error));
            }
            None => {
                let now = Instant::now();
                match stream.receive(&mut buf, session.poll_timeout(), now) {
                    Received::Bytes(bytes) => {
                        trace.server(bytes);
                        session.handle_input(bytes, Instant::now());
                    }
                    Received::Closed => {
                        trace.close("S");
                        session.handle_eof(Instant::now());
                    }
                    Received::TimedOut => session.handle_timeout(Instant::now()),
                    Received::Failed(e) => {
                        trace.comment(&format!("read error: {e}"));
                        session.handle_eof(Instant::now());
                    }
                }
            }
        }
    }
}

fn failure_of(error: &ClientError) -> SendFailure {
    let hint = match error {
        ClientError::Rejected { reply, .. } if reply.code().get() / 100 == 4 => " Try again later.",
        ClientError::Rejected { state: ClientState::AuthPlain | ClientState::AuthLoginPassword, .. } => {
            " Check the user name and password (for Gmail: an app password, not the account password)."
        }
        _ => "",
    };
    SendFailure {
        exit_code: error.exit_code(),
        message: format!("{error}.{hint}"),
    }
}

/// One line that says how it went.
pub fn outcome_line(delivery: &Delivery) -> String {
    let mut line = match (&delivery.reply, delivery.quit_after) {
        (Some(reply), _) => format!(
            "delivered: {} (accepted {} of {} recipients)",
            reply.to_string().trim_end(),
            delivery.accepted.len(),
            delivery.accepted.len() + delivery.refused.len()
        ),
        (None, Some(point)) => {
            let mut line = format!(
                "stopped after {} as asked (--quit-after)",
                format!("{point:?}").to_lowercase()
            );
            if let Some(caps) = &delivery.capabilities {
                line.push_str(&format!("; the server offers: {caps}"));
            }
            line
        }
        (None, None) => "finished".to_owned(),
    };
    for (path, reply) in &delivery.refused {
        line.push_str(&format!(
            "; refused {path}: {}",
            reply.to_string().trim_end()
        ));
    }
    line
}

/// `smtp send` from the command line: returns the exit code.
pub fn run(args: &SendArgs) -> i32 {
    let options = match options_from_args(args) {
        Ok(options) => options,
        Err(failure) => {
            eprintln!("{} {}", style::error("smtp send:"), failure.message);
            return failure.exit_code;
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match send(&options, &mut out) {
        Ok(delivery) => {
            if options.verbose == 0 {
                let _ = writeln!(out, "{}", outcome_line(&delivery));
            }
            for (path, reply) in &delivery.refused {
                eprintln!(
                    "{} the server refused {path}: {}",
                    style::warning("warning:"),
                    reply.to_string().trim_end()
                );
            }
            0
        }
        Err(failure) => {
            let _ = out.flush();
            eprintln!("{} {}", style::error("smtp send:"), failure.message);
            failure.exit_code
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_ports() {
        assert_eq!(
            split_server("smtp.gmail.com:587").unwrap(),
            ("smtp.gmail.com".into(), 587)
        );
        assert_eq!(split_server("localhost").unwrap(), ("localhost".into(), 25));
        assert_eq!(split_server("[::1]:2525").unwrap(), ("::1".into(), 2525));
        assert_eq!(split_server("::1").unwrap(), ("::1".into(), 25));
        assert!(split_server("host:port").is_err());
        assert!(split_server(":25").is_err());
        assert_eq!(default_tls(587), TlsMode::StartTls);
        assert_eq!(default_tls(465), TlsMode::Implicit);
        assert_eq!(default_tls(2525), TlsMode::None);
    }

    fn send_args(words: &[&str]) -> SendArgs {
        let cli = crate::cli::Cli::parse_args(["smtp", "send"].iter().chain(words))
            .unwrap_or_else(|e| panic!("{words:?}: {e}"));
        match cli.command {
            crate::cli::CommandKind::Send(args) => *args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_server_and_the_tls_it_implies() {
        let server = |words: &[&str]| server_from_args(&send_args(words)).unwrap();
        assert_eq!(server(&[]), ("localhost".into(), 2525, TlsMode::None));
        assert_eq!(
            server(&["--gmail"]),
            ("smtp.gmail.com".into(), 587, TlsMode::StartTls)
        );
        assert_eq!(
            server(&["-s", "mail.test:465"]),
            ("mail.test".into(), 465, TlsMode::Implicit)
        );
        assert_eq!(
            server(&["-s", "mail.test:587", "--tls", "none"]),
            ("mail.test".into(), 587, TlsMode::None)
        );
        assert!(server_from_args(&send_args(&["-s", "mail.test:smtp"])).is_err());
    }

    #[test]
    fn addresses_defaults_and_the_envelope() {
        let kr = addresses_from_args(&send_args(&["--kr"])).unwrap();
        assert_eq!(kr.from.address.as_str(), "alice@crepes.fr");
        assert_eq!(kr.envelope().recipients.len(), 1);
        let all = addresses_from_args(&send_args(&[
            "-f",
            "Ann <a@x.test>",
            "-t",
            "b@x.test",
            "--cc",
            "c@x.test",
            "--bcc",
            "d@x.test",
        ]))
        .unwrap();
        let envelope = all.envelope();
        assert_eq!(envelope.from.as_str(), "a@x.test");
        let rcpts: Vec<&str> = envelope.recipients.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            rcpts,
            ["b@x.test", "c@x.test", "d@x.test"],
            "Bcc gets it too"
        );
        let e = addresses_from_args(&send_args(&["-f", "a@x.test"])).unwrap_err();
        assert!(e.message.contains("at least one recipient"), "{e}");
        let e = addresses_from_args(&send_args(&["--gmail", "-t", "b@x.test"])).unwrap_err();
        assert!(e.message.contains("--gmail needs --from"), "{e}");
    }

    #[test]
    fn who_authenticates_and_how() {
        let from = Mailbox::parse("me@gmail.com").unwrap();
        let args = send_args(&["--gmail"]);
        assert_eq!(auth_user(&args, &from).as_deref(), Some("me@gmail.com"));
        assert_eq!(auth_choice(&args), AuthChoice::Login);
        let args = send_args(&["-u", "alice"]);
        assert_eq!(auth_user(&args, &from).as_deref(), Some("alice"));
        assert_eq!(auth_choice(&args), AuthChoice::Auto);
        assert_eq!(auth_user(&send_args(&[]), &from), None);
        assert_eq!(
            auth_choice(&send_args(&["--auth", "plain", "--gmail"])),
            AuthChoice::Plain
        );
    }

    #[test]
    fn the_session_settings() {
        let kr = client_config(
            &send_args(&["--kr", "--timeout", "1.5s"]),
            TlsMode::None,
            None,
        );
        assert_eq!(
            (kr.hello, kr.hello_name.as_str()),
            (HelloVerb::Helo, "Alice")
        );
        assert_eq!(kr.timeout, Duration::from_millis(1500));
        let ehlo = client_config(
            &send_args(&["--helo", "me.test", "--quit-after", "rcpt"]),
            TlsMode::StartTls,
            None,
        );
        assert_eq!(
            (ehlo.hello, ehlo.hello_name.as_str()),
            (HelloVerb::Ehlo, "me.test")
        );
        assert_eq!(ehlo.quit_after, Some(QuitAfter::Rcpt));
        assert_eq!(ehlo.tls, TlsMode::StartTls);
    }

    #[test]
    fn bare_line_breaks_are_spotted() {
        assert!(!has_bare_line_break(b"a\r\nb\r\n"));
        assert!(has_bare_line_break(b"a\nb"));
        assert!(has_bare_line_break(b"a\rb"));
    }
}
