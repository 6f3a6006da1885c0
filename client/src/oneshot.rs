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
//!
//! The run is a `Session` (what was worked out once, the open connection, the recording) and
//! a queue of `Step`s (a URL, a method, whether the body goes). Each step is one
//! `Session::exchange`: `request_bytes`, `connect_or_reuse` (`resolve`, `connect`, `secure`),
//! `send`, `receive_all`, then `settle` decides what becomes of the connection (`afterwards`);
//! `redirect` may queue the next step, and `finish` closes and saves the recording.

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

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    /// Host and port actually connected to (the proxy, through one).
    host: String,
    port: u16,
    scheme: Scheme,
    /// The origin a proxy tunnels to (`https://` through `--proxy`).
    tunnel: Option<(String, u16)>,
}

impl Place {
    /// Where `url` is reached: itself, or through `--proxy` (a tunnel for https://).
    fn of(url: &Url, proxy: Option<&str>) -> Result<Place, Failure> {
        let (host, port) = match proxy {
            Some(p) => split_host_port(p)?,
            None => (url.host.clone(), url.port),
        };
        let tunnel =
            (proxy.is_some() && url.scheme == Scheme::Https).then(|| (url.host.clone(), url.port));
        Ok(Place {
            host,
            port,
            scheme: url.scheme,
            tunnel,
        })
    }

    /// A connection to `self` can carry a request meant for `other` (host names compare
    /// without case).
    fn serves(&self, other: &Place) -> bool {
        self.host.eq_ignore_ascii_case(&other.host)
            && self.port == other.port
            && self.scheme == other.scheme
            && self.tunnel == other.tunnel
    }
}

