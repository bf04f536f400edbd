#!/usr/bin/env bash
# bench/client_window/run.sh [client_window.py options...]
#
# The client's cost per window (bench/README.md): `pipit get` of a 1024x1024 window from
# `pipit serve` on 127.0.0.1, beside curl of as many bytes from nginx on 127.0.0.1 plus
# opj_decompress -d of the window from the local file. Builds pipit in Release in build-bench/
# (unless PIPIT_BIN names one), makes or reuses a classic and an HTJ2K codestream of a 4096x4096
# RGB image (bench/make_terrain_codestreams.sh) in $PIPIT_BENCH_DATA/terrain (default
# build-bench/data/terrain; 2048 with PIPIT_BENCH_SMALL=1 or CI=true).
# Options go to client_window.py, e.g. --rounds 9, --threads 1 or --strict.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="$root/build-bench"
data=${PIPIT_BENCH_DATA:-$build/data}/terrain
jobs=${PIPIT_BENCH_JOBS:-2}

size=4096
[[ "${PIPIT_BENCH_SMALL:-0}" == 1 || "${CI:-false}" == true ]] && size=2048
if [[ -n "${PIPIT_BIN:-}" ]]; then
  pipit=$(realpath "$PIPIT_BIN")
else
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  [[ -f "$build/CMakeCache.txt" ]] && generator=()
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DPIPIT_BUILD_TESTS=OFF -DPIPIT_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" --target pipit -j "$jobs" >&2
  pipit="$build/src/tools/pipit/pipit"
fi

mapfile -t files < <("$root/bench/make_terrain_codestreams.sh" "$data" "$size")

/usr/bin/python3 "$root/bench/client_window/client_window.py" --pipit "$pipit" "$@" "${files[@]}"
