//! `client repl HOST PORT`: a console for typing raw requests (or any line protocol) by hand.

pub mod command;
pub mod helper;
