#!/usr/bin/env bash
# Issue 13, item 4: a live migration that fails part-way. On a bed of 2 hosts, the demo guest
# (counting on its serial console) runs on h1 with a host-local context and is migrated to h2
# with `virsh migrate --live --p2p --copy-storage-inc --bandwidth 1` (1 MiB/s, so it is caught
# under way: h2's hook has made the context, memory is moving). Broken twice:
#   a. the source aborts it (`virsh domjobabort`), the shared storage answering throughout: h2's
#      release finds h1 still running the domain, so its half-made context goes aside at once
#      (.migrated.NAME.UUID) and its usage record goes; `appshare gc` there removes the rest;
#   b. h2's link goes down (its storage with it): h2's release cannot read the records and says
#      so, the context stays marked as arriving; with the link back, `appshare gc` on h2 settles
#      it and removes it.
# Each time the migration fails, the guest counts on at h1 on the same overlay (inode) with the
# same instance.json and a running usage record, and h2 ends with no domain, no context (kept
# aside or not) and no usage record. Then (c) a migration to h2 succeeds, and its first stop
# there keeps the context and drops the arrival mark.
#   tests/multihost/migration_cut.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=migration.sh
source "$(dirname "$0")/migration.sh"
if [[ "${1:-}" != --inside ]]; then
    mig_test_outer "${1:-}" "${2:-}" /tmp/appshare-mh-cut
    shell_test_end "a live migration cut by the network failed, the guest counted on at its source with its context untouched, the destination kept nothing, and a second migration succeeded."
    exit 0
fi

# ---- inside the bed ----
mig_test_inner "$0" "$2" || exit 1

name=mig-cut
# QEMU's NBD client (the disk mirror) sets no timeout of its own: a source whose mirror has
# requests in flight when the link goes down waits for TCP to give the peer up, with Linux's
# default tcp_retries2 (15) some 15 minutes, the guest frozen meanwhile (QEMU drains its disks
# to cancel the mirror). Hosts that migrate over links that may fail should lower it, as the
# bed's hosts do here: 5 retries, about 13 s.
for h in "$h1" "$h2"; do on-host "$h" sysctl -q -w net.ipv4.tcp_retries2=5 || ifail "setting tcp_retries2 on $h failed"; done
install_lazy "$h1" "$name" "$bundle" || exit 1
on-host "$h2" "${appshare[@]}" hook register --reload >/dev/null || { ifail "registering the hook on $h2 failed"; exit 1; }
start_domain "$h1" "$name"
((start_rc == 0)) || { ifail "starting $name on $h1 failed: $start_out"; exit 1; }
story_wait_ready "$h1" "$name" 180 >/dev/null || { ifail "$name printed no ready line on $h1"; exit 1; }
wait_tick_above "$h1" "$name" 30 2 >/dev/null || ifail "$name does not count on $h1"

# What must not change on the source.
fingerprint() {
    on-host "$h1" sh -c "stat -c %i $CONTEXTS/$name/disk.qcow2; sha256sum < $CONTEXTS/$name/instance.json" | tr '\n' ' '
}
uuid=$(on-host "$h1" virsh -q domuuid "$name")
link="h${h2#appshare-h}-br"

