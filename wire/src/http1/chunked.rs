//! The chunked transfer coding (RFC 9112 §7.1): an incremental decoder and an encoder.
//!
//! ```text
//! chunked-body   = *chunk
//!                  last-chunk
//!                  trailer-section
//!                  CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF
//!                  chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-val  = token / quoted-string
//! trailer-section = *( field-line CRLF )
//! ```
//!
//! In scope:
//! - [`ChunkedDecoder`]: a byte-at-a-time state machine. It is fed whatever bytes the shell has,
//!   never needs a byte twice, and answers with body data as a *range of the input it was given*
//!   (no copy), or with the end of the body and how many bytes it used. Chunk sizes that do not fit
//!   in 64 bits are refused, never wrapped; chunk extensions are checked against the grammar and
//!   skipped, with a cap per size line and a cap for the whole body; the trailer section is kept
//!   (field lines, limited in total size and in count). A bare LF instead of CRLF is refused
//!   unless the caller names the leniency ([`ChunkedOptions::bare_lf`]).
//! - The encoder: [`ChunkHeader`] (the size line for a chunk of known length, for a shell that
//!   writes the data itself), [`encode_chunk`] and [`encode_last_chunk`] (with trailer fields).
//!
//! Out of scope: deciding *whether* a body is chunked (that is [`super::framing`], RFC 9112 §6.3),
//! what the trailer fields mean (RFC 9110 §6.5), and limits on the body's total length (the
//! connection applies those, since they are the same for every framing).
//!
//! Every [`ChunkedError`] is the remote peer's fault, names the byte and its offset from the start
//! of the chunked body, and hints the status a server answers with (400).

use std::fmt;
use std::ops::Range;

use super::abnf::is_tchar;
use crate::trace::escape::{self, Also};
use crate::Status;

/// Limits the decoder enforces, so a peer cannot make it hold or scan without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedLimits {
    /// Longest chunk-size line, extensions included, CRLF excluded.
    pub max_size_line: usize,
    /// Most extension bytes over the whole body (many tiny chunks with extensions cost CPU).
    pub max_extension_bytes: u64,
    /// Largest trailer section, in bytes of field lines (line endings included).
    pub max_trailer_bytes: usize,
    /// Most trailer fields.
    pub max_trailer_fields: usize,
}

impl Default for ChunkedLimits {
    fn default() -> Self {
        ChunkedLimits {
            max_size_line: 1024,
            max_extension_bytes: 16 * 1024,
            max_trailer_bytes: 8 * 1024,
            max_trailer_fields: 64,
        }
    }
}

/// How the decoder reads: its limits, and the one leniency it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkedOptions {
    /// The limits on size lines, extensions and trailers.
    pub limits: ChunkedLimits,
    /// Accept a bare LF where CRLF belongs (RFC 9112 §2.2 allows a recipient to, but strict is the
    /// default here so a learner sees exactly what their program sent).
    pub bare_lf: bool,
}

/// A trailer field as received: the name as sent (original case) and the value with the optional
/// whitespace around it removed (RFC 9112 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailerField {
    /// Field name, a token, as the peer spelled it.
    pub name: String,
    /// Field value without leading or trailing whitespace; may hold obs-text bytes.
    pub value: Vec<u8>,
}

/// What the decoder produced from the bytes it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkedEvent {
    /// Body data: the bytes `input[range]` of the slice passed to [`ChunkedDecoder::decode`].
    Data(Range<usize>),
    /// The last chunk and the trailer section have been read: the body is complete. The trailer
    /// fields are in [`ChunkedDecoder::trailers`].
    End,
}

/// Where in the chunked body something went wrong (for error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkPart {
    /// The hex digits of chunk-size.
    ChunkSize,
    /// A chunk extension after the size.
    ChunkExtension,
    /// The CRLF that ends a size line.
    SizeLineEnd,
    /// The CRLF that must follow the chunk data.
    AfterData,
    /// The trailer section after the last chunk.
    TrailerSection,
}

