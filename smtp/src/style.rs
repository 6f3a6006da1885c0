//! Colour for messages on standard error, as every protolab program decides it (cmdline:
//! `--color auto|always|never`; under auto, only on a terminal and never with `NO_COLOR`).

use cmdline::Paint;

/// Red and bold: something failed.
pub fn error(text: &str) -> String {
    Paint::stderr().error(text)
}

/// Yellow: worth knowing, not fatal.
pub fn warning(text: &str) -> String {
    Paint::stderr().warn(text)
}
