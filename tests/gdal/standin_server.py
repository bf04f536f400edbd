"""A small JPIP server for the client tests, used when `pipit serve` is not available.

    /usr/bin/python3 standin_server.py --root DIR --listen 127.0.0.1:PORT --pipit PIPIT_BIN

It serves JPP-streams over HTTP/1.1 with keep-alive: sessions (cnew=http -> JPIP-cnew
cid=...,path=jpip,transport=http), stateless requests, the `model` field's explicit additive and
subtractive forms, `len` (EOR 4), `tid`, `cclose`. The JPP-stream of a view-window comes from
`pipit stream FILE --fsiz ... --roff ... --rsiz ... --layers ... --comps ...` (the core's response
composer with an empty cache model); this server only drops the bytes the client holds and cuts
the stream at `len`. A stand-in, not a product: one thread per connection, no limits.

With --stingy it behaves like JPIP servers that choose a window's precincts without the reach of
the wavelet filters: of the precincts `pipit stream` sends, it keeps only those whose own area
meets the window mapped to their resolution, and still ends the response with EOR 2 (window
done). Decoding such a window's edges needs precincts it never sends unless asked for a larger
window.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import pixels  # noqa: E402

CLASS_OF = {"H": 2, "P": 0, "M": 8, "T": 4}


def stingy_precincts(path: Path, q: dict) -> set[int]:
    """Precinct bin ids of the window of request `q` chosen without filter margins: at every
    resolution up to the window's, the precincts whose area meets the window's area there."""
    cs = pixels.parse_codestream(path.read_bytes())
    siz = cs.siz
    d, fx, fy = 0, siz.width, siz.height
    if q.get("fsiz"):
        fx, fy = (int(v) for v in q["fsiz"].split(",")[:2])
        # round-down, as the client asks: the largest frame not above fsiz
        while d < cs.cod.levels and (siz.frame(d)[0] > fx or siz.frame(d)[1] > fy):
            d += 1
    roff = tuple(int(v) for v in q["roff"].split(",")) if q.get("roff") else (0, 0)
    rsiz = tuple(int(v) for v in q["rsiz"].split(",")) if q.get("rsiz") else siz.frame(d)
    area = pixels.window_area(siz, d, *pixels.map_window(siz, d, (fx, fy), roff, rsiz))
    comps = range(len(siz.comps))
    if q.get("comps"):
        comps = set()
        for part in q["comps"].split(","):
            lo, _, hi = part.partition("-")
            comps.update(range(int(lo), int(hi or lo) + 1))
    nt, nc = siz.tiles_x * siz.tiles_y, len(siz.comps)
    out = set()
    for t in range(nt):
        tx0, ty0, tx1, ty1 = siz.tile_rect(t)
        if tx1 <= area[0] or tx0 >= area[2] or ty1 <= area[1] or ty0 >= area[3]:
            continue
        for c in comps:
            comp, st = siz.comps[c], cs.comp_styles[(t, c)]
            seq = 0
            for r in range(st.levels + 1):
                s = 1 << (st.levels - r)
                tc = (pixels.ceil_div(tx0, comp.dx), pixels.ceil_div(ty0, comp.dy),
                      pixels.ceil_div(tx1, comp.dx), pixels.ceil_div(ty1, comp.dy))
                rx0, ry0, rx1, ry1 = (pixels.ceil_div(v, s) for v in tc)
                ppx, ppy = st.precincts[r]
                px0, py0 = rx0 >> ppx, ry0 >> ppy
                npx = pixels.ceil_div(rx1, 1 << ppx) - px0 if rx1 > rx0 else 0
                npy = pixels.ceil_div(ry1, 1 << ppy) - py0 if ry1 > ry0 else 0
                if r <= st.levels - d:
                    # the window's area at this resolution, clipped to the tile
                    wx0 = max(rx0, pixels.ceil_div(area[0], comp.dx * s))
                    wy0 = max(ry0, pixels.ceil_div(area[1], comp.dy * s))
                    wx1 = min(rx1, pixels.ceil_div(area[2], comp.dx * s))
                    wy1 = min(ry1, pixels.ceil_div(area[3], comp.dy * s))
                    if wx1 > wx0 and wy1 > wy0:
                        for py in range(wy0 >> ppy, pixels.ceil_div(wy1, 1 << ppy)):
                            for px in range(wx0 >> ppx, pixels.ceil_div(wx1, 1 << ppx)):
                                k = seq + (py - py0) * npx + (px - px0)
                                out.add(t + (c + k * nc) * nt)
                seq += npx * npy
    return out


class State:
    def __init__(self, root: Path, pipit: str, no_sessions: bool, stingy: bool = False):
        self.root = root
        self.pipit = pipit
        self.no_sessions = no_sessions
        self.stingy = stingy
        self.lock = threading.Lock()
        self.sessions: dict[str, dict] = {}
        self.streams: dict[tuple, list] = {}
        self.next_cid = 1
        self.requests = 0

    def stream(self, path: Path, q: dict) -> list:
        key = (str(path), path.stat().st_mtime_ns, q.get("fsiz"), q.get("roff"), q.get("rsiz"),
               q.get("layers"), q.get("comps"))
        with self.lock:
            if key in self.streams:
                return self.streams[key]
        with tempfile.TemporaryDirectory() as td:
            out = Path(td) / "w.jpp"
            cmd = [self.pipit, "stream", str(path), "-o", str(out)]
            for f in ("fsiz", "roff", "rsiz", "layers", "comps"):
                if q.get(f):
                    cmd += [f"--{f}", q[f]]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(p.stderr)
            msgs, _ = pixels.parse_jpp(out.read_bytes())
        with self.lock:
            self.streams[key] = msgs
        return msgs


def tid_of(path: Path) -> str:
    st = path.stat()
    return hashlib.sha1(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]


def apply_model(held: dict, text: str) -> None:
    for item in text.split(","):
        if not item:
            continue
        sub = item.startswith("-")
        if sub:
            item = item[1:]
        if item == "Hm":
            key, rest = (6, 0, 0), ""
        else:
            cls = CLASS_OF[item[0]]
            num, _, rest = item[1:].partition(":")
            key = (cls, 0, int(num))
        if sub:
            held.pop(key, None)
            continue
        held[key] = int(rest) if rest and not rest.startswith("L") else float("inf")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State = None  # set by main

    def log_message(self, *a):
        pass

    def fail(self, code: int, text: str):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.state
        with st.lock:
            st.requests += 1
        u = urlsplit(self.path)
        q = {}
        for part in u.query.split("&"):
            if part:
                k, _, v = part.partition("=")
                q[k] = unquote(v)
        headers = {}
        if "cclose" in q:
            with st.lock:
                st.sessions.pop(q["cclose"], None)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        sess = None
        if "cid" in q:
            with st.lock:
                sess = st.sessions.get(q["cid"])
            if sess is None:
                return self.fail(404, f"unknown channel {q['cid']}")
            path = sess["path"]
        else:
            path = (st.root / unquote(u.path).lstrip("/")).resolve()
            if not path.is_file() or st.root.resolve() not in path.parents:
                return self.fail(404, f"no target {u.path}")
        tid = tid_of(path)
        if q.get("tid") is not None and q.get("tid") != tid:
            headers["JPIP-tid"] = tid
            q.pop("model", None)
        if "cnew" in q and not st.no_sessions:
            with st.lock:
                cid = f"C{st.next_cid:04d}"
                st.next_cid += 1
                sess = {"path": path, "held": {}}
                st.sessions[cid] = sess
            headers["JPIP-cnew"] = f"cid={cid},path=jpip,transport=http"
        held = sess["held"] if sess is not None else {}
        if "model" in q:
            apply_model(held, q["model"])
        try:
            msgs = st.stream(path, q)
        except RuntimeError as e:
            return self.fail(500, str(e))
        if st.stingy:
            keep = stingy_precincts(path, q)
            msgs = [m for m in msgs if m.cls not in (0, 1) or m.bin_id in keep]
        limit = int(q.get("len", "1000000000"))
        out, used, reason = [], 0, 2
        for m in msgs:
            key = (m.cls & ~1, m.csn, m.bin_id)
            h = held.get(key, 0)
            end = m.offset + len(m.data)
            if key in held and end <= h:
                continue
            if h > m.offset:
                cut = int(h) - m.offset
                m = pixels.Message(m.cls, m.csn, m.bin_id, m.offset + cut, m.data[cut:], m.last, m.aux)
            size = len(m.data) + 8
            if used + size > limit:
                reason = 4
                break
            used += size
            out.append(m)
            held[key] = float("inf") if m.last else max(h, end)
        body = pixels.encode_jpp(out, (reason, b""))
        self.send_response(200)
        self.send_header("Content-Type", "image/jpp-stream")
        self.send_header("Cache-Control", "no-cache")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--pipit", required=True)
    ap.add_argument("--no-sessions", action="store_true")
    ap.add_argument("--stingy", action="store_true",
                    help="send only the precincts the window meets, without filter margins")
    ap.add_argument("--cert", help="PEM certificate: serve HTTPS")
    ap.add_argument("--key", help="PEM private key of --cert")
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    Handler.state = State(Path(a.root), a.pipit, a.no_sessions, a.stingy)
    srv = ThreadingHTTPServer((host, int(port)), Handler)
    srv.daemon_threads = True
    if a.cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f"listening on {host}:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
