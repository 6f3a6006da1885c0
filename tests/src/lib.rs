//! The replay harness: recorded exchanges (`.trace` files) fed to the protocol cores, whole, byte
//! by byte and at seeded random split points (`wire::testing::Segmentation`), with what comes back rendered as a trace and
//! snapshotted.
//!
//! | module | what it gives a test |
//! | --- | --- |
//! | [`corpus`] | where the trace files live, loading one with a clear error |
//! | [`replay`] | the [`replay::CoreUnderTest`] adapter trait, [`replay::replay`] and the transcript |
//! | [`http1`] | `Conn` as a server behind a test responder, and as a client, with options from metadata |
//! | [`tools`] | outside programs (curl, xmllint, Chromium): installed or not, run one |
//!
//! A test file per behaviour lives in `tests/tests/`; each globs its folder of traces with insta
//! and snapshots the transcripts. To add a case, drop a `.trace` file in the folder and run
//! `cargo insta test -p protolab-tests` (or `INSTA_UPDATE=always cargo test -p protolab-tests`),
//! then read the new snapshot before accepting it.

pub mod corpus;
pub mod http1;
pub mod replay;
pub mod tools;
