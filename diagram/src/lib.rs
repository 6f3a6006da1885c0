//! Sequence diagrams of an exchange, as self-contained SVG: the picture textbooks draw.
//!
//! A vertical line (a lane) per party: client and server, or client, proxy and origin for a
//! proxied exchange. An arrow per message, from the sender's lane to the receiver's, labelled
//! with the message's first line in trace syntax (`GET / HTTP/1.1\r\n`) and its size. Below the
//! arrows:
//!
//! - `<close>` is a thin dashed arrow labelled `close (FIN)`;
//! - `<wait 1500ms>` opens a gap on the waiting party's lane, taller for longer waits, and when a
//!   trace has waits the left margin keeps the time since the start at each message;
//! - `<lost>` (UDP) is an arrow that stops short of the receiver and ends in a cross;
//! - the point where TLS starts is a band across every lane (what follows was encrypted on the
//!   wire and is shown decrypted);
//! - on a failed step, the message holding the first byte that differs from what was expected is
//!   drawn in red, with its line and the byte itself marked.
//!
//! Scope: drawing only. The SVG has no script, no external font, image or style sheet; every text
//! is escaped for XML (and is printable ASCII already, being trace syntax). Labels that would not
//! fit between two lanes are cut with `…`; each message carries its bytes in trace syntax in a
//! `<title>` (a tooltip), folded after [`FOLD_LINES`] lines, and the HTML page lists them in full
//! (see [`page`]).
//!
//! A crate of its own so that `labs` (check reports, `labs trace view`) and the server's demo
//! site (the page that draws the request that loaded it) draw the same picture, and neither
//! depends on the other. It depends on `wire` only (the `.trace` model).

pub mod page;

use std::fmt::Write as _;
use wire::trace::{Event, Item, Payload, Piece, Tag, Trace, Transport};

/// Lines of a message shown before the rest is folded away.
pub const FOLD_LINES: usize = 24;
/// Characters of a message shown in full (in the HTML page) before the rest is left out.
pub const MAX_SHOWN_CHARS: usize = 64 * 1024;

/// A party of the exchange: one vertical line of the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// The client (`C:`, `C>P:`).
    Client,
    /// The proxy between a client and an origin (`P>O:`, `P>C:`).
    Proxy,
    /// The origin server behind a proxy (`O>P:`).
    Origin,
    /// The server of a two-party exchange (`S:`).
    Server,
}

impl Lane {
    /// `client`, `proxy`, `origin`, `server`.
    pub fn name(self) -> &'static str {
        match self {
            Lane::Client => "client",
            Lane::Proxy => "proxy",
            Lane::Origin => "origin",
            Lane::Server => "server",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Lane::Client => "#1d4ed8",
            Lane::Proxy => "#7c3aed",
            Lane::Origin => "#b45309",
            Lane::Server => "#047857",
        }
    }
}

/// Who sends and who receives under a tag.
pub fn ends(tag: Tag) -> (Lane, Lane) {
    match tag {
        Tag::Client => (Lane::Client, Lane::Server),
        Tag::Server => (Lane::Server, Lane::Client),
        Tag::ClientToProxy => (Lane::Client, Lane::Proxy),
        Tag::ProxyToOrigin => (Lane::Proxy, Lane::Origin),
        Tag::OriginToProxy => (Lane::Origin, Lane::Proxy),
        Tag::ProxyToClient => (Lane::Proxy, Lane::Client),
    }
}

/// One message: the bytes of one item (a stretch of one party's stream, or one datagram).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who sent it.
    pub tag: Tag,
    /// What was sent (bytes, or placeholders in snapshots and expectations).
    pub payload: Payload,
    /// Where the first byte that differs from the expected bytes is, counted in this message.
    pub difference: Option<usize>,
}

