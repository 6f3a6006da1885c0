//! CONNECT tunnels (RFC 9110 §9.3.6): `200 Connection established`, then bytes both ways until
//! either side closes. Only to the ports `--connect-ports` allows (443 by default), so the proxy
//! is not a relay to arbitrary services.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;

use wire::http1::{Authority, ResponseHead, StatusCode};

use crate::client_side::Client;
use crate::forward::{CacheStatus, Served};

/// Answers a CONNECT for `authority` and, when it is allowed and reachable, carries the tunnel
/// until it closes.
pub(crate) fn open(client: &mut Client<'_>, authority: &Authority) -> io::Result<Served> {
    let shared = client.shared;
    let port = authority.port_or(443);
    if !shared.options.connect_ports.contains(&port) {
        let allowed: Vec<String> = shared
            .options
            .connect_ports
            .iter()
            .map(u16::to_string)
            .collect();
        return client.respond_error(
            403,
            &format!(
                "CONNECT to port {port} is not allowed; this proxy tunnels to port(s) {} \
                 (--connect-ports)",
                allowed.join(", ")
            ),
        );
    }
    let origin = format!("{}:{port}", authority.host.to_ascii_lowercase());
    let upstream = match shared.pool.open(
        &authority.host,
        port,
        &origin,
        shared.options.upstream_timeout,
    ) {
        Ok(stream) => stream,
        Err(e) => return client.respond_error(e.status(), &e.to_string()),
    };
    let _registered = shared.sockets.register(&upstream);
    // The CONNECT request must be complete (its empty body read) before the switch.
    loop {
        match client.conn.poll_event() {
            Ok(wire::http1::conn::Event::EndOfMessage(_)) => break,
            Ok(wire::http1::conn::Event::NeedData) => client.read_more()?,
            Ok(wire::http1::conn::Event::Data(_)) => {}
            Ok(_) => break,
            Err(e) => return Err(io::Error::other(e)),
        }
    }
    let _ = upstream.set_nodelay(true);
    let head = ResponseHead::new(StatusCode::new(200).expect("200"))
        .with_reason("Connection established")
        .expect("a valid reason phrase");
    client.conn.send_response(&head).map_err(io::Error::other)?;
    client.flush()?;
    shared.stats.tunnels.fetch_add(1, Ordering::Relaxed);
    let early = client.conn.take_received();
    let mut to_origin = upstream.try_clone()?;
    to_origin.write_all(&early)?;
    let from_client = client.stream.try_clone()?;
    let to_client = client.stream.try_clone()?;
    let _ = from_client.set_read_timeout(None);
    let from_origin = upstream;
    let sent = std::thread::scope(|scope| {
        let up = scope.spawn(move || splice(from_client, to_origin));
        let down = splice(from_origin, to_client);
        let _ = up.join();
        down
    });
    Ok(Served {
        status: 200,
        bytes: sent,
        cache: CacheStatus::Bypass,
    })
}

/// Copies `from` into `to` until `from` ends, then closes `to`'s writing half (and `from`'s
/// reading half, so the other direction's copy ends too when its peer is gone).
fn splice(mut from: TcpStream, mut to: TcpStream) -> u64 {
    let copied = io::copy(&mut from, &mut to).unwrap_or(0);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
    copied
}
