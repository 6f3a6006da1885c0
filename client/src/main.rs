//! `client`: a raw HTTP client, a REPL for raw requests, and a load generator.
fn main() -> std::process::ExitCode {
    broken_pipe::end_quietly(); // `client ... | head` ends quietly
    let cli = client::cli::parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit());
    let stdout = std::io::stdout();
    // Not locked for the whole run: the REPL prints from its reader thread too.
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, stdout);
    let mut stderr = std::io::stderr();
    let mut stdin = std::io::stdin();
    let code = client::run(cli, &mut stdout, &mut stderr, &mut stdin);
    use std::io::Write;
    if let Err(e) = stdout.flush() {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("client: cannot write to stdout: {e}");
            return client::ExitCode::WriteError.into();
        }
    }
    code.into()
}
