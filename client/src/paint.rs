//! Colour for what a person reads: on a terminal only, never when `NO_COLOR` is set.
//!
//! Whether a stream gets colour is decided as every protolab program decides it (`cmdline`, on
//! anstream: `--color auto|always|never`; under `auto`, a terminal without `NO_COLOR`,
//! `CLICOLOR=0` or `TERM=dumb`). The styles are anstyle's. The trace text itself comes from
//! `wire::trace`; this module only wraps finished lines in styles by their tag (`C:` requests in
//! cyan, `S:` responses in green, events and diagnoses in their own colours, the `\r\n` escapes
//! dimmed so the words stand out).

use anstyle::{AnsiColor, Reset, Style};

/// The user's `--color` choice: cmdline's, shared by every protolab program.
pub use cmdline::ColorWhen as ColorChoice;

/// Whether to colour, decided once per output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Paint {
    /// Emit ANSI escape sequences.
    pub enabled: bool,
}

const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();
const RED: Style = AnsiColor::Red.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const MAGENTA: Style = AnsiColor::Magenta.on_default();
const CYAN: Style = AnsiColor::Cyan.on_default();

impl Paint {
    /// No colour at all (the unit tests' paint).
    #[cfg(test)]
    pub const PLAIN: Paint = Paint { enabled: false };

    /// Decides for stderr under `choice`.
    pub fn for_stderr(choice: ColorChoice) -> Paint {
        Paint::decide(choice, || cmdline::Paint::stderr().enabled())
    }

    /// Decides for stdout under `choice`.
    pub fn for_stdout(choice: ColorChoice) -> Paint {
        Paint::decide(choice, || cmdline::Paint::stdout().enabled())
    }

    /// `always` and `never` win; `auto` asks the stream (terminal, NO_COLOR, TERM).
    fn decide(choice: ColorChoice, auto: impl FnOnce() -> bool) -> Paint {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => auto(),
        };
        Paint { enabled }
    }

    /// One rendered trace line (without its newline), coloured by its tag.
    pub fn trace_line(&self, line: &str) -> String {
        if !self.enabled {
            return line.to_string();
        }
        let colour = if line.starts_with("C:") || line.starts_with("C>") || line.starts_with("P>") {
            CYAN
        } else if line.starts_with("S:") || line.starts_with("O>") {
            GREEN
        } else if line.starts_with('#') {
            YELLOW
        } else {
            MAGENTA
        };
        let (tag, rest) = match line.find(':') {
            Some(i) if i < 5 => line.split_at(i + 1),
            _ => ("", line),
        };
        let (colour, dim, magenta, reset) = (
            colour.render().to_string(),
            DIM.render().to_string(),
            MAGENTA.render().to_string(),
            Reset.render().to_string(),
        );
        let mut out = String::with_capacity(line.len() + 32);
        out.push_str(&BOLD.render().to_string());
        out.push_str(&colour);
        out.push_str(tag);
        out.push_str(&reset);
        out.push_str(&colour);
        // Dim the escapes (`\r`, `\n`, `\xHH`, ...) and events (`<close>`) inside the line.
        let mut chars = rest.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if c == '\\' {
                out.push_str(&dim);
                out.push(c);
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                    if next == 'x' {
                        for _ in 0..2 {
                            if let Some((_, h)) = chars.next() {
                                out.push(h);
                            }
                        }
                    }
                }
                out.push_str(&reset);
                out.push_str(&colour);
            } else if c == '<'
                && rest.trim_end().ends_with('>')
                && rest.trim_start().starts_with('<')
            {
                out.push_str(&magenta);
                out.push(c);
            } else {
                out.push(c);
            }
        }
        out.push_str(&reset);
        out
    }

    /// A diagnosis line: what the peer did wrong.
    pub fn diagnosis(&self, text: &str) -> String {
        self.wrap(YELLOW, text)
    }

    /// An error line.
    pub fn error(&self, text: &str) -> String {
        self.wrap(RED, text)
    }

    /// A quiet remark (timing, connection reuse).
    pub fn note(&self, text: &str) -> String {
        self.wrap(DIM, text)
    }

    /// Emphasis (the REPL's prompt, the load report's headline).
    pub fn bold(&self, text: &str) -> String {
        self.wrap(BOLD, text)
    }

    fn wrap(&self, style: Style, text: &str) -> String {
        if self.enabled {
            format!("{}{text}{}", style.render(), Reset.render())
        } else {
            text.to_string()
        }
    }
}

/// A classic hex dump of `bytes`, each line prefixed with `tag` and offsets counted from `base`:
/// `C: 00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|`.
pub fn hex_dump(tag: &str, base: usize, bytes: &[u8]) -> String {
    let mut out = String::new();
    for (row, chunk) in bytes.chunks(16).enumerate() {
        out.push_str(tag);
        out.push_str(&format!(" {:08x} ", base + row * 16));
        for i in 0..16 {
            if i == 8 {
                out.push(' ');
            }
            match chunk.get(i) {
                Some(b) => out.push_str(&format!(" {b:02x}")),
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        for &b in chunk {
            out.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        out.push_str("|\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn hex_dump_shows_offsets_bytes_and_printable_text() {
        let dump = hex_dump("C:", 0, b"GET / HTTP/1.1\r\nHost: a\r\n");
        assert_eq!(
            dump,
            "C: 00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|\n\
             C: 00000010  48 6f 73 74 3a 20 61 0d  0a                       |Host: a..|\n"
        );
    }

    #[test]
    fn plain_paint_leaves_text_alone() {
        assert_eq!(
            Paint::PLAIN.trace_line("S: HTTP/1.1 200 OK\\r\\n"),
            "S: HTTP/1.1 200 OK\\r\\n"
        );
        assert_eq!(Paint::PLAIN.error("x"), "x");
    }

    #[test]
    fn colour_wraps_tag_and_dims_escapes() {
        let p = Paint { enabled: true };
        let line = p.trace_line("C: GET / HTTP/1.1\\r\\n");
        assert!(line.starts_with("\x1b[1m\x1b[36mC:\x1b[0m"), "{line:?}");
        assert!(line.contains("\x1b[2m\\r\x1b[0m"), "{line:?}");
        assert!(line.ends_with("\x1b[0m"));
    }

    #[test]
    fn never_and_always_override_the_terminal_check() {
        assert!(!Paint::decide(ColorChoice::Never, || true).enabled);
        assert!(Paint::decide(ColorChoice::Always, || false).enabled);
        assert!(!Paint::decide(ColorChoice::Auto, || false).enabled);
        assert!(Paint::decide(ColorChoice::Auto, || true).enabled);
    }

    #[test]
    fn the_styles_are_the_usual_ansi_ones() {
        let p = Paint { enabled: true };
        assert_eq!(p.error("x"), "\x1b[31mx\x1b[0m");
        assert_eq!(p.bold("x"), "\x1b[1mx\x1b[0m");
        assert_eq!(p.note("x"), "\x1b[2mx\x1b[0m");
    }
}
