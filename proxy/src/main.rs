//! The `proxy` program: flags in, [`proxy::Proxy`] running until Ctrl-C.
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// Caching forward HTTP proxy
#[derive(Parser, Debug)]
#[command(
    name = "proxy",
    version = cmdline::version!(),
    about,
    long_about = "A forward HTTP proxy that caches by the rules of RFC 9111 (freshness, Vary, \
conditional revalidation with If-None-Match / If-Modified-Since, byte ranges of stored responses) \
and tunnels https with CONNECT. \
Every response says how the cache served it: X-Cache: HIT, MISS, REVALIDATED, STALE or BYPASS.",
    after_help = "Examples:
  proxy                                   listen on 127.0.0.1:8888, cache in the temp folder
  curl -x http://127.0.0.1:8888 http://example.com/          use it like a browser does
  curl http://127.0.0.1:8888/http://example.com/             the proxy lab's path form
  curl -x http://127.0.0.1:8888 https://example.com/         https through a CONNECT tunnel
  proxy --cache-dir ./cache --cache-size 1G --access-log -   log every request to stdout
  proxy --no-cache -p 9000                                   forward only, on port 9000
  proxy --only-loopback-upstreams                            loopback origins only, 403 for others
  proxy --header-timeout 5s --keep-alive-timeout 1m          drop slow and idle clients sooner
  proxy --resolve origin.test:80:127.0.0.1                   origin.test:80 is 127.0.0.1:80
Durations: 1.5s, 500ms, 1m, 2m 30s (a bare number is seconds).
Status page: http://127.0.0.1:8888/proxy-status
Exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 could not start (port, cache folder, log), 2 bad flags."
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, short, value_name = "N", default_value_t = 8888)]
    port: u16,
    /// Folder for the cache's files (kept across restarts). Default: <temp>/protolab-proxy-cache.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Most bytes the cache keeps on disk: a number with an optional K, M or G suffix.
    #[arg(long, default_value = "256M", value_parser = parse_size)]
    cache_size: u64,
    /// Forward without caching.
    #[arg(long)]
    no_cache: bool,
    /// How long to wait for an origin to connect or to answer before a 504.
    #[arg(long, value_name = "TIME", default_value = "30s", value_parser = cmdline::parse_positive_duration)]
    upstream_timeout: Duration,
    /// Give up on a request head that takes longer than this to arrive; a partial head gets 408.
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = cmdline::parse_positive_duration)]
    header_timeout: Duration,
    /// Close an idle keep-alive client connection after this long.
    #[arg(long, value_name = "TIME", default_value = "75s", value_parser = cmdline::parse_positive_duration)]
    keep_alive_timeout: Duration,
    /// Give up on a client that sends none of its request body, or takes none of a response,
    /// for this long.
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = cmdline::parse_positive_duration)]
    body_timeout: Duration,
    /// Ports CONNECT may tunnel to, comma-separated.
    #[arg(long, default_value = "443", value_delimiter = ',')]
    connect_ports: Vec<u16>,
    /// Most client connections at once; more are answered 503.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// File to append one line per request to, or - for standard output.
    #[arg(long, value_name = "FILE|-")]
    access_log: Option<PathBuf>,
    /// Use ADDR for HOST:PORT, like curl's --resolve (HOST:PORT:ADDR; ADDR:PORT2 also takes
    /// another port). Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR", value_parser = parse_resolve)]
    resolve: Vec<(String, std::net::SocketAddr)>,
    /// Connect only to loopback origins (127.0.0.0/8, ::1, localhost, or a --resolve to one);
    /// anything else gets 403 without being resolved. For tests and CI, where no packet may leave
    /// the machine.
    #[arg(long)]
    only_loopback_upstreams: bool,
    #[command(flatten)]
    color: cmdline::ColorArg,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size; write e.g. 512M, 2G or 1048576"))?;
    let factor = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("{unit:?} is not a size unit; use K, M or G")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{s} is too large"))
}