impl fmt::Display for ChunkPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkPart::ChunkSize => "chunk-size",
            ChunkPart::ChunkExtension => "chunk extension",
            ChunkPart::SizeLineEnd => "end of the chunk-size line",
            ChunkPart::AfterData => "CRLF after chunk data",
            ChunkPart::TrailerSection => "trailer section",
        })
    }
}

/// A chunked body the peer got wrong. Offsets count bytes from the start of the chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkedError {
    /// A byte that the grammar does not allow where it was found.
    UnexpectedByte {
        /// Which part of the coding was being read.
        part: ChunkPart,
        /// The byte.
        byte: u8,
        /// Its offset.
        offset: u64,
        /// What the grammar allows there, in words.
        expected: &'static str,
    },
    /// A chunk-size too large for 64 bits (it would wrap around in a careless decoder).
    SizeOverflow {
        /// The value of the digits before the one that overflowed.
        value_so_far: u64,
        /// The digit that made it overflow.
        digit: u8,
        /// Its offset.
        offset: u64,
    },
    /// A chunk-size line longer than [`ChunkedLimits::max_size_line`].
    SizeLineTooLong {
        /// The limit.
        limit: usize,
        /// Offset of the first byte over the limit.
        offset: u64,
    },
    /// More chunk-extension bytes than [`ChunkedLimits::max_extension_bytes`] in one body.
    ExtensionsTooLong {
        /// The limit.
        limit: u64,
        /// Offset of the first byte over the limit.
        offset: u64,
    },
    /// A LF without the CR before it, and the bare-LF leniency is off (RFC 9112 §2.2).
    BareLf {
        /// Which part of the coding was being read.
        part: ChunkPart,
        /// Offset of the LF.
        offset: u64,
    },
    /// A trailer field line that is not `field-name ":" OWS field-value OWS`.
    InvalidTrailerField {
        /// The line as received, without its line ending.
        line: Vec<u8>,
        /// Offset of the start of the line.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A trailer section larger than [`ChunkedLimits::max_trailer_bytes`].
    TrailerSectionTooLarge {
        /// The limit.
        limit: usize,
        /// Offset of the first byte over the limit.
        offset: u64,
    },
    /// More trailer fields than [`ChunkedLimits::max_trailer_fields`].
    TooManyTrailerFields {
        /// The limit.
        limit: usize,
        /// Offset of the line over the limit.
        offset: u64,
    },
}

impl ChunkedError {
    /// The status a server answers with before closing: every chunked error is a malformed
    /// message, 400 (Bad Request).
    pub fn status_hint(&self) -> u16 {
        400
    }

    /// The offset (from the start of the chunked body) of the offending byte or line.
    pub fn offset(&self) -> u64 {
        match *self {
            ChunkedError::UnexpectedByte { offset, .. }
            | ChunkedError::SizeOverflow { offset, .. }
            | ChunkedError::SizeLineTooLong { offset, .. }
            | ChunkedError::ExtensionsTooLong { offset, .. }
            | ChunkedError::BareLf { offset, .. }
            | ChunkedError::InvalidTrailerField { offset, .. }
            | ChunkedError::TrailerSectionTooLarge { offset, .. }
            | ChunkedError::TooManyTrailerFields { offset, .. } => offset,
        }
    }
}

/// Writes bytes quoted in an error message: the trace escapes, spaces shown as `\x20`.
pub(crate) fn escape_bytes(bytes: &[u8], f: &mut impl fmt::Write) -> fmt::Result {
    escape::write_bytes(f, bytes, Also::Spaces)
}

