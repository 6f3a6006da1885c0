//! The `client` program against a fake server that plays the `S:` side of each trace in
//! `tests/traces/client/`, written whole, byte by byte and at seeded random split points. The
//! client's output (the `-v` transcript on stderr, the body on stdout rendered in trace syntax,
//! and the exit code) must be the same for every cutting, and is snapshotted.
//!
//! A trace's `# client-args:` are added to the command line. With `# client-raw: yes` the client
//! sends the trace's `C:` side itself (`--raw FILE.trace`), bytes that need not be one whole
//! request: pipelined requests, half a request, garbage.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use protolab_tests::corpus::{load, trace_files, traces_dir};
use wire::testing::Segmentation;
use wire::trace::{render_payload, Tag, Trace};

/// Serves one connection: waits for the recorded request bytes (`request_len` of them), writes
/// the recorded response in the pieces `cut` gives, then closes (when the trace says so) or
/// waits for the client to close.
fn serve(
    listener: TcpListener,
    request_len: usize,
    response: Vec<u8>,
    closes: bool,
    cut: Segmentation,
) -> Vec<u8> {
    let (mut socket, _) = listener.accept().expect("the client connects");
    socket.set_nodelay(true).unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while request.len() < request_len {
        let n = socket.read(&mut buf).expect("read the request");
        if n == 0 {
            return request;
        }
        request.extend_from_slice(&buf[..n]);
    }
    for piece in cut.split(&response) {
        if socket.write_all(piece).is_err() {
            return request;
        }
    }
    if !closes {
        // Keep the connection open until the client closes it.
        while matches!(socket.read(&mut buf), Ok(n) if n > 0) {}
    }
    request
}

/// Runs the client against a server playing `trace`, cut by `cut`; returns the rendered output
/// and the request bytes the server received.
fn run(trace: &Trace, path: &Path, cut: Segmentation) -> (String, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let request_len = trace.stream(Tag::Client).unwrap().len();
    let response = trace.stream(Tag::Server).unwrap();
    let closes = trace.closes(Tag::Server);
    let server = std::thread::spawn(move || serve(listener, request_len, response, closes, cut));

    let mut args: Vec<&str> = vec![
        "-v",
        "--color",
        "never",
        "--max-time",
        "10",
        "-A",
        "test",
        "-H",
        "Host: localhost",
    ];
    let extra = trace.meta("client-args").unwrap_or("").to_string();
    args.extend(extra.split_whitespace());
    let path = path.to_str().expect("a UTF-8 path");
    if trace.meta("client-raw") == Some("yes") {
        args.extend(["--raw", path, "127.0.0.1", &port]);
    } else {
        args.extend(["GET", "127.0.0.1", &port, "/"]);
    }
    let (code, stdout, stderr) = client::run_captured(&args);
    let request = server.join().unwrap();

    // The port is the one this test was handed by the OS; it is the only varying text.
    let stderr = String::from_utf8(stderr)
        .unwrap()
        .replace(&format!("127.0.0.1:{port}"), "127.0.0.1:PORT")
        .replace(&format!("port {port}"), "port PORT");
    let rendered = format!(
        "exit: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        code,
        render_payload("", &stdout),
        stderr
    );
    (rendered, request)
}

#[test]
fn client_replays() {
    let dir = traces_dir().join("client");
    let files = trace_files(&dir);
    assert!(
        files.len() >= 10,
        "the client's traces are in {}",
        dir.display()
    );
    for path in files {
        let trace = load(&path);
        let name = Path::new(&path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut first: Option<String> = None;
        for cut in Segmentation::standard(0x5eed, 2) {
            let (rendered, request) = run(&trace, &path, cut);
            assert_eq!(
                request,
                trace.stream(Tag::Client).unwrap(),
                "{name}: the client sent other bytes than the trace's C: side"
            );
            match &first {
                None => first = Some(rendered),
                Some(f) => pretty_assertions::assert_eq!(f, &rendered, "{name} cut {cut:?}"),
            }
        }
        insta::assert_snapshot!(name, first.unwrap());
    }
}
