//! Settings: built-in defaults, then the TOML file (`--config FILE`), then command-line flags.
//!
//! A config file sets the same things as the flags. Unknown keys are errors, and every error
//! names the file, the line and the column, so a typo never silently falls back to a default:
//!
//! ```toml
//! root = "/srv/www"          # omit to serve the built-in demo site
//! bind = "127.0.0.1"
//! port = 8080
//! model = "epoll"            # epoll | pool | threads
//! workers = 2                # event loops or pool threads; 0 = one per core
//! allow_write = false        # PUT and DELETE (needs `root`)
//! gzip = true
//! strict = false             # true: a bare LF line ending or raw UTF-8 in the path is a 400
//! lab = false                # the labs' http track routes (/echo/..., POST /files/...)
//!
//! [log]
//! access = "-"               # a file, or "-" for standard output; omit for none
//! error = "server-error.log" # omit for standard error
//! level = "info"             # error | warn | info | debug
//!
//! [limits]
//! max_connections = 10000
//! requests_per_connection = 1000
//! max_body = 104857600       # bytes, for uploads
//! queue = 1024               # pool model: connections waiting for a worker
//!
//! [timeouts]                 # "10s", "500ms", "2m" or a number of seconds
//! header = "10s"
//! keep_alive = "5s"
//! grace = "5s"
//!
//! [mime]                     # extra or overriding types by extension
//! wasm = "application/wasm"
//! ```
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Which I/O shell runs the connections. All three drive the same per-connection core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Readiness event loops (epoll through mio), one per core: the default.
    Epoll,
    /// A fixed pool of worker threads fed through a bounded queue.
    Pool,
    /// One thread per connection: the simplest to read.
    Threads,
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Model::Epoll => "epoll",
            Model::Pool => "pool",
            Model::Threads => "threads",
        })
    }
}

/// How much the error log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        })
    }
}

/// Where the access log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    File(PathBuf),
}

impl LogTarget {
    /// `-` means standard output; anything else is a file path.
    pub fn parse(s: &str) -> LogTarget {
        if s == "-" {
            LogTarget::Stdout
        } else {
            LogTarget::File(PathBuf::from(s))
        }
    }
}

/// Everything the server needs to run, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The folder served; `None` serves the built-in demo site.
    pub root: Option<PathBuf>,
    pub bind: IpAddr,
    pub port: u16,
    pub model: Model,
    /// Event loops (epoll) or worker threads (pool); 0 means one per core.
    pub workers: usize,
    pub max_connections: usize,
    pub requests_per_connection: u32,
    /// The largest request body accepted (uploads and forms), in bytes.
    pub max_body: u64,
    /// Connections waiting for a worker in the pool model.
    pub queue: usize,
    pub access_log: Option<LogTarget>,
    /// One short line per request on standard output, as `python3 -m http.server` prints them
    /// (`server` sets it when standard output is a terminal, unless `--quiet`).
    pub request_lines: bool,
    /// `None` writes errors to standard error.
    pub error_log: Option<PathBuf>,
    pub log_level: Level,
    pub allow_write: bool,
    pub gzip: bool,
    /// Refuse request heads whose lines end in a bare LF (400), as RFC 9112 §2.2 allows, and raw
    /// UTF-8 in the request-target; by default both are accepted, as nginx does, so a request
    /// typed into `nc` works.
    pub strict: bool,
    /// The routes of the labs' http track (`lab_routes`); always on for the demo site.
    pub lab: bool,
    pub header_timeout: Duration,
    pub keep_alive_timeout: Duration,
    /// How long a graceful stop waits for requests in flight.
    pub grace: Duration,
    /// Extra MIME types by lower-case extension (without the dot).
    pub mime_types: BTreeMap<String, String>,
    /// The config file this came from, re-read on SIGHUP or `reload`.
    pub config_file: Option<PathBuf>,
    /// Where the time for `Date` and for conditional requests comes from.
    pub clock: Clock,
}

/// The wall clock, or a fixed time so tests and recordings get the same bytes every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(std::time::SystemTime),
}

