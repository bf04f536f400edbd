"""Several `pipit serve` instances behind a load balancer, all on 127.0.0.1: Debian's nginx with
packaging/nginx-balancer.conf and, when installed, HAProxy with packaging/haproxy.cfg (the shipped
files, with the test's ports put in). Each instance has its own instance-id, so a session's
requests reach the instance that holds it; `pipit get` and the GDAL driver get through the
balancer the pixels JP2OpenJPEG reads from the local file, and when the instance holding a
session is killed (SIGKILL, between two windows or in the middle of a response) the client opens
a new session on another instance and completes with the same pixels.

The same arrangement runs once more with the images on shared storage: three instances whose
root is another nginx acting as the storage origin (`--root http://127.0.0.1:PORT/`, one
`--storage-cache` folder shared by the three), behind nginx with the shipped file.
"""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import (PIPIT_BIN, REPO, Origin, free_port, gdal, start_nginx,
                      wait_listening)

PACKAGING = REPO / "packaging"
IDS = ("a", "b", "c")
SHIPPED_PORTS = {"a": 8081, "b": 8082, "c": 8083}
# Small chunks, a little apart: a response lasts long enough to be cut by a kill.
SLOW = ("--chunk-bytes", "2048", "--chunk-delay-ms", "20")


wait_port = wait_listening


class Instance:
    """One `pipit serve --instance-id ID`, restartable on its port."""

    def __init__(self, iid: str, root: str, work: Path, extra=()):
        self.iid, self.root, self.work, self.extra = iid, root, work, list(extra)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = work / f"instance_{iid}.log"
        self.access = work / f"access_{iid}.log"

    def start(self):
        cmd = [str(PIPIT_BIN), "serve", "--root", self.root, "--listen",
               f"127.0.0.1:{self.port}", "--instance-id", self.iid, "--threads", "1",
               "--access-log", str(self.access), *SLOW, *self.extra]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc, f"instance {self.iid}", self.log)
        return self

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def sessions_open(self) -> int:
        """The instance's open sessions (its /metrics gauge); 0 when it is down."""
        if not self.alive():
            return 0
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return 0
        m = re.search(r"^pipit_sessions_open (\d+)$", text, re.M)
        return int(m.group(1)) if m else 0

    def cids(self) -> set[str]:
        """Channel ids of the requests this instance answered (access log's session=)."""
        if not self.access.exists():
            return set()
        return set(re.findall(r" session=([^ ]+) ", self.access.read_text())) - {"-"}


def shipped(name: str, instances: dict[str, Instance], listen: int) -> str:
    """packaging/NAME with the test's ports in place of the shipped ones."""
    text = (PACKAGING / name).read_text()
    for iid, inst in instances.items():
        text = text.replace(f"127.0.0.1:{SHIPPED_PORTS[iid]}", f"127.0.0.1:{inst.port}")
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    text = text.replace("bind :8080", f"bind 127.0.0.1:{listen}")
    return text


class Balancer:
    def __init__(self, kind: str, instances: dict[str, Instance], work: Path):
        self.kind, self.port, self.work = kind, free_port(), work
        work.mkdir(parents=True, exist_ok=True)
        self.log = work / "balancer.log"
        if kind == "nginx":
            (work / "balancer.conf").write_text(shipped("nginx-balancer.conf", instances,
                                                        self.port))
            self.proc = start_nginx(work, f"  access_log {work}/logs/access.log;\n"
                                          f"  include {work}/balancer.conf;")
            self.log = work / "logs/error.log"
        else:
            (work / "haproxy.cfg").write_text(shipped("haproxy.cfg", instances, self.port))
            check = subprocess.run(["haproxy", "-c", "-f", str(work / "haproxy.cfg")],
                                   capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr
            cmd = ["haproxy", "-db", "-f", str(work / "haproxy.cfg")]
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc, kind, self.log)

    def url(self, name: str) -> str:
        return f"jpip://127.0.0.1:{self.port}/{name}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def instances(image_dir, pipit_bin, tmp_path_factory):
    work = tmp_path_factory.mktemp("scale_out")
    insts = {iid: Instance(iid, str(image_dir), work).start() for iid in IDS}
    yield insts
    for i in insts.values():
        i.stop()


