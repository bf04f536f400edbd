#!/usr/bin/env bash
# bench/server/run_scaling_bench.sh: how the server's cost grows with clients and image size.
#
#   bench/server/run_scaling_bench.sh           # full: 1..16 clients; images 1k^2 to 64k^2
#   CI=true bench/server/run_scaling_bench.sh   # short: 1, 2, 4 clients; 1k^2 to 4k^2; 1 s a point
#                                               # (also PIPIT_BENCH_SMALL=1)
#
# Prints two tables and draws them in scaling.png (gnuplot, when installed) beside this script:
#   clients: the small-response browse workload of run_server_bench.sh (random 512x512 windows at
#            four scales, sessions of 20 requests) on the 6007x4001 single-tile codestream, with
#            1, 2, 4, 8, 16 concurrent clients: requests/s, p50/p99, server RSS, and nginx's
#            requests/s for static files of the same sizes in the same run.
#   size:    the same workload with 1 and 8 clients on square images of 1024 to 65536 pixels a
#            side, each served by a fresh server: the first request's time (the index is built
#            then), requests/s, p99, server RSS and its anonymous part (the rest is the mapped
#            file). The images are 1024x1024 tiles, all the same tile (tile_codestream.py), in
#            the coding of make_browse_codestream.sh: 64k^2 is a 1.6 GB file made in seconds.
# Environment: PIPIT_BIN, PIPIT_BENCH_DATA (default build-bench/data), BENCH_SECONDS (per point).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [[ "${CI:-false}" == true || "${PIPIT_BENCH_SMALL:-0}" == 1 ]]; then
  browse=(1502 1001) client_counts=(1 2 4) sides=(1024 2048 4096) seconds=${BENCH_SECONDS:-1}
else
  browse=(6007 4001) client_counts=(1 2 4 8 16) sides=(1024 2048 4096 8192 16384 32768 65536)
  seconds=${BENCH_SECONDS:-5}
fi
data=${PIPIT_BENCH_DATA:-$repo/build-bench/data}
work=$(mktemp -d /tmp/pipit-scaling-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "${PIPIT_BIN:-}" ]]; then
  cmake -S "$repo" -B "$repo/build-bench-server" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPIPIT_BUILD_TESTS=OFF -DPIPIT_BUILD_BENCH=OFF >/dev/null
  cmake --build "$repo/build-bench-server" -j2 --target pipit >/dev/null
  PIPIT_BIN=$repo/build-bench-server/src/tools/pipit/pipit
