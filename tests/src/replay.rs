//! Replaying one side of a recorded exchange into a core, every way it can be cut into reads.
//!
//! The harness plays the *recorded peer*: it takes that peer's items from a [`Trace`] (its bytes,
//! its `<close>`, its `<wait Nms>`) and hands them to the core under test through the
//! [`CoreUnderTest`] trait, draining what the core sends after every read. It does this once per
//! [`Segmentation`] and requires every run to produce the same exchange (the same bytes each way,
//! the same events, the same report). The transcript it returns is the byte-by-byte run, which
//! shows each answer right after the byte that triggered it, rendered as a trace for a snapshot.
//!
//! ```text
//!  recorded .trace ──(input tag: C:)──► split into reads ──► handle_input / handle_eof / handle_wait
//!                                                                   │
//!  transcript .trace ◄──(output tag: S:)── poll_output: bytes, bodies (elided when large), close
//! ```

use std::fmt::Write as _;

use pretty_assertions::assert_eq;
use wire::trace::{Event, Item, Payload, Tag, Trace};

use wire::testing::Segmentation;

/// What a core under test asks its shell to do, one step at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes.
    Bytes(Vec<u8>),
    /// Send these bytes, which are a message body (the transcript may elide a long one).
    Body(Vec<u8>),
    /// Close the connection. The harness feeds nothing more after it.
    Close,
}

/// A protocol core, adapted to be driven by the replay harness.
///
/// An adapter wraps a `wire` core (or a test responder around one) and translates: input bytes
/// to its `handle_*` calls, its `poll_*` answers to [`Output`]s, and what it tells its user
/// (parsed requests, responses, errors) to report lines.
pub trait CoreUnderTest {
    /// The recorded peer sent these bytes (one read; any length, never empty).
    fn handle_input(&mut self, bytes: &[u8]);

    /// The recorded peer closed its side (`<close>` in the trace).
    fn handle_eof(&mut self);

    /// The recorded peer paused (`<wait Nms>`); time moves on by that much.
    fn handle_wait(&mut self, millis: u64) {
        let _ = millis;
    }

    /// The next thing the core wants done, or `None` when it needs input.
    fn poll_output(&mut self) -> Option<Output>;

    /// What the core reported to its user, in order, as lines of escaped text (use
    /// `wire::trace::escape_inline` for any bytes). Taken once, at the end of a run; the lines must
    /// not depend on how the input was cut.
    fn take_report(&mut self) -> Vec<String>;
}

/// Which side of a recording is fed, which side is the core's, and how the result is shown.
#[derive(Debug, Clone)]
pub struct ReplaySpec {
    /// The recorded peer, whose items are fed (`C:` when the core is a server).
    pub input: Tag,
    /// The core's own tag in the transcript (`S:` when the core is a server).
    pub output: Tag,
    /// Bodies longer than this are shown as `<body N bytes sha256=...>`.
    pub elide_over: Option<usize>,
    /// Seed for the random cuttings (a trace's `# seed:` overrides it).
    pub seed: u64,
    /// How many random cuttings besides whole and byte by byte.
    pub random_cuttings: usize,
}

impl ReplaySpec {
    /// The core is a server: `C:` is fed, the core answers as `S:`.
    pub fn server() -> ReplaySpec {
        ReplaySpec {
            input: Tag::Client,
            output: Tag::Server,
            elide_over: Some(1024),
            seed: 0x5eed,
            random_cuttings: 8,
        }
    }

    /// The core is a client: `S:` is fed, the core speaks as `C:`.
    pub fn client() -> ReplaySpec {
        ReplaySpec {
            input: Tag::Server,
            output: Tag::Client,
            ..ReplaySpec::server()
        }
    }
}

/// What one replay produced: the exchange as a trace, and what the core reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The exchange: the fed side as it was read, the core's side as it was sent.
    pub trace: Trace,
    /// The core's report lines.
    pub report: Vec<String>,
}

impl Transcript {
    /// The text to snapshot: the rendered trace, then the report as `#` comment lines (so the
    /// whole snapshot is still a valid trace file).
    pub fn render(&self) -> String {
        let mut text = self.trace.render();
        if !self.report.is_empty() {
            text.push_str("\n# reported by the core:\n");
            for line in &self.report {
                let _ = writeln!(text, "# {line}");
            }
        }
        text
    }

    /// The transcript with its reads and answers regrouped: every item of the fed side (in order),
    /// then every item of the core's side (in order). Two runs of the same exchange cut
    /// differently have the same normal form.
    fn normal_form(&self, spec: &ReplaySpec) -> String {
        let mut normal = Trace::new(self.trace.transport());
        for tag in [spec.input, spec.output] {
            for item in self.trace.items().iter().filter(|item| item.tag() == tag) {
                match item {
                    Item::Data { tag, payload } => normal.push_payload(*tag, payload.clone()),
                    Item::Event { tag, event } => normal.push_event(*tag, *event),
                }
            }
        }
        Transcript {
            trace: normal,
            report: self.report.clone(),
        }
        .render()
    }
}

