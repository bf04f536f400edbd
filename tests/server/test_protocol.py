"""`pipit serve` on 127.0.0.1: HTTP framing, keep-alive, malformed requests, path safety, JPX
codestreams (stream=, context=jpxl<>), metareq and jpt-stream over the network."""
from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import CORPUS, PIPIT_BIN, Server, get, pixels, raw


@pytest.fixture(scope="module")
def root(tmp_path_factory, corpus):
    """A root with a few corpus files, a JPX with two codestreams, symlinks in and out, and a
    file outside the root."""
    top = tmp_path_factory.mktemp("srv")
    r = top / "root"
    (r / "maps").mkdir(parents=True)
    for n in ("rgb8.jp2", "tiled_odd.j2k", "geo_gmljp2.jp2"):
        shutil.copy(corpus / n, r / n)
    shutil.copy(corpus / "tiled_odd.j2k", r / "maps" / "a b.j2k")
    shutil.copy(corpus / "tiled_odd.j2k", top / "secret.j2k")
    (r / "out.j2k").symlink_to(top / "secret.j2k")
    (r / "in.j2k").symlink_to(r / "tiled_odd.j2k")
    (r / "notes.txt").write_text("not served")
    # A JPX file: the boxes of rgb8.jp2 (ftyp brand changed to 'jpx ') and a second jp2c box
    # holding tiled_odd.j2k.
    data = (corpus / "rgb8.jp2").read_bytes()
    out = bytearray()
    for kind, start, body, end in pixels.boxes(data):
        box = bytearray(data[start:end])
        if kind == b"ftyp":
            box[8:12] = b"jpx "
            box += b"jpx "
            struct.pack_into(">I", box, 0, len(box))
        out += box
    cs2 = (corpus / "tiled_odd.j2k").read_bytes()
    out += struct.pack(">I4s", 8 + len(cs2), b"jp2c") + cs2
    (r / "two.jpx").write_bytes(bytes(out))
    return r


@pytest.fixture(scope="module")
def srv(pipit_bin, root):
    s = Server(root)
    yield s
    s.stop()


def status_of(resp: bytes) -> int:
    return int(resp.split(b" ", 2)[1])


def test_keep_alive_and_chunked(srv):
    c = srv.conn()
    for i in range(5):
        r = get(c, f"/tiled_odd.j2k?fsiz=64,64&len=3000&qid={i}")
        assert r.status == 200 and r.header("JPIP-qid") == str(i)
        assert r.header("Transfer-Encoding") == "chunked"
        assert r.eor() in (1, 2, 4)
    assert r.header("Cache-Control") == "no-cache"


@pytest.mark.parametrize("url,status", [
    ("/tiled_odd.j2k?bogus=1", 400),
    ("/tiled_odd.j2k?fsiz=abc", 400),
    ("/tiled_odd.j2k?fsiz=10,10,sideways", 400),
    ("/tiled_odd.j2k?rsiz=10,10", 400),
    ("/tiled_odd.j2k?len=-1", 400),
    ("/tiled_odd.j2k?model=Q7", 400),
    ("/tiled_odd.j2k?metareq=[xml", 400),
    ("/tiled_odd.j2k?cid=", 400),
    ("/tiled_odd.j2k?upload=jpp-stream", 501),
    ("/tiled_odd.j2k?need=P1", 501),
    ("/tiled_odd.j2k?type=raw", 501),
    ("/tiled_odd.j2k?cnew=http-tcp", 501),
    ("/missing.j2k", 404),
    ("/notes.txt", 404),
    ("/out.j2k", 404),
    ("/../secret.j2k", 404),
    ("/%2e%2e/secret.j2k", 404),
    ("/maps/%2e%2e%2f%2e%2e%2fsecret.j2k", 404),
    ("/%252e%252e/secret.j2k", 404),
    ("//etc/passwd.jp2", 404),
    ("/?target=../secret.j2k", 404),
    ("/?target=%2Fetc%2Fpasswd.jp2", 404),
    ("/tiled_odd.j2k%00", 400),
    ("/jpip?cid=00000000000000000000000000000000", 404),
])
def test_bad_requests_get_4xx_and_the_server_keeps_serving(srv, root, url, status):
    c = srv.conn()
    r = get(c, url)
    assert r.status == status, (url, r.body)
    assert r.header("Content-Type").startswith("text/plain")
    text = r.body.decode()
    assert str(root) not in text and str(root.parent) not in text and "/tmp" not in text
    # Same connection, next request: served.
    r = get(c, "/tiled_odd.j2k?fsiz=32,32&len=100")
    assert r.status == 200 and r.eor() in (1, 2, 4)


def test_served_names(srv):
    c = srv.conn()
    for url in ("/in.j2k?len=10", "/maps/a%20b.j2k?len=10", "/x?target=maps/a%20b.j2k&len=10"):
        assert get(c, url).status == 200, url


