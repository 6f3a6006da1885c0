//! The `.trace` exchange format: recorded exchanges, snapshots, lab steps and the REPL's display.
//!
//! A trace is a readable text file that stands for bytes on the wire, exactly:
//!
//! ```text
//! # title: HEAD gets headers but no body
//! # now: 2026-01-01T12:00:00Z
//! C: HEAD /index.html HTTP/1.1\r\n
//! C: Host: localhost\r\n
//! C: \r\n
//! S: HTTP/1.1 200 OK\r\n
//! S: Content-Length: 1234\r\n
//! S: \r\n
//! S: <close>
//! ```
//!
//! # The format
//!
//! - **Metadata** comes first: `# key: value` lines, keys in lower case (`[a-z][a-z0-9_-]*`).
//!   Known keys are `title`, `now` (an RFC 3339 UTC second, `2026-01-01T12:00:00Z`), `seed` (an
//!   unsigned integer), `boundary`, `transport` (`tcp`, the default, or `udp`) and `lab`; any other
//!   key is kept as it is, in order. Values use the payload escapes below, except that printable
//!   non-ASCII text (`§`, `é`) is written as it is; controls and non-ASCII whitespace are
//!   escaped as the `\xHH` of their UTF-8 bytes. Other `#` lines, and
//!   every `#` line after the first item, are comments and are not kept. Blank lines are ignored.
//! - **Items**: `TAG: payload` or `TAG: <event>`, one per text line. The tags are `C:` and `S:`
//!   for two parties, and `C>P:`, `P>O:`, `O>P:`, `P>C:` for a proxy between a client and an origin
//!   ([`Tag`]). Exactly one space follows the colon; `TAG:` alone is an empty UDP datagram.
//! - **Payload escapes**: file newlines are never payload. CR, LF, tab and backslash are `\r`,
//!   `\n`, `\t`, `\\`; every other byte outside printable ASCII (0x20..=0x7E) is `\xHH` (either
//!   case when parsing, lower case when rendering). A space that ends a text line is `\x20`, so an
//!   editor or insta trimming trailing whitespace never changes a byte. A `<` that would otherwise
//!   start a placeholder or an event (`<any>`, `<body `, `<close>`, `<wait `, `<lost>`) is `\x3c`;
//!   every other `<` is written as it is (`MAIL FROM:<a@example.org>` stays readable).
//! - **Events** stand alone on their line: `<close>` (this party closed its sending side),
//!   `<wait 1500ms>` (this party paused), `<lost>` (UDP only: this party's datagram was lost).
//! - **Placeholders** sit inside a payload: `<any>` stands for any bytes (lab expectations), and
//!   `<body 48213 bytes sha256=HEX>` stands for an elided body of that length and digest
//!   (snapshots). Recorded inputs never contain either: [`Trace::stream`] refuses them.
//!
//! # Grouping: how render splits lines and parse joins them
//!
//! Over TCP (the default) read and write boundaries are not recorded: consecutive lines with the
//! same tag are one stream of bytes, and parse joins them into one [`Item::Data`]. Render cuts
//! that stream into text lines after each `\n` byte and nowhere else, so one wire line is one
//! text line; a stream that does not end in `\n` ends with an unfinished text line. Events break
//! a stream: `C: a`, `S: <close>`, `C: b` is three items.
//!
//! Over UDP (`# transport: udp`) every line is one datagram, `\n` bytes included (they do not
//! break the line), and consecutive datagrams with the same tag stay separate items.
//!
//! The law `Trace::parse(&t.render()) == Ok(t)` holds for every trace built through this API
//! (the builders keep items in that joined form), and render is stable:
//! `render(parse(render(t))) == render(t)`. Both are property-tested over random buffers and all
//! 256 byte values.
//!
//! # Showing bytes elsewhere
//!
//! [`render_payload`] shows one direction's bytes in trace syntax behind any line prefix (the
//! client's `-v`, the SMTP client's dialogue, the labs reports); [`render_message`] does the same
//! for a head and a body, eliding the body over a size threshold; [`escape_inline`] escapes a
//! short value for a sentence. [`Trace::push_body`] elides bodies while a snapshot is built.

pub mod escape;
mod parse;
mod render;
mod sha256;
mod timestamp;

use std::fmt;
use std::time::SystemTime;

pub use parse::{ParseError, ParseErrorKind};
pub use render::{escape_inline, render_message, render_payload};
pub use sha256::{sha256, sha256_hex};

