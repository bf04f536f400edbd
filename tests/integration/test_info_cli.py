"""`pipit info --json` against OpenJPEG's opj_dump and the markers themselves; error and usage
exit codes of the pipit command line (0 ok, 1 failure with one stderr line, 2 usage)."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

import pixels
from conftest import CORPUS, codestream, has_command, info, pipit_ok, run_pipit


def opj_dump(path) -> dict:
    """The header facts opj_dump prints (image and default-tile sections)."""
    p = subprocess.run(["opj_dump", "-i", str(path)], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"opj_dump {path}: exit {p.returncode}: {p.stderr.strip()}")
    text = p.stdout
    def num(key, start=0):
        m = re.compile(rf"\b{key}=(0x[0-9a-fA-F]+|-?\d+)").search(text, start)
        if not m:
            raise AssertionError(f"opj_dump {path}: no {key}=")
        return int(m.group(1), 0)
    d = {k: num(k) for k in ("x0", "y0", "x1", "y1", "numcomps", "tx0", "ty0", "tdx", "tdy",
                             "tw", "th")}
    tile = text.index("default tile")
    d["prg"] = num("prg", tile)
    d["numlayers"] = num("numlayers", tile)
    d["numresolutions"] = num("numresolutions", tile)
    d["comps"] = [(int(a), int(b), int(c), int(s)) for a, b, c, s in re.findall(
        r"dx=(\d+), dy=(\d+)\s+prec=(\d+)\s+sgnd=(\d)", text)]
    return d


def test_info_matches_opj_dump(corpus_file, corpus_path, pipit_bin):
    j = info(corpus_path)
    o = opj_dump(corpus_path)
    cs = codestream(corpus_path)
    want = {
        "width": o["x1"] - o["x0"],
        "height": o["y1"] - o["y0"],
        "offset": [o["x0"], o["y0"]],
        "components": o["numcomps"],
        "tiles": o["tw"] * o["th"],
        "tile_size": [o["tdx"], o["tdy"]],
        "tile_grid": [o["tw"], o["th"]],
        "levels": o["numresolutions"] - 1,
        "layers": o["numlayers"],
        "progression": pixels.PROGRESSIONS[o["prg"]],
        # not in opj_dump: counted from SIZ/COD/COC and the tile-parts (pixels.Codestream)
        "packets": cs.packets(),
        "packet_bytes": cs.packet_bytes(),
        "tile_parts": len(cs.tile_parts),
        "format": "jp2" if corpus_path.suffix == ".jp2" else "j2k",
        "htj2k": 0xFF50 in cs.markers,
    }
    problems = [f"{k}: pipit says {j.get(k)!r}, expected {v!r}" for k, v in want.items()
                if j.get(k) != v]
    comps = [(c["dx"], c["dy"], c["precision"], int(c["signed"])) for c in j.get("component_info", [])]
    if comps != o["comps"]:
        problems.append(f"component_info (dx,dy,prec,signed): {comps}, opj_dump {o['comps']}")
    # opj_dump's tile origin and the SIZ read here agree with each other (sanity of the oracle)
    assert (o["tx0"], o["ty0"]) == (cs.siz.XTOsiz, cs.siz.YTOsiz)
    if corpus_path.suffix == ".jp2":
        flags = pixels.jp2_geo_boxes(corpus_path.read_bytes())
        for key in ("geojp2", "gmljp2"):
            if bool(j.get(key)) != flags[key]:
                problems.append(f"{key}: pipit says {j.get(key)!r}, the boxes say {flags[key]}")
    if problems:
        pytest.fail(f"{corpus_file}:\n  " + "\n  ".join(problems), pytrace=False)


# ------------------------------------------------------------------------------------------
# damaged files: exit 1, exactly one stderr line naming an offset
# ------------------------------------------------------------------------------------------

DAMAGED = ["untiled.j2k", "tiled_odd.j2k", "rgb8.jp2", "ht_tiled.j2c", "geo_u16.jp2"]
AT_BYTE = re.compile(r"at byte (\d+)")


def damaged_variants(data: bytes):
    siz = pixels.parse_siz(*pixels.codestream_bytes(data))
    s = siz.siz_offset      # file offset of FF 51: Lsiz at s+2, Csiz s+38, Ssiz0 s+40, XRsiz0 s+41
    lsiz = (data[s + 2] << 8) | data[s + 3]
    seg = (s, s + 2 + lsiz)                 # where an error in SIZ's fields should point
    if pixels.is_jp2(data):
        # (A raw codestream cut inside a tile-part body is read with warnings, as OpenJPEG reads
        # it: test_damaged.py.)
        yield "truncated to 60%", data[:len(data) * 6 // 10], None
    yield "truncated inside the main header", data[:s + 20], None
    flip = bytearray(data)
    flip[s + 3] ^= 0xFF                     # Lsiz, low byte
    yield "Lsiz byte flipped", bytes(flip), seg
    flip = bytearray(data)
    flip[s + 39] ^= 0xFF                    # Csiz, low byte
    yield "Csiz byte flipped", bytes(flip), seg
    flip = bytearray(data)
    flip[s + 41] = 0                        # XRsiz of component 0 = 0
    yield "XRsiz of component 0 zeroed", bytes(flip), seg


@pytest.mark.parametrize("name", DAMAGED)
def test_damaged_exit_1_one_line(name, tmp_path, pipit_bin):
    src = CORPUS / name
    if not src.is_file():
        pytest.fail(f"corpus file {src} missing")
    data = src.read_bytes()
    problems = []
    for what, bad, where in damaged_variants(data):
        f = tmp_path / f"bad{src.suffix}"
        f.write_bytes(bad)
        p = run_pipit("info", "--json", f)
        lines = p.stderr.splitlines()
        if p.returncode != 1:
            problems.append(f"{what}: exit {p.returncode}, expected 1 (stderr {p.stderr.strip()!r})")
        elif len(lines) != 1:
            problems.append(f"{what}: {len(lines)} stderr lines, expected 1: {p.stderr!r}")
        elif not (m := AT_BYTE.search(lines[0])):
            problems.append(f"{what}: stderr names no offset ('at byte N'): {lines[0]!r}")
        elif int(m.group(1)) > len(data):
            problems.append(f"{what}: offset {m.group(1)} beyond the file ({len(data)} bytes)")
        elif where and not where[0] <= int(m.group(1)) < where[1]:
            problems.append(f"{what}: offset {m.group(1)} is outside the SIZ segment "
                            f"[{where[0]}, {where[1]}): {lines[0]!r}")
        if p.returncode == 1 and p.stdout.strip():
            problems.append(f"{what}: exit 1 but printed on stdout: {p.stdout[:100]!r}")
    if problems:
        pytest.fail(f"{name}:\n  " + "\n  ".join(problems), pytrace=False)


def test_missing_file_exit_1(tmp_path, pipit_bin):
    p = run_pipit("info", tmp_path / "nope.j2k")
    assert p.returncode == 1, p.stderr
    assert len(p.stderr.splitlines()) == 1, p.stderr


def test_not_jpeg2000_exit_1(tmp_path, pipit_bin):
    f = tmp_path / "x.j2k"
    f.write_bytes(b"GIF89a" + bytes(100))
    p = run_pipit("info", "--json", f)
    assert p.returncode == 1, p.stderr
    assert len(p.stderr.splitlines()) == 1, p.stderr


# ------------------------------------------------------------------------------------------
# usage errors: exit 2
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [], ["nosuchcommand"], ["info"], ["info", "--bogus", "x.j2k"], ["info", "a.j2k", "b.j2k"],
], ids=lambda a: " ".join(a) or "<none>")
def test_usage_exit_2(args, pipit_bin):
    p = run_pipit(*args)
    assert p.returncode == 2, f"pipit {' '.join(args)}: exit {p.returncode}: {p.stderr}"


def test_help_exit_0(pipit_bin):
    assert run_pipit("--help").returncode == 0
    assert run_pipit("info", "--help").returncode == 0


STREAM_USAGE = [
    ["stream"],                                            # no file
    ["stream", "{f}"],                                     # no -o
    ["stream", "{f}", "-o", "{o}", "--fsiz", "abc"],
    ["stream", "{f}", "-o", "{o}", "--fsiz", "64,64,sideways"],
    ["stream", "{f}", "-o", "{o}", "--layers", "x"],
    ["stream", "{f}", "-o", "{o}", "--bogus"],
    ["rebuild", "-o", "{o}"],                              # no input
    ["rebuild", "{f}"],                                    # no -o
    ["rebuild", "{f}", "-o", "{o}", "--layers", "x"],
]


@pytest.mark.parametrize("args", STREAM_USAGE, ids=lambda a: " ".join(a))
def test_stream_rebuild_usage_exit_2(args, tmp_path, pipit_bin):
    if not (has_command("stream") and has_command("rebuild")):
        pytest.skip("pipit has no stream / rebuild command yet")
    f = CORPUS / "untiled.j2k"
    args = [a.format(f=f, o=tmp_path / "out.jpp") for a in args]
    p = run_pipit(*args)
    assert p.returncode == 2, f"pipit {' '.join(args)}: exit {p.returncode}: {p.stderr}"


def test_stream_rebuild_failures_exit_1(tmp_path, pipit_bin):
    if not (has_command("stream") and has_command("rebuild")):
        pytest.skip("pipit has no stream / rebuild command yet")
    problems = []
    junk = tmp_path / "junk.jpp"
    junk.write_bytes(b"\x70\x06\x00\x00\xff" + b"\x01" * 20)     # body runs past the end
    empty = tmp_path / "empty.jpp"
    empty.write_bytes(b"\x00\x02\x00")                            # EOR only: no main header
    cases = [
        ("stream of a missing file", ["stream", tmp_path / "nope.j2k", "-o", tmp_path / "a.jpp"]),
        ("stream of a non-JPEG 2000 file", ["stream", junk, "-o", tmp_path / "a.jpp"]),
        ("rebuild of a malformed JPP-stream", ["rebuild", junk, "-o", tmp_path / "a.j2k"]),
        ("rebuild without a main header", ["rebuild", empty, "-o", tmp_path / "b.j2k"]),
        ("rebuild of a missing file", ["rebuild", tmp_path / "nope.jpp", "-o", tmp_path / "c.j2k"]),
    ]
    for what, args in cases:
        p = run_pipit(*args)
        if p.returncode != 1:
            problems.append(f"{what}: exit {p.returncode}, expected 1 ({p.stderr.strip()!r})")
        elif len(p.stderr.splitlines()) != 1:
            problems.append(f"{what}: {len(p.stderr.splitlines())} stderr lines: {p.stderr!r}")
    if problems:
        pytest.fail("\n  ".join(problems), pytrace=False)


def coc_levels_codestream() -> bytes:
    """A 16x16 codestream of 3 components whose COC gives them 0, 1 and 2 decomposition levels
    (COD says 2), one layer, every packet empty."""
    import struct
    siz = struct.pack(">HIIIIIIIIH", 0, 16, 16, 0, 0, 16, 16, 0, 0, 3) + bytes([7, 1, 1]) * 3
    out = b"\xff\x4f\xff\x51" + struct.pack(">H", 2 + len(siz)) + siz
    out += b"\xff\x52" + struct.pack(">HBBHBBBBBB", 12, 0, 0, 1, 0, 2, 4, 4, 0, 1)
    for comp, levels in ((0, 0), (1, 1)):
        out += b"\xff\x53" + struct.pack(">HBBBBBBB", 9, comp, 0, levels, 4, 4, 0, 1)
    out += b"\xff\x5c" + struct.pack(">HB", 3 + 7, 0x40) + bytes([0x40]) * 7
    packets = 1 + 2 + 3
    out += b"\xff\x90" + struct.pack(">HHIBB", 10, 0, 14 + packets, 0, 1) + b"\xff\x93"
    return out + bytes(packets) + b"\xff\xd9"


def test_info_shows_per_component_levels_from_coc(tmp_path, pipit_bin):
    path = tmp_path / "coc_levels.j2k"
    path.write_bytes(coc_levels_codestream())
    j = json.loads(pipit_ok("info", "--json", path).stdout)
    assert j["component_levels"] == [0, 1, 2]
    assert [c["levels"] for c in j["component_info"]] == [0, 1, 2]
    assert j["packets"] == 6
    text = pipit_ok("info", path).stdout
    assert "levels: 0, 1, 2 (per component)" in text, text
