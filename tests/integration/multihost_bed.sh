#!/usr/bin/env bash
# Proves the multi-host test bed (scripts/multihost-sandbox.sh) does what the multi-host tests
# rely on, and leaves nothing behind. With 2 hosts:
#   - each host answers with its own host name, machine id and private libvirtd (virsh uri,
#     virsh hostname, the host UUID in its capabilities), and a domain defined and started on
#     host 1 is not seen by host 2's daemon;
#   - a file written on host 1's Gluster mount is read on host 2 and lies on the brick;
#   - OFD and POSIX locks taken through host 1 keep host 2 (and another process on host 1)
#     out, and are free for host 2 once the holder ends;
#   - storage-down: a stat on the mount blocks (timeout 3 ends the caller); the blocked call
#     ends with "Transport endpoint is not connected" once Gluster's ping-timeout passes, and
#     later calls fail at once; storage-up makes the mount answer again on both hosts; the
#     same with storage-down --freeze (server processes stopped);
#   - the bed ends quickly even with calls blocked on a dead server.
# After it, and after a bed killed with SIGKILL and a bed whose command fails (its status is
# returned): no process is left in any namespace of the beds, no mount, no network link and no
# scratch folder of theirs, and the machine's Gluster folders never name a bed.
# Exits non-zero, saying why, if any of that fails. Run as root.
#
#   tests/integration/multihost_bed.sh [SOURCE_DIR]
set -euo pipefail

# shellcheck source=../support/shell_test.sh
source "$(dirname "$0")/../support/shell_test.sh"
shell_test_begin "${1:-}" scripts/multihost-sandbox.sh /tmp/appshare-bedtest
bed="$script"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

links() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | LC_ALL=C sort; }
links >"$work/links.before"
ls -A /run/netns 2>/dev/null >"$work/netns.before" || true

