#!/usr/bin/env python3
"""The client's cost per window: `pipit get` opening a target on `pipit serve` (127.0.0.1) and
completing a 1024x1024 window, beside the least any client pays for the same window: fetching
the same number of bytes from nginx on 127.0.0.1 (curl of a static file of that size) and
decoding the window from the local file (opj_decompress -d).

    client_window.py --pipit PIPIT [--rounds N] [--threads T] FILE...

For each file and window (1024x1024 of the level at the origin, the same crossing four tiles,
and at level 1):
  A  `pipit get jpip://127.0.0.1:P/FILE --region x,y,1024,1024 --level d --threads T -o w.pgx`
     (a new process: session, headers, the window's data-bins, rebuild, decode, PGX files);
  B  `curl -o /dev/null http://127.0.0.1:Q/blob` of a file of the size of A's HTTP bodies, then
     `opj_decompress -i FILE -d X0,Y0,X1,Y1 -r d -threads T -o w.pgx` (two processes).
A and B alternate (A B, B A, ...); each is timed from outside, start to exit. The table gives
the median of each, the median of the per-round ratios A/B, and the verdict (target <= 1.2);
beside them the CPU seconds (user + system) of A (pipit get, plus what pipit serve spent during
it) and of B (curl and opj_decompress; nginx's sendfile is not counted) and their ratio, which a
loaded machine disturbs less than the wall time;
`start s` is the median time of `pipit --version` in the same rounds: the process start-up
(dynamic loading) that A pays before any JPIP work.
The first A of each window also checks its samples against B's (opj_decompress of the whole tiles
the window meets, cut to the window: the client decodes whole tiles).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
import pixels  # noqa: E402

TARGET = 1.2
SIDE = 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen) -> None:
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def start_nginx(tmp: Path, root: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    d = tmp / "nginx"
    (d / "logs").mkdir(parents=True)
    user = "user root root;" if os.getuid() == 0 else ""
    (d / "nginx.conf").write_text(f"""{user}
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  sendfile on;
  tcp_nodelay on;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    p = subprocess.Popen(["nginx", "-p", str(d), "-c", str(d / "nginx.conf"), "-e",
                          str(d / "logs/error.log")])
    wait_port(port, p)
    return p, port


CPU = [0.0]  # CPU seconds (user + system) of the children timed so far


def timed(cmds: list[list[str]]) -> float:
    """Wall seconds of running `cmds` one after the other; adds their CPU seconds to CPU."""
    t0 = time.perf_counter()
    for c in cmds:
        p = subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            raise RuntimeError(f"{c} exited with {p.returncode}")
        CPU[0] += ru.ru_utime + ru.ru_stime
    return time.perf_counter() - t0


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used (/proc/PID/stat)."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def tiles_met(siz, area) -> int:
    X0, Y0, X1, Y1 = area
    tx = (X1 - 1 - siz.XTOsiz) // siz.XTsiz - (X0 - siz.XTOsiz) // siz.XTsiz + 1
    ty = (Y1 - 1 - siz.YTOsiz) // siz.YTsiz - (Y0 - siz.YTOsiz) // siz.YTsiz + 1
    return tx * ty