impl fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkedError::UnexpectedByte {
                part,
                byte,
                offset,
                expected,
            } => {
                write!(f, "chunked body, {part}: unexpected byte `")?;
                escape::write_byte(f, *byte, Also::Spaces)?;
                write!(
                    f,
                    "` at offset {offset}, expected {expected} (RFC 9112 §7.1)"
                )
            }
            ChunkedError::SizeOverflow {
                value_so_far,
                digit,
                offset,
            } => write!(
                f,
                "chunked body: chunk-size `{value_so_far:X}{}` at offset {offset} does not fit in \
                 64 bits (RFC 9112 §7.1)",
                *digit as char
            ),
            ChunkedError::SizeLineTooLong { limit, offset } => write!(
                f,
                "chunked body: chunk-size line longer than {limit} bytes at offset {offset} \
                 (RFC 9112 §7.1.1)"
            ),
            ChunkedError::ExtensionsTooLong { limit, offset } => write!(
                f,
                "chunked body: more than {limit} bytes of chunk extensions, at offset {offset} \
                 (RFC 9112 §7.1.1)"
            ),
            ChunkedError::BareLf { part, offset } => write!(
                f,
                "chunked body, {part}: bare `\\n` without `\\r` at offset {offset}; lines end \
                 in CRLF (RFC 9112 §2.2)"
            ),
            ChunkedError::InvalidTrailerField {
                line,
                offset,
                reason,
            } => {
                write!(f, "chunked body: trailer field line `")?;
                escape_bytes(line, f)?;
                write!(f, "` at offset {offset}: {reason} (RFC 9112 §7.1.2)")
            }
            ChunkedError::TrailerSectionTooLarge { limit, offset } => write!(
                f,
                "chunked body: trailer section larger than {limit} bytes at offset {offset} \
                 (RFC 9112 §7.1.2)"
            ),
            ChunkedError::TooManyTrailerFields { limit, offset } => write!(
                f,
                "chunked body: more than {limit} trailer fields, at offset {offset} \
                 (RFC 9112 §7.1.2)"
            ),
        }
    }
}

impl std::error::Error for ChunkedError {}

/// True for bytes allowed unescaped inside a quoted-string (RFC 9110 §5.6.4).
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Where the decoder is in the chunked-body grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading chunk-size; `digits` counts the hex digits seen so far on this line.
    Size { digits: u32 },
    /// Whitespace (BWS) after the size or an extension value: only more of it or ";" may follow.
    ExtBws,
    /// After ";": BWS, then an extension name.
    ExtBeforeName,
    /// Inside an extension name.
    ExtName,
    /// BWS after an extension name: "=" or ";" may follow.
    ExtAfterName,
    /// After "=": BWS, then a token or a quoted-string.
    ExtBeforeValue,
    /// Inside a token extension value.
    ExtToken,
    /// Inside a quoted-string extension value.
    ExtQuoted,
    /// After a backslash inside a quoted-string.
    ExtQuotedPair,
    /// After the closing quote of a quoted-string value.
    ExtAfterQuoted,
    /// Saw the CR that ends the size line; LF must follow.
    SizeLineLf,
    /// Inside chunk-data, with this many bytes left.
    Data { remaining: u64 },
    /// After chunk-data: CR must follow.
    DataCr,
    /// After chunk-data and CR: LF must follow.
    DataLf,
    /// Reading a trailer field line (or the empty line that ends the body) into `line`.
    TrailerLine,
    /// Saw the CR at the end of a trailer line; LF must follow.
    TrailerLineLf,
    /// The body is complete.
    Done,
}

