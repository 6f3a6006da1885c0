//! (written in a later change)