impl Message {
    /// The message in trace syntax, one wire line per text line (`C: GET / HTTP/1.1\r\n`).
    pub fn trace_lines(&self, transport: Transport) -> Vec<String> {
        let mut one = Trace::new(transport);
        one.push_payload(self.tag, self.payload.clone());
        one.render()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    /// The first line, without its tag: the arrow's label.
    pub fn first_line(&self, transport: Transport) -> String {
        let prefix = self.tag.prefix();
        self.trace_lines(transport)
            .first()
            .map(|l| l.strip_prefix(&prefix).unwrap_or(l).to_string())
            .unwrap_or_default()
    }

    /// How many bytes the message stands for (elided bodies count their length; `<any>` none).
    pub fn len(&self) -> u64 {
        self.payload
            .pieces()
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => b.len() as u64,
                Piece::Any => 0,
                Piece::Elided(body) => body.len,
            })
            .sum()
    }

    /// True when the message stands for no bytes (an empty datagram).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The wire line holding the first difference, escaped and cut in three: before the byte,
    /// the byte (empty when the message ended there), after it. Also the byte's offset.
    pub fn difference_line(&self) -> Option<(String, String, String, usize)> {
        let at = self.difference?;
        let bytes = self.payload.as_bytes()?;
        let at = at.min(bytes.len());
        let start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| at + p + 1);
        let byte_end = (at + 1).min(bytes.len());
        Some((
            wire::trace::escape_inline(&bytes[start..at]),
            wire::trace::escape_inline(&bytes[at..byte_end]),
            wire::trace::escape_inline(&bytes[byte_end..end.max(byte_end)]),
            at,
        ))
    }
}

/// One row of the diagram, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// An arrow carrying bytes.
    Message(Message),
    /// `<close>`: the party closed its sending side.
    Close(Tag),
    /// `<wait Nms>`: the party paused.
    Wait(Tag, u64),
    /// `<lost>`: the party's datagram never arrived.
    Lost(Tag),
    /// TLS starts here; what follows was encrypted on the wire.
    Tls,
}

/// An exchange ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagram {
    /// TCP or UDP.
    pub transport: Transport,
    /// The rows, top to bottom.
    pub rows: Vec<Row>,
    /// A second line under a lane's name (`your program`).
    pub lane_notes: Vec<(Lane, String)>,
}

/// How a diagram is drawn.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A prefix for the anchors of the messages (`step3-1`), when the diagram sits in an HTML
    /// page that lists them: each arrow links to `#PREFIX-mN`.
    pub link_prefix: Option<String>,
    /// The SVG's own title (read by screen readers, shown as a tooltip).
    pub title: Option<String>,
}

impl Diagram {
    /// An empty diagram.
    pub fn new(transport: Transport) -> Diagram {
        Diagram {
            transport,
            rows: Vec::new(),
            lane_notes: Vec::new(),
        }
    }

    /// The diagram of a trace file. A `220` reply to `STARTTLS` (RFC 3207 §4) starts TLS.
    pub fn from_trace(trace: &Trace) -> Diagram {
        let mut diagram = Diagram::new(trace.transport());
        diagram.push_items(trace.items());
        let mut marked = Vec::new();
        let mut asked = false;
        for row in diagram.rows {
            let starts_tls = match &row {
                Row::Message(m) => {
                    let bytes = m.payload.as_bytes().unwrap_or(b"");
                    let was_asked = asked;
                    asked = ends(m.tag).0 == Lane::Client
                        && bytes.eq_ignore_ascii_case(b"STARTTLS\r\n");
                    was_asked && ends(m.tag).0 != Lane::Client && bytes.starts_with(b"220")
                }
                _ => false,
            };
            marked.push(row);
            if starts_tls {
                marked.push(Row::Tls);
            }
        }
        diagram.rows = marked;
        diagram
    }

    /// Appends a trace's items as rows.
    pub fn push_items(&mut self, items: &[Item]) {
        for item in items {
            self.rows.push(match item {
                Item::Data { tag, payload } => Row::Message(Message {
                    tag: *tag,
                    payload: payload.clone(),
                    difference: None,
                }),
                Item::Event { tag, event } => match event {
                    Event::Close => Row::Close(*tag),
                    Event::Wait { millis } => Row::Wait(*tag, *millis),
                    Event::Lost => Row::Lost(*tag),
                },
            });
        }
    }