/// Replays `recorded` into a fresh core for every cutting, checks that they all agree, and
/// returns the byte-by-byte transcript. `make` builds the core from the recording (it may read
/// metadata like `# now:` or the other side's items).
///
/// Panics, naming the cutting and showing both exchanges, when two cuttings disagree, and when
/// the fed side holds a placeholder (recorded inputs are literal bytes).
pub fn replay<C, F>(recorded: &Trace, spec: &ReplaySpec, mut make: F) -> Transcript
where
    C: CoreUnderTest,
    F: FnMut(&Trace) -> C,
{
    if let Err(placeholder) = recorded.stream(spec.input) {
        panic!("{placeholder}");
    }
    let seed = recorded.seed().unwrap_or(spec.seed);
    let mut reference: Option<(Segmentation, Transcript)> = None;
    let mut byte_by_byte = None;
    for segmentation in Segmentation::standard(seed, spec.random_cuttings) {
        let transcript = replay_once(recorded, spec, &segmentation, make(recorded));
        match &reference {
            None => reference = Some((segmentation, transcript.clone())),
            Some((first, expected)) => assert_eq!(
                transcript.normal_form(spec),
                expected.normal_form(spec),
                "fed {segmentation}, the exchange differs from the one fed {first}"
            ),
        }
        if segmentation == Segmentation::ByteByByte {
            byte_by_byte = Some(transcript);
        }
    }
    byte_by_byte.expect("the standard cuttings include byte by byte")
}

/// One run: feed the recorded side cut as `segmentation`, record what comes back.
pub fn replay_once<C: CoreUnderTest>(
    recorded: &Trace,
    spec: &ReplaySpec,
    segmentation: &Segmentation,
    mut core: C,
) -> Transcript {
    let mut run = Run {
        trace: Trace::new(recorded.transport()),
        spec,
        closed: false,
    };
    for (key, value) in recorded.metadata() {
        run.trace
            .set_meta(key, value)
            .expect("metadata read from a trace is valid");
    }
    run.drain(&mut core);
    for (index, item) in recorded.items().iter().enumerate() {
        match item {
            Item::Data { tag, payload } if *tag == spec.input => {
                let bytes = payload
                    .as_bytes()
                    .expect("placeholders were refused before the run");
                for read in cut(segmentation, index, bytes) {
                    run.trace.push_bytes(spec.input, read);
                    if !run.closed {
                        core.handle_input(read);
                        run.drain(&mut core);
                    }
                }
            }
            Item::Event { tag, event } if *tag == spec.input => {
                run.trace.push_event(spec.input, *event);
                if run.closed {
                    continue;
                }
                match event {
                    Event::Close => core.handle_eof(),
                    Event::Wait { millis } => core.handle_wait(*millis),
                    Event::Lost => {}
                }
                run.drain(&mut core);
            }
            // The other side of a recording is what the core should say: the snapshot shows
            // what it did say instead.
            _ => {}
        }
    }
    Transcript {
        trace: run.trace,
        report: core.take_report(),
    }
}

/// Cuts one data item; random cuttings get a different stream of cut points for each item.
fn cut<'b>(segmentation: &Segmentation, item_index: usize, bytes: &'b [u8]) -> Vec<&'b [u8]> {
    match *segmentation {
        Segmentation::Random { seed } => Segmentation::Random {
            seed: seed ^ (item_index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        }
        .split(bytes),
        other => other.split(bytes),
    }
}

struct Run<'s> {
    trace: Trace,
    spec: &'s ReplaySpec,
    closed: bool,
}

impl Run<'_> {
    fn drain<C: CoreUnderTest>(&mut self, core: &mut C) {
        while !self.closed {
            match core.poll_output() {
                None => break,
                Some(Output::Bytes(bytes)) => self.trace.push_bytes(self.spec.output, &bytes),
                Some(Output::Body(body)) => {
                    self.trace
                        .push_body(self.spec.output, &body, self.spec.elide_over)
                }
                Some(Output::Close) => {
                    self.trace.push_event(self.spec.output, Event::Close);
                    self.closed = true;
                }
            }
        }
    }
}

/// The bytes a payload stands for, for adapters that read the other side of a recording.
pub fn literal_bytes(payload: &Payload) -> &[u8] {
    payload
        .as_bytes()
        .expect("a recorded side holds literal bytes, not placeholders")
}
