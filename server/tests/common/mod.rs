//! The `server` binary as a user runs it, for the tests in this folder.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Duration;

/// A running `server` binary on port 0, stopped (SIGTERM) when dropped.
pub struct Running {
    child: Child,
    port: u16,
}

impl Running {
    pub fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let port = banner
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(['/', ' ']).next())
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no address in the banner {banner:?}"));
        Running { child, port }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Sends `request` on a new connection and reads until the server closes.
    pub fn exchange(&self, request: &[u8]) -> String {
        let mut s = self.connect();
        s.write_all(request).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Stops it and returns what it wrote to standard error.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let mut err = String::new();
        let stderr: Option<ChildStderr> = self.child.stderr.take();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
