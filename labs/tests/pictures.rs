//! `labs trace view` and `labs check --html`: sequence diagrams of known traces, snapshotted as
//! SVG text, parsed as XML (xmllint), and loaded in headless Chromium at phone width, where a
//! script the test adds (the pages have none) counts the arrows and measures the layout.

use std::path::{Path, PathBuf};
use std::process::Command;
use wire::trace::{Event, Item, Trace};

use protolab_tests::tools::have;

fn traces() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/traces")
}

fn labs(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn view(trace: &Path, out: &Path) {
    let run = labs(&[
        "trace",
        "view",
        trace.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

fn xml_ok(file: &Path) {
    let check = Command::new("xmllint")
        .arg("--noout")
        .arg(file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{} is not well-formed XML: {}",
        file.display(),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// Messages (and lost datagrams): what should each get an arrow.
fn arrows_expected(trace: &Trace) -> usize {
    trace
        .items()
        .iter()
        .filter(|i| {
            matches!(
                i,
                Item::Data { .. }
                    | Item::Event {
                        event: Event::Lost,
                        ..
                    }
            )
        })
        .count()
}

/// A trace with what needs care: a body with markup in it, a long body, STARTTLS, a close.
const AWKWARD: &str = "\
# title: <script>alert(1)</script> & friends
S: 220 mail.test ESMTP\\r\\n
C: STARTTLS\\r\\n
S: 220 2.0.0 go ahead\\r\\n
C: DATA\\r\\n
S: 354 end with .\\r\\n
C: Subject: <b>bold</b> & \"quoted\" 'single'\\r\\n
C: \\r\\n
C: line 1\\r\\n
C: line 2\\r\\n
C: line 3\\r\\n
C: line 4\\r\\n
C: line 5\\r\\n
C: line 6\\r\\n
C: line 7\\r\\n
C: line 8\\r\\n
C: line 9\\r\\n
C: line 10\\r\\n
C: line 11\\r\\n
C: line 12\\r\\n
C: line 13\\r\\n
C: line 14\\r\\n
C: line 15\\r\\n
C: line 16\\r\\n
C: line 17\\r\\n
C: line 18\\r\\n
C: line 19\\r\\n
C: line 20\\r\\n
C: line 21\\r\\n
C: line 22\\r\\n
C: line 23\\r\\n
C: line 24\\r\\n
C: line 25 with a very long tail that cannot fit between two lanes \\x00\\xff\\r\\n
C: .\\r\\n
S: 250 ok\\r\\n
C: <close>
S: <close>
";

#[test]
fn known_traces_draw_as_svg_snapshots_that_parse_as_xml() {
    let xmllint = have("xmllint");
    let dir = tempfile::tempdir().unwrap();
    let awkward = dir.path().join("awkward.trace");
    std::fs::write(&awkward, AWKWARD).unwrap();
    let cases = [
        ("ping-lab-loss", traces().join("ping/lab-loss.trace")),
        (
            "proxy-chunked-origin",
            traces().join("proxy/chunked-origin.trace"),
        ),
        ("awkward", awkward),
    ];
    for (name, trace_file) in cases {
        let trace = Trace::parse(&std::fs::read_to_string(&trace_file).unwrap()).unwrap();
        let svg = dir.path().join(format!("{name}.svg"));
        view(&trace_file, &svg);
        if xmllint {
            xml_ok(&svg);
        }
        let text = std::fs::read_to_string(&svg).unwrap();
        assert_eq!(
            text.matches("<g class=\"msg").count(),
            arrows_expected(&trace),
            "{name}: one arrow per message"
        );
        assert!(!text.contains("<script"), "{name}: text is escaped");
        assert!(
            !text.contains("http://") || !text.contains("href=\"http"),
            "{name}: nothing external"
        );
        insta::assert_snapshot!(format!("svg_{name}"), text);
        let page = dir.path().join(format!("{name}.html"));
        view(&trace_file, &page);
        if xmllint {
            xml_ok(&page);
        }
    }
    let awkward_svg = std::fs::read_to_string(dir.path().join("awkward.svg")).unwrap();
    assert!(awkward_svg.contains("TLS starts here"));
    assert!(awkward_svg.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"));
    assert!(awkward_svg.contains("… 4 more lines"), "long bodies fold");
}

#[test]
fn a_bad_trace_or_output_name_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.trace");
    std::fs::write(&bad, "X: what\n").unwrap();
    let run = labs(&["trace", "view", bad.to_str().unwrap(), "-o", "out.svg"]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("is not a valid trace") && stderr.contains("line 1"),
        "{stderr}"
    );
    let good = traces().join("ping/clean.trace");
    let run = labs(&["trace", "view", good.to_str().unwrap(), "-o", "out.png"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("OUT.html"));
    let run = labs(&["trace", "view", "/nonexistent.trace"]);
    assert_eq!(run.status.code(), Some(1));
}

/// The script the test adds to a copy of a page before Chromium loads it: the verdict lands in
/// `<pre id="verdict">` as JSON, which `--dump-dom` prints. Loaded as `PAGE#print`, it first
/// turns the page's `@media print` rules on, so the layout measured is the printed one.
const MEASURE: &str = r#"<script>
addEventListener('load', () => {
  const print = location.hash === '#print';
  if (print) {
    for (const sheet of document.styleSheets)
      for (const rule of sheet.cssRules)
        if (rule.media && rule.media.mediaText.includes('print')) rule.media.mediaText = 'all';
  }
  const svgs = [...document.querySelectorAll('svg.sequence')];
  const overflow = [];
  const lost = [];
  for (const svg of svgs) {
    const box = svg.viewBox.baseVal;
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBBox();
      if (b.width > 0 && (b.x < -1 || b.x + b.width > box.width + 1)) overflow.push(t.textContent);
    }
    const lanes = [...svg.querySelectorAll('g.head line.lifeline')].map(l => l.x1.baseVal.value);
    for (const g of svg.querySelectorAll('g.msg.lost')) {
      const line = g.querySelector('line');
      const [x1, x2] = [line.x1.baseVal.value, line.x2.baseVal.value];
      const gap = Math.min(...lanes.filter(x => x !== x1).map(x => Math.abs(x - x2)));
      lost.push({gap: Math.round(gap), cross: g.querySelector('path') !== null});
    }
  }
  const verdict = {
    print,
    arrows: svgs.map(s => s.querySelectorAll('g.msg').length),
    lanes: svgs.map(s => s.querySelectorAll('g.head').length),
    rendered: svgs.map(s => Math.round(s.getBoundingClientRect().width)),
    cutOff: svgs.filter(s => s.getBoundingClientRect().right > innerWidth + 1).length,
    pageWidth: document.documentElement.scrollWidth,
    windowWidth: innerWidth,
    overflow,
    lost,
    tls: document.querySelectorAll('svg.sequence g.tls').length,
    red: document.querySelectorAll('g.msg.diff').length,
    background: getComputedStyle(document.body).backgroundColor,
  };
  const pre = document.createElement('pre');
  pre.id = 'verdict';
  pre.textContent = JSON.stringify(verdict);
  document.body.append(pre);
});
</script>"#;

/// Phone width, and the printable width of an A4 page (210 mm less 1 cm margins, at 96 px/in).
const PHONE: (u32, &str) = (360, "");
const PRINTED: (u32, &str) = (718, "#print");

/// Loads a copy of `page` with [`MEASURE`] in headless Chromium, `width` pixels wide. Headless
/// Chromium keeps its window at least 500 pixels wide, so the copy is loaded in a frame of the
/// width asked for (its viewport, for the media queries too), and the frame's verdict copied
/// out.
fn measure(page: &Path, (width, hash): (u32, &str)) -> serde_json::Value {
    let html = std::fs::read_to_string(page).unwrap();
    let probe = page.with_extension("probe.html");
    std::fs::write(
        &probe,
        html.replace("</body>", &format!("{MEASURE}</body>")),
    )
    .unwrap();
    let frame = page.with_extension("frame.html");
    std::fs::write(
        &frame,
        format!(
            "<!DOCTYPE html><html><body style=\"margin:0\">\
             <iframe id=\"f\" src=\"{}{hash}\" style=\"border:0;width:{width}px;height:1000px\"></iframe>\
             <script>addEventListener('load', () => {{\
               const v = document.getElementById('f').contentDocument.getElementById('verdict');\
               const pre = document.createElement('pre');\
               pre.id = 'verdict';\
               pre.textContent = v ? v.textContent : 'null';\
               document.body.append(pre);\
             }});</script></body></html>",
            probe.file_name().unwrap().to_string_lossy()
        ),
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--window-size=800,1100",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", frame.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = protolab_tests::tools::dom_verdict(&dom);
    let verdict: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(verdict["print"], !hash.is_empty(), "{verdict}");
    assert_eq!(verdict["windowWidth"], width, "{verdict}");
    verdict
}

/// What holds at any width, printed or not: the page does not scroll sideways, no label leaves
/// its diagram; printed, no diagram is cut off at the page's edge and the ground is white.
fn reads_well(what: &str, verdict: &serde_json::Value) {
    assert_eq!(
        verdict["overflow"],
        serde_json::json!([]),
        "{what}: {verdict}"
    );
    assert!(
        verdict["pageWidth"].as_u64() <= verdict["windowWidth"].as_u64(),
        "{what}: the page is wider than the window: {verdict}"
    );
    if verdict["print"] == true {
        assert_eq!(
            verdict["cutOff"], 0,
            "{what}: printed, a diagram is cut off: {verdict}"
        );
        assert_eq!(
            verdict["background"], "rgb(255, 255, 255)",
            "{what}: printed on white: {verdict}"
        );
    }
}

#[test]
fn chromium_draws_one_arrow_per_message_on_a_phone_and_on_paper() {
    if !have("chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let awkward = dir.path().join("awkward.trace");
    std::fs::write(&awkward, AWKWARD).unwrap();
    // (trace, lanes, TLS bands): UDP with lost datagrams, the four-party proxy track, STARTTLS.
    let cases = [
        (traces().join("ping/lab-loss.trace"), 2, 0),
        (traces().join("proxy/chunked-origin.trace"), 3, 0),
        (awkward, 2, 1),
    ];
    for (trace_file, lanes, tls) in cases {
        let what = trace_file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let trace = Trace::parse(&std::fs::read_to_string(&trace_file).unwrap()).unwrap();
        let lost = trace
            .items()
            .iter()
            .filter(|i| {
                matches!(
                    i,
                    Item::Event {
                        event: Event::Lost,
                        ..
                    }
                )
            })
            .count();
        let page = dir.path().join(what.replace(".trace", ".html"));
        view(&trace_file, &page);
        for width in [PHONE, PRINTED] {
            let verdict = measure(&page, width);
            assert_eq!(
                verdict["arrows"],
                serde_json::json!([arrows_expected(&trace)]),
                "{what}: {verdict}"
            );
            assert_eq!(
                verdict["lanes"],
                serde_json::json!([lanes]),
                "{what}: {verdict}"
            );
            assert_eq!(verdict["tls"], tls, "{what}: {verdict}");
            let drawn = verdict["lost"].as_array().unwrap();
            assert_eq!(drawn.len(), lost, "{what}: {verdict}");
            for arrow in drawn {
                // A lost datagram's arrow stops well short of the lane it was meant for, on a cross.
                assert!(arrow["gap"].as_u64().unwrap() >= 60, "{what}: {verdict}");
                assert_eq!(arrow["cross"], true, "{what}: {verdict}");
            }
            assert!(
                verdict["rendered"][0].as_u64().unwrap() > 200,
                "{what}: {verdict}"
            );
            reads_well(&what, &verdict);
        }
    }
}

#[test]
fn check_html_draws_every_step_and_marks_the_first_wrong_byte_in_red() {
    let data = tempfile::tempdir().unwrap();
    let page = data.path().join("report.html");
    let run = format!(
        "python3 {}/tests/fakes/http_broken.py bare-lf {{port}} {{dir}}/files",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args([
            "check",
            "http",
            "--run",
            &run,
            "--timeout",
            "500ms",
            "--json",
            "--html",
        ])
        .arg(&page)
        .env("PROTOLAB_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json still prints");
    let steps = json["steps"].as_array().unwrap();
    if have("xmllint") {
        xml_ok(&page);
    }
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script"), "the page has no script");
    assert_eq!(html.matches("<section id=\"step").count(), steps.len());
    assert!(html.contains("<span class=\"verdict\">FAIL</span> http/respond"));
    // The bare LF after the status line is the first byte that differs.
    assert!(html.contains("HTTP/1.1 200 OK<mark>\\n</mark>"), "{html}");
    let drawn = html.matches("<g class=\"msg").count();
    assert!(
        drawn >= steps.len(),
        "every step has an exchange: {drawn} arrows"
    );
    assert_eq!(html.matches("<g class=\"msg diff\"").count(), 1);
    if !have("chromium") {
        return;
    }
    for width in [PHONE, PRINTED] {
        let verdict = measure(&page, width);
        let arrows: u64 = verdict["arrows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(arrows as usize, drawn, "{verdict}");
        assert_eq!(verdict["red"], 1, "{verdict}");
        reads_well("labs check --html", &verdict);
    }
}
