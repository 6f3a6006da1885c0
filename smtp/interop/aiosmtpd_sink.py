#!/usr/bin/env python3
"""An aiosmtpd server for protolab's interop tests: STARTTLS, AUTH PLAIN and LOGIN, and every
message stored as received so a test can compare it byte for byte.

    python3 aiosmtpd_sink.py --store DIR [--cert CERT.pem --key KEY.pem] [--user U --password P]
                             [--port 0] [--require-tls]

It listens on 127.0.0.1 (port 0 by default: the system picks a free one), prints
`ready PORT` on standard output once it accepts connections, and stores message N as
DIR/N.eml (aiosmtpd's original_content: the bytes after DATA, dot-unstuffed) with
DIR/N.envelope beside it (MAIL FROM, then one RCPT TO per line, then the authenticated user).
It exits when its standard input closes, so a test that dies cannot leave it behind.
"""
import argparse
import asyncio
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.folder, str(self.count))
        with open(base + ".envelope.tmp", "w", encoding="utf-8") as f:
            f.write(f"from: {envelope.mail_from}\n")
            for rcpt in envelope.rcpt_tos:
                f.write(f"to: {rcpt}\n")
            auth = session.auth_data
            f.write(f"auth: {auth.login.decode() if isinstance(auth, LoginPassword) else '-'}\n")
            f.write(f"tls: {'yes' if session.ssl else 'no'}\n")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        # The .eml appears last and whole: a test waiting for it sees a complete message.
        os.rename(base + ".envelope.tmp", base + ".envelope")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--require-tls", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.store, exist_ok=True)

    tls_context = None
    if args.cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        # Handing auth_data back makes aiosmtpd keep it on the session (for the envelope file);
        # handled=False makes aiosmtpd itself answer a failure with 535.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    handler = Store(args.store)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(16)

    def factory():
        return SMTP(
            handler,
            hostname="aiosmtpd.test",
            tls_context=tls_context,
            require_starttls=args.require_tls,
            authenticator=authenticator if args.user else None,
            auth_require_tls=tls_context is not None,
            # Lines of base64 are short; a 300 KiB attachment is far below this.
            data_size_limit=64 * 1024 * 1024,
        )

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(factory, sock=sock))

    def watch_stdin():
        sys.stdin.read()
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"ready {sock.getsockname()[1]}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
