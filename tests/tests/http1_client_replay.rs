//! HTTP/1.1 client connections replayed: each trace in `tests/traces/http1/client/` holds the
//! requests to send (`C:`) and a server's recorded bytes (`S:`); `wire::http1::conn::Conn` in the
//! client role sends the requests and reads the responses (whole, byte by byte, at random cuts),
//! and the snapshot shows how it framed each one.

use protolab_tests::corpus;
use protolab_tests::http1::client_role::ClientReplay;
use protolab_tests::replay::{replay, ReplaySpec};

#[test]
fn http1_client_replays() {
    insta::glob!("../traces/http1/client", "*.trace", |path| {
        let recorded = corpus::load(path);
        let transcript = replay(&recorded, &ReplaySpec::client(), ClientReplay::new);
        insta::assert_snapshot!(transcript.render());
    });
}
