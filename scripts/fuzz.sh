#!/usr/bin/env bash
# Runs the libFuzzer targets of libshare's parsers (tests/fuzz/README.md) from the sanitizer
# build (scripts/sanitizer-build.sh, in $APPSHARE_FUZZ_BUILD_DIR, default build-fuzz/), each for
# N seconds on a fresh copy of its seed corpus, and prints per target: executions, executions per
# second, the corpus it ended with, and the crashes (with the path of each input that crashed,
# leaked, timed out or ran out of memory). Exits 1 when any target found one. Run as root.
#   scripts/fuzz.sh [--seconds N] [--jobs J] [TARGET...]
#     --seconds N   fuzzing time per target (default 60)
#     --jobs J      targets fuzzed at the same time (default 1)
#     TARGET        manifest qcow2_header hook_metadata config instance_state shared_records
#                   ssh_public_key ovf_envelope (default: all)
# The runs stay in <build>/fuzz-runs/<target>/: corpus/ (seeds plus what the run found),
# crashes/, fuzz.log. Reproduce a crash with <build>/tests/fuzz/fuzz_<target> <crash input>.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(manifest qcow2_header hook_metadata config instance_state shared_records ssh_public_key ovf_envelope)
seconds=60 jobs=1 targets=()
usage() { sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while (($#)); do
    case $1 in
        --seconds) [[ ${2:-} =~ ^[0-9]+$ ]] || usage; seconds=$2; shift 2 ;;
        --jobs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; jobs=$2; shift 2 ;;
        -h|--help) usage ;;
        -*) usage ;;
        *) [[ " ${all_targets[*]} " == *" $1 "* ]] || { echo "fuzz.sh: unknown target '$1' (one of: ${all_targets[*]})." >&2; exit 2; }
           targets+=("$1"); shift ;;
    esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")

bash scripts/install-deps.sh
build=${APPSHARE_FUZZ_BUILD_DIR:-build-fuzz}
bash scripts/sanitizer-build.sh "${targets[@]/#/fuzz_}"

# Every finding is fatal and reported with a stack; leaks count (LeakSanitizer, on by default).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
runs=$(realpath -m "$build")/fuzz-runs

# fuzz TARGET: one run, in the background of the caller; its status goes to <run>/status.
fuzz() {
    local t=$1 run=$runs/$1
    rm -rf "$run" && mkdir -p "$run/corpus" "$run/crashes"
    cp tests/fuzz/corpus/"$t"/* "$run/corpus/"
    local dict=()
    [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="$PWD/tests/fuzz/$t.dict")
    local status=0
    # -timeout: one input taking 10 s is a hang; timeout(1) only guards against the fuzzer itself hanging.
    timeout --kill-after=30 $((seconds + 120)) "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$run/crashes/" "${dict[@]}" "$run/corpus" \
        >"$run/fuzz.log" 2>&1 || status=$?
    echo "$status" >"$run/status"
}

echo "fuzz.sh: ${targets[*]}, ${seconds} s each, ${jobs} at a time (runs in $runs/)"
running=0
for t in "${targets[@]}"; do
    if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
    fuzz "$t" &
    running=$((running + 1))
done
wait || true

stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }
failed=0
printf '%-15s %12s %8s %22s %8s\n' TARGET EXECUTIONS EXEC/S CORPUS CRASHES
for t in "${targets[@]}"; do
    run=$runs/$t log=$runs/$t/fuzz.log
    status=$(cat "$run/status" 2>/dev/null || echo "?")
    mapfile -t crashes < <(find "$run/crashes" -type f | sort)
    files=$(find "$run/corpus" -type f | wc -l)
    bytes=$(du -sb "$run/corpus" | cut -f1)
    printf '%-15s %12s %8s %22s %8s\n' "$t" "$(stat number_of_executed_units "$log")" "$(stat average_exec_per_sec "$log")" \
        "$files files, $((bytes / 1024)) KiB" "${#crashes[@]}"
    for c in "${crashes[@]}"; do echo "    $c"; done
    if ((${#crashes[@]})) || [[ $status != 0 ]]; then
        failed=1
        ((${#crashes[@]})) || echo "    (no crash input, but the fuzzer exited with status $status: see $log)"
    fi
done
if ((failed)); then
    echo "fuzz.sh: a fuzz target failed; each crash input above reproduces it (fuzz_<target> <input>), the log is beside it." >&2
    exit 1
fi
