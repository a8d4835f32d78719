#!/usr/bin/env bash
# Issue 13, item 3: libvirt's lock manager. On a bed of 2 hosts that each run virtlockd
# (multihost-sandbox.sh --lock-manager lockd: lock_manager = "lockd", automatic disk leases,
# taken directly as fcntl locks on the disk files, which the Gluster volume passes between
# hosts), with the demo guest counting on its serial console:
#   1. host-local contexts: an instance starts on h1 with a lease on its overlay only (the
#      shared base gets none), and live-migrates to h2 with --copy-storage-inc; the lease
#      moves with it.
#   1b. an instance with a cloud-init seed starts independent (the base's lock held from h2)
#      and, after `appshare reshare`, shared again: a lease on its overlay only each time (the
#      seed CD-ROM, the host-local copy and the base get none).
#   2. contexts on the shared volume: a second instance starts on h1 while the first runs on
#      h2, both on the one shared base (no exclusive lease on it, so both run at once); the
#      lease on its overlay is seen from h2 (a lock on the overlay's byte 0, where virtlockd
#      locks, is refused there).
#   3. h2 defines the same instance (same context on the volume) and cannot start it while it
#      runs on h1: `virsh start` fails with the hook's refusal (a QEMU holds the overlay's image
#      locks), the guest on h1 counts on, its context and usage record are untouched; once it
#      stops on h1, h2 starts it.
#   4. the lease itself refuses a start: a lock on byte 0 of a stopped instance's overlay,
#      taken from the other host as virtlockd there would, makes `virsh start` fail with
#      virtlockd's "resource busy" before the guest runs.
#   5. plain `virsh migrate --live` of the shared-context instance h2 -> h1 under the leases.
#
#   tests/multihost/lock_manager.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=migration.sh
source "$(dirname "$0")/migration.sh"
if [[ "${1:-}" != --inside ]]; then
    mig_test_outer "${1:-}" "${2:-}" /tmp/appshare-mh-lockd --lock-manager lockd
    shell_test_end "with virtlockd on both hosts, instances started and live-migrated in both context modes on one shared base, and a context running on one host could not start on the other until it stopped there."
    exit 0
fi

# ---- inside the bed ----
mig_test_inner "$0" "$2" || exit 1

# The files below /var/lib/libvirt (where every disk is) that host H's virtlockd holds open, one
# a line: each is a lease it holds (it also holds its pid file, and what it inherited).
leases_of() {
    local pid
    pid=$(cat "$(host_dir "$1")/virtlockd.pid" 2>/dev/null) || { ifail "$1 runs no virtlockd"; return 0; }
    on-host "$1" sh -c "for f in /proc/$pid/fd/*; do readlink \"\$f\"; done" 2>/dev/null | grep '^/var/lib/libvirt/' | sort
}
# expect_leases H WHAT FILE...: H's virtlockd holds exactly the FILEs (none when no FILE).
expect_leases() {
    local h="$1" what="$2" got want
    shift 2
    got=$(leases_of "$h")
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    say "$h's virtlockd holds ${got:-nothing}"
    [[ "$got" == "$want" ]] || ifail "$what: $h's virtlockd holds '${got//$'\n'/ }', not '${want//$'\n'/ }'"
}
# Whether a POSIX lock on byte 0 of FILE can be had from host H right now ("free" or "locked").
byte0_from() {
    on-host "$1" python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 0)
    print("free")
except OSError:
    print("locked")' "$2" 2>&1
}

on-host "$h2" "${appshare[@]}" hook register --reload >/dev/null || { ifail "registering the hook on $h2 failed"; exit 1; }

# ---- 1. host-local contexts ----
install_lazy "$h1" lk-local "$bundle" || exit 1
start_counting "$h1" lk-local || exit 1
expect_leases "$h1" "lk-local running on $h1" "$CONTEXTS/lk-local/disk.qcow2"
migrate lk-local "$h1" "$h2" --copy-storage-inc
say "lk-local $h1 -> $h2 with --copy-storage-inc under virtlockd: $mig_ms ms, disk $disk_bytes B"
expect_leases "$h1" "after lk-local left $h1" ""
expect_leases "$h2" "lk-local arrived at $h2" "$CONTEXTS/lk-local/disk.qcow2"

