//! The command line: one-shot requests (the default), `repl` and `load`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

pub use cmdline::parse_duration;

use crate::paint::ColorChoice;

const EXAMPLES: &str = "\
Examples:
  (each works as written against `server`, whose demo site is on port 8080)
  client GET localhost 8080 /                 the lab form: METHOD HOST PORT PATH
  client GET localhost 8080 files/hello.txt   the same; the leading / may be left out
  client http://localhost:8080/index.html     a URL; the body goes to stdout
  client -v http://localhost:8080/            the whole exchange on stderr, \\r\\n and all
  client -vv -r 0-8191 http://localhost:8080/files/large.txt   bodies over 4 KiB shown too
  client -i HEAD localhost 8080 /             status line and headers too
  client -r 0-63 http://localhost:8080/files/large.txt         the first 64 bytes (Range)
  client -i -z 'Sat, 21 Nov 2026 00:00:00 GMT' http://localhost:8080/files/hello.txt
                                              304 Not Modified unless it changed since
  client -b jar.txt -c jar.txt http://localhost:8080/cookies   keep cookies between runs
  client -d 'name=Ada&message=hi' http://localhost:8080/inspect   a form; /inspect echoes it
  client --data-urlencode 'message=hi there & more' http://localhost:8080/inspect
  client -F name=Grace -F upload=@notes.txt http://localhost:8080/inspect   multipart/form-data
  client -T notes.txt http://localhost:8080/inspect   PUT a file
  client --resolve example.org:8080:127.0.0.1 http://example.org:8080/
                                              connect to 127.0.0.1, Host: example.org:8080
  client --raw broken.txt localhost 8080      send a file's bytes exactly (or a .trace's C: side)
  printf 'GET / HTTP/1.0\\n\\n' | client --raw - localhost 8080
  printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /style.css HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' \\
    | client --raw - localhost 8080           two pipelined requests: both responses are shown
  client -x localhost:8888 http://localhost:8080/   through `proxy` (absolute-form)
  client --record get.trace http://localhost:8080/
  client http://localhost:8080/ http://localhost:8080/style.css   one connection, two requests
  client repl localhost 8080                  type requests by hand
  client load -c 16 -d 2s http://localhost:8080/

Exit codes (the same numbers as curl's):
  0 ok                   3 malformed URL          6 could not resolve host
  7 could not connect    8 not an HTTP reply     18 body shorter than announced
 22 --fail and status >= 400                     23 could not write output
 26 could not read a local file                  28 timeout
 35 TLS handshake failed                         47 too many redirects (-L)
 52 empty reply         55 send failed           56 receive failed
 60 server certificate not trusted (--cacert FILE, or -k for a lab server)
 77 the --cacert file cannot be read or holds no certificate";

/// Raw HTTP client that shows every byte, a REPL for typing requests, and a load generator.
#[derive(Parser, Debug)]
#[command(
    name = "client",
    version = cmdline::version!(),
    about,
    long_about = "Sends HTTP requests and shows exactly what went over the wire.\n\n\
        The response body goes to stdout. -v shows the whole exchange on stderr in the .trace \
        syntax the tests and labs use (C: for what was sent, S: for what came back, \\r\\n \
        visible). Broken responses are shown as they are, with a one-line diagnosis naming the \
        offending bytes and the RFC rule.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// `repl` or `load`; without one, a one-shot request.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The request(s) to make.
    #[command(flatten)]
    pub request: RequestArgs,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Type requests (or any line protocol) by hand on a live connection.
    Repl(ReplArgs),
    /// Drive a server with many connections and report throughput and latency.
    Load(LoadArgs),
}

/// Options of a one-shot request.
#[derive(Args, Debug, Clone, Default)]
pub struct RequestArgs {
    /// `METHOD HOST PORT [PATH]` (the lab form), or `[METHOD] URL [URL...]`.
    #[arg(value_name = "REQUEST", required = true, num_args = 1..)]
    pub words: Vec<String>,

    /// Also print the status line and headers to stdout, before the body.
    #[arg(short = 'i', long)]
    pub include: bool,

    /// Show the whole exchange on stderr in trace syntax (C:/S: lines, \r\n visible); bodies
    /// over 4 KiB show as `<body N bytes sha256=...>`. Twice (-vv): every body byte too.
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// With -v, show every body byte however large (the same as -vv).
    #[arg(long = "verbose-body")]
    pub verbose_body: bool,

    /// Add a header, `Name: value` (replaces a default of that name; `Name:` removes it).
    #[arg(short = 'H', long = "header", value_name = "LINE")]
    pub headers: Vec<String>,

