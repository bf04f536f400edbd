#!/usr/bin/env bash
# bench/gdal_browse/run.sh [browse.py bench options...]
#
# Issue 6: a scripted 20-view browse session through GDAL on jpip:// (gdal_JPIP.so and
# `pipit serve`) beside the same JP2 read by GDAL's JP2OpenJPEG through /vsicurl/ (HTTP range
# requests to nginx), with bytes and wall time of each in the same run (see bench/README.md).
#   full mode (default): an 8192x8192 RGB georeferenced JP2 (~30 MB), 3 rounds per method
#   small mode (PIPIT_BENCH_SMALL=1 or CI=true): 2048x2048, 2 rounds
# Environment:
#   PIPIT_BENCH_DATA  where the JP2 is cached (default build-bench/data; the file goes in
#                     gdal_browse/ beneath it, the folder both servers serve)
#   PIPIT_BENCH_JOBS  build parallelism (default 2)
#   PIPIT_BIN, GDAL_DRIVER_PATH  use these binaries instead of building pipit and gdal_JPIP
#                     in build-bench/ (Release), e.g. PIPIT_BIN=build/src/tools/pipit/pipit
#                     GDAL_DRIVER_PATH=build/src/gdal
# Options go to `browse.py bench`: --rounds N, --threads N (decode threads of both drivers),
# --cachemax MB, --strict (exit 1 when a target is missed or pixels differ).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../bench_lib.sh"
here="$root/bench/gdal_browse"
data="$data/gdal_browse"
py=/usr/bin/python3  # Debian's: it has osgeo.gdal and numpy

if ((small)); then size=2048; resolutions=5; defaults=(--rounds 2); else
  size=8192; resolutions=6; defaults=(--rounds 3); fi

if [[ -n "${PIPIT_BIN:-}" && -n "${GDAL_DRIVER_PATH:-}" ]]; then
  pipit=$(realpath "$PIPIT_BIN"); driver_path=$(realpath "$GDAL_DRIVER_PATH")
else
  bench_build pipit gdal_JPIP
  pipit="$build/src/tools/pipit/pipit"; driver_path="$build/src/gdal"
fi
[[ -x "$pipit" && -f "$driver_path/gdal_JPIP.so" ]] || {
  echo "pipit or gdal_JPIP.so missing ($pipit, $driver_path)" >&2; exit 2; }

name="browse-$size.jp2"
mkdir -p "$data"
if [[ ! -s "$data/$name" ]]; then
  echo "making $data/$name (numpy + gdal_translate -of JP2OpenJPEG; minutes in full mode) ..." >&2
  "$py" "$here/browse.py" make-image "$data/$name" --size "$size" --resolutions "$resolutions"
fi

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # bounded: 20 s
  local i
  for ((i = 0; i < 200; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on 127.0.0.1:$1" >&2; return 1
}

tmp=$(mktemp -d /tmp/gdal_browse.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# nginx: unprivileged-style instance with its own prefix, in the foreground, 127.0.0.1 only.
http_port=$(free_port)
mkdir -p "$tmp/nginx/logs" "$tmp/nginx/tmp"
user_line=""
[[ $(id -u) == 0 ]] && user_line="user root root;"  # read the data where it is
cat >"$tmp/nginx/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
  types { image/jp2 jp2; }
  default_type application/octet-stream;
  log_format bytes '\$body_bytes_sent \$bytes_sent \$status "\$request" "\$http_range"';
  access_log $tmp/nginx/logs/access.log bytes;
  client_body_temp_path $tmp/nginx/tmp/body;
  proxy_temp_path $tmp/nginx/tmp/proxy;
  fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
  uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
  scgi_temp_path $tmp/nginx/tmp/scgi;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$http_port;
    root $data;
  }
}
EOF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" &
pids+=($!)
wait_port "$http_port"

jpip_port=$(free_port)
"$pipit" serve --root "$data" --listen "127.0.0.1:$jpip_port" >"$tmp/pipit.log" 2>&1 &
pids+=($!)
wait_port "$jpip_port"

"$py" "$here/browse.py" bench --jpip-port "$jpip_port" --http-port "$http_port" --name "$name" \
  --nginx-log "$tmp/nginx/logs/access.log" --driver-path "$driver_path" \
  --size-note "${size}x${size} RGB, $(stat -c %s "$data/$name") bytes" "${defaults[@]}" "$@"
