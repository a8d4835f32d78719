#!/usr/bin/env bash
# Inner half of libvirt-sandbox.sh. Runs as PID 1 of a private PID namespace inside a private
# mount namespace: when this script ends, for whatever reason, the kernel kills every process
# left in the namespace (libvirtd, virtlogd, QEMU, dnsmasq, anything the command started).
#   sandbox-inner.sh [--host-uuid UUID] [--listen ADDRESS] [--lock-manager lockd]
#                    [--lockspace-dir DIR] STATE_DIR COMMAND [ARGS...]
# --host-uuid: the daemon's host UUID (libvirtd.conf host_uuid), so that several sandboxes on
# one machine are different hosts to libvirt (live migration refuses a same-UUID peer).
# --listen: libvirtd also answers qemu+tcp://ADDRESS/system without authentication
# (auth_tcp = "none"), and QEMU's incoming migrations and libvirt's NBD server for
# --copy-storage-* listen on ADDRESS (migration_address), ports 49152-49215. Only for a
# sandbox in a network namespace of its own whose ADDRESS is on a private test network (the
# multi-host bed): anyone who reaches it may do anything libvirtd can.
# --lock-manager lockd: a private virtlockd (its socket in the private /run/libvirt, its own
# virtlockd.conf and pid file) runs beside libvirtd, whose qemu.conf says lock_manager = "lockd"
# with automatic disk leases; --lockspace-dir DIR makes them indirect (qemu-lockd.conf
# file_lockspace_dir: one lock file per disk path, named by its sha256, in DIR) instead of
# fcntl locks on the disk files themselves.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "libvirt-sandbox.sh: $*" >&2; exit 3; }

