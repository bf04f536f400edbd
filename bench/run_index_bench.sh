#!/usr/bin/env bash
# run_index_bench.sh [index_bench options...]
#
# Builds index_bench in Release in build-bench/, makes (or reuses) the benchmark codestreams and
# prints the table of read and indexing rates (see bench/README.md).
#   full mode (default): two codestreams of >= 100 MB each, with and without PLT
#   small mode (PIPIT_BENCH_SMALL=1 or CI=true): the same at about 10 MB each
# Environment: PIPIT_BENCH_DATA (where the codestreams are cached; default build-bench/data),
# PIPIT_BENCH_JOBS (build parallelism; default 2). Options are passed to index_bench, e.g.
# --runs 10 or --strict (exit 1 when a target is missed).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_build index_bench

mapfile -t files < <("$root/bench/make_big_codestream.sh" "$data")
"$build/bench/index_bench" "$@" "${files[@]}"
