"""Tile-aligned decoding and the decoded-tile cache of the JPIP driver, against `pipit serve`.

Windows are cut out of whole decoded tiles, so a lossy (9/7) tiled image read through jpip:// equals
the same file read through JP2OpenJPEG (which decodes whole tiles) sample for sample, whatever
the window; OpenJPEG's windowed decode of the same windows differs by 1 at some edge samples.
Decoded tiles are kept and reused only while the data-bins they were decoded from are unchanged:
samples decoded from partial data (a progressive read) are never returned once more data came."""
from __future__ import annotations

import time

import numpy as np
import pytest

from conftest import assert_translate_matches, gdal

NAME = "rgb8_lossy_tiled.jp2"  # 600x500, 3 bands, 256x256 tiles, 128x128 precincts, 9/7, 3 layers

# (overview or None, xoff, yoff, xsize, ysize). Edges inside tiles; the first of each level are
# windows whose edge samples came out 1 off when the client decoded exactly the window.
WINDOWS = [
    (None, 148, 12, 413, 76),
    (None, 113, 427, 405, 60),
    (None, 427, 197, 24, 237),
    (None, 384, 170, 51, 306),
    (None, 37, 21, 150, 111),
    (None, 255, 255, 2, 2),
    (None, 0, 0, 600, 500),
    (0, 43, 113, 110, 59),
    (0, 85, 128, 113, 13),
    (0, 213, 140, 73, 88),
    (0, 13, 7, 120, 90),
    (1, 5, 3, 60, 40),
    (1, 31, 29, 3, 80),
]


def open_local(g, path):
    return g.OpenEx(str(path), allowed_drivers=["JP2OpenJPEG"])


def open_jpip(g, url, **options):
    return g.OpenEx(url, allowed_drivers=["JPIP"], open_options=[f"{k}={v}" for k, v in options.items()])


def level(ds, ovr):
    return ds if ovr is None else ds.GetRasterBand(1).GetOverview(ovr).GetDataset()


def read(ds, ovr, x, y, w, h, band=None):
    if ovr is None:
        src = ds if band is None else ds.GetRasterBand(band)
        return src.ReadAsArray(x, y, w, h)
    bands = range(1, ds.RasterCount + 1) if band is None else [band]
    planes = [ds.GetRasterBand(b).GetOverview(ovr).ReadAsArray(x, y, w, h) for b in bands]
    return np.stack(planes) if band is None else planes[0]


def stat(ds, key):
    return int(ds.GetMetadataItem(f"JPIP_STAT_{key}", "JPIP"))


@pytest.mark.parametrize("threads", [1, 3])
def test_lossy_tiled_windows_equal_jp2openjpeg(server, image_dir, threads):
    g = gdal()
    local = open_local(g, image_dir / NAME)
    ds = open_jpip(g, server.url(NAME), NUM_THREADS=threads)
    assert (ds.RasterXSize, ds.RasterYSize) == (600, 500)
    assert ds.GetRasterBand(1).GetOverviewCount() >= 2
    for ovr, x, y, w, h in WINDOWS:
        want = read(local, ovr, x, y, w, h)
        got = read(ds, ovr, x, y, w, h)
        assert got.shape == want.shape and np.array_equal(got, want), (ovr, x, y, w, h)
        # One band at a time, and a dataset-level read into a buffer of the overview's size.
        assert np.array_equal(read(ds, ovr, x, y, w, h, band=2), want[1]), (ovr, x, y, w, h)
        if ovr is not None:
            s = 1 << (ovr + 1)
            full = (x * s, y * s, min(600, (x + w) * s) - x * s, min(500, (y + h) * s) - y * s)
            down = ds.ReadAsArray(*full, buf_xsize=w, buf_ysize=h)
            assert np.array_equal(down, local.ReadAsArray(*full, buf_xsize=w, buf_ysize=h)), (ovr, full)


def test_lossy_tiled_gdal_translate(server, image_dir, tmp_path):
    g = gdal()
    cases = [["-srcwin", "148", "12", "413", "76"], ["-srcwin", "113", "427", "405", "60"],
             ["-ovr", "0", "-srcwin", "43", "113", "110", "59"], ["-ovr", "1"]]
    for i, args in enumerate(cases):
        assert_translate_matches(g, image_dir / NAME, server.url(NAME), args, tmp_path, i)


