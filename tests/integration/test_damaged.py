"""Damaged codestreams (tests/corpus/make_damaged.py) through `pipit info`, `pipit serve`,
`pipit stream` and `pipit rebuild`, with OpenJPEG as the oracle.

Pipit reads what OpenJPEG reads (opj_decompress -allow-partial, the mode that goes past damage):
a file expected to be indexed with a warning ("warn:WORDS" in damaged/MANIFEST.tsv) must give
that warning in `pipit info`, be served by `pipit serve` (no 415), and its whole image streamed
and rebuilt must decode to OpenJPEG's pixels of the damaged original. Where OpenJPEG decodes part
of a packet the end of the data cut (it keeps the code-blocks that fit), Pipit keeps whole packets
only: there the oracle is the damaged file cut back to where its warning says the whole packets
end. Files expected to be refused ("error:WORDS", the header bombs) must be refused by `info`
with WORDS and by the server with 415.

Names say the damage they caught: test_tile_without_tile_part_is_indexed_with_warning...
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import pixels
from conftest import CORPUS, PIPIT_BIN, pipit_ok, run_pipit

DAMAGED = CORPUS / "damaged"


def damaged_manifest() -> list[tuple[str, str]]:
    m = DAMAGED / "MANIFEST.tsv"
    if not m.is_file():
        return []
    rows = []
    for line in m.read_text().splitlines():
        if line.strip():
            name, expect, _ = line.split("\t", 2)
            rows.append((name, expect))
    return rows


def rows(pred):
    """The manifest rows whose name pred accepts, or one row that fails when there is none."""
    r = [row for row in damaged_manifest() if pred(row[0], row[1])]
    return r or [("<no damaged corpus>", "")]


def need(name: str) -> Path:
    if name.startswith("<"):
        pytest.fail(f"no {DAMAGED}/MANIFEST.tsv, or no file of this kind in it: run "
                    f"'bash tests/corpus/make_corpus.sh {CORPUS}'")
    return DAMAGED / name


def warnings_of(path: Path) -> list[str]:
    return json.loads(pipit_ok("info", "--json", path).stdout)["warnings"]


def kept_end(warnings: list[str]) -> int | None:
    """Where Pipit says the data it keeps ends, when it is before the end of the file: the start
    of a packet the end of the data cut, of the bytes after the last tile-part, or of a tile that
    holds no whole packet (absent, as if it had no tile-part)."""
    for w in warnings:
        m = re.match(r"at byte (\d+): (tile \d+: packet \d+ is cut|\d+ bytes after the last|"
                     r"tile \d+ holds none of its)", w)
        if m:
            return int(m.group(1))
    return None


def opj_partial(path: Path, out: Path) -> list | None:
    """opj_decompress -allow-partial of a whole file, one array per component; None when
    OpenJPEG fails on it too."""
    siz = pixels.read_siz(path)
    cmd = ["opj_decompress", "-allow-partial", "-i", str(path), "-o", str(out / "o.pgx")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0 or "[ERROR]" in p.stdout + p.stderr:
        return None
    files = sorted(out.glob("o_*.pgx"), key=lambda f: int(f.stem.split("_")[1]))
    assert len(files) == len(siz.comps), f"opj_decompress wrote {len(files)} components"
    return [pixels.read_pgx(f) for f in files]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`pipit serve` of the damaged corpus on 127.0.0.1; yields (base URL, log file)."""
    if not DAMAGED.is_dir():
        pytest.fail(f"no damaged corpus at {DAMAGED}")
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([str(PIPIT_BIN), "serve", "--root", str(DAMAGED), "--listen",
                             f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while True:
        assert proc.poll() is None, "pipit serve exited: " + log_path.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            assert time.time() < deadline, "pipit serve did not start listening"
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", log_path
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def get(url: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def served_whole_image(base: str, name: str, path: Path, out: Path) -> Path:
    """The whole image at full resolution from `pipit serve`, as a .jpp file."""
    siz = pixels.read_siz(path)
    fx, fy = siz.frame(0)
    status, body = get(f"{base}/{name}?fsiz={fx},{fy}&type=jpp-stream")
    assert status == 200, f"pipit serve answered {status} for {name}: {body[:300]!r}"
    msgs, eor = pixels.parse_jpp(body)
    assert eor is not None, f"{name}: the served JPP-stream has no EOR"
    jpp = out / "served.jpp"
    jpp.write_bytes(body)
    return jpp


def check_pixels(path: Path, rebuilt: Path, warnings: list[str], tmp: Path, what: str) -> None:
    """The rebuild decodes (without an error) to OpenJPEG's pixels of the damaged file, or of the
    data Pipit keeps when it says it keeps less (OpenJPEG also uses the code-blocks that fit of a
    packet the end cut; it fails on trailing garbage). Where OpenJPEG decodes neither, only the
    rebuild's clean decode is checked."""
    got = pixels.decode(rebuilt)
    end = kept_end(warnings)
    oracle = path
    if end is not None:
        oracle = tmp / ("kept" + path.suffix)
        oracle.write_bytes(path.read_bytes()[:end])
    out = tmp / f"oracle_{what.split()[0]}"
    out.mkdir()
    want = opj_partial(oracle, out)
    if want is None:
        out2 = tmp / f"original_{what.split()[0]}"
        out2.mkdir()
        assert opj_partial(path, out2) is None, \
            f"opj_decompress -allow-partial decodes {path.name} but not {path.name}[:{end}]"
        return  # OpenJPEG reads neither the file nor what Pipit keeps of it: no oracle
    problems = pixels.compare(got, want, f"{path.name} {what}")
    assert not problems, "\n".join(problems)


def indexed_rows():
    return rows(lambda n, e: e.startswith("warn:"))


@pytest.mark.parametrize("name,expect", indexed_rows())
def test_damaged_file_is_indexed_streamed_and_rebuilt_like_openjpeg(name, expect, server,
                                                                    tmp_path):
    path = need(name)
    warnings = warnings_of(path)
    words = expect[len("warn:"):]
    assert any(words in w for w in warnings), f"no warning with '{words}' in {warnings}"
    # pipit stream + rebuild.
    jpp = tmp_path / "stream.jpp"
    pipit_ok("stream", path, "-o", jpp)
    rebuilt = tmp_path / "rebuilt.j2k"
    pipit_ok("rebuild", jpp, "-o", rebuilt)
    check_pixels(path, rebuilt, warnings, tmp_path, "stream + rebuild")
    # pipit serve: the same image over HTTP, rebuilt.
    base, _ = server
    served = served_whole_image(base, name, path, tmp_path)
    rebuilt2 = tmp_path / "served.j2k"
    pipit_ok("rebuild", served, "-o", rebuilt2)
    check_pixels(path, rebuilt2, warnings, tmp_path, "served + rebuild")


@pytest.mark.parametrize("name,expect", rows(lambda n, e: e.startswith("error:")))
def test_implausible_file_is_refused(name, expect, server):
    path = need(name)
    p = run_pipit("info", path)
    assert p.returncode == 1, f"pipit info {name} exited {p.returncode}"
    assert expect[len("error:"):] in p.stderr, p.stderr
    base, _ = server
    status, body = get(f"{base}/{name}?fsiz=16,16&type=jpp-stream")
    assert status == 415, f"pipit serve answered {status} for {name}"


# The kinds by name, so that a failure names the bug it caught.

def one(pattern: str) -> Path:
    names = [n for n, _ in damaged_manifest() if re.fullmatch(pattern, n)]
    return need(names[0] if names else "<none>")


def test_tile_without_tile_part_is_indexed_with_warning():
    for t, path in ((0, one(r"no_tile0_.*")), (3, one(r"no_tile3_.*"))):
        w = warnings_of(path)
        assert f"tile {t} has no tile-part: its packets are absent" in " ".join(w), w
        j = json.loads(pipit_ok("info", "--json", path).stdout)
        assert j["tiles"] == 4


def test_truncated_last_tile_part_is_indexed_with_warning():
    for path in sorted(DAMAGED.glob("trunc*.j2k")):
        w = warnings_of(path)
        assert any("is cut by the end of the data" in x for x in w), (path.name, w)
        assert any(re.search(r"tile \d+ holds (\d+|none) of its \d+ packets", x) for x in w) or \
            "packet_end" in path.name, (path.name, w)


def test_missing_eoc_and_trailing_garbage_are_indexed_with_warning():
    w = warnings_of(one(r"no_eoc_.*"))
    assert any("without an EOC marker" in x for x in w), w
    w = warnings_of(one(r"garbage_.*"))
    assert any("100 bytes after the last tile-part" in x for x in w), w


def test_serve_logs_the_warnings_once_per_file(server):
    """The server logs a file's warnings when it indexes it, not at every request."""
    base, log_path = server
    path = one(r"no_tile3_.*")
    for _ in range(3):
        status, _ = get(f"{base}/{path.name}?fsiz=32,32&type=jpp-stream")
        assert status == 200
    log = log_path.read_text()
    lines = [ln for ln in log.splitlines()
             if path.name in ln and "tile 3 has no tile-part" in ln]
    assert len(lines) == 1, f"{len(lines)} log lines for {path.name}'s warning:\n{log[-3000:]}"


def test_serve_sends_the_warnings_in_a_warning_header_with_the_tid(server):
    """The response that tells a client the target id carries the file's warnings in an HTTP
    Warning header (code 299), outside the JPP-stream; a later response of the session does not."""
    base, _ = server
    path = one(r"no_tile3_.*")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base}/{path.name}?cnew=http&type=jpp-stream&tid=0&fsiz=32,32",
                     timeout=60) as r:
        warning = r.headers.get("Warning")
        cnew = r.headers.get("JPIP-cnew")
        tid = r.headers.get("JPIP-tid")
        assert "Warning" in (r.headers.get("Access-Control-Expose-Headers") or "")
        r.read()
    assert warning is not None and re.match(r'299 Pipit "codestream 0: at byte \d+: .*'
                                            r'tile 3 has no tile-part', warning), warning
    cid = re.search(r"cid=([^,]+)", cnew).group(1)
    with opener.open(f"{base}/jpip?cid={cid}&tid={tid}&fsiz=64,64", timeout=60) as r:
        assert r.headers.get("Warning") is None
        r.read()


def test_info_prints_the_warnings():
    p = pipit_ok("info", one(r"no_tile0_.*"))
    assert "warning: at byte" in p.stdout and "tile 0 has no tile-part" in p.stdout, p.stdout
