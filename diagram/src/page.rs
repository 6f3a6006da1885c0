//! Self-contained HTML pages around the diagrams: the page of one `.trace` file
//! ([`trace_page`]), and the pieces other pages are made of ([`page_start`], [`figure`],
//! [`message_list`], [`page_end`]): `labs check --html` and the server's demo page use them.
//!
//! Each page is one file: the style sheet is inline, the diagrams are inline SVG, and there is
//! no script, web font or image to fetch, so a page opens the same from a mail attachment, a CI
//! artefact or a USB stick. Each arrow links to its message below the diagram, a `<details>`
//! that opens on the bytes in trace syntax (long messages folded after [`FOLD_LINES`] lines
//! into a second `<details>`). The layout is one column that fits a phone-width window (a wide
//! diagram scrolls sideways inside its own box) and prints without the page's colours behind
//! the text. The markup is also well-formed XML (void elements closed with `/>`), so tests
//! check it with an XML parser as well as in a browser.

use crate::{ends, xml, Diagram, Message, Options, Row, FOLD_LINES, MAX_SHOWN_CHARS};
use std::fmt::Write as _;
use wire::trace::{Trace, Transport};

const STYLE: &str = "\
:root{color-scheme:light}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#111;background:#fafafa}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}
h2{font-size:1.1rem;margin:0 0 .5rem;overflow-wrap:anywhere}
section,.summary{background:#fff;border:1px solid #ddd;border-radius:8px;padding:.8rem 1rem;margin:0 0 1rem}
.verdict{display:inline-block;padding:0 .4rem;border-radius:4px;color:#fff;font-size:.85rem;margin-right:.3rem}
.pass .verdict,.verdict.pass{background:#15803d}
.fail .verdict,.verdict.fail{background:#b91c1c}
section.fail{border-color:#fca5a5}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}
dt{font-weight:600;color:#444}
dd{margin:0;overflow-wrap:anywhere}
pre,code{font:13px/1.4 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace}
pre{background:#f4f4f5;padding:.5rem;border-radius:4px;overflow-x:auto;white-space:pre}
figure{margin:.8rem 0}
figcaption{color:#444;margin-bottom:.3rem}
.diagram{overflow-x:auto;border:1px solid #eee;border-radius:4px;background:#fff}
.diagram svg{display:block;width:100%;height:auto;max-width:calc(var(--w)*1px);min-width:calc(var(--w)*.7px)}
details{margin:.2rem 0}
summary{cursor:pointer;overflow-wrap:anywhere}
summary code{white-space:pre-wrap;word-break:break-all}
mark{background:#dc2626;color:#fff;font-weight:700}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.15rem .4rem;border-bottom:1px solid #eee;vertical-align:top}
td:first-child{white-space:nowrap}
a{color:#1d4ed8}
@media (max-width:40rem){main{padding:.5rem}section{padding:.6rem}dl{grid-template-columns:1fr}dt{margin-top:.3rem}}
@media print{body{background:#fff;font-size:11pt}section,.summary{border:none;padding:0;break-inside:auto}
figure{break-inside:avoid}.diagram{overflow:visible;border:none}pre{white-space:pre-wrap;word-break:break-all}a{color:inherit}}
";

/// The beginning of a page, up to the opening `<main>`.
pub fn page_start(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n",
        xml(title)
    );
}

/// The end of a page, after the last section.
pub fn page_end(out: &mut String) {
    out.push_str("</main>\n</body>\n</html>\n");
}

/// A diagram in its `<figure>`, with a caption, sized to its own width.
pub fn figure(out: &mut String, caption: &str, d: &Diagram, options: &Options) {
    let _ = writeln!(
        out,
        "<figure><figcaption>{}</figcaption>\n<div class=\"diagram\" style=\"--w:{}\">",
        xml(caption),
        d.width()
    );
    out.push_str(&d.svg(options));
    out.push_str("</div></figure>\n");
}

/// The messages of a diagram, each a `<details>` that the arrows link to.
pub fn message_list(out: &mut String, d: &Diagram, prefix: &str) {
    out.push_str("<div class=\"messages\">\n");
    for (n, m) in d.messages().enumerate() {
        message_details(out, d.transport, m, &format!("{prefix}-m{}", n + 1));
    }
    let lost = d.rows.iter().filter(|r| matches!(r, Row::Lost(_))).count();
    if lost > 0 {
        let _ = writeln!(
            out,
            "<p>{lost} datagram{} lost (the arrows that stop short).</p>",
            if lost == 1 { " was" } else { "s were" }
        );
    }
    out.push_str("</div>\n");
}

fn message_details(out: &mut String, transport: Transport, m: &Message, id: &str) {
    let lines = m.trace_lines(transport);
    let (from, to) = ends(m.tag);
    let _ = writeln!(
        out,
        "<details id=\"{id}\"{}><summary>{} → {}: <code>{}</code> ({} byte{})</summary>",
        if m.difference.is_some() {
            " open=\"open\""
        } else {
            ""
        },
        from.name(),
        to.name(),
        xml(&m.first_line(transport)),
        m.len(),
        if m.len() == 1 { "" } else { "s" }
    );
    if let Some((before, byte, after, at)) = m.difference_line() {
        let byte = if byte.is_empty() {
            "(the bytes ended here)".to_string()
        } else {
            byte
        };
        let _ = writeln!(
            out,
            "<p>The first byte that differs is byte {at} of this message:</p>\
             <pre class=\"difference\">{}<mark>{}</mark>{}</pre>",
            xml(&before),
            xml(&byte),
            xml(&after)
        );
    }
    let mut shown = 0usize;
    let mut cut = lines.len();
    for (i, line) in lines.iter().enumerate() {
        shown += line.len() + 1;
        if shown > MAX_SHOWN_CHARS {
            cut = i;
            break;
        }
    }
    let head = FOLD_LINES.min(cut);
    let _ = writeln!(out, "<pre>{}</pre>", xml(&lines[..head].join("\n")));
    if cut > head {
        let _ = writeln!(
            out,
            "<details><summary>{} more lines</summary><pre>{}</pre></details>",
            cut - head,
            xml(&lines[head..cut].join("\n"))
        );
    }
    if cut < lines.len() {
        let _ = writeln!(
            out,
            "<p>… {} more lines are not shown here; the .trace file has them all.</p>",
            lines.len() - cut
        );
    }
    out.push_str("</details>\n");
}

/// The diagram's lanes, `client, server`.
pub fn lane_names(d: &Diagram) -> String {
    let names: Vec<&str> = d.lanes().iter().map(|l| l.name()).collect();
    names.join(", ")
}

/// `labs trace view FILE.trace -o OUT.html`: the trace's metadata, its diagram, its messages.
pub fn trace_page(name: &str, trace: &Trace) -> String {
    let d = Diagram::from_trace(trace);
    let title = trace.title().unwrap_or(name);
    let mut out = String::new();
    page_start(&mut out, title);
    let _ = writeln!(out, "<h1>{}</h1>", xml(title));
    out.push_str("<section>\n<dl>\n");
    let _ = writeln!(out, "<dt>file</dt><dd><code>{}</code></dd>", xml(name));
    let _ = writeln!(
        out,
        "<dt>transport</dt><dd>{}</dd>",
        trace.transport().as_str()
    );
    for (key, value) in trace.metadata() {
        if key != "title" {
            let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", xml(key), xml(value));
        }
    }
    out.push_str("</dl>\n");
    let caption = format!("{} between {}", plural_messages(&d), lane_names(&d));
    let options = Options {
        link_prefix: Some("t".into()),
        title: Some(title.to_string()),
    };
    figure(&mut out, &caption, &d, &options);
    message_list(&mut out, &d, "t");
    out.push_str("</section>\n");
    page_end(&mut out);
    out
}

/// `1 message`, `3 messages`.
pub fn plural_messages(d: &Diagram) -> String {
    match d.messages().count() {
        1 => "1 message".to_string(),
        n => format!("{n} messages"),
    }
}
