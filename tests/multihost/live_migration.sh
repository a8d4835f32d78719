#!/usr/bin/env bash
# Issue 13: an appshare instance live-migrates between two hosts with only its context moved.
# On a bed of 2 hosts (each libvirtd answers qemu+tcp on the bed's private network), with the
# demo guest counting on its serial console ("appshare-demo tick N" every second):
#   1. host-local contexts: `virsh migrate --live --persistent --copy-storage-inc` h1 -> h2
#      and back (then `virsh undefine` on the source, once its job's figures are read). Each time the guest goes on counting on the
#      destination from where it was (no new boot), the destination's hook made the context
#      (instance.json names it), the source's context folder and usage record are gone, the
#      context kept aside there (.migrated.NAME.UUID), a start of the source's kept definition
#      refused with where it went (and that copy gone once it migrates back here), the
#      destination's record says running; the disk bytes the migration moved (domjobinfo
#      --completed on the source) are at most the overlay's size and far below the base's.
#   2. failure: the destination cannot have the base (its lock held from h1, no host-local
#      store on h2): the migration fails with the hook's sentence, the guest runs on at h1 with
#      its context untouched, and h2 has neither the domain nor a context.
#   2b. an instance that runs independent on h1 (the base's lock held elsewhere at its start)
#      migrates to h2, whose shared base is healthy, and runs there shared again; then
#      `appshare gc` on h1 removes the context h1 kept aside.
#   3. contexts on the shared volume (context_root there, on both hosts): plain `virsh migrate
#      --live` h1 -> h2 and back, no disk bytes moved, the guest counts on, the context stays.
#
#   tests/multihost/live_migration.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=migration.sh
source "$(dirname "$0")/migration.sh"
if [[ "${1:-}" != --inside ]]; then
    mig_test_outer "${1:-}" "${2:-}" /tmp/appshare-mh-migrate
    shell_test_end "the demo guest live-migrated there and back in both modes, counting on, with only its context moved; an independent one arrived shared; a refused migration left it running on its source."
    exit 0
fi

# ---- inside the bed ----
mig_test_inner "$0" "$2" || exit 1
base_bytes=$(stat -c %s "$bundle/images/base.qcow2")

install_lazy "$h1" mig-local "$bundle" || exit 1
on-host "$h2" "${appshare[@]}" hook register --reload >/dev/null || { ifail "registering the hook on $h2 failed"; exit 1; }
start_counting "$h1" mig-local || exit 1

# ---- 1. host-local contexts, copy-storage-inc there and back ----
uuid=$(on-host "$h1" virsh -q domuuid mig-local)
try_source_start=1
for leg in "$h1 $h2" "$h2 $h1"; do
    read -r from to <<<"$leg"
    mark=$(log_lines "$to")
    migrate mig-local "$from" "$to" --copy-storage-inc || { show_log_since "$to" "$mark"; break; }
    overlay_bytes=$(on-host "$to" stat -c %s "$CONTEXTS/mig-local/disk.qcow2")
    say "overlay at $to: $overlay_bytes B; base: $base_bytes B"
    ((disk_bytes > 0)) || { ifail "domjobinfo shows no disk bytes for a --copy-storage-inc migration"; cat "$work/jobinfo-mig-local-$from-$to.txt" >&2; }
    ((disk_bytes <= overlay_bytes + 1048576)) || ifail "the migration moved $disk_bytes disk bytes, more than the overlay ($overlay_bytes B)"
    ((disk_bytes < base_bytes)) || ifail "the migration moved $disk_bytes disk bytes, not less than the base ($base_bytes B)"
    read -r mode _ <<<"$(instance_mode "$to" mig-local)"
    [[ "$mode" == shared ]] || ifail "mig-local at $to is '$mode', not shared"
    host=$(on-host "$to" python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("host",""))' "$CONTEXTS/mig-local/instance.json")
    [[ "$host" == "$to" ]] || ifail "instance.json at $to names host '$host'"
    on-host "$from" test -e "$CONTEXTS/mig-local" && ifail "$from still has the context of mig-local after it migrated away"
    on-host "$from" test -f "$CONTEXTS/.migrated.mig-local.$uuid/disk.qcow2" || ifail "$from did not keep the context of mig-local aside"
    on-host "$to" test -e "$CONTEXTS/.migrated.mig-local.$uuid" && ifail "$to still keeps an out-of-date copy of mig-local's context after it migrated back"
    [[ -e "$(record_of "$from" mig-local)" ]] && ifail "$from's usage record of mig-local is still there"
    running_record "$to" mig-local
    log_since "$to" "$mark" | grep -q "incoming migration prepared on" || { ifail "$to's hook log says nothing of the incoming migration"; show_log_since "$to" "$mark"; }
    grep -q "migrated to $to" "$(story_hook_log "$from")" || ifail "$from's hook log does not say mig-local migrated to $to"
done

try_source_start=0