/// Who sent a line: the two parties of a plain exchange, or one hop through a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tag {
    /// `C:` the client (or the peer that opened the connection).
    Client,
    /// `S:` the server.
    Server,
    /// `C>P:` the client, talking to a proxy.
    ClientToProxy,
    /// `P>O:` the proxy, talking to the origin server.
    ProxyToOrigin,
    /// `O>P:` the origin server, answering the proxy.
    OriginToProxy,
    /// `P>C:` the proxy, answering the client.
    ProxyToClient,
}

impl Tag {
    /// Every tag, in the order they usually appear.
    pub const ALL: [Tag; 6] = [
        Tag::Client,
        Tag::Server,
        Tag::ClientToProxy,
        Tag::ProxyToOrigin,
        Tag::OriginToProxy,
        Tag::ProxyToClient,
    ];

    /// The tag as written before the colon: `C`, `S`, `C>P`, `P>O`, `O>P`, `P>C`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Client => "C",
            Tag::Server => "S",
            Tag::ClientToProxy => "C>P",
            Tag::ProxyToOrigin => "P>O",
            Tag::OriginToProxy => "O>P",
            Tag::ProxyToClient => "P>C",
        }
    }

    /// The tag for the written name (without the colon), if there is one.
    pub fn from_name(name: &str) -> Option<Tag> {
        Tag::ALL.into_iter().find(|tag| tag.as_str() == name)
    }

    /// The line prefix for this tag: `"C: "`.
    pub fn prefix(self) -> String {
        format!("{}: ", self.as_str())
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the exchange travelled, which decides how lines group into items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// A byte stream: same-tag lines join, segmentation is not recorded.
    #[default]
    Tcp,
    /// Datagrams: one line per datagram, never joined.
    Udp,
}

impl Transport {
    /// `tcp` or `udp`, as in `# transport: udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// A body left out of a snapshot, named by its length and SHA-256 digest:
/// `<body 48213 bytes sha256=...>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElidedBody {
    /// How many bytes the body had.
    pub len: u64,
    /// The SHA-256 digest of those bytes.
    pub sha256: [u8; 32],
}

impl ElidedBody {
    /// The elided form of `body`.
    pub fn of(body: &[u8]) -> ElidedBody {
        ElidedBody {
            len: body.len() as u64,
            sha256: sha256(body),
        }
    }

    /// True when `body` is the body this stands for.
    pub fn matches(&self, body: &[u8]) -> bool {
        body.len() as u64 == self.len && sha256(body) == self.sha256
    }
}

impl fmt::Display for ElidedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<body {} bytes sha256={}>",
            self.len,
            sha256::to_hex(&self.sha256)
        )
    }
}

/// One part of a payload: literal bytes, or a placeholder standing for bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Bytes exactly as they travelled. Never empty inside a [`Payload`].
    Bytes(Vec<u8>),
    /// `<any>`: any bytes at all (lab expectations).
    Any,
    /// `<body N bytes sha256=HEX>`: a body left out of a snapshot.
    Elided(ElidedBody),
}

/// The bytes one party sent in one item: a list of [`Piece`]s, with no empty byte pieces and no
/// two byte pieces side by side (so equal bytes always make equal payloads).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payload {
    pieces: Vec<Piece>,
}

impl Payload {
    /// A payload of plain bytes.
    pub fn from_bytes(bytes: &[u8]) -> Payload {
        let mut payload = Payload::default();
        payload.push_bytes(bytes);
        payload
    }

    /// The pieces in order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// True when there are no pieces at all.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The bytes, when the payload has no placeholder.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self.pieces.as_slice() {
            [] => Some(&[]),
            [Piece::Bytes(bytes)] => Some(bytes),
            _ => None,
        }
    }

    /// Appends bytes, joining them to a byte piece at the end.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(Piece::Bytes(last)) = self.pieces.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.pieces.push(Piece::Bytes(bytes.to_vec()));
        }
    }

    /// Appends a piece, keeping the joined form.
    pub fn push(&mut self, piece: Piece) {
        match piece {
            Piece::Bytes(bytes) => self.push_bytes(&bytes),
            other => self.pieces.push(other),
        }
    }

    /// Appends every piece of another payload.
    pub fn append(&mut self, other: Payload) {
        for piece in other.pieces {
            self.push(piece);
        }
    }
}

