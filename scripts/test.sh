#!/usr/bin/env bash
# The one test command: installs dependencies, builds, and runs every test in three parts:
#   1. tests          ctest in the normal build: unit, cli and integration tests (against
#                     private, real libvirtd + QEMU instances), the fuzz seed corpora replayed
#   2. sanitizers     the unit tests again under ASan + UBSan (scripts/sanitizer-build.sh)
#   3. fuzzing        each libFuzzer target for a few seconds (scripts/fuzz.sh)
# Every part runs even when one before it failed; the command fails when any did, and its last
# lines say which. Run as root.
#   scripts/test.sh [extra ctest args for part 1...]
# Environment: APPSHARE_BUILD_DIR (default build), APPSHARE_FUZZ_BUILD_DIR (default build-fuzz),
# APPSHARE_FUZZ_SECONDS (per fuzz target, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build=${APPSHARE_BUILD_DIR:-build}
fuzz_build=${APPSHARE_FUZZ_BUILD_DIR:-build-fuzz}
export APPSHARE_FUZZ_BUILD_DIR=$fuzz_build

failed=() passed=() times=()
# part NAME COMMAND...: runs one part, and records whether it passed and how long it took.
part() {
    local name=$1 start=$SECONDS
    shift
    echo "== test.sh: $name"
    if "$@"; then passed+=("$name"); else failed+=("$name"); fi
    times+=("$name $((SECONDS - start)) s")
}

normal_tests() {
    # The cloud-init guest's image (mmdebstrap: mostly downloads, several minutes uncached) is
    # built while the code compiles; its test waits for it (make-cloud-appliance.sh's lock).
    local cloud_out
    cloud_out=$(mktemp -d)
    bash scripts/make-cloud-appliance.sh "$cloud_out/bundle" >"$cloud_out/log" 2>&1 &
    local rc=0
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
        cmake --build "$build" -j"$(nproc)" &&
        ctest --test-dir "$build" --output-on-failure --no-tests=error -j"$(nproc)" "$@" || rc=$?
    wait || { echo "test.sh: the early cloud appliance build failed:"; tail -5 "$cloud_out/log"; }
    rm -rf "$cloud_out"
    return "$rc"
}

sanitized_unit_tests() {
    bash scripts/sanitizer-build.sh unit_tests appshare_http &&
        ctest --test-dir "$fuzz_build" --output-on-failure --no-tests=error -j"$(nproc)" -R '^unit:'
}

part "tests" normal_tests "$@"
part "unit tests under ASan+UBSan" sanitized_unit_tests
part "fuzzing" bash scripts/fuzz.sh --seconds "${APPSHARE_FUZZ_SECONDS:-10}"

echo "== test.sh: $(IFS=,; echo "${times[*]}" | sed 's/,/, /g')"
((${#failed[@]} == 0)) || echo "test.sh: FAILED: $(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')" >&2
echo "parts: ${#passed[@]} passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
