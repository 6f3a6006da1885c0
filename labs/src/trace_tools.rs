//! `labs trace`: what to do with a `.trace` file besides replaying it.
//!
//! - `labs trace view FILE.trace -o OUT.html` (or `OUT.svg`): the exchange as a sequence diagram.
//! - `labs trace pcap FILE.trace -o OUT.pcapng`: the exchange as a capture for Wireshark and
//!   tshark ([`crate::capture`]).
//! - `labs trace import CAPTURE -o OUT.trace [--port N]`: a pcap or pcapng capture of a real
//!   exchange as traces, one per TCP connection ([`crate::import`]).

use clap::Subcommand;
use std::path::{Path, PathBuf};
use wire::trace::Trace;

/// `labs trace ...`.
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Draw a .trace file as a sequence diagram: an HTML page, or an SVG picture.
    View {
        /// The .trace file (recorded by `client --record`, `labs check --record` or the tests).
        file: PathBuf,
        /// Where to write it: a name ending in .html (a page with the messages listed under the
        /// diagram) or .svg (the diagram alone); `-` writes the SVG to standard output.
        /// Without -o: FILE.html next to the trace.
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
    },
    /// Write a .trace file as a pcapng capture that Wireshark and tshark open and decode.
    Pcap {
        /// The .trace file.
        file: PathBuf,
        /// The capture to write (OUT.pcapng). Without -o: FILE.pcapng next to the trace.
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// The server's port in the capture (default: 80 for HTTP, 25 for SMTP, 3128 for a
        /// proxy, 12000 for the pinger), which tells Wireshark how to decode the bytes.
        #[arg(long, value_name = "N")]
        port: Option<u16>,
    },
    /// Turn a capture (tcpdump -w, Wireshark) into .trace files: each TCP connection's streams
    /// reassembled in order, client and server told apart by who connected.
    Import {
        /// The capture: a .pcap or .pcapng file.
        capture: PathBuf,
        /// The trace to write. With several connections, OUT-1.trace, OUT-2.trace and so on.
        /// Without -o: CAPTURE.trace (CAPTURE-N.trace) next to the capture.
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// Only the connections (and UDP exchanges) with this port at one end, usually the
        /// server's; it also names the server when the capture missed the handshake.
        #[arg(long, value_name = "N")]
        port: Option<u16>,
    },
}

/// What `labs trace --help` adds at the end.
pub const AFTER_HELP: &str = "\
Examples:
  labs trace view exchange.trace                 writes exchange.html next to it
  labs trace view exchange.trace -o picture.svg  the diagram alone, for slides or a report
  labs check http/1 --target 127.0.0.1:8080 --record traces
  labs trace view traces/http-connect-1.trace -o connect.html
  labs trace pcap exchange.trace -o exchange.pcapng
                                                 open it in Wireshark, or: tshark -r exchange.pcapng -Y http
  sudo tcpdump -i lo -w lab.pcap 'tcp port 8080'  (run your exchange, then Ctrl-C)
  labs trace import lab.pcap -o lab.trace --port 8080
  client --raw lab.trace 127.0.0.1 8080          replay the client's side of it

Exit status: 0 when the file was written, 1 when the trace could not be read, 2 on a usage error.";

/// Runs a `labs trace` command; returns the exit status.
pub fn run(command: TraceCommand) -> i32 {
    match command {
        TraceCommand::View { file, output } => match view(&file, output.as_deref()) {
            Ok(Some(written)) => {
                println!("wrote {}", written.display());
                0
            }
            Ok(None) => 0,
            Err((code, message)) => {
                eprintln!("labs trace view: {message}");
                code
            }
        },
        TraceCommand::Import {
            capture,
            output,
            port,
        } => match import(&capture, output.as_deref(), port) {
            Ok(lines) => {
                for line in lines {
                    println!("{line}");
                }
                0
            }
            Err((code, message)) => {
                eprintln!("labs trace import: {message}");
                code
            }
        },
        TraceCommand::Pcap { file, output, port } => match pcap(&file, output.as_deref(), port) {
            Ok(written) => {
                println!("wrote {}", written.display());
                0
            }
            Err((code, message)) => {
                eprintln!("labs trace pcap: {message}");
                code
            }
        },
    }
}