    /// Send DATA as the body (POST, form-encoded); `@FILE` reads a file without its newlines.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,

    /// Send DATA as the body exactly; `@FILE` reads a file's bytes, `@-` stdin.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Vec<String>,

    /// Send DATA percent-encoded (POST, form-encoded): `name=value` encodes the value,
    /// `name@FILE` a file's bytes; joined with the other -d pieces by `&`, in the order given.
    #[arg(long = "data-urlencode", value_name = "DATA")]
    pub data_urlencode: Vec<String>,

    /// A multipart/form-data field (POST): `name=value`, `name=@FILE` (a file upload), or
    /// `name=<FILE` (a file's text as the value); `;type=TYPE` and `;filename=NAME` after it.
    #[arg(short = 'F', long = "form", value_name = "NAME=CONTENT")]
    pub form: Vec<String>,

    /// Ask for part of the body: `0-63`, `-32` (the last 32 bytes), `100-`, `0-9,32-41`
    /// (`Range: bytes=...`).
    #[arg(
        short = 'r',
        long = "range",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub range: Option<String>,

    /// Only if changed since this date or FILE's modification time (`If-Modified-Since`);
    /// `-DATE` for only if not changed since (`If-Unmodified-Since`).
    #[arg(
        short = 'z',
        long = "time-cond",
        value_name = "TIME",
        allow_hyphen_values = true
    )]
    pub time_cond: Option<String>,

    /// Send cookies: `name=value; n2=v2` as written, or a Netscape cookie FILE (as -c writes;
    /// a missing file is an empty jar), whose cookies go where they apply.
    #[arg(short = 'b', long = "cookie", value_name = "DATA|FILE")]
    pub cookie: Vec<String>,

    /// Write every cookie at the end to FILE, in the Netscape format curl writes.
    #[arg(short = 'c', long = "cookie-jar", value_name = "FILE")]
    pub cookie_jar: Option<PathBuf>,

    /// Connect to ADDR for HOST:PORT instead of asking the resolver, as curl's
    /// `--resolve HOST:PORT:ADDR[,ADDR...]`; the Host header and TLS name stay HOST.
    #[arg(long, value_name = "HOST:PORT:ADDR", value_parser = crate::net::Pinned::parse)]
    pub resolve: Vec<crate::net::Pinned>,

    /// -d, --data-urlencode and --data-binary in the order they were given (filled in by
    /// [`parse_from`]; empty when the arguments were made some other way).
    #[arg(skip)]
    pub data_order: Vec<(DataKind, String)>,

    /// Upload FILE with PUT (the file name is appended to a URL ending in `/`).
    #[arg(short = 'T', long = "upload-file", value_name = "FILE")]
    pub upload_file: Option<PathBuf>,

    /// The method to use, whatever else implies.
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,

    /// HEAD request: show the status line and headers only.
    #[arg(short = 'I', long)]
    pub head: bool,

    /// Speak HTTP/1.0 (one request per connection unless the server keeps it alive).
    #[arg(short = '0', long = "http1.0")]
    pub http10: bool,

    /// Write the body to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Ask for gzip or deflate and decode the body.
    #[arg(long)]
    pub compressed: bool,

    /// Follow redirects (3xx with Location).
    #[arg(short = 'L', long = "location")]
    pub follow: bool,

    /// How many redirects -L follows before giving up (exit 47).
    #[arg(long = "max-redirs", value_name = "N", default_value_t = 50)]
    pub max_redirects: u32,

    /// Give up connecting after this long (`1.5s`, `500ms`, `1m`; a bare number is seconds, as
    /// curl takes it; exit 28). No limit by default.
    #[arg(long = "connect-timeout", value_name = "TIME", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,

    /// Give up on the whole operation after this long (`10s`, `1m 30s`; exit 28). No limit by
    /// default.
    #[arg(short = 'm', long = "max-time", value_name = "TIME", value_parser = parse_duration)]
    pub max_time: Option<Duration>,

    /// Exit 22 when the final status is 400 or above (the body is not written).
    #[arg(short = 'f', long)]
    pub fail: bool,

    /// Send requests through this HTTP proxy: http:// URLs in absolute-form
    /// (`GET http://host/path`), https:// ones through a tunnel (`CONNECT host:443`, then TLS).
    #[arg(short = 'x', long, value_name = "HOST:PORT")]
    pub proxy: Option<String>,

    /// Use TLS in the lab form (a URL says so with https://).
    #[arg(long)]
    pub tls: bool,

    /// DANGEROUS: accept any TLS certificate (for lab servers with self-signed ones).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Also trust the certificates in this PEM file: CAs, or the server's own (a self-signed
    /// one made with `openssl req -x509`), whose host name is still checked. -v says which
    /// roots are used (the system's store, else bundled ones).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Show both directions as a hex dump on stderr.
    #[arg(long)]
    pub hex: bool,

    /// Print how long each phase took (resolve, connect, TLS, first byte, total) on stderr.
    #[arg(long)]
    pub timing: bool,

    /// Send these bytes exactly as given (FILE, `-` for stdin, or a .trace file's C: side).
    #[arg(long, value_name = "FILE")]
    pub raw: Option<String>,

    /// Save the exchange as a .trace file.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// The User-Agent header.
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub user_agent: Option<String>,

    /// Quiet: no diagnoses or error messages (the exit code still tells).
    #[arg(short = 's', long)]
    pub silent: bool,

    /// Show errors even with -s.
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,

    /// When to colour stderr: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// Which flag a piece of the body came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// `-d`: `@FILE` without its line breaks.
    Data,
    /// `--data-urlencode`.
    UrlEncode,
    /// `--data-binary`.
    Binary,
}