    /// The messages in order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> + '_ {
        self.rows.iter().filter_map(|r| match r {
            Row::Message(m) => Some(m),
            _ => None,
        })
    }

    /// The lanes the rows use, left to right: client, proxy, origin, server.
    pub fn lanes(&self) -> Vec<Lane> {
        let mut lanes: Vec<Lane> = self
            .rows
            .iter()
            .filter_map(|r| match r {
                Row::Message(Message { tag, .. })
                | Row::Close(tag)
                | Row::Wait(tag, _)
                | Row::Lost(tag) => Some(*tag),
                Row::Tls => None,
            })
            .flat_map(|tag| {
                let (a, b) = ends(tag);
                [a, b]
            })
            .collect();
        lanes.sort();
        lanes.dedup();
        if lanes.is_empty() {
            lanes = vec![Lane::Client, Lane::Server];
        }
        lanes
    }

    /// Marks the first differing byte: `got` (bytes a check compared) is looked for in the
    /// stream `tags` sent, and the byte `at` within it is marked in the message that holds it.
    /// Returns false when `got` is not in that stream (a decoded body, for instance).
    pub fn mark_difference(&mut self, tags: &[Tag], got: &[u8], at: usize) -> bool {
        let mut stream = Vec::new();
        let mut starts = Vec::new();
        for (index, row) in self.rows.iter().enumerate() {
            if let Row::Message(m) = row {
                if tags.contains(&m.tag) {
                    if let Some(bytes) = m.payload.as_bytes() {
                        starts.push((index, stream.len(), bytes.len()));
                        stream.extend_from_slice(bytes);
                    }
                }
            }
        }
        let found = if got.is_empty() {
            Some(stream.len())
        } else {
            stream.windows(got.len()).position(|w| w == got)
        };
        let Some(position) = found else {
            return false;
        };
        let offset = position + at.min(got.len());
        // The message holding the byte, or the last one ending at it (the bytes ended there).
        let holder = starts
            .iter()
            .find(|(_, start, len)| offset >= *start && offset < start + len)
            .or_else(|| {
                starts
                    .iter()
                    .rev()
                    .find(|(_, start, len)| offset == start + len)
            });
        let Some(&(index, start, _)) = holder else {
            return false;
        };
        if let Row::Message(m) = &mut self.rows[index] {
            m.difference = Some(offset - start);
        }
        true
    }

    /// The width of the picture at 100%, in CSS pixels.
    pub fn width(&self) -> f64 {
        Layout::new(self).width
    }

    /// The diagram as one `<svg>` element.
    pub fn svg(&self, options: &Options) -> String {
        Layout::new(self).draw(self, options)
    }
}

// Geometry, in SVG user units (pixels at 100%).
const MARGIN_LEFT: f64 = 84.0;
const MARGIN_RIGHT: f64 = 84.0;
const LANE_GAP: f64 = 280.0;
const HEAD_TOP: f64 = 8.0;
const HEAD_HEIGHT: f64 = 40.0;
const FIRST_ROW: f64 = 64.0;
const MESSAGE_HEIGHT: f64 = 50.0;
const DIFFERENCE_EXTRA: f64 = 34.0;
const CLOSE_HEIGHT: f64 = 30.0;
const TLS_HEIGHT: f64 = 30.0;
const BOTTOM: f64 = 16.0;
/// The width of one character of the 12px monospace labels.
const CHAR_WIDTH: f64 = 7.3;

struct Layout {
    lanes: Vec<Lane>,
    width: f64,
    height: f64,
    timed: bool,
}

fn wait_height(millis: u64) -> f64 {
    (14.0 + 14.0 * ((millis as f64) + 1.0).log10())
        .min(80.0)
        .round()
}

