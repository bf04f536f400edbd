#!/usr/bin/python3
"""Writes JPX test files: several codestreams embedded in one file, and a linked JPX whose
codestreams are frame files beside it, as movies of solar images are built (15444-2 Annex M).

    /usr/bin/python3 tests/corpus/make_jpx.py ROOT

No common tool writes JPX, so the boxes are written here around codestreams made by GDAL's
JP2OpenJPEG driver (OpenJPEG). Every frame has its own picture (a frame number drawn in a
different place, different gradients and noise), so a frame served for another fails a
comparison. ROOT gets:

  frames/f0.j2k         raw codestream, lossless, one tile
  frames/f1.jp2         JP2 file, lossy (3 layers), 64x64 tiles
  frames/frame 2.j2k    raw codestream, lossy, RPCL, 32x32 precincts (a space in its name)
  embedded.jpx          jp2h of f1.jp2, then the three codestreams in jp2c boxes
  movies/up.jpx         movie.jpx one folder down, its relative URLs starting with "../"
  movie.jpx             jp2h, a dtbl of three url boxes (a relative path, an absolute file: URL
                        inside ROOT, a percent-encoded relative path), then three ftbl boxes whose
                        flst names each frame's codestream bytes (for the JP2 frame, the content
                        of its jp2c box), frame order 0, 1, 2
  refused/*.jpx         linked JPX files whose url must not be followed, one each: an absolute
                        path elsewhere, "../" out of ROOT (to a real J2K file there), a file: URL
                        to /etc, a remote http URL, and a symbolic link in ROOT leading out
and, beside ROOT, outside.j2k (the file the "../" and symlink references reach).

FRAMES gives each frame's file, for tests to compare a codestream with its frame read by
JP2OpenJPEG. Importable: make(root) does the same and returns the paths.
"""
from __future__ import annotations

import os
import struct
import sys
import urllib.parse
from pathlib import Path

import numpy as np

WIDTH, HEIGHT = 200, 150
FRAMES = ["frames/f0.j2k", "frames/f1.jp2", "frames/frame 2.j2k"]
OPTIONS = [
    ["REVERSIBLE=YES", "QUALITY=100", "RESOLUTIONS=3"],
    ["QUALITY=15,40,80", "BLOCKXSIZE=64", "BLOCKYSIZE=64", "RESOLUTIONS=4"],
    ["QUALITY=30", "PROGRESSION=RPCL", "PRECINCTS={32,32}", "RESOLUTIONS=4"],
]
REFUSED = {
    "absolute.jpx": "/etc/hosts",
    "parent.jpx": "../../outside.j2k",
    "file_etc.jpx": "file:///etc/passwd",
    "remote.jpx": "http://127.0.0.1:9/frame.j2k",
    "symlink.jpx": "link.j2k",
}


def box(kind: bytes, content: bytes) -> bytes:
    return struct.pack(">I", len(content) + 8) + kind + content


def read_boxes(data: bytes, start: int = 0, end: int | None = None):
    """(type, offset, header length, length) of the boxes of data[start:end]."""
    end = len(data) if end is None else end
    pos = start
    while pos < end:
        lbox, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if lbox == 1:
            (lbox,) = struct.unpack_from(">Q", data, pos + 8)
            head = 16
        elif lbox == 0:
            lbox = end - pos
        yield kind, pos, head, lbox
        pos += lbox


def frame_picture(k: int) -> np.ndarray:
    rng = np.random.default_rng(100 + k)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.int64)
    v = (x * (2 + k) + y * (3 + 2 * k)) % 160 + ((x >> 3) ^ (y >> 2) ^ (k * 5)) % 23 * 3
    v = v + rng.integers(0, 12, size=v.shape)
    # The frame number as a bright block of k + 1 bars, placed per frame.
    x0, y0 = 20 + 50 * k, 30 + 30 * k
    for b in range(k + 1):
        v[y0:y0 + 40, x0 + 8 * b:x0 + 8 * b + 5] = 250
    return np.clip(v, 0, 255).astype(np.uint8)


