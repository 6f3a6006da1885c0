//! Reading a received body and framing a sent one, for each [`BodyLength`].
//!
//! [`BodyReader`] turns the receive buffer into body data ranges (never copying them) and says
//! when the body ends; [`BodyWriter`] frames what the application sends (`Content-Length` kept
//! honest, chunks with their size lines, trailers) into the transmit queue.

use std::ops::Range;

use super::super::chunked::{
    encode_last_chunk, ChunkHeader, ChunkedDecoder, ChunkedError, ChunkedEvent, ChunkedOptions,
    TrailerField, CHUNK_DATA_END,
};
use super::super::framing::BodyLength;
use super::super::Headers;
use super::transmit::TransmitQueue;
use super::SendError;
use crate::Status;

/// Where a received body ends, and how far along it is.
#[derive(Debug)]
pub(crate) enum BodyReader {
    /// `Content-Length`: this many bytes left.
    Length { remaining: u64 },
    /// The chunked coding.
    Chunked(Box<ChunkedDecoder>),
    /// Until the peer closes the connection.
    UntilClose,
}

/// One step of reading a body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyStep {
    /// Body data: `input[range]`; `range.end` bytes of the input were used.
    Data(Range<usize>),
    /// The body ended after `used` bytes of the input.
    End {
        used: usize,
        trailers: Vec<TrailerField>,
    },
    /// More bytes are needed; the first `used` bytes of the input were used (chunk framing the
    /// decoder remembered).
    NeedData { used: usize },
}

/// A received body that broke its framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    Chunked(ChunkedError),
    /// The connection closed with this many bytes of a `Content-Length` body missing
    /// (`None` for a chunked body, where the count is unknown).
    Incomplete {
        missing: Option<u64>,
    },
}

impl BodyReader {
    /// A reader for `length`; `None` for [`BodyLength::Empty`] and [`BodyLength::Tunnel`],
    /// which have nothing to read as HTTP.
    pub(crate) fn new(length: BodyLength, chunked: ChunkedOptions) -> Option<BodyReader> {
        match length {
            BodyLength::Empty | BodyLength::Tunnel | BodyLength::ContentLength(0) => None,
            BodyLength::ContentLength(n) => Some(BodyReader::Length { remaining: n }),
            BodyLength::Chunked => {
                Some(BodyReader::Chunked(Box::new(ChunkedDecoder::new(chunked))))
            }
            BodyLength::CloseDelimited => Some(BodyReader::UntilClose),
        }
    }

    /// Reads from `input` (the unused received bytes); `eof` says the peer has closed.
    pub(crate) fn read(&mut self, input: &[u8], eof: bool) -> Result<BodyStep, BodyError> {
        match self {
            BodyReader::Length { remaining } => {
                if *remaining == 0 {
                    return Ok(BodyStep::End {
                        used: 0,
                        trailers: Vec::new(),
                    });
                }
                if input.is_empty() {
                    return if eof {
                        Err(BodyError::Incomplete {
                            missing: Some(*remaining),
                        })
                    } else {
                        Ok(BodyStep::NeedData { used: 0 })
                    };
                }
                let take = (*remaining).min(input.len() as u64) as usize;
                *remaining -= take as u64;
                Ok(BodyStep::Data(0..take))
            }
            BodyReader::Chunked(decoder) => match decoder.decode(input) {
                Err(error) => Err(BodyError::Chunked(error)),
                Ok(Status::Complete((_, ChunkedEvent::Data(range)))) => Ok(BodyStep::Data(range)),
                Ok(Status::Complete((used, ChunkedEvent::End))) => Ok(BodyStep::End {
                    used,
                    trailers: decoder.take_trailers(),
                }),
                Ok(Status::Partial) if eof => Err(BodyError::Incomplete { missing: None }),
                Ok(Status::Partial) => Ok(BodyStep::NeedData { used: input.len() }),
            },
            BodyReader::UntilClose => {
                if !input.is_empty() {
                    Ok(BodyStep::Data(0..input.len()))
                } else if eof {
                    Ok(BodyStep::End {
                        used: 0,
                        trailers: Vec::new(),
                    })
                } else {
                    Ok(BodyStep::NeedData { used: 0 })
                }
            }
        }
    }
}

/// How the body this side sends is framed, and how much of it is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyWriter {
    /// No body may be sent (HEAD, 1xx, 204, 304, or a request without framing fields).
    Empty,
    /// `Content-Length`: exactly this many bytes are still owed.
    Length { remaining: u64 },
    /// The chunked coding.
    Chunked,
    /// Until this side closes the connection.
    UntilClose,
}

impl BodyWriter {
    /// Frames `data` into `queue`.
    pub(crate) fn write(
        &mut self,
        data: &[u8],
        queue: &mut TransmitQueue,
    ) -> Result<(), SendError> {
        if data.is_empty() {
            return Ok(());
        }
        match self {
            BodyWriter::Empty => return Err(SendError::NoBodyAllowed),
            BodyWriter::Length { remaining } => {
                if data.len() as u64 > *remaining {
                    return Err(SendError::BodyLongerThanContentLength {
                        excess: data.len() as u64 - *remaining,
                    });
                }
                *remaining -= data.len() as u64;
                queue.bytes_mut().extend_from_slice(data);
            }
            BodyWriter::Chunked => {
                let out = queue.bytes_mut();
                out.extend_from_slice(ChunkHeader::new(data.len() as u64).as_bytes());
                out.extend_from_slice(data);
                out.extend_from_slice(CHUNK_DATA_END);
            }
            BodyWriter::UntilClose => queue.bytes_mut().extend_from_slice(data),
        }
        Ok(())
    }

    /// Records that the shell writes `len` body bytes itself at this point of the stream, framing
    /// them as the body needs.
    pub(crate) fn write_from_shell(
        &mut self,
        len: u64,
        queue: &mut TransmitQueue,
    ) -> Result<(), SendError> {
        if len == 0 {
            return Ok(());
        }
        match self {
            BodyWriter::Empty => return Err(SendError::NoBodyAllowed),
            BodyWriter::Length { remaining } => {
                if len > *remaining {
                    return Err(SendError::BodyLongerThanContentLength {
                        excess: len - *remaining,
                    });
                }
                *remaining -= len;
                queue.push_shell_body(len);
            }
            BodyWriter::Chunked => {
                queue
                    .bytes_mut()
                    .extend_from_slice(ChunkHeader::new(len).as_bytes());
                queue.push_shell_body(len);
                queue.bytes_mut().extend_from_slice(CHUNK_DATA_END);
            }
            BodyWriter::UntilClose => queue.push_shell_body(len),
        }
        Ok(())
    }

    /// Ends the body: checks a `Content-Length` was met, writes the last chunk and trailers.
    pub(crate) fn finish(
        &mut self,
        trailers: Option<&Headers>,
        queue: &mut TransmitQueue,
    ) -> Result<(), SendError> {
        let has_trailers = trailers.is_some_and(|t| !t.is_empty());
        match self {
            BodyWriter::Chunked => {
                let fields = trailers
                    .into_iter()
                    .flat_map(|t| t.iter())
                    .map(|f| (f.name(), f.value()));
                encode_last_chunk(fields, queue.bytes_mut()).map_err(SendError::InvalidTrailer)?;
            }
            _ if has_trailers => return Err(SendError::TrailersNeedChunked),
            BodyWriter::Length { remaining } if *remaining > 0 => {
                return Err(SendError::BodyShorterThanContentLength {
                    missing: *remaining,
                })
            }
            _ => {}
        }
        *self = BodyWriter::Empty;
        Ok(())
    }
}
