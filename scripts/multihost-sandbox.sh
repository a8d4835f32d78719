#!/usr/bin/env bash
# Runs a command next to a multi-host test bed: one GlusterFS volume and N simulated
# hypervisor hosts that all mount it, on one machine, without touching the machine's own
# libvirt or GlusterFS.
#
#   scripts/multihost-sandbox.sh --hosts N [--state DIR] [--conf FILE] [--ping-timeout S]
#                                [--volume-option KEY=VALUE]... [--lock-manager lockd]
#                                [--lockspace-dir DIR] -- COMMAND [ARGS...]
#
# What is in the bed (all of it inside private mount, PID and network namespaces of the bed,
# made the way scripts/libvirt-sandbox.sh makes its own, with scripts/lib/sandbox-outer.sh):
#   - a network: bridge bed0 (198.18.0.254/24), the storage server at 198.18.0.1 and host i at
#     198.18.0.(10+i), each on its own veth pair; /etc/hosts names them (appshare-storage,
#     appshare-h1 ... appshare-hN). Every bed has its own network namespace, so beds that run
#     at once use the same names and addresses without meeting.
#   - the storage server "appshare-storage": glusterd in its own network, mount, PID and UTS
#     namespaces with private /var/lib/glusterd, /var/log/glusterfs and /run, serving volume
#     "appshare" (one brick, a scratch folder) with network.ping-timeout = --ping-timeout
#     (default 5 s instead of Gluster's 42 s, so that clients give up on a dead server soon).
#   - hosts appshare-h1 ... appshare-hN: each in its own mount, PID, UTS and network namespace,
#     with its own host name, /etc/machine-id, /etc/hostname, a private libvirtd + virtlogd
#     (scripts/lib/sandbox-inner.sh, the libvirt-sandbox mechanism) with its own host_uuid,
#     listening for qemu+tcp://appshare-hI/system on the host's bed address without
#     authentication, QEMU migrations and libvirt's NBD server on that address too (ports
#     49152-49215), so `virsh migrate --live NAME qemu+tcp://appshare-h2/system` works between
#     hosts with no keys to set up; only the bed's private network reaches it,
#     the volume FUSE-mounted at /var/lib/libvirt/images/appshare/shared, host-local
#     /var/lib/libvirt/images/appshare/{contexts,local}, and /etc/appshare/appshare.conf:
#         shared_root  = "/var/lib/libvirt/images/appshare/shared"     (the Gluster mount)
#         context_root = "/var/lib/libvirt/images/appshare/contexts"   (host-local)
#         local_root   = "/var/lib/libvirt/images/appshare/local"      (host-local)
#         lock_wait_seconds = 20, virt_type = "qemu", uri = "qemu:///system"
#         log = "/var/log/libvirt/appshare.log"
#     or, with --conf FILE, a copy of FILE on every host instead.
#   - with --lock-manager lockd, libvirt's lock manager on every host, as fleets on shared
#     storage run it: a private virtlockd per host (socket /run/libvirt/virtlockd-sock in the
#     host's private /run/libvirt, its own virtlockd.conf, pid file and log virtlockd.log), and
#     libvirtd with lock_manager = "lockd", auto_disk_leases = 1, require_lease_for_disks = 1.
#     Leases are direct by default: virtlockd takes a POSIX (fcntl) lock on byte 0 of each
#     writable disk's file (the top image only, never its backing files; read-only disks such
#     as the seed CD-ROM get none, <shareable/> ones a shared lock), and the Gluster volume's
#     locks translator passes such locks between its FUSE clients, so a lease taken on one host
#     is seen on every other (tested: tests/multihost/lock_manager.sh). --lockspace-dir DIR
#     makes them indirect instead (qemu-lockd.conf file_lockspace_dir: a lock file per disk path
#     in DIR, named by the path's sha256), for disks whose own locks do not reach other hosts;
#     DIR must be on storage every host shares, under the same path.
#
# COMMAND runs in the bed, outside the hosts (no libvirtd there: /run/libvirt is an empty
# folder, so a stray virsh cannot reach the machine's daemon). It uses the hosts with these
# commands (scripts/lib/bed/, first on PATH):
#   on-host NAME COMMAND [ARGS...]  run COMMAND on host NAME (its mount, UTS, network and PID
#                                   namespaces; LIBVIRT_DEFAULT_URI=qemu:///system,
#                                   APPSHARE_SANDBOX=<host folder>, APPSHARE_BED_HOST=NAME).
#                                   NAME may be appshare-storage (the server) too. If on-host
#                                   dies (timeout, kill), COMMAND gets SIGTERM.
#   storage-down [--freeze]         make the storage unreachable: the server's link goes down
#                                   (default), or, with --freeze, glusterd and the brick
#                                   process are stopped with SIGSTOP (the link stays up, the
#                                   server does not answer). Either way calls on the mounts
#                                   block until the client gives the server up (measured: 1 to
#                                   2 times ping-timeout), then fail with ENOTCONN at once.
#                                   A process blocked so is not freed by SIGKILL either: once
#                                   Gluster's client has the request, the kernel waits for its
#                                   answer, so it ends (and can be reaped) only then.
#   storage-up [--no-wait]          undo storage-down; waits (at most 60 s) until every host's
#                                   mount answers again, unless --no-wait.
#
# Environment seen by COMMAND:
#   APPSHARE_BED=<bed folder>            APPSHARE_BED_HOSTS="appshare-h1 ... appshare-hN"
#   APPSHARE_BED_SHARED=/var/lib/libvirt/images/appshare/shared   (the mount, inside hosts)
#   APPSHARE_BED_BRICK=<brick folder>    the volume's files as the server stores them (count
#                                        files there, leaving out its .glusterfs folder)
#   APPSHARE_BED_STORAGE=appshare-storage  APPSHARE_BED_SERVER=198.18.0.1
#   APPSHARE_BED_VOLUME=appshare         APPSHARE_BED_BIN=<folder of on-host & co>
# Host NAME's private folder is $APPSHARE_BED/hosts/NAME, laid out like libvirt-sandbox.sh's:
# etc/ (its /etc/libvirt), appshare-etc/ (its /etc/appshare: edit appshare.conf there or with
# on-host), lib/ (/var/lib/libvirt, the mount point inside is empty from outside), log/
# (/var/log/libvirt: appshare.log, libvirtd.log, qemu/, glusterfs-client.log), and the files
# host-uuid, machine-id, pid (its PID 1 as the bed sees it).
#
# Bounded: bring-up gives up after $APPSHARE_BED_UP_TIMEOUT seconds (default 120; it takes a
# few seconds, more only when libvirt's QEMU capability cache is cold) and says why. On exit
# (also on error or signal) every process of the bed is killed; if this script is killed
# outright, the kernel ends the bed's namespaces, and with them every process, mount, veth and
# network namespace in them. A scratch folder made here is removed afterwards (or by the next
# bed or sandbox that starts, if this script was killed); one given with --state (new or
# empty) is kept for a look afterwards.
# COMMAND's exit status is returned.
set -euo pipefail

