"""Fixtures of the `pipit get` tests: georeferenced JP2s made here with gdal_translate, served by
`pipit serve` on 127.0.0.1. Run under Debian's /usr/bin/python3 (python3-gdal, numpy, pytest).

Environment: PIPIT_BIN, the pipit binary (default build/src/tools/pipit/pipit).
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PIPIT_BIN = Path(os.environ.get("PIPIT_BIN", REPO / "build/src/tools/pipit/pipit"))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ.setdefault("GDAL_PAM_ENABLED", "NO")
WIDTH, HEIGHT = 403, 297

# name -> (gdal type, bands, creation options, (geotransform, EPSG))
IMAGES = {
    "rgb_geojp2.jp2": ("Byte", 3, ["REVERSIBLE=YES", "QUALITY=100", "GeoJP2=YES", "GMLJP2=NO",
                                   "RESOLUTIONS=4", "QUALITY_LAYERS=1"],
                       ((430000.0, 10.0, 0.0, 4830000.0, 0.0, -10.0), 32631)),
    "gray16_gmljp2.jp2": ("UInt16", 1, ["QUALITY=20,50", "GeoJP2=NO", "GMLJP2=YES", "RESOLUTIONS=5"],
                          ((2.0, 0.001, 0.0, 49.0, 0.0, -0.001), 4326)),
    "int16.jp2": ("Int16", 1, ["REVERSIBLE=YES", "QUALITY=100", "GeoJP2=YES", "GMLJP2=YES"],
                  ((-1000.0, 2.5, 0.0, 1000.0, 0.0, -2.5), 3857)),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_images(out: Path) -> None:
    import numpy as np
    from osgeo import gdal, osr
    gdal.UseExceptions()
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.int64)
    for name, (dt, bands, opts, (gt, epsg)) in IMAGES.items():
        tif = out / (name + ".tif")
        gdt = gdal.GetDataTypeByName(dt)
        ds = gdal.GetDriverByName("GTiff").Create(str(tif), WIDTH, HEIGHT, bands, gdt)
        ds.SetGeoTransform(gt)
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        ds.SetProjection(srs.ExportToWkt())
        for b in range(bands):
            v = ((x * (3 + b) + y * (5 - b)) % 251) + ((x >> 4) ^ (y >> 3)) % 5
            if dt == "UInt16":
                v = v * 200
            elif dt == "Int16":
                v = v * 100 - 12000
            ds.GetRasterBand(b + 1).WriteArray(v)
        ds = None
        gdal.Translate(str(out / name), str(tif), format="JP2OpenJPEG", creationOptions=opts)
        tif.unlink()


class Server:
    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.proc = None

    def url(self, name: str) -> str:
        return f"jpip://127.0.0.1:{self.port}/{name}"

    def start(self):
        log = open(self.root.parent / f"serve_{self.port}.log", "ab")
        self.proc = subprocess.Popen([str(PIPIT_BIN), "serve", "--root", str(self.root),
                                      "--listen", f"127.0.0.1:{self.port}"],
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            assert self.proc.poll() is None, "pipit serve exited"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("pipit serve did not start listening")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class SlowLink:
    """A TCP relay on 127.0.0.1 in front of a server that passes the server's bytes on at
    `bytes_per_second`: a slow network, for tests that must catch a transfer under way."""

    def __init__(self, upstream: int, bytes_per_second: int = 12800):
        import threading
        self.upstream, self.rate = upstream, bytes_per_second
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.relayed = 0  # bytes passed on from the server
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, name: str) -> str:
        return f"jpip://127.0.0.1:{self.port}/{name}"

    def _accept(self):
        import threading
        while True:
            try:
                c, _ = self.sock.accept()
                u = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                return
            self.conns += [c, u]
            threading.Thread(target=self._pipe, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, True), daemon=True).start()

    def _pipe(self, a, b, slow):
        piece = 256
        try:
            while True:
                data = a.recv(piece if slow else 65536)
                if not data:
                    b.shutdown(socket.SHUT_WR)
                    return
                b.sendall(data)
                if slow:
                    self.relayed += len(data)
                    time.sleep(len(data) / self.rate)
        except OSError:
            return

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("images")
    make_images(d)
    return d


@pytest.fixture(scope="session")
def server(image_dir):
    if not os.access(PIPIT_BIN, os.X_OK):
        pytest.fail(f"pipit binary not found at {PIPIT_BIN} (set PIPIT_BIN)")
    s = Server(image_dir).start()
    yield s
    s.stop()