impl RequestArgs {
    /// The body's pieces in the order given on the command line, as curl joins them with `&`.
    pub fn data_in_order(&self) -> Vec<(DataKind, String)> {
        if !self.data_order.is_empty() {
            return self.data_order.clone();
        }
        let tag = |kind: DataKind, list: &[String]| {
            list.iter()
                .map(move |d| (kind, d.clone()))
                .collect::<Vec<_>>()
        };
        let mut all = tag(DataKind::Data, &self.data);
        all.extend(tag(DataKind::UrlEncode, &self.data_urlencode));
        all.extend(tag(DataKind::Binary, &self.data_binary));
        all
    }
}

/// Parses the command line, keeping the order of the body flags (which derive alone loses).
pub fn parse_from<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches_from(argv)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if cli.command.is_none() {
        let mut order: Vec<(usize, DataKind, String)> = Vec::new();
        for (id, kind) in [
            ("data", DataKind::Data),
            ("data_urlencode", DataKind::UrlEncode),
            ("data_binary", DataKind::Binary),
        ] {
            if let (Some(indices), Some(values)) =
                (matches.indices_of(id), matches.get_many::<String>(id))
            {
                order.extend(indices.zip(values).map(|(i, v)| (i, kind, v.clone())));
            }
        }
        order.sort_by_key(|(i, _, _)| *i);
        cli.request.data_order = order.into_iter().map(|(_, k, v)| (k, v)).collect();
    }
    Ok(cli)
}

/// Options of `client repl`.
#[derive(Args, Debug, Clone, Default)]
#[command(after_help = "\
Examples:
  client repl localhost 8080                  type a request; an empty line sends it
  printf 'GET / HTTP/1.1\\nHost: localhost\\n\\n' | client repl localhost 8080
                                              the same from a script: each line sent with CRLF

Typing and pasting:
  Every line is sent with CRLF (--lf: a bare LF). Lines typed or pasted while an answer is
  awaited are kept and taken in order once it has come. A paste counts as typed, each newline
  ending a line; the Enter that confirms it ends one more line only when the paste does not
  end with a newline.

Connections:
  When the server has closed the connection (its keep-alive timeout passed, or a response said
  Connection: close), the close is shown as S: <close>, and the next request goes on a new
  connection, saying it reconnected; a request that went out just as the server closed an idle
  connection (nothing came back) is sent once more on a new one, as curl does. :close closes
  from this side (C: <close>); :help lists the commands.")]
pub struct ReplArgs {
    /// Server to connect to (`:connect HOST PORT` later if left out).
    pub host: Option<String>,

    /// Its port.
    pub port: Option<u16>,

    /// Line mode: any line protocol (SMTP, a chat server); each line is sent as typed with CRLF.
    #[arg(long)]
    pub line: bool,

    /// End lines with a bare LF instead of CRLF.
    #[arg(long)]
    pub lf: bool,

    /// Show received bytes as a hex dump as well.
    #[arg(long)]
    pub hex: bool,

    /// Record the session to a .trace file.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// With piped input: how long to wait for a reply before going on (and at the end);
    /// `1.5s`, `500ms`, `1m`.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "5s")]
    pub wait: Duration,

    /// Do not read or write the history file.
    #[arg(long)]
    pub no_history: bool,

