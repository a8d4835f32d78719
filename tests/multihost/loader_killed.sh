#!/usr/bin/env bash
# Issue 9, item 2, bullet 2: the loading host's hook is killed with SIGKILL mid-load.
# On a bed of 2 hosts, an appliance with a big base (the demo appliance's disk grown to
# 640 MiB of which 576 MiB random data, qcow2, so that a load takes seconds) is installed
# lazily on both hosts (its image folder an allowed file source, lock_wait_seconds = 60).
#   - a start on host 1 takes the base's lock and loads it: a temporary file grows on the brick;
#   - a start on host 2 waits for the lock, naming host 1 as holder in its log;
#   - every process of host 1's hook (found with pgrep inside the host) gets SIGKILL; its
#     virsh start must then fail;
#   - host 2's start then gets the lock, loads the base (or falls back to a host-local copy:
#     said, not failed), returns within lock_wait_seconds + 60 s of the kill, and its guest boots;
#   - a watcher polling the brick every 50 ms never sees the base's final name with a size or
#     digest other than the complete base's; no temporary file is left afterwards;
#   - the lock is free afterwards: an OFD lock on it can be had from host 1, and a new start
#     on host 1 does not wait.
#
#   tests/multihost/loader_killed.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
lock_wait=60

if [[ "${1:-}" != --inside ]]; then
    # shellcheck source=lib.sh
    source "$(dirname "$0")/lib.sh"
    mh_outer_begin "${1:-}" "${2:-}" /tmp/appshare-mh-loader-killed
    say "making the demo bundle, then its big variant"
    APPSHARE_BIN="$build/bin/appshare" bash "$src/scripts/make-demo-bundle.sh" "$work/demo" >"$work/bundle.log" 2>&1 ||
        { cat "$work/bundle.log" >&2; echo "$shell_test_name: making the demo bundle failed." >&2; exit 2; }
    big="$work/bundle"
    mkdir -p "$big/images" && cp -r "$work/demo/boot" "$big/"
    qemu-img convert -O raw "$work/demo/images/base.qcow2" "$work/big.raw"
    truncate -s 640M "$work/big.raw"
    head -c 576M /dev/urandom | dd of="$work/big.raw" bs=4M seek=16 conv=notrunc status=none
    qemu-img convert -O qcow2 "$work/big.raw" "$big/images/base.qcow2" && rm -f "$work/big.raw"
    sha=$(sha256sum "$big/images/base.qcow2" | cut -d' ' -f1)
    bytes=$(stat -c %s "$big/images/base.qcow2")
    vsize=$((640 * 1024 * 1024))
    sed -e '/<image /,/<\/image>/{s:<sha256>[0-9a-f]*</sha256>:<sha256>'"$sha"'</sha256>:
            s:<virtual-size unit="B">[0-9]*</virtual-size>:<virtual-size unit="B">'"$vsize"'</virtual-size>:
            s:<size>[0-9]*</size>:<size>'"$bytes"'</size>:}' \
        -e 's:<name>appshare-demo</name>:<name>appshare-big</name>:' "$work/demo/appliance.xml" >"$big/appliance.xml"
    "$build/bin/appshare" verify "$big" >/dev/null || { echo "$shell_test_name: the big bundle does not verify." >&2; exit 2; }
    say "big base: $bytes bytes, sha256 $sha"
    mh_conf "$work/appshare.conf" "lock_wait_seconds = $lock_wait" "allowed_source_dirs = [\"$big/images\"]"
    mh_run_bed 2 "$sha" "$bytes"
    shell_test_end "a loader killed mid-load left no partial base and no lock; host 2's waiting start loaded the base and booted."
    exit 0
fi

# ---- inside the bed ----
[[ "${1:-}" == --inside ]] || exit 2  # never reached from the outer part, which exits above
trap - EXIT                            # the outer scratch folder is not ours to remove here
work="$2" digest="$3" bytes="$4" mode=""
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
shell_test_name=$(basename "$0")
set +e  # inside, every check counts its failure itself (ifail) instead of ending the run
read -r h1 h2 _ <<<"$APPSHARE_BED_HOSTS"
bundle="$work/bundle"
base="$digest.qcow2"
brick="$APPSHARE_BED_BRICK"

