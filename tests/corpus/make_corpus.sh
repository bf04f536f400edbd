#!/usr/bin/env bash
# Generates Pipit's test corpus of small JPEG 2000 files.
#
#   bash tests/corpus/make_corpus.sh OUTDIR
#
# Every file is made here, deterministically, from synthetic images this script writes itself, by
# opj_compress (OpenJPEG 2.5), ojph_compress (OpenJPH, HTJ2K) and gdal_translate -of JP2OpenJPEG
# (GeoJP2 / GMLJP2). OUTDIR/MANIFEST.tsv gets one line per file: its name, a TAB, then the command
# that made it, what it covers, and the facts checked in it ("[checked: ...]").
#
# Each file is checked after it is made: its boxes and markers are parsed and compared with what its
# options promise (a file said to have PLT has PLT, one said not to has none; progression, layers,
# tiles, tile-parts, components, bit depth...); it must decode with opj_decompress, and those said
# to be lossless must decode to exactly their source pixels; gdalinfo must read every JP2 (and see
# the georeferencing where there is some). Any failure stops the script with a non-zero status.
#
# Idempotent: does nothing when OUTDIR/MANIFEST.tsv is newer than this script. Images stay within
# 512x512 so the whole corpus builds in a few seconds. Never uses a `python3` found on PATH: only
# Debian's /usr/bin/python3 has python3-gdal.
set -euo pipefail
{ # The whole script is one block, read before it runs: editing it meanwhile cannot break a run.

die() { echo "make_corpus: error: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
out=$1
self=${BASH_SOURCE[0]}
if [ -f "$out/MANIFEST.tsv" ] && [ "$out/MANIFEST.tsv" -nt "$self" ]; then
  echo "make_corpus: $out is up to date ($(wc -l <"$out/MANIFEST.tsv") files)"
  # The damaged files follow their own script.
  damaged_py=$(dirname "$self")/make_damaged.py
  if ! [ "$out/damaged/MANIFEST.tsv" -nt "$damaged_py" ]; then
    /usr/bin/python3 "$damaged_py" "$out" || die "make_damaged.py failed"
  fi
  exit 0
fi

PY=/usr/bin/python3
for tool in opj_compress opj_decompress ojph_compress gdal_translate gdalinfo "$PY"; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' not found: run scripts/install-deps.sh" \
      "(libopenjp2-tools openjph-tools gdal-bin python3-gdal python3-numpy)"
done
"$PY" -c 'import numpy; from osgeo import gdal' 2>/dev/null ||
  die "$PY cannot import numpy and osgeo.gdal; install python3-numpy python3-gdal"

export GDAL_PAM_ENABLED=NO  # no .aux.xml files beside the outputs
start=$(date +%s)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pipit-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -f "$out"/MANIFEST.tsv "$out"/*.j2k "$out"/*.j2c "$out"/*.jp2

# ---------------------------------------------------------------------------------------------
# 1. Synthetic inputs. A texture (triangle waves + rings + gradient + 16-px blocks + fixed-seed LCG
#    noise), different per component, scaled to the bit depth so that no bit-plane is empty.
# ---------------------------------------------------------------------------------------------
cat >"$work/gen.py" <<'PYEOF'
import sys
import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
N = 1 << 19
_noise = np.empty(N, dtype=np.uint32)
s = 20240531
for i in range(N):                      # fixed-seed LCG (Numerical Recipes constants)
    s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
    _noise[i] = s >> 8

def tri(t, period):                     # integer triangle wave, 0 .. period/2
    return np.abs(t % period - period // 2)

def plane(w, h, c, bits, signed=False):
    # Integer arithmetic only (np.sqrt is correctly rounded), so the bytes are the same anywhere.
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    n = _noise[(y * w + x + c * 7919) % N].astype(np.int64)
    r = np.sqrt((x - w * (c + 1) // 4) ** 2 + (y - h // 2) ** 2).astype(np.int64)
    waves = tri(x * (2 + c) + y * (3 - c), 96) * 2 + tri(r * (c + 2), 40) * 2
    grad = (x * (c + 1) + y * 2) * 64 // (w * (c + 1) + h * 2)
    blocks = (((x >> 4) * (3 + c)) ^ ((y >> 4) * (5 + 2 * c))) & 7   # hard edges every 16 px
    v8 = np.clip(waves + grad + blocks * 6 + (n & 3), 0, 255)
    if bits > 8:                        # low bit-planes: a fine ramp plus 2 bits of noise
        low = tri(x * 3 + y * 5, 1 << (bits - 7)) + ((n >> 4) & 3)
        low = np.minimum(low, (1 << (bits - 8)) - 1)
        v = v8 << (bits - 8) | low
    else:
        v = v8
    return v - (1 << (bits - 1)) if signed else v

def pnm(path, w, h, ncomp, bits):
    maxval = (1 << bits) - 1
    data = np.stack([plane(w, h, c, bits) for c in range(ncomp)], axis=-1)
    with open(path, "wb") as f:
        f.write(b"P%d\n%d %d\n%d\n" % (5 if ncomp == 1 else 6, w, h, maxval))
        f.write(data.astype(">u2" if bits > 8 else "u1").tobytes())

def raw(path, w, h, ncomp, bits, signed, sub=None):
    # opj_compress .raw: planar, big-endian, 1 byte per sample up to 8 bits, else 2 bytes.
    sub = sub or [(1, 1)] * ncomp
    dt = (">i2" if signed else ">u2") if bits > 8 else ("i1" if signed else "u1")
    with open(path, "wb") as f:
        for c, (dx, dy) in enumerate(sub):
            f.write(plane(w // dx, h // dy, c, bits, signed).astype(dt).tobytes())

def geotiff(path, w, h, nbands, dtype, epsg, gt, alpha=False):
    bits, signed = {gdal.GDT_Byte: (8, False), gdal.GDT_UInt16: (16, False),
                    gdal.GDT_Int16: (16, True)}[dtype]
    opts = ["PHOTOMETRIC=RGB", "ALPHA=YES"] if alpha else []
    ds = gdal.GetDriverByName("GTiff").Create(path, w, h, nbands, dtype, opts)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    ds.SetProjection(srs.ExportToWkt())
    ds.SetGeoTransform(gt)
    for b in range(nbands):
        ds.GetRasterBand(b + 1).WriteArray(plane(w, h, b, bits, signed))
    ds = None

d = sys.argv[1]
pnm(f"{d}/g8.pgm", 256, 256, 1, 8)
pnm(f"{d}/g8_odd.pgm", 301, 205, 1, 8)
pnm(f"{d}/g12.pgm", 256, 256, 1, 12)
pnm(f"{d}/g16.pgm", 256, 256, 1, 16)
pnm(f"{d}/rgb8.ppm", 256, 256, 3, 8)
pnm(f"{d}/rgb8_big.ppm", 512, 384, 3, 8)
raw(f"{d}/g8s.raw", 256, 256, 1, 8, True)
raw(f"{d}/g12s.raw", 256, 256, 1, 12, True)
raw(f"{d}/g16s.raw", 256, 256, 1, 16, True)
raw(f"{d}/rgba8.raw", 256, 256, 4, 8, False)
raw(f"{d}/c4_16.raw", 128, 128, 4, 16, False)
raw(f"{d}/yuv420.raw", 256, 256, 3, 8, False, [(1, 1), (2, 2), (2, 2)])
raw(f"{d}/sub2.raw", 256, 256, 2, 8, False, [(1, 1), (2, 2)])
raw(f"{d}/yuv422_12.raw", 256, 192, 3, 12, False, [(1, 1), (2, 1), (2, 1)])
utm = (500000.0, 10.0, 0.0, 4600000.0, 0.0, -10.0)      # EPSG:32631, 10 m pixels
ll = (2.0, 0.001, 0.0, 49.0, 0.0, -0.001)                # EPSG:4326
geotiff(f"{d}/geo_rgb8.tif", 256, 256, 3, gdal.GDT_Byte, 32631, utm)
geotiff(f"{d}/geo_u16.tif", 320, 256, 1, gdal.GDT_UInt16, 4326, ll)
geotiff(f"{d}/geo_i16.tif", 256, 200, 1, gdal.GDT_Int16, 32631, utm)
geotiff(f"{d}/geo_rgba8.tif", 256, 256, 4, gdal.GDT_Byte, 3857,
        (250000.0, 5.0, 0.0, 6250000.0, 0.0, -5.0), alpha=True)
PYEOF
"$PY" "$work/gen.py" "$work" || die "input generation failed"

# ---------------------------------------------------------------------------------------------
# 2. The corpus. Each maker takes: output name, description, expectations (checked in step 3),
#    input image, then the tool's arguments. The inputs (all made by gen.py above):
#      g8.pgm 256x256 8-bit, g8_odd.pgm 301x205, g12.pgm / g16.pgm 256x256 12 / 16-bit,
#      rgb8.ppm 256x256, rgb8_big.ppm 512x384; big-endian planar raw: g8s / g12s / g16s.raw
#      signed 256x256, rgba8.raw 4x8-bit 256x256, c4_16.raw 4x16-bit 128x128, yuv420.raw,
#      sub2.raw (2 components, the second 2x2), yuv422_12.raw 256x192; GeoTIFFs geo_rgb8.tif,
#      geo_u16.tif 320x256, geo_i16.tif 256x200, geo_rgba8.tif (alpha).
#    Expectations: prog=P layers=N tiles=N ncomp=N depth=N signed
#    unsigned tp (some tile has several tile-parts) precincts sub (subsampled component) rev irr
#    res=N cblk=WxH cbstyle=N geojp2 gmljp2, lossless (decodes to exactly the input's pixels),
#    and each marker that must be present among POC PLT TLM SOP EPH RGN CAP (HTJ2K); those
#    markers not listed must be absent.
# ---------------------------------------------------------------------------------------------
manifest=$work/MANIFEST.tsv
expects=$work/expect.tsv
: >"$manifest"
: >"$expects"

record() {  # name description expectations input
  [[ "$2$3" != *[$'\t\n']* ]] || die "tab or newline in the description of $1"
  printf '%s\t%s [checked: %s]\n' "$1" "$2" "$3" >>"$manifest"
  printf '%s\t%s\t%s\n' "$1" "$3" "$4" >>"$expects"
}

run_tool() {  # name tool args...
  local name=$1; shift
  if ! "$@" >"$work/log" 2>&1; then
    cat "$work/log" >&2
    die "$name: '$*' failed"
  fi
  [ -s "$out/$name" ] || { cat "$work/log" >&2; die "$name: '$1' wrote nothing"; }
}

opj() {  # name description expectations input opj_compress-options...
  local name=$1 desc=$2 exp=$3 input=$4; shift 4
  run_tool "$name" opj_compress -i "$work/$input" -o "$out/$name" "$@"
  record "$name" "opj_compress -i $input $* ($desc)" "$exp" "$input"
}

ojph() {  # name description expectations input ojph_compress-options...
  local name=$1 desc=$2 exp=$3 input=$4; shift 4
  run_tool "$name" ojph_compress -i "$work/$input" -o "$out/$name" "$@"
  record "$name" "ojph_compress -i $input $* ($desc)" "$exp" "$input"
}

gdaljp2() {  # name description expectations input gdal_translate-options...
  local name=$1 desc=$2 exp=$3 input=$4; shift 4
  run_tool "$name" gdal_translate -q -of JP2OpenJPEG "$@" "$work/$input" "$out/$name"
  record "$name" "gdal_translate -of JP2OpenJPEG $* $input ($desc)" "$exp" "$input"
}

# Progression orders: RGB 256x256, 3 layers, 32x32 precincts, 16x16 code-blocks, untiled.
for p in LRCP RLCP RPCL PCRL CPRL; do
  opj "prog_${p,,}.j2k" "$p progression, 3 layers, precincts, lossless RGB 8-bit" \
    "prog=$p layers=3 tiles=1 ncomp=3 depth=8 precincts cblk=16x16 rev lossless" \
    rgb8.ppm -p "$p" -n 5 -r 40,10,1 -c '[32,32]' -b 16,16
done

# Progression order changes.
# (opj_compress 2.5.0 writes POC in the first tile-part header and a tile-part per POC entry;
# entries split by layer, like T1=0,0,1,5,3,CPRL/T1=0,0,3,5,3,LRCP, lose every later packet, so
# these split by resolution and component.)
opj poc.j2k "POC: resolutions 0-2 in RPCL, then 3-4 in CPRL, 3 layers" \
  "POC layers=3 ncomp=3 tiles=1 tp lossless" \
  rgb8.ppm -n 5 -r 40,10,1 -c '[64,64]' -POC 'T1=0,0,3,3,3,RPCL/T1=3,0,3,5,3,CPRL'
opj poc_tiled.j2k "POC in tile 2 only (resolutions 0-1 LRCP, then 2-3 RLCP), 4 tiles, else RPCL" \
  "POC prog=RPCL layers=2 tiles=4 tp lossless" \
  g8.pgm -p RPCL -t 128,128 -n 4 -r 20,1 -POC 'T2=0,0,2,2,1,LRCP/T2=2,0,2,4,1,RLCP'

# Tiles, origins, tile-parts.
opj untiled.j2k "one tile, default 6 resolutions, 1 layer, lossless gray" \
  "tiles=1 layers=1 ncomp=1 depth=8 res=6 rev unsigned lossless" g8.pgm
opj tiled_odd.j2k "301x205 in 128x128 tiles: 3x2 tiles with partial edge tiles" \
  "tiles=6 layers=1 ncomp=1 lossless" g8_odd.pgm -t 128,128 -n 4
opj tiled_offset.j2k "image origin (17,9) and tile origin (5,3) on the reference grid, 64x64 tiles" \
  "tiles=25 ncomp=1 layers=2 lossless" g8.pgm -d 17,9 -T 5,3 -t 64,64 -n 4 -r 10,1
opj tp_r.j2k "512x384 in 256x256 tiles, one tile-part per resolution (-TP R)" \
  "tp tiles=4 layers=3 ncomp=3 precincts" \
  rgb8_big.ppm -t 256,256 -n 5 -r 60,20,4 -c '[64,64]' -p RPCL -TP R
opj tp_c.j2k "128x128 tiles, one tile-part per component (-TP C), CPRL" \
  "tp tiles=4 prog=CPRL ncomp=3 lossless" rgb8.ppm -t 128,128 -n 4 -p CPRL -TP C
opj tp_l.j2k "one tile-part per layer (-TP L), LRCP, 4 layers" \
  "tp tiles=1 prog=LRCP layers=4 lossless" g8.pgm -r 80,40,10,1 -TP L
opj tp_r_plt_tlm.j2k "tile-parts per resolution with PLT in every tile-part and TLM" \
  "tp tiles=4 PLT TLM layers=3" \
  rgb8_big.ppm -t 256,256 -n 5 -r 60,20,4 -c '[64,64]' -p RPCL -TP R -PLT -TLM

# Precincts and code-blocks.
opj precincts_multi.j2k "per-resolution precincts 128,64,32 (halving below), RPCL, 512x384" \
  "precincts prog=RPCL layers=2 ncomp=3" \
  rgb8_big.ppm -p RPCL -n 6 -r 20,4 -c '[128,128],[64,64],[32,32]'
opj precincts_tiled_pcrl.j2k "64x64 precincts inside 128x128 tiles, PCRL, 32x32 code-blocks" \
  "precincts prog=PCRL tiles=6 cblk=32x32 lossless" \
  g8_odd.pgm -p PCRL -t 128,128 -n 4 -c '[64,64]' -b 32,32 -r 30,1
opj cblk_64x16.j2k "non-square 64x16 code-blocks" "cblk=64x16 ncomp=1" g8.pgm -b 64,16 -r 10
opj res1.j2k "a single resolution (no wavelet decomposition)" "res=1 layers=1 lossless" g8.pgm -n 1

# Layers.
opj layers1_lossy.j2k "1 layer, lossy 9/7 at ratio 20" "layers=1 irr" g8.pgm -I -r 20
opj layers12.j2k "12 quality layers ending lossless, RPCL, precincts" \
  "layers=12 prog=RPCL precincts rev ncomp=3 lossless" \
  rgb8.ppm -p RPCL -c '[64,64]' -r 200,150,100,80,60,40,30,20,15,10,5,1

# Marker options, alone and together.
opj plt.j2k "PLT packet lengths, RPCL, precincts" "PLT layers=2 precincts lossless" \
  g8.pgm -p RPCL -c '[64,64]' -r 20,1 -PLT
opj tlm.j2k "TLM tile-part lengths, 4 tiles" "TLM tiles=4 lossless" g8.pgm -t 128,128 -TLM
opj sop.j2k "SOP before every packet, 3 layers" "SOP layers=3 lossless" g8.pgm -r 40,10,1 -SOP
opj eph.j2k "EPH after every packet header, 3 layers" "EPH layers=3 lossless" g8.pgm -r 40,10,1 -EPH
opj sop_eph_tiled.j2k "SOP and EPH, 4 tiles, RLCP, PLT" "SOP EPH PLT tiles=4 prog=RLCP lossless" \
  rgb8.ppm -t 128,128 -p RLCP -n 4 -r 30,10,1 -SOP -EPH -PLT
opj roi_rgn.j2k "RGN marker (-ROI upshift of component 0)" "RGN ncomp=3 lossless" \
  rgb8.ppm -ROI c=0,U=5 -r 20,1

# Lossy variants.
opj lossy_97_rgb.j2k "irreversible 9/7, ratios 50,20,8" "irr layers=3 ncomp=3" \
  rgb8.ppm -I -r 50,20,8
opj lossy_psnr.j2k "irreversible 9/7, PSNR layers 30,38,45 dB" "irr layers=3" \
  g8.pgm -I -q 30,38,45

# Components: 4 (RGBA, RGB->YCC on the first three), 4 x 16-bit without MCT.
opj rgba8.j2k "4 components 8-bit (RGBA), 2 layers" "ncomp=4 depth=8 layers=2 lossless" \
  rgba8.raw -F 256,256,4,8,u -r 20,1
opj c4_16.j2k "4 components 16-bit, no MCT, RPCL" "ncomp=4 depth=16 prog=RPCL lossless" \
  c4_16.raw -F 128,128,4,16,u -mct 0 -p RPCL -n 4

# Bit depths and signedness (1 component, lossless unless said).
opj g8s.j2k "8-bit signed" "depth=8 signed ncomp=1 lossless" g8s.raw -F 256,256,1,8,s
opj g12u.j2k "12-bit unsigned (PGM maxval 4095)" "depth=12 unsigned lossless" g12.pgm
opj g12s.j2k "12-bit signed, 3 layers" "depth=12 signed layers=3 lossless" \
  g12s.raw -F 256,256,1,12,s -r 30,10,1
opj g16u.j2k "16-bit unsigned, lossless" "depth=16 unsigned rev lossless" g16.pgm
opj g16s.j2k "16-bit signed, lossless" "depth=16 signed rev lossless" g16s.raw -F 256,256,1,16,s
opj g16u_lossy.j2k "16-bit unsigned, 9/7 lossy, 2 layers, PCRL, 32x32 precincts" \
  "depth=16 irr layers=2 prog=PCRL precincts" g16.pgm -I -r 30,10 -p PCRL -c '[32,32]'

# Subsampled components. (The 3-component ones are not checked against their source:
# opj_decompress turns every 3-component subsampled image into RGB as if it were sYCC.)
opj yuv420.j2k "3 components, 4:2:0 subsampling (1x1, 2x2, 2x2), RPCL, precincts" \
  "sub ncomp=3 prog=RPCL precincts" \
  yuv420.raw -F 256,256,3,8,u@1x1:2x2:2x2 -p RPCL -c '[64,64]' -n 5 -r 20,1
opj sub2_tiled.j2k "2 components, the second 2x2 subsampled, 4 tiles, RPCL, precincts" \
  "sub ncomp=2 tiles=4 prog=RPCL precincts lossless" \
  sub2.raw -F 256,256,2,8,u@1x1:2x2 -t 128,128 -p RPCL -c '[32,32]' -n 4 -r 20,1
opj yuv422_12_tiled.j2k "3 components 12-bit, 4:2:2 (2x1) subsampling, 4 tiles, PLT" \
  "sub ncomp=3 depth=12 tiles=4 PLT" \
  yuv422_12.raw -F 256,192,3,12,u@1x1:2x1:2x1 -t 128,96 -n 4 -PLT

# Code-block coding styles (-M).
opj mode_bypass.j2k "code-block style BYPASS (1), lossy, 3 layers" "cbstyle=1 layers=3" \
  g8.pgm -M 1 -I -r 40,15,5
opj mode_reset_termall.j2k "code-block style RESET+RESTART/TERMALL (2+4), 2 layers" \
  "cbstyle=6 layers=2 lossless" g8.pgm -M 6 -r 20,1
opj mode_all.j2k "all code-block styles BYPASS+RESET+TERMALL+VSC+ERTERM+SEGMARK (63), RPCL" \
  "cbstyle=63 prog=RPCL layers=3 ncomp=3 lossless" rgb8.ppm -M 63 -p RPCL -r 40,10,1

# JP2 wrappers from opj_compress.
opj rgb8.jp2 "JP2, RGB 8-bit, RPCL, 3 layers, precincts" \
  "prog=RPCL layers=3 ncomp=3 precincts lossless" \
  rgb8.ppm -p RPCL -r 40,10,1 -c '[64,64]'
opj rgba8.jp2 "JP2, 4 components" "ncomp=4 lossless" rgba8.raw -F 256,256,4,8,u
opj g16u.jp2 "JP2, 16-bit gray, tiled, PLT, TLM, SOP" "depth=16 tiles=4 PLT TLM SOP lossless" \
  g16.pgm -t 128,128 -PLT -TLM -SOP
opj yuv420.jp2 "JP2 with 4:2:0 subsampled components" "sub ncomp=3" \
  yuv420.raw -F 256,256,3,8,u@1x1:2x2:2x2

# HTJ2K (OpenJPH 0.9.0: CAP marker, HT code-blocks). Its precincts list starts at the coarsest level.
ojph ht_default.j2c "HTJ2K, defaults: RPCL, 9/7 lossy, 5 decompositions" \
  "CAP prog=RPCL irr ncomp=1" \
  g8.pgm
ojph ht_lossless_rgb.j2c "HTJ2K, reversible 5/3, RGB" "CAP rev ncomp=3 lossless" \
  rgb8.ppm -reversible true
ojph ht_lrcp.j2c "HTJ2K, LRCP, reversible, 301x205" "CAP prog=LRCP rev lossless" \
  g8_odd.pgm -prog_order LRCP -reversible true
ojph ht_tiled.j2c "HTJ2K, 128x128 tiles, CPRL, 4 decompositions" "CAP prog=CPRL tiles=12" \
  rgb8_big.ppm -tile_size '{128,128}' -prog_order CPRL -num_decomps 4 -qstep 0.02
ojph ht_precincts.j2c "HTJ2K, precincts 16,32,64 then 128 from the coarsest level, PCRL, tiled" \
  "CAP prog=PCRL precincts tiles=4 rev lossless" \
  rgb8.ppm -precincts '{16,16},{32,32},{64,64},{128,128}' -prog_order PCRL -tile_size '{128,128}' \
  -reversible true
ojph ht_g16.j2c "HTJ2K, 16-bit gray, reversible" "CAP depth=16 rev lossless" g16.pgm -reversible true

# JP2 with georeferencing from GDAL's JP2OpenJPEG driver (GeoTIFFs written by gen.py).
gdaljp2 geo_geojp2.jp2 "GeoJP2 UUID box only, EPSG:32631, RGB 8-bit, lossless" \
  "geojp2 ncomp=3 depth=8 rev lossless" \
  geo_rgb8.tif -co GeoJP2=YES -co GMLJP2=NO -co REVERSIBLE=YES -co QUALITY=100
gdaljp2 geo_gmljp2.jp2 "GMLJP2 v1 asoc box only, EPSG:32631, RGB 8-bit, lossy" \
  "gmljp2 ncomp=3" geo_rgb8.tif -co GeoJP2=NO -co GMLJP2=YES -co QUALITY=20
gdaljp2 geo_both_tiled.jp2 "GeoJP2 + GMLJP2 v2, 128x128 tiles, RPCL, 4 resolutions, 3 layers" \
  "geojp2 gmljp2 tiles=4 prog=RPCL res=4 layers=3" \
  geo_rgb8.tif -co GMLJP2V2_DEF=YES -co BLOCKXSIZE=128 -co BLOCKYSIZE=128 -co PROGRESSION=RPCL \
  -co RESOLUTIONS=4 -co QUALITY=10,30,50
gdaljp2 geo_u16.jp2 "16-bit gray, EPSG:4326, lossless, Geo+GML, PLT, TLM, tile-parts per resolution" \
  "geojp2 gmljp2 depth=16 unsigned rev PLT TLM tp tiles=6 res=4 prog=RPCL lossless" \
  geo_u16.tif -co REVERSIBLE=YES -co QUALITY=100 -co BLOCKXSIZE=128 -co BLOCKYSIZE=128 \
  -co RESOLUTIONS=4 -co PLT=YES -co TLM=YES -co TILEPARTS=RESOLUTIONS -co PROGRESSION=RPCL
gdaljp2 geo_i16_after.jp2 "16-bit signed, EPSG:32631, geo boxes after the codestream, SOP+EPH" \
  "geojp2 gmljp2 depth=16 signed SOP EPH res=4" \
  geo_i16.tif -co RESOLUTIONS=4 -co GEOBOXES_AFTER_JP2C=YES -co SOP=YES -co EPH=YES -co QUALITY=30
gdaljp2 geo_rgba4.jp2 "4 bands RGBA (alpha), EPSG:3857, GeoJP2+GMLJP2, precincts, CPRL" \
  "geojp2 gmljp2 ncomp=4 depth=8 prog=CPRL precincts" \
  geo_rgba8.tif -co PROGRESSION=CPRL -co 'PRECINCTS={64,64},{32,32}' -co QUALITY=40

# ---------------------------------------------------------------------------------------------
# 3. Checks: markers against expectations, decoding, gdalinfo.
# ---------------------------------------------------------------------------------------------
cat >"$work/check.py" <<'PYEOF'
"""Parses each corpus file's boxes and codestream markers and checks them against expect.tsv;
compares the decoded pixels of each file said to be lossless with its source image."""
import os, struct, sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()

GEOJP2_UUID = bytes.fromhex("b14bf8bd083d4b43a5ae8cd7d5a6ce03")
NAMES = {0xFF5F: "POC", 0xFF58: "PLT", 0xFF55: "TLM", 0xFF5E: "RGN", 0xFF50: "CAP",
         0xFF60: "PPM", 0xFF61: "PPT"}
PROGS = ["LRCP", "RLCP", "RPCL", "PCRL", "CPRL"]

def boxes(data, off, end):
    while off + 8 <= end:
        length, kind = struct.unpack(">I4s", data[off:off + 8])
        head = 8
        if length == 1:
            length, head = struct.unpack(">Q", data[off + 8:off + 16])[0], 16
        elif length == 0:
            length = end - off
        if length < head or off + length > end:
            raise ValueError(f"bad box {kind!r} at {off}")
        yield kind, data[off + head:off + length]
        off += length

def parse(path):
    data = open(path, "rb").read()
    facts = {"markers": set(), "geojp2": False, "gmljp2": False}
    cs = data
    if data[4:8] == b"jP  ":
        cs = None
        for kind, body in boxes(data, 0, len(data)):
            if kind == b"jp2c":
                cs = body
            elif kind == b"uuid" and body[:16] == GEOJP2_UUID:
                facts["geojp2"] = True
            elif kind == b"asoc" and b"gml.data" in body:
                facts["gmljp2"] = True
        if cs is None:
            raise ValueError("no jp2c box")
    u16 = lambda p: struct.unpack(">H", cs[p:p + 2])[0]
    if u16(0) != 0xFF4F:
        raise ValueError("no SOC")
    pos = 2
    while u16(pos) != 0xFF90:                    # main header, up to the first SOT
        m, ln = u16(pos), u16(pos + 2)
        seg = cs[pos + 4:pos + 2 + ln]
        facts["markers"].add(NAMES.get(m, hex(m)))
        if m == 0xFF51:                          # SIZ
            (rsiz, xs, ys, xo, yo, xt, yt, xto, yto, csiz) = struct.unpack(">H8IH", seg[:36])
            comps = [struct.unpack(">3B", seg[36 + 3 * i:39 + 3 * i]) for i in range(csiz)]
            facts.update(ncomp=csiz, depth={(s & 0x7F) + 1 for s, _, _ in comps},
                         signed={bool(s & 0x80) for s, _, _ in comps},
                         sub=any(dx > 1 or dy > 1 for _, dx, dy in comps),
                         planes=[(-(-xs // dx) - -(-xo // dx), -(-ys // dy) - -(-yo // dy),
                                  (s & 0x7F) + 1, bool(s & 0x80)) for s, dx, dy in comps],
                         tiles=-(-(xs - xto) // xt) * -(-(ys - yto) // yt))
        elif m == 0xFF52:                        # COD
            scod, prog, layers, _mct, levels, xcb, ycb, style, transform = \
                struct.unpack(">BBHBBBBBB", seg[:10])
            facts.update(prog=PROGS[prog], layers=layers, res=levels + 1, precincts=bool(scod & 1),
                         cblk=f"{1 << (xcb + 2)}x{1 << (ycb + 2)}", cbstyle=style,
                         rev=transform == 1)
            if scod & 2: facts["markers"].add("SOP")
            if scod & 4: facts["markers"].add("EPH")
        pos += 2 + ln
    parts, sop, eph = {}, 0, 0
    while pos < len(cs) and u16(pos) == 0xFF90:  # tile-parts
        _, isot, psot, tpsot, _ = struct.unpack(">HHIBB", cs[pos + 2:pos + 12])
        parts[isot] = parts.get(isot, 0) + 1
        end = pos + psot if psot else len(cs) - 2
        p = pos + 12
        while u16(p) != 0xFF93:                  # tile-part header, up to SOD
            facts["markers"].add(NAMES.get(u16(p), hex(u16(p))))
            p += 2 + u16(p + 2)
        body = cs[p + 2:end]
        sop += body.count(b"\xff\x91")
        eph += body.count(b"\xff\x92")
        pos = end
    if u16(pos) != 0xFFD9 or pos + 2 != len(cs):
        raise ValueError(f"no EOC where expected (offset {pos} of {len(cs)})")
    if len(parts) != facts["tiles"]:
        raise ValueError(f"{len(parts)} tiles have data, SIZ says {facts['tiles']}")
    facts["tp"] = max(parts.values()) > 1
    facts["tileparts"] = sum(parts.values())
    # SOP/EPH signalled in COD must really be in the packet data (FF91/FF92 cannot occur in
    # entropy-coded data or bit-stuffed packet headers).
    if ("SOP" in facts["markers"]) != (sop > 0) or ("EPH" in facts["markers"]) != (eph > 0):
        raise ValueError(f"COD SOP/EPH flags disagree with the data ({sop} SOP, {eph} EPH)")
    return facts

def read_pnm(path):
    data = open(path, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:                       # magic, width, height, maxval
        while data[pos:pos + 1].isspace(): pos += 1
        end = pos
        while not data[end:end + 1].isspace(): end += 1
        fields.append(data[pos:end])
        pos = end
    w, h, maxval = int(fields[1]), int(fields[2]), int(fields[3])
    ncomp = 1 if fields[0] == b"P5" else 3
    a = np.frombuffer(data[pos + 1:], dtype=">u2" if maxval > 255 else "u1")
    return [a.reshape(h, w, ncomp)[:, :, c].astype(np.int64).ravel() for c in range(ncomp)]

def samples(data, bits, signed):
    # Big-endian, 1 byte per sample up to 8 bits, else 2; the sign extended from bit `bits`.
    v = np.frombuffer(data, dtype=">u2" if bits > 8 else "u1").astype(np.int64) & ((1 << bits) - 1)
    return np.where(v >> (bits - 1), v - (1 << bits), v) if signed else v

def read_raw(path, planes):                      # opj_compress .raw input: planar
    data, pos, out = open(path, "rb").read(), 0, []
    for w, h, bits, signed in planes:
        size = w * h * (2 if bits > 8 else 1)
        out.append(samples(data[pos:pos + size], bits, signed))
        pos += size
    if pos != len(data):
        raise ValueError(f"{path}: {len(data)} bytes, expected {pos}")
    return out

def read_pgx(stem, planes):                      # opj_decompress output: one STEM_<c>.pgx each
    out = []
    for c, (w, h, bits, signed) in enumerate(planes):
        data = open(f"{stem}_{c}.pgx", "rb").read()
        head, _, body = data.partition(b"\n")
        if head.split()[-2:] != [b"%d" % w, b"%d" % h] or b"ML" not in head:
            raise ValueError(f"{stem}_{c}.pgx: unexpected header {head!r}")
        out.append(samples(body, bits, signed))
    return out

def gdal_planes(path):
    ds = gdal.Open(path)
    return [ds.GetRasterBand(b + 1).ReadAsArray().astype(np.int64).ravel()
            for b in range(ds.RasterCount)]

def lossless_errors(name, facts, source):
    src = f"{workdir}/{source}"
    if source.endswith(".tif"):
        original, decoded = gdal_planes(src), gdal_planes(f"{outdir}/{name}")
    else:
        original = read_pnm(src) if source.endswith((".pgm", ".ppm")) else \
            read_raw(src, facts["planes"])
        decoded = read_pgx(f"{workdir}/dec/{name}", facts["planes"])
    if len(original) != len(decoded) or any(
            a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(original, decoded)):
        return [f"not lossless: decoded pixels differ from {source}"]
    return []

def check(facts, expect):
    errors = []
    want = set()
    for token in expect.split():
        key, _, value = token.partition("=")
        if key in NAMES.values() or key in ("SOP", "EPH"):
            want.add(key)
        elif key == "lossless":
            pass                                 # checked by lossless_errors()
        elif key in ("geojp2", "gmljp2", "tp", "precincts", "sub"):
            if not facts[key]: errors.append(f"expected {key}")
        elif key in ("signed", "unsigned"):
            if facts["signed"] != {key == "signed"}: errors.append(f"expected {key}")
        elif key in ("rev", "irr"):
            if facts["rev"] != (key == "rev"): errors.append(f"expected {key}")
        elif key == "depth":
            if facts["depth"] != {int(value)}: errors.append(f"depth {facts['depth']} != {value}")
        elif key in ("prog", "cblk"):
            if facts[key] != value: errors.append(f"{key} {facts[key]} != {value}")
        elif key in ("layers", "tiles", "ncomp", "res", "cbstyle"):
            if facts[key] != int(value): errors.append(f"{key} {facts[key]} != {value}")
        else:
            errors.append(f"unknown expectation {token}")
    for name in list(NAMES.values()) + ["SOP", "EPH"]:
        if (name in want) != (name in facts["markers"]):
            errors.append(f"{name} {'missing' if name in want else 'present but not expected'}")
    return errors

outdir, expect_file, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
verbose = os.environ.get("PIPIT_CORPUS_VERBOSE") == "1"
failed = 0
for line in open(expect_file):
    name, expect, source = line.rstrip("\n").split("\t")
    try:
        facts = parse(f"{outdir}/{name}")
        errors = check(facts, expect)
        if "lossless" in expect.split():
            errors += lossless_errors(name, facts, source)
    except (ValueError, struct.error, IndexError, RuntimeError) as e:
        errors = [f"unparsable: {e}"]
    if verbose and not errors:
        print(f"{name}: {facts['ncomp']} comp, depth {sorted(facts['depth'])}, "
              f"{facts['prog']}, {facts['layers']} layers, {facts['res']} res, {facts['tiles']} tiles, "
              f"{facts['tileparts']} tile-parts, markers {sorted(m for m in facts['markers'] if m[0] != '0')}")
    if errors:
        failed += 1
        print(f"make_corpus: {name}: " + "; ".join(errors), file=sys.stderr)
sys.exit(1 if failed else 0)
PYEOF
mkdir -p "$work/dec"
njp2=0
while IFS=$'\t' read -r name _; do
  if ! opj_decompress -quiet -i "$out/$name" -o "$work/dec/$name.pgx" >"$work/log" 2>&1 ||
    grep -q "ERROR" "$work/log"; then
    cat "$work/log" >&2
    die "$name: opj_decompress failed"
  fi
  if [[ $name == *.jp2 ]]; then
    gdalinfo "$out/$name" >"$work/info" 2>&1 || { cat "$work/info" >&2; die "$name: gdalinfo failed"; }
    if [[ $name == geo_* ]] && ! grep -q "^Coordinate System is:" "$work/info"; then
      cat "$work/info" >&2
      die "$name: gdalinfo sees no coordinate system"
    fi
    njp2=$((njp2 + 1))
  fi
done <"$manifest"
"$PY" "$work/check.py" "$out" "$expects" "$work" || die "check failed"
nlossless=$(grep -c -w lossless "$expects")

# Damaged and implausible files made from the corpus, in OUTDIR/damaged/ (see make_damaged.py).
"$PY" "$(dirname "$self")/make_damaged.py" "$out" || die "make_damaged.py failed"

mv "$manifest" "$out/MANIFEST.tsv"
n=$(wc -l <"$out/MANIFEST.tsv")
size=$(du -sk "$out" | cut -f1)
echo "make_corpus: $n files (${size} KiB) in $out: markers as promised, all decode with" \
  "opj_decompress, $nlossless decode to their exact source, $njp2 JP2 read by gdalinfo" \
  "($(($(date +%s) - start)) s)"
exit 0
}