    /// When to colour: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// Options of `client load`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "\
Examples:
  (against `server`'s demo site; raise -c, -n and -d for a real measurement)
  client load -c 16 -n 5000 http://localhost:8080/
  client load -c 16 -d 2s http://localhost:8080/index.html
  client load -c 8 -d 2s --rate 500 http://localhost:8080/     paced (latency from the schedule)
  client load -c 8 -n 1000 --close http://localhost:8080/      a new connection per request
  client load -d 2s --json http://localhost:8080/ > result.json

Ctrl-C stops early and prints the summary of what was measured so far, exit code 0 (a second
Ctrl-C quits at once). Latency percentiles come from an HdrHistogram (3 significant digits).")]
pub struct LoadArgs {
    /// The URL every request asks for (http://).
    pub url: String,

    /// Connections kept busy at once.
    #[arg(short = 'c', long, default_value_t = 64)]
    pub connections: usize,

    /// Stop after this many requests.
    #[arg(short = 'n', long, conflicts_with = "duration")]
    pub requests: Option<u64>,

    /// Stop after this long (`10s`, `1m`, `1.5s`, `500ms`) [default: 10s when neither -n nor -d
    /// is given].
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Event-loop threads (the connections are shared out among them).
    #[arg(short = 't', long, default_value_t = 1)]
    pub threads: usize,

    /// Open a new connection for every request (`Connection: close`).
    #[arg(long)]
    pub close: bool,

    /// Send at most this many requests per second in total; latency is measured from when each
    /// request was due, so a stalled server shows up in the percentiles.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,

    /// The method.
    #[arg(short = 'X', long = "method", default_value = "GET")]
    pub method: String,

    /// Add a header, `Name: value`.
    #[arg(short = 'H', long = "header", value_name = "LINE")]
    pub headers: Vec<String>,

    /// A body to send with every request.
    #[arg(long = "body", value_name = "DATA")]
    pub body: Option<String>,

    /// A request that takes longer than this counts as a timeout error (`10s`, `1.5s`,
    /// `500ms`).
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,

    /// Keep polling the sockets without sleeping for this long after the last event (`200us`,
    /// `1ms`; `0` sleeps at once and uses less CPU). A generator that sleeps between responses
    /// makes the server under test pay for waking it. Paced runs (`--rate`) never spin.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "200us")]
    pub spin: Duration,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// When to show live progress and colour: auto (on a terminal, unless NO_COLOR is set),
    /// always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_take_curl_seconds_and_units() {
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("soon").unwrap_err().contains("500ms"));
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn lab_form_and_subcommands_parse() {
        let cli = Cli::try_parse_from(["client", "GET", "localhost", "8080", "/"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.request.words, ["GET", "localhost", "8080", "/"]);

        let cli = Cli::try_parse_from(["client", "repl", "localhost", "8080"]).unwrap();
        match cli.command {
            Some(Command::Repl(r)) => {
                assert_eq!((r.host.as_deref(), r.port), (Some("localhost"), Some(8080)))
            }
            other => panic!("{other:?}"),
        }

        let cli =
            Cli::try_parse_from(["client", "load", "-c", "8", "-n", "100", "http://a/"]).unwrap();
        match cli.command {
            Some(Command::Load(l)) => {
                assert_eq!((l.connections, l.requests), (8, Some(100)));
                assert_eq!(l.spin, Duration::from_micros(200), "the default spin");
            }
            other => panic!("{other:?}"),
        }
        for (arg, want) in [("0", Duration::ZERO), ("1ms", Duration::from_millis(1))] {
            let cli = Cli::try_parse_from(["client", "load", "--spin", arg, "http://a/"]).unwrap();
            match cli.command {
                Some(Command::Load(l)) => assert_eq!(l.spin, want, "--spin {arg}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn body_flags_keep_their_order() {
        let cli = parse_from([
            "client",
            "--data-urlencode",
            "m=a b",
            "-d",
            "a=1",
            "--data-binary",
            "b",
            "-d",
            "c=2",
            "http://a/",
        ])
        .unwrap();
        let pieces = cli.request.data_in_order();
        let order: Vec<(DataKind, &str)> = pieces.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            order,
            [
                (DataKind::UrlEncode, "m=a b"),
                (DataKind::Data, "a=1"),
                (DataKind::Binary, "b"),
                (DataKind::Data, "c=2"),
            ]
        );
    }

    #[test]
    fn options_may_follow_the_words() {
        let cli = Cli::try_parse_from(["client", "http://a/", "-i", "-H", "X: 1"]).unwrap();
        assert!(cli.request.include);
        assert_eq!(cli.request.headers, ["X: 1"]);
    }
}
