#!/usr/bin/env bash
# Configures and builds the sanitizer build: libshare, its unit tests and the libFuzzer targets
# (tests/fuzz/) under ASan + UBSan with clang (CMake option APPSHARE_SANITIZE), in
# $APPSHARE_FUZZ_BUILD_DIR (default build-fuzz/). Debug, so assertions stay on (the option sets -O1).
# Installs nothing (scripts/install-deps.sh does).
#   scripts/sanitizer-build.sh TARGET...     e.g. unit_tests appshare_http fuzz_manifest
set -euo pipefail
cd "$(dirname "$0")/.."

build=${APPSHARE_FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "$build" -DAPPSHARE_SANITIZE=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)" --target "$@"