# ---- 2. the destination refuses: the base's lock is held, and h2 has no host-local store ----
if [[ "$(domain_state "$h1" mig-local)" == running ]]; then
    before=$(last_tick "$h1" mig-local)
    sum_before=$(on-host "$h1" sha256sum "$CONTEXTS/mig-local/instance.json" | cut -d' ' -f1)
    on-host "$h2" sh -c "sed -i -e 's/^lock_wait_seconds.*/lock_wait_seconds = 2/' -e 's|^local_root.*|local_root = \"/var/lib/libvirt/images/appshare/no-local\"|' /etc/appshare/appshare.conf && touch /var/lib/libvirt/images/appshare/no-local"
    hold_lock "$h1" "$SHARED/$sha.qcow2.lock"
    mark=$(log_lines "$h2")
    out=$(on-host "$h1" timeout 120 virsh migrate --live --persistent --undefinesource --copy-storage-inc mig-local "qemu+tcp://$h2/system" 2>&1) &&
        ifail "the migration succeeded although $h2 cannot have the base"
    release_lock
    say "the refused migration said: $out"
    [[ "$out" == *"cannot"* ]] || ifail "the refusal does not carry the hook's sentence: $out"
    [[ "$(domain_state "$h1" mig-local)" == running ]] || ifail "mig-local is not running on $h1 after the refused migration"
    wait_tick_above "$h1" mig-local 30 "$before" >/dev/null || ifail "mig-local stopped counting on $h1"
    [[ "$(on-host "$h1" sha256sum "$CONTEXTS/mig-local/instance.json" | cut -d' ' -f1)" == "$sum_before" ]] || ifail "mig-local's instance.json on $h1 changed"
    on-host "$h2" test -e "$CONTEXTS/mig-local" && ifail "$h2 kept a half-made context of mig-local"
    on-host "$h2" virsh -q dominfo mig-local >/dev/null 2>&1 && ifail "$h2 kept a domain mig-local"
    [[ -e "$(record_of "$h2" mig-local)" ]] && ifail "$h2 kept a usage record of mig-local"
    on-host "$h2" cp "$work/appshare.conf" /etc/appshare/appshare.conf
fi
on-host "$h1" virsh -q destroy mig-local >/dev/null 2>&1

# ---- 2b. an independent instance migrates onto a destination with a healthy shared base as shared ----
with_base_locked "$h1" "$h1" start_domain "$h1" mig-local
read -r mode _ <<<"$(instance_mode "$h1" mig-local)"
say "mig-local started on $h1 with the base's lock held elsewhere: $mode"
[[ $start_rc == 0 && "$mode" == independent ]] || ifail "mig-local did not start independent on $h1 (status $start_rc, mode '$mode'): $start_out"
if ((start_rc == 0)); then
    story_wait_ready "$h1" mig-local 180 >/dev/null || ifail "the independent mig-local printed no ready line on $h1"
    wait_tick_above "$h1" mig-local 30 1 >/dev/null
    if migrate mig-local "$h1" "$h2" --copy-storage-inc; then
        read -r mode base <<<"$(instance_mode "$h2" mig-local)"
        say "the independent mig-local arrived at $h2 as $mode on $base"
        [[ "$mode" == shared && "$base" == "$SHARED/$sha.qcow2" ]] || ifail "the independent mig-local is '$mode' on '$base' at $h2, not shared again"
        on-host "$h1" test -e "$CONTEXTS/mig-local" && ifail "$h1 still has the context of mig-local after it migrated away"
        # Undefined on h1 and running on h2 (a live host): gc on h1 removes the copy kept aside.
        on-host "$h1" test -d "$CONTEXTS/.migrated.mig-local.$uuid" || ifail "$h1 did not keep the context of mig-local aside"
        gc_out=$(on-host "$h1" "${appshare[@]}" gc 2>&1) || ifail "appshare gc on $h1 failed: $gc_out"
        on-host "$h1" test -e "$CONTEXTS/.migrated.mig-local.$uuid" && ifail "appshare gc on $h1 kept the context of mig-local that runs on $h2: $gc_out"
    fi
    on-host "$h2" virsh -q destroy mig-local >/dev/null 2>&1
fi

# ---- 3. contexts on the shared volume: plain live migration, nothing copied ----
for h in "$h1" "$h2"; do
    on-host "$h" sed -i "s|^context_root.*|context_root = \"$SHARED/contexts\"|" /etc/appshare/appshare.conf
done
CONTEXTS="$SHARED/contexts"
install_lazy "$h1" mig-shared "$bundle" || exit "$inner_failures"
start_counting "$h1" mig-shared || exit "$inner_failures"
for leg in "$h1 $h2" "$h2 $h1"; do
    read -r from to <<<"$leg"
    mark=$(log_lines "$to")
    migrate mig-shared "$from" "$to" || { show_log_since "$to" "$mark"; break; }
    ((disk_bytes == 0)) || ifail "a migration on shared contexts moved $disk_bytes disk bytes"
    on-host "$from" test -f "$CONTEXTS/mig-shared/disk.qcow2" || ifail "the shared context of mig-shared is gone after it left $from"
    [[ -e "$(record_of "$from" mig-shared)" ]] && ifail "$from's usage record of mig-shared is still there"
    running_record "$to" mig-shared
done
on-host "$h1" virsh -q destroy mig-shared >/dev/null 2>&1
on-host "$h2" virsh -q destroy mig-shared >/dev/null 2>&1
exit "$inner_failures"
