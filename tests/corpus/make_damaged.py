"""Damaged and implausible codestreams for Pipit's tests, made from the generated corpus.

    /usr/bin/python3 tests/corpus/make_damaged.py CORPUS_DIR

Writes CORPUS_DIR/damaged/*.j2k and CORPUS_DIR/damaged/MANIFEST.tsv, one line per file:
name, TAB, expectation, TAB, description. The expectation is one of
  warn:WORDS   Pipit indexes the file; WORDS is in one of its warnings (checked by the core tests
               and tests/integration/test_damaged.py, which also compares the pixels of
               `pipit stream` + `pipit rebuild` with opj_decompress -allow-partial)
  error:WORDS  Pipit refuses the file; WORDS is in the error message (checked by both)
Run by make_corpus.sh after the corpus is made (it reads the corpus files it damages). Every
damage is deterministic byte surgery on known files, so the same corpus gives the same files.

The kinds (docs/formats/damaged-codestreams.md says what Pipit does with each):
  - a truncated last tile-part (Psot promises more than the file holds, no EOC), cut at several
    points: just after its SOD, at 30 % and 70 % of its body (inside a packet), and at the end of
    a packet (found from its PLT);
  - a missing EOC, and trailing garbage after the last tile-part;
  - a wrong TNsot (it says fewer tile-parts than the tile has);
  - tiles without any tile-part (their tile-parts removed, Isot of the others unchanged): the
    first tile of a 2-component image whose second component is 2x2 sub-sampled, as Kakadu
    leaves out a tile with no samples of a component, and the last tile, as a cut between
    tile-parts leaves it;
  - header bombs: a few kilobytes whose SIZ/COD declare up to a billion packets (refused).
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

SOT, SOD, EOC = 0xFF90, 0xFF93, 0xFFD9


def u16(b: bytes, p: int) -> int:
    return struct.unpack_from(">H", b, p)[0]


def tile_parts(cs: bytes) -> tuple[int, list[dict]]:
    """The main header's end and every tile-part (offset, Isot, Psot, TPsot, TNsot, end)."""
    pos = 2
    while u16(cs, pos) != SOT:
        pos += 2 + u16(cs, pos + 2)
    main_end = pos
    parts = []
    while pos + 12 <= len(cs) and u16(cs, pos) == SOT:
        _, isot, psot, tpsot, tnsot = struct.unpack_from(">HHIBB", cs, pos + 2)
        end = pos + psot if psot else len(cs) - 2
        parts.append(dict(offset=pos, isot=isot, psot=psot, tpsot=tpsot, tnsot=tnsot, end=end))
        pos = end
    if cs[pos:] != b"\xff\xd9":
        raise ValueError(f"no EOC after the last tile-part (at {pos} of {len(cs)})")
    return main_end, parts


def sod_end(cs: bytes, part: dict) -> int:
    """The first byte of a tile-part's body (after its SOD)."""
    pos = part["offset"] + 12
    while u16(cs, pos) != SOD:
        pos += 2 + u16(cs, pos + 2)
    return pos + 2


def plt_lengths(cs: bytes, part: dict) -> list[int]:
    """The packet lengths the PLT segments of a tile-part list."""
    pos, lens, v = part["offset"] + 12, [], 0
    while u16(cs, pos) != SOD:
        n = u16(cs, pos + 2)
        if u16(cs, pos) == 0xFF58:
            for b in cs[pos + 5:pos + 2 + n]:
                v = (v << 7) | (b & 0x7F)
                if not b & 0x80:
                    lens.append(v)
                    v = 0
        pos += 2 + n
    if not lens:
        raise ValueError(f"no PLT in the tile-part at {part['offset']}")
    return lens


def set_tnsot(cs: bytearray, part: dict, tnsot: int) -> None:
    cs[part["offset"] + 11] = tnsot


def header_bomb(components: int, layers: int, levels: int, body: int, size: int = 16) -> bytes:
    """A complete, tiny codestream (one tile, EOC) whose headers declare
    components x (levels + 1) precincts x layers packets, with `body` zero bytes of data."""
    siz = struct.pack(">HIIIIIIIIH", 0, size, size, 0, 0, size, size, 0, 0, components)
    siz += bytes([7, 1, 1]) * components
    out = b"\xff\x4f" + b"\xff\x51" + struct.pack(">H", 2 + len(siz)) + siz
    cod = struct.pack(">BBHBBBBBB", 0, 0, layers, 0, levels, 4, 4, 0, 1)
    out += b"\xff\x52" + struct.pack(">H", 2 + len(cod)) + cod
    qcd = bytes([0x40]) + bytes([0x40]) * (3 * levels + 1)  # no quantization, 2 guard bits
    out += b"\xff\x5c" + struct.pack(">H", 2 + len(qcd)) + qcd
    out += b"\xff\x90" + struct.pack(">HHIBB", 10, 0, 14 + body, 0, 1) + b"\xff\x93"
    out += bytes(body) + b"\xff\xd9"
    return out


