//! The access log (Combined Log Format), the request lines on a terminal, and the error log
//! (levels).
//!
//! Each access-log line is written with one `write` call when the response is handed over:
//!
//! ```text
//! 127.0.0.1 - - [21/Nov/2026:11:35:58 +0000] "GET /index.html HTTP/1.1" 200 2326 "-" "curl/8.5.0"
//! ```
//!
//! When standard output is a terminal (and neither `--quiet` nor `--access-log -` is given), each
//! request also gets a short line there, as `python3 -m http.server` prints one: the time (UTC), the
//! client, the method, the path, the status, the body bytes and how long the answer took.
//!
//! ```text
//! 11:35:58 127.0.0.1 GET /index.html 200 2326 B 0.4 ms
//! ```
//!
//! Error-log lines carry the time and the level: `[Sat, 21 Nov 2026 11:35:58 GMT] warn: ...`.
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use wire::http1::date::HttpDate;

use crate::config::{Config, Level, LogTarget};

/// Where log lines go.
enum Sink {
    Stdout,
    Stderr,
    File(File),
}

impl Sink {
    fn write_line(&mut self, line: &[u8]) {
        // A full disk or a closed pipe must not take the server down; the line is lost.
        let _ = match self {
            Sink::Stdout => io::stdout().lock().write_all(line),
            Sink::Stderr => io::stderr().lock().write_all(line),
            Sink::File(f) => f.write_all(line),
        };
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Both logs, shared by every worker.
pub struct Logs {
    access: Option<Mutex<Sink>>,
    /// One short line per request on standard output (a terminal), coloured as it decides.
    terminal: Option<(Mutex<Sink>, cmdline::Paint)>,
    error: Mutex<Sink>,
    level: Level,
}

/// One finished exchange, as the access log records it.
pub struct AccessRecord<'a> {
    pub peer: IpAddr,
    pub time: SystemTime,
    /// The request line as received, without CRLF (`-` when there was none).
    pub request_line: &'a [u8],
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
    /// From the request's arrival to the response handed to the connection.
    pub elapsed: Duration,
}

impl Logs {
    /// Opens the logs a config names.
    pub fn open(config: &Config) -> io::Result<Logs> {
        let access = match &config.access_log {
            None => None,
            Some(LogTarget::Stdout) => Some(Mutex::new(Sink::Stdout)),
            Some(LogTarget::File(p)) => {
                Some(Mutex::new(Sink::File(open_append(p).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot open the access log {}: {e}", p.display()),
                    )
                })?)))
            }
        };
        let error = match &config.error_log {
            None => Sink::Stderr,
            Some(p) => Sink::File(open_append(p).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot open the error log {}: {e}", p.display()),
                )
            })?),
        };
        let terminal = config
            .request_lines
            .then(|| (Mutex::new(Sink::Stdout), cmdline::Paint::stdout()));
        Ok(Logs {
            access,
            terminal,
            error: Mutex::new(error),
            level: config.log_level,
        })
    }

    /// Logs that write nothing but errors to standard error.
    pub fn quiet() -> Logs {
        Logs {
            access: None,
            terminal: None,
            error: Mutex::new(Sink::Stderr),
            level: Level::Error,
        }
    }

    /// True when an access log is open or request lines go to the terminal (so callers can
    /// skip collecting fields).
    pub fn wants_access(&self) -> bool {
        self.access.is_some() || self.terminal.is_some()
    }

    /// True when messages at `level` are written.
    pub fn enabled(&self, level: Level) -> bool {
        level <= self.level
    }

    pub fn access(&self, r: &AccessRecord<'_>) {
        if let Some(sink) = &self.access {
            let line = combined_log_line(r);
            if let Ok(mut s) = sink.lock() {
                s.write_line(line.as_bytes());
            }
        }
        if let Some((sink, paint)) = &self.terminal {
            let line = terminal_line(r, *paint);
            if let Ok(mut s) = sink.lock() {
                s.write_line(line.as_bytes());
            }
        }
    }

    pub fn log(&self, level: Level, message: &str) {
        if !self.enabled(level) {
            return;
        }
        let line = format!(
            "[{}] {level}: {message}\n",
            HttpDate::from(SystemTime::now())
        );
        if let Ok(mut s) = self.error.lock() {
            s.write_line(line.as_bytes());
        }
    }
}

