//! The `client` program: a raw HTTP client that shows every byte, a REPL for typing requests by
//! hand, and a load generator.
//!
//! It is a shell: the HTTP messages are parsed and framed by `wire::http1`, and what went over the
//! wire is rendered by `wire::trace`. This crate moves bytes between those cores and sockets,
//! files and the terminal.
//!
//! | module | what it does |
//! | --- | --- |
//! | [`cli`] | the command line (clap) |
//! | `target` | the lab form and URLs, turned into places to connect to |
//! | `net` | resolve, connect with a timeout, TLS handshake, timing of each phase |
//! | `tls` | rustls configuration from the shared `trust` crate: system roots, `--cacert`, `-k` |
//! | `forms` | `--data-urlencode` and `-F` (multipart/form-data) bodies |
//! | `cookies` | `-b` / `-c`: the Netscape cookie file, `Set-Cookie` in, `Cookie` out |
//! | `preconditions` | `-r` (Range) and `-z` (If-Modified-Since from a date or a file) |
//! | `paint` | colour on a terminal only, hex dumps |
//! | `raw` | what `--raw` bytes ask for: how many requests, and whether one is unfinished |
//! | `response` | reading responses leniently, with a diagnosis of what a server got wrong |
//! | `transcript` | the exchange in trace syntax, large bodies elided, and `--record` |
//! | `exit` | curl-compatible exit codes |

pub mod cli;
mod cookies;
mod exit;
mod forms;
mod load;
mod net;
mod oneshot;
mod paint;
mod preconditions;
mod raw;
mod repl;
mod request;
mod response;
mod target;
mod tls;
mod transcript;

pub use exit::ExitCode;

use std::io::{Read, Write};

/// Runs the program for parsed arguments, with its output going to the given streams (tests
/// hand in buffers; `main` hands in the process's own).
pub fn run(
    cli: cli::Cli,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    stdin: &mut dyn Read,
) -> ExitCode {
    match cli.command {
        Some(cli::Command::Load(args)) => load::run(&args, stdout, stderr),
        Some(cli::Command::Repl(args)) => repl::run(&args),
        None => {
            let paint = paint::Paint::for_stderr(cli.request.color);
            let mut io = oneshot::Io {
                stdout,
                stderr,
                stdin,
                paint,
            };
            oneshot::run(&cli.request, &mut io)
        }
    }
}

/// Runs a one-shot request from command-line words (without the program name), capturing
/// stdout and stderr: what the tests use.
pub fn run_captured(args: &[&str]) -> (ExitCode, Vec<u8>, Vec<u8>) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = std::iter::once("client").chain(args.iter().copied());
    let code = match cli::parse_from(argv) {
        Ok(cli) => run(cli, &mut out, &mut err, &mut std::io::empty()),
        // --help and --version go to stdout and succeed, as they do from the shell.
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            out.extend_from_slice(e.to_string().as_bytes());
            ExitCode::Ok
        }
        Err(e) => {
            err.extend_from_slice(e.to_string().as_bytes());
            ExitCode::Usage
        }
    };
    (code, out, err)
}
