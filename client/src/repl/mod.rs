//! `client repl HOST PORT`: a console for typing raw requests (or any line protocol) by hand,
//! the way the labs begin ("telnet to your server"), with the response shown as a trace.
//!
//! - HTTP mode (the default): typed lines collect into a request head; an empty line sends it,
//!   CRLF after every line. `:body`/`:file` attach a body with its `Content-Length`.
//! - Line mode (`--line`): each line is sent as typed, CRLF added; replies print as they arrive.
//! - On a terminal the line editor is rustyline (history in the data folder, completion, a
//!   prompt that shows the connection); with piped stdin, lines are read plainly and each request
//!   waits for its response (up to `--wait`) so a script sees answers in order.
//! - Lines typed or pasted while an answer is awaited are kept and taken in order once it has
//!   come. A paste (bracketed paste) is taken as if its text had been typed: each newline in it
//!   ends a line. The Enter that confirms a paste ends one more line only when the paste does
//!   not already end with a newline ([`paste_lines`]).
//! - When the server has closed the connection (an idle keep-alive connection times out, or a
//!   response said `Connection: close`), the next request is sent on a new connection and the
//!   REPL says that it reconnected. A request that went out on a used connection just as the
//!   server closed it (no byte of an answer) is sent once more on a new one, as curl does. The
//!   close itself is shown when it happens (`S: <close>`), and `:close` closes from this side
//!   (`C: <close>`).

pub mod command;
pub mod helper;
pub mod session;

use std::collections::VecDeque;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

use crate::cli::ReplArgs;
use crate::paint::Paint;
use crate::ExitCode;
use command::{Command, Input};
use helper::ReplHelper;
use session::{wait_for, Connection, Display, Shared};

type Out = Box<dyn Write + Send>;

/// Where typed lines come from.
enum Lines {
    /// The line editor, the history file, and the lines of a paste not yet taken.
    Editor(
        Box<Editor<ReplHelper, FileHistory>>,
        Option<PathBuf>,
        VecDeque<String>,
    ),
    Piped(io::StdinLock<'static>),
}

/// The lines that one accepted edit holds. rustyline hands back a paste with its newlines in
/// it (CR and CR LF already made LF); each newline ends a line, as if Enter had been pressed
/// there. The Enter that accepted the edit ends the last line, unless the paste already ended
/// with a newline: then it only confirms the paste. So a pasted `GET / HTTP/1.1`, `Host: a` and
/// blank line sends the request, and one without the blank line waits for it.
pub fn paste_lines(text: &str) -> Vec<String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n').map(str::to_string).collect()
}

impl Lines {
    /// The line editor, with completion and the history file (unless `--no-history`).
    fn editor(args: &ReplArgs) -> rustyline::Result<Lines> {
        let config = Config::builder()
            .auto_add_history(false)
            .max_history_size(1000)?
            .build();
        let mut editor = Editor::<ReplHelper, FileHistory>::with_config(config)?;
        editor.set_helper(Some(ReplHelper {
            in_head: false,
            line_mode: args.line,
        }));
        let history = if args.no_history {
            None
        } else {
            helper::history_path()
        };
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        Ok(Lines::Editor(Box::new(editor), history, VecDeque::new()))
    }

    /// The next line; None at the end of input.
    fn next(&mut self, prompt: &(String, String), in_head: bool) -> Option<String> {
        match self {
            Lines::Editor(editor, _, queued) => {
                if let Some(line) = queued.pop_front() {
                    return Some(line);
                }
                if let Some(h) = editor.helper_mut() {
                    h.in_head = in_head;
                }
                loop {
                    match editor.readline(prompt) {
                        Ok(text) => {
                            let mut lines = paste_lines(&text).into_iter();
                            for line in lines.clone().filter(|l| !l.is_empty()) {
                                let _ = editor.add_history_entry(line.as_str());
                            }
                            let first = lines.next().unwrap_or_default();
                            queued.extend(lines);
                            return Some(first);
                        }
                        // Ctrl-C abandons the line being typed, as in a shell.
                        Err(ReadlineError::Interrupted) => continue,
                        Err(_) => return None,
                    }
                }
            }
            Lines::Piped(stdin) => {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => {
                        let trimmed = line.trim_end_matches(['\n', '\r']).to_string();
                        Some(trimmed)
                    }
                }
            }
        }
    }

    fn interactive(&self) -> bool {
        matches!(self, Lines::Editor(..))
    }

    fn save_history(&mut self) {
        if let Lines::Editor(editor, Some(path), _) = self {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = editor.save_history(path);
        }
    }
}