def first_update_then_cancel(ds, win):
    """An async read stopped after its first update, decoded from partial data; None when the
    whole window had arrived by then (a loaded machine)."""
    g = gdal()
    reader = ds.BeginAsyncReader(*win, buf_type=g.GDT_Byte)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            st, *_ = reader.GetNextUpdatedRegion(5.0)
            assert st != g.GARIO_ERROR, g.GetLastErrorMsg()
            if st == g.GARIO_COMPLETE:
                return None
            if st == g.GARIO_UPDATE:
                return np.frombuffer(bytes(reader.GetBuffer()), dtype=np.uint8).copy()
        raise AssertionError("no update")
    finally:
        ds.EndAsyncReader(reader)


def differs_in_both_layouts(buf, want):
    return (not np.array_equal(buf.reshape(want.shape), want) and
            not np.array_equal(buf.reshape(want.shape[1], want.shape[2], 3).transpose(2, 0, 1), want))


def test_tiles_decoded_for_a_window_are_decoded_again_for_another(server, image_dir):
    """Regression: a tile decoded with only the precincts one window needed must not be served
    for a window that needs more of it."""
    g = gdal()
    local = open_local(g, image_dir / NAME)
    ds = open_jpip(g, server.url(NAME))
    a, b = (0, 0, 90, 90), (160, 150, 90, 100)  # both inside tile 0 (256 x 256), far apart
    assert np.array_equal(ds.ReadAsArray(*a), local.ReadAsArray(*a))
    assert stat(ds, "TILES_DECODED") == 3
    assert np.array_equal(ds.ReadAsArray(*b), local.ReadAsArray(*b))
    assert stat(ds, "TILES_DECODED") == 6
    # Now tile 0 holds what both windows need: reading either again decodes nothing.
    assert np.array_equal(ds.ReadAsArray(*a), local.ReadAsArray(*a))
    assert stat(ds, "TILES_DECODED") == 6
    # On an overview too (tile 0 is 128 x 128 there).
    assert np.array_equal(read(ds, 0, 0, 0, 40, 40), read(local, 0, 0, 0, 40, 40))
    assert np.array_equal(read(ds, 0, 80, 80, 40, 40), read(local, 0, 80, 80, 40, 40))


def test_partial_decode_is_not_reused_once_data_arrives(server, image_dir):
    """Regression: tiles decoded from partial data (a progressive read) must not be served as
    final samples."""
    g = gdal()
    local = open_local(g, image_dir / NAME)
    win = (100, 80, 300, 250)
    want = local.ReadAsArray(*win)
    ds = open_jpip(g, server.url(NAME), MAX_LEN=1000, INITIAL_LEN=1500)
    partial = first_update_then_cancel(ds, win)
    decoded = stat(ds, "TILES_DECODED")
    assert decoded > 0 and stat(ds, "DECODED_CACHE_BYTES") > 0
    # The same window, read to completion: every tile is decoded again from the complete data.
    assert np.array_equal(ds.ReadAsArray(*win), want)
    if partial is not None:
        assert partial.size == want.size and differs_in_both_layouts(partial, want)
        assert stat(ds, "TILES_DECODED") > decoded
    # Likewise on an overview, in a session of its own.
    ds = open_jpip(g, server.url(NAME), MAX_LEN=1000, INITIAL_LEN=1500)
    owin = (20, 10, 200, 150)
    owant = read(local, 0, *owin)
    partial = first_update_then_cancel(level(ds, 0), owin)
    assert np.array_equal(read(ds, 0, *owin), owant)
    if partial is not None:
        assert differs_in_both_layouts(partial, owant)


def test_async_read_to_completion_is_exact(server, image_dir):
    g = gdal()
    local = open_local(g, image_dir / NAME)
    ds = open_jpip(g, server.url(NAME), MAX_LEN=1500, NUM_THREADS=2)
    win = (50, 60, 400, 300)
    reader = ds.BeginAsyncReader(*win, buf_type=g.GDT_Byte)
    statuses = []
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            st, *_ = reader.GetNextUpdatedRegion(5.0)
            assert st != g.GARIO_ERROR, g.GetLastErrorMsg()
            statuses.append(st)
            if st == g.GARIO_COMPLETE:
                break
        arr = np.frombuffer(bytes(reader.GetBuffer()), dtype=np.uint8)
    finally:
        ds.EndAsyncReader(reader)
    assert g.GARIO_UPDATE in statuses and statuses[-1] == g.GARIO_COMPLETE
    want = local.ReadAsArray(*win)
    by_band = arr.reshape(want.shape)
    by_pixel = arr.reshape(want.shape[1], want.shape[2], 3).transpose(2, 0, 1)
    assert np.array_equal(by_band, want) or np.array_equal(by_pixel, want)


