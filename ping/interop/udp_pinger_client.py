#!/usr/bin/env python3
"""A small UDP pinger client in the spirit of the socket-programming lab.

It sends "Ping <seq> <time>" ten times (seq from 1, time as seconds since 1970 with a
fraction), waits up to a second for each answer, and prints the round-trip time, or
"Request timed out" when nothing came back in time. An answer that does not carry the
sequence number just sent (a late one) is skipped while waiting. Standard library only.

    python3 udp_pinger_client.py HOST PORT [--count 10] [--timeout 1.0]

Exit status: 0 when at least one answer came, 1 otherwise.
"""
import argparse
import socket
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((args.host, args.port))
    rtts = []
    for seq in range(1, args.count + 1):
        message = f"Ping {seq} {time.time()}"
        started = time.monotonic()
        sock.send(message.encode("ascii"))
        answered = False
        while not answered:
            left = args.timeout - (time.monotonic() - started)
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                reply = sock.recv(65535)
            except socket.timeout:
                break
            except ConnectionRefusedError:
                print(f"Destination port unreachable (seq={seq})", flush=True)
                break
            if reply.decode("ascii", errors="replace").upper() != message.upper():
                continue
            rtt = time.monotonic() - started
            rtts.append(rtt)
            answered = True
            print(f"Reply from {args.host}: {reply.decode('ascii')} (seq={seq}) RTT {rtt * 1000:.3f} ms", flush=True)
        if not answered:
            print(f"Request timed out (seq={seq})", flush=True)

    lost = args.count - len(rtts)
    print(f"sent {args.count}, received {len(rtts)}, lost {lost}", flush=True)
    if rtts:
        print(f"rtt min/avg/max = {min(rtts) * 1000:.3f}/{sum(rtts) / len(rtts) * 1000:.3f}/{max(rtts) * 1000:.3f} ms")
    return 0 if rtts else 1


if __name__ == "__main__":
    sys.exit(main())
