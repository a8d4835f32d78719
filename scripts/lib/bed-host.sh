#!/usr/bin/env bash
# One simulated host of the bed (multihost-sandbox.sh), in two steps:
#   bed-host.sh --init BED NAME  PID 1 of the host's own mount, PID, UTS and network
#                                namespaces: host name, /etc/machine-id, /etc/hostname, private
#                                Gluster client folders; then becomes sandbox-inner.sh (its
#                                private libvirtd + virtlogd, own host_uuid, listening for
#                                qemu+tcp and migrations on its bed address), which runs:
#   bed-host.sh --up BED NAME    once the daemons answer: mounts the volume, writes
#                                /etc/appshare/appshare.conf, says ready, and stays.
# Writes BED/hosts/NAME/ready when up, BED/hosts/NAME/failed if it cannot come up.
set -euo pipefail
phase="$1" bed="$2" name="$3"
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bed-common.sh
source "$here/bed-common.sh"
dir="$bed/hosts/$name"
trap '[[ -e "$dir/ready" ]] || touch "$dir/failed"' EXIT

wait_for_file() {  # SECONDS FILE WHAT
    local deadline=$((SECONDS + $1))
    until [[ -e "$2" ]]; do
        [[ -e "$bed/server/failed" ]] && { echo "bed-host $name: the storage server failed." >&2; return 1; }
        ((SECONDS < deadline)) || { echo "bed-host $name: $3 did not happen within $1 s." >&2; return 1; }
        sleep 0.05
    done
}

case "$phase" in
--init)
    hostname "$name"
    uuid=$(cat /proc/sys/kernel/random/uuid)
    echo "$uuid" >"$dir/host-uuid"
    uuid=$(cat /proc/sys/kernel/random/uuid)
    echo "${uuid//-/}" >"$dir/machine-id"
    echo "$name" >"$dir/hostname"
    mount --bind "$dir/machine-id" /etc/machine-id
    if [[ -f /etc/hostname ]]; then mount --bind "$dir/hostname" /etc/hostname; fi
    # The Gluster client's logs and runtime files stay in the host's folder.
    mkdir -p "$dir/gluster-log" "$dir/gluster-run"
    if [[ -d /var/log/glusterfs ]]; then mount --bind "$dir/gluster-log" /var/log/glusterfs; fi
    if [[ -d /run/gluster ]]; then mount --bind "$dir/gluster-run" /run/gluster; fi
    # libvirtd listens on the host's address (for migrations), so it starts once it has it.
    wait_for_file 10 "$dir/net-ready" "the bed's wiring of the host's network"
    trap - EXIT  # sandbox-inner.sh takes over as PID 1; --up reports from now on
    locking=()
    if [[ -n "${BED_LOCK_MANAGER:-}" ]]; then locking+=(--lock-manager "$BED_LOCK_MANAGER"); fi
    if [[ -n "${BED_LOCKSPACE_DIR:-}" ]]; then locking+=(--lockspace-dir "$BED_LOCKSPACE_DIR"); fi
    exec bash "$here/sandbox-inner.sh" --host-uuid "$(cat "$dir/host-uuid")" \
        --listen "$(bed_host_address "${name#appshare-h}")" "${locking[@]}" "$dir" \
        bash "$here/bed-host.sh" --up "$bed" "$name"
    ;;
--up)
    # Mount as soon as the volume is served: the server comes up next to the daemons.
    wait_for_file 60 "$bed/server/ready" "the storage server coming up"
    mkdir -p "$bed_shared" /var/lib/libvirt/images/appshare/contexts /var/lib/libvirt/images/appshare/local
    timeout 30 mount -t glusterfs -o "log-file=/var/log/libvirt/glusterfs-client.log" \
        "$bed_server:/$bed_volume" "$bed_shared" ||
        { echo "bed-host $name: mounting $bed_server:/$bed_volume failed; the client log says:" >&2
          tail -n 15 /var/log/libvirt/glusterfs-client.log >&2; exit 1; }
    timeout 10 stat -f "$bed_shared" >/dev/null || { echo "bed-host $name: the Gluster mount does not answer." >&2; exit 1; }
    # An indirect lockspace on the volume (--lockspace-dir): virtlockd opens its files by path.
    if [[ -n "${BED_LOCKSPACE_DIR:-}" ]]; then mkdir -p "$BED_LOCKSPACE_DIR"; fi
    if [[ -n "${BED_CONF:-}" ]]; then
        cp "$BED_CONF" /etc/appshare/appshare.conf
    else
        cat >/etc/appshare/appshare.conf <<CONF
# Written by multihost-sandbox.sh for host $name.
shared_root = "$bed_shared"
context_root = "/var/lib/libvirt/images/appshare/contexts"
local_root = "/var/lib/libvirt/images/appshare/local"
lock_wait_seconds = 20
uri = "qemu:///system"
virt_type = "qemu"
log = "/var/log/libvirt/appshare.log"
CONF
    fi
    touch "$dir/ready"
    trap - EXIT
    echo "bed-host $name: up"
    # Stay until the bed kills the host (its PID 1 is sandbox-inner.sh, waiting for this).
    exec sleep infinity
    ;;
*)
    echo "bed-host.sh: unknown phase $phase" >&2; exit 2 ;;
esac
