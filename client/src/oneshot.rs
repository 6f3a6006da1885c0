//! One-shot requests: `client GET localhost 8080 /`, `client [-X M] URL [URL...]`, `--raw`.
//!
//! For each URL: reuse the open connection when it goes to the same place and the last response
//! left it open (saying so), else connect; send the request; read the response through
//! [`ResponseReader`], writing the body to stdout (or `-o FILE`, decoded with `--compressed`) as it
//! arrives and the exchange to stderr with `-v`; then follow a redirect with `-L`. The exit code
//! is curl's for the first thing that went wrong.
//!
//! `--raw` bytes are surveyed first ([`crate::raw`]): every complete request in them gets its
//! response read and shown, and bytes that end in the middle of a request are named at once.
//! `https://` through `--proxy` asks the proxy for a tunnel (CONNECT, RFC 9110 §9.3.6) and
//! speaks TLS with the origin inside it, as curl does.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::write::{GzDecoder, ZlibDecoder};

use crate::cli::{DataKind, RequestArgs};
use crate::cookies::{self, Jar};
use crate::forms;
use crate::net::{self, ConnectError, Deadline, Stream, Timing};
use crate::paint::Paint;
use crate::preconditions::{self, TimeCondition};
use crate::raw::{self, Rest, Survey};
use crate::request::{RequestSpec, Version};
use crate::response::{close_reason_text, Head, ReadEvent, ResponseError, ResponseReader};
use crate::target::{self, Scheme, Url};
use crate::tls::{self, TlsOptions};
use crate::transcript::{Direction, Transcript};
use crate::ExitCode;
use wire::http1::conn::CloseReason;

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
    /// The origin a proxy tunnels to (`https://` through `--proxy`).
    tunnel: Option<(String, u16)>,
    /// Which connection this is (#0, #1, ...), for the notes.
    number: usize,
    /// Requests sent on it.
    used: usize,
    /// Bytes received but not yet part of a response (the start of the next one, pipelined).
    pending: Vec<u8>,
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
    body: Option<(Vec<u8>, Option<String>)>,
    raw: Option<Vec<u8>>,
    /// `-r`: the `Range` value.
    range: Option<String>,
    /// `-z`: the condition and its date.
    time_cond: Option<TimeCondition>,
    /// `-b` strings given as `name=value` (sent as written, after the jar's cookies).
    cookie_strings: Vec<String>,
    /// What the raw bytes hold.
    survey: Option<Survey>,
}

/// Runs a one-shot invocation.
pub fn run(args: &RequestArgs, io: &mut Io<'_>) -> ExitCode {
    let started = Instant::now();
    let show_errors = !args.silent || args.show_error;
    let mut jar = None;
    let outcome = load_jar(args).and_then(|loaded| {
        jar = loaded;
        plan(args, io).and_then(|plan| execute(args, plan, &mut jar, io, started))
    });
    // As curl, the jar is written whatever became of the transfer.
    let outcome = match (outcome, save_jar(args, jar.as_ref(), &mut *io.stdout)) {
        (Ok(_), Err(f)) => Err(f),
        (outcome, _) => outcome,
    };
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

/// The cookie engine, on when `-b FILE` or `-c FILE` is given (as curl's): the cookies of the
/// `-b` files (a missing file is an empty jar, as curl takes it).
fn load_jar(args: &RequestArgs) -> Result<Option<Jar>, Failure> {
    let files: Vec<&String> = args
        .cookie
        .iter()
        .filter(|c| !cookies::is_cookie_string(c))
        .collect();
    if files.is_empty() && args.cookie_jar.is_none() {
        return Ok(None);
    }
    let mut jar = Jar::new();
    for file in files {
        let text = match std::fs::read(file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Failure::new(
                    ExitCode::ReadError,
                    format!("cannot read the cookie file -b {file}: {e}"),
                ))
            }
        };
        let more = Jar::parse_netscape(&text).map_err(|e| {
            Failure::new(
                ExitCode::ReadError,
                format!("-b {file} is not a Netscape cookie file (as -c writes): {e}"),
            )
        })?;
        jar.merge(more);
    }
    Ok(Some(jar))
}

