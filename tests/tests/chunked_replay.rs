//! The chunked decoder (RFC 9112 §7.1) replayed from traces: the `C:` side of each trace is a
//! chunked body (and whatever follows it), fed whole, byte by byte and at random cuts; the
//! snapshot shows the decoded body, the trailers, the bytes left for the next message, or the
//! error. `# leniency: bare-lf` turns on the one leniency the decoder has.

use protolab_tests::corpus;
use protolab_tests::replay::{replay, CoreUnderTest, Output, ReplaySpec};
use wire::http1::chunked::{ChunkedDecoder, ChunkedEvent, ChunkedOptions};
use wire::trace::{escape_inline, ElidedBody, Trace};
use wire::Status;

/// Bodies longer than this are reported by length and digest.
const SHOW_BODY_UP_TO: usize = 256;

struct ChunkedBody {
    decoder: ChunkedDecoder,
    body: Vec<u8>,
    after: Vec<u8>,
    failed: Option<String>,
    ended_early: bool,
    out: Vec<Output>,
}

impl ChunkedBody {
    fn new(recorded: &Trace) -> ChunkedBody {
        let options = ChunkedOptions {
            bare_lf: recorded.meta("leniency") == Some("bare-lf"),
            ..ChunkedOptions::default()
        };
        ChunkedBody {
            decoder: ChunkedDecoder::new(options),
            body: Vec::new(),
            after: Vec::new(),
            failed: None,
            ended_early: false,
            out: Vec::new(),
        }
    }
}

impl CoreUnderTest for ChunkedBody {
    fn handle_input(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.decoder.is_done() {
                self.after.extend_from_slice(bytes);
                return;
            }
            match self.decoder.decode(bytes) {
                Ok(Status::Partial) => return,
                Ok(Status::Complete((used, ChunkedEvent::Data(range)))) => {
                    self.body.extend_from_slice(&bytes[range]);
                    bytes = &bytes[used..];
                }
                Ok(Status::Complete((used, ChunkedEvent::End))) => bytes = &bytes[used..],
                Err(error) => {
                    self.failed = Some(format!("{error} -> status {}", error.status_hint()));
                    self.out.push(Output::Close);
                    return;
                }
            }
        }
    }

    fn handle_eof(&mut self) {
        if !self.decoder.is_done() && self.failed.is_none() {
            self.ended_early = true;
            self.out.push(Output::Close);
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop()
    }

    fn take_report(&mut self) -> Vec<String> {
        let mut report = Vec::new();
        if self.body.len() > SHOW_BODY_UP_TO {
            report.push(format!("body: {}", ElidedBody::of(&self.body)));
        } else {
            report.push(format!(
                "body: {} bytes `{}`",
                self.body.len(),
                escape_inline(&self.body)
            ));
        }
        for field in self.decoder.trailers() {
            report.push(format!(
                "trailer: {}: `{}`",
                field.name,
                escape_inline(&field.value)
            ));
        }
        if self.decoder.is_done() {
            report.push(format!(
                "complete after {} bytes of chunked coding",
                self.decoder.consumed()
            ));
        }
        if !self.after.is_empty() {
            report.push(format!(
                "left for the next message: `{}`",
                escape_inline(&self.after)
            ));
        }
        if let Some(error) = &self.failed {
            report.push(format!("error: {error}"));
        }
        if self.ended_early {
            report.push(format!(
                "the peer closed after {} bytes, before the last chunk",
                self.decoder.consumed()
            ));
        }
        report
    }
}

#[test]
fn chunked_bodies_replay() {
    insta::glob!("../traces/chunked", "*.trace", |path| {
        let recorded = corpus::load(path);
        let transcript = replay(&recorded, &ReplaySpec::server(), ChunkedBody::new);
        insta::assert_snapshot!(transcript.render());
    });
}
