//! `ping ... | head` ends quietly: `ping` prints a line per reply, and the first line nobody
//! reads ends it by SIGPIPE, never with a panic or "Broken pipe". `ping serve`, whose stdout
//! closes before it prints its banner, ends the same way.
use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PING: &str = env!("CARGO_BIN_EXE_ping");

fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ping went on after its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn ping_ends_at_the_first_reply_nobody_reads() {
    // A plain echo server; an empty datagram stops it.
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = echo.local_addr().unwrap().port().to_string();
    echo.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let echoing = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = echo.recv_from(&mut buf) {
            if n == 0 {
                return;
            }
            let _ = echo.send_to(&buf[..n], from);
        }
    });
    let mut child = Command::new(PING)
        .args(["-c", "50", "-i", "0.02", "-p", &port, "127.0.0.1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no reply line");
        if line.contains("seq=") {
            break;
        }
    }
    drop(stdout);
    let status = wait(&mut child);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(broken_pipe::ended_quietly(status), "{status:?}\n{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    let stop = UdpSocket::bind("127.0.0.1:0").unwrap();
    stop.send_to(b"", ("127.0.0.1", port.parse::<u16>().unwrap()))
        .unwrap();
    echoing.join().unwrap();
}

#[test]
fn help_and_serve_into_a_closed_pipe_end_quietly() {
    for args in [&["--help"][..], &["serve", "--port", "0"]] {
        let out = Command::new(PING)
            .args(args)
            .stdin(Stdio::null())
            .stdout(broken_pipe::widowed_pipe().unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            broken_pipe::ended_quietly(out.status),
            "ping {args:?}: {:?}\n{stderr}",
            out.status
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{stderr}"
        );
    }
}
