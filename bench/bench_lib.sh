# bench/bench_lib.sh: what every bench script starts with (sourced, not run).
#
# Sets root (the repository), build (build-bench/, a Release tree with the benchmarks), data
# ($PIPIT_BENCH_DATA, default build-bench/data: where generated files are cached), jobs
# ($PIPIT_BENCH_JOBS, default 2) and small (1 with PIPIT_BENCH_SMALL=1 or CI=true: the short
# mode every script offers), and defines bench_build TARGET...: configure build-bench/ (keeping
# the generator the folder was made with) and build those targets.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-bench"
data=${PIPIT_BENCH_DATA:-$build/data}
jobs=${PIPIT_BENCH_JOBS:-2}
small=0
[[ "${PIPIT_BENCH_SMALL:-0}" == 1 || "${CI:-false}" == true ]] && small=1

bench_build() {
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  [[ -f "$build/CMakeCache.txt" ]] && generator=()
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DPIPIT_BUILD_TESTS=OFF -DPIPIT_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" --target "$@" -j "$jobs" >&2
}
