//! Applying `wire::http1::range`'s decision to a file: 206 with one `Content-Range`, 206 with a
//! `multipart/byteranges` body, 416 with `Content-Range: bytes */length`, or the whole file.
use wire::http1::conditional::CurrentRepresentation;
use wire::http1::date::HttpDate;
use wire::http1::range::{
    self, BodySegment, ContentRange, MultipartByteranges, RangeDecision, RangePolicy,
};
use wire::http1::RequestHead;

use crate::handler::Context;
use crate::response::{Body, Response, Segment};

/// Answers a GET with a `Range` field. `resp` already carries the validators and type; `whole`
/// is the representation as segments (one segment: a file or embedded bytes).
pub fn apply(
    head: &RequestHead,
    cx: &Context<'_>,
    mut resp: Response,
    whole: &[Segment],
    len: u64,
    current: &CurrentRepresentation,
    ty: &str,
) -> Response {
    let decision = range::decide(
        &head.method,
        head.headers.get("range"),
        head.headers.get("if-range"),
        current,
        len,
        &RangePolicy::default(),
        HttpDate::from(cx.now),
    );
    match decision {
        RangeDecision::Whole(_) => resp.body(Body::Fixed(whole.to_vec())),
        RangeDecision::NotSatisfiable => {
            let value = ContentRange::Unsatisfied {
                complete_length: len,
            }
            .to_string();
            Response::text(
                416,
                format!("416 Range Not Satisfiable: the file has {len} bytes"),
            )
            .header("Content-Range", value)
            .header("Accept-Ranges", "bytes")
        }
        RangeDecision::Partial(ranges) if ranges.len() == 1 => {
            let r = ranges[0];
            resp.status = 206;
            resp.push_header(
                "Content-Range",
                ContentRange::Satisfied {
                    range: r,
                    complete_length: Some(len),
                }
                .to_string()
                .as_bytes(),
            );
            resp.body(Body::Fixed(vec![slice(&whole[0], r.first, r.len())]))
        }
        RangeDecision::Partial(ranges) => {
            // The boundary comes from the entity tag: stable for one file version, so tests and
            // caches see the same bytes twice.
            let seed = current
                .etag
                .as_ref()
                .map(|t| t.opaque().to_vec())
                .unwrap_or_default();
            let boundary = format!("protolab-{:016x}", fnv(&seed));
            let plan = match MultipartByteranges::new(&boundary, Some(ty), len, ranges) {
                Ok(p) => p,
                Err(_) => return resp.body(Body::Fixed(whole.to_vec())),
            };
            // A multipart body is not this file's type: the multipart type replaces it.
            resp.status = 206;
            resp.remove_header("content-type");
            resp.push_header("Content-Type", plan.content_type().as_bytes());
            let body = plan
                .segments()
                .into_iter()
                .map(|s| match s {
                    BodySegment::Literal(bytes) => Segment::Bytes(bytes.into()),
                    BodySegment::Representation(r) => slice(&whole[0], r.first, r.len()),
                })
                .collect();
            resp.body(Body::Fixed(body))
        }
    }
}

/// `len` bytes of a whole-representation segment from `first`.
fn slice(whole: &Segment, first: u64, len: u64) -> Segment {
    match whole {
        Segment::File { file, offset, .. } => Segment::File {
            file: file.clone(),
            offset: offset + first,
            len,
        },
        Segment::Static(b) => Segment::Static(&b[first as usize..(first + len) as usize]),
        Segment::Bytes(b) => Segment::Bytes(b[first as usize..(first + len) as usize].into()),
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
