//! Colour for what a person reads: on a terminal only, never when `NO_COLOR` is set.
//!
//! The trace text itself comes from `wire::trace`; this module only wraps finished lines in ANSI
//! styles by their tag (`C:` requests in cyan, `S:` responses in green, events and diagnoses in
//! their own colours, the `\r\n` escapes dimmed so the words stand out).

use std::io::IsTerminal;

/// Whether to colour, decided once per output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Paint {
    /// Emit ANSI escape sequences.
    pub enabled: bool,
}

/// The user's `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";

impl Paint {
    /// No colour at all.
    pub const PLAIN: Paint = Paint { enabled: false };

    /// Decides for stderr: colour when it is a terminal and `NO_COLOR` is unset or empty.
    pub fn for_stderr(choice: ColorChoice) -> Paint {
        Paint::decide(choice, std::io::stderr().is_terminal())
    }

    /// Decides for stdout.
    pub fn for_stdout(choice: ColorChoice) -> Paint {
        Paint::decide(choice, std::io::stdout().is_terminal())
    }

    fn decide(choice: ColorChoice, terminal: bool) -> Paint {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
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
        let mut out = String::with_capacity(line.len() + 32);
        out.push_str(BOLD);
        out.push_str(colour);
        out.push_str(tag);
        out.push_str(RESET);
        out.push_str(colour);
        // Dim the escapes (`\r`, `\n`, `\xHH`, ...) and events (`<close>`) inside the line.
        let mut chars = rest.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if c == '\\' {
                out.push_str(DIM);
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
                out.push_str(RESET);
                out.push_str(colour);
            } else if c == '<'
                && rest.trim_end().ends_with('>')
                && rest.trim_start().starts_with('<')
            {
                out.push_str(MAGENTA);
                out.push(c);
            } else {
                out.push(c);
            }
        }
        out.push_str(RESET);
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

    fn wrap(&self, style: &str, text: &str) -> String {
        if self.enabled {
            format!("{style}{text}{RESET}")
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
        assert!(line.ends_with(RESET));
    }

    #[test]
    fn never_and_always_override_the_terminal_check() {
        assert!(!Paint::decide(ColorChoice::Never, true).enabled);
        assert!(Paint::decide(ColorChoice::Always, false).enabled);
        assert!(!Paint::decide(ColorChoice::Auto, false).enabled);
    }
}