fn import(
    capture: &Path,
    output: Option<&Path>,
    port: Option<u16>,
) -> Result<Vec<String>, (i32, String)> {
    let bytes = std::fs::read(capture).map_err(|e| {
        (
            1,
            format!(
                "cannot read {}: {e}; give the path of a .pcap or .pcapng file",
                capture.display()
            ),
        )
    })?;
    let name = capture.file_name().map_or_else(
        || capture.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let imported = crate::import::import(&bytes, port, &name)
        .map_err(|e| (1, format!("{}: {e}", capture.display())))?;
    let out = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| capture.with_extension("trace"));
    let mut lines = Vec::new();
    for (n, one) in imported.iter().enumerate() {
        let path = if imported.len() == 1 {
            out.clone()
        } else {
            let stem = out.with_extension("");
            PathBuf::from(format!("{}-{}.trace", stem.display(), n + 1))
        };
        std::fs::write(&path, one.trace.render()).map_err(|e| {
            (
                1,
                format!(
                    "cannot write {}: {e}; check that its folder exists",
                    path.display()
                ),
            )
        })?;
        lines.push(format!(
            "wrote {}: {} -> {} over {}, {} packets, {} items",
            path.display(),
            one.client,
            one.server,
            one.trace.transport().as_str().to_ascii_uppercase(),
            one.packets,
            one.trace.items().len()
        ));
        for warning in &one.warnings {
            lines.push(format!("  note: {warning}"));
        }
    }
    Ok(lines)
}

fn pcap(file: &Path, output: Option<&Path>, port: Option<u16>) -> Result<PathBuf, (i32, String)> {
    let out = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| file.with_extension("pcapng"));
    let trace = read_trace(file)?;
    let port = port.unwrap_or_else(|| crate::capture::guess_port(&trace));
    let bytes = crate::capture::pcapng(&trace, port, &file.display().to_string())
        .map_err(|e| (1, format!("{}: {e}", file.display())))?;
    std::fs::write(&out, bytes).map_err(|e| {
        (
            1,
            format!(
                "cannot write {}: {e}; check that its folder exists",
                out.display()
            ),
        )
    })?;
    Ok(out)
}

/// Reads and parses a trace file, with errors that say what to do.
pub fn read_trace(file: &Path) -> Result<Trace, (i32, String)> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        (
            1,
            format!(
                "cannot read {}: {e}; give the path of a .trace file",
                file.display()
            ),
        )
    })?;
    Trace::parse(&text).map_err(|e| {
        (
            1,
            format!(
                "{} is not a valid trace: {e} (the format: ARCHITECTURE.md, `The exchange format`)",
                file.display()
            ),
        )
    })
}

fn view(file: &Path, output: Option<&Path>) -> Result<Option<PathBuf>, (i32, String)> {
    let out = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| file.with_extension("html"));
    let is_stdout = out.as_os_str() == "-";
    let extension = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let svg = match extension.as_deref() {
        _ if is_stdout => true,
        Some("svg") => true,
        Some("html" | "htm") => false,
        _ => {
            return Err((
                2,
                format!(
                    "name the output OUT.html (a page) or OUT.svg (the diagram alone), not {}",
                    out.display()
                ),
            ))
        }
    };
    let trace = read_trace(file)?;
    let name = file.display().to_string();
    let text = if svg {
        let diagram = crate::diagram::Diagram::from_trace(&trace);
        let svg = diagram.svg(&crate::diagram::Options {
            link_prefix: None,
            title: Some(trace.title().unwrap_or(&name).to_string()),
        });
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{svg}")
    } else {
        crate::html::trace_page(&name, &trace)
    };
    if is_stdout {
        print!("{text}");
        return Ok(None);
    }
    std::fs::write(&out, text).map_err(|e| {
        (
            1,
            format!(
                "cannot write {}: {e}; check that its folder exists",
                out.display()
            ),
        )
    })?;
    Ok(Some(out))
}
