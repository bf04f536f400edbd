"""The request sequences of known JPIP clients against `pipit serve` on 127.0.0.1.

Each sequence (GDAL JPIPKAK, JHelioviewer, webjpip.js; docs/jpip-notes.md §11 vectors 4-6) runs
against a server on the corpus folder; every response must be a well-formed JPP-stream ending in
an EOR, and the responses so far, fed to `pipit rebuild`, must decode (opj_decompress) to exactly
the pixels of the window that was asked for: the same samples as the original decoded the same way.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import CORPUS, PIPIT_BIN, get, parse_cnew, pixels


def corpus_names() -> list[str]:
    m = CORPUS / "MANIFEST.tsv"
    if not m.is_file():
        return ["<no corpus>"]
    return [ln.split("\t", 1)[0] for ln in m.read_text().splitlines() if ln.strip()]


_refs: dict = {}


def reference(path: Path, tmp: Path) -> Path:
    """The codestream a .j2k rebuild is compared with (a .jp2's jp2c body)."""
    if not pixels.is_jp2(path.read_bytes()[:16]):
        return path
    if path not in _refs:
        _refs[path] = pixels.extract_codestream(path, tmp / (path.stem + "_ref.j2k"))
    return _refs[path]


def rebuild(chunks: list[bytes], tmp: Path, name="r") -> Path:
    src = tmp / f"{name}.jpp"
    src.write_bytes(b"".join(chunks))
    out = tmp / f"{name}.j2k"
    p = subprocess.run([str(PIPIT_BIN), "rebuild", str(src), "-o", str(out)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, f"pipit rebuild: {p.stderr}"
    return out


def is_ht(path: Path) -> bool:
    return 0xFF50 in pixels.parse_codestream(path.read_bytes()).markers


def window_problems(ref: Path, rebuilt: Path, d: int, area, comps=None) -> list[str]:
    """The window decoded from the rebuild vs the original: by OpenJPEG's decode area (-d, not for
    HTJ2K) and cropped from a whole decode at -r d."""
    siz = pixels.read_siz(ref)
    problems = []
    sizes = pixels.area_sizes(siz, d, area)
    listed = list(range(len(siz.comps))) if comps is None else list(comps)
    dcomps = [c for c in listed if min(sizes[c]) > 0]
    if dcomps == list(range(len(siz.comps))):
        dcomps = None
    if not is_ht(ref) and dcomps != []:
        got = pixels.decode(rebuilt, reduce=d, area=area, comps=dcomps)
        want = pixels.decode(ref, reduce=d, area=area, comps=dcomps)
        problems += pixels.compare(got, want, f"-r {d} -d {area}")
    got = pixels.decode(rebuilt, reduce=d, comps=comps)
    want = pixels.decode(ref, reduce=d, comps=comps)
    problems += pixels.compare(pixels.crop(siz, d, area, got, comps),
                               pixels.crop(siz, d, area, want, comps), f"cropped at -r {d}")
    return problems


def check_stream(r, what):
    assert r.status == 200, f"{what}: {r.status} {r.body[:200]!r}"
    assert r.header("Content-Type") == "image/jpp-stream", what
    msgs, eor = pixels.parse_jpp(r.body)  # raises on a malformed stream
    assert eor is not None, f"{what}: no EOR at the end"
    return eor[0]


def middle_window(siz, d):
    fx, fy = siz.frame(d)
    ox, oy = fx // 4, fy // 3
    sx, sy = max(1, fx // 3), max(1, fy // 3)
    return (fx, fy), (ox, oy), (sx, sy)


@pytest.mark.parametrize("name", corpus_names())
def test_jpipkak_sequence(server, name, tmp_path):
    """GDAL JPIPKAK: cnew with len=2000 and no window, follow JPIP-cnew's path and cid until
    EOR 1/2, then windows with fsiz=...,closest, quality= (its layer count) and comps=."""
    if name == "<no corpus>":
        pytest.fail("no corpus (MANIFEST.tsv)")
    path = CORPUS / name
    ref = reference(path, tmp_path)
    siz = pixels.read_siz(ref)
    c = server.conn()
    r = get(c, f"/{name}?cnew=http&type=jpp-stream&stream=0&tid=0&len=2000")
    eor = check_stream(r, "first request")
    assert r.header("JPIP-tid"), "JPIP-tid missing"
    cnew = parse_cnew(r.header("JPIP-cnew"))
    assert cnew["transport"] == "http"
    chunks = [r.body]
    n = 0
    while eor not in (1, 2):
        r = get(c, f"/{cnew['path']}?cid={cnew['cid']}&stream=0&len=2000")
        eor = check_stream(r, "header request")
        chunks.append(r.body)
        n += 1
        assert n < 1000
    levels = min(st.levels for st in pixels.parse_codestream(ref.read_bytes()).comp_styles.values())
    ncomp = len(siz.comps)
    windows = [middle_window(siz, min(1, levels)), middle_window(siz, 0)]
    for k, (fsiz, roff, rsiz) in enumerate(windows):
        d = min(1, levels) if k == 0 else 0
        comps = ",".join(str(i) for i in range(ncomp))
        eor = None
        n = 0
        while eor not in (1, 2):
            r = get(c, f"/{cnew['path']}?cid={cnew['cid']}&type=jpp-stream&stream=0"
                       f"&roff={roff[0]},{roff[1]}&rsiz={rsiz[0]},{rsiz[1]}"
                       f"&fsiz={fsiz[0]},{fsiz[1]},closest&quality=3&comps={comps}&len=20000")
            eor = check_stream(r, f"window {k}")
            assert r.header("JPIP-fsiz") is None, f"fsiz {fsiz} is a frame size: {r.header('JPIP-fsiz')}"
            chunks.append(r.body)
            n += 1
            assert n < 2000
        area = pixels.window_area(siz, d, roff[0], roff[1], roff[0] + rsiz[0], roff[1] + rsiz[1])
        problems = window_problems(ref, rebuild(chunks, tmp_path, f"w{k}"), d, area)
        assert not problems, f"{name} window {k}: " + "; ".join(problems)
    # The same window again: nothing left to send.
    r = get(c, f"/{cnew['path']}?cid={cnew['cid']}&type=jpp-stream&stream=0"
               f"&roff={roff[0]},{roff[1]}&rsiz={rsiz[0]},{rsiz[1]}&fsiz={fsiz[0]},{fsiz[1]},closest&len=20000")
    assert r.body in (b"\x00\x02\x00", b"\x00\x01\x00"), r.body[:40]
    r = get(c, f"/{cnew['path']}?cclose={cnew['cid']}&len=0")
    assert r.status == 200


def test_jhelioviewer_sequence(server, tmp_path):
    """JHelioviewer: cnew with len=512, windows with fsiz/roff/rsiz/layers/len, close with
    cclose=<cid>&len=0; needs Content-Type image/jpp-stream exactly."""
    name = "tiled_odd.j2k"
    ref = reference(CORPUS / name, tmp_path)
    siz = pixels.read_siz(ref)
    c = server.conn()
    r = get(c, f"/{name}?cnew=http&type=jpp-stream&tid=0&len=512")
    check_stream(r, "open")
    cnew = parse_cnew(r.header("JPIP-cnew"))
    chunks = [r.body]
    fsiz, roff, rsiz = middle_window(siz, 1)
    layers = max(st.layers for st in pixels.parse_codestream(ref.read_bytes()).comp_styles.values())
    eor, n = None, 0
    while eor not in (1, 2):
        r = get(c, f"/{cnew['path']}?cid={cnew['cid']}&stream=0&fsiz={fsiz[0]},{fsiz[1]}"
                   f"&roff={roff[0]},{roff[1]}&rsiz={rsiz[0]},{rsiz[1]}&layers={layers}&len=4096")
        eor = check_stream(r, "window")
        chunks.append(r.body)
        n += 1
        assert n < 1000
    area = pixels.window_area(siz, 1, roff[0], roff[1], roff[0] + rsiz[0], roff[1] + rsiz[1])
    assert not window_problems(ref, rebuild(chunks, tmp_path), 1, area)
    r = get(c, f"/{cnew['path']}?cclose={cnew['cid']}&len=0")
    assert r.status == 200
    assert pixels.parse_jpp(r.body)[1] is not None
    r = get(c, f"/{cnew['path']}?cid={cnew['cid']}&len=0")
    assert r.status == 404


def test_webjpip_sequence(server, tmp_path):
    """webjpip.js: qid, wait, len doubling after EOR 4, an EOR ending every response, CORS
    headers exposing JPIP-cnew and JPIP-tid, a second channel, cclose=*&cid=."""
    name = "rgb8.jp2"
    ref = reference(CORPUS / name, tmp_path)
    siz = pixels.read_siz(ref)
    fsiz, roff, rsiz = middle_window(siz, 0)
    c = server.conn()
    base = (f"/{name}?type=jpp-stream&stream=0&wait=no&fsiz={fsiz[0]},{fsiz[1]},closest"
            f"&rsiz={rsiz[0]},{rsiz[1]}&roff={roff[0]},{roff[1]}")
    length, qid = 10240, 0
    r = get(c, f"{base}&len={length}&qid={qid}&cnew=http")
    eor = check_stream(r, "first")
    assert r.header("JPIP-qid") == "0"
    assert r.header("Access-Control-Allow-Origin") == "*"
    exposed = [h.strip().lower() for h in r.header("Access-Control-Expose-Headers").split(",")]
    assert "jpip-cnew" in exposed and "jpip-tid" in exposed
    cid = parse_cnew(r.header("JPIP-cnew"))["cid"]
    chunks = [r.body]
    while eor not in (1, 2):
        assert eor == 4
        length *= 2
        qid += 1
        r = get(c, f"{base}&cid={cid}&len={length}&qid={qid}")
        eor = check_stream(r, f"qid {qid}")
        assert r.header("JPIP-qid") == str(qid)
        chunks.append(r.body)
    area = pixels.window_area(siz, 0, roff[0], roff[1], roff[0] + rsiz[0], roff[1] + rsiz[1])
    assert not window_problems(ref, rebuild(chunks, tmp_path), 0, area)
    # A second channel in the same session: the session's model is shared.
    r = get(c, f"{base}&len=10240&qid=0&cnew=http&cid={cid}")
    assert check_stream(r, "second channel") == 2
    cid2 = parse_cnew(r.header("JPIP-cnew"))["cid"]
    assert cid2 != cid
    assert r.body == b"\x00\x02\x00"
    # A preflight request.
    c.request("OPTIONS", f"/{name}")
    p = c.getresponse()
    p.read()
    assert p.status == 204 and p.getheader("Access-Control-Allow-Origin") == "*"
    r = get(c, f"{base}&cclose=*&cid={cid}")
    assert r.status == 200 and pixels.parse_jpp(r.body)[1] is not None
    assert get(c, f"{base}&cid={cid2}&len=10").status == 404


def test_stateless_with_model(server, tmp_path):
    """A stateless client sends its cache state with model=; held bins are not resent, and the
    two responses together rebuild the window exactly."""
    name = "sop_eph_tiled.j2k"
    ref = reference(CORPUS / name, tmp_path)
    siz = pixels.read_siz(ref)
    fsiz, roff, rsiz = middle_window(siz, 0)
    c = server.conn()
    q = f"/{name}?fsiz={fsiz[0]},{fsiz[1]}&roff={roff[0]},{roff[1]}&rsiz={rsiz[0]},{rsiz[1]}"
    whole = get(c, q)
    assert check_stream(whole, "stateless") == 2
    msgs, _ = pixels.parse_jpp(whole.body)
    held = {(m.cls & ~1, m.bin_id) for m in msgs if m.last}
    model = ",".join(["Hm"] + [f"H{i}" for k, i in held if k == 2] + [f"P{i}" for k, i in held if k == 0][:5])
    part = get(c, f"{q}&model={model}")
    assert check_stream(part, "with model") == 2
    pm, _ = pixels.parse_jpp(part.body)
    assert not any(m.cls == 6 for m in pm)
    assert len(part.body) < len(whole.body)
    first5 = {i for k, i in held if k == 0}
    area = pixels.window_area(siz, 0, roff[0], roff[1], roff[0] + rsiz[0], roff[1] + rsiz[1])
    assert not window_problems(ref, rebuild([whole.body], tmp_path, "whole"), 0, area)
    assert first5


def test_preemption_ends_the_older_response_with_eor_3(pipit_bin, corpus):
    """A newer request on the channel cuts the running response short: EOR 3."""
    from conftest import Server
    s = Server(corpus, "--chunk-bytes", "256", "--chunk-delay-ms", "20")
    try:
        a = s.conn()
        r = get(a, "/rgb8.jp2?cnew=http&type=jpp-stream&len=0")
        cid = parse_cnew(r.header("JPIP-cnew"))["cid"]
        siz = pixels.read_siz(CORPUS / "rgb8.jp2")
        a.request("GET", f"/jpip?cid={cid}&fsiz={siz.width},{siz.height}")
        slow = a.getresponse()
        b = s.conn()
        r2 = get(b, f"/jpip?cid={cid}&fsiz=8,8&len=100")
        assert r2.status == 200
        body = slow.read()
        msgs, eor = pixels.parse_jpp(body)
        assert eor is not None and eor[0] == 3, eor
        # The session continues: the rest comes on the next request.
        r3 = get(a, f"/jpip?cid={cid}&fsiz={siz.width},{siz.height}")
        assert r3.eor() in (1, 2)
    finally:
        s.stop()