install_lazy "$h1" big-1 "$bundle" && install_lazy "$h2" big-2 "$bundle" || exit 1

# The watcher: every 50 ms, the size of the final name if it exists, and the other big files.
touch "$work/watch.run"
(
    while [[ -e "$work/watch.run" ]]; do
        s=$(stat -c %s "$brick/$base" 2>/dev/null || true)
        [[ -n "$s" ]] && echo "final $s" >>"$work/watch.final"
        sleep 0.05
    done
) &
watcher=$!

start_bg() {  # H NAME: virsh start in the background; result in $work/start.NAME
    ( start_domain "$1" "$2"; echo "$start_rc $start_ms $start_out" >"$work/start.$2" ) &
}
# The base's temporary files: ".<final name>.part-<host>-<pid>-..." beside it.
temp_on_brick() { brick_files | awk -v p=".$base.part-" 'index($2, p) == 1 && $1 > 1048576 { print $2; exit }'; }

t0=$(now_ms)
start_bg "$h1" big-1
tmp=""
for _ in $(seq 600); do tmp=$(temp_on_brick); [[ -n "$tmp" ]] && break; sleep 0.05; done
if [[ -z "$tmp" ]]; then
    ifail "no temporary file grew on the brick within 30 s of the start on $h1"; show_log_since "$h1" 0
    rm -f "$work/watch.run"; wait; exit "$inner_failures"
fi
say "$h1 is loading: $tmp on the brick, $(stat -c %s "$brick/$tmp") bytes after $(($(now_ms) - t0)) ms"

mark2=$(log_lines "$h2")
t2=$(now_ms)
start_bg "$h2" big-2
waiting=""
for _ in $(seq 100); do
    waiting=$(log_since "$h2" "$mark2" | grep -m1 'waiting for a lock held by' || true)
    [[ -n "$waiting" ]] && break; sleep 0.1
done
if [[ -n "$waiting" ]]; then say "$h2 waits: $waiting"
else ifail "$h2's start did not log that it waits for the lock within 10 s"; fi
[[ "$waiting" == *"$h1"* ]] || ifail "$h2's wait does not name $h1 as the holder"

# libvirt runs the hook as /etc/libvirt/hooks/qemu.d/appshare (a link to appshare-hook), so
# its processes, and the shared-storage worker it forks, are found by that command line.
pids=$(on-host "$h1" pgrep -f '^/etc/libvirt/hooks/qemu.d/appshare ' | tr '\n' ' ' || true)
size_at_kill=$(stat -c %s "$brick/$tmp" 2>/dev/null || echo gone)
if [[ -z "${pids// /}" ]]; then
    ifail "no appshare-hook process on $h1 to kill (the load ended already?)"
else
    say "SIGKILL to $h1's appshare-hook processes: $pids($(on-host "$h1" ps -o pid=,args= -p "$(echo $pids | tr " " ,)" 2>/dev/null | tr -s ' ' | tr '\n' ';'))"
    # The hook's worker dies with the hook: one of the pids may be gone by the time it is named.
    on-host "$h1" kill -KILL $pids 2>/dev/null || true
fi
tk=$(now_ms)
say "killed with $tmp at $size_at_kill of $bytes bytes"
(( size_at_kill != bytes )) || ifail "the temporary file was complete when the loader was killed: not a mid-load kill"

