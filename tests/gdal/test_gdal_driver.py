"""The GDAL JPIP driver (gdal_JPIP.so) against `pipit serve`: what GDAL reports and reads through
jpip:// equals what it reports and reads from the same file through JP2OpenJPEG."""
from __future__ import annotations

import os
import subprocess
import threading
import time

import numpy as np
import pytest

from conftest import (
    IMAGES,
    Server,
    assert_translate_matches,
    free_port,
    gdal,
    gdal_env,
    poll_until_complete,
)


def open_local(g, path):
    return g.OpenEx(str(path), allowed_drivers=["JP2OpenJPEG"])


def open_jpip(g, url, **options):
    opts = [f"{k}={v}" for k, v in options.items()]
    return g.OpenEx(url, allowed_drivers=["JPIP"], open_options=opts)


def describe(ds):
    bands = [ds.GetRasterBand(i + 1) for i in range(ds.RasterCount)]
    return {
        "size": (ds.RasterXSize, ds.RasterYSize),
        "bands": ds.RasterCount,
        "types": [b.DataType for b in bands],
        "colours": [b.GetColorInterpretation() for b in bands],
        "geotransform": ds.GetGeoTransform(can_return_null=True),
    }


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_open_reports_what_jp2openjpeg_reports(server, image_dir, name):
    g = gdal()
    local = open_local(g, image_dir / name)
    ds = open_jpip(g, server.url(name))
    assert ds.GetDriver().ShortName == "JPIP"
    assert describe(ds) == describe(local)
    srs, lsrs = ds.GetSpatialRef(), local.GetSpatialRef()
    assert srs is not None and lsrs is not None and srs.IsSame(lsrs)
    # Overviews: one per decomposition level (JPIP_NRESOLUTIONLEVELS counts them, as in
    # JPIPKAK); those JP2OpenJPEG also lists have its sizes.
    b, lb = ds.GetRasterBand(1), local.GetRasterBand(1)
    md = ds.GetMetadata("JPIP")
    nres = int(md["JPIP_NRESOLUTIONLEVELS"])
    assert b.GetOverviewCount() == nres
    for i in range(lb.GetOverviewCount()):
        assert (b.GetOverview(i).XSize, b.GetOverview(i).YSize) == \
            (lb.GetOverview(i).XSize, lb.GetOverview(i).YSize)
    assert int(md["JPIP_NCOMPS"]) == ds.RasterCount
    assert int(md["JPIP_NQUALITYLAYERS"]) >= 1
    prec = int(md["JPIP_SPRECISION"])
    assert prec == (12 if "12" in name else 16 if "16" in name else 8)
    if prec == 12:
        assert b.GetMetadataItem("NBITS", "IMAGE_STRUCTURE") == "12"