/// The REPL's state.
struct Repl {
    args: ReplArgs,
    shared: Shared<Out>,
    conn: Option<Connection>,
    /// Requests (or lines) sent on `conn` so far.
    sent_on_conn: usize,
    target: Option<(String, u16)>,
    head: Vec<String>,
    body: Option<Vec<u8>>,
    record_path: Option<PathBuf>,
    paint: Paint,
    console: Out,
}

/// Runs the REPL until `:quit`, Ctrl-D or the end of piped input.
pub fn run(args: &ReplArgs) -> ExitCode {
    let interactive = io::stdin().is_terminal();
    let paint = Paint::for_stdout(args.color);
    let mut lines = if interactive {
        match Lines::editor(args) {
            Ok(lines) => lines,
            Err(e) => {
                eprintln!("client repl: cannot start the line editor: {e}");
                return ExitCode::Usage;
            }
        }
    } else {
        Lines::Piped(io::stdin().lock())
    };
    // Output goes straight to stdout; each request waits for its answer before the next
    // prompt, so the answer does not run through a line being typed. Keys that arrive in the
    // meantime wait in the terminal (or in the editor's read-ahead) for the next prompt.
    let out: Out = Box::new(io::stdout());
    let display = Display::new(out, paint, args.hex, args.line);
    let mut repl = Repl {
        args: args.clone(),
        shared: Arc::new((Mutex::new(display), Condvar::new())),
        conn: None,
        sent_on_conn: 0,
        target: None,
        head: Vec::new(),
        body: None,
        record_path: None,
        paint,
        console: Box::new(io::stdout()),
    };
    if let Some(path) = &args.record {
        repl.start_recording(path.clone());
    }
    let mut code = ExitCode::Ok;
    match (&args.host, args.port) {
        (Some(host), Some(port)) => {
            if let Err(e) = repl.connect(host.clone(), port) {
                repl.say_error(&e);
                if !lines.interactive() {
                    return ExitCode::CouldNotConnect;
                }
                code = ExitCode::CouldNotConnect;
            }
        }
        (Some(_), None) => {
            repl.say_error("give the port too: client repl HOST PORT");
            return ExitCode::Usage;
        }
        _ => {
            if lines.interactive() {
                repl.say("not connected; :connect HOST PORT (or :help)");
            }
        }
    }
    if lines.interactive() {
        repl.say(&format!(
            "{}; :help for commands, Ctrl-D to leave",
            if args.line {
                "line mode: each line is sent with CRLF"
            } else {
                "type a request; an empty line sends it"
            }
        ));
    } else if repl.conn.is_some() && args.line {
        // A line protocol usually greets first (SMTP's 220): show it before the first line.
        wait_for(&repl.shared, args.wait, |s| s.lines > 0 || s.closed);
    }
    loop {
        let prompt = repl.prompt();
        let Some(line) = lines.next(&prompt, !repl.head.is_empty()) else {
            break;
        };
        match command::parse(&line) {
            Err(e) => repl.say_error(&e.to_string()),
            Ok(Input::Command(Command::Quit)) => break,
            Ok(input) => {
                if let Err(e) = repl.handle(input, lines.interactive()) {
                    repl.say_error(&e);
                    code = ExitCode::SendError;
                }
            }
        }
    }
    // The end: let the last answer arrive (piped), then close.
    if !lines.interactive() {
        if !repl.head.is_empty() && !repl.args.line {
            repl.say_error(
                "input ended in the middle of a request head (no empty line): it was not sent",
            );
        }
        if let Some(conn) = &repl.conn {
            if repl.args.line {
                conn.shutdown_write();
                wait_for(&repl.shared, repl.args.wait, |s| s.closed);
            }
        }
    }
    repl.disconnect();
    repl.stop_recording();
    lines.save_history();
    code
}

