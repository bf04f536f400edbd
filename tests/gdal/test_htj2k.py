"""HTJ2K targets through `pipit get` and the JPIP driver: the client decodes their tiles with
OpenJPH where its samples equal OpenJPEG's (HT code-blocks, reversible 5/3, one layer), with
OpenJPEG otherwise, and the windows equal opj_decompress of the local file (OpenJPEG 2.5 decodes
HTJ2K) either way. The stats say which decoder ran (`tiles_decoded_openjph`,
JPIP_STAT_TILES_DECODED_OPENJPH).

The images are made here by ojph_compress (OpenJPH 0.9, bookworm's openjph-tools): opj_compress
2.5.0 and GDAL 3.6 write no HT code-blocks."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import pixels  # noqa: E402

from conftest import Server, gdal  # noqa: E402
from test_client_cli import cut, pipit_get, tile_aligned  # noqa: E402

# name -> (input, ojph_compress options, decoded by OpenJPH)
HT_IMAGES = {
    # RGB (colour transform), 96x80 tiles offset from the image, precincts, 4 levels.
    "ht_rev_rgb_tiled.j2c": ("rgb.ppm", ["-reversible", "true", "-tile_size", "{96,80}",
                                         "-tile_offset", "{5,7}", "-image_offset", "{11,13}",
                                         "-num_decomps", "4", "-precincts", "{32,32},{64,64}",
                                         "-prog_order", "RPCL"], True),
    # 16-bit gray, one tile, PCRL, reduced-resolution samples above the range (clipped).
    "ht_rev_g16.j2c": ("g16.pgm", ["-reversible", "true", "-prog_order", "PCRL",
                                   "-num_decomps", "3"], True),
    # Signed 12-bit (raw input): many samples decode beyond the range, and are clipped.
    "ht_rev_s12.j2c": ("s12.yuv", ["-dims", "{301,237}", "-num_comps", "1", "-signed", "true",
                                   "-bit_depth", "12", "-downsamp", "{1,1}", "-reversible", "true",
                                   "-num_decomps", "3"], True),
    # 9/7: OpenJPH's samples differ from OpenJPEG's by 1, so OpenJPEG decodes it.
    "ht_irr_rgb_tiled.j2c": ("rgb.ppm", ["-tile_size", "{128,128}", "-qstep", "0.01"], False),
}
W, H = 301, 237
WINDOWS = [  # (level, region or None = whole frame)
    (0, None),
    (0, (40, 33, 150, 120)),
    (1, (7, 5, 90, 70)),
    (2, None),
    (3, (1, 2, 20, 15)),
]


def write_inputs(d: Path) -> None:
    rng = np.random.default_rng(17)
    y, x = np.mgrid[0:H, 0:W].astype(np.int64)
    rgb = np.stack([(x * 3 + y * 2) % 256, (x * y // 7) % 256, ((x >> 3) ^ (y >> 2)) * 9 % 256], -1)
    rgb = np.clip(rgb + rng.integers(-20, 20, rgb.shape), 0, 255).astype(np.uint8)
    (d / "rgb.ppm").write_bytes(b"P6 %d %d 255\n" % (W, H) + rgb.tobytes())
    # Sharp edges at full scale: a reduced resolution overshoots 65535 and 0.
    g16 = np.where(((x // 9) + (y // 7)) % 2 == 0, 65535, 0) + rng.integers(0, 60, (H, W))
    g16 = np.clip(g16, 0, 65535).astype(">u2")
    (d / "g16.pgm").write_bytes(b"P5 %d %d 65535\n" % (W, H) + g16.tobytes())
    s12 = np.where(((x // 9) + (y // 7)) % 2 == 0, 2047, -2048) + rng.integers(-30, 30, (H, W))
    (d / "s12.yuv").write_bytes(np.clip(s12, -2048, 2047).astype("<i2").tobytes())


@pytest.fixture(scope="module")
def ht_server(tmp_path_factory, pipit_bin):
    d = tmp_path_factory.mktemp("htj2k")
    work = tmp_path_factory.mktemp("htj2k_inputs")
    write_inputs(work)
    for name, (src, opts, _) in HT_IMAGES.items():
        subprocess.run(["ojph_compress", "-i", str(work / src), "-o", str(d / name), *opts],
                       check=True, capture_output=True, timeout=120)
    s = Server(d).start()
    yield s, d
    s.stop()


@pytest.mark.parametrize("name", sorted(HT_IMAGES))
def test_htj2k_windows_equal_openjpeg_and_use_openjph(ht_server, tmp_path, name):
    server, d = ht_server
    src = d / name
    siz = pixels.read_siz(src)
    openjph = HT_IMAGES[name][2]
    for level, region in WINDOWS:
        fw, fh = siz.frame(level)
        x, y, w, h = region or (0, 0, fw, fh)
        for f in tmp_path.glob("w_*.pgx"):
            f.unlink()
        p = pipit_get(server.url(name), tmp_path / "w", level, region)
        assert p.returncode == 0, p.stderr
        stats = json.loads(p.stdout)
        assert stats["tiles_decoded"] > 0
        # Every tile component by OpenJPH, or none.
        assert stats["tiles_decoded_openjph"] == (stats["tiles_decoded"] if openjph else 0), stats
        got = [pixels.read_pgx(f) for f in sorted(tmp_path.glob("w_*.pgx"),
                                                    key=lambda f: int(f.stem.split("_")[1]))]
        area = pixels.window_area(siz, level, x, y, x + w, y + h)
        # OpenJPEG 2.5.0 decodes HT tiles right only whole: decode the tiles, cut the window.
        tiles = tile_aligned(siz, area)
        want = cut(siz, level, area, tiles, pixels.decode(src, reduce=level, area=tiles))
        errs = pixels.compare(got, want, f"{name} level {level} {region}")
        assert not errs, errs[:3]


def test_htj2k_driver_reads_with_openjph(ht_server):
    g = gdal()
    server, d = ht_server
    name = "ht_rev_rgb_tiled.j2c"
    ds = g.OpenEx(server.url(name), allowed_drivers=["JPIP"])
    got = ds.ReadAsArray()
    want = np.stack(pixels.decode(d / name))
    assert got.shape == want.shape and np.array_equal(got, want)
    decoded = int(ds.GetMetadataItem("JPIP_STAT_TILES_DECODED", "JPIP"))
    assert decoded > 0
    assert int(ds.GetMetadataItem("JPIP_STAT_TILES_DECODED_OPENJPH", "JPIP")) == decoded
