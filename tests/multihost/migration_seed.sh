#!/usr/bin/env bash
# Issue 13: an instance with a cloud-init seed and a host-local context. The seed (seed.iso, a
# read-only CD-ROM) is made from files only the source's context holds, and libvirt's NBD copy
# skips read-only disks, so the destination cannot have it. On a bed of 2 hosts, the demo guest
# installed with --ssh-key (so it has a seed) runs on h1:
#   1. `virsh migrate --live --copy-storage-inc` to h2 is refused by h2's `migrate begin` with
#      one sentence naming the seed and the `virsh change-media ... --eject --live --config`
#      to run; the guest counts on at h1 with its context untouched, h2 has no domain and no
#      context;
#   2. that advice works: the seed ejected on h1 (live and in the definition), the migration
#      succeeds, the guest counts on at h2, and a new start there (after a stop) has no seed.
#
#   tests/multihost/migration_seed.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=migration.sh
source "$(dirname "$0")/migration.sh"
if [[ "${1:-}" != --inside ]]; then
    mh_outer_begin "${1:-}" "${2:-}" /tmp/appshare-mh-seed
    mh_demo_bundle
    echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ5H/3nLxK0wBfacGJmQbqALhAKXMyxLg3Gudr2JhUy5 test@appshare" >"$work/key.pub"
    mh_conf "$work/appshare.conf" "lock_wait_seconds = 20" "allowed_source_dirs = [\"$work/bundle/images\"]"
    mh_run_bed 2
    shell_test_end "a seeded instance with a host-local context was refused with the advice to eject its seed, left running at its source, and migrated once the seed was ejected."
    exit 0
fi

# ---- inside the bed ----
mig_test_inner "$0" "$2" || exit 1

name=mig-seed
as_host "$h1" install "$bundle" --name "$name" --virt-type qemu --lazy --ssh-key "$work/key.pub" >/dev/null ||
    { ifail "installing $name with --ssh-key on $h1 failed"; exit 1; }
for h in "$h1" "$h2"; do on-host "$h" "${appshare[@]}" hook register --reload >/dev/null || { ifail "registering the hook on $h failed"; exit 1; }; done
start_domain "$h1" "$name"
((start_rc == 0)) || { ifail "starting $name on $h1 failed: $start_out"; exit 1; }
story_wait_ready "$h1" "$name" 180 >/dev/null || { ifail "$name printed no ready line on $h1"; exit 1; }
wait_tick_above "$h1" "$name" 30 2 >/dev/null || ifail "$name does not count on $h1"
seed_disks() { on-host "$1" virsh -q domblklist "$name" | grep -c 'seed\.iso'; }
target=$(on-host "$h1" virsh -q domblklist "$name" | awk '/seed\.iso/ {print $1}')
[[ -n "$target" ]] || { ifail "$name on $h1 has no seed attached"; exit 1; }

# ---- 1. refused, with the advice ----
sum_before=$(on-host "$h1" sh -c "stat -c %i $CONTEXTS/$name/disk.qcow2; sha256sum < $CONTEXTS/$name/instance.json")
before=$(last_tick "$h1" "$name")
out=$(on-host "$h1" timeout 120 virsh migrate --live --persistent --undefinesource --copy-storage-inc "$name" "qemu+tcp://$h2/system" 2>&1) &&
    ifail "the migration of $name with its seed succeeded"
say "the refused migration said: $out"
[[ "$out" == *"cloud-init seed"*"virsh change-media $name $target --eject --live --config"* ]] ||
    ifail "the refusal does not name the seed and the change-media to run: $out"
[[ "$(domain_state "$h1" "$name")" == running ]] || ifail "$name is not running on $h1 after the refused migration"
wait_tick_above "$h1" "$name" 30 "$before" >/dev/null || ifail "$name stopped counting on $h1"
[[ "$(on-host "$h1" sh -c "stat -c %i $CONTEXTS/$name/disk.qcow2; sha256sum < $CONTEXTS/$name/instance.json")" == "$sum_before" ]] ||
    ifail "$name's overlay or instance.json on $h1 changed"
on-host "$h2" test -e "$CONTEXTS/$name" && ifail "$h2 kept a context of $name after the refusal"
on-host "$h2" virsh -q dominfo "$name" >/dev/null 2>&1 && ifail "$h2 kept a domain $name after the refusal"

# ---- 2. the advice: eject the seed, then it migrates ----
on-host "$h1" virsh -q change-media "$name" "$target" --eject --live --config >/dev/null || ifail "ejecting the seed of $name on $h1 failed"
(($(seed_disks "$h1") == 0)) || ifail "$name on $h1 still has the seed after the eject"
on-host "$h1" virsh -q dumpxml --inactive "$name" | grep -q 'seed\.iso' && ifail "the definition of $name on $h1 still names the seed"
migrate "$name" "$h1" "$h2" --copy-storage-inc
(($(seed_disks "$h2") == 0)) || ifail "$name on $h2 has a seed after the migration"
on-host "$h2" virsh -q destroy "$name" >/dev/null 2>&1
start_domain "$h2" "$name"
((start_rc == 0)) || ifail "starting $name on $h2 after the migration failed: $start_out"
story_wait_ready "$h2" "$name" 180 >/dev/null || ifail "$name printed no ready line at its new start on $h2"
(($(seed_disks "$h2") == 0)) || ifail "the new start of $name on $h2 attached the seed again"
on-host "$h2" test -e "$CONTEXTS/$name/seed.iso" && ifail "the hook made a seed for $name on $h2"
on-host "$h2" virsh -q destroy "$name" >/dev/null 2>&1
exit "$inner_failures"
