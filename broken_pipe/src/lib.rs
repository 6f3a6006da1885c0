//! `PROGRAM | head` ends quietly, in every protolab program: when the reader of standard output
//! or standard error goes away, the program ends the way `yes | head` ends `yes`, by SIGPIPE
//! (the shell's `$?` is 141), with nothing printed. Call [`end_quietly`] first thing in `main`.
//!
//! Why not simply put SIGPIPE back to its default action? Rust programs start with it ignored,
//! so a write to a pipe nobody reads fails with EPIPE and `println!` turns that into a panic and
//! a backtrace ("failed printing to stdout: Broken pipe"). The default action would end that,
//! but it would also kill a server or a client whenever a peer hangs up while it is written to
//! with `writev` or `sendfile` (only `send` can say MSG_NOSIGNAL), and TLS and the file server
//! write that way. A socket's EPIPE is an error the program handles; a closed stdout is the end.
//!
//! So SIGPIPE gets a handler that asks the kernel which it is: a pipe whose reading end has
//! closed reports POLLERR to `poll`. When fd 1 or 2 is such a pipe, the program ends by SIGPIPE;
//! otherwise the handler returns and the write fails with EPIPE as before. `ping` prints a line
//! per reply and ends with the first line nobody reads; `labs list | head` ends after ten.
//!
//! A server is different: its output is a side channel (the banner, `--access-log -`), and the
//! service is the sockets. When the reader of its log goes away (a `| head`, a launcher that
//! read the banner's address and closed the pipe, a log collector restarting) it may be halfway
//! through answering a dozen clients. So a server calls [`keep_serving`] instead: the write that
//! meets the closed pipe fails with EPIPE (the server's writers skip failed lines, and must not
//! use `println!` for that stream), and the stream is then pointed at `/dev/null`, so nothing
//! later fails or panics. It stops as before, on Ctrl-C or SIGTERM, with exit code 0. Until it
//! serves (`--help`, a bad flag) it ends like the other programs.
//!
//! Scope: SIGPIPE and the standard streams only. The programs' own Ctrl-C handling is theirs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static CLEANUP: OnceLock<fn()> = OnceLock::new();
/// Set by [`keep_serving`].
static KEEP_SERVING: AtomicBool = AtomicBool::new(false);

/// Makes a closed stdout or stderr pipe end the program by SIGPIPE, silently, instead of a
/// panic; sockets and other pipes still get EPIPE. Call it before anything is printed.
pub fn end_quietly() {
    install();
}

/// As [`end_quietly`], running `cleanup` just before the program ends that way (`labs` stops
/// the learner's program it started). `cleanup` runs inside a signal handler, so it may only
/// make async-signal-safe calls such as `kill(2)`: no allocation, no locks, no printing.
pub fn end_quietly_after(cleanup: fn()) {
    let _ = CLEANUP.set(cleanup);
    install();
}

/// For a server, once it serves (after [`end_quietly`] at the top of `main`): from now on a
/// closed stdout or stderr pipe never ends the program. The write that meets it fails with
/// EPIPE, and the stream is then `/dev/null`. Write the server's own lines from here on with
/// errors ignored (`let _ = writeln!(...)`), never with `println!`, which panics on that EPIPE.
pub fn keep_serving() {
    KEEP_SERVING.store(true, Ordering::SeqCst);
    install();
}

#[allow(unsafe_code)]
fn install() {
    let handler: extern "C" fn(libc::c_int) = on_sigpipe;
    // SAFETY: a zeroed sigaction is a valid value (empty mask, no flags) that is then filled
    // in; `on_sigpipe` only makes async-signal-safe calls (poll, atomics, open, dup2, close,
    // `cleanup`, signal, pthread_sigmask, raise, _exit) and restores errno before it returns.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGPIPE, &action, std::ptr::null_mut());
    }
}

/// Which of fd 1 and fd 2 are pipes whose reading end has closed (an array, not a Vec: this
/// runs in a signal handler, where nothing may allocate).
#[allow(unsafe_code)]
fn widowed_standard_streams() -> Widowed {
    let mut fds = [1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of two pollfd for the length passed; a zero timeout
    // never blocks.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
    let mut widowed = Widowed::default();
    if ready > 0 {
        for f in fds {
            if f.revents & libc::POLLERR != 0 {
                widowed.fds[widowed.len] = f.fd;
                widowed.len += 1;
            }
        }
    }
    widowed
}

#[derive(Default)]
struct Widowed {
    fds: [libc::c_int; 2],
    len: usize,
}

impl Widowed {
    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl IntoIterator for Widowed {
    type Item = libc::c_int;
    type IntoIter = std::iter::Take<std::array::IntoIter<libc::c_int, 2>>;
    fn into_iter(self) -> Self::IntoIter {
        self.fds.into_iter().take(self.len)
    }
}

#[allow(unsafe_code)]
extern "C" fn on_sigpipe(_signal: libc::c_int) {
    // SAFETY: errno is this thread's; it is read and put back so that the interrupted code
    // sees the error of its own write, not one of poll's.
    let errno = unsafe { *libc::__errno_location() };
    if KEEP_SERVING.load(Ordering::SeqCst) {
        for fd in widowed_standard_streams() {
            // SAFETY: open, dup2 and close are async-signal-safe; the path is a NUL-terminated
            // constant. dup2 replaces the widowed descriptor in one step.
            unsafe {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if null >= 0 {
                    libc::dup2(null, fd);
                    libc::close(null);
                }
            }
        }
    } else if !widowed_standard_streams().is_empty() {
        if let Some(cleanup) = CLEANUP.get() {
            cleanup();
        }
        // SAFETY: async-signal-safe calls. SIGPIPE is blocked while its handler runs, so it is
        // unblocked for the raise to take effect here, with the default action now in place.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(libc::SIGPIPE);
            libc::_exit(128 + libc::SIGPIPE);
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// For tests: the writing end of a pipe whose reading end is already closed, as a program's
/// stdout is once `head` has read its lines and gone. Every write to it fails.
#[allow(unsafe_code)]
pub fn widowed_pipe() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just made by pipe2 and are owned by nothing else.
    let (read, write) = unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    drop(read);
    Ok(write)
}

/// True when a child's exit status is how [`end_quietly`] ends a program, or success: killed by
/// SIGPIPE, exit code 141 (128 + SIGPIPE, as a shell reports it), or 0.
pub fn ended_quietly(status: std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(libc::SIGPIPE) || matches!(status.code(), Some(0 | 141))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_widowed_pipe_is_seen_and_a_live_one_is_not() {
        let write = widowed_pipe().unwrap();
        let mut file = std::fs::File::from(write);
        assert_eq!(
            file.write(b"x").unwrap_err().kind(),
            std::io::ErrorKind::BrokenPipe
        );
        // The test's own stdout and stderr are read by the test harness.
        assert!(widowed_standard_streams().is_empty());
    }
}
