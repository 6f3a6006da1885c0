//! Colour for a terminal only: off when the output is not a terminal or `NO_COLOR` is set.

use std::io::IsTerminal;

/// Whether to colour, decided once per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Colour only if `stream` is a terminal and `NO_COLOR` is unset or empty.
    pub fn for_stream(stream: &impl IsTerminal) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Paint {
            on: stream.is_terminal() && !no_color,
        }
    }

    /// Never colour (tests, pipes, JSON).
    pub fn plain() -> Self {
        Paint { on: false }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Something lost.
    pub fn warn(self, text: &str) -> String {
        self.wrap("33", text)
    }

    /// Something refused or broken.
    pub fn error(self, text: &str) -> String {
        self.wrap("31", text)
    }

    /// Something odd but harmless (duplicates, late replies).
    pub fn note(self, text: &str) -> String {
        self.wrap("35", text)
    }

    /// Headings.
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
}
