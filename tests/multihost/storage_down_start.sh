#!/usr/bin/env bash
# Issue 9, item 2, bullet 3: the shared storage stops answering while a start runs.
# On a bed of 2 hosts (Gluster ping-timeout 5 s), host 1 has the demo appliance installed
# lazily twice, with the bundle's image folder as an allowed file source,
# storage_timeout_seconds = 5 and lock_wait_seconds = 10. For a cold base (never loaded) and
# then for a warm one (loaded and booted once on the shared base), with the storage down
# (server link down):
#   - `virsh start` returns within storage_timeout + 30 s (the time is printed);
#   - the guest boots (its ready line) as an independent entity: instance.json says
#     mode independent and the overlay's backing file is under local_root;
# and once more for the warm base with the storage down for 15 s before the start (the
# Gluster client has given the server up; calls fail at once with ENOTCONN); each time
# then with the storage back: virsh destroy, `appshare reshare NAME` puts it back on the
# shared base (mode shared, backing under shared_root) and it boots again.
# A start that hangs or is refused fails the test, with the hook log's lines.
#
#   tests/multihost/storage_down_start.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
storage_timeout=5
start_bound=$((storage_timeout + 30))

if [[ "${1:-}" != --inside ]]; then
    # shellcheck source=lib.sh
    source "$(dirname "$0")/lib.sh"
    mh_outer_begin "${1:-}" "${2:-}" /tmp/appshare-mh-storage-down
    mh_demo_bundle
    mh_conf "$work/appshare.conf" "storage_timeout_seconds = $storage_timeout" "lock_wait_seconds = 10" \
        "allowed_source_dirs = [\"$work/bundle/images\"]"
    mh_run_bed 2
    shell_test_end "with the storage down, starts of a cold and of a warm base returned in time and booted independent; reshare brought them back to the shared base."
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
read -r h1 _ <<<"$APPSHARE_BED_HOSTS"
bundle="$work/bundle"

# independent_start NAME WHAT: storage-down, start NAME on h1, the checks, storage-up,
# destroy, reshare, start again on the shared base.
# With SETTLE seconds, the start comes that long after storage-down (the client has given
# the server up by then: calls fail at once with ENOTCONN instead of blocking).
independent_start() {
    local name="$1" what="$2" settle="${3:-0}" mark ready mode backing
    mark=$(log_lines "$h1")
    say "[$what] host-local files on $h1 before the start: $(on-host "$h1" ls "$LOCAL" | tr '\n' ' ')"
    say "[$what] storage-down, then ${settle} s later virsh start $name on $h1 (bound: ${start_bound} s)"
    storage-down || { ifail "storage-down failed"; return 1; }
    sleep "$settle"
    start_domain "$h1" "$name"
    say "[$what] virsh start $name returned $start_rc after $start_ms ms with the storage down: ${start_out:-(no output)}"
    if ((start_rc != 0)); then
        ifail "[$what] virsh start $name was refused with the storage down: $start_out"
        show_log_since "$h1" "$mark"
    fi
    ((start_ms <= start_bound * 1000)) || { ifail "[$what] virsh start $name took $start_ms ms, more than ${start_bound} s"; show_log_since "$h1" "$mark"; }
    if ((start_rc == 0)); then
        if ready=$(story_wait_ready "$h1" "$name" 180); then say "[$what] the guest booted: $ready"
        else ifail "[$what] $name printed no ready line within 180 s of its start"; fi
        read -r mode _ <<<"$(instance_mode "$h1" "$name")"
        backing=$(story_backing_of "$h1" "$name")
        say "[$what] instance.json mode: '${mode}'; overlay backing: '$backing'"
        [[ "$mode" == independent ]] || ifail "[$what] instance.json of $name says mode '$mode', not independent"
        [[ "$backing" == "$LOCAL"/* ]] || ifail "[$what] the overlay of $name is backed by '$backing', not a file under $LOCAL"
        grep -n -i 'independent' <(log_since "$h1" "$mark") | head -n 3 | sed 's/^/    hook log: /'
    fi
    say "[$what] storage-up, destroy, reshare $name"
    storage-up || { ifail "storage-up failed"; return 1; }
    on-host "$h1" virsh -q destroy "$name" >/dev/null 2>&1 || true
    mark=$(log_lines "$h1")
    local t0; t0=$(now_ms)
    if ! out=$(as_host "$h1" reshare "$name" 2>&1); then
        ifail "[$what] appshare reshare $name failed: $out"; show_log_since "$h1" "$mark"; return 1
    fi
    say "[$what] reshare took $(($(now_ms) - t0)) ms"
    read -r mode _ <<<"$(instance_mode "$h1" "$name")"
    backing=$(story_backing_of "$h1" "$name")
    say "[$what] after reshare: mode '$mode', overlay backing '$backing'"
    [[ "$mode" == shared ]] || ifail "[$what] after reshare, instance.json of $name says mode '$mode', not shared"
    [[ "$backing" == "$SHARED"/* ]] || ifail "[$what] after reshare, the overlay of $name is backed by '$backing', not a file under $SHARED"
    start_domain "$h1" "$name"
    ((start_rc == 0)) || { ifail "[$what] after reshare, virsh start $name failed: $start_out"; show_log_since "$h1" "$mark"; return 1; }
    if ready=$(story_wait_ready "$h1" "$name" 180); then say "[$what] after reshare it booted again in shared mode: $ready"
    else ifail "[$what] after reshare, $name printed no ready line within 180 s"; fi
    read -r mode _ <<<"$(instance_mode "$h1" "$name")"
    [[ "$mode" == shared ]] || ifail "[$what] after reshare and a start, $name is in mode '$mode'"
    on-host "$h1" virsh -q destroy "$name" >/dev/null 2>&1 || true
}

install_lazy "$h1" demo-cold "$bundle" && install_lazy "$h1" demo-warm "$bundle" || exit 1

# 1. cold: the base was never loaded on the shared storage.
[[ -z "$(brick_files | grep -E '[0-9a-f]{64}\.qcow2$' || true)" ]] || ifail "the base is already on the brick before the first start"
independent_start demo-cold "cold base"

# 2. warm: a first start on the shared base (storage up), then the same with the storage down.
start_domain "$h1" demo-warm
if ((start_rc == 0)) && story_wait_ready "$h1" demo-warm 180 >/dev/null; then
    say "[warm base] demo-warm booted on the shared base first (start took $start_ms ms)"
    on-host "$h1" virsh -q destroy demo-warm >/dev/null 2>&1 || true
    independent_start demo-warm "warm base"
    # 3. the same once the Gluster client has given the server up (storage down for 15 s).
    start_domain "$h1" demo-warm
    story_wait_ready "$h1" demo-warm 180 >/dev/null || ifail "[warm base, storage long down] demo-warm did not boot on the shared base first"
    on-host "$h1" virsh -q destroy demo-warm >/dev/null 2>&1 || true
    independent_start demo-warm "warm base, storage long down" 15
else
    ifail "[warm base] the first start of demo-warm with the storage up failed ($start_rc: $start_out)"
fi
as_host "$h1" list --json >"$work/list.json" 2>&1 || true
say "appshare list --json on $h1: $(tr -d '\n' <"$work/list.json" | cut -c1-400)"
exit "$inner_failures"
