#!/usr/bin/env bash
# measure_index_memory.sh DIR
#
# The memory of one image's index in `pipit serve` and the time of its first request: serves DIR
# on a free 127.0.0.1 port, asks each .j2k/.jp2 file of DIR once (len=0: headers only, so the
# time is the index build's), and after each reads pipit_index_cache_bytes from /metrics. Prints
# one line per file: name, size, index bytes, server RSS, first request's seconds.
# Files of docs/scale-out.md: bench/make_big_codestream.sh OUTDIR 2048 (and 6656).
# Needs curl. PIPIT: the pipit binary (default build/src/tools/pipit/pipit).
set -euo pipefail
PIPIT=${PIPIT:-build/src/tools/pipit/pipit}
dir=$1
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$PIPIT" serve --root "$dir" --listen "127.0.0.1:$port" --threads 1 >/dev/null 2>&1 &
pid=$!
trap 'kill $pid' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
prev=0
for f in "$dir"/*.j2k "$dir"/*.jp2; do
  [ -f "$f" ] || continue
  n=$(basename "$f")
  t=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/$n?len=0")
  now=$(curl -s "http://127.0.0.1:$port/metrics" | awk '$1=="pipit_index_cache_bytes"{print $2}')
  rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  echo "$n size=$(stat -L -c %s "$f") index_bytes=$((now - prev)) server_rss_kb=$rss first_request_s=$t"
  prev=$now
done