/// An incremental decoder for one chunked body (RFC 9112 §7.1).
///
/// Feed it bytes with [`decode`](Self::decode):
/// - `Ok(Status::Complete((used, ChunkedEvent::Data(range))))`: `input[range]` is body data and
///   `range.end == used`; call again with `&input[used..]`.
/// - `Ok(Status::Complete((used, ChunkedEvent::End)))`: the body ended after `used` bytes; the
///   bytes after them belong to whatever follows the message.
/// - `Ok(Status::Partial)`: *all* of `input` was used and remembered; feed the next bytes.
///
/// The decoder never asks for a byte twice, so the shell can drop what it fed.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    options: ChunkedOptions,
    state: State,
    /// The chunk-size being read.
    size: u64,
    /// Bytes of the current size line so far (digits and extensions).
    line_len: usize,
    /// Extension bytes over the whole body.
    extension_bytes: u64,
    /// Bytes consumed since the start of the body (for error offsets).
    offset: u64,
    /// The trailer line being read.
    line: Vec<u8>,
    /// Offset at which `line` started.
    line_offset: u64,
    /// Bytes of trailer section so far.
    trailer_bytes: usize,
    trailers: Vec<TrailerField>,
    /// Chunks with data begun so far.
    chunks: u64,
    /// A bare LF was accepted where CRLF belongs ([`ChunkedOptions::bare_lf`]).
    bare_lf_used: bool,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new(ChunkedOptions::default())
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new(options: ChunkedOptions) -> Self {
        ChunkedDecoder {
            options,
            state: State::Size { digits: 0 },
            size: 0,
            line_len: 0,
            extension_bytes: 0,
            offset: 0,
            line: Vec::new(),
            line_offset: 0,
            trailer_bytes: 0,
            trailers: Vec::new(),
            chunks: 0,
            bare_lf_used: false,
        }
    }

    /// Chunks whose data has begun (the last chunk, of size 0, is not counted).
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// True once a bare LF was accepted where CRLF belongs (only with [`ChunkedOptions::bare_lf`]).
    pub fn bare_lf_used(&self) -> bool {
        self.bare_lf_used
    }

    /// True once the last chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Bytes of chunked coding consumed so far (framing and data).
    pub fn consumed(&self) -> u64 {
        self.offset
    }

    /// The trailer fields received, in order (empty until [`ChunkedEvent::End`]).
    pub fn trailers(&self) -> &[TrailerField] {
        &self.trailers
    }

    /// Takes the trailer fields out of the decoder.
    pub fn take_trailers(&mut self) -> Vec<TrailerField> {
        std::mem::take(&mut self.trailers)
    }

    /// Decodes from `input`; see the type's documentation for the meaning of each answer.
    ///
    /// After [`ChunkedEvent::End`] every call answers `End` again with `used == 0`.
    pub fn decode(&mut self, input: &[u8]) -> Result<Status<(usize, ChunkedEvent)>, ChunkedError> {
        let mut pos = 0;
        while pos < input.len() {
            if let State::Data { remaining } = self.state {
                let available = (input.len() - pos) as u64;
                let take = remaining.min(available) as usize;
                let left = remaining - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining: left }
                };
                self.offset += take as u64;
                let range = pos..pos + take;
                return Ok(Status::Complete((range.end, ChunkedEvent::Data(range))));
            }
            if self.state == State::Done {
                return Ok(Status::Complete((pos, ChunkedEvent::End)));
            }
            let byte = input[pos];
            self.step(byte)?;
            self.offset += 1;
            pos += 1;
            if self.state == State::Done {
                return Ok(Status::Complete((pos, ChunkedEvent::End)));
            }
        }
        if self.state == State::Done {
            return Ok(Status::Complete((pos, ChunkedEvent::End)));
        }
        Ok(Status::Partial)
    }

    fn unexpected(&self, part: ChunkPart, byte: u8, expected: &'static str) -> ChunkedError {
        ChunkedError::UnexpectedByte {
            part,
            byte,
            offset: self.offset,
            expected,
        }
    }

    /// Counts one more byte of the size line against the caps; `extension` says whether it is an
    /// extension byte.
    fn count_line_byte(&mut self, extension: bool) -> Result<(), ChunkedError> {
        self.line_len += 1;
        if self.line_len > self.options.limits.max_size_line {
            return Err(ChunkedError::SizeLineTooLong {
                limit: self.options.limits.max_size_line,
                offset: self.offset,
            });
        }
        if extension {
            self.extension_bytes += 1;
            if self.extension_bytes > self.options.limits.max_extension_bytes {
                return Err(ChunkedError::ExtensionsTooLong {
                    limit: self.options.limits.max_extension_bytes,
                    offset: self.offset,
                });
            }
        }
        Ok(())
    }

    /// The size line ended (after its CRLF): start the data, or the trailer section.
    fn size_line_done(&mut self) {
        self.line_len = 0;
        self.state = if self.size == 0 {
            self.line_offset = self.offset + 1;
            State::TrailerLine
        } else {
            self.chunks += 1;
            State::Data {
                remaining: self.size,
            }
        };
    }

    /// A CR or LF that may end the size line.
    fn size_line_end(&mut self, byte: u8, part: ChunkPart) -> Result<(), ChunkedError> {
        if byte == b'\r' {
            self.state = State::SizeLineLf;
            Ok(())
        } else if self.options.bare_lf {
            self.bare_lf_used = true;
            self.size_line_done();
            Ok(())
        } else {
            Err(ChunkedError::BareLf {
                part,
                offset: self.offset,
            })
        }
    }

    fn step(&mut self, byte: u8) -> Result<(), ChunkedError> {
        use ChunkPart::*;
        match self.state {
            State::Size { digits } => {
                let value = match byte {
                    b'0'..=b'9' => Some(byte - b'0'),
                    b'a'..=b'f' => Some(byte - b'a' + 10),
                    b'A'..=b'F' => Some(byte - b'A' + 10),
                    _ => None,
                };
                if let Some(value) = value {
                    self.count_line_byte(false)?;
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(value)))
                        .ok_or(ChunkedError::SizeOverflow {
                            value_so_far: self.size,
                            digit: byte,
                            offset: self.offset,
                        })?;
                    self.state = State::Size { digits: digits + 1 };
                    return Ok(());
                }
                if digits == 0 {
                    return Err(self.unexpected(ChunkSize, byte, "a hex digit"));
                }
                match byte {
                    b' ' | b'\t' => {
                        self.count_line_byte(true)?;
                        self.state = State::ExtBws;
                    }
                    b';' => {
                        self.count_line_byte(true)?;
                        self.state = State::ExtBeforeName;
                    }
                    b'\r' | b'\n' => self.size_line_end(byte, SizeLineEnd)?,
                    _ => return Err(self.unexpected(ChunkSize, byte, "a hex digit, `;` or CRLF")),
                }
            }
            State::ExtBws => {
                self.count_line_byte(true)?;
                match byte {
                    b' ' | b'\t' => {}
                    b';' => self.state = State::ExtBeforeName,
                    _ => {
                        return Err(self.unexpected(
                            ChunkExtension,
                            byte,
                            "`;` (whitespace may only come before a chunk extension)",
                        ))
                    }
                }
            }
            State::ExtBeforeName => {
                self.count_line_byte(true)?;
                match byte {
                    b' ' | b'\t' => {}
                    _ if is_tchar(byte) => self.state = State::ExtName,
                    _ => {
                        return Err(self.unexpected(
                            ChunkExtension,
                            byte,
                            "an extension name (a token)",
                        ))
                    }
                }
            }
            State::ExtName | State::ExtToken | State::ExtAfterQuoted => {
                if byte == b'\r' || byte == b'\n' {
                    return self.size_line_end(byte, SizeLineEnd);
                }
                self.count_line_byte(true)?;
                match byte {
                    b';' => self.state = State::ExtBeforeName,
                    b' ' | b'\t' if self.state == State::ExtName => {
                        self.state = State::ExtAfterName
                    }
                    b' ' | b'\t' => self.state = State::ExtBws,
                    b'=' if self.state == State::ExtName => self.state = State::ExtBeforeValue,
                    _ if is_tchar(byte) && self.state != State::ExtAfterQuoted => {}
                    _ => {
                        return Err(self.unexpected(
                            ChunkExtension,
                            byte,
                            if self.state == State::ExtName {
                                "a token character, `=`, `;` or CRLF"
                            } else {
                                "`;` or CRLF"
                            },
                        ))
                    }
                }
            }
            State::ExtAfterName => {
                self.count_line_byte(true)?;
                match byte {
                    b' ' | b'\t' => {}
                    b'=' => self.state = State::ExtBeforeValue,
                    b';' => self.state = State::ExtBeforeName,
                    _ => {
                        return Err(self.unexpected(
                            ChunkExtension,
                            byte,
                            "`=` or `;` (whitespace may only come before them)",
                        ))
                    }
                }
            }
            State::ExtBeforeValue => {
                self.count_line_byte(true)?;
                match byte {
                    b' ' | b'\t' => {}
                    b'"' => self.state = State::ExtQuoted,
                    _ if is_tchar(byte) => self.state = State::ExtToken,
                    _ => {
                        return Err(self.unexpected(
                            ChunkExtension,
                            byte,
                            "an extension value (a token or a quoted-string)",
                        ))
                    }
                }
            }
            State::ExtQuoted => {
                self.count_line_byte(true)?;
                match byte {
                    b'"' => self.state = State::ExtAfterQuoted,
                    b'\\' => self.state = State::ExtQuotedPair,
                    _ if is_qdtext(byte) => {}
                    _ => {
                        return Err(self.unexpected(
                            ChunkExtension,
                            byte,
                            "quoted-string text or a closing `\"`",
                        ))
                    }
                }
            }
            State::ExtQuotedPair => {
                self.count_line_byte(true)?;
                if byte == b'\t' || byte == b' ' || (0x21..=0x7e).contains(&byte) || byte >= 0x80 {
                    self.state = State::ExtQuoted;
                } else {
                    return Err(self.unexpected(
                        ChunkExtension,
                        byte,
                        "a visible character after `\\`",
                    ));
                }
            }
            State::SizeLineLf => {
                if byte != b'\n' {
                    return Err(self.unexpected(SizeLineEnd, byte, "`\\n` after `\\r`"));
                }
                self.size_line_done();
            }
            State::DataCr => match byte {
                b'\r' => self.state = State::DataLf,
                b'\n' if self.options.bare_lf => {
                    self.bare_lf_used = true;
                    self.start_size_line();
                }
                b'\n' => {
                    return Err(ChunkedError::BareLf {
                        part: AfterData,
                        offset: self.offset,
                    })
                }
                _ => {
                    return Err(self.unexpected(
                        AfterData,
                        byte,
                        "CRLF right after the chunk-size bytes of data",
                    ))
                }
            },
            State::DataLf => {
                if byte != b'\n' {
                    return Err(self.unexpected(AfterData, byte, "`\\n` after `\\r`"));
                }
                self.start_size_line();
            }
            State::TrailerLine => match byte {
                b'\r' => {
                    self.count_trailer_byte()?;
                    self.state = State::TrailerLineLf;
                }
                b'\n' if self.options.bare_lf => {
                    self.bare_lf_used = true;
                    self.count_trailer_byte()?;
                    self.trailer_line_done()?;
                }
                b'\n' => {
                    return Err(ChunkedError::BareLf {
                        part: TrailerSection,
                        offset: self.offset,
                    })
                }
                _ => {
                    self.count_trailer_byte()?;
                    self.line.push(byte);
                }
            },
            State::TrailerLineLf => {
                if byte != b'\n' {
                    return Err(self.unexpected(TrailerSection, byte, "`\\n` after `\\r`"));
                }
                self.count_trailer_byte()?;
                self.trailer_line_done()?;
            }
            State::Data { .. } | State::Done => {
                unreachable!("decode handles data and the end without stepping")
            }
        }
        Ok(())
    }

    fn start_size_line(&mut self) {
        self.size = 0;
        self.line_len = 0;
        self.state = State::Size { digits: 0 };
    }

    fn count_trailer_byte(&mut self) -> Result<(), ChunkedError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > self.options.limits.max_trailer_bytes {
            return Err(ChunkedError::TrailerSectionTooLarge {
                limit: self.options.limits.max_trailer_bytes,
                offset: self.offset,
            });
        }
        Ok(())
    }

    /// A trailer line ended (its line ending consumed): the empty line ends the body.
    fn trailer_line_done(&mut self) -> Result<(), ChunkedError> {
        let next_line_offset = self.offset + 1;
        if self.line.is_empty() {
            self.state = State::Done;
            return Ok(());
        }
        let line = std::mem::take(&mut self.line);
        let invalid = |reason| ChunkedError::InvalidTrailerField {
            line: line.clone(),
            offset: self.line_offset,
            reason,
        };
        if self.trailers.len() >= self.options.limits.max_trailer_fields {
            return Err(ChunkedError::TooManyTrailerFields {
                limit: self.options.limits.max_trailer_fields,
                offset: self.line_offset,
            });
        }
        if is_ws(line[0]) {
            return Err(invalid(
                "a line starting with whitespace (obs-fold) is not allowed",
            ));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| invalid("no `:` after the field name"))?;
        let name = &line[..colon];
        if name.is_empty() {
            return Err(invalid("empty field name"));
        }
        if !name.iter().all(|&b| is_tchar(b)) {
            return Err(invalid(
                "the field name must be a token (no whitespace before `:`)",
            ));
        }
        let value = &line[colon + 1..];
        let start = value.iter().position(|&b| !is_ws(b)).unwrap_or(value.len());
        let end = value
            .iter()
            .rposition(|&b| !is_ws(b))
            .map_or(start, |i| i + 1);
        let value = &value[start..end];
        if value
            .iter()
            .any(|&b| b == 0 || b == b'\r' || b == 0x7f || (b < 0x20 && b != b'\t'))
        {
            return Err(invalid("control characters in the field value"));
        }
        self.trailers.push(TrailerField {
            // A token is ASCII, so this never fails.
            name: String::from_utf8_lossy(name).into_owned(),
            value: value.to_vec(),
        });
        self.line_offset = next_line_offset;
        self.state = State::TrailerLine;
        Ok(())
    }
}

