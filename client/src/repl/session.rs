//! The REPL's live connection: a reader thread shows what the server sends as it arrives, while
//! the typing side builds and sends requests (or lines).
//!
//! What arrives is rendered by the [`Transcript`] (trace syntax, `S:` lines) and, in HTTP mode,
//! fed to a [`ResponseReader`] so the end of each response is known and a broken one is
//! diagnosed. Both threads share one [`Display`] behind a mutex, so a recording keeps the two
//! directions in the order they happened.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::paint::Paint;
use crate::response::{ReadEvent, ResponseReader};
use crate::transcript::{Direction, Transcript};

/// What the display has seen, for the typing side to wait on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Responses completed (HTTP mode).
    pub responses: u64,
    /// Line endings received (line mode).
    pub lines: u64,
    /// The server closed the connection.
    pub closed: bool,
    /// Closes that came while a response was awaited and before any byte of it.
    pub unanswered: u64,
}

/// The shared display state.
pub struct Display<W: Write + Send> {
    /// The exchange as shown (and recorded).
    pub transcript: Transcript<W>,
    /// HTTP mode: the response being read, and the bytes not yet used.
    reader: Option<(ResponseReader, Vec<u8>)>,
    /// Line mode instead of HTTP.
    line_mode: bool,
    /// Counters the typing side waits on.
    pub seen: Seen,
    /// Bytes received since the last request was sent (HTTP mode).
    response_bytes: usize,
}

impl<W: Write + Send> Display<W> {
    /// A display writing to `out`.
    pub fn new(out: W, paint: Paint, hex: bool, line_mode: bool) -> Self {
        Display {
            transcript: Transcript::new(Some(out), paint, hex, false),
            reader: None,
            line_mode,
            seen: Seen::default(),
            response_bytes: 0,
        }
    }

    /// A request was sent with this method: read its response.
    pub fn expect_response(&mut self, method: &str) {
        if !self.line_mode {
            self.reader = Some((ResponseReader::new(method), Vec::new()));
            self.response_bytes = 0;
        }
    }

    fn received(&mut self, bytes: &[u8]) {
        self.seen.lines += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        self.response_bytes += bytes.len();
        let Some((reader, buf)) = self.reader.as_mut() else {
            let _ = self.transcript.received(bytes);
            return;
        };
        buf.extend_from_slice(bytes);
        let mut finished = false;
        let mut failed = None;
        let mut at = 0;
        loop {
            let mut notes = Vec::new();
            match reader.handle_bytes(&buf[at..]) {
                Ok((used, event)) => {
                    // Show the bytes the reader used, then what it made of them.
                    let _ = self.transcript.received(&buf[at..at + used]);
                    at += used;
                    match event {
                        Some(ReadEvent::Interim(h)) => {
                            notes.extend(h.diagnoses);
                            notes.push(format!(
                                "interim response {} {}; the final one follows",
                                h.status, h.reason
                            ));
                        }
                        Some(ReadEvent::Head(h)) => notes.extend(h.diagnoses),
                        Some(ReadEvent::Data(_)) => {}
                        Some(ReadEvent::End { close, diagnoses }) => {
                            notes.extend(diagnoses);
                            notes.push(match close {
                                None => "response complete; the connection stays open".to_string(),
                                Some(reason) => format!(
                                    "response complete; the connection ends: {}",
                                    crate::response::close_reason_text(reason)
                                ),
                            });
                            finished = true;
                        }
                        None => {}
                    }
                    if !notes.is_empty() {
                        let _ = self.transcript.flush();
                        for n in notes {
                            let _ = self.transcript.diagnosis(&n);
                        }
                    }
                    if finished || used == 0 {
                        break;
                    }
                }
                Err(e) => {
                    let _ = self.transcript.received(&buf[at..]);
                    failed = Some(e.diagnosis(&buf[at..]));
                    at = buf.len();
                    break;
                }
            }
        }
        // Whatever follows the end of a response is shown as it is.
        let rest = buf.split_off(at);
        if finished || failed.is_some() {
            self.reader = None;
            self.seen.responses += 1;
            let _ = self.transcript.received(&rest);
        } else {
            *buf = rest;
        }
        let _ = self.transcript.flush();
        if let Some(f) = failed {
            let _ = self.transcript.diagnosis(&f);
        }
    }

    /// This side closed the connection (`:close`, `:connect`, the end): the reading stops,
    /// and nothing is shown as the server's doing.
    fn closed_here(&mut self) {
        self.reader = None;
        self.seen.closed = true;
    }

    fn closed(&mut self) {
        if self.reader.is_some() && self.response_bytes == 0 {
            self.seen.unanswered += 1;
        }
        if let Some((_, buf)) = &self.reader {
            let _ = self.transcript.received(buf);
        }
        let _ = self.transcript.closed(Direction::Received);
        if let Some((mut reader, buf)) = self.reader.take() {
            match reader.handle_eof(buf.len()) {
                Ok(_) => {}
                Err(e) => {
                    let _ = self.transcript.diagnosis(&e.diagnosis(&buf));
                }
            }
            self.seen.responses += 1;
        }
        let _ = self.transcript.note("connection closed by the server");
        self.seen.closed = true;
    }
}

/// A display shared between the reader thread and the typing side.
pub type Shared<W> = Arc<(Mutex<Display<W>>, Condvar)>;

/// An open connection with its reader thread.
pub struct Connection {
    stream: TcpStream,
    reader: Option<std::thread::JoinHandle<()>>,
    /// Set before this side closes, so the reader does not show the end as the server's close.
    closing_here: Arc<AtomicBool>,
}

impl Connection {
    /// Connects and starts showing what arrives on `shared`.
    pub fn open<W: Write + Send + 'static>(
        host: &str,
        port: u16,
        shared: Shared<W>,
    ) -> Result<Connection, String> {
        let addrs = crate::net::resolve(host, port, Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let stream = crate::net::connect(host, port, &addrs, Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let mut reading = stream.try_clone().map_err(|e| e.to_string())?;
        {
            let mut display = shared.0.lock().unwrap_or_else(|p| p.into_inner());
            display.seen.closed = false;
        }
        let closing_here = Arc::new(AtomicBool::new(false));
        let closing = closing_here.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match reading.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => 0,
                };
                let (lock, changed) = &*shared;
                let mut display = lock.lock().unwrap_or_else(|p| p.into_inner());
                if n == 0 && closing.load(Ordering::SeqCst) {
                    display.closed_here();
                    changed.notify_all();
                    return;
                }
                if n == 0 {
                    display.closed();
                    changed.notify_all();
                    return;
                }
                display.received(&buf[..n]);
                changed.notify_all();
            }
        });
        Ok(Connection {
            stream,
            reader: Some(reader),
            closing_here,
        })
    }

    /// Sends bytes.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Closes both directions and waits for the reader thread.
    pub fn close(mut self) {
        self.closing_here.store(true, Ordering::SeqCst);
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }

    /// Closes the sending side only (the server may still answer).
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

/// Waits until `done(seen)` holds or `limit` passes; true when it held.
pub fn wait_for<W: Write + Send>(
    shared: &Shared<W>,
    limit: Duration,
    done: impl Fn(&Seen) -> bool,
) -> bool {
    let (lock, changed) = &**shared;
    let until = Instant::now() + limit;
    let mut display = lock.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if done(&display.seen) {
            return true;
        }
        let now = Instant::now();
        if now >= until {
            return false;
        }
        display = changed
            .wait_timeout(display, until - now)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}