@pytest.fixture(scope="module", params=["nginx", "haproxy"])
def balancer(request, instances, tmp_path_factory):
    if shutil.which(request.param) is None:
        pytest.skip(f"{request.param} is not installed (scripts/install-deps.sh installs it)")
    b = Balancer(request.param, instances, tmp_path_factory.mktemp(request.param))
    yield b
    b.stop()


@pytest.fixture
def all_up(instances, balancer):
    """Every instance running before and after the test (a killed one is started again)."""
    for i in instances.values():
        if not i.alive():
            i.start()
    yield instances
    for i in instances.values():
        if not i.alive():
            i.start()
    if balancer.kind == "haproxy":
        time.sleep(4.5)  # two health checks see the restarted instance up


def local(image_dir: Path, name: str, window=None) -> np.ndarray:
    g = gdal()
    ds = g.OpenEx(str(image_dir / name), allowed_drivers=["JP2OpenJPEG"])
    return ds.ReadAsArray(*window) if window else ds.ReadAsArray()


def pipit_get(url: str, out: Path, region=None, max_len=8192) -> subprocess.Popen:
    args = [str(PIPIT_BIN), "get", url, "-o", str(out), "--stats", "-q", "--max-len",
            str(max_len)]
    if region:
        args += ["--region", ",".join(map(str, region))]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen) -> dict:
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def read_tif(path: Path) -> np.ndarray:
    return gdal().Open(str(path)).ReadAsArray()


def test_pipit_get_through_the_balancer_equals_jp2openjpeg(all_up, balancer, image_dir,
                                                          tmp_path):
    for name, region in (("rgb8_lossless.jp2", None), ("rgb8_lossy_tiled.jp2", (100, 60, 300,
                                                                                 250))):
        out = tmp_path / f"{name}.tif"
        finish(pipit_get(balancer.url(name), out, region))
        want = local(image_dir, name, region)
        assert np.array_equal(read_tif(out), want), name


def test_sessions_stay_on_the_instance_that_holds_them(all_up, balancer, image_dir):
    g = gdal()
    datasets = [g.OpenEx(balancer.url("gray16_lossless.jp2"), allowed_drivers=["JPIP"])
                for _ in range(4)]
    for k, ds in enumerate(datasets):
        win = (10 * k, 5 * k, 120, 90)
        assert np.array_equal(ds.ReadAsArray(*win), local(image_dir, "gray16_lossless.jp2", win))
    datasets = None
    seen = {}
    for iid, inst in all_up.items():
        for cid in inst.cids():
            assert cid.startswith(iid + "."), f"{cid} answered by instance {iid}"
            assert re.fullmatch(r"[a-z]\.[0-9a-f]{32}", cid), cid
            assert cid not in seen, f"{cid} answered by {seen[cid]} and {iid}"
            seen[cid] = iid
    assert len({v for v in seen.values()}) >= 2, f"sessions not spread: {seen}"


def holder(instances: dict[str, Instance], before: dict[str, int]) -> Instance:
    deadline = time.time() + 30
    while time.time() < deadline:
        grown = [i for iid, i in instances.items() if i.sessions_open() > before[iid]]
        if grown:
            return grown[0]
        time.sleep(0.02)
    raise AssertionError("no instance opened the session")