# failed_migration ACTION: a migration h1 -> h2 slowed to 1 MiB/s; once h2's hook has made the
# context and 4 MiB of memory are sent, ACTION (a command) breaks it. Checks that it fails and
# that the guest counts on at h1 on the same overlay, instance.json and usage record.
failed_migration() {
    local before_print t0 cut=0 rc memory before
    before_print=$(fingerprint)
    on-host "$h1" timeout 200 virsh migrate --live --persistent --undefinesource --p2p --copy-storage-inc --bandwidth 1 \
        "$name" "qemu+tcp://$h2/system" >"$work/migrate.out" 2>&1 &
    local migrating=$!
    t0=$(now_ms)
    for _ in $(seq 600); do
        kill -0 "$migrating" 2>/dev/null || break
        memory=$(on-host "$h1" virsh domjobinfo "$name" 2>/dev/null | bytes_of "Memory processed")
        if on-host "$h2" test -f "$CONTEXTS/$name/disk.qcow2" && ((memory > 4 * 1048576)); then
            "$@"
            cut=$(now_ms)
            say "$* $((cut - t0)) ms into the migration, $memory B of memory sent"
            break
        fi
        sleep 0.2
    done
    ((cut)) || ifail "the migration was never seen under way with its context made on $h2"
    wait "$migrating" && rc=0 || rc=$?
    say "virsh migrate ended ($rc) $(($(now_ms) - cut)) ms later: $(tr '\n' ' ' <"$work/migrate.out")"
    ((rc != 0)) || ifail "the migration succeeded although it was broken ($*)"
    [[ "$(domain_state "$h1" "$name")" == running ]] || ifail "$name is not running on $h1 after the broken migration"
    before=$(last_tick "$h1" "$name")
    wait_tick_above "$h1" "$name" 30 "$before" >/dev/null || ifail "$name stopped counting on $h1 after the broken migration"
    [[ "$(fingerprint)" == "$before_print" ]] || ifail "$name's overlay or instance.json on $h1 changed: $before_print -> $(fingerprint)"
    running_record "$h1" "$name"
    on-host "$h1" test -e "$CONTEXTS/.migrated.$name.$uuid" && ifail "$h1 moved its context of $name aside"
    # The destination kills its incoming QEMU once it gives the source up.
    for _ in $(seq 120); do
        on-host "$h2" virsh -q dominfo "$name" >/dev/null 2>&1 || break
        sleep 0.5
    done
    on-host "$h2" virsh -q dominfo "$name" >/dev/null 2>&1 && ifail "$h2 kept a domain $name after the broken migration"
}
# nothing_left_on_h2: after `appshare gc` there, h2 has no context of the instance, kept aside
# or not, and no usage record of it.
nothing_left_on_h2() {
    local gc_out
    gc_out=$(on-host "$h2" "${appshare[@]}" gc 2>&1) || ifail "appshare gc on $h2 failed: $gc_out"
    on-host "$h2" test -e "$CONTEXTS/$name" && { ifail "$h2 kept a half-made context of $name: $gc_out"; on-host "$h2" ls -la "$CONTEXTS/$name" >&2; }
    on-host "$h2" test -e "$CONTEXTS/.migrated.$name.$uuid" && ifail "appshare gc on $h2 kept the half-made context of $name: $gc_out"
    [[ -e "$(record_of "$h2" "$name")" ]] && ifail "$h2 kept a usage record of $name"
}

# ---- a. the source aborts the migration part-way; the shared storage answers throughout ----
mark2=$(log_lines "$h2")
failed_migration on-host "$h1" virsh -q domjobabort "$name"
on-host "$h2" test -e "$CONTEXTS/$name" && ifail "$h2's release left the half-made context of $name where it was"
on-host "$h2" test -d "$CONTEXTS/.migrated.$name.$uuid" || ifail "$h2's release did not keep the half-made context of $name aside"
[[ -e "$(record_of "$h2" "$name")" ]] && ifail "$h2's release kept its usage record of $name"
log_since "$h2" "$mark2" | grep -q "the incoming migration did not complete; the domain runs on at $h1" ||
    { ifail "$h2's hook log does not say the incoming migration failed"; show_log_since "$h2" "$mark2"; }
nothing_left_on_h2
[[ $inner_failures == 0 ]] || { echo "--- $h2 hook log:" >&2; cat "$(story_hook_log "$h2")" >&2; }

# ---- b. h2's link goes down part-way (its storage with it) ----
mark2=$(log_lines "$h2")
failed_migration ip link set "$link" down
ip link set "$link" up
for _ in $(seq 120); do timeout 5 on-host "$h2" stat -f "$SHARED" >/dev/null 2>&1 && break; sleep 0.5; done
log_since "$h2" "$mark2" | grep -q "cannot tell whether the incoming migration of this domain completed" ||
    { ifail "$h2's hook log does not say it could not settle the arrival"; show_log_since "$h2" "$mark2"; }
nothing_left_on_h2
[[ $inner_failures == 0 ]] || { echo "--- $h2 hook log:" >&2; cat "$(story_hook_log "$h2")" >&2; }

# ---- c. the link back, a migration succeeds ----
migrate "$name" "$h1" "$h2" --copy-storage-inc --p2p
on-host "$h2" virsh -q destroy "$name" >/dev/null 2>&1
on-host "$h2" test -e "$CONTEXTS/$name/disk.qcow2" || ifail "a plain stop on $h2 after the migration did not leave its context"
on-host "$h2" test -e "$CONTEXTS/$name/arriving" && ifail "the context of $name on $h2 is still marked as arriving after its first stop there"
exit "$inner_failures"