/// An open connection and where it goes.
struct Open {
    stream: Stream,
    place: Place,
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

/// The body `-d`, `--data-urlencode` and `--data-binary` make: their pieces in the order given,
/// joined with `&` as curl joins them; `None` without any.
fn data_body(args: &RequestArgs, io: &mut Io<'_>) -> Result<Option<Vec<u8>>, Failure> {
    let pieces = args.data_in_order();
    if pieces.is_empty() {
        return Ok(None);
    }
    let mut parts = Vec::new();
    for (kind, d) in &pieces {
        parts.push(data_piece(kind, d, io)?);
    }
    Ok(Some(parts.join(&b'&')))
}

/// One `-d` (`@FILE` without its line ends), `--data-urlencode` or `--data-binary` piece.
fn data_piece(kind: &DataKind, d: &str, io: &mut Io<'_>) -> Result<Vec<u8>, Failure> {
    Ok(match kind {
        DataKind::Data => {
            let mut part = read_at_arg(d, io, "-d")?;
            if d.starts_with('@') {
                part.retain(|&b| b != b'\r' && b != b'\n');
            }
            part
        }
        DataKind::UrlEncode => {
            let mut read = |path: &Path| {
                std::fs::read(path)
                    .map_err(|e| format!("cannot read --data-urlencode {}: {e}", path.display()))
            };
            forms::urlencode_arg(d, &mut read)
                .map_err(|e| Failure::new(ExitCode::ReadError, e))?
                .into_bytes()
        }
        DataKind::Binary => read_at_arg(d, io, "--data-binary")?,
    })
}

/// The multipart/form-data body the `-F` fields make, and its Content-Type; `None` without any.
fn form_body(args: &RequestArgs) -> Result<Option<(Vec<u8>, String)>, Failure> {
    if args.form.is_empty() {
        return Ok(None);
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
    Ok(Some((
        forms::encode(&parts, &boundary),
        forms::content_type(&boundary),
    )))
}

fn plan(args: &RequestArgs, io: &mut Io<'_>) -> Result<Plan, Failure> {
    let targets = target::from_words(&args.words, args.tls)
        .map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let mut urls = targets.urls;
    const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";
    let mut body = data_body(args, io)?.map(|b| (b, Some(FORM_URLENCODED.to_string())));
    let mut implied = if body.is_some() { "POST" } else { "GET" };
    if !args.form.is_empty() && body.is_some() {
        return Err(Failure::new(
            ExitCode::Usage,
            "-F sends a multipart/form-data body and -d (or --data-*) a form-encoded one; \
             a request has one body, so use one kind (as curl, which refuses both)",
        ));
    }
    if let Some((bytes, content_type)) = form_body(args)? {
        body = Some((bytes, Some(content_type)));
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

/// One request to make: where, with which method, and whether the body goes with it (a
/// redirect may turn a POST into a body-less GET).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    url: Url,
    method: String,
    with_body: bool,
}

/// What the responses to one request came to.
#[derive(Debug)]
struct Answer {
    /// The last final head read.
    head: Option<Head>,
    /// `--fail`, and a status of 400 or more.
    fail_hit: bool,
    /// What became of the connection.
    fate: Fate,
}

/// What to do with the connection after a response.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Afterwards {
    /// Keep it for the next request.
    Keep,
    /// The server closed it: nothing to do.
    Forget,
    /// Close it, with this note.
    Close(String),
}

/// What happens to connection #`number` after a response whose fate is `fate`: the last URL's
/// connection is closed unless a redirect is about to be followed on it.
fn afterwards(fate: Fate, is_final_url: bool, will_follow: bool, number: usize) -> Afterwards {
    match fate {
        Fate::LeftOpen if is_final_url && !will_follow => Afterwards::Close(format!(
            "connection #{number} left open by the server (keep-alive); closing it, nothing more to send"
        )),
        Fate::LeftOpen => Afterwards::Keep,
        Fate::MustClose(reason) => Afterwards::Close(format!(
            "the response ends connection #{number}: {}; closing it",
            close_reason_text(reason)
        )),
        Fate::ClosedByServer => Afterwards::Forget,
        // Only --raw stops listening; it sends nothing more, so the connection is done.
        Fate::Quiet => Afterwards::Close(format!("closing connection #{number}")),
    }
}

/// The method and body of the request a redirect leads to, as curl -L does: 303 makes a GET
/// (HEAD stays HEAD); 301 and 302 make a POST a GET unless `-X` forced the method; 307 and 308
/// repeat the request as it was.
fn method_after_redirect(
    status: u16,
    method: &str,
    with_body: bool,
    method_forced: bool,
) -> (String, bool) {
    match status {
        303 if method != "HEAD" => ("GET".to_string(), false),
        301 | 302 if method == "POST" && !method_forced => ("GET".to_string(), false),
        _ => (method.to_string(), with_body),
    }
}

/// The TLS settings when any URL is https:// (and the roots they trust, for -v; none with -k).
fn tls_settings(
    args: &RequestArgs,
    plan: &Plan,
) -> Result<(Option<Arc<rustls::ClientConfig>>, Option<tls::Roots>), Failure> {
    if !plan.urls.iter().any(|u| u.scheme == Scheme::Https) {
        return Ok((None, None));
    }
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
    Ok((Some(config), roots))
}

/// The `-o` file, created (emptied) before anything is sent.
fn open_output(args: &RequestArgs) -> Result<Option<File>, Failure> {
    let Some(path) = &args.output else {
        return Ok(None);
    };
    File::create(path).map(Some).map_err(|e| {
        Failure::new(
            ExitCode::WriteError,
            format!("cannot write -o {}: {e}", path.display()),
        )
    })
}

/// Keeps the cookies a response sets (with a cookie engine on), noting the ones refused.
fn keep_cookies(
    jar: Option<&mut Jar>,
    head: Option<&Head>,
    url: &Url,
    transcript: &mut Transcript<&mut dyn Write>,
) {
    let (Some(jar), Some(head)) = (jar, head) else {
        return;
    };
    for value in head.headers.get_all("set-cookie") {
        let value = String::from_utf8_lossy(value);
        if let Err(why) = jar.receive(&value, &url.host, &url.path, unix_now()) {
            note(
                transcript,
                &format!("cookie not kept: Set-Cookie: {value}: {why}"),
            );
        }
    }
}

/// What one invocation keeps from request to request: what was worked out once from the
/// arguments, the open connection, the recording and the redirects followed.
struct Session<'r> {
    args: &'r RequestArgs,
    plan: &'r Plan,
    deadline: Deadline,
    tls_config: Option<Arc<rustls::ClientConfig>>,
    tls_roots: Option<tls::Roots>,
    /// Show the exchange on stderr (`-v`, `--hex`, `--raw` unless `-s`).
    show: bool,
    body_limit: Option<usize>,
    paint: Paint,
    /// `-o FILE`.
    out_file: Option<File>,
    open: Option<Open>,
    /// Connections opened so far (the next one's number).
    connections: usize,
    recording: wire::trace::Trace,
    redirects: u32,
}

impl<'r> Session<'r> {
    fn new(
        args: &'r RequestArgs,
        plan: &'r Plan,
        paint: Paint,
        started: Instant,
    ) -> Result<Session<'r>, Failure> {
        let (tls_config, tls_roots) = tls_settings(args, plan)?;
        Ok(Session {
            args,
            plan,
            deadline: Deadline::after(started, args.max_time),
            tls_config,
            tls_roots,
            show: args.verbose > 0 || args.hex || (plan.raw.is_some() && !args.silent),
            body_limit: (args.verbose < 2 && !args.verbose_body).then_some(VERBOSE_BODY_LIMIT),
            paint,
            out_file: open_output(args)?,
            open: None,
            connections: 0,
            recording: wire::trace::Trace::new(wire::trace::Transport::Tcp),
            redirects: 0,
        })
    }

