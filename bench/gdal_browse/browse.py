#!/usr/bin/python3
"""A scripted browse session through GDAL: JPIP (gdal_JPIP.so) beside JP2OpenJPEG over /vsicurl/.

Issue 6: *20 views, from the smallest overview zooming in to full resolution, then panning,
through GDAL on jpip://, beside the same JP2 read by GDAL through /vsicurl/ (HTTP range requests
to a static file server on 127.0.0.1), printing bytes transferred and wall time for each in the
same run. Target: fewer bytes than /vsicurl/ and no slower.*

Subcommands (run.sh calls them; Debian's /usr/bin/python3, which has osgeo.gdal and numpy):
  make-image OUT --size N     a georeferenced RGB JP2 (GeoTIFF by numpy, then JP2OpenJPEG)
  make-terrain OUT --size N   that GeoTIFF alone
  session --method M --url U  one browse session in this process (the child; prints JSON)
  bench --jpip-port P --http-port Q --name F ...
                              the orchestrator: a counting TCP proxy in front of each server,
                              interleaved rounds of both methods (each session in a fresh
                              process), pixel comparison, and the table.

Bytes are counted the same way for both methods, by a byte-counting TCP proxy on 127.0.0.1 in
front of each server (everything on the wire: HTTP headers and bodies, both directions). The
server-side or client-side counters (nginx's $body_bytes_sent, the driver's
JPIP_STAT_BYTES_RECEIVED) are printed beside them as a cross-check.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
VIEW = 512          # output pixels of a view (each side)
NVIEWS = 20


# --------------------------------------------------------------------------------------------
# The test image
# --------------------------------------------------------------------------------------------

def make_image(out: Path, size: int, quality: str, resolutions: int) -> None:
    from osgeo import gdal
    gdal.UseExceptions()
    out.parent.mkdir(parents=True, exist_ok=True)
    tif = out.with_suffix(".tmp.tif")
    make_terrain(tif, size)
    tmp = out.with_suffix(".tmp.jp2")
    gdal.SetConfigOption("GDAL_NUM_THREADS", "ALL_CPUS")
    gdal.Translate(str(tmp), str(tif), format="JP2OpenJPEG", creationOptions=[
        "BLOCKXSIZE=512", "BLOCKYSIZE=512", f"RESOLUTIONS={resolutions}",
        "PRECINCTS={256,256}", f"QUALITY={quality}", "REVERSIBLE=NO",
        "PROGRESSION=RPCL", "PLT=YES", "TLM=YES", "GMLJP2=YES", "GeoJP2=YES"])
    tif.unlink()
    Path(str(tmp) + ".aux.xml").unlink(missing_ok=True)
    tmp.rename(out)


def make_terrain(tif: Path, size: int) -> None:
    """The image: a georeferenced SIZE x SIZE RGB 8-bit GeoTIFF (bench/client_window and
    bench/run_ht_bench.sh encode it too)."""
    import numpy as np
    from osgeo import gdal, osr
    gdal.UseExceptions()
    ds = gdal.GetDriverByName("GTiff").Create(str(tif), size, size, 3, gdal.GDT_Byte,
                                              ["TILED=YES", "BIGTIFF=IF_SAFER"])
    ds.SetGeoTransform((400000.0, 0.5, 0.0, 5000000.0, 0.0, -0.5))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    ds.SetProjection(srs.ExportToWkt())
    rng = np.random.default_rng(6)
    # Deterministic "terrain": low-frequency noise (bilinear from a coarse grid), ridges,
    # field-like blocks and fine grain, so that every resolution level has content.
    coarse = rng.random((3, size // 256 + 2, size // 256 + 2))
    blocks = rng.integers(0, 4, size=(3, size // 64 + 1, size // 64 + 1))
    step = 1024
    for y0 in range(0, size, step):
        h = min(step, size - y0)
        y, x = np.mgrid[y0:y0 + h, 0:size].astype(np.float32)
        for b in range(3):
            gy, gx = y / 256.0, x / 256.0
            iy, ix = gy.astype(np.int32), gx.astype(np.int32)
            fy, fx = gy - iy, gx - ix
            c = coarse[b]
            low = (c[iy, ix] * (1 - fx) * (1 - fy) + c[iy, ix + 1] * fx * (1 - fy)
                   + c[iy + 1, ix] * (1 - fx) * fy + c[iy + 1, ix + 1] * fx * fy)
            v = (60 + 120 * low
                 + 25 * np.sin(x / (90.0 + 20 * b) + 3 * low) * np.cos(y / 130.0)
                 + 10 * blocks[b][(y // 64).astype(np.int32), (x // 64).astype(np.int32)]
                 + rng.normal(0, 5, size=x.shape))
            ds.GetRasterBand(b + 1).WriteArray(np.clip(v, 0, 255).astype(np.uint8), 0, y0)
    for b, ci in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)):
        ds.GetRasterBand(b + 1).SetColorInterpretation(ci)
    ds = None


# --------------------------------------------------------------------------------------------
# The views
# --------------------------------------------------------------------------------------------

def views(width: int, height: int, levels: int) -> list[tuple[int, int, int, int, int]]:
    """(discard_levels, x, y, w, h) in full-resolution pixels; w, h multiples of 2^d.

    From the smallest overview (whole image) zooming in one level at a time towards a point of
    interest, to full resolution, then panning half a view at a time around a loop."""
    poi_x, poi_y = int(width * 0.62), int(height * 0.41)
    out = []
    for d in range(levels, -1, -1):
        s = 1 << d
        w, h = min(width, VIEW * s), min(height, VIEW * s)
        x = min(max(0, poi_x - w // 2), width - w) // s * s
        y = min(max(0, poi_y - h // 2), height - h) // s * s
        if w == width and h == height:
            x = y = 0
        out.append((d, x, y, w, h))
    _, x, y, w, h = out[-1]
    step = VIEW // 2
    # A loop: 4 steps across, 3 down, 4 back, 3 up, ... heading first towards the side with
    # room (a view that would leave the image turns back instead).
    sx = 1 if x + w + 4 * step <= width else -1
    sy = 1 if y + h + 3 * step <= height else -1
    loop = [(sx, 0)] * 4 + [(0, sy)] * 3 + [(-sx, 0)] * 4 + [(0, -sy)] * 3
    i = 0
    while len(out) < NVIEWS and i < 10 * NVIEWS:
        dx, dy = loop[i % len(loop)]
        i += 1
        nx, ny = x + dx * step, y + dy * step
        if not (0 <= nx <= width - w):
            nx = x - dx * step
        if not (0 <= ny <= height - h):
            ny = y - dy * step
        x, y = min(max(0, nx), width - w), min(max(0, ny), height - h)
        out.append((0, x, y, w, h))
    return out[:NVIEWS]


def buf_size(n: int, d: int) -> int:
    return (n + (1 << d) - 1) >> d


# --------------------------------------------------------------------------------------------
# One session (child process)
# --------------------------------------------------------------------------------------------

def net_stats_bytes(gdal) -> tuple[int, int]:
    """(downloaded bytes, GET requests) of /vsicurl/ from GDAL's network statistics."""
    try:
        js = json.loads(gdal.NetworkStatsGetAsSerializedJSON() or "{}")
        m = js.get("handlers", {}).get("vsicurl", {}).get("methods", {})
        return (sum(v.get("downloaded_bytes", 0) for v in m.values()),
                sum(v.get("count", 0) for v in m.values()))
    except Exception:  # noqa: BLE001 - statistics are informative only
        return (0, 0)


