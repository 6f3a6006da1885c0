//! Starting, watching and stopping a learner's program for `labs check --run 'CMD'`.
//!
//! The command runs under `sh -c` in a process group of its own, with `{host}`, `{port}` and
//! `{dir}` replaced, its output collected (up to a cap) so a report can quote it. Python's
//! output is unbuffered (`PYTHONUNBUFFERED=1`, unless the user set the variable): Python buffers
//! `print` into a pipe, and the buffer dies with the program when labs stops it, so a report
//! would show nothing the learner printed. Dropping the
//! handle stops the whole group: first SIGTERM, then SIGKILL if it lingers. `labs` never leaves a
//! learner's process running.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much of the program's stdout and stderr is kept for reports (each).
pub const OUTPUT_CAP: usize = 256 * 1024;

/// The process groups of the learner's programs that run now (0: a free slot), so that labs
/// ending abruptly (its stdout closed under `| head`) can still stop them: see
/// [`stop_running_from_signal_handler`].
static RUNNING_GROUPS: [AtomicI32; 8] = [const { AtomicI32::new(0) }; 8];

/// Kills the process group of every learner's program that runs now. Only kill(2) and atomics:
/// safe inside a signal handler, which is where `labs`' main calls it from.
pub fn stop_running_from_signal_handler() {
    for slot in &RUNNING_GROUPS {
        let group = slot.swap(0, Ordering::SeqCst);
        if group > 0 {
            signal_group(group as u32, libc::SIGKILL);
        }
    }
}

fn track_group(group: u32, running: bool) {
    let Ok(group) = i32::try_from(group) else {
        return;
    };
    let (from, to) = if running { (0, group) } else { (group, 0) };
    for slot in &RUNNING_GROUPS {
        if slot
            .compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

/// A running learner program.
#[derive(Debug)]
pub struct LearnerProcess {
    child: Child,
    command: String,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    /// Set once [`LearnerProcess::stop`] has run: its group is never signalled twice.
    stopped: bool,
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

const PYTHON_UNBUFFERED: &str = "PYTHONUNBUFFERED";

/// What to add to the program's environment so that a Python program's prints reach labs as
/// they happen: `PYTHONUNBUFFERED=1`, unless the user's own environment sets it already (to
/// anything: their choice stands).
fn unbuffered_python(users: Option<std::ffi::OsString>) -> Option<(&'static str, &'static str)> {
    match users {
        Some(_) => None,
        None => Some((PYTHON_UNBUFFERED, "1")),
    }
}

impl LearnerProcess {
    /// Starts `sh -c command` in `dir` in a new process group.
    pub fn start(command: &str, dir: &Path) -> std::io::Result<LearnerProcess> {
        let mut sh = Command::new("sh");
        if let Some((name, value)) = unbuffered_python(std::env::var_os(PYTHON_UNBUFFERED)) {
            sh.env(name, value);
        }
        let mut child = sh
            .arg("-c")
            .arg(command)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        track_group(child.id(), true);
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
            stopped: false,
        })
    }

    /// The command line as it was run.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Waits until the program's process group listens on `addr`'s port, the program exits,
    /// or the deadline passes. labs never connects to find out: a beginner's server that does
    /// `message.split()[1]` on its first read dies on an empty connection. The kernel's socket
    /// table (`/proc/net/tcp`, `/proc/net/tcp6`) says which sockets listen, and each member's
    /// `/proc/PID/fd` says which of them belong to the program. Where there is no `/proc`, a
    /// connect is the only sign left.
    pub fn wait_listening(&mut self, addr: SocketAddr, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let have_proc = Path::new("/proc/net/tcp").exists();
        loop {
            let listening = if have_proc {
                group_listens_on(self.child.id(), addr.port())
            } else {
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            };
            if listening {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.join_readers();
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
            std::thread::sleep(Duration::from_millis(10));
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
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        // From here on this stops the group itself (and it is not reaped before that).
        track_group(self.child.id(), false);
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

/// A one-line account of how a process ended: the exit code, or the signal by name. A shell
/// that ran the program reports a signal as 128 + its number, so that is named too.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) if code > 128 && signal_name(code - 128).is_some() => format!(
            "killed by {}: signal {}, exit code {code} from the shell",
            signal_name(code - 128).unwrap_or_default(),
            code - 128
        ),
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => match signal_name(signal) {
            Some(name) => format!("killed by {name}: signal {signal}"),
            None => format!("killed by signal {signal}"),
        },
        _ => "ended".to_string(),
    }
}

/// The name of a signal a crashing program may die of.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => return None,
    })
}

