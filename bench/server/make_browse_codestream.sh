#!/usr/bin/env bash
# make_browse_codestream.sh OUTDIR WIDTH HEIGHT
#
# Writes OUTDIR/browse-WIDTHxHEIGHT.j2k, the codestream of the server's small-response workload,
# and prints its path (progress goes to stderr); a file already there is reused. The picture is
# bench/make_ppm.py's (gradients xor 6 bits of noise); the coding is that of a typical browse file:
# one tile, 9/7 wavelet, 6 resolutions, 256x256 precincts, RPCL, 64x64 code-blocks, PLT, 5 quality
# layers (compression ratios 64, 32, 16, 8, 4). At 6007x4001 the file is ~18 MB, and a random
# 512x512 window at scale 1, 1/2, 1/4 or 1/8 is a response of ~140 KB on average.
# Needs /usr/bin/python3 and opj_compress (Debian: libopenjp2-tools).
set -euo pipefail
if [[ $# -ne 3 ]]; then
  echo "usage: $0 OUTDIR WIDTH HEIGHT" >&2
  exit 2
fi
outdir=$1 width=$2 height=$3
for v in "$width" "$height"; do
  [[ "$v" =~ ^[0-9]+$ ]] && ((v >= 64)) || { echo "$0: WIDTH and HEIGHT must be integers >= 64" >&2; exit 2; }
done
command -v opj_compress >/dev/null || { echo "$0: opj_compress not found (apt-get install libopenjp2-tools)" >&2; exit 1; }
mkdir -p "$outdir"
out="$outdir/browse-${width}x${height}.j2k"
if [[ -s "$out" ]]; then
  echo "$out"
  exit 0
fi
tmp=$(mktemp -d "$outdir/.make.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "making $out ..." >&2
/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/../make_ppm.py" "$width" "$height" 6 "$tmp/image.ppm"
opj_compress -i "$tmp/image.ppm" -o "$tmp/out.j2k" -I -n 6 -c '[256,256]' -p RPCL -b 64,64 \
  -r 64,32,16,8,4 -PLT >"$tmp/opj.log" 2>&1 || { cat "$tmp/opj.log" >&2; exit 1; }
mv "$tmp/out.j2k" "$out"
echo "$out"
