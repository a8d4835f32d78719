#!/usr/bin/env bash
# The one test command: installs dependencies, builds, and runs every test (unit tests and
# integration tests against private, real libvirtd + QEMU instances). Run as root.
#   scripts/test.sh [extra ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build=${APPSHARE_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure --no-tests=error -j"$(nproc)" "$@"