def session(args) -> None:
    import numpy as np
    from osgeo import gdal
    gdal.UseExceptions()
    t0 = time.perf_counter()
    if args.method == "jpip":
        ds = gdal.OpenEx(args.url, gdal.OF_RASTER, allowed_drivers=["JPIP"],
                         open_options=[f"NUM_THREADS={args.threads}"])
    else:
        ds = gdal.OpenEx(args.url, gdal.OF_RASTER, allowed_drivers=["JP2OpenJPEG"])
    t_open = time.perf_counter() - t0
    band = ds.GetRasterBand(1)
    levels = band.GetOverviewCount()
    vs = views(ds.RasterXSize, ds.RasterYSize, levels)
    per_view = []
    arrays = {}
    for i, (d, x, y, w, h) in enumerate(vs):
        bw, bh = buf_size(w, d), buf_size(h, d)
        tv = time.perf_counter()
        raw = ds.ReadRaster(x, y, w, h, buf_xsize=bw, buf_ysize=bh, band_list=[1, 2, 3])
        dt = time.perf_counter() - tv
        if args.method == "jpip":
            got = int(ds.GetMetadataItem("JPIP_STAT_BYTES_RECEIVED", "JPIP") or 0)
            req = int(ds.GetMetadataItem("JPIP_STAT_REQUESTS", "JPIP") or 0)
        else:
            got, req = net_stats_bytes(gdal)
        per_view.append({"d": d, "x": x, "y": y, "w": w, "h": h, "bw": bw, "bh": bh,
                         "seconds": dt, "client_bytes": got, "requests": req})
        if args.save:
            arrays[f"v{i}"] = np.frombuffer(raw, dtype=np.uint8).reshape(3, bh, bw)
    ds = None  # closes the session (JPIP cclose) / the curl handles
    wall = time.perf_counter() - t0
    if args.save:
        np.savez(args.save, **arrays)
    print(json.dumps({"method": args.method, "wall": wall, "open": t_open, "views": per_view}))


