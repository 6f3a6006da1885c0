//! Real clients against the real server, in every I/O model: curl (HTTP/1.0, HEAD, ranges,
//! --compressed, uploads, DELETE, -z), Python's http.client (keep-alive, chunked uploads,
//! forms) and headless Chromium (the demo site and a folder listing render, the images load,
//! and both fit a phone's 360-pixel width).
//! The tools are installed by scripts/install-test-deps.sh.
mod server_common;

use std::path::Path;
use std::process::Output;

use protolab_tests::tools::{run, tool};
use server::config::{LogTarget, Model};
use server_common::{config, fixture, start, MODELS};

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn curl(args: &[&str]) -> Output {
    run(tool("curl").args(["-s", "--max-time", "10"]).args(args))
}

#[test]
fn curl_reads_files_every_way() {
    for model in MODELS {
        let fx = fixture();
        let server = start(config(model, Some(fx.root.path())), None);
        let base = format!("http://{}", server.local_addr());
        assert_eq!(
            text(&curl(&["--http1.0", &format!("{base}/hello.txt")])),
            "hello, world\n",
            "{model}"
        );
        let head = text(&curl(&["-I", &format!("{base}/hello.txt")]));
        assert!(
            head.starts_with("HTTP/1.1 200 OK\r\n") && head.contains("Content-Length: 13\r\n"),
            "{model}: {head}"
        );
        assert!(
            head.contains("ETag: \"6955b900-d\"")
                && head.contains("Last-Modified: Thu, 01 Jan 2026 00:00:00 GMT"),
            "{head}"
        );
        assert_eq!(
            text(&curl(&["-r", "0-4", &format!("{base}/hello.txt")])),
            "hello",
            "{model}"
        );
        assert_eq!(
            text(&curl(&["-r", "-6", &format!("{base}/hello.txt")])),
            "world\n",
            "{model}"
        );
        let css = std::fs::read(fx.root.path().join("style.css")).unwrap();
        let gz = curl(&["--compressed", "-D", "-", &format!("{base}/style.css")]);
        let (head, body) = text(&gz)
            .split_once("\r\n\r\n")
            .map(|(h, b)| (h.to_string(), b.to_string()))
            .unwrap();
        assert!(
            head.contains("Content-Encoding: gzip") && head.contains("Vary: Accept-Encoding"),
            "{model}: {head}"
        );
        assert_eq!(
            body.as_bytes(),
            &css[..],
            "{model}: curl decompressed the original"
        );
        // -z: only if modified since the date.
        let code = |date: &str| {
            text(&curl(&[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-z",
                date,
                &format!("{base}/hello.txt"),
            ]))
        };
        assert_eq!(code("Fri, 02 Jan 2026 00:00:00 GMT"), "304", "{model}");
        assert_eq!(code("Wed, 31 Dec 2025 00:00:00 GMT"), "200", "{model}");
        // Two URLs in one command share the connection.
        let both = run(tool("curl").args([
            "-sv",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            &format!("{base}/hello.txt"),
            &format!("{base}/docs/a.txt"),
        ]));
        assert!(
            String::from_utf8_lossy(&both.stderr).contains("Re-using existing connection"),
            "{model}"
        );
        server.shutdown();
    }
}

#[test]
fn curl_uploads_and_deletes() {
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.allow_write = true;
        let server = start(c, None);
        let base = format!("http://{}", server.local_addr());
        let src = fx.outside.path().join("upload.bin");
        let bytes = server_common::pattern(300_000, 3);
        std::fs::write(&src, &bytes).unwrap();
        let put = |path: &str| {
            text(&curl(&[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-T",
                src.to_str().unwrap(),
                &format!("{base}{path}"),
            ]))
        };
        assert_eq!(put("/docs/upload.bin"), "201", "{model}");
        assert_eq!(
            std::fs::read(fx.root.path().join("docs/upload.bin")).unwrap(),
            bytes,
            "{model}"
        );
        assert_eq!(put("/docs/upload.bin"), "204", "{model}");
        // The upload reads back byte for byte (through sendfile, it is over 16 KiB).
        let back = curl(&[&format!("{base}/docs/upload.bin")]);
        assert_eq!(back.stdout, bytes, "{model}");
        let del = |path: &str| {
            text(&curl(&[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "DELETE",
                &format!("{base}{path}"),
            ]))
        };
        assert_eq!(del("/docs/upload.bin"), "204", "{model}");
        assert_eq!(del("/docs/upload.bin"), "404", "{model}");
        assert!(!fx.root.path().join("docs/upload.bin").exists());
        server.shutdown();
    }
}

