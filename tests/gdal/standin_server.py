"""A small JPIP server for the client tests, used when `pipit serve` is not available.

    /usr/bin/python3 standin_server.py --root DIR --listen 127.0.0.1:PORT --pipit PIPIT_BIN

It serves JPP-streams over HTTP/1.1 with keep-alive: sessions (cnew=http -> JPIP-cnew
cid=...,path=jpip,transport=http), stateless requests, the `model` field's explicit additive and
subtractive forms, `len` (EOR 4), `tid`, `cclose`. The JPP-stream of a view-window comes from
`pipit stream FILE --fsiz ... --roff ... --rsiz ... --layers ... --comps ...` (the core's response
composer with an empty cache model); this server only drops the bytes the client holds and cuts
the stream at `len`. A stand-in, not a product: one thread per connection, no limits.
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


class State:
    def __init__(self, root: Path, pipit: str, no_sessions: bool):
        self.root = root
        self.pipit = pipit
        self.no_sessions = no_sessions
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
    ap.add_argument("--cert", help="PEM certificate: serve HTTPS")
    ap.add_argument("--key", help="PEM private key of --cert")
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    Handler.state = State(Path(a.root), a.pipit, a.no_sessions)
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
