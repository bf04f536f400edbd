#!/usr/bin/env bash
# bench/server/run_server_bench.sh: `pipit serve` under a browse workload, beside nginx serving
# responses of the same sizes as static files (the ceiling), both on 127.0.0.1 in the same run.
#
#   bench/server/run_server_bench.sh            # full: 20 s per row, both workloads
#   CI=true bench/server/run_server_bench.sh    # short: 3 s per row, smaller images (also PIPIT_BENCH_SMALL=1)
#
# Environment: PIPIT_BIN (default: a Release build in build-bench-server/), PIPIT_BENCH_DATA
# (codestream cache, default build-bench/data), BENCH_SECONDS (per row and server),
# BENCH_ROUNDS (pipit and nginx alternate in this many rounds per row: 4, or 1 in the short mode),
# BENCH_WORKLOADS (default "small large").
#
# Workloads (jpip_load.cpp): sessions of 20 requests, each a random 512x512 window at one of four
# scales, new sessions throughout, with 1 and 8 concurrent clients, on
#   small: a 6007x4001 single-tile RPCL codestream with PLT and 5 layers (~140 KB responses:
#          per-request cost dominates; make_browse_codestream.sh; short mode 1502x1001)
#   large: a 6656x6656 codestream of 1024x1024 tiles, 3 layers up to lossless (~700 KB
#          responses: bytes dominate; ../make_big_codestream.sh; short mode 2048x2048).
# The sizes of the JPIP responses are recorded and written as files for nginx, which the same
# client shape then fetches. Then 1,000 sessions are opened and left idle, and the server's RSS
# is read from /proc.
# Targets: requests/s >= 0.7x nginx; p99 < 10 ms with 1 client; RSS < 200 MB with 1,000 idle sessions.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [[ "${CI:-false}" == true || "${PIPIT_BENCH_SMALL:-0}" == 1 ]]; then
  size=2048 browse=(1502 1001) seconds=${BENCH_SECONDS:-3} rounds=${BENCH_ROUNDS:-1}
else
  size=6656 browse=(6007 4001) seconds=${BENCH_SECONDS:-20} rounds=${BENCH_ROUNDS:-4}
fi
workloads=${BENCH_WORKLOADS:-small large}
data=${PIPIT_BENCH_DATA:-$repo/build-bench/data}
work=$(mktemp -d /tmp/pipit-server-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The programs and the image.
if [[ -z "${PIPIT_BIN:-}" ]]; then
  cmake -S "$repo" -B "$repo/build-bench-server" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPIPIT_BUILD_TESTS=OFF -DPIPIT_BUILD_BENCH=OFF >/dev/null
  cmake --build "$repo/build-bench-server" -j2 --target pipit >/dev/null
  PIPIT_BIN=$repo/build-bench-server/src/tools/pipit/pipit
fi
g++ -O2 -std=c++20 -pthread "$here/jpip_load.cpp" -o "$work/jpip_load"
mkdir -p "$data"
declare -A images
images[small]=$(bash "$here/make_browse_codestream.sh" "$data" "${browse[@]}")
if [[ " $workloads " == *" large "* ]]; then
  images[large]=$(bash "$repo/bench/make_big_codestream.sh" "$data" "$size" | grep -- '-plt.j2k$')
fi
# The images are served from their own folder (a symlink out of the root would be refused).

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
anon_mb() { awk '/^RssAnon/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

# 2. pipit serve on 127.0.0.1 (threads: one per core).
"$PIPIT_BIN" serve --root "$data" --listen 127.0.0.1:0 --log-level warn >"$work/pipit.out" 2>"$work/pipit.err" &
pipit_pid=$!
pids+=("$pipit_pid")
for _ in $(seq 100); do grep -qs listening "$work/pipit.out" && break; sleep 0.1; done
pport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/pipit.out")
[[ -n "$pport" ]] || { echo "pipit serve did not start: $(cat "$work/pipit.err")" >&2; exit 1; }

# 3. nginx on 127.0.0.1, its own prefix and temp folders, static files in www/.
nport=$(free_port)
mkdir -p "$work/nginx/logs" "$work/nginx/tmp" "$work/www"
chmod 755 "$work/www"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 100000;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$nport; root $work/www; location / { } }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
pids+=("$!")
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$nport") 2>/dev/null && break; sleep 0.1; done

# 4. The rows.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# Each row alternates pipit and nginx in $rounds rounds of $seconds/$rounds s, so a change in the
# machine's speed during the run (other load, frequency) affects both sides alike. A row gives
# the mean requests/s and MB/s of its rounds, the median p50 and the worst p99.
round_seconds=$(awk -v s="$seconds" -v r="$rounds" 'BEGIN { printf "%.3f", s / r }')
combine() {  # jpip_load output lines on stdin -> "rps mbps p50 p99 errors"
  /usr/bin/python3 -c '
import statistics, sys
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in sys.stdin if line.strip()]
f = lambda k: [float(r[k]) for r in rows]
print("%.1f %.2f %.3f %.3f %d" % (statistics.mean(f("rps")), statistics.mean(f("mbps")),
      statistics.median(f("p50_ms")), max(f("p99_ms")), sum(f("errors"))))'
}
size_of() {  # the image size of a codestream: "W H"
  /usr/bin/python3 - "$1" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read(64)
i = b.find(b"\xff\x51")
xs, ys, x0, y0 = struct.unpack(">IIII", b[i + 6:i + 22])
print(xs - x0, ys - y0)
EOF
}
mean_kb() { awk '{ s += $1; n++ } END { printf "%.0f", n ? s / n / 1024 : 0 }' "$1"; }
for workload in $workloads; do
  image=${images[$workload]}
  target=$(basename "$image")
  read -r width height < <(size_of "$image")
  echo "[$workload] pipit serve vs nginx static files, 127.0.0.1, $(nproc) cores; image ${width}x${height} ($(du -Lh "$image" | cut -f1)), $seconds s per row"
  printf '%-8s %-7s %10s %9s %9s %9s %8s %7s\n' server clients "req/s" "MB/s" "p50 ms" "p99 ms" "RSS MB" errors
  for clients in 1 8; do
    plines="" nlines="" ratios=""
    for ((round = 1; round <= rounds; round++)); do
      j=$("$work/jpip_load" browse --port "$pport" --target "$target" --width "$width" --height "$height" \
            --clients "$clients" --seconds "$round_seconds" --sizes-out "$work/sizes.txt")
      if ((round == 1)); then
        # Static files of the recorded sizes: 400 evenly spaced quantiles of them (so their mean is
        # the responses' mean), in a fixed shuffled order.
        /usr/bin/python3 - "$work/sizes.txt" "$work/www" <<'EOF'