const PYTHON_CLIENT: &str = r#"
import http.client, sys
host, port = sys.argv[1], int(sys.argv[2])
c = http.client.HTTPConnection(host, port, timeout=10)
out = []
for path in ["/", "/files/hello.txt", "/files/hello.txt"]:
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    out.append(f"GET {path} {r.status} {len(body)} {r.getheader('Content-Type')}")
c.request("HEAD", "/files/large.txt")
r = c.getresponse(); r.read()
out.append(f"HEAD {r.status} {r.getheader('Content-Length')}")
c.request("POST", "/inspect", body="name=Ada&n=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse(); body = r.read().decode()
out.append(f"POST form {r.status} {'name = Ada' in body}")
def chunks():
    yield b"Wiki"
    yield b"pedia"
c.request("POST", "/inspect", body=chunks(), encode_chunked=True)
r = c.getresponse(); body = r.read().decode()
out.append(f"POST chunked {r.status} {'C: 4' in body and 'pedia' in body}")
c.request("GET", "/chunked?n=3&delay_ms=0")
r = c.getresponse(); body = r.read().decode()
out.append(f"GET chunked {r.status} {r.getheader('Transfer-Encoding')} {body.count('line ')}")
c.request("GET", "/files/large.txt", headers={"Range": "bytes=32-63"})
r = c.getresponse(); body = r.read().decode()
out.append(f"range {r.status} {r.getheader('Content-Range')} {body.strip()}")
print("\n".join(out))
"#;

#[test]
fn python_http_client_keeps_one_connection() {
    for model in MODELS {
        let server = start(config(model, None), None);
        let addr = server.local_addr();
        let out = text(&run(tool("python3").args([
            "-c",
            PYTHON_CLIENT,
            "127.0.0.1",
            &addr.port().to_string(),
        ])));
        let expected = [
            "GET / 200 ",
            "GET /files/hello.txt 200 118 text/plain; charset=utf-8",
            "GET /files/hello.txt 200 118 text/plain; charset=utf-8",
            "HEAD 200 2097152",
            "POST form 200 True",
            "POST chunked 200 True",
            "GET chunked 200 chunked 3",
            "range 206 bytes 32-63/2097152 line 000002 of 065536 .........",
        ];
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), expected.len(), "{model}: {out}");
        for (line, want) in lines.iter().zip(expected) {
            assert!(
                line.starts_with(want),
                "{model}: `{line}` should start with `{want}`"
            );
        }
        // Everything went over one connection.
        assert_eq!(server.status().accepted, 1, "{model}: {out}");
        server.shutdown();
    }
}

/// Loads `url` in headless Chromium and returns the DOM after the load event.
fn chromium_dom(url: &str, profile: &Path) -> String {
    let out = run(tool("chromium").args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // The phone-width frame (a file) reads the page it frames (another file).
        "--allow-file-access-from-files",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
        &format!("--user-data-dir={}", profile.display()),
        "--dump-dom",
        url,
    ]));
    text(&out)
}

/// Phone width, in CSS pixels.
const PHONE_WIDTH: u32 = 360;

/// Measures a page once it has loaded: its width against the window's, the elements that reach
/// past the window's right edge, and whether the demo stylesheet applied.
const MEASURE: &str = r#"<script>
addEventListener('load', () => {
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
    .filter(e => !e.parentElement.closest('pre'))
    .map(e => e.tagName.toLowerCase() + ': ' + e.textContent.slice(0, 40));
  const pre = document.createElement('pre');
  pre.id = 'verdict';
  pre.textContent = JSON.stringify({
    pageWidth: document.documentElement.scrollWidth,
    windowWidth: innerWidth,
    wide,
    styled: getComputedStyle(document.querySelector('header') || document.body).borderBottomStyle,
  });
  document.body.append(pre);
});
</script>"#;

