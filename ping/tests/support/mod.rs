//! What the program tests share: a server on 127.0.0.1:0 whose log can be waited on, the
//! client run in-process, and child processes that are killed and reaped on drop.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use ping::cli::Cli;
use ping::client::{self, Outcome};
use ping::serve::{ServeOptions, Server, ServerHandle};
use ping::Paint;

/// A log writer that hands each chunk to the test.
pub struct ChannelLog(pub mpsc::Sender<String>);

impl Write for ChannelLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A running server and its log.
pub struct TestServer {
    pub handle: ServerHandle,
    log: mpsc::Receiver<String>,
    pub text: String,
}

impl TestServer {
    /// `ping serve ARGS --port 0` in a thread.
    pub fn start(args: &[&str]) -> TestServer {
        let mut argv = vec!["ping", "serve", "--port", "0"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(&argv).expect("server arguments parse");
        let Some(ping::cli::Command::Serve(serve_args)) = &cli.command else {
            panic!("not serve")
        };
        let options: ServeOptions = ping::serve_options(serve_args, Paint::PLAIN);
        let server = Server::bind(options).expect("binds 127.0.0.1:0");
        let (tx, rx) = mpsc::channel();
        let handle = server.spawn(Box::new(ChannelLog(tx)));
        TestServer {
            handle,
            log: rx,
            text: String::new(),
        }
    }

    pub fn port(&self) -> u16 {
        self.handle.addr().port()
    }

    /// Waits (at most `limit`) until the log contains `needle`; returns the whole log so far.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> &str {
        let until = Instant::now() + limit;
        while !self.text.contains(needle) {
            let left = until.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&chunk),
                Err(_) => panic!(
                    "the server never logged {needle:?}; log so far:\n{}",
                    self.text
                ),
            }
        }
        &self.text
    }

    /// Stops the server and returns its whole log.
    pub fn stop(mut self) -> String {
        let handle = self.handle;
        handle.stop().expect("server stops cleanly");
        while let Ok(chunk) = self.log.try_recv() {
            self.text.push_str(&chunk);
        }
        self.text
    }
}

/// Runs `ping ARGS` in-process; returns what it printed and how it ended.
pub fn ping(args: &[&str]) -> (String, Result<Outcome, String>) {
    let mut argv = vec!["ping"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(&argv).expect("client arguments parse");
    let options = ping::client_options(&cli.ping, Paint::PLAIN);
    let mut out = Vec::new();
    let outcome =
        client::run(&options, &mut out, &AtomicBool::new(false)).map_err(|e| e.to_string());
    (String::from_utf8(out).expect("output is UTF-8"), outcome)
}

/// A child process that is killed and reaped when dropped.
pub struct Reaped {
    pub child: Child,
    pub stdout: Option<BufReader<ChildStdout>>,
}

impl Reaped {
    pub fn spawn(program: &str, args: &[&str]) -> Reaped {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let stdout = child.stdout.take().map(BufReader::new);
        Reaped { child, stdout }
    }

    /// Reads lines until one contains `needle`; returns the lines read.
    pub fn read_until(&mut self, needle: &str) -> Vec<String> {
        let reader = self.stdout.as_mut().expect("stdout is piped");
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).expect("reads stdout");
            assert!(
                n > 0,
                "the program ended before printing {needle:?}; it printed {lines:?}"
            );
            let found = line.contains(needle);
            lines.push(line.trim_end().to_string());
            if found {
                return lines;
            }
        }
    }

    /// Waits for the exit; returns the status code and the rest of stdout.
    pub fn finish(mut self) -> (Option<i32>, String, String) {
        let mut rest = String::new();
        if let Some(mut reader) = self.stdout.take() {
            std::io::Read::read_to_string(&mut reader, &mut rest).expect("reads stdout");
        }
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut stderr, &mut err).expect("reads stderr");
        }
        let status = self.child.wait().expect("reaps the child");
        (status.code(), rest, err)
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP port on 127.0.0.1 that nothing listens on (bound, read, released).
pub fn closed_port() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("binds");
    socket
        .local_addr()
        .map(|a: SocketAddr| a.port())
        .expect("has a port")
}

/// The sequence numbers in lines like `Request timed out (seq=4)`.
pub fn seqs_after(text: &str, prefix: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}
