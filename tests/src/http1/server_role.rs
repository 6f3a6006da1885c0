//! `Conn` in the server role, fed the `C:` side of a trace, answering through the test
//! [`responder`](super::responder).
//!
//! The adapter is the shell of a tiny server: it drains [`Conn::poll_event`] after every read,
//! answers each request (at its head, except `/echo`, which is answered once its body is in), answers a request the core refused with the status the error
//! hints (then closes), and turns what [`Conn::poll_transmit`] offers into [`Output`]s. Its report
//! lists each request, each response status, the close reason, any error, and the final states.

use std::collections::VecDeque;
use std::time::SystemTime;

use wire::http1::conn::{Conn, Event, Transmit};
use wire::http1::{Headers, RequestHead};
use wire::trace::{escape_inline, Trace};

use super::responder::{refuse, respond, Answer};
use super::{conn_options, describe_body};
use crate::replay::{CoreUnderTest, Output};

/// A server connection with the test responder behind it.
pub struct ServerReplay {
    conn: Conn,
    now: Option<SystemTime>,
    request: Option<RequestHead>,
    body: Vec<u8>,
    /// The current request was answered at its head (its body is left to the core to drain).
    answered_early: bool,
    out: VecDeque<Output>,
    report: Vec<String>,
    finished: bool,
}

impl ServerReplay {
    /// A fresh connection with the options and clock the trace's metadata asks for.
    pub fn new(recorded: &Trace) -> ServerReplay {
        ServerReplay {
            conn: Conn::server(conn_options(recorded)),
            now: recorded.now(),
            request: None,
            body: Vec::new(),
            answered_early: false,
            out: VecDeque::new(),
            report: Vec::new(),
            finished: false,
        }
    }

    /// Drains the core's events until it needs input or the connection is over.
    fn pump(&mut self) {
        while !self.finished {
            let event = match self.conn.poll_event() {
                Ok(event) => event,
                Err(error) => {
                    let status = error.status_hint();
                    self.report.push(format!("error: {error} -> {status}"));
                    self.flush();
                    let answer = refuse(status, self.now);
                    self.send(answer);
                    self.out.push_back(Output::Close);
                    self.finished = true;
                    return;
                }
            };
            match event {
                Event::Request(head) => {
                    self.report.push(format!(
                        "request {}: {} {} {}",
                        self.conn.requests(),
                        head.method,
                        head.target,
                        head.version
                    ));
                    for leniency in head.leniencies_used.iter() {
                        self.report.push(format!("  accepted {leniency}"));
                    }
                    self.body.clear();
                    // Only /echo needs the body; everything else is answered at once, as a real
                    // server does, and the core drains (or refuses) the body.
                    self.answered_early = head.target.path() != Some("/echo");
                    if self.answered_early {
                        let answer = respond(&head, &[], &Headers::new(), self.now);
                        self.send(answer);
                    }
                    self.request = Some(head);
                }
                Event::Data(data) => self.body.extend_from_slice(data),
                Event::EndOfMessage(trailers) => {
                    let request = self.request.take().expect("a request came before its end");
                    self.report_end(&trailers);
                    let body = std::mem::take(&mut self.body);
                    if !self.answered_early {
                        let answer = respond(&request, &body, &trailers, self.now);
                        self.send(answer);
                    }
                }
                Event::NeedData => break,
                Event::Paused => {
                    self.report.push("paused with no response owed".into());
                    break;
                }
                Event::SwitchedProtocol => {
                    let rest = self.conn.take_received();
                    self.report.push(format!(
                        "switched protocol; {} bytes of it had arrived",
                        rest.len()
                    ));
                    self.flush();
                    self.out.push_back(Output::Close);
                    self.finished = true;
                }
                Event::InformationalResponse(_) | Event::Response(_) => {
                    unreachable!("a server connection reads requests")
                }
                Event::ConnectionClosed(reason) => {
                    self.report.push(format!("connection closed: {reason}"));
                    self.flush();
                    self.out.push_back(Output::Close);
                    self.finished = true;
                }
            }
            // A 100 Continue queued while polling goes out before we wait for the body.
            self.flush();
        }
        self.flush();
    }

    fn report_end(&mut self, trailers: &Headers) {
        self.report
            .push(format!("  body: {}", describe_body(&self.body)));
        for field in trailers {
            self.report.push(format!(
                "  trailer: {}: `{}`",
                field.name(),
                escape_inline(field.value())
            ));
        }
    }

    /// Sends an answer: the head, then each body piece (when the message may have a body),
    /// then the end.
    fn send(&mut self, answer: Answer) {
        let status = answer.head.status.as_u16();
        if let Err(error) = self.conn.send_response(&answer.head) {
            self.report
                .push(format!("response {status} not sent: {error}"));
            return;
        }
        self.report.push(format!("response: {status}"));
        self.flush();
        if self.conn.can_send_data() {
            for piece in &answer.body {
                if let Err(error) = self.conn.send_data(piece) {
                    self.report.push(format!("body not sent: {error}"));
                    return;
                }
                self.flush_body();
            }
        }
        if let Err(error) = self.conn.send_end(answer.trailers.as_ref()) {
            self.report.push(format!("end not sent: {error}"));
        }
        self.flush();
    }

    fn flush(&mut self) {
        self.flush_as(false);
    }

    fn flush_body(&mut self) {
        self.flush_as(true);
    }

    fn flush_as(&mut self, body: bool) {
        while let Some(transmit) = self.conn.poll_transmit() {
            let (output, len) = match transmit {
                Transmit::Bytes(bytes) if body => (Output::Body(bytes.to_vec()), bytes.len()),
                Transmit::Bytes(bytes) => (Output::Bytes(bytes.to_vec()), bytes.len()),
                Transmit::Body(n) => {
                    panic!("the test responder never sends {n} bytes from the shell")
                }
            };
            self.out.push_back(output);
            self.conn
                .advance_transmit(len as u64)
                .expect("advanced by what was offered");
        }
    }
}

impl CoreUnderTest for ServerReplay {
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
        report.push(format!(
            "end: client {}, server {}",
            self.conn.client_state(),
            self.conn.server_state()
        ));
        report
    }
}