    /// One request and its response(s): the bytes, the connection, sending, receiving, and
    /// what becomes of the connection; the exchange is recorded and timed.
    fn exchange(
        &mut self,
        step: &Step,
        jar: &mut Option<Jar>,
        is_final_url: bool,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<Answer, Failure> {
        let (request, body_len) = self.request_bytes(step, jar.as_ref())?;
        let mut transcript = self.transcript(stderr);
        let mut timing = Timing::default();
        let t0 = Instant::now();
        self.connect_or_reuse(&step.url, &mut transcript, &mut timing, t0)?;
        self.send(&request, body_len, &mut transcript)?;
        let received = self.receive_all(step, jar, stdout, &mut transcript, &mut timing, t0)?;
        if let Ok(answer) = &received {
            let will_follow = self.args.follow && answer.head.as_ref().is_some_and(is_redirect);
            self.settle(answer.fate, is_final_url, will_follow, &mut transcript);
        }
        let _ = transcript.flush();
        if let Some(t) = transcript.take_recording() {
            append_trace(&mut self.recording, t);
        }
        drop(transcript);
        if received.is_err() {
            if let Some(path) = &self.args.record {
                save_trace(path, &self.recording, &step.url)?;
            }
        }
        self.print_timing(stderr, &timing);
        received
    }

    /// The bytes to send for `step`, and how many of them are body: `--raw`'s as given, or a
    /// request built from the flags.
    fn request_bytes(&self, step: &Step, jar: Option<&Jar>) -> Result<(Vec<u8>, usize), Failure> {
        if let Some(raw) = &self.plan.raw {
            return Ok((raw.clone(), 0));
        }
        let spec = build_request(
            self.args,
            self.plan,
            jar,
            &step.url,
            &step.method,
            step.with_body,
        )?;
        let body_len = spec.body.as_ref().map_or(0, Vec::len);
        Ok((spec.to_bytes(), body_len))
    }

    /// The display of one exchange on `stderr` (nothing shown with `-s`), recorded with
    /// `--record`.
    fn transcript<'w>(&self, stderr: &'w mut dyn Write) -> Transcript<&'w mut dyn Write> {
        let args = self.args;
        let mut transcript = Transcript::new(
            (!args.silent).then_some(stderr),
            self.paint,
            args.hex,
            args.record.is_some(),
        );
        transcript.show_exchange(self.show);
        transcript.set_body_limit(self.body_limit);
        transcript
    }

    /// Reuses the open connection when it goes where `url` is reached, else closes it and
    /// connects; either way says so.
    fn connect_or_reuse(
        &mut self,
        url: &Url,
        transcript: &mut Transcript<&mut dyn Write>,
        timing: &mut Timing,
        t0: Instant,
    ) -> Result<(), Failure> {
        let place = Place::of(url, self.args.proxy.as_deref())?;
        match &self.open {
            Some(o) if o.place.serves(&place) => note(
                transcript,
                &format!(
                    "reusing connection #{} to {} port {} (request {} on it)",
                    o.number,
                    o.place.host,
                    o.place.port,
                    o.used + 1
                ),
            ),
            _ => {
                if let Some(mut old) = self.open.take() {
                    let _ = old.stream.shutdown_write();
                    note(
                        transcript,
                        &format!(
                            "closing connection #{} (the next URL goes elsewhere)",
                            old.number
                        ),
                    );
                }
                self.open = Some(self.connect(url, place, transcript, timing, t0)?);
                self.connections += 1;
            }
        }
        if let Some(o) = self.open.as_mut() {
            o.used += 1;
        }
        Ok(())
    }

    /// A new connection to `place` for `url`: resolve, connect, ask a proxy for a tunnel, and
    /// speak TLS when `url` is https://, noting each step.
    fn connect(
        &self,
        url: &Url,
        place: Place,
        transcript: &mut Transcript<&mut dyn Write>,
        timing: &mut Timing,
        t0: Instant,
    ) -> Result<Open, Failure> {
        let args = self.args;
        let addrs = self.resolve(&place, transcript)?;
        timing.resolved = Some(t0.elapsed());
        let left = self
            .deadline
            .min_with(
                Instant::now(),
                args.connect_timeout.map(|c| c.saturating_sub(t0.elapsed())),
            )
            .map_err(|_| timeout_failure(args, 0))?;
        let mut tcp = net::connect(&place.host, place.port, &addrs, left)?;
        timing.connected = Some(t0.elapsed());
        let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        let number = self.connections;
        note(
            transcript,
            &format!(
                "connection #{number} to {} port {} ({peer}){}",
                place.host,
                place.port,
                if args.proxy.is_some() {
                    ", the proxy"
                } else {
                    ""
                }
            ),
        );
        if let Some((host, port)) = &place.tunnel {
            open_tunnel(&mut tcp, host, *port, args, transcript, self.deadline)?;
        }
        let stream = self.secure(tcp, url, transcript, timing, t0)?;
        if stream.is_tls() {
            note(
                transcript,
                &format!(
                    "connection #{number}, TLS with {}{}",
                    url.host,
                    if place.tunnel.is_some() {
                        " inside the tunnel"
                    } else {
                        ""
                    }
                ),
            );
            if args.insecure {
                note(
                    transcript,
                    "DANGER: -k: the server's certificate was not checked",
                );
            }
        }
        Ok(Open {
            stream,
            place,
            number,
            used: 0,
            pending: Vec::new(),
        })
    }

    /// The addresses of `place`: from `--resolve` (said so), else the resolver's.
    fn resolve(
        &self,
        place: &Place,
        transcript: &mut Transcript<&mut dyn Write>,
    ) -> Result<Vec<std::net::SocketAddr>, Failure> {
        let args = self.args;
        let left = self
            .deadline
            .min_with(Instant::now(), args.connect_timeout)
            .map_err(|_| timeout_failure(args, 0))?;
        if let Some(addrs) = net::Pinned::lookup(&args.resolve, &place.host, place.port) {
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            note(
                transcript,
                &format!(
                    "--resolve: {}:{} is {} (the resolver is not asked)",
                    place.host,
                    place.port,
                    list.join(", ")
                ),
            );
            return Ok(addrs);
        }
        Ok(net::resolve(&place.host, place.port, left)?)
    }

    /// TLS with the origin when `url` is https:// (saying which roots are trusted), else the
    /// plain connection.
    fn secure(
        &self,
        tcp: std::net::TcpStream,
        url: &Url,
        transcript: &mut Transcript<&mut dyn Write>,
        timing: &mut Timing,
        t0: Instant,
    ) -> Result<Stream, Failure> {
        let (Some(config), Scheme::Https) = (&self.tls_config, url.scheme) else {
            return Ok(Stream::Plain(tcp));
        };
        let left = self
            .deadline
            .remaining(Instant::now())
            .map_err(|_| timeout_failure(self.args, 0))?;
        if let Some(roots) = &self.tls_roots {
            note(transcript, &roots.describe());
        }
        let stream = Stream::handshake(tcp, &url.host, url.port, Arc::clone(config), left)?;
        timing.tls = Some(t0.elapsed());
        Ok(stream)
    }

    /// Shows the request and sends it on the open connection.
    fn send(
        &mut self,
        request: &[u8],
        body_len: usize,
        transcript: &mut Transcript<&mut dyn Write>,
    ) -> Result<(), Failure> {
        show_request(transcript, request, body_len, self.plan.survey.as_ref())
            .map_err(stderr_failure)?;
        let left = self.deadline.remaining(Instant::now());
        let conn = self.open.as_mut().expect("a connection is open");
        if let Ok(left) = left {
            let _ = conn.stream.set_write_timeout(left);
        }
        conn.stream
            .write_all(request)
            .and_then(|_| conn.stream.flush())
            .map_err(|e| {
                let code = if is_timeout(&e) {
                    ExitCode::Timeout
                } else {
                    ExitCode::SendError
                };
                Failure::new(code, format!("sending the request failed: {e}"))
            })
    }

    /// Reads the response to the request just sent (with `--raw`, one for each request its
    /// bytes hold), writing bodies and keeping cookies. The outer error ends the run at once;
    /// the inner one does so once the exchange so far is recorded.
    fn receive_all(
        &mut self,
        step: &Step,
        jar: &mut Option<Jar>,
        stdout: &mut dyn Write,
        transcript: &mut Transcript<&mut dyn Write>,
        timing: &mut Timing,
        t0: Instant,
    ) -> Result<Result<Answer, Failure>, Failure> {
        let args = self.args;
        let reads = match &self.plan.survey {
            Some(survey) => {
                explain_raw(args, transcript, survey);
                raw_reads(survey)
            }
            None => vec![Read1 {
                method: step.method.clone(),
                patience: Patience::Deadline,
            }],
        };
        let owed = self.plan.survey.as_ref().map_or(1, Survey::responses_owed);
        let mut answer = Answer {
            head: None,
            fail_hit: false,
            fate: Fate::LeftOpen,
        };
        for (index, read) in reads.iter().enumerate() {
            let Some(conn) = self.open.as_mut() else {
                break;
            };
            let target = match self.out_file.as_mut() {
                Some(f) => Target::File(BufWriter::new(f)),
                None => Target::Stdout(&mut *stdout),
            };
            let mut exchange = Exchange {
                args,
                sink: Some(Sink::Plain(target)),
                timing: &mut *timing,
                t0,
                head: None,
                fail_hit: false,
                discard_body: false,
            };
            let outcome = receive(
                &mut exchange,
                conn,
                &read.method,
                transcript,
                self.deadline,
                &read.patience,
            );
            answer.head = exchange.head.take();
            keep_cookies(jar.as_mut(), answer.head.as_ref(), &step.url, transcript);
            answer.fail_hit |= exchange.fail_hit;
            if let Some(sink) = exchange.sink.take() {
                sink.finish().map_err(|e| {
                    Failure::new(
                        ExitCode::WriteError,
                        format!("writing the body failed: {e}"),
                    )
                })?;
            }
            timing.total = Some(t0.elapsed());
            answer.fate = match outcome {
                Ok(fate) => fate,
                Err(failure) => return Ok(Err(failure)),
            };
            if answer.fate == Fate::Quiet {
                break;
            }
            if answer.fate != Fate::LeftOpen {
                if index + 1 < owed {
                    diagnose(
                        args,
                        transcript,
                        &format!(
                            "the connection ended after {} of the {owed} responses the bytes ask for; the requests after it went unanswered",
                            index + 1
                        ),
                    );
                }
                break;
            }
        }
        Ok(Ok(answer))
    }

    /// Keeps or closes the connection after a response (see [`afterwards`]).
    fn settle(
        &mut self,
        fate: Fate,
        is_final_url: bool,
        will_follow: bool,
        transcript: &mut Transcript<&mut dyn Write>,
    ) {
        let Some(mut o) = self.open.take() else {
            return;
        };
        match afterwards(fate, is_final_url, will_follow, o.number) {
            Afterwards::Keep => self.open = Some(o),
            Afterwards::Forget => {}
            Afterwards::Close(text) => {
                note(transcript, &text);
                let _ = o.stream.shutdown_write();
            }
        }
    }

    /// `--timing`: one line on stderr for the exchange.
    fn print_timing(&self, stderr: &mut dyn Write, timing: &Timing) {
        if self.args.timing {
            let _ = writeln!(
                stderr,
                "{}",
                self.paint.note(&format!("timing: {}", timing.summary()))
            );
        }
    }

    /// `--fail` hit: says which status, unless `-s`.
    fn report_fail(&self, head: Option<&Head>, stderr: &mut dyn Write) {
        let args = self.args;
        if let Some(h) = head {
            if !args.silent || args.show_error {
                let _ = writeln!(
                    stderr,
                    "{}",
                    self.paint.error(&format!(
                        "client: the server answered {} {} (--fail)",
                        h.status, h.reason
                    ))
                );
            }
        }
    }

    /// With `-L`, the request a redirect in `head` leads to (at most `--max-redirs` of them).
    fn redirect(
        &mut self,
        step: &Step,
        head: Option<&Head>,
        stderr: &mut dyn Write,
    ) -> Result<Option<Step>, Failure> {
        let args = self.args;
        let Some(h) = head.filter(|h| args.follow && is_redirect(h)) else {
            return Ok(None);
        };
        let Some(location) = h.header("location") else {
            return Ok(None);
        };
        self.redirects += 1;
        if self.redirects > args.max_redirects {
            return Err(Failure::new(
                ExitCode::TooManyRedirects,
                format!(
                    "more than {} redirects (--max-redirs); the last pointed to {location}",
                    args.max_redirects
                ),
            ));
        }
        let next = step
            .url
            .join(location)
            .map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
        let (method, with_body) = method_after_redirect(
            h.status,
            &step.method,
            step.with_body,
            self.plan.method_forced,
        );
        if self.show {
            let _ = writeln!(
                stderr,
                "{}",
                self.paint
                    .note(&format!("# following {} to {next}", h.status))
            );
        }
        Ok(Some(Step {
            url: next,
            method,
            with_body,
        }))
    }

    /// The end: closes what is open and saves `--record`.
    fn finish(&mut self) -> Result<(), Failure> {
        if let Some(mut o) = self.open.take() {
            let _ = o.stream.shutdown_write();
        }
        if let (Some(path), Some(url)) = (&self.args.record, self.plan.urls.first()) {
            save_trace(path, &self.recording, url)?;
        }
        Ok(())
    }
}