@pytest.mark.parametrize("data,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /tiled_odd.j2k HTTP/9.9\r\n\r\n", 400),
    (b"GET /tiled_odd.j2k?len=1 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n", 431),
    (b"POST /tiled_odd.j2k HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + b"a" * 200000, 413),
    (b"GET /tiled_odd.j2k?len=1 HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n", 400),
    (b"DELETE /tiled_odd.j2k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
    (b"GET http://evil/tiled_odd.j2k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
    (b"GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
])
def test_malformed_http(srv, data, status):
    resp = raw(srv.port, data)
    assert resp.startswith(b"HTTP/1.1 "), resp[:100]
    assert status_of(resp) == status, resp[:300]
    assert srv.alive()
    assert get(srv.conn(), "/tiled_odd.j2k?len=10").status == 200


def test_slow_and_truncated_clients_do_not_stop_the_server(srv):
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /tiled_odd.j2k?fsiz=64,64 HTTP/1.1\r\nHo")  # never finished
        socks.append(s)
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"GET /tiled_odd.j2k?fsiz=512,512 HTTP/1.1\r\nHost: x\r\n\r\n")
    s.close()  # gone before the response
    assert get(srv.conn(), "/tiled_odd.j2k?fsiz=64,64&len=100").status == 200
    for s in socks:
        s.close()
    assert srv.alive()


def test_post_form(srv):
    c = srv.conn()
    c.request("POST", "/tiled_odd.j2k", body="fsiz=32,32&len=50&qid=9",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    body = r.read()
    assert r.status == 200 and r.getheader("JPIP-qid") == "9"
    assert pixels.parse_jpp(body)[1] is not None


def test_changed_file_gets_a_new_tid(srv, root):
    c = srv.conn()
    p = root / "changing.j2k"
    shutil.copy(CORPUS / "tiled_odd.j2k", p)
    t1 = get(c, "/changing.j2k?tid=0&len=0").header("JPIP-tid")
    shutil.copy(CORPUS / "yuv420.j2k", p)
    import os
    os.utime(p, (time.time() + 10, time.time() + 10))
    t2 = get(c, f"/changing.j2k?tid={t1}&len=0").header("JPIP-tid")
    assert t1 and t2 and t1 != t2


def rebuild(chunks, tmp_path, csn=0, name="r"):
    src = tmp_path / f"{name}.jpp"
    src.write_bytes(b"".join(chunks))
    out = tmp_path / f"{name}.j2k"
    p = subprocess.run([str(PIPIT_BIN), "rebuild", str(src), "-o", str(out), "--stream", str(csn)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("field", ["stream=1", "context=jpxl%3C1%3E"])
def test_jpx_second_codestream(srv, root, tmp_path, field):
    """stream=1 and context=jpxl<1> serve codestream 1 of a JPX; its rebuild decodes exactly."""
    c = srv.conn()
    cs = (CORPUS / "tiled_odd.j2k")
    siz = pixels.read_siz(cs)
    r = get(c, f"/two.jpx?{field}&fsiz={siz.width},{siz.height}")
    assert r.status == 200, r.body
    msgs, eor = pixels.parse_jpp(r.body)
    assert eor[0] in (1, 2)
    assert {m.csn for m in msgs if m.cls != 8} == {1}
    got = pixels.decode(rebuild([r.body], tmp_path, csn=1))
    assert not pixels.compare(got, pixels.decode(cs))
    r = get(c, "/two.jpx?stream=0-5&len=0")
    assert r.header("JPIP-stream") == "0-1"


def test_metareq(srv, root):
    c = srv.conn()
    data = (root / "geo_gmljp2.jp2").read_bytes()
    r = get(c, "/geo_gmljp2.jp2?metareq=[asoc]!!")
    assert r.status == 200
    msgs, eor = pixels.parse_jpp(r.body)
    assert msgs and all(m.cls == 8 for m in msgs)   # metadata only
    asoc = [data[s:e] for k, s, b, e in pixels.boxes(data) if k == b"asoc"]
    assert asoc and any(m.data == asoc[0] for m in msgs)
    r = get(c, "/geo_gmljp2.jp2?metareq=[ihdr]!!")
    msgs, _ = pixels.parse_jpp(r.body)
    assert len(msgs) == 1 and msgs[0].data[4:8] == b"ihdr" and len(msgs[0].data) == 22
    r = get(c, "/geo_gmljp2.jp2?metareq=[jp2h:r]!!")
    msgs, _ = pixels.parse_jpp(r.body)
    assert len(msgs) == 1 and msgs[0].data[4:8] == b"jp2h" and len(msgs[0].data) == 8


def test_jpt_stream(srv, tmp_path):
    c = srv.conn()
    r = get(c, "/tiled_odd.j2k?type=jpt-stream&fsiz=64,64")
    assert r.status == 200 and r.header("Content-Type") == "image/jpt-stream"
    msgs, eor = pixels.parse_jpp(r.body)
    assert eor is not None
    cs = (CORPUS / "tiled_odd.j2k").read_bytes()
    tiles = [m for m in msgs if m.cls == 4]
    assert tiles and all(m.data in cs and m.data[:2] == b"\xff\x90" for m in tiles)