wait_file() { local i; for ((i = 0; i < $2 * 10; i++)); do [[ -s "$1" ]] && return 0; sleep 0.1; done; return 1; }
wait_file "$work/start.big-1" 60 || ifail "virsh start big-1 on $h1 did not return within 60 s of its hook's kill"
read -r rc1 ms1 out1 <"$work/start.big-1" || true
say "virsh start big-1 on $h1 (hook killed) returned ${rc1:-?} after ${ms1:-?} ms: ${out1:-}"
[[ "${rc1:-0}" != 0 ]] || ifail "virsh start big-1 on $h1 succeeded though its hook was killed mid-load"
if wait_file "$work/start.big-2" $((lock_wait + 60)); then
    read -r rc2 ms2 out2 <"$work/start.big-2"
    say "virsh start big-2 on $h2 returned $rc2 after $ms2 ms, $(( $(now_ms) - tk )) ms or less after the kill"
    ((rc2 == 0)) || { ifail "the waiting start on $h2 failed: $out2"; show_log_since "$h2" "$mark2"; }
else
    ifail "virsh start big-2 on $h2 did not return within $((lock_wait + 60)) s of the kill"; show_log_since "$h2" "$mark2"; rc2=1
fi
if ((rc2 == 0)); then
    if ready=$(story_wait_ready "$h2" big-2 180); then say "big-2 booted on $h2: $ready"
    else ifail "big-2 printed no ready line on $h2"; fi
    read -r mode _ <<<"$(instance_mode "$h2" big-2)"
    say "big-2 runs in mode '$mode' (backing $(story_backing_of "$h2" big-2))"
    if [[ "$mode" != shared ]]; then say "NOTE: $h2 fell back instead of loading the shared base"; fi
fi
echo "--- $h2's hook log of that start:"; log_since "$h2" "$mark2" | sed 's/^/    /'

rm -f "$work/watch.run"; wait "$watcher" 2>/dev/null || true
if [[ -s "$work/watch.final" ]]; then
    partial=$(awk -v b="$bytes" '$2 != b' "$work/watch.final" | sort -u)
    [[ -z "$partial" ]] || ifail "the base's final name was seen with a partial size: $(tr '\n' ' ' <<<"$partial")"
    say "the watcher saw the final name $(wc -l <"$work/watch.final") times, always at $bytes bytes"
fi
if [[ -e "$brick/$base" ]]; then
    sum=$(sha256sum <"$brick/$base" | cut -d' ' -f1)
    [[ "$sum" == "$digest" ]] || ifail "the base at its final name has digest $sum"
    [[ "$mode" == shared ]] || ifail "$h2 fell back though the base was loaded"
else
    [[ "${mode:-}" == independent ]] || ifail "the base is not at its final name on the brick and big-2 is not independent"
fi
left=$(brick_files | awk '$2 ~ /\.part-/')
[[ -z "$left" ]] || ifail "temporary files are left on the brick: $left"

# The lock is free: an OFD write lock from host 1, and a new start on host 1 that does not wait.
locks=$(brick_files | awk '$2 ~ /\.lock$/ { print $2 }')
say "lock files on the brick: $(tr '\n' ' ' <<<"$locks")"
for l in $locks; do
    on-host "$h1" python3 -c '
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))' "$SHARED/$l" ||
        ifail "the lock $l is still held (an OFD write lock from $h1 failed)"
done
on-host "$h2" virsh -q destroy big-2 >/dev/null 2>&1 || true
on-host "$h1" virsh -q destroy big-1 >/dev/null 2>&1 || true
mark1=$(log_lines "$h1")
start_domain "$h1" big-1
say "a new start of big-1 on $h1 returned $start_rc after $start_ms ms"
((start_rc == 0)) || { ifail "a new start of big-1 on $h1 failed: $start_out"; show_log_since "$h1" "$mark1"; }
! log_since "$h1" "$mark1" | grep -q 'waiting for a lock' || { ifail "the new start on $h1 waited for a lock"; show_log_since "$h1" "$mark1"; }
if ((start_rc == 0)); then story_wait_ready "$h1" big-1 180 >/dev/null || ifail "big-1 printed no ready line on $h1"; fi
on-host "$h1" virsh -q destroy big-1 >/dev/null 2>&1 || true
exit "$inner_failures"
