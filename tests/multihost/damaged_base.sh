#!/usr/bin/env bash
# Issue 9, item 2, bullet 4: a base damaged on the shared volume is detected by the next
# start on another host. On a bed of 2 hosts: the demo appliance is installed lazily on both
# (the bundle's image folder is an allowed file source); a start on host 1 loads the base
# (one copy on the brick, right digest) and boots. Then one byte in the middle of the base is
# overwritten through host 1's mount (chmod u+w; size unchanged). The next start on host 2
# must see it (its hook log says the base changed / is re-hashed / damaged), load the base
# again from its source (the brick's copy has the right digest again), and boot the guest on
# the shared base (mode shared).
#
#   tests/multihost/damaged_base.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

if [[ "${1:-}" != --inside ]]; then
    # shellcheck source=lib.sh
    source "$(dirname "$0")/lib.sh"
    mh_outer_begin "${1:-}" "${2:-}" /tmp/appshare-mh-damaged
    mh_demo_bundle
    mh_conf "$work/appshare.conf" "lock_wait_seconds = 30" "allowed_source_dirs = [\"$work/bundle/images\"]"
    mh_run_bed 2
    shell_test_end "a base damaged through host 1's mount was detected by host 2's next start, reloaded from its source, and the guest booted."
    exit 0
fi

# ---- inside the bed ----
[[ "${1:-}" == --inside ]] || exit 2  # never reached from the outer part, which exits above
trap - EXIT                            # the outer scratch folder is not ours to remove here
work="$2"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
shell_test_name=$(basename "$0")
set +e  # inside, every check counts its failure itself (ifail) instead of ending the run
read -r h1 h2 _ <<<"$APPSHARE_BED_HOSTS"
bundle="$work/bundle"
digest=$(sed -n '/<image /,/<\/image>/s:.*<sha256>\([0-9a-f]*\)</sha256>.*:\1:p' "$bundle/appliance.xml")
[[ "$digest" =~ ^[0-9a-f]{64}$ ]] || { ifail "no base digest in the bundle's manifest"; exit 1; }
base="$digest.qcow2"

install_lazy "$h1" dmg-1 "$bundle" && install_lazy "$h2" dmg-2 "$bundle" || exit 1

start_domain "$h1" dmg-1
((start_rc == 0)) || { ifail "the first start on $h1 failed: $start_out"; show_log_since "$h1" 0; exit 1; }
story_wait_ready "$h1" dmg-1 180 >/dev/null || ifail "dmg-1 printed no ready line on $h1"
on-host "$h1" virsh -q destroy dmg-1 >/dev/null 2>&1 || true
sum=$(sha256sum <"$APPSHARE_BED_BRICK/$base" | cut -d' ' -f1)
[[ "$sum" == "$digest" ]] || ifail "after the load by $h1, the brick's $base has digest $sum"
size=$(stat -c %s "$APPSHARE_BED_BRICK/$base")
say "the base was loaded by $h1: $base, $size bytes on the brick"

# Damage one byte in the middle, through host 1's mount; the size stays.
offset=$((size / 2))
old=$(on-host "$h1" od -An -tx1 -j "$offset" -N1 "$SHARED/$base" | tr -d ' ')
new=$(printf '%02x' $(((0x$old + 1) % 256)))
on-host "$h1" chmod u+w "$SHARED/$base"
on-host "$h1" sh -c "printf '\\x$new' | dd of='$SHARED/$base' bs=1 seek=$offset conv=notrunc status=none" ||
    ifail "overwriting a byte of $SHARED/$base on $h1 failed"
sum=$(sha256sum <"$APPSHARE_BED_BRICK/$base" | cut -d' ' -f1)
[[ "$sum" != "$digest" && $(stat -c %s "$APPSHARE_BED_BRICK/$base") -eq $size ]] ||
    ifail "the damage did not reach the brick (digest $sum, size $(stat -c %s "$APPSHARE_BED_BRICK/$base"))"
say "byte $offset of the base changed from 0x$old to 0x$new through $h1's mount (size still $size)"

# The next start, on host 2.
mark=$(log_lines "$h2")
start_domain "$h2" dmg-2
say "virsh start dmg-2 on $h2 returned $start_rc after $start_ms ms"
((start_rc == 0)) || ifail "the start on $h2 after the damage failed: $start_out"
detected=$(log_since "$h2" "$mark" | grep -E -i "damaged|re-hash|changed since|failed its image check" || true)
if [[ -n "$detected" ]]; then
    say "$h2's hook log on the damage:"; sed 's/^/    /' <<<"$detected"
else
    ifail "$h2's hook log says nothing about the damaged base"; show_log_since "$h2" "$mark"
fi
log_since "$h2" "$mark" | grep -q -i "damaged" || { ifail "$h2's hook log does not call the base damaged"; show_log_since "$h2" "$mark"; }
if ((start_rc == 0)); then
    if ready=$(story_wait_ready "$h2" dmg-2 180); then say "dmg-2 booted on $h2: $ready"
    else ifail "dmg-2 printed no ready line on $h2 within 180 s"; fi
fi
sum=$(sha256sum <"$APPSHARE_BED_BRICK/$base" 2>/dev/null | cut -d' ' -f1)
[[ "$sum" == "$digest" ]] || ifail "after host 2's start, the brick's $base has digest '$sum', not the base's"
read -r mode _ <<<"$(instance_mode "$h2" dmg-2)"
backing=$(story_backing_of "$h2" dmg-2)
say "dmg-2: mode '$mode', backing '$backing'"
[[ "$mode" == shared && "$backing" == "$SHARED/$base" ]] || ifail "dmg-2 is not on the reloaded shared base (mode '$mode', backing '$backing')"
on-host "$h2" virsh -q destroy dmg-2 >/dev/null 2>&1 || true
exit "$inner_failures"