@pytest.mark.parametrize("name", ["rgb8_lossless.jp2", "int16_lossy.jp2"])
def test_gdalinfo_command(server, name):
    gdal()
    p = subprocess.run(["gdalinfo", "-mdd", "JPIP", server.url(name)], capture_output=True,
                       text=True, env=gdal_env(), timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "Driver: JPIP/" in out
    assert f"Size is {333}, {257}" in out
    assert "Overviews:" in out
    assert "Origin = (" in out and "Pixel Size = (" in out
    assert ("UTM zone 31N" in out) if "int16" not in name else ("WGS 84" in out)
    for key in ("JPIP_NQUALITYLAYERS", "JPIP_NRESOLUTIONLEVELS", "JPIP_NCOMPS", "JPIP_SPRECISION"):
        assert key in out
    assert ("Type=Int16" in out) if "int16" in name else ("Type=Byte" in out)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_gdal_translate_region_and_overview(server, image_dir, tmp_path, name):
    g = gdal()
    cases = [["-srcwin", "37", "21", "150", "111"], ["-srcwin", "0", "0", "333", "257"],
             ["-ovr", "0"], ["-ovr", "1", "-srcwin", "5", "3", "60", "40"]]
    local = open_local(g, image_dir / name)
    nov = local.GetRasterBand(1).GetOverviewCount()
    for i, args in enumerate(cases):
        if "-ovr" in args and int(args[args.index("-ovr") + 1]) >= nov:
            continue
        assert_translate_matches(g, image_dir / name, server.url(name), args, tmp_path, i)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_read_as_array_equals_local(server, image_dir, name):
    g = gdal()
    local = open_local(g, image_dir / name)
    ds = open_jpip(g, server.url(name))
    assert np.array_equal(ds.ReadAsArray(), local.ReadAsArray())
    assert np.array_equal(ds.ReadAsArray(101, 57, 64, 99), local.ReadAsArray(101, 57, 64, 99))
    b, lb = ds.GetRasterBand(ds.RasterCount), local.GetRasterBand(local.RasterCount)
    assert np.array_equal(b.ReadAsArray(3, 4, 200, 100), lb.ReadAsArray(3, 4, 200, 100))
    # A down-sampled read goes to the matching resolution level.
    if lb.GetOverviewCount() > 0:
        o, lo = b.GetOverview(0), lb.GetOverview(0)
        assert np.array_equal(o.ReadAsArray(), lo.ReadAsArray())
    # So does RasterIO into a smaller buffer.
    if lb.GetOverviewCount() > 0:
        half = ((ds.RasterXSize + 1) // 2, (ds.RasterYSize + 1) // 2)
        assert np.array_equal(b.ReadAsArray(buf_xsize=half[0], buf_ysize=half[1]),
                              b.GetOverview(0).ReadAsArray())


def async_read(ds, xoff=0, yoff=0, xsize=None, ysize=None, options=(), on_status=None):
    xsize = xsize or ds.RasterXSize
    ysize = ysize or ds.RasterYSize
    g = gdal()
    dt = ds.GetRasterBand(1).DataType
    reader = ds.BeginAsyncReader(xoff, yoff, xsize, ysize, buf_type=dt, options=list(options))
    statuses = []
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            st, x, y, w, h = reader.GetNextUpdatedRegion(1.0)
            statuses.append(st)
            if on_status is not None:
                on_status(st)
            if st == g.GARIO_ERROR:
                raise RuntimeError(g.GetLastErrorMsg())
            if st == g.GARIO_COMPLETE:
                break
            if st == g.GARIO_UPDATE:
                assert (x, y, w, h) == (0, 0, xsize, ysize)
        buf = reader.GetBuffer()
    finally:
        ds.EndAsyncReader(reader)
    arr = np.frombuffer(bytes(buf), dtype=g.GetDataTypeName(dt).lower().replace("byte", "uint8"))
    return statuses, arr


def local_async_layout(local, xoff, yoff, xsize, ysize):
    """The local read in the layout of a default async buffer (pixel-interleaved)."""
    a = local.ReadAsArray(xoff, yoff, xsize, ysize)
    if a.ndim == 2:
        a = a[np.newaxis]
    return a


def same_pixels(arr, local_arr):
    bands, h, w = local_arr.shape
    if arr.size != local_arr.size:
        return False
    by_band = arr.reshape(bands, h, w)
    by_pixel = arr.reshape(h, w, bands).transpose(2, 0, 1)
    return np.array_equal(by_band, local_arr) or np.array_equal(by_pixel, local_arr)


def test_async_reader_progressive(server, image_dir):
    g = gdal()
    name = "rgb8_lossless.jp2"
    ds = open_jpip(g, server.url(name), MAX_LEN=2000)
    statuses, arr = async_read(ds)
    assert g.GARIO_UPDATE in statuses
    assert statuses.index(g.GARIO_UPDATE) < statuses.index(g.GARIO_COMPLETE)
    local = open_local(g, image_dir / name)
    assert same_pixels(arr, local_async_layout(local, 0, 0, ds.RasterXSize, ds.RasterYSize))
    assert int(ds.GetMetadataItem("JPIP_STAT_REQUESTS", "JPIP")) > 10


def test_async_reader_options_level_layers(server, image_dir):
    g = gdal()
    name = "rgb8_lossy.jp2"
    ds = open_jpip(g, server.url(name))
    # LEVEL=1 into a half-size buffer: the overview's pixels.
    reader = ds.BeginAsyncReader(0, 0, ds.RasterXSize, ds.RasterYSize,
                                 buf_xsize=167, buf_ysize=129, options=["LEVEL=1", "LAYERS=2"])
    try:
        while True:
            st, *_ = reader.GetNextUpdatedRegion(5.0)
            assert st != g.GARIO_ERROR
            if st == g.GARIO_COMPLETE:
                break
        arr = np.frombuffer(bytes(reader.GetBuffer()), dtype=np.uint8)
    finally:
        ds.EndAsyncReader(reader)
    assert arr.size == 167 * 129 * 3
    # OpenJPEG decoding the same 2 layers at reduction 1 is the oracle.
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
    import pixels
    want = np.stack(pixels.decode(image_dir / name, reduce=1, layers=2))
    assert same_pixels(arr, want)


def test_async_readers_two_priorities(server, image_dir):
    g = gdal()
    name = "rgba8_lossless.jp2"
    ds = open_jpip(g, server.url(name), MAX_LEN=3000)
    local = open_local(g, image_dir / name)
    low = ds.BeginAsyncReader(0, 0, 333, 257, options=["PRIORITY=0"])
    high = ds.BeginAsyncReader(200, 100, 100, 100, options=["PRIORITY=1"])
    # done[key]: the polling round in which the reader reported COMPLETE. The high window lies
    # inside the low one, so both may complete on the same response; within a round, which one
    # is polled first says nothing, so rounds are compared, not clock times.
    try:
        done = poll_until_complete(g, {"low": low, "high": high})
        assert set(done) == {"low", "high"}
        assert done["high"] <= done["low"]
        for r, win in ((low, (0, 0, 333, 257)), (high, (200, 100, 100, 100))):
            arr = np.frombuffer(bytes(r.GetBuffer()), dtype=np.uint8)
            assert same_pixels(arr, local_async_layout(local, *win))
    finally:
        ds.EndAsyncReader(low)
        ds.EndAsyncReader(high)


def test_server_restarted_mid_read(fresh_server, image_dir):
    g = gdal()
    name = "gray16_lossless.jp2"
    # Small responses, so that the read is still under way when the server goes (it restarts at
    # the first update).
    ds = open_jpip(g, fresh_server.url(name), MAX_LEN=500, RECONNECT_TIMEOUT=30)
    restarted = threading.Event()

    def restart_once(st):
        if st == g.GARIO_UPDATE and not restarted.is_set():
            restarted.set()
            fresh_server.stop()
            time.sleep(1.0)
            fresh_server.start()

    statuses, arr = async_read(ds, on_status=restart_once)
    assert restarted.is_set() and statuses[-1] == g.GARIO_COMPLETE
    local = open_local(g, image_dir / name)
    assert same_pixels(arr, local_async_layout(local, 0, 0, 333, 257))
    assert int(ds.GetMetadataItem("JPIP_STAT_SESSIONS", "JPIP")) >= 2
    # Synchronous reads keep working on the new session.
    assert np.array_equal(ds.ReadAsArray(), local.ReadAsArray())


READ_SCRIPT = r"""
import sys, json
from osgeo import gdal
gdal.UseExceptions()
url, cache, x, y, w, h = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
ds = gdal.OpenEx(url, allowed_drivers=["JPIP"], open_options=["CACHE_DIR=" + cache, "INITIAL_LEN=500"])
a = ds.ReadAsArray(x, y, w, h)
print(json.dumps({"bytes": int(ds.GetMetadataItem("JPIP_STAT_BYTES_RECEIVED", "JPIP")),
                  "loaded": ds.GetMetadataItem("JPIP_STAT_CACHE_LOADED", "JPIP"),
                  "sum": int(a.astype("int64").sum())}))
"""


def run_reader(url, cache, win):
    import json
    import sys
    p = subprocess.run([sys.executable, "-c", READ_SCRIPT, url, str(cache), *map(str, win)],
                       capture_output=True, text=True, env=gdal_env(), timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_persistent_cache_across_processes(server, image_dir, tmp_path):
    g = gdal()
    name = "rgb8_lossy.jp2"
    cache = tmp_path / "cache"
    local = open_local(g, image_dir / name)
    a = run_reader(server.url(name), cache, (0, 0, 200, 150))
    assert a["loaded"] == "NO" and any(cache.iterdir())
    assert a["sum"] == int(local.ReadAsArray(0, 0, 200, 150).astype("int64").sum())
    b = run_reader(server.url(name), cache, (0, 0, 200, 150))
    assert b["loaded"] == "YES" and b["sum"] == a["sum"]
    assert b["bytes"] < 0.1 * a["bytes"]
    # A larger window transfers only what the cache lacks.
    fresh = run_reader(server.url(name), tmp_path / "other", (0, 0, 333, 257))
    c = run_reader(server.url(name), cache, (0, 0, 333, 257))
    assert c["sum"] == fresh["sum"] == int(local.ReadAsArray().astype("int64").sum())
    assert c["bytes"] < fresh["bytes"] - 0.5 * a["bytes"]


def test_cache_dropped_when_target_changes(server, image_dir, tmp_path):
    g = gdal()
    import shutil
    shutil.copy(image_dir / "rgb8_lossy.jp2", image_dir / "changing.jp2")
    cache = tmp_path / "cache"
    a = run_reader(server.url("changing.jp2"), cache, (0, 0, 100, 100))
    time.sleep(1.1)
    shutil.copy(image_dir / "rgb8_lossless.jp2", image_dir / "changing.jp2")
    b = run_reader(server.url("changing.jp2"), cache, (0, 0, 100, 100))
    local = open_local(g, image_dir / "rgb8_lossless.jp2")
    assert b["sum"] == int(local.ReadAsArray(0, 0, 100, 100).astype("int64").sum())
    assert a["sum"] != b["sum"]


def test_errors_are_clear(server):
    g = gdal()
    with pytest.raises(RuntimeError, match="cannot connect"):
        g.Open(f"jpip://127.0.0.1:{free_port()}/x.jp2")
    with pytest.raises(RuntimeError, match="target not found"):
        g.Open(server.url("no_such_file.jp2"))


def test_corrupt_stream_is_reported(tmp_path):
    g = gdal()
    import http.server
    import socketserver

    class Bad(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            body = bytes([0x70, 0x06, 0x00, 0x00, 0x05]) + b"\xff\x4f\xff" + bytes([0x0F] * 40)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpp-stream")
            self.send_header("JPIP-tid", "T1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = socketserver.TCPServer(("127.0.0.1", 0), Bad)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        with pytest.raises(RuntimeError, match="corrupt"):
            g.Open(f"jpip://127.0.0.1:{srv.server_address[1]}/bad.jp2")
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def tls_server(image_dir, tmp_path_factory, pipit_bin):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate: {p.stderr}")
    s = Server(image_dir, tls=(cert, key)).start()
    yield s, cert
    s.stop()


def test_tls_self_signed(tls_server, image_dir):
    g = gdal()
    server, cert = tls_server
    url = server.url("rgb8_lossy.jp2")
    assert url.startswith("jpips://")
    with pytest.raises(RuntimeError, match="TLS"):
        g.Open(url)
    local = open_local(g, image_dir / "rgb8_lossy.jp2").ReadAsArray(0, 0, 64, 64)
    ds = open_jpip(g, url, TLS_VERIFY="NO")
    assert np.array_equal(ds.ReadAsArray(0, 0, 64, 64), local)
    ds = open_jpip(g, url, CA_FILE=str(cert))
    assert np.array_equal(ds.ReadAsArray(0, 0, 64, 64), local)


def test_gdalinfo_format_lists_both_prefixes_and_a_help_topic_that_exists():
    gdal()
    from pathlib import Path
    p = subprocess.run(["gdalinfo", "--format", "JPIP"], capture_output=True, text=True,
                       env=gdal_env(), timeout=60)
    assert p.returncode == 0, p.stderr
    assert "jpip://" in p.stdout and "jpips://" in p.stdout
    topic = [ln.split(":", 1)[1].strip() for ln in p.stdout.splitlines()
             if ln.strip().startswith("Help Topic:")]
    assert topic and (Path(__file__).resolve().parents[2] / topic[0]).is_file(), topic


def test_get_metadata_lists_the_stat_keys(server):
    g = gdal()
    ds = open_jpip(g, server.url("rgb8_lossless.jp2"))
    ds.ReadAsArray(0, 0, 64, 64)
    md = ds.GetMetadata("JPIP")
    keys = {"JPIP_STAT_REQUESTS", "JPIP_STAT_BYTES_RECEIVED", "JPIP_STAT_NEW_BYTES",
            "JPIP_STAT_SESSIONS", "JPIP_STAT_RECONNECTS", "JPIP_STAT_CACHED_BYTES",
            "JPIP_STAT_CACHE_LOADED", "JPIP_STAT_STATELESS", "JPIP_STAT_TILES_DECODED",
            "JPIP_STAT_TILES_REUSED", "JPIP_STAT_DECODED_CACHE_BYTES"}
    assert keys <= set(md), keys - set(md)
    assert "JPIP_NCOMPS" in md  # the static items stay
    for k in keys:
        assert md[k] == ds.GetMetadataItem(k, "JPIP"), k
    assert int(md["JPIP_STAT_BYTES_RECEIVED"]) > 0 and md["JPIP_STAT_CACHE_LOADED"] == "NO"


def test_strip_pass_with_fetch_whole_tiles_decodes_each_tile_once(server, image_dir):
    """A pass over the image in 512x128 strips (as GDAL programs read through a VRT) decoded
    tiles from the part of their data a strip had fetched, then again for later strips; with
    FETCH_WHOLE_TILES each tile-component is decoded once, and the pixels are the same."""
    g = gdal()
    name = "two_big_tiles.jp2"  # 2048x1024, 1024x1024 tiles: 2 tiles, 3 components
    if not (image_dir / name).exists():
        y, x = np.mgrid[0:1024, 0:2048]
        mem = g.GetDriverByName("MEM").Create("", 2048, 1024, 3, g.GDT_Byte)
        for b in range(3):
            v = ((x * (3 + b) + y * (5 - b)) % 251) + ((x >> 4) ^ (y >> 3)) % 7
            mem.GetRasterBand(b + 1).WriteArray(v.astype(np.uint8))
        g.Translate(str(image_dir / name), mem, format="JP2OpenJPEG",
                    creationOptions=["BLOCKXSIZE=1024", "BLOCKYSIZE=1024", "QUALITY=25",
                                     "RESOLUTIONS=5"])
    local = open_local(g, image_dir / name)
    decoded = {}
    for option in ("NO", "YES"):
        ds = open_jpip(g, server.url(name), FETCH_WHOLE_TILES=option)
        W, H = ds.RasterXSize, ds.RasterYSize
        for y in range(0, H, 128):
            for x in range(0, W, 512):
                w, h = min(512, W - x), min(128, H - y)
                assert np.array_equal(ds.ReadAsArray(x, y, w, h), local.ReadAsArray(x, y, w, h))
        decoded[option] = int(ds.GetMetadataItem("JPIP_STAT_TILES_DECODED", "JPIP"))
    assert decoded["YES"] == 6, decoded  # without the option: 12 (each tile twice)
