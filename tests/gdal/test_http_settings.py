"""GDAL's HTTP settings in the JPIP driver and the same settings of `pipit get`: authentication,
extra headers and cookies through a real nginx reverse proxy in front of `pipit serve`, and
timeouts and retries against servers that accept connections and then say nothing."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import PIPIT_BIN, free_port, gdal, gdal_env, start_nginx, wait_listening

NAME = "gray16_lossless.jp2"
USER, PASSWORD = "ann", "pa:ss@word"  # ':' and '@' must survive the URL's percent-encoding
TOKEN, API_KEY, COOKIE = "tok-123", "key-456", "sess=abc789"


class Nginx:
    """nginx on 127.0.0.1 in front of `pipit serve`: one port per way of being let in."""

    def __init__(self, work: Path, upstream: int):
        self.work = work
        self.ports = {k: free_port() for k in ("basic", "header", "cookie", "bearer")}
        htpasswd = work / "htpasswd"
        hashed = subprocess.run(["openssl", "passwd", "-apr1", PASSWORD], capture_output=True,
                                text=True, check=True).stdout.strip()
        htpasswd.write_text(f"{USER}:{hashed}\n")
        proxy = (f"proxy_pass http://127.0.0.1:{upstream}; proxy_http_version 1.1; "
                 "proxy_set_header Connection \"\"; proxy_buffering off;")
        deny = "return 401;"
        servers = [
            f"server {{ listen 127.0.0.1:{self.ports['basic']}; location / {{ "
            f"auth_basic \"jpip\"; auth_basic_user_file {htpasswd}; {proxy} }} }}",
            f"server {{ listen 127.0.0.1:{self.ports['header']}; location / {{ "
            f"if ($http_x_api_key != \"{API_KEY}\") {{ {deny} }} {proxy} }} }}",
            f"server {{ listen 127.0.0.1:{self.ports['cookie']}; location / {{ "
            f"if ($cookie_sess != \"abc789\") {{ {deny} }} {proxy} }} }}",
            f"server {{ listen 127.0.0.1:{self.ports['bearer']}; location / {{ "
            f"if ($http_authorization != \"Bearer {TOKEN}\") {{ {deny} }} {proxy} }} }}",
        ]
        self.proc = start_nginx(work, "  access_log off;\n  " + " ".join(servers))
        for port in self.ports.values():
            wait_listening(port, self.proc, "nginx", work / "logs/error.log")

    def url(self, kind: str, userinfo: str = "") -> str:
        return f"jpip://{userinfo}127.0.0.1:{self.ports[kind]}/{NAME}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def nginx(server, tmp_path_factory):
    n = Nginx(tmp_path_factory.mktemp("nginx"), server.port)
    yield n
    n.stop()


READ = r"""
import sys, json
from osgeo import gdal
gdal.UseExceptions()
try:
    ds = gdal.OpenEx(sys.argv[1], allowed_drivers=["JPIP"])
    a = ds.ReadAsArray()
    print(json.dumps({"ok": True, "sum": int(a.astype("int64").sum())}))
except RuntimeError as e:
    print(json.dumps({"ok": False, "error": str(e)}))
