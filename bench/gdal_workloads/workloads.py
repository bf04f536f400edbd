#!/usr/bin/python3
"""GDAL's own read patterns through the JPIP driver beside JP2OpenJPEG on the local file.

Usage: workloads.py --pipit PIPIT_BIN --driver-path DIR [--size N] [--rounds R] [--work DIR]
                    [--fetch-whole-tiles YES|NO]

Makes a georeferenced tiled RGB JP2 (SIZE x SIZE, 1024x1024 tiles, lossy, 5 resolutions) with
gdal_translate, serves it with `pipit serve` on 127.0.0.1, and times four workloads, each in a
new process (so every JPIP run starts with a cold client: no cache folder, no decoded tiles):

  strips     one pass over the image in 512x128 windows (RasterIO, as programs read a VRT)
  translate  gdal_translate of the whole image to a GeoTIFF
  warp       gdalwarp to EPSG:3857
  tiles      gdal2tiles.py (zoom levels 0 to the native one) of a VRT of the image

JP2OpenJPEG reads the local file, the JPIP driver the jpip:// URL over loopback (with the
driver's FETCH_WHOLE_TILES as --fetch-whole-tiles says, YES by default); the methods
alternate within each round. Prints one row per workload: the median time of each method, the
spread (min-max) and the ratio of medians (target <= 1.2).
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STRIPS = r"""
import sys
from osgeo import gdal
gdal.UseExceptions()
ds = gdal.OpenEx(sys.argv[1], allowed_drivers=[sys.argv[2]])
W, H = ds.RasterXSize, ds.RasterYSize
for y in range(0, H, 128):
    for x in range(0, W, 512):
        ds.ReadRaster(x, y, min(512, W - x), min(128, H - y))
"""


def make_image(path: Path, size: int) -> None:
    import numpy as np
    from osgeo import gdal, osr
    gdal.UseExceptions()
    y, x = np.mgrid[0:size, 0:size]
    mem = gdal.GetDriverByName("MEM").Create("", size, size, 3, gdal.GDT_Byte)
    mem.SetGeoTransform((500000.0, 10.0, 0.0, 4600000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    mem.SetProjection(srs.ExportToWkt())
    for b in range(3):
        v = ((x * (3 + b) + y * (5 - b)) % 251) + ((x >> 4) ^ (y >> 3)) % 7
        mem.GetRasterBand(b + 1).WriteArray(v.astype(np.uint8))
    gdal.Translate(str(path), mem, format="JP2OpenJPEG",
                   creationOptions=["BLOCKXSIZE=1024", "BLOCKYSIZE=1024", "QUALITY=25",
                                    "RESOLUTIONS=5", "GeoJP2=YES", "GMLJP2=NO"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd, env) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: {p.stderr[-500:]}")
    return dt


def commands(name: str, src: str, driver: str, out: Path, env: dict):
    """The command of a workload reading `src` with `driver`."""
    drivers = ["-if", driver]
    if name == "strips":
        return [sys.executable, "-c", STRIPS, src, driver]
    if name == "translate":
        return ["gdal_translate", "-q", *drivers, src, str(out / "t.tif")]
    if name == "warp":
        return ["gdalwarp", "-q", "-overwrite", *drivers, "-t_srs", "EPSG:3857", src,
                str(out / "w.tif")]
    if name == "tiles":
        vrt = out / "src.vrt"
        subprocess.run(["gdalbuildvrt", "-q", str(vrt), src], check=True, env=env)
        return ["gdal2tiles.py", "-q", "--processes=1", "-w", "none", str(vrt),
                str(out / "tiles")]
    raise ValueError(name)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipit", required=True)
    ap.add_argument("--driver-path", required=True)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", default=None)
    ap.add_argument("--workloads", default="strips,translate,warp,tiles")
    ap.add_argument("--fetch-whole-tiles", default="YES")
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="pipit_workloads_"))
    images = work / "images"
    images.mkdir(parents=True, exist_ok=True)
    image = images / f"workload_{a.size}.jp2"
    if not image.exists():
        make_image(image, a.size)
    port = free_port()
    env = dict(os.environ, GDAL_DRIVER_PATH=str(Path(a.driver_path).resolve()),
               GDAL_PAM_ENABLED="NO", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1",
               JPIP_FETCH_WHOLE_TILES=a.fetch_whole_tiles)
    server = subprocess.Popen([a.pipit, "serve", "--root", str(images), "--listen",
                               f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        url = f"jpip://127.0.0.1:{port}/{image.name}"
        print(f"{a.size}x{a.size} RGB, 1024x1024 tiles, lossy; {a.rounds} rounds; "
              f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}; "
              f"FETCH_WHOLE_TILES={a.fetch_whole_tiles}")
        print(f"{'workload':<10} {'JP2OpenJPEG s':>14} {'spread':>13} {'JPIP s':>8} "
              f"{'spread':>13} {'ratio':>6}  target <= 1.2")
        for name in a.workloads.split(","):
            times = {"JP2OpenJPEG": [], "JPIP": []}
            for r in range(a.rounds):
                for driver, src in (("JP2OpenJPEG", str(image)), ("JPIP", url)):
                    out = work / f"out_{name}_{driver}_{r}"
                    out.mkdir(exist_ok=True)
                    cmd = commands(name, src, driver, out, env)
                    times[driver].append(timed(cmd, env))
            lo, hi = times["JP2OpenJPEG"], times["JPIP"]
            ml, mh = statistics.median(lo), statistics.median(hi)
            print(f"{name:<10} {ml:>14.2f} {min(lo):>6.2f}-{max(lo):<6.2f} {mh:>8.2f} "
                  f"{min(hi):>6.2f}-{max(hi):<6.2f} {mh / ml:>6.2f}  "
                  f"{'met' if mh / ml <= 1.2 else 'MISSED'}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
