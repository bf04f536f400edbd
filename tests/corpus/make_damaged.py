"""Damaged and implausible codestreams for Pipit's tests, made from the generated corpus.

    /usr/bin/python3 tests/corpus/make_damaged.py CORPUS_DIR

Writes CORPUS_DIR/damaged/*.j2k and CORPUS_DIR/damaged/MANIFEST.tsv, one line per file:
name, TAB, expectation, TAB, description. The expectation is one of
  warn:WORDS   Pipit indexes the file; WORDS is in one of its warnings (checked)
  error:WORDS  Pipit refuses the file; WORDS is in the error message (checked by the core tests)
  damaged:WORDS  damage that OpenJPEG may survive; WORDS names it. Pipit either refuses the file
               with an error or indexes it, never crashes (checked); indexing these with warnings
               instead of refusing them is not done yet
Run by make_corpus.sh after the corpus is made (it reads the corpus files it damages). Every
damage is deterministic byte surgery on known files, so the same corpus gives the same files.

The kinds:
  - a truncated last tile-part (Psot promises more than the file holds, no EOC);
  - a missing EOC, and trailing garbage after the last tile-part;
  - a wrong TNsot (it says fewer tile-parts than the tile has);
  - a tile without any tile-part (its tile-parts removed, Isot of the others unchanged);
  - header bombs: a few kilobytes whose SIZ/COD declare up to a billion packets.
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

    # Truncated last tile-part: 70 % of its body kept, no EOC.
    for src in ("tiled_odd.j2k", "prog_rpcl.j2k", "sop_eph_tiled.j2k", "plt.j2k"):
        cs = load(src)
        _, parts = tile_parts(cs)
        last = parts[-1]
        body = last["end"] - last["offset"]
        cut = last["offset"] + body * 7 // 10
        write(f"trunc_{src}", cs[:cut], "damaged:truncated",
              f"{src} cut at {cut} of {len(cs)} bytes, inside its last tile-part")

    # Missing EOC; trailing garbage after EOC's place.
    cs = load("tiled_odd.j2k")
    write("no_eoc_tiled_odd.j2k", cs[:-2], "damaged:no EOC", "tiled_odd.j2k without its EOC marker")
    write("garbage_tiled_odd.j2k", cs[:-2] + bytes(range(7, 107)), "damaged:after the last tile-part",
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

    # A tile without tile-parts: tile 0 of sub2_tiled.j2k removed.
    cs = load("sub2_tiled.j2k")
    main_end, parts = tile_parts(cs)
    data = cs[:main_end] + b"".join(cs[p["offset"]:p["end"]] for p in parts if p["isot"] != 0)
    write("no_tile0_sub2_tiled.j2k", data + b"\xff\xd9", "damaged:no tile-part",
          "sub2_tiled.j2k without any tile-part of tile 0")

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
