#!/usr/bin/python3
# tile_codestream.py SRC.j2k SIZE OUT.j2k
#
# Writes a SIZE x SIZE codestream whose tiles are all SRC's one tile: SRC's main header with the
# image size in SIZ changed, then one tile-part per tile, SRC's tile-part with its tile index (Isot)
# changed. SRC must be a raw codestream of a single tile-part covering the whole image (origin 0),
# whose side divides SIZE. With SRC's precincts and code-blocks no larger than its tile (and a
# tile side that is a multiple of 2^levels times them, as 1024 with 256x256 precincts and 5
# levels), every tile has the same packets, so the result is a valid codestream of a picture
# made of the same tile repeated: a large file for the benchmarks in seconds, where encoding a
# 65536 x 65536 picture would take hours and far more memory than the machine has.
import struct
import sys

src, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, "rb").read()
if data[:4] != b"\xff\x4f\xff\x51":
    sys.exit(f"{src}: not a raw codestream starting with SOC, SIZ")
# SIZ: FF51 Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz ...
siz = 4
xsiz, ysiz, xo, yo, xt, yt, xto, yto = struct.unpack(">8I", data[siz + 4:siz + 36])
if (xo, yo, xto, yto) != (0, 0, 0, 0) or xt < xsiz or yt < ysiz or xsiz != ysiz:
    sys.exit(f"{src}: needs one square tile at the origin (image {xsiz}x{ysiz}, tile {xt}x{yt})")
if size % xsiz:
    sys.exit(f"{src}: its side {xsiz} does not divide {size}")
sot = data.find(b"\xff\x90")
if sot < 0:
    sys.exit(f"{src}: no SOT")
isot, psot, tpsot, tnsot = struct.unpack(">HIBB", data[sot + 4:sot + 12])
if isot != 0 or tnsot not in (0, 1) or psot == 0 or data[sot + psot:sot + psot + 2] != b"\xff\xd9":
    sys.exit(f"{src}: needs exactly one tile-part, followed by EOC")
n = size // xsiz
if n * n > 65535:
    sys.exit(f"{size}: more than 65535 tiles of {xsiz}")
header = bytearray(data[:sot])
header[siz + 4:siz + 12] = struct.pack(">II", size, size)
header[siz + 20:siz + 28] = struct.pack(">II", xsiz, xsiz)
part = bytearray(data[sot:sot + psot])
with open(out, "wb") as f:
    f.write(header)
    for i in range(n * n):
        part[4:6] = struct.pack(">H", i)
        f.write(part)
    f.write(b"\xff\xd9")
