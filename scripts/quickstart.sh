#!/usr/bin/env bash
# Pipit's quick start: from a fresh Debian bookworm machine (as root) to an image read over JPIP.
#
#   bash scripts/quickstart.sh
#
# 1. installs the Debian packages Pipit needs (scripts/install-deps.sh; a no-op when present);
# 2. builds `pipit` and the GDAL plugin gdal_JPIP.so in build-quickstart/ (Release, two jobs);
# 3. makes a sample georeferenced JP2 locally (scripts/make_sample.py, then gdal_translate with
#    GeoJP2 and GMLJP2 boxes; nothing is downloaded);
# 4. starts `pipit serve` on 127.0.0.1 on a free port;
# 5. reads a region through the GDAL driver (gdal_translate jpip://... region.tif) and with
#    `pipit get` (a GeoTIFF of the same region, and a PNG overview);
# 6. says what it did and where the files are, and stops the server (also on failure or Ctrl-C).
#
# Environment: PIPIT_QUICKSTART_DIR, the output folder (default build-quickstart/quickstart).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
build=$root/build-quickstart
out=${PIPIT_QUICKSTART_DIR:-$build/quickstart}
python=/usr/bin/python3   # Debian's python, with python3-gdal and numpy
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1/5 dependencies (scripts/install-deps.sh)"
bash scripts/install-deps.sh

say "2/5 build in $build (Release, -j2)"
generator=()
[ -f "$build/CMakeCache.txt" ] || generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DPIPIT_BUILD_TESTS=OFF -DPIPIT_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j2 --target pipit gdal_JPIP
pipit=$build/src/tools/pipit/pipit
plugin_dir=$build/src/gdal

say "3/5 sample image in $out"
rm -rf "$out"
mkdir -p "$out/images"
"$python" scripts/make_sample.py "$out/sample_source.tif" 2048 1536
gdal_translate -q -of JP2OpenJPEG \
  -co QUALITY=5,15,40,100 -co REVERSIBLE=NO -co RESOLUTIONS=6 -co PROGRESSION=RPCL \
  -co BLOCKXSIZE=1024 -co BLOCKYSIZE=1024 -co GeoJP2=YES -co GMLJP2=YES \
  "$out/sample_source.tif" "$out/images/sample.jp2"
rm -f "$out/sample_source.tif"
echo "wrote $out/images/sample.jp2 ($(stat -c %s "$out/images/sample.jp2") bytes, 2048x1536 RGB," \
     "UTM 31N, 4 quality layers, 5 decomposition levels)"

say "4/5 pipit serve on 127.0.0.1"
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$pipit" serve --root "$out/images" --listen "127.0.0.1:$port" >"$out/serve.log" 2>&1 &
server_pid=$!
stop_server() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    echo "quickstart: stopped pipit serve (pid $server_pid)"
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/serve.log" >&2; echo "quickstart: pipit serve exited" >&2; exit 1; }
  sleep 0.1
done
url=jpip://127.0.0.1:$port/sample.jp2
echo "serving $out/images as $url (pid $server_pid, log $out/serve.log)"

say "5/5 read through JPIP"
# The region: 600x400 pixels at full resolution from (700, 500).
echo "+ GDAL_DRIVER_PATH=$plugin_dir gdal_translate -srcwin 700 500 600 400 $url region_gdal.tif"
GDAL_DRIVER_PATH=$plugin_dir GDAL_PAM_ENABLED=NO gdal_translate -srcwin 700 500 600 400 \
  "$url" "$out/region_gdal.tif"
echo "+ pipit get $url -o region_pipit.tif --region 700,500,600,400"
"$pipit" get "$url" -o "$out/region_pipit.tif" --region 700,500,600,400
echo "+ pipit get $url -o overview.png --level 2 --cache $out/cache"
"$pipit" get "$url" -o "$out/overview.png" --level 2 --cache "$out/cache"

# Check the two GeoTIFFs agree, and describe the results.
"$python" - "$out" <<'PY'
import sys
from osgeo import gdal
gdal.UseExceptions()
out = sys.argv[1]
a = gdal.Open(f"{out}/region_gdal.tif")
b = gdal.Open(f"{out}/region_pipit.tif")
same = a.ReadRaster() == b.ReadRaster() and a.GetGeoTransform() == b.GetGeoTransform()
for name in ("region_gdal.tif", "region_pipit.tif", "overview.png"):
    ds = gdal.Open(f"{out}/{name}")
    gt = ds.GetGeoTransform()
    srs = ds.GetSpatialRef()
    print(f"  {out}/{name}: {ds.RasterXSize}x{ds.RasterYSize}, {ds.RasterCount} bands, "
          f"origin ({gt[0]:.0f}, {gt[3]:.0f}), pixel {gt[1]:g} m, "
          f"{srs.GetName() if srs else 'no SRS'}")
print("  the GDAL driver and pipit get read the same pixels and georeferencing:",
      "yes" if same else "NO")
sys.exit(0 if same else 1)
PY

cat <<MSG

quickstart: done. What happened:
  - built pipit and the GDAL plugin gdal_JPIP.so in $build;
  - made $out/images/sample.jp2 (GeoJP2 + GMLJP2) and served it with pipit serve;
  - read a 600x400 region through GDAL's JPIP driver  -> $out/region_gdal.tif
  - read the same region with pipit get               -> $out/region_pipit.tif
  - read the whole image at 1/4 size with pipit get   -> $out/overview.png
    (its data-bins are cached in $out/cache: run the same command again and it starts from them).
To try more yourself, serve and read again:
  $pipit serve --root $out/images --listen 127.0.0.1:8080 &
  GDAL_DRIVER_PATH=$plugin_dir gdalinfo jpip://127.0.0.1:8080/sample.jp2
  $pipit get jpip://127.0.0.1:8080/sample.jp2 -o view.png --size 800,600
MSG
