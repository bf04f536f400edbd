"""The oracle side of Pipit's end-to-end tests: exact pixels from OpenJPEG, JPEG 2000 geometry
read straight from the markers, and a small JPP-stream splitter.

Nothing here uses Pipit's own code: every fact the tests compare Pipit against is computed here,
from the files, by OpenJPEG's `opj_decompress` or by the few lines of Python below.

Decoding (`decode`)
-------------------
`opj_decompress -i IN -o out.pgx` writes one PGX file per component (out_0.pgx, out_1.pgx, ...,
the suffix is appended even for a single component). PGX keeps each component at its own size
(no up-sampling of sub-sampled components), its own precision (1, 2 or 4 big-endian bytes per
sample) and its own sign (two's complement), so reading it back gives the decoder's integers
exactly. Two things `opj_decompress` 2.5.0 does after decoding would blur that, and are avoided:

* a 3-component image whose component 1 is sub-sampled is taken for sYCC and converted to RGB
  (which up-samples and clips). Such images are decoded in two runs, `-c 0,1` then `-c 2`: with
  fewer than three components no conversion happens.
* JP2 boxes (cdef, pclr, colr) re-order or convert components. Codestream (.j2k) rebuilds are
  therefore compared with the original's *codestream* (the body of its jp2c box, extracted into a
  .j2k file), never with the .jp2 itself; .jp2 rebuilds are compared with the .jp2.

Regions (`window_area`)
-----------------------
A JPIP view-window `fsiz=fx,fy&roff=ox,oy&rsiz=sx,sy` whose fsiz is exactly the frame size at
discard level d, fx = ceil(Xsiz/2^d) - ceil(XOsiz/2^d) (likewise fy), names the region
[ceil(XOsiz/2^d)+ox, ceil(XOsiz/2^d)+ox+sx) x (same for y) of the reference grid reduced by 2^d
(docs/jpip-notes.md §7.1-7.2). When fsiz is not a frame size the server picks the frame (fx',fy')
by the round rule and scales: ox' = floor(ox*fx'/fx), ex' = min(fx', ceil((ox+sx)*fx'/fx)).

`opj_decompress -r d -d X0,Y0,X1,Y1` takes its area in *full-resolution* reference-grid
coordinates, whatever -r is (checked on 2.5.0: `-r 1 -d 17,9,60,60` on an image at origin (17,9)
gives 21x25 samples = ceil(60/2)-ceil(17/2) by ceil(60/2)-ceil(9/2)). Component c (sub-sampling
dx,dy) then holds samples [ceil(X0/(dx*2^d)), ceil(X1/(dx*2^d))). So the window maps to
    X0 = 2^d * (ceil(XOsiz/2^d) + ox'),   X1 = min(Xsiz, 2^d * (ceil(XOsiz/2^d) + ex'))
(likewise Y): ceil(X0/2^d) and ceil(X1/2^d) give back exactly the reduced region's ends, and
X0 >= XOsiz always. The same region cut out of a whole-image decode at -r d is, for component c,
columns [ceil(X0/(dx*2^d)) - ceil(XOsiz/(dx*2^d)), ceil(X1/(dx*2^d)) - ceil(XOsiz/(dx*2^d))).

Compare like with like: OpenJPEG's -d decode is not always the crop of its whole-image decode
(9/7 16-bit g16u_lossy.j2k: up to 2 apart at some window edges), so a -d decode of a rebuild is
compared with a -d decode of the original, and a crop with a crop.

OpenJPEG 2.5.0 returns a flat grey image for a decode area smaller than a tile of an HTJ2K
codestream, so for HT codestreams a region is always taken by cropping a whole-image decode.
"""
from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

OPJ_DECOMPRESS = os.environ.get("OPJ_DECOMPRESS", "opj_decompress")
PROGRESSIONS = ["LRCP", "RLCP", "RPCL", "PCRL", "CPRL"]


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --------------------------------------------------------------------------------------------
# PGX and opj_decompress
# --------------------------------------------------------------------------------------------

