//! The command line: `smtp send`, `smtp serve`, `smtp show`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const SEND_EXAMPLES: &str = "\
Examples:
  # to the local sink (start it first with `smtp serve`)
  smtp send --from alice@example.org --to bob@example.org --subject hi --body 'Hello Bob'

  # the lab's minimal client, byte for byte: HELO Alice, one line of text
  smtp send --kr --server localhost:2525 -v

  # Gmail with an app password (STARTTLS on 587, AUTH LOGIN), password from the environment
  GMAIL_APP_PASSWORD=... smtp send --gmail --from you@gmail.com --to friend@example.org \\
      --subject 'from my lab' --attach cat.png --password-env GMAIL_APP_PASSWORD -v

  # the sink with TLS and AUTH, trusting its generated certificate
  smtp send --server localhost:2525 --tls starttls --ca maildir/sink-cert.pem \\
      --user alice --password-file pw.txt --from a@x.test --to b@x.test

  # stop after EHLO to see what a server offers
  smtp send --server smtp.example.org:587 --quit-after ehlo -v

Exit codes (as swaks): 0 delivered, 1 bad arguments or files, 2 cannot connect,
21 greeting, 22 EHLO/HELO, 23 MAIL FROM, 24 RCPT TO (none accepted), 25 DATA,
26 message refused after the final dot, 28 AUTH, 29 TLS.";

const SERVE_EXAMPLES: &str = "\
Examples:
  # a sink on 127.0.0.1:2525 that keeps every message in ~/.local/share/protolab/maildir
  # and prints a line for each: From, To, Subject, size and the file
  smtp serve

  # the same, keeping them in ./maildir instead, on port 2526
  smtp serve --maildir ./maildir -p 2526

  # with STARTTLS (a self-signed certificate is generated), implicit TLS on 4650, and AUTH
  smtp serve --maildir ./maildir --smtps-port 4650 --auth alice:secret --require-auth

  # then, in another terminal
  smtp send --server localhost:2525 --from a@x.test --to b@x.test --body hi
  smtp show maildir/new/<file>

Messages are stored exactly as received (after dot-unstuffing) in DIR/new/, their
envelope (MAIL FROM, RCPT TO, client name, TLS, user) in DIR/envelope/ under the same name.
The folder is printed at start; --no-store keeps nothing.";

const SHOW_EXAMPLES: &str = "\
Examples:
  smtp show maildir/new/1767268800.M1P42Q1.host
  smtp show maildir/new/1767268800.M1P42Q1.host --extract ./attachments";

/// SMTP client with STARTTLS, AUTH and MIME attachments, and a local sink server.
#[derive(Parser, Debug)]
#[command(
    name = "smtp",
    version = cmdline::version!(),
    about = "SMTP client with STARTTLS, AUTH and MIME attachments, and a local sink server",
    long_about = "Sends mail over SMTP showing every line (smtp send), runs a local sink server for \
                  offline labs (smtp serve), and prints stored messages with their parts (smtp show).",
    after_help = "Run `smtp send --help`, `smtp serve --help` or `smtp show --help` for examples."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CommandKind,
    /// `--color auto|always|never`, for every subcommand.
    #[command(flatten)]
    pub color: cmdline::ColorArg,
}

impl Cli {
    /// Parses a command line given as words (the first is the program name), as `main` does
    /// with the real one; tests use it to run `smtp send ...` in-process.
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::try_parse_from(args)
    }
}

/// The three programs in one.
#[derive(Subcommand, Debug)]
pub enum CommandKind {
    /// Send one message (the SMTP client)
    #[command(after_help = SEND_EXAMPLES)]
    Send(Box<SendArgs>),
    /// Run a local SMTP sink that stores what it receives
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Print a stored message: headers, parts, attachments
    #[command(after_help = SHOW_EXAMPLES)]
    Show(ShowArgs),
}

/// `--tls`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsArg {
    /// STARTTLS after EHLO (port 587)
    Starttls,
    /// TLS from the first byte (port 465)
    Implicit,
    /// plain TCP (ports 25, 2525)
    None,
}

/// `--auth`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthArg {
    /// PLAIN when the server offers it, else LOGIN
    Auto,
    /// AUTH PLAIN with an initial response
    Plain,
    /// AUTH LOGIN, answering the two prompts
    Login,
}

/// `--quit-after`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuitAfterArg {
    Banner,
    Ehlo,
    Tls,
    Auth,
    Mail,
    Rcpt,
}

