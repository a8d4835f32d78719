# The start and end shared by the shell tests (sourced, not run).
#   shell_test_begin SOURCE_DIR SCRIPT WORK_PREFIX
#       checks that the test runs as root and that SCRIPT (a path in SOURCE_DIR, or in this
#       checkout if SOURCE_DIR is empty) is executable; sets $src, $script and $work (a scratch
#       folder WORK_PREFIX.XXXXXX, removed on exit)
#   fail MESSAGE...                      reports a failed check and counts it
#   shell_test_end MESSAGE               exits 1 if a check failed, else says MESSAGE
# shellcheck shell=bash
shell_test_name=$(basename "$0")
failures=0

shell_test_begin() {
    src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
    script="$src/$2"
    [[ $(id -u) -eq 0 ]] || { echo "$shell_test_name: run as root (it starts private daemons)." >&2; exit 2; }
    [[ -x "$script" ]] || { echo "$shell_test_name: $script is missing or not executable." >&2; exit 2; }
    work=$(mktemp -d "$3.XXXXXX")
    trap 'rm -rf --one-file-system "$work"' EXIT
}

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

shell_test_end() {
    if ((failures)); then
        echo "$shell_test_name: $failures check(s) failed." >&2
        exit 1
    fi
    echo "$shell_test_name: $1"
}
