//! The demo site's `/inspect?diagram`: the request that loaded the page, drawn as the sequence
//! diagram labs draws. Fetched by hand (the bytes are known, so the arrows' labels are too),
//! parsed as XML (xmllint), and loaded in headless Chromium: straight from the server (the page
//! draws Chromium's own request) and, with a measuring script added, at phone width.
mod server_common;

use std::process::Command;

use protolab_tests::tools::have;
use server::config::Model;
use server_common::{config, exchange, start};

const REQUEST: &[u8] = b"\
    GET /inspect?diagram HTTP/1.1\r\n\
    Host: localhost\r\n\
    X-Note: <b>bold</b> & more\r\n\
    Connection: close\r\n\
    \r\n";

fn body_of(answer: &str) -> &str {
    answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head: {answer}"))
        .1
}

#[test]
fn the_inspect_page_draws_the_request_that_loaded_it() {
    let server = start(config(Model::Epoll, None), None);
    let addr = server.local_addr();
    let answer = String::from_utf8(exchange(addr, &[REQUEST], false)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains("Content-Type: text/html; charset=utf-8\r\n"),
        "{answer}"
    );
    let page = body_of(&answer);
    assert!(!page.contains("<script"), "self-contained, no script");
    assert!(!page.contains("src=\""), "nothing to fetch");
    assert_eq!(page.matches("<svg").count(), 1);
    assert_eq!(page.matches("<g class=\"msg").count(), 2, "{page}");
    // The request's arrow is labelled with its first line, its bytes below in trace syntax,
    // the markup in a header escaped.
    assert!(
        page.contains(">GET /inspect?diagram HTTP/1.1\\r\\n</text>"),
        "{page}"
    );
    assert!(
        page.contains("C: X-Note: &lt;b&gt;bold&lt;/b&gt; &amp; more\\r\\n"),
        "{page}"
    );
    assert!(
        page.contains(&format!("({} bytes)", REQUEST.len())),
        "{page}"
    );
    assert!(page.contains(">HTTP/1.1 200 OK\\r\\n</text>"), "{page}");
    // /inspect without the query still answers as text.
    let plain = String::from_utf8(exchange(
        addr,
        &[b"GET /inspect HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"],
        false,
    ))
    .unwrap();
    assert!(
        plain.contains("Content-Type: text/plain; charset=utf-8\r\n"),
        "{plain}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inspect.html");
    std::fs::write(&file, page).unwrap();
    if have("xmllint") {
        let check = Command::new("xmllint")
            .arg("--noout")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "not well-formed: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    if have("chromium") {
        // Straight from the server: the page Chromium gets draws Chromium's own request.
        let url = format!("http://{addr}/inspect?diagram");
        let dom = chromium(&url);
        assert_eq!(dom.matches("<g class=\"msg").count(), 2, "{dom}");
        assert!(
            dom.contains("C: GET /inspect?diagram HTTP/1.1\\r\\n"),
            "{dom}"
        );
        assert!(
            dom.lines()
                .any(|l| l.starts_with("C: User-Agent: ") && l.contains("HeadlessChrome")),
            "the browser's own User-Agent is drawn: {dom}"
        );
        // A copy with a measuring script, at phone width: in a 360-pixel frame, as headless
        // Chromium keeps its window at least 500 pixels wide.
        let probe = dir.path().join("probe.html");
        std::fs::write(
            &probe,
            page.replace("</body>", &format!("{MEASURE}</body>")),
        )
        .unwrap();
        let frame = dir.path().join("frame.html");
        std::fs::write(&frame, FRAME).unwrap();
        let dom = chromium(&format!("file://{}", frame.display()));
        let verdict = verdict(&dom);
        assert_eq!(verdict["windowWidth"], 360, "{verdict}");
        assert_eq!(verdict["arrows"], 2, "{verdict}");
        assert_eq!(verdict["overflow"], serde_json::json!([]), "{verdict}");
        assert!(
            verdict["pageWidth"].as_u64() <= verdict["windowWidth"].as_u64(),
            "the page scrolls sideways at phone width: {verdict}"
        );
    }
    server.shutdown();
}

/// Counts the arrows and finds text outside the diagram or a page wider than the window.
const MEASURE: &str = r#"<script>
addEventListener('load', () => {
  const svg = document.querySelector('svg.sequence');
  const box = svg.viewBox.baseVal;
  const overflow = [...svg.querySelectorAll('text')]
    .map(t => [t, t.getBBox()])
    .filter(([, b]) => b.width > 0 && (b.x < -1 || b.x + b.width > box.width + 1))
    .map(([t]) => t.textContent);
  const pre = document.createElement('pre');
  pre.id = 'verdict';
  pre.textContent = JSON.stringify({
    arrows: svg.querySelectorAll('g.msg').length,
    pageWidth: document.documentElement.scrollWidth,
    windowWidth: innerWidth,
    overflow,
  });
  document.body.append(pre);
});
</script>"#;

/// The probe in a phone-wide frame; the frame's verdict copied out for `--dump-dom`.
const FRAME: &str = r#"<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="probe.html" style="border:0;width:360px;height:740px"></iframe>
<script>addEventListener('load', () => {
  const v = document.getElementById('f').contentDocument.getElementById('verdict');
  const pre = document.createElement('pre');
  pre.id = 'verdict';
  pre.textContent = v ? v.textContent : 'null';
  document.body.append(pre);
});</script></body></html>"#;

fn verdict(dom: &str) -> serde_json::Value {
    let json = protolab_tests::tools::dom_verdict(dom);
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn chromium(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
