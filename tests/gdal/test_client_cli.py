"""The client library through `pipit get`: a window fetched over a session (or stateless
requests), rebuilt and decoded, equals OpenJPEG's decode of the original's tiles that the window
meets, cut to the window (the client decodes whole tiles, as GDAL's JP2OpenJPEG does: OpenJPEG's
decode of a window inside a 9/7 tile can differ by 1 at the window's edges)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import pixels  # noqa: E402

from conftest import IMAGES, PIPIT_BIN  # noqa: E402

WINDOWS = [  # (level, region or None = whole frame, layers)
    (0, None, 0),
    (1, (10, 7, 50, 41), 0),
    (0, (100, 37, 77, 91), 1),
    (2, None, 0),
]


def pipit_get(url, out, level=0, region=None, layers=0, extra=()):
    args = [str(PIPIT_BIN), "get", url, "-o", str(out), "--level", str(level),
            "--layers", str(layers), "--stats", *extra]
    if region:
        args += ["--region", ",".join(map(str, region))]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return p


def tile_aligned(siz, area):
    """The opj_decompress -d area of the whole tiles that `area` meets."""
    def down(a, o, t):
        return o + (a - o) // t * t

    def up(a, o, t):
        return o + pixels.ceil_div(a - o, t) * t
    X0, Y0, X1, Y1 = area
    return (max(siz.XOsiz, down(X0, siz.XTOsiz, siz.XTsiz)), max(siz.YOsiz, down(Y0, siz.YTOsiz, siz.YTsiz)),
            min(siz.Xsiz, up(X1, siz.XTOsiz, siz.XTsiz)), min(siz.Ysiz, up(Y1, siz.YTOsiz, siz.YTsiz)))


def cut(siz, d, area, outer, arrays):
    """`area` out of decodes of `outer` (both opj_decompress -d areas) at -r d."""
    out = []
    for a, comp in zip(arrays, siz.comps):
        dx, dy = comp.dx << d, comp.dy << d
        x0 = pixels.ceil_div(area[0], dx) - pixels.ceil_div(outer[0], dx)
        x1 = pixels.ceil_div(area[2], dx) - pixels.ceil_div(outer[0], dx)
        y0 = pixels.ceil_div(area[1], dy) - pixels.ceil_div(outer[1], dy)
        y1 = pixels.ceil_div(area[3], dy) - pixels.ceil_div(outer[1], dy)
        out.append(a[y0:y1, x0:x1])
    return out


def original_codestream(path: Path, tmp: Path) -> Path:
    data = path.read_bytes()
    if pixels.is_jp2(data):
        cs, _ = pixels.codestream_bytes(data)
        out = tmp / (path.stem + ".j2k")
        out.write_bytes(cs)
        return out
    return path


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("mode", ["session", "stateless"])
def test_get_window_equals_openjpeg(server, image_dir, tmp_path, name, mode):
    src = original_codestream(image_dir / name, tmp_path)
    siz = pixels.read_siz(src)
    levels = pixels.parse_codestream(src.read_bytes()).cod.levels
    for level, region, layers in WINDOWS:
        if level > levels:
            continue
        fw, fh = siz.frame(level)
        x, y, w, h = region or (0, 0, fw, fh)
        for f in tmp_path.glob("w_*.pgx"):
            f.unlink()
        p = pipit_get(server.url(name), tmp_path / "w", level, region, layers,
                      ["--max-len", "4000"] + (["--stateless"] if mode == "stateless" else []))
        assert p.returncode == 0, p.stderr
        stats = json.loads(p.stdout)
        assert stats["stateless"] == (mode == "stateless")
        got = [pixels.read_pgx(f) for f in sorted(tmp_path.glob("w_*.pgx"))]
        area = pixels.window_area(siz, level, x, y, x + w, y + h)
        tiles = tile_aligned(siz, area)
        want = cut(siz, level, area, tiles, pixels.decode(src, reduce=level, layers=layers or None, area=tiles))
        errs = pixels.compare(got, want, f"{name} level {level} {region} layers {layers}")
        assert not errs, errs[:3]


def test_get_reports_missing_target(server, tmp_path):
    p = pipit_get(server.url("no_such_image.jp2"), tmp_path / "x")
    assert p.returncode == 1
    assert "target not found" in p.stderr


def test_get_reports_unreachable_server(tmp_path):
    from conftest import free_port
    p = pipit_get(f"jpip://127.0.0.1:{free_port()}/a.jp2", tmp_path / "x")
    assert p.returncode == 1
    assert "cannot connect" in p.stderr


def test_get_small_len_takes_many_requests(server, image_dir, tmp_path):
    p = pipit_get(server.url("rgb8_lossless.jp2"), tmp_path / "w", extra=["--max-len", "2000"])
    assert p.returncode == 0, p.stderr
    stats = json.loads(p.stdout)
    assert stats["requests"] > 10 and stats["sessions"] == 1


def test_get_one_component_of_an_mct_image(server, image_dir, tmp_path):
    """Components joined by the MCT are fetched and decoded together."""
    name = "rgb8_lossless.jp2"
    src = original_codestream(image_dir / name, tmp_path)
    p = pipit_get(server.url(name), tmp_path / "c", level=1, extra=["--comps", "1"])
    assert p.returncode == 0, p.stderr
    got = [pixels.read_pgx(f) for f in sorted(tmp_path.glob("c_*.pgx"))]
    want = pixels.decode(src, reduce=1)
    assert len(got) == 1 and not pixels.compare(got, [want[1]], name)
