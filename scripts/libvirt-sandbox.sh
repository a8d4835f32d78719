#!/usr/bin/env bash
# Runs a command next to a private, real libvirtd + virtlogd (QEMU driver) that cannot
# see or touch the host's libvirt configuration, hooks, domains, images or logs.
#
#   scripts/libvirt-sandbox.sh [--state DIR] [--] COMMAND [ARGS...]
#
# How: private mount and PID namespaces (unshare --mount --propagation private --pid). Scratch
# folders are bind-mounted over /etc/libvirt (a copy of the host's, hooks and autostart
# emptied), /etc/appshare, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt. Inside, the command sees the private daemon at qemu:///system. On exit
# (also on error or signal) networks the daemon started are stopped and every process of the
# sandbox is killed: the sandbox's shell is PID 1 of its PID namespace, so even if it is killed
# outright (SIGKILL, a ctest timeout) the kernel kills libvirtd, virtlogd and QEMU with it.
# A scratch folder made here is removed afterwards (or, if this script itself was killed, by
# the next sandbox that starts); one given with --state is kept. Several sandboxes can run at
# once. The command's exit status is returned.
#
# Environment seen by COMMAND:
#   LIBVIRT_DEFAULT_URI=qemu:///system   APPSHARE_SANDBOX=<scratch dir>
#
# Not isolated: /dev and the rest of the file system. A domain whose console or disk names a
# host path writes there (virtlogd replaces a console file: never point one at /dev/null).
set -euo pipefail

usage() { echo "usage: $0 [--state DIR] [--] COMMAND [ARGS...]" >&2; exit 2; }

state=""
while (($#)); do
    case "$1" in
        --state) (($# >= 2)) || usage; state="$2"; shift 2 ;;
        --) shift; break ;;
        -h|--help) usage ;;
        *) break ;;
    esac
done
(($#)) || usage

if [[ $(id -u) -ne 0 ]]; then
    echo "libvirt-sandbox.sh: run as root (libvirtd and QEMU run as root here)." >&2
    exit 2
fi
for tool in libvirtd virtlogd virsh unshare setpriv flock; do
    command -v "$tool" >/dev/null || { echo "libvirt-sandbox.sh: '$tool' is missing; run scripts/install-deps.sh first." >&2; exit 2; }
done
[[ -d /etc/libvirt ]] || { echo "libvirt-sandbox.sh: /etc/libvirt is missing; run scripts/install-deps.sh first." >&2; exit 2; }

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

# Scratch folders of sandboxes whose script was killed before it could clean up.
for old in /tmp/appshare-sandbox.*; do
    [[ -f "$old/.owner" ]] || continue
    read -r pid start <"$old/.owner" || continue
    if [[ "$(process_start_time "$pid" || true)" == "$start" ]]; then continue; fi
    rm -rf --one-file-system "$old"
done

if [[ -z "$state" ]]; then
    state=$(mktemp -d /tmp/appshare-sandbox.XXXXXX)
    echo "$$ $(process_start_time $$)" >"$state/.owner"
    remove_state=1
else
    mkdir -p "$state"
    remove_state=0
fi
state=$(cd "$state" && pwd)

cleanup_outer() {
    if ((remove_state)); then rm -rf --one-file-system "$state"; fi
}
trap cleanup_outer EXIT
trap 'exit 130' INT TERM

rc=0
# setpriv: if this script is killed outright, unshare gets SIGKILL too, and --kill-child passes
# it on to the namespace's PID 1, whose death ends every process in the sandbox.
setpriv --pdeathsig KILL -- unshare --mount --propagation private --pid --fork --kill-child --mount-proc -- \
    bash "$(dirname "$0")/lib/sandbox-inner.sh" "$state" "$@" || rc=$?
exit "$rc"
