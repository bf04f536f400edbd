#!/usr/bin/env bash
# make_big_codestream.sh OUTDIR [SIZE]
#
# Writes two JPEG 2000 codestreams of the same synthetic image into OUTDIR, for index_bench:
#   bench-SIZE-plt.j2k     with PLT markers in every tile-part header (opj_compress -PLT)
#   bench-SIZE-noplt.j2k   the same encoding without PLT
# and prints their paths, one per line, on stdout (progress goes to stderr).
#
# SIZE is the side of the square RGB 8-bit image in pixels: 6656 by default (133 MB of samples,
# about 112 MB per codestream: each is >= 100 MB), 2048 in the small mode (about 10 MB), chosen
# by PIPIT_BENCH_SMALL=1 or CI=true. Files already in OUTDIR are reused, not regenerated.
#
# The image is bench/make_ppm.py's, deterministic: smooth gradients (R along x, G along y, B
# diagonal) xor 6 bits of SHAKE-128 noise, so lossless coding keeps about 0.85 of the sample
# bytes instead of compressing to nothing. Encoding: 1024x1024 tiles, 6 resolutions, 256x256 precincts, RPCL, 64x64 code-blocks,
# 3 quality layers (rates 20, 5, then lossless), reversible 5-3 wavelet.
# Needs /usr/bin/python3 and opj_compress (Debian: libopenjp2-tools).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 OUTDIR [SIZE]" >&2
  exit 2
fi
outdir=$1
if [[ "${PIPIT_BENCH_SMALL:-0}" == 1 || "${CI:-false}" == true ]]; then
  default_size=2048
else
  default_size=6656
fi
size=${2:-$default_size}
if ! [[ "$size" =~ ^[0-9]+$ ]] || ((size < 256)); then
  echo "$0: SIZE must be an integer >= 256 (pixels)" >&2
  exit 2
fi
command -v opj_compress >/dev/null || { echo "$0: opj_compress not found (apt-get install libopenjp2-tools)" >&2; exit 1; }

mkdir -p "$outdir"
plt="$outdir/bench-$size-plt.j2k"
noplt="$outdir/bench-$size-noplt.j2k"

if [[ -s "$plt" && -s "$noplt" ]]; then
  echo "reusing $plt and $noplt" >&2
  printf '%s\n%s\n' "$plt" "$noplt"
  exit 0
fi

tmp=$(mktemp -d "$outdir/.make.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ppm="$tmp/image.ppm"

echo "generating a ${size}x${size} RGB image" >&2
/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/make_ppm.py" "$size" "$size" 6 "$ppm"

threads=()
help=$(opj_compress -h 2>&1 || true)  # no `| grep -q`: SIGPIPE would fail under pipefail
if [[ "$help" == *-threads* ]]; then
  threads=(-threads "$(nproc 2>/dev/null || echo 2)")
fi
common=(-i "$ppm" -t 1024,1024 -n 6 -c '[256,256]' -p RPCL -b 64,64 -r 20,5,1 "${threads[@]}")

encode() {  # encode OUT [extra opj_compress options...]
  local out=$1
  shift
  local start=$SECONDS
  echo "encoding $out ..." >&2
  opj_compress "${common[@]}" -o "$tmp/out.j2k" "$@" >"$tmp/opj.log" 2>&1 ||
    { cat "$tmp/opj.log" >&2; exit 1; }
  mv "$tmp/out.j2k" "$out"
  echo "  $(stat -c %s "$out") bytes in $((SECONDS - start)) s" >&2
}
[[ -s "$plt" ]] || encode "$plt" -PLT
[[ -s "$noplt" ]] || encode "$noplt"

for f in "$plt" "$noplt"; do
  bytes=$(stat -c %s "$f")
  if ((size >= 6656 && bytes < 100000000)); then
    echo "$0: warning: $f is only $bytes bytes (< 100 MB)" >&2
  fi
done
printf '%s\n%s\n' "$plt" "$noplt"