def test_decoded_tiles_are_reused(server, image_dir):
    g = gdal()
    local = open_local(g, image_dir / NAME)
    ds = open_jpip(g, server.url(NAME))
    win = (100, 100, 200, 200)  # 2x2 tiles of 256
    assert np.array_equal(ds.ReadAsArray(*win), local.ReadAsArray(*win))
    decoded = stat(ds, "TILES_DECODED")
    assert decoded == 4 * 3
    reused = stat(ds, "TILES_REUSED")
    assert np.array_equal(ds.ReadAsArray(*win), local.ReadAsArray(*win))
    assert stat(ds, "TILES_DECODED") == decoded and stat(ds, "TILES_REUSED") == reused + 4 * 3
    # Bands read one by one: the colour transform joins them, the first read decodes all three.
    ds2 = open_jpip(g, server.url(NAME))
    for b in (1, 2, 3):
        assert np.array_equal(ds2.GetRasterBand(b).ReadAsArray(*win), local.GetRasterBand(b).ReadAsArray(*win))
    assert stat(ds2, "TILES_DECODED") == 4 * 3
    # A window inside tiles already decoded (and complete for it) needs no decode.
    assert np.array_equal(ds.ReadAsArray(140, 140, 100, 100), local.ReadAsArray(140, 140, 100, 100))
    assert stat(ds, "TILES_DECODED") == decoded


def test_decoded_cache_off_and_bounded(server, image_dir):
    g = gdal()
    local = open_local(g, image_dir / NAME)
    want = local.ReadAsArray()
    ds = open_jpip(g, server.url(NAME), DECODED_CACHE=0)
    assert np.array_equal(ds.ReadAsArray(), want)
    assert np.array_equal(ds.ReadAsArray(), want)
    assert stat(ds, "TILES_REUSED") == 0 and stat(ds, "DECODED_CACHE_BYTES") == 0
    ds = open_jpip(g, server.url(NAME), DECODED_CACHE="600KB")
    assert np.array_equal(ds.ReadAsArray(), want)
    assert 0 < stat(ds, "DECODED_CACHE_BYTES") <= 600 * 1024
    assert np.array_equal(ds.ReadAsArray(), want)


@pytest.fixture(scope="module")
def one_big_tile(image_dir):
    """A 9/7 image of one 1500x1100 tile: read (like JP2OpenJPEG does) in blocks of 1024."""
    name = "rgb8_lossy_onetile.jp2"
    if not (image_dir / name).exists():
        g = gdal()
        y, x = np.mgrid[0:1100, 0:1500]
        rng = np.random.default_rng(7)
        src = g.GetDriverByName("MEM").Create("", 1500, 1100, 3, g.GDT_Byte)
        for b in range(3):
            v = (x * (2 + b) + y * (4 - b)) % 211 + rng.integers(0, 40, size=x.shape)
            src.GetRasterBand(b + 1).WriteArray((v % 256).astype(np.uint8))
        g.Translate(str(image_dir / name), src, format="JP2OpenJPEG", creationOptions=[
            "QUALITY=2,6,15", "REVERSIBLE=NO", "BLOCKXSIZE=1500", "BLOCKYSIZE=1100",
            "PRECINCTS={128,128}", "RESOLUTIONS=5", "PROGRESSION=RPCL"])
    return name


def test_one_big_tile_read_in_blocks(server, image_dir, one_big_tile):
    g = gdal()
    local = open_local(g, image_dir / one_big_tile)
    assert local.GetRasterBand(1).GetBlockSize() == [1024, 1024]
    ds = open_jpip(g, server.url(one_big_tile), NUM_THREADS=2)
    for ovr, x, y, w, h in [(None, 1000, 1000, 60, 50), (None, 700, 20, 700, 300), (None, 3, 1019, 1490, 9),
                            (0, 500, 400, 40, 130), (0, 11, 13, 700, 500), (1, 30, 40, 300, 200)]:
        want = read(local, ovr, x, y, w, h)
        assert np.array_equal(read(ds, ovr, x, y, w, h), want), (ovr, x, y, w, h)
    # Only the blocks a window meets are decoded: one block of 1024 x 1024, 3 components.
    ds = open_jpip(g, server.url(one_big_tile))
    assert np.array_equal(ds.ReadAsArray(10, 10, 100, 100), local.ReadAsArray(10, 10, 100, 100))
    assert stat(ds, "TILES_DECODED") == 3