impl Repl {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.console, "{}", self.paint.note(text));
    }

    fn say_error(&mut self, text: &str) {
        let _ = writeln!(
            self.console,
            "{}",
            self.paint.error(&format!("error: {text}"))
        );
    }

    /// The prompt as text (what rustyline measures) and as shown (bold when colouring).
    fn prompt(&self) -> (String, String) {
        let state = match (&self.target, &self.conn) {
            (None, _) => "not connected".to_string(),
            (Some((h, p)), Some(_)) => {
                let closed = self.shared.0.lock().map(|d| d.seen.closed).unwrap_or(true);
                format!(
                    "{h}:{p} {}",
                    if closed { "closed by server" } else { "open" }
                )
            }
            (Some((h, p)), None) => format!("{h}:{p} closed"),
        };
        let typing = if self.head.is_empty() {
            String::new()
        } else {
            format!(
                " | {} line{}",
                self.head.len(),
                if self.head.len() == 1 { "" } else { "s" }
            )
        };
        let text = format!("[{state}{typing}]> ");
        let shown = self.paint.bold(&text);
        (text, shown)
    }

    fn connect(&mut self, host: String, port: u16) -> Result<(), String> {
        self.open(host, port, "connected to")
    }

    /// Opens a connection to `host` `port` (closing the current one) and notes it as
    /// "`verb` HOST port PORT".
    fn open(&mut self, host: String, port: u16, verb: &str) -> Result<(), String> {
        self.disconnect();
        self.target = Some((host.clone(), port));
        let conn = Connection::open(&host, port, self.shared.clone())?;
        self.conn = Some(conn);
        self.sent_on_conn = 0;
        self.with_display(|d| {
            let _ = d.transcript.note(&format!("{verb} {host} port {port}"));
            let _ = d.transcript.flush();
        });
        Ok(())
    }

    /// Before sending: when the server has closed the connection, or `:close` did, a new one to
    /// the same place, saying so.
    fn reconnect_if_closed(&mut self) -> Result<(), String> {
        let why = match &self.conn {
            Some(_) if self.shared.0.lock().map(|d| d.seen.closed).unwrap_or(true) => {
                "the server had closed the connection"
            }
            Some(_) => return Ok(()),
            None if self.target.is_some() => "it was closed with :close",
            None => return Err("not connected; :connect HOST PORT first".into()),
        };
        let (host, port) = self.target.clone().expect("a connection had a target");
        self.open(host, port, &format!("reconnected ({why}) to"))
    }

    fn disconnect(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.close();
        }
    }

    fn with_display<T>(&self, f: impl FnOnce(&mut Display<Out>) -> T) -> T {
        let mut d = self.shared.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut d)
    }

    /// Sends `bytes` (on a new connection when the last one was closed) and waits for the
    /// answer. A request that went out on a connection already used, just as the server
    /// closed it (no byte of an answer, or the sending failed), is sent once more on a new
    /// connection, as curl does; the close stays in view.
    fn send(
        &mut self,
        bytes: &[u8],
        method: Option<&str>,
        interactive: bool,
    ) -> Result<(), String> {
        self.reconnect_if_closed()?;
        let reused = self.sent_on_conn > 0;
        match self.send_once(bytes, method, interactive) {
            Ok(true) | Err(_) if reused => {
                self.with_display(|d| {
                    let _ = d.transcript.note(
                        "the server closed the connection it had kept open as the request went \
                         out (nothing came back); sending it again on a new connection",
                    );
                });
                let (host, port) = self.target.clone().expect("a connection had a target");
                self.open(host, port, "reconnected to")?;
                self.send_once(bytes, method, interactive).map(|_| ())
            }
            sent => sent.map(|_| ()),
        }
    }

    /// Sends `bytes` on the open connection and waits for the answer; true when the server
    /// closed the connection before any byte of the awaited response.
    fn send_once(
        &mut self,
        bytes: &[u8],
        method: Option<&str>,
        interactive: bool,
    ) -> Result<bool, String> {
        self.sent_on_conn += 1;
        let before = self.with_display(|d| {
            let _ = d.transcript.sent(bytes);
            let _ = d.transcript.flush();
            if let Some(m) = method {
                d.expect_response(m);
            }
            d.seen
        });
        let conn = self.conn.as_mut().expect("checked above");
        conn.send(bytes)
            .map_err(|e| format!("sending failed: {e}"))?;
        {
            // On a terminal a line protocol's reply is not waited for long: the user is typing.
            let wait = if interactive && self.args.line {
                self.args.wait.min(std::time::Duration::from_secs(1))
            } else {
                self.args.wait
            };
            if method.is_some() {
                wait_for(&self.shared, wait, |s| {
                    s.responses > before.responses || s.closed
                });
            } else if self.args.line {
                wait_for(&self.shared, wait, |s| s.lines > before.lines || s.closed);
            }
        }
        let after = self.with_display(|d| d.seen);
        Ok(method.is_some() && after.unanswered > before.unanswered)
    }

    fn line_ending(&self) -> &'static str {
        if self.args.lf {
            "\n"
        } else {
            "\r\n"
        }
    }

    fn pending_bytes(&self) -> Vec<u8> {
        let eol = self.line_ending();
        let mut out = Vec::new();
        let mut has_length = false;
        for line in &self.head {
            has_length |= line
                .split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"));
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(eol.as_bytes());
        }
        if let Some(body) = &self.body {
            if !has_length {
                out.extend_from_slice(format!("Content-Length: {}{eol}", body.len()).as_bytes());
            }
        }
        out.extend_from_slice(eol.as_bytes());
        if let Some(body) = &self.body {
            out.extend_from_slice(body);
        }
        out
    }

    fn handle(&mut self, input: Input, interactive: bool) -> Result<(), String> {
        match input {
            Input::Line(line) if self.args.line => {
                let bytes = format!("{line}{}", self.line_ending());
                self.send(bytes.as_bytes(), None, interactive)
            }
            Input::Empty if self.args.line => {
                let eol = self.line_ending();
                self.send(eol.as_bytes(), None, interactive)
            }
            Input::Line(line) => {
                self.head.push(line);
                Ok(())
            }
            Input::Empty => {
                let bytes = self.pending_bytes();
                let method = self
                    .head
                    .first()
                    .and_then(|l| l.split_whitespace().next())
                    .unwrap_or("GET")
                    .to_string();
                let sent = self.send(&bytes, Some(&method), interactive);
                if sent.is_ok() {
                    self.head.clear();
                    self.body = None;
                }
                sent
            }
            Input::Command(c) => self.command(c, interactive),
        }
    }

    fn command(&mut self, command: Command, interactive: bool) -> Result<(), String> {
        match command {
            Command::Help => {
                let text = command::help(self.args.line);
                let _ = write!(self.console, "{text}");
            }
            Command::Connect { host, port } => self.connect(host, port)?,
            Command::Close => {
                if self.conn.is_none() {
                    return Err("no connection to close".into());
                }
                self.disconnect();
                self.with_display(|d| {
                    let _ = d.transcript.closed(crate::transcript::Direction::Sent);
                });
                self.say("connection closed");
            }
            Command::Reconnect => {
                let Some((host, port)) = self.target.clone() else {
                    return Err("nothing to reconnect to; :connect HOST PORT".into());
                };
                self.connect(host, port)?;
            }
            Command::Raw(text) => {
                let bytes = decode_escapes(&text)?;
                let method = if self.args.line {
                    None
                } else {
                    let word: String = bytes
                        .iter()
                        .take_while(|b| b.is_ascii_alphabetic())
                        .map(|&b| b as char)
                        .collect();
                    (!word.is_empty()).then_some(word)
                };
                self.send(&bytes, method.as_deref(), interactive)?;
            }
            Command::Body(text) => {
                self.body = Some(text.into_bytes());
                self.say("body attached; Content-Length is added when the request is sent");
            }
            Command::File(path) => {
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let n = bytes.len();
                self.body = Some(bytes);
                self.say(&format!("{n} bytes attached from {}", path.display()));
            }
            Command::Show => {
                if self.head.is_empty() && self.body.is_none() {
                    self.say("nothing typed yet");
                } else {
                    let text = wire::trace::render_payload("C: ", &self.pending_bytes());
                    for line in text.lines() {
                        let _ = writeln!(self.console, "{}", self.paint.trace_line(line));
                    }
                }
            }
            Command::Hex(on) => {
                self.with_display(|d| d.transcript.set_hex(on));
                self.say(if on { "hex dumps on" } else { "hex dumps off" });
            }
            Command::Record(Some(path)) => self.start_recording(path),
            Command::Record(None) => self.stop_recording(),
            Command::Load(path) => {
                let text = std::fs::read(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let bytes =
                    crate::oneshot::client_side_of_trace(&text, &path.display().to_string())?;
                let method = if self.args.line {
                    None
                } else {
                    bytes
                        .split(|&b| b == b' ')
                        .next()
                        .and_then(|m| std::str::from_utf8(m).ok())
                        .map(str::to_string)
                };
                self.send(&bytes, method.as_deref(), interactive)?;
            }
            Command::Quit => {}
        }
        Ok(())
    }

    fn start_recording(&mut self, path: PathBuf) {
        self.stop_recording();
        self.with_display(|d| d.transcript.set_recording(true));
        self.say(&format!("recording to {}", path.display()));
        self.record_path = Some(path);
    }

    fn stop_recording(&mut self) {
        let Some(path) = self.record_path.take() else {
            return;
        };
        let trace = self.with_display(|d| {
            let t = d.transcript.take_recording();
            d.transcript.set_recording(false);
            t
        });
        if let Some(mut trace) = trace {
            let _ = trace.set_meta("title", "client repl session");
            match write_trace(&path, &trace.render()) {
                Ok(()) => self.say(&format!("saved {}", path.display())),
                Err(e) => self.say_error(&format!("cannot write {}: {e}", path.display())),
            }
        }
    }
}