def check_pixels(siz, d, area, pgx_stem: Path, src: Path) -> str:
    got = [pixels.read_pgx(f) for f in sorted(pgx_stem.parent.glob(pgx_stem.name + "_*.pgx"),
                                              key=lambda f: int(f.stem.split("_")[-1]))]
    X0, Y0, X1, Y1 = area

    def down(a, o, t):
        return o + (a - o) // t * t

    def up(a, o, t):
        return o + pixels.ceil_div(a - o, t) * t
    tiles = (max(siz.XOsiz, down(X0, siz.XTOsiz, siz.XTsiz)), max(siz.YOsiz, down(Y0, siz.YTOsiz, siz.YTsiz)),
             min(siz.Xsiz, up(X1, siz.XTOsiz, siz.XTsiz)), min(siz.Ysiz, up(Y1, siz.YTOsiz, siz.YTsiz)))
    whole = pixels.decode(src, reduce=d, area=tiles)
    want = []
    for a, comp in zip(whole, siz.comps):
        s = 1 << d
        x0 = pixels.ceil_div(X0, s) - pixels.ceil_div(tiles[0], s)
        y0 = pixels.ceil_div(Y0, s) - pixels.ceil_div(tiles[1], s)
        x1 = pixels.ceil_div(X1, s) - pixels.ceil_div(tiles[0], s)
        y1 = pixels.ceil_div(Y1, s) - pixels.ceil_div(tiles[1], s)
        want.append(a[y0:y1, x0:x1])
    errs = pixels.compare(got, want, "")
    return "identical" if not errs else "DIFFER: " + errs[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pipit", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("files", nargs="+", type=Path)
    a = ap.parse_args()
    for tool in ("nginx", "curl", "opj_decompress"):
        if shutil.which(tool) is None:
            print(f"{tool} not found (scripts/install-deps.sh)", file=sys.stderr)
            return 2
    files = [f.resolve() for f in a.files]
    root = files[0].parent
    if any(f.parent != root for f in files):
        print("the files must be in one folder (the server's root)", file=sys.stderr)
        return 2
    missed = False
    with tempfile.TemporaryDirectory(prefix="client_window.") as tmp_s:
        tmp = Path(tmp_s)
        os.chmod(tmp, 0o755)
        blobs = tmp / "blobs"
        blobs.mkdir()
        nginx, http_port = start_nginx(tmp, blobs)
        jport = free_port()
        serve = subprocess.Popen([a.pipit, "serve", "--root", str(root), "--listen",
                                  f"127.0.0.1:{jport}", "--log-level", "warn"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(jport, serve)
            print(f"{a.rounds} rounds, {a.threads} decoding threads on both sides; "
                  f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
            print(f"{'file':24} {'window (level)':26} {'tiles':>5} {'bytes':>11} {'A get s':>8} "
                  f"{'start s':>7} {'B s':>7} {'(curl':>7} {'opj)':>6} {'A/B':>6}  target<={TARGET}  "
                  f"{'A cpu':>6} {'B cpu':>6} {'A/B':>5}  pixels")
            for f in files:
                siz = pixels.read_siz(f)
                for d, x, y, where in [(0, 0, 0, "origin"),
                                       (0, siz.XTsiz // 2, siz.YTsiz // 2, "crossing"),
                                       (1, 0, 0, "origin")]:
                    fw, fh = siz.frame(d)
                    w, h = min(SIDE, fw - x), min(SIDE, fh - y)
                    area = pixels.window_area(siz, d, x, y, x + w, y + h)
                    out = tmp / "w"
                    get = [a.pipit, "get", f"jpip://127.0.0.1:{jport}/{f.name}", "-o",
                           str(out), "--region", f"{x},{y},{w},{h}", "--level", str(d),
                           "--threads", str(a.threads), "--stats"]
                    # A first run: the bytes, and the pixels' check.
                    p = subprocess.run(get, capture_output=True, text=True, timeout=600, check=True)
                    body = json.loads(p.stdout)["body_bytes"]
                    verdict = check_pixels(siz, d, area, out, f)
                    blob = blobs / f"blob_{body}"
                    with open(blob, "wb") as b:
                        b.write(os.urandom(body))
                    curl = ["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{http_port}/{blob.name}"]
                    opj = ["opj_decompress", "-i", str(f), "-o", str(tmp / "ref.pgx"), "-d",
                           ",".join(map(str, area)), "-threads", str(a.threads)]
                    if d:
                        opj += ["-r", str(d)]
                    ta, tb, tc, ts, ratios, ca, cb = [], [], [], [], [], [], []
                    for r in range(a.rounds):
                        order = (0, 1) if r % 2 == 0 else (1, 0)
                        t = {}
                        for k in order:
                            CPU[0] = 0.0
                            if k == 0:
                                s0 = proc_cpu(serve.pid)
                                t[0] = timed([get])
                                ca.append(CPU[0] + proc_cpu(serve.pid) - s0)
                            else:
                                t1 = timed([curl])
                                t2 = timed([opj])
                                t[1] = t1 + t2
                                tc.append(t1)
                                cb.append(CPU[0])
                        ts.append(timed([[a.pipit, "--version"]]))
                        ta.append(t[0])
                        tb.append(t[1])
                        ratios.append(t[0] / t[1])
                    ratio = statistics.median(ratios)
                    ok = ratio <= TARGET
                    missed = missed or not ok or verdict != "identical"
                    mb, mc = statistics.median(tb), statistics.median(tc)
                    print(f"{f.name:24} {f'r{d} {w}x{h}+{x}+{y} {where}':26} "
                          f"{tiles_met(siz, area):5d} {body:11,d} {statistics.median(ta):8.3f} "
                          f"{statistics.median(ts):7.3f} {mb:7.3f} {mc:7.3f} {mb - mc:6.3f} {ratio:6.2f}  "
                          f"{'PASS' if ok else 'MISS':10}  {statistics.median(ca):6.3f} "
                          f"{statistics.median(cb):6.3f} "
                          f"{statistics.median(ca) / statistics.median(cb):5.2f}  {verdict}", flush=True)
                    blob.unlink()
        finally:
            for proc in (serve, nginx):
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return 1 if a.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
