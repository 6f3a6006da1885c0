//! HTTP/1.1 replays: [`wire::http1::conn::Conn`] in the server role behind a small deterministic
//! [`responder`], and in the client role sending the requests a trace's `C:` side holds.
//!
//! A trace chooses the connection's options with metadata:
//!
//! | key | effect |
//! | --- | --- |
//! | `leniency` | comma list of `bare-lf`, `obs-fold`, `space-before-colon`, `invalid-field-bytes` |
//! | `max-start-line`, `max-header-section`, `max-fields` | head limits (defaults 8 KiB, 32 KiB, 100) |
//! | `max-body` | largest body accepted (413 beyond it) |
//! | `now` | the clock: the responder sends `Date:` from it |

pub mod client_role;
pub mod responder;
pub mod server_role;

use wire::http1::conn::ConnOptions;
use wire::trace::Trace;

/// The connection options a trace's metadata asks for (see the module documentation). Panics on
/// a value it cannot read, naming the key.
pub fn conn_options(trace: &Trace) -> ConnOptions {
    let mut options = ConnOptions::default();
    if let Some(list) = trace.meta("leniency") {
        for name in list.split(',').map(str::trim) {
            let leniencies = &mut options.parse.leniencies;
            match name {
                "bare-lf" => leniencies.bare_lf = true,
                "obs-fold" => leniencies.obs_fold = true,
                "space-before-colon" => leniencies.space_before_colon = true,
                "invalid-field-bytes" => leniencies.invalid_field_bytes = true,
                other => panic!("# leniency: unknown leniency {other:?}"),
            }
        }
    }
    let number = |key: &str| {
        trace.meta(key).map(|value| {
            value
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("# {key}: {value:?} is not a number"))
        })
    };
    let limits = &mut options.parse.limits;
    if let Some(n) = number("max-start-line") {
        limits.max_start_line = n as usize;
    }
    if let Some(n) = number("max-header-section") {
        limits.max_header_section = n as usize;
    }
    if let Some(n) = number("max-fields") {
        limits.max_fields = n as usize;
    }
    if let Some(n) = number("max-body") {
        options.max_body = Some(n);
    }
    options
}

/// A short description of a body for a report line: its length and its bytes escaped, or its
/// length and digest when it is long.
pub fn describe_body(body: &[u8]) -> String {
    const SHOW_UP_TO: usize = 200;
    if body.len() > SHOW_UP_TO {
        wire::trace::ElidedBody::of(body).to_string()
    } else {
        format!(
            "{} bytes `{}`",
            body.len(),
            wire::trace::escape_inline(body)
        )
    }
}
