#!/usr/bin/env bash
# make_terrain_codestreams.sh OUTDIR SIZE
#
# Writes two codestreams of bench/gdal_browse's "terrain" (a SIZE x SIZE RGB 8-bit image: smooth
# noise, ripples, 64-px blocks and grain; browse.py make-terrain) into OUTDIR and prints their
# paths, one per line (progress on stderr); files already there are reused:
#   terrain-SIZE.j2k      opj_compress: 1024x1024 tiles, 6 resolutions, 256x256 precincts, RPCL,
#                         3 layers (-r 20,5,1), 5/3, PLT
#   terrain-SIZE-ht.j2c   ojph_compress (HTJ2K): 1024x1024 tiles, 5 decompositions, RPCL, 5/3,
#                         one layer (OpenJPH 0.9 writes one)
# Needs /usr/bin/python3 with numpy and osgeo.gdal, gdal_translate, opj_compress, ojph_compress.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 OUTDIR SIZE" >&2; exit 2; }
outdir=$1 size=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
classic="$outdir/terrain-$size.j2k" ht="$outdir/terrain-$size-ht.j2c"
mkdir -p "$outdir"
if [[ ! -s "$classic" || ! -s "$ht" ]]; then
  tmp=$(mktemp -d "$outdir/.make.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "making $classic and $ht ..." >&2
  /usr/bin/python3 "$here/gdal_browse/browse.py" make-terrain "$tmp/terrain.tif" --size "$size"
  gdal_translate -q -of PNM "$tmp/terrain.tif" "$tmp/terrain.ppm"
  opj_compress -i "$tmp/terrain.ppm" -o "$tmp/c.j2k" -t 1024,1024 -n 6 -c '[256,256]' -p RPCL \
    -r 20,5,1 -PLT >/dev/null
  ojph_compress -i "$tmp/terrain.ppm" -o "$tmp/h.j2c" -reversible true -tile_size '{1024,1024}' \
    -num_decomps 5 -prog_order RPCL >/dev/null
  mv "$tmp/c.j2k" "$classic"
  mv "$tmp/h.j2c" "$ht"
fi
printf '%s\n%s\n' "$classic" "$ht"
