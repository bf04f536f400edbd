"""Fixtures of the server's end-to-end tests: `pipit serve` on 127.0.0.1 and a small JPIP client.

Environment (set by tests/server/CMakeLists.txt; defaults for a manual run from the repository):
  PIPIT_BIN     the pipit binary         (default: build/src/tools/pipit/pipit)
  PIPIT_CORPUS  make_corpus.sh's OUTDIR  (default: build/corpus)
The pixel oracle (opj_decompress, PGX, window arithmetic) is tests/integration/pixels.py.
"""
from __future__ import annotations

import http.client
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import pixels  # noqa: E402

PIPIT_BIN = Path(os.environ.get("PIPIT_BIN", REPO / "build/src/tools/pipit/pipit"))
CORPUS = Path(os.environ.get("PIPIT_CORPUS", REPO / "build/corpus"))


class Server:
    """A running `pipit serve` on 127.0.0.1:0, its standard error in a file in `workdir` (a
    temporary file without one: nothing can block on a full pipe); `nofile` lowers its descriptor
    limit. stop() sends SIGTERM and returns the exit status."""

    def __init__(self, root: Path, *extra: str, workdir: Path | None = None,
                 nofile: int | None = None):
        self.root = Path(root)
        self.err = (open(workdir / f"serve-{time.monotonic_ns()}.err", "w+") if workdir
                    else tempfile.TemporaryFile("w+"))

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen([str(PIPIT_BIN), "serve", "--root", str(root), "--listen", "127.0.0.1:0",
                                      *extra], stdout=subprocess.PIPE, stderr=self.err, text=True,
                                     preexec_fn=limit)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            self.err.seek(0)
            raise RuntimeError(f"pipit serve did not start: {line!r} {self.err.read()}")
        self.port = int(m.group(1))

    def conn(self, timeout=60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def get(self, url: str, conn=None):
        c = conn or self.conn()
        try:
            c.request("GET", url)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            if conn is None:
                c.close()  # not left to the garbage collector: tests count the server's descriptors

    def metrics(self, conn=None) -> dict[str, float]:
        status, _, body = self.get("/metrics", conn)
        assert status == 200
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        f = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def log(self) -> str:
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def healthy(self, image="tiled_odd.j2k"):
        """The server is alive, says so, and serves a normal request of `image`."""
        assert self.proc.poll() is None, self.log()
        assert self.get("/healthz")[:3:2] == (200, b"ok\n")
        st, _, body = self.get(f"/{image}?fsiz=64,64")
        assert st == 200 and eor_of(body) in (1, 2)

    def stop(self, timeout=15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self.err.close()


class Response:
    def __init__(self, r: http.client.HTTPResponse):
        self.status = r.status
        self.headers = {k.lower(): v for k, v in r.getheaders()}
        self.body = r.read()

    def header(self, name: str):
        return self.headers.get(name.lower())

    def eor(self) -> int | None:
        msgs, eor = pixels.parse_jpp(self.body)
        return None if eor is None else eor[0]


def get(conn: http.client.HTTPConnection, url: str) -> Response:
    conn.request("GET", url)
    return Response(conn.getresponse())


def eor_of(body: bytes) -> int | None:
    _, eor = pixels.parse_jpp(body)
    return None if eor is None else eor[0]


def raw(port: int, data: bytes, timeout=10.0, read_all=True) -> bytes:
    """Sends raw bytes, returns everything until the server closes (or the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except (socket.timeout, ConnectionResetError):
            pass
    return out


def parse_cnew(value: str) -> dict:
    """JPIP-cnew: 'cid=..,path=..,transport=http' in any order."""
    return dict(kv.split("=", 1) for kv in value.split(","))


@pytest.fixture(scope="session")
def pipit_bin() -> Path:
    if not os.access(PIPIT_BIN, os.X_OK):
        pytest.fail(f"pipit binary not found at {PIPIT_BIN} (set PIPIT_BIN)")
    return PIPIT_BIN


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        pytest.fail(f"no corpus at {CORPUS}: run 'bash tests/corpus/make_corpus.sh {CORPUS}'")
    return CORPUS


@pytest.fixture(scope="module")
def server(pipit_bin, corpus):
    s = Server(corpus)
    yield s
    s.stop()