# ---- 1b. the independent fallback, reshare and a cloud-init seed under the leases ----
# lk-indep has a seed CD-ROM; its first start finds the base's lock held (from h2) and runs on
# a host-local copy; after `appshare reshare` it runs shared again. Each time h1's virtlockd
# holds its overlay only (lk-local runs on h2): never the seed, the local copy or the base.
ssh-keygen -q -t ed25519 -N "" -C lk-indep -f "$work/lk-indep.key"
as_host "$h1" install "$bundle" --name lk-indep --virt-type qemu --lazy --ssh-key "$work/lk-indep.key.pub" >/dev/null ||
    ifail "installing lk-indep with a seed on $h1 failed"
with_base_locked "$h1" "$h2" start_counting "$h1" lk-indep
read -r mode base <<<"$(instance_mode "$h1" lk-indep)"
say "lk-indep started on $h1 with the base's lock held from $h2: $mode on $base"
[[ "$mode" == independent ]] || ifail "lk-indep did not fall back to a host-local copy on $h1 ($mode)"
on-host "$h1" test -f "$CONTEXTS/lk-indep/seed.iso" || ifail "lk-indep has no seed.iso"
expect_leases "$h1" "lk-indep running independent on $h1" "$CONTEXTS/lk-indep/disk.qcow2"
on-host "$h1" virsh -q destroy lk-indep >/dev/null || ifail "stopping lk-indep on $h1 failed"
out=$(as_host "$h1" reshare lk-indep 2>&1) || ifail "appshare reshare lk-indep on $h1 failed: $out"
start_counting "$h1" lk-indep
read -r mode _ <<<"$(instance_mode "$h1" lk-indep)"
[[ "$mode" == shared ]] || ifail "lk-indep is '$mode' on $h1 after reshare, not shared"
expect_leases "$h1" "lk-indep running shared again on $h1" "$CONTEXTS/lk-indep/disk.qcow2"
on-host "$h1" virsh -q destroy lk-indep >/dev/null 2>&1

# ---- 2. contexts on the shared volume; the one base used from both hosts at once ----
for h in "$h1" "$h2"; do
    on-host "$h" sed -i "s|^context_root.*|context_root = \"$SHARED/contexts\"|" /etc/appshare/appshare.conf
done
local_contexts="$CONTEXTS"
CONTEXTS="$SHARED/contexts"
overlay="$CONTEXTS/lk-shared/disk.qcow2"
install_lazy "$h1" lk-shared "$bundle" || exit "$inner_failures"
start_counting "$h1" lk-shared || exit "$inner_failures"
[[ "$(domain_state "$h2" lk-local)" == running ]] || ifail "lk-local on $h2 is not running beside lk-shared on $h1"
read -r mode_shared base_shared <<<"$(instance_mode "$h1" lk-shared)"
read -r mode_local base_local <<<"$(CONTEXTS=$local_contexts instance_mode "$h2" lk-local)"
say "lk-shared on $h1: $mode_shared on $base_shared; lk-local on $h2: $mode_local on $base_local"
[[ "$mode_shared $base_shared" == "shared $SHARED/$sha.qcow2" && "$mode_local $base_local" == "shared $SHARED/$sha.qcow2" ]] ||
    ifail "the two instances do not run on the one shared base at once"
expect_leases "$h1" "lk-shared running on $h1" "$overlay"
[[ "$(byte0_from "$h2" "$overlay")" == locked ]] || ifail "$h2 can lock byte 0 of $overlay, which $h1's virtlockd holds"
[[ "$(byte0_from "$h2" "$SHARED/$sha.qcow2")" == free ]] || ifail "the shared base is locked at byte 0 while instances run on it"

