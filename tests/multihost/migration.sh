# The two halves of the multi-host live-migration tests, and their helpers (sourced after lib.sh):
#   mig_test_outer SOURCE_DIR BUILD_DIR WORK_PREFIX [BED-OPTION...]
#       outside the bed: the demo bundle, an appshare.conf with the bed's roots (host-local
#       contexts), and a bed of 2 hosts (with BED-OPTIONs, e.g. --lock-manager lockd) that runs
#       this script again with --inside; then shell_test_end is the caller's
#   mig_test_inner SCRIPT WORK     inside the bed: mh_inner_begin, story_init with the bundle
# Inside the bed:
#   start_counting H NAME                  virsh start, the ready line, a tick; ifail if not
#   last_tick H NAME / first_tick H NAME   the demo guest's last / first tick on H's serial log
#   wait_tick_above H NAME S N             waits (at most S s) for a tick above N; prints it
#   record_of H NAME / running_record H NAME   H's usage record of NAME; checks it says running
#   domain_state H NAME                    virsh domstate
#   migrate NAME FROM TO [VIRSH-OPTIONS...]    live-migrates, checks the guest counts on at TO;
#                                          sets mig_ms, mem_bytes, disk_bytes
# shellcheck shell=bash

mig_test_outer() {
    mh_outer_begin "$1" "$2" "$3"
    shift 3
    mh_demo_bundle
    mh_conf "$work/appshare.conf" "lock_wait_seconds = 20" "allowed_source_dirs = [\"$work/bundle/images\"]"
    mh_bed_options=("$@")
    mh_run_bed 2
}

mig_test_inner() {
    mh_inner_begin "$1" "$2"
    story_init "$build" "$src" "$bundle"
}

start_counting() {
    start_domain "$1" "$2"
    ((start_rc == 0)) || { ifail "starting $2 on $1 failed: $start_out"; return 1; }
    story_wait_ready "$1" "$2" 180 >/dev/null || { ifail "$2 printed no ready line on $1"; return 1; }
    wait_tick_above "$1" "$2" 30 1 >/dev/null || { ifail "$2 does not count on $1"; return 1; }
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