# --------------------------------------------------------------------------------------------
# Byte-counting TCP proxy
# --------------------------------------------------------------------------------------------

class CountingProxy:
    """127.0.0.1:<port> -> 127.0.0.1:<target>, counting bytes each way and connections."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.down = self.up = self.conns = 0
        self.active = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.down = self.up = self.conns = 0

    def snapshot(self) -> tuple[int, int, int]:
        with self.lock:
            return self.down, self.up, self.conns

    def idle(self, timeout: float = 5.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if self.active == 0:
                    return
            time.sleep(0.02)

    def _accept(self) -> None:
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.target), timeout=10)
                s.settimeout(None)
            except OSError:
                c.close()
                continue
            for k in (c, s):
                k.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.conns += 1
                self.active += 2
            threading.Thread(target=self._pump, args=(c, s, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, "down"), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, kind: str) -> None:
        buf = bytearray(1 << 18)
        mv = memoryview(buf)
        try:
            while True:
                n = src.recv_into(buf)
                if n <= 0:
                    break
                dst.sendall(mv[:n])
                with self.lock:
                    if kind == "down":
                        self.down += n
                    else:
                        self.up += n
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            with self.lock:
                self.active -= 1
                last = self.active
            if kind == "down" or last == 0:
                for k in (src, dst):
                    try:
                        k.close()
                    except OSError:
                        pass

    def close(self) -> None:
        self.closed = True
        self.sock.close()


# --------------------------------------------------------------------------------------------
# The orchestrator
# --------------------------------------------------------------------------------------------

def nginx_body_bytes(log: Path, offset: int) -> tuple[int, int, int]:
    """(sum of $body_bytes_sent, requests, new offset) of the access log lines after offset."""
    if not log.exists():
        return 0, 0, offset
    with open(log, "rb") as f:
        f.seek(offset)
        data = f.read()
    total = n = 0
    for line in data.decode(errors="replace").splitlines():
        parts = line.split()
        if parts and parts[0].isdigit():
            total += int(parts[0])
            n += 1
    return total, n, offset + len(data)


def run_session(method: str, url: str, env: dict, threads: int, save: Path | None) -> dict:
    cmd = [sys.executable, str(HERE), "session", "--method", method, "--url", url,
           "--threads", str(threads)]
    if save is not None:
        cmd += ["--save", str(save)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(f"{method} session failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def compare(a: Path, b: Path) -> list[str]:
    import numpy as np
    za, zb = np.load(a), np.load(b)
    out = []
    for k in sorted(za.files, key=lambda s: int(s[1:])):
        x, y = za[k], zb[k] if k in zb.files else None
        if y is None or x.shape != y.shape:
            out.append(f"view {int(k[1:]) + 1}: shape {x.shape} vs {None if y is None else y.shape}")
            continue
        diff = np.abs(x.astype(np.int16) - y.astype(np.int16))
        bad = int(np.count_nonzero(diff))
        if bad:
            out.append(f"view {int(k[1:]) + 1}: {bad} of {diff.size} samples differ, max |diff| "
                       f"{int(diff.max())}, mean |diff| {float(diff.mean()):.4f}")
    return out


def bench(args) -> int:
    env = dict(os.environ)
    env.update({
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".jp2",
        "GDAL_CACHEMAX": str(args.cachemax),
        "GDAL_NUM_THREADS": str(args.threads),
        "GDAL_PAM_ENABLED": "NO",
        "CPL_VSIL_NETWORK_STATS_ENABLED": "YES",
        "GDAL_DRIVER_PATH": args.driver_path,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    env.pop("JPIP_CACHE_DIR", None)  # no persistent cache: every session starts empty
    px_http = CountingProxy(args.http_port)
    px_jpip = CountingProxy(args.jpip_port)
    urls = {"vsicurl": f"/vsicurl/http://127.0.0.1:{px_http.port}/{args.name}",
            "jpip": f"jpip://127.0.0.1:{px_jpip.port}/{args.name}"}
    proxies = {"vsicurl": px_http, "jpip": px_jpip}
    log = Path(args.nginx_log)
    log_off = log.stat().st_size if log.exists() else 0
    tmp = Path(tempfile.mkdtemp(prefix="gdal_browse_"))
    runs: dict[str, list[dict]] = {"vsicurl": [], "jpip": []}
    try:
        for r in range(args.rounds):
            order = ["vsicurl", "jpip"] if r % 2 == 0 else ["jpip", "vsicurl"]
            for m in order:
                px = proxies[m]
                px.idle()
                px.reset()
                save = tmp / f"{m}.npz" if r == 0 else None
                res = run_session(m, urls[m], env, args.threads, save)
                px.idle()
                res["down"], res["up"], res["conns"] = px.snapshot()
                if m == "vsicurl":
                    body, nreq, log_off = nginx_body_bytes(log, log_off)
                    res["server_body"], res["server_requests"] = body, nreq
                else:
                    res["server_body"] = res["views"][-1]["client_bytes"]
                    res["server_requests"] = res["views"][-1]["requests"]
                runs[m].append(res)
                print(f"round {r + 1}/{args.rounds} {m:8s} wall {res['wall']:7.3f} s  "
                      f"bytes {res['down'] + res['up']:>12,d}", file=sys.stderr, flush=True)
        mismatches = compare(tmp / "vsicurl.npz", tmp / "jpip.npz")
    finally:
        px_http.close()
        px_jpip.close()
        for f in tmp.glob("*"):
            f.unlink()
        tmp.rmdir()

    # Per-view detail (best time of each view over the rounds; bytes from the first round).
    first = {m: runs[m][0]["views"] for m in runs}
    print(f"\nviews ({VIEW}x{VIEW} output pixels; bytes = client-side counters, per view; "
          f"time = best of {args.rounds})")
    print(f"{'#':>2} {'level':>5} {'x':>6} {'y':>6} {'w':>5} {'h':>5}  "
          f"{'vsicurl B':>11} {'req':>4} {'jpip B':>11} {'req':>4} {'vsicurl s':>9} {'jpip s':>8}")
    prev = {"vsicurl": 0, "jpip": 0}
    prevq = {"vsicurl": 0, "jpip": 0}
    for i, v in enumerate(first["jpip"]):
        b, q = {}, {}
        for m in ("vsicurl", "jpip"):
            cur = first[m][i]["client_bytes"]
            b[m], prev[m] = cur - prev[m], cur
            cur = first[m][i]["requests"]
            q[m], prevq[m] = cur - prevq[m], cur
        t = {m: min(run["views"][i]["seconds"] for run in runs[m]) for m in runs}
        print(f"{i + 1:>2} {v['d']:>5} {v['x']:>6} {v['y']:>6} {v['w']:>5} {v['h']:>5}  "
              f"{b['vsicurl']:>11,d} {q['vsicurl']:>4d} {b['jpip']:>11,d} {q['jpip']:>4d} "
              f"{t['vsicurl']:>9.3f} {t['jpip']:>8.3f}")

    best = {m: min(runs[m], key=lambda x: x["wall"]) for m in runs}
    ref = best["vsicurl"]
    ref_bytes = ref["down"] + ref["up"]
    print(f"\nsession: {args.name} ({args.size_note}), {len(first['jpip'])} views, "
          f"{args.rounds} interleaved rounds per method, wall = best (median)")
    hdr = (f"{'method':8s} {'bytes':>12s} {'(down':>12s} {'up)':>9s} {'http req':>8s} "
           f"{'conns':>5s} {'body B':>12s} {'wall s':>7s} {'(median)':>8s} "
           f"{'bytes/ref':>9s} {'time/ref':>8s}  target")
    print(hdr)
    ok = True
    for m in ("vsicurl", "jpip"):
        b = best[m]
        tot = b["down"] + b["up"]
        med = statistics.median(x["wall"] for x in runs[m])
        rb, rt = tot / ref_bytes, b["wall"] / ref["wall"]
        if m == "vsicurl":
            verdict = "reference"
        else:
            vb = "PASS" if tot < ref_bytes else "MISS"
            vt = "PASS" if b["wall"] <= ref["wall"] else "MISS"
            ok = ok and vb == vt == "PASS"
            verdict = f"bytes<1 {vb}, time<=1 {vt}"
        print(f"{m:8s} {tot:>12,d} {b['down']:>12,d} {b['up']:>9,d} {b['server_requests']:>8d} "
              f"{b['conns']:>5d} {b['server_body']:>12,d} {b['wall']:>7.3f} {med:>8.3f} "
              f"{rb:>9.3f} {rt:>8.3f}  {verdict}")
    byte_spread = {m: (min(x["down"] + x["up"] for x in runs[m]),
                       max(x["down"] + x["up"] for x in runs[m])) for m in runs}
    print(f"bytes over rounds (min..max): " + ", ".join(
        f"{m} {lo:,d}..{hi:,d}" for m, (lo, hi) in byte_spread.items()))
    print(f"open time (best): " + ", ".join(
        f"{m} {min(x['open'] for x in runs[m]):.3f} s" for m in runs))
    if mismatches:
        print(f"pixels: {len(mismatches)} of {len(first['jpip'])} views differ "
              "(JP2OpenJPEG over /vsicurl/ vs JPIP):")
        for s in mismatches:
            print("  " + s)
    else:
        print(f"pixels: all {len(first['jpip'])} views identical (JP2OpenJPEG over /vsicurl/ vs JPIP)")
    return 1 if (args.strict and (not ok or mismatches)) else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make-terrain")
    p.add_argument("out", type=Path)
    p.add_argument("--size", type=int, default=8192)
    p = sub.add_parser("make-image")
    p.add_argument("out", type=Path)
    p.add_argument("--size", type=int, default=8192)
    p.add_argument("--quality", default="2,6,15")
    p.add_argument("--resolutions", type=int, default=6)
    p = sub.add_parser("session")
    p.add_argument("--method", choices=["vsicurl", "jpip"], required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--save", type=Path)
    p = sub.add_parser("bench")
    p.add_argument("--jpip-port", type=int, required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--nginx-log", required=True)
    p.add_argument("--driver-path", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="decode threads of both drivers")
    p.add_argument("--cachemax", type=int, default=256, help="GDAL_CACHEMAX (MB)")
    p.add_argument("--size-note", default="")
    p.add_argument("--strict", action="store_true", help="exit 1 on a missed target or mismatch")
    args = ap.parse_args()
    if args.cmd == "make-terrain":
        make_terrain(args.out, args.size)
        return 0
    if args.cmd == "make-image":
        make_image(args.out, args.size, args.quality, args.resolutions)
        return 0
    if args.cmd == "session":
        session(args)
        return 0
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
