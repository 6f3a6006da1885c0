//! `labs trace pcap` and `labs trace import`: captures Wireshark's tshark reads back, and real
//! loopback captures (made here with tcpdump) turned into traces.

use std::path::{Path, PathBuf};
use std::process::Command;

fn require(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{tool} is not installed: run `bash scripts/install-test-deps.sh`"
    );
}

fn traces() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/traces")
}

fn labs(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "labs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// tshark's fields for the packets a display filter keeps, one line per packet.
fn tshark(capture: &Path, filter: &str, fields: &[&str], extra: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(capture)
        .args(["-Y", filter, "-T", "fields"]);
    cmd.args([
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
    ]);
    cmd.args(["-o", "udp.check_checksum:TRUE", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.args(extra).output().unwrap();
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Nothing that Wireshark's TCP analysis or checksum checks would flag.
fn clean(capture: &Path) {
    let flagged = tshark(
        capture,
        "tcp.analysis.flags || tcp.checksum.status == 0 || ip.checksum.status == 0 \
         || udp.checksum.status == 0 || _ws.malformed || _ws.expert.severity >= warning",
        &["frame.number", "_ws.expert.message"],
        &[],
    );
    assert_eq!(flagged, Vec::<String>::new(), "{}", capture.display());
}

fn pcap(trace: &str, dir: &Path) -> PathBuf {
    let out = dir.join(trace.replace('/', "-").replace(".trace", ".pcapng"));
    labs(&[
        "trace",
        "pcap",
        traces().join(trace).to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    out
}

#[test]
fn tshark_reads_http_smtp_proxy_and_pinger_traces_written_as_pcapng() {
    require("tshark");
    let dir = tempfile::tempdir().unwrap();

    let http = pcap("client/ok-keep-alive.trace", dir.path());
    clean(&http);
    assert_eq!(
        tshark(
            &http,
            "http",
            &[
                "http.request.method",
                "http.request.uri",
                "http.response.code"
            ],
            &[]
        ),
        vec!["GET|/|", "||200"]
    );
    let comments = tshark(&http, "frame.comment", &["frame.comment"], &[]);
    assert!(
        comments
            .iter()
            .any(|c| c.contains("C: GET / HTTP/1.1\\r\\n")),
        "{comments:?}"
    );

    let smtp = pcap("smtp/client/aiosmtpd-starttls-auth-login.trace", dir.path());
    clean(&smtp);
    let commands: Vec<String> = tshark(&smtp, "smtp.req", &["smtp.req.command"], &[])
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    // Wireshark shows a command as its first four letters (STARTTLS as STAR); the AUTH LOGIN
    // lines of base64 are not commands.
    assert_eq!(
        commands,
        ["EHLO", "STAR", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"]
    );
    let replies = tshark(&smtp, "smtp.response", &["smtp.response.code"], &[]);
    assert_eq!(
        replies.first().map(String::as_str),
        Some("220"),
        "{replies:?}"
    );

    let proxy = pcap("proxy/chunked-origin.trace", dir.path());
    clean(&proxy);
    let hops = tshark(
        &proxy,
        "http.request",
        &["ip.src", "ip.dst", "http.request.uri"],
        &[],
    );
    assert_eq!(
        hops,
        vec![
            "127.0.0.1|127.0.0.2|http://origin.test/stream",
            "127.0.0.2|127.0.0.3|/stream",
            "127.0.0.1|127.0.0.2|http://origin.test/stream",
        ]
    );

    let ping = pcap("ping/lab-loss.trace", dir.path());
    clean(&ping);
    let datagrams = tshark(
        &ping,
        "udp",
        &["data.text"],
        &["-d", "udp.port==12000,data", "-o", "data.show_as_text:TRUE"],
    );
    assert_eq!(
        datagrams.len(),
        8,
        "5 pings, 3 echoes, 2 lost: {datagrams:?}"
    );
    assert_eq!(datagrams[0], "Ping 1 1767268800.000000");
    assert_eq!(datagrams[1], "PING 1 1767268800.000000");
    let times = tshark(&ping, "udp", &["frame.time_relative"], &[]);
    assert!(
        times[2].starts_with("1.00"),
        "waits move the clock: {times:?}"
    );
}

fn read_trace(path: &Path) -> wire::trace::Trace {
    wire::trace::Trace::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn stored_captures_from_our_writer_import_back_to_their_traces() {
    let dir = tempfile::tempdir().unwrap();
    let stored = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures");
    for (capture, source) in [
        ("http-keep-alive.pcapng", "client/ok-keep-alive.trace"),
        (
            "smtp-starttls.pcapng",
            "smtp/client/aiosmtpd-starttls-auth-login.trace",
        ),
    ] {
        let out = dir.path().join(capture.replace(".pcapng", ".trace"));
        let said = labs(&[
            "trace",
            "import",
            stored.join(capture).to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        let said = String::from_utf8_lossy(&said.stdout);
        assert!(said.contains("127.0.0.1:49152 -> 127.0.0.2:"), "{said}");
        let imported = read_trace(&out);
        let original = read_trace(&traces().join(source));
        assert_eq!(imported.items(), original.items(), "{capture}");
        assert!(imported.title().unwrap().contains(capture));
    }
}

/// A classic pcap with the server's answer cut in segments sent out of order, one twice, and
/// one overlapping its neighbour; a second connection on another port after it.
fn scrambled_pcap() -> Vec<u8> {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    use std::net::Ipv4Addr;
    use wire::packet::{synthetic_mac, Frame, TcpFlags};
    let client = |port| Frame {
        src_mac: synthetic_mac(1),
        dst_mac: synthetic_mac(2),
        src: (Ipv4Addr::LOCALHOST, port),
        dst: (Ipv4Addr::LOCALHOST, 8080),
        ip_id: 1,
    };
    let server = |port| Frame {
        src_mac: synthetic_mac(2),
        dst_mac: synthetic_mac(1),
        src: (Ipv4Addr::LOCALHOST, 8080),
        dst: (Ipv4Addr::LOCALHOST, port),
        ip_id: 2,
    };
    let ack = TcpFlags::ACK;
    let (c, s) = (100u32, 9000u32);
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let mut frames = vec![
        client(50001).tcp(c, 0, TcpFlags::SYN, 1000, b""),
        server(50001).tcp(s, c + 1, TcpFlags::SYN | ack, 1000, b""),
        client(50001).tcp(c + 1, s + 1, ack, 1000, b""),
        client(50001).tcp(c + 1, s + 1, ack, 1000, b"GET / HTTP/1.1\r\n\r\n"),
    ];
    let r = s + 1;
    frames.push(server(50001).tcp(r + 17, c + 19, ack, 1000, &response[17..30])); // ahead
    frames.push(server(50001).tcp(r, c + 19, ack, 1000, &response[..17])); // fills the gap
    frames.push(server(50001).tcp(r, c + 19, ack, 1000, &response[..17])); // retransmitted
    frames.push(server(50001).tcp(r + 25, c + 19, ack, 1000, &response[25..40])); // overlaps
    frames.push(server(50001).tcp(r + 40, c + 19, ack | TcpFlags::FIN, 1000, &response[40..]));
    frames.push(client(50001).tcp(c + 19, r + 46, ack | TcpFlags::FIN, 1000, b""));
    // A second connection, opened after the first.
    frames.push(client(50002).tcp(7, 0, TcpFlags::SYN, 1000, b""));
    frames.push(server(50002).tcp(70, 8, TcpFlags::SYN | ack, 1000, b""));
    frames.push(client(50002).tcp(8, 71, ack, 1000, b"x"));
    frames.push(client(50002).tcp(9, 71, TcpFlags::RST, 0, b""));
    let mut writer = PcapWriter::new(Vec::new()).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        let time = std::time::Duration::from_millis(1_767_225_600_000 + i as u64);
        writer
            .write_packet(&PcapPacket::new(time, frame.len() as u32, frame))
            .unwrap();
    }
    writer.into_writer()
}

#[test]
fn out_of_order_retransmitted_and_overlapping_segments_import_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("scrambled.pcap");
    std::fs::write(&capture, scrambled_pcap()).unwrap();
    let out = dir.path().join("s.trace");
    labs(&[
        "trace",
        "import",
        capture.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let first = read_trace(&dir.path().join("s-1.trace"));
    let second = read_trace(&dir.path().join("s-2.trace"));
    let both: Vec<String> = [&first, &second]
        .iter()
        .map(|t| {
            t.render()
                .lines()
                .filter(|l| !l.starts_with("# now"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    insta::assert_snapshot!("scrambled_import", both.join("\n----\n"));
    // --port keeps one: here neither connection has port 9, which is said plainly.
    let refused = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(["trace", "import", capture.to_str().unwrap(), "--port", "9"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("none of its 14 packets has port 9"));
}

#[test]
fn a_loopback_exchange_captured_by_tcpdump_imports_as_its_trace() {
    use std::io::{BufRead, Read, Write};
    require("tcpdump");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("lo.pcap");
    let mut dump = Command::new("tcpdump")
        .args(["-i", "lo", "-U", "-n", "-w"])
        .arg(&capture)
        .arg(format!("tcp port {port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // tcpdump says when it is listening.
    let mut said = String::new();
    let mut stderr = std::io::BufReader::new(dump.stderr.take().unwrap());
    while !said.contains("listening on") {
        if stderr.read_line(&mut said).unwrap() == 0 {
            let _ = dump.wait();
            panic!("tcpdump did not start: {said}");
        }
    }
    let request: &[u8] = b"GET /lab HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let response: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhi\n";
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.ends_with(b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        conn.write_all(response).unwrap();
        conn.shutdown(std::net::Shutdown::Write).unwrap();
        let _ = conn.read(&mut buf);
    });
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_nodelay(true).unwrap();
    let client_addr = conn.local_addr().unwrap();
    conn.write_all(&request[..19]).unwrap();
    conn.write_all(&request[19..]).unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).unwrap();
    drop(conn);
    server.join().unwrap();
    assert_eq!(answer, response);
    // The kernel hands packets to tcpdump a little after they are sent: wait (bounded) until
    // the capture holds both FINs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let imported = loop {
        let bytes = std::fs::read(&capture).unwrap_or_default();
        if let Ok(mut all) = labs::import::import(&bytes, Some(port), "lo.pcap") {
            if all.len() == 1
                && all[0].trace.closes(wire::trace::Tag::Client)
                && all[0].trace.closes(wire::trace::Tag::Server)
            {
                break all.remove(0);
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the capture never held the whole exchange"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // SAFETY-free: tcpdump is our child; SIGINT makes it close the file and exit.
    let _ = Command::new("kill")
        .args(["-INT", &dump.id().to_string()])
        .status();
    let _ = dump.wait();
    assert_eq!(imported.client, client_addr);
    assert_eq!(imported.server.port(), port);
    let trace = &imported.trace;
    assert_eq!(trace.stream(wire::trace::Tag::Client).unwrap(), request);
    assert_eq!(trace.stream(wire::trace::Tag::Server).unwrap(), response);
    // The command line does the same and says what it wrote.
    let out = dir.path().join("lo.trace");
    let said = labs(&[
        "trace",
        "import",
        capture.to_str().unwrap(),
        "--port",
        &port.to_string(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&said.stdout)
        .contains(&format!("{client_addr} -> 127.0.0.1:{port}")));
    assert_eq!(read_trace(&out).items(), trace.items());
}
