//! Starting, watching and stopping a learner's program for `labs check --run 'CMD'`.
//!
//! The command runs under `sh -c` in a process group of its own, with `{host}`, `{port}` and
//! `{dir}` replaced, its output collected (up to a cap) so a report can quote it. Dropping the
//! handle stops the whole group: first SIGTERM, then SIGKILL if it lingers. `labs` never leaves a
//! learner's process running.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much of the program's stdout and stderr is kept for reports (each).
pub const OUTPUT_CAP: usize = 256 * 1024;

/// A running learner program.
#[derive(Debug)]
pub struct LearnerProcess {
    child: Child,
    command: String,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

/// Replaces `{host}`, `{port}` and `{dir}` in a command template.
pub fn expand(template: &str, host: &str, port: u16, dir: &Path) -> String {
    template
        .replace("{host}", host)
        .replace("{port}", &port.to_string())
        .replace("{dir}", &shell_quote(&dir.display().to_string()))
}

fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

impl LearnerProcess {
    /// Starts `sh -c command` in `dir` in a new process group.
    pub fn start(command: &str, dir: &Path) -> std::io::Result<LearnerProcess> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect(out, Arc::clone(&stdout)));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect(err, Arc::clone(&stderr)));
        }
        Ok(LearnerProcess {
            child,
            command: command.to_string(),
            stdout,
            stderr,
            readers,
        })
    }

    /// The command line as it was run.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Waits until something accepts TCP connections on `addr`, the program exits, or the
    /// deadline passes. Polling a connect is the only signal a program in any language gives.
    pub fn wait_listening(&mut self, addr: SocketAddr, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "your program exited ({}) before it listened on {addr}",
                    describe_exit(status)
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "your program did not listen on {addr} within {} s; did it use the port \
                     labs passed in {{port}}?",
                    within.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the program to exit by itself, up to `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.join_readers();
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// True while the program runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the program printed on stdout so far.
    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// What the program printed on stderr so far.
    pub fn stderr(&self) -> Vec<u8> {
        self.stderr.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// Stops the whole process group: SIGTERM, a short grace, then SIGKILL.
    pub fn stop(&mut self) {
        if self.is_running() {
            signal_group(self.child.id(), libc::SIGTERM);
            if self.wait_exit(Duration::from_millis(500)).is_none() {
                signal_group(self.child.id(), libc::SIGKILL);
                let _ = self.child.wait();
            }
        }
        // Children the shell left behind in the group go too.
        signal_group(self.child.id(), libc::SIGKILL);
        self.join_readers();
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for LearnerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A one-line account of how a process ended.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".to_string(),
    }
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut kept) = into.lock() {
                        let room = OUTPUT_CAP.saturating_sub(kept.len());
                        kept.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            }
        }
    })
}

/// Sends `signal` to the process group led by `pid`.
#[allow(unsafe_code)]
fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours. A negative pid names
    // the process group that `process_group(0)` created for the child, whose id is the child's
    // pid; the child has not been reaped while we hold its `Child`, so the id is not reused.
    unsafe {
        libc::kill(-pid, signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_placeholders_and_quotes_the_folder() {
        let cmd = expand(
            "python3 server.py {host} {port} {dir}",
            "127.0.0.1",
            8081,
            Path::new("/tmp/a b"),
        );
        assert_eq!(cmd, "python3 server.py 127.0.0.1 8081 '/tmp/a b'");
    }

    #[test]
    fn collects_output_and_reports_the_exit() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = LearnerProcess::start("echo hello; echo oops >&2; exit 3", dir.path()).unwrap();
        let status = p.wait_exit(Duration::from_secs(10)).expect("exits");
        assert_eq!(describe_exit(status), "exit code 3");
        assert_eq!(p.stdout(), b"hello\n");
        assert_eq!(p.stderr(), b"oops\n");
    }

    #[test]
    fn stop_ends_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        // A shell that starts a grandchild that would outlive a plain kill of the shell.
        let mut p = LearnerProcess::start("sleep 30 & sleep 30; wait", dir.path()).unwrap();
        assert!(p.is_running());
        let pgid = p.child.id();
        p.stop();
        assert!(!p.is_running());
        assert_eq!(
            living_members(pgid),
            Vec::<u32>::new(),
            "processes left in the group"
        );
    }

    /// Processes of a process group that are still running (zombies waiting for init to reap
    /// them are dead already), read from /proc.
    fn living_members(pgid: u32) -> Vec<u32> {
        let mut living = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid pgrp ...; comm may hold spaces, so split after the last ')'.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            if fields.get(2) == Some(&pgid.to_string().as_str()) && fields.first() != Some(&"Z") {
                living.push(pid);
            }
        }
        living
    }

    #[test]
    fn a_program_that_exits_early_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let mut p = LearnerProcess::start("exit 1", dir.path()).unwrap();
        let err = p.wait_listening(addr, Duration::from_secs(10)).unwrap_err();
        assert!(err.contains("exited (exit code 1)"), "{err}");
    }
}