/// Something that happened other than bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// `<close>`: this party closed its sending side (or the whole connection).
    Close,
    /// `<wait 1500ms>`: this party paused before going on.
    Wait {
        /// How long, in milliseconds.
        millis: u64,
    },
    /// `<lost>`: this party's datagram never arrived (UDP traces only).
    Lost,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Close => f.write_str("<close>"),
            Event::Wait { millis } => write!(f, "<wait {millis}ms>"),
            Event::Lost => f.write_str("<lost>"),
        }
    }
}

/// One entry of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Bytes from one party: a stretch of its stream (TCP) or one datagram (UDP).
    Data {
        /// Who sent them.
        tag: Tag,
        /// What was sent.
        payload: Payload,
    },
    /// An event of one party.
    Event {
        /// Whose event.
        tag: Tag,
        /// What happened.
        event: Event,
    },
}

impl Item {
    /// The party this item belongs to.
    pub fn tag(&self) -> Tag {
        match self {
            Item::Data { tag, .. } | Item::Event { tag, .. } => *tag,
        }
    }
}

/// A trace asked for plain bytes where it holds a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceholderInInput {
    /// The tag whose bytes were asked for.
    pub tag: Tag,
    /// The placeholder, as written (`<any>` or `<body ...>`).
    pub placeholder: String,
}

impl fmt::Display for PlaceholderInInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {}: side holds {}, but recorded input must be literal bytes \
             (placeholders belong in snapshots and lab expectations only)",
            self.tag, self.placeholder
        )
    }
}

impl std::error::Error for PlaceholderInInput {}

/// A metadata key or value that a trace file cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataError {
    /// Keys are `[a-z][a-z0-9_-]*`.
    BadKey(String),
    /// `transport` is set by [`Trace::new`], not as a free key.
    TransportIsNotFree,
    /// `now` must be `YYYY-MM-DDTHH:MM:SSZ`; `seed` an unsigned integer.
    BadValue {
        /// The key.
        key: String,
        /// The value that was refused.
        value: String,
    },
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataError::BadKey(key) => write!(
                f,
                "metadata key {key:?} is not lower-case letters, digits, '-' or '_' starting with a letter"
            ),
            MetadataError::TransportIsNotFree => {
                f.write_str("the transport is chosen with Trace::new(Transport::Udp), not set as a key")
            }
            MetadataError::BadValue { key, value } => write!(
                f,
                "metadata {key}: {value:?} is not valid ({})",
                known_value_rule(key).unwrap_or("any text")
            ),
        }
    }
}

impl std::error::Error for MetadataError {}

/// What a known key's value must look like, for the keys that have a rule.
fn known_value_rule(key: &str) -> Option<&'static str> {
    match key {
        "now" => Some("an RFC 3339 UTC second like 2026-01-01T12:00:00Z"),
        "seed" => Some("an unsigned 64-bit integer"),
        "transport" => Some("tcp or udp"),
        _ => None,
    }
}

fn check_known_value(key: &str, value: &str) -> bool {
    match key {
        "now" => timestamp::parse_utc(value).is_some(),
        "seed" => value.parse::<u64>().is_ok(),
        "transport" => value == "tcp" || value == "udp",
        _ => true,
    }
}

fn valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'))
}

/// A recorded exchange, a snapshot, or a lab expectation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    transport: Transport,
    metadata: Vec<(String, String)>,
    items: Vec<Item>,
}

impl Trace {
    /// An empty trace over the given transport.
    pub fn new(transport: Transport) -> Trace {
        Trace {
            transport,
            metadata: Vec::new(),
            items: Vec::new(),
        }
    }

    /// Reads a trace file. Errors name the line, the column and the offending text.
    pub fn parse(text: &str) -> Result<Trace, ParseError> {
        parse::parse(text)
    }

    /// Writes the trace file. `Trace::parse(&t.render()) == Ok(t)`.
    pub fn render(&self) -> String {
        self.to_string()
    }

