#!/usr/bin/env python3
"""A small UDP pinger server in the spirit of the socket-programming lab.

It waits for datagrams, rolls a die with eleven faces (0 to 10) for each one, throws the
datagram away when the roll is below 4, and otherwise sends the same bytes back in capital
letters. Standard library only.

    python3 udp_pinger_server.py --port 12000 [--seed N] [--no-loss]

With --port 0 the system picks a free port. The first line printed is always
"listening on HOST:PORT", so a program that starts this script can read the port from it.
Every datagram is then logged as "dropped <text>" or "echoed <text>".
"""
import argparse
import random
import socket
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=None, help="make the dice repeatable")
    parser.add_argument("--no-loss", action="store_true", help="never drop anything")
    args = parser.parse_args()

    dice = random.Random(args.seed)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    host, port = sock.getsockname()
    print(f"listening on {host}:{port}", flush=True)

    while True:
        data, client = sock.recvfrom(65535)
        text = data.decode("ascii", errors="replace")
        roll = dice.randint(0, 10)
        if roll < 4 and not args.no_loss:
            print(f"dropped {text} (roll {roll})", flush=True)
            continue
        sock.sendto(data.upper(), client)
        print(f"echoed {text.upper()}", flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