"""


def read_in_process(url, config=None, timeout=120):
    """Opens and reads `url` through the driver in a new process, GDAL options in its
    environment (as a user sets them); returns (result, seconds)."""
    env = gdal_env()
    env.update(config or {})
    t0 = time.time()
    p = subprocess.run([sys.executable, "-c", READ, url], capture_output=True, text=True, env=env,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1]), time.time() - t0


def local_sum(image_dir):
    g = gdal()
    ds = g.OpenEx(str(image_dir / NAME), allowed_drivers=["JP2OpenJPEG"])
    return int(ds.ReadAsArray().astype("int64").sum())


def test_nginx_basic_auth_refuses_without_credentials(nginx):
    gdal()
    r, _ = read_in_process(nginx.url("basic"))
    assert not r["ok"] and "authentication" in r["error"] and "401" in r["error"]


def test_nginx_basic_auth_userpwd(nginx, image_dir):
    gdal()
    r, _ = read_in_process(nginx.url("basic"), {"GDAL_HTTP_USERPWD": f"{USER}:{PASSWORD}",
                                                "GDAL_HTTP_AUTH": "BASIC"})
    assert r["ok"], r
    assert r["sum"] == local_sum(image_dir)
    r, _ = read_in_process(nginx.url("basic"), {"GDAL_HTTP_USERPWD": f"{USER}:wrong"})
    assert not r["ok"] and "401" in r["error"]


def test_nginx_basic_auth_user_password_in_url(nginx, image_dir):
    gdal()
    from urllib.parse import quote
    r, _ = read_in_process(nginx.url("basic", f"{USER}:{quote(PASSWORD, safe='')}@"))
    assert r["ok"], r
    assert r["sum"] == local_sum(image_dir)
    # The password is not part of what the driver reports.
    assert PASSWORD not in json.dumps(r)


def test_nginx_header_cookie_bearer(nginx, image_dir, tmp_path):
    gdal()
    want = local_sum(image_dir)
    for kind, config in [
        ("header", {"GDAL_HTTP_HEADERS": f"X-Other: 1,X-Api-Key: {API_KEY}"}),
        ("cookie", {"GDAL_HTTP_COOKIE": COOKIE}),
        ("bearer", {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": TOKEN}),
    ]:
        r, _ = read_in_process(nginx.url(kind))
        assert not r["ok"] and "401" in r["error"], kind
        r, _ = read_in_process(nginx.url(kind), config)
        assert r["ok"] and r["sum"] == want, (kind, r)
    headers = tmp_path / "headers.txt"
    headers.write_text(f"X-Api-Key: {API_KEY}\n")
    r, _ = read_in_process(nginx.url("header"), {"GDAL_HTTP_HEADER_FILE": str(headers)})
    assert r["ok"] and r["sum"] == want, r


def pipit_get(url, out, *args, timeout=120):
    return subprocess.run([str(PIPIT_BIN), "get", url, "-o", str(out), "--stats", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_pipit_get_through_nginx_auth(nginx, image_dir, tmp_path):
    from urllib.parse import quote
    p = pipit_get(nginx.url("basic"), tmp_path / "a")
    assert p.returncode == 1 and "authentication" in p.stderr and PASSWORD not in p.stderr
    p = pipit_get(nginx.url("basic"), tmp_path / "b", "--user", f"{USER}:{PASSWORD}")
    assert p.returncode == 0, p.stderr
    p = pipit_get(nginx.url("basic", f"{USER}:{quote(PASSWORD, safe='')}@"), tmp_path / "c")
    assert p.returncode == 0, p.stderr
    p = pipit_get(nginx.url("header"), tmp_path / "d", "-H", f"X-Api-Key: {API_KEY}")
    assert p.returncode == 0, p.stderr
    p = pipit_get(nginx.url("cookie"), tmp_path / "e", "--cookie", COOKIE)
    assert p.returncode == 0, p.stderr
    p = pipit_get(nginx.url("bearer"), tmp_path / "f", "--bearer", TOKEN)
    assert p.returncode == 0, p.stderr


class SilentServer:
    """Accepts connections on 127.0.0.1, reads the request, and answers nothing (or, with
    `partial`, the start of a response) while keeping the connection open."""

    def __init__(self, partial: bytes = b""):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.partial = partial
        self.accepted = 0
        self.conns = []
        self.stop = threading.Event()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self.conns.append(c)
            c.settimeout(2)
            try:
                c.recv(65536)
                if self.partial:
                    c.sendall(self.partial)
            except OSError:
                pass

    def url(self):
        return f"jpip://127.0.0.1:{self.port}/{NAME}"

    def close(self):
        self.stop.set()
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def silent():
    s = SilentServer()
    yield s
    s.close()


def test_silent_server_times_out(silent):
    gdal()
    r, secs = read_in_process(silent.url(), {"GDAL_HTTP_TIMEOUT": "2"}, timeout=60)
    assert not r["ok"] and "no answer" in r["error"], r
    assert secs < 15
    p = pipit_get(silent.url(), "/dev/null/x", "--timeout", "2", timeout=60)
    assert p.returncode == 1 and "no answer" in p.stderr


def test_silent_server_low_speed_settings(silent):
    gdal()
    r, secs = read_in_process(silent.url(), {"GDAL_HTTP_LOW_SPEED_TIME": "2",
                                             "GDAL_HTTP_LOW_SPEED_LIMIT": "10"}, timeout=60)
    assert not r["ok"] and "no answer" in r["error"], r
    assert secs < 15
    t0 = time.time()
    p = pipit_get(silent.url(), "/dev/null/x", "--low-speed-time", "2", timeout=60)
    assert p.returncode == 1 and "no answer" in p.stderr and time.time() - t0 < 15


def test_server_stalling_mid_response_times_out():
    s = SilentServer(partial=b"HTTP/1.1 200 OK\r\nContent-Type: image/jpp-stream\r\n"
                             b"Transfer-Encoding: chunked\r\nJPIP-tid: 1\r\n\r\n4\r\n\xa0\x00\x00")
    try:
        p = pipit_get(s.url(), "/dev/null/x", "--timeout", "2", timeout=60)
        assert p.returncode == 1 and "no answer" in p.stderr, p.stderr
    finally:
        s.close()


def test_max_retry_counts_tries(silent):
    gdal()
    r, _ = read_in_process(silent.url(), {"GDAL_HTTP_TIMEOUT": "1", "GDAL_HTTP_MAX_RETRY": "2",
                                          "GDAL_HTTP_RETRY_DELAY": "0.1"}, timeout=60)
    assert not r["ok"]
    assert silent.accepted == 3
    before = silent.accepted
    p = pipit_get(silent.url(), "/dev/null/x", "--timeout", "1", "--max-retry", "1",
                  "--retry-delay", "0.1", timeout=60)
    assert p.returncode == 1 and silent.accepted - before == 2


class StallingProxy:
    """A TCP proxy to `pipit serve` that can be told to stop passing the server's bytes on
    (the client's connection stays open: a server that stops answering)."""

    def __init__(self, upstream: int):
        self.upstream = upstream
        self.stalled = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.open = []
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            self.open += [c, u]
            threading.Thread(target=self.pipe, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(u, c, True), daemon=True).start()

    def pipe(self, a, b, from_server):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    return
                if from_server and self.stalled.is_set():
                    continue  # swallowed: the client hears nothing
                b.sendall(data)
        except OSError:
            return

    def close(self):
        self.sock.close()
        for s in self.open:
            s.close()


def test_async_reader_reports_error_when_server_stops_answering(server):
    g = gdal()
    proxy = StallingProxy(server.port)
    try:
        g.SetConfigOption("GDAL_HTTP_LOW_SPEED_TIME", "2")
        try:
            ds = g.OpenEx(f"jpip://127.0.0.1:{proxy.port}/{NAME}", allowed_drivers=["JPIP"],
                          open_options=["MAX_LEN=400"])
        finally:
            g.SetConfigOption("GDAL_HTTP_LOW_SPEED_TIME", None)
        proxy.stalled.set()
        reader = ds.BeginAsyncReader(0, 0, ds.RasterXSize, ds.RasterYSize, buf_type=g.GDT_UInt16)
        t0 = time.time()
        status, message = g.GARIO_PENDING, ""
        while time.time() - t0 < 60:
            try:
                status = reader.GetNextUpdatedRegion(1.0)[0]
            except RuntimeError as e:  # the GARIO_ERROR's CPLError, under UseExceptions
                status, message = g.GARIO_ERROR, str(e)
            if status in (g.GARIO_ERROR, g.GARIO_COMPLETE):
                break
        ds.EndAsyncReader(reader)
        assert status == g.GARIO_ERROR, status
        assert time.time() - t0 < 30
        assert "no answer" in (message or g.GetLastErrorMsg())
    finally:
        proxy.close()
