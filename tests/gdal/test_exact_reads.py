"""Every read through the JPIP driver equals what GDAL's JP2OpenJPEG driver reads from the local
file (pixels, data type, colour, georeferencing), whatever part of the image is read and in
whichever order: band subsets of colour-transformed images, overview-sized asynchronous reads,
sub-sampled components, and the driver's compatibility with JPIPKAK's documented behaviour.

The images are made here, next to the session's images, so `pipit serve` (the `server`
fixture) serves them too."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import PIPIT_BIN, complete_first, gdal, gdal_env, poll_until_complete

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import pixels  # noqa: E402


def open_local(g, path):
    return g.OpenEx(str(path), allowed_drivers=["JP2OpenJPEG"])


def open_jpip(g, url, **options):
    return g.OpenEx(url, allowed_drivers=["JPIP"],
                    open_options=[f"{k}={v}" for k, v in options.items()])


def planes(width, height, bands, seed, dtype=np.uint8, low=0, top=255):
    """Smooth patterns with noise, scaled to [low, top]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    out = []
    for b in range(bands):
        v = ((x * (3 + b) + y * (5 - b)) % 97) * 7 + ((x >> 4) ^ (y >> 3)) % 13 * 11
        v = v + rng.integers(0, 60, size=v.shape)
        out.append((low + (v * (top - low)) // int(v.max() + 1)).astype(dtype))
    return out


def make_jp2(g, path, arrays, gdt, options, colours=None):
    """A georeferenced GeoTIFF of `arrays` (in memory) translated by JP2OpenJPEG."""
    from osgeo import osr
    h, w = arrays[0].shape
    src = g.GetDriverByName("MEM").Create("", w, h, len(arrays), gdt)
    src.SetGeoTransform((300000.0, 2.0, 0.0, 5000000.0, 0.0, -2.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    src.SetProjection(srs.ExportToWkt())
    for i, a in enumerate(arrays):
        src.GetRasterBand(i + 1).WriteArray(a)
        if colours:
            src.GetRasterBand(i + 1).SetColorInterpretation(colours[i])
    g.Translate(str(path), src, format="JP2OpenJPEG", creationOptions=options)


@pytest.fixture(scope="module")
def rgba(image_dir):
    """An RGBA image with the multiple component transform and an alpha channel (cdef), as
    `gdal_translate -of JP2OpenJPEG -co ALPHA=YES` writes an RGBA GeoTIFF (lossy 9/7)."""
    g = gdal()
    name = "rgba_alpha_mct.jp2"
    colours = [g.GCI_RedBand, g.GCI_GreenBand, g.GCI_BlueBand, g.GCI_AlphaBand]
    make_jp2(g, image_dir / name, planes(333, 257, 4, 41), g.GDT_Byte, ["ALPHA=YES"], colours)
    return name


def checksums(url_or_path, driver):
    p = subprocess.run(["gdalinfo", "-checksum", "-if", driver, str(url_or_path)],
                       capture_output=True, text=True, env=gdal_env(), timeout=120)
    assert p.returncode == 0, p.stderr
    return [line.split("=")[1] for line in p.stdout.splitlines() if "Checksum=" in line]


def async_bands(g, ds, bands, xoff=0, yoff=0, xsize=None, ysize=None, buf=None, options=()):
    xsize = xsize or ds.RasterXSize
    ysize = ysize or ds.RasterYSize
    bx, by = buf or (xsize, ysize)
    dt = ds.GetRasterBand(1).DataType
    reader = ds.BeginAsyncReader(xoff, yoff, xsize, ysize, buf_xsize=bx, buf_ysize=by,
                                 buf_type=dt, band_list=list(bands), options=list(options))
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            st, *_ = reader.GetNextUpdatedRegion(1.0)
            assert st != g.GARIO_ERROR, g.GetLastErrorMsg()
            if st == g.GARIO_COMPLETE:
                break
        assert st == g.GARIO_COMPLETE
        data = bytes(reader.GetBuffer())
    finally:
        ds.EndAsyncReader(reader)
    np_type = {g.GDT_Byte: np.uint8, g.GDT_UInt16: np.uint16, g.GDT_Int16: np.int16}[dt]
    # The default buffer layout is band-sequential.
    return np.frombuffer(data, dtype=np_type).reshape(len(bands), by, bx)


def test_rgba_band_subset_equals_jp2openjpeg(server, image_dir, rgba):
    g = gdal()
    local = open_local(g, image_dir / rgba)
    want = local.ReadAsArray()
    # Band by band (gdalinfo -checksum reads each band alone).
    assert checksums(server.url(rgba), "JPIP") == checksums(image_dir / rgba, "JP2OpenJPEG")
    for b in range(1, 5):
        ds = open_jpip(g, server.url(rgba))
        assert np.array_equal(ds.GetRasterBand(b).ReadAsArray(), want[b - 1]), f"band {b}"
    # Bands 1-3, synchronously and asynchronously.
    ds = open_jpip(g, server.url(rgba))
    assert np.array_equal(ds.ReadAsArray(band_list=[1, 2, 3]), want[:3])
    ds = open_jpip(g, server.url(rgba))
    assert np.array_equal(async_bands(g, ds, [1, 2, 3]), want[:3])
    ds = open_jpip(g, server.url(rgba))
    assert np.array_equal(async_bands(g, ds, [2]), want[1:2])


def test_rgba_band_subset_then_all_bands_equal_jp2openjpeg(server, image_dir, rgba):
    """Decoded tiles kept from a read of some bands serve a later read of all of them."""
    g = gdal()
    want = open_local(g, image_dir / rgba).ReadAsArray()
    for first in ([1], [1, 2, 3], [3, 4], [4]):
        ds = open_jpip(g, server.url(rgba))
        got = ds.ReadAsArray(band_list=first).reshape(len(first), *want.shape[1:])
        assert np.array_equal(got, want[[b - 1 for b in first]]), first
        assert np.array_equal(ds.ReadAsArray(), want), first
        assert np.array_equal(ds.GetRasterBand(2).ReadAsArray(), want[1]), first
    # An all-band read first, then band subsets.
    ds = open_jpip(g, server.url(rgba))
    assert np.array_equal(ds.ReadAsArray(), want)
    for b in range(1, 5):
        assert np.array_equal(ds.GetRasterBand(b).ReadAsArray(), want[b - 1])


def test_get_rgba_band_subset_equals_jp2openjpeg(server, image_dir, rgba, tmp_path):
    """`pipit get --bands` of a transformed image gives JP2OpenJPEG's samples."""
    g = gdal()
    want = open_local(g, image_dir / rgba).ReadAsArray()
    for bands in ("1", "1,2,3", "4,2"):
        out = tmp_path / f"b{bands.replace(',', '')}.tif"
        p = subprocess.run([str(PIPIT_BIN), "get", server.url(rgba), "-o", str(out), "--bands",
                            bands], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        got = g.Open(str(out)).ReadAsArray()
        idx = [int(b) - 1 for b in bands.split(",")]
        assert np.array_equal(got.reshape(len(idx), *want.shape[1:]), want[idx]), bands


@pytest.fixture(scope="module")
def odd_size(image_dir):
    """1003 x 501, four decomposition levels: frames of 502x251, 251x126, 126x63, 63x32, where
    size >> r is one less than ceil(size / 2^r)."""
    g = gdal()
    name = "odd_size_lossy.jp2"
    make_jp2(g, image_dir / name, planes(1003, 501, 1, 5), g.GDT_Byte,
             ["QUALITY=20", "RESOLUTIONS=5"])
    return name


def test_async_default_level_of_overview_sized_buffer(server, image_dir, odd_size):
    """A buffer of the size of a level's frame reads that level, not the next finer one sampled
    down (OpenJPEG's decode at that reduction is the oracle)."""
    g = gdal()
    ds = open_jpip(g, server.url(odd_size))
    b = ds.GetRasterBand(1)
    assert b.GetOverviewCount() == 4
    for r in range(1, 5):
        ov = b.GetOverview(r - 1)
        want = pixels.decode(image_dir / odd_size, reduce=r)[0]
        assert (ov.XSize, ov.YSize) == (want.shape[1], want.shape[0])
        got = async_bands(g, ds, [1], buf=(ov.XSize, ov.YSize))
        assert np.array_equal(got[0], want), (ov.XSize, ov.YSize)


@pytest.fixture(scope="module")
def large_lossless(image_dir):
    """1024 x 1024 RGB, lossless and noisy (about 2 MB): at MAX_LEN=3000 a whole-image window
    takes hundreds of responses, so a window served before it completes long before it. Small
    precincts, so that a 100 x 100 window needs a few of them, not the whole image."""
    g = gdal()
    name = "large_lossless.jp2"
    make_jp2(g, image_dir / name, planes(1024, 1024, 3, 11), g.GDT_Byte,
             ["REVERSIBLE=YES", "QUALITY=100", "RESOLUTIONS=4", "PRECINCTS={64,64}"])
    return name


def test_async_read_without_priority_is_high(server, image_dir, large_lossless):
    """JPIPKAK serves a window opened without PRIORITY as a high priority one: it is complete
    while a low priority window opened before it is still being fetched. (Comparing polling
    rounds on a small image tied on a fast machine, both windows complete in round 2.)"""
    g = gdal()
    ds = open_jpip(g, server.url(large_lossless), MAX_LEN=3000)
    local = open_local(g, image_dir / large_lossless)
    low = ds.BeginAsyncReader(0, 0, 1024, 1024, options=["PRIORITY=0"])
    default = ds.BeginAsyncReader(200, 100, 100, 100)
    try:
        assert complete_first(g, default, low) != g.GARIO_COMPLETE
        arr = np.frombuffer(bytes(default.GetBuffer()), dtype=np.uint8).reshape(3, 100, 100)
        assert np.array_equal(arr, local.ReadAsArray(200, 100, 100, 100))
    finally:
        ds.EndAsyncReader(low)
        ds.EndAsyncReader(default)


def test_nresolutionlevels_counts_decomposition_levels(server, image_dir, odd_size):
    """JPIPKAK's JPIP_NRESOLUTIONLEVELS is the number of decomposition levels (Clevels)."""
    g = gdal()
    ds = open_jpip(g, server.url(odd_size))
    md = ds.GetMetadata("JPIP")
    assert md["JPIP_NRESOLUTIONLEVELS"] == "4"
    assert ds.GetRasterBand(1).GetOverviewCount() == 4
    assert md["JPIP_YCC"] == "NO"
    rgba = open_jpip(g, server.url("rgba8_lossless.jp2")).GetMetadata("JPIP")
    assert rgba["JPIP_YCC"] == "YES"


def test_signed_8bit_band_is_int16_without_signedbyte(server, image_dir, tmp_path):
    """A signed 8-bit component reads as Int16 (its values as they are): no PIXELTYPE=SIGNEDBYTE,
    which would tell GDAL to read a Byte band as signed."""
    g = gdal()
    rng = np.random.default_rng(8)
    a = rng.integers(-128, 128, size=(40, 50)).astype(np.int8)
    raw = tmp_path / "s8.raw"
    a.tofile(raw)
    name = "signed8.j2k"
    p = subprocess.run(["opj_compress", "-i", str(raw), "-o", str(image_dir / name),
                        "-F", "50,40,1,8,s"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    ds = open_jpip(g, server.url(name))
    b = ds.GetRasterBand(1)
    assert b.DataType == g.GDT_Int16
    assert b.GetMetadataItem("PIXELTYPE", "IMAGE_STRUCTURE") is None
    assert np.array_equal(b.ReadAsArray(), a.astype(np.int16))
    assert np.array_equal(b.ReadAsArray(), pixels.decode(image_dir / name)[0])


def test_raw_codestream_colour_is_undefined(server, image_dir):
    """Without a JP2 header there is no colour box: JP2OpenJPEG leaves every band Undefined."""
    g = gdal()
    for bands in (1, 3):
        name = f"raw_{bands}.j2k"
        make_jp2(g, image_dir / name, planes(120, 90, bands, bands), g.GDT_Byte,
                 ["CODEC=J2K", "REVERSIBLE=YES", "QUALITY=100"])
        local = open_local(g, image_dir / name)
        ds = open_jpip(g, server.url(name))
        want = [local.GetRasterBand(i + 1).GetColorInterpretation() for i in range(bands)]
        got = [ds.GetRasterBand(i + 1).GetColorInterpretation() for i in range(bands)]
        assert got == want == [g.GCI_Undefined] * bands
        assert np.array_equal(ds.ReadAsArray(), local.ReadAsArray())


@pytest.fixture(scope="module")
def ycbcr420(image_dir):
    """GDAL's own 4:2:0 output: `-co YCBCR420=YES` (Y full size, Cb and Cr halved both ways)."""
    g = gdal()
    name = "ycbcr420.jp2"
    colours = [g.GCI_RedBand, g.GCI_GreenBand, g.GCI_BlueBand]
    make_jp2(g, image_dir / name, planes(332, 256, 3, 42), g.GDT_Byte,
             ["YCBCR420=YES", "RESOLUTIONS=3"], colours)
    siz = pixels.read_siz(image_dir / name)
    assert [(c.dx, c.dy) for c in siz.comps] == [(1, 1), (2, 2), (2, 2)]
    return name


def test_subsampled_420_reads_like_jp2openjpeg(server, image_dir, ycbcr420):
    """A 4:2:0 file opens, and reads as JP2OpenJPEG reads it: RGB bands at full size."""
    g = gdal()
    local = open_local(g, image_dir / ycbcr420)
    ds = open_jpip(g, server.url(ycbcr420))
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (332, 256, 3)
    assert [ds.GetRasterBand(i + 1).GetColorInterpretation() for i in range(3)] == \
        [local.GetRasterBand(i + 1).GetColorInterpretation() for i in range(3)]
    assert [ds.GetRasterBand(i + 1).DataType for i in range(3)] == [g.GDT_Byte] * 3
    assert np.array_equal(ds.ReadAsArray(), local.ReadAsArray())
    # Windows with odd corners, single bands, overviews.
    for win in ((37, 21, 150, 111), (1, 1, 5, 3), (331, 255, 1, 1)):
        assert np.array_equal(ds.ReadAsArray(*win), local.ReadAsArray(*win)), win
    ds = open_jpip(g, server.url(ycbcr420))
    for b in (3, 1, 2):
        assert np.array_equal(ds.GetRasterBand(b).ReadAsArray(13, 7, 99, 77),
                              local.GetRasterBand(b).ReadAsArray(13, 7, 99, 77)), b
    lb, jb = local.GetRasterBand(1), ds.GetRasterBand(1)
    assert lb.GetOverviewCount() >= 1
    for i in range(lb.GetOverviewCount()):
        assert np.array_equal(jb.GetOverview(i).ReadAsArray(), lb.GetOverview(i).ReadAsArray())
    assert checksums(server.url(ycbcr420), "JPIP") == checksums(image_dir / ycbcr420,
                                                                 "JP2OpenJPEG")
    # Asynchronously, an odd window.
    ds = open_jpip(g, server.url(ycbcr420))
    got = async_bands(g, ds, [2, 3], 41, 17, 101, 63)
    assert np.array_equal(got, local.ReadAsArray(41, 17, 101, 63)[1:])


@pytest.mark.parametrize("args", [[], ["--region", "37,21,150,111"], ["--bands", "3,1"],
                                  ["--level", "1"]])
@pytest.mark.parametrize("ext", ["tif", "png"])
def test_get_420_equals_gdal_translate_of_the_local_file(server, image_dir, ycbcr420, tmp_path,
                                                         args, ext):
    """`pipit get` of a 4:2:0 file to TIFF or PNG writes what `gdal_translate` writes from the
    local file through JP2OpenJPEG: RGB bands at full size (it refused sub-sampled files)."""
    g = gdal()
    out = tmp_path / f"get.{ext}"
    p = subprocess.run([str(PIPIT_BIN), "get", server.url(ycbcr420), "-o", str(out), "-q", *args],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    ref = tmp_path / f"ref.{ext}"
    targs = []
    if "--region" in args:
        targs = ["-srcwin", *args[args.index("--region") + 1].split(",")]
    if "--bands" in args:
        for b in args[args.index("--bands") + 1].split(","):
            targs += ["-b", b]
    if "--level" in args:
        targs = ["-ovr", "0"]
    q = subprocess.run(["gdal_translate", "-q", "-of", "GTiff" if ext == "tif" else "PNG",
                        "-if", "JP2OpenJPEG", *targs, str(image_dir / ycbcr420), str(ref)],
                       capture_output=True, text=True, timeout=120)
    assert q.returncode == 0, q.stderr
    got, want = g.Open(str(out)), g.Open(str(ref))
    assert np.array_equal(got.ReadAsArray(), want.ReadAsArray())
    assert [got.GetRasterBand(i + 1).GetColorInterpretation() for i in range(got.RasterCount)] \
        == [want.GetRasterBand(i + 1).GetColorInterpretation() for i in range(want.RasterCount)]


@pytest.fixture(scope="module")
def stingy_server(image_dir, pipit_bin):
    """The stand-in server answering like servers that send a window's precincts without the
    reach of the wavelet filters (and still say the window is done)."""
    from conftest import Server
    s = Server(image_dir, kind="standin", extra=("--stingy",)).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def big_lossy(image_dir):
    """1500 x 1200, one tile, 9/7, 128x128 precincts: a 1024x1024 window's edges need precincts
    beyond the window at every resolution."""
    g = gdal()
    name = "big_lossy_precincts.jp2"
    make_jp2(g, image_dir / name, planes(1500, 1200, 1, 77), g.GDT_Byte,
             ["QUALITY=20", "RESOLUTIONS=5", "PRECINCTS={128,128}", "PROGRESSION=RPCL"])
    return name


def test_stingy_server_window_is_exact(stingy_server, image_dir, big_lossy, tmp_path):
    """After the server says the window is done, the client asks for what the window still
    needs until its decode is exact."""
    g = gdal()
    local = open_local(g, image_dir / big_lossy)
    ds = open_jpip(g, stingy_server.url(big_lossy))
    win = (200, 100, 1024, 1024)
    assert np.array_equal(ds.ReadAsArray(*win), local.ReadAsArray(*win))
    # An overview window, and an asynchronous read, alike.
    ov, lov = ds.GetRasterBand(1).GetOverview(1), local.GetRasterBand(1).GetOverview(1)
    assert np.array_equal(ov.ReadAsArray(33, 41, 200, 150), lov.ReadAsArray(33, 41, 200, 150))
    ds = open_jpip(g, stingy_server.url(big_lossy))
    got = async_bands(g, ds, [1], 700, 300, 512, 512)
    assert np.array_equal(got[0], local.ReadAsArray(700, 300, 512, 512))
    # pipit get, with small responses.
    out = tmp_path / "w.tif"
    p = subprocess.run([str(PIPIT_BIN), "get", stingy_server.url(big_lossy), "-o", str(out),
                        "--region", "200,100,1024,1024", "--max-len", "20000"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert np.array_equal(g.Open(str(out)).ReadAsArray(), local.ReadAsArray(*win))


def test_get_and_driver_give_bands_one_type_and_colour(server, image_dir, rgba, tmp_path):
    """`pipit get` and the driver read colour and data type from one model of the image: the
    same bands get the same type and colour interpretation (a raw codestream: Undefined)."""
    g = gdal()
    raw = "raw_rgb_get.j2k"
    make_jp2(g, image_dir / raw, planes(120, 90, 3, 9), g.GDT_Byte,
             ["CODEC=J2K", "REVERSIBLE=YES", "QUALITY=100"])
    for name, bands in ((rgba, "1,2,3,4"), (rgba, "4,1"), (raw, "1,2,3"),
                        ("int16_lossy.jp2", "1"), ("gray12_lossless.jp2", "1")):
        out = tmp_path / f"{name}_{bands.replace(',', '')}.tif"
        p = subprocess.run([str(PIPIT_BIN), "get", server.url(name), "-o", str(out), "--bands",
                            bands], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        got = g.Open(str(out))
        ds = open_jpip(g, server.url(name))
        for i, b in enumerate(int(v) for v in bands.split(",")):
            gb, db = got.GetRasterBand(i + 1), ds.GetRasterBand(b)
            assert gb.DataType == db.DataType, (name, b)
            assert gb.GetColorInterpretation() == db.GetColorInterpretation(), (name, b)
            assert np.array_equal(gb.ReadAsArray(), db.ReadAsArray()), (name, b)