def main() -> int:
    corpus = Path(sys.argv[1])
    out = corpus / "damaged"
    out.mkdir(exist_ok=True)
    for f in out.glob("*.j2k"):
        f.unlink()
    rows: list[tuple[str, str, str]] = []

    def write(name: str, data: bytes, expect: str, desc: str) -> None:
        (out / name).write_bytes(data)
        rows.append((name, expect, desc))

    def load(name: str) -> bytes:
        return (corpus / name).read_bytes()

    # Truncated last tile-part: cut just after SOD, at 30 % and 70 % of its body, no EOC.
    cut_words = "warn:is cut by the end of the data"
    for src in ("tiled_odd.j2k", "prog_rpcl.j2k", "sop_eph_tiled.j2k", "plt.j2k"):
        cs = load(src)
        _, parts = tile_parts(cs)
        last = parts[-1]
        body = last["end"] - last["offset"]
        for pct in (30, 70):
            cut = last["offset"] + body * pct // 100
            name = f"trunc_{src}" if pct == 70 else f"trunc{pct}_{src}"
            write(name, cs[:cut], cut_words,
                  f"{src} cut at {cut} of {len(cs)} bytes, {pct} % into its last tile-part")
    cs = load("tiled_odd.j2k")
    _, parts = tile_parts(cs)
    sod = sod_end(cs, parts[-1])
    write("trunc_sod_tiled_odd.j2k", cs[:sod], cut_words,
          f"tiled_odd.j2k cut just after the SOD of its last tile-part (byte {sod})")
    # At the end of a packet: the PLT of plt.j2k's last tile-part gives the packet lengths.
    cs = load("plt.j2k")
    _, parts = tile_parts(cs)
    lens = plt_lengths(cs, parts[-1])
    cut = sod_end(cs, parts[-1]) + sum(lens[:len(lens) * 2 // 3])
    write("trunc_packet_end_plt.j2k", cs[:cut], cut_words,
          f"plt.j2k cut at {cut}, the end of packet {len(lens) * 2 // 3} of its last tile-part's "
          f"{len(lens)}")

    # Missing EOC; trailing garbage after EOC's place.
    cs = load("tiled_odd.j2k")
    write("no_eoc_tiled_odd.j2k", cs[:-2], "warn:without an EOC marker",
          "tiled_odd.j2k without its EOC marker")
    write("garbage_tiled_odd.j2k", cs[:-2] + bytes(range(7, 107)),
          "warn:100 bytes after the last tile-part",
          "tiled_odd.j2k with 100 bytes of garbage in place of its EOC")

    # TNsot says one tile-part fewer than the tile has (in every tile-part of tile 0).
    cs = bytearray(load("tp_r.j2k"))
    _, parts = tile_parts(bytes(cs))
    n0 = sum(1 for p in parts if p["isot"] == 0)
    for p in parts:
        if p["isot"] == 0:
            set_tnsot(cs, p, n0 - 1)
    write("tnsot_tp_r.j2k", bytes(cs), "warn:TNsot",
          f"tp_r.j2k with TNsot {n0 - 1} in tile 0, which has {n0} tile-parts")

    # Tiles without tile-parts: tile 0 (first) and tile 3 (last) of sub2_tiled.j2k removed.
    cs = load("sub2_tiled.j2k")
    main_end, parts = tile_parts(cs)
    for t, why in ((0, "the first tile"), (3, "the last tile")):
        data = cs[:main_end] + b"".join(cs[p["offset"]:p["end"]] for p in parts if p["isot"] != t)
        write(f"no_tile{t}_sub2_tiled.j2k", data + b"\xff\xd9",
              f"warn:tile {t} has no tile-part",
              f"sub2_tiled.j2k without any tile-part of tile {t} ({why})")

    # Header bombs: declared packets far above the bytes that could hold them.
    write("bomb_16384c_65535l.j2k", header_bomb(16384, 65535, 0, 18),
          "error:declares", "16384 components x 65535 layers = 1073725440 packets in 49 KB")
    write("bomb_809c_32lev.j2k", header_bomb(809, 65535, 32, 1),
          "error:declares", "809 components, 33 resolutions, 65535 layers in 2.5 KB")

    with open(out / "MANIFEST.tsv", "w") as m:
        for name, expect, desc in rows:
            m.write(f"{name}\t{expect}\t{desc}\n")
    print(f"make_damaged: {len(rows)} files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
