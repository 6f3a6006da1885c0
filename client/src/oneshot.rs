//! One-shot requests: `client GET localhost 8080 /`, `client [-X M] URL [URL...]`, `--raw`.
//!
//! For each URL: reuse the open connection when it goes to the same place and the last response
//! left it open (saying so), else connect; send the request; read the response through
//! [`ResponseReader`], writing the body to stdout (or `-o FILE`, decoded with `--compressed`) as it
//! arrives and the exchange to stderr with `-v`; then follow a redirect with `-L`. The exit code
//! is curl's for the first thing that went wrong.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::write::{GzDecoder, ZlibDecoder};

use crate::cli::RequestArgs;
use crate::net::{self, ConnectError, Deadline, Stream, Timing};
use crate::paint::Paint;
use crate::request::{RequestSpec, Version};
use crate::response::{Head, ReadEvent, ResponseError, ResponseReader};
use crate::target::{self, Scheme, Url};
use crate::tls::{self, TlsOptions};
use crate::transcript::{Direction, Transcript};
use crate::ExitCode;

/// Where the program's output goes; tests hand in buffers.
pub struct Io<'a> {
    /// The body (and `-i` heads).
    pub stdout: &'a mut dyn Write,
    /// The exchange (`-v`), diagnoses, errors, timing.
    pub stderr: &'a mut dyn Write,
    /// Read for `--raw -` and `--data-binary @-`.
    pub stdin: &'a mut dyn Read,
    /// Colour for stderr.
    pub paint: Paint,
}

/// A failure that ends the run, with its exit code and what to tell the user.
#[derive(Debug)]
struct Failure {
    code: ExitCode,
    message: String,
}

impl Failure {
    fn new(code: ExitCode, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<ConnectError> for Failure {
    fn from(e: ConnectError) -> Failure {
        Failure::new(e.exit_code(), e.to_string())
    }
}

/// An open connection and where it goes.
struct Open {
    stream: Stream,
    /// Host and port actually connected to (the proxy, through one).
    host: String,
    port: u16,
    scheme: Scheme,
    /// Which connection this is (#0, #1, ...), for the notes.
    number: usize,
    /// Requests sent on it.
    used: usize,
}

/// Where body bytes (and `-i` heads) go: stdout, or the `-o` file.
enum Target<'o> {
    Stdout(&'o mut dyn Write),
    File(BufWriter<&'o mut File>),
}

impl Write for Target<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Target::Stdout(w) => w.write(buf),
            Target::File(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::Stdout(w) => w.flush(),
            Target::File(w) => w.flush(),
        }
    }
}

/// The body's destination, through a decoder with `--compressed`.
enum Sink<'o> {
    Plain(Target<'o>),
    Gzip(GzDecoder<Target<'o>>),
    Deflate(ZlibDecoder<Target<'o>>),
}

impl<'o> Sink<'o> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Gzip(w) => w.write_all(bytes),
            Sink::Deflate(w) => w.write_all(bytes),
        }
    }

    /// Where undecoded bytes (heads) go.
    fn target(&mut self) -> &mut Target<'o> {
        match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.get_mut(),
            Sink::Deflate(w) => w.get_mut(),
        }
    }

    /// Finishes decoding; gives the target back.
    fn finish(self) -> io::Result<Target<'o>> {
        let mut target = match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
            Sink::Deflate(w) => w.finish()?,
        };
        target.flush()?;
        Ok(target)
    }
}

/// What the whole invocation asks for, worked out from the arguments.
struct Plan {
    method: String,
    method_forced: bool,
    urls: Vec<Url>,
    body: Option<(Vec<u8>, Option<&'static str>)>,
    raw: Option<Vec<u8>>,
}

/// Runs a one-shot invocation.
pub fn run(args: &RequestArgs, io: &mut Io<'_>) -> ExitCode {
    let started = Instant::now();
    let show_errors = !args.silent || args.show_error;
    let outcome = plan(args, io).and_then(|plan| execute(args, plan, io, started));
    match outcome {
        Ok(code) => code,
        Err(f) => {
            if show_errors {
                let _ = writeln!(
                    io.stderr,
                    "{}",
                    io.paint.error(&format!("client: {}", f.message))
                );
            }
            f.code
        }
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::new(
            ExitCode::ReadError,
            format!("cannot read {what} {}: {e}", path.display()),
        )
    })
}

