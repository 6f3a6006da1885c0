//! Colour for messages on a terminal: only when stderr is one and `NO_COLOR` is not set.

use std::io::IsTerminal;

fn enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn paint(text: &str, code: &str) -> String {
    if enabled() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Red and bold: something failed.
pub fn error(text: &str) -> String {
    paint(text, "1;31")
}

/// Yellow: worth knowing, not fatal.
pub fn warning(text: &str) -> String {
    paint(text, "33")
}