impl Clock {
    pub fn now(&self) -> std::time::SystemTime {
        match self {
            Clock::System => std::time::SystemTime::now(),
            Clock::Fixed(t) => *t,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            root: None,
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            model: Model::Epoll,
            workers: 0,
            max_connections: 10_000,
            requests_per_connection: 1000,
            max_body: 100 * 1024 * 1024,
            queue: 1024,
            access_log: None,
            request_lines: false,
            error_log: None,
            log_level: Level::Info,
            allow_write: false,
            lab: false,
            gzip: true,
            strict: false,
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(5),
            grace: Duration::from_secs(5),
            mime_types: BTreeMap::new(),
            config_file: None,
            clock: Clock::System,
        }
    }
}

impl Config {
    /// A config for tests and embedders: the given root on `127.0.0.1:0`.
    pub fn for_tests(root: Option<&Path>) -> Config {
        Config {
            root: root.map(Path::to_path_buf),
            port: 0,
            workers: 2,
            log_level: Level::Warn,
            ..Config::default()
        }
    }

    /// The number of event loops or pool workers to start.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    /// Applies a parsed config file on top of `self`.
    pub fn apply_file(&mut self, file: FileConfig) {
        let FileConfig {
            root,
            bind,
            port,
            model,
            workers,
            allow_write,
            gzip,
            strict,
            lab,
            log,
            limits,
            timeouts,
            mime,
        } = file;
        set(&mut self.root, root.map(Some));
        set(&mut self.bind, bind);
        set(&mut self.port, port);
        set(&mut self.model, model);
        set(&mut self.workers, workers);
        set(&mut self.allow_write, allow_write);
        set(&mut self.gzip, gzip);
        set(&mut self.strict, strict);
        set(&mut self.lab, lab);
        if let Some(log) = log {
            set(
                &mut self.access_log,
                log.access.map(|a| Some(LogTarget::parse(&a))),
            );
            set(&mut self.error_log, log.error.map(Some));
            set(&mut self.log_level, log.level);
        }
        if let Some(l) = limits {
            set(&mut self.max_connections, l.max_connections);
            set(&mut self.requests_per_connection, l.requests_per_connection);
            set(&mut self.max_body, l.max_body);
            set(&mut self.queue, l.queue);
        }
        if let Some(t) = timeouts {
            set(&mut self.header_timeout, t.header.map(|d| d.0));
            set(&mut self.keep_alive_timeout, t.keep_alive.map(|d| d.0));
            set(&mut self.grace, t.grace.map(|d| d.0));
        }
        for (ext, ty) in mime {
            self.mime_types
                .insert(ext.trim_start_matches('.').to_ascii_lowercase(), ty);
        }
    }

    /// Checks the combinations that cannot work, with a message that says what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.allow_write && self.root.is_none() {
            return Err(
                "--allow-write needs a real folder: add --root DIR (the demo site is read-only)"
                    .into(),
            );
        }
        if let Some(root) = &self.root {
            if !root.is_dir() {
                return Err(format!("the document root {} is not a folder; check --root or `root` in the config file", root.display()));
            }
        }
        if self.max_connections == 0 {
            return Err("max_connections must be at least 1".into());
        }
        if self.requests_per_connection == 0 {
            return Err("requests_per_connection must be at least 1".into());
        }
        Ok(())
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// The config file as written. Every key is optional; unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    root: Option<PathBuf>,
    bind: Option<IpAddr>,
    port: Option<u16>,
    model: Option<Model>,
    workers: Option<usize>,
    allow_write: Option<bool>,
    gzip: Option<bool>,
    strict: Option<bool>,
    lab: Option<bool>,
    log: Option<LogSection>,
    limits: Option<LimitsSection>,
    timeouts: Option<TimeoutsSection>,
    #[serde(default)]
    mime: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    access: Option<String>,
    error: Option<PathBuf>,
    level: Option<Level>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_connections: Option<usize>,
    requests_per_connection: Option<u32>,
    max_body: Option<u64>,
    queue: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeoutsSection {
    header: Option<ConfigDuration>,
    keep_alive: Option<ConfigDuration>,
    grace: Option<ConfigDuration>,
}