/// The chunk-size line for a chunk of `len` bytes (`{len:x}\r\n`), without a copy of the data:
/// for a shell that writes the chunk data itself (a file, a vectored write), then
/// [`CHUNK_DATA_END`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    buf: [u8; 18],
    len: u8,
}

impl ChunkHeader {
    /// The size line for `len` bytes of data. `len` must not be 0: an empty chunk is the last
    /// chunk, written by [`encode_last_chunk`].
    pub fn new(len: u64) -> Self {
        debug_assert!(len > 0, "a chunk of 0 bytes is the last chunk");
        let mut buf = [0u8; 18];
        let digits = if len == 0 {
            1
        } else {
            (64 - len.leading_zeros()).div_ceil(4) as usize
        };
        for (i, slot) in buf[..digits].iter_mut().enumerate() {
            let shift = 4 * (digits - 1 - i);
            *slot = b"0123456789abcdef"[((len >> shift) & 0xf) as usize];
        }
        buf[digits] = b'\r';
        buf[digits + 1] = b'\n';
        ChunkHeader {
            buf,
            len: (digits + 2) as u8,
        }
    }

    /// The bytes of the size line, CRLF included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

/// The CRLF that follows every chunk's data.
pub const CHUNK_DATA_END: &[u8] = b"\r\n";

/// Appends one chunk carrying `data` to `out`. Empty `data` appends nothing (an empty chunk would
/// end the body).
pub fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(ChunkHeader::new(data.len() as u64).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(CHUNK_DATA_END);
}

/// A trailer field the local program asked to send that cannot be sent as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailerEncodeError {
    /// The name is empty or not a token.
    InvalidName(Vec<u8>),
    /// The value holds CR, LF, NUL or another control character (it would break the framing).
    InvalidValue {
        /// The field's name.
        name: Vec<u8>,
    },
}