def read_pgx(path) -> np.ndarray:
    """One PGX component: header 'PG ML|LM +|- prec w h\\n', then w*h samples."""
    data = Path(path).read_bytes()
    nl = data.index(b"\n")
    head = data[:nl].split()
    if len(head) != 6 or head[0] != b"PG":
        raise ValueError(f"{path}: not a PGX header: {data[:nl]!r}")
    endian = ">" if head[1] == b"ML" else "<"
    signed = head[2] == b"-"
    prec, w, h = int(head[3]), int(head[4]), int(head[5])
    nbytes = 1 if prec <= 8 else 2 if prec <= 16 else 4
    dtype = np.dtype(f"{endian}{'i' if signed else 'u'}{nbytes}")
    body = data[nl + 1:]
    if len(body) != w * h * nbytes:
        raise ValueError(f"{path}: {len(body)} sample bytes for {w}x{h}x{nbytes}")
    return np.frombuffer(body, dtype=dtype).reshape(h, w).astype(np.int64)


class DecodeError(RuntimeError):
    pass


def run_opj(path, out_pgx, reduce=0, layers=None, area=None, comps=None, timeout=120):
    cmd = [OPJ_DECOMPRESS, "-i", str(path), "-o", str(out_pgx)]
    if reduce:
        cmd += ["-r", str(reduce)]
    if layers:
        cmd += ["-l", str(layers)]
    if area is not None:
        cmd += ["-d", ",".join(str(v) for v in area)]
    if comps is not None:
        cmd += ["-c", ",".join(str(c) for c in comps)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    errors = [ln for ln in (p.stdout + p.stderr).splitlines() if "[ERROR]" in ln]
    if p.returncode != 0 or errors:
        raise DecodeError(f"{' '.join(cmd)} -> exit {p.returncode}: "
                          + " | ".join(errors or (p.stdout + p.stderr).strip().splitlines()[-3:]))
    return cmd


def decode(path, reduce=0, layers=None, area=None, comps=None) -> list[np.ndarray]:
    """Decodes with opj_decompress and returns one integer array per component (in the order of
    `comps`, or all components). Raises DecodeError when opj_decompress fails or logs an error."""
    path = Path(path)
    siz = read_siz(path)
    wanted = list(range(len(siz.comps))) if comps is None else list(comps)
    groups = [wanted]
    if (len(wanted) == 3 and siz.comps[wanted[1]].dx != 1
            and siz.comps[wanted[0]].dx == siz.comps[wanted[0]].dy):
        groups = [wanted[:2], wanted[2:]]           # avoid opj_decompress's sYCC->RGB
    out: list[np.ndarray] = []
    with tempfile.TemporaryDirectory(prefix="pipit-dec-") as tmp:
        for gi, group in enumerate(groups):
            stem = Path(tmp) / f"g{gi}"
            run_opj(path, f"{stem}.pgx", reduce, layers, area,
                    None if group == list(range(len(siz.comps))) else group)
            files = sorted(Path(tmp).glob(f"g{gi}_*.pgx"), key=lambda f: int(f.stem.split("_")[1]))
            if len(files) != len(group):
                raise DecodeError(f"{path}: opj_decompress wrote {len(files)} components, "
                                  f"expected {len(group)}")
            out += [read_pgx(f) for f in files]
    return out


def compare(got: list[np.ndarray], want: list[np.ndarray], what: str = "") -> list[str]:
    """Differences between two decodes, one line each ([] when identical)."""
    if len(got) != len(want):
        return [f"{what}: {len(got)} components, expected {len(want)}"]
    problems = []
    for c, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape:
            problems.append(f"{what}: component {c}: shape {g.shape[::-1]} (w,h), "
                            f"expected {w.shape[::-1]}")
            continue
        diff = g != w
        if diff.any():
            ys, xs = np.nonzero(diff)
            problems.append(
                f"{what}: component {c}: {int(diff.sum())} of {diff.size} samples differ, "
                f"in x {xs.min()}..{xs.max()} y {ys.min()}..{ys.max()} of {w.shape[1]}x{w.shape[0]}"
                f", first at ({xs[0]},{ys[0]}): {g[ys[0], xs[0]]} vs {w[ys[0], xs[0]]}, "
                f"max |diff| {int(np.abs(g - w).max())}")
    return problems


# --------------------------------------------------------------------------------------------
# Boxes and markers
# --------------------------------------------------------------------------------------------

def boxes(data: bytes, off: int = 0, end: int | None = None):
    """(type, header offset, body offset, end) of each box in data[off:end]."""
    end = len(data) if end is None else end
    while off + 8 <= end:
        length, kind = struct.unpack(">I4s", data[off:off + 8])
        head = 8
        if length == 1:
            length, head = struct.unpack(">Q", data[off + 8:off + 16])[0], 16
        elif length == 0:
            length = end - off
        if length < head or off + length > end:
            raise ValueError(f"bad box {kind!r} at {off}")
        yield kind, off, off + head, off + length
        off += length


def is_jp2(data: bytes) -> bool:
    return data[4:8] == b"jP  "


def codestream_bytes(data: bytes) -> tuple[bytes, int]:
    """The codestream of a JP2 (body of its first jp2c box) or a raw codestream, and its offset."""
    if is_jp2(data):
        for kind, _, body, end in boxes(data):
            if kind == b"jp2c":
                return data[body:end], body
        raise ValueError("no jp2c box")
    return data, 0


GEOJP2_UUID = bytes.fromhex("b14bf8bd083d4b43a5ae8cd7d5a6ce03")


def jp2_geo_boxes(data: bytes) -> dict:
    """{'geojp2': a top-level uuid box with the GeoJP2 UUID, 'gmljp2': an asoc box labelled
    gml.data} of a JP2 file."""
    out = {"geojp2": False, "gmljp2": False}
    for kind, _, body, end in boxes(data):
        if kind == b"uuid" and data[body:body + 16] == GEOJP2_UUID:
            out["geojp2"] = True
        elif kind == b"asoc" and b"gml.data" in data[body:end]:
            out["gmljp2"] = True
    return out


def extract_codestream(path, out_path) -> Path:
    """Writes the codestream of `path` to out_path (a .j2k) and returns out_path."""
    cs, _ = codestream_bytes(Path(path).read_bytes())
    Path(out_path).write_bytes(cs)
    return Path(out_path)


@dataclasses.dataclass
class Comp:
    prec: int
    signed: bool
    dx: int
    dy: int


@dataclasses.dataclass
class Siz:
    Xsiz: int
    Ysiz: int
    XOsiz: int
    YOsiz: int
    XTsiz: int
    YTsiz: int
    XTOsiz: int
    YTOsiz: int
    comps: list[Comp]
    siz_offset: int = 0           # file offset of the SIZ marker (FF 51)

    @property
    def width(self):
        return self.Xsiz - self.XOsiz

    @property
    def height(self):
        return self.Ysiz - self.YOsiz

    @property
    def tiles_x(self):
        return ceil_div(self.Xsiz - self.XTOsiz, self.XTsiz)

    @property
    def tiles_y(self):
        return ceil_div(self.Ysiz - self.YTOsiz, self.YTsiz)

    def frame(self, d: int) -> tuple[int, int]:
        """Frame size at discard level d (docs/jpip-notes.md §7.1)."""
        return (ceil_div(self.Xsiz, 1 << d) - ceil_div(self.XOsiz, 1 << d),
                ceil_div(self.Ysiz, 1 << d) - ceil_div(self.YOsiz, 1 << d))

    def tile_rect(self, t: int) -> tuple[int, int, int, int]:
        p, q = t % self.tiles_x, t // self.tiles_x
        return (max(self.XTOsiz + p * self.XTsiz, self.XOsiz),
                max(self.YTOsiz + q * self.YTsiz, self.YOsiz),
                min(self.XTOsiz + (p + 1) * self.XTsiz, self.Xsiz),
                min(self.YTOsiz + (q + 1) * self.YTsiz, self.Ysiz))


def _u16(b, p):
    return struct.unpack(">H", b[p:p + 2])[0]


def parse_siz(cs: bytes, base: int = 0) -> Siz:
    if _u16(cs, 0) != 0xFF4F or _u16(cs, 2) != 0xFF51:
        raise ValueError("codestream does not start with SOC, SIZ")
    (_, xs, ys, xo, yo, xt, yt, xto, yto, csiz) = struct.unpack(">H8IH", cs[6:42])
    comps = []
    for i in range(csiz):
        s, dx, dy = struct.unpack(">3B", cs[42 + 3 * i:45 + 3 * i])
        comps.append(Comp((s & 0x7F) + 1, bool(s & 0x80), dx, dy))
    return Siz(xs, ys, xo, yo, xt, yt, xto, yto, comps, base + 2)


def read_siz(path) -> Siz:
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if is_jp2(head):
        head = Path(path).read_bytes()
    cs, off = codestream_bytes(head)
    return parse_siz(cs, off)


@dataclasses.dataclass
class CodingStyle:
    levels: int
    layers: int
    progression: int
    mct: int
    precincts: list[tuple[int, int]]   # (PPx, PPy) per resolution 0..levels
    sop: bool = False
    eph: bool = False


@dataclasses.dataclass
class TilePart:
    tile: int
    sot: int           # codestream offset of SOT
    sod_end: int       # codestream offset just after SOD
    end: int           # codestream offset just after the tile-part


@dataclasses.dataclass
class Codestream:
    """What the tests need of a codestream: SIZ, coding styles, tile-parts, marker codes."""
    siz: Siz
    cod: CodingStyle                       # main header COD, for component 0 after main COCs
    comp_styles: dict                      # (tile, comp) -> CodingStyle, all overrides applied
    tile_parts: list[TilePart]
    markers: set[int]                      # marker codes seen in main and tile-part headers
    mct: int

    def packets(self) -> int:
        """Number of packets: sum over tiles, components, resolutions of precincts x layers."""
        n = 0
        for t in range(self.siz.tiles_x * self.siz.tiles_y):
            tx0, ty0, tx1, ty1 = self.siz.tile_rect(t)
            for c, comp in enumerate(self.siz.comps):
                st = self.comp_styles[(t, c)]
                cx0, cy0 = ceil_div(tx0, comp.dx), ceil_div(ty0, comp.dy)
                cx1, cy1 = ceil_div(tx1, comp.dx), ceil_div(ty1, comp.dy)
                for r in range(st.levels + 1):
                    s = 1 << (st.levels - r)
                    rx0, ry0, rx1, ry1 = (ceil_div(cx0, s), ceil_div(cy0, s),
                                          ceil_div(cx1, s), ceil_div(cy1, s))
                    ppx, ppy = st.precincts[r]
                    npx = ceil_div(rx1, 1 << ppx) - (rx0 >> ppx) if rx1 > rx0 else 0
                    npy = ceil_div(ry1, 1 << ppy) - (ry0 >> ppy) if ry1 > ry0 else 0
                    n += npx * npy * st.layers
        return n

    def packet_bytes(self) -> int:
        """Bytes of packet data: everything after SOD in every tile-part."""
        return sum(tp.end - tp.sod_end for tp in self.tile_parts)


def _parse_cod(seg: bytes) -> CodingStyle:
    scod, prog, layers, mct, levels = seg[0], seg[1], _u16(seg, 2), seg[4], seg[5]
    pp = [(15, 15)] * (levels + 1)
    if scod & 1:
        pp = [(b & 0xF, b >> 4) for b in seg[10:10 + levels + 1]]
    return CodingStyle(levels, layers, prog, mct, pp, bool(scod & 2), bool(scod & 4))


def _apply_coc(style: CodingStyle, seg: bytes, ncomp: int) -> tuple[int, CodingStyle]:
    k = 1 if ncomp < 257 else 2
    comp = seg[0] if k == 1 else _u16(seg, 0)
    scoc, levels = seg[k], seg[k + 1]
    pp = [(15, 15)] * (levels + 1)
    if scoc & 1:
        pp = [(b & 0xF, b >> 4) for b in seg[k + 6:k + 6 + levels + 1]]
    return comp, dataclasses.replace(style, levels=levels, precincts=pp)


def parse_codestream(data: bytes) -> Codestream:
    cs, _ = codestream_bytes(data)
    siz = parse_siz(cs)
    ncomp = len(siz.comps)
    markers: set[int] = set()
    pos = 2
    main_cod = None
    main_coc: dict[int, bytes] = {}
    while True:
        m = _u16(cs, pos)
        if m == 0xFF90:
            break
        ln = _u16(cs, pos + 2)
        seg = cs[pos + 4:pos + 2 + ln]
        markers.add(m)
        if m == 0xFF52:
            main_cod = seg
        elif m == 0xFF53:
            c = seg[0] if ncomp < 257 else _u16(seg, 0)
            main_coc[c] = seg
        pos += 2 + ln
    if main_cod is None:
        raise ValueError("no COD in the main header")
    cod = _parse_cod(main_cod)
    ntiles = siz.tiles_x * siz.tiles_y
    tile_cod: dict[int, bytes] = {}
    tile_coc: dict[tuple[int, int], bytes] = {}
    tile_parts = []
    while pos + 2 <= len(cs) and _u16(cs, pos) == 0xFF90:
        sot = pos
        isot, psot = struct.unpack(">HI", cs[pos + 4:pos + 10])
        p = pos + 12
        while _u16(cs, p) != 0xFF93:
            m, ln = _u16(cs, p), _u16(cs, p + 2)
            seg = cs[p + 4:p + 2 + ln]
            markers.add(m)
            if m == 0xFF52:
                tile_cod[isot] = seg
            elif m == 0xFF53:
                c = seg[0] if ncomp < 257 else _u16(seg, 0)
                tile_coc[(isot, c)] = seg
            p += 2 + ln
        end = len(cs) - 2 if psot == 0 else sot + psot
        tile_parts.append(TilePart(isot, sot, p + 2, end))
        pos = end
    styles = {}
    for t in range(ntiles):
        tcod = _parse_cod(tile_cod[t]) if t in tile_cod else None
        for c in range(ncomp):
            # precedence: tile-part COC > tile-part COD > main COC > main COD
            if (t, c) in tile_coc:
                base = tcod or (_apply_coc(cod, main_coc[c], ncomp)[1] if c in main_coc else cod)
                st = _apply_coc(base, tile_coc[(t, c)], ncomp)[1]
            elif tcod is not None:
                st = tcod
            elif c in main_coc:
                st = _apply_coc(cod, main_coc[c], ncomp)[1]
            else:
                st = cod
            styles[(t, c)] = st
    c0 = styles[(0, 0)]
    return Codestream(siz, c0, styles, tile_parts, markers, cod.mct)


# --------------------------------------------------------------------------------------------
# View-windows
# --------------------------------------------------------------------------------------------

def map_window(siz: Siz, d: int, fsiz, roff, rsiz):
    """(ox', oy', ex', ey') on the frame at discard level d for a request.

    docs/jpip-notes.md §7.2."""
    fx, fy = fsiz
    fxd, fyd = siz.frame(d)
    ox = (roff[0] * fxd) // fx
    oy = (roff[1] * fyd) // fy
    ex = min(fxd, ceil_div((roff[0] + rsiz[0]) * fxd, fx))
    ey = min(fyd, ceil_div((roff[1] + rsiz[1]) * fyd, fy))
    return ox, oy, ex, ey


def window_area(siz: Siz, d: int, ox: int, oy: int, ex: int, ey: int):
    """The opj_decompress -d area (full-resolution reference grid) of frame region
    [ox,ex) x [oy,ey) at discard level d. See the module docstring."""
    s = 1 << d
    cx, cy = ceil_div(siz.XOsiz, s), ceil_div(siz.YOsiz, s)
    return (s * (cx + ox), s * (cy + oy), min(siz.Xsiz, s * (cx + ex)), min(siz.Ysiz, s * (cy + ey)))


def area_sizes(siz: Siz, d: int, area) -> list[tuple[int, int]]:
    """(width, height) of each component's part of `area` at reduction d (may be 0: a window
    narrower than a sub-sampled component's sample spacing holds none of its samples)."""
    out = []
    for comp in siz.comps:
        dx, dy = comp.dx << d, comp.dy << d
        out.append((ceil_div(area[2], dx) - ceil_div(area[0], dx),
                    ceil_div(area[3], dy) - ceil_div(area[1], dy)))
    return out


def crop(siz: Siz, d: int, area, arrays: list[np.ndarray], comps=None) -> list[np.ndarray]:
    """Cuts `area` (as window_area gives it) out of whole-image decodes at -r d."""
    comps = range(len(siz.comps)) if comps is None else comps
    out = []
    for a, c in zip(arrays, comps):
        dx, dy = siz.comps[c].dx << d, siz.comps[c].dy << d
        x0 = ceil_div(area[0], dx) - ceil_div(siz.XOsiz, dx)
        x1 = ceil_div(area[2], dx) - ceil_div(siz.XOsiz, dx)
        y0 = ceil_div(area[1], dy) - ceil_div(siz.YOsiz, dy)
        y1 = ceil_div(area[3], dy) - ceil_div(siz.YOsiz, dy)
        out.append(a[y0:y1, x0:x1])
    return out


# --------------------------------------------------------------------------------------------
# JPP-streams (ISO/IEC 15444-9 A.2)
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Message:
    cls: int
    csn: int
    bin_id: int
    offset: int
    data: bytes
    last: bool
    aux: int | None = None


def _vbas(b: bytes, i: int) -> tuple[int, int]:
    v = 0
    for n in range(10):
        if i >= len(b):
            raise ValueError(f"VBAS runs past the end at byte {i}")
        c = b[i]
        i += 1
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            return v, i
    raise ValueError(f"VBAS longer than 10 bytes at byte {i}")


def parse_jpp(b: bytes) -> tuple[list[Message], tuple[int, bytes] | None]:
    """Messages and the EOR (reason, body) of one JPP-stream; raises ValueError if malformed."""
    i, cls, csn = 0, 0, 0
    msgs: list[Message] = []
    while i < len(b):
        start = i
        if b[i] == 0:
            if i + 2 > len(b):
                raise ValueError(f"truncated EOR at byte {start}")
            ln, j = _vbas(b, i + 2)
            if j + ln != len(b):
                raise ValueError(f"{len(b) - j - ln} bytes after the EOR at byte {start}")
            return msgs, (b[i + 1], b[j:j + ln])
        c = b[i]
        i += 1
        bb, last, bin_id = (c >> 5) & 3, bool(c & 0x10), c & 0x0F
        while c & 0x80:
            if i >= len(b):
                raise ValueError(f"truncated Bin-ID at byte {start}")
            c = b[i]
            i += 1
            bin_id = (bin_id << 7) | (c & 0x7F)
        if bb >= 2:
            cls, i = _vbas(b, i)
        if bb == 3:
            csn, i = _vbas(b, i)
        off, i = _vbas(b, i)
        ln, i = _vbas(b, i)
        aux = None
        if cls & 1:
            aux, i = _vbas(b, i)
        if i + ln > len(b):
            raise ValueError(f"message at byte {start}: body of {ln} bytes runs past the end")
        msgs.append(Message(cls, csn, bin_id, off, b[i:i + ln], last, aux))
        i += ln
    return msgs, None


def _enc_vbas(v: int) -> bytes:
    out = [v & 0x7F]
    v >>= 7
    while v:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(reversed(out))


def encode_jpp(msgs: list[Message], eor: tuple[int, bytes] | None = (2, b"")) -> bytes:
    """A JPP-stream of msgs, every header explicit (bb=3), then the EOR if given."""
    out = bytearray()
    for m in msgs:
        # Bin-ID: first byte carries 4 bits of the id, each continuation byte 7.
        groups = []
        v = m.bin_id
        while v >= 16:
            groups.append(v & 0x7F)
            v >>= 7
        first = 0x60 | (0x10 if m.last else 0) | v
        ids = [first] + list(reversed(groups))
        for k in range(len(ids) - 1):
            ids[k] |= 0x80
        out += bytes(ids)
        out += _enc_vbas(m.cls) + _enc_vbas(m.csn) + _enc_vbas(m.offset) + _enc_vbas(len(m.data))
        if m.cls & 1:
            out += _enc_vbas(m.aux or 0)
        out += m.data
    if eor is not None:
        out += bytes([0, eor[0]]) + _enc_vbas(len(eor[1])) + eor[1]
    return bytes(out)


def bins(msgs: list[Message]) -> dict[tuple[int, int, int], tuple[bytes, bool]]:
    """Contents of every data-bin ((class & ~1, csn, id) -> (bytes, complete)), for streams that
    leave no gaps (a gap would read as zero bytes)."""
    parts: dict = {}
    for m in msgs:
        key = (m.cls & ~1, m.csn, m.bin_id)
        buf, total = parts.get(key, (bytearray(), None))
        end = m.offset + len(m.data)
        if len(buf) < end:
            buf.extend(b"\0" * (end - len(buf)))
        buf[m.offset:end] = m.data
        if m.last:
            total = end
        parts[key] = (buf, total)
    return {k: (bytes(b), t is not None and len(b) >= t) for k, (b, t) in parts.items()}
