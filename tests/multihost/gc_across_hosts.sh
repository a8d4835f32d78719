#!/usr/bin/env bash
# appshare gc and list --all-hosts across hosts (issue 9, items 3 and 4), on the multi-host bed:
# host 1 installs appliance version 1 and uninstalls it again; host 2 installs version 2 and
# starts and stops it. After both bases' files have aged past the grace period:
#   - `appshare list --all-hosts --json` on host 1 shows host 2's instance with its host;
#   - `appshare gc --grace 0` on host 1 removes the base nobody uses any more and keeps the base
#     host 2's instance uses (its usage record on the shared storage names it), and the
#     brick agrees.
#
#   tests/multihost/gc_across_hosts.sh BUILD_DIR [SOURCE_DIR]
set -euo pipefail
build=$(cd "${1:?usage: gc_across_hosts.sh BUILD_DIR [SOURCE_DIR]}" && pwd)

if [[ "${APPSHARE_BED:-}" == "" ]]; then
    # shellcheck source=../support/shell_test.sh
    source "$(dirname "$0")/../support/shell_test.sh"
    shell_test_begin "${2:-}" scripts/multihost-sandbox.sh /tmp/appshare-mh-gc
    for v in 1 2; do
        APPSHARE_BIN="$build/bin/appshare" bash "$src/scripts/make-demo-bundle.sh" --app-version "$v.0.0" "$work/bundle-$v" >"$work/bundle.log" 2>&1 ||
            { cat "$work/bundle.log" >&2; fail "the demo bundle $v could not be built"; shell_test_end ""; }
    done
    printf 'lock_wait_seconds = 60\nvirt_type = "qemu"\nuri = "qemu:///system"\nlog = "/var/log/libvirt/appshare.log"\n' >"$work/appshare.conf"
    rc=0
    "$script" --hosts 2 --conf "$work/appshare.conf" -- bash "$0" "$build" "$src" "$work" || rc=$?
    ((rc == 0)) || fail "the scenario in the bed failed (status $rc)"
    shell_test_end "gc on one host removed the unused base and kept the one another host uses."
    exit 0
fi

# ---- inside the bed --------------------------------------------------------------------------
src=$2 work=$3
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# shellcheck source=../../scripts/lib/bed-story.sh
source "$src/scripts/lib/bed-story.sh"
story_init "$build" "$src" "$work/bundle-2"
sha2=$sha
story_init "$build" "$src" "$work/bundle-1"
sha1=$sha
[[ "$sha1" != "$sha2" ]] || { echo "the two versions have the same base" >&2; exit 1; }
h1=${story_hosts[0]} h2=${story_hosts[1]}

on-host "$h1" "${appshare[@]}" install "$work/bundle-1" --name a1 --virt-type qemu >/dev/null
on-host "$h2" "${appshare[@]}" install "$work/bundle-2" --name b1 --virt-type qemu >/dev/null
story_register_hooks
on-host "$h2" virsh -q start b1 >/dev/null
on-host "$h2" virsh -q destroy b1 >/dev/null
on-host "$h1" "${appshare[@]}" uninstall a1 >/dev/null
# Both bases were loaded, verified and locked seconds ago: let two days pass for them (the files'
# times, and the time the lock holders' notes give).
on-host "$h1" python3 - "$APPSHARE_BED_SHARED" "$sha1" "$sha2" <<'PY'
import glob, json, os, sys, time
root, shas = sys.argv[1], sys.argv[2:]
then = time.time() - 2 * 86400
for sha in shas:
    for f in glob.glob(os.path.join(root, sha + ".*")):
        if f.endswith(".lock"):
            note = json.load(open(f))
            note["since"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(then))
            open(f, "w").write(json.dumps(note))
        os.utime(f, (then, then), follow_symlinks=False)
PY

listing=$(on-host "$h1" "${appshare[@]}" list --all-hosts --json)
python3 - "$listing" "$h2" <<'PY' || fail "list --all-hosts on $h1 does not show b1 on $h2: $listing"
import json, sys
j = json.loads(sys.argv[1])
rows = j["instances"] if isinstance(j, dict) and "instances" in j else j
assert any(r.get("domain") == "b1" and r.get("host") == sys.argv[2] for r in rows), rows
PY

report=$(on-host "$h1" "${appshare[@]}" gc --grace 0 --json) || fail "gc failed: $report"
echo "gc on $h1: $(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(len(j["removed"]), "removed,", len(j["kept"]), "kept,", j["bytes_freed"], "bytes freed")' "$report")"
python3 - "$report" "$sha1" "$sha2" "$h2" <<'PY' || fail "gc's report is not what it should be: $report"
import json, sys
j = json.loads(sys.argv[1]); sha1, sha2, h2 = sys.argv[2:5]
removed = [i for i in j["removed"] if i.get("what") == "base"]
kept = [i for i in j["kept"] if i.get("what") == "base"]
assert [i["sha256"] for i in removed] == [sha1], removed
assert any(i["sha256"] == sha2 and h2 in i.get("reason", "") for i in kept), kept
assert j["bytes_freed"] > 0
PY
[[ ! -e "$APPSHARE_BED_BRICK/$sha1.qcow2" ]] || fail "the unused base is still on the volume"
[[ -e "$APPSHARE_BED_BRICK/$sha2.qcow2" ]] || fail "the base $h2 uses was removed from the volume"
# Host 2's instance still starts on its base.
on-host "$h2" virsh -q start b1 >/dev/null || fail "b1 no longer starts on $h2 after gc on $h1"
story_wait_ready "$h2" b1 180 >/dev/null || fail "b1 printed no ready line on $h2 after gc"
on-host "$h2" virsh -q destroy b1 >/dev/null 2>&1 || true
((failures == 0))