fi
g++ -O2 -std=c++20 -pthread "$here/jpip_load.cpp" -o "$work/jpip_load"
browse_image=$(bash "$here/make_browse_codestream.sh" "$data" "${browse[@]}")
tile=$(bash "$here/make_browse_codestream.sh" "$data" 1024 1024)

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
anon_mb() { awk '/^RssAnon/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

serve() {  # serve ROOT: starts pipit serve on ROOT; sets pipit_pid and pport
  "$PIPIT_BIN" serve --root "$1" --listen 127.0.0.1:0 --log-level warn >"$work/pipit.out" 2>"$work/pipit.err" &
  pipit_pid=$!
  pids+=("$pipit_pid")
  for _ in $(seq 100); do grep -qs listening "$work/pipit.out" && break; sleep 0.1; done
  pport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/pipit.out")
  [[ -n "$pport" ]] || { echo "pipit serve did not start: $(cat "$work/pipit.err")" >&2; exit 1; }
}
stop() { kill "$pipit_pid"; wait "$pipit_pid" 2>/dev/null || true; }

# nginx on 127.0.0.1 for the reference column of the clients table.
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

# 1. Clients.
serve "$(dirname "$browse_image")"
target=$(basename "$browse_image")
echo "pipit serve, $(nproc) cores, 127.0.0.1; browse workload on ${browse[0]}x${browse[1]} (one tile, 5 layers), $seconds s a point"
printf '%-8s %10s %9s %9s %8s %12s %7s\n' clients "req/s" "p50 ms" "p99 ms" "RSS MB" "nginx req/s" ratio
: >"$work/clients.tsv"
for c in "${client_counts[@]}"; do
  j=$("$work/jpip_load" browse --port "$pport" --target "$target" --width "${browse[0]}" \
        --height "${browse[1]}" --clients "$c" --seconds "$seconds" --sizes-out "$work/sizes.txt")
  if [[ ! -s "$work/nfiles" ]]; then  # static files of the sizes of the first point's responses
    /usr/bin/python3 - "$work/sizes.txt" "$work/www" <<'PYEOF'
import os, random, sys
sizes = sorted(int(x) for x in open(sys.argv[1]) if x.strip())
pick = [sizes[int((i + 0.5) * len(sizes) / 400)] for i in range(400)] if len(sizes) >= 400 else sizes
random.Random(5).shuffle(pick)
for k, n in enumerate(pick):
    with open(os.path.join(sys.argv[2], f"f{k}"), "wb") as f:
        f.write(os.urandom(n))
print(len(pick), file=open(os.path.join(sys.argv[2], "..", "nfiles"), "w"))
PYEOF
    chmod -R a+rX "$work/www"
  fi
  s=$("$work/jpip_load" static --port "$nport" --files "$(<"$work/nfiles")" --clients "$c" --seconds "$seconds")
  rps=$(field rps "$j") nrps=$(field rps "$s") rss=$(rss_mb "$pipit_pid")
  ratio=$(awk -v a="$rps" -v b="$nrps" 'BEGIN { printf "%.2f", a / b }')
  printf '%-8s %10s %9s %9s %8s %12s %7s\n' "$c" "$rps" "$(field p50_ms "$j")" "$(field p99_ms "$j")" \
    "$rss" "$nrps" "$ratio"
  printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$rps" "$(field p99_ms "$j")" "$rss" "$nrps" >>"$work/clients.tsv"
done
stop

# 2. Image size.
echo
echo "pipit serve, the same workload on square images of 1024x1024 tiles, a fresh server each, $seconds s a point"
printf '%-7s %8s %9s %8s %10s %10s %9s %8s %8s\n' side "file MB" "first ms" "KB/resp" "req/s c=1" \
  "req/s c=8" "p99 c=1" "RSS MB" "anon MB"
: >"$work/size.tsv"
for side in "${sides[@]}"; do
  dir="$data/scaling/$side"
  img="$dir/tiled-$side.j2k"
  if [[ ! -s "$img" ]]; then
    mkdir -p "$dir"
    /usr/bin/python3 "$here/tile_codestream.py" "$tile" "$side" "$img.tmp"
    mv "$img.tmp" "$img"
  fi
  cat "$img" >/dev/null  # in the page cache, as the other points' files
  serve "$dir"
  first=$(/usr/bin/python3 - "$pport" "$(basename "$img")" <<'PYEOF'
import sys, time, urllib.request
t = time.monotonic()
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/{sys.argv[2]}?fsiz=64,64&type=jpp-stream").read()
print("%.0f" % ((time.monotonic() - t) * 1000))
PYEOF
)
  j1=$("$work/jpip_load" browse --port "$pport" --target "$(basename "$img")" --width "$side" \
         --height "$side" --clients 1 --seconds "$seconds" --sizes-out "$work/sizes.txt")
  j8=$("$work/jpip_load" browse --port "$pport" --target "$(basename "$img")" --width "$side" \
         --height "$side" --clients 8 --seconds "$seconds")
  mb=$(awk -v b="$(stat -c %s "$img")" 'BEGIN { printf "%.1f", b / 1e6 }')
  rss=$(rss_mb "$pipit_pid") anon=$(anon_mb "$pipit_pid")
  kb=$(awk '{ s += $1; n++ } END { printf "%.0f", n ? s / n / 1024 : 0 }' "$work/sizes.txt")
  printf '%-7s %8s %9s %8s %10s %10s %9s %8s %8s\n' "$side" "$mb" "$first" "$kb" "$(field rps "$j1")" \
    "$(field rps "$j8")" "$(field p99_ms "$j1")" "$rss" "$anon"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$side" "$(field rps "$j1")" "$(field rps "$j8")" "$rss" \
    "$anon" "$first" "$mb" >>"$work/size.tsv"
  stop
done

# 3. The plot.
if command -v gnuplot >/dev/null; then
  gnuplot <<EOF
set terminal pngcairo size 1200,480 font "sans,10"
set output "$here/scaling.png"
set multiplot layout 1,2 title "pipit serve, browse workload (random 512x512 windows at 4 scales), $(nproc) shared cores"
set key top left
set grid
set xlabel "concurrent clients"
set ylabel "requests/s"
set y2label "server RSS (MB)"
set ytics nomirror
set y2tics
set logscale x 2
set yrange [0:*]
set y2range [0:*]
plot "$work/clients.tsv" using 1:2 with linespoints lw 2 title "pipit req/s", \
     "$work/clients.tsv" using 1:5 with linespoints lw 2 dt 2 title "nginx req/s (same sizes)", \
     "$work/clients.tsv" using 1:4 axes x1y2 with linespoints title "pipit RSS MB"
set xlabel "image side (pixels; square, 1024x1024 tiles)"
set logscale y 10
set yrange [*:*]
set ylabel "requests/s (log)"
set logscale y2 2
set y2range [*:*]
set y2label "MB (log)"
plot "$work/size.tsv" using 1:2 with linespoints lw 2 title "req/s, 1 client", \
     "$work/size.tsv" using 1:3 with linespoints lw 2 title "req/s, 8 clients", \
     "$work/size.tsv" using 1:4 axes x1y2 with linespoints title "RSS MB", \
     "$work/size.tsv" using 1:5 axes x1y2 with linespoints title "anonymous MB", \
     "$work/size.tsv" using 1:7 axes x1y2 with linespoints dt 3 title "file MB"
unset multiplot
EOF
  echo "plot: $here/scaling.png"
else
  echo "no gnuplot: no plot (apt-get install gnuplot-nox)"
fi
