#!/usr/bin/env bash
# The one benchmark command (as root, from a clone of the repository):
#   bench/run.sh [bench.py options...]        e.g. bench/run.sh --quick
#   bench/run.sh --parts bulk,coldfile        only some parts (verify, install, bulk, hook, coldfile, cold)
# The coldfile part drops the page cache (/proc/sys/vm/drop_caches) before each side it times.
# Installs what it needs (scripts/install-deps.sh, then bench/packages.txt), builds appshare in
# build-bench/ (Release; $BENCH_BUILD_DIR overrides), and runs bench/bench.py next to a private
# libvirtd (scripts/libvirt-sandbox.sh). The table goes to stdout, bench/results.md and
# bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
    echo "bench/run.sh: run as root (it installs packages and runs a private libvirtd)." >&2
    exit 2
fi
bash scripts/install-deps.sh
mapfile -t extra < <(grep -v '^\s*#' bench/packages.txt | grep -v '^\s*$')
missing=()
for p in "${extra[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

build=${BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target appshare appshare-hook
build=$(cd "$build" && pwd)

exec scripts/libvirt-sandbox.sh -- python3 bench/bench.py --build "$build" --out bench "$@"
