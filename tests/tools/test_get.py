"""`pipit get` writing GeoTIFF and PNG: pixels equal GDAL's JP2OpenJPEG decode of the same
window of the original file, the georeferencing is the JP2's moved to the region and scaled by
the level, exit codes are 0 (written), 1 (server/network/output failed), 2 (usage), and a
persistent cache is reused by the next run."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from conftest import HEIGHT, IMAGES, PIPIT_BIN, WIDTH, free_port

gdal.UseExceptions()


def get(url, out, *args, timeout=120):
    return subprocess.run([str(PIPIT_BIN), "get", url, "-o", str(out), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def local_view(path, level, region):
    """The original JP2 through GDAL (JP2OpenJPEG): the window's full-resolution pixels (None at
    a reduced level), the frame size at the level, and the expected georeferencing."""
    ds = gdal.Open(str(path))
    full_w, full_h = ds.RasterXSize, ds.RasterYSize
    fw, fh = -(-full_w // 2 ** level), -(-full_h // 2 ** level)  # ceil, XOsiz = YOsiz = 0
    x, y, w, h = region or (0, 0, fw, fh)
    sx, sy = full_w / fw, full_h / fh
    g = ds.GetGeoTransform()
    X, Y = x * sx, y * sy
    want_gt = (g[0] + X * g[1] + Y * g[2], g[1] * sx, g[2] * sy,
               g[3] + X * g[4] + Y * g[5], g[4] * sx, g[5] * sy)
    arr = ds.ReadAsArray(x, y, w, h) if level == 0 else None
    if arr is not None and arr.ndim == 2:
        arr = arr[None]
    return arr, (w, h), want_gt, ds.GetSpatialRef()


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("level,region", [(0, None), (0, (31, 17, 150, 99)), (1, (10, 20, 80, 60)),
                                          (2, None)])
def test_geotiff_georeferencing_and_pixels(server, image_dir, tmp_path, name, level, region):
    out = tmp_path / "out.tif"
    args = ["--level", level] + (["--region", ",".join(map(str, region))] if region else [])
    p = get(server.url(name), out, *args)
    assert p.returncode == 0, p.stderr
    want, (w, h), want_gt, want_srs = local_view(image_dir / name, level, region)
    ds = gdal.Open(str(out))
    assert ds.GetDriver().ShortName == "GTiff"
    got = np.stack([ds.GetRasterBand(b + 1).ReadAsArray() for b in range(ds.RasterCount)])
    src = gdal.Open(str(image_dir / name))
    assert got.shape == (src.RasterCount, h, w)
    assert ds.GetRasterBand(1).DataType == src.GetRasterBand(1).DataType
    if want is not None:
        if "REVERSIBLE=YES" in IMAGES[name][2]:
            assert np.array_equal(got, want)
        else:  # lossy: OpenJPEG in pipit and in GDAL decode the same codestream
            assert np.abs(got.astype(np.int64) - want.astype(np.int64)).max() <= 1
    assert ds.GetGeoTransform() == pytest.approx(want_gt, rel=1e-12, abs=1e-9)
    assert ds.GetSpatialRef() is not None and ds.GetSpatialRef().IsSame(want_srs)


def test_png_written(server, image_dir, tmp_path):
    out = tmp_path / "view.png"
    p = get(server.url("rgb_geojp2.jp2"), out, "--size", "100,74", "--bands", "3,2,1")
    assert p.returncode == 0, p.stderr
    ds = gdal.Open(str(out))
    assert ds.GetDriver().ShortName == "PNG"
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (100, 74, 3)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # --bands 3,2,1: the first band of the PNG is the third of the image.
    p = get(server.url("rgb_geojp2.jp2"), tmp_path / "b3.tif", "--size", "100,74", "--bands", "3")
    assert p.returncode == 0, p.stderr
    assert np.array_equal(ds.GetRasterBand(1).ReadAsArray(),
                          gdal.Open(str(tmp_path / "b3.tif")).ReadAsArray())


def test_png_of_16_bits_and_signed(server, tmp_path):
    assert get(server.url("gray16_gmljp2.jp2"), tmp_path / "g.png", "--level", 1).returncode == 0
    p = get(server.url("int16.jp2"), tmp_path / "s.png")
    assert p.returncode == 2 and "PNG" in p.stderr


def test_size_georeferencing(server, image_dir, tmp_path):
    out = tmp_path / "s.tif"
    p = get(server.url("rgb_geojp2.jp2"), out, "--size", "100,80", "--region", "40,30,200,160",
            "--stats")
    assert p.returncode == 0, p.stderr
    stats = json.loads(p.stdout)
    assert stats["level"] == 1 and (stats["width"], stats["height"]) == (100, 80)
    g = gdal.Open(str(image_dir / "rgb_geojp2.jp2")).GetGeoTransform()
    got = gdal.Open(str(out)).GetGeoTransform()
    assert got == pytest.approx((g[0] + 40 * g[1], g[1] * 2, 0, g[3] + 30 * g[5], 0, g[5] * 2))


@pytest.mark.parametrize("args", [
    ["--region", "1,2,3"], ["--region", "0,0,10000,10"], ["--level", "99"], ["--bands", "0"],
    ["--bands", "4"], ["--size", "10"], ["--level", "1", "--size", "10,10"], ["--no-such-option"],
])
def test_usage_errors_exit_2(server, tmp_path, args):
    p = get(server.url("rgb_geojp2.jp2"), tmp_path / "x.tif", *args)
    assert p.returncode == 2, (args, p.stderr)
    assert p.stderr.strip()
    assert not (tmp_path / "x.tif").exists()


def test_failures_exit_1(server, tmp_path):
    p = get(server.url("missing.jp2"), tmp_path / "x.tif")
    assert p.returncode == 1 and "not found" in p.stderr
    p = get(f"jpip://127.0.0.1:{free_port()}/a.jp2", tmp_path / "x.tif")
    assert p.returncode == 1 and "cannot connect" in p.stderr
    p = get(server.url("rgb_geojp2.jp2"), tmp_path / "no_such_dir" / "x.tif")
    assert p.returncode == 1 and "cannot write" in p.stderr


def test_cache_resumption(server, tmp_path):
    cache = tmp_path / "cache"
    url = server.url("gray16_gmljp2.jp2")
    p1 = get(url, tmp_path / "a.tif", "--cache", cache, "--stats", "--max-len", "3000")
    assert p1.returncode == 0, p1.stderr
    s1 = json.loads(p1.stdout)
    assert not s1["loaded_from_disk"] and s1["body_bytes"] > 3000
    p2 = get(url, tmp_path / "b.tif", "--cache", cache, "--stats")
    assert p2.returncode == 0, p2.stderr
    s2 = json.loads(p2.stdout)
    assert s2["loaded_from_disk"]
    assert s2["body_bytes"] < s1["body_bytes"] // 4
    a = gdal.Open(str(tmp_path / "a.tif")).ReadAsArray()
    b = gdal.Open(str(tmp_path / "b.tif")).ReadAsArray()
    assert np.array_equal(a, b)


def test_interrupted_get_resumes(slow_server, tmp_path):
    """SIGINT during a slow fetch saves the cache; the next run starts from it."""
    import signal
    import time
    cache = tmp_path / "cache"
    url = slow_server.url("rgb_geojp2.jp2")
    proc = subprocess.Popen([str(PIPIT_BIN), "get", url, "-o", str(tmp_path / "i.tif"), "--cache",
                             str(cache), "--max-len", "100"], stderr=subprocess.PIPE, text=True)
    # Wait until the fetch is under way (its first checkpoint is written after the handler is
    # installed; a loaded machine can take seconds to start the process): with 100-byte
    # responses the fetch itself takes far longer.
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not cache_files(cache):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the fetch finished before the interruption")
    assert proc.returncode == 1 and "interrupted" in err
    p = get(url, tmp_path / "j.tif", "--cache", cache, "--stats")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["loaded_from_disk"]


def test_progress_bar(server, tmp_path):
    p = get(server.url("rgb_geojp2.jp2"), tmp_path / "p.tif", "--progress", "--level", "1")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("0...10...20...30...40...50...60...70...80...90...100 - done.")


@pytest.fixture
def slow_server(server):
    """The server behind a slow link (12.8 kB/s)."""
    from conftest import SlowLink
    s = SlowLink(server.port)
    yield s
    s.close()


def cache_files(cache):
    return [f for f in cache.glob("*.pipitcache")] if cache.exists() else []


def test_killed_get_resumes_from_cache(slow_server, server, tmp_path):
    """A `pipit get` killed (SIGKILL, no chance to save at exit) mid-transfer leaves a cache
    file written at a checkpoint; the next run starts from it and fetches less."""
    import time
    name = "rgb_geojp2.jp2"
    cache = tmp_path / "cache"
    proc = subprocess.Popen([str(PIPIT_BIN), "get", slow_server.url(name), "-o",
                             str(tmp_path / "k.tif"), "--cache", str(cache), "--max-len", "2000",
                             "-q"], stderr=subprocess.PIPE, text=True)
    # Kill it once about 40 % of the image's ~105 kB has come through (3 s at 12.8 kB/s).
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and slow_server.relayed < 40000:
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=10)
    if proc.returncode == 0:
        pytest.skip("the fetch finished before it could be killed")
    assert proc.returncode == -9, proc.stderr.read()
    assert cache_files(cache), "no cache file written before the kill"
    fresh = get(server.url(name), tmp_path / "f.tif", "--stats")
    assert fresh.returncode == 0, fresh.stderr
    full = json.loads(fresh.stdout)
    # The same URL (the cache is keyed by it): the slow server, resumed from the cache.
    p = get(slow_server.url(name), tmp_path / "r.tif", "--cache", cache, "--stats")
    assert p.returncode == 0, p.stderr
    resumed = json.loads(p.stdout)
    assert resumed["loaded_from_disk"], resumed
    assert resumed["new_bytes"] < full["new_bytes"], (resumed, full)
    assert resumed["body_bytes"] < full["body_bytes"], (resumed, full)
    a = gdal.Open(str(tmp_path / "f.tif")).ReadAsArray()
    b = gdal.Open(str(tmp_path / "r.tif")).ReadAsArray()
    assert np.array_equal(a, b)


def test_two_clients_share_a_cache_dir(server, tmp_path):
    """Two runs at once on one cache folder, each fetching another half of a tiled image, leave
    the union in the cache file (merged under a lock, not the last writer's half only): a third
    run reading the whole image fetches no new byte."""
    name = "tiled_for_merge.jp2"
    src = server.root / name
    if not src.exists():
        gdal.Translate(str(src), str(server.root / "gray16_gmljp2.jp2"), format="JP2OpenJPEG",
                       creationOptions=["BLOCKXSIZE=128", "BLOCKYSIZE=128", "REVERSIBLE=YES",
                                        "QUALITY=100", "RESOLUTIONS=3"])
    url = server.url(name)
    cache = tmp_path / "cache"
    half = 256  # a tile boundary: the halves share no tile
    procs = [subprocess.Popen([str(PIPIT_BIN), "get", url, "-o", str(tmp_path / f"h{i}.tif"),
                               "--cache", str(cache), "--max-len", "2000", "--stats",
                               "--region", region], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for i, region in enumerate([f"0,0,{half},{HEIGHT}",
                                         f"{half},0,{WIDTH - half},{HEIGHT}"])]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert json.loads(out)["new_bytes"] > 0
    p = get(url, tmp_path / "all.tif", "--cache", cache, "--stats")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["loaded_from_disk"] and s["new_bytes"] == 0, s
    want = gdal.Open(str(src)).ReadAsArray()
    assert np.array_equal(gdal.Open(str(tmp_path / "all.tif")).ReadAsArray(), want)


def test_pgx_output_needs_no_gdal_module(server, tmp_path):
    """GDAL is loaded only for GeoTIFF/PNG output (and the progress bar): a pipit without its
    module still writes PGX files, and names the missing module for a GeoTIFF."""
    import shutil
    alone = tmp_path / "bin" / "pipit"
    alone.parent.mkdir()
    shutil.copy(PIPIT_BIN, alone)
    name = sorted(IMAGES)[0]
    p = subprocess.run([str(alone), "get", server.url(name), "-o", str(tmp_path / "w"), "--level",
                        "1", "--stats"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert list(tmp_path.glob("w_*.pgx"))
    p = subprocess.run([str(alone), "get", server.url(name), "-o", str(tmp_path / "w.tif")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "cannot load GDAL's output module" in p.stderr and "pipit_gdal_output.so" in p.stderr
