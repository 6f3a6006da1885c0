//! Every `.trace` file in `tests/traces/` is a valid trace, written the way the renderer writes it
//! (so files stay uniform and diffs stay small), and survives a parse-render round trip.
//!
//! To put hand-written files into rendered form (one wire line per text line, comments dropped):
//! `PROTOLAB_REWRITE_TRACES=1 cargo test -p protolab-tests --test trace_files`.

use protolab_tests::corpus;
use wire::trace::Trace;

#[test]
fn every_trace_file_is_canonical_and_round_trips() {
    let files = corpus::trace_files(&corpus::traces_dir());
    assert!(
        !files.is_empty(),
        "no trace files under {}",
        corpus::traces_dir().display()
    );
    let mut not_canonical = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let trace = corpus::load(path);
        let rendered = trace.render();
        assert_eq!(
            Trace::parse(&rendered).as_ref(),
            Ok(&trace),
            "{}",
            path.display()
        );
        if rendered != text && std::env::var_os("PROTOLAB_REWRITE_TRACES").is_some() {
            std::fs::write(path, &rendered).unwrap();
        } else if rendered != text {
            not_canonical.push(format!(
                "{} is not in rendered form; it would read:\n{rendered}",
                path.display()
            ));
        }
    }
    assert!(not_canonical.is_empty(), "{}", not_canonical.join("\n"));
}
