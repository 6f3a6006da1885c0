//! `server` in a terminal, through a pseudo-terminal (`script`, from util-linux, gives the
//! program one): one line per request as `python3 -m http.server` prints them, unless `--quiet`
//! or `--access-log -` (whose Combined Log Format lines are then what the terminal shows).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// `server ARGS` on a pseudo-terminal; its console reads what we write to `stdin`.
struct OnTerminal {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
}

impl OnTerminal {
    fn start(args: &str) -> (OnTerminal, u16) {
        let command = format!("exec {} --port 0 {args}", env!("CARGO_BIN_EXE_server"));
        let mut child = Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script (util-linux) runs");
        let stdin = child.stdin.take();
        let mut term = OnTerminal {
            out: BufReader::new(child.stdout.take().unwrap()),
            child,
            stdin,
        };
        let banner = term.line_with("is at http://");
        let port = banner
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {banner:?}"));
        (term, port)
    }

    fn line_with(&mut self, needle: &str) -> String {
        loop {
            let mut line = String::new();
            let n = self.out.read_line(&mut line).unwrap();
            assert!(n > 0, "the terminal closed before a line with {needle:?}");
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Types `stop` at the console and returns everything the terminal showed until the end.
    fn stop(mut self) -> String {
        let mut stdin = self.stdin.take().unwrap();
        stdin.write_all(b"stop\n").unwrap();
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).unwrap();
        assert!(self.child.wait().unwrap().success());
        rest
    }
}

impl Drop for OnTerminal {
    fn drop(&mut self) {
        // A failed test still stops the server (killing `script` would leave it running).
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\n");
        }
        let _ = self.child.wait();
    }
}

fn get(port: u16, path: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    answer
}

#[test]
fn a_line_per_request_on_a_terminal() {
    let (mut term, port) = OnTerminal::start("");
    let answer = get(port, "/files/hello.txt");
    let body_len = answer.len() - answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() - 4;
    let line = term.line_with("GET /files/hello.txt");
    // 11:35:58 127.0.0.1 GET /files/hello.txt 200 14 B 0.4 ms
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.len(), 9, "{line:?}");
    assert_eq!(words[0].len(), 8, "the time of day: {line:?}");
    assert_eq!(words[1..5], ["127.0.0.1", "GET", "/files/hello.txt", "200"]);
    assert_eq!(words[5], body_len.to_string(), "{line:?}");
    assert_eq!((words[6], words[8]), ("B", "ms"), "{line:?}");
    assert!(words[7].parse::<f64>().is_ok(), "{line:?}");
    get(port, "/no/such/page");
    let line = term.line_with("/no/such/page");
    assert!(line.contains(" GET /no/such/page 404 "), "{line:?}");
    term.stop();
}

#[test]
fn quiet_prints_no_request_lines_and_the_access_log_still_gets_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let (term, port) = OnTerminal::start(&format!("--quiet --access-log {}", log.display()));
    get(port, "/files/hello.txt");
    let shown = term.stop();
    assert!(!shown.contains("/files/hello.txt"), "{shown}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("\"GET /files/hello.txt HTTP/1.1\" 200 "),
        "Combined Log Format: {logged}"
    );
}

#[test]
fn access_log_to_standard_output_is_the_only_line_per_request() {
    let (term, port) = OnTerminal::start("--access-log -");
    get(port, "/files/hello.txt");
    let shown = term.stop();
    let lines: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains("/files/hello.txt"))
        .collect();
    assert_eq!(lines.len(), 1, "{shown}");
    assert!(
        lines[0].contains("\"GET /files/hello.txt HTTP/1.1\" 200 "),
        "{shown}"
    );
}
