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