def write_frame(path: Path, k: int) -> None:
    from osgeo import gdal
    gdal.UseExceptions()
    gdal.SetConfigOption("GDAL_PAM_ENABLED", "NO")  # no .aux.xml beside the frames
    tif = path.with_name(path.name + ".tif")
    ds = gdal.GetDriverByName("GTiff").Create(str(tif), WIDTH, HEIGHT, 1, gdal.GDT_Byte)
    ds.GetRasterBand(1).WriteArray(frame_picture(k))
    ds = None
    codec = "J2K" if path.suffix == ".j2k" else "JP2"
    gdal.Translate(str(path), str(tif), format="JP2OpenJPEG",
                   creationOptions=OPTIONS[k] + [f"CODEC={codec}", "GMLJP2=NO", "GeoJP2=NO"])
    tif.unlink()


def codestream_of(data: bytes) -> tuple[int, int]:
    """Offset and length of the codestream of a J2K or JP2 file."""
    if data[:2] == b"\xff\x4f":
        return 0, len(data)
    for kind, off, head, length in read_boxes(data):
        if kind == b"jp2c":
            return off + head, length - head
    raise ValueError("no jp2c box")


def jpx_head(jp2: bytes) -> bytes:
    ftyp = box(b"ftyp", b"jpx " + struct.pack(">I", 0) + b"jpx jp2 jpxb")
    jp2h = next(data for kind, off, head, length in read_boxes(jp2) if kind == b"jp2h"
                for data in [jp2[off:off + length]])
    return box(b"jP  ", b"\x0d\x0a\x87\x0a") + ftyp + jp2h


def dtbl(locations: list[str]) -> bytes:
    urls = b"".join(box(b"url ", b"\0\0\0\0" + loc.encode() + b"\0") for loc in locations)
    return box(b"dtbl", struct.pack(">H", len(locations)) + urls)


def ftbl(offset: int, length: int, dr: int) -> bytes:
    return box(b"ftbl", box(b"flst", struct.pack(">HQIH", 1, offset, length, dr)))


def make(root: Path) -> dict:
    root = Path(root).resolve()
    (root / "frames").mkdir(parents=True, exist_ok=True)
    (root / "refused").mkdir(exist_ok=True)
    for k, name in enumerate(FRAMES):
        write_frame(root / name, k)
    data = [(root / name).read_bytes() for name in FRAMES]
    head = jpx_head(data[1])

    parts = [head]
    for d in data:
        off, length = codestream_of(d)
        parts.append(box(b"jp2c", d[off:off + length]))
    (root / "embedded.jpx").write_bytes(b"".join(parts))

    locations = [
        "frames/f0.j2k",
        "file://" + urllib.parse.quote(str(root / FRAMES[1])),
        urllib.parse.quote(FRAMES[2]),
    ]
    parts = [head, dtbl(locations)]
    for k, d in enumerate(data):
        off, length = codestream_of(d)
        parts.append(ftbl(off, length, k + 1))
    (root / "movie.jpx").write_bytes(b"".join(parts))
    (root / "movies").mkdir(exist_ok=True)
    up = [("../" + loc if not loc.startswith("file:") else loc) for loc in locations]
    parts = [head, dtbl(up)]
    for k, d in enumerate(data):
        off, length = codestream_of(d)
        parts.append(ftbl(off, length, k + 1))
    (root / "movies" / "up.jpx").write_bytes(b"".join(parts))

    outside = root.parent / "outside.j2k"
    outside.write_bytes(data[0])
    link = root / "refused" / "link.j2k"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(outside, link)
    off, length = codestream_of(data[0])
    for name, loc in REFUSED.items():
        (root / "refused" / name).write_bytes(head + dtbl([loc]) + ftbl(off, length, 1))
    return {"root": root, "frames": [root / f for f in FRAMES], "outside": outside}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_jpx.py ROOT")
    made = make(Path(sys.argv[1]))
    print(f"make_jpx: {made['root']}: embedded.jpx, movie.jpx, {len(FRAMES)} frames, "
          f"{len(REFUSED)} refused/*.jpx")