usage() {
    echo "usage: $0 --hosts N [--state DIR] [--conf FILE] [--ping-timeout S] [--volume-option KEY=VALUE]... [--lock-manager lockd] [--lockspace-dir DIR] -- COMMAND [ARGS...]" >&2
    exit 2
}

hosts="" state="" conf="" ping_timeout=5 volume_options=() lock_manager="" lockspace_dir=""
while (($#)); do
    case "$1" in
        --hosts) (($# >= 2)) || usage; hosts="$2"; shift 2 ;;
        --state) (($# >= 2)) || usage; state="$2"; shift 2 ;;
        --conf) (($# >= 2)) || usage; conf="$2"; shift 2 ;;
        --ping-timeout) (($# >= 2)) || usage; ping_timeout="$2"; shift 2 ;;
        --volume-option) (($# >= 2)) || usage; volume_options+=("$2"); shift 2 ;;
        --lock-manager) (($# >= 2)) || usage; lock_manager="$2"; shift 2 ;;
        --lockspace-dir) (($# >= 2)) || usage; lockspace_dir="$2"; shift 2 ;;
        --) shift; break ;;
        -h|--help) usage ;;
        *) usage ;;
    esac
done
(($#)) || usage
[[ "$hosts" =~ ^[1-9][0-9]?$ ]] && ((hosts <= 32)) || { echo "multihost-sandbox.sh: --hosts must be 1 to 32." >&2; exit 2; }
[[ "$ping_timeout" =~ ^[0-9]+$ ]] || { echo "multihost-sandbox.sh: --ping-timeout must be whole seconds." >&2; exit 2; }
for opt in "${volume_options[@]}"; do
    [[ "$opt" == ?*=* ]] || { echo "multihost-sandbox.sh: --volume-option wants KEY=VALUE, not '$opt'." >&2; exit 2; }
done
[[ -z "$lock_manager" || "$lock_manager" == lockd ]] || { echo "multihost-sandbox.sh: --lock-manager must be lockd, not '$lock_manager'." >&2; exit 2; }
[[ -z "$lockspace_dir" || ( -n "$lock_manager" && "$lockspace_dir" == /* ) ]] ||
    { echo "multihost-sandbox.sh: --lockspace-dir wants an absolute folder as the hosts see it, and --lock-manager lockd." >&2; exit 2; }
if [[ -n "$conf" ]]; then
    [[ -f "$conf" ]] || { echo "multihost-sandbox.sh: --conf $conf is not a file." >&2; exit 2; }
    conf=$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")
fi

# A bed does not resume: its brick and glusterd folders would name a volume that exists already.
if [[ -n "$state" && -e "$state" && -n "$(ls -A "$state" 2>/dev/null)" ]]; then
    echo "multihost-sandbox.sh: --state $state is not empty; give a new or empty folder (a bed starts afresh)." >&2
    exit 2
fi

sandbox_name=multihost-sandbox.sh
# shellcheck source=lib/sandbox-outer.sh
source "$(dirname "$0")/lib/sandbox-outer.sh"
sandbox_require_root
sandbox_require_tools libvirtd virtlogd virsh unshare setpriv flock nsenter ip glusterd gluster mount.glusterfs
[[ -d /etc/libvirt ]] || { echo "multihost-sandbox.sh: /etc/libvirt is missing; run scripts/install-deps.sh first." >&2; exit 2; }
[[ -c /dev/fuse ]] || { echo "multihost-sandbox.sh: /dev/fuse is missing; the hosts mount the Gluster volume with FUSE." >&2; exit 2; }
[[ -z "$lock_manager" ]] || sandbox_require_tools virtlockd
[[ -f /etc/machine-id ]] || { echo "multihost-sandbox.sh: /etc/machine-id is missing; each host binds its own over it." >&2; exit 2; }

sandbox_make_state /tmp/appshare-bed "$state"
# The bed's own network namespace (--net) holds the bridge and every veth; --uts lets nothing
# in the bed rename the machine.
export BED_HOSTS="$hosts" BED_CONF="$conf" BED_PING_TIMEOUT="$ping_timeout"
export BED_LOCK_MANAGER="$lock_manager" BED_LOCKSPACE_DIR="$lockspace_dir"
BED_VOLUME_OPTIONS=$(printf '%s\n' "${volume_options[@]}")
export BED_VOLUME_OPTIONS
sandbox_run_inner --net --uts -- "$(dirname "$0")/lib/multihost-inner.sh" "$state" "$@"
