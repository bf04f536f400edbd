"""1,000 JPIP sessions open at once on one `pipit serve` (127.0.0.1), driven by one asyncio client
with at most 100 connections at a time. Every session gets exactly the bytes a lone sequential
session gets for the same requests (test_clients.py checks those against OpenJPEG's decode)."""
from __future__ import annotations

import asyncio
import shutil
import time

import pytest

from conftest import Server, get, parse_cnew

SESSIONS = 1000
PARALLEL = 100
IMAGE = "tiled_odd.j2k"
# Four browse sequences; session i follows VARIANTS[i % 4]: first window (opens the session),
# then a second one on its channel.
VARIANTS = [
    ("fsiz=128,128&rsiz=64,64&roff=0,0", "fsiz=256,256&rsiz=128,128&roff=64,32"),
    ("fsiz=64,64", "fsiz=512,512&rsiz=100,100&roff=300,200"),
    ("fsiz=256,256&rsiz=256,256", "fsiz=512,512&rsiz=64,64&roff=0,448"),
    ("fsiz=512,512&rsiz=32,32&roff=17,9", "fsiz=32,32"),
]


async def request(host: str, port: int, url: str) -> tuple[int, dict, bytes]:
    """One GET on a fresh connection (Connection: close), chunked or Content-Length body."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {url} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            k, v = line.decode().split(":", 1)
            headers[k.strip().lower()] = v.strip()
        body = bytearray()
        if headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
        else:
            body += await reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, bytes(body)
    finally:
        writer.close()


async def drive(port: int) -> tuple[list, list, int]:
    sem = asyncio.Semaphore(PARALLEL)

    async def limited(url):
        async with sem:
            return await request("127.0.0.1", port, url)

    # Phase 1: open every session.
    first = await asyncio.gather(*(limited(f"/{IMAGE}?cnew=http&type=jpp-stream&{VARIANTS[i % 4][0]}")
                                   for i in range(SESSIONS)))
    cids = [parse_cnew(h["jpip-cnew"])["cid"] for _, h, _ in first]
    # All of them open at once.
    _, _, metrics = await request("127.0.0.1", port, "/metrics")
    open_sessions = int(float([ln for ln in metrics.decode().splitlines()
                               if ln.startswith("pipit_sessions_open ")][0].split()[1]))
    # Phase 2: a second window in each session; phase 3: close them.
    second = await asyncio.gather(*(limited(f"/jpip?cid={cids[i]}&{VARIANTS[i % 4][1]}")
                                    for i in range(SESSIONS)))
    closed = await asyncio.gather(*(limited(f"/jpip?cclose={cid}&cid={cid}&len=0") for cid in cids))
    assert all(st == 200 for st, _, _ in closed)
    return first, second, open_sessions


def test_thousand_concurrent_sessions_get_correct_data(pipit_bin, corpus, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(corpus / IMAGE, root / IMAGE)
    s = Server(root, "--max-sessions", str(SESSIONS + 10))
    try:
        # The reference: each sequence in a lone session, one request at a time.
        c = s.conn()
        reference = []
        for a, b in VARIANTS:
            r1 = get(c, f"/{IMAGE}?cnew=http&type=jpp-stream&{a}")
            cid = parse_cnew(r1.header("JPIP-cnew"))["cid"]
            r2 = get(c, f"/jpip?cid={cid}&{b}")
            assert r1.eor() in (1, 2) and r2.eor() in (1, 2)
            reference.append((r1.body, r2.body))
            get(c, f"/jpip?cclose={cid}&cid={cid}&len=0")
        c.close()
        t0 = time.monotonic()
        first, second, open_sessions = asyncio.run(drive(s.port))
        took = time.monotonic() - t0
        assert open_sessions == SESSIONS
        for i in range(SESSIONS):
            st1, h1, b1 = first[i]
            st2, _, b2 = second[i]
            assert st1 == 200 and st2 == 200, (i, st1, st2)
            assert (b1, b2) == reference[i % 4], f"session {i} got different bytes"
        assert s.alive()
        print(f"{3 * SESSIONS} requests in {took:.1f} s")
    finally:
        s.stop()


if __name__ == "__main__":
    pytest.main([__file__, "-q", "-s"])
