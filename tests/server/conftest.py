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
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import pixels  # noqa: E402

PIPIT_BIN = Path(os.environ.get("PIPIT_BIN", REPO / "build/src/tools/pipit/pipit"))
CORPUS = Path(os.environ.get("PIPIT_CORPUS", REPO / "build/corpus"))


class Server:
    """A running `pipit serve`; stopped with SIGTERM at the end."""

    def __init__(self, root: Path, *extra: str):
        self.root = Path(root)
        self.proc = subprocess.Popen([str(PIPIT_BIN), "serve", "--root", str(root), "--listen",
                                      "127.0.0.1:0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"pipit serve did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(m.group(1))

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


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
