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

source "$(dirname "${BASH_SOURCE[0]}")/../bench_lib.sh"
data="$data/terrain"

size=4096
((small)) && size=2048
if [[ -n "${PIPIT_BIN:-}" ]]; then
  pipit=$(realpath "$PIPIT_BIN")
else
  bench_build pipit
  pipit="$build/src/tools/pipit/pipit"
fi

mapfile -t files < <("$root/bench/make_terrain_codestreams.sh" "$data" "$size")

/usr/bin/python3 "$root/bench/client_window/client_window.py" --pipit "$pipit" "$@" "${files[@]}"