/// Formats one Combined Log Format line, newline included.
pub fn combined_log_line(r: &AccessRecord<'_>) -> String {
    let (y, mo, d, h, mi, s) = HttpDate::from(r.time).to_civil();
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[usize::from(mo.clamp(1, 12)) - 1];
    let bytes = if r.bytes == 0 {
        "-".to_string()
    } else {
        r.bytes.to_string()
    };
    format!(
        "{} - - [{d:02}/{month}/{y:04}:{h:02}:{mi:02}:{s:02} +0000] \"{}\" {} {bytes} \"{}\" \"{}\"\n",
        r.peer,
        quoted(r.request_line),
        r.status,
        r.referer.map_or_else(|| "-".to_string(), quoted),
        r.user_agent.map_or_else(|| "-".to_string(), quoted),
    )
}

/// Whether `server` prints a line per request on standard output: only on a terminal, not
/// with `--quiet`, and not when the access log already goes there (`--access-log -`).
pub fn wants_request_lines(quiet: bool, stdout_is_terminal: bool, access_to_stdout: bool) -> bool {
    stdout_is_terminal && !quiet && !access_to_stdout
}

/// One request as the terminal shows it, newline included:
/// `11:35:58 127.0.0.1 GET /index.html 200 2326 B 0.4 ms`.
pub fn terminal_line(r: &AccessRecord<'_>, paint: cmdline::Paint) -> String {
    let (_, _, _, h, mi, s) = HttpDate::from(r.time).to_civil();
    let mut words = r.request_line.splitn(3, |&b| b == b' ');
    let method = words.next().unwrap_or(b"-");
    let target = words.next().unwrap_or(b"");
    let status = r.status.to_string();
    let status = match r.status {
        200..=299 => paint.ok(&status),
        300..=399 => status,
        400..=499 => paint.warn(&status),
        _ => paint.error(&status),
    };
    let millis = r.elapsed.as_secs_f64() * 1000.0;
    format!(
        "{h:02}:{mi:02}:{s:02} {} {} {} {status} {} B {}\n",
        r.peer,
        wire::trace::escape::escape(method, wire::trace::escape::Also::Nothing),
        wire::trace::escape::escape(target, wire::trace::escape::Also::Nothing),
        r.bytes,
        paint.dim(&format!("{millis:.1} ms")),
    )
}

/// A field for a quoted log column: printable ASCII kept, `"`, `\` and everything else escaped
/// as traces write them ([`wire::trace::escape`]).
fn quoted(bytes: &[u8]) -> String {
    wire::trace::escape::escape(bytes, wire::trace::escape::Also::DoubleQuote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_combined_log_line() {
        let r = AccessRecord {
            peer: IpAddr::from([127, 0, 0, 1]),
            time: UNIX_EPOCH + Duration::from_secs(784_111_777),
            request_line: b"GET /a\"b HTTP/1.1",
            status: 200,
            bytes: 1234,
            referer: None,
            user_agent: Some(b"curl/8.5.0\x01"),
            elapsed: Duration::from_micros(420),
        };
        assert_eq!(
            combined_log_line(&r),
            "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET /a\\\"b HTTP/1.1\" 200 1234 \"-\" \"curl/8.5.0\\x01\"\n"
        );
    }

    #[test]
    fn a_terminal_line_and_when_it_is_printed() {
        let r = AccessRecord {
            peer: IpAddr::from([127, 0, 0, 1]),
            time: UNIX_EPOCH + Duration::from_secs(784_111_777),
            request_line: b"GET /files/a\x1bb.txt HTTP/1.1",
            status: 404,
            bytes: 57,
            referer: None,
            user_agent: None,
            elapsed: Duration::from_micros(420),
        };
        assert_eq!(
            terminal_line(&r, cmdline::Paint::PLAIN),
            "08:49:37 127.0.0.1 GET /files/a\\x1bb.txt 404 57 B 0.4 ms\n"
        );
        assert!(terminal_line(&r, cmdline::Paint::ALWAYS).contains("\u{1b}[33m404"));
        assert!(wants_request_lines(false, true, false));
        assert!(!wants_request_lines(true, true, false), "--quiet");
        assert!(!wants_request_lines(false, false, false), "not a terminal");
        assert!(
            !wants_request_lines(false, true, true),
            "--access-log - is there already"
        );
    }
}
