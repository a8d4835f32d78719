#!/usr/bin/env bash
# Runs a command next to a private, real libvirtd + virtlogd (QEMU driver) that cannot
# see or touch the host's libvirt configuration, hooks, domains, images or logs.
#
#   scripts/libvirt-sandbox.sh [--state DIR] [--] COMMAND [ARGS...]
#
# How: a private mount namespace (unshare --mount --propagation private) in which scratch
# folders are bind-mounted over /etc/libvirt (a copy of the host's, hooks emptied),
# /run/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt. Inside it the
# command sees the private daemon at qemu:///system. On exit (also on error or signal) every
# domain is destroyed, the daemons are stopped, any QEMU left is killed, and the scratch
# folders are removed. The command's exit status is returned.
#
# Environment seen by COMMAND:
#   LIBVIRT_DEFAULT_URI=qemu:///system   APPSHARE_SANDBOX=<scratch dir>
set -euo pipefail

usage() { echo "usage: $0 [--state DIR] [--] COMMAND [ARGS...]" >&2; exit 2; }

state=""
while (($#)); do
    case "$1" in
        --state) state="$2"; shift 2 ;;
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
for tool in libvirtd virtlogd virsh unshare; do
    command -v "$tool" >/dev/null || { echo "libvirt-sandbox.sh: '$tool' is missing; run scripts/install-deps.sh first." >&2; exit 2; }
done
[[ -d /etc/libvirt ]] || { echo "libvirt-sandbox.sh: /etc/libvirt is missing; run scripts/install-deps.sh first." >&2; exit 2; }

if [[ -z "$state" ]]; then
    state=$(mktemp -d /tmp/appshare-sandbox.XXXXXX)
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

rc=0
unshare --mount --propagation private -- bash "$(dirname "$0")/lib/sandbox-inner.sh" "$state" "$@" || rc=$?
exit "$rc"
