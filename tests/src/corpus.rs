//! Where the recorded traces live and how a test loads one.

use std::path::{Path, PathBuf};

use wire::trace::Trace;

/// `tests/traces/`, the root of the recorded exchanges.
pub fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces")
}

/// Reads and parses a trace file, panicking with the file name and the parse error (line,
/// column, offending text) when it is not a valid trace.
pub fn load(path: &Path) -> Trace {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Trace::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.trace` file under `dir`, recursively, sorted by path.
pub fn trace_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "trace") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
