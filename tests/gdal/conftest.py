"""Fixtures of the JPIP client and GDAL driver tests (pytest, Debian's /usr/bin/python3).

Environment (set by tests/gdal/CMakeLists.txt; defaults for a manual run from the repository):
  PIPIT_BIN          the pipit binary (with `serve` and `get`)   (default build/src/tools/pipit/pipit)
  GDAL_DRIVER_PATH   the folder holding gdal_JPIP.so              (default build/src/gdal)
  PIPIT_SANITIZE     1 when the build uses ASan: GDAL tests are skipped (Python cannot load an
                     ASan-built plugin without LD_PRELOAD of libasan)
  PIPIT_JPIP_SERVER  "serve" (default: `pipit serve`) or "standin" (standin_server.py)

Test images are made once per session by gdal_translate -of JP2OpenJPEG from GeoTIFFs written
here (GeoJP2 and GMLJP2 boxes, lossless and lossy, 8/12/16-bit, signed, 1/3/4 bands, tiled
and untiled), so every expectation can be read back from the local file through JP2OpenJPEG.
Most are 333x257; SIZES names the others (a lossy 9/7 image of 256x256 tiles and 128x128
precincts, 600x500, whose windowed decodes differ from whole-tile decodes at some window edges).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PIPIT_BIN = Path(os.environ.get("PIPIT_BIN", REPO / "build/src/tools/pipit/pipit"))
DRIVER_PATH = Path(os.environ.get("GDAL_DRIVER_PATH", REPO / "build/src/gdal"))
SANITIZE = os.environ.get("PIPIT_SANITIZE", "0") not in ("", "0", "OFF", "NO")
SERVER_KIND = os.environ.get("PIPIT_JPIP_SERVER", "serve")
# Under ASan the plugin cannot be loaded: keep GDAL from trying (images are still made with it).
os.environ["GDAL_DRIVER_PATH"] = "disable" if SANITIZE else str(DRIVER_PATH)
os.environ.setdefault("GDAL_PAM_ENABLED", "NO")
# Never send 127.0.0.1 requests through a proxy from the environment.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

# name -> (numpy dtype, bands, gdal_translate creation options, tiled)
IMAGES = {
    "rgb8_lossless.jp2": ("uint8", 3, ["REVERSIBLE=YES", "QUALITY=100", "GMLJP2=YES", "GeoJP2=YES",
                                        "RESOLUTIONS=4", "BLOCKXSIZE=128", "BLOCKYSIZE=128",
                                        "PROGRESSION=RPCL"]),
    "rgb8_lossy.jp2": ("uint8", 3, ["QUALITY=10,25,50", "GMLJP2=YES", "GeoJP2=YES", "RESOLUTIONS=5"]),
    "gray16_lossless.jp2": ("uint16", 1, ["REVERSIBLE=YES", "QUALITY=100", "GMLJP2=NO", "GeoJP2=YES",
                                          "BLOCKXSIZE=160", "BLOCKYSIZE=96"]),
    "gray12_lossless.jp2": ("uint16", 1, ["NBITS=12", "REVERSIBLE=YES", "QUALITY=100", "GMLJP2=YES",
                                          "GeoJP2=NO"]),
    "int16_lossy.jp2": ("int16", 1, ["QUALITY=30", "GMLJP2=YES", "GeoJP2=YES", "RESOLUTIONS=4"]),
    "rgba8_lossless.jp2": ("uint8", 4, ["REVERSIBLE=YES", "QUALITY=100", "GMLJP2=YES", "GeoJP2=YES",
                                        "PRECINCTS={64,64},{32,32}"]),
    "rgb16_lossy.jp2": ("uint16", 3, ["QUALITY=20,60", "GeoJP2=YES", "GMLJP2=YES"]),
    "rgb8_lossy_tiled.jp2": ("uint8", 3, ["QUALITY=2,6,15", "REVERSIBLE=NO", "BLOCKXSIZE=256",
                                          "BLOCKYSIZE=256", "PRECINCTS={128,128}", "RESOLUTIONS=5",
                                          "PROGRESSION=RPCL", "GMLJP2=NO", "GeoJP2=YES"]),
}
WIDTH, HEIGHT = 333, 257
SIZES = {"rgb8_lossy_tiled.jp2": (600, 500)}


def image_size(name: str) -> tuple[int, int]:
    return SIZES.get(name, (WIDTH, HEIGHT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gdal():
    if SANITIZE:
        pytest.skip("PIPIT_SANITIZE: Python cannot load the ASan-built GDAL plugin")
    from osgeo import gdal as g
    g.UseExceptions()
    return g


def make_images(out: Path) -> None:
    from osgeo import gdal as g, osr
    g.UseExceptions()
    rng = np.random.default_rng(1234)
    for name, (dtype, bands, opts) in IMAGES.items():
        width, height = image_size(name)
        y, x = np.mgrid[0:height, 0:width].astype(np.int64)
        noisy = "tiled" in name  # strong noise: many non-zero high-pass coefficients
        info = np.iinfo(dtype)
        top = 4095 if "NBITS=12" in opts else int(info.max)
        low = int(info.min)
        planes = []
        for b in range(bands):
            v = ((x * (3 + b) + y * (5 - b)) % 97) * 7 + ((x >> 4) ^ (y >> 3)) % 13 * 11
            v = v + rng.integers(0, 80 if noisy else 9, size=v.shape)
            v = low + (v * (top - low)) // int(v.max() + 1)
            planes.append(v.astype(dtype))
        tif = out / (name + ".tif")
        gdt = {"uint8": g.GDT_Byte, "uint16": g.GDT_UInt16, "int16": g.GDT_Int16}[dtype]
        ds = g.GetDriverByName("GTiff").Create(str(tif), width, height, bands, gdt)
        ds.SetGeoTransform((500000.0, 10.0, 0.0, 4600000.0, 0.0, -10.0))
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(32631 if "int16" not in name else 4326)
        if "int16" in name:
            ds.SetGeoTransform((2.0, 0.001, 0.0, 49.0, 0.0, -0.001))
        ds.SetProjection(srs.ExportToWkt())
        for b, p in enumerate(planes):
            ds.GetRasterBand(b + 1).WriteArray(p)
        if bands == 4:
            ds.GetRasterBand(4).SetColorInterpretation(g.GCI_AlphaBand)
        if bands >= 3:
            for b, ci in enumerate((g.GCI_RedBand, g.GCI_GreenBand, g.GCI_BlueBand)):
                ds.GetRasterBand(b + 1).SetColorInterpretation(ci)
        ds = None
        g.Translate(str(out / name), str(tif), format="JP2OpenJPEG", creationOptions=opts)
        tif.unlink()


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory) -> Path:
    if SANITIZE:
        # The images are made with GDAL's Python bindings, which work under ASan (no plugin).
        pass
    d = tmp_path_factory.mktemp("jpip_images")
    make_images(d)
    return d


class Server:
    """`pipit serve` (or the stand-in) on 127.0.0.1, restartable on the same port.

    `root` is a folder, or (for `pipit serve`) a storage origin's URL prefix; then `log_dir`
    says where the server's log goes. `extra` is added to the command line."""

    def __init__(self, root: Path | str, kind: str = SERVER_KIND,
                 tls: tuple[Path, Path] | None = None, extra: tuple[str, ...] = (),
                 log_dir: Path | None = None):
        self.root, self.kind, self.tls, self.extra = root, kind, tls, list(extra)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = (log_dir or Path(root).parent) / f"server_{self.port}.log"

    @property
    def base(self) -> str:
        return f"{'jpips' if self.tls else 'jpip'}://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def start(self):
        if self.kind == "serve":
            cmd = [str(PIPIT_BIN), "serve", "--root", str(self.root),
                   "--listen", f"127.0.0.1:{self.port}"]
            if self.tls:
                cmd += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
            cmd += self.extra
        else:
            cmd = [sys.executable, str(HERE / "standin_server.py"), "--root", str(self.root),
                   "--listen", f"127.0.0.1:{self.port}", "--pipit", str(PIPIT_BIN)]
            if self.tls:
                cmd += ["--cert", str(self.tls[0]), "--key", str(self.tls[1])]
            cmd += self.extra
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start listening")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def pipit_bin() -> Path:
    if not os.access(PIPIT_BIN, os.X_OK):
        pytest.fail(f"pipit binary not found at {PIPIT_BIN} (set PIPIT_BIN)")
    p = subprocess.run([str(PIPIT_BIN), "serve", "--help"], capture_output=True, text=True)
    if SERVER_KIND == "serve" and "--root" not in p.stdout:
        pytest.fail("this pipit has no `serve` command (set PIPIT_JPIP_SERVER=standin)")
    return PIPIT_BIN


