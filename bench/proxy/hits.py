#!/usr/bin/env python3
"""Sends N cache-hit requests on one keep-alive connection, one at a time, and checks each answer.

    python3 bench/proxy/hits.py PROXY_PORT TARGET_URI N

Used by callgrind.sh: the difference in instructions between two runs with different N, divided
by the difference in N, is the cost of one hit, whatever the start-up and shutdown cost.
"""
import socket
import sys

port, target, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
sock = socket.create_connection(("127.0.0.1", port))
buf = b""
for _ in range(n):
    sock.sendall(request)
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, buf = buf.partition(b"\r\n\r\n")
    fields = dict(
        line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line
    )
    length = int(fields[b"Content-Length"])
    while len(buf) < length:
        buf += sock.recv(65536)
    buf = buf[length:]
    if fields.get(b"X-Cache") != b"HIT":
        sys.exit(f"not a hit: {head.decode(errors='replace')}")
sock.close()