/// A duration written as `"1.5s"`, `"500ms"`, `"2m"` or a bare number of seconds.
#[derive(Debug)]
struct ConfigDuration(Duration);

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(s) => Ok(ConfigDuration(Duration::from_secs(s))),
            Raw::Text(t) => parse_duration(&t)
                .map(ConfigDuration)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// Parses `"1.5s"`, `"500ms"`, `"2m"` or `"10"` (seconds): the syntax every protolab program
/// shares (see `cmdline::parse_duration`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    cmdline::parse_duration(text)
}

/// A config file that could not be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column of the problem, when the parser knows them.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => {
                write!(f, "{}:{line}:{col}: {}", self.file.display(), self.message)
            }
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads and parses a config file.
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        position: None,
        message: format!("cannot read the config file: {e}"),
    })?;
    parse_file(path, &text)
}

/// Parses config text; `path` only names the file in errors.
pub fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str::<FileConfig>(text).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        position: e.span().map(|span| line_and_column(text, span.start)),
        message: e.message().trim().to_string(),
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_full_file_sets_everything() {
        let text = r#"
root = "/tmp"
bind = "0.0.0.0"
port = 9000
model = "pool"
workers = 3
allow_write = true
gzip = false
[log]
access = "-"
error = "err.log"
level = "debug"
[limits]
max_connections = 5
requests_per_connection = 7
max_body = 1024
queue = 9
[timeouts]
header = "250ms"
keep_alive = 3
grace = "1m"
[mime]
".WASM" = "application/wasm"
"#;
        let mut c = Config::default();
        c.apply_file(parse_file(Path::new("x.toml"), text).unwrap());
        assert_eq!(c.root, Some(PathBuf::from("/tmp")));
        assert_eq!(c.bind, IpAddr::from([0, 0, 0, 0]));
        assert_eq!((c.port, c.model, c.workers), (9000, Model::Pool, 3));
        assert!(c.allow_write && !c.gzip);
        assert_eq!(c.access_log, Some(LogTarget::Stdout));
        assert_eq!(c.error_log, Some(PathBuf::from("err.log")));
        assert_eq!(c.log_level, Level::Debug);
        assert_eq!(
            (
                c.max_connections,
                c.requests_per_connection,
                c.max_body,
                c.queue
            ),
            (5, 7, 1024, 9)
        );
        assert_eq!(c.header_timeout, Duration::from_millis(250));
        assert_eq!(c.keep_alive_timeout, Duration::from_secs(3));
        assert_eq!(c.grace, Duration::from_secs(60));
        assert_eq!(
            c.mime_types.get("wasm").map(String::as_str),
            Some("application/wasm")
        );
    }

    #[test]
    fn an_unknown_key_names_its_line_and_column() {
        let err = parse_file(
            Path::new("site.toml"),
            "port = 1\n[limits]\n  max_conections = 3\n",
        )
        .unwrap_err();
        assert_eq!(err.position, Some((3, 3)));
        assert!(err.message.contains("max_conections"), "{err}");
        assert!(err.to_string().starts_with("site.toml:3:3: "), "{err}");
    }

    #[test]
    fn a_wrong_type_and_a_syntax_error_are_located() {
        let err = parse_file(Path::new("a.toml"), "port = \"eighty\"\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(1));
        let err = parse_file(Path::new("a.toml"), "\n\nport = = 3\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(3));
        let err =
            parse_file(Path::new("a.toml"), "[timeouts]\nheader = \"10 parsecs\"\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(2));
        assert!(err.message.contains("parsecs"), "{err}");
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("750ms"), Ok(Duration::from_millis(750)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("3 parsecs").is_err());
    }

    #[test]
    fn write_access_needs_a_root() {
        let c = Config {
            allow_write: true,
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().contains("--root"));
    }
}
