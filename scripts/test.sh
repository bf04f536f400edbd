#!/usr/bin/env bash
# Pipit's test command: what CI runs (through .ci/run) and what to run before sending a change.
#
#   bash scripts/test.sh
#
# 1. installs the Debian packages Pipit needs (scripts/install-deps.sh; a no-op when present);
# 2. build/       GCC, RelWithDebInfo:                       build, then ctest;
# 3. style        scripts/check-style.sh over build/:        clang-format-14, clang-tidy-14;
# 4. build-asan/  GCC -O1, AddressSanitizer + UBSan:         the unit and server tests;
# 5. build-fuzz/  clang-14, libFuzzer + ASan + UBSan:        build tests/*/*_fuzz, run each for
#                 PIPIT_FUZZ_SECONDS (default 30), seeded from tests/fuzz/corpus/<target>/,
#                 tests/data and the generated corpus (build/corpus) when there is one.
# Every step runs even when an earlier one failed; the last line reads "N passed, M failed" (the
# style check, the ctest suites and the fuzz runs) and the exit status is non-zero when anything
# failed. Everything the tests read is in the repository (tests/data/) or made by them.
#
# Environment: PIPIT_FUZZ_SECONDS as above (300 for a long run; README.md, Fuzzing);
# PIPIT_FUZZ_MERGE=1 merges what each fuzz run found into tests/fuzz/corpus/<target>/; PIPIT_STEPS,
# a subset of "build style asan fuzz" (default all four); PIPIT_SKIP_DEPS=1 skips step 1. Builds
# and tests use two jobs (-j2).
set -uo pipefail
{ # The whole script is one block, read before it runs: editing it meanwhile cannot break a run.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
root=$(pwd)
jobs=2
steps=${PIPIT_STEPS:-build style asan fuzz}
fuzz_seconds=${PIPIT_FUZZ_SECONDS:-30}
start=$(date +%s)

passed=0
failed=0
results=()
record() {  # PASS|FAIL what
  if [ "$1" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  results+=("$1  $2")
  echo "test.sh: $1 $2"
}
banner() { printf '\n===== %s =====\n' "$*"; }
want() { [[ " $steps " == *" $1 "* ]]; }

if [ "${PIPIT_SKIP_DEPS:-0}" != 1 ]; then
  banner "dependencies"
  bash scripts/install-deps.sh || { echo "test.sh: installing dependencies failed" >&2; exit 1; }
fi

configure() {  # build-dir cmake-arguments...
  local dir=$1; shift
  local generator=()
  # Keep the generator of an existing tree; a new one gets Ninja.
  [ -f "$dir/CMakeCache.txt" ] || generator=(-G Ninja)
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
}

ctest_suite() {  # name build-dir cmake-arguments...
  local name=$1 dir=$2; shift 2
  banner "$name: configure and build in $dir"
  local t0=$SECONDS
  if ! configure "$dir" "$@"; then record FAIL "ctest $name (configure failed)"; return; fi
  local targets=()
  [ -n "${build_targets:-}" ] && targets=(--target ${build_targets})
  if ! cmake --build "$dir" -j "$jobs" "${targets[@]}"; then record FAIL "ctest $name (build failed)"; return; fi
  banner "$name: ctest"
  if (cd "$dir" && ctest --output-on-failure -j "$jobs" ${ctest_args:-}); then
    record PASS "ctest $name ($((SECONDS - t0)) s)"
  else
    record FAIL "ctest $name (tests failed, see above)"
  fi
}

# Sanitizer settings for the instrumented builds; a caller's own settings win.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

want build && ctest_suite build build

# The style check reads build/'s compilation database and dependency records (it configures
# build/ when the build step did not run).
if want style; then
  banner "style: clang-format-14 and clang-tidy-14 (scripts/check-style.sh)"
  t0=$SECONDS
  if PIPIT_BUILD_DIR=build PIPIT_JOBS=$jobs bash scripts/check-style.sh; then
    record PASS "style ($((SECONDS - t0)) s)"
  else
    record FAIL "style (clang-format or clang-tidy findings, see above)"
  fi
fi

# Under the sanitizers: the unit tests (every parser of untrusted bytes) and the server's tests;
# the end-to-end OpenJPEG/GDAL suites ran in the plain build and would only repeat it slowly.
# Only what those tests run is built (not the GDAL plugin), at -O1: the usual
# optimisation for sanitizer builds, and the longest step of CI compiles faster.
want asan && ctest_args="-LE integration|gdal|tools|install" \
  build_targets="pipit_core_tests pipit_server_tests pipit_client_tests pipit" \
  ctest_suite asan build-asan -DPIPIT_SANITIZE=ON -DPIPIT_BUILD_BENCH=OFF -DPIPIT_BUILD_VIEWER=OFF \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DCMAKE_C_FLAGS_DEBUG="-O1 -g"

fuzz() {
  local dir=build-fuzz names=() src
  for src in tests/*/*_fuzz.cpp; do
    [ -e "$src" ] && names+=("$(basename "$src" .cpp)")
  done
  banner "fuzz: configure and build ${names[*]:-(no targets yet)} in $dir with clang-14"
  if ! command -v clang++-14 >/dev/null 2>&1; then record FAIL "fuzz (clang++-14 not found)"; return; fi
  if ! configure "$dir" -DCMAKE_CXX_COMPILER=clang++-14 -DPIPIT_FUZZ=ON -DPIPIT_SANITIZE=ON \
      -DPIPIT_BUILD_BENCH=OFF -DPIPIT_BUILD_VIEWER=OFF; then
    record FAIL "fuzz (configure failed)"; return
  fi
  if [ ${#names[@]} -eq 0 ]; then echo "test.sh: no tests/fuzz/*_fuzz.cpp yet: nothing to fuzz"; return; fi
  if ! cmake --build "$dir" -j "$jobs" --target "${names[@]}"; then
    record FAIL "fuzz (build failed)"; return
  fi

  # Seeds: the small fixtures, the generated corpus, and a target's own seeds if it has some.
  local seeds=() name bin log
  [ -d tests/data ] && seeds+=("$root/tests/data")
  if [ -f build/corpus/MANIFEST.tsv ]; then
    seeds+=("$root/build/corpus")
  elif [ -f build-asan/corpus/MANIFEST.tsv ]; then
    seeds+=("$root/build-asan/corpus")
  else
    echo "test.sh: no generated corpus (build/corpus): fuzzing from tests/data only"
  fi
  mkdir -p "$dir/fuzz-corpus" "$dir/fuzz-artifacts" "$dir/fuzz-logs"
  for name in "${names[@]}"; do
    bin=$(find "$dir" -type f -name "$name" -perm -u+x | head -n 1)
    if [ -z "$bin" ]; then record FAIL "fuzz $name (executable not found)"; continue; fi
    local own=()
    [ -d "tests/fuzz/corpus/$name" ] && own=("$root/tests/fuzz/corpus/$name")
    mkdir -p "$dir/fuzz-corpus/$name"
    log=$dir/fuzz-logs/$name.log
    banner "fuzz: $name for ${fuzz_seconds} s (log: $log)"
    # The working corpus comes first: libFuzzer adds new inputs there, never to the seed folders.
    # ASan's quarantine of freed memory (256 MB by default) counts in the RSS that -rss_limit_mb
    # watches: with it a target that frees its 64 MB indexes sat at 509 MB and was killed as out
    # of memory by no allocation of its own; 64 MB of quarantine keeps the limit about the code.
    if ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=64" \
        timeout --kill-after=30 $((fuzz_seconds + 600)) "$bin" \
        -max_total_time="$fuzz_seconds" -timeout=30 -rss_limit_mb=512 -print_final_stats=1 \
        -artifact_prefix="$root/$dir/fuzz-artifacts/$name-" \
        "$root/$dir/fuzz-corpus/$name" "${own[@]}" "${seeds[@]}" >"$log" 2>&1; then
      record PASS "fuzz $name ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
        grep -o '[0-9]*$' || echo '?') runs in ${fuzz_seconds} s)"
      if [ "${PIPIT_FUZZ_MERGE:-0}" = 1 ]; then
        # Keep what the run found: the inputs that add coverage go into the target's seeds.
        mkdir -p "tests/fuzz/corpus/$name"
        "$bin" -merge=1 -timeout=30 -rss_limit_mb=512 "$root/tests/fuzz/corpus/$name" \
          "$root/$dir/fuzz-corpus/$name" >>"$log" 2>&1 &&
          echo "test.sh: merged new inputs of $name into tests/fuzz/corpus/$name (commit them)"
      fi
    else
      tail -n 60 "$log"
      record FAIL "fuzz $name (crash, leak or timeout: see $log and $dir/fuzz-artifacts/)"
      echo "test.sh: reproduce with $bin $dir/fuzz-artifacts/$name-<kind>-<hash>; once fixed, keep the"
      echo "         input in tests/fuzz/corpus/$name/ and add a unit test named after the bug"
    fi
  done
}
want fuzz && fuzz

banner "summary ($(($(date +%s) - start)) s)"
for r in "${results[@]}"; do echo "$r"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
exit 0
}