impl fmt::Display for TrailerEncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrailerEncodeError::InvalidName(name) => {
                f.write_str("trailer field name `")?;
                escape_bytes(name, f)?;
                f.write_str("` is not a token (RFC 9110 §5.1)")
            }
            TrailerEncodeError::InvalidValue { name } => {
                f.write_str("trailer field `")?;
                escape_bytes(name, f)?;
                f.write_str("` has a control character in its value (RFC 9110 §5.5)")
            }
        }
    }
}

impl std::error::Error for TrailerEncodeError {}

/// Appends the last chunk, the trailer fields and the final CRLF to `out`.
///
/// Nothing is appended when a field is invalid, so a caller cannot half-write the end of a body.
pub fn encode_last_chunk<N, V>(
    trailers: impl IntoIterator<Item = (N, V)> + Clone,
    out: &mut Vec<u8>,
) -> Result<(), TrailerEncodeError>
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    for (name, value) in trailers.clone() {
        let (name, value) = (name.as_ref(), value.as_ref());
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(TrailerEncodeError::InvalidName(name.to_vec()));
        }
        if value.iter().any(|&b| b == 0x7f || (b < 0x20 && b != b'\t')) {
            return Err(TrailerEncodeError::InvalidValue {
                name: name.to_vec(),
            });
        }
    }
    out.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        out.extend_from_slice(name.as_ref());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_ref());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

#[cfg(test)]
mod tests;