/// Loads a copy of the page at `url` (with a `<base>` back to the server and [`MEASURE`]) in a
/// frame [`PHONE_WIDTH`] pixels wide, and returns its verdict. A frame, because headless
/// Chromium keeps its window at least 500 pixels wide: a 360-pixel `--window-size` measures 500.
fn at_phone_width(url: &str, dir: &Path) -> serde_json::Value {
    let page = text(&curl(&[url]));
    assert!(
        page.contains("<head>") && page.contains("</body>"),
        "{url}: {page}"
    );
    let probe = page
        .replacen("<head>", &format!("<head><base href=\"{url}\">"), 1)
        .replacen("</body>", &format!("{MEASURE}</body>"), 1);
    std::fs::write(dir.join("probe.html"), probe).unwrap();
    let frame = format!(
        "<!DOCTYPE html><html><body style=\"margin:0\">\
         <iframe id=\"f\" src=\"probe.html\" style=\"border:0;width:{PHONE_WIDTH}px;height:740px\"></iframe>\
         <script>addEventListener('load', () => {{\
           const v = document.getElementById('f').contentDocument.getElementById('verdict');\
           const pre = document.createElement('pre');\
           pre.id = 'verdict';\
           pre.textContent = v ? v.textContent : 'null';\
           document.body.append(pre);\
         }});</script></body></html>"
    );
    std::fs::write(dir.join("frame.html"), frame).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium_dom(
        &format!("file://{}", dir.join("frame.html").display()),
        profile.path(),
    );
    let json = protolab_tests::tools::dom_verdict(&dom);
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{url}: {e}: {json}"))
}

#[test]
fn the_demo_site_and_a_listing_fit_a_phone() {
    let server = start(config(Model::Epoll, None), None);
    let base = format!("http://{}", server.local_addr());
    let dir = tempfile::tempdir().unwrap();
    for path in ["/", "/files/"] {
        let verdict = at_phone_width(&format!("{base}{path}"), dir.path());
        assert_eq!(verdict["windowWidth"], PHONE_WIDTH, "{path}: {verdict}");
        if path == "/" {
            // The demo stylesheet came through the <base> (the header's border is its own).
            assert_eq!(
                verdict["styled"], "solid",
                "the stylesheet applied: {verdict}"
            );
        }
        assert_eq!(
            verdict["wide"],
            serde_json::json!([]),
            "{path}: nothing reaches past a phone's edge: {verdict}"
        );
        assert!(
            verdict["pageWidth"].as_u64() <= verdict["windowWidth"].as_u64(),
            "{path}: the page scrolls sideways on a phone: {verdict}"
        );
    }
    server.shutdown();
}

#[test]
fn chromium_renders_the_demo_site_and_a_listing() {
    for model in [Model::Epoll, Model::Threads, Model::Pool] {
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("access.log");
        let mut c = config(model, None);
        c.access_log = Some(LogTarget::File(log.clone()));
        let server = start(c, None);
        let base = format!("http://{}", server.local_addr());
        let profile = tempfile::tempdir().unwrap();
        let dom = chromium_dom(&format!("{base}/"), profile.path());
        assert!(dom.contains("Welcome to the demo site"), "{model}: {dom}");
        assert!(dom.contains("src=\"/images/packets.png\""), "{model}");
        let listing = chromium_dom(&format!("{base}/files/"), profile.path());
        assert!(
            listing.contains("<h1>Index of /files/</h1>") && listing.contains("large.txt"),
            "{model}: {listing}"
        );
        server.shutdown();
        // The browser asked for the page, its stylesheet and both images, and got them.
        let access = std::fs::read_to_string(&log).unwrap();
        for path in [
            "/ ",
            "/style.css ",
            "/images/logo.svg ",
            "/images/packets.png ",
            "/files/ ",
        ] {
            assert!(
                access
                    .lines()
                    .any(|l| l.contains(&format!("\"GET {path}HTTP/1.1\" 200 "))
                        && l.contains("Chrome")),
                "{model}: no 200 for {path} from Chromium in the access log:\n{access}"
            );
        }
    }
}