import os, random, sys
sizes = sorted(int(x) for x in open(sys.argv[1]) if x.strip())
pick = [sizes[int((i + 0.5) * len(sizes) / 400)] for i in range(400)] if len(sizes) >= 400 else sizes
random.Random(5).shuffle(pick)
for f in os.listdir(sys.argv[2]):
    os.remove(os.path.join(sys.argv[2], f))
for k, n in enumerate(pick):
    with open(os.path.join(sys.argv[2], f"f{k}"), "wb") as f:
        f.write(os.urandom(n))
print(len(pick), file=open(os.path.join(sys.argv[2], "..", "nfiles"), "w"))
EOF
        chmod -R a+rX "$work/www"
        n=$(<"$work/nfiles")
      fi
      s=$("$work/jpip_load" static --port "$nport" --files "$n" --clients "$clients" --seconds "$round_seconds")
      plines+="$j"$'\n' nlines+="$s"$'\n'
      ratios+=$(awk -v a="$(field rps "$j")" -v b="$(field rps "$s")" 'BEGIN { printf " %.2f", a / b }')
    done
    read -r prps pmbps pp50 pp99 perr < <(printf '%s' "$plines" | combine)
    read -r nrps nmbps np50 np99 nerr < <(printf '%s' "$nlines" | combine)
    prss=$(rss_mb "$pipit_pid")
    printf '%-8s %-7s %10s %9s %9s %9s %8s %7s\n' pipit "$clients" "$prps" "$pmbps" "$pp50" "$pp99" "$prss" "$perr"
    printf '%-8s %-7s %10s %9s %9s %9s %8s %7s\n' nginx "$clients" "$nrps" "$nmbps" "$np50" "$np99" "-" "$nerr"
    awk -v a="$prps" -v b="$nrps" -v c="$clients" -v r="$ratios" \
      'BEGIN { printf "  ratio pipit/nginx with %s clients: %.2fx requests/s (target >= 0.70); by round:%s\n", c, a / b, r }'
  done
  echo "  mean response $(mean_kb "$work/sizes.txt") KB; p99 with 1 client: target < 10 ms"
done

# 5. 1,000 idle sessions (on the last workload's image).
before=$(rss_mb "$pipit_pid") before_anon=$(anon_mb "$pipit_pid")
"$work/jpip_load" idle --port "$pport" --target "$target" --sessions 1000 >/dev/null
sleep 0.5
after=$(rss_mb "$pipit_pid")
open=$(/usr/bin/python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
  "http://127.0.0.1:$pport/metrics" | awk '/^pipit_sessions_open / {print $2}')
echo "idle sessions: $open open, server RSS $after MB (was $before MB before opening them; target < 200 MB);" \
  "anonymous memory $(anon_mb "$pipit_pid") MB (was $before_anon MB; the rest is the mapped image)"