#[derive(Args, Debug, Clone)]
pub struct SendArgs {
    /// Server as HOST or HOST:PORT (default localhost:2525, the sink); the port picks the TLS default:
    /// 587 STARTTLS, 465 implicit, others none. A bare HOST means port 25
    #[arg(long, short = 's', value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    /// Sender address, `a@b.c` or `Name <a@b.c>` (MAIL FROM and the From header); default USER@host
    #[arg(long, short = 'f', value_name = "ADDRESS")]
    pub from: Option<String>,
    /// Recipient (repeatable); `Name <a@b.c>` is fine
    #[arg(long, short = 't', value_name = "ADDRESS")]
    pub to: Vec<String>,
    /// Copy recipient (repeatable), shown in the Cc header
    #[arg(long, value_name = "ADDRESS")]
    pub cc: Vec<String>,
    /// Hidden recipient (repeatable): gets the message, appears in no header
    #[arg(long, value_name = "ADDRESS")]
    pub bcc: Vec<String>,
    /// Subject line (non-ASCII is fine: it is sent as RFC 2047 encoded words)
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,
    /// Message text
    #[arg(long, value_name = "TEXT", conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Message text from a file (UTF-8)
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// An HTML version of the text (sent as multipart/alternative)
    #[arg(long, value_name = "FILE")]
    pub html_file: Option<PathBuf>,
    /// Attach a file (repeatable); its type comes from its name
    #[arg(long, short = 'a', value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    /// Add a header field, or replace a generated one (repeatable)
    #[arg(long, value_name = "'NAME: VALUE'")]
    pub header: Vec<String>,
    /// Send these bytes as the message after DATA, exactly (only dot-stuffed)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["subject", "body", "body_file", "html_file", "attach", "header"])]
    pub raw: Option<PathBuf>,
    /// Encryption; the default depends on the port (587 starttls, 465 implicit, else none)
    #[arg(long, value_enum)]
    pub tls: Option<TlsArg>,
    /// Also trust this CA or the server's own certificate (PEM; a self-signed one made with
    /// `openssl req -x509`, or the sink's sink-cert.pem), host name still checked
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Do not check the server's certificate at all (local tests only)
    #[arg(long)]
    pub insecure: bool,
    /// AUTH mechanism (used when --user is given)
    #[arg(long, value_enum, default_value = "auto")]
    pub auth: AuthArg,
    /// User name for AUTH; the password comes from --password-env, --password-file or a prompt
    #[arg(long, short = 'u', value_name = "NAME")]
    pub user: Option<String>,
    /// Read the password from this environment variable
    #[arg(long, value_name = "VAR", conflicts_with = "password_file")]
    pub password_env: Option<String>,
    /// Read the password from the first line of this file
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Send AUTH even when the connection is not encrypted (for local test servers)
    #[arg(long)]
    pub allow_plaintext_auth: bool,
    /// Name to give in EHLO/HELO (default: this machine's host name)
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    /// How long to wait for the connection and for each reply (1.5s, 500ms, 1m; a bare number
    /// is seconds)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = cmdline::parse_positive_duration)]
    pub timeout: std::time::Duration,
    /// Stop with QUIT after this step
    #[arg(long, value_enum, value_name = "STEP")]
    pub quit_after: Option<QuitAfterArg>,
    /// Show the conversation in trace syntax (-vv: the whole message too, however long)
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Gmail preset: smtp.gmail.com:587, STARTTLS, AUTH LOGIN, user = --from
    #[arg(long)]
    pub gmail: bool,
    /// The lab's minimal client: HELO Alice and the one-line message of the lab skeleton
    /// (from alice@crepes.fr to bob@hamburger.edu unless --from/--to say otherwise)
    #[arg(long, conflicts_with_all = ["subject", "body", "body_file", "html_file", "attach", "header", "gmail"])]
    pub kr: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port for SMTP (STARTTLS offered when a certificate is available)
    #[arg(long, short = 'p', default_value_t = 2525)]
    pub port: u16,
    /// Also listen with implicit TLS (like port 465) on this port
    #[arg(long, value_name = "PORT")]
    pub smtps_port: Option<u16>,
    /// Store messages in this Maildir (created if missing) [default: maildir in protolab's data
    /// folder: $PROTOLAB_DATA_DIR, else $XDG_DATA_HOME/protolab, else ~/.local/share/protolab]
    #[arg(long, short = 'm', value_name = "DIR")]
    pub maildir: Option<PathBuf>,
    /// Keep nothing: print each message's summary line only
    #[arg(long, conflicts_with = "maildir")]
    pub no_store: bool,
    /// TLS certificate chain (PEM); without it a self-signed one for localhost is generated
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Do not offer TLS at all
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key", "smtps_port", "require_tls"])]
    pub no_tls: bool,
    /// Accept AUTH PLAIN and LOGIN for this account (repeatable)
    #[arg(long, value_name = "USER:PASS")]
    pub auth: Vec<String>,
    /// Refuse MAIL and AUTH until STARTTLS
    #[arg(long)]
    pub require_tls: bool,
    /// Refuse MAIL until AUTH succeeds
    #[arg(long, requires = "auth")]
    pub require_auth: bool,
    /// Largest message in bytes (announced as SIZE)
    #[arg(long, value_name = "BYTES", default_value_t = 50 * 1024 * 1024)]
    pub max_size: usize,
    /// Name in the greeting and EHLO reply
    #[arg(long, default_value = "localhost")]
    pub hostname: String,
    /// Silence before the sink says 421 and hangs up (30s, 1m; a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = cmdline::parse_positive_duration)]
    pub idle_timeout: std::time::Duration,
    /// Show every conversation in trace syntax
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ShowArgs {
    /// A stored message (a file in a Maildir's new/ or cur/, or any .eml file)
    pub file: PathBuf,
    /// Write the decoded attachments into this folder
    #[arg(long, value_name = "DIR")]
    pub extract: Option<PathBuf>,
}
