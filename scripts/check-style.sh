#!/usr/bin/env bash
# Pipit's style check: clang-format-14 and clang-tidy-14, both as errors. scripts/test.sh runs it
# as its "style" step; run it alone before sending a change.
#
#   bash scripts/check-style.sh            format: every tracked C++ file;
#                                          tidy: the files changed since the recorded base
#   bash scripts/check-style.sh --full     tidy: every translation unit of the tree
#   bash scripts/check-style.sh --full --advance-base
#                                          after a clean full run, record HEAD as the new base
#                                          (commit .ci/clang-tidy-base)
#
# Format: `clang-format-14 --dry-run --Werror` over every tracked *.cpp/*.hpp/*.h (the root
# .clang-format; src/gdal/ has its own). Fix with `clang-format-14 -i FILE`.
#
# Tidy: `clang-tidy-14` with the root .clang-tidy (src/gdal/.clang-tidy inside the driver), whose
# `WarningsAsErrors: '*'` makes any finding fail. It needs a configured tree's
# compile_commands.json: PIPIT_BUILD_DIR (default build/; configured here if it has none). A full
# run over the ~100 translation units takes several minutes on two cores, so by default only
# these are checked: the translation units changed since the commit in .ci/clang-tidy-base, and
# those that include a changed header (from the build tree's dependency records; when a header
# changed, a unit without a record, not built yet, is checked too). The base was checked in full, so a
# finding in an unchanged file cannot appear unless the toolchain changes. Without the base commit
# (a shallow clone) the check is full. Jobs: PIPIT_JOBS (default 2).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
root=$(pwd)

full=0
advance=0
for a in "$@"; do
  case $a in
    --full) full=1 ;;
    --advance-base) advance=1 ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "check-style.sh: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$advance" = 1 ] && [ "$full" = 0 ]; then
  echo "check-style.sh: --advance-base needs --full" >&2; exit 2
fi
build=${PIPIT_BUILD_DIR:-build}
jobs=${PIPIT_JOBS:-2}
base_file=.ci/clang-tidy-base
status=0