@pytest.fixture(scope="session")
def server(image_dir, pipit_bin):
    s = Server(image_dir).start()
    yield s
    s.stop()


@pytest.fixture
def fresh_server(image_dir, pipit_bin):
    """A server of the test's own (to be stopped and restarted)."""
    s = Server(image_dir).start()
    yield s
    s.stop()


def gdal_env() -> dict:
    env = dict(os.environ)
    env["GDAL_DRIVER_PATH"] = str(DRIVER_PATH)
    return env


def assert_translate_matches(g, local_path, url, args, tmp_path, tag) -> None:
    """gdal_translate with `args` from the local file and from the JPIP URL gives the same
    pixels (JP2OpenJPEG reads the local file, the JPIP driver the URL)."""
    a, b = tmp_path / f"l{tag}.tif", tmp_path / f"j{tag}.tif"
    for src, dst in ((str(local_path), a), (url, b)):
        p = subprocess.run(["gdal_translate", "-q", "-of", "GTiff", *args, src, str(dst)],
                           capture_output=True, text=True, env=gdal_env(), timeout=120)
        assert p.returncode == 0, p.stderr
    la, lb = g.Open(str(a)).ReadAsArray(), g.Open(str(b)).ReadAsArray()
    assert la.shape == lb.shape and np.array_equal(la, lb), f"{url} {args}"


