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

source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_build ht_decode_bench

size=4096
((small)) && size=2048
# The second file is the HTJ2K one.
mapfile -t made < <("$root/bench/make_terrain_codestreams.sh" "$data/terrain" "$size")

defaults=()
[[ $size == 2048 ]] && defaults=(--runs 3)
"$build/bench/ht_decode_bench" "${defaults[@]}" "$@" "${made[1]}"
