#!/usr/bin/python3
# make_ppm.py WIDTH HEIGHT BITS OUT.ppm: the benchmarks' synthetic RGB 8-bit picture.
#
# Smooth gradients (R along x, G along y, B diagonal) xor the `bits` low bits of SHAKE-128 noise
# seeded by the size, so the picture is deterministic and lossless coding keeps most of its bytes
# instead of compressing it to nothing. Every step runs at C speed (translate, slices, big-integer
# xor), so 130 MB take a few seconds without numpy.
import hashlib
import sys

W, H, bits, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
mask = bytes(v & ((1 << bits) - 1) for v in range(256))
plus = [bytes((v + k) & 255 for v in range(256)) for k in range(256)]
gx = bytes((x * 256 // W) & 255 for x in range(W))
shake = hashlib.shake_128(b"pipit-bench-%d-%d" % (W, H))
noise = shake.digest(W * H * 3)
rows_per_block = 64
with open(out, "wb") as f:
    f.write(b"P6\n%d %d\n255\n" % (W, H))
    row = bytearray(W * 3)
    for y0 in range(0, H, rows_per_block):
        block = bytearray()
        for y in range(y0, min(H, y0 + rows_per_block)):
            gy = y * 256 // H
            row[0::3] = gx
            row[1::3] = bytes((gy,)) * W
            row[2::3] = gx.translate(plus[gy])
            block += row
        n = len(block)
        start = y0 * W * 3
        nz = noise[start:start + n].translate(mask)
        f.write((int.from_bytes(block, "little") ^ int.from_bytes(nz, "little")).to_bytes(n, "little"))