def complete_first(g, first, other, timeout: float = 120) -> int:
    """Polls only `first` until it reports GARIO_COMPLETE, then asks `other` once without waiting.

    Returns the status `other` reported at the moment `first` completed. A priority test asserts
    it is not GARIO_COMPLETE: the window served first is complete while the other still waits.
    Comparing polling rounds instead tied when a fast machine fetched both in one round.
    """
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, *_ = first.GetNextUpdatedRegion(0.02)
        assert st != g.GARIO_ERROR, g.GetLastErrorMsg()
        if st == g.GARIO_COMPLETE:
            st, *_ = other.GetNextUpdatedRegion(0)
            assert st != g.GARIO_ERROR, g.GetLastErrorMsg()
            return st
    raise AssertionError(f"window not complete within {timeout} s")


def poll_until_complete(g, readers: dict, timeout: float = 120) -> dict:
    """Polls asynchronous readers ({key: reader}) in rounds of 20 ms each until all are complete.

    Returns {key: the polling round in which that reader reported GARIO_COMPLETE}. Rounds, not
    clock times, are what a priority test compares: within one round, which reader is polled first
    says nothing. A reader reporting GARIO_ERROR fails the test with GDAL's message.
    """
    done = {}
    deadline = time.time() + timeout
    round_no = 0
    while len(done) < len(readers) and time.time() < deadline:
        round_no += 1
        for key, r in readers.items():
            if key in done:
                continue
            st, *_ = r.GetNextUpdatedRegion(0.02)
            assert st != g.GARIO_ERROR, g.GetLastErrorMsg()
            if st == g.GARIO_COMPLETE:
                done[key] = round_no
    return done


def start_nginx(work: Path, http_block: str) -> subprocess.Popen:
    """Debian's nginx in the foreground with its files under `work` and `http_block` (the inside
    of http { }) as its configuration; the caller waits for its port."""
    (work / "logs").mkdir(parents=True, exist_ok=True)
    t = work / "tmp"
    t.mkdir(exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""
    (work / "nginx.conf").write_text(f"""{user}
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/logs/error.log warn;
events {{ worker_connections 512; }}
http {{
  client_body_temp_path {t}/body; proxy_temp_path {t}/proxy; fastcgi_temp_path {t}/fastcgi;
  uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;
{http_block}
}}
""")
    cmd = ["nginx", "-p", str(work), "-c", str(work / "nginx.conf"), "-e",
           str(work / "logs/error.log")]
    with open(work / "nginx.out", "ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def wait_listening(port: int, proc: subprocess.Popen, what: str, log: Path | None = None) -> None:
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            text = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited: {text}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on {port}")


class Origin:
    """A storage origin: Debian's nginx serving `folder` over HTTP on 127.0.0.1 (Range requests,
    ETag), with an access log of one line per request: status, Range header, body bytes, URI.
    `/private/...` answers only requests whose query has token=s3cret (a presigned-style URL)."""

    LOG_FORMAT = "$status|$http_range|$body_bytes_sent|$uri"

    def __init__(self, folder: Path, work: Path):
        self.folder, self.work = folder, work
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.access = work / "logs" / "origin_access.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self):
        block = f"""  log_format origin "{self.LOG_FORMAT}";
  access_log {self.access} origin;
  types {{ image/jp2 jp2; image/jpx jpx; image/j2c j2c j2k; }}
  server {{
    listen 127.0.0.1:{self.port};
    root {self.folder};
    location /private/ {{
      if ($arg_token != "s3cret") {{ return 403; }}
    }}
  }}"""
        self.proc = start_nginx(self.work, block)
        wait_listening(self.port, self.proc, "origin nginx", self.work / "logs/error.log")
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def requests(self) -> list[tuple[int, str, int, str]]:
        """(status, range, body bytes, path) of each request so far."""
        if not self.access.exists():
            return []
        out = []
        for line in self.access.read_text().splitlines():
            status, rng, n, uri = line.split("|", 3)
            out.append((int(status), rng, int(n), uri))
        return out
