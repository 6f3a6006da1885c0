//! The `client` program's shell (filled in by its own change).
