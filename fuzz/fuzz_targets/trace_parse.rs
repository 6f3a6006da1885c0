//! Trace parser: any text either parses or gives an error with a position inside the text; what
//! parses renders to text that parses back to the same trace, and renders the same again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::trace::Trace;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Trace::parse(&text) {
        Ok(trace) => {
            let rendered = trace.render();
            let again = Trace::parse(&rendered)
                .unwrap_or_else(|e| panic!("rendered trace does not parse: {e}\n{rendered}"));
            assert_eq!(again, trace, "{rendered}");
            assert_eq!(again.render(), rendered);
        }
        Err(error) => {
            let lines = text.split('\n').count();
            assert!(error.line >= 1 && error.line <= lines, "{error}");
            assert!(error.column >= 1, "{error}");
            let _ = error.to_string();
        }
    }
});
