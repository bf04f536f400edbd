#!/usr/bin/env bash
# run_rebuild_bench.sh [rebuild_bench options...]
#
# Builds rebuild_bench in Release in build-bench/, makes (or reuses) the benchmark codestream and
# prints the table: rebuild from a full data-bin cache + decode of 1024x1024 windows, beside the
# decode of the same windows of the original file (see bench/README.md).
#   full mode (default): bench-6656-plt.j2k (~112 MB, 49 tiles of 1024x1024)
#   small mode (PIPIT_BENCH_SMALL=1 or CI=true): bench-2048-plt.j2k (~10 MB), fewer rounds
# Environment: PIPIT_BENCH_DATA (where the codestreams are cached; default build-bench/data),
# PIPIT_BENCH_JOBS (build parallelism; default 2), PIPIT_BENCH_JP2=1 (also a JP2 made from the
# codestream by gdal_translate -of JP2OpenJPEG, when gdal_translate is there). Options are passed
# to rebuild_bench, e.g. --runs 10, --threads 1, --reductions 0 or --strict.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_build rebuild_bench

# The first line of make_big_codestream.sh's output is the codestream with PLT.
mapfile -t made < <("$root/bench/make_big_codestream.sh" "$data")
files=("${made[0]}")

if [[ "${PIPIT_BENCH_JP2:-0}" == 1 ]]; then
  if command -v gdal_translate >/dev/null; then
    jp2="${made[0]%.j2k}.jp2"
    if [[ ! -s "$jp2" ]]; then
      echo "making $jp2 with gdal_translate -of JP2OpenJPEG ..." >&2
      gdal_translate -q -of JP2OpenJPEG -co REVERSIBLE=YES -co QUALITY=100 -co BLOCKXSIZE=1024 \
        -co BLOCKYSIZE=1024 -co RESOLUTIONS=6 -co PROGRESSION=RPCL "${made[0]}" "$jp2.tmp.jp2" >&2
      mv "$jp2.tmp.jp2" "$jp2"
      rm -f "$jp2.tmp.jp2.aux.xml"
    fi
    files+=("$jp2")
  else
    echo "PIPIT_BENCH_JP2=1 but gdal_translate is not installed: J2K only" >&2
  fi
fi

defaults=()
((small)) && defaults=(--runs 3 --min-seconds 3)
"$build/bench/rebuild_bench" "${defaults[@]}" "$@" "${files[@]}"