fn read_at_arg(value: &str, io: &mut Io<'_>, what: &str) -> Result<Vec<u8>, Failure> {
    match value.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            io.stdin.read_to_end(&mut buf).map_err(|e| {
                Failure::new(ExitCode::ReadError, format!("cannot read stdin: {e}"))
            })?;
            Ok(buf)
        }
        Some(path) => read_file(Path::new(path), what),
        None => Ok(value.as_bytes().to_vec()),
    }
}

fn plan(args: &RequestArgs, io: &mut Io<'_>) -> Result<Plan, Failure> {
    let targets = target::from_words(&args.words, args.tls)
        .map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let mut urls = targets.urls;
    let mut body = None;
    let mut implied = "GET";
    if !args.data.is_empty() {
        let mut parts = Vec::new();
        for d in &args.data {
            let mut part = read_at_arg(d, io, "-d")?;
            if d.starts_with('@') {
                part.retain(|&b| b != b'\r' && b != b'\n');
            }
            parts.push(part);
        }
        body = Some((parts.join(&b'&'), Some("application/x-www-form-urlencoded")));
        implied = "POST";
    }
    if !args.data_binary.is_empty() {
        let mut all = match body.take() {
            Some((b, _)) => b,
            None => Vec::new(),
        };
        for (i, d) in args.data_binary.iter().enumerate() {
            if i > 0 || !all.is_empty() {
                all.push(b'&');
            }
            all.extend(read_at_arg(d, io, "--data-binary")?);
        }
        body = Some((all, Some("application/x-www-form-urlencoded")));
        implied = "POST";
    }
    if let Some(path) = &args.upload_file {
        let bytes = read_file(path, "-T")?;
        body = Some((bytes, None));
        implied = "PUT";
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for url in &mut urls {
            if url.path.ends_with('/') {
                url.path.push_str(&name);
            }
        }
    }
    if args.head {
        implied = "HEAD";
    }
    let (method, method_forced) = match (&args.method, &targets.method) {
        (Some(m), _) => (m.clone(), true),
        (None, Some(m)) => (m.clone(), true),
        (None, None) => (implied.to_string(), false),
    };
    let raw = match &args.raw {
        None => None,
        Some(source) => Some(raw_bytes(source, io)?),
    };
    if raw.is_some() && urls.len() != 1 {
        return Err(Failure::new(
            ExitCode::Usage,
            "--raw sends to one place: give HOST PORT or one URL",
        ));
    }
    Ok(Plan {
        method,
        method_forced,
        urls,
        body,
        raw,
    })
}

/// The bytes `--raw` sends: a file or stdin as they are, or a `.trace` file's `C:` side.
fn raw_bytes(source: &str, io: &mut Io<'_>) -> Result<Vec<u8>, Failure> {
    let bytes = if source == "-" {
        let mut buf = Vec::new();
        io.stdin
            .read_to_end(&mut buf)
            .map_err(|e| Failure::new(ExitCode::ReadError, format!("cannot read stdin: {e}")))?;
        buf
    } else {
        read_file(Path::new(source), "--raw")?
    };
    if source.ends_with(".trace") {
        return client_side_of_trace(&bytes, source)
            .map_err(|e| Failure::new(ExitCode::ReadError, e));
    }
    Ok(bytes)
}

/// The `C:` side of a trace file, every byte joined.
pub fn client_side_of_trace(text: &[u8], name: &str) -> Result<Vec<u8>, String> {
    let text =
        std::str::from_utf8(text).map_err(|_| format!("{name} is not a text .trace file"))?;
    let trace = wire::trace::Trace::parse(text).map_err(|e| format!("{name}: {e}"))?;
    trace
        .stream(wire::trace::Tag::Client)
        .map_err(|e| format!("{name}: {e}"))
}

