//! The access log (Combined Log Format) and the error log (levels).
//!
//! Each access-log line is written with one `write` call when the response is finished:
//!
//! ```text
//! 127.0.0.1 - - [21/Nov/2026:11:35:58 +0000] "GET /index.html HTTP/1.1" 200 2326 "-" "curl/8.5.0"
//! ```
//!
//! Error-log lines carry the time and the level: `[Sat, 21 Nov 2026 11:35:58 GMT] warn: ...`.
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

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
        Ok(Logs {
            access,
            error: Mutex::new(error),
            level: config.log_level,
        })
    }

    /// Logs that write nothing but errors to standard error.
    pub fn quiet() -> Logs {
        Logs {
            access: None,
            error: Mutex::new(Sink::Stderr),
            level: Level::Error,
        }
    }

    /// True when an access log is open (so callers can skip collecting fields).
    pub fn wants_access(&self) -> bool {
        self.access.is_some()
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
        };
        assert_eq!(
            combined_log_line(&r),
            "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET /a\\\"b HTTP/1.1\" 200 1234 \"-\" \"curl/8.5.0\\x01\"\n"
        );
    }
}
