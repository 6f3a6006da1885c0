//! Line editing help for the REPL: completion of methods, common header names and commands, and
//! where the history file lives.

use std::path::PathBuf;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::command::COMMANDS;

/// Methods offered at the start of a request line (RFC 9110 §9.3, plus PATCH from RFC 5789).
pub const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH",
];

/// Header names offered at the start of a header line.
pub const HEADER_NAMES: &[&str] = &[
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Authorization",
    "Cache-Control",
    "Connection",
    "Content-Length",
    "Content-Type",
    "Cookie",
    "Expect",
    "Host",
    "If-Match",
    "If-Modified-Since",
    "If-None-Match",
    "If-Range",
    "If-Unmodified-Since",
    "Origin",
    "Range",
    "Referer",
    "TE",
    "Transfer-Encoding",
    "Upgrade",
    "User-Agent",
];

/// Versions offered after a request target.
const VERSIONS: &[&str] = &["HTTP/1.1", "HTTP/1.0"];

/// Completion for the REPL. Knows whether the next line starts a request or is a header line.
#[derive(Debug, Default)]
pub struct ReplHelper {
    /// True while a request head is being typed (its first line has been entered).
    pub in_head: bool,
    /// Line mode: only commands are completed.
    pub line_mode: bool,
}

impl ReplHelper {
    /// The candidates for the word ending at `pos`, and where that word starts.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        if let Some(word) = before.strip_prefix(':') {
            if !word.contains(' ') {
                let found = COMMANDS
                    .iter()
                    .map(|(name, _, _)| name.to_string())
                    .filter(|name| name[1..].starts_with(word))
                    .collect();
                return (0, found);
            }
            return (pos, Vec::new());
        }
        if self.line_mode {
            return (pos, Vec::new());
        }
        let start = before.rfind(' ').map_or(0, |i| i + 1);
        let word = &before[start..];
        let first_word = start == 0;
        let matches = |list: &[&str], suffix: &str| -> Vec<String> {
            list.iter()
                .filter(|c| c.len() >= word.len() && c[..word.len()].eq_ignore_ascii_case(word))
                .map(|c| format!("{c}{suffix}"))
                .collect()
        };
        if first_word && !self.in_head {
            (start, matches(METHODS, " "))
        } else if first_word {
            (start, matches(HEADER_NAMES, ": "))
        } else if !self.in_head && before[..start].trim_end().contains(' ') {
            (start, matches(VERSIONS, ""))
        } else {
            (pos, Vec::new())
        }
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = self.candidates(line, pos);
        let pairs = found
            .into_iter()
            .map(|c| Pair {
                display: c.trim_end_matches([' ', ':']).to_string(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Validator for ReplHelper {}

impl Helper for ReplHelper {}

/// Where the history is kept: `$XDG_DATA_HOME/protolab/client_history`, else
/// `~/.local/share/protolab/client_history`. None when neither can be found.
pub fn history_path() -> Option<PathBuf> {
    history_path_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

fn history_path_from(
    xdg: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    let base = match xdg.filter(|x| !x.is_empty()).map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => PathBuf::from(home.filter(|h| !h.is_empty())?).join(".local/share"),
    };
    Some(base.join("protolab").join("client_history"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn completes_methods_then_headers() {
        let mut h = ReplHelper::default();
        assert_eq!(h.candidates("GE", 2), (0, vec!["GET ".to_string()]));
        assert_eq!(h.candidates("p", 1).1, vec!["POST ", "PUT ", "PATCH "]);
        assert_eq!(
            h.candidates("GET / HT", 8),
            (6, vec!["HTTP/1.1".into(), "HTTP/1.0".into()])
        );
        h.in_head = true;
        assert_eq!(
            h.candidates("content-t", 9),
            (0, vec!["Content-Type: ".to_string()])
        );
        assert_eq!(h.candidates("Host: x", 7).1, Vec::<String>::new());
    }

    #[test]
    fn completes_commands_in_any_mode() {
        let h = ReplHelper {
            in_head: false,
            line_mode: true,
        };
        assert_eq!(h.candidates(":re", 3).1, vec![":reconnect", ":record"]);
        assert_eq!(h.candidates("EH", 2).1, Vec::<String>::new());
    }

    #[test]
    fn history_lives_in_the_data_folder() {
        assert_eq!(
            history_path_from(Some("/data".into()), Some("/home/u".into())),
            Some(PathBuf::from("/data/protolab/client_history"))
        );
        assert_eq!(
            history_path_from(None, Some("/home/u".into())),
            Some(PathBuf::from(
                "/home/u/.local/share/protolab/client_history"
            ))
        );
        // A relative XDG_DATA_HOME is invalid per the XDG spec and is ignored.
        assert_eq!(
            history_path_from(Some("rel".into()), Some("/h".into())),
            Some(PathBuf::from("/h/.local/share/protolab/client_history"))
        );
        assert_eq!(history_path_from(None, None), None);
    }
}
