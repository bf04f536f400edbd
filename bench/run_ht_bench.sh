#!/usr/bin/env bash
# run_ht_bench.sh [ht_decode_bench options...]
#
# Builds ht_decode_bench in Release in build-bench/, makes (or reuses) an HTJ2K codestream and
# prints the table: the client's decode of 1024x1024 windows with OpenJPH beside OpenJPEG (see
# bench/README.md). The file is make_terrain_codestreams.sh's HTJ2K codestream (5/3, 1024x1024
# tiles), cached in $PIPIT_BENCH_DATA/terrain.
#   full mode (default): 4096x4096 (16 tiles); small mode (PIPIT_BENCH_SMALL=1 or CI=true): 2048
# Environment: PIPIT_BENCH_DATA (where the files are cached; default build-bench/data),
# PIPIT_BENCH_JOBS (build parallelism; default 2). Options go to ht_decode_bench, e.g. --runs 9,
# --threads 1 or --strict.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-bench"
data=${PIPIT_BENCH_DATA:-$build/data}
jobs=${PIPIT_BENCH_JOBS:-2}

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[[ -f "$build/CMakeCache.txt" ]] && generator=()  # keep the generator the folder was made with
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DPIPIT_BUILD_TESTS=OFF -DPIPIT_BUILD_BENCH=ON >/dev/null
cmake --build "$build" --target ht_decode_bench -j "$jobs" >&2

size=4096
[[ "${PIPIT_BENCH_SMALL:-0}" == 1 || "${CI:-false}" == true ]] && size=2048
# The second file is the HTJ2K one.
mapfile -t made < <("$root/bench/make_terrain_codestreams.sh" "$data/terrain" "$size")

defaults=()
[[ $size == 2048 ]] && defaults=(--runs 3)
"$build/bench/ht_decode_bench" "${defaults[@]}" "$@" "${made[1]}"