fn write_trace(path: &Path, text: &str) -> io::Result<()> {
    std::fs::write(path, text)
}

/// Decodes `:raw` text with the trace escapes (`\r \n \t \\ \xHH`), through the trace parser.
pub fn decode_escapes(text: &str) -> Result<Vec<u8>, String> {
    let trace = wire::trace::Trace::parse(&format!("C: {text}\n"))
        .map_err(|e| format!("cannot read the escapes in {text:?}: {e}"))?;
    trace
        .stream(wire::trace::Tag::Client)
        .map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paste_is_split_into_its_lines() {
        assert_eq!(paste_lines("GET / HTTP/1.1"), ["GET / HTTP/1.1"]);
        // The paste ends with a newline: the Enter that confirms it adds no line.
        assert_eq!(paste_lines("a\nb\n"), ["a", "b"]);
        assert_eq!(paste_lines("a\nb\n\n"), ["a", "b", ""]);
        // It does not: that Enter ends its last line.
        assert_eq!(paste_lines("a\nb"), ["a", "b"]);
        assert_eq!(paste_lines(""), [""]);
    }

    #[test]
    fn raw_escapes_decode_as_the_trace_format_does() {
        assert_eq!(
            decode_escapes("GET / HTTP/1.1\\r\\n\\r\\n").unwrap(),
            b"GET / HTTP/1.1\r\n\r\n"
        );
        assert_eq!(decode_escapes("a\\x00b\\n").unwrap(), b"a\x00b\n");
        assert!(decode_escapes("bad \\q").is_err());
    }
}