    /// TCP or UDP.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The metadata, in order, without `transport` (see [`Trace::transport`]).
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// The value of a metadata key.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a metadata key, in place when it exists, else at the end. Known keys are checked:
    /// `now` must be `YYYY-MM-DDTHH:MM:SSZ`, `seed` an unsigned integer.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        if !valid_key(key) {
            return Err(MetadataError::BadKey(key.to_owned()));
        }
        if key == "transport" {
            return Err(MetadataError::TransportIsNotFree);
        }
        if !check_known_value(key, value) {
            return Err(MetadataError::BadValue {
                key: key.to_owned(),
                value: value.to_owned(),
            });
        }
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value.to_owned(),
            None => self.metadata.push((key.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    /// `# title:`
    pub fn title(&self) -> Option<&str> {
        self.meta("title")
    }

    /// `# now:` as a time, to hand to a core as its clock.
    pub fn now(&self) -> Option<SystemTime> {
        self.meta("now").and_then(timestamp::parse_utc)
    }

    /// Sets `# now:` (whole seconds, UTC).
    pub fn set_now(&mut self, now: SystemTime) {
        let text = timestamp::format_utc(now);
        self.set_meta("now", &text)
            .expect("a formatted timestamp parses back");
    }

    /// `# seed:` for simulated loss and random split points.
    pub fn seed(&self) -> Option<u64> {
        self.meta("seed").and_then(|s| s.parse().ok())
    }

    /// The items in order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Appends bytes sent by `tag`. Over TCP they join the previous item when it is data from the
    /// same tag (and nothing happens for no bytes); over UDP every call is one datagram.
    pub fn push_bytes(&mut self, tag: Tag, bytes: &[u8]) {
        self.push_payload(tag, Payload::from_bytes(bytes));
    }

    /// Appends a body sent by `tag`, elided as `<body N bytes sha256=...>` when it is longer than
    /// `elide_over` bytes (`None`: never elide). Over UDP this is one datagram.
    pub fn push_body(&mut self, tag: Tag, body: &[u8], elide_over: Option<usize>) {
        match elide_over {
            Some(limit) if body.len() > limit => {
                self.push_piece(tag, Piece::Elided(ElidedBody::of(body)))
            }
            _ => self.push_bytes(tag, body),
        }
    }

    /// Appends one piece (bytes or a placeholder) sent by `tag`, joined as [`Trace::push_bytes`].
    pub fn push_piece(&mut self, tag: Tag, piece: Piece) {
        let mut payload = Payload::default();
        payload.push(piece);
        self.push_payload(tag, payload);
    }

    /// Appends a payload sent by `tag`, joined as [`Trace::push_bytes`].
    pub fn push_payload(&mut self, tag: Tag, payload: Payload) {
        match self.transport {
            Transport::Udp => self.items.push(Item::Data { tag, payload }),
            Transport::Tcp => {
                if payload.is_empty() {
                    return;
                }
                if let Some(Item::Data {
                    tag: last_tag,
                    payload: last,
                }) = self.items.last_mut()
                {
                    if *last_tag == tag {
                        last.append(payload);
                        return;
                    }
                }
                self.items.push(Item::Data { tag, payload });
            }
        }
    }

    /// Appends an event of `tag`.
    pub fn push_event(&mut self, tag: Tag, event: Event) {
        self.items.push(Item::Event { tag, event });
    }

    /// Every byte `tag` sent, joined (the stream a replay feeds), or the first placeholder found.
    pub fn stream(&self, tag: Tag) -> Result<Vec<u8>, PlaceholderInInput> {
        let mut bytes = Vec::new();
        for payload in self.payloads(tag) {
            for piece in payload.pieces() {
                match piece {
                    Piece::Bytes(b) => bytes.extend_from_slice(b),
                    Piece::Any => {
                        return Err(PlaceholderInInput {
                            tag,
                            placeholder: "<any>".into(),
                        })
                    }
                    Piece::Elided(body) => {
                        return Err(PlaceholderInInput {
                            tag,
                            placeholder: body.to_string(),
                        })
                    }
                }
            }
        }
        Ok(bytes)
    }

    /// The payloads `tag` sent, in order (one per datagram over UDP).
    pub fn payloads(&self, tag: Tag) -> impl Iterator<Item = &Payload> + '_ {
        self.items.iter().filter_map(move |item| match item {
            Item::Data { tag: t, payload } if *t == tag => Some(payload),
            _ => None,
        })
    }

    /// True when `tag` has a `<close>` event.
    pub fn closes(&self, tag: Tag) -> bool {
        self.items
            .iter()
            .any(|item| matches!(item, Item::Event { tag: t, event: Event::Close } if *t == tag))
    }

    /// The tags that appear in the items, each once, in order of first appearance.
    pub fn tags(&self) -> Vec<Tag> {
        let mut tags = Vec::new();
        for item in &self.items {
            if !tags.contains(&item.tag()) {
                tags.push(item.tag());
            }
        }
        tags
    }
}

impl std::str::FromStr for Trace {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Trace, ParseError> {
        Trace::parse(text)
    }
}

#[cfg(test)]
mod tests;
