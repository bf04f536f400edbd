"""End-to-end tests of `pipit stream` and `pipit rebuild`, with OpenJPEG as the oracle.

For every corpus file: the whole image, each quality-layer limit, each reduced resolution and a
set of view-windows go through `pipit stream` (a stateless JPIP response) and `pipit rebuild`
(data-bin cache -> codestream); what OpenJPEG decodes from the rebuild must equal, sample for
sample and component by component, what it decodes from the original the same way. Partial and
shuffled streams must still rebuild into something OpenJPEG decodes; JP2 rebuilds keep the
original boxes (GeoJP2 / GMLJP2 georeferencing included).

Every test collects all the differences it finds for its file before failing, one line each, so
one run names every resolution, window or layer that went wrong. See pixels.py for how regions
are mapped and decoded.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import pixels
from conftest import codestream, data_file, decode_original, info, pipit_ok, run_pipit

pytestmark = pytest.mark.usefixtures("need_stream_rebuild")

CAP = 0xFF50


def only(pred):
    """Restricts a corpus_file-parametrized test to the files pred(name) accepts."""
    def wrap(f):
        f.corpus_filter = pred
        return f
    return wrap


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------

_reference_cs: dict = {}


@pytest.fixture
def reference(corpus_path, tmp_path_factory) -> Path:
    """What a .j2k rebuild is compared with: the file itself, or the codestream of a .jp2."""
    if corpus_path.suffix != ".jp2":
        return corpus_path
    if corpus_path not in _reference_cs:
        out = tmp_path_factory.mktemp("ref") / (corpus_path.stem + ".j2k")
        _reference_cs[corpus_path] = pixels.extract_codestream(corpus_path, out)
    return _reference_cs[corpus_path]


def stream(src, out, *opts) -> list[pixels.Message]:
    """pipit stream; checks the output is a well-formed JPP-stream ending in an EOR."""
    pipit_ok("stream", src, "-o", out, *opts)
    data = Path(out).read_bytes()
    try:
        msgs, eor = pixels.parse_jpp(data)
    except ValueError as e:
        pytest.fail(f"pipit stream {src} {' '.join(map(str, opts))}: malformed JPP-stream: {e}",
                    pytrace=False)
    if eor is None:
        pytest.fail(f"pipit stream {src} {' '.join(map(str, opts))}: no EOR message at the end",
                    pytrace=False)
    return msgs


def rebuild(ins, out, *opts) -> Path:
    ins = ins if isinstance(ins, (list, tuple)) else [ins]
    pipit_ok("rebuild", *ins, "-o", out, *opts)
    return Path(out)


def is_ht(path) -> bool:
    return CAP in codestream(path).markers


def min_levels(path) -> int:
    return min(st.levels for st in codestream(path).comp_styles.values())


def max_layers(path) -> int:
    return max(st.layers for st in codestream(path).comp_styles.values())


def decode_checked(path, problems, what, **kw):
    try:
        return pixels.decode(path, **kw)
    except pixels.DecodeError as e:
        problems.append(f"{what}: decoding the rebuild failed: {e}")
        return None


def region(ref, d, area, comps, rebuilt, problems, what, crop_only=False):
    """Compares the region `area` (see pixels.window_area) at reduction d, decoded from the
    rebuild, with the same region decoded from the reference. Two ways, both must agree:
    OpenJPEG's decode area (-d: what a client does; not for HTJ2K, see pixels.py), and the crop of a
    whole-image decode at -r d (all samples within the window exact, whatever decoder margin)."""
    siz = codestream(ref).siz
    # OpenJPEG fails ("Failed to decode all used components") when a component has no sample in
    # the area (a window narrower than a sub-sampled component's spacing): -d decodes only the
    # components that have some; the crop below still covers them all.
    sizes = pixels.area_sizes(siz, d, area)
    listed = list(range(len(siz.comps))) if comps is None else list(comps)
    dcomps = [c for c in listed if min(sizes[c]) > 0]
    if dcomps == list(range(len(siz.comps))):
        dcomps = None                                   # all of them: no -c
    if not crop_only and dcomps != []:
        got = decode_checked(rebuilt, problems, f"{what} (-r {d} -d)", reduce=d, area=area,
                             comps=dcomps)
        if got is not None:
            want = decode_original(ref, reduce=d, area=area, comps=dcomps)
            problems += pixels.compare(got, want, f"{what} decoded with -r {d} -d "
                                       f"{','.join(map(str, area))}")
    got = decode_checked(rebuilt, problems, f"{what} (-r {d}, cropped)", reduce=d, comps=comps)
    if got is not None:
        want = decode_original(ref, reduce=d, comps=comps)
        problems += pixels.compare(pixels.crop(siz, d, area, got, comps),
                                   pixels.crop(siz, d, area, want, comps),
                                   f"{what} cropped from a whole decode at -r {d}")


_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))


def in_parallel(fn, items) -> list[str]:
    """Runs fn(item) -> [problem...] for every item on a few threads (the work is subprocesses:
    pipit and opj_decompress), and returns all problems in the items' order. An exception in one
    item (pytest.fail included) is raised once all have finished."""
    futures = [_POOL.submit(fn, it) for it in items]
    for f in futures:
        f.exception()
    out = []
    for f in futures:
        out += f.result()
    return out


def report(problems, name):
    if problems:
        pytest.fail(f"{name}: {len(problems)} difference(s):\n  " + "\n  ".join(problems),
                    pytrace=False)


# ------------------------------------------------------------------------------------------
# whole image, layers, resolutions
# ------------------------------------------------------------------------------------------

def test_full(corpus_file, corpus_path, reference, tmp_path):
    """Whole file streamed and rebuilt decodes to exactly the original."""
    msgs = stream(corpus_path, tmp_path / "a.jpp")
    if not any(m.cls == 6 for m in msgs):
        pytest.fail("the stream has no main-header message", pytrace=False)
    r = rebuild(tmp_path / "a.jpp", tmp_path / "r.j2k")
    problems = []
    got = decode_checked(r, problems, "full")
    if got is not None:
        problems += pixels.compare(got, decode_original(reference), "full")
    report(problems, corpus_file)


def test_layers(corpus_file, corpus_path, reference, tmp_path):
    """--layers k on stream (and on rebuild) gives the original decoded with -l k."""
    n = max_layers(reference)
    full = tmp_path / "full.jpp"
    stream(corpus_path, full)

    def one(k):
        problems = []
        want = decode_original(reference, layers=k)
        jpp = tmp_path / f"l{k}.jpp"
        stream(corpus_path, jpp, "--layers", k)
        r = rebuild(jpp, tmp_path / f"l{k}.j2k")
        got = decode_checked(r, problems, f"stream --layers {k}")
        if got is not None:
            problems += pixels.compare(got, want, f"stream --layers {k} (of {n}) vs -l {k}")
        r = rebuild(full, tmp_path / f"rl{k}.j2k", "--layers", k)
        got = decode_checked(r, problems, f"rebuild --layers {k}")
        if got is not None:
            problems += pixels.compare(got, want, f"full stream, rebuild --layers {k} vs -l {k}")
        return problems

    problems = in_parallel(one, sorted({1, max(1, n - 1)}))
    report(problems, corpus_file)


def test_resolutions(corpus_file, corpus_path, reference, tmp_path):
    """--fsiz of the frame at reduction d gives the original decoded with -r d (d = 1, 2)."""
    levels = min_levels(reference)
    if levels == 0:
        pytest.skip("no decomposition levels: OpenJPEG cannot decode this file with -r 1")
    j = info(corpus_path)
    siz = codestream(reference).siz

    def one(d):
        problems = []
        # frame size from pipit info's width/height/offset; checked against SIZ in test_info_cli
        xs, ys = j["width"] + j["offset"][0], j["height"] + j["offset"][1]
        fx = pixels.ceil_div(xs, 1 << d) - pixels.ceil_div(j["offset"][0], 1 << d)
        fy = pixels.ceil_div(ys, 1 << d) - pixels.ceil_div(j["offset"][1], 1 << d)
        assert (fx, fy) == siz.frame(d)
        jpp = tmp_path / f"d{d}.jpp"
        stream(corpus_path, jpp, "--fsiz", f"{fx},{fy}")
        r = rebuild(jpp, tmp_path / f"d{d}.j2k")
        got = decode_checked(r, problems, f"--fsiz {fx},{fy}", reduce=d)
        if got is not None:
            problems += pixels.compare(got, decode_original(reference, reduce=d),
                                       f"--fsiz {fx},{fy} decoded with -r {d}")
        return problems

    problems = in_parallel(one, range(1, min(2, levels) + 1))
    report(problems, corpus_file)


# ------------------------------------------------------------------------------------------
# view-windows
# ------------------------------------------------------------------------------------------

def _span(rng, n, lo=1, hi=48):
    return rng.randint(min(lo, n), max(1, min(hi, n)))


def windows(ref, name) -> list[dict]:
    """A fixed set of windows for one file: corners, a straddled tile (or code-block) boundary,
    an interior window, a single sample, and (files without MCT) a component subset."""
    cs = codestream(ref)
    siz = cs.siz
    rng = random.Random(f"pipit-windows-{name}")
    dmax = min(min_levels(ref), 3)
    out = []

    def add(kind, d, ox, oy, sx, sy, comps=None):
        fx, fy = siz.frame(d)
        ox, oy = max(0, min(ox, fx - 1)), max(0, min(oy, fy - 1))
        sx, sy = max(1, min(sx, fx - ox)), max(1, min(sy, fy - oy))
        out.append(dict(kind=kind, d=d, roff=(ox, oy), rsiz=(sx, sy), comps=comps))

    d = rng.randint(0, dmax)
    fx, fy = siz.frame(d)
    add("top-left corner", d, 0, 0, _span(rng, fx), _span(rng, fy))
    d = rng.randint(0, dmax)
    fx, fy = siz.frame(d)
    sx, sy = _span(rng, fx), _span(rng, fy)
    add("bottom-right corner", d, fx - sx, fy - sy, sx, sy)
    d = rng.randint(0, dmax)
    fx, fy = siz.frame(d)
    s = 1 << d
    if siz.tiles_x * siz.tiles_y > 1:
        bxs = [pixels.ceil_div(siz.XTOsiz + i * siz.XTsiz, s) - pixels.ceil_div(siz.XOsiz, s)
               for i in range(1, siz.tiles_x)] or [fx // 2]
        bys = [pixels.ceil_div(siz.YTOsiz + i * siz.YTsiz, s) - pixels.ceil_div(siz.YOsiz, s)
               for i in range(1, siz.tiles_y)] or [fy // 2]
        kind = "across a tile corner"
    else:
        bxs = [b for b in range(32, fx, 32)] or [fx // 2]
        bys = [b for b in range(32, fy, 32)] or [fy // 2]
        kind = "across a 32-sample grid corner"
    bx, by = rng.choice(bxs), rng.choice(bys)
    lx, ly = rng.randint(1, 9), rng.randint(1, 9)
    add(kind, d, bx - lx, by - ly, lx + rng.randint(1, 9), ly + rng.randint(1, 9))
    d = rng.randint(0, dmax)
    fx, fy = siz.frame(d)
    sx, sy = _span(rng, fx, 8, 64), _span(rng, fy, 8, 64)
    add("interior", d, rng.randint(0, fx - sx), rng.randint(0, fy - sy), sx, sy)
    d = rng.randint(0, min(dmax, 1))
    fx, fy = siz.frame(d)
    add("one sample", d, rng.randint(0, fx - 1), rng.randint(0, fy - 1), 1, 1)
    ncomp = len(siz.comps)
    if ncomp > 1 and all(st.mct == 0 for st in cs.comp_styles.values()):
        comps = sorted(rng.sample(range(ncomp), rng.randint(1, ncomp - 1)))
        d = rng.randint(0, dmax)
        fx, fy = siz.frame(d)
        sx, sy = _span(rng, fx, 8, 64), _span(rng, fy, 8, 64)
        add(f"components {comps}", d, rng.randint(0, fx - sx), rng.randint(0, fy - sy), sx, sy,
            comps)
    return out


def window_args(siz, w, fsiz=None):
    fx, fy = fsiz or siz.frame(w["d"])
    args = ["--fsiz", f"{fx},{fy}", "--roff", "%d,%d" % w["roff"], "--rsiz", "%d,%d" % w["rsiz"]]
    if w["comps"]:
        args += ["--comps", ",".join(map(str, w["comps"]))]
    return args


def describe(w, args):
    return f"{w['kind']} (d={w['d']}: {' '.join(args)})"


def test_windows(corpus_file, corpus_path, reference, tmp_path):
    """Each window's region decodes from the rebuild exactly as from the original, edges
    included (the stream must carry the precincts the wavelet filter reaches)."""
    siz = codestream(reference).siz
    ht = is_ht(reference)

    def one(iw):
        i, w = iw
        problems = []
        args = window_args(siz, w)
        jpp = tmp_path / f"w{i}.jpp"
        stream(corpus_path, jpp, *args)
        r = rebuild(jpp, tmp_path / f"w{i}.j2k")
        ox, oy = w["roff"]
        area = pixels.window_area(siz, w["d"], ox, oy, ox + w["rsiz"][0], oy + w["rsiz"][1])
        region(reference, w["d"], area, w["comps"], r, problems, describe(w, args),
               crop_only=ht)
        return problems

    problems = in_parallel(one, list(enumerate(windows(reference, corpus_file))))
    report(problems, corpus_file)


@only(lambda n: n != "res1.j2k")
def test_window_scaled_fsiz(corpus_file, corpus_path, reference, tmp_path):
    """An fsiz between two frame sizes with round-up: the server picks the larger frame and
    scales roff/rsiz to it as docs/jpip-notes.md §7.2 says (ox' = floor(ox*fx'/fx),
    ex' = min(fx', ceil((ox+sx)*fx'/fx)))."""
    cs = codestream(reference)
    siz = cs.siz
    rng = random.Random(f"pipit-scaled-{corpus_file}")
    d = rng.randint(0, min(min_levels(reference), 3) - 1)
    fx, fy = siz.frame(d)
    nx, ny = siz.frame(d + 1)
    req = (max(nx + 1, (fx + nx) // 2), max(ny + 1, (fy + ny) // 2))   # in (frame d+1, frame d]
    sx, sy = _span(rng, req[0], 4, 40), _span(rng, req[1], 4, 40)
    roff = (rng.randint(0, req[0] - sx), rng.randint(0, req[1] - sy))
    args = ["--fsiz", f"{req[0]},{req[1]},round-up", "--roff", "%d,%d" % roff,
            "--rsiz", f"{sx},{sy}"]
    jpp = tmp_path / "s.jpp"
    stream(corpus_path, jpp, *args)
    r = rebuild(jpp, tmp_path / "s.j2k")
    ox, oy, ex, ey = pixels.map_window(siz, d, req, roff, (sx, sy))
    area = pixels.window_area(siz, d, ox, oy, ex, ey)
    problems = []
    region(reference, d, area, None, r, problems,
           f"scaled window (frame d={d} {fx}x{fy}, region [{ox},{ex})x[{oy},{ey}): "
           f"{' '.join(args)})", crop_only=is_ht(reference))
    report(problems, corpus_file)


def test_two_streams(corpus_file, corpus_path, reference, tmp_path):
    """Two windows' streams fed into one rebuild (in either order, one of them twice): both
    regions decode exactly."""
    siz = codestream(reference).siz
    rng = random.Random(f"pipit-two-{corpus_file}")
    d = rng.randint(0, min(min_levels(reference), 2))
    fx, fy = siz.frame(d)
    ws, jpps = [], []
    for i in range(2):
        sx, sy = _span(rng, fx, 8, 80), _span(rng, fy, 8, 80)
        w = dict(kind=f"window {i}", d=d, roff=(rng.randint(0, fx - sx), rng.randint(0, fy - sy)),
                 rsiz=(sx, sy), comps=None)
        ws.append(w)
        jpps.append(tmp_path / f"t{i}.jpp")
        stream(corpus_path, jpps[-1], *window_args(siz, w))
    first = rebuild(jpps, tmp_path / "two_ab.j2k")
    again = rebuild([jpps[1], jpps[0], jpps[0]], tmp_path / "two_baa.j2k")
    feeds = [("a+b", first)]
    if again.read_bytes() != first.read_bytes():       # same bytes decode the same
        feeds.append(("b+a+a", again))
    # A rebuild limited to one window (the other precincts left empty) decodes that window alike.
    items = [(f, w) for f in feeds for w in ws]
    for i, w in enumerate(ws):
        items.append(((f"a+b for window {i} only", rebuild(jpps, tmp_path / f"two_w{i}.j2k",
                                                          *window_args(siz, w))), w))

    def one(item):
        (name, r), w = item
        problems = []
        ox, oy = w["roff"]
        area = pixels.window_area(siz, d, ox, oy, ox + w["rsiz"][0], oy + w["rsiz"][1])
        region(reference, d, area, None, r, problems,
               f"rebuild {name}: {describe(w, window_args(siz, w))}", crop_only=is_ht(reference))
        return problems

    problems = in_parallel(one, items)
    report(problems, corpus_file)


# ------------------------------------------------------------------------------------------
# partial, shuffled and truncated streams
# ------------------------------------------------------------------------------------------

def partial_streams(msgs, seed):
    """(name, messages) variants of a full stream, all keeping the header bins whole."""
    rng = random.Random(seed)
    heads = [m for m in msgs if m.cls not in (0, 1)]
    precs = [m for m in msgs if m.cls in (0, 1)]
    out = [("random half of the precinct messages", heads + [m for m in precs if rng.random() < 0.5])]
    # random byte prefix of every precinct bin, sent as one message from offset 0
    pre = []
    for (cls, csn, bid), (data, _) in sorted(pixels.bins(precs).items()):
        k = rng.choice([0, len(data), rng.randint(0, len(data)), rng.randint(0, len(data))])
        pre.append(pixels.Message(cls, csn, bid, 0, data[:k], k == len(data)))
    out.append(("random byte prefix of every precinct bin", heads + pre))
    # random messages, each cut to a random prefix, everything in a random order
    mix = []
    for m in precs:
        if rng.random() < 0.7:
            k = rng.randint(0, len(m.data))
            mix.append(pixels.Message(m.cls, m.csn, m.bin_id, m.offset, m.data[:k],
                                      m.last and k == len(m.data), m.aux))
    mix += heads
    rng.shuffle(mix)
    out.append(("random messages cut short, shuffled (headers included)", mix))
    return out


def test_partial_streams(corpus_file, corpus_path, reference, tmp_path):
    """Rebuilds of partial streams succeed and OpenJPEG decodes them (strict mode)."""
    full = tmp_path / "full.jpp"
    msgs = stream(corpus_path, full)

    def one(item):
        i, (name, sub) = item
        jpp = tmp_path / f"p{i}.jpp"
        jpp.write_bytes(pixels.encode_jpp(sub))
        out = tmp_path / f"p{i}.j2k"
        p = run_pipit("rebuild", jpp, "-o", out)
        if p.returncode != 0:
            return [f"{name}: pipit rebuild exited {p.returncode}: {p.stderr.strip()}"]
        try:
            pixels.decode(out)
        except pixels.DecodeError as e:
            return [f"{name}: the rebuild does not decode: {e}"]
        return []

    variants = partial_streams(msgs, f"pipit-partial-{corpus_file}")
    problems = in_parallel(one, list(enumerate(variants)))
    report(problems, corpus_file)


# ------------------------------------------------------------------------------------------
# JP2 rebuilds and georeferencing
# ------------------------------------------------------------------------------------------

def gdalinfo(path) -> dict:
    env = dict(os.environ, GDAL_PAM_ENABLED="NO")
    p = subprocess.run(["gdalinfo", "-json", str(path)], capture_output=True, text=True, env=env,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"gdalinfo {path} failed: {p.stderr.strip()}")
    return json.loads(p.stdout)


def top_boxes(path) -> list[str]:
    data = Path(path).read_bytes()
    return [k.decode("latin-1") for k, *_ in pixels.boxes(data)]


@only(lambda n: n.endswith(".jp2"))
def test_jp2_rebuild(corpus_file, corpus_path, tmp_path):
    """-o r.jp2 keeps the original boxes (in order), the georeferencing GDAL reads, the pixels."""
    stream(corpus_path, tmp_path / "a.jpp")
    r = rebuild(tmp_path / "a.jpp", tmp_path / "r.jp2")
    problems = []
    if top_boxes(r) != top_boxes(corpus_path):
        problems.append(f"top-level boxes {top_boxes(r)}, original {top_boxes(corpus_path)}")
    got = decode_checked(r, problems, "jp2")
    if got is not None:
        problems += pixels.compare(got, decode_original(corpus_path), "r.jp2 (decoded as JP2)")
    a, b = gdalinfo(r), gdalinfo(corpus_path)
    for key in ("size", "geoTransform", "gcps", "driverShortName"):
        if a.get(key) != b.get(key):
            problems.append(f"gdalinfo {key}: {a.get(key)!r}, original {b.get(key)!r}")
    wa = (a.get("coordinateSystem") or {}).get("wkt")
    wb = (b.get("coordinateSystem") or {}).get("wkt")
    if wa != wb:
        problems.append(f"gdalinfo SRS differs: {str(wa)[:200]!r} vs original {str(wb)[:200]!r}")
    if corpus_file.startswith("geo_") and not (b.get("geoTransform") and wb):
        problems.append("the original has no georeferencing according to gdalinfo (corpus?)")
    ba = [(x.get("type"), x.get("colorInterpretation")) for x in a.get("bands", [])]
    bb = [(x.get("type"), x.get("colorInterpretation")) for x in b.get("bands", [])]
    if ba != bb:
        problems.append(f"gdalinfo bands {ba}, original {bb}")
    report(problems, corpus_file)


# ------------------------------------------------------------------------------------------
# the fixtures of tests/data/ (docs/jpip-notes.md §11, vectors 8-9)
# ------------------------------------------------------------------------------------------

def test_vector_partial_decodes(tmp_path):
    r = rebuild(data_file("g_plt_partial.jpp"), tmp_path / "x.j2k")
    pixels.decode(r)


def test_vector_full_equals_original(tmp_path):
    r = rebuild(data_file("g_plt_full.jpp"), tmp_path / "x.j2k")
    report(pixels.compare(pixels.decode(r), pixels.decode(data_file("g_plt.j2k")), "g_plt_full"),
           "g_plt_full.jpp")


def test_vector_window_decodes_at_r1(tmp_path):
    r = rebuild(data_file("g_plt_winA.jpp"), tmp_path / "x.j2k")
    (a,) = pixels.decode(r, reduce=1)
    assert a.shape == (128, 128)
