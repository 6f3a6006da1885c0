//! The `server` program's shell (filled in by its own change).
