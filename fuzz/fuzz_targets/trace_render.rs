//! Trace renderer: any bytes, cut into items by the fuzzer's own bytes, obey the law
//! `parse(render(t)) == t`, and render stably, over TCP and UDP.
//!
//! Input layout: repeated `[control, len, bytes...]`. `control` picks the tag (low 3 bits), and
//! whether the item is bytes, an elided body, `<any>` or an event (next 2 bits).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::trace::{Event, Piece, Tag, Trace, Transport};

fuzz_target!(|data: &[u8]| {
    for transport in [Transport::Tcp, Transport::Udp] {
        let trace = build(data, transport);
        let rendered = trace.render();
        let parsed = Trace::parse(&rendered)
            .unwrap_or_else(|e| panic!("rendered trace does not parse: {e}\n{rendered}"));
        assert_eq!(parsed, trace, "{rendered}");
        assert_eq!(parsed.render(), rendered);
    }
});

fn build(mut data: &[u8], transport: Transport) -> Trace {
    let mut trace = Trace::new(transport);
    while let [control, len, rest @ ..] = data {
        let take = usize::from(*len).min(rest.len());
        let (bytes, after) = rest.split_at(take);
        data = after;
        let tag = Tag::ALL[usize::from(control & 7) % Tag::ALL.len()];
        match (control >> 3) & 3 {
            0 | 1 => trace.push_bytes(tag, bytes),
            2 => trace.push_body(tag, bytes, Some(0)),
            _ => match control >> 5 {
                0 => trace.push_piece(tag, Piece::Any),
                1 => trace.push_event(tag, Event::Close),
                2 if transport == Transport::Udp => trace.push_event(tag, Event::Lost),
                _ => trace.push_event(
                    tag,
                    Event::Wait {
                        millis: bytes
                            .iter()
                            .fold(0u64, |n, &b| n.wrapping_mul(251) ^ u64::from(b)),
                    },
                ),
            },
        }
    }
    trace
}