for tool in clang-format-14 clang-tidy-14; do
  command -v "$tool" >/dev/null || { echo "check-style.sh: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done

# ---- clang-format ---------------------------------------------------------------------------
mapfile -t cxx < <(git ls-files -- '*.cpp' '*.hpp' '*.h' '*.cc')
echo "check-style.sh: clang-format-14 on ${#cxx[@]} files"
if ! printf '%s\0' "${cxx[@]}" | xargs -0 -n 50 -P "$jobs" clang-format-14 --dry-run --Werror; then
  echo "check-style.sh: FAIL clang-format: run clang-format-14 -i on the files above" >&2
  status=1
fi

# ---- clang-tidy -----------------------------------------------------------------------------
if [ ! -f "$build/compile_commands.json" ]; then
  generator=()
  [ -f "$build/CMakeCache.txt" ] || generator=(-G Ninja)
  cmake -S . -B "$build" "${generator[@]}" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null ||
    { echo "check-style.sh: configuring $build failed" >&2; exit 1; }
fi
# Our translation units: tracked sources under src/ tests/ bench/ (nothing generated, nothing
# third-party), in the order of the compilation database.
mapfile -t units < <(python3 - "$build/compile_commands.json" "$root" <<'EOF'
import json, os, subprocess, sys
db, root = sys.argv[1], sys.argv[2]
tracked = set(subprocess.run(["git", "ls-files", "src", "tests", "bench"], capture_output=True,
                             text=True, cwd=root).stdout.split())
seen = []
for e in json.load(open(db)):
    f = os.path.relpath(os.path.join(e["directory"], e["file"]), root)
    if f in tracked and f not in seen:
        seen.append(f)
print("\n".join(seen))
EOF
)

select_changed() {  # prints the units to check; returns 1 when everything must be checked
  local base
  base=$(tr -d '[:space:]' <"$base_file" 2>/dev/null)
  if [ -z "$base" ] || ! git cat-file -e "$base^{commit}" 2>/dev/null; then
    echo "check-style.sh: base commit '${base:-none}' ($base_file) not in this clone: full check" >&2
    return 1
  fi
  local changed
  changed=$( (git diff --name-only "$base" -- src tests bench include; git ls-files --others --exclude-standard -- src tests bench include) | sort -u)
  # Any change to the checks themselves means a full run.
  if git diff --name-only "$base" -- .clang-tidy src/gdal/.clang-tidy | grep -q .; then
    echo "check-style.sh: .clang-tidy changed since $base: full check" >&2
    return 1
  fi
  local tmp
  tmp=$(mktemp -d)
  printf '%s\n' "${units[@]}" >"$tmp/units"
  printf '%s\n' "$changed" >"$tmp/changed"
  : >"$tmp/deps"
  if grep -qE '\.(hpp|h)$' "$tmp/changed"; then
    if ! [ -f "$build/build.ninja" ] || ! ninja -C "$build" -t deps >"$tmp/deps" 2>/dev/null ||
        ! [ -s "$tmp/deps" ]; then
      echo "check-style.sh: headers changed and $build has no dependency records yet: full check" >&2
      rm -rf "$tmp"
      return 1
    fi
  fi
  python3 - "$root" "$build" "$tmp" <<'EOF'
import os, sys
root, build, tmp = sys.argv[1:4]
units = open(os.path.join(tmp, "units")).read().split()
changed = set(open(os.path.join(tmp, "changed")).read().split())
headers = {h for h in changed if h.endswith((".hpp", ".h"))}
pick = {u for u in units if u in changed}
if headers:
    # ninja -t deps: "OBJECT: #deps N, ..." then one indented dependency per line, the unit first.
    obj_deps, cur = [], None
    for line in open(os.path.join(tmp, "deps")):
        if line.strip() and not line[0].isspace():
            cur = []
            obj_deps.append(cur)
        elif line.strip() and cur is not None:
            p = line.strip()
            p = os.path.normpath(p if os.path.isabs(p) else os.path.join(root, build, p))
            cur.append(os.path.relpath(p, root))
    recorded = set()
    for d in obj_deps:
        if d and d[0] in units:
            recorded.add(d[0])
            if headers.intersection(d[1:]):
                pick.add(d[0])
    pick.update(u for u in units if u not in recorded)  # not built yet: check it to be safe
print("\n".join(u for u in units if u in pick))
EOF
  rm -rf "$tmp"
}

if [ "$full" = 1 ]; then
  check=("${units[@]}")
elif picked=$(select_changed); then
  mapfile -t check < <(grep . <<<"$picked")
else
  check=("${units[@]}")
fi
echo "check-style.sh: clang-tidy-14 on ${#check[@]} of ${#units[@]} translation units ($build)"
t0=$SECONDS
if [ ${#check[@]} -gt 0 ]; then
  # One process per unit, PIPIT_JOBS at a time; each prints its findings and fails on one.
  if ! printf '%s\0' "${check[@]}" |
      xargs -0 -n 1 -P "$jobs" clang-tidy-14 -p "$build" --quiet 2> >(grep -v '^[0-9]* warnings\? generated\.$' >&2); then
    echo "check-style.sh: FAIL clang-tidy: findings above" >&2
    status=1
  fi
fi
echo "check-style.sh: clang-tidy took $((SECONDS - t0)) s"

if [ "$status" = 0 ] && [ "$advance" = 1 ]; then
  if [ -n "$(git status --porcelain -- src tests bench include)" ]; then
    echo "check-style.sh: uncommitted changes: commit first, then advance the base" >&2
    exit 1
  fi
  git rev-parse HEAD >"$base_file"
  echo "check-style.sh: $base_file is now $(cat "$base_file"): commit it"
fi
[ "$status" = 0 ] && echo "check-style.sh: PASS"
exit "$status"
