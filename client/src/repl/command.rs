//! What one typed line means in the REPL: a `:command`, or a line of the request being typed.

use std::fmt;
use std::path::PathBuf;

/// One typed line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A line of the request (or, in line mode, a line to send); CRLF is added when sent.
    Line(String),
    /// An empty line: ends the head and sends the pending request (in line mode: sends CRLF).
    Empty,
    /// A `:command`.
    Command(Command),
}

/// The REPL's commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `:help`
    Help,
    /// `:connect HOST PORT`
    Connect { host: String, port: u16 },
    /// `:close`
    Close,
    /// `:reconnect`
    Reconnect,
    /// `:raw TEXT`: send TEXT with its escapes decoded (`\r\n`, `\x00`), nothing added.
    Raw(String),
    /// `:body TEXT`: attach a body to the pending request and set Content-Length.
    Body(String),
    /// `:file PATH`: attach a file's bytes as the body.
    File(PathBuf),
    /// `:show`: print the pending request.
    Show,
    /// `:hex on|off`
    Hex(bool),
    /// `:record FILE` (or `:record off`).
    Record(Option<PathBuf>),
    /// `:load FILE.trace`: send the trace's `C:` side.
    Load(PathBuf),
    /// `:quit`
    Quit,
}

/// The commands, with their arguments and what they do, as `:help` and completion list them.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (":help", "", "show this list"),
    (
        ":connect",
        "HOST PORT",
        "open a connection (closing the current one)",
    ),
    (
        ":close",
        "",
        "close the connection (the next request opens a new one)",
    ),
    (":reconnect", "", "close and open again to the same server"),
    (
        ":raw",
        "TEXT",
        "send TEXT exactly; escapes \\r \\n \\t \\\\ \\xHH are decoded, no CRLF added",
    ),
    (
        ":body",
        "TEXT",
        "attach TEXT as the body of the pending request (sets Content-Length)",
    ),
    (
        ":file",
        "PATH",
        "attach a file as the body of the pending request (sets Content-Length)",
    ),
    (":show", "", "show the pending request as it will be sent"),
    (":hex", "on|off", "also show received bytes as a hex dump"),
    (":record", "FILE|off", "record the session to a .trace file"),
    (":load", "FILE.trace", "send the C: side of a trace file"),
    (":quit", "", "close and leave (Ctrl-D does the same)"),
];

/// A command line that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError(pub String);

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CommandError {}

/// Reads one typed line. A line starting with `:` is a command, unless it starts with `::`,
/// which sends a line starting with one `:`.
pub fn parse(line: &str) -> Result<Input, CommandError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Ok(Input::Empty);
    }
    if let Some(escaped) = line.strip_prefix("::") {
        return Ok(Input::Line(format!(":{escaped}")));
    }
    let Some(rest) = line.strip_prefix(':') else {
        return Ok(Input::Line(line.to_string()));
    };
    let (name, arg) = match rest.split_once(' ') {
        Some((n, a)) => (n, a),
        None => (rest, ""),
    };
    let need = |what: &str| CommandError(format!(":{name} needs {what} (see :help)"));
    let command = match name {
        "help" | "h" | "?" => Command::Help,
        "connect" | "c" => {
            let mut words = arg.split_whitespace();
            let (Some(host), Some(port), None) = (words.next(), words.next(), words.next()) else {
                return Err(need("HOST PORT"));
            };
            let port = port
                .parse()
                .map_err(|_| CommandError(format!("{port:?} is not a port (0 to 65535)")))?;
            Command::Connect {
                host: host.to_string(),
                port,
            }
        }
        "close" => Command::Close,
        "reconnect" | "r" => Command::Reconnect,
        "raw" => {
            if arg.is_empty() {
                return Err(need("TEXT, e.g. :raw GET / HTTP/1.1\\r\\n\\r\\n"));
            }
            Command::Raw(arg.to_string())
        }
        "body" => Command::Body(arg.to_string()),
        "file" => {
            if arg.trim().is_empty() {
                return Err(need("a PATH"));
            }
            Command::File(PathBuf::from(arg.trim()))
        }
        "show" => Command::Show,
        "hex" => match arg.trim() {
            "on" | "" => Command::Hex(true),
            "off" => Command::Hex(false),
            other => return Err(CommandError(format!(":hex takes on or off, not {other:?}"))),
        },
        "record" => match arg.trim() {
            "" => return Err(need("a FILE (or off)")),
            "off" => Command::Record(None),
            path => Command::Record(Some(PathBuf::from(path))),
        },
        "load" => {
            if arg.trim().is_empty() {
                return Err(need("a FILE.trace"));
            }
            Command::Load(PathBuf::from(arg.trim()))
        }
        "quit" | "q" | "exit" => Command::Quit,
        other => {
            return Err(CommandError(format!(
                "unknown command :{other}; :help lists them (start a line with :: to send a ':')"
            )))
        }
    };
    Ok(Input::Command(command))
}

/// The text `:help` prints.
pub fn help(line_mode: bool) -> String {
    let mut out = String::new();
    if line_mode {
        out.push_str(
            "Line mode: every line you type is sent with CRLF; replies print as they arrive.\n",
        );
    } else {
        out.push_str(
            "Type a request line and header lines; an empty line ends the head and sends it \
             (CRLF is added to every line).\nThe response is shown as a trace: S: lines with \\r\\n \
             visible, and a diagnosis when the server breaks a rule.\n",
        );
    }
    out.push_str("Commands:\n");
    for (name, args, what) in COMMANDS {
        let usage = if args.is_empty() {
            name.to_string()
        } else {
            format!("{name} {args}")
        };
        out.push_str(&format!("  {usage:<22} {what}\n"));
    }
    out.push_str("A line starting with :: sends a line starting with one ':'.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn lines_and_commands() {
        assert_eq!(
            parse("GET / HTTP/1.1"),
            Ok(Input::Line("GET / HTTP/1.1".into()))
        );
        assert_eq!(parse(""), Ok(Input::Empty));
        assert_eq!(parse("\r\n"), Ok(Input::Empty));
        assert_eq!(parse("::x"), Ok(Input::Line(":x".into())));
        assert_eq!(
            parse(":connect localhost 8080"),
            Ok(Input::Command(Command::Connect {
                host: "localhost".into(),
                port: 8080
            }))
        );
        assert_eq!(
            parse(":raw a\\r\\n"),
            Ok(Input::Command(Command::Raw("a\\r\\n".into())))
        );
        assert_eq!(parse(":hex off"), Ok(Input::Command(Command::Hex(false))));
        assert_eq!(
            parse(":record off"),
            Ok(Input::Command(Command::Record(None)))
        );
        assert_eq!(parse(":q"), Ok(Input::Command(Command::Quit)));
    }

    #[test]
    fn mistakes_say_what_to_type() {
        assert!(parse(":connect x").unwrap_err().0.contains("HOST PORT"));
        assert!(parse(":connect x y").unwrap_err().0.contains("not a port"));
        assert!(parse(":frobnicate").unwrap_err().0.contains(":help"));
        assert!(parse(":hex maybe").unwrap_err().0.contains("on or off"));
    }

    #[test]
    fn help_lists_every_command() {
        let text = help(false);
        for (name, _, _) in COMMANDS {
            assert!(text.contains(name), "{name}");
        }
    }
}
