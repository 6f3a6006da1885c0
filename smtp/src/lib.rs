//! The `smtp` program: a thin shell around the SMTP cores in [`wire::smtp`].
//!
//! | module | what it does |
//! | --- | --- |
//! | [`cli`] | the command line (clap): `send`, `serve`, `show` |
//! | [`send`] | `smtp send`: options to envelope and message, the client session over a socket, `-v` traces |
//! | [`serve`] | `smtp serve`: the sink, one thread per connection around a server session |
//! | [`maildir`] | storing messages: `tmp/` then `new/`, envelopes beside them |
//! | `show` | `smtp show`: a stored message's parts, decoded attachments |
//! | `connection` | a TCP connection that becomes TLS (STARTTLS) or starts as TLS, and the read step (`Stream::receive`) both session loops share |
//! | [`tls`] | rustls settings: trust roots, `--ca`, `--insecure`, the sink's certificate |
//!
//! The protocol lives in `wire`; here are sockets, files, TLS and the terminal. Tests start a
//! sink on `127.0.0.1:0` with [`serve::Sink::start`] and send with [`send::send`].

pub mod cli;
mod connection;
pub mod maildir;
pub mod send;
pub mod serve;
mod show;
mod style;
pub mod tls;

/// Runs the parsed command line and returns the exit code.
pub fn run(cli: cli::Cli) -> i32 {
    cli.color.apply();
    match cli.command {
        cli::CommandKind::Send(args) => send::run(&args),
        cli::CommandKind::Serve(args) => serve::run(&args),
        cli::CommandKind::Show(args) => show::run(&args),
    }
}
