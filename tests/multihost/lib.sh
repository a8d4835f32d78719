# Shared by the multi-host failure tests (sourced, not run). Each test runs in two parts:
# outside (tests/support/shell_test.sh: root check, scratch folder, status) it writes its
# appshare.conf and bundle and launches its own bed (scripts/multihost-sandbox.sh --conf);
# inside the bed it runs itself again with --inside and uses the helpers below.
#
#   tests/multihost/NAME.sh SOURCE_DIR BUILD_DIR
# shellcheck shell=bash

mh_bed_options=()
now_ms() { echo $(($(date +%s%N) / 1000000)); }
say() { echo "${shell_test_name:-$(basename "$0")}: $*"; }

# mh_outer_begin SOURCE_DIR BUILD_DIR WORK_PREFIX: as shell_test_begin, plus $build (which
# must hold bin/appshare and the hook) and $bed (the bed script).
mh_outer_begin() {
    # shellcheck source=../support/shell_test.sh
    source "$(dirname "${BASH_SOURCE[0]}")/../support/shell_test.sh"
    shell_test_begin "$1" scripts/multihost-sandbox.sh "$3"
    bed="$script"
    build=$(cd "${2:-$src/build}" 2>/dev/null && pwd) || { echo "$shell_test_name: no build folder ${2:-$src/build}." >&2; exit 2; }
    [[ -x "$build/bin/appshare" && -x "$build/libexec/appshare/appshare-hook" ]] ||
        { echo "$shell_test_name: $build has no bin/appshare or libexec/appshare/appshare-hook; build first." >&2; exit 2; }
}

# mh_run_bed HOSTS [ARG]...: runs this script again inside a bed of HOSTS hosts (with
# $work/appshare.conf, and the bed options in the array mh_bed_options if set, e.g.
# --lock-manager lockd) as `SCRIPT --inside $work ARG...`; fails the test when a check inside failed.
mh_run_bed() {
    local hosts="$1" rc=0; shift
    export src build
    "$bed" --hosts "$hosts" --conf "$work/appshare.conf" "${mh_bed_options[@]}" -- bash "$0" --inside "$work" "$@" || rc=$?
    ((rc == 0)) || fail "$rc check(s) inside the bed failed"
}

# mh_demo_bundle: makes the demo appliance bundle in $work/bundle (its log in $work/bundle.log).
mh_demo_bundle() {
    say "making the demo bundle"
    APPSHARE_BIN="$build/bin/appshare" bash "$src/scripts/make-demo-bundle.sh" "$work/bundle" >"$work/bundle.log" 2>&1 ||
        { cat "$work/bundle.log" >&2; echo "$shell_test_name: making the demo bundle failed." >&2; exit 2; }
}

# mh_conf FILE [LINE]...: an appshare.conf with the bed's roots and log, plus LINEs.
mh_conf() {
    local file="$1"; shift
    {
        echo 'shared_root = "/var/lib/libvirt/images/appshare/shared"'
        echo 'context_root = "/var/lib/libvirt/images/appshare/contexts"'
        echo 'local_root = "/var/lib/libvirt/images/appshare/local"'
        echo 'uri = "qemu:///system"'
        echo 'virt_type = "qemu"'
        echo 'log = "/var/log/libvirt/appshare.log"'
        printf '%s\n' "$@"
    } >"$file"
}

# ---- inside the bed --------------------------------------------------------------------------
# Needs $build and $src (exported by the outer part) and the bed's environment.
SHARED=/var/lib/libvirt/images/appshare/shared
CONTEXTS=/var/lib/libvirt/images/appshare/contexts
LOCAL=/var/lib/libvirt/images/appshare/local

inner_failures=0
ifail() { echo "FAIL: $*" >&2; inner_failures=$((inner_failures + 1)); }

# mh_inner_begin SCRIPT WORK: the start of a test's part inside the bed: $work, $bundle, $h1
# and $h2, the test's name for say; no `set -e` (each check counts its failure with ifail) and
# no removal of the outer scratch folder, which is not ours here.
mh_inner_begin() {
    trap - EXIT
    shell_test_name=$(basename "$1")
    work="$2"
    bundle="$work/bundle"
    set +e
    read -r h1 h2 _ <<<"$APPSHARE_BED_HOSTS"
}

