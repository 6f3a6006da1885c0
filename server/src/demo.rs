//! The built-in demo site, embedded in the binary so `server` works from any folder.
//!
//! The files under `server/demo/` are compiled in with `include_bytes!`. One more file,
//! `/files/large.txt`, is made when first asked for: 65,536 numbered lines of exactly 32 bytes
//! (2 MiB), so range requests have something long and predictable to cut from. The dynamic
//! routes (`/inspect`, `/cookies`, `/chunked`) live in [`crate::routes`].
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One embedded file: its path on the site and its bytes.
pub struct DemoFile {
    pub path: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! demo_files {
    ($($path:literal),* $(,)?) => {
        &[$(DemoFile { path: concat!("/", $path), bytes: include_bytes!(concat!("../demo/", $path)) }),*]
    };
}

/// Every embedded file, by site path.
pub static FILES: &[DemoFile] = demo_files![
    "index.html",
    "style.css",
    "keep-alive.html",
    "conditional.html",
    "ranges.html",
    "gzip.html",
    "chunked.html",
    "forms.html",
    "images/logo.svg",
    "images/packets.png",
    "files/README.txt",
    "files/hello.txt",
    "files/planets.json",
    "files/ports.csv",
    "files/notes/rfcs.txt",
    "files/notes/spaces & ampersands.txt",
];

/// The generated file for range requests.
pub const LARGE_PATH: &str = "/files/large.txt";
/// Lines in [`LARGE_PATH`]; each is [`LARGE_LINE`] bytes.
pub const LARGE_LINES: usize = 65_536;
pub const LARGE_LINE: usize = 32;

/// When the demo content last changed, as `Last-Modified` reports it (2026-11-21T00:00:00Z).
pub fn modified() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_219_200)
}

/// The bytes of `/files/large.txt`, made once.
pub fn large_file() -> &'static [u8] {
    static LARGE: OnceLock<Vec<u8>> = OnceLock::new();
    LARGE.get_or_init(|| {
        let mut out = Vec::with_capacity(LARGE_LINES * LARGE_LINE);
        for n in 0..LARGE_LINES {
            // "line 000001 of 065536 .........\n": 32 bytes whatever n is.
            let line = format!("line {:06} of {:06} .........\n", n + 1, LARGE_LINES);
            debug_assert_eq!(line.len(), LARGE_LINE);
            out.extend_from_slice(line.as_bytes());
        }
        out
    })
}

/// The file at a site path (already normalised, starting with `/`).
pub fn file(path: &str) -> Option<&'static [u8]> {
    if path == LARGE_PATH {
        return Some(large_file());
    }
    FILES.iter().find(|f| f.path == path).map(|f| f.bytes)
}

/// The port the demo pages are written with (`curl http://localhost:8080/`, `client GET
/// localhost 8080 /`).
pub const WRITTEN_PORT: u16 = 8080;

/// The file at a site path, its examples naming `port` instead of [`WRITTEN_PORT`]: a server
/// started with `--port 9000` (or 0) shows commands that reach it. Each page is rewritten once
/// per port and kept for the life of the process.
pub fn file_for_port(path: &str, port: u16) -> Option<&'static [u8]> {
    let bytes = file(path)?;
    let from = [
        format!("localhost:{WRITTEN_PORT}"),
        format!("localhost {WRITTEN_PORT}"),
    ];
    // Port 0 is "not known yet" (a config before its bind): the pages as written.
    if port == WRITTEN_PORT || port == 0 || !from.iter().any(|f| contains(bytes, f.as_bytes())) {
        return Some(bytes);
    }
    type Pages = HashMap<(String, u16), &'static [u8]>;
    static REWRITTEN: OnceLock<Mutex<Pages>> = OnceLock::new();
    let mut table = REWRITTEN.get_or_init(Default::default).lock().ok()?;
    let page = table.entry((path.to_string(), port)).or_insert_with(|| {
        let text = String::from_utf8_lossy(bytes)
            .replace(&from[0], &format!("localhost:{port}"))
            .replace(&from[1], &format!("localhost {port}"));
        Box::leak(text.into_bytes().into_boxed_slice())
    });
    Some(*page)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One entry of an embedded folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoEntry {
    pub name: String,
    pub is_dir: bool,
    pub len: u64,
}

/// The entries of an embedded folder (`dir` ends with `/`), or `None` when there is no such folder.
pub fn folder(dir: &str) -> Option<Vec<DemoEntry>> {
    let mut out: Vec<DemoEntry> = Vec::new();
    let all = FILES
        .iter()
        .map(|f| (f.path, f.bytes.len()))
        .chain([(LARGE_PATH, LARGE_LINES * LARGE_LINE)]);
    for (path, len) in all {
        let Some(rest) = path.strip_prefix(dir) else {
            continue;
        };
        let entry = match rest.split_once('/') {
            Some((sub, _)) => DemoEntry {
                name: sub.to_string(),
                is_dir: true,
                len: 0,
            },
            None => DemoEntry {
                name: rest.to_string(),
                is_dir: false,
                len: len as u64,
            },
        };
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_large_file_has_fixed_width_lines() {
        let f = large_file();
        assert_eq!(f.len(), LARGE_LINES * LARGE_LINE);
        assert_eq!(&f[..LARGE_LINE], b"line 000001 of 065536 .........\n");
        assert_eq!(
            &f[f.len() - LARGE_LINE..],
            b"line 065536 of 065536 .........\n"
        );
    }

    #[test]
    fn folders_list_files_and_subfolders() {
        let files = folder("/files/").unwrap();
        assert!(files.iter().any(|e| e.name == "notes" && e.is_dir));
        assert!(files
            .iter()
            .any(|e| e.name == "large.txt" && e.len == 2 * 1024 * 1024));
        assert_eq!(files.iter().filter(|e| e.name == "notes").count(), 1);
        assert!(folder("/nope/").is_none());
        assert!(file("/index.html").is_some());
        assert!(file("/files/notes/spaces & ampersands.txt").is_some());
    }
}
