#!/usr/bin/env bash
# Runs a command next to a private, real libvirtd + virtlogd (QEMU driver) that cannot
# see or touch the host's libvirt configuration, hooks, domains, images or logs.
#
#   scripts/libvirt-sandbox.sh [--state DIR] [--] COMMAND [ARGS...]
#
# How: private mount and PID namespaces (unshare --mount --propagation private --pid). Scratch
# folders are bind-mounted over /etc/libvirt (a copy of the host's, hooks and autostart
# emptied), /etc/appshare, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt. QEMU runs there as Debian runs it: as libvirt-qemu:kvm, with libvirt's DAC
# driver relabelling what it opens; /dev/null is bound over /dev/kvm (guests run under TCG).
# Inside, the command sees the private daemon at qemu:///system. On exit
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
# Not isolated: /dev (but /dev/kvm) and the rest of the file system. A domain whose console or
# disk names a host path writes there (virtlogd replaces a console file: never point one at
# /dev/null), and libvirt chowns what QEMU must open to libvirt-qemu while the domain runs (its
# folders must let that user pass: 0711 at least).
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

sandbox_name=libvirt-sandbox.sh
# shellcheck source=lib/sandbox-outer.sh
source "$(dirname "$0")/lib/sandbox-outer.sh"
sandbox_require_root
sandbox_require_tools libvirtd virtlogd virsh unshare setpriv flock
[[ -d /etc/libvirt ]] || { echo "libvirt-sandbox.sh: /etc/libvirt is missing; run scripts/install-deps.sh first." >&2; exit 2; }

sandbox_make_state /tmp/appshare-sandbox "$state"
sandbox_run_inner -- "$(dirname "$0")/lib/sandbox-inner.sh" "$state" "$@"