host_uuid="" listen="" lock_manager="" lockspace_dir=""
while [[ "${1:-}" == --* ]]; do
    case "$1" in
        --host-uuid) (($# >= 2)) || die "--host-uuid needs a value"; host_uuid="$2"; shift 2 ;;
        --listen) (($# >= 2)) || die "--listen needs an address"; listen="$2"; shift 2 ;;
        --lock-manager) (($# >= 2)) || die "--lock-manager needs a name"; lock_manager="$2"; shift 2 ;;
        --lockspace-dir) (($# >= 2)) || die "--lockspace-dir needs a folder"; lockspace_dir="$2"; shift 2 ;;
        *) die "unknown option $1 of sandbox-inner.sh" ;;
    esac
done
state="$1"; shift
case "$lock_manager" in
    ""|lockd) ;;
    *) die "--lock-manager must be lockd (sanlock is not set up by the sandbox), not '$lock_manager'" ;;
esac
[[ -z "$lockspace_dir" || -n "$lock_manager" ]] || die "--lockspace-dir needs --lock-manager lockd"

for d in etc run lib log cache appshare-etc; do mkdir -p "$state/$d"; done
# As the Debian packages lay it out: the QEMU driver's log folder exists before the daemon starts.
mkdir -p "$state/log/qemu"

# --- configuration: a copy of the host's /etc/libvirt with nothing that starts by itself -----
cp -a /etc/libvirt/. "$state/etc/"
rm -rf "$state/etc/hooks"; mkdir -p "$state/etc/hooks/qemu.d"
# No autostarted domains, networks, storage pools (iSCSI logins, LVM activation are host-wide),
# node devices or containers; no host domain definitions.
find "$state/etc" -depth -type d -name autostart -exec rm -rf {} +
for drv in qemu lxc libxl ch; do
    if [[ -d "$state/etc/$drv" ]]; then find "$state/etc/$drv" -maxdepth 1 -name '*.xml' -delete; fi
done

# libvirt's config parser uses the FIRST setting of a name, so ours go on top of the host's.
prepend_conf() {  # FILE, settings on stdin
    local file="$1" tmp
    tmp=$(mktemp "$file.XXXXXX")
    {
        echo "# appshare sandbox (first setting of a name wins)"; cat; echo
        if [[ -f "$file" ]]; then cat "$file"; fi
    } >"$tmp"
    chmod 600 "$tmp"; mv -f "$tmp" "$file"
}
# QEMU runs as libvirt's default on Debian: user libvirt-qemu, group kvm, with libvirt's DAC driver
# relabelling (chown, and its remembered owners in trusted.libvirt.* xattrs) every file QEMU must
# open and restoring it at stop, which is what users run. libvirt always stacks the DAC driver
# when the daemon is privileged; "none" only leaves out a MAC driver: AppArmor/SELinux profiles
# are host-wide. No cgroups: their paths (machine/qemu-ID-NAME) are host-wide and would be
# shared with a host daemon's or another sandbox's domain of that name.
prepend_conf "$state/etc/qemu.conf" <<'CONF'
user = "libvirt-qemu"
group = "kvm"
dynamic_ownership = 1
remember_owner = 1
cgroup_controllers = [ ]
security_driver = "none"
CONF
# The socket stays in the private /run/libvirt whatever the host says; logs go to the private log dir.
prepend_conf "$state/etc/libvirtd.conf" <<CONF
unix_sock_dir = "/run/libvirt"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
${host_uuid:+host_uuid = \"$host_uuid\"}
CONF
if [[ -n "$listen" ]]; then
    prepend_conf "$state/etc/libvirtd.conf" <<CONF
listen_tls = 0
listen_tcp = 1
listen_addr = "$listen"
auth_tcp = "none"
CONF
    prepend_conf "$state/etc/qemu.conf" <<CONF
migration_address = "$listen"
migration_host = "$listen"
CONF
fi
prepend_conf "$state/etc/virtlogd.conf" <<'CONF'
log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
CONF
if [[ -n "$lock_manager" ]]; then
    prepend_conf "$state/etc/qemu.conf" <<CONF
lock_manager = "$lock_manager"
CONF
    prepend_conf "$state/etc/qemu-lockd.conf" <<CONF
auto_disk_leases = 1
require_lease_for_disks = 1
${lockspace_dir:+file_lockspace_dir = \"$lockspace_dir\"}
CONF
    prepend_conf "$state/etc/virtlockd.conf" <<'CONF'
log_outputs = "3:file:/var/log/libvirt/virtlockd.log"
CONF
fi
mkdir -p "$state/lib/images"

# --- private folders ---------------------------------------------------------------------------
# QEMU runs as libvirt-qemu: every folder above what it opens must let that user through.
chmod 0711 "$state"
for d in etc run lib log cache; do chmod 0755 "$state/$d"; done
# The tests run TCG guests. Where /dev/kvm exists but KVM guests do not run (this machine kind),
# libvirt probes QEMU again for its user at every define (about a minute each); /dev/null bound
# over /dev/kvm in this mount namespace only (the host's /dev/kvm is untouched) makes libvirt
# see a KVM it cannot use, once.
if [[ -e /dev/kvm ]]; then mount --bind /dev/null /dev/kvm; fi
mount --bind "$state/etc" /etc/libvirt
# appshare's own configuration is private too: tests write their own appshare.conf.
mkdir -p /etc/appshare
mount --bind "$state/appshare-etc" /etc/appshare
mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
mount --bind "$state/run" /run/libvirt
mount --bind "$state/lib" /var/lib/libvirt
mount --bind "$state/log" /var/log/libvirt
mount --bind "$state/cache" /var/cache/libvirt
# The lockspace folder exists before virtlockd registers it (virtlockd would make it and every
# missing folder above it 0700, out of QEMU's reach); one on storage mounted later (the bed's
# volume) is made there again once it is mounted: virtlockd opens leases by path.
if [[ -n "$lockspace_dir" ]]; then mkdir -p -m 0755 "$lockspace_dir"; fi

# QEMU capability probing takes seconds, so probes are kept in a shared cache across runs. Each
# sandbox works on its own copy (libvirt rewrites cache files in place, which a parallel sandbox
# would read half-written) and publishes new probes by atomic rename. The lock is held until the
# daemon has probed, so parallel sandboxes on a cold cache wait for one probe instead of each
# doing their own.
shared_cache=/var/cache/appshare-sandbox
mkdir -p "$shared_cache/qemu/capabilities"
exec {cache_lock}>"$shared_cache/.lock"
flock -w 300 "$cache_lock" || die "the capability cache $shared_cache is locked for over 5 minutes; is a sandbox stuck?"
cp -a "$shared_cache/qemu" "$state/cache/"

stop_daemons() {
    set +e
    # Networks are host-wide (bridges, firewall rules): stop any the command started.
    if [[ -S /run/libvirt/libvirt-sock ]]; then
        for net in $(timeout 10 virsh -q -c qemu:///system net-list --name 2>/dev/null); do
            timeout 10 virsh -q -c qemu:///system net-destroy "$net" >/dev/null 2>&1
        done
    fi
    # Nothing here needs a graceful stop: the state is thrown away. QEMU first, so that the
    # daemons do not restart anything; whatever is left dies with the namespace.
    local pidfile
    for pidfile in /run/libvirt/qemu/*.pid "$state/libvirtd.pid" "$state/virtlogd.pid" "$state/virtlockd.pid"; do
        [[ -s "$pidfile" ]] && kill -9 "$(cat "$pidfile")" 2>/dev/null
    done
    return 0
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

# Daemons never talk to the host's D-Bus (systemd-machined, firewalld) nor to a service manager,
# and must not inherit the cache lock.
daemon() {
    env -u NOTIFY_SOCKET -u LISTEN_PID -u LISTEN_FDS -u LISTEN_FDNAMES \
        DBUS_SYSTEM_BUS_ADDRESS="unix:path=$state/no-system-bus" "$@" {cache_lock}>&-
}
daemon virtlogd -d -p "$state/virtlogd.pid"
# libvirtd's lockd plugin connects to /run/libvirt/virtlockd-sock at once and does not start a
# virtlockd itself when privileged, so it must answer first.
if [[ -n "$lock_manager" ]]; then
    daemon virtlockd -d -p "$state/virtlockd.pid"
    for _ in $(seq 500); do
        [[ -S /run/libvirt/virtlockd-sock ]] && break
        sleep 0.02
    done
    [[ -S /run/libvirt/virtlockd-sock ]] || die "virtlockd did not make its socket within 10 s; its log $state/log/virtlockd.log says: $(tail -n 5 "$state/log/virtlockd.log" 2>/dev/null)"
fi
daemon libvirtd -d ${listen:+--listen} -p "$state/libvirtd.pid"
for _ in $(seq 500); do
    [[ -S /run/libvirt/libvirt-sock ]] && break
    sleep 0.02
done
# Answers once the QEMU driver is up, i.e. after probing QEMU when the cache is cold.
timeout 300 virsh -q -c qemu:///system version >/dev/null 2>&1 || {
    echo "libvirt-sandbox.sh: the private libvirtd did not answer; its log says:" >&2
    tail -n 20 "$state/log/libvirtd.log" >&2 2>/dev/null
    exit 3
}
for f in "$state/cache/qemu/capabilities/"*.xml; do
    [[ -f "$f" ]] || continue
    dest="$shared_cache/qemu/capabilities/$(basename "$f")"
    cmp -s "$f" "$dest" && continue
    cp "$f" "$dest.tmp.$$" && mv -f "$dest.tmp.$$" "$dest"
done
flock -u "$cache_lock"
exec {cache_lock}>&-

export LIBVIRT_DEFAULT_URI=qemu:///system
export APPSHARE_SANDBOX="$state"
rc=0
"$@" || rc=$?
exit "$rc"