/// Writes `-c FILE` (`-c -`: to stdout, after the body).
fn save_jar(args: &RequestArgs, jar: Option<&Jar>, stdout: &mut dyn Write) -> Result<(), Failure> {
    let (Some(path), Some(jar)) = (&args.cookie_jar, jar) else {
        return Ok(());
    };
    let text = jar.to_netscape(unix_now());
    let written = if path.as_os_str() == "-" {
        stdout.write_all(text.as_bytes())
    } else {
        std::fs::write(path, text)
    };
    written.map_err(|e| {
        Failure::new(
            ExitCode::WriteError,
            format!("cannot write the cookie jar -c {}: {e}", path.display()),
        )
    })
}

/// Seconds since 1970, for cookie expiry.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
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
    const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";
    let pieces = args.data_in_order();
    if !pieces.is_empty() {
        // -d, --data-urlencode and --data-binary in the order given, joined with `&` as curl
        // joins them.
        let mut parts = Vec::new();
        for (kind, d) in &pieces {
            let part = match kind {
                DataKind::Data => {
                    let mut part = read_at_arg(d, io, "-d")?;
                    if d.starts_with('@') {
                        part.retain(|&b| b != b'\r' && b != b'\n');
                    }
                    part
                }
                DataKind::UrlEncode => {
                    let mut read = |path: &Path| {
                        std::fs::read(path).map_err(|e| {
                            format!("cannot read --data-urlencode {}: {e}", path.display())
                        })
                    };
                    forms::urlencode_arg(d, &mut read)
                        .map_err(|e| Failure::new(ExitCode::ReadError, e))?
                        .into_bytes()
                }
                DataKind::Binary => read_at_arg(d, io, "--data-binary")?,
            };
            parts.push(part);
        }
        body = Some((parts.join(&b'&'), Some(FORM_URLENCODED.to_string())));
        implied = "POST";
    }
    if !args.form.is_empty() {
        if body.is_some() {
            return Err(Failure::new(
                ExitCode::Usage,
                "-F sends a multipart/form-data body and -d (or --data-*) a form-encoded one; \
                 a request has one body, so use one kind (as curl, which refuses both)",
            ));
        }
        let mut parts = Vec::new();
        for f in &args.form {
            let mut read = |path: &Path| {
                std::fs::read(path)
                    .map_err(|e| format!("-F {f:?}: cannot read {}: {e}", path.display()))
            };
            let part = forms::parse_form_arg(f, &mut read).map_err(|e| {
                let code = if e.contains("cannot read") {
                    ExitCode::ReadError
                } else {
                    ExitCode::Usage
                };
                Failure::new(code, e)
            })?;
            parts.push(part);
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        let boundary = forms::boundary(&parts, seed | 1);
        body = Some((
            forms::encode(&parts, &boundary),
            Some(forms::content_type(&boundary)),
        ));
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
    let survey = raw.as_deref().map(raw::survey);
    let range = match &args.range {
        Some(r) => {
            Some(preconditions::range_header(r).map_err(|e| Failure::new(ExitCode::Usage, e))?)
        }
        None => None,
    };
    let time_cond = match &args.time_cond {
        Some(z) => Some(
            preconditions::time_condition(z, std::time::SystemTime::now())
                .map_err(|e| Failure::new(ExitCode::Usage, e))?,
        ),
        None => None,
    };
    let cookie_strings = args
        .cookie
        .iter()
        .filter(|c| cookies::is_cookie_string(c))
        .cloned()
        .collect();
    Ok(Plan {
        method,
        method_forced,
        urls,
        body,
        raw,
        survey,
        range,
        time_cond,
        cookie_strings,
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
    jar: Option<&Jar>,
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
    if let Some(range) = &plan.range {
        spec.set_header("Range", range);
    }
    if let Some(cond) = &plan.time_cond {
        spec.set_header(cond.field, &cond.date);
    }
    let mut cookie_pairs: Vec<String> = jar
        .and_then(|j| {
            j.header_for(
                &url.host,
                &url.path,
                url.scheme == Scheme::Https,
                unix_now(),
            )
        })
        .into_iter()
        .collect();
    cookie_pairs.extend(
        plan.cookie_strings
            .iter()
            .map(|c| c.trim().trim_end_matches(';').to_string()),
    );
    if !cookie_pairs.is_empty() {
        spec.set_header("Cookie", &cookie_pairs.join("; "));
    }
    if with_body {
        if let Some((body, content_type)) = &plan.body {
            spec.set_body(body.clone(), content_type.as_deref());
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
    jar: &mut Option<Jar>,
    io: &mut Io<'_>,
    started: Instant,
) -> Result<ExitCode, Failure> {
    let deadline = Deadline::after(started, args.max_time);
    let (tls_config, tls_roots) = if plan.urls.iter().any(|u| u.scheme == Scheme::Https) {
        let options = TlsOptions {
            insecure: args.insecure,
            ca_file: args.cacert.clone(),
        };
        let (config, roots) = tls::client_config(&options).map_err(|e| {
            let code = match e {
                tls::TlsSetupError::BadServerName { .. } => ExitCode::Tls,
                tls::TlsSetupError::CaFile(_) => ExitCode::CaCertFile,
            };
            Failure::new(code, e.to_string())
        })?;
        (Some(config), roots)
    } else {
        (None, None)
    };
    let show = args.verbose > 0 || args.hex || (plan.raw.is_some() && !args.silent);
    let body_limit = (args.verbose < 2 && !args.verbose_body).then_some(VERBOSE_BODY_LIMIT);
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
        let (request_bytes, body_len) = match &plan.raw {
            Some(raw) => (raw.clone(), 0),
            None => {
                let spec = build_request(args, &plan, jar.as_ref(), &url, &method, with_body)?;
                let body_len = spec.body.as_ref().map_or(0, Vec::len);
                (spec.to_bytes(), body_len)
            }
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
        transcript.set_body_limit(body_limit);
        let mut timing = Timing::default();
        let t0 = Instant::now();

        // Connect, or reuse.
        let (conn_host, conn_port) = match &args.proxy {
            Some(p) => split_host_port(p)?,
            None => (url.host.clone(), url.port),
        };
        let tunnel = (args.proxy.is_some() && url.scheme == Scheme::Https)
            .then(|| (url.host.clone(), url.port));
        let reusable = open.as_ref().is_some_and(|o| {
            o.host.eq_ignore_ascii_case(&conn_host)
                && o.port == conn_port
                && o.scheme == url.scheme
                && o.tunnel == tunnel
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
            let addrs = match net::Pinned::lookup(&args.resolve, &conn_host, conn_port) {
                Some(addrs) => {
                    let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
                    note(
                        &mut transcript,
                        &format!(
                            "--resolve: {conn_host}:{conn_port} is {} (the resolver is not asked)",
                            list.join(", ")
                        ),
                    );
                    addrs
                }
                None => net::resolve(&conn_host, conn_port, left)?,
            };
            timing.resolved = Some(t0.elapsed());
            let left = deadline
                .min_with(
                    Instant::now(),
                    args.connect_timeout.map(|c| c.saturating_sub(t0.elapsed())),
                )
                .map_err(|_| timeout_failure(args, 0))?;
            let mut tcp = net::connect(&conn_host, conn_port, &addrs, left)?;
            timing.connected = Some(t0.elapsed());
            let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            note(
                &mut transcript,
                &format!(
                    "connection #{connections} to {conn_host} port {conn_port} ({peer}){}",
                    if args.proxy.is_some() {
                        ", the proxy"
                    } else {
                        ""
                    }
                ),
            );
            if let Some((host, port)) = &tunnel {
                open_tunnel(&mut tcp, host, *port, args, &mut transcript, deadline)?;
            }
            let stream = match (&tls_config, url.scheme) {
                (Some(config), Scheme::Https) => {
                    let left = deadline
                        .remaining(Instant::now())
                        .map_err(|_| timeout_failure(args, 0))?;
                    if let Some(roots) = &tls_roots {
                        note(&mut transcript, &roots.describe());
                    }
                    let s = Stream::handshake(tcp, &url.host, url.port, Arc::clone(config), left)?;
                    timing.tls = Some(t0.elapsed());
                    s
                }
                _ => Stream::Plain(tcp),
            };
            if stream.is_tls() {
                note(
                    &mut transcript,
                    &format!(
                        "connection #{connections}, TLS with {}{}",
                        url.host,
                        if tunnel.is_some() {
                            " inside the tunnel"
                        } else {
                            ""
                        }
                    ),
                );
            }
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
                tunnel,
                number: connections,
                used: 0,
                pending: Vec::new(),
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
        show_request(
            &mut transcript,
            &request_bytes,
            body_len,
            plan.survey.as_ref(),
        )
        .map_err(stderr_failure)?;
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

        // Receive: one response, or with --raw one for each request the bytes hold.
        let reads = match &plan.survey {
            Some(survey) => {
                explain_raw(args, &mut transcript, survey);
                raw_reads(survey)
            }
            None => vec![Read1 {
                method: method.clone(),
                patience: Patience::Deadline,
            }],
        };
        let owed = plan.survey.as_ref().map_or(1, Survey::responses_owed);
        let is_final_url = done_urls + 1 >= last_index && queue.is_empty();
        let mut head = None;
        let mut fail_hit = false;
        let mut fate = Fate::LeftOpen;
        for (index, read) in reads.iter().enumerate() {
            let Some(conn) = open.as_mut() else {
                break;
            };
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
                &read.method,
                &mut transcript,
                deadline,
                &read.patience,
            );
            head = exchange.head.take();
            if let (Some(jar), Some(h)) = (jar.as_mut(), head.as_ref()) {
                for value in h.headers.get_all("set-cookie") {
                    let value = String::from_utf8_lossy(value);
                    if let Err(why) = jar.receive(&value, &url.host, &url.path, unix_now()) {
                        note(
                            &mut transcript,
                            &format!("cookie not kept: Set-Cookie: {value}: {why}"),
                        );
                    }
                }
            }
            fail_hit |= exchange.fail_hit;
            if let Some(sink) = exchange.sink.take() {
                sink.finish().map_err(|e| {
                    Failure::new(
                        ExitCode::WriteError,
                        format!("writing the body failed: {e}"),
                    )
                })?;
            }
            timing.total = Some(t0.elapsed());
            fate = match outcome {
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
            if fate == Fate::Quiet {
                break;
            }
            if fate != Fate::LeftOpen {
                if index + 1 < owed {
                    diagnose(
                        args,
                        &mut transcript,
                        &format!(
                            "the connection ended after {} of the {owed} responses the bytes ask for; the requests after it went unanswered",
                            index + 1
                        ),
                    );
                }
                break;
            }
        }
        match fate {
            Fate::LeftOpen => {}
            Fate::MustClose(reason) => {
                if let Some(mut o) = open.take() {
                    note(
                        &mut transcript,
                        &format!(
                            "the response ends connection #{}: {}; closing it",
                            o.number,
                            close_reason_text(reason)
                        ),
                    );
                    let _ = o.stream.shutdown_write();
                }
            }
            Fate::ClosedByServer => {
                open = None;
            }
            Fate::Quiet => {
                // Only --raw stops listening; it sends nothing more, so the connection is done.
                if let Some(mut o) = open.take() {
                    note(
                        &mut transcript,
                        &format!("closing connection #{}", o.number),
                    );
                    let _ = o.stream.shutdown_write();
                }
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
    /// The response ends the connection (`Connection: close`, HTTP/1.0, suspect framing).
    MustClose(CloseReason),
    /// The server closed it.
    ClosedByServer,
    /// `--raw`: nothing (more) came for a while; the client stops reading.
    Quiet,
}

/// How long to wait for a response's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Patience {
    /// Until `--max-time`, as long as it takes (a response is owed).
    Deadline,
    /// `--raw`: stop when the server sends nothing for `limit`, and say `why`.
    Idle { limit: Duration, why: String },
}

/// One response to read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Read1 {
    /// The method of the request it answers (a response to HEAD has no body).
    method: String,
    patience: Patience,
}

/// `-v` shows bodies up to this many bytes per message; `-vv` or `--verbose-body` shows all.
pub const VERBOSE_BODY_LIMIT: usize = 4096;

/// With `--raw`, how long the server may stay silent while a response is owed.
const RAW_IDLE: Duration = Duration::from_secs(2);

/// With `--raw` bytes that end mid-request, how long to listen for an answer anyway (a server
/// that answers before the request ends has a bug worth seeing).
const RAW_GRACE: Duration = Duration::from_millis(500);

/// Shows the request: heads as bytes, bodies through the transcript's body limit.
fn show_request(
    transcript: &mut Transcript<&mut dyn Write>,
    bytes: &[u8],
    body_len: usize,
    survey: Option<&Survey>,
) -> io::Result<()> {
    let Some(survey) = survey else {
        let head_len = bytes.len() - body_len;
        transcript.sent(&bytes[..head_len])?;
        transcript.sent_body(&bytes[head_len..])?;
        return transcript.end_message(Direction::Sent);
    };
    let mut at = 0;
    for request in &survey.requests {
        transcript.sent(&bytes[at..at + request.head_len])?;
        transcript.sent_body(&bytes[at + request.head_len..at + request.len])?;
        transcript.end_message(Direction::Sent)?;
        at += request.len;
    }
    transcript.sent(&bytes[at..])
}

/// Says what the `--raw` bytes hold, before any answer: how many requests, which ones needed
/// leniency, and whether they end mid-request.
fn explain_raw(args: &RequestArgs, transcript: &mut Transcript<&mut dyn Write>, survey: &Survey) {
    let n = survey.requests.len();
    if n > 1 {
        note(
            transcript,
            &format!("--raw: the bytes hold {n} requests (pipelined); reading {n} responses"),
        );
    }
    for (index, request) in survey.requests.iter().enumerate() {
        if !request.leniencies.is_empty() {
            diagnose(
                args,
                transcript,
                &format!(
                    "request {} can only be read leniently ({}); a strict server refuses it (400) or waits for more",
                    index + 1,
                    request.leniencies.join(", ")
                ),
            );
        }
    }
    match &survey.rest {
        Rest::Nothing if n == 0 => note(
            transcript,
            &format!(
                "--raw: no request in the bytes; listening {} ms for anything the server says",
                RAW_GRACE.as_millis()
            ),
        ),
        Rest::Nothing => {}
        Rest::Incomplete { offset, missing } => diagnose(
            args,
            transcript,
            &format!(
                "the bytes from offset {offset} are not a whole request: {missing}; a server waits for the rest, so the client listens only {} ms",
                RAW_GRACE.as_millis()
            ),
        ),
        Rest::NotARequest { offset, why } => diagnose(
            args,
            transcript,
            &format!(
                "the bytes from offset {offset} are not an HTTP request, even read leniently: {why}; a server answers that with an error and closes"
            ),
        ),
    }
}

/// The responses to read for `--raw` bytes.
fn raw_reads(survey: &Survey) -> Vec<Read1> {
    let owed = survey.responses_owed();
    let mut reads: Vec<Read1> = (0..owed)
        .map(|index| Read1 {
            method: survey.method_of_response(index).to_string(),
            patience: Patience::Idle {
                limit: RAW_IDLE,
                why: format!(
                    "the server sent nothing for {} s while response {} of {owed} was owed; stopping",
                    RAW_IDLE.as_secs(),
                    index + 1
                ),
            },
        })
        .collect();
    let unfinished = matches!(survey.rest, Rest::Incomplete { .. });
    if unfinished || owed == 0 {
        reads.push(Read1 {
            method: "GET".to_string(),
            patience: Patience::Idle {
                limit: RAW_GRACE,
                why: if unfinished {
                    "nothing came back: the server is waiting for the rest of the request, as it should".to_string()
                } else {
                    "nothing came back".to_string()
                },
            },
        });
    }
    reads
}

/// Asks the proxy for a tunnel to `host:port` (CONNECT, RFC 9110 §9.3.6) and reads its answer;
/// on a 2xx the socket is a byte pipe to the origin.
fn open_tunnel(
    tcp: &mut std::net::TcpStream,
    host: &str,
    port: u16,
    args: &RequestArgs,
    transcript: &mut Transcript<&mut dyn Write>,
    deadline: Deadline,
) -> Result<(), Failure> {
    let authority = format!("{host}:{port}");
    let agent = args
        .user_agent
        .clone()
        .unwrap_or_else(|| crate::request::USER_AGENT.to_string());
    let request = format!(
        "CONNECT {authority} HTTP/1.1\r\n\
         Host: {authority}\r\n\
         User-Agent: {agent}\r\n\
         \r\n"
    );
    note(
        transcript,
        &format!("asking the proxy for a tunnel to {authority} (CONNECT, RFC 9110 §9.3.6)"),
    );
    transcript
        .sent(request.as_bytes())
        .map_err(stderr_failure)?;
    transcript
        .end_message(Direction::Sent)
        .map_err(stderr_failure)?;
    if let Ok(left) = deadline.remaining(Instant::now()) {
        let _ = tcp.set_write_timeout(left.map(|d| d.max(Duration::from_millis(1))));
    }
    tcp.write_all(request.as_bytes()).map_err(|e| {
        let code = if is_timeout(&e) {
            ExitCode::Timeout
        } else {
            ExitCode::SendError
        };
        Failure::new(code, format!("sending CONNECT to the proxy failed: {e}"))
    })?;
    let mut reader = ResponseReader::new("CONNECT");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let (used, event) = reader.handle_bytes(&buf).map_err(|e| {
            let _ = transcript.received(&buf);
            let _ = transcript.flush();
            Failure::new(
                ExitCode::RecvError,
                format!("the proxy's answer to CONNECT: {}", e.diagnosis(&buf)),
            )
        })?;
        transcript.received(&buf[..used]).map_err(stderr_failure)?;
        buf.drain(..used);
        match event {
            Some(ReadEvent::Interim(_)) => continue,
            Some(ReadEvent::Head(head)) if (200..300).contains(&head.status) => {
                let _ = transcript.flush();
                if !buf.is_empty() {
                    let _ = transcript.received(&buf);
                    let _ = transcript.flush();
                    return Err(Failure::new(
                        ExitCode::RecvError,
                        format!(
                            "the proxy sent {} bytes after its {} and before the TLS handshake; they cannot belong to the tunnel",
                            buf.len(),
                            head.status
                        ),
                    ));
                }
                note(
                    transcript,
                    &format!("tunnel to {authority} open through the proxy"),
                );
                return Ok(());
            }
            Some(ReadEvent::Head(head)) => {
                let _ = transcript.flush();
                return Err(Failure::new(
                    ExitCode::RecvError,
                    format!(
                        "the proxy refused the tunnel to {authority}: {} {} (CONNECT needs a 2xx, RFC 9110 §9.3.6)",
                        head.status, head.reason
                    ),
                ));
            }
            Some(_) => continue,
            None => {}
        }
        let left = deadline
            .remaining(Instant::now())
            .map_err(|_| timeout_failure(args, buf.len()))?;
        let _ = tcp.set_read_timeout(left.map(|d| d.max(Duration::from_millis(1))));
        match tcp.read(&mut chunk) {
            Ok(0) => {
                let _ = transcript.received(&buf);
                let _ = transcript.closed(Direction::Received);
                return Err(Failure::new(
                    ExitCode::RecvError,
                    format!("the proxy closed the connection before answering CONNECT {authority}"),
                ));
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err(timeout_failure(args, buf.len())),
            Err(e) => {
                return Err(Failure::new(
                    ExitCode::RecvError,
                    format!("receiving the proxy's answer to CONNECT failed: {e}"),
                ))
            }
        }
    }
}

/// Shows the bytes a response reader used: body data through the body limit, the rest as it is.
fn show_used(
    transcript: &mut Transcript<&mut dyn Write>,
    used: &[u8],
    event: Option<&ReadEvent>,
) -> io::Result<()> {
    match event {
        Some(ReadEvent::Data(range)) => {
            let start = range.start.min(used.len());
            let end = range.end.clamp(start, used.len());
            transcript.received(&used[..start])?;
            transcript.received_body(&used[start..end])?;
            transcript.received(&used[end..])
        }
        _ => transcript.received(used),
    }
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
    patience: &Patience,
) -> Result<Fate, Failure> {
    let mut reader = ResponseReader::new(method);
    // Bytes an earlier read brought along (the next pipelined response) come first.
    let mut buf: Vec<u8> = std::mem::take(&mut conn.pending);
    buf.reserve(READ_SIZE);
    let mut start = 0usize;
    let mut received = 0usize;
    let mut chunk = vec![0u8; READ_SIZE];
    let idle_limit = match patience {
        Patience::Deadline => None,
        Patience::Idle { limit, .. } => Some(*limit),
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
            show_used(transcript, &buf[start..start + used], event.as_ref())
                .map_err(stderr_failure)?;
            let range_base = start;
            start += used;
            match event {
                None => break,
                Some(ev) => {
                    if let Some(fate) = deliver(ex, transcript, ev, &buf, range_base)? {
                        conn.pending = buf.split_off(start);
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
                if let (Patience::Idle { why, .. }, Ok(_)) =
                    (patience, deadline.remaining(Instant::now()))
                {
                    let _ = transcript.flush();
                    note(transcript, why);
                    return Ok(Fate::Quiet);
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
        ReadEvent::End { close, diagnoses } => {
            for d in &diagnoses {
                diagnose(ex.args, transcript, d);
            }
            let _ = transcript.end_message(Direction::Received);
            return Ok(Some(match close {
                None => Fate::LeftOpen,
                Some(reason) => Fate::MustClose(reason),
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
