//! The command-line vocabulary every protolab program shares, so that a flag means the same thing
//! in `server`, `proxy`, `client`, `ping`, `smtp` and `labs`:
//!
//! - [`parse_duration`]: one duration syntax (`1.5s`, `500ms`, `1m`, `2m 30s`; a bare number is
//!   seconds, as it always was in these programs and in iputils ping's `-i` and `-W`);
//! - [`ColorArg`] and [`Paint`]: `--color auto|always|never`, `NO_COLOR` honoured, on
//!   anstream/anstyle (what clap itself draws its help with);
//! - [`version!`]: `--version` prints `PROGRAM (protolab) VERSION`;
//! - [`data_dir`]: the folder protolab keeps its files in (`labs`' progress, `smtp serve`'s
//!   maildir).
//!
//! Scope: the shells' plumbing only. No protocol lives here (that is `wire`), and nothing here
//! opens a socket.

mod color;
mod data_dir;
mod duration;

pub use color::{ColorArg, ColorWhen, Paint, BOLD, DIM, ERROR, NOTE, OK, WARN};
pub use data_dir::{data_dir, data_dir_from};
pub use duration::{format_duration, parse_duration, parse_positive_duration};

/// The text clap prints after the program's name for `--version`: `(protolab) 0.2.0`, so that
/// `client --version` prints `client (protolab) 0.2.0`. Use it as
/// `#[command(version = cmdline::version!())]`.
#[macro_export]
macro_rules! version {
    () => {
        concat!("(protolab) ", env!("CARGO_PKG_VERSION"))
    };
}

/// The version line as `--version` prints it, for banners and `User-Agent`-like strings.
pub fn version_line(program: &str) -> String {
    format!("{program} {}", version!())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_line_names_the_program_and_protolab() {
        assert_eq!(
            super::version_line("client"),
            format!("client (protolab) {}", env!("CARGO_PKG_VERSION"))
        );
    }
}