/// Sends each URL's request in turn (and each redirect's, with `-L`), on one connection while
/// they go to the same place; the first failure ends the run.
fn execute(
    args: &RequestArgs,
    plan: Plan,
    jar: &mut Option<Jar>,
    io: &mut Io<'_>,
    started: Instant,
) -> Result<ExitCode, Failure> {
    let mut session = Session::new(args, &plan, io.paint, started)?;
    let Io { stdout, stderr, .. } = io;
    let mut queue: Vec<Step> = plan
        .urls
        .iter()
        .rev()
        .map(|url| Step {
            url: url.clone(),
            method: plan.method.clone(),
            with_body: true,
        })
        .collect();
    let mut done_urls = 0usize;
    let mut result = ExitCode::Ok;
    while let Some(step) = queue.pop() {
        let is_final_url = done_urls + 1 >= plan.urls.len() && queue.is_empty();
        let answer = session.exchange(&step, jar, is_final_url, &mut **stdout, &mut **stderr)?;
        if answer.fail_hit {
            result = ExitCode::HttpError;
            session.report_fail(answer.head.as_ref(), &mut **stderr);
            break;
        }
        if let Some(next) = session.redirect(&step, answer.head.as_ref(), &mut **stderr)? {
            queue.push(next);
            continue;
        }
        done_urls += 1;
    }
    session.finish()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn plan_for(urls: &[&str]) -> Plan {
        Plan {
            method: "GET".to_string(),
            method_forced: false,
            urls: urls.iter().map(|u| url(u)).collect(),
            body: None,
            raw: None,
            range: None,
            time_cond: None,
            cookie_strings: Vec::new(),
            survey: None,
        }
    }

    fn step(text: &str) -> Step {
        Step {
            url: url(text),
            method: "GET".to_string(),
            with_body: true,
        }
    }

    #[test]
    fn a_place_is_the_url_or_the_proxy_with_a_tunnel_for_https() {
        let direct = Place::of(&url("http://Example.org:8080/a"), None).unwrap();
        assert_eq!(
            (direct.host.as_str(), direct.port, direct.tunnel.clone()),
            ("Example.org", 8080, None)
        );
        let proxied = Place::of(&url("http://example.org/"), Some("localhost:8888")).unwrap();
        assert_eq!((proxied.host.as_str(), proxied.port), ("localhost", 8888));
        assert_eq!(proxied.tunnel, None);
        let tunnelled = Place::of(&url("https://example.org/"), Some("localhost:8888")).unwrap();
        assert_eq!(tunnelled.tunnel, Some(("example.org".to_string(), 443)));
        assert!(Place::of(&url("http://a/"), Some("no-port")).is_err());

        // Reuse: the same place whatever the case of the host; not another port, scheme or
        // tunnel.
        let again = Place::of(&url("http://example.ORG:8080/b"), None).unwrap();
        assert!(direct.serves(&again));
        assert!(!direct.serves(&Place::of(&url("http://example.org:8081/"), None).unwrap()));
        assert!(!direct.serves(&Place::of(&url("https://example.org:8080/"), None).unwrap()));
        let other_tunnel = Place::of(&url("https://example.net/"), Some("localhost:8888")).unwrap();
        assert!(!tunnelled.serves(&other_tunnel));
        assert!(
            proxied.serves(&Place::of(&url("http://elsewhere/"), Some("LOCALHOST:8888")).unwrap())
        );
    }

    #[test]
    fn the_connection_is_kept_only_while_more_goes_on_it() {
        assert_eq!(
            afterwards(Fate::LeftOpen, false, false, 0),
            Afterwards::Keep
        );
        assert_eq!(afterwards(Fate::LeftOpen, true, true, 0), Afterwards::Keep);
        assert_eq!(
            afterwards(Fate::LeftOpen, true, false, 2),
            Afterwards::Close(
                "connection #2 left open by the server (keep-alive); closing it, nothing more to send"
                    .to_string()
            )
        );
        assert_eq!(
            afterwards(Fate::ClosedByServer, false, false, 0),
            Afterwards::Forget
        );
        assert_eq!(
            afterwards(Fate::Quiet, false, false, 1),
            Afterwards::Close("closing connection #1".to_string())
        );
        let Afterwards::Close(text) = afterwards(
            Fate::MustClose(CloseReason::PeerAskedToClose),
            false,
            false,
            3,
        ) else {
            panic!("a response that ends the connection closes it");
        };
        assert!(
            text.starts_with("the response ends connection #3: "),
            "{text}"
        );
        assert!(text.ends_with("; closing it"), "{text}");
    }

    #[test]
    fn redirects_change_the_method_as_curl_does() {
        let after = |status, method, forced| method_after_redirect(status, method, true, forced);
        assert_eq!(after(303, "POST", false), ("GET".to_string(), false));
        assert_eq!(after(303, "HEAD", false), ("HEAD".to_string(), true));
        assert_eq!(after(302, "POST", false), ("GET".to_string(), false));
        assert_eq!(after(301, "POST", true), ("POST".to_string(), true));
        assert_eq!(after(301, "PUT", false), ("PUT".to_string(), true));
        assert_eq!(after(307, "POST", false), ("POST".to_string(), true));
        assert_eq!(after(308, "POST", false), ("POST".to_string(), true));
    }

    #[test]
    fn tls_is_set_up_only_for_https_and_a_bad_cacert_is_77() {
        let args = RequestArgs::default();
        let (config, roots) = tls_settings(&args, &plan_for(&["http://a/"])).unwrap();
        assert!(config.is_none() && roots.is_none());
        let (config, roots) = tls_settings(&args, &plan_for(&["http://a/", "https://b/"])).unwrap();
        assert!(config.is_some() && roots.is_some());
        let insecure = RequestArgs {
            insecure: true,
            ..RequestArgs::default()
        };
        let (config, roots) = tls_settings(&insecure, &plan_for(&["https://b/"])).unwrap();
        assert!(config.is_some() && roots.is_none());

        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let bad = RequestArgs {
            cacert: Some(empty),
            ..RequestArgs::default()
        };
        let failure = tls_settings(&bad, &plan_for(&["https://b/"])).unwrap_err();
        assert_eq!(failure.code, ExitCode::CaCertFile);
    }

    #[test]
    fn the_output_file_is_created_or_the_failure_is_23() {
        assert!(open_output(&RequestArgs::default()).unwrap().is_none());
        let dir = tempfile::tempdir().unwrap();
        let args = RequestArgs {
            output: Some(dir.path().join("out.html")),
            ..RequestArgs::default()
        };
        assert!(open_output(&args).unwrap().is_some());
        let args = RequestArgs {
            output: Some(dir.path().join("missing/out.html")),
            ..RequestArgs::default()
        };
        let failure = open_output(&args).unwrap_err();
        assert_eq!(failure.code, ExitCode::WriteError);
        assert!(
            failure.message.starts_with("cannot write -o "),
            "{}",
            failure.message
        );
    }

    #[test]
    fn data_pieces_join_in_order_and_files_lose_their_line_ends() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("form.txt");
        std::fs::write(&file, "c=3\r\nd=4\n").unwrap();
        let args = RequestArgs {
            data_order: vec![
                (DataKind::Data, "a=1".to_string()),
                (DataKind::UrlEncode, "m=a b".to_string()),
                (DataKind::Data, format!("@{}", file.display())),
            ],
            ..RequestArgs::default()
        };
        let (mut out, mut err, mut input) = (Vec::new(), Vec::new(), io::empty());
        let mut io = Io {
            stdout: &mut out,
            stderr: &mut err,
            stdin: &mut input,
            paint: Paint::PLAIN,
        };
        let body = data_body(&args, &mut io).unwrap().unwrap();
        assert_eq!(String::from_utf8(body).unwrap(), "a=1&m=a+b&c=3d=4");
        assert_eq!(data_body(&RequestArgs::default(), &mut io).unwrap(), None);
        assert_eq!(form_body(&RequestArgs::default()).unwrap(), None);
    }

    #[test]
    fn a_session_builds_the_request_or_sends_the_raw_bytes() {
        let args = RequestArgs::default();
        let plan = plan_for(&["http://localhost:8080/x"]);
        let session = Session::new(&args, &plan, Paint::PLAIN, Instant::now()).unwrap();
        let (bytes, body_len) = session
            .request_bytes(&step("http://localhost:8080/x"), None)
            .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("GET /x HTTP/1.1\r\nHost: localhost:8080\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n"), "{text}");
        assert_eq!(body_len, 0);

        let mut raw_plan = plan_for(&["http://localhost:8080/"]);
        raw_plan.raw = Some(b"GET / HTTP/1.0\n\n".to_vec());
        let session = Session::new(&args, &raw_plan, Paint::PLAIN, Instant::now()).unwrap();
        let (bytes, _) = session
            .request_bytes(&step("http://localhost:8080/"), None)
            .unwrap();
        assert_eq!(bytes, b"GET / HTTP/1.0\n\n");
    }

    #[test]
    fn a_silent_session_shows_nothing_and_finish_saves_the_recording() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("run.trace");
        let args = RequestArgs {
            silent: true,
            verbose: 1,
            record: Some(record.clone()),
            ..RequestArgs::default()
        };
        let plan = plan_for(&["http://localhost:8080/"]);
        let mut session = Session::new(&args, &plan, Paint::PLAIN, Instant::now()).unwrap();
        let mut shown = Vec::new();
        let mut transcript = session.transcript(&mut shown);
        note(&mut transcript, "hidden");
        drop(transcript);
        assert!(shown.is_empty());
        // Nothing is open: settling changes nothing.
        let mut quiet: Transcript<&mut dyn Write> =
            Transcript::new(None, Paint::PLAIN, false, false);
        session.settle(Fate::LeftOpen, true, false, &mut quiet);
        assert!(session.open.is_none());
        session.finish().unwrap();
        let saved = std::fs::read_to_string(&record).unwrap();
        assert!(wire::trace::Trace::parse(&saved).is_ok(), "{saved}");
    }
}
