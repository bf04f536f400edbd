#!/usr/bin/env bash
# The install test: `cmake --install` of a build tree into a temporary prefix, then checks that
# everything is where it belongs and builds a consumer with find_package(Pipit) and pkg-config.
#
#   bash tests/install/run_install_test.sh BUILD_DIR [WORK_DIR]
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${2:-$(mktemp -d)}
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
flags=${PIPIT_CONSUMER_FLAGS:-}  # e.g. -fsanitize=address,undefined for an instrumented build
fail() { echo "install test: FAIL: $*" >&2; exit 1; }

echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
libdir=${libdir:-lib}

for f in bin/pipit "$libdir/libpipit.a" include/pipit/image_index.hpp include/pipit/client.hpp \
         "$libdir/cmake/Pipit/PipitConfig.cmake" "$libdir/cmake/Pipit/PipitConfigVersion.cmake" \
         "$libdir/cmake/Pipit/PipitTargets.cmake" "$libdir/pkgconfig/pipit.pc" \
         "$libdir/gdalplugins/gdal_JPIP.so" "$libdir/pipit/pipit_gdal_output.so" \
         share/man/man1/pipit.1; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done
# A gdalplugins/<version>/ folder would hide every plugin beside it.
if find "$prefix" -path '*gdalplugins/*' -type d | grep -q .; then
  fail "a folder inside gdalplugins/: $(find "$prefix" -path '*gdalplugins/*' -type d)"
fi
for f in packaging/pipit.toml:share/doc/pipit/examples/pipit.toml \
         packaging/pipit-serve.service:lib/systemd/system/pipit-serve.service \
         packaging/nginx-balancer.conf:share/doc/pipit/examples/nginx-balancer.conf \
         packaging/haproxy.cfg:share/doc/pipit/examples/haproxy.cfg; do
  if [ -e "$here/../../${f%%:*}" ] && [ ! -e "$prefix/${f#*:}" ]; then fail "${f#*:} is not installed"; fi
done
"$prefix/bin/pipit" --version
man -l "$prefix/share/man/man1/pipit.1" >/dev/null 2>&1 || true

echo "== GDAL finds the installed driver"
GDAL_DRIVER_PATH=$prefix/$libdir/gdalplugins gdalinfo --format JPIP >"$work/format.txt" 2>&1 \
  || { cat "$work/format.txt"; fail "gdalinfo --format JPIP with the installed plugin"; }
grep -q "Short Name: JPIP" "$work/format.txt" || fail "no JPIP driver"

echo "== a tiny JPEG 2000 file"
{ printf 'P5\n64 48\n255\n'; head -c $((64 * 48)) /dev/urandom; } >"$work/tiny.pgm"
opj_compress -i "$work/tiny.pgm" -o "$work/tiny.j2k" -n 3 >/dev/null
want="64x48 1 2"

echo "== the installed pipit finds its GDAL output module"
"$prefix/bin/pipit" serve --root "$work" --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
serve=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { kill "$serve"; cat "$work/serve.log"; fail "pipit serve did not say its port"; }
"$prefix/bin/pipit" get "jpip://127.0.0.1:$port/tiny.j2k" -o "$work/tiny.tif" --quiet \
  || { kill "$serve"; fail "pipit get to a GeoTIFF with the installed module"; }
kill "$serve"
wait "$serve" 2>/dev/null || true
gdalinfo "$work/tiny.tif" | grep -q "Size is 64, 48" || fail "the GeoTIFF pipit get wrote"

echo "== consumer with find_package(Pipit)"
cmake -S "$here/consumer" -B "$work/consumer-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >"$work/consumer-cmake.log" 2>&1 || { cat "$work/consumer-cmake.log"; fail "configure the consumer"; }
cmake --build "$work/consumer-cmake" -j2 >>"$work/consumer-cmake.log" 2>&1 || { cat "$work/consumer-cmake.log"; fail "build the consumer"; }
got=$("$work/consumer-cmake/consumer" "$work/tiny.j2k")
echo "consumer (CMake): $got"
[[ "$got" == "$want "* ]] || fail "consumer printed '$got', wanted '$want ...'"
if [ -x "$work/consumer-cmake/consumer_client" ]; then
  "$work/consumer-cmake/consumer_client" || fail "consumer_client"
fi

echo "== consumer with pkg-config"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
# shellcheck disable=SC2046
c++ $flags -O1 -o "$work/consumer-pc" "$here/consumer/consumer.cpp" $(pkg-config --cflags --libs pipit) \
  || fail "build the consumer with pkg-config"
got=$("$work/consumer-pc" "$work/tiny.j2k")
echo "consumer (pkg-config): $got"
[[ "$got" == "$want "* ]] || fail "consumer printed '$got', wanted '$want ...'"
echo "install test: PASS"