/// The lines of a program's stderr worth quoting: the whole last Python traceback (from
/// "Traceback (most recent call last):" to the end) when there is one, else the last 30 lines.
/// Whole lines only, so a message is never cut in the middle.
pub fn stderr_excerpt(stderr: &[u8]) -> Vec<String> {
    const LINES: usize = 30;
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("Traceback (most recent call last)"))
        .unwrap_or(lines.len().saturating_sub(LINES));
    lines[start..].iter().map(|l| l.to_string()).collect()
}

/// True when a member of the process group `pgid` has a socket listening on TCP `port`
/// (IPv4 or IPv6), as the kernel's socket tables say.
pub fn group_listens_on(pgid: u32, port: u16) -> bool {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return false;
    }
    group_members(pgid)
        .into_iter()
        .any(|pid| socket_inodes(pid).iter().any(|i| inodes.contains(i)))
}

/// The inodes of sockets in the LISTEN state (`0A`) on `port`, from /proc/net/tcp and tcp6.
/// Each line is `sl local_address rem_address st ... uid timeout inode`, the port in hex after
/// the colon of `local_address`.
fn listening_inodes(port: u16) -> Vec<u64> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if *state == "0A" && local_port == Some(port) {
                if let Ok(inode) = inode.parse() {
                    inodes.push(inode);
                }
            }
        }
    }
    inodes
}

/// The processes of a process group, from /proc/PID/stat (`pid (comm) state ppid pgrp ...`;
/// the name may hold spaces, so the fields are read after the last `)`).
fn group_members(pgid: u32) -> Vec<u32> {
    let mut members = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return members;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if rest.split_whitespace().nth(2) == Some(pgid.to_string().as_str()) {
            members.push(pid);
        }
    }
    members
}

/// The socket inodes a process holds open (`/proc/PID/fd/N -> socket:[INODE]`).
fn socket_inodes(pid: u32) -> Vec<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy();
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
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
    fn listening_is_seen_without_a_connection() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        // A server that exits (code 7) as soon as anything connects.
        let script = format!(
            "python3 -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", {})); s.listen(); s.accept(); raise SystemExit(7)'",
            addr.port()
        );
        let mut p = LearnerProcess::start(&script, dir.path()).unwrap();
        p.wait_listening(addr, Duration::from_secs(10)).unwrap();
        assert!(p.is_running(), "labs connected to see that it listens");
    }

    #[test]
    fn signals_and_shell_codes_are_named() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            describe_exit(ExitStatus::from_raw(11)),
            "killed by SIGSEGV: signal 11"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(139 << 8)),
            "killed by SIGSEGV: signal 11, exit code 139 from the shell"
        );
        assert_eq!(describe_exit(ExitStatus::from_raw(2 << 8)), "exit code 2");
    }

    #[test]
    fn the_whole_traceback_is_quoted() {
        let mut err = String::new();
        for n in 0..50 {
            err.push_str(&format!("log line {n}\n"));
        }
        err.push_str("Traceback (most recent call last):\n  File \"x.py\", line 3\nIndexError: list index out of range\n");
        let lines = stderr_excerpt(err.as_bytes());
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2], "IndexError: list index out of range");
        let plain: String = (0..50).map(|n| format!("{n}\n")).collect();
        let lines = stderr_excerpt(plain.as_bytes());
        assert_eq!(lines.len(), 30);
        assert_eq!(lines[0], "20");
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

    #[test]
    fn python_output_is_unbuffered_unless_the_user_said_otherwise() {
        assert_eq!(unbuffered_python(None), Some(("PYTHONUNBUFFERED", "1")));
        assert_eq!(unbuffered_python(Some("".into())), None);
        assert_eq!(unbuffered_python(Some("0".into())), None);
    }
}
