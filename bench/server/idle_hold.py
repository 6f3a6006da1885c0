#!/usr/bin/env python3
"""Open N keep-alive connections, send one request on each, hold them idle, then send a second
request on each and check every one is answered. Prints the counts; exit 1 if any failed.

usage: idle_hold.py HOST PORT PATH N HOLD_SECONDS READY_FILE
READY_FILE is created once all N first responses are in (the bench script then measures RSS).
"""
import asyncio
import sys

HOST, PORT, PATH, N, HOLD, READY = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
REQ = f"GET {PATH} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


async def one_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return head.split(b" ", 2)[1]


async def open_one(sem):
    async with sem:
        reader, writer = await asyncio.open_connection(HOST, PORT)
        writer.write(REQ)
        await writer.drain()
        status = await one_response(reader)
        return reader, writer, status


async def main():
    sem = asyncio.Semaphore(500)
    conns = await asyncio.gather(*(open_one(sem) for _ in range(N)), return_exceptions=True)
    ok = [c for c in conns if not isinstance(c, BaseException) and c[2] == b"200"]
    print(f"first requests answered: {len(ok)}/{N}", flush=True)
    open(READY, "w").close()
    await asyncio.sleep(HOLD)
    async def second(c):
        reader, writer, _ = c
        try:
            writer.write(REQ)
            await writer.drain()
            return await asyncio.wait_for(one_response(reader), 30)
        except Exception:
            return b"failed"
    results = await asyncio.gather(*(second(c) for c in ok))
    good = sum(1 for r in results if r == b"200")
    print(f"second requests answered after {HOLD:.0f} s idle: {good}/{N}", flush=True)
    for _, writer, _ in ok:
        writer.close()
    sys.exit(0 if good == N else 1)


asyncio.run(main())
