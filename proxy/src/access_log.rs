//! One line per request, with the cache's verdict:
//!
//! ```text
//! 127.0.0.1:50412 [Thu, 01 Jan 2026 00:00:00 GMT] "GET http://127.0.0.1:8080/ HTTP/1.1" 200 1024 HIT 0.2ms
//! ```
//!
//! Fields: the client's address, the time, the request line as the client sent it (the target in
//! absolute form for the path form too), the status, body bytes sent, the `X-Cache` value
//! (`HIT`, `MISS`, `REVALIDATED`, `STALE`, `BYPASS`) and the time taken.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

/// Where access lines go.
pub struct AccessLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessLog")
    }
}

impl AccessLog {
    /// Appends to `path`; `-` means standard output (as `server --access-log -`).
    pub fn open(path: &Path) -> io::Result<AccessLog> {
        let out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            Box::new(OpenOptions::new().create(true).append(true).open(path)?)
        };
        Ok(AccessLog {
            out: Mutex::new(out),
        })
    }

    /// Writes one line (the newline is added here), in one write call.
    pub fn line(&self, line: &str) {
        let mut bytes = String::with_capacity(line.len() + 1);
        bytes.push_str(line);
        bytes.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(bytes.as_bytes());
    }
}