/// curl's `--resolve HOST:PORT:ADDR` (ADDR an IPv4 address, or IPv6 in brackets), and
/// `HOST:PORT:ADDR:PORT2` to reach another port as well.
fn parse_resolve(s: &str) -> Result<(String, std::net::SocketAddr), String> {
    let bad = || {
        format!(
            "{s:?}: write HOST:PORT:ADDR as curl does, e.g. origin.test:80:127.0.0.1 \
             (or origin.test:80:127.0.0.1:8080 for another port)"
        )
    };
    let mut parts = s.splitn(3, ':');
    let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(bad)?;
    let port: u16 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let rest = parts.next().ok_or_else(bad)?;
    let addr = if let Ok(with_port) = rest.parse::<std::net::SocketAddr>() {
        with_port
    } else {
        let ip = rest
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(rest);
        std::net::SocketAddr::new(ip.parse().map_err(|_| bad())?, port)
    };
    Ok((format!("{}:{port}", host.to_ascii_lowercase()), addr))
}

fn main() -> ExitCode {
    broken_pipe::end_quietly(); // `proxy --help | head` ends quietly
    let cli = Cli::parse();
    cli.color.apply();
    let err = cmdline::Paint::stderr();
    let mut options = proxy::Options {
        bind: cli.bind,
        port: cli.port,
        upstream_timeout: cli.upstream_timeout,
        header_timeout: cli.header_timeout,
        keep_alive_timeout: cli.keep_alive_timeout,
        body_timeout: cli.body_timeout,
        connect_ports: cli.connect_ports,
        max_connections: cli.max_connections.max(1),
        access_log: cli.access_log,
        resolve: cli.resolve,
        reach: if cli.only_loopback_upstreams {
            proxy::upstream::Reach::LoopbackOnly
        } else {
            proxy::upstream::Reach::Anywhere
        },
        ..proxy::Options::default()
    };
    if cli.no_cache {
        options.cache = None;
    } else if let Some(cache) = &mut options.cache {
        if let Some(dir) = cli.cache_dir {
            cache.dir = dir;
        }
        cache.size = cli.cache_size;
    }
    let proxy = match proxy::Proxy::start(options.clone()) {
        Ok(proxy) => proxy,
        Err(e) => {
            eprintln!("proxy: {}", err.error(&e.to_string()));
            eprintln!("       {}", e.what_to_do());
            return ExitCode::from(1);
        }
    };
    // It serves now: a closed stderr (`proxy 2>&1 | head`) must not stop it, so errors are
    // ignored from here on.
    broken_pipe::keep_serving();
    let mut err = std::io::stderr();
    let rebuilt = proxy.rebuilt();
    let _ = match &options.cache {
        Some(cache) => writeln!(
            err,
            "proxy: listening on http://{} (cache {} in {}, {} entries read back{})",
            proxy.addr(),
            cache.size,
            cache.dir.display(),
            rebuilt.loaded,
            if rebuilt.dropped > 0 {
                format!(", {} damaged ones dropped", rebuilt.dropped)
            } else {
                String::new()
            }
        ),
        None => writeln!(
            err,
            "proxy: listening on http://{} (no cache)",
            proxy.addr()
        ),
    };
    let _ = writeln!(
        err,
        "proxy: try  curl -x http://{} http://example.com/   (Ctrl-C stops)",
        proxy.addr()
    );
    let signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ]);
    match signals {
        Ok(mut signals) => {
            let _ = signals.forever().next();
            let _ = writeln!(err, "proxy: stopping");
            proxy.shutdown();
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(
                err,
                "proxy: cannot watch for Ctrl-C ({e}); running until killed"
            );
            proxy.wait();
            ExitCode::SUCCESS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_resolve;

    #[test]
    fn resolve_reads_curls_forms() {
        let ok = |s: &str| parse_resolve(s).unwrap();
        assert_eq!(
            ok("Origin.test:80:127.0.0.1"),
            (
                "origin.test:80".to_string(),
                "127.0.0.1:80".parse().unwrap()
            )
        );
        assert_eq!(
            ok("origin.test:80:[::1]"),
            ("origin.test:80".to_string(), "[::1]:80".parse().unwrap())
        );
        assert_eq!(
            ok("origin.test:80:127.0.0.1:8080"),
            (
                "origin.test:80".to_string(),
                "127.0.0.1:8080".parse().unwrap()
            )
        );
        for bad in [
            "origin.test",
            "origin.test:80",
            ":80:127.0.0.1",
            "o:x:127.0.0.1",
            "o:80:nowhere",
        ] {
            assert!(
                parse_resolve(bad).unwrap_err().contains("HOST:PORT:ADDR"),
                "{bad}"
            );
        }
    }
}