fn build_request(
    args: &RequestArgs,
    plan: &Plan,
    url: &Url,
    method: &str,
    with_body: bool,
) -> Result<RequestSpec, Failure> {
    let mut spec = RequestSpec::new(method, url);
    if args.http10 {
        spec.version = Version::Http10;
    }
    if args.proxy.is_some() && url.scheme == Scheme::Http {
        spec.target = url.to_string();
    }
    if let Some(agent) = &args.user_agent {
        spec.set_header("User-Agent", agent);
    }
    if args.compressed {
        spec.set_header("Accept-Encoding", "gzip, deflate");
    }
    if with_body {
        if let Some((body, content_type)) = &plan.body {
            spec.set_body(body.clone(), *content_type);
        }
    }
    for line in &args.headers {
        spec.header_line(line)
            .map_err(|e| Failure::new(ExitCode::Usage, e))?;
    }
    Ok(spec)
}

fn execute(
    args: &RequestArgs,
    plan: Plan,
    io: &mut Io<'_>,
    started: Instant,
) -> Result<ExitCode, Failure> {
    let deadline = Deadline::after(started, args.max_time);
    let tls_config = if plan.urls.iter().any(|u| u.scheme == Scheme::Https) {
        let options = TlsOptions {
            insecure: args.insecure,
            ca_file: args.cacert.clone(),
        };
        Some(tls::client_config(&options).map_err(|e| {
            let code = match e {
                tls::TlsSetupError::BadServerName { .. } => ExitCode::Tls,
                _ => ExitCode::ReadError,
            };
            Failure::new(code, e.to_string())
        })?)
    } else {
        None
    };
    let show = args.verbose || args.hex || (plan.raw.is_some() && !args.silent);
    let paint = io.paint;
    let mut out_file = match &args.output {
        Some(path) => Some(File::create(path).map_err(|e| {
            Failure::new(
                ExitCode::WriteError,
                format!("cannot write -o {}: {e}", path.display()),
            )
        })?),
        None => None,
    };
    let mut result = ExitCode::Ok;
    let mut open: Option<Open> = None;
    let mut connections = 0usize;
    let mut recording = wire::trace::Trace::new(wire::trace::Transport::Tcp);
    let Io { stdout, stderr, .. } = io;
    let mut queue: Vec<(Url, String, bool)> = plan
        .urls
        .iter()
        .map(|u| (u.clone(), plan.method.clone(), true))
        .collect();
    queue.reverse();
    let mut redirects = 0u32;
    let last_index = plan.urls.len();
    let mut done_urls = 0usize;
    while let Some((url, method, with_body)) = queue.pop() {
        let request_bytes = match &plan.raw {
            Some(raw) => raw.clone(),
            None => build_request(args, &plan, &url, &method, with_body)?.to_bytes(),
        };
        let mut transcript = Transcript::new(
            if args.silent {
                None
            } else {
                Some(&mut **stderr as &mut dyn Write)
            },
            paint,
            args.hex,
            args.record.is_some(),
        );
        transcript.show_exchange(show);
        let mut timing = Timing::default();
        let t0 = Instant::now();

        // Connect, or reuse.
        let (conn_host, conn_port) = match &args.proxy {
            Some(p) => split_host_port(p)?,
            None => (url.host.clone(), url.port),
        };
        let reusable = open.as_ref().is_some_and(|o| {
            o.host.eq_ignore_ascii_case(&conn_host) && o.port == conn_port && o.scheme == url.scheme
        });
        if !reusable {
            if let Some(mut old) = open.take() {
                let _ = old.stream.shutdown_write();
                note(
                    &mut transcript,
                    &format!(
                        "closing connection #{} (the next URL goes elsewhere)",
                        old.number
                    ),
                );
            }
            let left = deadline
                .min_with(Instant::now(), args.connect_timeout)
                .map_err(|_| timeout_failure(args, 0))?;
            let addrs = net::resolve(&conn_host, conn_port, left)?;
            timing.resolved = Some(t0.elapsed());
            let left = deadline
                .min_with(
                    Instant::now(),
                    args.connect_timeout.map(|c| c.saturating_sub(t0.elapsed())),
                )
                .map_err(|_| timeout_failure(args, 0))?;
            let tcp = net::connect(&conn_host, conn_port, &addrs, left)?;
            timing.connected = Some(t0.elapsed());
            let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            let stream = match (&tls_config, url.scheme) {
                (Some(config), Scheme::Https) => {
                    if args.proxy.is_some() {
                        return Err(Failure::new(
                            ExitCode::UnsupportedProtocol,
                            "https:// through --proxy (CONNECT tunnels) is not supported; use http:// through the proxy, or no proxy",
                        ));
                    }
                    let left = deadline
                        .remaining(Instant::now())
                        .map_err(|_| timeout_failure(args, 0))?;
                    let s = Stream::handshake(tcp, &url.host, url.port, Arc::clone(config), left)?;
                    timing.tls = Some(t0.elapsed());
                    s
                }
                _ => Stream::Plain(tcp),
            };
            note(
                &mut transcript,
                &format!(
                    "connection #{connections} to {conn_host} port {conn_port} ({peer}){}{}",
                    if stream.is_tls() { ", TLS" } else { "" },
                    if args.proxy.is_some() {
                        ", the proxy"
                    } else {
                        ""
                    }
                ),
            );
            if args.insecure && stream.is_tls() {
                note(
                    &mut transcript,
                    "DANGER: -k: the server's certificate was not checked",
                );
            }
            open = Some(Open {
                stream,
                host: conn_host,
                port: conn_port,
                scheme: url.scheme,
                number: connections,
                used: 0,
            });
            connections += 1;
        } else if let Some(o) = &open {
            note(
                &mut transcript,
                &format!(
                    "reusing connection #{} to {} port {} (request {} on it)",
                    o.number,
                    o.host,
                    o.port,
                    o.used + 1
                ),
            );
        }
        let conn = open.as_mut().expect("a connection is open");
        conn.used += 1;

        // Send.
        transcript.sent(&request_bytes).map_err(stderr_failure)?;
        if let Ok(left) = deadline.remaining(Instant::now()) {
            let _ = conn.stream.set_write_timeout(left);
        }
        if let Err(e) = conn
            .stream
            .write_all(&request_bytes)
            .and_then(|_| conn.stream.flush())
        {
            let code = if is_timeout(&e) {
                ExitCode::Timeout
            } else {
                ExitCode::SendError
            };
            return Err(Failure::new(
                code,
                format!("sending the request failed: {e}"),
            ));
        }

        // Receive.
        let is_final_url = done_urls + 1 >= last_index && queue.is_empty();
        let target = match out_file.as_mut() {
            Some(f) => Target::File(BufWriter::new(f)),
            None => Target::Stdout(&mut **stdout),
        };
        let mut exchange = Exchange {
            args,
            sink: Some(Sink::Plain(target)),
            timing: &mut timing,
            t0,
            head: None,
            fail_hit: false,
            discard_body: false,
        };
        let outcome = receive(
            &mut exchange,
            conn,
            &method,
            &mut transcript,
            deadline,
            plan.raw.is_some(),
        );
        let head = exchange.head.take();
        let fail_hit = exchange.fail_hit;
        if let Some(sink) = exchange.sink.take() {
            sink.finish().map_err(|e| {
                Failure::new(
                    ExitCode::WriteError,
                    format!("writing the body failed: {e}"),
                )
            })?;
        }
        timing.total = Some(t0.elapsed());
        let fate = match outcome {
            Ok(fate) => fate,
            Err(failure) => {
                let _ = transcript.flush();
                if let Some(t) = transcript.take_recording() {
                    append_trace(&mut recording, t);
                }
                if let Some(path) = &args.record {
                    save_trace(path, &recording, &url)?;
                }
                if args.timing {
                    let _ = writeln!(
                        stderr,
                        "{}",
                        paint.note(&format!("timing: {}", timing.summary()))
                    );
                }
                return Err(failure);
            }
        };
        match fate {
            Fate::LeftOpen => {}
            Fate::MustClose => {
                if let Some(mut o) = open.take() {
                    note(
                        &mut transcript,
                        &format!("the response ends connection #{} (Connection: close, or HTTP/1.0 without keep-alive); closing it", o.number),
                    );
                    let _ = o.stream.shutdown_write();
                }
            }
            Fate::ClosedByServer => {
                open = None;
            }
        }
        if is_final_url || !matches!(fate, Fate::LeftOpen) {
            if let (Fate::LeftOpen, Some(mut o)) = (fate, open.take()) {
                if is_final_url && !(args.follow && head.as_ref().is_some_and(is_redirect)) {
                    note(&mut transcript, &format!("connection #{} left open by the server (keep-alive); closing it, nothing more to send", o.number));
                    let _ = o.stream.shutdown_write();
                } else {
                    open = Some(o);
                }
            }
        }
        let _ = transcript.flush();
        if let Some(t) = transcript.take_recording() {
            append_trace(&mut recording, t);
        }
        drop(transcript);
        if args.timing {
            let _ = writeln!(
                stderr,
                "{}",
                paint.note(&format!("timing: {}", timing.summary()))
            );
        }
        if fail_hit {
            result = ExitCode::HttpError;
            if let Some(h) = &head {
                if !args.silent || args.show_error {
                    let _ = writeln!(
                        stderr,
                        "{}",
                        paint.error(&format!(
                            "client: the server answered {} {} (--fail)",
                            h.status, h.reason
                        ))
                    );
                }
            }
            break;
        }
        // Follow a redirect.
        if let Some(h) = &head {
            if args.follow && is_redirect(h) {
                if let Some(location) = h.header("location") {
                    redirects += 1;
                    if redirects > args.max_redirects {
                        return Err(Failure::new(
                            ExitCode::TooManyRedirects,
                            format!("more than {} redirects (--max-redirs); the last pointed to {location}", args.max_redirects),
                        ));
                    }
                    let next = url
                        .join(location)
                        .map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
                    let (next_method, keep_body) = match h.status {
                        303 if method != "HEAD" => ("GET".to_string(), false),
                        301 | 302 if method == "POST" && !plan.method_forced => {
                            ("GET".to_string(), false)
                        }
                        _ => (method.clone(), with_body),
                    };
                    if show {
                        let _ = writeln!(
                            stderr,
                            "{}",
                            paint.note(&format!("# following {} to {next}", h.status))
                        );
                    }
                    queue.push((next, next_method, keep_body));
                    continue;
                }
            }
        }
        done_urls += 1;
    }
    if let Some(mut o) = open.take() {
        let _ = o.stream.shutdown_write();
    }
    if let Some(path) = &args.record {
        let first = plan.urls.first().cloned();
        if let Some(url) = first {
            save_trace(path, &recording, &url)?;
        }
    }
    Ok(result)
}

