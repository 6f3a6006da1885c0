//! The replay harness: recorded exchanges (`.trace` files) fed to the protocol cores and the
//! programs, whole, byte by byte and at seeded random split points, with what comes back rendered
//! as a trace and snapshotted.
