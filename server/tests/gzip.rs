//! gzip never makes a response larger, through the `server` binary on loopback: every file of a
//! folder is fetched with and without `Accept-Encoding: gzip`, and the gzip answer, head and
//! body counted, is never the longer one. Small bodies and bodies that do not compress (and a
//! `.gz` sibling larger than its file) are sent as they are.

mod common;

use std::path::Path;

use common::Running;

/// A CSS file of 100 bytes: its gzip form is 109 bytes.
const SMALL_CSS: &[u8] =
    b"body{margin:0;font:16px/1.4 system-ui,sans-serif}h1{color:#036}a{color:#06c}pre{background:#f4f4f4}\n";

/// Bytes with no pattern for deflate to find, in a text file (a compressible type).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u32 = 7;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

fn folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(root.path().join(name), bytes).unwrap();
    put("small.css", SMALL_CSS);
    put("tiny.txt", b"hi\n");
    put("noise.txt", &noise(4000));
    put("big.css", "body { color: #222; }\n".repeat(200).as_bytes());
    // A precompressed sibling that is no smaller than its file.
    put("app.js", b"let x = 1;\n");
    let gz = server::handler::gzip(b"let x = 1; // a longer copy that compresses worse\n").unwrap();
    put("app.js.gz", &gz);
    root
}

/// The whole response to GET `path` (head and body), with `Accept-Encoding: gzip` or without.
fn fetch(server: &Running, path: &str, gzip: bool) -> String {
    let accept = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    server.exchange(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n{accept}Connection: close\r\n\r\n").as_bytes(),
    )
}

fn started(root: &Path) -> Running {
    Running::start(&["--root", root.to_str().unwrap()])
}

#[test]
fn a_gzip_response_is_never_larger_than_the_plain_one() {
    let root = folder();
    let server = started(root.path());
    let mut gzipped = Vec::new();
    for name in ["small.css", "tiny.txt", "noise.txt", "big.css", "app.js"] {
        let path = format!("/{name}");
        let plain = fetch(&server, &path, false);
        let gzip = fetch(&server, &path, true);
        assert!(plain.starts_with("HTTP/1.1 200 OK\r\n"), "{plain}");
        assert!(gzip.starts_with("HTTP/1.1 200 OK\r\n"), "{gzip}");
        assert!(
            gzip.len() <= plain.len(),
            "{name}: {} bytes with gzip, {} without",
            gzip.len(),
            plain.len()
        );
        if gzip.contains("Content-Encoding: gzip\r\n") {
            gzipped.push(name);
        }
    }
    // Only the file that compresses well went out compressed.
    assert_eq!(gzipped, ["big.css"]);
}

#[test]
fn a_small_css_file_that_gzip_would_grow_is_sent_as_it_is() {
    let root = folder();
    let server = started(root.path());
    let answer = fetch(&server, "/small.css", true);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(!head.contains("Content-Encoding"), "{head}");
    // The choice still depends on Accept-Encoding, for caches.
    assert!(head.contains("Vary: Accept-Encoding\r\n"), "{head}");
    assert!(head.contains("Content-Length: 100\r\n"), "{head}");
    assert_eq!(body.as_bytes(), SMALL_CSS);
}

#[test]
fn a_gz_sibling_no_smaller_than_its_file_is_not_used() {
    let root = folder();
    let server = started(root.path());
    let answer = fetch(&server, "/app.js", true);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(!head.contains("Content-Encoding"), "{head}");
    assert_eq!(body, "let x = 1;\n");
}
