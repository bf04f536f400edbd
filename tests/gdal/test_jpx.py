"""JPX targets of several codestreams, through `pipit serve`, the GDAL driver and `pipit get`.

tests/corpus/make_jpx.py writes the files: three frames with different pictures and coding, a JPX
holding their codestreams (embedded.jpx), a linked JPX naming them as files beside it
(movie.jpx), and linked JPX files whose references lead out of the served folder (refused/).
Every codestream of a JPX is a subdataset; each, read over JPIP, must equal what GDAL's
JP2OpenJPEG reads from that frame's own file, and no other frame.
"""
from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import PIPIT_BIN, Server, gdal, gdal_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
import make_jpx  # noqa: E402

TARGETS = ["embedded.jpx", "movie.jpx", "movies/up.jpx"]


@pytest.fixture(scope="module")
def jpx(tmp_path_factory):
    return make_jpx.make(tmp_path_factory.mktemp("jpx") / "root")


@pytest.fixture(scope="module")
def jpx_server(jpx, pipit_bin):
    s = Server(jpx["root"], kind="serve").start()
    yield s
    s.stop()


def local_frames(g, jpx):
    """Each frame read from its own file by JP2OpenJPEG: full resolution and overview 1."""
    out = []
    for f in jpx["frames"]:
        ds = g.OpenEx(str(f), allowed_drivers=["JP2OpenJPEG"])
        out.append((ds.ReadAsArray(), ds.GetRasterBand(1).GetOverview(0).ReadAsArray()))
    return out


def test_frames_differ(jpx):
    """The oracle can tell the frames apart."""
    g = gdal()
    frames = local_frames(g, jpx)
    for i in range(len(frames)):
        for j in range(i + 1, len(frames)):
            assert not np.array_equal(frames[i][0], frames[j][0])


@pytest.mark.parametrize("target", TARGETS)
def test_every_codestream_is_a_subdataset(jpx, jpx_server, target):
    g = gdal()
    url = jpx_server.url(target)
    ds = g.Open(url)
    subs = ds.GetMetadata("SUBDATASETS")
    n = len(make_jpx.FRAMES)
    assert len(subs) == 2 * n, subs
    for k in range(n):
        assert subs[f"SUBDATASET_{k + 1}_NAME"] == f"JPIP:{k}:{url}"
        assert str(k) in subs[f"SUBDATASET_{k + 1}_DESC"]
    assert ds.GetMetadataItem("JPIP_NCODESTREAMS", "JPIP") == str(n)
    # Opening the URL alone reads codestream 0.
    assert ds.GetMetadataItem("JPIP_CODESTREAM", "JPIP") == "0"


@pytest.mark.parametrize("target", TARGETS)
def test_subdatasets_read_frame_by_frame_like_the_frame_files(jpx, jpx_server, target):
    g = gdal()
    frames = local_frames(g, jpx)
    url = jpx_server.url(target)
    for k, (full, overview) in enumerate(frames):
        ds = g.Open(f"JPIP:{k}:{url}")
        assert ds.GetMetadataItem("JPIP_CODESTREAM", "JPIP") == str(k)
        got = ds.ReadAsArray()
        assert np.array_equal(got, full), f"{target} codestream {k}"
        for j, (other, _) in enumerate(frames):
            if j != k:
                assert not np.array_equal(got, other)
        assert np.array_equal(ds.GetRasterBand(1).GetOverview(0).ReadAsArray(), overview)
        # A window, and the STREAM open option naming the same codestream.
        ds2 = g.OpenEx(url, open_options=[f"STREAM={k}"])
        assert np.array_equal(ds2.ReadAsArray(37, 21, 90, 64), full[21:85, 37:127])


