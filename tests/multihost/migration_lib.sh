# Helpers of the live-migration tests on the multi-host bed (sourced inside the bed; it sources
# lib.sh): the demo guest's ticks on its serial console, usage records as the storage server
# keeps them, `virsh migrate` with its checks and `domjobinfo` figures.
#   mig_inner_begin SCRIPT WORK   the start of a test's part inside the bed (mh_inner_begin and
#                                 story_init with the test's demo bundle)
# shellcheck shell=bash

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mig_inner_begin() {
    mh_inner_begin "$1" "$2"
    story_init "$build" "$src" "$bundle"
}

# The last tick on H's serial log of NAME (0 when none).
last_tick() { grep -a -o 'appshare-demo tick [0-9]*' "$(story_serial_log "$1" "$2")" 2>/dev/null | tail -1 | awk '{print $3+0}'; }
first_tick() { grep -a -o 'appshare-demo tick [0-9]*' "$(story_serial_log "$1" "$2")" 2>/dev/null | head -1 | awk '{print $3+0}'; }
# Waits (at most S seconds) until NAME's serial log on H shows a tick above N; prints it.
wait_tick_above() {
    local t
    for _ in $(seq 1 $(($3 * 10))); do
        t=$(last_tick "$1" "$2"); t=${t:-0}
        ((t > $4)) && { echo "$t"; return 0; }
        sleep 0.1
    done
    echo "${t:-0}"; return 1
}
# Usage records as the storage server keeps them (the mount is seen only inside hosts).
record_of() { echo "$APPSHARE_BED_BRICK/usage/$sha/$1@$2.json"; }
running_record() {
    local state
    state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("state",""))' "$(record_of "$1" "$2")" 2>&1)
    [[ "$state" == running ]] || { ifail "$1's usage record of $2 does not say running: $state"; ls -l "$APPSHARE_BED_BRICK/usage/$sha/" >&2; }
}
domain_state() { on-host "$1" virsh -q domstate "$2" 2>/dev/null | head -1; }

# migrate NAME FROM TO [VIRSH-OPTIONS...]: live-migrates and checks that the guest counts on at TO
# from where it was at FROM; sets mig_ms, mem_bytes, disk_bytes.
migrate() {
    local name="$1" from="$2" to="$3" t0 out before after first
    shift 3
    before=$(last_tick "$from" "$name")
    rm -f "$(story_serial_log "$to" "$name")"
    t0=$(now_ms)
    out=$(on-host "$from" timeout 180 virsh migrate --live --persistent "$@" "$name" "qemu+tcp://$to/system" 2>&1)
    local rc=$?
    mig_ms=$(($(now_ms) - t0))
    ((rc == 0)) || { ifail "migrating $name $from -> $to failed ($rc): $out"; return 1; }
    [[ "$(domain_state "$to" "$name")" == running ]] || ifail "$name is not running on $to after the migration"
    # The source's record of the job has the disk bytes too (the destination's only memory);
    # then the definition goes there, as --undefinesource would have done.
    local info refused
    info=$(on-host "$from" virsh domjobinfo --completed "$name" 2>&1)
    if [[ "${try_source_start:-}" == 1 ]]; then
        # The definition the source kept must not start there on a new empty overlay.
        refused=$(on-host "$from" timeout 60 virsh start "$name" 2>&1) && ifail "the definition $from kept of $name started there after it migrated away"
        [[ "$refused" == *"migrated to host $to"*"mv "* ]] || ifail "starting $name on $from after it migrated away did not say where it went and how to put it back: $refused"
    fi
    on-host "$from" virsh -q undefine "$name" >/dev/null || ifail "undefining $name on $from failed"
    echo "$info" >"$work/jobinfo-$name-$from-$to.txt"
    mem_bytes=$(bytes_of "Memory processed" <<<"$info")
    disk_bytes=$(bytes_of "File processed" <<<"$info")
    after=$(wait_tick_above "$to" "$name" 60 "$before") || ifail "$name does not count on at $to (last tick there: $after)"
    first=$(first_tick "$to" "$name")
    grep -a -q 'appshare-demo ready' "$(story_serial_log "$to" "$name")" 2>/dev/null && ifail "$name booted anew on $to"
    say "$name $from -> $to in $mig_ms ms: ticks $before at $from, ${first:-none}..$after at $to; moved memory $mem_bytes B, disk $disk_bytes B"
    [[ -n "$first" ]] && ((first > 1)) || ifail "the first tick of $name on $to is '$first': it did not go on counting"
}
# "Memory processed:   508.809 KiB" -> bytes.
bytes_of() {
    awk -F: -v k="$1" '
        $1 == k { split($2, a, " "); v = a[1]; u = a[2];
                  m = (u == "KiB") ? 1024 : (u == "MiB") ? 1048576 : (u == "GiB") ? 1073741824 : 1;
                  printf "%d\n", v * m; found = 1 }
        END { if (!found) print 0 }'
}