# ---- 3. h2 defines the same instance and cannot start it while it runs on h1 ----
on-host "$h1" virsh -q dumpxml --inactive --security-info lk-shared >"$work/lk-shared.xml"
on-host "$h2" virsh -q define "$work/lk-shared.xml" >/dev/null || ifail "defining lk-shared on $h2 failed"
sum_before=$(on-host "$h1" sha256sum "$CONTEXTS/lk-shared/instance.json" | cut -d' ' -f1)
before=$(last_tick "$h1" lk-shared)
mark=$(log_lines "$h2")
start_domain "$h2" lk-shared
say "starting lk-shared on $h2 while it runs on $h1: status $start_rc, $start_ms ms: $start_out"
((start_rc != 0)) || ifail "lk-shared started on $h2 while it runs on $h1"
# appshare's hook refuses first (QEMU's image locks on the overlay, seen through the volume),
# before it touches the context; QEMU's own locking and the lease would refuse it next.
[[ "$start_out" == *"runs elsewhere"*"image locks"* ]] || ifail "starting lk-shared on $h2 did not fail with the hook's lock refusal: $start_out"
log_since "$h2" "$mark" | grep -q "did not get to run here; it runs on $h1" || ifail "$h2's hook log does not say lk-shared runs on $h1"
[[ "$(domain_state "$h2" lk-shared)" != running ]] || ifail "lk-shared runs on $h2"
wait_tick_above "$h1" lk-shared 30 "$before" >/dev/null || ifail "lk-shared stopped counting on $h1 after $h2 tried to start it"
[[ "$(domain_state "$h1" lk-shared)" == running ]] || ifail "lk-shared is not running on $h1 any more"
[[ "$(on-host "$h1" sha256sum "$CONTEXTS/lk-shared/instance.json" | cut -d' ' -f1)" == "$sum_before" ]] ||
    { ifail "the refused start on $h2 changed lk-shared's instance.json"; show_log_since "$h2" "$mark"; }
expect_leases "$h1" "lk-shared still running on $h1" "$overlay"
expect_leases "$h2" "after the refused start on $h2" "$local_contexts/lk-local/disk.qcow2"
running_record "$h1" lk-shared
[[ -e "$(record_of "$h2" lk-shared)" ]] &&
    { ifail "the refused start left a usage record of lk-shared on $h2: $(cat "$(record_of "$h2" lk-shared)")"; }
on-host "$h1" virsh -q destroy lk-shared >/dev/null || ifail "stopping lk-shared on $h1 failed"
start_counting "$h2" lk-shared || ifail "lk-shared did not run on $h2 after it stopped on $h1"
expect_leases "$h2" "lk-shared and lk-local running on $h2" "$overlay" "$local_contexts/lk-local/disk.qcow2"

# ---- 5. plain live migration of the shared-context instance under the leases ----
migrate lk-shared "$h2" "$h1"
say "lk-shared $h2 -> $h1 under virtlockd: $mig_ms ms, disk $disk_bytes B"
((disk_bytes == 0)) || ifail "a migration on shared contexts moved $disk_bytes disk bytes"
expect_leases "$h1" "lk-shared arrived at $h1" "$overlay"
running_record "$h1" lk-shared
on-host "$h1" virsh -q destroy lk-shared >/dev/null 2>&1

# ---- 4. the lease itself refuses a start: byte 0 held from the other host ----
hold_lock "$h2" "$overlay" 1 0
start_domain "$h1" lk-shared
release_lock
say "starting lk-shared on $h1 with its lease held from $h2: status $start_rc: $start_out"
((start_rc != 0)) || ifail "lk-shared started on $h1 although its lease was held from $h2"
[[ "$start_out" == *"resource busy"* ]] || ifail "the start refused by the lease did not say virtlockd's 'resource busy': $start_out"
[[ "$(domain_state "$h1" lk-shared)" != running ]] || ifail "lk-shared runs on $h1 although its lease was held elsewhere"
on-host "$h2" virsh -q destroy lk-local >/dev/null 2>&1
exit "$inner_failures"
