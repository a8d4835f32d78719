# shellcheck shell=bash
# Outer half shared by libvirt-sandbox.sh and multihost-sandbox.sh (sourced, not run): checks,
# the scratch folder and its clean-up, and the start of the inner script as PID 1 of private
# namespaces in a way that a SIGKILL of the calling script still ends everything inside.
#
# The caller sets `sandbox_name` (for messages) before sourcing, then calls:
#   sandbox_require_root; sandbox_require_tools TOOL...
#   sandbox_make_state PREFIX STATE   -> sets $state (absolute) and removes it on exit when
#                                        STATE is empty (a scratch folder PREFIX.XXXXXX)
#   sandbox_run_inner UNSHARE_OPTION... -- INNER_SCRIPT ARGS...   -> exits with its status

# shellcheck disable=SC2154  # sandbox_name: set by the caller
sandbox_require_root() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "$sandbox_name: run as root (libvirtd runs as root here)." >&2
        exit 2
    fi
}

sandbox_require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$sandbox_name: '$tool' is missing; run scripts/install-deps.sh first." >&2; exit 2; }
    done
}

# The start time of a live process (field 22 of /proc/PID/stat), so a recycled PID is not
# taken for the sandbox that recorded it.
process_start_time() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo "${20}"
}

sandbox_make_state() {
    local prefix="$1" old pid start
    state="$2"
    # Scratch folders of sandboxes whose script was killed before it could clean up.
    for old in "$prefix".*; do
        [[ -f "$old/.owner" ]] || continue
        read -r pid start <"$old/.owner" || continue
        if [[ "$(process_start_time "$pid" || true)" == "$start" ]]; then continue; fi
        rm -rf --one-file-system "$old"
    done
    if [[ -z "$state" ]]; then
        state=$(mktemp -d "$prefix.XXXXXX")
        echo "$$ $(process_start_time $$)" >"$state/.owner"
        sandbox_remove_state=1
    else
        mkdir -p "$state"
        sandbox_remove_state=0
    fi
    state=$(cd "$state" && pwd)
    trap sandbox_cleanup_outer EXIT
    trap 'exit 130' INT TERM
}

sandbox_cleanup_outer() {
    if ((sandbox_remove_state)); then rm -rf --one-file-system "$state"; fi
}

sandbox_run_inner() {
    local opts=() rc=0
    while (($#)) && [[ "$1" != "--" ]]; do opts+=("$1"); shift; done
    shift
    # setpriv: if the calling script is killed outright, unshare gets SIGKILL too, and
    # --kill-child passes it on to the namespace's PID 1, whose death ends every process in it.
    setpriv --pdeathsig KILL -- unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
        "${opts[@]}" -- bash "$@" || rc=$?
    exit "$rc"
}
