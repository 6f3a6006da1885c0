//! Colour on a terminal only: `--color auto|always|never`, and `NO_COLOR` honoured under `auto`.
//!
//! The decision is anstream's (the crate clap draws its help with): under `auto`, no colour when
//! `NO_COLOR` is set and not empty, when `CLICOLOR=0`, when `TERM=dumb` or unset, or when the
//! stream is not a terminal; `CLICOLOR_FORCE` turns it on. `--color always` and `--color never`
//! override all of that, as a flag on the command line should.
//!
//! Programs build strings with [`Paint`] and print them as usual; a `Paint` decided for a stream
//! that gets no colour returns the text untouched.

use anstyle::{AnsiColor, Style};

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set
    #[default]
    Auto,
    /// Always, even into a pipe or a file
    Always,
    /// Never
    Never,
}

impl ColorWhen {
    /// Makes this the choice for the whole program: every [`Paint::stdout`] and
    /// [`Paint::stderr`] decided afterwards follows it.
    pub fn apply(self) {
        let choice = match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

/// The `--color` flag, to `#[command(flatten)]` into a program's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::Args)]
pub struct ColorArg {
    /// When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto, global = true)]
    pub color: ColorWhen,
}

impl ColorArg {
    /// Makes the flag's choice the program's (see [`ColorWhen::apply`]).
    pub fn apply(self) {
        self.color.apply();
    }
}

/// Whether to colour one stream, decided once, and the styles the programs share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    /// Never colour (JSON, files, tests).
    pub const PLAIN: Paint = Paint { enabled: false };

    /// Always colour.
    pub const ALWAYS: Paint = Paint { enabled: true };

    /// Decided for standard output under the program's `--color` choice.
    pub fn stdout() -> Paint {
        Paint::decided(anstream::AutoStream::choice(&std::io::stdout()))
    }

    /// Decided for standard error under the program's `--color` choice.
    pub fn stderr() -> Paint {
        Paint::decided(anstream::AutoStream::choice(&std::io::stderr()))
    }

    /// Colour or not, as told.
    pub fn new(enabled: bool) -> Paint {
        Paint { enabled }
    }

    fn decided(choice: anstream::ColorChoice) -> Paint {
        Paint {
            enabled: !matches!(choice, anstream::ColorChoice::Never),
        }
    }

    /// Whether this stream gets colour.
    pub fn enabled(self) -> bool {
        self.enabled
    }

    /// `text` in `style`, or `text` as it is when colour is off.
    pub fn paint(self, style: Style, text: &str) -> String {
        if self.enabled && style != Style::new() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// Red and bold: something failed or was refused.
    pub fn error(self, text: &str) -> String {
        self.paint(ERROR, text)
    }

    /// Yellow: worth knowing, not fatal (a loss, a warning).
    pub fn warn(self, text: &str) -> String {
        self.paint(WARN, text)
    }

    /// Green: it worked.
    pub fn ok(self, text: &str) -> String {
        self.paint(OK, text)
    }

    /// Magenta: odd but harmless (a duplicate, a late reply, an event).
    pub fn note(self, text: &str) -> String {
        self.paint(NOTE, text)
    }

    /// Bold: headings and names.
    pub fn bold(self, text: &str) -> String {
        self.paint(BOLD, text)
    }

    /// Dim: what the eye may skip (escapes, timings).
    pub fn dim(self, text: &str) -> String {
        self.paint(DIM, text)
    }
}

/// Something failed.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// A warning.
pub const WARN: Style = AnsiColor::Yellow.on_default();
/// Success.
pub const OK: Style = AnsiColor::Green.on_default();
/// Odd but harmless.
pub const NOTE: Style = AnsiColor::Magenta.on_default();
/// Headings.
pub const BOLD: Style = Style::new().bold();
/// Skippable detail.
pub const DIM: Style = Style::new().dimmed();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_leaves_text_alone_and_always_wraps_it() {
        assert_eq!(Paint::PLAIN.error("lost"), "lost");
        assert_eq!(
            Paint::ALWAYS.error("lost"),
            "\u{1b}[1m\u{1b}[31mlost\u{1b}[0m"
        );
        assert_eq!(Paint::ALWAYS.warn("lost"), "\u{1b}[33mlost\u{1b}[0m");
        assert_eq!(Paint::ALWAYS.paint(Style::new(), "x"), "x");
    }
}