# shellcheck source=../../scripts/lib/bed-story.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/bed-story.sh"
# appshare on host H: as_host H ARGS... (story_init has set $appshare)
as_host() {
    local h="$1"; shift
    [[ -n "${appshare+x}" ]] || story_init "$build" "$src"
    on-host "$h" "${appshare[@]}" "$@"
}
host_dir() { echo "$APPSHARE_BED/hosts/$1"; }
# Lines of host H's hook log from line N on (count them with log_lines first).
log_lines() { local f; f=$(story_hook_log "$1"); if [[ -f "$f" ]]; then wc -l <"$f"; else echo 0; fi; }
log_since() { tail -n +"$(($2 + 1))" "$(story_hook_log "$1")" 2>/dev/null || true; }
show_log_since() { echo "--- $1's hook log from line $(($2 + 1)):" >&2; log_since "$1" "$2" | sed 's/^/    /' >&2; echo "---" >&2; }

# install_lazy H NAME BUNDLE; registers the hook on H too.
install_lazy() {
    as_host "$1" install "$3" --name "$2" --virt-type qemu --lazy >/dev/null || { ifail "installing $2 on $1 failed"; return 1; }
    as_host "$1" hook register --reload >/dev/null || { ifail "registering the hook on $1 failed"; return 1; }
}

# start_domain H NAME: virsh start with a fresh serial log; sets start_ms (duration),
# start_rc and start_out.
start_domain() {
    local t0
    rm -f "$(story_serial_log "$1" "$2")"
    t0=$(now_ms)
    start_out=$(on-host "$1" virsh -q start "$2" 2>&1) && start_rc=0 || start_rc=$?
    start_ms=$(($(now_ms) - t0))
}

# hold_lock H FILE [LEN [START]]: a process on host H holds an exclusive POSIX lock on FILE (the
# whole file, or LEN bytes from START) from when this returns until release_lock (120 s at most).
hold_lock() {
    local flag
    flag=$(mktemp -u "$work/lock-held.XXXXXX")
    on-host "$1" python3 -c 'import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX, int(sys.argv[3]), int(sys.argv[4])); open(sys.argv[2],"w").close(); time.sleep(120)' \
        "$2" "$flag" "${3:-0}" "${4:-0}" &
    lock_holder=$!
    for _ in $(seq 100); do [[ -e "$flag" ]] && return 0; sleep 0.1; done
    ifail "$1 did not get a lock on $2 within 10 s"
}
release_lock() { kill "$lock_holder" 2>/dev/null; wait "$lock_holder" 2>/dev/null; }

# with_base_locked H HOLDER COMMAND...: runs COMMAND while a process on host HOLDER holds the
# base's lock ($sha) and H waits only 2 s for it, so that a start on H falls back to a host-local
# copy; H's appshare.conf is $work/appshare.conf again afterwards. COMMAND's status.
with_base_locked() {
    local h="$1" holder="$2" rc=0
    shift 2
    on-host "$h" sed -i 's/^lock_wait_seconds.*/lock_wait_seconds = 2/' /etc/appshare/appshare.conf
    hold_lock "$holder" "$SHARED/$sha.qcow2.lock"
    "$@" || rc=$?
    release_lock
    on-host "$h" cp "$work/appshare.conf" /etc/appshare/appshare.conf
    return "$rc"
}

# instance_mode H NAME: "mode base" from instance.json (empty if there is none).
instance_mode() {
    on-host "$1" python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j.get("mode",""), j.get("base",""))' \
        "$CONTEXTS/$2/instance.json" 2>/dev/null || true
}
# Files of the volume as the server stores them (without .glusterfs), "size path" per line.
brick_files() { (cd "$APPSHARE_BED_BRICK" && find . -path ./.glusterfs -prune -o -type f -printf '%s %P\n' | sort -k2); }
