#!/usr/bin/env python3
"""Draws docs/img/progressive.png: one view refining as JPIP data arrives.

Serves a JP2 with `pipit serve` on 127.0.0.1, reads it through the GDAL JPIP driver with an
asynchronous reader and small responses (INITIAL_LEN/MAX_LEN), keeps the buffer after several
GARIO_UPDATE steps, and puts the frames side by side with the bytes received under each.

usage: /usr/bin/python3 docs/make_progressive_picture.py BUILD_DIR IMAGE.jp2 OUT.png
(BUILD_DIR holds src/tools/pipit/pipit and src/gdal/gdal_JPIP.so; IMAGE e.g. the quick start's
sample, build-quickstart/quickstart/sample.jp2.)"""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(build, image, out):
    build, image = Path(build).resolve(), Path(image).resolve()
    os.environ["GDAL_DRIVER_PATH"] = str(build / "src" / "gdal")
    from osgeo import gdal
    import numpy as np
    gdal.UseExceptions()
    port = free_port()
    server = subprocess.Popen([str(build / "src/tools/pipit/pipit"), "serve", "--root",
                               str(image.parent), "--listen", f"127.0.0.1:{port}"],
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        ds = gdal.OpenEx(f"jpip://127.0.0.1:{port}/{image.name}",
                         open_options=["INITIAL_LEN=800", "MAX_LEN=800"])
        w, h = ds.RasterXSize, ds.RasterYSize
        bw, bh = 320, max(1, 320 * h // w)
        bands = min(ds.RasterCount, 3)
        reader = ds.BeginAsyncReader(0, 0, w, h, buf_xsize=bw, buf_ysize=bh,
                                     band_list=list(range(1, bands + 1)))
        frames = []
        deadline = time.time() + 120
        while time.time() < deadline:
            st, *_ = reader.GetNextUpdatedRegion(0.5)
            if st == gdal.GARIO_ERROR:
                raise SystemExit(gdal.GetLastErrorMsg())
            if st in (gdal.GARIO_UPDATE, gdal.GARIO_COMPLETE):
                buf = np.frombuffer(bytes(reader.GetBuffer()), dtype=np.uint8).reshape(bands, bh, bw)
                got = ds.GetMetadataItem("JPIP_STAT_BYTES_RECEIVED", "JPIP") or "?"
                frames.append((buf.copy(), got))
            if st == gdal.GARIO_COMPLETE:
                break
        ds.EndAsyncReader(reader)
    finally:
        server.terminate()
        server.wait(timeout=10)
    # Six frames spread over the refinement, the last one complete.
    pick = [frames[round(i * (len(frames) - 1) / 5)] for i in range(6)] if len(frames) > 6 else frames
    gap = 8
    canvas = np.full((bands, bh, len(pick) * (bw + gap) - gap), 255, np.uint8)
    for i, (buf, _) in enumerate(pick):
        canvas[:, :, i * (bw + gap): i * (bw + gap) + bw] = buf
    drv = gdal.GetDriverByName("MEM")
    mem = drv.Create("", canvas.shape[2], bh, bands, gdal.GDT_Byte)
    for b in range(bands):
        mem.GetRasterBand(b + 1).WriteArray(canvas[b])
    gdal.GetDriverByName("PNG").CreateCopy(str(out), mem)
    print(f"{out}: {len(pick)} of {len(frames)} updates; bytes received under each: "
          + ", ".join(str(g) for _, g in pick))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
