//! HTTP/1.1 server connections replayed: each trace in `tests/traces/http1/server/` is a client's
//! bytes; `wire::http1::conn::Conn` in the server role reads them (whole, byte by byte, at random
//! cuts) behind the test responder, and the snapshot shows what it answered and why.

use protolab_tests::corpus;
use protolab_tests::http1::server_role::ServerReplay;
use protolab_tests::replay::{replay, ReplaySpec};

#[test]
fn http1_server_replays() {
    insta::glob!("../traces/http1/server", "*.trace", |path| {
        let recorded = corpus::load(path);
        let transcript = replay(&recorded, &ReplaySpec::server(), ServerReplay::new);
        insta::assert_snapshot!(transcript.render());
    });
}
