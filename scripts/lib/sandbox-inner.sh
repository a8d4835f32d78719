#!/usr/bin/env bash
# Inner half of libvirt-sandbox.sh: runs inside the private mount namespace.
#   sandbox-inner.sh STATE_DIR COMMAND [ARGS...]
set -euo pipefail
state="$1"; shift

for d in etc run lib log; do mkdir -p "$state/$d"; done
cp -a /etc/libvirt/. "$state/etc/"
rm -rf "$state/etc/hooks"; mkdir -p "$state/etc/hooks/qemu.d"
# No autostarted networks or domains from the host's configuration.
rm -rf "$state/etc/qemu/networks/autostart" "$state/etc/qemu/autostart"
find "$state/etc/qemu" -maxdepth 1 -name '*.xml' -delete 2>/dev/null || true
# QEMU runs as root here (see DESIGN.md); no host-wide locking daemon.
cat >>"$state/etc/qemu.conf" <<'CONF'

# appshare sandbox
user = "root"
group = "root"
CONF
mkdir -p "$state/lib/images"

mount --bind "$state/etc" /etc/libvirt
mount --bind "$state/run" /run/libvirt 2>/dev/null || { mkdir -p /run/libvirt; mount --bind "$state/run" /run/libvirt; }
mkdir -p /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
mount --bind "$state/lib" /var/lib/libvirt
mount --bind "$state/log" /var/log/libvirt
# QEMU capability probing takes seconds; keep its cache (keyed by the QEMU binary) across runs.
cache=/var/cache/appshare-sandbox
mkdir -p "$cache"
mount --bind "$cache" /var/cache/libvirt

stop_daemons() {
    set +e
    if [[ -S /run/libvirt/libvirt-sock ]]; then
        for dom in $(timeout 20 virsh -q -c qemu:///system list --name 2>/dev/null); do
            timeout 20 virsh -q -c qemu:///system destroy "$dom" >/dev/null 2>&1
        done
    fi
    local pids=()
    for pidfile in "$state/libvirtd.pid" "$state/virtlogd.pid"; do
        [[ -s "$pidfile" ]] && pids+=("$(cat "$pidfile")")
    done
    ((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null
    for _ in $(seq 100); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.05
    done
    ((${#pids[@]})) && kill -9 "${pids[@]}" 2>/dev/null
    # QEMU processes this daemon started record their pid under the private /run/libvirt.
    for pidfile in /run/libvirt/qemu/*.pid; do
        [[ -s "$pidfile" ]] && kill -9 "$(cat "$pidfile")" 2>/dev/null
    done
    return 0
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

virtlogd -d -p "$state/virtlogd.pid"
libvirtd -d -p "$state/libvirtd.pid"
for _ in $(seq 100); do
    if virsh -q -c qemu:///system version >/dev/null 2>&1; then break; fi
    sleep 0.1
done
virsh -q -c qemu:///system version >/dev/null 2>&1 || {
    echo "libvirt-sandbox.sh: the private libvirtd did not answer within 10 s; see $state/log." >&2
    exit 3
}

export LIBVIRT_DEFAULT_URI=qemu:///system
export APPSHARE_SANDBOX="$state"
rc=0
"$@" || rc=$?
exit "$rc"
