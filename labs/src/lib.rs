//! The `labs` program's shell (filled in by its own change).
