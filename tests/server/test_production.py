"""`pipit serve` in production on 127.0.0.1: configuration file and flags, limits (503, 431,
JPIP-len, EOR 6), stalled and slow clients, /metrics and /healthz, the access log, TLS, SIGTERM
during load, SIGHUP reload."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import tomllib
from pathlib import Path

import pytest

from conftest import PIPIT_BIN, Server, eor_of, parse_cnew

IMAGE = "tiled_odd.j2k"


@pytest.fixture(scope="module")
def root(tmp_path_factory, corpus):
    """A few corpus files and one large codestream (~4 MB of noise) that does not fit in socket
    buffers."""
    r = tmp_path_factory.mktemp("prod") / "root"
    r.mkdir()
    for n in (IMAGE, "rgb8.jp2", "tp_r_plt_tlm.j2k"):
        shutil.copy(corpus / n, r / n)
    pgm = r.parent / "noise.pgm"
    side = 2048
    pgm.write_bytes(b"P5\n%d %d\n255\n" % (side, side) + os.urandom(side * side))
    subprocess.run(["opj_compress", "-i", str(pgm), "-o", str(r / "big.j2k"), "-t", "512,512", "-c", "[128,128]",
                    "-r", "20,10,5,2,1"],
                   check=True, capture_output=True)
    return r


@pytest.fixture()
def work(tmp_path):
    return tmp_path


def start(root, work, *extra) -> Server:
    return Server(root, *extra, workdir=work)


# ---- configuration ----------------------------------------------------------------------------

def test_config_file_flags_check_and_print(root, work):
    cfg = work / "pipit.toml"
    cfg.write_text(f'root = "{root}"\nmax-sessions = 7\nmax-len = 123\n')
    out = subprocess.run([str(PIPIT_BIN), "serve", "--config", str(cfg), "--max-len", "456", "--print-config"],
                         capture_output=True, text=True, check=True).stdout
    printed = tomllib.loads(out)
    assert printed["max-sessions"] == 7 and printed["max-len"] == 456 and printed["root"] == str(root)
    assert printed["listen"] == "127.0.0.1:8080" and printed["metrics"] is True
    ok = subprocess.run([str(PIPIT_BIN), "serve", "--config", str(cfg), "--check-config"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    cfg.write_text(f'root = "{root}"\nmax-sesions = 7\n')
    bad = subprocess.run([str(PIPIT_BIN), "serve", "--config", str(cfg), "--check-config"], capture_output=True, text=True)
    assert bad.returncode == 2 and "pipit.toml:2" in bad.stderr and "max-sesions" in bad.stderr
    bad = subprocess.run([str(PIPIT_BIN), "serve", "--root", str(root), "--tls-cert", "/nonexistent", "--tls-key",
                          "/nonexistent", "--check-config"], capture_output=True, text=True)
    assert bad.returncode == 2 and "tls" in bad.stderr
    # The printed configuration is itself a valid configuration.
    (work / "printed.toml").write_text(out)
    ok = subprocess.run([str(PIPIT_BIN), "serve", "--config", str(work / "printed.toml"), "--check-config"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


# ---- limits -----------------------------------------------------------------------------------

def test_limits_give_documented_statuses_and_others_are_served(root, work):
    s = start(root, work, "--max-sessions", "3", "--max-len", "1000", "--max-headers", "20",
              "--max-connections", "12", "--session-max-bytes", "6000", "--read-timeout", "30")
    try:
        c = s.conn()
        cids = []
        for _ in range(3):
            st, h, body = s.get(f"/{IMAGE}?cnew=http&fsiz=64,64&len=500", c)
            assert st == 200
            cids.append(parse_cnew(h["jpip-cnew"])["cid"])
        st, _, body = s.get(f"/{IMAGE}?cnew=http&len=10", c)
        assert st == 503 and b"too many sessions" in body
        st, _, body = s.get(f"/{IMAGE}?fsiz=64,64&len=100", c)  # stateless: still served
        assert st == 200 and eor_of(body) in (2, 4)
        # len above max-len (or none) is lowered, said in JPIP-len, and ends with EOR 4.
        st, h, body = s.get(f"/{IMAGE}?fsiz=512,512", c)
        assert st == 200 and h.get("jpip-len") == "1000" and eor_of(body) == 4 and len(body) < 1100
        # A session past session-max-bytes gets EOR 6, then EOR 6 alone.
        eors = [eor_of(s.get(f"/jpip?cid={cids[0]}&fsiz=512,512&len=900", c)[2]) for _ in range(12)]
        assert 6 in eors and eors[-1] == 6
        st, _, body = s.get(f"/jpip?cid={cids[1]}&fsiz=64,64&len=500", c)  # other sessions go on
        assert st == 200 and eor_of(body) in (2, 4)
        # Too many header fields: 431 and the connection closes; a new one is served.
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as raw:
            req = f"GET /{IMAGE}?len=1 HTTP/1.1\r\nHost: x\r\n".encode()
            req += b"".join(b"X-H%d: v\r\n" % i for i in range(30)) + b"\r\n"
            raw.sendall(req)
            assert raw.recv(100).startswith(b"HTTP/1.1 431")
        assert s.get(f"/{IMAGE}?len=10")[0] == 200
        # Connections beyond max-connections are answered 503 and closed.
        held = [socket.create_connection(("127.0.0.1", s.port), timeout=10) for _ in range(12)]
        time.sleep(0.3)
        extra = s.conn()
        st, _, body = s.get(f"/{IMAGE}?len=10", extra)
        assert st == 503 and b"too many connections" in body
        for h_ in held:
            h_.close()
        time.sleep(0.3)
        assert s.get(f"/{IMAGE}?len=10")[0] == 200
        assert s.proc.poll() is None
    finally:
        assert s.stop() == 0


def test_stalled_and_slow_clients_do_not_block_others(root, work):
    s = start(root, work, "--threads", "2", "--write-timeout", "3", "--read-timeout", "3",
              "--access-log", str(work / "access.log"))
    try:
        stalled = []
        for _ in range(6):  # more than the threads: each would hold one if writes blocked
            k = socket.socket()
            k.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            k.connect(("127.0.0.1", s.port))
            k.sendall(b"GET /big.j2k?fsiz=2048,2048 HTTP/1.1\r\nHost: x\r\n\r\n")
            stalled.append(k)
        slow = socket.create_connection(("127.0.0.1", s.port))
        slow.sendall(b"GET /big.j2k?fsiz=64,64 HTT")  # and never the rest
        time.sleep(0.5)
        c = s.conn(timeout=5)
        t0 = time.monotonic()
        for i in range(20):
            st, _, body = s.get(f"/{IMAGE}?fsiz=128,128&roff={i},0&rsiz=64,64", c)
            assert st == 200 and eor_of(body) in (1, 2)
        assert time.monotonic() - t0 < 3
        assert s.metrics(c)["pipit_connections_open"] >= 8
        # The write timeout cuts the stalled responses, the read timeout the slow request.
        deadline = time.monotonic() + 10
        while s.metrics(c)["pipit_connections_open"] > 1 and time.monotonic() < deadline:
            time.sleep(0.25)
        assert s.metrics(c)["pipit_connections_open"] == 1  # the one asking
        slow.settimeout(2)
        assert slow.recv(100) == b""  # closed without an answer
        for k in stalled:
            k.close()
    finally:
        assert s.stop() == 0
    log = (work / "access.log").read_text()
    assert log.count("eor=-,cut") + log.count(",cut") >= 6, log


# ---- observability ----------------------------------------------------------------------------

def test_metrics_healthz_and_access_log(root, work):
    s = start(root, work, "--access-log", str(work / "access.log"))
    try:
        st, h, body = s.get("/healthz")
        assert st == 200 and body == b"ok\n"
        before = s.metrics()
        c = s.conn()
        st, h, body = s.get(f"/{IMAGE}?cnew=http&fsiz=128,128&len=3000", c)
        cid = parse_cnew(h["jpip-cnew"])["cid"]
        sent = len(body)
        for i in range(4):
            sent += len(s.get(f"/jpip?cid={cid}&fsiz=128,128&roff={i * 8},0&rsiz=64,64", c)[2])
        assert s.get("/missing.j2k", c)[0] == 404
        ok = 'pipit_requests_total{status="200"}'
        missing = 'pipit_requests_total{status="404"}'
        # A request is counted once its reply is written, which may be just after the client has
        # read it: look again for a bounded time.
        deadline = time.time() + 5
        while True:
            after = s.metrics()
            if (after.get(ok, 0) - before.get(ok, 0) >= 6 and after.get(missing, 0) >= before.get(missing, 0) + 1) \
                    or time.time() > deadline:
                break
            time.sleep(0.05)
        assert after[ok] - before.get(ok, 0) >= 6  # 5 + the first /metrics
        assert after[missing] == before.get(missing, 0) + 1
        assert after["pipit_response_bytes_total"] - before["pipit_response_bytes_total"] >= sent
        assert after["pipit_sessions_open"] == 1
        assert after['pipit_response_duration_seconds_bucket{le="+Inf"}'] >= 7
        assert after["pipit_index_cache_files"] >= 1 and after["pipit_index_cache_bytes"] > 0
        assert after["pipit_index_cache_hits_total"] + after["pipit_index_cache_misses_total"] >= 1
        assert after['pipit_eor_total{reason="window-done"}'] >= 1
    finally:
        assert s.stop() == 0
    lines = (work / "access.log").read_text().splitlines()
    mine = [ln for ln in lines if f"session={cid}" in ln]
    assert len(mine) == 5, lines
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d 127\.0\.0\.1:\d+ GET 200 bytes=\d+ "
                    r"eor=\S+ dur_ms=\d+\.\d{3} session=[0-9a-f]{32} target=tiled_odd\.j2k "
                    r"window=fsiz=128,128.* \"/", mine[0]), mine[0]
    assert any(" 404 " in ln and "target=-" in ln for ln in lines)


# ---- TLS --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def https_get(port: int, cafile: Path, url: str):
    ctx = ssl.create_default_context(cafile=str(cafile))
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    c.request("GET", url)
    r = c.getresponse()
    return r.status, r.read()


def test_tls_serves_and_plain_http_is_refused_unless_told(root, work, cert):
    certfile, keyfile = cert
    s = start(root, work, "--tls-cert", str(certfile), "--tls-key", str(keyfile), "--plain-http", "true")
    try:
        st, body = https_get(s.port, certfile, f"/{IMAGE}?fsiz=64,64")
        assert st == 200 and eor_of(body) in (1, 2)
        assert s.get(f"/{IMAGE}?fsiz=64,64")[0] == 200  # plain-http asked for
    finally:
        assert s.stop() == 0
    s = start(root, work, "--tls-cert", str(certfile), "--tls-key", str(keyfile))  # plain-http: false
    try:
        for _ in range(2):
            st, body = https_get(s.port, certfile, f"/{IMAGE}?fsiz=64,64")
            assert st == 200 and eor_of(body) in (1, 2)
        st, _, body = s.get(f"/{IMAGE}?fsiz=64,64")
        assert st == 400 and b"HTTPS" in body
        with pytest.raises(ssl.SSLError):  # a client that does not trust the certificate
            https_get(s.port, root / IMAGE, "/x.j2k")
        assert https_get(s.port, certfile, "/healthz") == (200, b"ok\n")
    finally:
        assert s.stop() == 0


# ---- signals ----------------------------------------------------------------------------------

def test_sigterm_finishes_in_flight_responses_and_loses_no_completed_one(root, work):
    # Slow responses (50 chunks of 2 kB, 20 ms apart: about 1 s each) under load from 6 clients.
    s = start(root, work, "--chunk-bytes", "2000", "--chunk-delay-ms", "20", "--shutdown-grace", "5")
    results, errors = [], []

    def client(k):
        try:
            c = s.conn(timeout=20)
            for i in range(1000):
                st, _, body = s.get(f"/{IMAGE}?fsiz=512,512&roff={k},{i}&rsiz=300,300&len=100000", c)
                results.append((st, eor_of(body), len(body)))
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            errors.append(e)  # the server closed the connection between responses

    threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(timeout=30)
    rc = s.proc.wait(timeout=15)
    took = time.monotonic() - t0
    s.err.close()
    assert rc == 0 and took < 5, took
    assert len(results) >= 6
    for st, eor, n in results:  # every response a client received is whole and well-formed
        assert st == 200 and eor in (2, 4), (st, eor, n)
    assert len(errors) == 6  # each client then found its connection closed


def test_sigterm_cuts_responses_past_the_grace_with_eor_6(root, work):
    s = start(root, work, "--chunk-bytes", "1000", "--chunk-delay-ms", "100", "--shutdown-grace", "1")
    got = {}

    def slow():
        got["r"] = s.get("/big.j2k?fsiz=1024,1024&len=100000", s.conn(timeout=20))

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    s.proc.send_signal(signal.SIGTERM)
    t.join(timeout=20)
    assert s.proc.wait(timeout=10) == 0
    s.err.close()
    st, _, body = got["r"]
    assert st == 200 and eor_of(body) == 6 and 10000 < len(body) < 100000


def test_sighup_reloads_the_configuration(root, work):
    cfg = work / "pipit.toml"
    cfg.write_text(f'root = "{root}"\nlisten = "127.0.0.1:0"\n')
    s = Server(root, "--config", str(cfg), workdir=work)
    try:
        assert "jpip-len" not in s.get(f"/{IMAGE}?fsiz=512,512")[1]
        cfg.write_text(f'root = "{root}"\nlisten = "127.0.0.1:0"\nmax-len = 300\nmetrics = false\n')
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "configuration reloaded" not in s.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        st, h, body = s.get(f"/{IMAGE}?fsiz=512,512")
        assert h.get("jpip-len") == "300" and eor_of(body) == 4
        assert s.get("/metrics")[0] == 404
        cfg.write_text("this is not toml = = =\n")  # refused: the server keeps the last good one
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "configuration refused" not in s.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "configuration refused" in s.log()
        assert s.get(f"/{IMAGE}?fsiz=512,512")[1].get("jpip-len") == "300"
    finally:
        assert s.stop() == 0