@pytest.mark.parametrize("target", TARGETS)
def test_pipit_get_stream_reads_that_frame(jpx, jpx_server, target, tmp_path):
    g = gdal()
    frames = local_frames(g, jpx)
    for k, (full, _) in enumerate(frames):
        out = tmp_path / f"{k}.tif"
        p = subprocess.run([str(PIPIT_BIN), "get", jpx_server.url(target), "--stream", str(k),
                            "-o", str(out), "-q"], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert np.array_equal(g.Open(str(out)).ReadAsArray(), full), f"{target} --stream {k}"


def test_gdal_translate_of_a_subdataset(jpx, jpx_server, tmp_path):
    g = gdal()
    out = tmp_path / "t.tif"
    p = subprocess.run(["gdal_translate", "-q", f"JPIP:1:{jpx_server.url('movie.jpx')}",
                        str(out)], capture_output=True, text=True, env=gdal_env(), timeout=120)
    assert p.returncode == 0, p.stderr
    assert np.array_equal(g.Open(str(out)).ReadAsArray(), local_frames(g, jpx)[1][0])


def test_a_codestream_beyond_the_last_is_an_error_naming_the_count(jpx, jpx_server):
    p = subprocess.run([str(PIPIT_BIN), "get", jpx_server.url("movie.jpx"), "--stream", "3",
                        "-o", "/dev/null", "-q"], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "no codestream 3" in p.stderr and "3 codestreams (0 to 2)" in p.stderr, p.stderr
    g = gdal()
    with pytest.raises(Exception, match="no codestream 5"):
        g.Open(f"JPIP:5:{jpx_server.url('embedded.jpx')}")


def test_a_bad_subdataset_name_is_refused(jpx_server):
    g = gdal()
    with pytest.raises(Exception, match="JPIP:N:jpip://"):
        g.Open("JPIP:1:http://127.0.0.1/x.jpx")
    with pytest.raises(Exception, match="STREAM=x"):
        g.OpenEx(jpx_server.url("movie.jpx"), open_options=["STREAM=x"])


@pytest.mark.parametrize("name,location", sorted(make_jpx.REFUSED.items()))
def test_a_url_out_of_the_root_is_refused_naming_the_box_and_url(jpx, jpx_server, name,
                                                                  location):
    url = f"http://127.0.0.1:{jpx_server.port}/refused/{name}?type=jpp-stream&len=2000"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url, timeout=30)
    text = e.value.read().decode()
    assert "url box" in text and location in text, text
    assert "/etc/hosts" not in text or location == "/etc/hosts"
    # The client reports it too, and never reads the frame beyond the root.
    p = subprocess.run([str(PIPIT_BIN), "get", jpx_server.url(f"refused/{name}"), "-o",
                        "/dev/null", "-q"], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and location in p.stderr, p.stderr


def run_pipit(*args):
    return subprocess.run([str(PIPIT_BIN), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("target", TARGETS)
def test_info_of_a_jpx_lists_every_codestream_like_the_server(jpx, target):
    """`pipit info` reads a linked JPX as `pipit serve` does (it said unsupported)."""
    root = jpx["root"]
    p = run_pipit("info", "--json", "--root", root, root / target)
    assert p.returncode == 0, p.stderr
    import json
    j = json.loads(p.stdout)
    assert j["codestreams"] == len(jpx["frames"])
    first = json.loads(run_pipit("info", "--json", jpx["frames"][0]).stdout)
    for key in ("width", "height", "components", "levels", "layers", "packets"):
        assert j[key] == first[key], key


@pytest.mark.parametrize("target", TARGETS)
def test_stream_of_a_jpx_codestream_rebuilds_that_frame(jpx, target, tmp_path):
    """`pipit stream --stream N` of a (linked) JPX writes frame N's JPP-stream: rebuilt, it reads
    like the frame file through JP2OpenJPEG."""
    g = gdal()
    root = jpx["root"]
    frames = local_frames(g, jpx)
    for n in range(len(jpx["frames"])):
        jpp, j2k = tmp_path / f"s{n}.jpp", tmp_path / f"s{n}.j2k"
        p = run_pipit("stream", "--root", root, root / target, "--stream", n, "-o", jpp,
                      "--fsiz", f"{make_jpx.WIDTH},{make_jpx.HEIGHT}")
        assert p.returncode == 0, p.stderr
        p = run_pipit("rebuild", jpp, "--stream", n, "-o", j2k)
        assert p.returncode == 0, p.stderr
        got = g.OpenEx(str(j2k), allowed_drivers=["JP2OpenJPEG"]).ReadAsArray()
        assert np.array_equal(got, frames[n][0]), n


@pytest.mark.parametrize("name,location", sorted(make_jpx.REFUSED.items()))
def test_info_and_stream_refuse_a_url_out_of_the_root(jpx, name, location, tmp_path):
    root = jpx["root"]
    for args in (["info", "--root", root, root / "refused" / name],
                 ["stream", "--root", root, root / "refused" / name, "-o", tmp_path / "x.jpp"]):
        p = run_pipit(*args)
        assert p.returncode == 1 and "url box" in p.stderr and location in p.stderr, p.stderr


def test_info_root_defaults_to_the_folder_of_the_file(jpx):
    """Without --root the folder of the JPX is the root: movie.jpx's frames beside it are read,
    movies/up.jpx's "../" references lead out of it and are refused."""
    root = jpx["root"]
    assert run_pipit("info", root / "movie.jpx").returncode == 0
    p = run_pipit("info", root / "movies" / "up.jpx")
    assert p.returncode == 1 and "url box" in p.stderr, p.stderr