fn row_height(row: &Row) -> f64 {
    match row {
        Row::Message(m) if m.difference.is_some() => MESSAGE_HEIGHT + DIFFERENCE_EXTRA,
        Row::Message(_) | Row::Lost(_) => MESSAGE_HEIGHT,
        Row::Close(_) => CLOSE_HEIGHT,
        Row::Wait(_, millis) => wait_height(*millis),
        Row::Tls => TLS_HEIGHT,
    }
}

/// `850 ms`, `1.500 s`, `2 min 5 s`.
pub fn format_millis(millis: u64) -> String {
    if millis < 1000 {
        format!("{millis} ms")
    } else if millis < 120_000 {
        format!("{}.{:03} s", millis / 1000, millis % 1000)
    } else {
        format!("{} min {} s", millis / 60_000, (millis % 60_000) / 1000)
    }
}

/// Escapes text for XML character data and attribute values.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 has no place for other controls; trace syntax never holds them, titles might.
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Cuts `text` to `max` characters, ending in `…` when it was longer.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A message's trace lines, folded after [`FOLD_LINES`] lines, for a tooltip.
fn folded(lines: &[String]) -> String {
    let mut out: Vec<String> = lines.iter().take(FOLD_LINES).cloned().collect();
    if lines.len() > FOLD_LINES {
        out.push(format!("… {} more lines", lines.len() - FOLD_LINES));
    }
    out.join("\n")
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

impl Layout {
    fn new(diagram: &Diagram) -> Layout {
        let lanes = diagram.lanes();
        let width = MARGIN_LEFT + LANE_GAP * (lanes.len() as f64 - 1.0) + MARGIN_RIGHT;
        let height = FIRST_ROW + diagram.rows.iter().map(row_height).sum::<f64>() + BOTTOM;
        let timed = diagram.rows.iter().any(|r| matches!(r, Row::Wait(..)));
        Layout {
            lanes,
            width,
            height,
            timed,
        }
    }

    fn x(&self, lane: Lane) -> f64 {
        let index = self.lanes.iter().position(|l| *l == lane).unwrap_or(0);
        MARGIN_LEFT + LANE_GAP * index as f64
    }

    fn draw(&self, diagram: &Diagram, options: &Options) -> String {
        let (w, h) = (self.width, self.height);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sequence\" viewBox=\"0 0 {w} {h}\" \
             width=\"{w}\" height=\"{h}\" role=\"img\">"
        );
        let title = options.title.clone().unwrap_or_else(|| {
            let names: Vec<&str> = self.lanes.iter().map(|l| l.name()).collect();
            format!(
                "{} between {}",
                plural(diagram.messages().count() as u64, "message"),
                names.join(", ")
            )
        });
        let _ = writeln!(out, "<title>{}</title>", xml(&title));
        out.push_str(
            "<style>\
             text{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px;fill:#111;white-space:pre}\
             .head text{font-family:system-ui,sans-serif;font-size:13px;font-weight:600}\
             .head .note{font-size:11px;font-weight:400;fill:#555}\
             .size,.time,.event{font-size:10.5px;fill:#555}\
             .lifeline{stroke:#999;stroke-dasharray:4 4}\
             .diff text{fill:#b91c1c}\
             .diff .byte{font-weight:700;text-decoration:underline}\
             a:hover text.label{text-decoration:underline}\
             </style>\n",
        );
        let _ = writeln!(out, "<rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>");
        // Lanes: a box with the name, and a dashed life line down to the bottom.
        for &lane in &self.lanes {
            let x = self.x(lane);
            let note = diagram
                .lane_notes
                .iter()
                .find(|(l, _)| *l == lane)
                .map(|(_, n)| n.as_str());
            let box_width = 128.0f64
                .max(note.map_or(0.0, |n| n.chars().count() as f64 * 6.6 + 16.0))
                .min(LANE_GAP - 16.0);
            let _ = write!(
                out,
                "<g class=\"head\"><line class=\"lifeline\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/>\
                 <rect x=\"{}\" y=\"{HEAD_TOP}\" width=\"{box_width}\" height=\"{HEAD_HEIGHT}\" rx=\"6\" \
                 fill=\"#f4f4f5\" stroke=\"{}\"/>",
                HEAD_TOP + HEAD_HEIGHT,
                h - BOTTOM / 2.0,
                x - box_width / 2.0,
                lane.colour(),
            );
            match note {
                Some(note) => {
                    let _ = write!(
                        out,
                        "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
                         <text class=\"note\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                        HEAD_TOP + 17.0,
                        lane.name(),
                        HEAD_TOP + 32.0,
                        xml(&fit(note, ((box_width - 8.0) / 6.6) as usize)),
                    );
                }
                None => {
                    let _ = write!(
                        out,
                        "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                        HEAD_TOP + 25.0,
                        lane.name()
                    );
                }
            }
            out.push_str("</g>\n");
        }
        let mut y = FIRST_ROW;
        let mut elapsed = 0u64;
        let mut number = 0usize;
        for row in &diagram.rows {
            match row {
                Row::Message(m) => {
                    number += 1;
                    self.message(&mut out, diagram, options, m, number, y, elapsed);
                }
                Row::Lost(tag) => self.lost(&mut out, *tag, y, elapsed),
                Row::Close(tag) => self.close(&mut out, *tag, y),
                Row::Wait(tag, millis) => {
                    self.wait(&mut out, *tag, *millis, y);
                    elapsed = elapsed.saturating_add(*millis);
                }
                Row::Tls => {
                    let _ = writeln!(
                        out,
                        "<g class=\"tls\"><rect x=\"4\" y=\"{}\" width=\"{}\" height=\"20\" rx=\"4\" fill=\"#fef3c7\" stroke=\"#d97706\"/>\
                         <text class=\"event\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">TLS starts here: what follows was encrypted (shown decrypted)</text></g>",
                        y + 4.0,
                        w - 8.0,
                        w / 2.0,
                        y + 18.0
                    );
                }
            }
            y += row_height(row);
        }
        out.push_str("</svg>\n");
        out
    }

    fn time_label(&self, out: &mut String, y: f64, elapsed: u64) {
        if self.timed {
            let _ = write!(
                out,
                "<text class=\"time\" x=\"4\" y=\"{y}\">t={}</text>",
                xml(&format_millis(elapsed))
            );
        }
    }

    fn arrow_head(out: &mut String, x: f64, y: f64, right: bool, colour: &str) {
        let back = if right { x - 9.0 } else { x + 9.0 };
        let _ = write!(
            out,
            "<polygon points=\"{x},{y} {back},{} {back},{}\" fill=\"{colour}\"/>",
            y - 4.5,
            y + 4.5
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn message(
        &self,
        out: &mut String,
        diagram: &Diagram,
        options: &Options,
        m: &Message,
        number: usize,
        y: f64,
        elapsed: u64,
    ) {
        let (from, to) = ends(m.tag);
        let (x1, x2) = (self.x(from), self.x(to));
        let right = x2 > x1;
        let colour = if m.difference.is_some() {
            "#dc2626"
        } else {
            from.colour()
        };
        let span = (x2 - x1).abs();
        let max_chars = ((span - 12.0) / CHAR_WIDTH) as usize;
        let lines = m.trace_lines(diagram.transport);
        let mid = (x1 + x2) / 2.0;
        let (ya, yb) = (y + 22.0, y + 30.0);
        let tip = if right { x2 - 1.0 } else { x2 + 1.0 };
        let link = options
            .link_prefix
            .as_ref()
            .map(|p| format!("#{p}-m{number}"));
        let class = if m.difference.is_some() {
            "msg diff"
        } else {
            "msg"
        };
        let _ = write!(out, "<g class=\"{class}\" data-tag=\"{}\">", m.tag);
        if let Some(href) = &link {
            let _ = write!(out, "<a href=\"{}\">", xml(href));
        }
        let _ = write!(out, "<title>{}</title>", xml(&folded(&lines)));
        self.time_label(out, yb + 4.0, elapsed);
        let _ = write!(
            out,
            "<text class=\"label\" x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            y + 16.0,
            xml(&fit(&m.first_line(diagram.transport), max_chars))
        );
        let _ = write!(
            out,
            "<line x1=\"{x1}\" y1=\"{ya}\" x2=\"{tip}\" y2=\"{yb}\" stroke=\"{colour}\" stroke-width=\"1.6\"/>"
        );
        Layout::arrow_head(out, tip, yb, right, colour);
        let more = if lines.len() > 1 {
            let n = lines.len() - 1;
            format!(", {n} more line{}", if n == 1 { "" } else { "s" })
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<text class=\"size\" x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">{}{more}</text>",
            y + 43.0,
            plural(m.len(), "byte")
        );
        if let Some((before, byte, after, at)) = m.difference_line() {
            // The line with the first difference, cut to fit, the byte on a red ground.
            let room = max_chars.saturating_sub(2);
            let (before, byte) = if byte.is_empty() {
                (before, "(end)".to_string())
            } else {
                (before, byte)
            };
            let keep_before = room
                .saturating_sub(byte.len() + 6)
                .min(before.chars().count());
            let skip = before.chars().count() - keep_before;
            let before: String = if skip > 0 {
                format!("…{}", before.chars().skip(skip + 1).collect::<String>())
            } else {
                before
            };
            let after_room = room.saturating_sub(before.chars().count() + byte.len());
            let after = fit(&after, after_room.max(1));
            let line_y = y + 62.0;
            let _ = write!(
                out,
                "<text x=\"{mid}\" y=\"{line_y}\" text-anchor=\"middle\">{}<tspan class=\"byte\">{}</tspan>{}</text>\
                 <text class=\"size\" x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">first difference: byte {at} of this message</text>",
                xml(&before),
                xml(&byte),
                xml(&after),
                line_y + 15.0,
            );
        }
        if link.is_some() {
            out.push_str("</a>");
        }
        out.push_str("</g>\n");
    }

    fn lost(&self, out: &mut String, tag: Tag, y: f64, elapsed: u64) {
        let (from, to) = ends(tag);
        let (x1, x2) = (self.x(from), self.x(to));
        let stop = x1 + (x2 - x1) * 0.55;
        let (ya, yb) = (y + 22.0, y + 26.5);
        let colour = from.colour();
        let _ = write!(out, "<g class=\"msg lost\" data-tag=\"{tag}\"><title>{tag}: &lt;lost&gt;: this datagram never arrived</title>");
        self.time_label(out, yb + 4.0, elapsed);
        let _ = writeln!(
            out,
            "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">lost</text>\
             <line x1=\"{x1}\" y1=\"{ya}\" x2=\"{stop}\" y2=\"{yb}\" stroke=\"{colour}\" stroke-width=\"1.6\" stroke-dasharray=\"6 3\"/>\
             <path d=\"M{} {} l10 10 M{} {} l-10 10\" stroke=\"#dc2626\" stroke-width=\"2\"/>\
             <text class=\"size\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">the datagram never arrived</text></g>",
            (x1 + stop) / 2.0,
            y + 16.0,
            stop - 5.0,
            yb - 5.0,
            stop + 5.0,
            yb - 5.0,
            (x1 + stop) / 2.0,
            y + 43.0,
        );
    }

    fn close(&self, out: &mut String, tag: Tag, y: f64) {
        let (from, to) = ends(tag);
        let (x1, x2) = (self.x(from), self.x(to));
        let right = x2 > x1;
        let tip = if right { x2 - 1.0 } else { x2 + 1.0 };
        let yy = y + 18.0;
        let _ = write!(
            out,
            "<g class=\"close\" data-tag=\"{tag}\"><title>{tag}: &lt;close&gt;: the {} closed its side</title>\
             <line x1=\"{x1}\" y1=\"{yy}\" x2=\"{tip}\" y2=\"{yy}\" stroke=\"#6b7280\" stroke-dasharray=\"3 3\"/>",
            from.name()
        );
        Layout::arrow_head(out, tip, yy, right, "#6b7280");
        let _ = writeln!(
            out,
            "<text class=\"event\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">close (FIN)</text></g>",
            (x1 + x2) / 2.0,
            yy - 5.0
        );
    }

    fn wait(&self, out: &mut String, tag: Tag, millis: u64, y: f64) {
        let (lane, _) = ends(tag);
        let x = self.x(lane);
        let height = wait_height(millis);
        let text_x = if x + 120.0 > self.width {
            x - 8.0
        } else {
            x + 8.0
        };
        let anchor = if text_x < x { "end" } else { "start" };
        let _ = writeln!(
            out,
            "<g class=\"wait\" data-tag=\"{tag}\"><title>{tag}: &lt;wait {millis}ms&gt;: the {} paused</title>\
             <rect x=\"{}\" y=\"{}\" width=\"6\" height=\"{}\" fill=\"{}\" opacity=\"0.35\"/>\
             <text class=\"event\" x=\"{text_x}\" y=\"{}\" text-anchor=\"{anchor}\">waits {}</text></g>",
            lane.name(),
            x - 3.0,
            y + 3.0,
            (height - 6.0).max(2.0),
            lane.colour(),
            y + height / 2.0 + 4.0,
            xml(&format_millis(millis)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn lanes_follow_the_tags() {
        let two = Trace::parse("C: GET / HTTP/1.1\\r\\n\nS: HTTP/1.1 200 OK\\r\\n\n").unwrap();
        assert_eq!(
            Diagram::from_trace(&two).lanes(),
            vec![Lane::Client, Lane::Server]
        );
        let proxied = Trace::parse("C>P: a\nP>O: b\nO>P: c\nP>C: d\n").unwrap();
        assert_eq!(
            Diagram::from_trace(&proxied).lanes(),
            vec![Lane::Client, Lane::Proxy, Lane::Origin]
        );
    }

    #[test]
    fn the_difference_is_found_in_the_message_that_holds_it() {
        let t = Trace::parse(
            "C: GET / HTTP/1.1\\r\\n\nC: \\r\\n\nS: HTTP/1.1 200 OK\\r\\n\nC: GET /b HTTP/1.1\\r\\n\nS: HTTP/1.1 200 OK\\n\n",
        )
        .unwrap();
        let mut d = Diagram::from_trace(&t);
        assert!(d.mark_difference(&[Tag::Server], b"HTTP/1.1 200 OK\n", 15));
        let marked: Vec<Option<usize>> = d.messages().map(|m| m.difference).collect();
        assert_eq!(marked, vec![None, None, None, Some(15)]);
        let m = d.messages().nth(3).unwrap();
        assert_eq!(
            m.difference_line(),
            Some(("HTTP/1.1 200 OK".into(), "\\n".into(), String::new(), 15))
        );
        assert!(!d.mark_difference(&[Tag::Server], b"not there", 0));
    }

    #[test]
    fn a_220_to_starttls_starts_tls() {
        let t = Trace::parse(
            "S: 220 ready\\r\\n\nC: STARTTLS\\r\\n\nS: 220 go ahead\\r\\n\nC: EHLO x\\r\\n\n",
        )
        .unwrap();
        let d = Diagram::from_trace(&t);
        assert_eq!(d.rows.iter().filter(|r| **r == Row::Tls).count(), 1);
        assert_eq!(d.rows[3], Row::Tls);
    }

    #[test]
    fn labels_are_escaped_and_cut() {
        assert_eq!(
            xml("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(format_millis(999), "999 ms");
        assert_eq!(format_millis(1500), "1.500 s");
    }
}