# --- the checks, run as the bed's command ---------------------------------------------------
cat >"$work/lock.py" <<'PY'
# lock.py ofd|posix PATH try|hold [MARKER]: try: exit 0 if the write lock was free (and taken),
# 1 if someone else holds it; hold: take it, create MARKER, keep it for at most 60 s.
import errno, fcntl, os, struct, sys, time
mode, path, action = sys.argv[1:4]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
cmd = fcntl.F_OFD_SETLK if mode == "ofd" else fcntl.F_SETLK
try:
    fcntl.fcntl(fd, cmd, struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
except OSError as e:
    if e.errno in (errno.EAGAIN, errno.EACCES):
        sys.exit(1)
    raise
if action == "hold":
    open(sys.argv[4], "w").close()
    time.sleep(60)
PY

# record.sh N: from inside bed N, writes its folder (stateN) and every namespace of the
# bed, its servers and hosts (namespacesN), so that the test can look for leftovers after it.
cat >"$work/record.sh" <<'RECORD'
work=$(dirname "$0")
echo "$APPSHARE_BED" >"$work/state$1"
for pid in $PPID $(cat "$APPSHARE_BED"/hosts/*/pid "$APPSHARE_BED/server/pid"); do
    for ns in mnt pid net uts; do readlink "/proc/$pid/ns/$ns"; done
done | sort -u >"$work/namespaces$1"
RECORD
# The time since boot in clock ticks, as /proc/PID/stat counts a process's start.
ticks_now() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", $1 * hz }' /proc/uptime; }

cat >"$work/inside.sh" <<'INSIDE'
set -uo pipefail
work="$1"
failures=0
fail() { echo "FAIL (inside the bed): $*" >&2; failures=$((failures + 1)); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
S="$APPSHARE_BED_SHARED"
bash "$work/record.sh" 1
read -r h1 h2 rest <<<"$APPSHARE_BED_HOSTS"
[[ "$h1" == appshare-h1 && "$h2" == appshare-h2 && -z "$rest" ]] || fail "APPSHARE_BED_HOSTS is '$APPSHARE_BED_HOSTS', not two hosts"
for v in APPSHARE_BED_BRICK APPSHARE_BED_BIN; do [[ -d "${!v}" ]] || fail "$v (${!v:-unset}) is not a folder"; done

# --- identities and daemons -------------------------------------------------------------------
machine_ids=$(cat /etc/machine-id)
uuids=""
for h in $APPSHARE_BED_HOSTS; do
    [[ "$(on-host "$h" hostname)" == "$h" ]] || fail "$h: hostname says '$(on-host "$h" hostname)'"
    [[ "$(on-host "$h" virsh -c qemu:///system uri)" == "qemu:///system" ]] || fail "$h: virsh uri does not answer qemu:///system"
    [[ "$(on-host "$h" virsh hostname)" == "$h" ]] || fail "$h: its libvirtd says its host name is '$(on-host "$h" virsh hostname)'"
    uuid=$(on-host "$h" virsh capabilities | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1)
    [[ -n "$uuid" && "$uuid" == "$(cat "$APPSHARE_BED/hosts/$h/host-uuid")" ]] || fail "$h: its libvirtd's host UUID '$uuid' is not the bed's host_uuid"
    uuids+="$uuid"$'\n'
    machine_ids+=$'\n'"$(on-host "$h" cat /etc/machine-id)"
    on-host "$h" grep -q '^shared_root = "'"$S"'"' /etc/appshare/appshare.conf || fail "$h: /etc/appshare/appshare.conf does not put shared_root on $S"
    on-host "$h" findmnt -n -t fuse.glusterfs "$S" >/dev/null || fail "$h: the volume is not mounted at $S"
done
[[ $(sort -u <<<"$uuids" | grep -c .) -eq 2 ]] || fail "the two hosts' libvirtd have the same host UUID"
[[ $(sort -u <<<"$machine_ids" | grep -c .) -eq 3 ]] || fail "the hosts' machine ids are not their own: $machine_ids"

cat >"$work/domain.xml" <<XML
<domain type='qemu'>
  <name>bed-smoke</name>
  <memory unit='MiB'>32</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><memballoon model='none'/></devices>
</domain>
XML
on-host "$h1" virsh -q define "$work/domain.xml" >/dev/null || fail "defining a domain on $h1 failed"
on-host "$h1" virsh -q start bed-smoke >/dev/null || fail "starting a domain on $h1 failed"
[[ "$(on-host "$h1" virsh -q domstate bed-smoke)" == running ]] || fail "the domain does not run on $h1"
[[ -z "$(on-host "$h2" virsh -q list --all --name)" ]] || fail "$h2's libvirtd sees domains: $(on-host "$h2" virsh -q list --all --name)"

# --- one shared folder ------------------------------------------------------------------------
token="bed-smoke-$RANDOM-$$"
on-host "$h1" sh -c "echo $token >$S/shared.txt" || fail "writing on $h1's mount failed"
[[ "$(on-host "$h2" cat "$S/shared.txt")" == "$token" ]] || fail "$h2 does not read what $h1 wrote"
[[ "$(cat "$APPSHARE_BED_BRICK/shared.txt" 2>/dev/null)" == "$token" ]] || fail "the file is not on the brick"

# --- locks across hosts -----------------------------------------------------------------------
for mode in ofd posix; do
    rm -f "$work/held"
    on-host "$h1" python3 "$work/lock.py" "$mode" "$S/lock-$mode" hold "$work/held" &
    holder=$!
    for _ in $(seq 200); do [[ -e "$work/held" ]] && break; sleep 0.05; done
    if [[ ! -e "$work/held" ]]; then
        fail "$h1 could not take a $mode lock"
    else
        on-host "$h2" python3 "$work/lock.py" "$mode" "$S/lock-$mode" try
        [[ $? -eq 1 ]] || fail "$h2 took the $mode lock that $h1 holds"
        on-host "$h1" python3 "$work/lock.py" "$mode" "$S/lock-$mode" try
        [[ $? -eq 1 ]] || fail "another process on $h1 took the $mode lock that $h1 holds"
    fi
    kill "$holder"; wait "$holder" 2>/dev/null
    # The holder gets SIGTERM when on-host ends (--pdeathsig): its lock is freed.
    free=1
    for _ in $(seq 100); do on-host "$h2" python3 "$work/lock.py" "$mode" "$S/lock-$mode" try && { free=0; break; }; sleep 0.05; done
    ((free == 0)) || fail "$h2 cannot take the $mode lock after $h1's holder ended"
done

# --- storage failures -------------------------------------------------------------------------
blocks() {  # MODE: storage-down MODE; a stat of a name never looked up (no cache) must block
    local t0 rc
    storage-down $1 || { fail "storage-down $1 failed"; return 1; }
    t0=$(now_ms)
    timeout 3 on-host "$h1" stat "$S/never-seen-$1-$RANDOM" >/dev/null 2>&1; rc=$?
    [[ $rc -eq 124 && $(($(now_ms) - t0)) -ge 2900 ]] || fail "storage-down${1:+ $1}: a stat on the mount did not block (status $rc after $(($(now_ms) - t0)) ms)"
}
restored() {  # WHAT: after storage-up every host answers and reads the file again
    local h
    storage-up || fail "storage-up after $1 failed"
    for h in $APPSHARE_BED_HOSTS; do
        [[ "$(timeout 3 on-host "$h" cat "$S/shared.txt" 2>/dev/null)" == "$token" ]] || fail "after $1 and storage-up, $h does not read the shared file"
    done
}

blocks ""
# The stat timeout killed is in the kernel's FUSE wait; it ends when Gluster gives up on the
# server (network.ping-timeout, 5 s in the bed), and from then on calls fail at once.
t0=$(now_ms)
while on-host "$h1" pgrep -x stat >/dev/null && (($(now_ms) - t0 < 20000)); do sleep 0.1; done
if on-host "$h1" pgrep -x stat >/dev/null; then
    fail "the blocked stat did not end within 20 s of the storage going down"
else
    echo "multihost_bed.sh: the blocked stat ended $(($(now_ms) - t0)) ms after its caller's timeout"
fi
t0=$(now_ms)
out=$(timeout 10 on-host "$h1" stat "$S/shared.txt" 2>&1); rc=$?
[[ $rc -ne 0 && $rc -ne 124 && "$out" == *"Transport endpoint is not connected"* ]] || fail "with the storage down past ping-timeout, a stat did not fail with ENOTCONN (status $rc: $out)"
(($(now_ms) - t0 < 2000)) || fail "with the storage known down, a stat took $(($(now_ms) - t0)) ms to fail"
restored "storage-down"

blocks --freeze
restored "storage-down --freeze"

# Leave calls blocked on a dead server: the bed must still end quickly.
storage-down || fail "storage-down (at the end) failed"
on-host "$h1" stat "$S/never-seen-end-1" >/dev/null 2>&1 &
on-host "$h2" ls "$S/" >/dev/null 2>&1 &
sleep 0.5
now_ms >"$work/command-end"
awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", $1 * hz }' /proc/uptime >"$work/ticks1"  # nothing of the bed starts later
exit "$failures"
INSIDE

t0=$(now_ms)
rc=0
"$bed" --hosts 2 -- bash "$work/inside.sh" "$work" || rc=$?
end=$(now_ms)
[[ $rc -eq 0 ]] || fail "the checks inside the bed failed (status $rc)"
if [[ -s "$work/command-end" ]]; then
    teardown=$((end - $(cat "$work/command-end")))
    echo "multihost_bed.sh: the bed ran for $((end - t0)) ms and ended ${teardown} ms after its command, with calls blocked on the dead server"
    ((teardown < 15000)) || fail "the bed took ${teardown} ms to end after its command"
fi

# --- nothing left behind ----------------------------------------------------------------------
# Processes in any of the namespaces listed in NSFILE ("mnt:[4026532001]" lines) that started
# by TICKS (since boot), one line each. The kernel reuses the numbers of namespaces that are
# gone: a process started later, in a new namespace of another test, is not a leftover.
namespace_users() {  # NSFILE TICKS
    local pid stat
    find /proc/[0-9]*/ns -maxdepth 1 \( -name mnt -o -name pid -o -name net -o -name uts \) -printf '%h %l\n' 2>/dev/null |
        grep -F -f "$1" | cut -d/ -f3 | sort -u | while read -r pid; do
            stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
            stat=${stat##*) }
            # shellcheck disable=SC2086
            set -- $stat
            ((${20} <= $2)) || continue
            echo "$pid: $( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-100)"
        done
}
leftovers() {  # N TICKS WHAT: no process, mount or folder of bed N (which ended at TICKS)
    local nsfile="$work/namespaces$1" ticks="$2" what="$3" state found deadline
    state=$(cat "$work/state$1" 2>/dev/null || true)
    [[ -s "$nsfile" && -n "$state" && -n "$ticks" ]] || { fail "$what: the bed did not record its namespaces, folder and end"; return; }
    deadline=$(($(now_ms) + 20000))
    until found=$(namespace_users "$nsfile" "$ticks"); [[ -z "$found" ]] || (($(now_ms) >= deadline)); do sleep 0.2; done
    [[ -z "$found" ]] || fail "$what: processes are still in the bed's namespaces:"$'\n'"$found"
    # (the pattern comes from a file, so that grep does not find itself)
    echo "$state" >"$work/pattern"
    found=$(grep -laF -f "$work/pattern" /proc/[0-9]*/cmdline 2>/dev/null || true)
    [[ -z "$found" ]] || fail "$what: processes naming $state are still running: $found"
    if grep -F -e "$state" /proc/self/mountinfo >&2; then fail "$what: mounts of the bed are left (above)"; fi
    if grep -rlsF "$state" /var/lib/glusterd /var/log/glusterfs /run/gluster >&2; then fail "$what: the machine's Gluster folders name the bed (above)"; fi
}
machine_unchanged() {  # WHAT
    links >"$work/links.after"
    diff -u "$work/links.before" "$work/links.after" >&2 || fail "$1: the machine's network links changed"
    ls -A /run/netns 2>/dev/null >"$work/netns.after" || true
    diff -u "$work/netns.before" "$work/netns.after" >&2 || fail "$1: /run/netns changed"
}

leftovers 1 "$(cat "$work/ticks1" 2>/dev/null)" "after the bed"
state1=$(cat "$work/state1" 2>/dev/null || true)
[[ -z "$state1" || ! -e "$state1" ]] || fail "the bed's scratch folder $state1 is still there"
machine_unchanged "after the bed"

# A bed killed outright (SIGKILL) while its command runs (and, should this test die first, with it).
setpriv --pdeathsig KILL -- "$bed" --hosts 1 -- bash -c '
    bash "$1/record.sh" 2
    on-host appshare-h1 touch "$APPSHARE_BED_SHARED/x"
    touch "$1/up2"; sleep 300' _ "$work" &
killed=$!
disown "$killed"  # its death by SIGKILL is the point: no "Killed" job report
deadline=$(($(now_ms) + 120000))
while [[ ! -e "$work/up2" ]] && kill -0 "$killed" 2>/dev/null && (($(now_ms) < deadline)); do sleep 0.1; done
if [[ -e "$work/up2" ]]; then
    kill -KILL "$killed"
    ticks_now >"$work/ticks2"
    leftovers 2 "$(cat "$work/ticks2")" "after a bed killed with SIGKILL"
    machine_unchanged "after a bed killed with SIGKILL"
else
    fail "the bed to be killed did not come up"
    kill -KILL "$killed" 2>/dev/null || true
fi

# A bed whose command fails returns its status; it also removes the killed bed's scratch folder.
rc=0
"$bed" --hosts 1 -- bash -c 'bash "$1/record.sh" 3; exit 7' _ "$work" || rc=$?
ticks_now >"$work/ticks3"
[[ $rc -eq 7 ]] || fail "a bed whose command exits with 7 returned $rc"
leftovers 3 "$(cat "$work/ticks3")" "after a bed whose command failed"
for n in 2 3; do
    dir=$(cat "$work/state$n" 2>/dev/null || true)
    [[ -z "$dir" || ! -e "$dir" ]] || fail "the scratch folder $dir of bed $n (killed, then one whose command failed) is still there"
done
machine_unchanged "after a bed whose command failed"

shell_test_end "hosts isolated, one shared volume, locks across hosts, storage-down blocks and storage-up restores; nothing of the beds left."
