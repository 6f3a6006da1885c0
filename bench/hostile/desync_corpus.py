#!/usr/bin/env python3
"""Sends every request of http-desync-guardian's test corpus (its tests/*.yaml, from the
http_desync_guardian crate) to one HTTP server and counts how it answered, by the corpus's own
verdict on each request.

    python3 desync_corpus.py CORPUS_DIR HOST:PORT [--absolute ORIGIN_HOST:PORT]

Each case becomes one request head on a new connection: METHOD URI VERSION, the case's fields
(bytes as the YAML gives them), and `Host:` when the case has none (a request without one is a
400 anywhere, which would say nothing). With --absolute the URI is sent in absolute form to
ORIGIN (for a proxy). No body is sent: the target answers from the head, or waits for a body
(WAIT, after 1 s). Output: one line per case (--cases) and a table of outcomes per verdict.
"""
import argparse
import collections
import concurrent.futures
import glob
import os
import socket
import sys

import yaml


def cases(corpus):
    for path in sorted(glob.glob(os.path.join(corpus, "*.yaml"))):
        for case in yaml.safe_load(open(path, encoding="utf-8")) or []:
            yield os.path.basename(path), case


def as_bytes(value):
    if value is None:
        return b""
    return str(value).encode("latin-1", "replace")


def request(case, origin):
    uri = as_bytes(case.get("uri", "/"))
    if origin and uri.startswith(b"/"):
        uri = b"http://" + origin.encode() + uri
    version = as_bytes(case.get("version", "HTTP/1.1"))
    line = as_bytes(case.get("method", "GET")) + b" " + uri
    if version:
        line += b" " + version
    out = [line]
    has_host = False
    for field in case.get("headers") or []:
        name, value = as_bytes(field.get("name")), as_bytes(field.get("value"))
        has_host |= name.strip().lower() == b"host"
        out.append(name + b": " + value)
    if not has_host:
        out.append(b"Host: " + (origin or "localhost").encode())
    return b"\r\n".join(out) + b"\r\n\r\n"


def outcome(addr, raw):
    host, port = addr.rsplit(":", 1)
    try:
        s = socket.create_connection((host, int(port)), timeout=5)
    except OSError as e:
        return "CONNECT-FAIL " + str(e)
    s.settimeout(1.0)
    try:
        s.sendall(raw)
        got = s.recv(256)
    except socket.timeout:
        return "WAIT"
    except OSError:
        return "RESET"
    finally:
        s.close()
    if not got:
        return "CLOSED"
    parts = got.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return parts[1].decode()
    return "NOT-HTTP"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("target")
    ap.add_argument("--absolute", metavar="ORIGIN")
    ap.add_argument("--cases", action="store_true")
    args = ap.parse_args()
    all_cases = list(cases(args.corpus))
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda c: outcome(args.target, request(c[1], args.absolute)), all_cases))
    table = collections.defaultdict(collections.Counter)
    for (file, case), got in zip(all_cases, results):
        verdict = (case.get("expected") or {}).get("tier", "?")
        table[verdict][got] += 1
        if args.cases:
            print(f"{file}\t{verdict}\t{got}\t{case.get('name')}")
    for verdict in ["Compliant", "Acceptable", "Ambiguous", "Severe"]:
        counts = table.get(verdict, {})
        total = sum(counts.values())
        refused = sum(n for k, n in counts.items() if k in ("400", "501", "505", "414", "431", "CLOSED", "RESET"))
        detail = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
        print(f"{verdict:<11} {total:>3} cases: refused {refused:>3}/{total}  ({detail})")


if __name__ == "__main__":
    sys.exit(main())
