"""JPT-streams (tile data-bins, 15444-9 A.3.4; docs/jpip-notes.md §5.3, §6) from `pipit serve` on
127.0.0.1: `pipit rebuild` of a fetched JPT-stream gives the original's pixels (opj_decompress of
both), and the client (`pipit get --stream-type jpt`) and the driver (STREAM_TYPE=JPT) read what
GDAL's JP2OpenJPEG driver reads from the local file."""
from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import PIPIT_BIN, gdal, gdal_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import pixels  # noqa: E402

TILED = "rgb8_lossy_tiled.jp2"  # 2 x 2 tiles of 256, lossy, 3 layers
SMALL_TILES = "gray16_lossless.jp2"  # 3 x 3 tiles of 160 x 96, 16-bit


def fetch_jpt(server, name, query, out: Path) -> Path:
    """One stateless JPT-stream response of the server, as its body."""
    url = f"http://127.0.0.1:{server.port}/{name}?type=jpt-stream&{query}"
    with urllib.request.urlopen(url, timeout=60) as r:
        assert r.headers["Content-Type"] == "image/jpt-stream"
        out.write_bytes(r.read())
    return out


def rebuild(ins, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(PIPIT_BIN), "rebuild", *map(str, ins), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)


def full_query(path) -> str:
    siz = pixels.read_siz(path)
    return f"fsiz={siz.Xsiz - siz.XOsiz},{siz.Ysiz - siz.YOsiz}&len=100000000"


@pytest.mark.parametrize("name", [TILED, SMALL_TILES])
def test_rebuild_of_jpt_stream_keeps_the_tile_data(server, image_dir, name, tmp_path):
    """`pipit rebuild` of a JPT-stream wrote the main header and empty packets (a 5.5 MB stream
    became 14.9 KB): the tile data-bins were ignored. Now they are the codestream's tile-parts,
    and opj_decompress decodes the rebuild to the original's samples."""
    jpt = fetch_jpt(server, name, full_query(image_dir / name), tmp_path / "all.jpt")
    out = tmp_path / "all.j2k"
    p = rebuild([jpt], out)
    assert p.returncode == 0, p.stderr
    assert "JPT-stream" in p.stderr
    assert out.stat().st_size > 0.9 * jpt.stat().st_size
    problems = pixels.compare(pixels.decode(out), pixels.decode(image_dir / name), name)
    assert not problems, problems
    # At a reduced resolution too.
    problems = pixels.compare(pixels.decode(out, reduce=1),
                              pixels.decode(image_dir / name, reduce=1), f"{name} -r 1")
    assert not problems, problems


def test_rebuild_of_partial_jpt_stream_keeps_the_tiles_it_has(server, image_dir, tmp_path):
    """A window's JPT-stream holds the tiles it meets: the rebuild decodes, and inside those
    tiles its samples are the original's."""
    name = TILED
    jpt = fetch_jpt(server, name, "fsiz=333,257&roff=0,0&rsiz=100,100&len=100000000",
                    tmp_path / "win.jpt")
    out = tmp_path / "win.j2k"
    p = rebuild([jpt], out)
    assert p.returncode == 0, p.stderr
    got, want = pixels.decode(out), pixels.decode(image_dir / name)
    for g, w in zip(got, want):
        assert np.array_equal(g[:256, :256], w[:256, :256])   # tile 0, the window's
    # A response cut by len: whatever tile-parts arrived whole, the rebuild decodes.
    cut = fetch_jpt(server, name, "fsiz=333,257&len=6000", tmp_path / "cut.jpt")
    p = rebuild([cut], tmp_path / "cut.j2k")
    assert p.returncode == 0, p.stderr
    assert len(pixels.decode(tmp_path / "cut.j2k")) == 3


def test_rebuild_of_what_is_not_a_stream_names_what_it_is(image_dir, tmp_path):
    """An input that is neither a JPP- nor a JPT-stream is an error that says what it is."""
    p = rebuild([image_dir / TILED], tmp_path / "x.j2k")
    assert p.returncode == 1
    assert "not a JPP- or JPT-stream" in p.stderr and "JP2" in p.stderr, p.stderr
    junk = tmp_path / "junk.jpp"
    junk.write_bytes(b"\x7f\x45\x4c\x46\x02\x01\x01\x00" + bytes(64))
    p = rebuild([junk], tmp_path / "y.j2k")
    assert p.returncode == 1
    assert "not a JPP- or JPT-stream" in p.stderr and "7F 45 4C 46" in p.stderr, p.stderr


@pytest.mark.parametrize("name", [TILED, SMALL_TILES])
def test_get_with_jpt_equals_jp2openjpeg(server, image_dir, name, tmp_path):
    g = gdal()
    local = g.OpenEx(str(image_dir / name), allowed_drivers=["JP2OpenJPEG"])
    out = tmp_path / "jpt.tif"
    p = subprocess.run([str(PIPIT_BIN), "get", server.url(name), "-o", str(out), "-q",
                        "--stream-type", "jpt", "--region", "40,30,200,150"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert np.array_equal(g.Open(str(out)).ReadAsArray(), local.ReadAsArray(40, 30, 200, 150))


@pytest.mark.parametrize("name", [TILED, SMALL_TILES])
def test_driver_with_jpt_reads_what_jp2openjpeg_reads(server, image_dir, name):
    g = gdal()
    local = g.OpenEx(str(image_dir / name), allowed_drivers=["JP2OpenJPEG"])
    ds = g.OpenEx(server.url(name), allowed_drivers=["JPIP"], open_options=["STREAM_TYPE=JPT"])
    assert ds is not None, g.GetLastErrorMsg()
    assert ds.GetRasterBand(1).DataType == local.GetRasterBand(1).DataType
    assert ds.GetGeoTransform() == local.GetGeoTransform()
    assert np.array_equal(ds.ReadAsArray(17, 9, 150, 120), local.ReadAsArray(17, 9, 150, 120))
    assert np.array_equal(ds.ReadAsArray(), local.ReadAsArray())
    ov, lov = ds.GetRasterBand(1).GetOverview(0), local.GetRasterBand(1).GetOverview(0)
    assert np.array_equal(ov.ReadAsArray(), lov.ReadAsArray())


def test_driver_refuses_an_unknown_stream_type(server):
    g = gdal()
    with pytest.raises(RuntimeError, match="STREAM_TYPE=JPX"):
        g.UseExceptions()
        try:
            g.OpenEx(server.url(TILED), allowed_drivers=["JPIP"], open_options=["STREAM_TYPE=JPX"])
        finally:
            g.DontUseExceptions()


def test_gdalinfo_lists_the_stream_type_option():
    p = subprocess.run(["gdalinfo", "--format", "JPIP"], capture_output=True, text=True,
                       env=gdal_env(), timeout=60)
    assert p.returncode == 0, p.stderr
    assert "STREAM_TYPE" in p.stdout
