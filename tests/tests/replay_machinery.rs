//! The replay harness itself, driven with a toy line protocol so its behaviour is plain to see:
//! every cutting of the input gives one transcript, events reach the core, input sent after the
//! core closed is shown but never fed, and a core that depends on read boundaries is caught.

use protolab_tests::corpus;
use protolab_tests::replay::{replay, replay_once, CoreUnderTest, Output, ReplaySpec};
use wire::testing::Segmentation;
use wire::trace::{escape_inline, Trace};

/// A line server: answers every CRLF-ended line with it in upper case, `BODY n` with n bytes of
/// body, `QUIT` with `BYE` and a close; reports each line and each pause.
#[derive(Default)]
struct ShoutingLines {
    pending: Vec<u8>,
    out: Vec<Output>,
    report: Vec<String>,
}

impl CoreUnderTest for ShoutingLines {
    fn handle_input(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.pending.drain(..end + 2).take(end).collect();
            self.report.push(format!("line `{}`", escape_inline(&line)));
            if line == b"QUIT" {
                self.out.push(Output::Bytes(b"BYE\r\n".to_vec()));
                self.out.push(Output::Close);
                return;
            }
            if let Some(n) = line.strip_prefix(b"BODY ") {
                let n: usize = std::str::from_utf8(n).unwrap().parse().unwrap();
                self.out
                    .push(Output::Bytes(format!("BODY {n}\r\n").into_bytes()));
                self.out.push(Output::Body(vec![b'z'; n]));
                continue;
            }
            let mut answer = line.to_ascii_uppercase();
            answer.extend_from_slice(b"\r\n");
            self.out.push(Output::Bytes(answer));
        }
    }

    fn handle_eof(&mut self) {
        self.report.push(format!(
            "peer closed with {} bytes of an unfinished line",
            self.pending.len()
        ));
        self.out.push(Output::Close);
    }

    fn handle_wait(&mut self, millis: u64) {
        self.report.push(format!("paused {millis}ms"));
    }

    fn poll_output(&mut self) -> Option<Output> {
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    fn take_report(&mut self) -> Vec<String> {
        std::mem::take(&mut self.report)
    }
}

#[test]
fn toy_line_protocol_replays() {
    insta::glob!("../traces/machinery", "*.trace", |path| {
        let recorded = corpus::load(path);
        let transcript = replay(&recorded, &ReplaySpec::server(), |_| {
            ShoutingLines::default()
        });
        insta::assert_snapshot!(transcript.render());
    });
}

#[test]
fn every_cutting_sees_the_same_exchange() {
    let recorded =
        Trace::parse("C: one\\r\\ntwo\\r\\nQU\nC: IT\\r\\nlate\\r\\n\nC: <close>\n").unwrap();
    let spec = ReplaySpec::server();
    let mut streams = Vec::new();
    for segmentation in Segmentation::standard(3, 6) {
        let transcript = replay_once(&recorded, &spec, &segmentation, ShoutingLines::default());
        streams.push((
            transcript.trace.stream(spec.input).unwrap(),
            transcript.trace.stream(spec.output).unwrap(),
            transcript.report,
        ));
    }
    assert!(streams.windows(2).all(|w| w[0] == w[1]), "{streams:#?}");
    assert_eq!(streams[0].1, b"ONE\r\nTWO\r\nBYE\r\n");
    // The input after QUIT is shown as sent, though the core never read it.
    assert_eq!(streams[0].0, b"one\r\ntwo\r\nQUIT\r\nlate\r\n");
}

/// Answers nothing: trivially the same however its input is cut.
struct Silent;

impl CoreUnderTest for Silent {
    fn handle_input(&mut self, _bytes: &[u8]) {}
    fn handle_eof(&mut self) {}
    fn poll_output(&mut self) -> Option<Output> {
        None
    }
    fn take_report(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// Answers each read with its length: wrong for a stream protocol, and the harness must say so.
struct EchoesReadSizes {
    out: Vec<Output>,
}

impl CoreUnderTest for EchoesReadSizes {
    fn handle_input(&mut self, bytes: &[u8]) {
        self.out
            .push(Output::Bytes(format!("{}\n", bytes.len()).into_bytes()));
    }
    fn handle_eof(&mut self) {}
    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop()
    }
    fn take_report(&mut self) -> Vec<String> {
        Vec::new()
    }
}

#[test]
fn a_core_that_sees_read_boundaries_is_caught() {
    let recorded = Trace::parse("C: hello\n").unwrap();
    let quiet = replay(&recorded, &ReplaySpec::server(), |_| Silent);
    assert_eq!(quiet.render(), "C: hello\n");
    let caught = std::panic::catch_unwind(|| {
        replay(&recorded, &ReplaySpec::server(), |_| EchoesReadSizes {
            out: Vec::new(),
        })
    });
    let message = *caught.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("fed byte by byte, the exchange differs from the one fed whole"),
        "{message}"
    );
}

#[test]
fn placeholders_in_the_fed_side_are_refused() {
    let recorded = Trace::parse("C: GET <any>\\r\\n\n").unwrap();
    let refused = std::panic::catch_unwind(|| {
        replay(&recorded, &ReplaySpec::server(), |_| {
            ShoutingLines::default()
        })
    });
    let message = *refused.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("the C: side holds <any>"), "{message}");
}