fn is_redirect(h: &Head) -> bool {
    matches!(h.status, 301 | 302 | 303 | 307 | 308) && h.header("location").is_some()
}

fn append_trace(into: &mut wire::trace::Trace, from: wire::trace::Trace) {
    for item in from.items() {
        match item {
            wire::trace::Item::Data { .. } => {
                if let Some(bytes) = item_bytes(item) {
                    into.push_bytes(item.tag(), &bytes);
                }
            }
            wire::trace::Item::Event { event, .. } => into.push_event(item.tag(), *event),
        }
    }
}

fn item_bytes(item: &wire::trace::Item) -> Option<Vec<u8>> {
    match item {
        wire::trace::Item::Data { payload, .. } => payload.as_bytes().map(<[u8]>::to_vec),
        _ => None,
    }
}

fn save_trace(path: &Path, trace: &wire::trace::Trace, url: &Url) -> Result<(), Failure> {
    let mut trace = trace.clone();
    let _ = trace.set_meta("title", &format!("client {url}"));
    std::fs::write(path, trace.render()).map_err(|e| {
        Failure::new(
            ExitCode::WriteError,
            format!("cannot write --record {}: {e}", path.display()),
        )
    })
}

fn split_host_port(text: &str) -> Result<(String, u16), Failure> {
    let text = text
        .strip_prefix("http://")
        .unwrap_or(text)
        .trim_end_matches('/');
    let bad = || {
        Failure::new(
            ExitCode::Usage,
            format!("--proxy {text:?}: write it as HOST:PORT"),
        )
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    Ok((host.to_string(), port.parse().map_err(|_| bad())?))
}

fn note(t: &mut Transcript<&mut dyn Write>, text: &str) {
    let _ = t.note(text);
}

fn stderr_failure(e: io::Error) -> Failure {
    Failure::new(ExitCode::WriteError, format!("cannot write to stderr: {e}"))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn timeout_failure(args: &RequestArgs, received: usize) -> Failure {
    let limit = args.max_time.or(args.connect_timeout).unwrap_or_default();
    Failure::new(
        ExitCode::Timeout,
        format!(
            "timed out after {} ms with {received} bytes received; raise --max-time if the server is just slow",
            limit.as_millis()
        ),
    )
}

/// What became of the connection after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The server left it open for another request.
    LeftOpen,
    /// The response ends the connection (`Connection: close`, HTTP/1.0, a close-delimited body).
    MustClose,
    /// The server closed it.
    ClosedByServer,
}

struct Exchange<'e, 'o> {
    args: &'e RequestArgs,
    sink: Option<Sink<'o>>,
    timing: &'e mut Timing,
    t0: Instant,
    head: Option<Head>,
    fail_hit: bool,
    discard_body: bool,
}

impl Exchange<'_, '_> {
    fn target(&mut self) -> &mut dyn Write {
        self.sink
            .as_mut()
            .expect("the sink is open until the exchange ends")
            .target()
    }

    /// Puts a decoder in front of the target once the final head is known.
    fn open_decoder(&mut self, head: &Head) -> Result<(), Failure> {
        let args = self.args;
        if args.fail && head.status >= 400 {
            self.fail_hit = true;
            return Ok(());
        }
        if args.follow && is_redirect(head) {
            // As with curl -L, only the final response's body is written.
            self.discard_body = true;
            return Ok(());
        }
        if !args.compressed {
            return Ok(());
        }
        let coding = head
            .header("content-encoding")
            .map(|c| c.trim().to_ascii_lowercase());
        let sink = self.sink.take().expect("the sink is open");
        let target = sink.finish().map_err(write_failure)?;
        self.sink = Some(match coding.as_deref() {
            Some("gzip") | Some("x-gzip") => Sink::Gzip(GzDecoder::new(target)),
            Some("deflate") => Sink::Deflate(ZlibDecoder::new(target)),
            _ => Sink::Plain(target),
        });
        Ok(())
    }
}

const READ_SIZE: usize = 64 * 1024;

/// Reads one response (and any 1xx before it), delivering the body, until its end.
fn receive(
    ex: &mut Exchange<'_, '_>,
    conn: &mut Open,
    method: &str,
    transcript: &mut Transcript<&mut dyn Write>,
    deadline: Deadline,
    raw: bool,
) -> Result<Fate, Failure> {
    let mut reader = ResponseReader::new(method);
    let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
    let mut start = 0usize;
    let mut received = 0usize;
    let mut chunk = vec![0u8; READ_SIZE];
    let idle_limit = if raw {
        Some(Duration::from_secs(2))
    } else {
        None
    };
    loop {
        // Drain what is buffered.
        loop {
            let (used, event) = match reader.handle_bytes(&buf[start..]) {
                Ok(step) => step,
                Err(e) => {
                    // Show what the server sent, not just the prefix that gave it away: read
                    // on until it closes or pauses (half a second), up to 64 KiB.
                    let closed = drain_after_error(conn, &mut buf, deadline);
                    let _ = transcript.received(&buf[start..]);
                    if closed {
                        let _ = transcript.closed(Direction::Received);
                    }
                    return Err(response_failure(transcript, &e, &buf[start..], received));
                }
            };
            // Bytes are shown as the reader uses them, so a diagnosis follows the bytes it is
            // about, however the reads were cut.
            transcript
                .received(&buf[start..start + used])
                .map_err(stderr_failure)?;
            let range_base = start;
            start += used;
            match event {
                None => break,
                Some(ev) => {
                    if let Some(fate) = deliver(ex, transcript, ev, &buf, range_base)? {
                        return Ok(fate);
                    }
                }
            }
        }
        if start > 0 && start == buf.len() {
            buf.clear();
            start = 0;
        }
        // Read more.
        let left = deadline
            .min_with(Instant::now(), idle_limit)
            .map_err(|_| timeout_failure(ex.args, received))?;
        let _ = conn.stream.set_read_timeout(left);
        match conn.stream.read(&mut chunk) {
            Ok(0) => {
                transcript.received(&buf[start..]).map_err(stderr_failure)?;
                transcript
                    .closed(Direction::Received)
                    .map_err(stderr_failure)?;
                match reader.handle_eof(buf.len() - start) {
                    Ok(Some(ev)) => {
                        let fate = deliver(ex, transcript, ev, &buf, start)?;
                        note(transcript, "connection closed by the server");
                        return Ok(fate
                            .map(|_| Fate::ClosedByServer)
                            .unwrap_or(Fate::ClosedByServer));
                    }
                    Ok(None) => {
                        note(transcript, "connection closed by the server");
                        return Ok(Fate::ClosedByServer);
                    }
                    Err(e) => {
                        return Err(response_failure(transcript, &e, &buf[start..], received))
                    }
                }
            }
            Ok(n) => {
                if ex.timing.first_byte.is_none() {
                    ex.timing.first_byte = Some(ex.t0.elapsed());
                }
                received += n;
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                let _ = transcript.received(&buf[start..]);
                if raw && deadline.remaining(Instant::now()).is_ok() {
                    let _ = transcript.flush();
                    note(
                        transcript,
                        &format!(
                            "the server sent nothing more for {}s; stopping (did the bytes end the request? a head ends with an empty line, \\r\\n\\r\\n)",
                            idle_limit.unwrap_or_default().as_secs()
                        ),
                    );
                    return Ok(Fate::LeftOpen);
                }
                let _ = transcript.flush();
                return Err(timeout_failure(ex.args, received));
            }
            Err(e) => {
                let _ = transcript.received(&buf[start..]);
                let _ = transcript.flush();
                let code = ExitCode::RecvError;
                return Err(Failure::new(
                    code,
                    format!("receiving failed after {received} bytes: {e}"),
                ));
            }
        }
    }
}

/// Reads what follows a broken head, so the whole of it is shown; true when the server closed.
fn drain_after_error(conn: &mut Open, buf: &mut Vec<u8>, deadline: Deadline) -> bool {
    let mut chunk = [0u8; 4096];
    while buf.len() < 64 * 1024 {
        let Ok(left) = deadline.min_with(Instant::now(), Some(Duration::from_millis(500))) else {
            return false;
        };
        let _ = conn.stream.set_read_timeout(left);
        match conn.stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    false
}

/// Acts on one event; `Some(fate)` when the response is complete.
fn deliver(
    ex: &mut Exchange<'_, '_>,
    transcript: &mut Transcript<&mut dyn Write>,
    event: ReadEvent,
    buf: &[u8],
    base: usize,
) -> Result<Option<Fate>, Failure> {
    match event {
        ReadEvent::Interim(head) => {
            if ex.args.include {
                ex.target().write_all(&head.raw).map_err(write_failure)?;
            }
            for d in &head.diagnoses {
                diagnose(ex.args, transcript, d);
            }
        }
        ReadEvent::Head(head) => {
            let fails = ex.args.fail && head.status >= 400;
            if (ex.args.include || ex.args.head) && !fails {
                ex.target().write_all(&head.raw).map_err(write_failure)?;
            }
            for d in &head.diagnoses {
                diagnose(ex.args, transcript, d);
            }
            ex.open_decoder(&head)?;
            ex.head = Some(head);
        }
        ReadEvent::Data(range) => {
            let bytes = &buf[base + range.start..base + range.end];
            if let (Some(sink), false) = (ex.sink.as_mut(), ex.fail_hit || ex.discard_body) {
                sink.write(bytes).map_err(|e| {
                    if e.kind() == io::ErrorKind::InvalidInput || e.kind() == io::ErrorKind::InvalidData {
                        Failure::new(ExitCode::RecvError, format!("the body does not decode as its Content-Encoding says ({e}); drop --compressed to see it as sent"))
                    } else {
                        write_failure(e)
                    }
                })?;
            }
        }
        ReadEvent::End {
            keep_alive,
            diagnoses,
        } => {
            for d in &diagnoses {
                diagnose(ex.args, transcript, d);
            }
            return Ok(Some(if keep_alive {
                Fate::LeftOpen
            } else {
                Fate::MustClose
            }));
        }
    }
    Ok(None)
}

fn diagnose(args: &RequestArgs, transcript: &mut Transcript<&mut dyn Write>, text: &str) {
    if !args.silent {
        let _ = transcript.diagnosis(text);
    }
}

fn write_failure(e: io::Error) -> Failure {
    Failure::new(
        ExitCode::WriteError,
        format!("writing the body failed: {e}"),
    )
}

fn response_failure(
    transcript: &mut Transcript<&mut dyn Write>,
    e: &ResponseError,
    buf: &[u8],
    received: usize,
) -> Failure {
    let _ = transcript.flush();
    let text = e.diagnosis(buf);
    Failure::new(e.exit_code(received), text)
}
