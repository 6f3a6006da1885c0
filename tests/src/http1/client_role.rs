//! `Conn` in the client role: it sends the requests written on a trace's `C:` side (one at a
//! time, as the core allows) and is fed the recorded `S:` side.
//!
//! The requests are read from the `C:` stream with the strict head parser; a request body needs
//! a `Content-Length`. The core writes the requests itself, so the transcript's `C:` lines show
//! what the client core sends (its own framing decisions included). The report shows how the
//! core framed each response: status, body, trailers, why the connection ended.

use std::collections::VecDeque;

use wire::http1::conn::{Conn, Event, Transmit};
use wire::http1::{ParseOptions, RequestHead};
use wire::trace::{escape_inline, Tag, Trace};
use wire::Status;

use super::{conn_options, describe_body};
use crate::replay::{CoreUnderTest, Output};

/// A client connection with a queue of requests to send.
pub struct ClientReplay {
    conn: Conn,
    requests: VecDeque<(RequestHead, Vec<u8>)>,
    body: Vec<u8>,
    out: VecDeque<Output>,
    report: Vec<String>,
    finished: bool,
}

impl ClientReplay {
    /// A client connection that has already sent the first request of the trace's `C:` side.
    pub fn new(recorded: &Trace) -> ClientReplay {
        let stream = recorded
            .stream(Tag::Client)
            .expect("the C: side of a client-role trace is literal requests");
        let mut replay = ClientReplay {
            conn: Conn::client(conn_options(recorded)),
            requests: read_requests(&stream),
            body: Vec::new(),
            out: VecDeque::new(),
            report: Vec::new(),
            finished: false,
        };
        replay.send_next();
        replay
    }

    fn send_next(&mut self) {
        let Some((head, body)) = self.requests.pop_front() else {
            return;
        };
        if let Err(error) = self.conn.send_request(&head) {
            self.report.push(format!(
                "request {} {} not sent: {error}",
                head.method, head.target
            ));
            self.requests.clear();
            return;
        }
        if !body.is_empty() {
            if let Err(error) = self.conn.send_data(&body) {
                self.report.push(format!("request body not sent: {error}"));
            }
            if let Err(error) = self.conn.send_end(None) {
                self.report.push(format!("request end not sent: {error}"));
            }
        }
        self.flush();
    }

    fn pump(&mut self) {
        while !self.finished {
            let event = match self.conn.poll_event() {
                Ok(event) => event,
                Err(error) => {
                    self.report.push(format!(
                        "error: {error} -> a proxy would answer {}",
                        error.status_hint()
                    ));
                    self.out.push_back(Output::Close);
                    self.finished = true;
                    return;
                }
            };
            match event {
                Event::InformationalResponse(head) => self.report.push(format!(
                    "interim response: {} {}",
                    head.status,
                    head.reason()
                )),
                Event::Response(head) => {
                    self.report.push(format!(
                        "response to request {}: {} {} {}",
                        self.conn.requests(),
                        head.version,
                        head.status,
                        head.reason()
                    ));
                    for leniency in head.leniencies_used.iter() {
                        self.report.push(format!("  accepted {leniency}"));
                    }
                    self.body.clear();
                }
                Event::Data(data) => self.body.extend_from_slice(data),
                Event::EndOfMessage(trailers) => {
                    self.report
                        .push(format!("  body: {}", describe_body(&self.body)));
                    for field in &trailers {
                        self.report.push(format!(
                            "  trailer: {}: `{}`",
                            field.name(),
                            escape_inline(field.value())
                        ));
                    }
                    self.send_next();
                }
                Event::NeedData | Event::Paused => break,
                Event::SwitchedProtocol => {
                    let rest = self.conn.take_received();
                    self.report.push(format!(
                        "switched protocol; {} bytes of it had arrived",
                        rest.len()
                    ));
                    self.out.push_back(Output::Close);
                    self.finished = true;
                }
                Event::Request(_) => unreachable!("a client connection reads responses"),
                Event::ConnectionClosed(reason) => {
                    self.report.push(format!("connection closed: {reason}"));
                    self.out.push_back(Output::Close);
                    self.finished = true;
                }
            }
        }
    }

    fn flush(&mut self) {
        while let Some(transmit) = self.conn.poll_transmit() {
            let Transmit::Bytes(bytes) = transmit else {
                panic!("the client replay never sends a body from the shell");
            };
            let len = bytes.len() as u64;
            self.out.push_back(Output::Bytes(bytes.to_vec()));
            self.conn
                .advance_transmit(len)
                .expect("advanced by what was offered");
        }
    }
}

impl CoreUnderTest for ClientReplay {
    fn handle_input(&mut self, bytes: &[u8]) {
        self.conn.handle_bytes(bytes);
        self.pump();
    }

    fn handle_eof(&mut self) {
        self.conn.handle_eof();
        self.pump();
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn take_report(&mut self) -> Vec<String> {
        let mut report = std::mem::take(&mut self.report);
        if !self.requests.is_empty() {
            report.push(format!("requests never sent: {}", self.requests.len()));
        }
        report.push(format!(
            "end: client {}, server {}",
            self.conn.client_state(),
            self.conn.server_state()
        ));
        report
    }
}

/// The requests written on the `C:` side, each with its `Content-Length` body.
fn read_requests(mut stream: &[u8]) -> VecDeque<(RequestHead, Vec<u8>)> {
    let mut requests = VecDeque::new();
    while !stream.is_empty() {
        let (used, head) = match RequestHead::parse(stream, &ParseOptions::STRICT) {
            Ok(Status::Complete(done)) => done,
            other => panic!(
                "the C: side must hold complete, valid requests; at `{}` the parser said {other:?}",
                escape_inline(&stream[..stream.len().min(60)])
            ),
        };
        let length = head.headers.get_str("content-length").map_or(0, |n| {
            n.trim().parse::<usize>().expect("a numeric Content-Length")
        });
        let body = stream[used..used + length].to_vec();
        stream = &stream[used + length..];
        requests.push_back((head, body));
    }
    requests
}
