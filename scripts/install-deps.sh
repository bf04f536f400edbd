#!/usr/bin/env bash
# Installs everything Pipit needs to build and test on Debian bookworm, from Debian's own packages.
#
#   bash scripts/install-deps.sh
#
# Idempotent: packages already installed are left alone, and `apt-get update` runs only when
# something is missing. Needs root (or sudo) only then.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-14 libclang-rt-14-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3-pytest python3-numpy
  # JPEG 2000: the decoder libraries (OpenJPH for HTJ2K tiles), and the encoders that make the
  # test corpus
  libopenjp2-7-dev libopenjph-dev libopenjp2-tools openjph-tools
  # GDAL: the plugin's host, gdal_translate for the corpus, python3-gdal for the plugin's tests
  gdal-bin libgdal-dev python3-gdal
  # server and client
  libboost-dev libboost-system-dev libssl-dev openssl libcurl4-openssl-dev
  # CLI, logs, JSON, config, error values
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev libexpected-dev
  # reverse proxies and load balancers for the integration tests (and the storage origin)
  nginx-light haproxy
  # the browser viewer: the core compiled to WebAssembly, and a browser for its tests
  emscripten chromium
)
# The viewer's JavaScript dependencies come from `npm ci` at build time: Node.js and npm from
# Debian unless some Node.js with npm is already installed.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "install-deps: error: run as root (or install sudo) to install: ${missing[*]}" >&2
    exit 1
  }
  as_root=(sudo)
fi
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
