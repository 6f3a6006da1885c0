//! The command line: every flag overrides the same setting from `--config FILE`.
use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::config::{self, Config, ConfigError, Level, LogTarget, Model};

const EXAMPLES: &str = "\
Examples:
  server                                   the built-in demo site on http://127.0.0.1:8080/
  server --root ./public --port 8000       serve a folder
  server --root ./share --allow-write      also accept PUT (upload) and DELETE
  server --model threads --access-log -    one thread per connection, log requests to stdout
  server --quiet --access-log access.log   no request lines on the terminal, a log file instead
  server --config server.toml --port 9000  settings from a file; flags win over the file

Then try:
  client GET localhost 8080 /
  curl -v http://localhost:8080/

Signals: SIGTERM or SIGINT stop gracefully, SIGHUP re-reads the config file.
Exit codes: 0 stopped cleanly, 1 could not start (port in use, ...), 2 bad flags or config.";

/// Origin HTTP/1.1 server: static files, a built-in demo site, uploads
#[derive(Parser, Debug, Default, Clone)]
#[command(
    name = "server",
    version = cmdline::version!(),
    about,
    long_about = "Serves a folder, or a built-in demo site that explains HTTP/1.1 feature by feature, \
                  over HTTP/1.1 on 127.0.0.1:8080. Every response says exactly what it is (Date, \
                  Server, Content-Length or chunked framing), and /server-status shows the counters.",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Folder to serve (the built-in demo site when absent)
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Address to listen on
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
    /// Port to listen on (0 picks a free one)
    #[arg(long, short, value_name = "N")]
    pub port: Option<u16>,
    /// TOML file with the same settings (flags override it)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How connections are run
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// Event loops or pool threads (default: one per core)
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Connections served at once; beyond it new ones get 503 with Retry-After
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Access log in Combined Log Format: a file, or - for standard output
    #[arg(long, value_name = "FILE|-")]
    pub access_log: Option<String>,
    /// No line per request on the terminal (by default one is printed there, as `python3 -m
    /// http.server` does: time, client, method, path, status, bytes, time taken); --access-log
    /// is still written
    #[arg(long, short)]
    pub quiet: bool,
    /// Error log file (default: standard error)
    #[arg(long, value_name = "FILE")]
    pub error_log: Option<PathBuf>,
    /// How much the error log says
    #[arg(long, value_enum)]
    pub log_level: Option<Level>,
    /// Accept PUT and DELETE under --root
    #[arg(long)]
    pub allow_write: bool,
    /// Never compress responses
    #[arg(long)]
    pub no_gzip: bool,
    /// Refuse request lines that end in a bare LF, and raw UTF-8 in a path, with 400 (by
    /// default both are accepted, as nginx does, so a request typed into `nc` works)
    #[arg(long)]
    pub strict: bool,
    /// Also answer the routes of the labs' http track (/echo/TEXT, /user-agent, /params,
    /// /chunked/N, POST /files/NAME under --root); always on for the demo site
    #[arg(long)]
    pub lab: bool,
    /// Close an idle keep-alive connection after this long (1.5s, 500ms, 2m; a bare number is
    /// seconds) [default: 5s]
    #[arg(long, value_name = "TIME", value_parser = cmdline::parse_duration)]
    pub keep_alive_timeout: Option<Duration>,
    /// Give up on a request head that takes longer than this to arrive [default: 10s]
    #[arg(long, value_name = "TIME", value_parser = cmdline::parse_duration)]
    pub header_timeout: Option<Duration>,
    #[command(flatten)]
    pub color: cmdline::ColorArg,
}

impl Cli {
    /// Defaults, then the config file (if any), then the flags.
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(path) = &self.config {
            c.apply_file(config::read_file(path)?);
            c.config_file = Some(path.clone());
        }
        self.apply_flags(&mut c);
        Ok(c)
    }

    /// Applies the flags given on the command line, leaving the rest alone.
    pub fn apply_flags(&self, c: &mut Config) {
        if let Some(r) = &self.root {
            c.root = Some(r.clone());
        }
        if let Some(b) = self.bind {
            c.bind = b;
        }
        if let Some(p) = self.port {
            c.port = p;
        }
        if let Some(m) = self.model {
            c.model = m;
        }
        if let Some(w) = self.workers {
            c.workers = w;
        }
        if let Some(m) = self.max_connections {
            c.max_connections = m;
        }
        if let Some(a) = &self.access_log {
            c.access_log = Some(LogTarget::parse(a));
        }
        if let Some(e) = &self.error_log {
            c.error_log = Some(e.clone());
        }
        if let Some(l) = self.log_level {
            c.log_level = l;
        }
        if self.allow_write {
            c.allow_write = true;
        }
        if self.no_gzip {
            c.gzip = false;
        }
        if self.strict {
            c.strict = true;
        }
        if self.lab {
            c.lab = true;
        }
        if let Some(t) = self.keep_alive_timeout {
            c.keep_alive_timeout = t;
        }
        if let Some(t) = self.header_timeout {
            c.header_timeout = t;
        }
        c.request_lines = crate::log::wants_request_lines(
            self.quiet,
            std::io::stdout().is_terminal(),
            c.access_log == Some(LogTarget::Stdout),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn flags_override_the_file() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "port = 9000\nmodel = \"pool\"\ngzip = true\n[timeouts]\nkeep_alive = \"9s\""
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "server",
            "--config",
            f.path().to_str().unwrap(),
            "--port",
            "9001",
            "--no-gzip",
            "--keep-alive-timeout",
            "300ms",
        ])
        .unwrap();
        let c = cli.to_config().unwrap();
        assert_eq!(c.port, 9001);
        assert_eq!(c.model, Model::Pool);
        assert!(!c.gzip);
        assert_eq!(c.keep_alive_timeout, Duration::from_millis(300));
        assert_eq!(c.config_file.as_deref(), Some(f.path()));
    }

    /// The defaults written into `--help` are the ones the server really uses.
    #[test]
    fn help_shows_the_real_default_timeouts() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        let d = Config::default();
        for t in [d.keep_alive_timeout, d.header_timeout] {
            let want = format!("[default: {}]", cmdline::format_duration(t));
            assert!(help.contains(&want), "--help lacks {want}:\n{help}");
        }
    }

    #[test]
    fn every_flag_parses() {
        let cli = Cli::try_parse_from([
            "server",
            "--root",
            "/tmp",
            "--bind",
            "::1",
            "-p",
            "0",
            "--model",
            "threads",
            "--workers",
            "4",
            "--max-connections",
            "10",
            "--access-log",
            "-",
            "--error-log",
            "e.log",
            "--log-level",
            "warn",
            "--allow-write",
            "--header-timeout",
            "1.5s",
            "--color",
            "never",
        ])
        .unwrap();
        let c = cli.to_config().unwrap();
        assert_eq!(c.model, Model::Threads);
        assert_eq!((c.workers, c.max_connections), (4, 10));
        assert_eq!(c.access_log, Some(LogTarget::Stdout));
        assert_eq!(c.log_level, Level::Warn);
        assert!(c.allow_write);
        assert_eq!(c.header_timeout, Duration::from_millis(1500));
        assert_eq!(cli.color.color, cmdline::ColorWhen::Never);
    }
}