def test_gdal_driver_completes_when_its_instance_is_killed_between_windows(all_up, balancer,
                                                                            image_dir):
    g = gdal()
    name = "rgb8_lossy_tiled.jp2"
    before = {iid: i.sessions_open() for iid, i in all_up.items()}
    ds = g.OpenEx(balancer.url(name), allowed_drivers=["JPIP"])
    first = (0, 0, 256, 256)
    assert np.array_equal(ds.ReadAsArray(*first), local(image_dir, name, first))
    victim = holder(all_up, before)
    victim.kill()
    others = {iid: i.sessions_open() for iid, i in all_up.items()}
    second = (300, 200, 300, 300)
    assert np.array_equal(ds.ReadAsArray(*second), local(image_dir, name, second))
    assert np.array_equal(ds.ReadAsArray(), local(image_dir, name))
    reopened = [iid for iid, i in all_up.items() if i.sessions_open() > others[iid]]
    assert reopened and victim.iid not in reopened, reopened
    ds = None


def test_pipit_get_completes_when_its_instance_is_killed_mid_response(all_up, balancer,
                                                                     image_dir, tmp_path):
    name = "rgb8_lossless.jp2"
    before = {iid: i.sessions_open() for iid, i in all_up.items()}
    out = tmp_path / "killed.tif"
    p = pipit_get(balancer.url(name), out, max_len=16384)
    victim = holder(all_up, before)
    time.sleep(0.5)  # some responses done, one under way
    assert p.poll() is None, "the transfer ended before the kill: make it slower"
    victim.kill()
    stats = finish(p)
    assert np.array_equal(read_tif(out), local(image_dir, name))
    assert stats["reconnects"] >= 1 and stats["sessions"] >= 2, json.dumps(stats)


# ---- images on shared storage ---------------------------------------------------------------


@pytest.fixture(scope="module")
def on_storage(image_dir, pipit_bin, tmp_path_factory):
    """Three instances reading the images from an nginx storage origin, behind nginx."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (scripts/install-deps.sh installs it)")
    work = tmp_path_factory.mktemp("scale_out_storage")
    origin = Origin(image_dir, work / "origin").start()
    cache = work / "storage-cache"
    insts = {iid: Instance(iid, origin.url, work, ("--storage-cache", str(cache))).start()
             for iid in IDS}
    balancer = Balancer("nginx", insts, work / "nginx")
    yield insts, balancer, origin
    balancer.stop()
    for i in insts.values():
        i.stop()
    origin.stop()


def test_instances_on_shared_storage_complete_when_one_is_killed(on_storage, image_dir,
                                                                  tmp_path):
    insts, balancer, origin = on_storage
    g = gdal()
    try:
        # The GDAL driver: the instance holding its session is killed between two windows.
        name = "rgb8_lossy_tiled.jp2"
        before = {iid: i.sessions_open() for iid, i in insts.items()}
        ds = g.OpenEx(balancer.url(name), allowed_drivers=["JPIP"])
        first = (0, 0, 256, 256)
        assert np.array_equal(ds.ReadAsArray(*first), local(image_dir, name, first))
        victim = holder(insts, before)
        victim.kill()
        second = (300, 200, 300, 300)
        assert np.array_equal(ds.ReadAsArray(*second), local(image_dir, name, second))
        assert np.array_equal(ds.ReadAsArray(), local(image_dir, name))
        ds = None
        victim.start()
        # pipit get: the instance holding its session is killed in the middle of a response.
        name = "rgb8_lossless.jp2"
        before = {iid: i.sessions_open() for iid, i in insts.items()}
        out = tmp_path / "killed.tif"
        p = pipit_get(balancer.url(name), out, max_len=16384)
        victim = holder(insts, before)
        time.sleep(0.5)
        assert p.poll() is None, "the transfer ended before the kill: make it slower"
        victim.kill()
        stats = finish(p)
        assert np.array_equal(read_tif(out), local(image_dir, name))
        assert stats["reconnects"] >= 1 and stats["sessions"] >= 2, json.dumps(stats)
    finally:
        for i in insts.values():
            if not i.alive():
                i.start()
    # Every image was read from the origin by range, none whole by one request.
    rows = origin.requests()
    assert rows and all(r[0] == 206 and r[1].startswith("bytes=") for r in rows), rows[:5]
