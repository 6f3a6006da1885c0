//! Framing a sent body: [`BodyWriter`] frames what the application sends (`Content-Length` kept
//! honest, chunks with their size lines, trailers) into the transmit queue. Reading a received
//! body is [`super::super::reader`]'s.

use super::super::chunked::{encode_last_chunk, ChunkHeader, CHUNK_DATA_END};
use super::super::framing::BodyLength;
use super::super::Headers;
use super::transmit::TransmitQueue;
use super::SendError;

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
    /// The framing a body written this way has, as the head announced it (a `Content-Length`
    /// body is named by its length before any of it was written).
    pub(crate) fn framing(self) -> BodyLength {
        match self {
            BodyWriter::Empty => BodyLength::Empty,
            BodyWriter::Length { remaining } => BodyLength::ContentLength(remaining),
            BodyWriter::Chunked => BodyLength::Chunked,
            BodyWriter::UntilClose => BodyLength::CloseDelimited,
        }
    }

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
